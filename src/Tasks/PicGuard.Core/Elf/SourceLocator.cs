using System.Buffers.Binary;
using System.IO.Compression;
using PicGuard.Elf.Dwarf;

namespace PicGuard.Elf;

/// <summary>A place in the source as the compiler recorded it; <see cref="Line"/> and <see cref="Column"/> are 0 when unknown.</summary>
public sealed record SourcePosition(string File, int Line, int Column)
{
    /// <summary>"file:line:column" as compilers print it; just the file when the line is unknown.</summary>
    public override string ToString() => Line > 0 ? (Column > 0 ? $"{File}:{Line}:{Column}" : $"{File}:{Line}") : File;
}

/// <summary>
/// Says which source file and line a place of an ELF object comes from. The DWARF line table
/// (.debug_line, versions 2 to 5) answers with file, line and column; objects without usable line
/// information fall back to the STT_FILE symbol that names the place's file (line 0). Built once
/// per object, only when a finding needs it. Malformed debug information yields no position,
/// never an exception.
/// </summary>
public sealed class SourceLocator
{
    private readonly ElfFile _elf;
    private readonly bool _linked;
    /// <summary>The line table's sequences by section (0 for a linked file); null when there are none (most objects that reach here).</summary>
    private readonly Dictionary<uint, List<LineSequence>>? _sequences;
    private FileSymbols? _fileSymbols;

    /// <summary>Decompressed debug sections above this size are ignored (no position, no exception).</summary>
    private const long MaxDecompressedSize = 256L << 20;

    private SourceLocator(ElfFile elf, Dictionary<uint, List<LineSequence>>? sequences)
    {
        _elf = elf;
        _linked = elf.FileType != ElfFileType.Relocatable;
        _sequences = sequences;
    }

    /// <summary>Reads the line table of <paramref name="elf"/>; the symbol table is read on the first fallback.</summary>
    public static SourceLocator Build(ElfFile elf)
    {
        Dictionary<uint, List<LineSequence>>? sequences = null;
        try
        {
            foreach (var sequence in ReadLineTable(elf))
            {
                sequences ??= new();
                if (!sequences.TryGetValue(sequence.Section, out var list))
                    sequences[sequence.Section] = list = new List<LineSequence>();
                list.Add(sequence);
            }
        }
        catch (Exception e) when (e is DwarfFormatException or ElfFormatException or InvalidDataException)
        {
            sequences = null;
        }
        return new SourceLocator(elf, sequences);
    }

    /// <summary>True when the object has line information the locator could decode.</summary>
    public bool HasLineTable => _sequences is not null;

    /// <summary>
    /// The source position of a place: for relocatable objects <paramref name="offset"/> is the offset
    /// inside section <paramref name="sectionIndex"/>; for executables and shared objects it is the
    /// virtual address. Null when neither the line table nor the symbol table knows the place.
    /// </summary>
    public SourcePosition? Find(uint sectionIndex, ulong offset)
    {
        return FromLineTable(sectionIndex, offset) ?? FromFileSymbol(sectionIndex, offset);
    }

    private SourcePosition? FromLineTable(uint sectionIndex, ulong offset)
    {
        if (_sequences is null || !_sequences.TryGetValue(_linked ? 0 : sectionIndex, out var candidates)) return null;
        // Sequences of code the linker discarded may overlap real ones (often at address 0):
        // the one starting closest to the place is the most specific.
        LineSequence? best = null;
        foreach (var s in candidates)
            if (s.Contains(offset) && (best is null || s.Start > best.Start))
                best = s;
        if (best?.RowFor(offset) is not { } row) return null;
        string? file = row.File >= 0 && row.File < best.Files.Count ? best.Files[row.File] : null;
        return file is null ? null : new SourcePosition(file, row.Line, row.Column);
    }

    private SourcePosition? FromFileSymbol(uint sectionIndex, ulong offset)
    {
        _fileSymbols ??= FileSymbols.Read(_elf);
        string? name = _fileSymbols.For(sectionIndex, offset);
        // ld names an input that has no STT_FILE of its own after the input (STT_FILE "entry.o"): that is no source.
        return name is null || !IsSourceName(name) ? null : new SourcePosition(name, 0, 0);
    }

    /// <summary>Extensions of the sources compilers and assemblers name in STT_FILE (C, C++, assembly, preprocessed).</summary>
    private static readonly string[] SourceExtensions =
        [".c", ".h", ".S", ".s", ".sx", ".asm", ".i", ".cc", ".cp", ".cpp", ".cxx", ".c++", ".C", ".ii", ".hh", ".hpp", ".m", ".mm", ".rs", ".zig", ".ll", ".f", ".f90", ".go", ".d"];

    /// <summary>Whether an STT_FILE name is a source file (by its extension), not an object or archive the linker named.</summary>
    public static bool IsSourceName(string name)
    {
        int dot = name.LastIndexOf('.');
        if (dot < 0 || dot < name.LastIndexOf('/')) return false;
        var extension = name.AsSpan(dot);
        foreach (var e in SourceExtensions)
            if (extension.SequenceEqual(e)) return true;
        return false;
    }

    private static List<LineSequence> ReadLineTable(ElfFile elf)
    {
        ElfSection? debugLine = null, debugStr = null, debugLineStr = null;
        var names = elf.SectionNameTable;
        foreach (ref readonly var s in elf.SectionSpan)
        {
            if (s.Type != ElfSectionType.ProgBits) continue;
            // Compared as bytes: an object of thousands of function sections decodes no name here.
            var name = ElfFile.SectionNameBytes(s, names);
            if (name.Length < 7 || name[1] != (byte)'d' || !name.StartsWith(".debug_"u8)) continue;
            if (name.StartsWith(".debug_line\0"u8)) debugLine ??= s;
            else if (name.StartsWith(".debug_str\0"u8)) debugStr ??= s;
            else if (name.StartsWith(".debug_line_str\0"u8)) debugLineStr ??= s;
        }
        if (debugLine is not { } line || Contents(elf, line) is not { } contents) return [];
        byte[] data = contents.ToArray(); // a copy: relocations are applied to it
        DebugSectionRelocations? relocations = null;
        if (elf.FileType == ElfFileType.Relocatable)
            relocations = DebugSectionRelocations.Apply(elf, line, data);
        var str = (debugStr is { } s1 ? Contents(elf, s1) : null) ?? ReadOnlyMemory<byte>.Empty;
        var lineStr = (debugLineStr is { } s2 ? Contents(elf, s2) : null) ?? ReadOnlyMemory<byte>.Empty;
        return LineProgram.Decode(data, new DebugStrings(str.Span, lineStr.Span), relocations, elf.IsBigEndian);
    }

    /// <summary>The section's bytes, decompressed when SHF_COMPRESSED (zlib); null when they cannot be had.</summary>
    private static ReadOnlyMemory<byte>? Contents(ElfFile elf, ElfSection section)
    {
        if (!section.HasFileData || section.Size == 0) return null;
        if (section.Offset > (ulong)elf.Data.Length || section.Size > (ulong)elf.Data.Length - section.Offset) return null;
        var raw = elf.Data.Slice((int)section.Offset, (int)section.Size);
        if ((section.Flags & ElfSectionFlags.Compressed) == 0) return raw;
        int headerSize = elf.Is64Bit ? 24 : 12;
        if (raw.Length < headerSize) return null;
        var header = raw.Span;
        // Elf_Chdr, in the object's byte order.
        uint type = elf.IsBigEndian ? BinaryPrimitives.ReadUInt32BigEndian(header) : BinaryPrimitives.ReadUInt32LittleEndian(header);
        ulong size = (elf.Is64Bit, elf.IsBigEndian) switch
        {
            (true, true) => BinaryPrimitives.ReadUInt64BigEndian(header.Slice(8)),
            (true, false) => BinaryPrimitives.ReadUInt64LittleEndian(header.Slice(8)),
            (false, true) => BinaryPrimitives.ReadUInt32BigEndian(header.Slice(4)),
            (false, false) => BinaryPrimitives.ReadUInt32LittleEndian(header.Slice(4)),
        };
        const uint CompressZlib = 1;
        // zlib cannot expand data by much more than 1032 times: a larger claimed size is a lie.
        if (type != CompressZlib || size > MaxDecompressedSize || size > (ulong)raw.Length * 1100) return null;
        var output = new byte[size];
        using var input = new MemoryStream(raw.Slice(headerSize).ToArray(), writable: false);
        using var zlib = new ZLibStream(input, CompressionMode.Decompress);
        int total = 0;
        while (total < output.Length)
        {
            int n = zlib.Read(output, total, output.Length - total);
            if (n == 0) return null;
            total += n;
        }
        return output;
    }

    /// <summary>
    /// STT_FILE symbols of the symbol table. A linker writes each input's local symbols after the
    /// STT_FILE that names it, so the file of a local symbol is the nearest STT_FILE before it.
    /// Global symbols come after all files and carry no file, unless there is only one.
    /// </summary>
    private sealed class FileSymbols
    {
        private (uint Index, string Name)[] _files = [];
        private uint[] _fileIndices = [];
        /// <summary>Local symbols that may hold a place, sorted by section, value and symbol index: a lookup is a bisection.</summary>
        private Local[] _locals = [];

        [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)] // 24 bytes, not 32
        private readonly record struct Local(uint Section, ulong Value, ulong Size, uint Index);

        public static FileSymbols Read(ElfFile elf)
        {
            var result = new FileSymbols();
            try
            {
                result.ReadFrom(elf);
            }
            catch (ElfFormatException)
            {
                return new FileSymbols(); // a broken symbol table names no file
            }
            return result;
        }

        private void ReadFrom(ElfFile elf)
        {
            if (elf.FirstSection(ElfSectionType.SymbolTable) is not { } table) return;
            var symbols = elf.GetSymbolTable((uint)table.Index);
            var files = new List<(uint, string)>();
            var fileIndices = new List<uint>();
            // The files first, by st_info alone: most objects name one file, and then no other symbol is decoded.
            symbols.IndicesOfType(ElfSymbolType.File, fileIndices);
            foreach (uint i in fileIndices)
            {
                string name = symbols.Name(symbols[i]);
                if (name.Length != 0) files.Add((i, name));
            }
            _files = files.ToArray();
            _fileIndices = fileIndices.ToArray();
            if (_files.Length < 2) return; // no file, or one file for every place: no local is ever looked at
            int locals = 0;
            for (uint i = 1; i < (uint)symbols.Count; i++)
            {
                var s = symbols[i];
                if (s.Type != ElfSymbolType.File && IsLocalPlace(s)) locals++;
            }
            _locals = new Local[locals];
            int n = 0;
            for (uint i = 1; i < (uint)symbols.Count && n < locals; i++)
            {
                var s = symbols[i];
                if (s.Type != ElfSymbolType.File && IsLocalPlace(s))
                    _locals[n++] = new Local(s.SectionIndex, s.Value, s.Size, i);
            }
            Array.Sort(_locals, static (a, b) =>
            {
                int c = a.Section.CompareTo(b.Section);
                if (c == 0) c = a.Value.CompareTo(b.Value);
                if (c == 0) c = a.Index.CompareTo(b.Index);
                return c;
            });
        }

        private static bool IsLocalPlace(in ElfSymbol s) =>
            s.Binding == ElfSymbolBinding.Local && s.IsInSection && s.Type is ElfSymbolType.Function or ElfSymbolType.Object or ElfSymbolType.NoType;

        public string? For(uint section, ulong value)
        {
            if (_files.Length == 0) return null;
            if (_files.Length == 1) return _files[0].Name;
            // The local symbol holding the place, or the closest one before it when none has a size that says so:
            // the highest value at or below the place among those whose size does not end before it, the first by index on a tie.
            int lo = 0, hi = _locals.Length - 1, last = -1;
            while (lo <= hi)
            {
                int mid = lo + ((hi - lo) >> 1);
                var e = _locals[mid];
                if (e.Section < section || (e.Section == section && e.Value <= value))
                {
                    last = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }
            int best = -1;
            for (int i = last; i >= 0; i--)
            {
                var e = _locals[i];
                if (e.Section != section) break;
                if (best >= 0 && e.Value != _locals[best].Value) break;
                if (e.Size != 0 && value - e.Value >= e.Size) continue;
                best = i; // walking down: an equal value further on has a lower symbol index
            }
            if (best < 0) return null;
            uint symbol = _locals[best].Index;
            int at = Array.BinarySearch(_fileIndices, symbol);
            if (at >= 0) return null;
            at = ~at - 1;
            if (at < 0) return null;
            uint fileIndex = _fileIndices[at];
            foreach (var f in _files)
                if (f.Index == fileIndex) return f.Name;
            return null; // an unnamed STT_FILE (the linker's own symbols)
        }
    }
}
