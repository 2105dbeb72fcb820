using System.Diagnostics;

namespace PicGuard.Tests;

/// <summary>Runs the real compilers, linkers and binutils the tests build their inputs with.</summary>
public static class Toolchain
{
    public const string Gcc = "gcc";
    public const string Clang = "clang-19";
    public const string Ld = "ld";
    public const string Lld = "ld.lld-19";

    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public string All => StdOut + StdErr;
    }

    public static Result Run(string file, IEnumerable<string> args, string? workingDirectory = null, IDictionary<string, string?>? environment = null, int timeoutMs = 600_000)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        if (environment is not null)
            foreach (var (k, v) in environment)
                if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeoutMs} ms");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    public static Result RunChecked(string file, params string[] args)
    {
        var r = Run(file, args);
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({r.ExitCode}):\n{r.All}");
        return r;
    }

    /// <summary>Writes <paramref name="source"/> to <paramref name="dir"/> and compiles it with <c>-c</c>; returns the object path.</summary>
    public static string Compile(string dir, string name, string source, string compiler, params string[] flags)
    {
        string src = Path.Combine(dir, name);
        File.WriteAllText(src, source);
        string obj = Path.Combine(dir, Path.GetFileNameWithoutExtension(name) + "." + compiler + ".o");
        RunChecked(compiler, [.. flags, "-c", src, "-o", obj]);
        return obj;
    }

    /// <summary>
    /// Compiles freestanding <paramref name="source"/> for another architecture with clang's
    /// <c>--target=</c> (<c>-ffreestanding -nostdinc</c>: no target headers needed); returns the object path.
    /// </summary>
    public static string CompileForTarget(string dir, string name, string source, string target, params string[] flags)
    {
        string src = Path.Combine(dir, name);
        File.WriteAllText(src, source);
        string obj = Path.Combine(dir, $"{Path.GetFileNameWithoutExtension(name)}.{target}.o");
        RunChecked(Clang, [$"--target={target}", "-ffreestanding", "-nostdinc", .. flags, "-c", src, "-o", obj]);
        return obj;
    }

    public static string Archive(string dir, string name, params string[] members)
    {
        string path = Path.Combine(dir, name);
        File.Delete(path);
        RunChecked("ar", ["rcs", path, .. members]);
        return path;
    }

    public static string ReadElf(params string[] args) => RunChecked("readelf", args).StdOut;
}

/// <summary>A temp directory deleted after the test.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("picguard-test-").FullName;
    public string this[string name] => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Sources the tests compile: each one produces one construct under the right flags.</summary>
public static class Sources
{
    /// <summary>Array indexing and address-of: R_X86_64_32S under -mcmodel=kernel -fno-pic.</summary>
    public const string GlobalTable = """
        int table[16];
        int *table_address(void) { return &table[0]; }
        int table_at(long i) { return table[i]; }
        """;

    /// <summary>An extern declaration: reached through the GOT under -fpic unless hidden.</summary>
    public const string ExternVariable = """
        extern int external_counter;
        int read_external(void) { return external_counter; }
        """;

    /// <summary>Position-independent under the policy: static data only.</summary>
    public const string StaticOnly = """
        static int counter;
        int bump(void) { return ++counter; }
        """;
}
