using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace PicGuard.Elf;

/// <summary>One section header, decoded.</summary>
public readonly record struct ElfSection(
    int Index,
    uint NameOffset,
    ElfSectionType Type,
    ElfSectionFlags Flags,
    ulong Address,
    ulong Offset,
    ulong Size,
    uint Link,
    uint Info,
    ulong Alignment,
    ulong EntrySize)
{
    public bool IsAllocated => (Flags & ElfSectionFlags.Alloc) != 0;
    public bool IsExecutable => (Flags & ElfSectionFlags.ExecInstr) != 0;
    public bool HasFileData => Type != ElfSectionType.NoBits && Type != ElfSectionType.Null;
}

/// <summary>One symbol table entry, decoded; <see cref="SectionIndex"/> has SHN_XINDEX already resolved.</summary>
public readonly record struct ElfSymbol(
    uint NameOffset,
    ulong Value,
    ulong Size,
    ElfSymbolType Type,
    ElfSymbolBinding Binding,
    byte Visibility,
    uint SectionIndex,
    ushort RawSectionIndex)
{
    public bool IsUndefined => RawSectionIndex == ElfSectionIndex.Undefined;

    /// <summary>Defined in a real section (not undefined, absolute or common); SHN_XINDEX counts as real.</summary>
    public bool IsInSection => RawSectionIndex != ElfSectionIndex.Undefined &&
        (RawSectionIndex < ElfSectionIndex.LoReserve || RawSectionIndex == ElfSectionIndex.ExtendedIndex);
}

/// <summary>One relocation entry (REL, RELA or CREL), decoded.</summary>
/// <remarks>
/// Type and symbol index share one field: a struct of four fields is kept in registers by the compiler,
/// one of five is copied through the stack on every entry of the checker's hot loop.
/// </remarks>
public readonly record struct ElfRelocation
{
    private readonly ulong _typeAndSymbol;

    public ElfRelocation(ulong offset, uint type, uint symbolIndex, long addend, bool hasAddend)
    {
        Offset = offset;
        _typeAndSymbol = type | (ulong)symbolIndex << 32;
        Addend = addend;
        HasAddend = hasAddend;
    }

    public ulong Offset { get; }
    public uint Type => (uint)_typeAndSymbol;
    public uint SymbolIndex => (uint)(_typeAndSymbol >> 32);
    public long Addend { get; }
    public bool HasAddend { get; }
}

/// <summary>
/// An ELF32 or ELF64 file of either byte order held in memory. Construction validates the header and
/// the section header table; every later access (section data, symbols, relocations, strings)
/// is bounds-checked against the buffer and throws <see cref="ElfFormatException"/> naming the
/// broken structure. The reader knows nothing of rules.
/// The decoded section headers live in an array borrowed from a per-thread spare; <see cref="Dispose"/>
/// gives it back (an undisposed file simply leaves it to the garbage collector).
/// </summary>
public sealed class ElfFile : IDisposable
{
    private readonly ReadOnlyMemory<byte> _data;
    private ElfSection[] _sections;
    private int _count;
    private IReadOnlyList<ElfSection>? _sectionList;
    private readonly int _sectionNameTable;
    private string?[]? _sectionNames;
    private ElfSymbolTable? _symbolTable; // an object has one symbol table: no per-section cache for it
    private Dictionary<uint, ElfSymbolTable>? _otherSymbolTables;

    public bool Is64Bit { get; }
    /// <summary>ELFDATA2MSB (aarch64_be, powerpc64, s390x, ...): every multi-byte field is big-endian.</summary>
    public bool IsBigEndian { get; }
    public ElfFileType FileType { get; }
    public ElfMachine Machine { get; }
    public ushort RawMachine { get; }
    public ulong Entry { get; }
    public ReadOnlyMemory<byte> Data => _data;
    public IReadOnlyList<ElfSection> Sections => _sectionList ??= new ArraySegment<ElfSection>(_sections, 0, _count);

    /// <summary>The section headers as a span, for loops that should not copy each header through an enumerator.</summary>
    public ReadOnlySpan<ElfSection> SectionSpan => new(_sections, 0, _count);

    /// <summary>The first section of <paramref name="type"/> (the symbol table, say), or null.</summary>
    public ElfSection? FirstSection(ElfSectionType type)
    {
        foreach (ref readonly var s in SectionSpan)
            if (s.Type == type) return s;
        return null;
    }

    public const int HeaderSize32 = 52;
    public const int HeaderSize64 = 64;

    /// <summary>True when <paramref name="data"/> starts with the ELF magic.</summary>
    public static bool HasElfMagic(ReadOnlySpan<byte> data) =>
        data.Length >= 4 && data[0] == 0x7f && data[1] == (byte)'E' && data[2] == (byte)'L' && data[3] == (byte)'F';

    public ElfFile(ReadOnlyMemory<byte> data)
    {
        _data = data;
        var span = data.Span;
        if (!HasElfMagic(span))
            throw new ElfFormatException("not an ELF file (no \\x7fELF magic)");
        if (span.Length < 16)
            throw new ElfFormatException($"ELF identification truncated (file size 0x{span.Length:x})");
        Is64Bit = span[4] switch
        {
            1 => false,
            2 => true,
            var c => throw new ElfFormatException($"unknown ELF class {c} in e_ident[EI_CLASS] (expected 1 for ELF32 or 2 for ELF64)"),
        };
        IsBigEndian = span[5] switch
        {
            1 => false,
            2 => true,
            var d => throw new ElfFormatException($"unknown data encoding {d} in e_ident[EI_DATA] (expected 1 for little-endian or 2 for big-endian)"),
        };
        int headerSize = Is64Bit ? HeaderSize64 : HeaderSize32;
        if (span.Length < headerSize)
            throw new ElfFormatException($"ELF header truncated: needs 0x{headerSize:x} bytes, file size 0x{span.Length:x}");

        FileType = (ElfFileType)Half(span, 16);
        RawMachine = Half(span, 18);
        Machine = (ElfMachine)RawMachine;
        ulong shoff;
        ushort shentsize, shnum, shstrndx;
        if (Is64Bit)
        {
            Entry = Xword(span, 24);
            shoff = Xword(span, 40);
            shentsize = Half(span, 58);
            shnum = Half(span, 60);
            shstrndx = Half(span, 62);
        }
        else
        {
            Entry = Word(span, 24);
            shoff = Word(span, 32);
            shentsize = Half(span, 46);
            shnum = Half(span, 48);
            shstrndx = Half(span, 50);
        }

        if (shoff == 0)
        {
            // No section header table: nothing to check at section level (stripped executables).
            _sections = Array.Empty<ElfSection>();
            _sectionNameTable = 0;
            return;
        }

        int minEntry = Is64Bit ? 64 : 40;
        if (shentsize < minEntry)
            throw new ElfFormatException($"e_shentsize is {shentsize}, smaller than a section header (0x{minEntry:x})");

        // Section 0 carries the real counts when they do not fit in the ELF header.
        CheckRange(shoff, shentsize, "section header table");
        var first = ReadSection(span, 0, shoff, shentsize);
        ulong count = shnum;
        if (count == 0)
            count = first.Size;
        uint nameTable = shstrndx;
        if (shstrndx == ElfSectionIndex.ExtendedIndex)
            nameTable = first.Link;

        if (count > (ulong)span.Length / shentsize)
            throw new ElfFormatException($"section header table at 0x{shoff:x} with {count} entries of 0x{shentsize:x} bytes runs past end of file (size 0x{span.Length:x})");
        CheckRange(shoff, count * shentsize, "section header table");

        // Borrowed, not allocated: objects built with -ffunction-sections have thousands of sections, and a checker reads one object after another.
        _sections = RentSectionArray((int)count);
        for (int i = 0; i < (int)count; i++)
        {
            ref var s = ref _sections[i];
            s = ReadSection(span, i, shoff + (ulong)i * shentsize, shentsize);
            if (s.HasFileData && s.Size != 0 && (s.Offset > (ulong)span.Length || s.Size > (ulong)span.Length - s.Offset))
            {
                Dispose();
                throw new ElfFormatException($"section [{i}] data at 0x{s.Offset:x} with size 0x{s.Size:x} runs past end of file (size 0x{span.Length:x})");
            }
            _count = i + 1;
        }

        if (nameTable >= count && nameTable != 0)
        {
            Dispose();
            throw new ElfFormatException($"section name string table index {nameTable} (e_shstrndx) is out of range (section count {count})");
        }
        _sectionNameTable = (int)nameTable;
    }

    private ElfSection ReadSection(ReadOnlySpan<byte> span, int index, ulong offset, ushort entrySize)
    {
        var h = span.Slice((int)offset, entrySize);
        if (Is64Bit && !IsBigEndian && BitConverter.IsLittleEndian)
        {
            // The file's layout is the host's: one unaligned read of the whole header.
            var raw = MemoryMarshal.Read<Elf64SectionHeader>(h);
            return new ElfSection(index, raw.Name, (ElfSectionType)raw.Type, (ElfSectionFlags)raw.Flags, raw.Address, raw.Offset, raw.Size, raw.Link, raw.Info, raw.Alignment, raw.EntrySize);
        }
        return Is64Bit
            ? new ElfSection(index, Word(h, 0), (ElfSectionType)Word(h, 4), (ElfSectionFlags)Xword(h, 8), Xword(h, 16), Xword(h, 24), Xword(h, 32), Word(h, 40), Word(h, 44), Xword(h, 48), Xword(h, 56))
            : new ElfSection(index, Word(h, 0), (ElfSectionType)Word(h, 4), (ElfSectionFlags)Word(h, 8), Word(h, 12), Word(h, 16), Word(h, 20), Word(h, 24), Word(h, 28), Word(h, 32), Word(h, 36));
    }

    private void CheckRange(ulong offset, ulong size, string what)
    {
        ulong length = (ulong)_data.Length;
        if (offset > length || size > length - offset)
            throw new ElfFormatException($"{what} at 0x{offset:x} runs past end of file (size 0x{length:x})");
    }

    /// <summary>The section's bytes in the file (empty for SHT_NOBITS and for an empty section, whatever its sh_offset).</summary>
    public ReadOnlySpan<byte> SectionData(in ElfSection section) =>
        section.HasFileData && section.Size != 0 ? _data.Span.Slice((int)section.Offset, (int)section.Size) : ReadOnlySpan<byte>.Empty;

    public ElfSection GetSection(uint index)
    {
        if (index >= (uint)_count)
            throw new ElfFormatException($"section index {index} is out of range (section count {_count})");
        return _sections[index];
    }

    /// <summary>The section's name from the section name string table; decoded once per section.</summary>
    public string SectionName(in ElfSection section)
    {
        if (_sectionNameTable == 0 || _sectionNameTable >= _count) return $"[{section.Index}]"; // no name table (or disposed)
        if ((uint)section.Index >= (uint)_count || _sections[section.Index].NameOffset != section.NameOffset)
            return ReadString(_sections[_sectionNameTable], section.NameOffset, "section name");
        var names = _sectionNames ??= RentNameArray(_count);
        return names[section.Index] ??= ReadString(_sections[_sectionNameTable], section.NameOffset, "section name", interned: true);
    }

    /// <summary>The section's name bytes up to the end of the name table (not cut at the NUL); empty when out of range. Allocates nothing.</summary>
    public ReadOnlySpan<byte> SectionNameBytes(in ElfSection section) => SectionNameBytes(section, SectionNameTable);

    /// <summary>As <see cref="SectionNameBytes(in ElfSection)"/> with the name table already in hand (<see cref="SectionNameTable"/>), for loops over every section.</summary>
    public static ReadOnlySpan<byte> SectionNameBytes(in ElfSection section, ReadOnlySpan<byte> nameTable) =>
        section.NameOffset >= (uint)nameTable.Length ? default : nameTable.Slice((int)section.NameOffset);

    /// <summary>The section name string table's bytes (e_shstrndx); empty when there is none.</summary>
    public ReadOnlySpan<byte> SectionNameTable => _sectionNameTable == 0 || _sectionNameTable >= _count ? default : SectionData(_sections[_sectionNameTable]);

    /// <summary>Reads a NUL-terminated string at <paramref name="offset"/> of a string table section.</summary>
    /// <param name="interned">The string may be one shared with other objects that have the same name (<see cref="InternedNames"/>).</param>
    public string ReadString(in ElfSection stringTable, uint offset, string what, bool interned = false)
    {
        if (stringTable.Type == ElfSectionType.NoBits)
            throw new ElfFormatException($"{what} string table [{stringTable.Index}] has no data");
        var table = SectionData(stringTable);
        if (offset >= (uint)table.Length)
            throw new ElfFormatException($"{what} offset 0x{offset:x} is past the end of string table [{stringTable.Index}] (size 0x{table.Length:x})");
        var rest = table.Slice((int)offset);
        int end = rest.IndexOf((byte)0);
        if (end < 0)
            throw new ElfFormatException($"{what} at 0x{offset:x} in string table [{stringTable.Index}] is not NUL-terminated");
        return interned ? InternedNames.Get(rest.Slice(0, end)) : Encoding.UTF8.GetString(rest.Slice(0, end));
    }

    /// <summary>A view of the symbol table in section <paramref name="index"/> (SHT_SYMTAB or SHT_DYNSYM).</summary>
    public ElfSymbolTable GetSymbolTable(uint index)
    {
        var section = GetSection(index);
        if (_symbolTable is { } first && first.SectionIndex == (int)index) return first;
        if (_symbolTable is null) return _symbolTable = new ElfSymbolTable(this, section);
        var others = _otherSymbolTables ??= new();
        if (!others.TryGetValue(index, out var table))
            others.Add(index, table = new ElfSymbolTable(this, section));
        return table;
    }

    /// <summary>The SHT_SYMTAB_SHNDX section linked to the given symbol table, if any.</summary>
    internal ElfSection? FindExtendedIndexTable(int symbolTableIndex)
    {
        foreach (var s in SectionSpan)
            if (s.Type == ElfSectionType.SymbolTableSectionIndex && s.Link == (uint)symbolTableIndex)
                return s;
        return null;
    }

    /// <summary>Whether PicGuard decodes sections of this type as relocations: SHT_REL, SHT_RELA and SHT_CREL.</summary>
    public static bool IsRelocationSection(ElfSectionType type) =>
        type is ElfSectionType.Rel or ElfSectionType.Rela or ElfSectionType.Crel;

    /// <summary>
    /// Why <paramref name="section"/> holds relocations PicGuard does not decode, or null when it is not such a section.
    /// SHT_RELR in a relocatable object (a linker output only; in a linked file it is decoded, see <see cref="Decodes"/>)
    /// and any other type that is not SHT_REL, SHT_RELA or SHT_CREL but
    /// says it relocates something: it links to a symbol table and has SHF_INFO_LINK or a relocation section's name
    /// (.rel.*, .rela.*, .crel.*, .relr.*: Android's packed APS2 tables, a future format, a processor-specific table).
    /// Such a section must be reported, never read as "no relocations".
    /// </summary>
    public string? UndecodedRelocations(in ElfSection section)
    {
        var type = section.Type;
        if (Decodes(section)) return null;
        if (type == ElfSectionType.Relr)
            return FileType == ElfFileType.Relocatable
                ? "SHT_RELR (19) relative relocations in a relocatable object, where no linker puts them"
                : $"SHT_RELR (19) relative relocations of a machine PicGuard knows no relative relocation type for (e_machine {RawMachine})";
        switch (type)
        {
            case ElfSectionType.Null or ElfSectionType.ProgBits or ElfSectionType.SymbolTable or ElfSectionType.StringTable or ElfSectionType.Hash or
                 ElfSectionType.Dynamic or ElfSectionType.Note or ElfSectionType.NoBits or ElfSectionType.DynamicSymbolTable or
                 ElfSectionType.InitArray or ElfSectionType.FiniArray or ElfSectionType.PreinitArray or ElfSectionType.Group or
                 ElfSectionType.SymbolTableSectionIndex or ElfSectionType.GnuHash or ElfSectionType.GnuVersionDefinitions or
                 ElfSectionType.GnuVersionNeeds or ElfSectionType.GnuVersionSymbols:
                return null;
        }
        if (section.Link == 0 || section.Link >= (uint)_count ||
            _sections[section.Link].Type is not (ElfSectionType.SymbolTable or ElfSectionType.DynamicSymbolTable))
            return null;
        bool infoLink = (section.Flags & ElfSectionFlags.InfoLink) != 0 && section.Info != 0 && section.Info < (uint)_count;
        var name = SectionNameBytes(section);
        bool relocationName = name.StartsWith(".rel."u8) || name.StartsWith(".rela."u8) || name.StartsWith(".crel."u8) || name.StartsWith(".relr."u8);
        if (!infoLink && !relocationName) return null;
        return $"section type 0x{(uint)type:x}, which PicGuard does not decode, linked to symbol table [{section.Link}]{(infoLink ? $" and relocating section [{section.Info}] (SHF_INFO_LINK)" : " under a relocation section's name")}";
    }

    /// <summary>
    /// Whether <see cref="GetRelocations"/> reads <paramref name="section"/>: SHT_REL, SHT_RELA and SHT_CREL, and SHT_RELR
    /// in a linked file of a machine whose relative relocation type is known (its entries become that type's relocations).
    /// </summary>
    public bool Decodes(in ElfSection section) =>
        IsRelocationSection(section.Type) ||
        section.Type == ElfSectionType.Relr && FileType != ElfFileType.Relocatable && RelativeType(Machine, Is64Bit) != 0;

    /// <summary>The machine's R_*_RELATIVE type number (B + A), which SHT_RELR entries stand for; 0 when PicGuard knows none.</summary>
    public static uint RelativeType(ElfMachine machine, bool is64Bit) => machine switch
    {
        ElfMachine.X86_64 or ElfMachine.I386 => 8,
        ElfMachine.AArch64 when is64Bit => 1027,
        ElfMachine.RiscV or ElfMachine.LoongArch => 3,
        ElfMachine.Arm => 23,
        ElfMachine.PowerPC64 => 22,
        ElfMachine.S390 => 12,
        _ => 0,
    };

    /// <summary>Size in bytes of one relocation entry of the given section type for this class.</summary>
    public int RelocationEntrySize(ElfSectionType type) => (type, Is64Bit) switch
    {
        (ElfSectionType.Rela, true) => 24,
        (ElfSectionType.Rela, false) => 12,
        (ElfSectionType.Rel, true) => 16,
        (ElfSectionType.Rel, false) => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The relocation entries of a SHT_REL, SHT_RELA or SHT_CREL section, or of a SHT_RELR section <see cref="Decodes"/> reads.</summary>
    public RelocationReader GetRelocations(in ElfSection section)
    {
        if (section.Type == ElfSectionType.Crel)
        {
            var decoded = CompactRelocations(section, out bool explicitAddends);
            return new RelocationReader(decoded, explicitAddends);
        }
        if (section.Type == ElfSectionType.Relr && Decodes(section))
            return new RelocationReader(RelativeRelocations(section), false);
        if (section.Type != ElfSectionType.Rel && section.Type != ElfSectionType.Rela)
            throw new ArgumentException("not a relocation section", nameof(section));
        int entry = RelocationEntrySize(section.Type);
        if (section.EntrySize != 0 && section.EntrySize != (ulong)entry)
            throw new ElfFormatException($"relocation section [{section.Index}] has sh_entsize 0x{section.EntrySize:x}, expected 0x{entry:x}");
        if (section.Size % (ulong)entry != 0)
            throw new ElfFormatException($"relocation section [{section.Index}] size 0x{section.Size:x} is not a multiple of its entry size 0x{entry:x}");
        return new RelocationReader(SectionData(section), section.Type == ElfSectionType.Rela, Is64Bit, IsBigEndian);
    }

    /// <summary>Decoded SHT_CREL sections by section index: a checker reads one section's relocations more than once.</summary>
    private Dictionary<int, (ElfRelocation[] Entries, bool Addends)>? _compact;

    /// <summary>
    /// A SHT_RELR section's places as relocations of the machine's relative type (no symbol, implicit addend), decoded once.
    /// Each word is either a place (even: the next place follows it) or a bitmap (odd): bit i (i ≥ 1) marks the word
    /// i - 1 words after the current base, which then moves on by 63 (31 in ELF32) words.
    /// </summary>
    private ElfRelocation[] RelativeRelocations(in ElfSection section)
    {
        _compact ??= new();
        if (_compact.TryGetValue(section.Index, out var done)) return done.Entries;
        int word = Is64Bit ? 8 : 4;
        if (section.EntrySize != 0 && section.EntrySize != (ulong)word)
            throw new ElfFormatException($"SHT_RELR section [{section.Index}] has sh_entsize 0x{section.EntrySize:x}, expected 0x{word:x}");
        var data = SectionData(section);
        if (data.Length % word != 0)
            throw new ElfFormatException($"SHT_RELR section [{section.Index}] size 0x{data.Length:x} is not a multiple of its entry size 0x{word:x}");
        int entries = data.Length / word;
        long count = 0;
        for (int i = 0; i < entries; i++)
        {
            ulong e = Is64Bit ? Xword(data, i * word) : Word(data, i * word);
            count += (e & 1) == 0 ? 1 : BitOperations.PopCount(e) - 1;
        }
        uint type = RelativeType(Machine, Is64Bit);
        var list = new ElfRelocation[count];
        ulong mask = Is64Bit ? ulong.MaxValue : uint.MaxValue, baseAddress = 0;
        int n = 0;
        for (int i = 0; i < entries; i++)
        {
            ulong e = Is64Bit ? Xword(data, i * word) : Word(data, i * word);
            if ((e & 1) == 0)
            {
                list[n++] = new ElfRelocation(e, type, 0, 0, false);
                baseAddress = (e + (ulong)word) & mask;
                continue;
            }
            ulong place = baseAddress;
            for (e >>= 1; e != 0; e >>= 1, place = (place + (ulong)word) & mask)
                if ((e & 1) != 0) list[n++] = new ElfRelocation(place, type, 0, 0, false);
            baseAddress = (baseAddress + (ulong)((8 * word - 1) * word)) & mask;
        }
        _compact.Add(section.Index, (list, false));
        return list;
    }

    /// <summary>A SHT_CREL section's entries, decoded once (<see cref="CompactRelocations.Decode"/>).</summary>
    private ElfRelocation[] CompactRelocations(in ElfSection section, out bool explicitAddends)
    {
        _compact ??= new();
        if (!_compact.TryGetValue(section.Index, out var decoded))
        {
            var entries = Elf.CompactRelocations.Decode(SectionData(section), Is64Bit, section.Index, out bool addends);
            _compact.Add(section.Index, decoded = (entries, addends));
        }
        explicitAddends = decoded.Addends;
        return decoded.Entries;
    }

    /// <summary>Gives the section header array back to the pool; the file then has no sections. Spans taken from <see cref="SectionSpan"/> must not be used after.</summary>
    public void Dispose()
    {
        var borrowed = _sections;
        if (borrowed.Length == 0) return;
        if (_sectionNames is { } names)
        {
            Array.Clear(names, 0, _count);
            _sectionNames = null;
            ThreadSpare.GiveBack(ref t_spareNames, names);
        }
        _sections = [];
        _count = 0;
        _sectionList = null;
        ThreadSpare.GiveBack(ref t_spareSections, borrowed);
    }

    /// <summary>This thread's spare section array (<see cref="ThreadSpare"/>).</summary>
    [ThreadStatic] private static ElfSection[]? t_spareSections;

    /// <summary>The same for the array of section names (<see cref="SectionName"/>), given back cleared: a listing names sections of every object.</summary>
    [ThreadStatic] private static string?[]? t_spareNames;

    private static ElfSection[] RentSectionArray(int count) => ThreadSpare.Rent(ref t_spareSections, count);

    private static string?[] RentNameArray(int count) => ThreadSpare.Rent(ref t_spareNames, count);

    /// <summary>Elf64_Shdr as it lies in a little-endian file.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct Elf64SectionHeader
    {
        public readonly uint Name, Type;
        public readonly ulong Flags, Address, Offset, Size;
        public readonly uint Link, Info;
        public readonly ulong Alignment, EntrySize;
    }

    /// <summary>An Elf_Half (16 bits) in the file's byte order.</summary>
    internal ushort Half(ReadOnlySpan<byte> s, int o) => IsBigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s.Slice(o)) : BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(o));
    /// <summary>An Elf_Word (32 bits) in the file's byte order.</summary>
    internal uint Word(ReadOnlySpan<byte> s, int o) => IsBigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s.Slice(o)) : BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(o));
    /// <summary>An Elf_Xword (64 bits) in the file's byte order.</summary>
    internal ulong Xword(ReadOnlySpan<byte> s, int o) => IsBigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s.Slice(o)) : BinaryPrimitives.ReadUInt64LittleEndian(s.Slice(o));

    internal static ushort U16(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(o));
    internal static uint U32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(o));
    internal static ulong U64(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt64LittleEndian(s.Slice(o));
}

/// <summary>
/// Decodes relocation entries from a REL/RELA section's bytes without allocating, in either byte order,
/// or hands out the entries of a SHT_CREL section decoded beforehand.
/// </summary>
public readonly ref struct RelocationReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly ReadOnlySpan<Elf64Rela> _rela64; // the common case, read in place when file and host are little-endian
    private readonly ReadOnlySpan<ElfRelocation> _decoded; // SHT_CREL: decoded up front (variable-length entries)
    private readonly bool _rela;
    private readonly bool _is64;
    private readonly bool _bigEndian;
    private readonly int _entrySize;

    internal RelocationReader(ReadOnlySpan<byte> data, bool rela, bool is64, bool bigEndian)
    {
        _data = data;
        _rela = rela;
        _is64 = is64;
        _bigEndian = bigEndian;
        _entrySize = (rela, is64) switch { (true, true) => 24, (true, false) => 12, (false, true) => 16, _ => 8 };
        if (rela && is64 && !bigEndian && BitConverter.IsLittleEndian)
            _rela64 = MemoryMarshal.Cast<byte, Elf64Rela>(data);
    }

    internal RelocationReader(ReadOnlySpan<ElfRelocation> decoded, bool rela)
    {
        _decoded = decoded;
        _rela = rela;
        _entrySize = 1;
    }

    public int Count => _data.IsEmpty ? _decoded.Length : _data.Length / _entrySize;

    public ElfRelocation this[int i]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (!_rela64.IsEmpty)
            {
                ref readonly var e = ref _rela64[i];
                return new ElfRelocation(e.Offset, (uint)e.Info, (uint)(e.Info >> 32), e.Addend, true);
            }
            return Decode(i);
        }
    }

    /// <summary>Just the type of entry <paramref name="i"/>: what a loop tests before it needs the whole entry.</summary>
    public uint TypeAt(int i)
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        static uint Slow(in RelocationReader reader, int i) => reader.Decode(i).Type;
        return !_rela64.IsEmpty ? (uint)_rela64[i].Info : Slow(this, i);
    }

    /// <summary>Just the symbol index of entry <paramref name="i"/>.</summary>
    public uint SymbolAt(int i)
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        static uint Slow(in RelocationReader reader, int i) => reader.Decode(i).SymbolIndex;
        return !_rela64.IsEmpty ? (uint)(_rela64[i].Info >> 32) : Slow(this, i);
    }

    private ElfRelocation Decode(int i)
    {
        if (_data.IsEmpty) return _decoded[i];
        var e = _data.Slice(i * _entrySize, _entrySize);
        if (_is64)
        {
            ulong info = X64(e, 8);
            long addend = _rela ? (long)X64(e, 16) : 0;
            return new ElfRelocation(X64(e, 0), (uint)info, (uint)(info >> 32), addend, _rela);
        }
        else
        {
            uint info = X32(e, 4);
            long addend = _rela ? (int)X32(e, 8) : 0;
            return new ElfRelocation(X32(e, 0), info & 0xff, info >> 8, addend, _rela);
        }
    }

    private uint X32(ReadOnlySpan<byte> e, int o) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(e.Slice(o)) : BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(o));
    private ulong X64(ReadOnlySpan<byte> e, int o) => _bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(e.Slice(o)) : BinaryPrimitives.ReadUInt64LittleEndian(e.Slice(o));

    /// <summary>Elf64_Rela as it lies in a little-endian file.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct Elf64Rela
    {
        public readonly ulong Offset;
        public readonly ulong Info;
        public readonly long Addend;
    }
}
