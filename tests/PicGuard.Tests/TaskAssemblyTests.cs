using System.IO.Compression;
using System.Reflection;
using System.Reflection.PortableExecutable;
using System.Runtime.Loader;

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
    /// Checks one object with the package's PicGuard.Core loaded apart, and counts the methods the JIT compiles on this
    /// thread: the ReadyToRun copy must need a small fraction of what the IL copy needs, or its code was rejected.
    /// </summary>
    [TestMethod]
    public void ReadyToRunCore_IsUsed_NotJitted()
    {
        using var package = new TempDir();
        ZipFile.ExtractToDirectory(Path.Combine(SdkPackage.Feed, $"PicGuard.Sdk.{SdkPackage.Version}.nupkg"), package.Path);
        using var dir = new TempDir();
        string obj = Toolchain.Compile(dir.Path, "table.c", Sources.GlobalTable, "gcc", "-O2", "-g", "-mcmodel=kernel", "-fno-pic");

        long il = MethodsJittedChecking(Path.Combine(package.Path, "tasks", "net8.0"), obj, out int ilFindings);
        long r2r = MethodsJittedChecking(Path.Combine(package.Path, "tasks", "net10.0"), obj, out int r2rFindings);
        Assert.IsGreaterThan(0, ilFindings, "the object has findings, so the check ran its reporting code");
        Assert.AreEqual(ilFindings, r2rFindings);
        Assert.IsGreaterThan(100, il, $"the IL copy is jitted ({il} methods)");
        Assert.IsLessThan(il / 2, r2r, $"the ReadyToRun copy compiled {r2r} methods, the IL copy {il}");
    }

    private static long MethodsJittedChecking(string tasks, string obj, out int findings)
    {
        var context = new AssemblyLoadContext("picguard-" + Path.GetFileName(tasks), isCollectible: true);
        context.Resolving += (c, name) => File.Exists(Path.Combine(tasks, name.Name + ".dll")) ? c.LoadFromAssemblyPath(Path.Combine(tasks, name.Name + ".dll")) : null;
        try
        {
            var core = context.LoadFromAssemblyPath(Path.Combine(tasks, "PicGuard.Core.dll"));
            var optionsType = core.GetType("PicGuard.CheckOptions", throwOnError: true)!;
            var checkerType = core.GetType("PicGuard.Checker", throwOnError: true)!;
            object options = optionsType.GetProperty("Default")!.GetValue(null)!;
            long before = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true);
            object checker = Activator.CreateInstance(checkerType, options)!;
            object result = checkerType.GetMethod("CheckFile", [typeof(string)])!.Invoke(checker, [obj])!;
            long jitted = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true) - before;
            findings = ((System.Collections.ICollection)result.GetType().GetProperty("Diagnostics")!.GetValue(result)!).Count;
            return jitted;
        }
        finally
        {
            context.Unload();
        }
    }

    private static bool IsReadyToRun(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        return pe.PEHeaders.CorHeader is { } cor && cor.ManagedNativeHeaderDirectory.Size > 0;
    }
}
