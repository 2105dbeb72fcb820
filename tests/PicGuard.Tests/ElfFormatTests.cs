using System.Buffers.Binary;
using PicGuard.Diagnostics;
using PicGuard.Elf;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// The ELF forms beyond little-endian REL/RELA in regular archives: SHT_CREL sections (clang -Wa,--crel), relocation
/// sections the reader cannot decode (PG9006, never "0 relocations"), thin archives (ar rcT, the kernel's built-in.a)
/// and big-endian files. Objects are built by clang-19, gcc and GNU ar during the test.
/// </summary>
[TestClass]
public sealed class ElfFormatTests
{
    private static CheckResult Check(string path, CheckOptions? options = null) => new Checker(options ?? CheckOptions.Default).CheckFile(path);

    private static string Dump(CheckResult r) => string.Join("\n", r.Diagnostics.Select(d => d.Format()));

    private static string Signature(Diagnostic d) => $"{d.Code} {d.RelocationType} {d.Section} {d.Location?.Offset} {d.Location?.Function} {d.Symbol}";

    // ---- section names -------------------------------------------------------------------------------

    /// <summary>
    /// Section names are strings shared by the objects of a run (InternedNames, a table of 1,024 slots found by a hash of
    /// the name's bytes): the same name in two objects is one string, and two names whose hashes share a slot
    /// (<c>.text.f138</c> and <c>.text.f264</c>) each read as themselves, however often they take the slot from each other.
    /// </summary>
    [TestMethod]
    public void SectionNames_AreSharedAcrossObjects_AndNamesSharingASlotEachReadAsThemselves()
    {
        using var dir = new TempDir();
        string first = Compile(dir.Path, "first.s", "    .section .text.f138, \"ax\", @progbits\n    ret\n    .text\n    ret\n", Gcc);
        string second = Compile(dir.Path, "second.s", "    .section .text.f264, \"ax\", @progbits\n    ret\n    .text\n    ret\n", Gcc);
        for (int round = 0; round < 4; round++)
        {
            // Fresh objects every round: each reads its names again, and the two take the slot from each other.
            using var a = new ElfFile(File.ReadAllBytes(first));
            using var b = new ElfFile(File.ReadAllBytes(second));
            string[] namesA = a.Sections.Select(s => a.SectionName(s)).ToArray(), namesB = b.Sections.Select(s => b.SectionName(s)).ToArray();
            CollectionAssert.Contains(namesA, ".text.f138");
            CollectionAssert.DoesNotContain(namesA, ".text.f264");
            CollectionAssert.Contains(namesB, ".text.f264");
            CollectionAssert.DoesNotContain(namesB, ".text.f138");
            Assert.AreSame(namesA.Single(n => n == ".text"), namesB.Single(n => n == ".text"), "one string for the name both objects have");
        }
    }

    // ---- SHT_CREL ------------------------------------------------------------------------------------

    [TestMethod]
    [DataRow("x86_64-linux-gnu", "-mcmodel=kernel -fno-pic")]
    [DataRow("aarch64_be-linux-gnu", "-mcmodel=large -fno-pic")]
    [DataRow("riscv64-linux-gnu", "-mcmodel=medlow -fno-pic")]
    public void CrelObject_IsCheckedExactlyLikeItsRelaTwin(string target, string flags)
    {
        using var dir = new TempDir();
        string source = Sources.GlobalTable + Sources.ExternVariable;
        string rela = CompileForTarget(dir.Path, "rela.c", source, target, ["-O2", .. flags.Split(' ')]);
        string crel = CompileForTarget(dir.Path, "crel.c", source, target, ["-O2", Fuzzing.FuzzSeeds.Crel, .. flags.Split(' ')]);
        using (var elf = new ElfFile(File.ReadAllBytes(crel)))
        {
            Assert.IsTrue(elf.Sections.Any(s => s.Type == ElfSectionType.Crel && elf.SectionName(s) == ".crel.text"), "clang wrote .crel.text");
            Assert.IsFalse(elf.Sections.Any(s => s.Type is ElfSectionType.Rel or ElfSectionType.Rela), "and no REL/RELA");
        }

        var expected = Check(rela);
        var found = Check(crel);

        Assert.IsGreaterThan(0L, expected.Relocations);
        Assert.AreEqual(expected.Relocations, found.Relocations, "every CREL entry is counted");
        Assert.IsTrue(expected.Diagnostics.Any(d => d.Code == "PG0001"), Dump(expected));
        CollectionAssert.AreEqual(expected.Diagnostics.Select(Signature).ToList(), found.Diagnostics.Select(Signature).ToList(), Dump(found));

        // Under kexec-purgatory: the undefined symbol a CREL entry uses (PG0008) and the loader's type list (PG0006 on x86-64).
        var purgatory = new CheckOptions(Profiles.KexecPurgatory);
        var expectedPurgatory = Check(rela, purgatory);
        var foundPurgatory = Check(crel, purgatory);
        Assert.IsTrue(foundPurgatory.Diagnostics.Any(d => d.Code == "PG0008" && d.Symbol == "external_counter"), Dump(foundPurgatory));
        CollectionAssert.AreEqual(expectedPurgatory.Diagnostics.Select(Signature).ToList(), foundPurgatory.Diagnostics.Select(Signature).ToList(), Dump(foundPurgatory));
    }

    [TestMethod]
    public void CrelDecoder_RelStyleEntries_LongOffsetDeltas_AndShift()
    {
        // Header: 2 entries, no explicit addends, shift 2 (offsets are multiples of 4): 2 * 8 + 0 + 2 = 0x12.
        // Entry 1: offset delta 1 (<< 2 = 4), symbol index +3, type +10: first byte (1 << 2) | 1 | 2 = 0x07, SLEB 3, SLEB 10.
        // Entry 2: offset delta 0x45: 5 bits in the first byte with bit 7 set ((5 << 2) | 0x80 = 0x94), the rest (0x45 >> 5 = 2) as a ULEB.
        byte[] data = [0x12, 0x07, 0x03, 0x0a, 0x94, 0x02];

        var entries = CompactRelocations.Decode(data, is64: true, sectionIndex: 7, out bool addends);

        Assert.IsFalse(addends);
        Assert.HasCount(2, entries);
        Assert.AreEqual(new ElfRelocation(4, 10, 3, 0, false), entries[0]);
        Assert.AreEqual(new ElfRelocation((1 + 0x45) << 2, 10, 3, 0, false), entries[1]);
    }

    [TestMethod]
    public void CrelDecoder_AddendDeltas_AreSignedAndWrapAtTheClassWidth()
    {
        // One entry, explicit addends: header 8 + 4 = 0x0c; flags "addend" (4), offset delta 0; SLEB -4 = 0x7c.
        var rela = CompactRelocations.Decode([0x0c, 0x04, 0x7c], is64: true, 1, out bool addends);
        Assert.IsTrue(addends);
        Assert.AreEqual(new ElfRelocation(0, 0, 0, -4, true), rela[0]);

        // Two entries in ELF32: addend 0x7fffffff, then +1 wraps to int.MinValue as the 32-bit field does.
        byte[] wrap = [0x14, 0x04, 0xff, 0xff, 0xff, 0xff, 0x07, 0x04, 0x01];
        var entries = CompactRelocations.Decode(wrap, is64: false, 1, out _);
        Assert.AreEqual(int.MaxValue, entries[0].Addend);
        Assert.AreEqual(int.MinValue, entries[1].Addend);
    }

    [TestMethod]
    public void CrelDecoder_BrokenData_IsAFormatError_NotAnAllocation()
    {
        // A header claiming 2^40 entries in a few bytes is refused before anything is allocated.
        var huge = Assert.ThrowsExactly<ElfFormatException>(() => CompactRelocations.Decode([0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0x00], true, 5, out _));
        StringAssert.Contains(huge.Message, "SHT_CREL section [5] claims");
        // An entry whose SLEB runs off the end.
        var cut = Assert.ThrowsExactly<ElfFormatException>(() => CompactRelocations.Decode([0x0c, 0x05, 0x81], true, 5, out _));
        StringAssert.Contains(cut.Message, "ends inside");
    }

    [TestMethod]
    public void CrelObject_DumpRelocs_PrintsTheDecodedEntries()
    {
        using var dir = new TempDir();
        string obj = CompileForTarget(dir.Path, "t.c", Sources.GlobalTable, "x86_64-linux-gnu", "-O2", "-mcmodel=kernel", "-fno-pic", Fuzzing.FuzzSeeds.Crel);

        var (exit, stdout, stderr) = CliTests.Cli("dump-relocs", obj);

        Assert.AreEqual(0, exit, stderr);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
        Assert.IsNotEmpty(rows);
        Assert.IsTrue(rows.Any(r => r[1] == ".crel.text" && r[4] == "R_X86_64_32S" && r[5] == "table" && r[6] == "+0x0"), stdout);
    }

    // ---- relocation sections the reader cannot decode: PG9006 ----------------------------------------

    /// <summary>Rewrites section <paramref name="name"/>'s sh_type in an ELF64 little-endian object.</summary>
    private static void SetSectionType(string path, string name, uint type)
    {
        var bytes = File.ReadAllBytes(path);
        using var elf = new ElfFile(bytes.ToArray());
        var section = elf.Sections.Single(s => elf.SectionName(s) == name);
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)shoff + section.Index * 64 + 4), type);
        File.WriteAllBytes(path, bytes);
    }

    [TestMethod]
    [DataRow(".rela.text", 0x60000fffu, "section type 0x60000fff")]          // an OS-specific type
    [DataRow(".rela.text", 0x70000099u, "section type 0x70000099")]          // an SHT_LOPROC..HIPROC type
    [DataRow(".rela.text", 19u, "SHT_RELR (19) relative relocations in a relocatable object")]
    [DataRow(".crel.text", 0x40000015u, "section type 0x40000015")]          // a CREL section under a type number the reader does not know
    public void RelocationSectionOfUnknownType_IsPG9006_NeverZeroRelocations(string section, uint type, string why)
    {
        using var dir = new TempDir();
        string[] flags = section == ".crel.text" ? ["-O2", "-mcmodel=kernel", "-fno-pic", Fuzzing.FuzzSeeds.Crel] : ["-O2", "-mcmodel=kernel", "-fno-pic"];
        string obj = CompileForTarget(dir.Path, "t.c", Sources.GlobalTable, "x86_64-linux-gnu", flags);
        Assert.IsTrue(Check(obj).Diagnostics.Any(d => d.Code == "PG0001"), "the object as built has an absolute reference");
        SetSectionType(obj, section, type);

        var result = Check(obj);

        Assert.AreEqual(1, result.Diagnostics.Count(x => x.Code == "PG9006"), Dump(result));
        var d = result.Diagnostics.Single(x => x.Code == "PG9006");
        Assert.AreEqual(Severity.Error, d.Severity);
        StringAssert.Contains(d.Message, $"relocation section {section} cannot be decoded: {why}");
        StringAssert.Contains(d.Message, "its relocations were not checked");
        Assert.IsGreaterThan(0, result.Errors, "an object whose relocations were not read is never clean");

        var (exit, _, stderr) = CliTests.Cli("dump-relocs", obj);
        Assert.AreEqual(1, exit);
        StringAssert.Contains(stderr, $"error PG9006: relocation section {section} cannot be decoded");
        var (checkExit, checkOut, checkErr) = CliTests.Cli("check", obj);
        Assert.AreNotEqual(0, checkExit);
        StringAssert.Contains(checkOut + checkErr, "error PG9006");
    }

    /// <summary>Forty pointers in data, and one past a gap: a RELR bitmap, then a new base.</summary>
    private const string Pointers = """
        static int a[40];
        int *p[40] = { &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6], &a[7], &a[8], &a[9], &a[10], &a[11], &a[12], &a[13],
            &a[14], &a[15], &a[16], &a[17], &a[18], &a[19], &a[20], &a[21], &a[22], &a[23], &a[24], &a[25], &a[26], &a[27],
            &a[28], &a[29], &a[30], &a[31], &a[32], &a[33], &a[34], &a[35], &a[36], &a[37], &a[38], &a[39] };
        int *q = &a[5];
        int *r[70] = { [0] = &a[1], [66] = &a[2], [69] = &a[3] };
        void _start(void) {}
        """;

    [TestMethod]
    [DataRow("x86_64-linux-gnu", "R_X86_64_RELATIVE")]
    [DataRow("aarch64_be-linux-gnu", "R_AARCH64_RELATIVE")]
    [DataRow("i386-linux-gnu", "R_386_RELATIVE")]
    public void RelrInALinkedFile_IsDecodedIntoRelativeRelocations_AtTheAddressesLlvmReadelfLists(string target, string relative)
    {
        using var dir = new TempDir();
        string obj = CompileForTarget(dir.Path, "p.c", Pointers, target, "-O2", "-fpie");
        string elf = dir["p.elf"];
        RunChecked(Lld, "-pie", "-z", "pack-relative-relocs", obj, "-o", elf);
        // llvm-readelf lists a RELR section's places as "index: entry address symbol" rows and continuation "address symbol" rows.
        var expected = new List<ulong>();
        bool inRelr = false;
        foreach (var line in RunChecked("llvm-readelf-19", "-r", elf).StdOut.Split('\n'))
        {
            if (line.StartsWith("Relocation section ", StringComparison.Ordinal)) { inRelr = line.Contains("'.relr.dyn'", StringComparison.Ordinal); continue; }
            var t = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!inRelr || t.Length < 2 || t[0] == "Index:") continue;
            expected.Add(Convert.ToUInt64(t[0].EndsWith(':') ? t[2] : t[0], 16));
        }
        Assert.HasCount(44, expected, "40 + 1 + 3 pointers");

        var errors = new List<DumpError>();
        var ours = RelocationDump.Read(elf, File.ReadAllBytes(elf), errors).Where(r => r.Section == ".relr.dyn").ToList();

        Assert.IsEmpty(errors, string.Join("\n", errors));
        CollectionAssert.AreEqual(expected, ours.Select(r => r.Offset).ToList());
        Assert.IsTrue(ours.All(r => r.TypeName == relative && r.SymbolIndex == 0 && !r.HasAddend));
        var result = Check(elf, new CheckOptions(Profiles.EfiStub));
        Assert.IsFalse(result.Diagnostics.Any(d => d.Code == "PG9006"), Dump(result));
        Assert.AreEqual(44L, result.Relocations);
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0010" && d.RelocationType == relative && d.Severity == Severity.Error), Dump(result));
    }

    [TestMethod]
    public void SectionsThatLinkToTheSymbolTableButRelocateNothing_AreNotPG9006()
    {
        // COMDAT groups (SHT_GROUP), clang's address-significance table (SHT_LLVM_ADDRSIG) and call-graph profile all
        // link to .symtab; none is a relocation section.
        using var dir = new TempDir();
        string cxx = Compile(dir.Path, "g.cc", "inline int f() { return 1; }\nint g() { return f(); }\n", Clang, "-O0");
        string clangC = Compile(dir.Path, "c.c", Sources.ExternVariable + "int *p(void) { return &external_counter; }\n", Clang, "-O2", "-faddrsig");
        using (var elf = new ElfFile(File.ReadAllBytes(cxx)))
            Assert.IsTrue(elf.Sections.Any(s => s.Type == ElfSectionType.Group));
        using (var elf = new ElfFile(File.ReadAllBytes(clangC)))
            Assert.IsTrue(elf.Sections.Any(s => elf.SectionName(s) == ".llvm_addrsig"), "clang writes .llvm_addrsig");

        Assert.IsFalse(Check(cxx).Diagnostics.Any(d => d.Code == "PG9006"), Dump(Check(cxx)));
        Assert.IsFalse(Check(clangC).Diagnostics.Any(d => d.Code == "PG9006"), Dump(Check(clangC)));
    }

    // ---- thin archives -------------------------------------------------------------------------------

    /// <summary>Objects in src/ (two machines, one byte order each), a thin archive of them in lib/ and a regular one beside it.</summary>
    private static (string Thin, string Regular, List<string> Objects) ThinAndRegular(TempDir dir)
    {
        Directory.CreateDirectory(dir["src"]);
        Directory.CreateDirectory(dir["lib"]);
        var objects = new List<string>
        {
            CompileForTarget(dir["src"], "table.c", Sources.GlobalTable, "x86_64-linux-gnu", "-O2", "-mcmodel=kernel", "-fno-pic"),
            CompileForTarget(dir["src"], "extern.c", Sources.ExternVariable, "aarch64_be-linux-gnu", "-O2", "-fpic"),
            CompileForTarget(dir["src"], "static.c", Sources.StaticOnly, "s390x-linux-gnu", "-O2", "-fpic"),
        };
        // Run from lib/ with relative names, as kbuild does: the archive records "../src/x.o".
        string thin = dir["lib/built-in.a"];
        var ar = Run("ar", ["rcT", "built-in.a", .. objects.Select(o => "../src/" + Path.GetFileName(o))], workingDirectory: dir["lib"]);
        Assert.AreEqual(0, ar.ExitCode, ar.All);
        string regular = dir["lib/regular.a"];
        RunChecked("ar", ["rcs", regular, .. objects]);
        Assert.IsTrue(File.ReadAllBytes(thin).AsSpan().StartsWith(ArArchive.ThinMagic), "ar rcT writes a thin archive");
        Assert.IsLessThan(new FileInfo(regular).Length, new FileInfo(thin).Length, "the thin archive holds no member data");
        return (thin, regular, objects);
    }

    [TestMethod]
    public void ThinArchive_MembersAreReadFromTheirPaths_AndCheckedLikeARegularArchive()
    {
        using var dir = new TempDir();
        var (thin, regular, objects) = ThinAndRegular(dir);

        var fromThin = Check(thin);
        var fromRegular = Check(regular);

        Assert.AreEqual(3, fromThin.Objects);
        Assert.AreEqual(fromRegular.Relocations, fromThin.Relocations);
        Assert.IsGreaterThan(0L, fromThin.Relocations);
        CollectionAssert.AreEqual(fromRegular.Diagnostics.Select(Signature).ToList(), fromThin.Diagnostics.Select(Signature).ToList(), Dump(fromThin));
        Assert.IsTrue(fromThin.Diagnostics.Any(d => d.Code == "PG0001" && d.Object == $"{thin}(../src/table.x86_64-linux-gnu.o)"), Dump(fromThin));
        Assert.IsTrue(fromThin.Diagnostics.Any(d => d.Code == "PG0002" && d.RelocationType == "R_AARCH64_ADR_GOT_PAGE"), "the big-endian member's GOT reference: " + Dump(fromThin));

        // Relative member paths start from the archive's folder, not the current directory.
        var (exit, stdout, stderr) = CliTests.Cli("dump-relocs", thin);
        Assert.AreEqual(0, exit, stderr);
        StringAssert.Contains(stdout, $"{thin}(../src/extern.aarch64_be-linux-gnu.o)\t.rela.text\t");
        Assert.AreEqual(fromThin.Relocations, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [TestMethod]
    public void ThinArchive_MissingMember_IsPG9003_NamingIt_AndTheOthersAreStillChecked()
    {
        using var dir = new TempDir();
        var (thin, _, objects) = ThinAndRegular(dir);
        File.Delete(objects[1]);

        var result = Check(thin);

        Assert.AreEqual(1, result.Diagnostics.Count(d => d.Code == "PG9003"), Dump(result));
        var missing = result.Diagnostics.Single(d => d.Code == "PG9003");
        Assert.AreEqual(Severity.Error, missing.Severity);
        StringAssert.Contains(missing.Message, "thin archive member '../src/extern.aarch64_be-linux-gnu.o' does not exist");
        StringAssert.Contains(missing.Message, objects[1]);
        Assert.AreEqual($"{thin}(../src/extern.aarch64_be-linux-gnu.o)", missing.Object);
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0001"), "the members that exist are checked: " + Dump(result));

        var (exit, _, stderr) = CliTests.Cli("dump-relocs", thin);
        Assert.AreEqual(1, exit);
        StringAssert.Contains(stderr, "error PG9003: thin archive member '../src/extern.aarch64_be-linux-gnu.o' does not exist");
    }

    // ---- big-endian ----------------------------------------------------------------------------------

    [TestMethod]
    [DataRow("aarch64_be-linux-gnu", "R_AARCH64_ABS64")]
    [DataRow("powerpc64-linux-gnu", "R_PPC64_ADDR64")]
    [DataRow("s390x-linux-gnu", "R_390_64")]
    public void BigEndianObject_IsReadField_ByField(string target, string pointerType)
    {
        using var dir = new TempDir();
        string obj = CompileForTarget(dir.Path, "p.c", "static int word; int *word_pointer = &word; int get(void) { return *word_pointer; }\n", target, "-O2", "-fpic");
        using var elf = new ElfFile(File.ReadAllBytes(obj));
        Assert.IsTrue(elf.IsBigEndian);
        Assert.AreEqual(ElfFileType.Relocatable, elf.FileType);
        // Section headers, names and symbols decode as readelf shows them.
        var symtab = elf.Sections.Single(s => s.Type == ElfSectionType.SymbolTable);
        Assert.AreEqual(".symtab", elf.SectionName(symtab));
        var symbols = elf.GetSymbolTable((uint)symtab.Index);
        var byName = Enumerable.Range(1, symbols.Count - 1).Select(i => symbols[(uint)i])
            .Where(x => x.Type is ElfSymbolType.Object or ElfSymbolType.Function).ToDictionary(x => symbols.Name(x), x => x);
        Assert.AreEqual(ElfSymbolType.Object, byName["word_pointer"].Type);
        Assert.AreEqual(8UL, byName["word_pointer"].Size);
        Assert.AreEqual(ElfSymbolType.Function, byName["get"].Type);
        Assert.AreEqual(ElfSymbolBinding.Global, byName["get"].Binding);
        Assert.AreEqual(".data", elf.SectionName(elf.GetSection(byName["word_pointer"].SectionIndex)));

        var result = Check(obj, new CheckOptions(Profiles.EfiStub));

        var d = result.Diagnostics.First(x => x.Code == "PG0010" && x.Section == ".data");
        Assert.AreEqual(Severity.Error, d.Severity);
        Assert.AreEqual(pointerType, d.RelocationType);
        Assert.AreEqual(0UL, d.Location!.Offset, "word_pointer is the first word of .data");
    }
}
