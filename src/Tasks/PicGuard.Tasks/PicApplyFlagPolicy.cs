using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using PicGuard.Build;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Turns the user's flags into the flags each <c>@(PicSource)</c> is compiled with (see
/// <see cref="FlagPolicy"/>), writes them to one response file per source (rewritten only when
/// they change, so a flag change recompiles exactly the affected files), writes the JSON compilation
/// database, and reports what the policy removed (PG1001) or overrode (PG1002) once per project.
/// </summary>
public sealed class PicApplyFlagPolicy : Microsoft.Build.Utilities.Task
{
    /// <summary>The sources with metadata ObjectFile, ResponseFile and DependencyFile (from PicAssignObjects).</summary>
    [Required] public ITaskItem[] Sources { get; set; } = [];
    /// <summary><c>gcc</c> or <c>clang</c>, from PicResolveTools.</summary>
    [Required] public string CompilerFamily { get; set; } = "";
    /// <summary>The compiler's full path, as compile_commands.json names it.</summary>
    public string? CompilerPath { get; set; }
    /// <summary>The directory compiles run in (the project directory): relative -I flags are relative to it.</summary>
    public string? WorkingDirectory { get; set; }
    /// <summary>Where to write compile_commands.json; empty writes none.</summary>
    public string? CompileCommandsFile { get; set; }
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
    /// <summary>The project, so every error and policy report points at it.</summary>
    public string? ProjectFile { get; set; }

    /// <summary>When set, <see cref="Dependencies"/> are also written here, one path a line, so a build that skips this task can read them.</summary>
    public string? DependencyListFile { get; set; }

    /// <summary>Headers the last compile of each source read (from its dependency file), so editing one rebuilds.</summary>
    [Output] public ITaskItem[] Dependencies { get; private set; } = [];

    public override bool Execute()
    {
        if (!FlagPolicy.IsValidCodeModel(CodeModel))
            TaskLog.BadValue(Log, "PicCodeModel", CodeModel, Settings.CodeModels, ProjectFile);
        if (!FlagPolicy.IsValidVisibility(Visibility))
            TaskLog.BadValue(Log, "PicVisibility", Visibility, Settings.Visibilities, ProjectFile);
        var family = CompilerFamily == "clang" ? Build.CompilerFamily.Clang : Build.CompilerFamily.Gcc;
        if (HiddenExterns && !string.IsNullOrEmpty(HiddenHeader) && !File.Exists(HiddenHeader))
            TaskLog.BadValue(Log, "PicHiddenHeader", HiddenHeader, "the path of an existing header (the package ships one)", ProjectFile);
        if (Log.HasLoggedErrors) return false;

        var baseFlags = new List<string>(SplitFlags("PicCFlags", CFlags));
        // The code model's spelling depends on the target (riscv: small is medany): the flags' --target, else the compiler's own.
        string? target = FlagPolicy.TargetOf(baseFlags) is null ? CompilerTarget() : null;
        var options = new FlagPolicyOptions(CodeModel, Visibility, HiddenExterns ? HiddenHeader : null, KeepSanitizers, KeepLto, Freestanding, SourceRoot, target);
        foreach (var dir in Split(IncludeDirectories)) baseFlags.Add("-I" + Path.GetFullPath(dir));
        foreach (var define in Split(DefineConstants)) baseFlags.Add("-D" + define);

        var reported = new HashSet<string>();
        var dependencies = new List<ITaskItem>();
        var commands = new List<CompileCommand>();
        string directory = string.IsNullOrEmpty(WorkingDirectory) ? Directory.GetCurrentDirectory() : Path.GetFullPath(WorkingDirectory);
        foreach (var source in Sources)
        {
            var additional = SplitFlags($"AdditionalFlags of PicSource '{source.ItemSpec}'", source.GetMetadata("AdditionalFlags"));
            var remove = SplitFlags($"RemoveFlags of PicSource '{source.ItemSpec}'", source.GetMetadata("RemoveFlags"));
            if (Log.HasLoggedErrors) return false;
            var result = FlagPolicy.Apply(baseFlags, additional, remove, family, options, FlagPolicy.KindOf(source.ItemSpec));
            foreach (var change in result.Changes)
            {
                if (!reported.Add(change.Kind + change.Flag)) continue;
                var rule = change.Kind == FlagChangeKind.Overridden ? RuleCatalog.FlagOverridden : RuleCatalog.FlagRemoved;
                string verb = change.Kind == FlagChangeKind.Overridden ? "overrides" : "removed";
                TaskLog.Rule(Log, rule, rule.DefaultSeverity, ProjectFile, 0, 0, $"PicGuard flag policy {verb} '{change.Flag}': {change.Reason}");
            }

            string objectFile = source.GetMetadata("ObjectFile");
            string responseFile = source.GetMetadata("ResponseFile");
            AtomicFile.WriteIfDifferent(responseFile, ResponseFile.Format(result.Flags));
            string full = source.GetMetadata("FullPath");
            commands.Add(new CompileCommand(directory, [CompilerPath ?? CompilerFamily, .. result.Flags, "-c", full, "-o", objectFile], full, objectFile));
            foreach (var dep in DependencyFile.Read(source.GetMetadata("DependencyFile")))
                if (File.Exists(dep)) dependencies.Add(new TaskItem(dep));
        }
        Dependencies = dependencies.ToArray();
        if (Log.HasLoggedErrors) return false;
        if (!string.IsNullOrEmpty(DependencyListFile))
            AtomicFile.WriteIfDifferent(DependencyListFile, string.Concat(dependencies.Select(d => d.ItemSpec + "\n")));
        if (!string.IsNullOrWhiteSpace(CompileCommandsFile) && CompileCommands.Write(CompileCommandsFile, commands))
            Log.LogMessage(MessageImportance.Normal, $"PicGuard: wrote {CompileCommandsFile} ({commands.Count} source(s))");
        return true;
    }

    /// <summary>What <c>cc -dumpmachine</c> prints (gcc and clang both answer), or null when it cannot say.</summary>
    private string? CompilerTarget()
    {
        if (string.IsNullOrEmpty(CompilerPath)) return null;
        try
        {
            var r = ProcessRunner.Run(CompilerPath, ["-dumpmachine"], Directory.GetCurrentDirectory());
            string first = r.Output.Split('\n').FirstOrDefault()?.Trim() ?? "";
            if (r.ExitCode == 0 && first.Length > 0 && !first.Contains(' ')) return first;
            Log.LogMessage(MessageImportance.Normal, $"PicGuard: {CompilerPath} -dumpmachine did not name a target ({r.Output.Trim()}); the code model is passed as PicCodeModel says");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Log.LogMessage(MessageImportance.Normal, $"PicGuard: {CompilerPath} -dumpmachine could not run ({e.Message}); the code model is passed as PicCodeModel says");
        }
        return null;
    }

    private IReadOnlyList<string> SplitFlags(string property, string? value)
    {
        try
        {
            return FlagPolicy.Split(value);
        }
        catch (FormatException e)
        {
            TaskLog.BadValue(Log, property, value, $"flags quoted as in a shell ({e.Message})", ProjectFile);
            return [];
        }
    }

    private static IEnumerable<string> Split(string? list) =>
        (list ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
