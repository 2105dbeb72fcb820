using System.Text;
using PicGuard.Bitcode;
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
    private static readonly byte[] GccLtoPrefix = Encoding.ASCII.GetBytes(".gnu.lto_");
    private static readonly byte[] GccOptions = Encoding.ASCII.GetBytes(".gnu.lto_.opts");
    private static readonly byte[] CodeModelOption = Encoding.ASCII.GetBytes("-mcmodel=");

    /// <summary>Whether <paramref name="data"/> starts with a bitcode magic (raw or wrapper).</summary>
    public static bool IsBitcode(ReadOnlySpan<byte> data) => data.StartsWith(RawBitcodeMagic) || data.StartsWith(WrapperMagic);

    /// <summary>
    /// A description of LLVM bitcode from its modules' flags: <c>LLVM bitcode (clang -flto) for x86_64-unknown-linux-gnu,
    /// module flags 'Code Model' kernel (…), 'PIC Level' 2, 'PIE Level' 2</c>. clang writes <c>Code Model</c> only for an
    /// explicit <c>-mcmodel=</c>, <c>PIC Level</c> only for position-independent code.
    /// </summary>
    public static string Describe(IReadOnlyList<BitcodeModule> modules)
    {
        var parts = new List<string>();
        foreach (var m in modules)
        {
            var flags = new List<string>
            {
                m.CodeModel is { } model
                    ? $"'Code Model' {BitcodeModule.CodeModelName(model)} (set by an explicit -mcmodel; bitcode of another code model fails to link with it)"
                    : "no 'Code Model' (no explicit -mcmodel)",
                m.PicLevel is { } pic ? $"'PIC Level' {pic}" : "no 'PIC Level' (not position-independent)",
            };
            if (m.PieLevel is { } pie) flags.Add($"'PIE Level' {pie}");
            parts.Add($"{(m.Triple is { Length: > 0 } t ? "for " + t + ", " : "")}module flags {string.Join(", ", flags)}");
        }
        return "LLVM bitcode (clang -flto) " + string.Join("; another module ", parts);
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
