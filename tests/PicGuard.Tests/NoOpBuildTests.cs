namespace PicGuard.Tests;

/// <summary>A no-op build through the packed SDK probes no tool and skips the flag policy, yet still sees header and flag changes.</summary>
[TestClass]
public sealed class NoOpBuildTests
{
    private const string Header = "static inline int twice(int x) { return 2 * x; }\n";
    private const string Source = "#include \"twice.h\"\nstatic int counter;\nint bump(void) { return twice(++counter); }\n";

    private static string Project => $"""
        <Project Sdk="Microsoft.Build.NoTargets/3.7.0">
          <PropertyGroup>
            <TargetFramework>net8.0</TargetFramework>
            <PicLinkMode>none</PicLinkMode>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="PicGuard.Sdk" Version="{SdkPackage.Version}" />
            <PicSource Include="bump.c" />
          </ItemGroup>
        </Project>
        """;

    [TestMethod]
    public void NoOpBuild_UsesTheToolCache_SkipsThePolicy_AndStillRebuildsOnHeaderAndFlagChanges()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["twice.h"], Header);
        File.WriteAllText(dir["bump.c"], Source);
        SdkPackage.WriteProject(dir.Path, Project);
        string picguard = Path.Combine(dir.Path, "obj", "Debug", "net8.0", "picguard");
        string obj = Path.Combine(picguard, "obj", "bump.c.o");

        var first = SdkPackage.Build(dir.Path, "-v:d");
        Assert.AreEqual(0, first.ExitCode, first.All);
        StringAssert.Contains(first.All, "PicGuard: PicCompiler ", "the first build probes the compiler");
        string cache = File.ReadAllText(Path.Combine(picguard, "tools.cache"));
        StringAssert.Contains(cache, "\tcc (", "the probe's version line is kept on disk");

        // The second build reads the dependency file the first compile wrote; the third is a true no-op.
        Assert.AreEqual(0, SdkPackage.Build(dir.Path).ExitCode);
        var noop = SdkPackage.Build(dir.Path, "-v:d");
        Assert.AreEqual(0, noop.ExitCode, noop.All);
        Assert.DoesNotContain("PicGuard: PicCompiler ", noop.All, "a no-op build must not run cc --version");
        StringAssert.Contains(noop.All, "Skipping target \"PicGuardApplyFlagPolicy\" because all output files are up-to-date");
        StringAssert.Contains(noop.All, "Skipping target \"PicGuardCompile\" because all output files are up-to-date");

        // A header change still recompiles: the dependency list is read even when the policy is skipped.
        var before = File.GetLastWriteTimeUtc(obj);
        File.WriteAllText(dir["twice.h"], Header + "/* edited */\n");
        File.SetLastWriteTimeUtc(dir["twice.h"], DateTime.UtcNow.AddSeconds(5));
        var header = SdkPackage.Build(dir.Path, "-v:d");
        Assert.AreEqual(0, header.ExitCode, header.All);
        Assert.DoesNotContain("Skipping target \"PicGuardCompile\"", header.All);
        Assert.AreNotEqual(before, File.GetLastWriteTimeUtc(obj), "editing the header must recompile bump.c");

        // A flag change re-runs the policy: the response file gets the new flag.
        var flags = SdkPackage.Build(dir.Path, "-p:PicCFlags=-O1 -DEDITED", "-v:d");
        Assert.AreEqual(0, flags.ExitCode, flags.All);
        Assert.DoesNotContain("Skipping target \"PicGuardApplyFlagPolicy\"", flags.All);
        StringAssert.Contains(File.ReadAllText(obj + ".rsp"), "-DEDITED");
    }
}
