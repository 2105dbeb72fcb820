using Microsoft.Build.Framework;
using PicGuard.Build;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Checks every PicGuard property and item before anything is built: each bad value is one PG9004
/// pointing at the project, naming the property and the values it accepts. Runs first, so a typo
/// never costs a compile.
/// </summary>
public sealed class PicCheckSettings : Microsoft.Build.Utilities.Task
{
    public string? Profile { get; set; }
    public string? LinkMode { get; set; }
    public string? EntryPoint { get; set; }
    public bool Links { get; set; }
    /// <summary>The project has PicSource, PicObject or PicCheck items; without any, PG9005 says there is nothing to do.</summary>
    public bool HasInputs { get; set; }
    public string? LoadAddress { get; set; }
    public string? MaxDiagnostics { get; set; }
    public string? MaxLoggedDiagnostics { get; set; }
    public string? CodeModel { get; set; }
    public string? Visibility { get; set; }
    public ITaskItem[] Checks { get; set; } = [];
    public ITaskItem[] Suppressions { get; set; } = [];

    /// <summary>The project, so every error points at it.</summary>
    public string? ProjectFile { get; set; }

    public override bool Execute()
    {
        Settings.TryProfile(Log, "PicProfile", Profile, ProjectFile, out _);
        string mode = (LinkMode ?? "").Trim();
        if (mode is not ("relocatable" or "pie" or "none"))
            Bad("PicLinkMode", LinkMode, Settings.LinkModes);
        if (mode == "pie" && Links && string.IsNullOrWhiteSpace(EntryPoint))
            TaskLog.Rule(Log, RuleCatalog.BadConfiguration, ProjectFile,
                "PicEntryPoint is empty, but PicLinkMode=pie needs the name of the blob's entry symbol (e.g. <PicEntryPoint>purgatory_start</PicEntryPoint>)");
        Settings.TryLoadAddress(Log, LoadAddress, ProjectFile, out _);
        Settings.TryMaxDiagnostics(Log, MaxDiagnostics, ProjectFile, out _);
        Settings.TryMaxLoggedDiagnostics(Log, MaxLoggedDiagnostics, ProjectFile, out _);
        if (CodeModel is not null && !FlagPolicy.IsValidCodeModel(CodeModel))
            Bad("PicCodeModel", CodeModel, Settings.CodeModels);
        if (Visibility is not null && !FlagPolicy.IsValidVisibility(Visibility))
            Bad("PicVisibility", Visibility, Settings.Visibilities);
        foreach (var check in Checks)
        {
            if (Directory.Exists(check.GetMetadata("FullPath")))
                Bad($"PicCheck item '{check.ItemSpec}'", check.ItemSpec, "an ELF object, executable or ar archive file; this is a directory (list its files, e.g. dir/%2A.o)");
            string profile = check.GetMetadata("Profile");
            if (!string.IsNullOrWhiteSpace(profile))
                Settings.TryProfile(Log, $"Profile metadata of PicCheck item '{check.ItemSpec}'", profile, ProjectFile, out _);
        }
        Settings.TrySuppressions(Log, Suppressions, ProjectFile, out _);
        if (!HasInputs)
            TaskLog.Rule(Log, RuleCatalog.NothingToBuild, ProjectFile,
                "nothing to compile, link or check: the project has no PicSource, PicObject or PicCheck items (the SDK form adds **/*.c, **/*.S and **/*.s unless EnableDefaultPicSourceItems is false)");
        return !Log.HasLoggedErrors;
    }

    private void Bad(string property, string? value, string accepted) => TaskLog.BadValue(Log, property, value, accepted, ProjectFile);
}
