namespace PicGuard.Elf;

/// <summary>
/// Named code symbols of an object sorted by section and value, to say which function contains
/// a place ("func+0x1c"). Built once per object, only when a finding needs it.
/// </summary>
public sealed class FunctionIndex
{
    private readonly (uint Section, ulong Value, ulong Size, string Name)[] _symbols;

    private FunctionIndex((uint, ulong, ulong, string)[] symbols) => _symbols = symbols;

    public static FunctionIndex Build(ElfFile elf)
    {
        var table = elf.Sections.FirstOrDefault(s => s.Type == ElfSectionType.SymbolTable);
        if (table.Type != ElfSectionType.SymbolTable)
            table = elf.Sections.FirstOrDefault(s => s.Type == ElfSectionType.DynamicSymbolTable);
        if (table.Type is not (ElfSectionType.SymbolTable or ElfSectionType.DynamicSymbolTable))
            return new FunctionIndex([]);
        var symbols = elf.GetSymbolTable((uint)table.Index);
        var list = new List<(uint, ulong, ulong, string)>();
        for (uint i = 1; i < (uint)symbols.Count; i++)
        {
            var s = symbols[i];
            if (s.Type is not (ElfSymbolType.Function or ElfSymbolType.NoType or ElfSymbolType.GnuIndirectFunction)) continue;
            if (!s.IsInSection) continue;
            string name = symbols.Name(s);
            if (name.Length == 0 || name.StartsWith(".L", StringComparison.Ordinal) || name.StartsWith('$')) continue;
            list.Add((s.SectionIndex, s.Value, s.Size, name));
        }
        // Functions before labels at the same place, so "main" wins over a label at its start.
        var sorted = list.OrderBy(x => x.Item1).ThenBy(x => x.Item2).ThenByDescending(x => x.Item3).ToArray();
        return new FunctionIndex(sorted);
    }

    /// <summary>The symbol whose range holds <paramref name="value"/> in section <paramref name="section"/>, with the offset into it.</summary>
    public (string? Name, ulong Offset) Containing(uint section, ulong value)
    {
        (string? Name, ulong Offset) best = (null, 0);
        foreach (var s in _symbols)
        {
            if (s.Section != section || s.Value > value) continue;
            if (s.Size != 0 && value - s.Value >= s.Size) continue;
            if (best.Name is null || value - s.Value <= best.Offset) best = (s.Name, value - s.Value);
        }
        return best;
    }

    /// <summary>Names of the symbols in a section, in address order.</summary>
    public IEnumerable<string> In(uint section) => _symbols.Where(s => s.Section == section).Select(s => s.Name).Distinct();
}
