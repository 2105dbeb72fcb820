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
    internal const int MaxDecodeBytes = 1 << 20;

    /// <param name="section">The executable section that holds the site.</param>
    /// <param name="siteOffset">Offset of the relocated field in the section.</param>
    /// <param name="startOffset">Offset of an instruction boundary at or before the site (the function's start).</param>
    public static string? At(ElfFile elf, in ElfSection section, ulong siteOffset, ulong startOffset) =>
        new SiteDecoder(elf).At(section, siteOffset, startOffset);

    [ThreadStatic] private static IntelFormatter? t_formatter;
    [ThreadStatic] private static StringOutput? t_output;

    internal static string Format(in Instruction instruction)
    {
        var formatter = t_formatter;
        if (formatter is null)
        {
            t_formatter = formatter = new IntelFormatter();
            formatter.Options.HexPrefix = "0x";
            formatter.Options.HexSuffix = null;
            formatter.Options.SpaceAfterOperandSeparator = true;
            formatter.Options.UppercaseHex = false;
            formatter.Options.SmallHexNumbersInDecimal = false;
            formatter.Options.ShowBranchSize = false;
            formatter.Options.BranchLeadingZeros = false;
            formatter.Options.RipRelativeAddresses = true;
        }
        var output = t_output ??= new StringOutput();
        formatter.Format(instruction, output);
        return output.ToStringAndReset();
    }
}

/// <summary>
/// The instructions at the relocation sites of one object, decoded by one Iced decoder. Sites come in address order
/// within a section, so a site in the same function as the one before it is decoded from that one's instruction (a
/// boundary of the same sweep from the function's start) rather than from the function's start again: a function's
/// sites together cost one pass over it. Only the bytes between the starting boundary and the site are copied.
/// </summary>
internal sealed class SiteDecoder(ElfFile elf)
{
    private readonly int _bitness = elf.Machine switch { ElfMachine.X86_64 => 64, ElfMachine.I386 => 32, _ => 0 };
    private readonly BufferReader _reader = new();
    private Decoder? _decoder;
    private int _section = -1;
    private ulong _functionStart;
    private ulong _resume = ulong.MaxValue; // an instruction boundary of the sweep from _functionStart, or none

    /// <inheritdoc cref="InstructionDecoder.At"/>
    public string? At(in ElfSection section, ulong siteOffset, ulong startOffset)
    {
        if (_bitness == 0 || !section.HasFileData || siteOffset >= section.Size || startOffset > siteOffset || siteOffset - startOffset > InstructionDecoder.MaxDecodeBytes)
            return null;
        var code = elf.SectionData(section);
        if (siteOffset >= (ulong)code.Length) return null;
        // One disassembly per site: of the places up to 14 bytes before the site, the one instruction that covers the
        // site and has its displacement or immediate field exactly there is the instruction a sweep from the function's
        // start reaches. Only when none or several qualify (a REX or operand-size byte before the opcode also decodes)
        // does the sweep run, from the function's start or from the last instruction found in the same function.
        if (AtSite(code, siteOffset, startOffset) is { } found)
        {
            _section = section.Index;
            _functionStart = startOffset;
            _resume = found.IP;
            return InstructionDecoder.Format(found);
        }
        ulong begin = section.Index == _section && startOffset == _functionStart && _resume >= startOffset && _resume <= siteOffset ? _resume : startOffset;
        _section = section.Index;
        _functionStart = startOffset;
        _resume = ulong.MaxValue;
        int end = (int)Math.Min((ulong)code.Length, siteOffset + 16);
        _reader.Load(code[(int)begin..end]);
        var decoder = _decoder ??= Decoder.Create(_bitness, _reader);
        decoder.IP = begin;
        ulong limit = (ulong)end;
        while (decoder.IP <= siteOffset && decoder.IP < limit)
        {
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid) return null;
            if (siteOffset < instruction.NextIP)
            {
                _resume = instruction.IP;
                return InstructionDecoder.Format(instruction);
            }
        }
        return null;
    }

    /// <summary>The single instruction starting within 14 bytes before <paramref name="site"/> (not before the function) whose displacement or immediate begins at the site; null when none or several do.</summary>
    private Instruction? AtSite(ReadOnlySpan<byte> code, ulong site, ulong functionStart)
    {
        ulong first = Math.Max(functionStart, site >= 14 ? site - 14 : 0);
        Instruction? match = null;
        for (ulong at = first; at < site; at++)
        {
            _reader.Load(code[(int)at..(int)Math.Min((ulong)code.Length, at + 15)]);
            var decoder = _decoder ??= Decoder.Create(_bitness, _reader);
            decoder.IP = at;
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid || instruction.NextIP <= site) continue;
            var offsets = decoder.GetConstantOffsets(instruction);
            int field = (int)(site - at);
            bool fieldAtSite = (offsets.HasDisplacement && offsets.DisplacementOffset == field)
                || (offsets.HasImmediate && offsets.ImmediateOffset == field)
                || (offsets.HasImmediate2 && offsets.ImmediateOffset2 == field);
            if (!fieldAtSite) continue;
            if (match is not null) return null; // ambiguous: let the sweep decide
            match = instruction;
        }
        return match;
    }

    /// <summary>A code reader over a reused buffer.</summary>
    private sealed class BufferReader : CodeReader
    {
        private byte[] _buffer = new byte[256];
        private int _position, _length;

        public void Load(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length > _buffer.Length) _buffer = new byte[Math.Max(bytes.Length, _buffer.Length * 2)];
            bytes.CopyTo(_buffer);
            _length = bytes.Length;
            _position = 0;
        }

        public override int ReadByte() => _position < _length ? _buffer[_position++] : -1;
    }
}
