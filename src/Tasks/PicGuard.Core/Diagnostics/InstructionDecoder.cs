using Iced.Intel;
using PicGuard.Elf;

namespace PicGuard.Diagnostics;

/// <summary>
/// Names the x86 instruction at a relocation site (<c>movabs rax, 0x0</c>), decoded with Iced from
/// the start of the function containing it, so the reader sees the code the relocation patches.
/// Used only for findings; other machines get no instruction.
/// </summary>
public static class InstructionDecoder
{
    /// <summary>Longest stretch decoded to reach the site; beyond it the site is probably in data.</summary>
    private const int MaxDecodeBytes = 1 << 20;

    /// <param name="section">The executable section that holds the site.</param>
    /// <param name="siteOffset">Offset of the relocated field in the section.</param>
    /// <param name="startOffset">Offset of an instruction boundary at or before the site (the function's start).</param>
    public static string? At(ElfFile elf, in ElfSection section, ulong siteOffset, ulong startOffset)
    {
        int bitness = elf.Machine switch { ElfMachine.X86_64 => 64, ElfMachine.I386 => 32, _ => 0 };
        if (bitness == 0 || !section.HasFileData || siteOffset >= section.Size || startOffset > siteOffset || siteOffset - startOffset > MaxDecodeBytes)
            return null;
        var code = elf.SectionData(section);
        int start = (int)startOffset;
        int end = (int)Math.Min((ulong)code.Length, siteOffset + 16);
        var bytes = code[start..end].ToArray();
        var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(bytes), (ulong)start);
        while (decoder.IP <= siteOffset && decoder.IP < (ulong)end)
        {
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid) return null;
            if (siteOffset < instruction.NextIP)
                return Format(instruction);
        }
        return null;
    }

    private static string Format(in Instruction instruction)
    {
        var formatter = new IntelFormatter();
        formatter.Options.HexPrefix = "0x";
        formatter.Options.HexSuffix = null;
        formatter.Options.SpaceAfterOperandSeparator = true;
        formatter.Options.UppercaseHex = false;
        formatter.Options.SmallHexNumbersInDecimal = false;
        formatter.Options.ShowBranchSize = false;
        formatter.Options.BranchLeadingZeros = false;
        formatter.Options.RipRelativeAddresses = true;
        var output = new StringOutput();
        formatter.Format(instruction, output);
        return output.ToStringAndReset();
    }
}
