using System.IO.Compression;
using System.Reflection;
using System.Reflection.PortableExecutable;

namespace PicGuard.Tests;

/// <summary>
/// The task assemblies PicGuard.Sdk ships: IL under tasks/net8.0 for MSBuild on .NET 8 and 9, ReadyToRun under
/// tasks/net10.0 for MSBuild on .NET 10, which a build picks; and the precompiled code is really used on this runtime.
/// </summary>
[TestClass]
public sealed class TaskAssemblyTests
{
    private static readonly string[] Assemblies = ["PicGuard.Tasks.dll", "PicGuard.Core.dll", "Iced.dll"];

    [TestMethod]
    public void Package_ShipsIlForNet8_AndReadyToRunForNet10()
    {
        using var package = new TempDir();
        ZipFile.ExtractToDirectory(Path.Combine(SdkPackage.Feed, $"PicGuard.Sdk.{SdkPackage.Version}.nupkg"), package.Path);
        foreach (var name in Assemblies)
        {
            string il = Path.Combine(package.Path, "tasks", "net8.0", name), r2r = Path.Combine(package.Path, "tasks", "net10.0", name);
            Assert.IsFalse(IsReadyToRun(il), $"tasks/net8.0/{name} is IL only");
            Assert.IsTrue(IsReadyToRun(r2r), $"tasks/net10.0/{name} carries ReadyToRun code");
            Assert.AreEqual(AssemblyName.GetAssemblyName(il).Version, AssemblyName.GetAssemblyName(r2r).Version, name);
        }
        Assert.IsTrue(File.Exists(Path.Combine(package.Path, "tasks", "net10.0", "PicGuard.Tasks.deps.json")));
    }

    [TestMethod]
    public void Build_OnDotnet10_LoadsTheNet10Tasks()
    {
        Assert.IsGreaterThanOrEqualTo(10, Environment.Version.Major, "the tests run on the .NET 10 SDK");
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["src"]);
        File.WriteAllText(dir["src/entry.c"], "int entry(void) { return 0; }\n");
        SdkPackage.WriteProject(dir.Path, SdkPackage.SdkProject("<PicLinkMode>none</PicLinkMode>"), "blob.csproj");
        var r = SdkPackage.Build(dir.Path, "-v:d");
        Assert.AreEqual(0, r.ExitCode, r.All);
        string expected = Path.Combine("tasks", "net10.0", "PicGuard.Tasks.dll");
        StringAssert.Contains(r.All, "Using \"PicValidate\" task from assembly", r.All);
        var line = r.All.Split('\n').First(l => l.Contains("Using \"PicValidate\" task from assembly", StringComparison.Ordinal));
        StringAssert.Contains(line.Replace('\\', '/'), expected.Replace('\\', '/'), "MSBuild on .NET 10 uses the ReadyToRun task assembly");
    }

    /// <summary>
    /// Checks one object with the package's PicGuard.Core loaded apart, as MSBuild loads a task assembly, in a fresh
    /// process each time, and counts the methods the JIT compiles: the ReadyToRun copy must need a small fraction of what
    /// the IL copy needs, or its code was rejected. Fresh processes, because in the test process the shared code of
    /// generics is already compiled by earlier tests and the IL copy would seem to need little.
    /// </summary>
    [TestMethod]
    public void ReadyToRunCore_IsUsed_NotJitted()
    {
        using var package = new TempDir();
        ZipFile.ExtractToDirectory(Path.Combine(SdkPackage.Feed, $"PicGuard.Sdk.{SdkPackage.Version}.nupkg"), package.Path);
        using var dir = new TempDir();
        string obj = Toolchain.Compile(dir.Path, "table.c", Sources.GlobalTable, "gcc", "-O2", "-g", "-mcmodel=kernel", "-fno-pic");
        string probe = BuildJitProbe(dir["probe"]);

        var (il, ilFindings) = MethodsJittedChecking(probe, Path.Combine(package.Path, "tasks", "net8.0"), obj);
        var (r2r, r2rFindings) = MethodsJittedChecking(probe, Path.Combine(package.Path, "tasks", "net10.0"), obj);
        Assert.IsGreaterThan(0, ilFindings, "the object has findings, so the check ran its reporting code");
        Assert.AreEqual(ilFindings, r2rFindings);
        Assert.IsGreaterThan(300, il, $"the IL copy is jitted ({il} methods)");
        Assert.IsLessThan(il / 2, r2r, $"the ReadyToRun copy compiled {r2r} methods, the IL copy {il}");
    }

    /// <summary>A console program that loads PicGuard.Core from a folder into its own load context, checks one file, and prints the methods jitted and the findings.</summary>
    private const string JitProbe = """
                string tasks = args[0];
        var context = new System.Runtime.Loader.AssemblyLoadContext("tasks");
        context.Resolving += (c, name) => File.Exists(Path.Combine(tasks, name.Name + ".dll")) ? c.LoadFromAssemblyPath(Path.Combine(tasks, name.Name + ".dll")) : null;
        var core = context.LoadFromAssemblyPath(Path.Combine(tasks, "PicGuard.Core.dll"));
        var optionsType = core.GetType("PicGuard.CheckOptions", throwOnError: true)!;
        var checkerType = core.GetType("PicGuard.Checker", throwOnError: true)!;
        long before = System.Runtime.JitInfo.GetCompiledMethodCount();
        object options = optionsType.GetProperty("Default")!.GetValue(null)!;
        object checker = Activator.CreateInstance(checkerType, options)!;
        object result = checkerType.GetMethod("CheckFile", [typeof(string)])!.Invoke(checker, [args[1]])!;
        long jitted = System.Runtime.JitInfo.GetCompiledMethodCount() - before;
        int findings = ((System.Collections.ICollection)result.GetType().GetProperty("Diagnostics")!.GetValue(result)!).Count;
        Console.WriteLine($"{jitted} {findings}");
        """;

    private static string BuildJitProbe(string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "Program.cs"), JitProbe);
        File.WriteAllText(Path.Combine(dir, "probe.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <UseAppHost>false</UseAppHost>
              </PropertyGroup>
            </Project>
            """);
        var r = SdkPackage.Dotnet(dir, "build", "-nologo", "-o", Path.Combine(dir, "out"));
        Assert.AreEqual(0, r.ExitCode, r.All);
        return Path.Combine(dir, "out", "probe.dll");
    }

    private static (long Jitted, int Findings) MethodsJittedChecking(string probe, string tasks, string obj)
    {
        var r = SdkPackage.Dotnet(Path.GetDirectoryName(probe)!, "exec", probe, tasks, obj);
        Assert.AreEqual(0, r.ExitCode, r.All);
        var words = r.StdOut.Trim().Split(' ');
        return (long.Parse(words[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static bool IsReadyToRun(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        return pe.PEHeaders.CorHeader is { } cor && cor.ManagedNativeHeaderDirectory.Size > 0;
    }
}
