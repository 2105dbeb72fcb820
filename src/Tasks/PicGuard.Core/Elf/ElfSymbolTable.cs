namespace PicGuard.Elf;

/// <summary>
/// A lazily decoded view of a SHT_SYMTAB or SHT_DYNSYM section with its string table and,
/// when present, its SHT_SYMTAB_SHNDX extension. Nothing is read until a symbol is asked for.
/// </summary>
public sealed class ElfSymbolTable
{
    private readonly ElfFile _file;
    private readonly ElfSection _section;
    private readonly ElfSection _strings;
    private readonly ElfSection? _extendedIndices;
    private readonly int _entrySize;
    private Dictionary<uint, string>? _names;

    public int Count { get; }
    public int SectionIndex => _section.Index;

    internal ElfSymbolTable(ElfFile file, ElfSection section)
    {
        if (section.Type != ElfSectionType.SymbolTable && section.Type != ElfSectionType.DynamicSymbolTable)
            throw new ElfFormatException($"section [{section.Index}] is linked as a symbol table but has type {(uint)section.Type}");
        _file = file;
        _section = section;
        _entrySize = file.Is64Bit ? 24 : 16;
        if (section.EntrySize != 0 && section.EntrySize != (ulong)_entrySize)
            throw new ElfFormatException($"symbol table [{section.Index}] has sh_entsize 0x{section.EntrySize:x}, expected 0x{_entrySize:x}");
        if (section.Type == ElfSectionType.NoBits)
            throw new ElfFormatException($"symbol table [{section.Index}] has no data (SHT_NOBITS)");
        Count = (int)(section.Size / (ulong)_entrySize);
        _strings = file.GetSection(section.Link);
        if (_strings.Type != ElfSectionType.StringTable)
            throw new ElfFormatException($"symbol table [{section.Index}] links to section [{section.Link}], which is not a string table");
        _extendedIndices = file.FindExtendedIndexTable(section.Index);
    }

    public ElfSymbol this[uint index]
    {
        get
        {
            if (index >= (uint)Count)
                throw new ElfFormatException($"symbol index {index} is out of range (symbol table [{_section.Index}] has {Count} entries)");
            var e = _file.SectionData(_section).Slice((int)index * _entrySize, _entrySize);
            uint name = _file.Word(e, 0);
            ulong value, size;
            byte info, other;
            ushort shndx;
            if (_file.Is64Bit)
            {
                info = e[4]; other = e[5]; shndx = _file.Half(e, 6);
                value = _file.Xword(e, 8); size = _file.Xword(e, 16);
            }
            else
            {
                value = _file.Word(e, 4); size = _file.Word(e, 8);
                info = e[12]; other = e[13]; shndx = _file.Half(e, 14);
            }
            uint sectionIndex = shndx;
            if (shndx == ElfSectionIndex.ExtendedIndex)
                sectionIndex = ExtendedIndex(index);
            return new ElfSymbol(name, value, size, (ElfSymbolType)(info & 0xf), (ElfSymbolBinding)(info >> 4), (byte)(other & 0x3), sectionIndex, shndx);
        }
    }

    private uint ExtendedIndex(uint symbol)
    {
        if (_extendedIndices is not { } table)
            throw new ElfFormatException($"symbol {symbol} uses SHN_XINDEX but symbol table [{_section.Index}] has no SHT_SYMTAB_SHNDX section");
        var data = _file.SectionData(table);
        if ((ulong)symbol * 4 + 4 > (ulong)data.Length)
            throw new ElfFormatException($"SHT_SYMTAB_SHNDX section [{table.Index}] has no entry for symbol {symbol}");
        return _file.Word(data, (int)symbol * 4);
    }

    /// <summary>The symbol's name; each distinct name is decoded once per table.</summary>
    public string Name(in ElfSymbol symbol)
    {
        if (symbol.NameOffset == 0) return string.Empty;
        var names = LazyInitializer.EnsureInitialized(ref _names);
        lock (names)
        {
            if (!names.TryGetValue(symbol.NameOffset, out var name))
                names.Add(symbol.NameOffset, name = _file.ReadString(_strings, symbol.NameOffset, "symbol name"));
            return name;
        }
    }

    /// <summary>
    /// The entries as Elf64_Sym bytes and the string table, when the file is 64-bit little-endian: the layout a pass over
    /// every symbol can read in place rather than decode symbol by symbol. False otherwise.
    /// </summary>
    internal bool TryGetElf64LittleEndian(out ReadOnlySpan<byte> entries, out ReadOnlySpan<byte> strings)
    {
        if (!_file.Is64Bit || _file.IsBigEndian || _entrySize != 24)
        {
            entries = strings = default;
            return false;
        }
        entries = _file.SectionData(_section)[..(Count * 24)];
        strings = _file.SectionData(_strings);
        return true;
    }

    /// <summary>
    /// Adds the index of every symbol of type <paramref name="type"/> to <paramref name="into"/>, in order: one pass over
    /// st_info alone, in place when the table is 64-bit little-endian (a kernel module has thousands of symbols and often
    /// not one STT_FILE).
    /// </summary>
    internal void IndicesOfType(ElfSymbolType type, List<uint> into)
    {
        if (TryGetElf64LittleEndian(out var entries, out _))
        {
            for (int at = 24 + 4; at < entries.Length; at += 24)
                if ((entries[at] & 0xf) == (int)type) into.Add((uint)(at / 24));
            return;
        }
        for (uint i = 1; i < (uint)Count; i++)
            if (TypeOf(i) == type) into.Add(i);
    }

    /// <summary>The symbol's type (st_info's low bits) alone, without decoding the rest of the entry.</summary>
    public ElfSymbolType TypeOf(uint index) => (ElfSymbolType)(RawEntry(index)[InfoOffset] & 0xf);

    /// <summary>Where st_info is in an entry (Elf64_Sym and Elf32_Sym order their fields differently).</summary>
    private int InfoOffset => _file.Is64Bit ? 4 : 12;

    /// <summary>Symbol <paramref name="index"/>'s entry in the file, bounds-checked against the table.</summary>
    private ReadOnlySpan<byte> RawEntry(uint index)
    {
        if (index >= (uint)Count)
            throw new ElfFormatException($"symbol index {index} is out of range (symbol table [{_section.Index}] has {Count} entries)");
        return _file.Data.Span.Slice((int)_section.Offset + (int)index * _entrySize, _entrySize);
    }

    /// <summary>
    /// Symbol <paramref name="index"/>'s type and the string table from its name on, not cut at the NUL (empty when the
    /// name is out of range), reading only st_name and st_info: the cheap first-byte test a classifier makes once per symbol.
    /// </summary>
    public ReadOnlySpan<byte> RawNameBytes(uint index, out ElfSymbolType type)
    {
        var e = RawEntry(index);
        uint name = _file.Word(e, 0);
        type = (ElfSymbolType)(e[InfoOffset] & 0xf);
        if (name >= _strings.Size) return ReadOnlySpan<byte>.Empty; // the string table's data was checked against the file
        return _file.Data.Span.Slice((int)_strings.Offset + (int)name, (int)(_strings.Size - name));
    }

    /// <summary>
    /// The symbol's name as bytes of the file, up to its NUL, when every byte is printable ASCII: the name's text as it is,
    /// without allocating (valid while the file's data is). Empty when there is no name, when it is out of range or
    /// unterminated (<see cref="Name"/> says which), or when it holds any other byte (<see cref="Name"/> decodes it).
    /// </summary>
    internal ReadOnlyMemory<byte> PrintableNameMemory(in ElfSymbol symbol)
    {
        if (symbol.NameOffset == 0 || symbol.NameOffset >= _strings.Size) return default;
        var rest = _file.Data.Slice((int)_strings.Offset + (int)symbol.NameOffset, (int)(_strings.Size - symbol.NameOffset));
        // One pass: the first byte that is not printable ASCII ends the name if it is the NUL.
        int end = rest.Span.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7e);
        return end < 0 || rest.Span[end] != 0 ? default : rest[..end];
    }
}

/// <summary>Names as readelf prints them: an ASCII control byte as <c>^</c> and its letter (<c>\x02</c> is <c>^B</c>, DEL is <c>^?</c>).</summary>
public static class PrintableName
{
    /// <summary><paramref name="name"/> itself when it holds no control byte (no copy), otherwise the escaped form.</summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(name))]
    public static string? Of(string? name)
    {
        if (name is null) return null;
        if (name.AsSpan().IndexOfAnyInRange('\0', '\x1f') < 0 && name.IndexOf('\x7f') < 0) return name;
        var sb = new System.Text.StringBuilder(name.Length + 8);
        foreach (char c in name)
        {
            if (c < 0x20) sb.Append('^').Append((char)(c + 0x40));
            else if (c == 0x7f) sb.Append("^?");
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
