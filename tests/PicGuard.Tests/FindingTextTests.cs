using PicGuard.Diagnostics;
using System.Text.RegularExpressions;
using PicGuard.Elf;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// What a finding prints, on objects the real assemblers, compilers and ld build: names with control bytes as readelf
/// shows them, one place when no function holds it, a PG0007 example an address can take, a source line read from
/// big-endian DWARF, no object file named as a source, and the same error for a directory from both commands.
/// </summary>
[TestClass]
public sealed partial class FindingTextTests
{
    private static CheckResult Check(string path, CheckOptions options) => new Checker(options).CheckFile(path);

    private static string Dump(CheckResult r) => string.Join("\n", r.Diagnostics.Select(d => d.Format()));

    /// <summary>An absolute reference to a symbol whose name holds the byte 0x02, from both assemblers.</summary>
    [TestMethod]
    [DataRow("as")]
    [DataRow(Clang)]
    public void SymbolNameWithControlByte_PrintsAsReadelfDoes(string assembler)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["weird.s"], ".text\n.globl f\nf: movl $\"tab\u0002le\", %eax\nret\n");
        string obj = dir["weird.o"];
        if (assembler == "as") RunChecked("as", dir["weird.s"], "-o", obj);
        else RunChecked(Clang, "-c", dir["weird.s"], "-o", obj);
        StringAssert.Contains(ReadElf("-rW", obj), "tab^Ble", "readelf's own rendering of the name");

        var result = Check(obj, CheckOptions.Default);
        var finding = result.Diagnostics.Single(d => d.Code == "PG0001");
        StringAssert.Contains(finding.Message, "'tab^Ble'");
        Assert.AreEqual("tab\u0002le", finding.Symbol, "suppressions still match the name's real bytes");
        string text = finding.Format();
        Assert.IsFalse(text.Any(c => c < 0x20 && c != '\n'), "no control byte reaches the output: " + text);

        var (exit, stdout, stderr) = CliTests.Cli("dump-relocs", obj);
        Assert.AreEqual(0, exit, stderr);
        Assert.AreEqual("tab^Ble", stdout.Split('\n')[0].Split('\t')[5]);
        // GNU readelf prints the name as dump-relocs does (llvm-readelf-19 prints the raw byte).
        var (compared, _, differences) = ReadelfDifferentialTests.Compare(obj);
        Assert.IsEmpty(differences, string.Join("\n", differences));
        Assert.AreEqual(1, compared);
    }

    /// <summary>
    /// The three ways a message names a relocation's target — a symbol, a section symbol with a positive or negative
    /// addend, no symbol at all — as GNU as emits them, and the same text whether the finding is written (its message
    /// kept as parts, never a string) or its <c>Message</c> and <c>Target</c> are read.
    /// </summary>
    [TestMethod]
    public void TargetsOfEveryForm_ReadAndWritten_AreOneText()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["targets.s"], """
            .data
            .globl table
            table: .quad 0, 0, 0
            here: .quad 0
            .section .rodata.words, "a"
            .quad here + 8
            .quad here - 0x20
            .reloc ., R_X86_64_64, 0x10
            .quad 0
            .quad table
            """);
        string obj = dir["targets.o"];
        RunChecked("as", dir["targets.s"], "-o", obj);
        var options = CheckOptions.Default with { MaxDiagnosticsPerFile = 0 };

        var written = new StringWriter();
        foreach (var d in Check(obj, options).Diagnostics) d.WriteTo(written); // before anything reads a message
        var result = Check(obj, options);
        var read = result.Diagnostics.Where(d => d.Code == "PG0010").ToList();

        string[] expected =
        [
            "absolute relocation R_X86_64_64 against section .data+0x20 in section .rodata.words",
            "absolute relocation R_X86_64_64 against section .data-0x8 in section .rodata.words",
            "absolute relocation R_X86_64_64 against address 0x10 in section .rodata.words",
            "absolute relocation R_X86_64_64 against 'table' in section .rodata.words",
        ];
        CollectionAssert.AreEqual(expected, read.Select(d => d.Message).ToList(), Dump(result));
        CollectionAssert.AreEqual(new[] { "section .data+0x20", "section .data-0x8", "address 0x10", "'table'" }, read.Select(d => d.Target).ToList());
        foreach (var d in read) StringAssert.Contains(written.ToString(), $"{obj}: {Diagnostic.SeverityWord(d.Severity)} PG0010: {d.Message}\n>>> referenced by .rodata.words+0x");
        var renamed = Check(obj, options).Diagnostics.First(d => d.Code == "PG0010") with { Message = "another message" };
        Assert.AreEqual(("another message", "section .data+0x20"), (renamed.Message, renamed.Target), "a new message keeps the target its parts named");
    }

    [TestMethod]
    public void PlaceOutsideAnyFunction_IsNamedOnce()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "pointer.c", "int table[4];\nint *table_pointer = &table[1];\n", Gcc, "-O2", "-fno-pic");
        var finding = Check(obj, CheckOptions.Default).Diagnostics.Single(d => d.Code == "PG0010");
        Assert.AreEqual(".data", finding.Location?.Section);
        var place = finding.Context.Single(c => c.StartsWith("referenced by ", StringComparison.Ordinal));
        Assert.AreEqual($"referenced by .data+0x0 in {obj}", place);
        StringAssert.Contains(finding.Format(), $">>> referenced by .data+0x0 in {obj}\n");

        // Inside a function both are still given: the function's offset and the section's.
        string code = Compile(dir.Path, "table.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        var inFunction = Check(code, CheckOptions.Default).Diagnostics.First(d => d.Code == "PG0001");
        Assert.IsTrue(inFunction.Context.Any(c => Regex.IsMatch(c, @"^referenced by table_\w+\+0x[0-9a-f]+ \(\.text\+0x[0-9a-f]+\) in ")), Dump(Check(code, CheckOptions.Default)));
    }

    [GeneratedRegex("0x[0-9a-f]{17,}")]
    private static partial Regex MoreThan64Bits();

    [TestMethod]
    public void OverflowAnywhere_ExampleIsARealAddress()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "table.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        var result = Check(obj, CheckOptions.Default with { LoadAddress = LoadAddress.Anywhere });
        var overflow = result.Diagnostics.First(d => d.Code == "PG0007" && d.RelocationType == "R_X86_64_32S");
        StringAssert.Contains(overflow.Message, "placed at any (e.g. at 0x80000000)", overflow.Message);
        Assert.DoesNotMatchRegex(MoreThan64Bits(), overflow.Message, "a value wider than 64 bits is no address");
        Assert.IsTrue(Regex.IsMatch(overflow.Message, @"value 0x800000[0-9a-f]{2} does not fit"), overflow.Message);

        // A range whose end is below the first failing page still names a base inside it.
        var range = Check(obj, CheckOptions.Default with { LoadAddress = new LoadAddress(0x100000, 0x7fffffff) });
        var inRange = range.Diagnostics.First(d => d.Code == "PG0007" && d.RelocationType == "R_X86_64_32S");
        var at = Regex.Match(inRange.Message, @"e\.g\. at 0x([0-9a-f]+)");
        Assert.IsTrue(at.Success, inRange.Message);
        Assert.IsLessThanOrEqualTo(0x7fffffffUL, Convert.ToUInt64(at.Groups[1].Value, 16), inRange.Message);
    }

    private const string ExternSource = """
        extern int external_counter;

        int read_external(int x)
        {
            return external_counter + x; /* got-ref */
        }
        """;

    /// <summary>A GOT reference (PG0002) in code built with -g for big-endian machines: the line comes from .debug_line.</summary>
    [TestMethod]
    [DataRow("s390x-linux-gnu", ElfMachine.S390, "-gdwarf-5")]
    [DataRow("s390x-linux-gnu", ElfMachine.S390, "-gdwarf-4")]
    [DataRow("aarch64_be-linux-gnu", ElfMachine.AArch64, "-gdwarf-5")]
    public void BigEndianObject_SourceLineFromDwarf(string target, ElfMachine machine, string debug)
    {
        using var dir = new TempDir();
        string obj = CompileForTarget(dir.Path, "extern.c", ExternSource, target, "-O2", "-fpic", debug);
        using (var elf = new ElfFile(File.ReadAllBytes(obj)))
        {
            Assert.IsTrue(elf.IsBigEndian, obj);
            Assert.AreEqual(machine, elf.Machine);
            Assert.IsTrue(SourceLocator.Build(elf).HasLineTable, "the big-endian line table decodes");
        }
        int line = Array.FindIndex(ExternSource.Split('\n'), l => l.Contains("got-ref", StringComparison.Ordinal)) + 1;

        var result = Check(obj, CheckOptions.Default);
        var got = result.Diagnostics.Where(d => d.Code == "PG0002").ToList();
        Assert.IsNotEmpty(got, Dump(result));
        foreach (var d in got)
        {
            Assert.IsNotNull(d.Source, d.Format());
            StringAssert.EndsWith(d.Source.File, "extern.c");
            Assert.AreEqual(line, d.Source.Line, d.Format());
            StringAssert.Contains(d.Format(), $">>> source: {d.Source.File}:{line}");
        }
    }

    /// <summary>ld names an input without STT_FILE after the object ("entry.o"): no source line names it; a C file's STT_FILE still does.</summary>
    [TestMethod]
    public void ObjectFileNamedByTheLinker_IsNoSource()
    {
        using var dir = new TempDir();
        // A local label: ld gives an input's locals an STT_FILE, named after the object when the input has none.
        File.WriteAllText(dir["entry.s"], ".text\n.globl entry\nentry: movl $table, %eax\nlocal_exit: ret\n");
        RunChecked("as", dir["entry.s"], "-o", dir["entry.o"]);
        RunChecked(Ld, "-r", dir["entry.o"], "-o", dir["entry.ro"]);
        StringAssert.Contains(ReadElf("-sW", dir["entry.ro"]), "FILE    LOCAL  DEFAULT  ABS entry.o", "ld names the input after the object");
        var finding = Check(dir["entry.ro"], CheckOptions.Default).Diagnostics.Single(d => d.Code == "PG0001");
        Assert.IsNull(finding.Source, finding.Format());
        Assert.DoesNotContain(">>> source:", finding.Format());

        string c = Compile(dir.Path, "table.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        RunChecked(Ld, "-r", c, "-o", dir["table.ro"]);
        var fromC = Check(dir["table.ro"], CheckOptions.Default).Diagnostics.First(d => d.Code == "PG0001");
        Assert.AreEqual("table.c", fromC.Source?.File, fromC.Format());
    }

    [TestMethod]
    public void Directory_IsTheSameErrorForCheckAndDumpRelocs()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["objects"]);
        string expected = $"{dir["objects"]}: error PG9001: '{dir["objects"]}' is a directory; name an ELF object or archive file";

        var (checkExit, checkOut, checkErr) = CliTests.Cli("check", dir["objects"]);
        var (dumpExit, dumpOut, dumpErr) = CliTests.Cli("dump-relocs", dir["objects"]);

        Assert.AreEqual(1, checkExit, checkOut + checkErr);
        Assert.AreEqual(1, dumpExit, dumpOut + dumpErr);
        StringAssert.Contains(checkOut + checkErr, expected);
        StringAssert.Contains(dumpErr, expected);
        Assert.DoesNotContain("denied", dumpErr);
        Assert.AreEqual("", dumpOut);
    }
}
