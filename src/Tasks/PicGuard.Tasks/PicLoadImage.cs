using Microsoft.Build.Framework;
using PicGuard.Loaders;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Places the linked blob at <c>PicLoadImageBase</c> as its profile's loader does (<c>picguard load</c>) and writes the
/// image beside it. Loader errors are logged as the PG findings, with the loader's own message, and nothing is written.
/// </summary>
public sealed class PicLoadImage : Microsoft.Build.Utilities.Task
{
    /// <summary>The linked blob (an ld -r object).</summary>
    [Required]
    public string Blob { get; set; } = "";

    /// <summary>Loader profile (property PicProfile); it must have a loader model.</summary>
    public string? Profile { get; set; }

    /// <summary>Where the loader places the blob (property PicLoadImageBase), e.g. 0x100000000.</summary>
    [Required]
    public string Base { get; set; } = "";

    /// <summary>The image file to write (property PicLoadImagePath).</summary>
    [Required]
    public string ImagePath { get; set; } = "";

    /// <summary>The project, so configuration errors point at it.</summary>
    public string? ProjectFile { get; set; }

    public override bool Execute()
    {
        if (!Settings.TryProfile(Log, "PicProfile", Profile, ProjectFile, out var profile)) return false;
        if (LoaderModels.For(profile) is null)
        {
            TaskLog.BadValue(Log, "PicProfile (with PicLoadImageBase set)", profile.Name, $"a profile whose loader PicGuard models: {LoaderModels.ProfileNames}", ProjectFile);
            return false;
        }
        if (!BlobLoad.TryParseBase(Base, out ulong address, out _))
        {
            TaskLog.BadValue(Log, "PicLoadImageBase", Base, "one address, e.g. 0x100000000 (hexadecimal) or a decimal number", ProjectFile);
            return false;
        }
        var request = new LoadRequest(Blob, profile, address, []) { BaseName = "PicLoadImageBase" };
        var outcome = BlobLoad.Run(request);
        foreach (var d in outcome.Diagnostics)
            TaskLog.Diagnostic(Log, d, d.Rule == RuleCatalog.BadConfiguration ? ProjectFile ?? Blob : Blob);
        if (!outcome.Succeeded)
        {
            // An image from an earlier base or blob would be taken for this one: it goes, and the next build loads again.
            try { File.Delete(ImagePath); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            return false;
        }
        try
        {
            BlobLoad.WriteImage(ImagePath, outcome.Result!.Image);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TaskLog.Rule(Log, RuleCatalog.BadConfiguration, ProjectFile, $"PicLoadImagePath '{ImagePath}' cannot be written: {e.Message}");
            return false;
        }
        Log.LogMessage(MessageImportance.High, "PicGuard: " + BlobLoad.FormatLayout(request, outcome.Result!, ImagePath).TrimEnd().Replace("\n", "\n  "));
        return !Log.HasLoggedErrors;
    }
}
