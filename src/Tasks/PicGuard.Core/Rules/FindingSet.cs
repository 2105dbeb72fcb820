using PicGuard.Diagnostics;

namespace PicGuard.Rules;

/// <summary>
/// What makes two findings "identical": the rule, the object, and either the relocation's type, symbol,
/// addend (section symbols) and patched section — the parts its message is made of — or, for findings
/// built whole, the message text. Cheap to build, so a repeat costs no formatting.
/// </summary>
internal readonly record struct FindingKey(
    string Code, string Object, uint Type = 0, uint SymbolTable = 0, uint Symbol = 0, long Addend = 0, int Section = -1, ulong Offset = 0, string? Text = null);

/// <summary>
/// Collects findings: keeps only the rules asked for, sets suppressed findings aside, collapses identical
/// findings into one with a count and up to <see cref="PlacesShown"/> more "referenced by" places, and
/// lists at most <see cref="CheckOptions.MaxDiagnosticsPerFile"/>, counting the rest. The engine builds
/// the costly parts of a finding (source line, instruction) only once <see cref="Admit"/> says it is listed.
/// </summary>
internal sealed class FindingSet(CheckOptions options)
{
    /// <summary>Extra places a collapsed finding names before "referenced N more time(s)".</summary>
    public const int PlacesShown = 2;

    public enum Admission { Listed, Suppressed, Omitted }

    private sealed class Group(Diagnostic diagnostic)
    {
        public Diagnostic Diagnostic = diagnostic;
        public int Count = diagnostic.Occurrences;
        public List<string>? Places;
        public Suppression? By;
        public bool Omitted;
    }

    private readonly Dictionary<FindingKey, Group> _groups = new();
    private readonly List<Group> _order = new();
    private int _listed;

    /// <summary>Whether findings of <paramref name="code"/> are wanted at all (CheckOptions.OnlyRules).</summary>
    public bool Wants(string code) => options.OnlyRules.Count == 0 || options.OnlyRules.Any(g => Glob.Matches(code, g));

    /// <summary>
    /// True when an identical finding is already here: it is counted, and <paramref name="place"/> is asked
    /// for the "referenced by" text only while the listed finding still shows extra places.
    /// </summary>
    public bool Repeat(in FindingKey key, int occurrences, Func<string?>? place)
    {
        if (!_groups.TryGetValue(key, out var group)) return false;
        group.Count += occurrences;
        if (group.By is null && !group.Omitted && place is not null && (group.Places?.Count ?? 0) < PlacesShown && place() is { } text)
            (group.Places ??= new List<string>()).Add(text);
        return true;
    }

    /// <summary>The first finding of its kind: suppressed, listed, or over the cap.</summary>
    public Admission Admit(in FindingKey key, Diagnostic finding)
    {
        var group = new Group(finding);
        _groups[key] = group;
        _order.Add(group);
        group.By = options.Suppressions.FirstOrDefault(s => s.Covers(finding.Code, finding.Symbol, finding.Section, finding.File));
        if (group.By is not null) return Admission.Suppressed;
        if (options.MaxDiagnosticsPerFile > 0 && _listed >= options.MaxDiagnosticsPerFile)
        {
            group.Omitted = true;
            return Admission.Omitted;
        }
        _listed++;
        return Admission.Listed;
    }

    /// <summary>Replaces a listed finding with its fully built form (source line, instruction).</summary>
    public void Complete(in FindingKey key, Diagnostic complete) => _groups[key].Diagnostic = complete;

    /// <summary>Adds a finding built whole (sections, symbols, input errors, or a listed finding of another set).</summary>
    public void Add(Diagnostic d)
    {
        if (d.Severity == Severity.None || !Wants(d.Code)) return;
        var key = new FindingKey(d.Code, d.Object, Text: d.Message);
        if (Repeat(key, d.Occurrences, () => d.Context.FirstOrDefault(c => c.StartsWith("referenced by ", StringComparison.Ordinal)))) return;
        Admit(key, d);
    }

    /// <summary>Writes the findings to <paramref name="result"/> in the order they were first found.</summary>
    public void WriteTo(CheckResult result)
    {
        foreach (var g in _order)
        {
            var d = g.Diagnostic with { Occurrences = g.Count };
            if (g.By is not null)
            {
                result.Suppressed.Add((d, g.By));
            }
            else if (g.Omitted)
            {
                result.Omitted += g.Count;
                if (d.Severity == Severity.Error) result.OmittedErrors += g.Count;
                if (d.Severity == Severity.Warning) result.OmittedWarnings += g.Count;
            }
            else
            {
                result.Diagnostics.Add(g.Places is null && g.Count == g.Diagnostic.Occurrences ? d : d with { Context = WithPlaces(g) });
            }
        }
        _order.Clear();
        _groups.Clear();
    }

    /// <summary>The first finding's context with the repeats' places after its own, and how many more there were.</summary>
    private static List<string> WithPlaces(Group g)
    {
        var context = g.Diagnostic.Context.ToList();
        int at = context.FindLastIndex(c => c.StartsWith("referenced by ", StringComparison.Ordinal)) + 1;
        var lines = new List<string>(g.Places ?? []);
        int more = g.Count - g.Diagnostic.Occurrences - lines.Count;
        if (more > 0) lines.Add($"referenced {more} more time(s)");
        context.InsertRange(at, lines);
        return context;
    }
}
