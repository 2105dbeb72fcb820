namespace PicGuard.Bitcode;

/// <summary>The input is LLVM bitcode whose bitstream or IR records are malformed; the message says what and at which bit.</summary>
public sealed class BitcodeFormatException : Exception
{
    public BitcodeFormatException(string message) : base(message) { }
}

/// <summary>How one operand of an abbreviation is encoded (LLVM's BitCodeAbbrevOp).</summary>
internal enum AbbrevEncoding : byte
{
    Literal = 0,
    Fixed = 1,
    Vbr = 2,
    Array = 3,
    Char6 = 4,
    Blob = 5,
}

/// <summary>One operand of an abbreviation: a literal value, or an encoding with its width.</summary>
internal readonly record struct AbbrevOp(AbbrevEncoding Encoding, ulong Value)
{
    public bool IsScalar => Encoding is AbbrevEncoding.Literal or AbbrevEncoding.Fixed or AbbrevEncoding.Vbr or AbbrevEncoding.Char6;

    /// <summary>The fewest bits one value of this operand takes (arrays are bounded by it).</summary>
    public int MinimumBits => Encoding switch
    {
        AbbrevEncoding.Fixed or AbbrevEncoding.Vbr => (int)Value,
        AbbrevEncoding.Char6 => 6,
        _ => 0,
    };
}

/// <summary>A DEFINE_ABBREV: the operands of records that use it, validated when it is read.</summary>
internal sealed class Abbreviation(AbbrevOp[] ops)
{
    public AbbrevOp[] Ops { get; } = ops;
}

/// <summary>
/// Reads the LLVM bitstream container: fixed and variable-width fields in little-endian bit order, block headers,
/// abbreviation definitions and records, abbreviated or not. Every read is checked against the end of the current
/// block; every count and width is checked against what the remaining bits can hold, so a malformed stream is a
/// <see cref="BitcodeFormatException"/>, never an out-of-range read, a huge allocation or an endless loop.
/// </summary>
internal ref struct BitstreamCursor
{
    /// <summary>Fixed and VBR widths above this are malformed (LLVM's MaxChunkSize).</summary>
    public const int MaxChunkWidth = 32;

    /// <summary>Operands one abbreviation may have; real ones have a dozen at most.</summary>
    public const int MaxAbbrevOps = 256;

    /// <summary>Operands of one record kept in the operand buffer; more are read, counted and dropped.</summary>
    public const int MaxKeptOps = 1 << 16;

    public const uint EndBlock = 0, EnterSubblock = 1, DefineAbbrev = 2, UnabbrevRecord = 3;

    private readonly ReadOnlySpan<byte> _data;
    private long _pos;
    private long _end;

    /// <summary>A cursor over <paramref name="data"/>, whose length is a multiple of four bytes, at bit <paramref name="startBit"/>.</summary>
    public BitstreamCursor(ReadOnlySpan<byte> data, long startBit)
    {
        _data = data;
        _pos = startBit;
        _end = (long)data.Length * 8;
    }

    public long Position => _pos;

    /// <summary>Where the current block (or the stream) ends, in bits.</summary>
    public long End
    {
        readonly get => _end;
        set => _end = value;
    }

    public readonly long BitsLeft => _end - _pos;

    /// <summary>Whether every bit left up to <see cref="End"/> is zero (padding after the last block).</summary>
    public readonly bool RestIsZero()
    {
        long pos = _pos;
        if (pos >= _end) return true;
        int first = (int)(pos >> 3);
        if ((_data[first] >> (int)(pos & 7)) != 0) return false;
        return _data.Slice(first + 1, (int)((_end >> 3) - first - 1)).IndexOfAnyExcept((byte)0) < 0;
    }

    public ulong Read(int width)
    {
        if (width == 0) return 0;
        if (width < 0 || width > 64) throw Malformed($"field of {width} bits");
        if (width > _end - _pos) throw Malformed($"a {width}-bit field runs past the end of its block (bit {_end})");
        ulong result = 0;
        int got = 0;
        long pos = _pos;
        while (got < width)
        {
            int bit = (int)(pos & 7);
            int take = Math.Min(8 - bit, width - got);
            ulong bits = (ulong)((_data[(int)(pos >> 3)] >> bit) & ((1 << take) - 1));
            result |= bits << got;
            got += take;
            pos += take;
        }
        _pos = pos;
        return result;
    }

    /// <summary>A variable bit-rate value: chunks of <paramref name="width"/> bits whose top bit says another follows.</summary>
    public ulong ReadVbr(int width)
    {
        if (width < 2 || width > MaxChunkWidth) throw Malformed($"VBR field of width {width}");
        ulong high = 1UL << (width - 1);
        ulong result = 0;
        int shift = 0;
        while (true)
        {
            ulong piece = Read(width);
            if (shift < 64) result |= (piece & (high - 1)) << shift;
            else if ((piece & (high - 1)) != 0) throw Malformed("VBR value wider than 64 bits");
            if ((piece & high) == 0) return result;
            shift += width - 1;
            if (shift >= 64 + MaxChunkWidth) throw Malformed("VBR value wider than 64 bits");
        }
    }

    public void AlignTo32()
    {
        long aligned = (_pos + 31) & ~31L;
        if (aligned > _end) throw Malformed("alignment runs past the end of its block");
        _pos = aligned;
    }

    /// <summary>Moves to <paramref name="bit"/>, which must lie within the current block.</summary>
    public void Seek(long bit)
    {
        if (bit < 0 || bit > _end) throw Malformed($"jump to bit {bit}, outside its block (ends at bit {_end})");
        _pos = bit;
    }

    /// <summary>
    /// Reads an ENTER_SUBBLOCK's header (the abbreviation ID is read): the block's ID, its abbreviation width, and
    /// the bit at which it ends, which lies within the current block.
    /// </summary>
    public (uint Id, int AbbrevWidth, long EndBit) EnterBlock()
    {
        ulong id = ReadVbr(8);
        ulong width = ReadVbr(4);
        AlignTo32();
        ulong words = Read(32);
        if (id > uint.MaxValue) throw Malformed($"block ID {id}");
        if (width < 1 || width > MaxChunkWidth) throw Malformed($"block {id} has an abbreviation width of {width} bits");
        if (words * 32 > (ulong)(_end - _pos)) throw Malformed($"block {id} of {words} words runs past the end of its parent (bit {_end})");
        return ((uint)id, (int)width, _pos + (long)words * 32);
    }

    /// <summary>Reads a DEFINE_ABBREV's body and checks that records can be read with it.</summary>
    public Abbreviation ReadAbbreviation()
    {
        long at = _pos;
        ulong count = ReadVbr(5);
        if (count < 1 || count > MaxAbbrevOps) throw Malformed($"abbreviation at bit {at} with {count} operands");
        var ops = new AbbrevOp[count];
        for (int i = 0; i < ops.Length; i++)
        {
            if (Read(1) == 1)
            {
                ops[i] = new AbbrevOp(AbbrevEncoding.Literal, ReadVbr(8));
                continue;
            }
            ulong encoding = Read(3);
            switch (encoding)
            {
                case (ulong)AbbrevEncoding.Fixed or (ulong)AbbrevEncoding.Vbr:
                    ulong width = ReadVbr(5);
                    if (width > MaxChunkWidth) throw Malformed($"abbreviation at bit {at}: {(AbbrevEncoding)encoding} operand of {width} bits");
                    if (encoding == (ulong)AbbrevEncoding.Vbr && width == 1) throw Malformed($"abbreviation at bit {at}: VBR operand of 1 bit");
                    // A zero-width field reads as 0 (as LLVM treats it): a literal.
                    ops[i] = width == 0 ? new AbbrevOp(AbbrevEncoding.Literal, 0) : new AbbrevOp((AbbrevEncoding)encoding, width);
                    break;
                case (ulong)AbbrevEncoding.Array or (ulong)AbbrevEncoding.Char6 or (ulong)AbbrevEncoding.Blob:
                    ops[i] = new AbbrevOp((AbbrevEncoding)encoding, 0);
                    break;
                default:
                    throw Malformed($"abbreviation at bit {at}: unknown operand encoding {encoding}");
            }
        }
        if (!ops[0].IsScalar) throw Malformed($"abbreviation at bit {at} starts with an array or a blob");
        for (int i = 0; i < ops.Length; i++)
        {
            if (ops[i].Encoding == AbbrevEncoding.Array)
            {
                if (i != ops.Length - 2) throw Malformed($"abbreviation at bit {at}: an array must be the next to last operand");
                if (ops[i + 1].Encoding is not (AbbrevEncoding.Fixed or AbbrevEncoding.Vbr or AbbrevEncoding.Char6))
                    throw Malformed($"abbreviation at bit {at}: array elements must be fixed, VBR or char6");
                break;
            }
            if (ops[i].Encoding == AbbrevEncoding.Blob && i != ops.Length - 1)
                throw Malformed($"abbreviation at bit {at}: a blob must be the last operand");
        }
        return new Abbreviation(ops);
    }

    /// <summary>
    /// Reads one record (its abbreviation ID, 3 or more, is read) into <paramref name="ops"/>, which holds at most
    /// <see cref="MaxKeptOps"/> operands; returns the record code and the true operand count. A blob operand is
    /// returned as a slice of the input, not among the operands.
    /// </summary>
    public uint ReadRecord(uint abbrevId, List<Abbreviation> abbrevs, List<ulong> ops, out long count, out ReadOnlySpan<byte> blob)
    {
        ops.Clear();
        blob = default;
        count = 0;
        if (abbrevId == UnabbrevRecord)
        {
            ulong code = ReadVbr(6);
            ulong n = ReadVbr(6);
            if (n > (ulong)BitsLeft / 6) throw Malformed($"record of {n} operands in {BitsLeft} bits");
            for (ulong i = 0; i < n; i++)
                Keep(ops, ReadVbr(6), ref count);
            return Code(code);
        }
        long index = (long)abbrevId - 4;
        if (index < 0 || index >= abbrevs.Count) throw Malformed($"abbreviation ID {abbrevId} is not defined in this block ({abbrevs.Count} defined)");
        var abbrev = abbrevs[(int)index].Ops;
        ulong recordCode = ReadScalar(abbrev[0]);
        for (int i = 1; i < abbrev.Length; i++)
        {
            var op = abbrev[i];
            switch (op.Encoding)
            {
                case AbbrevEncoding.Array:
                {
                    ulong n = ReadVbr(6);
                    var element = abbrev[i + 1];
                    if (n > (ulong)BitsLeft / (ulong)element.MinimumBits) throw Malformed($"array of {n} elements in {BitsLeft} bits");
                    for (ulong k = 0; k < n; k++)
                        Keep(ops, ReadScalar(element), ref count);
                    i++;
                    break;
                }
                case AbbrevEncoding.Blob:
                {
                    ulong n = ReadVbr(6);
                    AlignTo32();
                    if (n > (ulong)BitsLeft / 8) throw Malformed($"blob of {n} bytes in {BitsLeft / 8} bytes left");
                    blob = _data.Slice((int)(_pos >> 3), (int)n);
                    _pos += (long)n * 8;
                    AlignTo32();
                    break;
                }
                default:
                    Keep(ops, ReadScalar(op), ref count);
                    break;
            }
        }
        return Code(recordCode);
    }

    private uint Code(ulong code) => code <= uint.MaxValue ? (uint)code : throw Malformed($"record code {code}");

    private static void Keep(List<ulong> ops, ulong value, ref long count)
    {
        if (ops.Count < MaxKeptOps) ops.Add(value);
        count++;
    }

    private ulong ReadScalar(in AbbrevOp op) => op.Encoding switch
    {
        AbbrevEncoding.Literal => op.Value,
        AbbrevEncoding.Fixed => Read((int)op.Value),
        AbbrevEncoding.Vbr => ReadVbr((int)op.Value),
        AbbrevEncoding.Char6 => Char6((int)Read(6)),
        _ => throw Malformed($"{op.Encoding} operand where a value is expected"),
    };

    private static ulong Char6(int v) => v switch
    {
        < 26 => (ulong)('a' + v),
        < 52 => (ulong)('A' + v - 26),
        < 62 => (ulong)('0' + v - 52),
        62 => '.',
        _ => '_',
    };

    public readonly BitcodeFormatException Malformed(string what) => new($"{what} (at bit {_pos})");
}
