using PicGuard.Diagnostics;
using PicGuard.Elf;
using PicGuard.Relocations;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// The loader rows of the profiles (kexec_file per machine, the EFI stub's relocation grep, objtool --noabs, arm64
/// relacheck), each picked by the object's machine: real objects from clang-19 --target= and gcc 12, checked for the
/// codes the kernel's own loader or check implies and for its error text in the message.
/// </summary>
[TestClass]
public sealed class LoaderProfileTests
{
    private static readonly string[] Policy = ["-O2", "-fpic", "-fvisibility=hidden"];

    private static CheckResult Check(string obj, Profile profile) => new Checker(new CheckOptions(profile, CheckUndefinedSymbols: false)).CheckFile(obj);

    private static string Dump(CheckResult r) => string.Join("\n", r.Diagnostics.Select(d => d.Format()));

    private static string Target(TempDir dir, string name, string source, string target, params string[] flags) =>
        CompileForTarget(dir.Path, name, source, target, [.. Policy, .. flags]);

    private static string Assemble(TempDir dir, string name, string assembly, string target)
    {
        File.WriteAllText(dir[name], assembly);
        string obj = dir[Path.ChangeExtension(name, "o")];
        RunChecked(Clang, $"--target={target}", "-c", dir[name], "-o", obj);
        return obj;
    }

    // ---- the rows themselves ----------------------------------------------------------------------

    [TestMethod]
    public void EveryRowNamesTypesOfItsMachinesTable()
    {
        int rows = 0;
        foreach (var profile in Profiles.All)
        {
            foreach (var row in profile.Loaders)
            {
                rows++;
                var table = row.Is64Bit is { } is64 ? RelocationTable.For(row.Machine, is64) : RelocationTable.For(row.Machine);
                Assert.IsNotNull(table, $"{profile.Name}: no relocation table for {row.Machine}");
                var names = table.Types.Select(t => t.Name).ToHashSet();
                foreach (var name in (row.AppliedTypes ?? []).Concat(row.AppliedAnywhere))
                    Assert.Contains(name, names, $"{profile.Name}/{table.Name}: {name} is not a type of the table");
                foreach (var glob in row.RejectedTypes)
                    Assert.IsTrue(names.Any(n => Glob.Matches(n, glob)), $"{profile.Name}/{table.Name}: {glob} matches no type");
                if (row.AppliedTypes is { } applied)
                    Assert.IsTrue(row.AppliedAnywhere.All(applied.Contains), $"{profile.Name}/{table.Name}: a type applied anywhere is applied");
                Assert.IsTrue(row.AppliedTypes is not null || row.RejectedTypes.Count > 0, $"{profile.Name}/{table.Name}: a row applies or rejects something");
            }
        }
        Assert.AreEqual(4 + 7 + 2, rows, "kexec: x86-64, riscv64, s390x, ppc64; EFI stub: i386, x86-64, arm, aarch64, riscv64, riscv32, loongarch; startup: x86-64, aarch64");
        CollectionAssert.AreEquivalent(new[] { ElfMachine.X86_64, ElfMachine.RiscV, ElfMachine.S390, ElfMachine.PowerPC64 }, Profiles.KexecPurgatory.LoaderAppliesTypes.Keys.ToArray());
    }

    // ---- kexec-purgatory: the verdict follows the loader ------------------------------------------

    /// <summary>kexec-tools' purgatory is built with -mcmodel=large: R_X86_64_64 in .text, which kexec applies anywhere.</summary>
    private const string LargeModelPurgatory = """
        static unsigned long sha256_regions[16];
        unsigned long entry64_regs[4];
        unsigned long digest(int n) { unsigned long s = 0; for (int i = 0; i < n; i++) s += sha256_regions[i]; return s + entry64_regs[1]; }
        void setup(unsigned long v) { entry64_regs[0] = v; sha256_regions[0] = v; }
        """;

    [TestMethod]
    public void KexecToolsLargeModelPurgatory_AbsoluteCodeIsWarnings_UnderKexecOnly()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "purgatory.c", LargeModelPurgatory, Gcc, "-O2", "-mcmodel=large", "-fno-pic", "-fno-asynchronous-unwind-tables");

        var kexec = Check(obj, Profiles.KexecPurgatory);
        var generic = Check(obj, Profiles.Generic);

        var absolute = kexec.Diagnostics.Where(d => d.Code == "PG0001").ToList();
        Assert.IsGreaterThanOrEqualTo(2, absolute.Count, Dump(kexec));
        Assert.IsTrue(absolute.All(d => d.Severity == Severity.Warning && d.RelocationType == "R_X86_64_64" && d.Section == ".text"), Dump(kexec));
        StringAssert.Contains(absolute[0].Message, "a warning under kexec-purgatory: its loader applies R_X86_64_64 at any load address without overflow");
        StringAssert.Contains(absolute[0].Message, "position-independent flag policy");
        Assert.AreEqual(0, kexec.Errors, Dump(kexec));

        Assert.AreEqual(absolute.Count, generic.Diagnostics.Count(d => d.Code == "PG0001" && d.Severity == Severity.Error), "the same references are errors where no loader vouches for them: " + Dump(generic));
        Assert.IsFalse(generic.Diagnostics.Any(d => d.Message.Contains("a warning under")), Dump(generic));
    }

    [TestMethod]
    public void Kexec_WhatTheLoaderRejectsOrOverflowsStaysAnError()
    {
        using var dir = new TempDir();
        // An extern read through the GOT: R_X86_64_REX_GOTPCRELX, not among the six types.
        string got = Compile(dir.Path, "ext.c", Sources.ExternVariable, Clang, Policy);
        // -mcmodel=kernel: R_X86_64_32S, applied by the loader but overflowing above 2 GiB.
        string kernel = Compile(dir.Path, "table.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");

        var rejected = Check(got, Profiles.KexecPurgatory).Diagnostics.Single(d => d.Code == "PG0006");
        Assert.AreEqual(Severity.Error, rejected.Severity);
        Assert.AreEqual("R_X86_64_REX_GOTPCRELX", rejected.RelocationType);
        StringAssert.Contains(rejected.Message, "it would fail with 'Unknown rela relocation: 42'");

        var overflowing = Check(kernel, Profiles.KexecPurgatory);
        Assert.IsTrue(overflowing.Diagnostics.Where(d => d.Code == "PG0001").All(d => d.Severity == Severity.Error && d.RelocationType == "R_X86_64_32S"), Dump(overflowing));
        Assert.IsTrue(overflowing.Diagnostics.Any(d => d.Code == "PG0001") && overflowing.Diagnostics.Any(d => d.Code == "PG0007" && d.Severity == Severity.Error), Dump(overflowing));
    }

    [TestMethod]
    [DataRow("riscv64-linux-gnu", "R_RISCV_PCREL_LO12_S", "Unknown rela relocation: 25")]
    [DataRow("s390x-linux-gnu", "R_390_GOTENT", "Unknown rela relocation: 26")]
    [DataRow("powerpc64le-linux-gnu", null, "RELA relocation unsupported.")]
    [DataRow("x86_64-linux-gnu", "R_X86_64_REX_GOTPCRELX", "Unknown rela relocation: 42")]
    public void Kexec_EachMachinesLoaderRejectsWhatItsSwitchLacks(string target, string? type, string error)
    {
        using var dir = new TempDir();
        // A store to a global (riscv: auipc + sw, PCREL_LO12_S) and an extern read without hidden visibility (a GOT load).
        string obj = Target(dir, "p.c", "int counter; extern int ext_word;\nint bump(void) { counter = ext_word + 1; return counter; }\n", target, "-fno-asynchronous-unwind-tables");

        var result = Check(obj, Profiles.KexecPurgatory);

        var rejected = result.Diagnostics.Where(d => d.Code == "PG0006").ToList();
        Assert.IsNotEmpty(rejected, Dump(result));
        Assert.IsTrue(rejected.All(x => x.Severity == Severity.Error), Dump(result));
        var d = type is null ? rejected[0] : rejected.Single(x => x.RelocationType == type);
        StringAssert.Contains(d.Message, $"it would fail with '{error}'");
        Assert.IsFalse(Check(obj, Profiles.Generic).Diagnostics.Any(x => x.Code == "PG0006"), "generic has no loader");
    }

    [TestMethod]
    [DataRow("riscv64-linux-gnu")]
    [DataRow("s390x-linux-gnu")]
    [DataRow("x86_64-linux-gnu")]
    public void Kexec_PositionIndependentReadsAndCalls_AreApplied(string target)
    {
        using var dir = new TempDir();
        // Hidden data read PC-relative and a local call: PCREL_HI20/LO12_I, CALL_PLT, RELAX; PC32DBL; PC32/PLT32.
        string obj = Target(dir, "p.c", "#pragma GCC visibility push(hidden)\nstatic int table[4]; int pick(int i) { return table[i & 3]; }\nint twice(int i) { return pick(i) + pick(i + 1); }\nint *pointer = &table[1];\n", target, "-fno-asynchronous-unwind-tables");

        var result = Check(obj, Profiles.KexecPurgatory);

        Assert.IsEmpty(result.Diagnostics, "the data pointer is the loader's 64-bit absolute type, applied for the real placement: " + Dump(result));
        Assert.IsGreaterThan(0L, result.Relocations);
    }

    [TestMethod]
    public void Kexec_S390_OverflowIsASilentTruncation_NotAnErrorItPrints()
    {
        using var dir = new TempDir();
        // A 32-bit absolute word in data: R_390_32, on s390x's list, stored truncated wherever the blob lands.
        string obj = Assemble(dir, "word.s", ".text\n.globl f\nf:\n  br %r14\n.data\n.globl p\np: .long table\ntable: .quad 0\n", "s390x-linux-gnu");

        var result = Check(obj, Profiles.KexecPurgatory);

        var d = result.Diagnostics.Single();
        Assert.AreEqual(("PG0007", Severity.Error, "R_390_32"), (d.Code, d.Severity, d.RelocationType));
        StringAssert.Contains(d.Message, "(s390x kexec_file checks no field: it would store the truncated value");
        Assert.DoesNotContain("Overflow in relocation type", d.Message, "the s390 loader prints no such error");
        Assert.IsEmpty(Check(obj, Profiles.KexecPurgatory with { DefaultLoadAddress = new LoadAddress(0x100000, 0x7fff_ffff) }).Diagnostics, "below 2 GiB the value fits");
    }

    /// <summary>A riscv purgatory that only reads globals: no PCREL_LO12_S, which the riscv loader lacks.</summary>
    private const string RiscvPurgatory = """
        static const unsigned char expected[32] = { 1, 2, 3 };
        unsigned long riscv_kernel_entry;
        static int verify(const unsigned char *p) { int s = 0; for (int i = 0; i < 32; i++) s += p[i] ^ expected[i]; return s; }
        int purgatory_start(void) { return verify((const unsigned char *)riscv_kernel_entry); }
        """;

    [TestMethod]
    [DataRow("flags")]
    [DataRow("compiler")]
    public void RiscvPurgatory_ThroughTheSdk_IsMedany_AndPassesTheRiscvKexecRow(string targetFrom)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["purgatory.c"], RiscvPurgatory);
        // The target comes from PicCFlags' --target=, or from the compiler itself: clang named riscv64-linux-gnu-clang
        // builds for riscv64 and says so to -dumpmachine.
        string compiler = Clang, flags = "-O2 --target=riscv64-linux-gnu";
        if (targetFrom == "compiler")
        {
            compiler = dir["riscv64-linux-gnu-clang"];
            File.CreateSymbolicLink(compiler, ToolLocatorPath(Clang));
            flags = "-O2";
            StringAssert.StartsWith(RunChecked(compiler, "-dumpmachine").StdOut, "riscv64");
        }
        SdkPackage.WriteProject(dir.Path, SdkPackage.NoTargetsProject(
            $"<PicCompiler>{compiler}</PicCompiler><PicLinker>{Lld}</PicLinker><PicCFlags>{flags}</PicCFlags><PicProfile>kexec-purgatory</PicProfile><PicEntryPoint>purgatory_start</PicEntryPoint>",
            """<PicSource Include="purgatory.c" />"""));

        var r = SdkPackage.Build(dir.Path);

        Assert.AreEqual(0, r.ExitCode, r.All);
        string database = File.ReadAllText(Directory.GetFiles(dir.Path, "compile_commands.json", SearchOption.AllDirectories).Single());
        StringAssert.Contains(database, "-mcmodel=medany");
        Assert.DoesNotContain("-mcmodel=small", database);
        string blob = Directory.GetFiles(dir.Path, "blob.ro", SearchOption.AllDirectories).Single();
        Assert.AreEqual(ElfMachine.RiscV, new ElfFile(File.ReadAllBytes(blob)).Machine);
        var result = new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(blob);
        Assert.IsEmpty(result.Diagnostics, Dump(result));
        Assert.IsGreaterThan(0L, result.Relocations);
    }

    private static string ToolLocatorPath(string tool) => PicGuard.Build.ToolLocator.Find(tool) ?? throw new InvalidOperationException(tool + " not on PATH");

    // ---- efi-stub: the kernel's objdump -r | grep per architecture ---------------------------------

    private const string DataPointer = "static int word; int *word_pointer = &word; int get(void) { return *word_pointer; }\n";

    [TestMethod]
    [DataRow("x86_64-linux-gnu", "R_X86_64_64")]
    [DataRow("i386-linux-gnu", "R_386_32")]
    [DataRow("armv7a-linux-gnueabihf", "R_ARM_ABS32")]
    [DataRow("aarch64-linux-gnu", "R_AARCH64_ABS64")]
    [DataRow("riscv64-linux-gnu", "R_RISCV_64")]
    public void EfiStub_GreppedTypeInData_IsPG0006_QuotingTheKernel(string target, string type)
    {
        using var dir = new TempDir();
        string obj = Target(dir, "pointer.c", "#pragma GCC visibility push(hidden)\n" + DataPointer, target, target.StartsWith("riscv", StringComparison.Ordinal) ? "-mno-relax" : "-O2");

        var result = Check(obj, Profiles.EfiStub);

        var d = result.Diagnostics.Single(x => x.Code == "PG0006");
        Assert.AreEqual(type, d.RelocationType);
        Assert.AreEqual(Severity.Error, d.Severity);
        StringAssert.StartsWith(d.Section!, ".data");
        StringAssert.Contains(d.Message, "it fails with 'absolute symbol references not allowed in the EFI stub'");
        StringAssert.Contains(d.Message, "is rejected by the EFI stub's relocation check under the efi-stub profile");
        Assert.IsTrue(result.Diagnostics.Any(x => x.Code == "PG0010" && x.Severity == Severity.Error), "the position-independence rule still says why: " + Dump(result));
    }

    [TestMethod]
    public void EfiStub_RiscvRelaxMarkers_AreRejected_UnlessBuiltWithNoRelax()
    {
        using var dir = new TempDir();
        const string source = "#pragma GCC visibility push(hidden)\nstatic int counter; int bump(void) { return ++counter; }\n";
        string relaxed = Target(dir, "relax.c", source, "riscv64-linux-gnu");
        string strict = CompileForTarget(dir.Path, "norelax.c", source, "riscv64-linux-gnu", [.. Policy, "-mno-relax"]);

        var found = Check(relaxed, Profiles.EfiStub);

        var d = found.Diagnostics.First(x => x.Code == "PG0006");
        Assert.AreEqual("R_RISCV_RELAX", d.RelocationType);
        StringAssert.Contains(d.Message, "absolute symbol references not allowed in the EFI stub");
        Assert.IsTrue(found.Diagnostics.All(x => x.Code == "PG0006" && x.RelocationType == "R_RISCV_RELAX"), Dump(found));
        Assert.IsEmpty(Check(strict, Profiles.EfiStub).Diagnostics);
        Assert.IsEmpty(Check(relaxed, Profiles.Generic).Diagnostics, "a relaxation marker carries no address");
    }

    [TestMethod]
    public void EfiStub_LoongArchMarkLa_IsRejected()
    {
        using var dir = new TempDir();
        // la.abs under gas's -mla-global-with-abs marks the sequence with R_LARCH_MARK_LA; .reloc writes the same marker.
        string obj = Assemble(dir, "la.s", ".text\n.globl f\nf:\n  .reloc ., R_LARCH_MARK_LA, table\n  pcalau12i $a0, %pc_hi20(table)\n  addi.d $a0, $a0, %pc_lo12(table)\n  ret\n.data\ntable: .quad 0\n", "loongarch64-linux-gnu");

        var d = Check(obj, Profiles.EfiStub).Diagnostics.Single();

        Assert.AreEqual(("PG0006", "R_LARCH_MARK_LA", ".text"), (d.Code, d.RelocationType, d.Section));
        StringAssert.Contains(d.Message, "(loongarch64: it rejects R_LARCH_MARK_LA; it fails with 'absolute symbol references not allowed in the EFI stub')");
        Assert.IsEmpty(Check(obj, Profiles.Startup).Diagnostics, "only the EFI stub greps for it");
    }

    [TestMethod]
    [DataRow("powerpc64le-linux-gnu")]
    [DataRow("s390x-linux-gnu")]
    public void EfiStub_MachineWithoutAStub_HasNoRow(string target)
    {
        using var dir = new TempDir();
        string obj = Target(dir, "pointer.c", "#pragma GCC visibility push(hidden)\n" + DataPointer, target);

        var result = Check(obj, Profiles.EfiStub);

        Assert.IsFalse(result.Diagnostics.Any(x => x.Code == "PG0006"), Dump(result));
        Assert.IsTrue(result.Diagnostics.Any(x => x.Code == "PG0010" && x.Severity == Severity.Error), Dump(result));
        var noRow = result.Diagnostics.Single(x => x.Code == "PG9007");
        Assert.AreEqual(Severity.Warning, noRow.Severity);
        StringAssert.Contains(noRow.Message, "the efi-stub profile has no loader row for");
        StringAssert.Contains(noRow.Message, "was not checked (PG0006)");
    }

    [TestMethod]
    public void KexecPurgatory_Aarch64Object_IsPG9007_NotPassedSilently_WhileGenericSaysNothing()
    {
        using var dir = new TempDir();
        string obj = Target(dir, "pointer.c", "#pragma GCC visibility push(hidden)\n" + DataPointer, "aarch64-linux-gnu");

        var kexec = Check(obj, Profiles.KexecPurgatory);

        var noRow = kexec.Diagnostics.Single(x => x.Code == "PG9007");
        StringAssert.Contains(noRow.Message, "the kexec-purgatory profile has no loader row for AArch64");
        StringAssert.Contains(noRow.Message, "its rows are for x86-64");
        Assert.IsFalse(Check(obj, Profiles.Generic).Diagnostics.Any(x => x.Code == "PG9007"), "generic names no loader");
        string x86 = Target(dir, "x86.c", "#pragma GCC visibility push(hidden)\n" + DataPointer, "x86_64-linux-gnu");
        Assert.IsFalse(Check(x86, Profiles.KexecPurgatory).Diagnostics.Any(x => x.Code == "PG9007"), "x86-64 has a kexec row");
    }

    // ---- startup: objtool --noabs (x86-64) and relacheck (arm64) -----------------------------------

    [TestMethod]
    public void Startup_ObjtoolNoabs_QuotesSectionAndOffset_AndSkipsPatchableFunctionEntries()
    {
        using var dir = new TempDir();
        string pointer = Target(dir, "pointer.c", "#pragma GCC visibility push(hidden)\nstatic int a, b; int *pointers[2] = { &a, &b }; int get(void) { return *pointers[1]; }\n", "x86_64-linux-gnu");
        string patchable = Target(dir, "pfe.c", "int f(void) { return 1; }\n", "x86_64-linux-gnu", "-fpatchable-function-entry=4");

        var found = Check(pointer, Profiles.Startup).Diagnostics.Where(x => x.Code == "PG0006").OrderBy(x => x.Location!.Offset).ToList();

        Assert.HasCount(2, found, "one finding per place, as objtool warns per relocation");
        StringAssert.Contains(found[0].Message, "rejected by objtool --noabs under the startup profile");
        StringAssert.Contains(found[0].Message, "it fails with 'section .data has absolute relocation at offset 0x0'");
        StringAssert.Contains(found[1].Message, "'section .data has absolute relocation at offset 0x8'");

        Assert.Contains("__patchable_function_entries", ReadElf("-SW", patchable));
        Assert.IsEmpty(Check(patchable, Profiles.Startup).Diagnostics, "objtool skips __patchable_function_entries");
    }

    [TestMethod]
    public void Startup_Relacheck_RejectsAbs64InData_ButNotInRodataPrel64()
    {
        using var dir = new TempDir();
        string obj = Target(dir, "prel.c", """
            #pragma GCC visibility push(hidden)
            static int word;
            int *const plain_pointer = &word;
            __attribute__((section(".init.rodata.prel64"))) int *const prel_pointer = &word;
            int get(void) { return *plain_pointer + *prel_pointer; }
            """, "aarch64-linux-gnu");

        var result = Check(obj, Profiles.Startup);

        var rejected = result.Diagnostics.Single(x => x.Code == "PG0006");
        Assert.AreEqual("R_AARCH64_ABS64", rejected.RelocationType);
        Assert.AreNotEqual(".init.rodata.prel64", rejected.Section);
        StringAssert.Contains(rejected.Message, "it fails with 'Unexpected absolute relocations detected in ");
        StringAssert.EndsWith(rejected.Message, "prel.aarch64-linux-gnu.o')", "relacheck names the object");

        var prel = result.Diagnostics.Single(x => x.Code == "PG0010" && x.Section == ".init.rodata.prel64");
        Assert.AreEqual(Severity.Warning, prel.Severity, "relacheck rewrites it to PREL64");
        StringAssert.Contains(prel.Message, "relacheck accepts R_AARCH64_ABS64 in section .init.rodata.prel64");
        Assert.AreEqual(Severity.Error, result.Diagnostics.Single(x => x.Code == "PG0010" && x.Section != ".init.rodata.prel64").Severity);
    }

    [TestMethod]
    public void Startup_Relacheck_LooksAtDataOnly()
    {
        using var dir = new TempDir();
        // A literal in .text holding an address: ABS64 in an executable section, which relacheck does not read.
        string obj = Assemble(dir, "lit.s", ".text\n.globl f\nf:\n  ldr x0, 1f\n  ret\n1: .quad table\n.data\ntable: .quad 0\n", "aarch64-linux-gnu");

        var result = Check(obj, Profiles.Startup);

        Assert.IsFalse(result.Diagnostics.Any(x => x.Code == "PG0006"), Dump(result));
        var absolute = result.Diagnostics.Single(x => x.Code == "PG0001");
        Assert.AreEqual((Severity.Error, "R_AARCH64_ABS64"), (absolute.Severity, absolute.RelocationType));
    }

    [TestMethod]
    [DataRow("riscv64-linux-gnu")]
    [DataRow("i386-linux-gnu")]
    [DataRow("loongarch64-linux-gnu")]
    public void Startup_MachinesWithoutACheck_HaveNoRow(string target)
    {
        using var dir = new TempDir();
        string obj = Target(dir, "pointer.c", "#pragma GCC visibility push(hidden)\n" + DataPointer, target);

        var result = Check(obj, Profiles.Startup);

        Assert.IsFalse(result.Diagnostics.Any(x => x.Code == "PG0006"), Dump(result));
        Assert.AreEqual(Severity.Error, result.Diagnostics.Single(x => x.Code == "PG0010").Severity);
    }
}
