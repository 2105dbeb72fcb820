using PicGuard.Diagnostics;
using PicGuard.Elf;
using PicGuard.Rules;

namespace PicGuard;

/// <summary>What the checker was asked to do.</summary>
/// <param name="Profile">Which rules run and how severe they are.</param>
/// <param name="CheckUndefinedSymbols">Report undefined symbols (PG0008): on for a linked blob, off for the objects that make it up; null: as the profile says.</param>
/// <param name="AllowedUndefined">Symbol names or globs the loader provides (PicAllowUndefined).</param>
public sealed record CheckOptions(Profile Profile, bool? CheckUndefinedSymbols = null, IReadOnlyList<string>? AllowedUndefined = null)
{
    public static CheckOptions Default { get; } = new(Profiles.Generic);

    /// <summary>Sections whose code may only reach allowed sections (PG0004; PicRestrictedSections, globs such as <c>.pi.text*</c>).</summary>
    public IReadOnlyList<string> RestrictedSections { get; init; } = [];

    /// <summary>Sections restricted code may reference (PicAllowedTargetSections); empty means the restricted sections themselves.</summary>
    public IReadOnlyList<string> AllowedTargetSections { get; init; } = [];

    /// <summary>Where the loader places the blob, for placement overflow (PG0007); null means the profile's default, if any.</summary>
    public LoadAddress? LoadAddress { get; init; }

    /// <summary>Accepted findings (PicSuppress items, --suppress).</summary>
    public IReadOnlyList<Suppression> Suppressions { get; init; } = [];

    /// <summary>Only findings of these codes (globs such as <c>PG9*</c>) are kept; empty keeps all.</summary>
    public IReadOnlyList<string> OnlyRules { get; init; } = [];

    /// <summary>At most this many diagnostics per file are listed (PicMaxDiagnostics); the rest are counted. 0 means no cap.</summary>
    public int MaxDiagnosticsPerFile { get; init; } = 100;
}

/// <summary>What one check found, plus the counts a summary prints.</summary>
public sealed class CheckResult
{
    public List<Diagnostic> Diagnostics { get; } = new();

    /// <summary>Findings a <see cref="Suppression"/> accepted: not errors, listed in the summary.</summary>
    public List<(Diagnostic Diagnostic, Suppression By)> Suppressed { get; } = new();

    /// <summary>Findings beyond <see cref="CheckOptions.MaxDiagnosticsPerFile"/>: counted, not listed.</summary>
    public int Omitted { get; internal set; }
    public long Relocations { get; internal set; }
    public int Objects { get; internal set; }
    /// <summary>Errors found, counting collapsed and omitted ones.</summary>
    public int Errors => Diagnostics.Where(d => d.Severity == Severity.Error).Sum(d => d.Occurrences) + OmittedErrors;

    /// <summary>Warnings found, counting collapsed and omitted ones.</summary>
    public int Warnings => Diagnostics.Where(d => d.Severity == Severity.Warning).Sum(d => d.Occurrences) + OmittedWarnings;

    internal int OmittedErrors { get; set; }
    internal int OmittedWarnings { get; set; }

    public void Add(CheckResult other)
    {
        Diagnostics.AddRange(other.Diagnostics);
        Suppressed.AddRange(other.Suppressed);
        Omitted += other.Omitted;
        OmittedErrors += other.OmittedErrors;
        OmittedWarnings += other.OmittedWarnings;
        Relocations += other.Relocations;
        Objects += other.Objects;
    }
}

/// <summary>
/// The one core the MSBuild task and the CLI both call: reads a file (object or archive),
/// runs the profile's rules over every object in it and returns diagnostics. Never throws for
/// bad input: a missing file is PG9003, a malformed one PG9001.
/// </summary>
public sealed class Checker
{
    private readonly CheckOptions _options;

    public Checker(CheckOptions options) => _options = options;

    public CheckResult CheckFile(string path)
    {
        byte[] data;
        try
        {
            if (Directory.Exists(path))
                return Single(path, RuleCatalog.MalformedInput, $"'{path}' is a directory; name an ELF object or archive file");
            if (!File.Exists(path))
                return Single(path, RuleCatalog.MissingInput, $"input file '{path}' does not exist");
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Single(path, RuleCatalog.MissingInput, $"cannot read '{path}': {e.Message}");
        }
        return CheckBuffer(path, data);
    }

    public CheckResult CheckBuffer(string path, ReadOnlyMemory<byte> data)
    {
        var result = new CheckResult();
        var findings = new List<Diagnostic>();
        if (ArArchive.HasArchiveMagic(data.Span))
        {
            try
            {
                foreach (var member in ArArchive.ReadMembers(data))
                    CheckObject(result, findings, path, $"{path}({member.Name})", member.Data);
            }
            catch (ElfFormatException e)
            {
                findings.Add(Make(RuleCatalog.MalformedInput, path, path, $"malformed archive: {e.Message}"));
            }
        }
        else
        {
            CheckObject(result, findings, path, path, data);
        }
        Finish(result, findings);
        return result;
    }

    private void CheckObject(CheckResult result, List<Diagnostic> findings, string path, string objectName, ReadOnlyMemory<byte> data)
    {
        result.Objects++;
        if (LtoInput.Describe(data.Span) is { } bitcode)
        {
            findings.Add(Lto(path, objectName, bitcode));
            return;
        }
        if (!ElfFile.HasElfMagic(data.Span))
        {
            findings.Add(Make(RuleCatalog.MalformedInput, path, objectName, Describe(data.Span)));
            return;
        }
        try
        {
            var elf = new ElfFile(data);
            if (LtoInput.Describe(elf) is { } gccLto)
                findings.Add(Lto(path, objectName, gccLto));
            new ObjectChecker(elf, _options, path, objectName, result, findings).Run();
        }
        catch (ElfFormatException e)
        {
            findings.Add(Make(RuleCatalog.MalformedInput, path, objectName, $"malformed ELF: {e.Message}"));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            findings.Add(Make(RuleCatalog.InternalError, path, objectName, $"internal error while reading the object ({e.GetType().Name}: {e.Message})"));
        }
    }

    private Diagnostic Lto(string path, string objectName, string what)
    {
        var rule = RuleCatalog.LtoInput;
        return new Diagnostic(rule, Severity(rule), path, objectName, $"{objectName} is {what}: its code is generated only at link time, outside the position-independent flag policy",
            ["fix: " + rule.Fix]);
    }

    /// <summary>
    /// Turns one file's raw findings into its result: drops rules not asked for, moves suppressed findings
    /// aside, collapses identical findings into one with a count, and caps how many are listed.
    /// </summary>
    private void Finish(CheckResult result, List<Diagnostic> findings)
    {
        var kept = new List<Diagnostic>();
        var byKey = new Dictionary<(string, string, string), int>();
        var extraPlaces = new Dictionary<int, List<string>>();
        foreach (var d in findings)
        {
            if (d.Severity == Rules.Severity.None) continue;
            if (_options.OnlyRules.Count > 0 && !_options.OnlyRules.Any(g => Glob.Matches(d.Code, g))) continue;
            var by = _options.Suppressions.FirstOrDefault(s => s.Covers(d.Code, d.Symbol, d.Section, d.File));
            if (by is not null)
            {
                result.Suppressed.Add((d, by));
                continue;
            }
            var key = (d.Code, d.Object, d.Message);
            if (byKey.TryGetValue(key, out int index))
            {
                kept[index] = kept[index] with { Occurrences = kept[index].Occurrences + 1 };
                var place = d.Context.FirstOrDefault(c => c.StartsWith("referenced by ", StringComparison.Ordinal));
                if (place is not null)
                {
                    var list = extraPlaces.TryGetValue(index, out var l) ? l : extraPlaces[index] = new List<string>();
                    list.Add(place);
                }
                continue;
            }
            byKey[key] = kept.Count;
            kept.Add(d);
        }
        for (int i = 0; i < kept.Count; i++)
        {
            if (!extraPlaces.TryGetValue(i, out var places)) continue;
            var d = kept[i];
            var context = d.Context.ToList();
            int at = context.FindLastIndex(c => c.StartsWith("referenced by ", StringComparison.Ordinal)) + 1;
            var shown = places.Take(2).ToList();
            if (places.Count > shown.Count) shown.Add($"referenced {places.Count - shown.Count} more time(s)");
            context.InsertRange(at == 0 ? 0 : at, shown);
            kept[i] = d with { Context = context };
        }
        int cap = _options.MaxDiagnosticsPerFile;
        if (cap > 0 && kept.Count > cap)
        {
            foreach (var d in kept.Skip(cap))
            {
                result.Omitted += d.Occurrences;
                if (d.Severity == Rules.Severity.Error) result.OmittedErrors += d.Occurrences;
                if (d.Severity == Rules.Severity.Warning) result.OmittedWarnings += d.Occurrences;
            }
            kept.RemoveRange(cap, kept.Count - cap);
        }
        result.Diagnostics.AddRange(kept);
    }

    private static string Describe(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0) return "empty file: not an ELF object or archive";
        return "not an ELF object or ar archive (no \\x7fELF or !<arch> magic)";
    }

    private CheckResult Single(string path, Rule rule, string message)
    {
        var r = new CheckResult();
        Finish(r, [Make(rule, path, path, message)]);
        return r;
    }

    internal Diagnostic Make(Rule rule, string path, string objectName, string message) =>
        new(rule, Severity(rule), path, objectName, message, ["fix: " + rule.Fix]);

    private Severity Severity(Rule rule)
    {
        var s = _options.Profile.SeverityOf(rule);
        return s == Rules.Severity.None ? rule.DefaultSeverity : s;
    }
}
