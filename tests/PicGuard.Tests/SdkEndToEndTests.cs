using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>The packed PicGuard.Sdk in a real `dotnet build` of NoTargets projects.</summary>
[TestClass]
public sealed class SdkEndToEndTests
{
    private static string NoTargetsProject(string items, string sdkElement = "", string packageReference = $"""<PackageReference Include="PicGuard.Sdk" Version="{SdkPackage.Version}" />""") => $"""
        <Project Sdk="Microsoft.Build.NoTargets/3.7.0">
          {sdkElement}
          <PropertyGroup>
            <TargetFramework>net8.0</TargetFramework>
          </PropertyGroup>
          <ItemGroup>
            {packageReference}
            {items}
          </ItemGroup>
        </Project>
        """;

    [TestMethod]
    public void BadObjects_FailTheBuild_WithEachCode_AndFailedCheckRunsAgain()
    {
        using var dir = new TempDir();
        Compile(dir.Path, "kernel.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        Compile(dir.Path, "got.c", Sources.ExternVariable, Gcc, "-O2", "-fpic", "-fvisibility=hidden");
        Compile(dir.Path, "large.c", Sources.StaticOnly, Clang, "-O2", "-mcmodel=large");
        Compile(dir.Path, "clean.c", Sources.StaticOnly, Clang, "-O2", "-mcmodel=small", "-fpic", "-fvisibility=hidden");
        File.WriteAllText(dir["notes.o"], "a text file renamed .o\n");
        SdkPackage.WriteProject(dir.Path, NoTargetsProject("""
            <PicCheck Include="kernel.gcc.o;got.gcc.o;large.clang-19.o;clean.clang-19.o;notes.o" />
            """));

        var first = SdkPackage.Build(dir.Path);

        Assert.AreNotEqual(0, first.ExitCode, first.All);
        StringAssert.Contains(first.All, "kernel.gcc.o : error PG0001: absolute relocation R_X86_64_32S against 'table'");
        StringAssert.Contains(first.All, "got.gcc.o : error PG0002: GOT-based relocation R_X86_64_REX_GOTPCRELX against 'external_counter'");
        StringAssert.Contains(first.All, "large.clang-19.o : error PG0003: section .ltext");
        StringAssert.Contains(first.All, "notes.o : error PG9001:");
        Assert.DoesNotContain("clean.clang-19.o : error", first.All);
        Assert.IsFalse(File.Exists(Path.Combine(dir.Path, "obj", "Debug", "net8.0", "picguard", "validate.stamp")), "a failed check must not write the stamp");
        Assert.IsTrue(File.Exists(dir["kernel.gcc.o"]), "a failed check must leave the user's files alone");

        var second = SdkPackage.Build(dir.Path);

        Assert.AreNotEqual(0, second.ExitCode);
        StringAssert.Contains(second.All, "error PG0001", "a failed check must run again on the next build");
    }

    [TestMethod]
    public void ArchivesAsPicCheckItems_EachMemberIsChecked_SmallAndLarge()
    {
        // The task reads an archive's members one by one into buffers of native memory (MemberBuffer), in MSBuild's
        // process: an archive under 1 MiB and one over it, each with a bad member between clean ones.
        using var dir = new TempDir();
        string kernel = Compile(dir.Path, "kernel.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        string got = Compile(dir.Path, "got.c", Sources.ExternVariable, Gcc, "-O2", "-fpic", "-fvisibility=hidden");
        string clean = Compile(dir.Path, "clean.c", Sources.StaticOnly, Gcc, "-O2", "-fpic", "-fvisibility=hidden");
        string big = Compile(dir.Path, "big.c", $"char big_table[{(2 << 20) + 4096}] = {{ 1 }};\n", Gcc, "-O2", "-fpic");
        Archive(dir.Path, "libsmall.a", clean, kernel);
        Archive(dir.Path, "liblarge.a", big, got, clean);
        Assert.IsGreaterThan(1 << 20, new FileInfo(dir["liblarge.a"]).Length);
        SdkPackage.WriteProject(dir.Path, NoTargetsProject("""<PicCheck Include="libsmall.a;liblarge.a" />"""));

        var r = SdkPackage.Build(dir.Path, "-v:n");

        Assert.AreNotEqual(0, r.ExitCode, r.All);
        StringAssert.Contains(r.All, "libsmall.a : error PG0001: ");
        StringAssert.Contains(r.All, "libsmall.a(kernel.gcc.o): absolute relocation R_X86_64_32S against 'table'");
        StringAssert.Contains(r.All, "liblarge.a : error PG0002: ");
        StringAssert.Contains(r.All, "liblarge.a(got.gcc.o): GOT-based relocation R_X86_64_REX_GOTPCRELX against 'external_counter'");
        Assert.DoesNotContain("clean.gcc.o):", r.All);
        Assert.DoesNotContain("big.gcc.o):", r.All);
        StringAssert.Contains(r.All, "PicGuard: checked 2 file(s)");
        Assert.DoesNotContain("MSB4018", r.All);
    }

    [TestMethod]
    public void PicMaxLoggedDiagnostics_LogsTheFirstN_ThenOneOfEachNewCode_AndCountsTheRest()
    {
        using var dir = new TempDir();
        // Eight objects with PG0001 each (different tables, so nothing collapses), then one with PG0002 only.
        for (int i = 0; i < 8; i++)
            Compile(dir.Path, $"k{i}.c", Sources.GlobalTable.Replace("table", $"table{i}"), Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        Compile(dir.Path, "got.c", Sources.ExternVariable, Gcc, "-O2", "-fpic", "-fvisibility=hidden");
        string checks = string.Join(";", Enumerable.Range(0, 8).Select(i => $"k{i}.gcc.o")) + ";got.gcc.o";
        SdkPackage.WriteProject(dir.Path, NoTargetsProject($"""<PicCheck Include="{checks}" />""", packageReference: $"""
            <PackageReference Include="PicGuard.Sdk" Version="{SdkPackage.Version}" />
            """).Replace("</PropertyGroup>", "<PicMaxLoggedDiagnostics>3</PicMaxLoggedDiagnostics></PropertyGroup>"));

        var capped = SdkPackage.Build(dir.Path, "-v:n");

        Assert.AreNotEqual(0, capped.ExitCode, capped.All);
        string log = capped.All[..Math.Max(0, capped.All.IndexOf("Build FAILED.", StringComparison.Ordinal))];
        var logged = System.Text.RegularExpressions.Regex.Matches(log, @"^.*\.o : error (PG\d+): (?!>>>)", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).ToList();
        CollectionAssert.AreEqual(new[] { "PG0001", "PG0001", "PG0001", "PG0002" }, logged, capped.All);
        StringAssert.Contains(capped.All, "more finding(s) not logged (PicMaxLoggedDiagnostics=3");

        var all = SdkPackage.Build(dir.Path, "-v:n", "-p:PicMaxLoggedDiagnostics=0");
        string allLog = all.All[..Math.Max(0, all.All.IndexOf("Build FAILED.", StringComparison.Ordinal))];
        int allErrors = System.Text.RegularExpressions.Regex.Matches(allLog, @"^.*\.o : error PG\d+: (?!>>>)", System.Text.RegularExpressions.RegexOptions.Multiline).Count;
        Assert.IsGreaterThanOrEqualTo(9, allErrors, all.All);
        Assert.DoesNotContain("not logged", all.All);

        // Past the limit the checker lists only what can still be logged, yet every place is counted: the summary's
        // totals are those of the build that logs all, and the count of what was not logged is what the log lacks.
        var notLogged = System.Text.RegularExpressions.Regex.Match(capped.All, @"PicGuard: (\d+) more finding\(s\) not logged");
        Assert.IsTrue(notLogged.Success, capped.All);
        Assert.AreEqual(Places(all.All), Places(capped.All), "every error is counted, logged or not");
        int loggedPlaces = PlacesOfLoggedFindings(log);
        Assert.AreEqual(Places(all.All) - loggedPlaces, int.Parse(notLogged.Groups[1].Value), capped.All);
    }

    [TestMethod]
    public void CleanObject_Passes_AndNoOpBuildSkipsTheCheck_UntilTheObjectChanges()
    {
        using var dir = new TempDir();
        string clean = Compile(dir.Path, "clean.c", Sources.StaticOnly, Gcc, "-O2", "-mcmodel=small", "-fpic", "-fvisibility=hidden");
        SdkPackage.WriteProject(dir.Path, NoTargetsProject("""<PicCheck Include="clean.gcc.o" />"""));

        var first = SdkPackage.Build(dir.Path, "-v:n");
        Assert.AreEqual(0, first.ExitCode, first.All);
        StringAssert.Contains(first.All, "PicGuard: checked 1 file(s)");

        var noop = SdkPackage.Build(dir.Path, "-v:d");
        Assert.AreEqual(0, noop.ExitCode, noop.All);
        StringAssert.Contains(noop.All, "Skipping target \"PicGuardValidate\" because all output files are up-to-date");
        Assert.DoesNotContain("PicGuard: checked", noop.All);

        // Replace the object with one that breaks the rules: the check runs again and fails.
        Compile(dir.Path, "clean.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        File.SetLastWriteTimeUtc(clean, DateTime.UtcNow.AddSeconds(5));
        var changed = SdkPackage.Build(dir.Path);
        Assert.AreNotEqual(0, changed.ExitCode, changed.All);
        StringAssert.Contains(changed.All, "clean.gcc.o : error PG0001");
    }

    [TestMethod]
    public void SdkForm_WorksLikeThePackageReference()
    {
        using var dir = new TempDir();
        Compile(dir.Path, "kernel.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        SdkPackage.WriteProject(dir.Path, NoTargetsProject(
            """<PicCheck Include="kernel.gcc.o" />""",
            sdkElement: $"""<Sdk Name="PicGuard.Sdk" Version="{SdkPackage.Version}" />""",
            packageReference: ""));

        var r = SdkPackage.Build(dir.Path);

        Assert.AreEqual(1, r.ExitCode, r.All);
        StringAssert.Contains(r.All, "kernel.gcc.o : error PG0001");
    }

    [TestMethod]
    public void UnknownProfile_IsOneConfigurationError()
    {
        using var dir = new TempDir();
        Compile(dir.Path, "clean.c", Sources.StaticOnly, Gcc, "-O2", "-fpic", "-fvisibility=hidden");
        SdkPackage.WriteProject(dir.Path, NoTargetsProject("""<PicCheck Include="clean.gcc.o" />"""));

        var r = SdkPackage.Build(dir.Path, "-p:PicProfile=kexec");

        Assert.AreEqual(1, r.ExitCode, r.All);
        StringAssert.Contains(r.All, "error PG9004: PicProfile is 'kexec', which is not accepted; use one of: generic, kexec-purgatory, efi-stub, startup");
        Assert.DoesNotContain("MSB4018", r.All);
    }

    /// <summary>Errors and warnings by place, from PicValidate's summary line ("3 error(s) at 40 place(s), 1 warning(s), ...").</summary>
    private static int Places(string log)
    {
        var summary = System.Text.RegularExpressions.Regex.Match(log, @"PicGuard: checked \d+ file\(s\), \d+ relocation\(s\): (\d+) error\(s\)(?: at (\d+) place\(s\))?, (\d+) warning\(s\)(?: at (\d+) place\(s\))?");
        Assert.IsTrue(summary.Success, log);
        int Group(int at, int or) => int.Parse(summary.Groups[summary.Groups[at].Success ? at : or].Value);
        return Group(2, 1) + Group(4, 3);
    }

    /// <summary>The places the logged findings stand for: each one's own, its repeats' "referenced by" lines, and "referenced N more time(s)".</summary>
    private static int PlacesOfLoggedFindings(string log)
    {
        int places = 0;
        bool ownPlace = false;
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(log, @"^.*\.o : (?:error|warning) PG\d+: (.*)$", System.Text.RegularExpressions.RegexOptions.Multiline))
        {
            string text = m.Groups[1].Value.TrimEnd('\r');
            var more = System.Text.RegularExpressions.Regex.Match(text, @"^>>> referenced (\d+) more time\(s\)");
            if (more.Success) places += int.Parse(more.Groups[1].Value);
            else if (text.StartsWith(">>> referenced by ", StringComparison.Ordinal)) { if (ownPlace) ownPlace = false; else places++; }
            else if (!text.StartsWith(">>>", StringComparison.Ordinal)) { places++; ownPlace = true; }
        }
        return places;
    }
}
