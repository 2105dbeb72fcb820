using System.Text.RegularExpressions;
using PicGuard.Bitcode;
using PicGuard.Diagnostics;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// The LLVM bitcode reader against llvm-dis-19 and llvm-nm-19 on real clang-19 bitcode (every code model each target
/// accepts, with and without -fpic, full and thin LTO), and PG0013 on the startup-code case: a -mcmodel=kernel and a
/// -mcmodel=small object in one LTO link, which ld.lld-19 really refuses.
/// </summary>
[TestClass]
public sealed class BitcodeTests
{
    private const string LlvmDis = "llvm-dis-19";
    private const string LlvmNm = "llvm-nm-19";

    /// <summary>Functions of every kind the reader must name: external, static (kept by noinline), weak; a declaration it must not.</summary>
    private const string Source = """
        static int counter;
        int table[4] = { 1, 2, 3, 4 };
        extern int ext_call(int);
        __attribute__((noinline)) static int helper(int x) { return x * 3 + counter++; }
        int startup_64(int i) { return helper(table[i & 3]); }
        __attribute__((weak)) int weak_hook(int x) { return ext_call(x); }
        """;

    /// <summary>Each target with every -mcmodel value clang-19 accepts for it (riscv64's medlow/medany are small/medium).</summary>
    private static readonly (string Target, string[] Models)[] Targets =
    [
        ("x86_64-linux-gnu", ["small", "kernel", "medium", "large"]),
        ("aarch64-linux-gnu", ["tiny", "small", "large"]),
        ("riscv64-linux-gnu", ["small", "medium", "medlow", "medany"]),
    ];

    private static readonly string[][] PicVariants = [["-fno-pic"], ["-fpic"], []];

    [TestMethod]
    public void ModuleFlagsAndFunctions_EqualLlvmDisAndLlvmNm_ForEveryTargetCodeModelAndPicLevel()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["m.c"], Source);
        var objects = new List<(string Path, string? Model, string Dis)>();
        var mismatches = new List<string>();
        foreach (var (target, models) in Targets)
        foreach (var model in models.Append(null))
        foreach (var pic in PicVariants)
        foreach (var lto in new[] { "-flto", "-flto=thin" })
        {
            string name = $"{target.Split('-')[0]}-{model ?? "default"}-{(pic.Length == 0 ? "defaultpic" : pic[0].TrimStart('-'))}-{lto.TrimStart('-').Replace('=', '-')}.o";
            // Thin objects also carry debug info: thousands of metadata records the reader must number right.
            var flags = new List<string> { $"--target={target}", "-ffreestanding", "-nostdinc", "-O2", lto };
            flags.AddRange(pic);
            if (model is not null) flags.Add($"-mcmodel={model}");
            if (lto == "-flto=thin") flags.Add("-g");
            var r = Run(Clang, [.. flags, "-c", "m.c", "-o", name], workingDirectory: dir.Path);
            if (r.ExitCode != 0)
            {
                // The one refusal clang-19 makes: aarch64's large model with position-independent code.
                Assert.IsTrue(target.StartsWith("aarch64") && model == "large" && !pic.Contains("-fno-pic"), $"clang-19 {string.Join(' ', flags)} failed:\n{r.All}");
                StringAssert.Contains(r.All, "only allowed with '-fno-pic'");
                continue;
            }
            string path = dir[name];
            string dis = RunChecked(LlvmDis, path, "-o", "-").StdOut;
            objects.Add((path, model, dis));

            var module = BitcodeReader.Read(File.ReadAllBytes(path)).Single();
            var expected = ModuleFlags(dis);
            var actual = module.Flags.Select(f => f.ToString()).ToList();
            if (!expected.SequenceEqual(actual))
                mismatches.Add($"{name}: module flags\n  llvm-dis:  {string.Join(" | ", expected)}\n  picguard:  {string.Join(" | ", actual)}");
            var functions = DefinedFunctions(path);
            if (!functions.SetEquals(module.DefinedFunctions))
                mismatches.Add($"{name}: functions llvm-nm [{string.Join(", ", functions.Order())}], picguard [{string.Join(", ", module.DefinedFunctions.Order())}]");
            StringAssert.StartsWith(module.Triple, target.Split('-')[0], name);
            Assert.AreEqual("m.c", module.SourceFileName, name);
            if (model is not null)
                Assert.AreEqual(ExpectedCodeModel(model), module.CodeModel, name);
            else
                Assert.IsNull(module.CodeModel, $"{name}: clang writes 'Code Model' only for an explicit -mcmodel");
        }
        Assert.IsEmpty(mismatches, string.Join("\n", mismatches));
        // 3 targets: x86-64 5 models, aarch64 4 (large only without PIC), riscv64 5; 3 PIC variants; full and thin LTO.
        Assert.AreEqual((5 * 3 + 4 * 3 - 2 + 5 * 3) * 2, objects.Count);
        Assert.IsTrue(objects.Any(o => o.Dis.Contains("!\"Large Data Threshold\"")), "x86-64 medium/large carry Large Data Threshold");
        Assert.IsTrue(objects.Any(o => o.Dis.Contains("!\"PIE Level\"")), "the default PIC variant is PIE");

        // The same objects as members of one archive: a PG0009 each naming its code model, and PG0013 over them.
        string archive = Archive(dir.Path, "libbitcode.a", objects.Select(o => o.Path).ToArray());
        var result = new Checker(CheckOptions.Default).CheckFile(archive);
        Assert.AreEqual(objects.Count, result.Objects);
        var pg0009 = result.Diagnostics.Where(d => d.Code == "PG0009").ToList();
        Assert.HasCount(objects.Count, pg0009);
        foreach (var (obj, model, dis) in objects)
        {
            var d = pg0009.Single(x => x.Object == $"{archive}({Path.GetFileName(obj)})");
            StringAssert.Contains(d.Message, model is null ? "no 'Code Model'" : $"'Code Model' {BitcodeModule.CodeModelName(ExpectedCodeModel(model))}");
            var pic = Regex.Match(dis, "!\"PIC Level\", i32 (\\d)");
            StringAssert.Contains(d.Message, pic.Success ? $"'PIC Level' {pic.Groups[1].Value}" : "no 'PIC Level'");
        }
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0013"), "members with different code models conflict");
    }

    private static long ExpectedCodeModel(string model) => model switch
    {
        "tiny" => 0,
        "small" or "medlow" => 1,
        "kernel" => 2,
        "medium" or "medany" => 3,
        "large" => 4,
        _ => throw new ArgumentException(model),
    };

    /// <summary>The entries of <c>!llvm.module.flags</c> as llvm-dis prints them, a node value shown as <c>!…</c>.</summary>
    internal static List<string> ModuleFlags(string dis)
    {
        var list = Regex.Match(dis, @"^!llvm\.module\.flags = !\{(.*)\}$", RegexOptions.Multiline);
        Assert.IsTrue(list.Success, "llvm-dis prints !llvm.module.flags");
        var flags = new List<string>();
        foreach (var id in list.Groups[1].Value.Split(", "))
        {
            var node = Regex.Match(dis, "^" + Regex.Escape(id) + @" = !\{(.*)\}$", RegexOptions.Multiline);
            Assert.IsTrue(node.Success, $"llvm-dis prints {id}");
            flags.Add(Regex.Replace(node.Groups[1].Value, @"!\d+$", "!…"));
        }
        return flags;
    }

    /// <summary>Functions the bitcode defines, as llvm-nm lists them (T, t, W).</summary>
    private static HashSet<string> DefinedFunctions(string path) =>
        RunChecked(LlvmNm, "--defined-only", path).StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length == 3 && p[1] is "T" or "t" or "W")
            .Select(p => p[2])
            .ToHashSet();

    // The startup-code case: head64.o built position-independent (-mcmodel=small -fpic) calls into numa.o built for
    // the kernel (-mcmodel=kernel), both with LTO; each calls the other, so thin LTO imports across them.
    private const string Numa = """
        extern int __startup_64(int);
        int numa_init(int x) { return x + 1; }
        int numa_setup(int x) { return __startup_64(x) * 2; }
        """;

    private const string Head64 = """
        extern int numa_init(int);
        int startup_64_setup_gdt_idt(int x) { return x ^ 0x5a; }
        int __startup_64(int x) { return numa_init(x) - 3; }
        int sme_enable(int x) { return x | 1; }
        int sme_encrypt_kernel(int x) { return x & 6; }
        int startup_64_load_idt(int x) { return x + 7; }
        """;

    private static string BuildSeed(TempDir dir, string name, string source, string lto, params string[] flags) =>
        CompileForTarget(dir.Path, name, source, "x86_64-linux-gnu", ["-O2", lto, .. flags]);

    [TestMethod]
    [DataRow("-flto")]
    [DataRow("-flto=thin")]
    public void KernelAndSmallBitcode_IsOnePG0013NamingBoth_AndLdLldReallyFails(string lto)
    {
        using var dir = new TempDir();
        string numa = BuildSeed(dir, "numa.c", Numa, lto, "-mcmodel=kernel", "-fno-pic");
        string head64 = BuildSeed(dir, "head64.c", Head64, lto, "-mcmodel=small", "-fpic");

        // The conflict is real: ld.lld stops on it (thin LTO in its function import, as the kernel build did).
        var link = Run(Lld, ["-r", numa, head64, "-o", dir["blob.o"]]);
        Assert.AreNotEqual(0, link.ExitCode, link.All);
        StringAssert.Contains(link.All, "linking module flags 'Code Model': IDs have conflicting values");
        if (lto == "-flto=thin") StringAssert.Contains(link.All, "Function Import: link error");

        var results = new Checker(new CheckOptions(Profiles.Startup)).CheckFiles([numa, head64]);
        var all = results.SelectMany(r => r.Diagnostics).ToList();
        var conflict = all.Single(d => d.Code == "PG0013");
        Assert.AreEqual(Severity.Error, conflict.Severity);
        Assert.AreSame(conflict, results[1].Diagnostics.Last(), "PG0013 comes last, with the last file");
        Assert.AreEqual(head64, conflict.Object, "the group that differs from the first one seen");
        StringAssert.Contains(conflict.Message, $"{head64} is LLVM bitcode with Code Model small");
        StringAssert.Contains(conflict.Message, $"have Code Model kernel ({numa})");
        string text = conflict.MessageWithContext;
        StringAssert.Contains(text, $">>> small: {head64}: Code Model small, PIC Level 1; defines startup_64_setup_gdt_idt, __startup_64, sme_enable and 2 more");
        StringAssert.Contains(text, $">>> kernel: {numa}: Code Model kernel; defines numa_init, numa_setup");
        StringAssert.Contains(text, $">>> likely culprit: {head64} carries the position-independent flags");
        StringAssert.Contains(text, "CFLAGS_REMOVE_head64.o += $(CC_FLAGS_LTO)");
        // PG0009 on each states its code model and PIC level.
        StringAssert.Contains(all.Single(d => d.Code == "PG0009" && d.Object == numa).Message, "'Code Model' kernel");
        StringAssert.Contains(all.Single(d => d.Code == "PG0009" && d.Object == numa).Message, "no 'PIC Level'");
        StringAssert.Contains(all.Single(d => d.Code == "PG0009" && d.Object == head64).Message, "'Code Model' small");
        StringAssert.Contains(all.Single(d => d.Code == "PG0009" && d.Object == head64).Message, "'PIC Level' 1");

        // Under the generic profile the same finding, without the guess at the culprit.
        var generic = new Checker(CheckOptions.Default).CheckFiles([numa, head64]).SelectMany(r => r.Diagnostics).Single(d => d.Code == "PG0013");
        Assert.IsFalse(generic.Context.Any(c => c.StartsWith("likely culprit")), generic.MessageWithContext);

        // In one archive, and in a thin archive as kbuild makes vmlinux.a: members named, found by a check of the archive alone.
        string archive = Archive(dir.Path, "libpi.a", head64, numa);
        string thin = dir["vmlinux.a"];
        Assert.AreEqual(0, Run("ar", ["rcT", "vmlinux.a", Path.GetFileName(head64), Path.GetFileName(numa)], workingDirectory: dir.Path).ExitCode);
        foreach (var a in new[] { archive, thin })
        {
            var inArchive = new Checker(CheckOptions.Default).CheckFile(a).Diagnostics.Single(d => d.Code == "PG0013");
            Assert.AreEqual($"{a}({Path.GetFileName(numa)})", inArchive.Object, "head64.o comes first in the archive: numa.o's group differs");
            StringAssert.Contains(inArchive.MessageWithContext, $"kernel: {a}({Path.GetFileName(numa)}): Code Model kernel");
            StringAssert.Contains(inArchive.MessageWithContext, $"small: {a}({Path.GetFileName(head64)}): Code Model small, PIC Level 1");
        }

        // Accepted with a suppression: not an error any more.
        var suppressed = new Checker(CheckOptions.Default with { Suppressions = [new Suppression("PG0013", Justification: "linked without LTO")] }).CheckFiles([numa, head64]);
        Assert.IsFalse(suppressed.SelectMany(r => r.Diagnostics).Any(d => d.Code == "PG0013"));
        Assert.AreEqual("PG0013", suppressed.Last().Suppressed.Single().Diagnostic.Code);
    }

    [TestMethod]
    public void SameCodeModel_OrNoneGiven_IsNoPG0013_AndLdLldLinks()
    {
        using var dir = new TempDir();
        string numa = BuildSeed(dir, "numa.c", Numa, "-flto", "-mcmodel=small", "-fno-pic");
        string head64 = BuildSeed(dir, "head64.c", Head64, "-flto", "-mcmodel=small", "-fpic");
        string plain = BuildSeed(dir, "plain.c", "int plain(int x) { return x; }\n", "-flto", "-fno-pic");

        var link = Run(Lld, ["-r", numa, head64, plain, "-o", dir["blob.o"]]);
        Assert.AreEqual(0, link.ExitCode, link.All);
        var results = new Checker(new CheckOptions(Profiles.Startup)).CheckFiles([numa, head64, plain]);
        Assert.IsFalse(results.SelectMany(r => r.Diagnostics).Any(d => d.Code == "PG0013"), "equal models, and a module without the flag, do not conflict");
        Assert.AreEqual(3, results.SelectMany(r => r.Diagnostics).Count(d => d.Code == "PG0009"));
    }

    [TestMethod]
    public void ThreeCodeModels_AreOneFindingPerGroup_AgainstTheLargest()
    {
        using var dir = new TempDir();
        var kernel = Enumerable.Range(0, 7).Select(i => BuildSeed(dir, $"k{i}.c", $"int k{i}(int x) {{ return x + {i}; }}\n", "-flto", "-mcmodel=kernel", "-fno-pic")).ToList();
        string small = BuildSeed(dir, "s.c", "int s(int x) { return x; }\n", "-flto", "-mcmodel=small", "-fpic");
        string large = BuildSeed(dir, "l.c", "int l(int x) { return x; }\n", "-flto", "-mcmodel=large", "-fno-pic");

        var found = new Checker(CheckOptions.Default).CheckFiles([small, .. kernel, large]).SelectMany(r => r.Diagnostics).Where(d => d.Code == "PG0013").ToList();

        Assert.HasCount(2, found);
        Assert.AreEqual(small, found[0].Object);
        Assert.AreEqual(large, found[1].Object);
        foreach (var d in found)
        {
            StringAssert.Contains(d.Message, "7 other bitcode input(s) of this link have Code Model kernel");
            Assert.AreEqual(BitcodeInputs.ObjectsShown, d.Context.Count(c => c.StartsWith("kernel: ")) - 1, d.MessageWithContext);
            StringAssert.Contains(d.MessageWithContext, "kernel: and 2 more object(s)");
        }
    }

    [TestMethod]
    public void Cli_CheckOfTwoConflictingObjects_PrintsPG0013_AndExits1()
    {
        using var dir = new TempDir();
        string numa = BuildSeed(dir, "numa.c", Numa, "-flto", "-mcmodel=kernel", "-fno-pic");
        string head64 = BuildSeed(dir, "head64.c", Head64, "-flto", "-mcmodel=small", "-fpic");

        var (exit, output, _) = CliTests.Cli("check", "--profile", "startup", numa, head64);
        Assert.AreEqual(1, exit);
        StringAssert.Contains(output, $"{head64}: error PG0013: ");
        StringAssert.Contains(output, ">>> likely culprit: ");

        var (_, sarif, _) = CliTests.Cli("check", "--format", "sarif", numa, head64);
        StringAssert.Contains(sarif, "\"ruleId\": \"PG0013\"");
    }

    [TestMethod]
    public void MalformedBitcode_IsPG9001NamingTheObject_AtEveryTruncationAndFlip()
    {
        using var dir = new TempDir();
        string obj = CompileForTarget(dir.Path, "m.c", Source, "x86_64-linux-gnu", "-O2", "-flto=thin", "-g", "-mcmodel=small");
        var bytes = File.ReadAllBytes(obj);
        var checker = new Checker(CheckOptions.Default);
        int malformed = 0, inputs = 0;
        // Every truncation but the whole: the string table goes last, so none of them is complete.
        for (int length = 4; length < bytes.Length; length += length % 64 == 0 ? 1 : 4)
        {
            var result = checker.CheckBuffer("cut.o", bytes.AsMemory(0, length));
            var d = result.Diagnostics.Single();
            Assert.AreEqual("PG9001", d.Code, $"{length} bytes: {d.Format()}");
            Assert.AreEqual("cut.o", d.Object);
            StringAssert.StartsWith(d.Message, "malformed LLVM bitcode: ");
            malformed++;
        }
        var random = new Random(14);
        for (int i = 0; i < 2000; i++, inputs++)
        {
            var copy = (byte[])bytes.Clone();
            for (int k = random.Next(1, 4); k > 0; k--)
                copy[random.Next(4, copy.Length)] ^= (byte)(1 << random.Next(8));
            var result = checker.CheckBuffer("flip.o", copy);
            Assert.IsTrue(result.Diagnostics.All(d => d.Code is "PG0009" or "PG9001" && d.Object == "flip.o"), string.Join("\n", result.Diagnostics.Select(d => d.Format())));
            Assert.AreEqual(1, result.Diagnostics.Count);
        }
        Assert.IsGreaterThan(100, malformed);
    }

    [TestMethod]
    public void Reader_BoundsEveryCount_AndWidth()
    {
        // Hand-made streams: each is a distinct malformation, each a clear error rather than a crash or a hang.
        byte[] magic = [(byte)'B', (byte)'C', 0xC0, 0xDE];
        var cases = new (string What, byte[] Data, string Expect)[]
        {
            ("not a multiple of 4", [.. magic, 1], "not a multiple of 4"),
            ("no module", magic, "without a module"),
            // ENTER_SUBBLOCK(1, 2 bits) id=8 (vbr8) width=3 (vbr4), align, then a 32-bit length far past the end.
            ("block past the end", [.. magic, 0x21, 0x0C, 0, 0, 0xFF, 0xFF, 0xFF, 0x00], "runs past the end"),
            ("abbreviation ID at top level", [.. magic, 0x02, 0, 0, 0], "at the top level"),
            ("wrapper outside the file", [0xDE, 0xC0, 0x17, 0x0B, 0, 0, 0, 0, 20, 0, 0, 0, 0xFF, 0, 0, 0, 0, 0, 0, 0], "outside the file"),
        };
        foreach (var (what, data, expect) in cases)
        {
            var e = Assert.ThrowsExactly<BitcodeFormatException>(() => BitcodeReader.Read(data), what);
            StringAssert.Contains(e.Message, expect, what);
        }
    }
}
