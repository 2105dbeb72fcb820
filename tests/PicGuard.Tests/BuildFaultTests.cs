using System.Diagnostics;
using System.Text.RegularExpressions;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// Faults during a real `dotnet build` of the packed SDK: Ctrl+C during the link, the compiler killed,
/// a full disk under the blob, a read-only source tree, a source deleted between builds, and several
/// projects compiling one shared tree at once. Each leaves nothing half-written, and the next build recovers.
/// </summary>
[TestClass]
public sealed class BuildFaultTests
{
    private static int Count(string log, string what) => SdkPackage.CountBeforeSummary(log, what);

    private static string Project(string properties, string items) => SdkPackage.SdkProject(
        $"<PicEntryPoint>purgatory_start</PicEntryPoint><PicCompiler>gcc</PicCompiler><EnableDefaultPicSourceItems>false</EnableDefaultPicSourceItems>{properties}", items);

    /// <summary>An entry calling work(), as FailedBuildStateTests writes it beside its interruptible linker.</summary>
    private const string Entry = FailedBuildStateTests.Entry;

    /// <summary>
    /// Starts `dotnet build` in the background with a marker in its environment, so its processes can be found;
    /// its output gathers in <paramref name="log"/>, for the message of an assertion that fails.
    /// </summary>
    private static Process StartBuild(string dir, string marker, out System.Text.StringBuilder log, params string[] args)
    {
        // Through env --default-signal=INT: a test run started in the background (`&`, nohup) ignores SIGINT, every
        // child inherits that, and the build would never see the Ctrl+C a user at a terminal sends.
        var psi = new ProcessStartInfo("env") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["--default-signal=INT", "dotnet", "build", "-nodeReuse:false", "-v:n", .. args]) psi.ArgumentList.Add(a);
        foreach (var (k, v) in SdkPackage.Environment())
            if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        psi.Environment["PICGUARD_TEST_BUILD"] = marker;
        var build = Process.Start(psi)!;
        var output = log = new System.Text.StringBuilder();
        build.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        build.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        build.BeginOutputReadLine();
        build.BeginErrorReadLine();
        return build;
    }

    private static void WaitFor(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition() && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.IsTrue(condition(), what);
    }

    [TestMethod]
    public void CtrlC_DuringTheLink_StopsTheLinker_KeepsThePreviousBlob_AndTheNextBuildRelinks()
    {
        using var dir = new TempDir();
        string linker = FailedBuildStateTests.WriteInterruptibleLinker(dir, out string tools);
        SdkPackage.WriteProject(dir.Path, Project($"<PicLinker>{linker}</PicLinker>", """<PicSource Include="entry.S;work.c" />"""), "blob.csproj");
        Assert.AreEqual(0, SdkPackage.Build(dir.Path).ExitCode);
        string blob = dir["bin/Debug/blob.ro"];
        byte[] before = File.ReadAllBytes(blob);

        File.WriteAllText(dir["work.c"], "int work(void) { return 2; }\n");
        File.WriteAllText(Path.Combine(tools, "interrupt"), "");
        string marker = Guid.NewGuid().ToString("N");
        using (var build = StartBuild(dir.Path, marker, out var log))
        {
            WaitFor(() => File.Exists(Path.Combine(tools, "link-started")) || build.HasExited, TimeSpan.FromMinutes(5), "the build reached the link");
            Assert.IsFalse(build.HasExited, "the build waits for the linker");
            var stopwatch = Stopwatch.StartNew();
            RunChecked("kill", "-INT", build.Id.ToString());
            bool ended = build.WaitForExit(60_000);
            if (!ended) build.Kill(entireProcessTree: true);
            lock (log) Assert.IsTrue(ended, "Ctrl+C ends the build while the linker still has minutes to run; the build printed:\n" + log);
            Assert.AreNotEqual(0, build.ExitCode);
            Assert.IsLessThan(60_000, stopwatch.ElapsedMilliseconds);
        }
        WaitFor(() => ProcessTable.WithEnvironment("PICGUARD_TEST_BUILD", marker).Length == 0, TimeSpan.FromSeconds(30), "Ctrl+C stops the linker too");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(blob), "the cancelled link leaves the previous blob as it was");
        Assert.IsEmpty(Directory.GetFiles(dir["bin/Debug"], "*.tmp"), "the cancelled link's partial output is removed");

        File.Delete(Path.Combine(tools, "interrupt"));
        var again = SdkPackage.Build(dir.Path, "-v:n");
        Assert.AreEqual(0, again.ExitCode, again.All);
        Assert.AreEqual(1, Count(again.All, "PicGuard: linked "), again.All);
    }

    [TestMethod]
    public void KilledCompiler_FailsThatSource_LeavesNoObject_AndTheNextBuildCompilesIt()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["entry.S"], Entry);
        // Enough work that gcc -O2 is still running when the test finds it.
        var big = new System.Text.StringBuilder("int work(void) { return 1; }\n");
        for (int i = 0; i < 1500; i++)
            big.Append($"unsigned long f{i}(unsigned long x) {{ for (int k = 0; k < {i % 7 + 3}; k++) x = x * {i + 3} + (x >> {i % 13 + 1}); return x; }}\n");
        File.WriteAllText(dir["work.c"], big.ToString());
        SdkPackage.WriteProject(dir.Path, Project("<PicCFlags>-O2</PicCFlags>", """<PicSource Include="entry.S;work.c" />"""), "blob.csproj");

        string marker = Guid.NewGuid().ToString("N");
        int killed = 0;
        using (var build = StartBuild(dir.Path, marker, out _))
        {
            WaitFor(() => killed > 0 || build.HasExited || (killed = KillCompilerProper(marker)) > 0, TimeSpan.FromMinutes(5), "the build ended or its compiler was found");
            Assert.IsGreaterThan(0, killed, "the compiler was found running and killed");
            Assert.IsTrue(build.WaitForExit(120_000));
            Assert.AreNotEqual(0, build.ExitCode, "a killed compiler fails the build");
        }
        string objects = dir["obj/Debug/picguard/obj"];
        Assert.IsFalse(File.Exists(Path.Combine(objects, "work.c.o")), "no object from a killed compile");
        Assert.IsFalse(File.Exists(Path.Combine(objects, "work.c.o.tmp")), "no partial object either");

        var again = SdkPackage.Build(dir.Path, "-v:n");
        Assert.AreEqual(0, again.ExitCode, again.All);
        StringAssert.Contains(again.All, "PicGuard: compiled work.c");
        Assert.IsTrue(File.Exists(dir["bin/Debug/blob.ro"]));
    }

    /// <summary>
    /// Sends SIGKILL to the running cc1 that compiles work.c for the build with <paramref name="marker"/>;
    /// returns its pid, or 0 if none runs yet (one that already ended and waits to be reaped does not count).
    /// </summary>
    private static int KillCompilerProper(string marker)
    {
        foreach (int pid in ProcessTable.WithEnvironment("PICGUARD_TEST_BUILD", marker))
        {
            string comm, stat, cmdline;
            try
            {
                comm = File.ReadAllText($"/proc/{pid}/comm").Trim();
                stat = File.ReadAllText($"/proc/{pid}/stat");
                cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            }
            catch (IOException) { continue; }
            // stat is "pid (comm) S …": the state letter follows the last ')'.
            char state = stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault();
            if (comm != "cc1" || state is 'Z' or 'X' || !cmdline.Contains("work.c", StringComparison.Ordinal)) continue;
            if (Run("kill", ["-KILL", pid.ToString()]).ExitCode == 0) return pid;
        }
        return 0;
    }

    /// <summary>Mounts a tmpfs of <paramref name="size"/> at <paramref name="path"/>, or ends the test as inconclusive where mounting is not allowed.</summary>
    private static void MountTmpfs(string path, string size, string options = "")
    {
        Directory.CreateDirectory(path);
        var r = Run("mount", ["-t", "tmpfs", "-o", $"size={size}{options}", "tmpfs", path]);
        if (r.ExitCode != 0) Assert.Inconclusive($"this machine does not let the test mount a tmpfs: {r.All}");
    }

    [TestMethod]
    public void FullDisk_UnderTheBlob_IsOneLinkerError_LeavesNothingThere_AndTheNextBuildRecovers()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["entry.S"], Entry);
        // 256 KiB of initialised data: more than the 64 KiB disk holds.
        File.WriteAllText(dir["work.c"], "const unsigned char table[262144] = { 1, 2, 3 };\nint work(void) { return table[7]; }\n");
        string full = dir["full"];
        MountTmpfs(full, "64k");
        try
        {
            SdkPackage.WriteProject(dir.Path, Project("<PicOutputPath>full/blob.ro</PicOutputPath>", """<PicSource Include="entry.S;work.c" />"""), "blob.csproj");

            var r = SdkPackage.Build(dir.Path, "-v:n");

            Assert.AreNotEqual(0, r.ExitCode, r.All);
            StringAssert.Matches(r.All, new Regex(@"error PG2101: .*No space left on device"), r.All);
            Assert.DoesNotContain("MSB4018", r.All);
            Assert.IsEmpty(Directory.GetFileSystemEntries(full), "neither a blob nor a partial temp file is left on the full disk");

            // The command line's SARIF log on the same full disk: one error naming the option, no partial log.
            string kernel = Compile(dir.Path, "kernel.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
            string[] many = Enumerable.Range(0, 40).Select(i => { string copy = dir[$"k{i}.o"]; File.Copy(kernel, copy); return copy; }).ToArray();
            var (exit, _, err) = CliTests.Cli(["check", .. many, "--format", "sarif", "--output", Path.Combine(full, "check.sarif")]);
            Assert.AreNotEqual(0, exit);
            StringAssert.Contains(err, "No space left on device");
            Assert.IsEmpty(Directory.GetFileSystemEntries(full), "no partial SARIF log is left");

            var elsewhere = SdkPackage.Build(dir.Path, "-v:n", "-p:PicOutputPath=bin/blob.ro");
            Assert.AreEqual(0, elsewhere.ExitCode, elsewhere.All);
            Assert.AreEqual(0, Count(elsewhere.All, "PicGuard: compiled "), "the objects were fine: only the link runs again:\n" + elsewhere.All);
            Assert.IsTrue(File.Exists(dir["bin/blob.ro"]));
        }
        finally
        {
            Run("umount", [full]);
        }
    }

    [TestMethod]
    public void ReadOnlySourceTree_Builds_AndNothingIsWrittenThere()
    {
        using var root = new TempDir();
        string tree = root["tree"], view = root["read-only tree"];
        Directory.CreateDirectory(Path.Combine(tree, "arch"));
        File.WriteAllText(Path.Combine(tree, "arch", "entry.S"), Entry);
        File.WriteAllText(Path.Combine(tree, "work.c"), "#include \"work.h\"\nint work(void) { return WORK; }\n");
        File.WriteAllText(Path.Combine(tree, "work.h"), "#define WORK 5\n");
        Directory.CreateDirectory(view);
        var bind = Run("mount", ["--bind", "-o", "ro", tree, view]);
        if (bind.ExitCode != 0) Assert.Inconclusive($"this machine does not let the test make a read-only bind mount: {bind.All}");
        try
        {
            Run("mount", ["-o", "remount,ro,bind", view]);
            Assert.AreNotEqual(0, Run("touch", [Path.Combine(view, "probe")]).ExitCode, "the tree is read-only");
            var before = Directory.GetFileSystemEntries(tree, "*", SearchOption.AllDirectories).Order().ToArray();
            string project = root["project"];
            SdkPackage.WriteProject(project, Project("", """<PicSource Include="../read-only tree/**/*.c;../read-only tree/**/*.S" />"""), "blob.csproj");

            var r = SdkPackage.Build(project, "-v:n");

            Assert.AreEqual(0, r.ExitCode, r.All);
            Assert.AreEqual(2, Count(r.All, "PicGuard: compiled "), r.All);
            CollectionAssert.AreEqual(before, Directory.GetFileSystemEntries(tree, "*", SearchOption.AllDirectories).Order().ToArray(), "nothing was written into the source tree");
        }
        finally
        {
            Run("umount", [view]);
        }
    }

    [TestMethod]
    public void SourceDeletedBetweenBuilds_IsOnePG9003_AtTheProject_AndRestoringItBuilds()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["entry.S"], Entry);
        File.WriteAllText(dir["work.c"], "int work(void) { return 1; }\n");
        SdkPackage.WriteProject(dir.Path, Project("", """<PicSource Include="entry.S;work.c" />"""), "blob.csproj");
        Assert.AreEqual(0, SdkPackage.Build(dir.Path).ExitCode);

        File.Move(dir["work.c"], dir["work.c.away"]);
        var missing = SdkPackage.Build(dir.Path);

        Assert.AreEqual(1, missing.ExitCode, missing.All);
        Assert.AreEqual(1, Count(missing.All, "blob.csproj : error PG9003: PicSource 'work.c' not found"), missing.All);
        Assert.DoesNotContain("MSB4018", missing.All);
        Assert.DoesNotContain("PG2001", missing.All, "the compiler is not run on a file that is not there");

        File.Move(dir["work.c.away"], dir["work.c"]);
        var restored = SdkPackage.Build(dir.Path);
        Assert.AreEqual(0, restored.ExitCode, restored.All);
    }

    [TestMethod]
    public void SharedSources_CompiledByFourProjectsAtOnce_FiveRounds_GiveIdenticalBlobs_AndNoStrayFiles()
    {
        using var root = new TempDir();
        string shared = root["shared"];
        Directory.CreateDirectory(Path.Combine(shared, "arch"));
        File.WriteAllText(Path.Combine(shared, "arch", "entry.S"), Entry);
        File.WriteAllText(Path.Combine(shared, "work.h"), "unsigned long mix(unsigned long);\n");
        File.WriteAllText(Path.Combine(shared, "work.c"), "#include \"work.h\"\nint work(void) { return (int)mix(3); }\n");
        File.WriteAllText(Path.Combine(shared, "mix.c"), "#include \"work.h\"\nunsigned long mix(unsigned long x) { return x * 2654435761u; }\n");
        const int projects = 4;
        for (int i = 0; i < projects; i++)
            SdkPackage.WriteProject(root[$"blob{i}"], Project($"<PicCompiler>{(i % 2 == 0 ? Gcc : Clang)}</PicCompiler>",
                """<PicSource Include="../shared/**/*.c;../shared/**/*.S" />"""), $"blob{i}.csproj");
        SdkPackage.WriteNuGetConfig(root.Path);
        Assert.AreEqual(0, SdkPackage.Dotnet(root.Path, "new", "sln", "-n", "blobs").ExitCode);
        string solution = Directory.GetFiles(root.Path, "blobs.sln*").Single();
        var added = SdkPackage.Dotnet(root.Path, ["sln", solution, "add", .. Enumerable.Range(0, projects).Select(i => $"blob{i}/blob{i}.csproj")]);
        Assert.AreEqual(0, added.ExitCode, added.All);
        var sharedBefore = Directory.GetFileSystemEntries(shared, "*", SearchOption.AllDirectories).Order().ToArray();

        byte[]?[] first = new byte[]?[projects];
        for (int round = 0; round < 5; round++)
        {
            var r = SdkPackage.Dotnet(root.Path, "build", solution, "-m", "-nodeReuse:false", "--no-incremental", "-v:n");
            Assert.AreEqual(0, r.ExitCode, $"round {round}:\n{r.All}");
            Assert.AreEqual(projects * 3, Count(r.All, "PicGuard: compiled "), $"round {round}:\n{r.All}");
            for (int i = 0; i < projects; i++)
            {
                byte[] blob = File.ReadAllBytes(root[$"blob{i}/bin/Debug/blob{i}.ro"]);
                if (first[i] is null) first[i] = blob;
                else CollectionAssert.AreEqual(first[i], blob, $"blob{i} differs in round {round}");
                var database = System.Text.Json.JsonDocument.Parse(File.ReadAllText(root[$"blob{i}/obj/Debug/picguard/compile_commands.json"]));
                Assert.AreEqual(3, database.RootElement.GetArrayLength());
            }
        }
        // gcc blobs equal each other, clang blobs equal each other: the project's location is not in them.
        CollectionAssert.AreEqual(first[0], first[2]);
        CollectionAssert.AreEqual(first[1], first[3]);
        CollectionAssert.AreEqual(sharedBefore, Directory.GetFileSystemEntries(shared, "*", SearchOption.AllDirectories).Order().ToArray(), "nothing is written beside the shared sources");
        Assert.IsEmpty(Directory.GetFiles(root.Path, "*.tmp", SearchOption.AllDirectories), "no temp file is left anywhere");
    }
}
