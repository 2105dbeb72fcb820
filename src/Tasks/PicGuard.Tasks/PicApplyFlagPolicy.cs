using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using PicGuard.Build;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Turns the user's flags into the flags each <c>@(PicSource)</c> is compiled with (see
/// <see cref="FlagPolicy"/>), writes them to one response file per source (rewritten only when
/// they change, so a flag change recompiles exactly the affected files), and reports what the
/// policy removed (PG1001) or overrode (PG1002) once per project.
/// </summary>
public sealed class PicApplyFlagPolicy : Microsoft.Build.Utilities.Task
{
    [Required] public ITaskItem[] Sources { get; set; } = [];
    /// <summary><c>gcc</c> or <c>clang</c>, from PicResolveTools.</summary>
    [Required] public string CompilerFamily { get; set; } = "";
    /// <summary>Where objects, response files and dependency files go.</summary>
    [Required] public string IntermediateDirectory { get; set; } = "";
    public string? CFlags { get; set; }
    public string? IncludeDirectories { get; set; }
    public string? DefineConstants { get; set; }
    public string CodeModel { get; set; } = "small";
    public string Visibility { get; set; } = "hidden";
    public bool HiddenExterns { get; set; } = true;
    public string? HiddenHeader { get; set; }
    public bool KeepSanitizers { get; set; }
    public bool KeepLto { get; set; }
    public bool Freestanding { get; set; } = true;
    /// <summary>Written as <c>.</c> in every path the compiler records (the project directory).</summary>
    public string? SourceRoot { get; set; }

    /// <summary>When set, <see cref="Dependencies"/> are also written here, one path a line, so a build that skips this task can read them.</summary>
    public string? DependencyListFile { get; set; }

    /// <summary>The sources with metadata ObjectFile, ResponseFile and DependencyFile.</summary>
    [Output] public ITaskItem[] CompileItems { get; private set; } = [];
    /// <summary>Headers the last compile of each source read (from its dependency file), so editing one rebuilds.</summary>
    [Output] public ITaskItem[] Dependencies { get; private set; } = [];

    public override bool Execute()
    {
        if (!FlagPolicy.IsValidCodeModel(CodeModel))
            TaskLog.BadValue(Log, "PicCodeModel", CodeModel, Settings.CodeModels);
        if (!FlagPolicy.IsValidVisibility(Visibility))
            TaskLog.BadValue(Log, "PicVisibility", Visibility, Settings.Visibilities);
        var family = CompilerFamily == "clang" ? Build.CompilerFamily.Clang : Build.CompilerFamily.Gcc;
        if (HiddenExterns && !string.IsNullOrEmpty(HiddenHeader) && !File.Exists(HiddenHeader))
            TaskLog.BadValue(Log, "PicHiddenHeader", HiddenHeader, "the path of an existing header (the package ships one)");
        if (Log.HasLoggedErrors) return false;

        var options = new FlagPolicyOptions(CodeModel, Visibility, HiddenExterns ? HiddenHeader : null, KeepSanitizers, KeepLto, Freestanding, SourceRoot);
        var baseFlags = new List<string>(SplitFlags("PicCFlags", CFlags));
        foreach (var dir in Split(IncludeDirectories)) baseFlags.Add("-I" + Path.GetFullPath(dir));
        foreach (var define in Split(DefineConstants)) baseFlags.Add("-D" + define);

        Directory.CreateDirectory(IntermediateDirectory);
        var reported = new HashSet<string>();
        var objects = new Dictionary<string, string>(StringComparer.Ordinal);
        var items = new List<ITaskItem>();
        var dependencies = new List<ITaskItem>();
        foreach (var source in Sources)
        {
            string full = source.GetMetadata("FullPath");
            string objectName = source.GetMetadata("Filename") + source.GetMetadata("Extension") + ".o";
            if (objects.TryGetValue(objectName, out var other))
            {
                TaskLog.Rule(Log, RuleCatalog.BadConfiguration, source.ItemSpec,
                    $"PicSource '{source.ItemSpec}' and '{other}' would both compile to {objectName}; rename one of them");
                continue;
            }
            objects[objectName] = source.ItemSpec;

            var additional = SplitFlags($"AdditionalFlags of PicSource '{source.ItemSpec}'", source.GetMetadata("AdditionalFlags"));
            var remove = SplitFlags($"RemoveFlags of PicSource '{source.ItemSpec}'", source.GetMetadata("RemoveFlags"));
            if (Log.HasLoggedErrors) return false;
            var result = FlagPolicy.Apply(baseFlags, additional, remove, family, options);
            foreach (var change in result.Changes)
            {
                if (!reported.Add(change.Kind + change.Flag)) continue;
                var rule = change.Kind == FlagChangeKind.Overridden ? RuleCatalog.FlagOverridden : RuleCatalog.FlagRemoved;
                string verb = change.Kind == FlagChangeKind.Overridden ? "overrides" : "removed";
                TaskLog.Rule(Log, rule, rule.DefaultSeverity, null, 0, 0, $"PicGuard flag policy {verb} '{change.Flag}': {change.Reason}");
            }

            string objectFile = Path.Combine(IntermediateDirectory, objectName);
            string responseFile = objectFile + ".rsp";
            WriteIfDifferent(responseFile, ResponseFile(result.Flags));
            var item = new TaskItem(source);
            item.SetMetadata("ObjectFile", objectFile);
            item.SetMetadata("ResponseFile", responseFile);
            item.SetMetadata("DependencyFile", objectFile + ".d");
            items.Add(item);
            foreach (var dep in DependencyFile.Read(objectFile + ".d"))
                if (File.Exists(dep)) dependencies.Add(new TaskItem(dep));
        }
        CompileItems = items.ToArray();
        Dependencies = dependencies.ToArray();
        if (!string.IsNullOrEmpty(DependencyListFile) && !Log.HasLoggedErrors)
            WriteIfDifferent(DependencyListFile, string.Concat(dependencies.Select(d => d.ItemSpec + "\n")));
        return !Log.HasLoggedErrors;
    }

    private IReadOnlyList<string> SplitFlags(string property, string? value)
    {
        try
        {
            return FlagPolicy.Split(value);
        }
        catch (FormatException e)
        {
            TaskLog.BadValue(Log, property, value, $"flags quoted as in a shell ({e.Message})");
            return [];
        }
    }

    private static IEnumerable<string> Split(string? list) =>
        (list ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>One argument per line, quoted for gcc's and clang's @file reader.</summary>
    internal static string ResponseFile(IEnumerable<string> flags)
    {
        var sb = new StringBuilder();
        foreach (var flag in flags)
        {
            foreach (char c in flag)
            {
                if (char.IsWhiteSpace(c) || c is '\'' or '"' or '\\') sb.Append('\\');
                sb.Append(c);
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static void WriteIfDifferent(string path, string content)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content) return;
        string temp = path + ".tmp";
        File.WriteAllText(temp, content);
        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>Reads the make-style dependency file gcc and clang write with -MD -MF.</summary>
internal static class DependencyFile
{
    public static IEnumerable<string> Read(string path)
    {
        if (!File.Exists(path)) return [];
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException) { return []; }
        text = text.Replace("\\\r\n", " ").Replace("\\\n", " ");
        int colon = text.IndexOf(": ", StringComparison.Ordinal);
        if (colon < 0) return [];
        var result = new List<string>();
        var current = new StringBuilder();
        string rest = text[(colon + 2)..];
        for (int i = 0; i < rest.Length; i++)
        {
            char c = rest[i];
            if (c == '\\' && i + 1 < rest.Length && rest[i + 1] == ' ') { current.Append(' '); i++; continue; }
            if (char.IsWhiteSpace(c))
            {
                if (current.Length > 0) { result.Add(current.ToString()); current.Clear(); }
                continue;
            }
            current.Append(c);
        }
        if (current.Length > 0) result.Add(current.ToString());
        return result;
    }
}
