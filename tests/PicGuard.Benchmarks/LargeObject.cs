using System.Diagnostics;

namespace PicGuard.Benchmarks;

/// <summary>
/// The object the benchmarks read: PICGUARD_BENCH_OBJECT if set, otherwise one written by
/// build/gen-relocs.py and assembled with as (PICGUARD_BENCH_RELOCATIONS relocations, 200,000 by default).
/// </summary>
public static class LargeObject
{
    public static string Create(string directory)
    {
        if (Environment.GetEnvironmentVariable("PICGUARD_BENCH_OBJECT") is { Length: > 0 } given)
            return given;
        int relocations = int.TryParse(Environment.GetEnvironmentVariable("PICGUARD_BENCH_RELOCATIONS"), out var n) ? n : 200_000;
        string source = Path.Combine(directory, "large.s");
        string obj = Path.Combine(directory, "large.o");
        Run("python3", Path.Combine(RepositoryRoot(), "build", "gen-relocs.py"), relocations.ToString(), source);
        Run("as", source, "-o", obj);
        return obj;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PicGuard.slnx")))
                return dir.FullName;
        throw new InvalidOperationException("repository root (PicGuard.slnx) not found above the benchmark assembly");
    }

    private static void Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { UseShellExecute = false })
            ?? throw new InvalidOperationException($"cannot start {file}");
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {p.ExitCode}");
    }
}
