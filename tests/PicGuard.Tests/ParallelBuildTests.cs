using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Text.RegularExpressions;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// The packed SDK under `dotnet build -m` with node reuse: eight blobs built in parallel on the same
/// MSBuild nodes twice, from two copies of the tree, must build without file-lock trouble and give
/// byte-identical blobs; and the task assembly's version follows the package version.
/// </summary>
[TestClass]
public sealed class ParallelBuildTests
{
    public TestContext TestContext { get; set; } = null!;

    private const int ProjectCount = 8;

    /// <summary>What MSBuild and .NET print when a file is held by another build or node.</summary>
    private static readonly string[] FileLockMessages = ["MSB3026", "MSB3027", "MSB4018", "being used by another process"];

    private static string Project(string compiler, string linker) => $"""
        <Project Sdk="Microsoft.Build.NoTargets/3.7.0">
          <PropertyGroup>
            <TargetFramework>net8.0</TargetFramework>
            <PicCompiler>{compiler}</PicCompiler>
            <PicLinker>{linker}</PicLinker>
            <PicEntryPoint>purgatory_start</PicEntryPoint>
            <PicCFlags>-O2 -g -Wall</PicCFlags>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="PicGuard.Sdk" Version="{SdkPackage.Version}" />
            <PicSource Include="entry.S;purgatory.c;digest.c" />
          </ItemGroup>
        </Project>
        """;

    /// <summary>
    /// Writes blob0…blob7 under <paramref name="root"/>, each with samples/purgatory's sources, even
    /// ones with gcc + ld, odd ones with clang-19 + ld.lld-19, and a solution holding all of them.
    /// </summary>
    private static string WriteTree(string root)
    {
        Directory.CreateDirectory(root);
        var projects = new List<string>();
        for (int i = 0; i < ProjectCount; i++)
        {
            string dir = Path.Combine(root, $"blob{i}");
            Directory.CreateDirectory(dir);
            foreach (var f in Directory.GetFiles(Path.Combine(SdkPackage.RepositoryRoot, "samples", "purgatory")))
                if (Path.GetExtension(f) is ".c" or ".S" or ".h")
                    File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            projects.Add(i % 2 == 0
                ? SdkPackage.WriteProject(dir, Project(Gcc, Ld), $"blob{i}.csproj")
                : SdkPackage.WriteProject(dir, Project(Clang, Lld), $"blob{i}.csproj"));
        }
        SdkPackage.WriteNuGetConfig(root);
        var created = SdkPackage.Dotnet(root, "new", "sln", "-n", "blobs");
        Assert.AreEqual(0, created.ExitCode, created.All);
        string solution = Directory.GetFiles(root, "blobs.sln*").Single();
        var added = SdkPackage.Dotnet(root, ["sln", solution, "add", .. projects]);
        Assert.AreEqual(0, added.ExitCode, added.All);
        return solution;
    }

    private static string Blob(string root, int i) => Path.Combine(root, $"blob{i}", "bin", "Debug", "net8.0", $"blob{i}.ro");

    /// <summary>
    /// Runs dotnet with its output in a file: the nodes a build leaves running inherit its stdout and
    /// stderr, so reading them from a pipe would wait for the nodes to exit.
    /// </summary>
    private static Result DotnetWithNodeReuse(string workingDirectory, string salt, params string[] args)
    {
        string log = Path.Combine(workingDirectory, $"dotnet-{Guid.NewGuid():N}.log");
        var env = SdkPackage.Environment(salt);
        env["PICGUARD_BUILD_LOG"] = log;
        var r = Run("sh", ["-c", "exec dotnet \"$@\" </dev/null >\"$PICGUARD_BUILD_LOG\" 2>&1", "sh", .. args], workingDirectory, env);
        string output = File.ReadAllText(log);
        File.Delete(log);
        return new Result(r.ExitCode, output + r.StdOut, r.StdErr);
    }

    private Result BuildWithNodeReuse(string solution, string salt, string label)
    {
        var clock = Stopwatch.StartNew();
        var r = DotnetWithNodeReuse(Path.GetDirectoryName(solution)!, salt, "build", solution, "-m", "-nodeReuse:true", "-v:n", "-clp:NoSummary");
        TestContext.WriteLine($"{label}: exit {r.ExitCode} in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.AreEqual(0, r.ExitCode, r.All);
        foreach (var message in FileLockMessages)
            Assert.DoesNotContain(message, r.All, $"{label}:\n{r.All}");
        Assert.AreEqual(ProjectCount, Regex.Matches(r.All, @"PicGuard: linked .*blob\d\.ro").Count, $"{label} links every blob:\n{r.All}");
        Assert.AreEqual(ProjectCount, Regex.Matches(r.All, @"PicGuard: checked 1 file\(s\), \d+ relocation\(s\): 0 error\(s\)").Count, $"{label}:\n{r.All}");
        return r;
    }

    /// <summary>
    /// Two copies of the tree, the second one level deeper and under a name with a space, built one
    /// after the other on the same reused nodes. The blobs carry DWARF (-g): without the policy's
    /// -ffile-prefix-map they would name their directory, so identical bytes prove the outputs depend
    /// neither on the time of the build nor on where the project lies.
    /// </summary>
    [TestMethod]
    public void EightProjects_InParallelOnReusedNodes_TwiceFromTwoCopies_GiveIdenticalBlobs_AndNoNodeIsLeft()
    {
        _ = SdkPackage.Feed;
        using var first = new TempDir();
        using var second = new TempDir();
        string firstRoot = first["tree"];
        string secondRoot = Path.Combine(second.Path, "copy of", "tree");
        string firstSolution = WriteTree(firstRoot);
        string secondSolution = WriteTree(secondRoot);
        string salt = Guid.NewGuid().ToString("N");
        try
        {
            BuildWithNodeReuse(firstSolution, salt, "first tree");
            var nodes = ProcessTable.WithEnvironment("MSBUILDNODEHANDSHAKESALT", salt);
            Assert.IsNotEmpty(nodes, "with node reuse on, the MSBuild nodes outlive the build");
            BuildWithNodeReuse(secondSolution, salt, "second tree, same nodes");
            var reused = ProcessTable.WithEnvironment("MSBUILDNODEHANDSHAKESALT", salt);
            TestContext.WriteLine($"nodes after the first build: {string.Join(' ', nodes)}; after the second: {string.Join(' ', reused)}");
            CollectionAssert.IsSubsetOf(reused, nodes, "the second build ran on the first build's nodes");
        }
        finally
        {
            var shutdown = DotnetWithNodeReuse(first.Path, salt, "build-server", "shutdown", "--msbuild");
            TestContext.WriteLine($"build-server shutdown: exit {shutdown.ExitCode}: {shutdown.All.Trim()}");
        }
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (ProcessTable.WithEnvironment("MSBUILDNODEHANDSHAKESALT", salt).Length > 0 && DateTime.UtcNow < deadline) Thread.Sleep(200);
        Assert.IsEmpty(ProcessTable.WithEnvironment("MSBUILDNODEHANDSHAKESALT", salt), "dotnet build-server shutdown ends every node the builds left");

        for (int i = 0; i < ProjectCount; i++)
        {
            byte[] a = File.ReadAllBytes(Blob(firstRoot, i));
            byte[] b = File.ReadAllBytes(Blob(secondRoot, i));
            StringAssert.Contains(ReadElf("-SW", Blob(firstRoot, i)), ".debug_info", $"blob{i} carries DWARF");
            string text = System.Text.Encoding.Latin1.GetString(a);
            Assert.DoesNotContain(firstRoot, text, $"blob{i} names its directory");
            CollectionAssert.AreEqual(a, b, $"blob{i}: the two copies differ");
        }
        CollectionAssert.AreNotEqual(File.ReadAllBytes(Blob(firstRoot, 0)), File.ReadAllBytes(Blob(firstRoot, 1)), "gcc and clang blobs differ");
    }

    /// <summary>
    /// Every assembly's version is the package version, so MSBuild never takes a task assembly of one
    /// package version for another's. Packs a copy of the sources (not to disturb the repository's
    /// build outputs) with PicGuardVersion=0.1.1 and reads the versions from the packages.
    /// </summary>
    [TestMethod]
    public void PackedTaskAssembly_VersionFollowsThePackageVersion()
    {
        using var copy = new TempDir();
        string repo = SdkPackage.RepositoryRoot;
        foreach (var file in new[] { "Directory.Build.props", "README.md" })
            File.Copy(Path.Combine(repo, file), copy[file]);
        foreach (var dir in new[] { "src", "nuget" })
            CopyTree(Path.Combine(repo, dir), copy[dir]);
        string feed = copy["feed"];
        var r = SdkPackage.Dotnet(copy.Path, "pack", copy["nuget/PicGuard.Sdk.csproj"], "-c", "Release", "-o", feed, "-p:PicGuardVersion=0.1.1");
        Assert.AreEqual(0, r.ExitCode, r.All);

        var next = AssemblyVersions(Path.Combine(feed, "PicGuard.Sdk.0.1.1.nupkg"));
        Assert.AreEqual(new Version(0, 1, 1, 0), next["PicGuard.Tasks"]);
        Assert.AreEqual(new Version(0, 1, 1, 0), next["PicGuard.Core"]);
        var current = AssemblyVersions(Path.Combine(SdkPackage.Feed, $"PicGuard.Sdk.{SdkPackage.Version}.nupkg"));
        Assert.AreEqual(new Version(SdkPackage.Version + ".0"), current["PicGuard.Tasks"]);
        Assert.AreEqual(new Version(SdkPackage.Version + ".0"), current["PicGuard.Core"]);
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.GetDirectories(from))
            if (Path.GetFileName(dir) is not ("bin" or "obj"))
                CopyTree(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    /// <summary>The assembly version of each PicGuard.*.dll under tasks/ in a package.</summary>
    private static Dictionary<string, Version> AssemblyVersions(string nupkg)
    {
        using var extracted = new TempDir();
        ZipFile.ExtractToDirectory(nupkg, extracted.Path);
        var versions = new Dictionary<string, Version>();
        foreach (var dll in Directory.GetFiles(Path.Combine(extracted.Path, "tasks", "net8.0"), "PicGuard.*.dll"))
        {
            var name = AssemblyName.GetAssemblyName(dll);
            versions[name.Name!] = name.Version!;
        }
        return versions;
    }
}

/// <summary>The processes running on this machine, as /proc shows them.</summary>
public static class ProcessTable
{
    /// <summary>Processes of this user (other than the test host) started with <paramref name="name"/>=<paramref name="value"/> in their environment.</summary>
    public static int[] WithEnvironment(string name, string value)
    {
        string entry = name + "=" + value;
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == Environment.ProcessId) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains(entry))
                    found.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found.ToArray();
    }
}
