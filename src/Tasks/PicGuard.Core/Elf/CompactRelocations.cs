namespace PicGuard.Elf;

/// <summary>
/// Decodes SHT_CREL sections, LLVM's compact relocation format (<c>clang -Wa,--crel</c>, <c>ld.lld -z crel</c>).
/// The section is a ULEB128 header, <c>count &lt;&lt; 3 | addends &lt;&lt; 2 | shift</c>, then one variable-length
/// entry per relocation, each field a delta from the previous entry's:
/// <list type="bullet">
/// <item>a first byte whose low 2 flag bits (3 when the header says addends are explicit) say which of symbol index,
/// type and addend follow, and whose other bits are the low bits of the offset delta; bit 7 set means the rest of
/// the offset delta follows as a ULEB128;</item>
/// <item>then, as the flags say, the symbol index delta, the type delta and the addend delta, each a SLEB128.</item>
/// </list>
/// Offsets are the accumulated deltas shifted left by the header's shift; every sum wraps at the class's word size
/// (32 bits for symbol index and type). Byte order plays no part: every field is a LEB128.
/// </summary>
public static class CompactRelocations
{
    /// <summary>Header bit: entries carry explicit addends (RELA-like); without it they are REL-like.</summary>
    public const ulong HeaderAddend = 4;

    /// <summary>
    /// Decodes <paramref name="data"/>, the bytes of SHT_CREL section <paramref name="sectionIndex"/>. Throws
    /// <see cref="ElfFormatException"/> when the data ends inside an entry, a LEB128 is longer than 64 bits can hold,
    /// or the header claims more entries than the section has bytes.
    /// </summary>
    public static ElfRelocation[] Decode(ReadOnlySpan<byte> data, bool is64, int sectionIndex, out bool explicitAddends)
    {
        int at = 0;
        ulong header = Uleb(data, ref at, sectionIndex);
        ulong count = header >> 3;
        explicitAddends = (header & HeaderAddend) != 0;
        int flagBits = explicitAddends ? 3 : 2;
        int shift = (int)(header & 3);
        // Every entry takes at least one byte: a count beyond the bytes left is corrupt, and is refused before allocating.
        if (count > (ulong)(data.Length - at))
            throw new ElfFormatException($"SHT_CREL section [{sectionIndex}] claims {count} relocations in 0x{data.Length:x} bytes");
        var entries = new ElfRelocation[(int)count];
        ulong wordMask = is64 ? ulong.MaxValue : uint.MaxValue;
        ulong offset = 0, addend = 0;
        uint symbol = 0, type = 0;
        for (int i = 0; i < entries.Length; i++)
        {
            if (at >= data.Length)
                throw Truncated(sectionIndex, i);
            byte first = data[at++];
            offset += (ulong)(first >> flagBits);
            if (first >= 0x80)
                offset += (Uleb(data, ref at, sectionIndex) << (7 - flagBits)) - (0x80UL >> flagBits);
            offset &= wordMask;
            if ((first & 1) != 0)
                symbol += (uint)Sleb(data, ref at, sectionIndex);
            if ((first & 2) != 0)
                type += (uint)Sleb(data, ref at, sectionIndex);
            if (explicitAddends && (first & 4) != 0)
                addend = (addend + (ulong)Sleb(data, ref at, sectionIndex)) & wordMask;
            long signedAddend = is64 ? (long)addend : (int)(uint)addend;
            entries[i] = new ElfRelocation((offset << shift) & wordMask, type, symbol, explicitAddends ? signedAddend : 0, explicitAddends);
        }
        return entries;
    }

    private static ElfFormatException Truncated(int sectionIndex, int entry) =>
        new($"SHT_CREL section [{sectionIndex}] ends inside relocation {entry}");

    private static ulong Uleb(ReadOnlySpan<byte> data, ref int at, int sectionIndex)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (at >= data.Length)
                throw new ElfFormatException($"SHT_CREL section [{sectionIndex}] ends inside a ULEB128 at 0x{at:x}");
            byte b = data[at++];
            if (shift >= 64 || shift == 63 && (b & 0x7e) != 0)
                throw new ElfFormatException($"SHT_CREL section [{sectionIndex}] has a ULEB128 longer than 64 bits at 0x{at - 1:x}");
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
    }

    private static long Sleb(ReadOnlySpan<byte> data, ref int at, int sectionIndex)
    {
        long value = 0;
        int shift = 0;
        byte b;
        do
        {
            if (at >= data.Length)
                throw new ElfFormatException($"SHT_CREL section [{sectionIndex}] ends inside a SLEB128 at 0x{at:x}");
            b = data[at++];
            if (shift >= 64)
                throw new ElfFormatException($"SHT_CREL section [{sectionIndex}] has a SLEB128 longer than 64 bits at 0x{at - 1:x}");
            value |= (long)(b & 0x7f) << shift;
            shift += 7;
        } while (b >= 0x80);
        if (shift < 64 && (b & 0x40) != 0)
            value |= -1L << shift;
        return value;
    }
}
