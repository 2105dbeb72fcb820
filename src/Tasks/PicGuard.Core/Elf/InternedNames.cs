using System.Text;

namespace PicGuard.Elf;

/// <summary>
/// Section names as strings shared by every object of a run: the same few dozen names (<c>.text</c>, <c>.rodata.str1.1</c>,
/// <c>.init.text</c>) recur in object after object, and decoding each object's own copy was a string and a UTF-8 decode
/// per section named, per object (listing the 4,023 kernel modules made some 40,000 of them). A fixed table of
/// <see cref="Slots"/> entries, each found by the bytes' hash and taken over by the next name that hashes there; an entry
/// is never changed once made, so threads read and replace entries without a lock.
/// </summary>
internal static class InternedNames
{
    private const int Slots = 1024;

    private sealed class Entry(byte[] bytes, string text)
    {
        public readonly byte[] Bytes = bytes;
        public readonly string Text = text;
    }

    private static readonly Entry?[] Table = new Entry?[Slots];

    /// <summary>The text of <paramref name="utf8"/> (a name without its NUL), as <see cref="Encoding.UTF8"/> decodes it.</summary>
    public static string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > 64) return Encoding.UTF8.GetString(utf8); // a long name: rarely shared, not worth a slot
        uint hash = 2166136261;
        foreach (byte b in utf8) hash = (hash ^ b) * 16777619;
        ref var slot = ref Table[(int)(hash & (Slots - 1))];
        var entry = Volatile.Read(ref slot);
        if (entry is not null && utf8.SequenceEqual(entry.Bytes)) return entry.Text;
        string text = Encoding.UTF8.GetString(utf8);
        Volatile.Write(ref slot, new Entry(utf8.ToArray(), text));
        return text;
    }
}
