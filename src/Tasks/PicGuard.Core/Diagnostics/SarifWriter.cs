using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PicGuard.Elf;
using PicGuard.Rules;

namespace PicGuard.Diagnostics;

/// <summary>
/// Writes a <see cref="CheckResult"/> as a SARIF 2.1.0 log (one run) for code-scanning services and IDEs.
/// <list type="bullet">
/// <item><c>tool.driver.rules</c> lists every rule of <see cref="RuleCatalog.All"/>; results refer to them by id and index.</item>
/// <item>A finding's primary location is its source line when debug info gives one (code-scanning views show that
/// line), otherwise the input file; the input file is then a related location. The function and section are
/// logical locations; relocation type, target, object, section, offset, instruction and count are result properties.</item>
/// <item>Suppressed findings are results with an external suppression, so viewers list them as accepted.</item>
/// <item>Input findings (PG9xxx: missing, malformed or unsupported input, internal error) are not about the code
/// being checked but about the run itself: they are tool execution notifications of the invocation, and an
/// error among them makes <c>executionSuccessful</c> false.</item>
/// </list>
/// Output depends only on the inputs: results are sorted by file, object, section, offset and code.
/// </summary>
public static class SarifWriter
{
    public const string SchemaUri = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
    public const string SourceRootBaseId = "%SRCROOT%";
    public const string InformationUri = "https://github.com/picguard/picguard";
    private const string FingerprintKey = "picguardFinding/v1";

    /// <summary>The tool version: the informational version of PicGuard.Core (e.g. <c>0.1.0+commit</c>).</summary>
    public static string ToolVersion { get; } =
        typeof(SarifWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(SarifWriter).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    /// <summary>Writes the log of a check of <paramref name="inputs"/> to <paramref name="output"/> (UTF-8, indented).</summary>
    /// <param name="inputs">The files as the user named them, in order; each becomes an artifact, findings or not.</param>
    /// <param name="result">What the check found.</param>
    /// <param name="baseDirectory">Paths under it become URIs relative to <c>%SRCROOT%</c>; others absolute file URIs.</param>
    /// <param name="exitCode">The exit code the invocation ends with, if known.</param>
    public static void Write(Stream output, IReadOnlyList<string> inputs, CheckResult result, string baseDirectory, int? exitCode = null)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        new LogBuilder(json, baseDirectory).Write(inputs, result, exitCode);
    }

    /// <summary>The log as a string; see <see cref="Write"/>.</summary>
    public static string ToJson(IReadOnlyList<string> inputs, CheckResult result, string baseDirectory, int? exitCode = null)
    {
        using var stream = new MemoryStream();
        Write(stream, inputs, result, baseDirectory, exitCode);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>SARIF level of a severity: error, warning, note, none.</summary>
    public static string Level(Severity severity) => severity switch
    {
        Severity.Error => "error",
        Severity.Warning => "warning",
        Severity.Message => "note",
        _ => "none",
    };

    /// <summary>Findings about the input rather than the code in it: reported as tool execution notifications.</summary>
    public static bool IsInputFinding(Diagnostic d) => d.Rule.Scope == RuleScope.Input;

    /// <summary>A reportingDescriptor name: the title in PascalCase ("absolute reference from executable code" → AbsoluteReferenceFromExecutableCode).</summary>
    public static string RuleName(Rule rule)
    {
        var sb = new StringBuilder();
        foreach (var word in rule.Title.Split([' ', '-', '_', '/'], StringSplitOptions.RemoveEmptyEntries))
        {
            var letters = new string(word.Where(char.IsAsciiLetterOrDigit).ToArray());
            if (letters.Length == 0) continue;
            sb.Append(char.ToUpperInvariant(letters[0])).Append(letters, 1, letters.Length - 1);
        }
        return sb.ToString();
    }

    private sealed class LogBuilder(Utf8JsonWriter json, string baseDirectory)
    {
        private readonly string _base = Path.GetFullPath(string.IsNullOrEmpty(baseDirectory) ? "." : baseDirectory);
        private readonly List<(string Path, string Role)> _artifacts = new();
        private readonly Dictionary<string, int> _artifactIndex = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _ruleIndex = RuleCatalog.All
            .Select((r, i) => (r.Code, i)).ToDictionary(x => x.Code, x => x.i, StringComparer.Ordinal);

        public void Write(IReadOnlyList<string> inputs, CheckResult result, int? exitCode)
        {
            foreach (var input in inputs) Artifact(input, "analysisTarget");

            var findings = result.Diagnostics.Where(d => !IsInputFinding(d)).Select(d => (Diagnostic: d, By: (Suppression?)null))
                .Concat(result.Suppressed.Select(s => (s.Diagnostic, By: (Suppression?)s.By)));
            var ordered = Order(findings, x => x.Diagnostic).ToList();
            var notifications = Order(result.Diagnostics.Where(IsInputFinding), d => d).ToList();
            // Source files become artifacts in the order results name them, after the inputs.
            foreach (var (d, _) in ordered)
            {
                Artifact(d.File, "analysisTarget");
                if (SourceLine(d) is { } src) Artifact(src.File, "resultFile");
            }
            foreach (var d in notifications) Artifact(d.File, "analysisTarget");

            json.WriteStartObject();
            json.WriteString("$schema", SchemaUri);
            json.WriteString("version", "2.1.0");
            json.WriteStartArray("runs");
            json.WriteStartObject();
            WriteTool();
            WriteInvocation(notifications, exitCode);
            json.WriteStartObject("originalUriBaseIds");
            json.WriteStartObject(SourceRootBaseId);
            json.WriteString("uri", DirectoryUri(_base));
            json.WriteEndObject();
            json.WriteEndObject();
            WriteArtifacts();
            json.WriteStartArray("results");
            foreach (var (d, by) in ordered) WriteResult(d, by);
            json.WriteEndArray();
            json.WriteString("columnKind", "unicodeCodePoints");
            json.WriteStartObject("properties");
            json.WriteNumber("objects", result.Objects);
            json.WriteNumber("relocations", result.Relocations);
            json.WriteNumber("omitted", result.Omitted);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        private void Text(string property, string text) => WriteText(json, property, text);

        private static IEnumerable<T> Order<T>(IEnumerable<T> items, Func<T, Diagnostic> of) =>
            items.OrderBy(x => of(x).File, StringComparer.Ordinal)
                .ThenBy(x => of(x).Object, StringComparer.Ordinal)
                .ThenBy(x => of(x).Location?.Section ?? "", StringComparer.Ordinal)
                .ThenBy(x => of(x).Location?.Offset ?? 0)
                .ThenBy(x => of(x).Code, StringComparer.Ordinal)
                .ThenBy(x => of(x).Message, StringComparer.Ordinal);

        private void WriteTool()
        {
            json.WriteStartObject("tool");
            json.WriteStartObject("driver");
            json.WriteString("name", "picguard");
            json.WriteString("fullName", "PicGuard position-independence checks for ELF objects and archives");
            json.WriteString("version", ToolVersion);
            int plus = ToolVersion.IndexOf('+');
            json.WriteString("semanticVersion", plus < 0 ? ToolVersion : ToolVersion[..plus]);
            json.WriteString("informationUri", InformationUri);
            json.WriteStartArray("rules");
            foreach (var rule in RuleCatalog.All)
            {
                json.WriteStartObject();
                json.WriteString("id", rule.Code);
                json.WriteString("name", RuleName(rule));
                Text("shortDescription", rule.Title);
                Text("fullDescription", rule.Fix);
                Text("help", "fix: " + rule.Fix);
                json.WriteString("helpUri", rule.HelpUri);
                json.WriteStartObject("defaultConfiguration");
                json.WriteString("level", Level(rule.DefaultSeverity));
                json.WriteEndObject();
                json.WriteStartObject("properties");
                json.WriteString("scope", rule.Scope.ToString());
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        private void WriteInvocation(List<Diagnostic> notifications, int? exitCode)
        {
            json.WriteStartArray("invocations");
            json.WriteStartObject();
            json.WriteBoolean("executionSuccessful", !notifications.Any(d => d.Severity == Severity.Error));
            if (exitCode is { } code) json.WriteNumber("exitCode", code);
            json.WriteStartObject("workingDirectory");
            json.WriteString("uri", DirectoryUri(_base));
            json.WriteEndObject();
            json.WriteStartArray("toolExecutionNotifications");
            foreach (var d in notifications)
            {
                json.WriteStartObject();
                json.WriteString("level", Level(d.Severity));
                Text("message", MessageText(d));
                json.WriteStartArray("locations");
                json.WriteStartObject();
                WritePhysical(d.File, region: null);
                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteStartObject("associatedRule");
                json.WriteString("id", d.Code);
                if (_ruleIndex.TryGetValue(d.Code, out int index)) json.WriteNumber("index", index);
                json.WriteEndObject();
                json.WriteStartObject("properties");
                json.WriteString("object", d.Object);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
        }

        private void WriteArtifacts()
        {
            json.WriteStartArray("artifacts");
            foreach (var (path, role) in _artifacts)
            {
                json.WriteStartObject();
                json.WriteStartObject("location");
                WriteUri(path);
                json.WriteEndObject();
                json.WriteStartArray("roles");
                json.WriteStringValue(role);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }

        /// <summary>The source line a result points at first; a file name alone (STT_FILE, line 0) is no location to jump to.</summary>
        private static SourcePosition? SourceLine(Diagnostic d) => d.Source is { Line: > 0 } src ? src : null;

        private void WriteResult(Diagnostic d, Suppression? by)
        {
            json.WriteStartObject();
            json.WriteString("ruleId", d.Code);
            if (_ruleIndex.TryGetValue(d.Code, out int index)) json.WriteNumber("ruleIndex", index);
            json.WriteString("level", Level(d.Severity));
            Text("message", MessageText(d));

            json.WriteStartArray("locations");
            json.WriteStartObject();
            if (SourceLine(d) is { } src)
                WritePhysical(src.File, src);
            else
                WritePhysical(d.File, region: null);
            WriteLogical(d.Location);
            json.WriteEndObject();
            json.WriteEndArray();

            if (SourceLine(d) is not null)
            {
                json.WriteStartArray("relatedLocations");
                json.WriteStartObject();
                json.WriteNumber("id", 1);
                WritePhysical(d.File, region: null);
                Text("message", d.Object == d.File ? "object file" : $"archive member {d.Object}");
                json.WriteEndObject();
                json.WriteEndArray();
            }

            if (by is not null)
            {
                json.WriteStartArray("suppressions");
                json.WriteStartObject();
                json.WriteString("kind", "external");
                json.WriteString("status", "accepted");
                if (!string.IsNullOrWhiteSpace(by.Justification)) json.WriteString("justification", by.Justification);
                json.WriteStartObject("properties");
                json.WriteString("suppression", Describe(by));
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndArray();
            }

            json.WriteStartObject("partialFingerprints");
            json.WriteString(FingerprintKey, Fingerprint(d));
            json.WriteEndObject();

            json.WriteStartObject("properties");
            json.WriteString("object", d.Object);
            if (d.Location is { } loc)
            {
                json.WriteString("section", loc.Section);
                json.WriteNumber("offset", loc.Offset);
                if (loc.Function is not null)
                {
                    json.WriteString("function", loc.Function);
                    json.WriteNumber("functionOffset", loc.FunctionOffset);
                }
            }
            if (d.RelocationType is not null) json.WriteString("relocationType", d.RelocationType);
            if (d.Target is not null) json.WriteString("target", d.Target);
            if (d.Symbol is not null) json.WriteString("symbol", d.Symbol);
            if (d.Instruction is not null) json.WriteString("instruction", d.Instruction);
            json.WriteNumber("occurrences", d.Occurrences);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        private void WriteLogical(ObjectLocation? location)
        {
            if (location is null) return;
            json.WriteStartArray("logicalLocations");
            if (location.Function is not null)
            {
                json.WriteStartObject();
                json.WriteString("name", location.Function);
                json.WriteString("fullyQualifiedName", $"{location.Section}!{location.Function}");
                json.WriteString("kind", "function");
                json.WriteEndObject();
            }
            json.WriteStartObject();
            json.WriteString("name", location.Section);
            json.WriteString("kind", "section");
            json.WriteEndObject();
            json.WriteEndArray();
        }

        private void WritePhysical(string path, SourcePosition? region)
        {
            json.WriteStartObject("physicalLocation");
            json.WriteStartObject("artifactLocation");
            WriteUri(path);
            if (_artifactIndex.TryGetValue(Key(path), out int index)) json.WriteNumber("index", index);
            json.WriteEndObject();
            if (region is not null)
            {
                json.WriteStartObject("region");
                json.WriteNumber("startLine", region.Line);
                if (region.Column > 0) json.WriteNumber("startColumn", region.Column);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }

        /// <summary>uri (+ uriBaseId when relative to the base directory) of an artifactLocation.</summary>
        private void WriteUri(string path)
        {
            var (uri, relative) = FileUri(path);
            json.WriteString("uri", uri);
            if (relative) json.WriteString("uriBaseId", SourceRootBaseId);
        }

        private void Artifact(string path, string role)
        {
            string key = Key(path);
            if (_artifactIndex.ContainsKey(key)) return;
            _artifactIndex[key] = _artifacts.Count;
            _artifacts.Add((path, role));
        }

        private string Key(string path) => FileUri(path).Uri;

        private (string Uri, bool Relative) FileUri(string path)
        {
            string full;
            try { full = Path.GetFullPath(path, _base); }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { return (EscapePath(path), !Path.IsPathRooted(path)); }
            string relative = Path.GetRelativePath(_base, full);
            if (relative != "." && !relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative))
                return (EscapePath(relative), true);
            return (AbsoluteFileUri(full), false);
        }

        private static string Fingerprint(Diagnostic d)
        {
            // Stable across rebuilds: no offsets, which move when unrelated code changes.
            string identity = string.Join("\n", d.Code, Path.GetFileName(d.File), d.Object == d.File ? "" : Path.GetFileName(d.Object),
                d.Location?.Section ?? "", d.Location?.Function ?? "", d.Symbol ?? d.Target ?? "", d.RelocationType ?? "");
            return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(identity)), 0, 16).ToLowerInvariant();
        }
    }

    private static void WriteText(Utf8JsonWriter json, string property, string text)
    {
        json.WriteStartObject(property);
        json.WriteString("text", text);
        json.WriteEndObject();
    }

    /// <summary>The message and its "&gt;&gt;&gt;" context lines; the rule's own fix line is left to the rule's help.</summary>
    private static string MessageText(Diagnostic d)
    {
        var sb = new StringBuilder(d.Message);
        if (d.Occurrences > 1) sb.Append($" ({d.Occurrences} occurrences)");
        foreach (var line in d.Context)
            if (line != "fix: " + d.Rule.Fix)
                sb.Append('\n').Append(">>> ").Append(line);
        return sb.ToString();
    }

    private static string Describe(Suppression s) =>
        s.Code + (s.Symbol is null ? "" : ":" + s.Symbol) + (s.Section is null ? "" : "@" + s.Section) + (s.File is null ? "" : " in " + s.File);

    private static string DirectoryUri(string directory)
    {
        string uri = AbsoluteFileUri(directory);
        return uri.EndsWith('/') ? uri : uri + "/";
    }

    /// <summary>file:///a/b%20c.o for /a/b c.o; file:///C:/a/b.o for C:\a\b.o.</summary>
    private static string AbsoluteFileUri(string fullPath)
    {
        string p = fullPath.Replace('\\', '/');
        string drive = "";
        if (p.Length >= 2 && p[1] == ':' && char.IsAsciiLetter(p[0])) { drive = p[..2]; p = p[2..]; }
        if (p.StartsWith("//", StringComparison.Ordinal)) // UNC: //host/share/…
            return "file:" + EscapePath(p);
        return "file://" + (drive.Length > 0 ? "/" + drive : "") + EscapePath(p);
    }

    /// <summary>Percent-escapes each segment of a path; '/' and '\' both separate segments.</summary>
    private static string EscapePath(string path) =>
        string.Join('/', path.Replace('\\', '/').Split('/').Select(Uri.EscapeDataString));
}
