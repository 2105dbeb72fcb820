using PicGuard.Diagnostics;
using PicGuard.Elf;
using PicGuard.Rules;

namespace PicGuard;

/// <summary>What the checker was asked to do.</summary>
/// <param name="Profile">Which rules run and how severe they are.</param>
/// <param name="CheckUndefinedSymbols">Report undefined symbols (PG0008): on for a linked blob, off for the objects that make it up.</param>
/// <param name="AllowedUndefined">Symbol names or globs the loader provides (PicAllowUndefined).</param>
public sealed record CheckOptions(Profile Profile, bool CheckUndefinedSymbols = false, IReadOnlyList<string>? AllowedUndefined = null)
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
    public int Errors => Diagnostics.Count(d => d.Severity == Severity.Error);
    public int Warnings => Diagnostics.Count(d => d.Severity == Severity.Warning);

    public void Add(CheckResult other)
    {
        Diagnostics.AddRange(other.Diagnostics);
        Suppressed.AddRange(other.Suppressed);
        Omitted += other.Omitted;
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
        if (ArArchive.HasArchiveMagic(data.Span))
        {
            try
            {
                foreach (var member in ArArchive.ReadMembers(data))
                    CheckObject(result, path, $"{path}({member.Name})", member.Data);
            }
            catch (ElfFormatException e)
            {
                result.Diagnostics.Add(Make(RuleCatalog.MalformedInput, path, path, $"malformed archive: {e.Message}"));
            }
            return result;
        }
        CheckObject(result, path, path, data);
        return result;
    }

    private void CheckObject(CheckResult result, string path, string objectName, ReadOnlyMemory<byte> data)
    {
        result.Objects++;
        if (!ElfFile.HasElfMagic(data.Span))
        {
            result.Diagnostics.Add(Make(RuleCatalog.MalformedInput, path, objectName, Describe(data.Span)));
            return;
        }
        try
        {
            var elf = new ElfFile(data);
            new ObjectChecker(elf, _options, path, objectName, result).Run();
        }
        catch (ElfFormatException e)
        {
            result.Diagnostics.Add(Make(RuleCatalog.MalformedInput, path, objectName, $"malformed ELF: {e.Message}"));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            result.Diagnostics.Add(Make(RuleCatalog.InternalError, path, objectName, $"internal error while reading the object ({e.GetType().Name}: {e.Message})"));
        }
    }

    private static string Describe(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0) return "empty file: not an ELF object or archive";
        return "not an ELF object or ar archive (no \\x7fELF or !<arch> magic)";
    }

    private CheckResult Single(string path, Rule rule, string message)
    {
        var r = new CheckResult();
        r.Diagnostics.Add(Make(rule, path, path, message));
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
