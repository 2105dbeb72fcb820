using System.Text.Json;
using System.Text.RegularExpressions;
using PicGuard.Build;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// Projects laid out as real ones are, through the packed SDK and the real `dotnet build`: sources in
/// subfolders and in a tree beside the project (shaped like kexec-tools' purgatory, with a same-named
/// util.c in two folders, `../` includes, spaces, a quote and non-ASCII in the path), the standalone
/// <c>Sdk="PicGuard.Sdk/x"</c> form with its default globs, Clean and Rebuild.
/// </summary>
[TestClass]
public sealed class RealLayoutTests
{
    /// <summary>The folder the kexec-tools-like tree lies in, beside the project: a space, a quote and non-ASCII.</summary>
    private const string TreeName = "kexec tools 'ü'";

    /// <summary>Every function or variable the blob must define, with the source that defines it.</summary>
    private static readonly (string Source, string Symbol)[] Definitions =
    [
        ("purgatory/purgatory.c", "purgatory_main"),
        ("purgatory/purgatory.c", "purgatory_seed"),
        ("purgatory/util.c", "generic_util"),
        ("purgatory/arch/x86_64/util.c", "arch_util"),
        ("purgatory/arch/x86_64/entry64.S", "purgatory_start"),
        ("purgatory/arch/x86_64/setup.s", "arch_setup"),
        ("project/sub dir/helper.c", "project_helper"),
    ];

    /// <summary>
    /// Writes the tree at <paramref name="root"/>/<see cref="TreeName"/>: include/purgatory.h (reached by -I and by
    /// ../ includes), purgatory/{purgatory,util}.c, purgatory/arch/x86_64/{util.c, arch.h, entry64.S, setup.s};
    /// and the in-project source project/sub dir/helper.c. Returns the project directory, root/project.
    /// </summary>
    private static string WriteTree(string root)
    {
        string tree = Path.Combine(root, TreeName);
        void Write(string relative, string text)
        {
            string path = Path.Combine(relative.StartsWith("project/", StringComparison.Ordinal) ? root : tree, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }
        Write("include/purgatory.h", """
            #ifndef PURGATORY_H
            #define PURGATORY_H
            extern unsigned long purgatory_seed;
            void purgatory_main(void);
            unsigned long generic_util(unsigned long);
            unsigned long arch_util(unsigned long);
            unsigned long project_helper(unsigned long);
            void arch_setup(void);
            #endif
            """);
        Write("purgatory/purgatory.c", """
            #include "purgatory.h"
            unsigned long purgatory_seed = 7;
            void purgatory_main(void)
            {
                arch_setup();
                purgatory_seed = generic_util(purgatory_seed) + arch_util(purgatory_seed) + project_helper(purgatory_seed);
            }
            """);
        Write("purgatory/util.c", """
            #include "../include/purgatory.h"
            unsigned long generic_util(unsigned long x) { return x * 3 + purgatory_seed; }
            """);
        Write("purgatory/arch/x86_64/arch.h", "#define ARCH_FACTOR 5\n");
        Write("purgatory/arch/x86_64/util.c", """
            #include "../../../include/purgatory.h"
            #include "arch.h"
            unsigned long arch_util(unsigned long x) { return x * ARCH_FACTOR; }
            """);
        Write("purgatory/arch/x86_64/entry64.S", """
            #include "arch.h"
                .text
                .globl purgatory_start
            purgatory_start:
                mov $ARCH_FACTOR, %eax
                call purgatory_main
                ret
            """);
        Write("purgatory/arch/x86_64/setup.s", """
                .text
                .globl arch_setup
                .hidden arch_setup
            arch_setup:
                ret
            """);
        Write("project/sub dir/helper.c", """
            #include "purgatory.h"
            unsigned long project_helper(unsigned long x) { return x ^ purgatory_seed; }
            """);
        return Path.Combine(root, "project");
    }

    private static string Properties(string compiler, string linker) => $"""
        <PicCompiler>{compiler}</PicCompiler>
        <PicLinker>{linker}</PicLinker>
        <PicProfile>kexec-purgatory</PicProfile>
        <PicEntryPoint>purgatory_start</PicEntryPoint>
        <PicCFlags>-O2 -Wall</PicCFlags>
        <PicIncludeDirectories>../{TreeName}/include</PicIncludeDirectories>
        """;

    private const string TreeSources = $"""
        <PicSource Include="../{TreeName}/purgatory/**/*.c;../{TreeName}/purgatory/**/*.S;../{TreeName}/purgatory/**/*.s" />
        """;

    private static int Count(string log, string what) => SdkPackage.CountBeforeSummary(log, what);

    /// <summary>Symbols the ELF file defines (not UND), from readelf.</summary>
    private static HashSet<string> DefinedSymbols(string elf) =>
        ReadElf("-sW", elf).Split('\n')
            .Select(l => Regex.Match(l, @"^\s*\d+:\s+[0-9a-f]+\s+\d+\s+\S+\s+\S+\s+\S+\s+(\S+)\s+(\S+)$"))
            .Where(m => m.Success && m.Groups[1].Value != "UND")
            .Select(m => m.Groups[2].Value).ToHashSet();

    private static void AssertBlobDefinesEverySymbol(string blob)
    {
        var defined = DefinedSymbols(blob);
        foreach (var (source, symbol) in Definitions)
            Assert.Contains(symbol, defined, $"{symbol} (from {source}) is not defined in the blob");
        Assert.IsEmpty(new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(blob).Diagnostics, "the blob passes the kexec-purgatory rules");
    }

    [TestMethod]
    [DataRow(Gcc, Ld)]
    [DataRow(Clang, Lld)]
    public void KexecToolsShapedTree_BesideTheProject_BuildsOneBlobDefiningEverySource(string compiler, string linker)
    {
        using var root = new TempDir();
        string project = WriteTree(root.Path);
        SdkPackage.WriteProject(project, SdkPackage.NoTargetsProject(Properties(compiler, linker), TreeSources + """<PicSource Include="sub dir/helper.c" />"""), "purgatory.csproj");

        var r = SdkPackage.Build(project, "-v:n");

        Assert.AreEqual(0, r.ExitCode, r.All);
        Assert.AreEqual(Definitions.Select(d => d.Source).Distinct().Count(), Count(r.All, "PicGuard: compiled "), r.All);
        Assert.DoesNotContain("warning PG2102", r.All, "assembly sources get -Wa,--noexecstack: GNU ld has no executable-stack warning to give");
        Assert.DoesNotContain("warning PG2002", r.All, "no compiler warning, not even clang's unused arguments on the .s file");
        string blob = Path.Combine(project, "bin", "Debug", "net8.0", "purgatory.ro");
        AssertBlobDefinesEverySymbol(blob);

        // Same-named sources get objects of their own: purgatory/util.c and purgatory/arch/x86_64/util.c.
        string objects = Path.Combine(project, "obj", "Debug", "net8.0", "picguard", "obj");
        var utilObjects = Directory.GetFiles(objects, "util.c.o", SearchOption.AllDirectories);
        Assert.HasCount(2, utilObjects, string.Join("\n", utilObjects));
        Assert.IsTrue(File.Exists(Path.Combine(objects, "sub dir", "helper.c.o")), "an in-project source mirrors its folder");
        Assert.IsTrue(utilObjects.All(o => o.Contains(Path.Combine("obj", ObjectLayout.ExternalFolder))), "sources outside the project go under _ext");

        // Incremental: a header reached by a ../ include recompiles exactly the sources that include it.
        var noop = SdkPackage.Build(project, "-v:n");
        Assert.AreEqual(0, Count(noop.All, "PicGuard: compiled "), noop.All);
        File.SetLastWriteTimeUtc(Path.Combine(root.Path, TreeName, "purgatory", "arch", "x86_64", "arch.h"), DateTime.UtcNow.AddSeconds(2));
        var header = SdkPackage.Build(project, "-v:n");
        Assert.AreEqual(0, header.ExitCode, header.All);
        Assert.AreEqual(2, Count(header.All, "PicGuard: compiled "), "arch.h is included by arch/x86_64/util.c and entry64.S:\n" + header.All);
    }

    [TestMethod]
    public void CompileFailureInAnOutOfTreeSource_IsReportedThere_AndNotCalledCompiled()
    {
        using var root = new TempDir();
        string project = WriteTree(root.Path);
        string broken = Path.Combine(root.Path, TreeName, "purgatory", "arch", "x86_64", "util.c");
        File.WriteAllText(broken, "#include \"arch.h\"\nunsigned long arch_util(unsigned long x) { return x * ARCH_FACTOR }\n");
        SdkPackage.WriteProject(project, SdkPackage.NoTargetsProject(Properties(Gcc, Ld), TreeSources + """<PicSource Include="sub dir/helper.c" />"""), "purgatory.csproj");

        var r = SdkPackage.Build(project, "-v:n");

        Assert.AreNotEqual(0, r.ExitCode, r.All);
        StringAssert.Contains(r.All, $"{broken}(2,");
        StringAssert.Matches(r.All, new Regex(@"error PG2001: expected ';'"));
        Assert.DoesNotContain("PicGuard: compiled ../" + TreeName + "/purgatory/arch/x86_64/util.c", r.All);
        StringAssert.Contains(r.All, "PicGuard: failed: cd ", "a failed compile shows its command line at normal verbosity");
        StringAssert.Contains(r.All, "PicGuard: compiled ../" + TreeName + "/purgatory/util.c");
    }

    /// <summary>A project in the SDK form, its sources found by the default globs: src/, src/arch/ (.S and .s), include/.</summary>
    private static TempDir SdkFormProject(string properties = "", string items = "")
    {
        var dir = new TempDir();
        Directory.CreateDirectory(dir["src/arch"]);
        Directory.CreateDirectory(dir["include"]);
        File.WriteAllText(dir["include/blob.h"], "unsigned long blob_digest(unsigned long);\nvoid arch_setup(void);\n");
        File.WriteAllText(dir["src/digest.c"], "#include \"blob.h\"\nstatic unsigned long state = 5;\nunsigned long blob_digest(unsigned long x) { arch_setup(); return state += x; }\n");
        File.WriteAllText(dir["src/arch/entry.S"], ".text\n.globl blob_start\nblob_start:\n  call blob_digest\n  ret\n");
        File.WriteAllText(dir["src/arch/setup.s"], ".text\n.globl arch_setup\n.hidden arch_setup\narch_setup:\n  ret\n");
        // Never compiled: build output folders and hidden folders are not sources.
        Directory.CreateDirectory(dir["bin"]);
        Directory.CreateDirectory(dir[".cache"]);
        File.WriteAllText(dir["bin/stale.c"], "this is not C\n");
        File.WriteAllText(dir[".cache/stale.c"], "this is not C\n");
        SdkPackage.WriteProject(dir.Path, SdkPackage.SdkProject(
            $"<PicEntryPoint>blob_start</PicEntryPoint><PicIncludeDirectories>include</PicIncludeDirectories>{properties}", items), "blob.csproj");
        return dir;
    }

    [TestMethod]
    public void SdkForm_DefaultGlobs_Build_NoOp_Clean_BuildAgain_NoIncremental_Rebuild()
    {
        using var dir = SdkFormProject();
        string blob = dir["bin/Debug/blob.ro"];
        string objects = dir["obj/Debug/picguard/obj"];

        var first = SdkPackage.Build(dir.Path, "-v:n");
        Assert.AreEqual(0, first.ExitCode, first.All);
        Assert.AreEqual(3, Count(first.All, "PicGuard: compiled "), first.All);
        Assert.IsTrue(File.Exists(blob), "the blob is at bin/<Configuration>/<project>.ro:\n" + first.All);
        CollectionAssert.AreEquivalent(new[] { "blob.ro" }, Directory.GetFiles(dir["bin/Debug"]).Select(Path.GetFileName).ToArray(), "no assembly, no .deps.json, no .pdb beside the blob");
        Assert.IsTrue(File.Exists(Path.Combine(objects, "src", "arch", "entry.S.o")));
        Assert.IsTrue(File.Exists(Path.Combine(objects, "src", "arch", "setup.s.o")));
        Assert.IsTrue(DefinedSymbols(blob).IsSupersetOf(["blob_start", "blob_digest", "arch_setup"]));

        var noop = SdkPackage.Build(dir.Path, "-v:n");
        Assert.AreEqual(0, noop.ExitCode, noop.All);
        Assert.AreEqual(0, Count(noop.All, "PicGuard: compiled "), noop.All);
        Assert.AreEqual(0, Count(noop.All, "PicGuard: linked "), noop.All);

        var clean = SdkPackage.Dotnet(dir.Path, "clean", "-nodeReuse:false");
        Assert.AreEqual(0, clean.ExitCode, clean.All);
        Assert.IsFalse(File.Exists(blob), "dotnet clean removes the blob");
        Assert.IsFalse(Directory.Exists(objects), "dotnet clean removes the objects");
        Assert.IsFalse(Directory.Exists(dir["obj/Debug/picguard"]), "dotnet clean removes PicGuard's folder: stamps, caches and all");

        var again = SdkPackage.Build(dir.Path, "-v:n");
        Assert.AreEqual(0, again.ExitCode, again.All);
        Assert.AreEqual(3, Count(again.All, "PicGuard: compiled "), again.All);
        Assert.IsTrue(File.Exists(blob));

        var noIncremental = SdkPackage.Build(dir.Path, "-v:n", "--no-incremental");
        Assert.AreEqual(0, noIncremental.ExitCode, noIncremental.All);
        Assert.AreEqual(3, Count(noIncremental.All, "PicGuard: compiled "), noIncremental.All);
        StringAssert.Contains(noIncremental.All, "PicGuard: checked 1 file(s)");

        var rebuild = SdkPackage.Build(dir.Path, "-v:n", "-t:Rebuild");
        Assert.AreEqual(0, rebuild.ExitCode, rebuild.All);
        Assert.AreEqual(3, Count(rebuild.All, "PicGuard: compiled "), rebuild.All);
        Assert.IsTrue(File.Exists(blob));

        // Another compiler gives other objects from the same flags: everything is compiled again.
        var otherCompiler = SdkPackage.Build(dir.Path, "-v:n", "-p:PicCompiler=clang-19", "-p:PicLinker=ld.lld-19");
        Assert.AreEqual(0, otherCompiler.ExitCode, otherCompiler.All);
        Assert.AreEqual(3, Count(otherCompiler.All, "PicGuard: compiled "), otherCompiler.All);
        StringAssert.Contains(ReadElf("-p", ".comment", Path.Combine(objects, "src", "digest.c.o")), "clang");

        // A file of the user's in PicGuard's folder survives Clean, and so does the folder.
        File.WriteAllText(dir["obj/Debug/picguard/notes.txt"], "kept");
        var cleanAgain = SdkPackage.Dotnet(dir.Path, "clean", "-nodeReuse:false");
        Assert.AreEqual(0, cleanAgain.ExitCode, cleanAgain.All);
        Assert.IsFalse(Directory.Exists(objects));
        Assert.IsEmpty(Directory.GetFiles(dir["obj/Debug/picguard"], "*.stamp"));
        Assert.AreEqual("kept", File.ReadAllText(dir["obj/Debug/picguard/notes.txt"]));
    }

    [TestMethod]
    public void SdkForm_ExplicitItemOverDefaultGlob_IsOneError_UpdateIsTheWay()
    {
        using var dir = SdkFormProject(items: """<PicSource Include="src/digest.c" AdditionalFlags="-DEXTRA=1" />""");

        var duplicate = SdkPackage.Build(dir.Path);
        Assert.AreEqual(1, duplicate.ExitCode, duplicate.All);
        Assert.AreEqual(1, Count(duplicate.All, "error PG9004: PicSource 'src/digest.c' is included twice, with different AdditionalFlags or RemoveFlags"), duplicate.All);
        StringAssert.Contains(duplicate.All, "blob.csproj : error PG9004", "the error points at the project");

        File.WriteAllText(dir["blob.csproj"], SdkPackage.SdkProject(
            "<PicEntryPoint>blob_start</PicEntryPoint><PicIncludeDirectories>include</PicIncludeDirectories>",
            """<PicSource Update="src/digest.c" AdditionalFlags="-DEXTRA=1" />"""));
        var update = SdkPackage.Build(dir.Path);
        Assert.AreEqual(0, update.ExitCode, update.All);
        StringAssert.Contains(File.ReadAllText(dir["obj/Debug/picguard/obj/src/digest.c.o.rsp"]), "-DEXTRA=1");
    }

    [TestMethod]
    public void NothingToBuild_IsWarningPG9005_AtTheProject()
    {
        using var dir = SdkFormProject("<EnableDefaultPicSourceItems>false</EnableDefaultPicSourceItems>");

        var r = SdkPackage.Build(dir.Path);

        Assert.AreEqual(0, r.ExitCode, r.All);
        Assert.AreEqual(1, Count(r.All, "blob.csproj : warning PG9005: nothing to compile, link or check"), r.All);
        Assert.IsFalse(File.Exists(dir["bin/Debug/blob.ro"]));
    }

    [TestMethod]
    public void Summary_CountsFindingsAsMSBuildDoes_AndThePlacesTheyStandFor()
    {
        using var dir = new TempDir();
        Compile(dir.Path, "kernel.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        SdkPackage.WriteProject(dir.Path, SdkPackage.SdkProject("<EnableDefaultPicSourceItems>false</EnableDefaultPicSourceItems>", """<PicCheck Include="kernel.gcc.o" />"""), "blob.csproj");

        var r = SdkPackage.Dotnet(dir.Path, "build", "-nodeReuse:false", "-v:n");

        Assert.AreEqual(1, r.ExitCode, r.All);
        int msbuildErrors = int.Parse(Regex.Match(r.All, @"(\d+) Error\(s\)").Groups[1].Value);
        var summary = Regex.Match(r.All, @"PicGuard: checked 1 file\(s\), \d+ relocation\(s\): (\d+) error\(s\)( at (\d+) place\(s\))?");
        Assert.IsTrue(summary.Success, r.All);
        Assert.AreEqual(msbuildErrors, int.Parse(summary.Groups[1].Value), "PicGuard's summary counts errors as MSBuild does:\n" + r.All);
        Assert.IsTrue(summary.Groups[3].Success && int.Parse(summary.Groups[3].Value) > msbuildErrors, "the collapsed findings' places are counted too:\n" + r.All);
    }

    [TestMethod]
    public void CompileCommandsJson_HasEachSourcesExactFlags_AndClangdChecksEverySourceClean()
    {
        using var dir = SdkFormProject("<PicCompiler>clang-19</PicCompiler><PicLinker>ld.lld-19</PicLinker>");
        var r = SdkPackage.Build(dir.Path);
        Assert.AreEqual(0, r.ExitCode, r.All);

        string database = dir["obj/Debug/picguard/compile_commands.json"];
        var entries = JsonDocument.Parse(File.ReadAllText(database)).RootElement.EnumerateArray().ToList();
        Assert.HasCount(3, entries);
        foreach (var entry in entries)
        {
            string file = entry.GetProperty("file").GetString()!;
            string output = entry.GetProperty("output").GetString()!;
            var arguments = entry.GetProperty("arguments").EnumerateArray().Select(a => a.GetString()!).ToArray();
            Assert.AreEqual(dir.Path, entry.GetProperty("directory").GetString());
            Assert.AreEqual(ToolLocator.Find(Clang), arguments[0]);
            var flags = ResponseFile.Parse(File.ReadAllText(output + ".rsp"));
            CollectionAssert.AreEqual(flags.Concat(["-c", file, "-o", output]).ToArray(), arguments[1..], $"the entry for {file} is the response file's flags");
        }

        // clangd finds blob.h through the database's -I; without the database it cannot.
        string digest = dir["src/digest.c"];
        var withDatabase = Run("clangd-19", ["--check=" + digest, "--compile-commands-dir=" + Path.GetDirectoryName(database)]);
        StringAssert.Contains(withDatabase.All, "All checks completed, 0 errors", withDatabase.All);
        var without = Run("clangd-19", ["--check=" + digest, "--compile-commands-dir=" + dir["nowhere"]]);
        Assert.DoesNotContain("All checks completed, 0 errors", without.All, "the check must depend on the database");

        // Kept up to date: a flag change reaches the database; switched off, it is not rewritten.
        var flagsChanged = SdkPackage.Build(dir.Path, "-p:PicDefineConstants=BLOB_VERSION=2");
        Assert.AreEqual(0, flagsChanged.ExitCode, flagsChanged.All);
        StringAssert.Contains(File.ReadAllText(database), "-DBLOB_VERSION=2");
        File.Delete(database);
        var off = SdkPackage.Build(dir.Path, "-p:PicGenerateCompileCommands=false", "-p:PicDefineConstants=BLOB_VERSION=3");
        Assert.AreEqual(0, off.ExitCode, off.All);
        Assert.IsFalse(File.Exists(database));
    }

    [TestMethod]
    public void Ccache_SecondCleanBuildIsServedFromTheCache_SameBlob()
    {
        using var dir = SdkFormProject("<PicCompiler>gcc</PicCompiler><PicLinker>ld</PicLinker><PicCompilerLauncher>ccache</PicCompilerLauncher>");
        var environment = new Dictionary<string, string?> { ["CCACHE_DIR"] = dir["ccache"], ["CCACHE_NOHASHDIR"] = null };

        var first = SdkPackage.Dotnet(dir.Path, environment, "build", "-nodeReuse:false", "-v:d");
        Assert.AreEqual(0, first.ExitCode, first.All);
        StringAssert.Matches(first.All, new Regex(@"PicGuard: cd .* && \S*ccache \S*gcc "), "the compile runs under the launcher (command line at -v:d)");
        byte[] blob = File.ReadAllBytes(dir["bin/Debug/blob.ro"]);
        var clean = SdkPackage.Dotnet(dir.Path, environment, "clean", "-nodeReuse:false");
        Assert.AreEqual(0, clean.ExitCode, clean.All);

        var second = SdkPackage.Dotnet(dir.Path, environment, "build", "-nodeReuse:false", "-v:n");
        Assert.AreEqual(0, second.ExitCode, second.All);
        Assert.AreEqual(3, Count(second.All, "PicGuard: compiled "), second.All);
        var stats = Run("ccache", ["--print-stats"], environment: environment).StdOut;
        int Stat(string name) => int.Parse(Regex.Match(stats, $@"^{name}\t(\d+)$", RegexOptions.Multiline).Groups[1].Value);
        Assert.AreEqual(3, Stat("direct_cache_hit") + Stat("preprocessed_cache_hit"), "every source of the second build came from the cache:\n" + stats);
        CollectionAssert.AreEqual(blob, File.ReadAllBytes(dir["bin/Debug/blob.ro"]));
    }

    [TestMethod]
    public void Distcc_CompilesThroughDistccdOnLoopback_SameBlobAsLocal()
    {
        using var dir = SdkFormProject("<PicCompiler>gcc</PicCompiler><PicLinker>ld</PicLinker>");
        var local = SdkPackage.Build(dir.Path);
        Assert.AreEqual(0, local.ExitCode, local.All);
        byte[] localBlob = File.ReadAllBytes(dir["bin/Debug/blob.ro"]);

        // distccd drops root to its own user: its log and pid file live in a folder anyone may write and reach.
        string logs = dir["distcc-logs"];
        Directory.CreateDirectory(logs);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(dir.Path, (UnixFileMode)0x1ED);
            File.SetUnixFileMode(logs, (UnixFileMode)0x1FF);
        }
        string log = Path.Combine(logs, "distccd.log"), pidFile = Path.Combine(logs, "distccd.pid");
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        RunChecked("distccd", "--daemon", "--allow", "127.0.0.1", "--listen", "127.0.0.1", "--port", port.ToString(),
            "--log-file", log, "--log-level", "info", "--pid-file", pidFile, "--jobs", "2");
        try
        {
            WaitForPort(port);
            Directory.CreateDirectory(dir["distcc-home"]);
            var environment = new Dictionary<string, string?>
            {
                ["DISTCC_HOSTS"] = $"127.0.0.1:{port}/2",
                ["DISTCC_FALLBACK"] = "0",
                ["DISTCC_DIR"] = dir["distcc-home"],
            };
            var r = SdkPackage.Dotnet(dir.Path, environment, "build", "-nodeReuse:false", "-clp:NoSummary", "-v:n", "--no-incremental", "-p:PicCompilerLauncher=distcc");

            Assert.AreEqual(0, r.ExitCode, r.All);
            Assert.AreEqual(3, Count(r.All, "PicGuard: compiled "), r.All);
            string served = File.ReadAllText(log);
            StringAssert.Matches(served, new Regex($@"COMPILE_OK .*{Regex.Escape(dir["src/digest.c"])}"), "digest.c was compiled by distccd:\n" + served);
            CollectionAssert.AreEqual(localBlob, File.ReadAllBytes(dir["bin/Debug/blob.ro"]), "the blob built through distcc is the local one");
        }
        finally
        {
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid))
                Run("kill", [pid.ToString()]);
            Run("pkill", ["-f", $"distccd .*--port {port} "]);
        }
    }

    private static void WaitForPort(int port)
    {
        for (int i = 0; i < 100; i++)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                client.Connect(System.Net.IPAddress.Loopback, port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                Thread.Sleep(100);
            }
        }
        throw new TimeoutException($"distccd did not listen on 127.0.0.1:{port}");
    }
}
