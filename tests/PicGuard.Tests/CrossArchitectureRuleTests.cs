using PicGuard.Diagnostics;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// The profile rules on every architecture PicGuard has tables for: objects from clang 19 for aarch64,
/// riscv64, i386, arm, loongarch64, ppc64le and the big-endian aarch64_be and s390x (and gcc 12 -m32),
/// built during the test under the position-independent flags, so the only findings are the constructs
/// each test plants.
/// </summary>
[TestClass]
public sealed class CrossArchitectureRuleTests
{
    public static IEnumerable<object[]> Targets =>
    [
        ["aarch64-linux-gnu", "R_AARCH64_ABS64"],
        ["riscv64-linux-gnu", "R_RISCV_64"],
        ["i386-linux-gnu", "R_386_32"],
        ["x86_64-linux-gnu", "R_X86_64_64"],
        ["armv7a-linux-gnueabihf", "R_ARM_ABS32"],
        ["loongarch64-linux-gnu", "R_LARCH_64"],
        ["powerpc64le-linux-gnu", "R_PPC64_ADDR64"],
        ["aarch64_be-linux-gnu", "R_AARCH64_ABS64"],
        ["s390x-linux-gnu", "R_390_64"],
    ];

    private static readonly string[] Policy = ["-O2", "-fpic", "-fvisibility=hidden"];

    private static string Build(TempDir dir, string name, string source, string target, params string[] flags) =>
        CompileForTarget(dir.Path, name, "#pragma GCC visibility push(hidden)\n" + source, target, [.. Policy, .. flags]);

    private static CheckResult Check(string obj, CheckOptions options) => new Checker(options).CheckFile(obj);

    private static string Dump(CheckResult r) => string.Join("\n", r.Diagnostics.Select(d => d.Format()));

    [TestMethod]
    [DynamicData(nameof(Targets))]
    public void EfiStub_NativePointerInData_IsPG0010Error_CleanCodeIsNot(string target, string pointerType)
    {
        using var dir = new TempDir();
        // The kernel builds the riscv stub with -mno-relax: its check rejects R_RISCV_RELAX (LoaderProfileTests).
        string[] stub = target.StartsWith("riscv", StringComparison.Ordinal) ? ["-mno-relax"] : [];
        string pointer = Build(dir, "pointer.c", "static int word; int *word_pointer = &word; int get(void) { return *word_pointer; }\n", target, stub);
        string clean = Build(dir, "clean.c", "static int word; int get(void) { return word; } int *address(void) { return &word; }\n", target, stub);

        var found = Check(pointer, new CheckOptions(Profiles.EfiStub));

        var d = found.Diagnostics.Single(x => x.Code == "PG0010");
        Assert.AreEqual(Severity.Error, d.Severity);
        Assert.AreEqual(pointerType, d.RelocationType);
        StringAssert.StartsWith(d.Section!, ".data");
        Assert.IsFalse(found.Diagnostics.Any(x => x.Code is "PG0001" or "PG0002"), Dump(found));
        // No EFI stub exists for ppc64 and s390x: the profile says its loader has no row there (PG9007, a warning), nothing else.
        var cleanFindings = Check(clean, new CheckOptions(Profiles.EfiStub)).Diagnostics;
        bool hasStub = !target.StartsWith("powerpc", StringComparison.Ordinal) && !target.StartsWith("s390x", StringComparison.Ordinal); // drivers/firmware/efi/libstub
        Assert.IsEmpty(cleanFindings.Where(x => x.Code != "PG9007"), "PC-relative code is clean on " + target);
        Assert.AreEqual(hasStub ? 0 : 1, cleanFindings.Count(x => x.Code == "PG9007" && x.Severity == Severity.Warning), target);
    }

    [TestMethod]
    [DynamicData(nameof(Targets))]
    public void Startup_ConfinedCodeCallingOut_IsPG0004_AndSanitizerCallsArePG0005(string target, string pointerType)
    {
        using var dir = new TempDir();
        string obj = Build(dir, "startup.c", CatalogRuleTests.ConfinedStartup, target, "-fsanitize=undefined");

        var result = Check(obj, new CheckOptions(Profiles.Startup));

        var mismatch = result.Diagnostics.Single(x => x.Code == "PG0004");
        StringAssert.Contains(mismatch.Message, "(section: .pi.text) -> scale (section: .text)");
        Assert.AreEqual("startup_64", mismatch.Location!.Function);
        Assert.IsTrue(result.Diagnostics.Any(x => x.Code == "PG0005" && x.Symbol!.StartsWith("__ubsan_handle_")), Dump(result));
        Assert.IsFalse(result.Diagnostics.Any(x => x.Code == "PG0004" && x.Message.Contains("pi_double")), Dump(result));

        string clean = Build(dir, "clean.c", CatalogRuleTests.ConfinedStartup.Replace("__attribute__((noinline)) int scale", "__pitext __attribute__((noinline)) int scale"), target);
        Assert.IsEmpty(Check(clean, new CheckOptions(Profiles.Startup)).Diagnostics, $"{pointerType}: all code in .pi.text is clean");
    }

    [TestMethod]
    [DynamicData(nameof(Targets))]
    public void ThreadLocalStorage_IsPG0011(string target, string pointerType)
    {
        using var dir = new TempDir();
        string obj = Build(dir, "tls.c", "__thread int per_cpu; int get(void) { return per_cpu; }\n", target);

        var result = Check(obj, CheckOptions.Default);

        Assert.IsTrue(result.Diagnostics.Any(x => x.Code == "PG0011" && x.Symbol == "per_cpu" && x.Location!.Function == "get"), Dump(result));
        Assert.IsTrue(result.Diagnostics.All(x => x.Code == "PG0011"), $"{pointerType}: only TLS findings: " + Dump(result));
    }
}
