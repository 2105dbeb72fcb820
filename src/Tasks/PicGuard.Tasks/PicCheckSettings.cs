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
    public string? LoadAddress { get; set; }
    public string? MaxDiagnostics { get; set; }
    public string? CodeModel { get; set; }
    public string? Visibility { get; set; }
    public ITaskItem[] Checks { get; set; } = [];
    public ITaskItem[] Suppressions { get; set; } = [];

    /// <summary>The project, so every error points at it.</summary>
    public string? ProjectFile { get; set; }

    public override bool Execute()
    {
        if (!Profiles.TryGet(Profile, out _))
            Bad("PicProfile", Profile, "one of: " + Profiles.Names);
        string mode = (LinkMode ?? "").Trim();
        if (mode is not ("relocatable" or "pie" or "none"))
            Bad("PicLinkMode", LinkMode, "relocatable (default), pie or none");
        if (mode == "pie" && Links && string.IsNullOrWhiteSpace(EntryPoint))
            Log.LogError(null, RuleCatalog.BadConfiguration.Code, RuleCatalog.BadConfiguration.Code, RuleCatalog.BadConfiguration.HelpUri, ProjectFile, 0, 0, 0, 0,
                "PicEntryPoint is empty, but PicLinkMode=pie needs the name of the blob's entry symbol (e.g. <PicEntryPoint>purgatory_start</PicEntryPoint>)");
        if (!string.IsNullOrWhiteSpace(LoadAddress) && !Rules.LoadAddress.TryParse(LoadAddress, out _, out _))
            Bad("PicLoadAddress", LoadAddress, Rules.LoadAddress.AcceptedForms);
        if (!string.IsNullOrWhiteSpace(MaxDiagnostics) && (!int.TryParse(MaxDiagnostics.Trim(), out int max) || max < 0))
            Bad("PicMaxDiagnostics", MaxDiagnostics, "a whole number of diagnostics per file, 0 for all");
        if (CodeModel is not null && !FlagPolicy.IsValidCodeModel(CodeModel))
            Bad("PicCodeModel", CodeModel, "small (default), medium, large, kernel; aarch64 tiny; riscv medlow, medany");
        if (Visibility is not null && !FlagPolicy.IsValidVisibility(Visibility))
            Bad("PicVisibility", Visibility, "hidden (default), default, protected or internal");
        foreach (var check in Checks)
        {
            if (Directory.Exists(check.GetMetadata("FullPath")))
                Bad($"PicCheck item '{check.ItemSpec}'", check.ItemSpec, "an ELF object, executable or ar archive file; this is a directory (list its files, e.g. dir/%2A.o)");
            string profile = check.GetMetadata("Profile");
            if (!string.IsNullOrWhiteSpace(profile) && !Profiles.TryGet(profile, out _))
                Bad($"Profile metadata of PicCheck item '{check.ItemSpec}'", profile, "one of: " + Profiles.Names);
        }
        foreach (var s in Suppressions)
            if (!Suppression.IsCode(s.ItemSpec))
                Bad("PicSuppress item", s.ItemSpec, "a PicGuard code such as PG0004, or a code glob such as PG00%2A (MSBuild expands a literal * against files)");
        return !Log.HasLoggedErrors;
    }

    private void Bad(string property, string? value, string accepted) => TaskLog.BadValue(Log, property, value, accepted, ProjectFile);
}
