using System.Text.RegularExpressions;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>The #4 rules through the packed SDK and a real `dotnet build`: properties, items and warning controls.</summary>
[TestClass]
public sealed class RuleEndToEndTests
{
    private const string Startup = """
        #define __pitext __attribute__((section(".pi.text")))
        __attribute__((noinline)) int scale(int x) { return x * 3 + 1; }
        __pitext int startup_64(int *p, int i) { return scale(p[i]); }
        """;

    private static TempDir Write(string properties, string items, params (string Name, string Text)[] files)
    {
        var dir = new TempDir();
        foreach (var (name, text) in files) File.WriteAllText(dir[name], text);
        SdkPackage.WriteProject(dir.Path, SdkPackage.NoTargetsProject("<PicCompiler>gcc</PicCompiler>" + properties, items));
        return dir;
    }

    private static int Count(string log, string what) => SdkPackage.CountBeforeSummary(log, what);

    [TestMethod]
    public void ConfinedSourceWithInstrumentationFlags_ThroughThePolicy_GivesOnlyPG0004()
    {
        using var dir = Write("<PicRestrictedSections>.pi.text</PicRestrictedSections><PicCFlags>-O2 -g -pg -mfentry -fsanitize=undefined</PicCFlags>",
            """<PicSource Include="startup.c" />""", ("startup.c", Startup));

        var r = SdkPackage.Build(dir.Path);

        Assert.AreEqual(1, r.ExitCode, r.All);
        Assert.AreEqual(1, Regex.Matches(r.All[..r.All.IndexOf("Build FAILED.", StringComparison.Ordinal)], @"error PG0004: \S+blob\.ro: section mismatch in reference: startup_64\+0x").Count, r.All);
        StringAssert.Contains(r.All, "(section: .pi.text) -> scale (section: .text)");
        Assert.AreEqual(0, Count(r.All, "PG0005"), "the policy removed -pg and -fsanitize: " + r.All);
        var codes = Regex.Matches(r.All, @"(?:error|warning) (PG\d{4})").Select(m => m.Groups[1].Value).Distinct().ToList();
        CollectionAssert.AreEqual(new[] { "PG0004" }, codes, r.All);
        StringAssert.Contains(r.All, ">>> instruction: "); // the package carries the disassembler
        // The finding points at the source line of the call (DWARF), so IDEs jump to it.
        StringAssert.Matches(r.All, new Regex(@"startup\.c\(3,\d+\): error PG0004"));
    }

    [TestMethod]
    public void Suppression_AcceptsTheFinding_AndTheSummarySaysSo()
    {
        using var dir = Write("<PicRestrictedSections>.pi.text</PicRestrictedSections>",
            """
            <PicSource Include="startup.c" />
            <PicSuppress Include="PG0004" Symbol="scale" Section=".pi.text" Justification="scale runs from any mapping" />
            """, ("startup.c", Startup));

        var r = SdkPackage.Build(dir.Path, "-v:n");

        Assert.AreEqual(0, r.ExitCode, r.All);
        StringAssert.Contains(r.All, "PicGuard: suppressed PG0004");
        StringAssert.Contains(r.All, "(justification: scale runs from any mapping)");
        StringAssert.Contains(r.All, "1 suppressed");
    }

    [TestMethod]
    public void LtoObjectAmongPicObjects_IsPG0009_BeforeTheLink()
    {
        using var dir = Write("<PicLinker>ld.lld-19</PicLinker>",
            """
            <PicSource Include="main.c" />
            <PicObject Include="prebuilt/helper.o" />
            """, ("main.c", "int helper(int);\nint entry(int x) { return helper(x); }\n"));
        Directory.CreateDirectory(dir["prebuilt"]);
        Compile(dir["prebuilt"], "helper.c", "int helper(int x) { return x + 1; }\n", Clang, "-O2", "-flto", "-fpic");
        File.Move(Path.Combine(dir["prebuilt"], "helper.clang-19.o"), Path.Combine(dir["prebuilt"], "helper.o"));

        var r = SdkPackage.Build(dir.Path);

        Assert.AreEqual(1, r.ExitCode, r.All);
        Assert.AreEqual(1, Count(r.All, "is LLVM bitcode (clang -flto)"), r.All);
        StringAssert.Contains(r.All, "prebuilt/helper.o : error PG0009: ");
        StringAssert.Contains(r.All, "helper.o is LLVM bitcode (clang -flto)");
        Assert.IsFalse(File.Exists(Path.Combine(dir.Path, "bin", "Debug", "net8.0", "blob.ro")), "the check runs before the link: " + r.All);
    }

    [TestMethod]
    public void BitcodePicObjectsOfTwoCodeModels_ArePG0013NamingBoth_BeforeTheLink()
    {
        using var dir = Write("<PicLinker>ld.lld-19</PicLinker><PicProfile>startup</PicProfile>",
            """
            <PicSource Include="main.c" />
            <PicObject Include="prebuilt/numa.o;prebuilt/head64.o" />
            """, ("main.c", "int numa_init(int);\nint entry(int x) { return numa_init(x); }\n"));
        Directory.CreateDirectory(dir["prebuilt"]);
        Compile(dir["prebuilt"], "numa.c", "int numa_init(int x) { return x + 1; }\n", Clang, "-O2", "-flto", "-mcmodel=kernel", "-fno-pic");
        Compile(dir["prebuilt"], "head64.c", "int __startup_64(int x) { return x - 3; }\n", Clang, "-O2", "-flto", "-mcmodel=small", "-fpic");
        foreach (var name in new[] { "numa", "head64" })
            File.Move(Path.Combine(dir["prebuilt"], $"{name}.clang-19.o"), Path.Combine(dir["prebuilt"], $"{name}.o"));

        var r = SdkPackage.Build(dir.Path);

        Assert.AreEqual(1, r.ExitCode, r.All);
        Assert.AreEqual(1, Count(r.All, "head64.o is LLVM bitcode with Code Model small, but 1 other bitcode input(s) of this link have Code Model kernel"), r.All);
        StringAssert.Contains(r.All, "prebuilt/head64.o : error PG0013: ");
        StringAssert.Contains(r.All, ">>> kernel: ");
        StringAssert.Contains(r.All, "numa.o: Code Model kernel; defines numa_init");
        StringAssert.Contains(r.All, "head64.o: Code Model small, PIC Level 1; defines __startup_64");
        StringAssert.Contains(r.All, ">>> likely culprit: ");
        Assert.AreEqual(2, Count(r.All, "is LLVM bitcode (clang -flto)"), r.All);
        Assert.IsFalse(File.Exists(Path.Combine(dir.Path, "bin", "Debug", "net8.0", "blob.ro")), "the check runs before the link: " + r.All);
    }

    [TestMethod]
    public void PG0010Warning_HonoursNoWarnAndWarningsAsErrors()
    {
        const string pointer = "static int word;\nint *word_pointer = &word;\nint get(void) { return *word_pointer; }\n";
        const string items = """<PicSource Include="pointer.c" />""";

        // (properties, whether the build fails, what the log says, how often)
        foreach (var (properties, fails, text, count) in new[]
        {
            ("", false, "warning PG0010: absolute relocation R_X86_64_64 against ", 1),
            ("<NoWarn>$(NoWarn);PG0010</NoWarn>", false, "PG0010", 0),
            ("<WarningsAsErrors>$(WarningsAsErrors);PG0010</WarningsAsErrors>", true, "error PG0010: absolute relocation", 1),
            ("<PicProfile>efi-stub</PicProfile>", true, "error PG0010: absolute relocation", 1),
        })
        {
            using var dir = Write(properties, items, ("pointer.c", pointer));
            var r = SdkPackage.Build(dir.Path);
            Assert.AreEqual(fails, r.ExitCode != 0, $"{properties}\n{r.All}");
            Assert.AreEqual(count, Count(r.All, text), $"{properties}\n{r.All}");
        }
    }

    [TestMethod]
    public void BadLoadAddress_IsOnePG9004_NamingThePropertyAndTheAcceptedForms()
    {
        using var dir = Write("<PicLoadAddress>somewhere</PicLoadAddress>", """<PicSource Include="main.c" />""", ("main.c", "int entry(void) { return 0; }\n"));

        var r = SdkPackage.Build(dir.Path);

        Assert.AreEqual(1, r.ExitCode, r.All);
        Assert.AreEqual(1, Count(r.All, "error PG9004: PicLoadAddress is 'somewhere', which is not accepted; use an address such as 0x100000, a range such as 0x100000-0x7fffffff, or 'any'"), r.All);
        StringAssert.Matches(r.All, new Regex(@"blob\.csproj\s*: error PG9004"), "the error points at the project");
    }
}
