using PicGuard.Diagnostics;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>Each rule against objects built now by the real gcc 12 and clang 19, and the clean builds of the same sources.</summary>
[TestClass]
public sealed class RuleTests
{
    private static CheckResult Check(string path) => new Checker(CheckOptions.Default).CheckFile(path);
    private static readonly string[] Policy = ["-O2", "-mcmodel=small", "-fpic", "-fvisibility=hidden"];

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void AbsoluteReferenceFromCode_IsPG0001_WithFunctionSectionAndType(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "table.c", Sources.GlobalTable, compiler, "-O2", "-mcmodel=kernel", "-fno-pic");

        var result = Check(obj);

        var found = result.Diagnostics.Where(d => d.Code == "PG0001").ToList();
        int expected = ReadElf("-rW", obj).Split('\n').Count(l => l.Contains("R_X86_64_32S") && l.Contains("table"));
        Assert.IsGreaterThan(0, expected, "the compiler is expected to emit R_X86_64_32S for this source");
        Assert.AreEqual(expected, found.Sum(d => d.Occurrences), "identical findings collapse into one with a count");
        var first = found.Single();
        StringAssert.Contains(first.Format(), "table_address+0x");
        Assert.AreEqual(".text", first.Location!.Section);
        Assert.AreEqual("R_X86_64_32S", first.RelocationType);
        Assert.AreEqual("'table'", first.Target);
        Assert.AreEqual(Severity.Error, first.Severity);
        StringAssert.StartsWith(first.HeadLine, $"{obj}: error PG0001: absolute relocation R_X86_64_32S against 'table'");
        StringAssert.Contains(first.Format(), ">>> referenced by ");
        Assert.IsTrue(result.Diagnostics.All(d => d.Code == "PG0001"), string.Join("\n", result.Diagnostics.Select(d => d.Format())));
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void ExternDeclarationUnderFpic_IsPG0002_GotPcRelX(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "ext.c", Sources.ExternVariable, compiler, Policy);

        var d = Check(obj).Diagnostics.Single();

        Assert.AreEqual("PG0002", d.Code);
        Assert.AreEqual("R_X86_64_REX_GOTPCRELX", d.RelocationType);
        Assert.AreEqual("'external_counter'", d.Target);
        Assert.AreEqual("read_external", d.Location!.Function);
        Assert.AreEqual(".text", d.Location.Section);
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void HiddenExternDeclaration_IsClean(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "ext.c", "#pragma GCC visibility push(hidden)\n" + Sources.ExternVariable, compiler, Policy);

        var result = Check(obj);

        Assert.IsEmpty(result.Diagnostics, string.Join("\n", result.Diagnostics.Select(d => d.Format())));
        Assert.IsGreaterThan(0L, result.Relocations);
    }

    [TestMethod]
    public void ClangLargeCodeModel_IsPG0003_ForLtext()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "large.c", Sources.StaticOnly, Clang, "-O2", "-mcmodel=large");

        var result = Check(obj);

        var ltext = result.Diagnostics.Single(d => d.Code == "PG0003" && d.Location!.Section == ".ltext");
        StringAssert.Contains(ltext.Format(), "holds bump");
        Assert.AreEqual(Severity.Error, ltext.Severity);
    }

    [TestMethod]
    public void GccLargeCodeModel_HasNoLtext_ButAbsoluteMovabs()
    {
        // GCC keeps large-model code in .text; the 64-bit immediates are what breaks.
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "large.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=large", "-fno-pic");

        var result = Check(obj);

        Assert.IsFalse(result.Diagnostics.Any(d => d.Code == "PG0003"));
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0001" && d.RelocationType == "R_X86_64_64"));
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void PolicyBuildOfStaticCode_IsClean(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "clean.c", Sources.StaticOnly, compiler, Policy);

        var result = Check(obj);

        Assert.IsEmpty(result.Diagnostics);
        Assert.AreEqual(1, result.Objects);
    }

    [TestMethod]
    public void I386AbsoluteReference_IsPG0001_InElf32Rel()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "table.c", Sources.GlobalTable, Clang, "--target=i386-linux-gnu", "-O2", "-fno-pic");

        var d = Check(obj).Diagnostics.Where(x => x.Code == "PG0001").ToList();

        Assert.IsNotEmpty(d);
        Assert.IsTrue(d.All(x => x.RelocationType == "R_386_32" && x.Location!.Section == ".text"));
        Assert.IsTrue(d.Any(x => x.Location!.Function == "table_address"));
    }

    [TestMethod]
    public void ArchiveMembers_AreCheckedOneByOne_AndNamedLibOfMember()
    {
        using var dir = new TempDir();
        string bad = Compile(dir.Path, "kernel_model_with_a_long_member_name.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        string good = Compile(dir.Path, "clean.c", Sources.StaticOnly, Gcc, Policy);
        string lib = Archive(dir.Path, "libmixed.a", good, bad);

        var result = Check(lib);

        Assert.AreEqual(2, result.Objects);
        string member = Path.GetFileName(bad);
        Assert.IsGreaterThan(16, member.Length, "the member name must need the GNU long-name table");
        Assert.IsTrue(result.Diagnostics.All(d => d.Object == $"{lib}({member})" && d.File == lib), string.Join("\n", result.Diagnostics.Select(d => d.Object)));
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0001"));
    }

    [TestMethod]
    public void BsdArchive_LongNamesResolve()
    {
        using var dir = new TempDir();
        string bad = Compile(dir.Path, "kernel_model_with_a_long_member_name.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        string lib = dir["libbsd.a"];
        RunChecked("llvm-ar-19", "rc", "--format=bsd", lib, bad);

        var result = Check(lib);

        Assert.AreEqual(1, result.Objects);
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0001" && d.Object == $"{lib}({Path.GetFileName(bad)})"));
    }

    [TestMethod]
    public void RelocationCount_EqualsReadelf()
    {
        using var dir = new TempDir();
        string[] objects =
        [
            Compile(dir.Path, "a.c", Sources.GlobalTable, Gcc, "-O2", "-g", "-mcmodel=kernel", "-fno-pic"),
            Compile(dir.Path, "b.c", Sources.ExternVariable, Clang, "-O2", "-g", "-fpic"),
            Compile(dir.Path, "c.c", Sources.GlobalTable, Clang, "--target=i386-linux-gnu", "-O2", "-g"),
        ];
        foreach (var obj in objects)
        {
            long readelf = ReadElf("-rW", obj).Split('\n').Count(l => l.Length > 0 && char.IsAsciiHexDigit(l[0]));
            Assert.AreEqual(readelf, Check(obj).Relocations, obj);
        }
    }
}
