using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using PicGuard.Build;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Gives every <c>@(PicSource)</c> its object, response and dependency file (absolute paths, see
/// <see cref="ObjectLayout"/>): sources in subfolders mirror their path under the object directory,
/// sources outside the project get a folder of their own, so same-named files never collide. A source
/// listed twice with different flags, or missing, is one error pointing at the project. Starts no process: it runs every build.
/// </summary>
public sealed class PicAssignObjects : Microsoft.Build.Utilities.Task
{
    [Required] public ITaskItem[] Sources { get; set; } = [];
    /// <summary>The root in-project sources mirror from (the project directory).</summary>
    [Required] public string ProjectDirectory { get; set; } = "";
    /// <summary>Where objects go.</summary>
    [Required] public string ObjectDirectory { get; set; } = "";
    /// <summary>True when the SDK added the sources by its default globs (for the duplicate message).</summary>
    public bool DefaultItemsEnabled { get; set; }
    /// <summary>The project, so every error points at it.</summary>
    public string? ProjectFile { get; set; }

    /// <summary>The sources with metadata ObjectFile, ResponseFile and DependencyFile, each file once.</summary>
    [Output] public ITaskItem[] CompileItems { get; private set; } = [];

    public override bool Execute()
    {
        string objectDirectory = Path.GetFullPath(ObjectDirectory);
        var seen = new Dictionary<string, ITaskItem>(StringComparer.Ordinal);
        var items = new List<ITaskItem>();
        foreach (var source in Sources)
        {
            string full = source.GetMetadata("FullPath");
            if (seen.TryGetValue(full, out var first))
            {
                // MSBuild matches globs without regard to case, so "*.S;*.s" lists each file twice: the same
                // file with the same metadata is one source. Different metadata leaves no right answer.
                if (SameMetadata(first, source)) continue;
                string hint = DefaultItemsEnabled
                    ? "; the SDK already includes every .c, .S and .s file under the project folder (EnableDefaultPicSourceItems): use <PicSource Update=\"…\" /> to set metadata, or set EnableDefaultPicSourceItems to false and list the sources yourself"
                    : "; remove one of the items, or give both the same metadata";
                string also = first.ItemSpec == source.ItemSpec ? "" : $" (also as '{first.ItemSpec}')";
                TaskLog.Rule(Log, RuleCatalog.BadConfiguration, ProjectFile,
                    $"PicSource '{source.ItemSpec}' is included twice{also}, with different AdditionalFlags or RemoveFlags{hint}");
                continue;
            }
            seen[full] = source;
            if (!File.Exists(full))
            {
                TaskLog.Rule(Log, RuleCatalog.MissingInput, ProjectFile,
                    $"PicSource '{source.ItemSpec}' not found ({full}); restore the file or remove the item");
                continue;
            }
            string objectFile = Path.Combine(objectDirectory, ObjectLayout.RelativeObjectPath(ProjectDirectory, full));
            var item = new TaskItem(source);
            item.SetMetadata("ObjectFile", objectFile);
            item.SetMetadata("ResponseFile", objectFile + ".rsp");
            item.SetMetadata("DependencyFile", objectFile + ".d");
            items.Add(item);
        }
        CompileItems = items.ToArray();
        return !Log.HasLoggedErrors;
    }

    private static bool SameMetadata(ITaskItem a, ITaskItem b) =>
        a.GetMetadata("AdditionalFlags") == b.GetMetadata("AdditionalFlags") && a.GetMetadata("RemoveFlags") == b.GetMetadata("RemoveFlags");
}
