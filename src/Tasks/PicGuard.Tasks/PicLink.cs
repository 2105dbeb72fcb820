using Microsoft.Build.Framework;
using PicGuard.Build;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Links the blob without default libraries: <c>relocatable</c> (<c>-r</c>, like the kernel's
/// purgatory.ro) or <c>pie</c> (static, self-relocating). Writes to a temp name and renames on
/// success, so a failed or interrupted link never leaves a file a later build would accept. Every path
/// handed to the linker is absolute; a cancelled build (Ctrl+C) stops the linker.
/// </summary>
public sealed class PicLink : Microsoft.Build.Utilities.Task, ICancelableTask
{
    public static readonly string[] Modes = ["relocatable", "pie"];

    [Required] public ITaskItem[] Objects { get; set; } = [];
    [Required] public string LinkerPath { get; set; } = "";
    /// <summary><c>bfd</c> or <c>lld</c>.</summary>
    public string LinkerFlavor { get; set; } = "bfd";
    [Required] public string Mode { get; set; } = "relocatable";
    [Required] public string OutputPath { get; set; } = "";
    public string? EntryPoint { get; set; }
    public string? AdditionalFlags { get; set; }
    /// <summary>The directory the linker runs in (the project directory): relative paths in PicLinkerFlags are relative to it.</summary>
    public string? WorkingDirectory { get; set; }
    /// <summary>The project, so configuration errors point at it.</summary>
    public string? ProjectFile { get; set; }

    private readonly CancellationTokenSource _cancel = new();
    public void Cancel() => _cancel.Cancel();

    public override bool Execute()
    {
        var args = new List<string>();
        switch (Mode)
        {
            case "relocatable":
                args.Add("-r");
                break;
            case "pie":
                if (string.IsNullOrWhiteSpace(EntryPoint))
                {
                    TaskLog.BadValue(Log, "PicEntryPoint", EntryPoint, "the name of the blob's entry symbol: PicLinkMode=pie needs one", ProjectFile);
                    return false;
                }
                args.AddRange(["-pie", "--no-dynamic-linker", "-z", "text"]);
                break;
            default:
                TaskLog.BadValue(Log, "PicLinkMode", Mode, Settings.LinkModes, ProjectFile);
                return false;
        }
        if (!string.IsNullOrWhiteSpace(EntryPoint)) args.AddRange(["-e", EntryPoint!.Trim()]);
        args.Add("-nostdlib");
        if (LinkerFlavor == "bfd") args.AddRange(["-z", "nodefaultlib"]);
        try
        {
            args.AddRange(FlagPolicy.Split(AdditionalFlags));
        }
        catch (FormatException e)
        {
            TaskLog.BadValue(Log, "PicLinkerFlags", AdditionalFlags, $"flags quoted as in a shell ({e.Message})", ProjectFile);
            return false;
        }
        string output = Path.GetFullPath(OutputPath);
        string temp = output + ".tmp";
        args.AddRange(["-o", temp]);
        args.AddRange(Objects.Select(o => o.GetMetadata("FullPath")));

        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        string directory = string.IsNullOrEmpty(WorkingDirectory) ? Directory.GetCurrentDirectory() : Path.GetFullPath(WorkingDirectory);
        var result = ProcessRunner.Run(LinkerPath, args, directory, _cancel.Token);
        if (_cancel.IsCancellationRequested)
        {
            File.Delete(temp);
            return false;
        }
        bool ok = result.ExitCode == 0;
        Log.LogMessage(ok ? MessageImportance.Low : MessageImportance.Normal,
            $"PicGuard: {(ok ? "" : "failed: ")}cd {ProcessRunner.Quote(directory)} && {ProcessRunner.CommandLine(LinkerPath, args)}");
        TaskLog.ToolOutput(Log, LinkerPath, result, RuleCatalog.LinkerError, RuleCatalog.LinkerWarning, OutputPath);
        if (!ok)
        {
            File.Delete(temp);
            return false;
        }
        File.Move(temp, output, overwrite: true);
        Log.LogMessage(MessageImportance.Normal, $"PicGuard: linked {OutputPath} ({Mode})");
        return !Log.HasLoggedErrors;
    }
}
