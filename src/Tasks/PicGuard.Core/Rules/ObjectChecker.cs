using PicGuard.Diagnostics;
using PicGuard.Elf;
using PicGuard.Relocations;

namespace PicGuard.Rules;

/// <summary>
/// The rule engine for one ELF object: walks the catalog's section rules over the section
/// headers and its relocation rules over every relocation that patches an allocated section.
/// Names (symbols, functions) are decoded only when a finding needs them.
/// </summary>
internal sealed class ObjectChecker
{
    private readonly ElfFile _elf;
    private readonly Profile _profile;
    private readonly CheckOptions _options;
    private readonly string _path;
    private readonly string _objectName;
    private readonly CheckResult _result;
    private readonly RelocationTable? _table;
    private readonly (Rule Rule, Severity Severity)[] _relocationRules;
    private readonly (Rule Rule, Severity Severity)[] _sectionRules;
    private readonly uint _relocationKindMask;
    private FunctionIndex? _functions;

    public ObjectChecker(ElfFile elf, CheckOptions options, string path, string objectName, CheckResult result)
    {
        _elf = elf;
        _options = options;
        _profile = options.Profile;
        _path = path;
        _objectName = objectName;
        _result = result;
        _table = RelocationTable.For(elf.Machine, elf.Is64Bit);
        _relocationRules = Active(RuleScope.Relocation);
        _sectionRules = Active(RuleScope.Section);
        _relocationKindMask = _relocationRules.Aggregate(0u, (m, r) => m | r.Rule.Relocation!.KindMask);
    }

    private (Rule, Severity)[] Active(RuleScope scope) =>
        RuleCatalog.All.Where(r => r.Scope == scope)
            .Select(r => (r, _profile.SeverityOf(r)))
            .Where(x => x.Item2 != Severity.None)
            .ToArray();

    public void Run()
    {
        CheckSections();
        CheckRelocations();
        if (_options.CheckUndefinedSymbols)
            CheckUndefinedSymbols();
    }

    private void CheckUndefinedSymbols()
    {
        var rule = RuleCatalog.UndefinedSymbol;
        var severity = _profile.SeverityOf(rule);
        if (severity == Severity.None) return;
        var table = _elf.Sections.FirstOrDefault(s => s.Type == ElfSectionType.SymbolTable);
        if (table.Type != ElfSectionType.SymbolTable) return;
        var symbols = _elf.GetSymbolTable((uint)table.Index);
        for (uint i = 1; i < (uint)symbols.Count; i++)
        {
            var symbol = symbols[i];
            if (!symbol.IsUndefined || symbol.Binding == ElfSymbolBinding.Local) continue;
            string name = symbols.Name(symbol);
            if (name.Length == 0 || Glob.MatchesAny(name, _options.AllowedUndefined)) continue;
            var context = ReferencesTo((uint)table.Index, i).Take(3).Select(r => "referenced by " + r).ToList();
            context.Add("fix: " + rule.Fix);
            Add(new Diagnostic(rule, severity, _path, _objectName,
                $"undefined symbol '{name}'{(symbol.Binding == ElfSymbolBinding.Weak ? " (weak)" : "")}: the loader resolves no symbols", context, Target: $"'{name}'"));
        }
    }

    /// <summary>Places whose relocations name symbol <paramref name="symbol"/> of symbol table <paramref name="symbolTable"/>.</summary>
    private IEnumerable<string> ReferencesTo(uint symbolTable, uint symbol)
    {
        bool linked = _elf.FileType != ElfFileType.Relocatable;
        foreach (var section in _elf.Sections)
        {
            if (section.Type is not (ElfSectionType.Rela or ElfSectionType.Rel) || section.Link != symbolTable || section.Info == 0) continue;
            var patched = _elf.GetSection(section.Info);
            if (!patched.IsAllocated) continue;
            var found = new List<string>();
            var relocations = _elf.GetRelocations(section);
            for (int i = 0; i < relocations.Count; i++)
            {
                var r = relocations[i];
                if (r.SymbolIndex != symbol) continue;
                ulong offset = linked && r.Offset >= patched.Address ? r.Offset - patched.Address : r.Offset;
                var (function, functionOffset) = Functions().Containing((uint)patched.Index, r.Offset);
                string name = _elf.SectionName(patched);
                found.Add(new ObjectLocation(name, offset, function, functionOffset).Describe() + $" ({name}+0x{offset:x})");
            }
            foreach (var f in found) yield return f;
        }
    }

    private void CheckSections()
    {
        foreach (var section in _elf.Sections)
        {
            foreach (var (rule, severity) in _sectionRules)
            {
                var match = rule.Section!;
                bool byFlag = match.MachineFlag != ElfSectionFlags.None && _elf.Machine == match.FlagMachine && (section.Flags & match.MachineFlag) != 0;
                bool byName = false;
                foreach (var prefix in match.NamePrefixBytes)
                    byName |= _elf.SectionNameStartsWith(section, prefix);
                if (!byName && !byFlag) continue;
                string name = _elf.SectionName(section);
                string why = byFlag ? $"section {name} has the large-model flag (SHF_X86_64_LARGE)" : $"section {name} belongs to the large code model";
                var functions = Functions().In((uint)section.Index).Take(4).ToList();
                var context = new List<string> { $"in {_objectName}, size 0x{section.Size:x}" };
                if (functions.Count > 0) context.Add("holds " + string.Join(", ", functions));
                context.Add("fix: " + rule.Fix);
                Add(new Diagnostic(rule, severity, _path, _objectName, why, context, new ObjectLocation(name, 0, null, 0)));
            }
        }
    }

    private void CheckRelocations()
    {
        if (_elf.Sections.Count == 0) return;
        bool anyRelocations = false;
        foreach (var section in _elf.Sections)
        {
            if (section.Type != ElfSectionType.Rela && section.Type != ElfSectionType.Rel) continue;
            var relocations = _elf.GetRelocations(section);
            _result.Relocations += relocations.Count;
            anyRelocations |= relocations.Count > 0;
            if (_table is null) continue;

            bool linked = _elf.FileType != ElfFileType.Relocatable;
            ElfSection? target = null;
            if (section.Info != 0)
            {
                target = _elf.GetSection(section.Info);
            }
            else if (!linked)
            {
                continue; // an object's relocation section that patches nothing
            }
            if (target is { IsAllocated: false }) continue; // debug info and other unloaded sections

            for (int i = 0; i < relocations.Count; i++)
            {
                var r = relocations[i];
                var type = _table[r.Type];
                if ((_relocationKindMask & 1u << (int)type.Kind) == 0) continue;
                var patched = target ?? FindSectionByAddress(r.Offset);
                if (patched is not { } p || !p.IsAllocated) continue;
                foreach (var (rule, severity) in _relocationRules)
                {
                    if (rule.Relocation!.Matches(type.Kind, p.Flags))
                        Report(rule, severity, section, p, r, type, linked);
                }
            }
        }
        if (_table is null && anyRelocations)
        {
            var rule = RuleCatalog.UnsupportedMachine;
            Add(new Diagnostic(rule, _profile.SeverityOf(rule), _path, _objectName,
                $"machine {_elf.RawMachine} ({_elf.Machine}) has no relocation table; relocation rules were not run", ["fix: " + rule.Fix]));
        }
    }

    private ElfSection? FindSectionByAddress(ulong address)
    {
        foreach (var s in _elf.Sections)
            if (s.IsAllocated && address >= s.Address && address - s.Address < s.Size)
                return s;
        return null;
    }

    private void Report(Rule rule, Severity severity, ElfSection relocationSection, ElfSection patched, ElfRelocation r, RelocationType type, bool linked)
    {
        string sectionName = _elf.SectionName(patched);
        ulong offset = linked && r.Offset >= patched.Address ? r.Offset - patched.Address : r.Offset;
        var (function, functionOffset) = Functions().Containing((uint)patched.Index, linked ? r.Offset : offset);
        string target = TargetName(relocationSection, r);
        var location = new ObjectLocation(sectionName, offset, function, functionOffset);
        string message = $"{KindWord(type.Kind)} relocation {type.Name} against {target} in {(patched.IsExecutable ? "executable " : "")}section {sectionName}";
        var context = new List<string>
        {
            $"referenced by {location.Describe()} ({sectionName}+0x{offset:x}) in {_objectName}",
            "fix: " + rule.Fix,
        };
        Add(new Diagnostic(rule, severity, _path, _objectName, message, context, location, type.Name, target));
    }

    private string TargetName(ElfSection relocationSection, ElfRelocation r)
    {
        if (r.SymbolIndex == 0 || relocationSection.Link == 0)
            return r.Addend == 0 ? "address 0" : $"address 0x{r.Addend:x}";
        var symbols = _elf.GetSymbolTable(relocationSection.Link);
        var symbol = symbols[r.SymbolIndex];
        if (symbol.Type == ElfSymbolType.Section && symbol.IsInSection && symbol.SectionIndex < (uint)_elf.Sections.Count)
            return $"section {_elf.SectionName(_elf.GetSection(symbol.SectionIndex))}{Addend(r.Addend)}";
        string name = symbols.Name(symbol);
        return $"'{(name.Length == 0 ? $"symbol #{r.SymbolIndex}" : name)}'";
    }

    private static string KindWord(RelocationKind kind) => kind switch
    {
        RelocationKind.Got => "GOT-based",
        RelocationKind.PcRelative => "PC-relative",
        RelocationKind.PltCall => "PLT",
        RelocationKind.Tls => "TLS",
        RelocationKind.Dynamic => "dynamic",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static string Addend(long addend) => addend == 0 ? "" : addend > 0 ? $"+0x{addend:x}" : $"-0x{-addend:x}";

    private FunctionIndex Functions() => _functions ??= FunctionIndex.Build(_elf);

    private void Add(Diagnostic d) => _result.Diagnostics.Add(d);
}
