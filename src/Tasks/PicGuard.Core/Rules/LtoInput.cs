using System.Text;
using PicGuard.Elf;

namespace PicGuard.Rules;

/// <summary>
/// Recognises link-time-optimisation inputs (PG0009): LLVM bitcode, raw (<c>BC 0xC0DE</c>) or in the
/// wrapper header (<c>0x0B17C0DE</c>), and GCC objects that carry <c>.gnu.lto_*</c> sections, and says
/// what they record about the code model.
/// </summary>
public static class LtoInput
{
    private static readonly byte[] RawBitcodeMagic = [(byte)'B', (byte)'C', 0xC0, 0xDE];
    private static readonly byte[] WrapperMagic = [0xDE, 0xC0, 0x17, 0x0B];
    private static readonly byte[] CodeModelFlag = Encoding.ASCII.GetBytes("Code Model");
    private static readonly byte[] GccLtoPrefix = Encoding.ASCII.GetBytes(".gnu.lto_");
    private static readonly byte[] GccOptions = Encoding.ASCII.GetBytes(".gnu.lto_.opts");
    private static readonly byte[] CodeModelOption = Encoding.ASCII.GetBytes("-mcmodel=");

    /// <summary>A description of the LLVM bitcode in <paramref name="data"/>, or null when it is not bitcode.</summary>
    public static string? Describe(ReadOnlySpan<byte> data)
    {
        if (!data.StartsWith(RawBitcodeMagic) && !data.StartsWith(WrapperMagic)) return null;
        // The module flag's name is stored as plain text in the metadata strings; clang emits it only for an explicit -mcmodel.
        return data.IndexOf(CodeModelFlag) >= 0
            ? "LLVM bitcode (clang -flto) whose 'Code Model' module flag was set by an explicit -mcmodel; modules with different code models fail to link ('linking module flags 'Code Model': IDs have conflicting values')"
            : "LLVM bitcode (clang -flto)";
    }

    /// <summary>A description of a GCC LTO object, or null when the object has no <c>.gnu.lto_</c> sections.</summary>
    public static string? Describe(ElfFile elf)
    {
        bool lto = false;
        string? model = null;
        var names = elf.SectionNameTable;
        foreach (ref readonly var s in elf.SectionSpan)
        {
            var name = ElfFile.SectionNameBytes(s, names);
            if (name.Length < 2 || name[1] != GccLtoPrefix[1] || !name.StartsWith(GccLtoPrefix)) continue; // the second byte rejects nearly every name
            lto = true;
            if (!name.StartsWith(GccOptions) || s.Type == ElfSectionType.NoBits) continue;
            var options = elf.SectionData(s);
            int at = options.IndexOf(CodeModelOption);
            if (at < 0) continue;
            var value = options[(at + CodeModelOption.Length)..];
            int end = value.IndexOfAny((byte)'\'', (byte)' ', (byte)0);
            model = Encoding.ASCII.GetString(end < 0 ? value : value[..end]);
        }
        if (!lto) return null;
        return model is null ? "a GCC LTO object (gcc -flto: .gnu.lto_* sections)" : $"a GCC LTO object (gcc -flto: .gnu.lto_* sections) compiled with -mcmodel={model}";
    }
}
