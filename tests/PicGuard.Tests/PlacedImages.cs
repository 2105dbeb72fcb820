using PicGuard.Elf;
using PicGuard.Loaders;
using PicGuard.Rules;

namespace PicGuard.Tests;

/// <summary>
/// The property every test that builds a blob asserts: placed by its loader at two different bases, the images differ
/// only at the places the relocations patch; every other byte is the section's own (zero in a zero-filled section).
/// </summary>
public static class PlacedImages
{
    /// <summary>Two bases far apart, above 4 GiB, multiples of any section alignment up to 64 KiB.</summary>
    public const ulong FirstBase = 0x1_0000_0000, SecondBase = 0x7f12_3456_0000;

    /// <summary>Loads <paramref name="blob"/> at two bases and asserts the property; returns the number of bytes that differ.</summary>
    public static int AssertDifferOnlyAtPatches(string blob, Profile? profile = null, ulong firstBase = FirstBase, ulong secondBase = SecondBase)
    {
        profile ??= Profiles.KexecPurgatory;
        var first = BlobLoad.Run(new LoadRequest(blob, profile, firstBase, []));
        var second = BlobLoad.Run(new LoadRequest(blob, profile, secondBase, []));
        Assert.IsTrue(first.Succeeded, $"{blob} does not load at 0x{firstBase:x}:\n" + string.Join("\n", first.Diagnostics.Select(d => d.Format())));
        Assert.IsTrue(second.Succeeded, $"{blob} does not load at 0x{secondBase:x}:\n" + string.Join("\n", second.Diagnostics.Select(d => d.Format())));
        byte[] a = first.Result!.Image, b = second.Result!.Image;
        Assert.AreEqual(a.Length, b.Length, "the layout does not depend on the base");
        CollectionAssert.AreEqual(first.Result.Patches, second.Result.Patches, "the same places are patched at every base");

        var patched = new bool[a.Length];
        foreach (var p in first.Result.Patches)
            for (int i = 0; i < p.Width; i++) patched[(int)p.Offset + i] = true;
        int differ = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] == b[i]) continue;
            Assert.IsTrue(patched[i], $"{blob}: byte 0x{i:x} differs between bases 0x{firstBase:x} and 0x{secondBase:x} but no relocation patches it");
            differ++;
        }
        // Unpatched bytes are the blob's own: file data copied as is, zero-filled sections zero.
        using var elf = new ElfFile(File.ReadAllBytes(blob));
        foreach (var s in first.Result.Layout!.Sections)
        {
            var data = s.ZeroFilled ? new byte[s.Size] : elf.SectionData(elf.GetSection((uint)s.Index)).ToArray();
            for (int i = 0; i < data.Length; i++)
                if (!patched[(int)s.Offset + i])
                    Assert.AreEqual(data[i], a[(int)s.Offset + i], $"{blob}: {s.Name}+0x{i:x} is not the section's byte");
        }
        return differ;
    }
}
