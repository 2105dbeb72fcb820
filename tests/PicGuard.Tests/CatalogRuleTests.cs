using PicGuard.Diagnostics;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// PG0004–PG0012 and the loader profiles, each against objects the real gcc 12 and clang 19 build
/// during the test, and the clean build of the same source under the position-independent policy.
/// </summary>
[TestClass]
public sealed class CatalogRuleTests
{
    /// <summary>Position-independent flags as the policy sets them (-mcmodel=small -fpic -fvisibility=hidden), for sources that should come out clean.</summary>
    internal static readonly string[] Policy = ["-O2", "-mcmodel=small", "-fpic", "-fvisibility=hidden", "-ffreestanding"];

    /// <summary>Startup code confined to .pi.text that calls a .text helper.</summary>
    public const string ConfinedStartup = """
        #define __pitext __attribute__((section(".pi.text")))
        __attribute__((noinline)) int scale(int x) { return x * 3 + 1; }
        __pitext int startup_64(int *p, int i) { return scale(p[i]); }
        __pitext __attribute__((noinline)) int pi_double(int x) { return x * 2; }
        __pitext int startup_ok(int x) { return pi_double(x) + 1; }
        """;

    private static CheckResult Check(string path, CheckOptions options) => new Checker(options).CheckFile(path);

    private static string Dump(CheckResult r) => string.Join("\n", r.Diagnostics.Select(d => d.Format()));

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void PiTextCallingText_IsPG0004_NamingBothFunctions_AndInstrumentationIsPG0005(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "startup.c", ConfinedStartup, compiler, [.. Policy, "-pg", "-mfentry", "-fsanitize=undefined"]);

        var result = Check(obj, CheckOptions.Default with { RestrictedSections = [".pi.text"] });

        var mismatch = result.Diagnostics.Single(d => d.Code == "PG0004");
        StringAssert.Contains(mismatch.Message, "startup_64+0x");
        StringAssert.Contains(mismatch.Message, "(section: .pi.text) -> scale (section: .text)");
        Assert.AreEqual(".pi.text", mismatch.Section);
        Assert.AreEqual("startup_64", mismatch.Location!.Function);
        var instrumentation = result.Diagnostics.Where(d => d.Code == "PG0005").ToList();
        Assert.IsTrue(instrumentation.Any(d => d.Symbol == "__fentry__" && d.Message.Contains("-pg -mfentry")), Dump(result));
        Assert.IsTrue(instrumentation.Any(d => d.Symbol!.StartsWith("__ubsan_handle_") && d.Message.Contains("-fsanitize=undefined")), Dump(result));
        Assert.IsTrue(instrumentation.Any(d => d.Location!.Function == "startup_64" || d.Context.Any(c => c.Contains("startup_64"))), Dump(result));
        // startup_ok calls pi_double inside .pi.text: no mismatch for it.
        Assert.IsFalse(result.Diagnostics.Any(d => d.Code == "PG0004" && d.Message.Contains("pi_double")), Dump(result));
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void ConfinedCode_UnderThePolicy_OnlyTheMismatchRemains_AndItCanBeSuppressed(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "startup.c", ConfinedStartup, compiler, Policy);
        var options = CheckOptions.Default with { RestrictedSections = [".pi.text*"] };

        var result = Check(obj, options);
        Assert.AreEqual("PG0004", result.Diagnostics.Single().Code, Dump(result));

        var allowed = Check(obj, options with { AllowedTargetSections = [".pi.text", ".text"] });
        Assert.IsEmpty(allowed.Diagnostics, Dump(allowed));

        var suppressed = Check(obj, options with { Suppressions = [new Suppression("PG0004", Symbol: "scale", Section: ".pi.text", Justification: "scale is safe from the 1:1 map")] });
        Assert.IsEmpty(suppressed.Diagnostics, Dump(suppressed));
        Assert.AreEqual(0, suppressed.Errors);
        Assert.AreEqual("scale is safe from the 1:1 map", suppressed.Suppressed.Single().By.Justification);

        var otherSymbol = Check(obj, options with { Suppressions = [new Suppression("PG0004", Symbol: "other_*")] });
        Assert.AreEqual(1, otherSymbol.Errors, "a suppression for another symbol leaves the finding");
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void StartupProfile_ConfinesPiTextByDefault_AndForbidsAbsolutePointersInData(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "startup.c", ConfinedStartup + "\nint word; int *word_pointer = &word;\n", compiler, Policy);

        var generic = Check(obj, CheckOptions.Default);
        var startup = Check(obj, new CheckOptions(Profiles.Startup));

        Assert.IsFalse(generic.Diagnostics.Any(d => d.Code == "PG0004"), "generic confines nothing unless asked");
        Assert.AreEqual(Severity.Warning, generic.Diagnostics.Single(d => d.Code == "PG0010").Severity);
        Assert.AreEqual(1, startup.Diagnostics.Count(d => d.Code == "PG0004"), Dump(startup));
        var pointer = startup.Diagnostics.Single(d => d.Code == "PG0010");
        Assert.AreEqual(Severity.Error, pointer.Severity);
        Assert.AreEqual("R_X86_64_64", pointer.RelocationType);
        Assert.AreEqual("word", pointer.Symbol);
        StringAssert.StartsWith(pointer.Section!, ".data");
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void AbsolutePointerInData_DependsOnTheLoader(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "pointer.c", "static int word; int *word_pointer = &word; int get(void) { return *word_pointer; }\n", compiler, Policy);

        Assert.AreEqual(Severity.Warning, Check(obj, CheckOptions.Default).Diagnostics.Single().Severity);
        Assert.AreEqual(Severity.Error, Check(obj, new CheckOptions(Profiles.EfiStub)).Diagnostics.Single(d => d.Code == "PG0010").Severity);
        var kexec = Check(obj, new CheckOptions(Profiles.KexecPurgatory));
        Assert.IsFalse(kexec.Diagnostics.Any(d => d.Code == "PG0010"), "the kexec loader relocates data pointers for the real placement: " + Dump(kexec));
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void KexecProfile_32SIsAcceptedByTheLoaderButOverflowsAnywhere(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "table.c", Sources.GlobalTable, compiler, "-O2", "-mcmodel=kernel", "-fno-pic");

        var anywhere = Check(obj, new CheckOptions(Profiles.KexecPurgatory));
        Assert.IsFalse(anywhere.Diagnostics.Any(d => d.Code == "PG0006"), "R_X86_64_32S is on the loader's list: " + Dump(anywhere));
        var overflow = anywhere.Diagnostics.First(d => d.Code == "PG0007");
        Assert.AreEqual("R_X86_64_32S", overflow.RelocationType);
        StringAssert.Contains(overflow.Message, "Overflow in relocation type 11");

        var low = Check(obj, new CheckOptions(Profiles.KexecPurgatory) { LoadAddress = new LoadAddress(0x100000, 0x100000) });
        Assert.IsFalse(low.Diagnostics.Any(d => d.Code == "PG0007"), "placed at 1 MiB the value fits: " + Dump(low));

        var highButUnder4G = Check(obj, new CheckOptions(Profiles.KexecPurgatory) { LoadAddress = new LoadAddress(0xC000_0000, 0xC000_0000) });
        Assert.IsTrue(highButUnder4G.Diagnostics.Any(d => d.Code == "PG0007" && d.RelocationType == "R_X86_64_32S"), "3 GiB does not fit a sign-extended 32-bit field: " + Dump(highButUnder4G));

        var policy = Compile(dir.Path, "table2.c", Sources.GlobalTable, compiler, Policy);
        Assert.IsEmpty(Check(policy, new CheckOptions(Profiles.KexecPurgatory)).Diagnostics);
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void KexecProfile_GotRelocationIsRejectedByTheLoader(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "ext.c", Sources.ExternVariable, compiler, Policy);

        var result = Check(obj, new CheckOptions(Profiles.KexecPurgatory) { CheckUndefinedSymbols = false });

        var rejected = result.Diagnostics.Single(d => d.Code == "PG0006");
        Assert.AreEqual("R_X86_64_REX_GOTPCRELX", rejected.RelocationType);
        StringAssert.Contains(rejected.Message, "Unknown rela relocation: 42");
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0002"));
        Assert.IsFalse(Check(obj, CheckOptions.Default).Diagnostics.Any(d => d.Code == "PG0006"), "generic has no loader list");
    }

    [TestMethod]
    public void KexecProfile_ChecksUndefinedSymbolsUnlessTold()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "ext.c", "#pragma GCC visibility push(hidden)\n" + Sources.ExternVariable, Gcc, Policy);

        Assert.AreEqual("external_counter", Check(obj, new CheckOptions(Profiles.KexecPurgatory)).Diagnostics.Single(d => d.Code == "PG0008").Symbol);
        Assert.IsEmpty(Check(obj, new CheckOptions(Profiles.KexecPurgatory, CheckUndefinedSymbols: false)).Diagnostics);
        Assert.IsEmpty(Check(obj, CheckOptions.Default).Diagnostics);
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void FunctionSections_AreSeveralExecutableSections_ForTheKexecLoaderOnly(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "two.c", "int one(void) { return 1; }\nint two(void) { return 2; }\n", compiler, [.. Policy, "-ffunction-sections"]);

        var kexec = Check(obj, new CheckOptions(Profiles.KexecPurgatory));
        var several = kexec.Diagnostics.Single(d => d.Code == "PG0012");
        Assert.IsTrue(several.Context.Any(c => c.Contains(".text.one")) && several.Context.Any(c => c.Contains(".text.two")), several.Format());
        Assert.IsEmpty(Check(obj, CheckOptions.Default).Diagnostics);

        string single = Compile(dir.Path, "one.c", "int one(void) { return 1; }\nint two(void) { return 2; }\n", compiler, Policy);
        Assert.IsEmpty(Check(single, new CheckOptions(Profiles.KexecPurgatory)).Diagnostics);
    }

    [TestMethod]
    public void ClangLargeModel_PutsCodeInLtext_WhichIsPG0003_AndPG0012ForKexec()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "large.c", "int big[4]; __attribute__((section(\".text\"))) int small(void) { return 1; }\nint get(int i) { return big[i]; }\n", Clang, "-O2", "-mcmodel=large", "-fno-pic");

        var result = Check(obj, new CheckOptions(Profiles.KexecPurgatory));

        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0003" && d.Section == ".ltext"), Dump(result));
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0012"), Dump(result));
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void ThreadLocalVariable_IsPG0011(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "tls.c", "__thread int per_cpu; int get(void) { return per_cpu; }\n", compiler, Policy);

        var result = Check(obj, CheckOptions.Default);

        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0011" && d.RelocationType is not null && d.Symbol == "per_cpu"), Dump(result));
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0011" && d.Section == ".tbss"), Dump(result));
    }

    [TestMethod]
    [DataRow(Gcc, "-mcmodel=large")]
    [DataRow(Clang, "-mcmodel=large")]
    [DataRow(Clang, null)]
    public void LtoObjects_ArePG0009_AlsoInsideArchives(string compiler, string? model)
    {
        using var dir = new TempDir();
        string[] flags = model is null ? ["-O2", "-flto"] : ["-O2", "-flto", model];
        string obj = Compile(dir.Path, "lto.c", Sources.StaticOnly, compiler, flags);
        string clean = Compile(dir.Path, "plain.c", Sources.StaticOnly, Gcc, Policy);
        string archive = Archive(dir.Path, "libmixed.a", clean, obj);

        var single = Check(obj, CheckOptions.Default).Diagnostics.Single();
        var inArchive = Check(archive, CheckOptions.Default).Diagnostics.Single();

        Assert.AreEqual("PG0009", single.Code);
        StringAssert.Contains(single.Message, Path.GetFileName(obj));
        StringAssert.Contains(single.Message, compiler == Gcc ? "GCC LTO" : "LLVM bitcode");
        if (model is not null)
            StringAssert.Contains(single.Message, compiler == Gcc ? "-mcmodel=large" : "'Code Model'");
        Assert.AreEqual("PG0009", inArchive.Code);
        StringAssert.Contains(inArchive.Object, $"libmixed.a({Path.GetFileName(obj)})");
    }

    [TestMethod]
    public void LargeModelMovabs_ShowsTheInstruction()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "table.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=large", "-fno-pic");

        var d = Check(obj, CheckOptions.Default).Diagnostics.First(d => d.RelocationType == "R_X86_64_64");

        Assert.IsNotNull(d.Instruction);
        StringAssert.StartsWith(d.Instruction, "mov");
        StringAssert.Contains(d.Instruction, "0x0", "the immediate the loader patches");
        Assert.IsTrue(d.Context.Contains("instruction: " + d.Instruction), d.Format());
    }

    [TestMethod]
    public void IdenticalFindingsCollapse_AndTheCapCountsTheRest()
    {
        using var dir = new TempDir();
        string source = string.Concat(Enumerable.Range(0, 6).Select(i => $"extern int ext{i}; int get{i}(void) {{ return ext{i}; }} int twice{i}(void) {{ return 2 * ext{i}; }}\n"));
        string obj = Compile(dir.Path, "many.c", source, Gcc, "-O0", "-fpic");

        var all = Check(obj, CheckOptions.Default with { MaxDiagnosticsPerFile = 0 });
        Assert.HasCount(6, all.Diagnostics, Dump(all));
        Assert.IsTrue(all.Diagnostics.All(d => d.Occurrences == 2), Dump(all));
        Assert.AreEqual(12, all.Errors);
        Assert.IsTrue(all.Diagnostics[0].Context.Count(c => c.StartsWith("referenced by")) == 2, all.Diagnostics[0].Format());

        var capped = Check(obj, CheckOptions.Default with { MaxDiagnosticsPerFile = 4 });
        Assert.HasCount(4, capped.Diagnostics);
        Assert.AreEqual(4, capped.Omitted);
        Assert.AreEqual(12, capped.Errors, "omitted findings still count");
    }

    [TestMethod]
    public void CountOnly_CountsWhatAFullCheckLists_WithoutBuildingAnything()
    {
        using var dir = new TempDir();
        string source = string.Concat(Enumerable.Range(0, 5).Select(i => $"extern int ext{i}; int get{i}(void) {{ return ext{i}; }} int twice{i}(void) {{ return 2 * ext{i}; }}\n"))
            + "int word; int *word_pointer = &word;\n";
        string obj = Compile(dir.Path, "many.c", source, Gcc, "-O0", "-fpic");
        var suppress = new Suppression("PG0002", Symbol: "ext0");

        foreach (var options in new[] { CheckOptions.Default, CheckOptions.Default with { Suppressions = [suppress] }, CheckOptions.Default with { MaxDiagnosticsPerFile = 2 } })
        {
            var full = Check(obj, options);
            var counted = Check(obj, options with { CountOnly = true });

            Assert.IsEmpty(counted.Diagnostics);
            Assert.AreEqual(full.Errors, counted.Errors);
            Assert.AreEqual(full.Warnings, counted.Warnings);
            Assert.AreEqual(full.Suppressed.Sum(s => s.Diagnostic.Occurrences), counted.Suppressed.Sum(s => s.Diagnostic.Occurrences));
            Assert.IsGreaterThan(0, full.Errors);
            Assert.IsGreaterThan(0, full.Warnings);
        }
    }

    [TestMethod]
    public void UndefinedSymbolsNoRelocationUses_AreNotReported()
    {
        using var dir = new TempDir();
        // An assembler .globl of a name nothing uses leaves an undefined symbol the loader never looks up.
        File.WriteAllText(dir["unused.s"], ".globl never_used\n.text\n.globl entry\nentry:\n  call used_helper\n  ret\n");
        string obj = dir["unused.o"];
        RunChecked(Gcc, "-c", dir["unused.s"], "-o", obj);
        Assert.Contains("never_used", ReadElf("-sW", obj), "the assembler keeps the unused undefined symbol");

        var found = Check(obj, new CheckOptions(Profiles.KexecPurgatory)).Diagnostics.Where(d => d.Code == "PG0008").ToList();

        Assert.AreEqual("used_helper", found.Single().Symbol);
    }
}
