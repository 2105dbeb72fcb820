using System.Buffers.Binary;
using System.Text;
using PicGuard.Elf;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>Bad input gives one PG9xxx diagnostic that names what is broken, never an exception.</summary>
[TestClass]
public sealed class MalformedInputTests
{
    private static CheckResult Check(string path) => new Checker(CheckOptions.Default).CheckFile(path);

    private static string ValidObject(TempDir dir) =>
        Compile(dir.Path, "ok.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");

    private static PicGuard.Diagnostics.Diagnostic Single(CheckResult r, string code)
    {
        Assert.HasCount(1, r.Diagnostics, string.Join("\n", r.Diagnostics.Select(d => d.Format())));
        Assert.AreEqual(code, r.Diagnostics[0].Code);
        return r.Diagnostics[0];
    }

    [TestMethod]
    public void TextFileRenamedToObject_IsPG9001()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["notes.o"], "this is a text file\n");
        StringAssert.Contains(Single(Check(dir["notes.o"]), "PG9001").Message, "not an ELF object or ar archive");
    }

    [TestMethod]
    public void EmptyFile_IsPG9001()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir["empty.o"], []);
        StringAssert.Contains(Single(Check(dir["empty.o"]), "PG9001").Message, "empty file");
    }

    [TestMethod]
    public void MissingFile_IsPG9003()
    {
        using var dir = new TempDir();
        var d = Single(Check(dir["nope.o"]), "PG9003");
        StringAssert.Contains(d.Message, "nope.o");
    }

    [TestMethod]
    public void Directory_IsPG9001_NamingIt()
    {
        using var dir = new TempDir();
        StringAssert.Contains(Single(Check(dir.Path), "PG9001").Message, "is a directory");
    }

    [TestMethod]
    public void SectionHeaderTablePastEnd_SaysSo()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(ValidObject(dir));
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40));
        var truncated = bytes.AsSpan(0, (int)shoff + 10).ToArray();
        File.WriteAllBytes(dir["cut.o"], truncated);

        var d = Single(Check(dir["cut.o"]), "PG9001");

        StringAssert.Contains(d.Message, $"section header table at 0x{shoff:x}");
        StringAssert.Contains(d.Message, $"runs past end of file (size 0x{truncated.Length:x})");
    }

    [TestMethod]
    public void ByteOrderFlipped_IsReadBigEndian_AndItsHeaderIsPG9001()
    {
        // A little-endian object that claims ELFDATA2MSB: its fields are read big-endian, so e_shoff is far past the end.
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(ValidObject(dir));
        bytes[5] = 2; // ELFDATA2MSB
        File.WriteAllBytes(dir["be.o"], bytes);
        ulong swapped = BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(40));
        StringAssert.Contains(Single(Check(dir["be.o"]), "PG9001").Message, $"section header table at 0x{swapped:x}");
    }

    [TestMethod]
    public void UnknownDataEncoding_IsPG9001()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(ValidObject(dir));
        bytes[5] = 3;
        File.WriteAllBytes(dir["odd.o"], bytes);
        StringAssert.Contains(Single(Check(dir["odd.o"]), "PG9001").Message, "unknown data encoding 3 in e_ident[EI_DATA]");
    }

    [TestMethod]
    public void SectionDataPastEnd_NamesTheSection()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(ValidObject(dir));
        var elf = new ElfFile(bytes);
        var text = elf.Sections.First(s => elf.SectionName(s) == ".text");
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40));
        int header = (int)shoff + text.Index * 64;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(header + 32), 0x7fff_ffff); // sh_size
        File.WriteAllBytes(dir["big.o"], bytes);
        StringAssert.Contains(Single(Check(dir["big.o"]), "PG9001").Message, $"section [{text.Index}] data");
    }

    [TestMethod]
    public void BadSymbolIndexInRelocation_IsPG9001_NotACrash()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(ValidObject(dir));
        var elf = new ElfFile(bytes);
        var rela = elf.Sections.First(s => elf.SectionName(s) == ".rela.text");
        // First relocation's r_info: keep the type (32S), set the symbol to a huge index.
        int info = (int)rela.Offset + 8;
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(info));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(info), (0xfffffffUL << 32) | type);
        File.WriteAllBytes(dir["sym.o"], bytes);

        var r = Check(dir["sym.o"]);

        var d = r.Diagnostics.Single(x => x.Code == "PG9001");
        StringAssert.Contains(d.Message, "symbol index 268435455 is out of range");
    }

    [TestMethod]
    public void TruncatedArchiveMember_IsPG9001_ForTheArchive()
    {
        using var dir = new TempDir();
        string lib = Archive(dir.Path, "lib.a", ValidObject(dir));
        var bytes = File.ReadAllBytes(lib);
        File.WriteAllBytes(dir["cut.a"], bytes.AsSpan(0, bytes.Length - 100).ToArray());

        var d = Check(dir["cut.a"]).Diagnostics.Single(x => x.Code == "PG9001");

        StringAssert.Contains(d.Message, "past end of file");
    }

    [TestMethod]
    public void ElfReader_HandlesExtendedSectionIndices()
    {
        // More than 0xff00 sections: e_shnum and e_shstrndx escape to section 0, symbols use SHT_SYMTAB_SHNDX.
        using var dir = new TempDir();
        var asm = new StringBuilder();
        for (int i = 0; i < 66000; i++)
            asm.Append(".section .data.s").Append(i).Append(",\"aw\"\n.byte 1\n");
        asm.Append(".section .text.late,\"ax\"\n.globl late_function\n.type late_function,@function\nlate_function:\n  nop\n  movabs $late_function, %rax\n  ret\n.size late_function, .-late_function\n");
        File.WriteAllText(dir["many.s"], asm.ToString());
        RunChecked("as", dir["many.s"], "-o", dir["many.o"]);
        var bytes = File.ReadAllBytes(dir["many.o"]);
        Assert.AreEqual(0, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(60)), "e_shnum must escape to section 0");
        Assert.AreEqual(0xffff, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(62)), "e_shstrndx must be SHN_XINDEX");

        var elf = new ElfFile(bytes);
        Assert.IsGreaterThan(66000, elf.Sections.Count);
        var d = Check(dir["many.o"]).Diagnostics.Single();

        Assert.AreEqual("PG0001", d.Code);
        Assert.AreEqual(".text.late", d.Location!.Section);
        Assert.AreEqual("late_function", d.Location.Function);
        Assert.AreEqual(3UL, d.Location.FunctionOffset, "nop (1 byte), then movabs opcode 48 b8: the imm64 starts at +3");
    }
}
