using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using PicGuard.Diagnostics;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Validates the relocations of ELF objects and archives (<c>@(PicCheck)</c>) and logs every
/// finding as a canonical MSBuild error or warning with its PG code and help link, pointing at the
/// source line when debug info names it. Item metadata <c>Profile</c> and <c>CheckUndefined</c> override per file.
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

    /// <summary>Confined sections, globs separated by ';' (property PicRestrictedSections, PG0004).</summary>
    public string? RestrictedSections { get; set; }

    /// <summary>Sections confined code may reach (property PicAllowedTargetSections).</summary>
    public string? AllowedTargetSections { get; set; }

    /// <summary>Where the loader places the blob (property PicLoadAddress, PG0007).</summary>
    public string? LoadAddress { get; set; }

    /// <summary>Most diagnostics listed per file (property PicMaxDiagnostics; 0 = all).</summary>
    public string? MaxDiagnostics { get; set; }

    /// <summary>
    /// Most findings logged to MSBuild by this check (property PicMaxLoggedDiagnostics; 0 = all), as a compiler's error
    /// limit: past it findings are counted, and only the first of each code not yet logged is still logged, so every code
    /// (and its NoWarn/WarningsAsErrors) still shows and a failing check still fails the build.
    /// </summary>
    public string? MaxLoggedDiagnostics { get; set; }

    /// <summary>Accepted findings (items PicSuppress: Include = code, metadata Symbol, Section, File, Justification).</summary>
    public ITaskItem[] Suppressions { get; set; } = [];

    /// <summary>Only these codes are reported (globs; empty = all). The pre-link input check asks for LTO and format problems only.</summary>
    public string? OnlyRules { get; set; }

    /// <summary>The project, so configuration errors point at it.</summary>
    public string? ProjectFile { get; set; }

    /// <summary>Number of relocations examined, for the summary and for tests.</summary>
    [Output]
    public int RelocationCount { get; private set; }

    public override bool Execute()
    {
        if (!TryOptions(out var options, out var defaultProfile)) return false;
        if (!Settings.TryMaxLoggedDiagnostics(Log, MaxLoggedDiagnostics, ProjectFile, out int maxLogged)) return false;
        var logged = new LoggedDiagnostics(maxLogged);

        // Findings as MSBuild counts them (one per logged error or warning) and the places they stand for.
        int errors = 0, warnings = 0, errorPlaces = 0, warningPlaces = 0, suppressed = 0, omitted = 0, unlogged = 0;
        // Past PicMaxLoggedDiagnostics the checker lists only what can still be logged (the first of each new code):
        // source lines and instructions of findings nobody sees are not worth their time.
        var room = maxLogged > 0 ? new ListingRoom(maxLogged) : null;
        var bitcode = new BitcodeInputs(); // the LLVM bitcode of every file, for PG0013 over them together

        // Logs a finding if the log still takes it, and counts it as MSBuild does.
        bool LogFinding(Diagnostic d, string itemSpec)
        {
            if (!logged.Admit(d)) return false;
            TaskLog.Diagnostic(Log, d, itemSpec);
            if (d.Severity == Severity.Error) errors++;
            else if (d.Severity == Severity.Warning) warnings++;
            return true;
        }

        // Files are checked in parallel, in runs of items with the same options (most builds: one run), and logged in item order.
        var items = new List<(ITaskItem Item, CheckOptions Options)>();
        foreach (var item in Files)
        {
            var profile = defaultProfile;
            string perItem = item.GetMetadata("Profile");
            if (!string.IsNullOrWhiteSpace(perItem) && !Profiles.TryGet(perItem, out profile))
            {
                TaskLog.BadValue(Log, $"Profile metadata of item '{item.ItemSpec}'", perItem, Settings.ProfileNames, ProjectFile);
                continue;
            }
            items.Add((item, options with
            {
                Profile = profile,
                CheckUndefinedSymbols = bool.TryParse(item.GetMetadata("CheckUndefined"), out bool checkUndefined) ? checkUndefined : null,
            }));
        }
        for (int start = 0; start < items.Count;)
        {
            int end = start + 1;
            while (end < items.Count && items[end].Options == items[start].Options) end++;
            var run = items.GetRange(start, end - start);
            new Checker(run[0].Options).CheckFiles(run.Select(r => r.Item.GetMetadata("FullPath")).ToList(), result => result, (i, result) =>
            {
                var item = run[i].Item;
                RelocationCount = (int)Math.Min(int.MaxValue, RelocationCount + result.Relocations);
                int placesLogged = 0;
                foreach (var d in result.Diagnostics)
                    if (LogFinding(d, item.ItemSpec) && d.Severity is Severity.Error or Severity.Warning)
                        placesLogged += d.Occurrences;
                foreach (var (d, by) in result.Suppressed)
                    Log.LogMessage(MessageImportance.Normal, $"PicGuard: suppressed {d.Code} in {d.Object}: {d.Message}{(by.Justification is { Length: > 0 } j ? $" (justification: {j})" : "")}");
                // Once the log is full, what a file did not log is counted once at the end: how much of it the checker
                // left unlisted depends on timing, and a line per file would say nothing the log could still show.
                if (logged.Full)
                    unlogged += result.Errors + result.Warnings - placesLogged;
                else
                {
                    if (result.Omitted > 0)
                        Log.LogMessage(MessageImportance.High, $"PicGuard: {item.ItemSpec}: {result.Omitted} more finding(s) not listed (PicMaxDiagnostics={options.MaxDiagnosticsPerFile}).");
                    omitted += result.Omitted;
                }
                errorPlaces += result.Errors;
                warningPlaces += result.Warnings;
                suppressed += result.Suppressed.Count;
            }, bitcode: bitcode, room: room);
            start = end;
        }
        // Code models that disagree among the bitcode inputs of the link (PG0013): one finding per group, over all the files.
        var across = new Checker(options).CodeModelConflicts(bitcode);
        foreach (var d in across.Diagnostics)
            if (!LogFinding(d, Files.FirstOrDefault(f => f.GetMetadata("FullPath") == d.File)?.ItemSpec ?? d.File) && d.Severity is Severity.Error or Severity.Warning)
                unlogged += d.Occurrences;
        errorPlaces += across.Errors;
        warningPlaces += across.Warnings;
        suppressed += across.Suppressed.Count;
        if (unlogged > 0)
            Log.LogMessage(MessageImportance.High,
                $"PicGuard: {unlogged} more finding(s) not logged (PicMaxLoggedDiagnostics={maxLogged}; 0 logs all): `picguard check` lists them, or set the property.");
        Log.LogMessage(MessageImportance.Normal,
            $"PicGuard: checked {Files.Length} file(s), {RelocationCount} relocation(s): {Counted(errors, errorPlaces, "error")}, {Counted(warnings, warningPlaces, "warning")}, {suppressed} suppressed, {omitted} not listed{(unlogged > 0 ? $", {unlogged} not logged" : "")}.");
        return !Log.HasLoggedErrors;
    }

    /// <summary>Which findings reach the MSBuild log under PicMaxLoggedDiagnostics: the first N, then the first of each code not yet logged.</summary>
    private sealed class LoggedDiagnostics(int max)
    {
        private readonly HashSet<string> _codes = new(StringComparer.Ordinal);
        private int _logged;

        /// <summary>The first N are logged: from now on, only a finding of a new code is.</summary>
        public bool Full => max > 0 && _logged >= max;

        public bool Admit(Diagnostic d)
        {
            bool newCode = _codes.Add(d.Code);
            if (max == 0 || _logged < max || newCode)
            {
                _logged++;
                return true;
            }
            return false;
        }
    }

    /// <summary>"3 error(s)", or "3 error(s) at 40 place(s)" when identical findings collapsed or some were not listed.</summary>
    private static string Counted(int findings, int places, string what) =>
        places == findings ? $"{findings} {what}(s)" : $"{findings} {what}(s) at {places} place(s)";

    /// <summary>Reads the properties into checker options; every bad value is one PG9004 naming the property.</summary>
    private bool TryOptions(out CheckOptions options, out Profile profile)
    {
        bool ok = Settings.TryProfile(Log, "PicProfile", Profile, ProjectFile, out profile);
        ok &= Settings.TryLoadAddress(Log, LoadAddress, ProjectFile, out var load);
        ok &= Settings.TryMaxDiagnostics(Log, MaxDiagnostics, ProjectFile, out int max);
        ok &= Settings.TrySuppressions(Log, Suppressions, ProjectFile, out var suppressions);
        options = new CheckOptions(profile ?? Profiles.Generic, AllowedUndefined: AllowUndefined.Select(a => a.ItemSpec).ToArray())
        {
            RestrictedSections = List(RestrictedSections),
            AllowedTargetSections = List(AllowedTargetSections),
            LoadAddress = load,
            MaxDiagnosticsPerFile = max,
            Suppressions = suppressions,
            OnlyRules = List(OnlyRules),
        };
        return ok;
    }

    private static string[] List(string? value) =>
        (value ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
