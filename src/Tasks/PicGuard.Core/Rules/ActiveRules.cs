using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using PicGuard.Loaders;
using PicGuard.Relocations;

namespace PicGuard.Rules;

/// <summary>
/// The rules one set of options turns on, at their profile's severity, worked out once per options
/// rather than once per object: the relocation rules indexed by kind for each combination of the
/// preconditions an object may meet, and and what the loader does with each type, per relocation table.
/// </summary>
internal sealed class ActiveRules
{
    private static readonly ConditionalWeakTable<CheckOptions, ActiveRules> Cache = new();

    /// <summary>One relocation rule in force, with its check at hand; <see cref="Slot"/> is its bit in a mask of the rules that apply to a section.</summary>
    public readonly record struct Entry(Rule Rule, Severity Severity, int Slot, RelocationCheck Check);

    /// <summary>
    /// The relocation rules in force (in slot order), the same rules by kind, and the kinds any of them looks at.
    /// </summary>
    public sealed record Index(Entry[] Rules, Entry[][] ByKind, uint KindMask);

    private readonly (Rule Rule, Severity Severity)[] _relocation;
    private readonly Index?[] _indexes = new Index?[8];
    private readonly ConcurrentDictionary<(RelocationTable, LoaderRow), LoaderTypes> _loaderTypes = new();
    private readonly ConcurrentDictionary<RelocationTable, RelocationFormula?[]?> _loaderFormulas = new();
    private readonly Profile _profile;

    public (Rule Rule, Severity Severity)[] Section { get; }
    public (Rule Rule, Severity Severity)[] Object { get; }

    private ActiveRules(CheckOptions options)
    {
        _profile = options.Profile;
        // Plain loops: the rules are picked as a process starts, when LINQ's generic code is slow to run first.
        var relocation = new List<(Rule, Severity)>();
        var section = new List<(Rule, Severity)>();
        var @object = new List<(Rule, Severity)>();
        var all = RuleCatalog.All;
        for (int i = 0; i < all.Count; i++)
        {
            var rule = all[i];
            if (!options.Wants(rule.Code)) continue;
            var severity = _profile.SeverityOf(rule);
            if (severity == Severity.None) continue;
            if (rule.Relocation is not null) relocation.Add((rule, severity));
            if (rule.Section is not null) section.Add((rule, severity));
            if (rule.Object is not null) @object.Add((rule, severity));
        }
        _relocation = relocation.ToArray();
        Section = section.ToArray();
        Object = @object.ToArray();
    }

    public static ActiveRules For(CheckOptions options) => Cache.GetValue(options, o => new ActiveRules(o));

    /// <summary>The relocation rules whose precondition holds: something is confined, the loader has a list, a load address is known.</summary>
    public Index Relocation(bool confined, bool loaderList, bool loadAddress)
    {
        int key = (confined ? 1 : 0) | (loaderList ? 2 : 0) | (loadAddress ? 4 : 0);
        return _indexes[key] ??= Build(confined, loaderList, loadAddress); // a race builds the same value twice
    }

    private Index Build(bool confined, bool loaderList, bool loadAddress)
    {
        // Plain loops: the index is built as a process starts, when LINQ's generic code is slow to run first.
        var rules = new List<Entry>(_relocation.Length);
        uint kinds = 0;
        foreach (var (rule, severity) in _relocation)
        {
            var check = rule.Relocation!.Check;
            bool applies = check switch
            {
                RelocationCheck.Confinement => confined,
                RelocationCheck.NotAcceptedByLoader => loaderList,
                RelocationCheck.Overflow => loadAddress,
                _ => true,
            };
            if (!applies) continue;
            rules.Add(new Entry(rule, severity, rules.Count, check));
            kinds |= rule.Relocation.KindMask;
        }
        if (rules.Count > 64)
            throw new InvalidOperationException("more than 64 relocation rules: widen the per-section rule mask");
        var byKind = new Entry[RelocationKinds.All.Length][];
        for (int k = 0; k < byKind.Length; k++)
        {
            var ofKind = new List<Entry>();
            foreach (var entry in rules)
                if ((entry.Rule.Relocation!.KindMask & 1u << (int)RelocationKinds.All[k]) != 0) ofKind.Add(entry);
            byKind[k] = ofKind.ToArray();
        }
        return new Index(rules.ToArray(), byKind, kinds);
    }

    /// <summary>
    /// By type number, what the loader of <paramref name="row"/> does with each type of <paramref name="table"/>: whether it
    /// fails on it, and whether it applies it at any load address. Worked out once per table and row.
    /// </summary>
    public LoaderTypes TypesOf(RelocationTable table, LoaderRow row) => _loaderTypes.GetOrAdd((table, row), key =>
    {
        var (t, r) = key;
        int length = t.Types.Max(x => (int)x.Number) + 1;
        var rejected = new bool[length];
        var anywhere = new bool[length];
        foreach (var type in t.Types)
        {
            rejected[type.Number] = r.Rejects(type.Name);
            anywhere[type.Number] = r.AppliedAnywhere.Contains(type.Name, StringComparer.Ordinal);
        }
        // A type number no table row names is not on a list of applied types: a loader with a list fails on it.
        return new LoaderTypes(rejected, anywhere, RejectsUnknown: r.AppliedTypes is not null);
    });

    /// <summary>What a loader does with each type number; numbers past the arrays are unknown types.</summary>
    public sealed record LoaderTypes(bool[] Rejected, bool[] AppliedAnywhere, bool RejectsUnknown)
    {
        public bool Rejects(uint type) => type < (uint)Rejected.Length ? Rejected[type] : RejectsUnknown;
        public bool AppliesAnywhere(uint type) => type < (uint)AppliedAnywhere.Length && AppliedAnywhere[type];
    }

    /// <summary>By type number, the loader model's formula for each type the profile's loader applies; null when PicGuard has no model of it on this machine.</summary>
    public RelocationFormula?[]? LoaderFormulas(RelocationTable table) =>
        _loaderFormulas.GetOrAdd(table, t => LoaderEngine.Formulas(LoaderModels.For(_profile), _profile, t));
}
