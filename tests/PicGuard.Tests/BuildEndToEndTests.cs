using System.Text.RegularExpressions;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// PicSource → flag policy → compile → link → validate, through the packed SDK and the real
/// `dotnet build`, gcc 12 + ld and clang 19 + ld.lld 19, on the shipped purgatory sample.
/// </summary>
[TestClass]
public sealed class BuildEndToEndTests
{
    private static string Project(string properties, string items = "") => $"""
        <Project Sdk="Microsoft.Build.NoTargets/3.7.0">
          <PropertyGroup>
            <TargetFramework>net8.0</TargetFramework>
            <PicEntryPoint>purgatory_start</PicEntryPoint>
            {properties}
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="PicGuard.Sdk" Version="{SdkPackage.Version}" />
            <PicSource Include="entry.S;purgatory.c;digest.c" />
            {items}
          </ItemGroup>
        </Project>
        """;

    /// <summary>A temp copy of samples/purgatory's sources with the given project.</summary>
    private static TempDir Purgatory(string projectXml)
    {
        var dir = new TempDir();
        foreach (var f in Directory.GetFiles(Path.Combine(SdkPackage.RepositoryRoot, "samples", "purgatory")))
            if (Path.GetExtension(f) is ".c" or ".S" or ".h")
                File.Copy(f, dir[Path.GetFileName(f)]);
        SdkPackage.WriteProject(dir.Path, projectXml, "purgatory.csproj");
        return dir;
    }

    private static string Blob(TempDir dir) => Path.Combine(dir.Path, "bin", "Debug", "net8.0", "purgatory.ro");
    private static string ObjectFile(TempDir dir, string source) => Path.Combine(dir.Path, "obj", "Debug", "net8.0", "picguard", "obj", source + ".o");
    private static int Count(string log, string what) => SdkPackage.CountBeforeSummary(log, what);

    private static string[] ExecutableSections(string elf) =>
        ReadElf("-SW", elf).Split('\n')
            .Select(l => Regex.Match(l, @"^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S*X\S*)\s"))
            .Where(m => m.Success).Select(m => m.Groups[1].Value).ToArray();

    [TestMethod]
    [DataRow("gcc", "ld")]
    [DataRow("clang-19", "ld.lld-19")]
    public void Purgatory_BuildsLinksAndPasses(string compiler, string linker)
    {
        using var dir = Purgatory(Project($"<PicCompiler>{compiler}</PicCompiler><PicLinker>{linker}</PicLinker><PicCFlags>-O2 -Wall</PicCFlags>"));

        var r = SdkPackage.Build(dir.Path, "-v:n");

        Assert.AreEqual(0, r.ExitCode, r.All);
        StringAssert.Contains(r.All, "PicGuard: linked");
        Assert.IsTrue(File.Exists(Blob(dir)));
        Assert.AreEqual("REL (Relocatable file)", Regex.Match(ReadElf("-hW", Blob(dir)), @"Type:\s+(.*)").Groups[1].Value.Trim());
        CollectionAssert.AreEqual(new[] { ".text" }, ExecutableSections(Blob(dir)));
        Assert.IsEmpty(new Checker(CheckOptions.Default with { CheckUndefinedSymbols = true }).CheckFile(Blob(dir)).Diagnostics);
        PlacedImages.AssertDifferOnlyAtPatches(Blob(dir));
    }

    [TestMethod]
    public void HostileFlags_WithClang_StillGiveOneTextSection_AndPolicyReportsRemovals()
    {
        using var dir = Purgatory(Project("""
            <PicCompiler>clang-19</PicCompiler><PicLinker>ld.lld-19</PicLinker>
            <PicCFlags>-O2 -mcmodel=large -flto -fsanitize=undefined -pg</PicCFlags>
            """));

        var r = SdkPackage.Build(dir.Path, "-v:d");

        Assert.AreEqual(0, r.ExitCode, r.All);
        CollectionAssert.AreEqual(new[] { ".text" }, ExecutableSections(Blob(dir)));
        Assert.DoesNotContain(".ltext", ReadElf("-SW", Blob(dir)));
        PlacedImages.AssertDifferOnlyAtPatches(Blob(dir));
        foreach (var flag in new[] { "-flto", "-fsanitize=undefined", "-pg" })
            Assert.AreEqual(1, Count(r.All, $"PG1001: PicGuard flag policy removed '{flag}'"), $"{flag} must be reported once:\n{r.All}");
        StringAssert.Contains(r.All, "purgatory.csproj : warning PG1002: PicGuard flag policy overrides '-mcmodel=large'", "the policy's report points at the project, not at PicGuard's targets");
        Assert.DoesNotContain("PicGuard.Sdk.targets", r.All.Split('\n').Where(l => l.Contains("PG1001") || l.Contains("PG1002")).FirstOrDefault() ?? "");
        // digest_seed is declared in purgatory.h, defined in digest.c: hidden, so PC-relative.
        string relocs = ReadElf("-rW", ObjectFile(dir, "purgatory.c"));
        StringAssert.Matches(relocs, new Regex(@"R_X86_64_PC32\s+\S+\s+digest_seed"));
        Assert.DoesNotContain("GOTPCREL", relocs);
        Assert.DoesNotContain("__ubsan", relocs);
        Assert.DoesNotContain("mcount", relocs);
    }

    [TestMethod]
    public void SyntaxError_IsReportedAtFileLineColumn_AndFailsTheBuild()
    {
        using var dir = Purgatory(Project("<PicCompiler>gcc</PicCompiler>"));
        File.WriteAllText(dir["digest.c"], "#include \"purgatory.h\"\nunsigned long digest_seed = 1;\nint verify_digest(void) {\n  return 0\n}\n");

        var r = SdkPackage.Build(dir.Path);

        Assert.AreNotEqual(0, r.ExitCode);
        StringAssert.Matches(r.All, new Regex(@"digest\.c\(4,\d+\): error PG2001: expected ';'"));
        Assert.IsFalse(File.Exists(ObjectFile(dir, "digest.c")), "a failed compile must leave no object");
    }

    [TestMethod]
    public void Incremental_NoOpRunsNothing_TouchRecompilesOne_FlagChangeRecompilesAll()
    {
        using var dir = Purgatory(Project("<PicCompiler>clang-19</PicCompiler><PicLinker>ld.lld-19</PicLinker>"));
        var first = SdkPackage.Build(dir.Path, "-v:n");
        Assert.AreEqual(0, first.ExitCode, first.All);
        Assert.AreEqual(3, Count(first.All, "PicGuard: compiled "));

        var noop = SdkPackage.Build(dir.Path, "-v:n");
        Assert.AreEqual(0, noop.ExitCode, noop.All);
        Assert.AreEqual(0, Count(noop.All, "PicGuard: compiled "), noop.All);
        Assert.AreEqual(0, Count(noop.All, "PicGuard: linked "), noop.All);
        Assert.AreEqual(0, Count(noop.All, "PicGuard: checked "), noop.All);

        File.SetLastWriteTimeUtc(dir["digest.c"], DateTime.UtcNow.AddSeconds(2));
        var touched = SdkPackage.Build(dir.Path, "-v:n");
        Assert.AreEqual(0, touched.ExitCode, touched.All);
        Assert.AreEqual(1, Count(touched.All, "PicGuard: compiled "), touched.All);
        StringAssert.Contains(touched.All, "PicGuard: compiled digest.c");
        StringAssert.Contains(touched.All, "PicGuard: linked ");

        File.SetLastWriteTimeUtc(dir["purgatory.h"], DateTime.UtcNow.AddSeconds(4));
        var header = SdkPackage.Build(dir.Path, "-v:n");
        Assert.AreEqual(2, Count(header.All, "PicGuard: compiled "), "both C files include purgatory.h:\n" + header.All);

        var flags = SdkPackage.Build(dir.Path, "-v:n", "-p:PicCFlags=-O1");
        Assert.AreEqual(0, flags.ExitCode, flags.All);
        Assert.AreEqual(3, Count(flags.All, "PicGuard: compiled "), flags.All);
    }

    [TestMethod]
    public void MissingCompiler_IsOnePG1003_NamingTheProperty()
    {
        using var dir = Purgatory(Project("<PicCompiler>clang-99</PicCompiler>"));

        var r = SdkPackage.Build(dir.Path);

        Assert.AreEqual(1, r.ExitCode, r.All);
        Assert.AreEqual(1, Count(r.All, "purgatory.csproj : error PG1003: PicCompiler is 'clang-99', which was not found on PATH; install it (apt-get install clang-99)"), r.All);
        Assert.DoesNotContain("MSB6004", r.All);
        Assert.DoesNotContain("MSB4018", r.All);
    }

    [TestMethod]
    public void UndefinedSymbol_IsPG0008_UnlessAllowed()
    {
        using var dir = Purgatory(Project("<PicCompiler>gcc</PicCompiler>"));
        File.AppendAllText(dir["purgatory.c"], "\nextern void loader_callback(void);\nvoid notify(void) { loader_callback(); }\n");

        var failing = SdkPackage.Build(dir.Path);

        Assert.AreNotEqual(0, failing.ExitCode);
        StringAssert.Contains(failing.All, "error PG0008: undefined symbol 'loader_callback'");
        StringAssert.Contains(failing.All, ">>> referenced by notify+0x");
        Assert.IsTrue(File.Exists(Blob(dir)), "the blob stays for inspection");

        File.WriteAllText(Path.Combine(dir.Path, "purgatory.csproj"),
            Project("<PicCompiler>gcc</PicCompiler>", """<PicAllowUndefined Include="loader_%2A" />"""));
        var allowed = SdkPackage.Build(dir.Path);
        Assert.AreEqual(0, allowed.ExitCode, allowed.All);
    }

    [TestMethod]
    [DataRow("gcc", "ld")]
    [DataRow("clang-19", "ld.lld-19")]
    public void PieMode_LinksAStaticPositionIndependentExecutable_EnteringAtTheEntrySymbol(string compiler, string linker)
    {
        using var dir = Purgatory(Project($"<PicCompiler>{compiler}</PicCompiler><PicLinker>{linker}</PicLinker><PicLinkMode>pie</PicLinkMode>"));

        var r = SdkPackage.Build(dir.Path);

        Assert.AreEqual(0, r.ExitCode, r.All);
        string blob = Path.Combine(dir.Path, "bin", "Debug", "net8.0", "purgatory.elf");
        string header = ReadElf("-hW", blob);
        StringAssert.Contains(header, "DYN (Position-Independent Executable file)");
        string entry = Regex.Match(header, @"Entry point address:\s+0x([0-9a-f]+)").Groups[1].Value;
        string symbols = ReadElf("-sW", blob);
        StringAssert.Matches(symbols, new Regex($@"^\s*\d+:\s+0*{entry}\s+\d+\s+FUNC\s+\S+\s+\S+\s+\S+\s+purgatory_start$", RegexOptions.Multiline));
        Assert.DoesNotContain("INTERP", ReadElf("-lW", blob), "a static PIE needs no dynamic linker");
    }

    [TestMethod]
    public void LinkModeTypo_IsPG9004_NamingAcceptedValues()
    {
        using var dir = Purgatory(Project("<PicLinkMode>relocateable</PicLinkMode>"));

        var r = SdkPackage.Build(dir.Path);

        Assert.AreEqual(1, r.ExitCode, r.All);
        StringAssert.Contains(r.All, "error PG9004: PicLinkMode is 'relocateable', which is not accepted; use relocatable (default), pie or none");
    }
}
