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

/// <summary>One relocation entry (REL or RELA), decoded.</summary>
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
/// A little-endian ELF32 or ELF64 file held in memory. Construction validates the header and
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
    public ElfFileType FileType { get; }
    public ElfMachine Machine { get; }
    public ushort RawMachine { get; }
    public ulong Entry { get; }
    public ReadOnlyMemory<byte> Data => _data;
    public IReadOnlyList<ElfSection> Sections => _sectionList ??= new ArraySegment<ElfSection>(_sections, 0, _count);

    /// <summary>The section headers as a span, for loops that should not copy each header through an enumerator.</summary>
    public ReadOnlySpan<ElfSection> SectionSpan => new(_sections, 0, _count);

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
        switch (span[5])
        {
            case 1: break;
            case 2: throw new ElfFormatException("big-endian ELF is not supported (e_ident[EI_DATA] = ELFDATA2MSB); PicGuard checks little-endian targets only");
            default: throw new ElfFormatException($"unknown data encoding {span[5]} in e_ident[EI_DATA]");
        }
        int headerSize = Is64Bit ? HeaderSize64 : HeaderSize32;
        if (span.Length < headerSize)
            throw new ElfFormatException($"ELF header truncated: needs 0x{headerSize:x} bytes, file size 0x{span.Length:x}");

        FileType = (ElfFileType)U16(span, 16);
        RawMachine = U16(span, 18);
        Machine = (ElfMachine)RawMachine;
        ulong shoff;
        ushort shentsize, shnum, shstrndx;
        if (Is64Bit)
        {
            Entry = U64(span, 24);
            shoff = U64(span, 40);
            shentsize = U16(span, 58);
            shnum = U16(span, 60);
            shstrndx = U16(span, 62);
        }
        else
        {
            Entry = U32(span, 24);
            shoff = U32(span, 32);
            shentsize = U16(span, 46);
            shnum = U16(span, 48);
            shstrndx = U16(span, 50);
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
        if (Is64Bit && BitConverter.IsLittleEndian)
        {
            // The file's layout is the host's: one unaligned read of the whole header.
            var raw = MemoryMarshal.Read<Elf64SectionHeader>(h);
            return new ElfSection(index, raw.Name, (ElfSectionType)raw.Type, (ElfSectionFlags)raw.Flags, raw.Address, raw.Offset, raw.Size, raw.Link, raw.Info, raw.Alignment, raw.EntrySize);
        }
        return Is64Bit
            ? new ElfSection(index, U32(h, 0), (ElfSectionType)U32(h, 4), (ElfSectionFlags)U64(h, 8), U64(h, 16), U64(h, 24), U64(h, 32), U32(h, 40), U32(h, 44), U64(h, 48), U64(h, 56))
            : new ElfSection(index, U32(h, 0), (ElfSectionType)U32(h, 4), (ElfSectionFlags)U32(h, 8), U32(h, 12), U32(h, 16), U32(h, 20), U32(h, 24), U32(h, 28), U32(h, 32), U32(h, 36));
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
        var names = _sectionNames ??= new string?[_count];
        return names[section.Index] ??= ReadString(_sections[_sectionNameTable], section.NameOffset, "section name");
    }

    /// <summary>The section's name bytes up to the end of the name table (not cut at the NUL); empty when out of range. Allocates nothing.</summary>
    public ReadOnlySpan<byte> SectionNameBytes(in ElfSection section) => SectionNameBytes(section, SectionNameTable);

    /// <summary>As <see cref="SectionNameBytes(in ElfSection)"/> with the name table already in hand (<see cref="SectionNameTable"/>), for loops over every section.</summary>
    public static ReadOnlySpan<byte> SectionNameBytes(in ElfSection section, ReadOnlySpan<byte> nameTable) =>
        section.NameOffset >= (uint)nameTable.Length ? default : nameTable.Slice((int)section.NameOffset);

    /// <summary>The section name string table's bytes (e_shstrndx); empty when there is none.</summary>
    public ReadOnlySpan<byte> SectionNameTable => _sectionNameTable == 0 || _sectionNameTable >= _count ? default : SectionData(_sections[_sectionNameTable]);

    /// <summary>Reads a NUL-terminated string at <paramref name="offset"/> of a string table section.</summary>
    public string ReadString(in ElfSection stringTable, uint offset, string what)
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
        return Encoding.UTF8.GetString(rest.Slice(0, end));
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

    /// <summary>Size in bytes of one relocation entry of the given section type for this class.</summary>
    public int RelocationEntrySize(ElfSectionType type) => (type, Is64Bit) switch
    {
        (ElfSectionType.Rela, true) => 24,
        (ElfSectionType.Rela, false) => 12,
        (ElfSectionType.Rel, true) => 16,
        (ElfSectionType.Rel, false) => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The relocation entries of a SHT_REL or SHT_RELA section.</summary>
    public RelocationReader GetRelocations(in ElfSection section)
    {
        if (section.Type != ElfSectionType.Rel && section.Type != ElfSectionType.Rela)
            throw new ArgumentException("not a relocation section", nameof(section));
        int entry = RelocationEntrySize(section.Type);
        if (section.EntrySize != 0 && section.EntrySize != (ulong)entry)
            throw new ElfFormatException($"relocation section [{section.Index}] has sh_entsize 0x{section.EntrySize:x}, expected 0x{entry:x}");
        if (section.Size % (ulong)entry != 0)
            throw new ElfFormatException($"relocation section [{section.Index}] size 0x{section.Size:x} is not a multiple of its entry size 0x{entry:x}");
        return new RelocationReader(SectionData(section), section.Type == ElfSectionType.Rela, Is64Bit);
    }

    /// <summary>Gives the section header array back to the pool; the file then has no sections. Spans taken from <see cref="SectionSpan"/> must not be used after.</summary>
    public void Dispose()
    {
        var borrowed = _sections;
        if (borrowed.Length == 0) return;
        _sections = [];
        _count = 0;
        _sectionList = null;
        if (t_spareSections is null || t_spareSections.Length < borrowed.Length)
            t_spareSections = borrowed;
    }

    /// <summary>
    /// One spare section array per thread, the largest seen: a thread checks one object after another, so this is
    /// all the pooling the checker needs (the shared array pool missed often for arrays of this size and this churn).
    /// </summary>
    [ThreadStatic] private static ElfSection[]? t_spareSections;

    private static ElfSection[] RentSectionArray(int count)
    {
        var spare = t_spareSections;
        if (spare is not null && spare.Length >= count)
        {
            t_spareSections = null;
            return spare;
        }
        // Every element is written before it is read, so the array need not be zeroed; sized up to reuse it for more objects.
        return GC.AllocateUninitializedArray<ElfSection>(Math.Max(64, (int)BitOperations.RoundUpToPowerOf2((uint)count)));
    }

    /// <summary>Elf64_Shdr as it lies in a little-endian file.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct Elf64SectionHeader
    {
        public readonly uint Name, Type;
        public readonly ulong Flags, Address, Offset, Size;
        public readonly uint Link, Info;
        public readonly ulong Alignment, EntrySize;
    }

    internal static ushort U16(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(o));
    internal static uint U32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(o));
    internal static ulong U64(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt64LittleEndian(s.Slice(o));
}

/// <summary>Decodes relocation entries from a REL/RELA section's bytes without allocating.</summary>
public readonly ref struct RelocationReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly ReadOnlySpan<Elf64Rela> _rela64; // the common case, read in place when the host is little-endian too
    private readonly bool _rela;
    private readonly bool _is64;
    private readonly int _entrySize;

    internal RelocationReader(ReadOnlySpan<byte> data, bool rela, bool is64)
    {
        _data = data;
        _rela = rela;
        _is64 = is64;
        _entrySize = (rela, is64) switch { (true, true) => 24, (true, false) => 12, (false, true) => 16, _ => 8 };
        if (rela && is64 && BitConverter.IsLittleEndian)
            _rela64 = MemoryMarshal.Cast<byte, Elf64Rela>(data);
    }

    public int Count => _data.Length / _entrySize;

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
        var e = _data.Slice(i * _entrySize, _entrySize);
        if (_is64)
        {
            ulong info = ElfFile.U64(e, 8);
            long addend = _rela ? (long)ElfFile.U64(e, 16) : 0;
            return new ElfRelocation(ElfFile.U64(e, 0), (uint)info, (uint)(info >> 32), addend, _rela);
        }
        else
        {
            uint info = ElfFile.U32(e, 4);
            long addend = _rela ? (int)ElfFile.U32(e, 8) : 0;
            return new ElfRelocation(ElfFile.U32(e, 0), info & 0xff, info >> 8, addend, _rela);
        }
    }

    /// <summary>Elf64_Rela as it lies in a little-endian file.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct Elf64Rela
    {
        public readonly ulong Offset;
        public readonly ulong Info;
        public readonly long Addend;
    }
}
