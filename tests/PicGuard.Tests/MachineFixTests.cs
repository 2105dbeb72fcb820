using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// PG0001's "fix:" names the flags and the instruction pattern of the object's own machine: real absolute
/// references from clang-19 for seven machines (C where the compiler makes one, assembly where it never does).
/// </summary>
[TestClass]
public sealed class MachineFixTests
{
    [TestMethod]
    [DataRow("i386-linux-gnu", "-fno-pic", null, "R_386_GOTOFF")]
    [DataRow("aarch64-linux-gnu", "-fno-pic -mcmodel=large", null, "adrp x0, sym")]
    [DataRow("riscv64-linux-gnu", "-fno-pic -mcmodel=medlow", null, "-mcmodel=medany and -fpic")]
    [DataRow("armv7a-linux-gnueabihf", "-fno-pic", null, "movw/movt")]
    [DataRow("loongarch64-linux-gnu", "", ".text\n.globl f\nf:\n  la.abs $a0, table\n  ret\n.data\ntable: .quad 0\n", "la.pcrel")]
    [DataRow("powerpc64le-linux-gnu", "", ".text\n.globl f\nf:\n  lis 3, table@ha\n  addi 3, 3, table@l\n  blr\n.data\ntable: .quad 0\n", "TOC-relative")]
    [DataRow("s390x-linux-gnu", "", ".text\n.globl f\nf:\n  lgrl %r2, 1f\n  br %r14\n1: .quad table\n.data\ntable: .quad 0\n", "larl")]
    public void AbsoluteReference_FixNamesTheMachinesOwnPattern(string target, string flags, string? assembly, string expected)
    {
        using var dir = new TempDir();
        string obj;
        if (assembly is null)
        {
            obj = CompileForTarget(dir.Path, "g.c", Sources.GlobalTable, target, ["-O2", .. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        }
        else
        {
            File.WriteAllText(dir["g.s"], assembly);
            obj = dir["g.o"];
            RunChecked(Clang, $"--target={target}", "-c", dir["g.s"], "-o", obj);
        }

        var finding = new Checker(CheckOptions.Default).CheckFile(obj).Diagnostics.First(d => d.Code == RuleCatalog.AbsoluteInCode.Code);
        string fix = finding.Context.Single(c => c.StartsWith("fix: ", StringComparison.Ordinal));

        StringAssert.Contains(fix, expected, finding.Format());
        Assert.DoesNotContain("%rip", fix, "an x86-64 instruction in another machine's fix");
        Assert.AreEqual(MachineFixes.For("PG0001", new PicGuard.Elf.ElfFile(File.ReadAllBytes(obj)).Machine), fix["fix: ".Length..]);
    }

    [TestMethod]
    public void X86_64_KeepsTheCatalogsFix()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "g.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        var finding = new Checker(CheckOptions.Default).CheckFile(obj).Diagnostics.First(d => d.Code == "PG0001");
        CollectionAssert.Contains(finding.Context.ToList(), "fix: " + RuleCatalog.AbsoluteInCode.Fix);
    }
}
