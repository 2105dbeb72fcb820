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
/// <remarks>
/// Decoding only the instructions that start up to 14 bytes before a site and keeping the one whose displacement or
/// immediate sits exactly there was tried and removed: on the kernel modules 91% of sites had no single such
/// instruction (a REX or operand-size byte before the opcode decodes too), so they were swept anyway after 12 trial
/// decodes each, and the sweep alone did a third fewer decodes (the same output).
/// </remarks>
internal sealed class SiteDecoder(ElfFile elf)
{
    private readonly int _bitness = elf.Machine switch { ElfMachine.X86_64 => 64, ElfMachine.I386 => 32, _ => 0 };

    // One reader and one decoder per mode on each thread, for every object it checks: each call loads the reader and sets
    // the decoder's address, so nothing carries over from one object (or site) to the next.
    [ThreadStatic] private static BufferReader? t_reader;
    [ThreadStatic] private static Decoder? t_decoder64, t_decoder32;
    private int _section = -1;
    private ulong _functionStart;
    private ulong _resume = ulong.MaxValue; // an instruction boundary of the sweep from _functionStart, or none

    /// <inheritdoc cref="InstructionDecoder.At"/>
    /// <param name="relocationSection">The relocation section whose entry <paramref name="relocationIndex"/> patches the site, when there is one: the entries before it may say where an instruction ends.</param>
    public string? At(in ElfSection section, ulong siteOffset, ulong startOffset, in ElfSection relocationSection = default, int relocationIndex = -1)
    {
        if (_bitness == 0 || !section.HasFileData || siteOffset >= section.Size || startOffset > siteOffset || siteOffset - startOffset > InstructionDecoder.MaxDecodeBytes)
            return null;
        var code = elf.SectionData(section);
        if (siteOffset >= (ulong)code.Length) return null;
        ulong begin = section.Index == _section && startOffset == _functionStart && _resume >= startOffset && _resume <= siteOffset ? _resume : startOffset;
        if (LastKnownEnd(relocationSection, relocationIndex, begin, siteOffset) is { } knownEnd) begin = knownEnd;
        _section = section.Index;
        _functionStart = startOffset;
        _resume = ulong.MaxValue;
        int end = (int)Math.Min((ulong)code.Length, siteOffset + 16);
        var reader = t_reader ??= new BufferReader();
        reader.Load(code[(int)begin..end]);
        var decoder = _bitness == 64 ? t_decoder64 ??= Decoder.Create(64, reader) : t_decoder32 ??= Decoder.Create(32, reader);
        decoder.IP = begin;
        ulong limit = (ulong)end;
        while (decoder.IP <= siteOffset && decoder.IP < limit)
        {
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid) return null;
            if (siteOffset < instruction.NextIP)
            {
                _resume = instruction.IP;
                return Text(instruction, code.Slice((int)instruction.IP, instruction.Length));
            }
        }
        return null;
    }

    // ---- the text of an instruction, by its bytes ---------------------------------------------------

    /// <summary>
    /// Instructions already formatted on this thread, by their bytes and the decoder's mode: a table of
    /// <see cref="TextsKept"/> slots, each found by the key's hash and taken over by the next key that hashes there.
    /// </summary>
    [ThreadStatic] private static KnownText[]? t_texts;
    private const int TextsKept = 4096;

    private struct KnownText
    {
        public UInt128 Bytes;
        public int LengthAndMode;
        public string? Text;
    }

    /// <summary>
    /// The instruction as <see cref="InstructionDecoder.Format"/> writes it. An instruction whose text does not depend on
    /// where it is (no branch target, no address worked out from its own) is the same text wherever its bytes recur; the
    /// sites of one kind of finding are often the same instruction (<c>mov rdi, 0x0</c> before every call that passes an
    /// absolute address), so such a text is formatted once per thread and shared.
    /// </summary>
    private string Text(in Instruction instruction, ReadOnlySpan<byte> bytes)
    {
        if (DependsOnAddress(instruction) || bytes.Length > 16) return InstructionDecoder.Format(instruction);
        Span<byte> padded = stackalloc byte[16];
        padded.Clear();
        bytes.CopyTo(padded);
        var key = System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(padded);
        int lengthAndMode = bytes.Length | _bitness << 8;
        ulong hash = ((ulong)key ^ (ulong)(key >> 64) * 0xC2B2AE3D27D4EB4FUL ^ (ulong)lengthAndMode) * 0x9E3779B97F4A7C15UL;
        ref var slot = ref (t_texts ??= new KnownText[TextsKept])[(int)(hash >> 52)]; // the top 12 bits: 0 … 4095
        if (slot.Text is not null && slot.Bytes == key && slot.LengthAndMode == lengthAndMode) return slot.Text;
        slot.Bytes = key;
        slot.LengthAndMode = lengthAndMode;
        return slot.Text = InstructionDecoder.Format(instruction);
    }

    private static bool DependsOnAddress(in Instruction instruction)
    {
        if (instruction.IsIPRelativeMemoryOperand) return true;
        for (int i = 0; i < instruction.OpCount; i++)
            if (instruction.GetOpKind(i) is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64 or OpKind.FarBranch16 or OpKind.FarBranch32)
                return true;
        return false;
    }

    // ---- instruction ends the object's own relocations prove -------------------------------------

    private const uint X86_64Plt32 = 4, X86_64GotPcRelX = 41, X86_64RexGotPcRelX = 42;

    /// <summary>How many relocation entries before the site's own are looked at for a known instruction end.</summary>
    private const int AnchorSearch = 64;

    /// <summary>
    /// The last place at or before <paramref name="siteOffset"/>, and after <paramref name="begin"/>, where an instruction is
    /// known to end without decoding: right after the field of an R_X86_64_PLT32, GOTPCRELX or REX_GOTPCRELX relocation with
    /// addend -4 (a <c>call</c>, <c>jmp</c> or <c>jcc</c> to a symbol, or a GOT load: the 32-bit field is the instruction's
    /// last bytes). Found among the entries just before the site's own (<paramref name="index"/>) in its relocation
    /// section, which assemblers write in address order; an entry out of order only costs a longer sweep.
    /// </summary>
    private ulong? LastKnownEnd(in ElfSection relocationSection, int index, ulong begin, ulong siteOffset)
    {
        if (_bitness != 64 || index <= 0 || relocationSection.Info == 0 || elf.FileType != ElfFileType.Relocatable) return null;
        var entries = elf.GetRelocations(relocationSection);
        for (int i = Math.Min(index, entries.Count) - 1, looked = 0; i >= 0 && looked < AnchorSearch; i--, looked++)
        {
            var r = entries[i];
            ulong end = r.Offset + 4;
            if (end <= begin) break;
            if (end <= siteOffset && r.Addend == -4 && r.Type is X86_64Plt32 or X86_64GotPcRelX or X86_64RexGotPcRelX) return end;
        }
        return null;
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
