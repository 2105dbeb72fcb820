using System.Collections.Concurrent;
using Microsoft.Build.Framework;
using PicGuard.Build;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Compiles <c>@(PicSource)</c> items (from PicApplyFlagPolicy) that are out of date: object
/// older than the source, its response file or any header its dependency file lists. Compiles
/// run in parallel, each to a temp name renamed on success, so an interrupted build leaves no
/// half-written object. Compiler output becomes PG2001/PG2002 at file(line,col).
/// </summary>
public sealed class PicCompile : Microsoft.Build.Utilities.Task, ICancelableTask
{
    [Required] public ITaskItem[] Sources { get; set; } = [];
    [Required] public string CompilerPath { get; set; } = "";
    /// <summary>At most this many compiles at once; 0 means one per core.</summary>
    public int MaxParallelism { get; set; }

    [Output] public ITaskItem[] ObjectFiles { get; private set; } = [];
    [Output] public int CompiledCount { get; private set; }

    private readonly CancellationTokenSource _cancel = new();
    public void Cancel() => _cancel.Cancel();

    public override bool Execute()
    {
        var stale = Sources.Where(IsOutOfDate).ToList();
        var results = new ConcurrentDictionary<ITaskItem, (ProcessRunner.Result Result, string Source)>();
        try
        {
            Parallel.ForEach(stale, new ParallelOptions
            {
                MaxDegreeOfParallelism = MaxParallelism > 0 ? MaxParallelism : Environment.ProcessorCount,
                CancellationToken = _cancel.Token,
            }, item => results[item] = (Compile(item), item.ItemSpec));
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        // Log in item order, from this thread, so output is deterministic.
        foreach (var item in stale)
        {
            var (result, source) = results[item];
            Log.LogMessage(MessageImportance.Normal, $"PicGuard: compiled {source}");
            TaskLog.ToolOutput(Log, CompilerPath, result, RuleCatalog.CompilerError, RuleCatalog.CompilerWarning, source);
        }
        CompiledCount = stale.Count;
        ObjectFiles = Sources.Select(s => (ITaskItem)new Microsoft.Build.Utilities.TaskItem(s.GetMetadata("ObjectFile"))).ToArray();
        return !Log.HasLoggedErrors;
    }

    private ProcessRunner.Result Compile(ITaskItem item)
    {
        string source = item.GetMetadata("FullPath");
        string objectFile = item.GetMetadata("ObjectFile");
        string temp = objectFile + ".tmp";
        string depFile = item.GetMetadata("DependencyFile");
        var args = new[] { "@" + item.GetMetadata("ResponseFile"), "-MD", "-MF", depFile, "-MT", objectFile, "-c", source, "-o", temp };
        var result = ProcessRunner.Run(CompilerPath, args, Path.GetDirectoryName(source)!);
        if (result.ExitCode == 0)
            File.Move(temp, objectFile, overwrite: true);
        else
            File.Delete(temp);
        return result;
    }

    private static bool IsOutOfDate(ITaskItem item)
    {
        string objectFile = item.GetMetadata("ObjectFile");
        if (!File.Exists(objectFile)) return true;
        var built = File.GetLastWriteTimeUtc(objectFile);
        if (File.GetLastWriteTimeUtc(item.GetMetadata("FullPath")) > built) return true;
        if (File.GetLastWriteTimeUtc(item.GetMetadata("ResponseFile")) > built) return true;
        string depFile = item.GetMetadata("DependencyFile");
        if (!File.Exists(depFile)) return true;
        foreach (var dep in DependencyFile.Read(depFile))
            if (!File.Exists(dep) || File.GetLastWriteTimeUtc(dep) > built) return true;
        return false;
    }
}
