using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using PicGuard.Relocations;

namespace PicGuard.Rules;

/// <summary>
/// The rules one set of options turns on, at their profile's severity, worked out once per options
/// rather than once per object: the relocation rules indexed by kind for each combination of the
/// preconditions an object may meet, and the loader's accepted types per relocation table.
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
    private readonly ConcurrentDictionary<RelocationTable, bool[]?> _loaderApplies = new();
    private readonly Profile _profile;

    public (Rule Rule, Severity Severity)[] Section { get; }
    public (Rule Rule, Severity Severity)[] Object { get; }

    private ActiveRules(CheckOptions options)
    {
        _profile = options.Profile;
        (Rule, Severity)[] Active(Func<Rule, bool> where) =>
            RuleCatalog.All.Where(where)
                .Where(r => options.Wants(r.Code))
                .Select(r => (r, _profile.SeverityOf(r)))
                .Where(x => x.Item2 != Severity.None)
                .ToArray();
        _relocation = Active(r => r.Relocation is not null);
        Section = Active(r => r.Section is not null);
        Object = Active(r => r.Object is not null);
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
        var rules = _relocation.Where(r => r.Rule.Relocation!.Check switch
        {
            RelocationCheck.Confinement => confined,
            RelocationCheck.NotAcceptedByLoader => loaderList,
            RelocationCheck.Overflow => loadAddress,
            _ => true,
        }).Select((r, slot) => new Entry(r.Rule, r.Severity, slot, r.Rule.Relocation!.Check)).ToArray();
        if (rules.Length > 64)
            throw new InvalidOperationException("more than 64 relocation rules: widen the per-section rule mask");
        var byKind = Enum.GetValues<RelocationKind>()
            .Select(k => rules.Where(r => (r.Rule.Relocation!.KindMask & 1u << (int)k) != 0).ToArray())
            .ToArray();
        return new Index(rules, byKind, rules.Aggregate(0u, (m, r) => m | r.Rule.Relocation!.KindMask));
    }

    /// <summary>By type number, whether the profile's loader applies the type; null when the profile has no list for this machine.</summary>
    public bool[]? LoaderApplies(RelocationTable table) => _loaderApplies.GetOrAdd(table, t =>
    {
        if (!_profile.LoaderAppliesTypes.TryGetValue(t.Machine, out var accepted)) return null;
        var applies = new bool[t.Types.Max(x => x.Number) + 1];
        foreach (var type in t.Types)
            applies[type.Number] = accepted.Contains(type.Name, StringComparer.Ordinal);
        return applies;
    });
}
