using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Reading PicGuard's property and item values, for every task that takes them: each reader logs one
/// PG9004 naming the property and the values it accepts, pointing at the project, and says whether the
/// value was good. The accepted-value texts live here once.
/// </summary>
internal static class Settings
{
    public const string LinkModes = "relocatable (default), pie or none";
    public const string CodeModels = "small (default), medium, large, kernel; aarch64 tiny; riscv medlow, medany";
    public const string Visibilities = "hidden (default), default, protected or internal";
    public const string MaxDiagnosticsForm = "a whole number of diagnostics per file, 0 for all";
    public const string MaxLoggedDiagnosticsForm = "a whole number of diagnostics per build, 0 for all";
    public const string SuppressCodes = "a PicGuard code such as PG0004, or a code glob such as PG00%2A (MSBuild expands a literal * against files)";
    public static string ProfileNames => "one of: " + Profiles.Names;

    public static bool TryProfile(TaskLoggingHelper log, string property, string? value, string? project, out Profile profile)
    {
        if (Profiles.TryGet(value, out profile)) return true;
        TaskLog.BadValue(log, property, value, ProfileNames, project);
        return false;
    }

    /// <summary>Empty is fine: no load address (the profile's default applies).</summary>
    public static bool TryLoadAddress(TaskLoggingHelper log, string? value, string? project, out LoadAddress? address)
    {
        address = null;
        if (string.IsNullOrWhiteSpace(value)) return true;
        if (LoadAddress.TryParse(value, out var parsed, out _))
        {
            address = parsed;
            return true;
        }
        TaskLog.BadValue(log, "PicLoadAddress", value, LoadAddress.AcceptedForms, project);
        return false;
    }

    /// <summary>PicMaxDiagnostics: how many findings a file lists; empty means the default cap, 0 all.</summary>
    public static bool TryMaxDiagnostics(TaskLoggingHelper log, string? value, string? project, out int max) =>
        TryCount(log, "PicMaxDiagnostics", value, CheckOptions.Default.MaxDiagnosticsPerFile, MaxDiagnosticsForm, project, out max);

    /// <summary>PicMaxLoggedDiagnostics: how many findings one check logs to MSBuild; empty means the default, 0 all.</summary>
    public static bool TryMaxLoggedDiagnostics(TaskLoggingHelper log, string? value, string? project, out int max) =>
        TryCount(log, "PicMaxLoggedDiagnostics", value, DefaultMaxLoggedDiagnostics, MaxLoggedDiagnosticsForm, project, out max);

    /// <summary>A whole number >= 0 (0: no cap), or <paramref name="defaultValue"/> when empty; otherwise one PG9004 naming the property.</summary>
    private static bool TryCount(TaskLoggingHelper log, string property, string? value, int defaultValue, string form, string? project, out int max)
    {
        max = defaultValue;
        if (string.IsNullOrWhiteSpace(value)) return true;
        if (int.TryParse(value.Trim(), out max) && max >= 0) return true;
        TaskLog.BadValue(log, property, value, form, project);
        return false;
    }

    /// <summary>PicMaxLoggedDiagnostics when not set, as in PicGuard.Sdk.props.</summary>
    public const int DefaultMaxLoggedDiagnostics = 1000;

    /// <summary>PicSuppress items: Include is the code; metadata Symbol, Section, File (globs) and Justification.</summary>
    public static bool TrySuppressions(TaskLoggingHelper log, ITaskItem[] items, string? project, out List<Suppression> suppressions)
    {
        suppressions = new List<Suppression>();
        bool ok = true;
        foreach (var item in items)
        {
            if (!Suppression.IsCode(item.ItemSpec))
            {
                TaskLog.BadValue(log, "PicSuppress item", item.ItemSpec, SuppressCodes, project);
                ok = false;
                continue;
            }
            suppressions.Add(new Suppression(item.ItemSpec.ToUpperInvariant(), Metadata(item, "Symbol"), Metadata(item, "Section"), Metadata(item, "File"), Metadata(item, "Justification")));
        }
        return ok;
    }

    private static string? Metadata(ITaskItem item, string name) => item.GetMetadata(name) is { Length: > 0 } v ? v : null;
}
