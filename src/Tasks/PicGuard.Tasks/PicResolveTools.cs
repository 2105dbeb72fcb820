using System.Text.RegularExpressions;
using Microsoft.Build.Framework;
using PicGuard.Build;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>
/// Finds the compiler and linker, and tells gcc from clang and GNU ld from lld by their
/// <c>--version</c>. The probe is cached in memory for the life of the MSBuild process and, when
/// <see cref="CacheFile"/> is set, on disk for later builds; both are keyed by the tool's path and
/// the size and timestamp of the file it resolves to, so an upgraded tool is probed again.
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
    /// <summary>Where earlier probes are kept (one line per tool); empty for no disk cache.</summary>
    public string? CacheFile { get; set; }
    /// <summary>PicCompilerLauncher: a launcher command (ccache, sccache, distcc, icecc), optionally with arguments; empty for none.</summary>
    public string? CompilerLauncher { get; set; }
    /// <summary>The project, so every error points at it.</summary>
    public string? ProjectFile { get; set; }

    [Output] public string? CompilerPath { get; private set; }
    /// <summary><c>gcc</c> or <c>clang</c>.</summary>
    [Output] public string? CompilerFamily { get; private set; }
    [Output] public string? CompilerVersion { get; private set; }
    [Output] public string? LinkerPath { get; private set; }
    /// <summary><c>bfd</c> or <c>lld</c>.</summary>
    [Output] public string? LinkerFlavor { get; private set; }
    /// <summary>The launcher's full path, and its arguments as a command line; empty without a launcher.</summary>
    [Output] public string? LauncherPath { get; private set; }
    [Output] public string? LauncherArguments { get; private set; }

    [GeneratedRegex(@"(\d+\.\d+(\.\d+)?)")]
    private static partial Regex VersionNumber();

    public override bool Execute()
    {
        if (ProbeCompiler && !string.IsNullOrWhiteSpace(CompilerLauncher)) ResolveLauncher(CompilerLauncher);
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

    /// <summary>The launcher's first word is the tool (found like a compiler); the rest are its own arguments.</summary>
    private void ResolveLauncher(string launcher)
    {
        IReadOnlyList<string> words;
        try
        {
            words = FlagPolicy.Split(launcher);
        }
        catch (FormatException e)
        {
            TaskLog.BadValue(Log, "PicCompilerLauncher", launcher, $"a command quoted as in a shell, such as ccache or distcc ({e.Message})", ProjectFile);
            return;
        }
        if (words.Count == 0) return;
        string? path = ToolLocator.Find(words[0]);
        if (path is null)
        {
            TaskLog.Rule(Log, RuleCatalog.ToolNotFound, ProjectFile,
                $"PicCompilerLauncher is '{launcher}', but '{words[0]}' was not found{(words[0].Contains('/') ? "" : " on PATH")}; install it ({ToolLocator.InstallHint(words[0])}), set PicCompilerLauncher to its full path, or leave it empty to compile without a launcher");
            return;
        }
        LauncherPath = path;
        LauncherArguments = string.Join(' ', words.Skip(1).Select(ProcessRunner.Quote));
    }

    private sealed record ToolIdentity(string Path, string VersionText, string Version);

    private ToolIdentity? Probe(string property, string tool)
    {
        string? path = ToolLocator.Find(tool);
        if (path is null)
        {
            TaskLog.Rule(Log, RuleCatalog.ToolNotFound, ProjectFile,
                $"{property} is '{tool}', which was not found{(tool.Contains('/') ? "" : " on PATH")}; install it ({ToolLocator.InstallHint(tool)}) or set {property} to the tool's full path");
            return null;
        }
        string stamp = Stamp(path);
        string key = $"PicGuard.ToolIdentity:{stamp}";
        if (BuildEngine4.GetRegisteredTaskObject(key, RegisteredTaskObjectLifetime.AppDomain) is ToolIdentity cached)
            return cached;
        if (ReadCache(stamp) is { } line)
        {
            var known = new ToolIdentity(path, line, VersionNumber().Match(line).Value);
            BuildEngine4.RegisterTaskObject(key, known, RegisteredTaskObjectLifetime.AppDomain, allowEarlyCollection: true);
            return known;
        }
        ProcessRunner.Result r;
        try
        {
            r = ProcessRunner.Run(path, ["--version"], Directory.GetCurrentDirectory());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            TaskLog.Rule(Log, RuleCatalog.ToolNotFound, ProjectFile, $"{property} is '{tool}' ({path}), which cannot be run: {e.Message}");
            return null;
        }
        string first = r.Output.Split('\n').FirstOrDefault()?.Trim() ?? "";
        var identity = new ToolIdentity(path, first, VersionNumber().Match(first).Value);
        if (r.ExitCode == 0 && first.Length > 0)
        {
            // Only a clean answer is kept: a tool that failed to start is probed again next time.
            BuildEngine4.RegisterTaskObject(key, identity, RegisteredTaskObjectLifetime.AppDomain, allowEarlyCollection: true);
            WriteCache(stamp, first);
        }
        Log.LogMessage(MessageImportance.Low, $"PicGuard: {property} {path}: {first}");
        return identity;
    }

    /// <summary>The tool as invoked, the file it resolves to, and that file's size and timestamp.</summary>
    private static string Stamp(string path)
    {
        FileSystemInfo file = new FileInfo(path);
        try
        {
            file = file.ResolveLinkTarget(returnFinalTarget: true) ?? file;
        }
        catch (IOException)
        {
            // A broken or looping link: stamp the path itself, the probe reports the real problem.
        }
        long size = file is FileInfo { Exists: true } f ? f.Length : -1;
        return $"{path}|{file.FullName}|{size}|{file.LastWriteTimeUtc.Ticks}";
    }

    private string? ReadCache(string stamp)
    {
        if (string.IsNullOrEmpty(CacheFile)) return null;
        try
        {
            if (!File.Exists(CacheFile)) return null;
            foreach (var line in File.ReadLines(CacheFile))
            {
                int tab = line.IndexOf('\t');
                if (tab > 0 && line.AsSpan(0, tab).SequenceEqual(stamp))
                    return line[(tab + 1)..];
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogMessage(MessageImportance.Low, $"PicGuard: tool cache {CacheFile} not read: {e.Message}");
        }
        return null;
    }

    private void WriteCache(string stamp, string versionLine)
    {
        if (string.IsNullOrEmpty(CacheFile) || stamp.Contains('\t') || stamp.Contains('\n')) return;
        try
        {
            var lines = File.Exists(CacheFile)
                ? File.ReadLines(CacheFile).Where(l => !l.StartsWith(stamp.Split('|')[0] + "|", StringComparison.Ordinal)).ToList()
                : new List<string>();
            lines.Add(stamp + "\t" + versionLine);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(CacheFile))!);
            string temp = CacheFile + "." + Environment.ProcessId + ".tmp";
            File.WriteAllLines(temp, lines);
            File.Move(temp, CacheFile, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogMessage(MessageImportance.Low, $"PicGuard: tool cache {CacheFile} not written: {e.Message}");
        }
    }
}
