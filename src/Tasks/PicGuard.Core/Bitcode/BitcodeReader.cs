using System.Buffers.Binary;
using System.Text;

namespace PicGuard.Bitcode;

/// <summary>One entry of a module's <c>!llvm.module.flags</c>: merge behaviour, name, and an integer or string value.</summary>
/// <param name="Behavior">How modules' values merge when linked (1 Error: they must be equal; 7 Max; 8 Min; …).</param>
/// <param name="Integer">The value when it is an integer constant (<c>i32 2</c>).</param>
/// <param name="Text">The value when it is a metadata string (<c>!"lp64"</c>).</param>
/// <param name="IntegerBits">The width of the integer value's type (32 for <c>i32</c>), 0 when the value is not an integer.</param>
public sealed record ModuleFlag(long Behavior, string Name, long? Integer, string? Text, int IntegerBits = 0)
{
    /// <summary>The entry as llvm-dis prints it inside <c>!{…}</c>: <c>i32 1, !"Code Model", i32 2</c>; a node value is <c>!…</c>.</summary>
    public override string ToString()
    {
        string value = Integer is { } i ? $"i{IntegerBits} {i.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : Text is null ? "!…" : $"!\"{Text}\"";
        return $"i32 {Behavior.ToString(System.Globalization.CultureInfo.InvariantCulture)}, !\"{Name}\", {value}";
    }
}

/// <summary>What PicGuard reads of one LLVM IR module: its target, module flags and the functions it defines.</summary>
public sealed record BitcodeModule(
    string? Triple,
    string? SourceFileName,
    IReadOnlyList<ModuleFlag> Flags,
    IReadOnlyList<string> DefinedFunctions)
{
    public ModuleFlag? Flag(string name) => Flags.FirstOrDefault(f => f.Name == name);

    /// <summary>The <c>Code Model</c> flag (clang writes it only for an explicit <c>-mcmodel=</c>), or null.</summary>
    public long? CodeModel => Flag("Code Model")?.Integer;

    public long? PicLevel => Flag("PIC Level")?.Integer;

    public long? PieLevel => Flag("PIE Level")?.Integer;

    public long? LargeDataThreshold => Flag("Large Data Threshold")?.Integer;

    /// <summary>LLVM's CodeModel::Model as clang writes it: tiny 0, small 1, kernel 2, medium 3, large 4.</summary>
    public static string CodeModelName(long model) => model switch
    {
        0 => "tiny",
        1 => "small",
        2 => "kernel",
        3 => "medium",
        4 => "large",
        _ => $"unknown ({model})",
    };

    /// <summary>"Code Model kernel, PIC Level 2, PIE Level 2": the flags that say how position-independent the code is.</summary>
    public string DescribeModel()
    {
        var parts = new List<string>();
        parts.Add(CodeModel is { } m ? $"Code Model {CodeModelName(m)}" : "no Code Model flag");
        if (PicLevel is { } pic) parts.Add($"PIC Level {pic}");
        if (PieLevel is { } pie) parts.Add($"PIE Level {pie}");
        if (LargeDataThreshold is { } threshold) parts.Add($"Large Data Threshold {threshold}");
        return string.Join(", ", parts);
    }
}

/// <summary>
/// Reads LLVM bitcode (raw, <c>BC 0xC0DE</c>, or inside the <c>0x0B17C0DE</c> wrapper) as far as PicGuard needs it:
/// every module's target triple, source file name, module flags (the <c>llvm.module.flags</c> named metadata, whose
/// values are module-level constants or metadata strings) and the names of the functions it defines (from the
/// string table). Function bodies, types, summaries and the symbol table are skipped by their block lengths.
/// The format is LLVM's "LLVM Bitcode File Format"; this reader is written from it and checks every read.
/// </summary>
public static class BitcodeReader
{
    private static ReadOnlySpan<byte> RawMagic => [(byte)'B', (byte)'C', 0xC0, 0xDE];
    private const uint WrapperMagic = 0x0B17C0DE;
    private const int WrapperHeaderSize = 20;

    // Block IDs (LLVMBitCodes.h).
    private const uint BlockInfoBlock = 0, ModuleBlock = 8, ConstantsBlock = 11, MetadataBlock = 15, TypeBlock = 17, StrtabBlock = 23;

    // MODULE_BLOCK records.
    private const uint ModuleVersion = 1, ModuleTriple = 2, ModuleGlobalVar = 7, ModuleFunction = 8, ModuleAliasOld = 9,
        ModuleAlias = 14, ModuleSourceFilename = 16, ModuleIfunc = 18;

    // CONSTANTS_BLOCK records.
    private const uint ConstSetType = 1, ConstNull = 2, ConstInteger = 4;

    // TYPE_BLOCK_NEW records: every record but NUMENTRY and STRUCT_NAME defines the next type.
    private const uint TypeNumEntry = 1, TypeInteger = 7, TypeStructName = 19;

    // METADATA_BLOCK records.
    private const uint MdStringOld = 1, MdValue = 2, MdNode = 3, MdName = 4, MdDistinctNode = 5, MdKind = 6, MdNamedNode = 10,
        MdAttachment = 11, MdStrings = 35, MdGlobalDeclAttachment = 36, MdIndexOffset = 38, MdIndex = 39;

    private const uint BlockInfoSetBid = 1;
    private const uint StrtabBlob = 1;

    /// <summary>Blocks nested deeper than this are malformed (PicGuard enters only module, constants, metadata and BLOCKINFO).</summary>
    private const int MaxDepth = 8;

    /// <summary>Abbreviations one block, or the BLOCKINFO of one block ID, may define.</summary>
    private const int MaxAbbrevs = 1 << 16;

    /// <summary>Modules one bitcode file may hold.</summary>
    private const int MaxModules = 1 << 10;

    /// <summary>Entries of <c>llvm.module.flags</c>, and METADATA_STRINGS records of one module; real modules have a few dozen and one.</summary>
    private const int MaxModuleFlags = 4096, MaxStringRuns = 1024;

    public static bool IsBitcode(ReadOnlySpan<byte> data) =>
        data.StartsWith(RawMagic) || (data.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(data) == WrapperMagic);

    /// <summary>The modules of the bitcode in <paramref name="data"/>; <see cref="BitcodeFormatException"/> when it is malformed.</summary>
    public static IReadOnlyList<BitcodeModule> Read(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(data) == WrapperMagic)
        {
            if (data.Length < WrapperHeaderSize) throw new BitcodeFormatException($"bitcode wrapper header is truncated ({data.Length} bytes, needs {WrapperHeaderSize})");
            uint offset = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(data[12..]);
            if (offset < WrapperHeaderSize || offset > data.Length || size > data.Length - offset)
                throw new BitcodeFormatException($"bitcode wrapper places 0x{size:x} bytes at offset 0x{offset:x}, outside the file (size 0x{data.Length:x})");
            data = data.Slice((int)offset, (int)size);
            if (!data.StartsWith(RawMagic)) throw new BitcodeFormatException("bitcode wrapper does not hold bitcode (no BC 0xC0DE magic)");
        }
        if (!data.StartsWith(RawMagic)) throw new BitcodeFormatException("not LLVM bitcode (no BC 0xC0DE magic)");
        if (data.Length % 4 != 0) throw new BitcodeFormatException($"bitcode of {data.Length} bytes, not a multiple of 4");
        return new Parser().Run(data);
    }

    /// <summary>One module as read, before its names are resolved against the string table that follows it.</summary>
    private sealed class PendingModule
    {
        public ulong Version;
        public string? Triple, SourceFileName;
        public readonly List<(ulong Offset, ulong Size)> Functions = new();
        public List<ModuleFlag> Flags = new();
    }

    /// <summary>Metadata strings of one METADATA_STRINGS record: ids <c>First</c>… with their offsets into <c>Chars</c>.</summary>
    private sealed record StringRun(long First, int[] Starts, byte[] Chars);

    private sealed class Parser
    {
        private readonly Dictionary<uint, List<Abbreviation>> _blockInfo = new();
        private readonly List<ulong> _ops = new();
        private readonly List<BitcodeModule> _modules = new();
        private readonly List<PendingModule> _unresolved = new();

        // Per module: how many global values precede the constants, integer constants by value ID, metadata by ID.
        private long _globalValues;
        private readonly Dictionary<long, (long Value, int Bits)> _integers = new();
        private readonly Dictionary<long, int> _integerTypes = new(); // type ID -> width
        private long _types;

        public IReadOnlyList<BitcodeModule> Run(ReadOnlySpan<byte> data)
        {
            var c = new BitstreamCursor(data, 32);
            while (c.BitsLeft > 0)
            {
                if (c.RestIsZero()) break; // padding to a word boundary
                uint id = (uint)c.Read(2);
                if (id != BitstreamCursor.EnterSubblock) throw c.Malformed($"abbreviation ID {id} at the top level, where only blocks may stand");
                var (block, width, end) = c.EnterBlock();
                switch (block)
                {
                    case ModuleBlock:
                        if (_modules.Count + _unresolved.Count >= MaxModules) throw c.Malformed($"more than {MaxModules} modules");
                        _unresolved.Add(ReadModule(ref c, width, end));
                        break;
                    case StrtabBlock:
                        ReadStrtab(ref c, width, end);
                        break;
                    case BlockInfoBlock:
                        ReadBlock(ref c, block, width, end, 1, null);
                        break;
                    default:
                        c.Seek(end);
                        break;
                }
            }
            if (_unresolved.Count > 0)
            {
                // Names of version-2 modules live in a string table; without one, the functions cannot be named.
                if (_unresolved.Any(m => m.Version >= 2 && m.Functions.Count > 0))
                    throw new BitcodeFormatException("module without a string table (STRTAB block) for its function names");
                Resolve([]);
            }
            if (_modules.Count == 0) throw new BitcodeFormatException("bitcode without a module (no MODULE_BLOCK)");
            return _modules;
        }

        /// <summary>
        /// Names as slices of the string table, decoded when read: names may overlap in the table, so decoding them all up
        /// front could cost far more than the input (a module only shows a few).
        /// </summary>
        private sealed class FunctionNames(byte[] strtab, (int Offset, int Size)[] names) : IReadOnlyList<string>
        {
            public int Count => names.Length;

            public string this[int index] => Encoding.UTF8.GetString(strtab, names[index].Offset, names[index].Size);

            public IEnumerator<string> GetEnumerator()
            {
                for (int i = 0; i < names.Length; i++) yield return this[i];
            }

            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        }

        private void ReadStrtab(ref BitstreamCursor c, int width, long end)
        {
            byte[]? strtab = null;
            ReadBlock(ref c, StrtabBlock, width, end, 1, (code, ops, count, blob) =>
            {
                if (code == StrtabBlob) strtab = blob.ToArray();
            });
            Resolve(strtab ?? []);
        }

        /// <summary>Names the functions of the modules read so far from <paramref name="strtab"/>.</summary>
        private void Resolve(byte[] strtab)
        {
            foreach (var m in _unresolved)
            {
                var names = new (int Offset, int Size)[m.Functions.Count];
                for (int i = 0; i < names.Length; i++)
                {
                    var (offset, size) = m.Functions[i];
                    if (offset > (ulong)strtab.Length || size > (ulong)strtab.Length - offset)
                        throw new BitcodeFormatException($"function name at 0x{offset:x} (0x{size:x} bytes) lies outside the string table (0x{strtab.Length:x} bytes)");
                    names[i] = ((int)offset, (int)size);
                }
                _modules.Add(new BitcodeModule(m.Triple, m.SourceFileName, m.Flags, new FunctionNames(strtab, names)));
            }
            _unresolved.Clear();
        }

        private delegate void RecordHandler(uint code, List<ulong> ops, long count, ReadOnlySpan<byte> blob);

        /// <summary>Sub-blocks a block reader enters, by the block it is in; everything else is skipped.</summary>
        private delegate bool SubBlockHandler(ref BitstreamCursor c, uint block, int width, long end);

        /// <summary>
        /// Reads the records of one block up to its END_BLOCK, handing each to <paramref name="onRecord"/>; BLOCKINFO
        /// blocks anywhere are read, sub-blocks <paramref name="enter"/> accepts are read by it, others are skipped.
        /// </summary>
        private void ReadBlock(ref BitstreamCursor c, uint blockId, int width, long end, int depth, RecordHandler? onRecord, SubBlockHandler? enter = null)
        {
            if (depth > MaxDepth) throw c.Malformed($"blocks nested more than {MaxDepth} deep");
            long parentEnd = c.End;
            c.End = end;
            var abbrevs = _blockInfo.TryGetValue(blockId, out var inherited) ? new List<Abbreviation>(inherited) : new List<Abbreviation>();
            uint? infoTarget = null; // in BLOCKINFO: the block SETBID named
            while (true)
            {
                uint id = (uint)c.Read(width);
                if (id == BitstreamCursor.EndBlock)
                {
                    c.AlignTo32();
                    break;
                }
                if (id == BitstreamCursor.EnterSubblock)
                {
                    var (sub, subWidth, subEnd) = c.EnterBlock();
                    if (sub == BlockInfoBlock)
                        ReadBlock(ref c, sub, subWidth, subEnd, depth + 1, null);
                    else if (enter is null || !enter(ref c, sub, subWidth, subEnd))
                        c.Seek(subEnd);
                    continue;
                }
                if (id == BitstreamCursor.DefineAbbrev)
                {
                    var abbrev = c.ReadAbbreviation();
                    List<Abbreviation> target;
                    if (blockId == BlockInfoBlock)
                    {
                        if (infoTarget is not { } t) throw c.Malformed("BLOCKINFO defines an abbreviation before SETBID");
                        if (!_blockInfo.TryGetValue(t, out target!)) _blockInfo[t] = target = new List<Abbreviation>();
                    }
                    else target = abbrevs;
                    if (target.Count >= MaxAbbrevs) throw c.Malformed($"more than {MaxAbbrevs} abbreviations for block {blockId}");
                    target.Add(abbrev);
                    continue;
                }
                uint code = c.ReadRecord(id, abbrevs, _ops, out long count, out var blob);
                if (blockId == BlockInfoBlock)
                {
                    if (code == BlockInfoSetBid)
                    {
                        if (_ops.Count < 1 || _ops[0] > uint.MaxValue) throw c.Malformed("SETBID without a block ID");
                        infoTarget = (uint)_ops[0];
                    }
                    continue;
                }
                onRecord?.Invoke(code, _ops, count, blob);
            }
            // The block's declared length is where it ends, whatever padding its END_BLOCK left.
            c.End = parentEnd;
            c.Seek(end);
        }

        private PendingModule ReadModule(ref BitstreamCursor c, int width, long end)
        {
            var m = new PendingModule();
            _globalValues = 0;
            _integers.Clear();
            _integerTypes.Clear();
            _types = 0;
            var metadata = new MetadataState();
            ReadBlock(ref c, ModuleBlock, width, end, 1, (code, ops, _, _) =>
            {
                switch (code)
                {
                    case ModuleVersion when ops.Count > 0:
                        m.Version = ops[0];
                        break;
                    case ModuleTriple:
                        m.Triple = Chars(ops);
                        break;
                    case ModuleSourceFilename:
                        m.SourceFileName = Chars(ops);
                        break;
                    case ModuleFunction:
                        _globalValues++;
                        // Version 2: [strtab offset, strtab size, type, calling convention, isproto, linkage, …].
                        if (m.Version >= 2 && ops.Count >= 5 && ops[4] == 0)
                            m.Functions.Add((ops[0], ops[1]));
                        break;
                    case ModuleGlobalVar or ModuleAlias or ModuleAliasOld or ModuleIfunc:
                        _globalValues++;
                        break;
                }
            }, (ref BitstreamCursor inner, uint block, int w, long e) =>
            {
                switch (block)
                {
                    case ConstantsBlock:
                        ReadConstants(ref inner, w, e);
                        return true;
                    case TypeBlock:
                        ReadTypes(ref inner, w, e);
                        return true;
                    case MetadataBlock:
                        ReadMetadata(ref inner, w, e, metadata);
                        return true;
                    default:
                        return false;
                }
            });
            m.Flags = metadata.ModuleFlags(this);
            return m;
        }

        private void ReadTypes(ref BitstreamCursor c, int width, long end)
        {
            ReadBlock(ref c, TypeBlock, width, end, 2, (code, ops, _, _) =>
            {
                if (code is TypeNumEntry or TypeStructName) return;
                long id = _types++;
                if (code == TypeInteger && ops.Count > 0 && ops[0] is > 0 and <= 1 << 23)
                    _integerTypes[id] = (int)ops[0];
            });
        }

        private void ReadConstants(ref BitstreamCursor c, int width, long end)
        {
            int bits = 0; // the width of the current type when it is an integer type
            ReadBlock(ref c, ConstantsBlock, width, end, 2, (code, ops, _, _) =>
            {
                if (code == ConstSetType)
                {
                    bits = ops.Count > 0 && _integerTypes.TryGetValue((long)Math.Min(ops[0], long.MaxValue), out int w) ? w : 0;
                    return;
                }
                // Every other record is one constant, numbered after the module's global values.
                long id = _globalValues++;
                if (bits == 0) return;
                if (code == ConstInteger && ops.Count > 0)
                    _integers[id] = (DecodeSigned(ops[0]), bits);
                else if (code == ConstNull)
                    _integers[id] = (0, bits); // zero is written as the type's null value
            });
        }

        /// <summary>LLVM's signed VBR: the sign in bit 0, the magnitude above it.</summary>
        private static long DecodeSigned(ulong v) =>
            (v & 1) == 0 ? (long)(v >> 1) : v != 1 ? -(long)(v >> 1) : long.MinValue;

        /// <summary>The module-level metadata PicGuard resolves module flags with.</summary>
        private sealed class MetadataState
        {
            public long NextId;
            public readonly List<StringRun> Strings = new();
            public readonly Dictionary<long, string> OldStrings = new();
            public readonly Dictionary<long, long> Values = new(); // metadata ID -> value ID
            public readonly Dictionary<long, (ulong A, ulong B, ulong C)> Nodes = new(); // three-operand nodes
            public string? PendingName;
            public List<long>? FlagNodes;

            public bool IsString(long id) => OldStrings.ContainsKey(id) || Strings.Exists(r => id >= r.First && id - r.First < r.Starts.Length - 1);

            public string? StringAt(long id)
            {
                if (OldStrings.TryGetValue(id, out var old)) return old;
                foreach (var run in Strings)
                {
                    long k = id - run.First;
                    if (k >= 0 && k < run.Starts.Length - 1)
                        return Encoding.UTF8.GetString(run.Chars, run.Starts[k], run.Starts[k + 1] - run.Starts[k]);
                }
                return null;
            }

            public List<ModuleFlag> ModuleFlags(Parser p)
            {
                var flags = new List<ModuleFlag>();
                foreach (long id in FlagNodes ?? [])
                {
                    if (!Nodes.TryGetValue(id, out var node))
                        throw new BitcodeFormatException($"module flag !{id} is not a node of three operands");
                    // Node operands are metadata IDs plus one (0 is null).
                    long? behavior = node.A == 0 ? null : p.IntegerOf(this, (long)node.A - 1)?.Value;
                    string? name = node.B == 0 ? null : StringAt((long)node.B - 1);
                    if (behavior is null || name is null)
                        throw new BitcodeFormatException($"module flag !{id} has no integer behaviour or no name");
                    var integer = node.C == 0 ? null : p.IntegerOf(this, (long)node.C - 1);
                    string? text = integer is null && node.C != 0 ? StringAt((long)node.C - 1) : null;
                    flags.Add(new ModuleFlag(behavior.Value, name, integer?.Value, text, integer?.Bits ?? 0));
                }
                return flags;
            }
        }

        private (long Value, int Bits)? IntegerOf(MetadataState md, long metadataId) =>
            md.Values.TryGetValue(metadataId, out long valueId) && _integers.TryGetValue(valueId, out var v) ? v : null;

        private void ReadMetadata(ref BitstreamCursor c, int width, long end, MetadataState s)
        {
            ReadBlock(ref c, MetadataBlock, width, end, 2, (code, ops, count, blob) =>
            {
                switch (code)
                {
                    case MdStrings:
                        if (s.Strings.Count >= MaxStringRuns) throw new BitcodeFormatException($"more than {MaxStringRuns} METADATA_STRINGS records");
                        s.Strings.Add(ReadStrings(ops, blob, s.NextId));
                        s.NextId += (long)ops[0];
                        break;
                    case MdStringOld:
                        s.OldStrings[s.NextId++] = Chars(ops);
                        break;
                    case MdValue:
                        if (ops.Count < 2) throw new BitcodeFormatException($"metadata value !{s.NextId} without type and value");
                        s.Values[s.NextId++] = (long)Math.Min(ops[1], long.MaxValue);
                        break;
                    case MdNode or MdDistinctNode:
                        // Only what may be a module flag is kept: three operands, the second a string (its ID plus one).
                        if (ops.Count == 3 && ops[1] != 0 && s.IsString((long)Math.Min(ops[1] - 1, long.MaxValue))) s.Nodes[s.NextId] = (ops[0], ops[1], ops[2]);
                        s.NextId++;
                        break;
                    case MdName:
                        s.PendingName = ops.Count <= 64 ? Chars(ops) : "";
                        break;
                    case MdNamedNode:
                        if (s.PendingName is null) throw new BitcodeFormatException("named metadata node without a name");
                        if (s.PendingName == "llvm.module.flags")
                        {
                            if (count > MaxModuleFlags) throw new BitcodeFormatException($"llvm.module.flags with {count} entries (more than {MaxModuleFlags})");
                            s.FlagNodes = ops.Select(o => (long)Math.Min(o, long.MaxValue)).ToList();
                        }
                        s.PendingName = null;
                        break;
                    case MdKind or MdAttachment or MdGlobalDeclAttachment or MdIndexOffset or MdIndex:
                        break; // these define no metadata
                    default:
                        s.NextId++; // every other record (debug info and the like) defines one metadata
                        break;
                }
            });
        }

        /// <summary>METADATA_STRINGS: [count, offset to the characters], blob: VBR6 lengths (a bitstream), then the characters.</summary>
        private static StringRun ReadStrings(List<ulong> ops, ReadOnlySpan<byte> blob, long first)
        {
            if (ops.Count < 2) throw new BitcodeFormatException("METADATA_STRINGS without count and offset");
            ulong count = ops[0], offset = ops[1];
            if (offset > (ulong)blob.Length) throw new BitcodeFormatException($"METADATA_STRINGS: characters at offset {offset}, past its blob of {blob.Length} bytes");
            if (count > offset * 8 / 6) throw new BitcodeFormatException($"METADATA_STRINGS: {count} lengths in {offset} bytes");
            var lengths = new BitstreamCursor(blob[..(int)offset], 0);
            var starts = new int[count + 1];
            long at = 0;
            var chars = blob[(int)offset..];
            for (ulong i = 0; i < count; i++)
            {
                starts[i] = (int)at;
                at += (long)Math.Min(lengths.ReadVbr(6), (ulong)int.MaxValue);
                if (at > chars.Length) throw new BitcodeFormatException($"METADATA_STRINGS: string {i} runs past the blob ({chars.Length} bytes of characters)");
            }
            starts[count] = (int)at;
            return new StringRun(first, starts, chars[..(int)at].ToArray());
        }

        private static string Chars(List<ulong> ops)
        {
            var sb = new StringBuilder(ops.Count);
            foreach (var o in ops) sb.Append(o < 0x80 ? (char)o : '?');
            return sb.ToString();
        }
    }
}
