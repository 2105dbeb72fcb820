using Iced.Intel;
using PicGuard.Elf;

namespace PicGuard.Diagnostics;

/// <summary>
/// Names the x86 instruction at a relocation site (<c>mov rax, 0x0</c>), found by a sweep from the start of the function
/// containing it, so the reader sees the code the relocation patches: the common forms read from their bytes
/// (<see cref="CommonInstructions"/>), any other decoded and formatted by Iced. Used only for findings; other machines
/// get no instruction.
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

    // Iced's fast formatter, not its IntelFormatter: the IntelFormatter's first use builds its tables for every
    // instruction (an upper-case interned copy of each mnemonic among them), 16.5 M of the 22.5 M instructions that
    // listing one small kernel module ran (18.7 ms against 5.7 ms for its summary); the fast formatter's tables are its
    // mnemonics alone. Both write Intel syntax, the same text for 98.3% of the 838,845 instructions of 300 kernel
    // modules' code; the rest differ in spelling: a branch's CS prefix shown (as objdump shows it), operands the other
    // leaves implied (string instructions, imul's three-operand form, nop's memory size). At the modules' relocation
    // sites only the CS prefix differed (452 of 160,344).
    [ThreadStatic] private static FastFormatter? t_formatter;
    [ThreadStatic] private static FastStringOutput? t_output;

    internal static string Format(in Instruction instruction)
    {
        var formatter = t_formatter;
        if (formatter is null)
        {
            t_formatter = formatter = new FastFormatter();
            formatter.Options.SpaceAfterOperandSeparator = true;
            formatter.Options.RipRelativeAddresses = true;
            formatter.Options.UppercaseHex = false;
            formatter.Options.UseHexPrefix = true;
        }
        var output = t_output ??= new FastStringOutput();
        output.Clear();
        formatter.Format(instruction, output);
        return output.ToString();
    }

    /// <summary>
    /// A near branch's text before and after its target, as <see cref="Format"/> writes it; null unless the target is
    /// written once, as "0x" and its lowercase hexadecimal digits (then the text is the same with any target).
    /// </summary>
    internal static (string Before, string After)? FormatAroundTarget(in Instruction instruction)
    {
        string whole = Format(instruction);
        string target = "0x" + instruction.NearBranchTarget.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        int at = whole.IndexOf(target, StringComparison.Ordinal);
        if (at < 0 || whole.IndexOf(target, at + 1, StringComparison.Ordinal) >= 0) return null;
        int after = at + target.Length;
        if (at > 0 && char.IsAsciiLetterOrDigit(whole[at - 1]) || after < whole.Length && char.IsAsciiHexDigit(whole[after]))
            return null; // part of a longer number or name
        return (whole[..at], whole[after..]);
    }
}

/// <summary>
/// An instruction's text: whole, or a near branch's text around its target (<c>call </c>, the target, nothing after),
/// which is written as "0x" and its hexadecimal digits. The parts of a branch are shared by every site with the same
/// bytes, so writing a call's text makes no string for it. <c>default</c> is no instruction.
/// </summary>
internal readonly struct InstructionText
{
    private readonly string? _text; // the whole text, or a branch's text before its target
    private readonly string? _afterTarget;
    private readonly ulong _target;

    internal InstructionText(string text) => _text = text;

    internal InstructionText(string beforeTarget, ulong target, string afterTarget) =>
        (_text, _target, _afterTarget) = (beforeTarget, target, afterTarget);

    public bool IsNone => _text is null;

    /// <summary>The text as one string (made here for a branch); null for no instruction.</summary>
    public string? Text => _afterTarget is null ? _text
        : string.Concat(_text, "0x", _target.ToString("x", System.Globalization.CultureInfo.InvariantCulture), _afterTarget);

    internal void WriteTo<TSink>(TSink writer) where TSink : struct, ITextSink
    {
        writer.Write(_text);
        if (_afterTarget is null) return;
        writer.WriteUtf8("0x"u8);
        writer.Hex(_target);
        writer.Write(_afterTarget);
    }

    public override string ToString() => Text ?? "";
}

/// <summary>
/// The instructions at the relocation sites of one object, decoded by one Iced decoder. Sites come in address order
/// within a section, so a site in the same function as the one before it is decoded from that one's instruction (a
/// boundary of the same sweep from the function's start) rather than from the function's start again: a function's
/// sites together cost one pass over it. Only the bytes between the starting boundary and the site are copied. On the
/// way to a site, an instruction whose length its first bytes settle is stepped over by that length
/// (<see cref="InstructionLength"/>) rather than decoded.
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
    public string? At(in ElfSection section, ulong siteOffset, ulong startOffset, in ElfSection relocationSection = default, int relocationIndex = -1) =>
        TextAt(section, siteOffset, startOffset, relocationSection, relocationIndex).Text;

    /// <summary>As <see cref="At"/>, the text kept as its parts (a near branch's target apart): written without a string of its own.</summary>
    public InstructionText TextAt(in ElfSection section, ulong siteOffset, ulong startOffset, in ElfSection relocationSection = default, int relocationIndex = -1)
    {
        if (_bitness == 0 || !section.HasFileData || siteOffset >= section.Size || startOffset > siteOffset || siteOffset - startOffset > InstructionDecoder.MaxDecodeBytes)
            return default;
        var code = elf.SectionData(section);
        if (siteOffset >= (ulong)code.Length) return default;
        ulong begin = section.Index == _section && startOffset == _functionStart && _resume >= startOffset && _resume <= siteOffset ? _resume : startOffset;
        if (LastKnownEnd(relocationSection, relocationIndex, begin, siteOffset) is { } knownEnd) begin = knownEnd;
        _section = section.Index;
        _functionStart = startOffset;
        _resume = ulong.MaxValue;
        int end = (int)Math.Min((ulong)code.Length, siteOffset + 16);
        BufferReader? reader = null;
        Decoder? decoder = null;
        ulong at = begin, limit = (ulong)end;
        while (at <= siteOffset && at < limit)
        {
            // An instruction that ends at or before the site is stepped over by its length where its first bytes settle it
            // (InstructionLength: nearly every instruction of compiled code). The one at the site is read here when it is
            // one of the common forms (CommonInstructions); Iced decodes the rest, and any other one at the site.
            int length = _bitness == 64 ? InstructionLength.Of64(code[(int)at..end]) : 0;
            if (length > 0 && at + (ulong)length <= siteOffset)
            {
                at += (ulong)length;
                continue;
            }
            if (length > 0 && CommonText(code.Slice((int)at, length), at) is { } common)
            {
                _resume = at;
                return common;
            }
            if (decoder is null)
            {
                reader = t_reader ??= new BufferReader();
                if (System.Runtime.InteropServices.MemoryMarshal.TryGetArray(elf.Data, out var file))
                    reader.Read(file.Array!, file.Offset + (int)section.Offset + (int)begin, file.Offset + (int)section.Offset + end);
                else
                    reader.Load(code[(int)begin..end]);
                decoder = _bitness == 64 ? t_decoder64 ??= Decoder.Create(64, reader) : t_decoder32 ??= Decoder.Create(32, reader);
            }
            reader!.MoveTo((int)(at - begin));
            decoder.IP = at;
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid) return default;
            if (siteOffset < instruction.NextIP)
            {
                _resume = instruction.IP;
                return Text(instruction, code.Slice((int)instruction.IP, instruction.Length));
            }
            at = instruction.NextIP;
        }
        return default;
    }

    // ---- the text of an instruction, by its bytes ---------------------------------------------------

    /// <summary>
    /// Instructions already formatted on this thread, by their bytes and the decoder's mode: a table of
    /// <see cref="TextsKept"/> slots, each found by the key's hash and taken over by the next key that hashes there.
    /// </summary>
    /// <remarks>
    /// 1,024 slots of 48 bytes: the table is read at every site, and at 4,096 slots (192 KB a thread) nearly every read
    /// waited on memory (two thirds of the lookup's samples on its first load). Listing the kernel modules, medians of 11
    /// side by side: 0.294 s with 4,096 slots, 0.283 s with 1,024, 0.281 s with 256 or 64; the output the same.
    /// </remarks>
    [ThreadStatic] private static KnownText[]? t_texts;
    private const int TextsKeptBits = 10;
    private const int TextsKept = 1 << TextsKeptBits;

    private struct KnownText
    {
        public UInt128 Bytes;
        public int LengthAndMode;
        /// <summary>The whole text; for a near branch, the text before its target.</summary>
        public string? Text;
        /// <summary>A near branch's text after its target; null: the text is whole.</summary>
        public string? AfterTarget;
    }

    /// <summary>Marks a near branch's key: its text is kept around the target, apart from the same bytes' whole text.</summary>
    private const int BranchKey = 1 << 16;

    /// <summary>
    /// The instruction as <see cref="InstructionDecoder.Format"/> writes it. An instruction whose text does not depend on
    /// where it is (no branch target, no address worked out from its own) is the same text wherever its bytes recur; the
    /// sites of one kind of finding are often the same instruction (<c>mov rdi, 0x0</c> before every call that passes an
    /// absolute address), so such a text is formatted once per thread and shared.
    /// </summary>
    private InstructionText Text(in Instruction instruction, ReadOnlySpan<byte> bytes)
    {
        bool branch = false;
        if (bytes.Length > 16 || DependsOnAddress(instruction) && !(branch = IsNearBranch(instruction)))
            return new InstructionText(InstructionDecoder.Format(instruction));
        ref var slot = ref Known(bytes, branch, out bool known);
        if (!known)
        {
            if (!branch)
                slot.Text = InstructionDecoder.Format(instruction);
            else if (InstructionDecoder.FormatAroundTarget(instruction) is { } parts)
                (slot.Text, slot.AfterTarget) = parts;
            else
            {
                slot.Text = null; // not split as expected: formatted whole every time
                return new InstructionText(InstructionDecoder.Format(instruction));
            }
        }
        return slot.AfterTarget is null ? new InstructionText(slot.Text!) : new InstructionText(slot.Text!, instruction.NearBranchTarget, slot.AfterTarget);
    }

    /// <summary>As <see cref="Text"/> for an instruction of one of the common forms, read without Iced; null for any other.</summary>
    private InstructionText? CommonText(ReadOnlySpan<byte> bytes, ulong ip)
    {
        if (!CommonInstructions.Reads64(bytes, ip, out bool branch, out ulong target)) return null;
        ref var slot = ref Known(bytes, branch, out bool known);
        if (!known) (slot.Text, slot.AfterTarget) = (CommonInstructions.Text64(bytes), branch ? "" : null);
        return slot.AfterTarget is null ? new InstructionText(slot.Text!) : new InstructionText(slot.Text!, target, slot.AfterTarget);
    }

    /// <summary>The slot of these bytes (a branch's apart from the same bytes' whole text); <paramref name="known"/>: it holds their text, else it is theirs now, its text to be set.</summary>
    private ref KnownText Known(ReadOnlySpan<byte> bytes, bool branch, out bool known)
    {
        Span<byte> padded = stackalloc byte[16];
        padded.Clear();
        bytes.CopyTo(padded);
        var key = System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(padded);
        int lengthAndMode = bytes.Length | _bitness << 8 | (branch ? BranchKey : 0);
        ulong hash = ((ulong)key ^ (ulong)(key >> 64) * 0xC2B2AE3D27D4EB4FUL ^ (ulong)lengthAndMode) * 0x9E3779B97F4A7C15UL;
        ref var slot = ref (t_texts ??= new KnownText[TextsKept])[(int)(hash >> (64 - TextsKeptBits))]; // the hash's top bits
        known = slot.Text is not null && slot.Bytes == key && slot.LengthAndMode == lengthAndMode;
        if (!known)
        {
            slot.Bytes = key;
            slot.LengthAndMode = lengthAndMode;
            slot.Text = null;
            slot.AfterTarget = null;
        }
        return ref slot;
    }

    /// <summary>A near branch (call, jmp, jcc, loop) whose only address-dependent part is its target: same bytes, same text around it.</summary>
    private static bool IsNearBranch(in Instruction instruction) =>
        !instruction.IsIPRelativeMemoryOperand && instruction.OpCount == 1
        && instruction.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64;

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

    /// <summary>
    /// A code reader over the object's own bytes when they are an array (a file read whole), or else over a copy of the
    /// stretch in a reused buffer (a mapped file, an archive member): a sweep from a function's start can be kilobytes.
    /// </summary>
    private sealed class BufferReader : CodeReader
    {
        private byte[] _own = new byte[256];
        private byte[] _buffer = [];
        private int _start, _position, _end;

        /// <summary>Reads <paramref name="bytes"/> from <paramref name="start"/> up to <paramref name="end"/>, in place.</summary>
        public void Read(byte[] bytes, int start, int end)
        {
            _buffer = bytes;
            _start = _position = start;
            _end = end;
        }

        /// <summary>Goes on reading <paramref name="offset"/> bytes after the start of what it reads.</summary>
        public void MoveTo(int offset) => _position = _start + offset;

        /// <summary>Reads a copy of <paramref name="bytes"/>.</summary>
        public void Load(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length > _own.Length) _own = new byte[Math.Max(bytes.Length, _own.Length * 2)];
            bytes.CopyTo(_own);
            Read(_own, 0, bytes.Length);
        }

        public override int ReadByte() => _position < _end ? _buffer[_position++] : -1;
    }
}
