using Microsoft.Build.Framework;
using PicGuard.Build;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Links the blob without default libraries: <c>relocatable</c> (<c>-r</c>, like the kernel's
/// purgatory.ro) or <c>pie</c> (static, self-relocating). Writes to a temp name and renames on
/// success, so a failed or interrupted link never leaves a file a later build would accept.
/// </summary>
public sealed class PicLink : Microsoft.Build.Utilities.Task
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
                    TaskLog.BadValue(Log, "PicEntryPoint", EntryPoint, "the name of the blob's entry symbol: PicLinkMode=pie needs one");
                    return false;
                }
                args.AddRange(["-pie", "--no-dynamic-linker", "-z", "text"]);
                break;
            default:
                TaskLog.BadValue(Log, "PicLinkMode", Mode, Settings.LinkModes);
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
            TaskLog.BadValue(Log, "PicLinkerFlags", AdditionalFlags, $"flags quoted as in a shell ({e.Message})");
            return false;
        }
        string temp = OutputPath + ".tmp";
        args.AddRange(["-o", temp]);
        args.AddRange(Objects.Select(o => o.GetMetadata("FullPath")));

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(OutputPath))!);
        var result = ProcessRunner.Run(LinkerPath, args, Directory.GetCurrentDirectory());
        TaskLog.ToolOutput(Log, LinkerPath, result, RuleCatalog.LinkerError, RuleCatalog.LinkerWarning, OutputPath);
        if (result.ExitCode != 0)
        {
            File.Delete(temp);
            return false;
        }
        File.Move(temp, OutputPath, overwrite: true);
        Log.LogMessage(MessageImportance.Normal, $"PicGuard: linked {OutputPath} ({Mode})");
        return !Log.HasLoggedErrors;
    }
}
