namespace PicGuard.Elf.Dwarf;

/// <summary>One row of a line-number table: the source position of the code starting at <see cref="Address"/>.</summary>
internal readonly record struct LineRow(ulong Address, int File, int Line, int Column);

/// <summary>
/// One sequence of a line-number table: contiguous code [<see cref="Start"/>, <see cref="End"/>) with
/// rows sorted by address. <see cref="Section"/> is the section the code lives in for relocatable
/// objects and 0 for linked files, whose addresses are virtual addresses.
/// </summary>
internal sealed class LineSequence
{
    public required uint Section { get; init; }
    public required ulong Start { get; init; }
    public required ulong End { get; init; }
    /// <summary>The rows that describe code; the end-of-sequence row is not among them.</summary>
    public required LineRow[] Rows { get; init; }
    /// <summary>The file names of the unit, indexed by the file numbers of <see cref="Rows"/>; null where unknown.</summary>
    public required IReadOnlyList<string?> Files { get; init; }

    public bool Contains(ulong address) => address >= Start && address < End;

    /// <summary>The row for <paramref name="address"/>: the last one at or before it.</summary>
    public LineRow? RowFor(ulong address)
    {
        if (!Contains(address)) return null;
        int lo = 0, hi = Rows.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = lo + (hi - lo) / 2;
            if (Rows[mid].Address <= address) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found < 0 ? null : Rows[found];
    }
}

/// <summary>The string sections DW_FORM_strp and DW_FORM_line_strp point into; either may be empty.</summary>
internal readonly ref struct DebugStrings(ReadOnlySpan<byte> str, ReadOnlySpan<byte> lineStr)
{
    public ReadOnlySpan<byte> Str { get; } = str;
    public ReadOnlySpan<byte> LineStr { get; } = lineStr;
}

/// <summary>
/// Decodes .debug_line (DWARF versions 2 to 5): reads each unit's header, runs its line-number
/// program and returns the sequences it describes. A unit that does not decode is skipped whole;
/// the loops are bounded by the bytes they consume, so crafted input cannot make them spin.
/// </summary>
internal static class LineProgram
{
    private const int MaxEntries = 1 << 20;

    /// <param name="bigEndian">The object's byte order, which its DWARF fields share (s390x, ppc64, aarch64_be).</param>
    public static List<LineSequence> Decode(ReadOnlySpan<byte> debugLine, DebugStrings strings, DebugSectionRelocations? relocations, bool bigEndian = false)
    {
        var sequences = new List<LineSequence>();
        int position = 0;
        while (debugLine.Length - position >= 4)
        {
            var cursor = new DwarfCursor(debugLine, position, debugLine.Length, bigEndian);
            ulong unitLength = cursor.U32();
            int offsetSize = 4;
            if (unitLength == 0xffff_ffff)
            {
                if (cursor.Remaining < 8) break;
                unitLength = cursor.U64();
                offsetSize = 8;
            }
            else if (unitLength >= 0xffff_fff0)
            {
                break; // reserved length values: nothing after this can be located
            }
            if (unitLength > (ulong)cursor.Remaining) break;
            int unitEnd = cursor.Position + (int)unitLength;
            var unitSequences = new List<LineSequence>();
            try
            {
                DecodeUnit(debugLine, cursor.Position, unitEnd, offsetSize, strings, relocations, unitSequences, bigEndian);
                sequences.AddRange(unitSequences);
            }
            catch (DwarfFormatException)
            {
                // A broken unit contributes nothing; the next one may still be fine.
            }
            position = unitEnd;
        }
        return sequences;
    }

    private static void DecodeUnit(ReadOnlySpan<byte> data, int start, int unitEnd, int offsetSize, DebugStrings strings,
        DebugSectionRelocations? relocations, List<LineSequence> sequences, bool bigEndian)
    {
        var header = new DwarfCursor(data, start, unitEnd, bigEndian);
        ushort version = header.U16();
        if (version is < 2 or > 5)
            throw new DwarfFormatException($"line table version {version} is not 2..5");
        if (version >= 5)
        {
            header.U8(); // address_size: DW_LNE_set_address carries its own length
            header.U8(); // segment_selector_size
        }
        ulong headerLength = offsetSize == 8 ? header.U64() : header.U32();
        if (headerLength > (ulong)header.Remaining)
            throw new DwarfFormatException($"header_length 0x{headerLength:x} runs past the unit");
        int programStart = header.Position + (int)headerLength;
        if (relocations is not null && relocations.AnyUnresolvedIn(start, programStart))
            throw new DwarfFormatException("the unit header is patched by a relocation that could not be applied");
        header = new DwarfCursor(data, header.Position, programStart, bigEndian);

        var parameters = new Parameters
        {
            MinimumInstructionLength = header.U8(),
            MaximumOperationsPerInstruction = version >= 4 ? header.U8() : (byte)1,
            DefaultIsStmt = header.U8() != 0,
            LineBase = header.S8(),
            LineRange = header.U8(),
            OpcodeBase = header.U8(),
        };
        if (parameters.LineRange == 0)
            throw new DwarfFormatException("line_range is 0");
        if (parameters.MaximumOperationsPerInstruction == 0)
            parameters.MaximumOperationsPerInstruction = 1;
        parameters.StandardOpcodeLengths = new byte[Math.Max(1, (int)parameters.OpcodeBase)];
        for (int i = 1; i < parameters.OpcodeBase; i++)
            parameters.StandardOpcodeLengths[i] = header.U8();

        var files = version >= 5
            ? ReadVersion5Names(ref header, offsetSize, strings)
            : ReadLegacyNames(ref header);

        var program = new DwarfCursor(data, programStart, unitEnd, bigEndian);
        Run(ref program, parameters, version, files, relocations, sequences);
    }

    private sealed class Parameters
    {
        public byte MinimumInstructionLength;
        public byte MaximumOperationsPerInstruction;
        public bool DefaultIsStmt;
        public sbyte LineBase;
        public byte LineRange;
        public byte OpcodeBase;
        public byte[] StandardOpcodeLengths = [];
    }

    /// <summary>Versions 2 to 4: include_directories then file_names, each list ended by an empty string.</summary>
    private static List<string?> ReadLegacyNames(ref DwarfCursor header)
    {
        var directories = new List<string>();
        for (string d = header.CString(); d.Length != 0; d = header.CString())
            directories.Add(d);
        var files = new List<string?> { null }; // file numbers start at 1
        for (string name = header.CString(); name.Length != 0; name = header.CString())
        {
            ulong directory = header.Uleb128();
            header.Uleb128(); // modification time
            header.Uleb128(); // length
            files.Add(LegacyPath(directories, name, directory));
        }
        return files;
    }

    /// <summary>Directory 0 is the compilation directory, which only .debug_info knows: the name stays as written.</summary>
    private static string LegacyPath(List<string> directories, string name, ulong directory) =>
        directory == 0 || directory > (ulong)directories.Count ? name : JoinPath(directories[(int)directory - 1], name);

    /// <summary>Version 5: self-describing directory and file name tables.</summary>
    private static List<string?> ReadVersion5Names(ref DwarfCursor header, int offsetSize, DebugStrings strings)
    {
        var directories = ReadEntryTable(ref header, offsetSize, strings);
        var entries = ReadEntryTable(ref header, offsetSize, strings);
        var files = new List<string?>(entries.Count);
        foreach (var (path, directory) in entries)
        {
            if (path is null) { files.Add(null); continue; }
            string? directoryPath = directory < (ulong)directories.Count ? directories[(int)directory].Path : null;
            files.Add(directoryPath is null ? path : JoinPath(directoryPath, path));
        }
        return files;
    }

    private const ulong LnctPath = 1, LnctDirectoryIndex = 2;

    private static List<(string? Path, ulong Directory)> ReadEntryTable(ref DwarfCursor header, int offsetSize, DebugStrings strings)
    {
        int formatCount = header.U8();
        var formats = new (ulong Content, ulong Form)[formatCount];
        for (int i = 0; i < formatCount; i++)
            formats[i] = (header.Uleb128(), header.Uleb128());
        ulong count = header.Uleb128();
        // Each entry takes at least one byte when there is a format; without formats entries carry nothing.
        if (count > MaxEntries || (formatCount > 0 && count > (ulong)header.Remaining))
            throw new DwarfFormatException($"entry count {count} does not fit in the header");
        var entries = new List<(string?, ulong)>((int)count);
        for (ulong e = 0; e < count; e++)
        {
            string? path = null;
            ulong directory = 0;
            foreach (var (content, form) in formats)
            {
                var value = ReadForm(ref header, form, offsetSize, strings);
                if (content == LnctPath) path = value.Text;
                else if (content == LnctDirectoryIndex) directory = value.Number;
            }
            entries.Add((path, directory));
        }
        return entries;
    }

    private readonly record struct FormValue(string? Text, ulong Number);

    /// <summary>Reads (or skips) one attribute value of the forms allowed in line table entry formats.</summary>
    private static FormValue ReadForm(ref DwarfCursor c, ulong form, int offsetSize, DebugStrings strings)
    {
        switch (form)
        {
            case 0x08: return new(c.CString(), 0);                                        // DW_FORM_string
            case 0x0e: return new(StringIn(strings.Str, c.Unsigned(offsetSize)), 0);      // DW_FORM_strp
            case 0x1f: return new(StringIn(strings.LineStr, c.Unsigned(offsetSize)), 0);  // DW_FORM_line_strp
            case 0x0b: return new(null, c.U8());                                          // DW_FORM_data1
            case 0x05: return new(null, c.U16());                                         // DW_FORM_data2
            case 0x06: return new(null, c.U32());                                         // DW_FORM_data4
            case 0x07: return new(null, c.U64());                                         // DW_FORM_data8
            case 0x1e: c.Skip(16); return default;                                        // DW_FORM_data16
            case 0x0f: return new(null, c.Uleb128());                                     // DW_FORM_udata
            case 0x0d: return new(null, (ulong)c.Sleb128());                              // DW_FORM_sdata
            case 0x09: c.Skip(c.Uleb128()); return default;                               // DW_FORM_block
            case 0x0a: c.Skip(c.U8()); return default;                                    // DW_FORM_block1
            case 0x03: c.Skip(c.U16()); return default;                                   // DW_FORM_block2
            case 0x04: c.Skip(c.U32()); return default;                                   // DW_FORM_block4
            case 0x0c: c.Skip(1); return default;                                         // DW_FORM_flag
            case 0x19: return default;                                                    // DW_FORM_flag_present
            case 0x17: return new(null, c.Unsigned(offsetSize));                          // DW_FORM_sec_offset
            // String index forms need the unit's .debug_str_offsets base: the name stays unknown.
            case 0x1a: c.Uleb128(); return default;                                       // DW_FORM_strx
            case 0x25: c.Skip(1); return default;                                         // DW_FORM_strx1
            case 0x26: c.Skip(2); return default;                                         // DW_FORM_strx2
            case 0x27: c.Skip(3); return default;                                         // DW_FORM_strx3
            case 0x28: c.Skip(4); return default;                                         // DW_FORM_strx4
            default: throw new DwarfFormatException($"form 0x{form:x} in a line table entry format cannot be skipped");
        }
    }

    private static string? StringIn(ReadOnlySpan<byte> section, ulong offset)
    {
        if (offset >= (ulong)section.Length) return null;
        var rest = section.Slice((int)offset);
        int length = rest.IndexOf((byte)0);
        return length < 0 ? null : System.Text.Encoding.UTF8.GetString(rest.Slice(0, length));
    }

    /// <summary>Joins a directory and a file name the way the compiler meant them; absolute names stay as written.</summary>
    internal static string JoinPath(string directory, string name)
    {
        if (directory.Length == 0 || IsAbsolute(name)) return name;
        return directory.EndsWith('/') || directory.EndsWith('\\') ? directory + name : directory + "/" + name;
    }

    private static bool IsAbsolute(string path) =>
        path.StartsWith('/') || path.StartsWith('\\') || (path.Length >= 2 && path[1] == ':' && char.IsAsciiLetter(path[0]));

    /// <summary>The line-number state machine.</summary>
    private struct Machine
    {
        public ulong Address;
        public ulong OpIndex;
        public long File;
        public long Line;
        public ulong Column;
        public bool IsStmt;

        public void Reset(bool defaultIsStmt)
        {
            Address = 0; OpIndex = 0; File = 1; Line = 1; Column = 0; IsStmt = defaultIsStmt;
        }
    }

    private static void Run(ref DwarfCursor program, Parameters p, int version, List<string?> files,
        DebugSectionRelocations? relocations, List<LineSequence> sequences)
    {
        var m = new Machine();
        m.Reset(p.DefaultIsStmt);
        var rows = new List<LineRow>();
        int sequenceStart = program.Position;
        uint? section = null;
        bool broken = false;

        void Emit(ref Machine state) => rows.Add(new LineRow(state.Address,
            (int)Math.Clamp(state.File, -1, int.MaxValue), (int)Math.Clamp(state.Line, 0, int.MaxValue), (int)Math.Min(state.Column, int.MaxValue)));

        void Advance(ref Machine state, ulong operationAdvance)
        {
            ulong ops = state.OpIndex + operationAdvance;
            state.Address += p.MinimumInstructionLength * (ops / p.MaximumOperationsPerInstruction);
            state.OpIndex = ops % p.MaximumOperationsPerInstruction;
        }

        while (!program.AtEnd)
        {
            byte opcode = program.U8();
            if (opcode >= p.OpcodeBase)
            {
                int adjusted = opcode - p.OpcodeBase;
                Advance(ref m, (ulong)(adjusted / p.LineRange));
                m.Line += p.LineBase + adjusted % p.LineRange;
                Emit(ref m);
                continue;
            }
            switch (opcode)
            {
                case 0: // extended opcode
                {
                    ulong length = program.Uleb128();
                    if (length == 0) break;
                    if (length > (ulong)program.Remaining)
                        throw new DwarfFormatException($"extended opcode of length 0x{length:x} runs past the unit");
                    int end = program.Position + (int)length;
                    byte sub = program.U8();
                    switch (sub)
                    {
                        case 1: // DW_LNE_end_sequence
                            Emit(ref m);
                            Finish(rows, section, relocations, sequenceStart, program.Position, broken, files, sequences);
                            rows = new List<LineRow>();
                            m.Reset(p.DefaultIsStmt);
                            section = null;
                            broken = false;
                            sequenceStart = end;
                            break;
                        case 2: // DW_LNE_set_address
                        {
                            int size = (int)length - 1;
                            int fieldOffset = program.Position;
                            if (size is < 1 or > 8) { broken = true; break; }
                            m.Address = program.Unsigned(size);
                            m.OpIndex = 0;
                            if (relocations is not null)
                            {
                                uint? fieldSection = relocations.SectionOfField(fieldOffset);
                                if (fieldSection is null || (section is not null && section != fieldSection)) broken = true;
                                else section = fieldSection;
                            }
                            break;
                        }
                        case 3 when version < 5: // DW_LNE_define_file
                        {
                            string name = program.CString();
                            program.Uleb128(); // directory: relative to the compilation directory at best
                            files.Add(name);
                            break;
                        }
                        // 4 (DW_LNE_set_discriminator) and anything unknown: nothing a position needs.
                    }
                    program.Seek(end);
                    break;
                }
                case 1: Emit(ref m); break;                                            // DW_LNS_copy
                case 2: Advance(ref m, program.Uleb128()); break;                      // DW_LNS_advance_pc
                case 3: m.Line += program.Sleb128(); break;                            // DW_LNS_advance_line
                case 4: m.File = (long)Math.Min(program.Uleb128(), int.MaxValue); break; // DW_LNS_set_file
                case 5: m.Column = program.Uleb128(); break;                           // DW_LNS_set_column
                case 6: m.IsStmt = !m.IsStmt; break;                                   // DW_LNS_negate_stmt
                case 7: break;                                                         // DW_LNS_set_basic_block
                case 8: Advance(ref m, (ulong)((255 - p.OpcodeBase) / p.LineRange)); break; // DW_LNS_const_add_pc
                case 9: m.Address += program.U16(); m.OpIndex = 0; break;              // DW_LNS_fixed_advance_pc
                case 10: case 11: break;                                               // prologue_end, epilogue_begin
                case 12: program.Uleb128(); break;                                     // DW_LNS_set_isa
                default:
                    for (int i = 0; i < p.StandardOpcodeLengths[opcode]; i++)
                        program.Uleb128();
                    break;
            }
        }
        // Rows after the last DW_LNE_end_sequence have no end address: they are dropped.
    }

    private static void Finish(List<LineRow> rows, uint? section, DebugSectionRelocations? relocations, int programStart, int programEnd,
        bool broken, List<string?> files, List<LineSequence> sequences)
    {
        if (broken || rows.Count < 2) return;
        if (relocations is not null && (section is null || relocations.AnyUnresolvedIn(programStart, programEnd))) return;
        var end = rows[^1];
        // Rows are in address order in a well-formed sequence; a stable sort keeps the order of equal addresses.
        var body = rows.Take(rows.Count - 1).OrderBy(r => r.Address).ToArray();
        ulong start = body[0].Address;
        if (end.Address <= start) return;
        sequences.Add(new LineSequence { Section = section ?? 0, Start = start, End = end.Address, Rows = body, Files = files });
    }
}
