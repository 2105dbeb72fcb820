using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using PicGuard.Diagnostics;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Validates the relocations of ELF objects and archives (<c>@(PicCheck)</c>) and logs every
/// finding as a canonical MSBuild error or warning with its PG code and help link.
/// Item metadata <c>Profile</c> overrides <see cref="Profile"/> per file.
/// </summary>
public sealed class PicValidate : Microsoft.Build.Utilities.Task
{
    /// <summary>ELF objects, executables or archives to check.</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = [];

    /// <summary>Loader profile for files without a <c>Profile</c> metadata (property <c>PicProfile</c>).</summary>
    public string? Profile { get; set; }

    /// <summary>Symbols the loader provides, exempt from PG0008 (items PicAllowUndefined; globs allowed).</summary>
    public ITaskItem[] AllowUndefined { get; set; } = [];

    /// <summary>Number of relocations examined, for the summary and for tests.</summary>
    [Output]
    public int RelocationCount { get; private set; }

    public override bool Execute()
    {
        if (!Profiles.TryGet(Profile, out var defaultProfile))
        {
            LogConfigurationError("PicProfile", Profile!);
            return false;
        }

        int errors = 0, warnings = 0;
        foreach (var item in Files)
        {
            var profile = defaultProfile;
            string perItem = item.GetMetadata("Profile");
            if (!string.IsNullOrWhiteSpace(perItem) && !Profiles.TryGet(perItem, out profile))
            {
                LogConfigurationError($"Profile metadata of PicCheck item '{item.ItemSpec}'", perItem);
                continue;
            }
            var options = new CheckOptions(profile,
                CheckUndefinedSymbols: bool.TryParse(item.GetMetadata("CheckUndefined"), out bool checkUndefined) ? checkUndefined : null,
                AllowedUndefined: AllowUndefined.Select(a => a.ItemSpec).ToArray());
            var result = new Checker(options).CheckFile(item.GetMetadata("FullPath"));
            RelocationCount += (int)Math.Min(int.MaxValue, result.Relocations);
            foreach (var d in result.Diagnostics)
            {
                TaskLog.Diagnostic(Log, d, item.ItemSpec);
                if (d.Severity == Severity.Error) errors++;
                if (d.Severity == Severity.Warning) warnings++;
            }
        }
        Log.LogMessage(MessageImportance.Normal,
            $"PicGuard: checked {Files.Length} file(s), {RelocationCount} relocation(s): {errors} error(s), {warnings} warning(s).");
        return !Log.HasLoggedErrors;
    }

    private void LogConfigurationError(string property, string value) =>
        TaskLog.Rule(Log, RuleCatalog.BadConfiguration, null, $"{property} is '{value}', which is not a PicGuard profile; use one of: {Profiles.Names}");
}
