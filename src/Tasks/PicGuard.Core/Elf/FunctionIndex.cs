using System.Buffers.Binary;

namespace PicGuard.Elf;

/// <summary>
/// Named code symbols of an object sorted by section and value, to say which function contains
/// a place ("func+0x1c"). Built once per object, only when a finding needs it; a lookup is a
/// binary search, and a name is decoded only when a lookup returns it.
/// </summary>
/// <remarks>
/// Its two arrays (entries and names) are the thread's spares (<see cref="ThreadSpare"/>) and go back with
/// <see cref="Release"/>, which the rule engine calls when it is done with the object: a kernel module has thousands of
/// symbols, and arrays that size made fresh for every object cost more (the collector clears new memory, often a
/// large-object heap page) than the sort. The shared pool they came from before made 0.6 MB of large-object arrays anew on
/// every listing of the 4,023 kernel modules in a process that had listed them already (an MSBuild node checks object
/// after object); the thread's spares are made once, and grown to the largest module.
/// </remarks>
public sealed class FunctionIndex
{
    private Entry[] _symbols;
    private readonly int _count;
    private readonly ElfSymbolTable? _table;
    private string?[] _names;

    // Laid out by the runtime (the two 64-bit fields first): 24 bytes, not 32, in the pooled arrays, the sort and each lookup.
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
    private readonly record struct Entry(uint Section, ulong Value, ulong Size, uint Symbol);

    private FunctionIndex(Entry[] symbols, int count, ElfSymbolTable? table)
    {
        _symbols = symbols;
        _count = count;
        _table = table;
        _names = count == 0 ? [] : ThreadSpare.Rent(ref t_spareNames, count); // given back cleared, or new
    }

    [ThreadStatic] private static Entry[]? t_spareEntries;
    [ThreadStatic] private static string?[]? t_spareNames;

    public static FunctionIndex Build(ElfFile elf)
    {
        if ((elf.FirstSection(ElfSectionType.SymbolTable) ?? elf.FirstSection(ElfSectionType.DynamicSymbolTable)) is not { } table)
            return new FunctionIndex([], 0, null);
        var symbols = elf.GetSymbolTable((uint)table.Index);
        var entries = symbols.Count <= 1 ? [] : ThreadSpare.Rent(ref t_spareEntries, symbols.Count - 1);
        int count = 0;
        if (symbols.TryGetElf64LittleEndian(out var raw, out var strings) && strings.Length > 0 && strings[^1] == 0)
        {
            // Read in place: a kernel module has thousands of symbols, and most are no code. What IsFunctionLike decides,
            // from the entry's bytes; a symbol this cannot judge alone (an extended section index, a name out of range)
            // goes to IsFunctionLike.
            for (int i = 1; i < symbols.Count; i++)
            {
                var e = raw.Slice(i * 24, 24);
                if ((e[4] & 0xf) is not ((int)ElfSymbolType.Function or (int)ElfSymbolType.NoType or (int)ElfSymbolType.GnuIndirectFunction)) continue;
                ushort shndx = BinaryPrimitives.ReadUInt16LittleEndian(e[6..]);
                uint name = BinaryPrimitives.ReadUInt32LittleEndian(e);
                if (shndx == ElfSectionIndex.Undefined || shndx >= ElfSectionIndex.LoReserve && shndx != ElfSectionIndex.ExtendedIndex) continue;
                if (shndx == ElfSectionIndex.ExtendedIndex || name >= (uint)strings.Length)
                {
                    if (IsFunctionLike(symbols, (uint)i, out var s)) entries[count++] = new Entry(s.SectionIndex, s.Value, s.Size, (uint)i);
                    continue;
                }
                if (name == 0) continue;
                // The string table ends in a NUL, so the name is terminated, and its second byte is there when its first is no NUL.
                byte first = strings[(int)name];
                if (first == 0 || first == (byte)'$' || first == (byte)'.' && strings[(int)name + 1] == (byte)'L') continue;
                entries[count++] = new Entry(shndx, BinaryPrimitives.ReadUInt64LittleEndian(e[8..]), BinaryPrimitives.ReadUInt64LittleEndian(e[16..]), (uint)i);
            }
        }
        else
        {
            for (uint i = 1; i < (uint)symbols.Count; i++)
                if (IsFunctionLike(symbols, i, out var s))
                    entries[count++] = new Entry(s.SectionIndex, s.Value, s.Size, i);
        }
        Sort(entries.AsSpan(0, count));
        return new FunctionIndex(entries, count, symbols);
    }

    /// <summary>Gives the arrays back as the thread's spares; the index answers nothing after this.</summary>
    internal void Release()
    {
        if (_symbols.Length > 0) ThreadSpare.GiveBack(ref t_spareEntries, _symbols);
        if (_names.Length > 0)
        {
            Array.Clear(_names, 0, _count);
            ThreadSpare.GiveBack(ref t_spareNames, _names);
        }
        _symbols = [];
        _names = [];
    }

    [ThreadStatic] private static ulong[]? t_keys;

    /// <summary>
    /// Sorts by section and value, then larger size first, then symbol order, so the order is the same on every run. A
    /// lookup takes the last symbol at or below the place that covers it: among symbols at one place, the smallest that
    /// covers the place names it (and a label there, which has no size, names it before the function it starts).
    /// </summary>
    /// <remarks>
    /// Section and value together make one 64-bit key whenever they fit (every object seen: fewer than 2^20 sections,
    /// values below 2^44), and sorting by a number is several times faster than by a comparison; only runs of symbols at
    /// one place are then sorted by the whole order.
    /// </remarks>
    private static void Sort(Span<Entry> entries)
    {
        const int ValueBits = 44;
        bool packable = true;
        foreach (var e in entries)
            packable &= e.Section < 1u << (64 - ValueBits) && e.Value < 1UL << ValueBits;
        if (!packable)
        {
            entries.Sort(static (a, b) => WholeOrder(a, b));
            return;
        }
        var keys = ThreadSpare.Scratch(ref t_keys, entries.Length);
        for (int i = 0; i < entries.Length; i++)
            keys[i] = (ulong)entries[i].Section << ValueBits | entries[i].Value;
        if (entries.Length >= RadixFrom)
            RadixSort(keys, entries);
        else
            keys.Sort(entries);
        for (int start = 0; start < entries.Length;)
        {
            int end = start + 1;
            while (end < entries.Length && keys[end] == keys[start]) end++;
            for (int i = start + 1; i < end; i++) // a few symbols at one place: insertion sort, no comparer object
            {
                var e = entries[i];
                int j = i - 1;
                for (; j >= start && WholeOrder(entries[j], e) > 0; j--) entries[j + 1] = entries[j];
                entries[j + 1] = e;
            }
            start = end;
        }
    }

    /// <summary>From this many symbols on, <see cref="RadixSort"/> orders the keys (fewer: the library's sort, which wins on small arrays).</summary>
    private const int RadixFrom = 256;

    [ThreadStatic] private static ulong[]? t_radixKeys;
    [ThreadStatic] private static int[]? t_order, t_radixOrder;
    [ThreadStatic] private static Entry[]? t_radixEntries;

    /// <summary>
    /// Orders <paramref name="entries"/> by <paramref name="keys"/> (and the keys with them), a byte of the key per pass
    /// from the lowest, skipping bytes no two keys differ in: a kernel module's few thousand code symbols take four passes
    /// (three bytes of value, one of section) where a comparison sort took a dozen compares and moves per symbol. Stable;
    /// symbols at one place are put in their whole order after (<see cref="Sort"/>), as with any sort.
    /// </summary>
    private static void RadixSort(Span<ulong> keys, Span<Entry> entries)
    {
        int n = keys.Length;
        var from = keys;
        Span<ulong> to = ThreadSpare.Scratch(ref t_radixKeys, n);
        Span<int> order = ThreadSpare.Scratch(ref t_order, n), nextOrder = ThreadSpare.Scratch(ref t_radixOrder, n);
        for (int i = 0; i < n; i++) order[i] = i;
        ulong differ = 0;
        foreach (ulong k in from) differ |= k ^ from[0];
        Span<int> at = stackalloc int[256];
        for (int shift = 0; shift < 64; shift += 8)
        {
            if ((differ >> shift & 0xff) == 0) continue;
            at.Clear();
            foreach (ulong k in from) at[(int)(k >> shift) & 0xff]++;
            for (int d = 0, sum = 0; d < 256; d++) (at[d], sum) = (sum, sum + at[d]);
            for (int i = 0; i < n; i++)
            {
                int place = at[(int)(from[i] >> shift) & 0xff]++;
                to[place] = from[i];
                nextOrder[place] = order[i];
            }
            var swapKeys = from; from = to; to = swapKeys;
            var swapOrder = order; order = nextOrder; nextOrder = swapOrder;
        }
        if (from != keys) from.CopyTo(keys);
        Span<Entry> copy = ThreadSpare.Scratch(ref t_radixEntries, n);
        entries.CopyTo(copy);
        for (int i = 0; i < n; i++) entries[i] = copy[order[i]];
    }

    private static int WholeOrder(Entry a, Entry b)
    {
        int c = a.Section.CompareTo(b.Section);
        if (c == 0) c = a.Value.CompareTo(b.Value);
        if (c == 0) c = b.Size.CompareTo(a.Size);
        if (c == 0) c = a.Symbol.CompareTo(b.Symbol);
        return c;
    }

    /// <summary>A named code symbol or label in a section: not a local <c>.L</c> label, not a mapping symbol (<c>$x</c>).</summary>
    private static bool IsFunctionLike(ElfSymbolTable symbols, uint i, out ElfSymbol s)
    {
        s = default;
        var rest = symbols.RawNameBytes(i, out var type); // st_name and st_info only: most symbols are not code
        if (type is not (ElfSymbolType.Function or ElfSymbolType.NoType or ElfSymbolType.GnuIndirectFunction)) return false;
        s = symbols[i];
        if (!s.IsInSection) return false;
        if (s.NameOffset == 0) return false;
        // The string table from the name to its end: when that ends in a NUL, the name is terminated, and only its first
        // bytes are looked at (no scan for its end).
        if (rest.IsEmpty || rest[^1] != 0 && rest.IndexOf((byte)0) < 0)
            // Out of range or unterminated: let the decoder say so, as it did before names were read lazily.
            return symbols.Name(s).Length != 0;
        return rest[0] != 0 && rest[0] != (byte)'$' && !(rest[0] == (byte)'.' && rest[1] == (byte)'L');
    }

    /// <summary>The symbol whose range holds <paramref name="value"/> in section <paramref name="section"/>, with the offset into it.</summary>
    /// <remarks>The nearest symbol at or below the place wins; among symbols at the same value, the last in sort order.</remarks>
    public (string? Name, ulong Offset) Containing(uint section, ulong value)
    {
        int at = Find(section, value, out ulong offset);
        return at < 0 ? (null, 0) : (NameAt(at), offset);
    }

    /// <summary>
    /// As <see cref="Containing"/>, with the name as the bytes of the file when they are already its text (printable ASCII),
    /// for a listing written while the object's data is in memory: no string is made of it.
    /// </summary>
    internal (Diagnostics.NameText Name, ulong Offset) ContainingText(uint section, ulong value)
    {
        int at = Find(section, value, out ulong offset);
        if (at < 0) return (default, 0);
        if (_names[at] is null && Diagnostics.NameText.Printable(_table!.PrintableNameMemory(_table[_symbols[at].Symbol])) is { } bytes)
            return (bytes, offset);
        return (NameAt(at), offset);
    }

    /// <summary>The index of the entry that names the place, or -1.</summary>
    private int Find(uint section, ulong value, out ulong offset)
    {
        offset = 0;
        // Last entry at or before (section, value).
        int lo = 0, hi = _count - 1, last = -1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            var e = _symbols[mid];
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
        for (int i = last; i >= 0; i--)
        {
            var e = _symbols[i];
            if (e.Section != section) break;
            if (e.Size != 0 && value - e.Value >= e.Size) continue;
            offset = value - e.Value;
            return i;
        }
        return -1;
    }

    /// <summary>Names of the symbols in a section, in address order.</summary>
    public IEnumerable<string> In(uint section)
    {
        // The first entry of the section by bisection, then its entries only: a lookup does not walk the whole object.
        int lo = 0, hi = _count;
        while (lo < hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            if (_symbols[mid].Section < section) lo = mid + 1;
            else hi = mid;
        }
        HashSet<string>? seen = null;
        for (int i = lo; i < _count && _symbols[i].Section == section; i++)
            if ((seen ??= new HashSet<string>(StringComparer.Ordinal)).Add(NameAt(i)))
                yield return NameAt(i);
    }

    private string NameAt(int i)
    {
        if (_names[i] is { } name) return name;
        var table = _table!;
        return _names[i] = PrintableName.Of(table.Name(table[_symbols[i].Symbol]));
    }
}
