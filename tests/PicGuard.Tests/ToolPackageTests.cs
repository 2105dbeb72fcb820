using PicGuard.Elf;
using System.IO.Compression;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// What `dotnet tool install PicGuard.Cli` gives a user: build/pack.sh writes the pointer package, the NativeAOT
/// linux-x64 package and the framework-dependent `any` fallback; on linux-x64 the installed picguard is the native
/// executable and prints what the in-process CLI prints.
/// </summary>
[TestClass]
public sealed class ToolPackageTests
{
    private const string Version = SdkPackage.Version;

    [TestMethod]
    public void PackScript_WritesThreeToolPackages_AndInstallInstallsTheNativeExecutable()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
            Assert.Inconclusive("the native tool package is built for linux-x64");
        using var dir = new TempDir();
        string packages = dir["packages"];
        // Built apart from the repository's bin/ and obj/ (--artifacts-path), into a feed of its own; packages restore
        // from the usual package folder, the tool installs into a fresh one (no earlier PicGuard.Cli 0.1.0 is reused).
        var environment = SdkPackage.Environment();
        environment.Remove("NUGET_PACKAGES");
        environment["PICGUARD_PACKAGES"] = packages;
        environment["PICGUARD_ARTIFACTS_PATH"] = dir["artifacts"];
        var pack = Run("bash", [Path.Combine(SdkPackage.RepositoryRoot, "build", "pack.sh")], SdkPackage.RepositoryRoot, environment);
        Assert.AreEqual(0, pack.ExitCode, pack.All);
        StringAssert.Contains(pack.StdOut, "pack: dotnet tool install PicGuard.Cli installs the native picguard on linux-x64");

        CollectionAssert.AreEquivalent(
            new[] { $"PicGuard.Cli.{Version}.nupkg", $"PicGuard.Cli.any.{Version}.nupkg", $"PicGuard.Cli.linux-x64.{Version}.nupkg", $"PicGuard.Sdk.{Version}.nupkg", $"PicGuard.Templates.{Version}.nupkg" },
            Directory.GetFiles(packages, "*.nupkg").Select(Path.GetFileName).ToArray());

        // The pointer package names both RID packages; the native one holds an ELF executable and no assembly to JIT;
        // the fallback is the managed picguard.dll the dotnet host runs.
        string pointer = Entry(Path.Combine(packages, $"PicGuard.Cli.{Version}.nupkg"), "DotnetToolSettings.xml");
        StringAssert.Contains(pointer, "RuntimeIdentifier=\"linux-x64\" Id=\"PicGuard.Cli.linux-x64\"");
        StringAssert.Contains(pointer, "RuntimeIdentifier=\"any\" Id=\"PicGuard.Cli.any\"");
        var native = Names(Path.Combine(packages, $"PicGuard.Cli.linux-x64.{Version}.nupkg"));
        CollectionAssert.Contains(native, "tools/any/linux-x64/picguard");
        Assert.IsFalse(native.Any(n => n.EndsWith(".dll", StringComparison.Ordinal) || n.EndsWith(".dbg", StringComparison.Ordinal)), string.Join("\n", native));
        var fallback = Names(Path.Combine(packages, $"PicGuard.Cli.any.{Version}.nupkg"));
        CollectionAssert.Contains(fallback, "tools/net10.0/any/picguard.dll");
        StringAssert.Contains(Entry(Path.Combine(packages, $"PicGuard.Cli.any.{Version}.nupkg"), "DotnetToolSettings.xml"), "Runner=\"dotnet\"");

        var installEnvironment = SdkPackage.Environment();
        installEnvironment["NUGET_PACKAGES"] = dir["nuget"];
        var install = Run("dotnet", ["tool", "install", "--tool-path", dir["tools"], "--add-source", packages, "PicGuard.Cli", "--version", Version], dir.Path, installEnvironment);
        Assert.AreEqual(0, install.ExitCode, install.All);
        string picguard = dir["tools/picguard"];
        string target = new FileInfo(picguard).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? picguard;
        StringAssert.Contains(target, "picguard.cli.linux-x64", "the linux-x64 package is the one installed");
        byte[] head = new byte[20];
        using (var f = File.OpenRead(target)) f.ReadExactly(head);
        CollectionAssert.AreEqual(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, head[..4], "the installed picguard is an ELF executable");
        Assert.AreEqual(2, head[16], "ET_EXEC: linked at a fixed address, so no pointer in its type data is relocated at start (PicGuard.Cli.csproj)");
        using (var executable = new ElfFile(File.ReadAllBytes(target)))
            Assert.IsFalse(executable.Sections.Any(s => executable.SectionName(s) == ".hydrated"), "the runtime's type data is stored whole in the file, not rebuilt at start");
        Assert.AreEqual(0, Directory.GetFiles(Path.GetDirectoryName(target)!, "*.dll").Length, "a native tool carries no assembly beside it");
        // The compiled-in runtime options: their names, then their values, each string stored once (two 1 MiB settings share "100000").
        byte[] image = File.ReadAllBytes(target);
        int options = image.AsSpan().IndexOf("\0GCgen0size\0"u8);
        Assert.IsGreaterThanOrEqualTo(0, options, "the executable carries its collector settings (PicGuard.Cli.csproj)");
        var settings = image.AsSpan(options, 64);
        Assert.IsGreaterThanOrEqualTo(0, settings.IndexOf("\0GCGen0MaxBudget\0"u8), "the gen 0 budget is capped, so it does not grow after the first collection");
        Assert.IsGreaterThanOrEqualTo(0, settings.IndexOf("\0100000\0"u8), "both at 1 MiB (the values are hex)");

        // The installed binary prints what the CLI prints in process.
        string kernel = Compile(dir.Path, "k.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        var installed = Run(picguard, ["check", kernel]);
        var inProcess = CliTests.Cli("check", kernel);
        Assert.AreEqual(inProcess.Exit, installed.ExitCode, installed.All);
        Assert.AreEqual(inProcess.Out, installed.StdOut);
        StringAssert.Contains(installed.StdOut, "error PG0001");

        // A relative path, from the directory that holds it: opened by its full path, reported as given.
        var relative = Run(picguard, ["check", Path.GetFileName(kernel)], Path.GetDirectoryName(kernel));
        Assert.AreEqual(inProcess.Exit, relative.ExitCode, relative.All);
        Assert.AreEqual(inProcess.Out.Replace(kernel, Path.GetFileName(kernel), StringComparison.Ordinal), relative.StdOut);

        // A file another process holds with an exclusive lock (this test process: .NET takes flock(LOCK_EX) for
        // FileShare.None) is still read: the tool takes no lock of its own (System.IO.DisableFileLocking), where it
        // used to report PG9003 "IO_SharingViolation_File".
        using (new FileStream(kernel, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            var locked = Run(picguard, ["check", kernel]);
            Assert.AreEqual(inProcess.Exit, locked.ExitCode, locked.All);
            Assert.AreEqual(inProcess.Out, locked.StdOut);
        }

        // Built without the runtime's messages (UseSystemResourceKeys), the tool still says what went wrong in words:
        // an exception's message there is a resource key and the temporary file's name ("IO_PathNotFound_Path, /…/.out.txt.….tmp").
        string output = Path.Combine(dir.Path, "missing", "out.txt");
        var unwritable = Run(picguard, ["check", "--output", output, kernel]);
        Assert.AreEqual(2, unwritable.ExitCode, unwritable.All);
        StringAssert.Contains(unwritable.StdErr, $"--output '{output}' cannot be written: no such file or directory");
        Assert.IsFalse(unwritable.StdErr.Contains("_Path", StringComparison.Ordinal) || unwritable.StdErr.Contains(".tmp", StringComparison.Ordinal), unwritable.StdErr);
    }

    private static string[] Names(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        return zip.Entries.Select(e => e.FullName).ToArray();
    }

    private static string Entry(string nupkg, string name)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var entry = zip.Entries.Single(e => e.Name == name);
        using var reader = new StreamReader(entry.Open());
        return reader.ReadToEnd();
    }
}
