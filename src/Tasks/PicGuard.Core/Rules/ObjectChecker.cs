using PicGuard.Diagnostics;
using PicGuard.Elf;
using PicGuard.Loaders;
using PicGuard.Relocations;

namespace PicGuard.Rules;

/// <summary>
/// The rule engine for one ELF object: walks the catalog's section and object rules over the section
/// headers and its relocation rules over every relocation that patches an allocated section.
/// Per-section and per-type facts (confined? accepted by the loader?) are computed once up front;
/// names, functions, source lines and instructions are decoded only when a finding needs them.
/// </summary>
internal sealed class ObjectChecker
{
    private readonly ElfFile _elf;
    private readonly Profile _profile;
    private readonly CheckOptions _options;
    private readonly string _path;
    private readonly string _objectName;
    private readonly CheckResult _result;
    private readonly FindingSet _findings;
    private readonly int _objectOrdinal;
    private readonly RelocationTable? _table;
    private readonly (Rule Rule, Severity Severity)[] _sectionRules;
    private readonly (Rule Rule, Severity Severity)[] _objectRules;
    private readonly uint _relocationKindMask;
    private readonly ActiveRules.Entry[] _relocationRules;
    private readonly ActiveRules.Entry[][] _relocationRulesByKind;
    private readonly bool _tallyOnly;
    private readonly bool _linked;
    private readonly bool[] _restricted;
    private readonly bool[] _allowedTarget;
    private readonly LoaderRow? _loader;
    private readonly ActiveRules.LoaderTypes? _loaderTypes;
    /// <summary>By section index: the loader looks at relocations there (<see cref="_loader"/>'s sections).</summary>
    private readonly bool[] _loaderLooks = [];
    /// <summary>By section index: the loader leaves the section alone by name, accepting what it would reject elsewhere.</summary>
    private readonly bool[] _loaderExcludes = [];
    private readonly LoadAddress? _loadAddress;
    private readonly RelocationFormula?[]? _loaderFormulas;
    private readonly LoaderArchitecture? _loaderArchitecture;
    private LoaderLayout? _loaderLayout;
    private ulong[]? _imageOffsets;
    private FunctionIndex? _functions;
    private SourceLocator? _sources;
    private SiteDecoder? _sites;
    private ElfSymbolTable? _symbols;
    private uint _symbolsIndex = uint.MaxValue;
    private sbyte[]? _instrumentation;

    public ObjectChecker(ElfFile elf, CheckOptions options, string path, string objectName, CheckResult result, FindingSet findings)
    {
        _elf = elf;
        _options = options;
        _profile = options.Profile;
        _path = path;
        _objectName = objectName;
        _result = result;
        _findings = findings;
        _objectOrdinal = findings.NextObject();
        _table = RelocationTable.For(elf.Machine, elf.Is64Bit);
        _linked = elf.FileType != ElfFileType.Relocatable;
        var active = ActiveRules.For(options);
        _sectionRules = active.Section;
        _objectRules = active.Object;

        var restrictedGlobs = options.RestrictedSections.Count > 0 ? options.RestrictedSections : _profile.DefaultRestrictedSections;
        var allowedGlobs = options.AllowedTargetSections.Count > 0 ? options.AllowedTargetSections : restrictedGlobs;
        _restricted = restrictedGlobs.Count > 0 ? new bool[elf.Sections.Count] : [];
        _allowedTarget = restrictedGlobs.Count > 0 ? new bool[elf.Sections.Count] : [];
        bool anyRestricted = false;
        if (restrictedGlobs.Count > 0)
        {
            foreach (var s in elf.SectionSpan)
            {
                if (!s.IsAllocated) continue;
                string name = elf.SectionName(s);
                anyRestricted |= _restricted[s.Index] = s.IsExecutable && Glob.MatchesAny(name, restrictedGlobs);
                _allowedTarget[s.Index] = !s.IsExecutable || Glob.MatchesAny(name, allowedGlobs);
            }
        }

        _loadAddress = options.LoadAddress ?? _profile.DefaultLoadAddress;
        if (_table is not null && _profile.LoaderFor(elf.Machine, elf.Is64Bit) is { } loader)
        {
            _loader = loader;
            _loaderTypes = active.TypesOf(_table, loader);
            _loaderLooks = new bool[elf.Sections.Count];
            _loaderExcludes = new bool[elf.Sections.Count];
            foreach (var s in elf.SectionSpan)
            {
                if (!s.IsAllocated) continue;
                bool excluded = loader.ExcludedSections.Count > 0 && Glob.MatchesAny(elf.SectionName(s), loader.ExcludedSections);
                _loaderExcludes[s.Index] = excluded;
                _loaderLooks[s.Index] = !excluded && !(loader.DataSectionsOnly && s.IsExecutable);
            }
        }
        // The loader model places relocatable objects; its formulas and checks decide PG0007 and PG0008 for them.
        if (_table is not null && !_linked && (_loaderFormulas = active.LoaderFormulas(_table)) is not null)
        {
            _loaderArchitecture = LoaderModels.For(_profile)!.Architecture(elf.Machine);
        }

        // Rules whose precondition does not hold for this object cost nothing in the hot loop; per kind,
        // the rules that can match it: a PC-relative call meets one or two rules, not all of them.
        var index = active.Relocation(anyRestricted, _loader is not null, _loadAddress is not null);
        _relocationRules = index.Rules;
        _relocationRulesByKind = index.ByKind;
        _tallyOnly = findings.TallyOnly;
        _relocationKindMask = index.KindMask;
    }

    public void Run()
    {
        try
        {
            CheckObject();
            CheckSections();
            CheckRelocations();
            CheckMisPairedRelocations();
            if (_options.CheckUndefinedSymbols ?? _profile.ChecksUndefinedSymbols)
                CheckUndefinedSymbols();
        }
        finally
        {
            _functions?.Release(); // its arrays serve the next object's index
            _functions = null;
        }
    }

    // ---- object rules -------------------------------------------------------------------------

    /// <summary>How many executable sections a PG0012 finding names before it counts the rest.</summary>
    internal const int SectionsListed = 10;

    private void CheckObject()
    {
        foreach (var (rule, severity) in _objectRules)
        {
            var match = rule.Object!;
            if (_elf.FileType != match.FileType) continue;
            var executable = _elf.Sections.Where(s => s.IsAllocated && s.IsExecutable && s.Size > 0).ToList();
            if (executable.Count <= match.MaxExecutableSections) continue;
            // At most SectionsListed sections are named, the rest counted: an object of 70,000 function sections gives
            // one finding of a dozen lines, and each listed section's functions are found by bisection.
            var context = executable.Take(SectionsListed).Select(s =>
            {
                var functions = Functions().In((uint)s.Index).Take(3).ToList();
                return $"section {_elf.SectionName(s)}, size 0x{s.Size:x}{(functions.Count > 0 ? ", holds " + string.Join(", ", functions) : "")}";
            }).ToList();
            if (executable.Count > SectionsListed)
                context.Add($"and {executable.Count - SectionsListed} more executable section(s)");
            context.Add("fix: " + rule.Fix);
            Add(new Diagnostic(rule, severity, _path, _objectName,
                $"{executable.Count} executable sections in a relocatable blob: every one has address 0 until loaded, and the loader rebases the entry by one of them only",
                context, new ObjectLocation(_elf.SectionName(executable[1]), 0, null, 0)));
        }
    }

    // ---- section rules ------------------------------------------------------------------------

    private void CheckSections()
    {
        if (_sectionRules.Length == 0) return;
        // Every prefix is ".x…": a section whose second name byte starts none of them, and that has none of the flags, is skipped at once.
        Span<bool> secondBytes = stackalloc bool[256];
        var flags = ElfSectionFlags.None;
        foreach (var (rule, _) in _sectionRules)
        {
            var match = rule.Section!;
            foreach (var prefix in match.NamePrefixBytes) secondBytes[prefix[1]] = true;
            if (match.FlagMachine == ElfMachine.None || _elf.Machine == match.FlagMachine) flags |= match.Flag;
        }
        var names = _elf.SectionNameTable;
        foreach (ref readonly var section in _elf.SectionSpan)
        {
            var name = ElfFile.SectionNameBytes(section, names);
            if ((name.Length < 2 || !secondBytes[name[1]]) && (section.Flags & flags) == 0) continue;
            foreach (var (rule, severity) in _sectionRules)
            {
                var match = rule.Section!;
                bool byFlag = match.Flag != ElfSectionFlags.None && (match.FlagMachine == ElfMachine.None || _elf.Machine == match.FlagMachine) && (section.Flags & match.Flag) != 0;
                bool byName = false;
                foreach (var prefix in match.NamePrefixBytes)
                    byName |= name.Length > 1 && name[1] == prefix[1] && name.StartsWith(prefix); // every prefix is ".x…": test the x first
                if (!byName && !byFlag) continue;
                string sectionName = _elf.SectionName(section);
                string why = $"section {sectionName} {(byFlag && match.FlagDescribes is not null ? match.FlagDescribes : match.Describes)}";
                var functions = Functions().In((uint)section.Index).Take(4).ToList();
                var context = new List<string> { $"in {_objectName}, size 0x{section.Size:x}" };
                if (functions.Count > 0) context.Add("holds " + string.Join(", ", functions));
                context.Add("fix: " + rule.Fix);
                Add(new Diagnostic(rule, severity, _path, _objectName, why, context, new ObjectLocation(sectionName, 0, null, 0)));
            }
        }
    }

    // ---- relocation rules ---------------------------------------------------------------------

    private void CheckRelocations()
    {
        if (_elf.Sections.Count == 0) return;
        bool anyRelocations = false;
        var sections = _elf.SectionSpan;
        foreach (ref readonly var section in sections)
        {
            if (!ElfFile.IsRelocationSection(section.Type) && !(section.Type == ElfSectionType.Relr && _elf.Decodes(section)))
            {
                if (section.Type != ElfSectionType.ProgBits && _elf.UndecodedRelocations(section) is { } why)
                    ReportUndecoded(section, why);
                continue;
            }
            var relocations = _elf.GetRelocations(section);
            _result.Relocations += relocations.Count;
            anyRelocations |= relocations.Count > 0;
            if (_table is null || _relocationKindMask == 0) continue;

            // The patched section: one for an object's relocation section, looked up by address for a linked file's dynamic ones.
            int fixedTarget = -1;
            ulong applies = ulong.MaxValue; // the rules that apply to the patched section, by slot
            uint kindMask = _relocationKindMask;
            if (section.Info != 0)
            {
                fixedTarget = _elf.GetSection(section.Info).Index;
                if (!sections[fixedTarget].IsAllocated) continue; // debug info and other unloaded sections
                (applies, kindMask) = RulesFor(sections[fixedTarget]);
                if (kindMask == 0) continue;
            }
            else if (!_linked)
            {
                continue; // an object's relocation section that patches nothing
            }

            var kinds = _table.KindsByNumber;
            int count = relocations.Count;
            for (int i = 0; i < count; i++)
            {
                uint type = relocations.TypeAt(i);
                var kind = type < (uint)kinds.Length ? kinds[(int)type] : RelocationKind.Unknown;
                if ((kindMask & 1u << (int)kind) == 0) continue;
                // The entry is decoded field by field, as each check needs it: most relocations are only counted.
                int patchedIndex = fixedTarget;
                if (patchedIndex < 0)
                {
                    patchedIndex = FindSectionIndexByAddress(relocations[i].Offset);
                    if (patchedIndex < 0) continue;
                    (applies, _) = RulesFor(sections[patchedIndex]);
                }
                ref readonly var p = ref sections[patchedIndex];
                // What the profile's loader makes of it: fails on it (PG0006), or applies it wherever the blob lands, so the
                // position-independence rules report it as a warning at most.
                bool rejected = false, loaderAccepts = false;
                if (_loaderTypes is not null)
                {
                    rejected = _loaderLooks[p.Index] && _loaderTypes.Rejects(type);
                    loaderAccepts = _loaderLooks[p.Index] ? _loaderTypes.AppliesAnywhere(type) : _loaderExcludes[p.Index] && _loaderTypes.Rejects(type);
                }
                foreach (var entry in _relocationRulesByKind[(int)kind])
                {
                    if ((applies & 1UL << entry.Slot) == 0) continue;
                    var (rule, severity, _, check) = entry;
                    bool accepted = loaderAccepts && check == RelocationCheck.Kind && rule.Relocation!.KindMask == AbsoluteOnly;
                    if (accepted && severity > Severity.Warning) severity = Severity.Warning;
                    InstrumentationSymbol? row = null;
                    (string Name, string Section)? outside = null;
                    string? overflow = null;
                    bool found = check switch
                    {
                        RelocationCheck.Kind => true,
                        RelocationCheck.InstrumentationTarget => (row = InstrumentationTarget(section, relocations.SymbolAt(i))) is not null,
                        RelocationCheck.Confinement => _restricted[p.Index] && (outside = ConfinementTarget(section, relocations[i], p)) is not null,
                        RelocationCheck.NotAcceptedByLoader => rejected,
                        RelocationCheck.Overflow => (overflow = PlacementOverflow(section, p, relocations[i], _table[type])) is not null,
                        _ => false,
                    };
                    if (!found) continue;
                    // Counted only: nothing is described. Once the set lists no more, so is a finding no listed one can be
                    // identical to, known from the key's plain numbers before the entry is decoded whole (Record).
                    if (_tallyOnly || _findings.CountsOnly
                        && !_findings.MayRepeat(rule.Number, _objectOrdinal, type, section.Link, relocations.SymbolAt(i), SectionField(check, p)))
                    {
                        _findings.Tally(severity);
                        continue;
                    }
                    // The message is made only once the finding is known to be listed or suppressed (Record), not per repeat.
                    Record(rule, severity, section, p, relocations[i], i, _table[type], new MessageParts(kind, row, outside, overflow, accepted));
                }
            }
        }
        if (_table is null && anyRelocations)
        {
            var rule = RuleCatalog.UnsupportedMachine;
            Add(new Diagnostic(rule, _profile.SeverityOf(rule), _path, _objectName,
                $"{ElfMachineNames.Describe(_elf.RawMachine)}, {(_elf.Is64Bit ? "ELFCLASS64" : "ELFCLASS32")}, has no relocation table; relocation rules were not run", ["fix: " + rule.Fix]));
        }
        else if (anyRelocations && _loader is null && _profile.ReportsMachinesWithoutLoader)
        {
            // The profile names a loader, but not for this machine: what that loader applies was not judged (PG0006).
            var rule = RuleCatalog.NoLoaderForMachine;
            string machines = string.Join(", ", _profile.Loaders.Select(l => ElfMachineNames.Name((ushort)l.Machine) ?? l.Machine.ToString()).Distinct());
            Add(new Diagnostic(rule, _profile.SeverityOf(rule), _path, _objectName,
                $"the {_profile.Name} profile has no loader row for {ElfMachineNames.Describe(_elf.RawMachine)}, {(_elf.Is64Bit ? "ELFCLASS64" : "ELFCLASS32")}: which relocation types its loader applies was not checked (PG0006); its rows are for {machines}",
                ["fix: " + rule.Fix]));
        }
    }

    /// <summary>PG0006 for a relocation the loader writes into the wrong instruction (an R_RISCV_PCREL_HI20 and its PCREL_LO12_I apart): the loader engine decides.</summary>
    private void CheckMisPairedRelocations()
    {
        if (_loaderFormulas is null || _table is null) return;
        var rule = RuleCatalog.RejectedByLoader;
        var severity = _profile.SeverityOf(rule);
        if (severity == Severity.None) return;
        var layout = _loaderLayout ??= LoaderEngine.Place(_elf);
        foreach (var m in LoaderEngine.MisPaired(_elf, layout, _table, _loaderFormulas))
        {
            var relocationSection = _elf.GetSection((uint)m.RelocationSection);
            var r = _elf.GetRelocations(relocationSection)[m.Index];
            var (location, source) = Place(_elf.GetSection(relocationSection.Info), r.Offset);
            List<string> context = [ReferencedBy(location)];
            if (source is not null) context.Add($"source: {source}");
            context.Add("fix: " + LoaderEngine.MisPairedFix);
            Add(new Diagnostic(rule, severity, _path, _objectName, $"{m.Message} (the {_profile.Name} loader does this without an error)",
                context, location, _table[r.Type].Name) { Source = source });
        }
    }

    /// <summary>PG9006: a section holds relocations the reader cannot decode, so they were not checked.</summary>
    private void ReportUndecoded(in ElfSection section, string why)
    {
        var rule = RuleCatalog.UndecodedRelocations;
        string name = _elf.SectionName(section);
        Add(new Diagnostic(rule, _profile.SeverityOf(rule), _path, _objectName,
            $"relocation section {name} cannot be decoded: {why}; its relocations were not checked", ["fix: " + rule.Fix],
            new ObjectLocation(name, 0, null, 0)));
    }

    /// <summary>Whether the section's name matches one of <paramref name="globs"/>, tested on the name's bytes (decoded only when it is not plain).</summary>
    private bool ExcludedByName(in ElfSection section, string[] globs)
    {
        var name = _elf.SectionNameBytes(section);
        int end = name.IndexOf((byte)0);
        return end >= 0 ? Glob.MatchesAny(name[..end], globs) : Glob.MatchesAny(_elf.SectionName(section), globs); // the string form reports a broken name
    }

    /// <summary>
    /// Which relocation rules apply to relocations patching <paramref name="patched"/> (a bit per rule slot), and the kinds
    /// those rules look at: decided once per relocation section from the section's flags and name, not per relocation.
    /// </summary>
    private (ulong Applies, uint KindMask) RulesFor(in ElfSection patched)
    {
        ulong applies = 0;
        uint kinds = 0;
        if (!patched.IsAllocated) return (0, 0);
        foreach (var (rule, _, slot, _) in _relocationRules)
        {
            var match = rule.Relocation!;
            if (!match.AppliesTo(patched.Flags)) continue;
            if (match.ExcludedSections is { } excluded && ExcludedByName(patched, excluded)) continue;
            applies |= 1UL << slot;
            kinds |= match.KindMask;
        }
        return (applies, kinds);
    }

    private static string RelocationVerb(RelocationKind kind) => kind is RelocationKind.PltCall ? "call to" : "reference to";

    private int FindSectionIndexByAddress(ulong address)
    {
        var sections = _elf.SectionSpan;
        for (int i = 0; i < sections.Length; i++)
            if (sections[i].IsAllocated && address >= sections[i].Address && address - sections[i].Address < sections[i].Size)
                return i;
        return -1;
    }

    /// <summary>The symbol table a relocation section links to, decoded once while consecutive sections share it.</summary>
    private ElfSymbolTable Symbols(uint index)
    {
        if (_symbolsIndex != index || _symbols is null)
        {
            _symbols = _elf.GetSymbolTable(index);
            _symbolsIndex = index;
            _instrumentation = null;
        }
        return _symbols;
    }

    /// <summary>The instrumentation row the relocation's symbol matches; each symbol is classified once.</summary>
    private InstrumentationSymbol? InstrumentationTarget(in ElfSection relocationSection, uint symbolIndex)
    {
        if (symbolIndex == 0 || relocationSection.Link == 0) return null;
        var symbols = Symbols(relocationSection.Link);
        if (symbolIndex >= (uint)symbols.Count) return null;
        _instrumentation ??= InstrumentationCache(symbols.Count);
        ref sbyte cached = ref _instrumentation[symbolIndex];
        if (cached == 0)
        {
            var name = symbols.RawNameBytes(symbolIndex, out var type);
            var row = type == ElfSymbolType.Section ? null : Instrumentation.Match(name);
            cached = row is null ? (sbyte)-1 : (sbyte)(1 + IndexOf(row));
        }
        return cached > 0 ? Instrumentation.Symbols[cached - 1] : null;
    }

    [ThreadStatic] private static sbyte[]? t_instrumentationCache;

    /// <summary>
    /// A cleared classification array for <paramref name="count"/> symbols, reused across the objects one thread
    /// checks (one at a time): allocating one per object costs more than clearing it.
    /// </summary>
    private static sbyte[] InstrumentationCache(int count)
    {
        var cache = t_instrumentationCache;
        if (cache is null || cache.Length < count)
            return t_instrumentationCache = new sbyte[Math.Max(count, 4096)];
        Array.Clear(cache, 0, count);
        return cache;
    }

    private static int IndexOf(InstrumentationSymbol row)
    {
        for (int i = 0; i < Instrumentation.Symbols.Count; i++)
            if (ReferenceEquals(Instrumentation.Symbols[i], row)) return i;
        return -1;
    }

    /// <summary>Where the relocation's target lives: its section and what to call it there.</summary>
    private (string Name, string Section)? ConfinementTarget(in ElfSection relocationSection, in ElfRelocation r, in ElfSection place)
    {
        if (r.SymbolIndex == 0 || relocationSection.Link == 0) return null;
        var symbols = Symbols(relocationSection.Link);
        var symbol = symbols[r.SymbolIndex];
        if (!symbol.IsInSection || symbol.SectionIndex >= (uint)_elf.Sections.Count) return null; // undefined: judged once linked
        var section = _elf.GetSection(symbol.SectionIndex);
        if (section.Index == place.Index || _allowedTarget[section.Index] || !section.IsExecutable) return null;
        string name = symbol.Type == ElfSymbolType.Section ? "" : PrintableName.Of(symbols.Name(symbol));
        if (name.Length == 0)
        {
            // A section symbol plus addend: name the function there (PC-relative x86 addends are -4 for the field).
            long into = r.Addend + (_elf.Machine is ElfMachine.X86_64 or ElfMachine.I386 && _table![r.Type].Kind is RelocationKind.PcRelative or RelocationKind.PltCall ? 4 : 0);
            ulong value = symbol.Value + (ulong)Math.Max(0, into);
            var (function, offset) = Functions().Containing((uint)section.Index, value);
            name = function is null ? $"{_elf.SectionName(section)}+0x{value:x}" : offset == 0 ? function : $"{function}+0x{offset:x}";
        }
        return (name, _elf.SectionName(section));
    }

    // ---- placement overflow (PG0007) -----------------------------------------------------------

    /// <summary>The overflow message if the value the loader computes cannot fit the field somewhere in the load range.</summary>
    private string? PlacementOverflow(in ElfSection relocationSection, in ElfSection place, in ElfRelocation r, RelocationType type)
    {
        if (_loaderFormulas is not null && r.Type < (uint)_loaderFormulas.Length && _loaderFormulas[r.Type] is { } formula)
            return LoaderOverflow(relocationSection, place, r, type, formula);
        if (type.Range is null || r.SymbolIndex == 0 && type.Kind != RelocationKind.Absolute) return null;
        Int128 target;
        if (r.SymbolIndex == 0 || relocationSection.Link == 0)
        {
            target = 0;
        }
        else
        {
            var symbol = Symbols(relocationSection.Link)[r.SymbolIndex];
            if (symbol.RawSectionIndex == ElfSectionIndex.Absolute)
            {
                if (type.Kind != RelocationKind.Absolute) return null;
                Int128 fixedValue = (Int128)symbol.Value + r.Addend;
                return type.Fits(fixedValue) ? null : $"{type.Name} against absolute symbol {TargetName(relocationSection, r)}: value {RelocationType.Hex(fixedValue)} does not fit its {type.RangeDescription}";
            }
            if (!symbol.IsInSection || symbol.SectionIndex >= (uint)_elf.Sections.Count) return null;
            target = (Int128)ImageOffset(symbol.SectionIndex) + (_linked ? symbol.Value - _elf.GetSection(symbol.SectionIndex).Address : symbol.Value);
        }
        Int128 placeOffset = (Int128)ImageOffset((uint)place.Index) + (_linked ? r.Offset - place.Address : r.Offset);
        var load = _loadAddress!.Value;
        if (type.Kind == RelocationKind.Absolute)
        {
            Int128 low = load.Low + target + r.Addend, high = load.High + target + r.Addend;
            if (type.Fits(low) && type.Fits(high)) return null;
            // The example is the lowest page-aligned base that fails (0x80000000 for a 32-bit signed field), so the value
            // shown is an address the loader could really compute, not the top of a range such as 'any' plus the offset.
            Int128 badBase = load.Low;
            if (type.Fits(low) && type.Range is { } range)
            {
                badBase = range.Max - (target + r.Addend) + 1;
                Int128 aligned = (badBase + 0xfff) & ~(Int128)0xfff;
                badBase = aligned <= load.High ? aligned : badBase;
            }
            Int128 bad = badBase + target + r.Addend;
            return $"{type.Name} against {TargetName(relocationSection, r)} overflows when the blob is placed at {(load.IsSingle ? load.ToString() : $"{load} (e.g. at 0x{(ulong)badBase:x})")}: value {RelocationType.Hex(bad)} does not fit its {type.RangeDescription} {OverflowVerdict(r.Type)}";
        }
        Int128 distance = target + r.Addend - placeOffset;
        return type.Fits(distance) ? null
            : $"{type.Name} against {TargetName(relocationSection, r)} overflows: the target is {RelocationType.Hex(distance)} bytes away in the loaded image, beyond its {type.RangeDescription}";
    }

    /// <summary>
    /// PG0007 by the loader model: the loader's formula and check (<see cref="LoaderEngine"/>), judged exactly over every
    /// base in the load range, on the layout the loader gives the object. <c>picguard load</c> computes the same.
    /// </summary>
    private string? LoaderOverflow(in ElfSection relocationSection, in ElfSection place, in ElfRelocation r, RelocationType type, RelocationFormula formula)
    {
        if (relocationSection.Link == 0 || formula.Check == FieldCheck.FullWidth) return null;
        var layout = _loaderLayout ??= LoaderEngine.Place(_elf);
        var symbol = LoaderEngine.Resolve(_elf, layout, Symbols(relocationSection.Link), r.SymbolIndex, withName: false);
        if (symbol.Placement is not (SymbolPlacement.Placed or SymbolPlacement.Absolute)) return null; // the loader fails first: PG0008
        ulong placeOffset = unchecked(layout.RawOffset((uint)place.Index) + r.Offset);
        var (constant, slope) = LoaderEngine.Linear(formula, symbol, r.Addend, placeOffset);
        var load = _loadAddress!.Value;
        if (!LoaderEngine.OverflowsSomewhere(formula, constant, slope, load.Low, load.High, out ulong badBase, out ulong value)) return null;
        // Name a base the loader could choose (a multiple of the blob's alignment) when one nearby fails too.
        ulong aligned = LoaderEngine.Align(badBase, layout.Alignment);
        ulong alignedValue = unchecked(constant + (ulong)(long)slope * aligned);
        if (aligned >= badBase && aligned <= load.High && !formula.Fits(alignedValue))
            (badBase, value) = (aligned, alignedValue);
        string at = load.IsSingle ? load.ToString() : $"{load} (e.g. at 0x{badBase:x})";
        string loaderSays = _loader is { TruncatesFields: true } || _loaderArchitecture!.OverflowMessage is null
            ? $"computes 0x{value:x} ({formula.Describe()}) {OverflowVerdict(r.Type)}"
            : formula.Check is FieldCheck.Unchecked or FieldCheck.UncheckedUnsigned
            ? $"computes 0x{value:x} and writes it truncated to {formula.Bits} bits without a check ({formula.Describe()})"
            : $"computes 0x{value:x} and fails with '{LoaderEngine.OverflowMessage(_loaderArchitecture!, r.Type, value)}' ({formula.Describe()})";
        return $"{type.Name} against {TargetName(relocationSection, r)} overflows when the blob is placed at {at}: the {_profile.Name} loader {loaderSays}";
    }

    /// <summary>What the loader does with a value that does not fit: the kexec error, or, for a row that checks no field, the silent truncation.</summary>
    private string OverflowVerdict(uint type) => _loader is { TruncatesFields: true } loader
        ? $"({_table!.Name} {loader.Loader} checks no field: it would store the truncated value, and the blob would use a wrong address)"
        : $"(kexec: 'Overflow in relocation type {type}')";

    /// <summary>Where a section starts in the loaded image: link addresses for linked files; for objects, the loader engine's layout (file data in order, then zero-filled), aligned.</summary>
    private ulong ImageOffset(uint section)
    {
        if (_imageOffsets is null)
        {
            _imageOffsets = new ulong[_elf.Sections.Count];
            if (_linked)
            {
                ulong low = 0; // nothing allocated: no offsets to shift
                bool any = false;
                foreach (var s in _elf.SectionSpan)
                {
                    if (!s.IsAllocated) continue;
                    low = any ? Math.Min(low, s.Address) : s.Address;
                    any = true;
                }
                foreach (var s in _elf.SectionSpan)
                    _imageOffsets[s.Index] = s.IsAllocated ? s.Address - low : 0;
            }
            else
            {
                // An object is placed as the kexec_file loader places it: the one layout the loader engine computes.
                var layout = _loaderLayout ??= LoaderEngine.Place(_elf);
                foreach (var s in layout.Sections)
                    _imageOffsets[s.Index] = s.Offset;
            }
        }
        return section < (uint)_imageOffsets.Length ? _imageOffsets[section] : 0;
    }

    // ---- undefined symbols (PG0008) ------------------------------------------------------------

    private void CheckUndefinedSymbols()
    {
        var rule = RuleCatalog.UndefinedSymbol;
        var severity = _profile.SeverityOf(rule);
        if (severity == Severity.None) return;
        if (_elf.FirstSection(ElfSectionType.SymbolTable) is not { } table) return;
        var symbols = _elf.GetSymbolTable((uint)table.Index);
        var referenced = ReferencedSymbols((uint)table.Index, symbols.Count);
        // Under a loader model the model decides, as it does when it loads: SHN_UNDEF (symbol 0 included), SHN_COMMON
        // and a reserved section index each stop the loader with its own message.
        var model = _loaderFormulas is not null ? LoaderModels.For(_profile) : null;
        var layout = model is not null ? _loaderLayout ??= LoaderEngine.Place(_elf) : null;
        // A loader that does not test SHN_UNDEF takes symbol 0 as address 0 (R_RISCV_RELAX and R_RISCV_ALIGN name it).
        bool checksUndefined = model?.Architecture(_elf.Machine) is not { ChecksUndefined: false };
        for (uint i = model is null || !checksUndefined ? 1u : 0u; i < (uint)symbols.Count; i++)
        {
            // A loader fails on an undefined symbol only when a relocation it applies uses it ('Undefined symbol: %s').
            if (!referenced[(int)i]) continue;
            var symbol = symbols[i];
            string? loaderMessage = null;
            string what = "undefined symbol";
            if (model is not null)
            {
                // Most referenced symbols are defined in a section: the loader resolves them, nothing to name.
                ushort shndx = symbol.RawSectionIndex;
                if (shndx != ElfSectionIndex.Undefined && shndx != ElfSectionIndex.Common && (shndx < _elf.Sections.Count || shndx == ElfSectionIndex.Absolute)) continue;
                var resolved = LoaderEngine.Resolve(_elf, layout!, symbols, i, withName: true);
                (what, loaderMessage) = resolved.Placement switch
                {
                    SymbolPlacement.Undefined when !checksUndefined => ("undefined symbol", $"does not check it, and uses address 0x{symbol.Value:x}"),
                    SymbolPlacement.Undefined => ("undefined symbol", string.Format(model.UndefinedMessage, PrintableName.Of(resolved.Name))),
                    SymbolPlacement.Common => ("common symbol", string.Format(model.CommonMessage, PrintableName.Of(resolved.Name))),
                    SymbolPlacement.InvalidSection => ($"symbol in reserved section {resolved.RawSectionIndex}", string.Format(model.InvalidSectionMessage, resolved.RawSectionIndex, PrintableName.Of(resolved.Name))),
                    _ => (what, null),
                };
                if (loaderMessage is null) continue;
            }
            else if (!symbol.IsUndefined || symbol.Binding == ElfSymbolBinding.Local) continue;
            string name = symbols.Name(symbol);
            if (name.Length == 0 && model is not null) name = i == 0 ? "symbol 0" : $"symbol #{i}";
            if (name.Length == 0 || Glob.MatchesAny(name, _options.AllowedUndefined)) continue;
            var places = ReferencesTo((uint)table.Index, i).Take(3).ToList();
            var context = places.Select(p => "referenced by " + p.Text).ToList();
            string shown = PrintableName.Of(name);
            context.Add("fix: " + (what == "common symbol" ? "compile with -fno-common (or initialise the variable) so it is defined in .bss; the loader allocates no common symbols" : rule.Fix));
            string loaderSays = loaderMessage is null ? "the loader resolves no symbols"
                : !checksUndefined && symbol.RawSectionIndex == ElfSectionIndex.Undefined ? $"the {_profile.Name} loader {loaderMessage}"
                : $"the {_profile.Name} loader fails with '{loaderMessage}'";
            Add(new Diagnostic(rule, severity, _path, _objectName,
                $"{what} '{shown}'{(symbol.Binding == ElfSymbolBinding.Weak ? " (weak)" : "")}: {loaderSays}", context,
                places.FirstOrDefault().Location, Target: $"'{shown}'")
            { Symbol = name, Source = places.FirstOrDefault().Source });
        }
    }

    /// <summary>Which symbols of a symbol table the relocations of allocated sections use, in one pass.</summary>
    private System.Collections.BitArray ReferencedSymbols(uint symbolTable, int count)
    {
        // A linked file's dynamic relocations name the dynamic symbol table: every undefined symbol counts there.
        var referenced = new System.Collections.BitArray(count, _linked);
        if (_linked) return referenced;
        foreach (ref readonly var section in _elf.SectionSpan)
        {
            if (!ElfFile.IsRelocationSection(section.Type) || section.Link != symbolTable || section.Info == 0) continue;
            if (!_elf.GetSection(section.Info).IsAllocated) continue;
            var relocations = _elf.GetRelocations(section);
            for (int i = 0; i < relocations.Count; i++)
            {
                uint symbol = relocations[i].SymbolIndex;
                if (symbol < (uint)count) referenced[(int)symbol] = true;
            }
        }
        return referenced;
    }

    /// <summary>Places whose relocations name symbol <paramref name="symbol"/> of symbol table <paramref name="symbolTable"/>.</summary>
    private IEnumerable<(string Text, ObjectLocation? Location, SourcePosition? Source)> ReferencesTo(uint symbolTable, uint symbol)
    {
        foreach (var section in _elf.Sections)
        {
            if (!ElfFile.IsRelocationSection(section.Type) || section.Link != symbolTable || section.Info == 0) continue;
            var patched = _elf.GetSection(section.Info);
            if (!patched.IsAllocated) continue;
            var found = new List<(string, ObjectLocation?, SourcePosition?)>();
            var relocations = _elf.GetRelocations(section);
            for (int i = 0; i < relocations.Count; i++)
            {
                if (relocations[i].SymbolIndex != symbol) continue;
                var (location, source) = Place(patched, relocations[i].Offset);
                string where = location.Function is null ? location.Describe() : $"{location.Describe()} ({location.Section}+0x{location.Offset:x})";
                found.Add(($"{where}{(source is null ? "" : " at " + source)}", location, source));
            }
            foreach (var f in found) yield return f;
        }
    }

    // ---- reporting -----------------------------------------------------------------------------

    /// <summary>Section, offset and function of a place, and its source line when debug info or STT_FILE says it.</summary>
    private (ObjectLocation Location, SourcePosition? Source) Place(ElfSection patched, ulong rawOffset) =>
        (PlaceOf(patched, rawOffset).ToLocation(), Source(patched, rawOffset));

    /// <summary>
    /// Section, offset and function of a place, as a value. For a finding listed as text (<paramref name="asText"/>) the
    /// function's name stays bytes of the object: it is written before the object's data goes.
    /// </summary>
    private ObjectPlace PlaceOf(in ElfSection patched, ulong rawOffset, bool asText = false)
    {
        string sectionName = _elf.SectionName(patched);
        ulong offset = _linked && rawOffset >= patched.Address ? rawOffset - patched.Address : rawOffset;
        var (function, functionOffset) = asText
            ? Functions().ContainingText((uint)patched.Index, rawOffset)
            : Functions().Containing((uint)patched.Index, rawOffset);
        return new ObjectPlace(sectionName, offset, function, functionOffset);
    }

    private SourcePosition? Source(ElfSection patched, ulong rawOffset)
    {
        try
        {
            return Sources().Find((uint)patched.Index, rawOffset);
        }
        catch (ElfFormatException)
        {
            return null; // broken debug info costs the source line, never the finding
        }
    }

    /// <summary>What a relocation check found, for the message of a finding that is listed or suppressed.</summary>
    private readonly record struct MessageParts(RelocationKind Kind, InstrumentationSymbol? Row, (string Name, string Section)? Outside, string? Overflow, bool AcceptedByLoader = false);

    /// <summary>The kind mask of the position-independence rules a loader's acceptance softens (PG0001, PG0010).</summary>
    private const uint AbsoluteOnly = 1u << (int)RelocationKind.Absolute;

    /// <summary>The rule's message template for a relocation finding (null: the generic one), its placeholders not yet filled.</summary>
    private string? Template(RelocationCheck check, in MessageParts parts, uint type, in ElfSection patched, ulong offset) => check switch
    {
        RelocationCheck.InstrumentationTarget => InstrumentationTemplate(parts.Row!, parts.Kind),
        RelocationCheck.Confinement => $"section mismatch in reference: {{from}} (section: {{section}}) -> {parts.Outside!.Value.Name} (section: {parts.Outside.Value.Section})",
        RelocationCheck.NotAcceptedByLoader => LoaderMessage(type, patched, offset),
        RelocationCheck.Overflow => parts.Overflow,
        _ => null,
    };

    /// <summary>PG0005's message template for a row and a kind of reference, made once per row and verb.</summary>
    private static string InstrumentationTemplate(InstrumentationSymbol row, RelocationKind kind)
    {
        var templates = InstrumentationTemplates.GetValue(row, static r => new string[2]);
        int verb = kind is RelocationKind.PltCall ? 0 : 1;
        return templates[verb] ??= $"{RelocationVerb(kind)} instrumentation entry {{target}}, emitted by {row.ProducedBy}";
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<InstrumentationSymbol, string?[]> InstrumentationTemplates = new();

    /// <summary>PG0006's message: the type, what the loader of the object's machine does, and its own error for this relocation.</summary>
    private string LoaderMessage(uint type, in ElfSection patched, ulong offset)
    {
        var loader = _loader!;
        string error = loader.ErrorFor(type, _elf.SectionName(patched), offset, _objectName);
        return loader.AppliedTypes is null
            ? $"{_table![type].Name} ({type}) against {{target}} in section {{section}} is rejected by {loader.Loader} under the {_profile.Name} profile ({_table.Name}: it {loader.Describe()}; it fails with '{error}')"
            : $"{_table![type].Name} ({type}) against {{target}} is not applied by the {_profile.Name} loader ({_table.Name}: it {loader.Describe()}; it would fail with '{error}')";
    }

    /// <summary>Why a finding of the position-independence rules is a warning here: the profile's loader takes the relocation as it is.</summary>
    private string AcceptedNote(RelocationType type, string section)
    {
        var loader = _loader!;
        string why = loader.AppliedAnywhere.Contains(type.Name, StringComparer.Ordinal)
            ? $"its loader applies {type.Name} at any load address without overflow"
            : $"{loader.Loader} accepts {type.Name} in section {section}";
        return $" (a warning under {_profile.Name}: {why}; still an absolute address, which the position-independent flag policy avoids)";
    }

    /// <summary>The patched section as the finding's key holds it: its index when the message names it, else -1.</summary>
    private int SectionField(RelocationCheck check, in ElfSection patched) => check switch
    {
        RelocationCheck.InstrumentationTarget => -1,
        RelocationCheck.NotAcceptedByLoader => _loader!.ErrorNamesSection ? patched.Index : -1,
        _ => patched.Index,
    };

    /// <summary>
    /// A relocation finding (one the caller did not find to be only counted): counted when an identical one is known, built
    /// only when it is listed or suppressed.
    /// </summary>
    private void Record(Rule rule, Severity severity, in ElfSection relocationSection, in ElfSection patched, in ElfRelocation r, int index, RelocationType type, in MessageParts parts)
    {
        // Identical findings (same rule, type and target, and the same section where the message names it) are counted
        // without formatting anything: every call to __stack_chk_fail in an object is one finding, with its places.
        var check = rule.Relocation!.Check;
        int sectionField = SectionField(check, patched);
        bool sectionSymbol = r.SymbolIndex != 0 && relocationSection.Link != 0 && Symbols(relocationSection.Link).TypeOf(r.SymbolIndex) == ElfSymbolType.Section;
        bool messageNamesOffset = check == RelocationCheck.Overflow || check == RelocationCheck.NotAcceptedByLoader && _loader!.ErrorNamesOffset;
        var key = new FindingKey(rule.Number, _objectOrdinal, r.Type, relocationSection.Link, r.SymbolIndex, sectionSymbol ? r.Addend : 0,
            sectionField, messageNamesOffset ? r.Offset : 0);
        if (_findings.Repeat(key, 1, out int group, out bool wantsPlace))
        {
            if (wantsPlace) _findings.AddPlace(group, PlaceOf(patched, r.Offset, asText: _findings.IsText(group)));
            return;
        }
        // Suppressions match on the symbol's name: then it, and the target with it, are read before admission.
        bool named = _findings.HasSuppressions;
        RelocationTarget target = default;
        string? symbol = named ? SymbolName(relocationSection, r, out target) : null;
        string? sectionName = _findings.HasSuppressions ? _elf.SectionName(patched) : null;
        var admission = _findings.Admit(key, rule.Code, severity, symbol, sectionName, _path, out group);
        if (admission == FindingSet.Admission.Omitted) return; // counted only
        bool listed = admission == FindingSet.Admission.Listed;
        bool listedAsText = listed && _findings.ListsText;
        // A listing written as text needs no symbol name of its own, and names the target by the object's bytes.
        if (listedAsText) target = TargetText(relocationSection, r);
        else if (!named) symbol = SymbolName(relocationSection, r, out target);

        var place = PlaceOf(patched, r.Offset, listedAsText);
        // Listed: the parts that cost too, the source line and the instruction (a suppressed finding goes without them).
        var source = listed ? Source(patched, r.Offset) : null;
        var instruction = listed && patched.IsExecutable
            ? (_sites ??= new SiteDecoder(_elf)).TextAt(patched, place.Offset, place.Function.IsNone ? 0 : place.Offset - place.FunctionOffset, relocationSection, index)
            : default;
        // Message and context lines stay parts (template, names, place) until written or read: a value, no strings.
        var finding = new RelocationFinding(rule, _path, _objectName,
            Template(check, parts, r.Type, patched, place.Offset) ?? RelocationFinding.DefaultTemplate,
            RelocationKinds.Word(type.Kind), type.Name, target, patched.IsExecutable,
            parts.AcceptedByLoader ? AcceptedNote(type, place.Section) : null,
            place, source, instruction, FixLine(parts.Row?.Fix ?? MachineFixes.For(rule.Code, _elf.Machine) ?? rule.Fix), symbol);
        // A listing written as text keeps the value until it writes it; otherwise it becomes a Diagnostic now.
        if (listedAsText)
            _findings.Complete(group, finding);
        else
            _findings.Complete(group, new Diagnostic(finding, severity), owned: true);
    }

    /// <summary>"fix: …" for a rule's or an instrumentation row's fix, built once per text.</summary>
    /// <remarks>The last one is kept here too: an object's listed findings mostly share one fix, and the shared table's lookup costs more than the comparison.</remarks>
    private string FixLine(string fix)
    {
        if (!ReferenceEquals(fix, _lastFix))
            (_lastFix, _lastFixLine) = (fix, FixLines.GetValue(fix, static f => "fix: " + f));
        return _lastFixLine!;
    }

    private string? _lastFix, _lastFixLine;

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<string, string> FixLines = new();

    /// <summary>"referenced by func+0x1c (.text+0x3c) in object".</summary>
    private string ReferencedBy(ObjectLocation location) =>
        RelocationParts.ReferencedBy(ObjectPlace.Of(location), _objectName);

    /// <summary>
    /// The name of the symbol the relocation names (a section symbol's section), for suppressions and SARIF, and with it
    /// what the relocation points at as a message names it: <c>'symbol'</c>, <c>section .rodata+0x40</c>, <c>address 0x10</c>.
    /// </summary>
    private string? SymbolName(ElfSection relocationSection, ElfRelocation r, out RelocationTarget target)
    {
        if (r.SymbolIndex == 0 || relocationSection.Link == 0)
        {
            target = RelocationTarget.Address(r.Addend);
            return null;
        }
        var symbols = Symbols(relocationSection.Link);
        var symbol = symbols[r.SymbolIndex];
        if (symbol.Type == ElfSymbolType.Section && symbol.IsInSection && symbol.SectionIndex < (uint)_elf.Sections.Count)
        {
            string section = _elf.SectionName(_elf.GetSection(symbol.SectionIndex));
            target = RelocationTarget.Section(section, r.Addend);
            return section;
        }
        string name = symbols.Name(symbol);
        target = RelocationTarget.Symbol(PrintableName.Of(name), r.SymbolIndex);
        return name;
    }

    /// <summary>
    /// As <see cref="SymbolName"/>'s target, with a symbol's name as the bytes of the object when they are already its
    /// text (printable ASCII), for a listing written while the object's data is in memory: no string is made of it.
    /// </summary>
    private RelocationTarget TargetText(ElfSection relocationSection, ElfRelocation r)
    {
        if (r.SymbolIndex != 0 && relocationSection.Link != 0)
        {
            var symbols = Symbols(relocationSection.Link);
            var symbol = symbols[r.SymbolIndex];
            if (symbol.Type != ElfSymbolType.Section && NameText.Printable(symbols.PrintableNameMemory(symbol)) is { } name)
                return RelocationTarget.Symbol(name, r.SymbolIndex);
        }
        _ = SymbolName(relocationSection, r, out var target);
        return target;
    }

    /// <summary>The target as text, for messages built whole (overflows).</summary>
    private string TargetName(ElfSection relocationSection, ElfRelocation r)
    {
        _ = SymbolName(relocationSection, r, out var target);
        return target.ToString();
    }

    private FunctionIndex Functions() => _functions ??= FunctionIndex.Build(_elf);

    private SourceLocator Sources() => _sources ??= SourceLocator.Build(_elf);

    private void Add(Diagnostic d) => _findings.Add(d);
}
