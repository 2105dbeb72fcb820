using System.Buffers.Binary;
using System.Text;

namespace PicGuard.Elf.Dwarf;

/// <summary>
/// A forward reader over DWARF bytes of either byte order (the object's). Every read is bounds-checked against the
/// end given at construction and throws <see cref="DwarfFormatException"/> instead of running past it.
/// </summary>
internal ref struct DwarfCursor
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _end;
    private readonly bool _bigEndian;

    public int Position { get; private set; }
    public readonly int End => _end;
    public readonly int Remaining => _end - Position;
    public readonly bool AtEnd => Position >= _end;

    public DwarfCursor(ReadOnlySpan<byte> data, int position, int end, bool bigEndian = false)
    {
        if (position < 0 || end < position || end > data.Length)
            throw new DwarfFormatException($"range 0x{position:x}..0x{end:x} is outside the section (size 0x{data.Length:x})");
        _data = data;
        Position = position;
        _end = end;
        _bigEndian = bigEndian;
    }

    public readonly bool IsBigEndian => _bigEndian;

    public void Seek(int position)
    {
        if (position < 0 || position > _end)
            throw new DwarfFormatException($"offset 0x{position:x} is outside 0..0x{_end:x}");
        Position = position;
    }

    public void Skip(ulong count)
    {
        if (count > (ulong)Remaining)
            throw new DwarfFormatException($"skipping 0x{count:x} bytes at 0x{Position:x} runs past 0x{_end:x}");
        Position += (int)count;
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > Remaining)
            throw new DwarfFormatException($"reading {count} bytes at 0x{Position:x} runs past 0x{_end:x}");
        var s = _data.Slice(Position, count);
        Position += count;
        return s;
    }

    public byte U8() => Take(1)[0];
    public sbyte S8() => (sbyte)Take(1)[0];
    public ushort U16() => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(Take(2)) : BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
    public uint U32() => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(Take(4)) : BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
    public ulong U64() => _bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(Take(8)) : BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    /// <summary>An unsigned value of 1 to 8 bytes in the cursor's byte order.</summary>
    public ulong Unsigned(int size)
    {
        if (size is < 1 or > 8)
            throw new DwarfFormatException($"value size {size} at 0x{Position:x} is not 1..8");
        var bytes = Take(size);
        ulong value = 0;
        if (_bigEndian)
            for (int i = 0; i < size; i++)
                value = value << 8 | bytes[i];
        else
            for (int i = size - 1; i >= 0; i--)
                value = value << 8 | bytes[i];
        return value;
    }

    public ulong Uleb128()
    {
        ulong value = 0;
        int shift = 0;
        while (true)
        {
            byte b = U8();
            if (shift < 64)
                value |= (ulong)(b & 0x7f) << shift;
            shift += 7;
            if ((b & 0x80) == 0) return value;
        }
    }

    public long Sleb128()
    {
        long value = 0;
        int shift = 0;
        byte b;
        do
        {
            b = U8();
            if (shift < 64)
                value |= (long)(b & 0x7f) << shift;
            shift += 7;
        } while ((b & 0x80) != 0);
        if (shift < 64 && (b & 0x40) != 0)
            value |= -1L << shift;
        return value;
    }

    /// <summary>A NUL-terminated UTF-8 string.</summary>
    public string CString()
    {
        var rest = _data.Slice(Position, Remaining);
        int length = rest.IndexOf((byte)0);
        if (length < 0)
            throw new DwarfFormatException($"string at 0x{Position:x} is not NUL-terminated");
        Position += length + 1;
        return Encoding.UTF8.GetString(rest.Slice(0, length));
    }

    /// <summary>The NUL-terminated string at <paramref name="offset"/> of a string section.</summary>
    public static string StringAt(ReadOnlySpan<byte> section, ulong offset, string sectionName)
    {
        if (offset >= (ulong)section.Length)
            throw new DwarfFormatException($"offset 0x{offset:x} is past the end of {sectionName} (size 0x{section.Length:x})");
        var rest = section.Slice((int)offset);
        int length = rest.IndexOf((byte)0);
        if (length < 0)
            throw new DwarfFormatException($"string at 0x{offset:x} of {sectionName} is not NUL-terminated");
        return Encoding.UTF8.GetString(rest.Slice(0, length));
    }
}
