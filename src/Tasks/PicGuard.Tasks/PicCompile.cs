using System.Collections.Concurrent;
using Microsoft.Build.Framework;
using PicGuard.Build;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Compiles <c>@(PicSource)</c> items (with the metadata PicAssignObjects gives them) that are out of
/// date: object older than the source, its response file or any header its dependency file lists.
/// Every path handed to the compiler is absolute and the compiler runs in <see cref="WorkingDirectory"/>
/// (the project directory), so sources may lie anywhere. Compiles run in parallel, each to a temp name
/// renamed on success, so an interrupted build leaves no half-written object. Compiler output becomes
/// PG2001/PG2002 at file(line,col); each command line is logged (detailed verbosity, or normal when it fails).
/// </summary>
public sealed class PicCompile : Microsoft.Build.Utilities.Task, ICancelableTask
{
    [Required] public ITaskItem[] Sources { get; set; } = [];
    [Required] public string CompilerPath { get; set; } = "";
    /// <summary>A launcher the compiler runs under (ccache, sccache, distcc, icecc), with its own arguments; empty for none.</summary>
    public string? LauncherPath { get; set; }
    public string? LauncherArguments { get; set; }
    /// <summary>A file rewritten when the compiler or its version changes: an object older than it is out of date.</summary>
    public string? CompilerStampFile { get; set; }
    /// <summary>The directory compiles run in; relative flags such as <c>-Iinclude</c> are relative to it.</summary>
    public string? WorkingDirectory { get; set; }
    /// <summary>At most this many compiles at once; 0 means one per core.</summary>
    public int MaxParallelism { get; set; }

    [Output] public ITaskItem[] ObjectFiles { get; private set; } = [];
    [Output] public int CompiledCount { get; private set; }

    private readonly CancellationTokenSource _cancel = new();
    public void Cancel() => _cancel.Cancel();

    private sealed record Compilation(string CommandLine, ProcessRunner.Result Result);

    public override bool Execute()
    {
        string directory = string.IsNullOrEmpty(WorkingDirectory) ? Directory.GetCurrentDirectory() : Path.GetFullPath(WorkingDirectory);
        var launcherArguments = FlagPolicy.Split(LauncherArguments);
        var compilerChanged = !string.IsNullOrEmpty(CompilerStampFile) && File.Exists(CompilerStampFile)
            ? File.GetLastWriteTimeUtc(CompilerStampFile) : DateTime.MinValue;
        var stale = Sources.Where(s => IsOutOfDate(s, compilerChanged)).ToList();
        var results = new ConcurrentDictionary<ITaskItem, Compilation>();
        try
        {
            Parallel.ForEach(stale, new ParallelOptions
            {
                MaxDegreeOfParallelism = MaxParallelism > 0 ? MaxParallelism : Environment.ProcessorCount,
                CancellationToken = _cancel.Token,
            }, item => results[item] = Compile(item, directory, launcherArguments));
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        // Log in item order, from this thread, so output is deterministic.
        int compiled = 0;
        foreach (var item in stale)
        {
            var (commandLine, result) = results[item];
            bool ok = result.ExitCode == 0;
            Log.LogMessage(ok ? MessageImportance.Low : MessageImportance.Normal, $"PicGuard: {(ok ? "" : "failed: ")}cd {ProcessRunner.Quote(directory)} && {commandLine}");
            TaskLog.ToolOutput(Log, string.IsNullOrEmpty(LauncherPath) ? CompilerPath : LauncherPath, result, RuleCatalog.CompilerError, RuleCatalog.CompilerWarning, item.ItemSpec);
            if (!ok) continue;
            Log.LogMessage(MessageImportance.Normal, $"PicGuard: compiled {item.ItemSpec}");
            compiled++;
        }
        CompiledCount = compiled;
        ObjectFiles = Sources.Select(s => (ITaskItem)new Microsoft.Build.Utilities.TaskItem(s.GetMetadata("ObjectFile"))).ToArray();
        return !Log.HasLoggedErrors;
    }

    private Compilation Compile(ITaskItem item, string directory, IReadOnlyList<string> launcherArguments)
    {
        string source = item.GetMetadata("FullPath");
        string objectFile = item.GetMetadata("ObjectFile");
        string temp = objectFile + ".tmp";
        string depFile = item.GetMetadata("DependencyFile");
        string responseFile = item.GetMetadata("ResponseFile");
        Directory.CreateDirectory(Path.GetDirectoryName(objectFile)!);
        // A launcher may run the compiler elsewhere (distcc, icecc) where the response file is not:
        // it gets the flags themselves.
        IEnumerable<string> flags = string.IsNullOrEmpty(LauncherPath)
            ? ["@" + responseFile]
            : ResponseFile.Parse(File.ReadAllText(responseFile));
        // A .s file is not preprocessed: it includes nothing, and the compiler writes no dependency file for it.
        bool preprocessed = FlagPolicy.KindOf(source) != SourceKind.Assembly;
        string[] dependencies = preprocessed ? ["-MD", "-MF", depFile, "-MT", objectFile] : [];
        string[] compile = [.. flags, .. dependencies, "-c", source, "-o", temp];
        string tool = CompilerPath;
        IEnumerable<string> arguments = compile;
        if (!string.IsNullOrEmpty(LauncherPath))
        {
            tool = LauncherPath;
            arguments = [.. launcherArguments, CompilerPath, .. compile];
        }
        var result = ProcessRunner.Run(tool, arguments, directory, _cancel.Token);
        if (result.ExitCode == 0 && File.Exists(temp))
            File.Move(temp, objectFile, overwrite: true);
        else
        {
            File.Delete(temp);
            if (result.ExitCode == 0)
                result = result with { ExitCode = 1, Output = result.Output + $"{Path.GetFileName(tool)} reported success but wrote no object file {temp}\n" };
        }
        return new Compilation(ProcessRunner.CommandLine(tool, arguments), result);
    }

    private static bool IsOutOfDate(ITaskItem item, DateTime compilerChanged)
    {
        string objectFile = item.GetMetadata("ObjectFile");
        if (!File.Exists(objectFile)) return true;
        var built = File.GetLastWriteTimeUtc(objectFile);
        if (compilerChanged > built) return true;
        if (File.GetLastWriteTimeUtc(item.GetMetadata("FullPath")) > built) return true;
        if (File.GetLastWriteTimeUtc(item.GetMetadata("ResponseFile")) > built) return true;
        if (FlagPolicy.KindOf(item.GetMetadata("FullPath")) == SourceKind.Assembly) return false;
        string depFile = item.GetMetadata("DependencyFile");
        if (!File.Exists(depFile)) return true;
        foreach (var dep in DependencyFile.Read(depFile))
            if (!File.Exists(dep) || File.GetLastWriteTimeUtc(dep) > built) return true;
        return false;
    }
}
