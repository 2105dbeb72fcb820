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
            var result = new Checker(new CheckOptions(profile)).CheckFile(item.GetMetadata("FullPath"));
            RelocationCount += (int)Math.Min(int.MaxValue, result.Relocations);
            foreach (var d in result.Diagnostics)
            {
                LogDiagnostic(d, item.ItemSpec);
                if (d.Severity == Severity.Error) errors++;
                if (d.Severity == Severity.Warning) warnings++;
            }
        }
        Log.LogMessage(MessageImportance.Normal,
            $"PicGuard: checked {Files.Length} file(s), {RelocationCount} relocation(s): {errors} error(s), {warnings} warning(s).");
        return !Log.HasLoggedErrors;
    }

    private void LogDiagnostic(Diagnostic d, string itemSpec)
    {
        // The file is the item as the user wrote it; for archive members the message names the member.
        string file = itemSpec;
        string message = d.Object == d.File ? d.MessageWithContext : $"{d.Object}: {d.MessageWithContext}";
        switch (d.Severity)
        {
            case Severity.Error:
                Log.LogError(null, d.Code, d.Code, d.Rule.HelpUri, file, 0, 0, 0, 0, message);
                break;
            case Severity.Warning:
                Log.LogWarning(null, d.Code, d.Code, d.Rule.HelpUri, file, 0, 0, 0, 0, message);
                break;
            default:
                Log.LogMessage(null, d.Code, d.Code, file, 0, 0, 0, 0, MessageImportance.Normal, message);
                break;
        }
    }

    private void LogConfigurationError(string property, string value) =>
        Log.LogError(null, "PG9004", "PG9004", Rule.HelpBase + "PG9004.md", null, 0, 0, 0, 0,
            $"{property} is '{value}', which is not a PicGuard profile; use one of: {Profiles.Names}");
}
