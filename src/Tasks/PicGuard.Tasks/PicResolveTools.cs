using System.Text.RegularExpressions;
using Microsoft.Build.Framework;
using PicGuard.Build;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Finds the compiler and linker, and tells gcc from clang and GNU ld from lld by their
/// <c>--version</c>. The probe is cached for the rest of the build (per tool path and timestamp).
/// A tool that is not there is one PG1003 error naming the property and what to install.
/// </summary>
public sealed partial class PicResolveTools : Microsoft.Build.Utilities.Task
{
    /// <summary>PicCompiler: a name on PATH or a path.</summary>
    public string? Compiler { get; set; }
    /// <summary>PicLinker: a name on PATH or a path.</summary>
    public string? Linker { get; set; }
    /// <summary>Probe the compiler (there are sources to compile).</summary>
    public bool ProbeCompiler { get; set; } = true;
    /// <summary>Probe the linker (there is something to link).</summary>
    public bool ProbeLinker { get; set; } = true;

    [Output] public string? CompilerPath { get; private set; }
    /// <summary><c>gcc</c> or <c>clang</c>.</summary>
    [Output] public string? CompilerFamily { get; private set; }
    [Output] public string? CompilerVersion { get; private set; }
    [Output] public string? LinkerPath { get; private set; }
    /// <summary><c>bfd</c> or <c>lld</c>.</summary>
    [Output] public string? LinkerFlavor { get; private set; }

    [GeneratedRegex(@"(\d+\.\d+(\.\d+)?)")]
    private static partial Regex VersionNumber();

    public override bool Execute()
    {
        var compiler = ProbeCompiler ? Probe("PicCompiler", Compiler ?? "") : null;
        if (compiler is not null)
        {
            CompilerPath = compiler.Path;
            CompilerFamily = compiler.VersionText.Contains("clang", StringComparison.OrdinalIgnoreCase) ? "clang" : "gcc";
            CompilerVersion = compiler.Version;
        }
        if (ProbeLinker)
        {
            var linker = Probe("PicLinker", Linker ?? "");
            if (linker is not null)
            {
                LinkerPath = linker.Path;
                LinkerFlavor = linker.VersionText.Contains("LLD", StringComparison.Ordinal) ? "lld" : "bfd";
            }
        }
        return !Log.HasLoggedErrors;
    }

    private sealed record ToolIdentity(string Path, string VersionText, string Version);

    private ToolIdentity? Probe(string property, string tool)
    {
        string? path = ToolLocator.Find(tool);
        if (path is null)
        {
            TaskLog.Rule(Log, RuleCatalog.ToolNotFound, null,
                $"{property} is '{tool}', which was not found{(tool.Contains('/') ? "" : " on PATH")}; install it ({ToolLocator.InstallHint(tool)}) or set {property} to the tool's full path");
            return null;
        }
        string key = $"PicGuard.ToolIdentity:{path}:{File.GetLastWriteTimeUtc(path).Ticks}";
        if (BuildEngine4.GetRegisteredTaskObject(key, RegisteredTaskObjectLifetime.Build) is ToolIdentity cached)
            return cached;
        ProcessRunner.Result r;
        try
        {
            r = ProcessRunner.Run(path, ["--version"], Directory.GetCurrentDirectory());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            TaskLog.Rule(Log, RuleCatalog.ToolNotFound, null, $"{property} is '{tool}' ({path}), which cannot be run: {e.Message}");
            return null;
        }
        string first = r.Output.Split('\n').FirstOrDefault()?.Trim() ?? "";
        var identity = new ToolIdentity(path, first, VersionNumber().Match(first).Value);
        BuildEngine4.RegisterTaskObject(key, identity, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: true);
        Log.LogMessage(MessageImportance.Low, $"PicGuard: {property} {path}: {first}");
        return identity;
    }
}
