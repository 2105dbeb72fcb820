using System.Globalization;
using System.Text.RegularExpressions;
using PicGuard.Elf;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// Every relocation PicGuard decodes equals what GNU readelf -rW prints for the same file:
/// object, relocation section, offset, type number, symbol (section name for STT_SECTION) and
/// addend, over objects compiled for four machines, an ld -r, a static-pie, archives and libc.a.
/// </summary>
[TestClass]
public sealed partial class ReadelfDifferentialTests
{
    private const string LibcArchive = "/usr/lib/x86_64-linux-gnu/libc.a";
    private const int ReadelfSectionNameLimit = 256;

    /// <summary>One row of readelf -rW, as printed.</summary>
    public sealed record ReadelfRelocation(string Object, string Section, ulong Offset, uint Type, string TypeName, uint SymbolIndex, string Symbol, long? Addend);

    [GeneratedRegex(@"^Relocation section '(?<name>.*)' at offset 0x[0-9a-f]+ contains \d+ entr(y|ies):$")]
    private static partial Regex SectionHeader();

    [GeneratedRegex(@"^(?<offset>[0-9a-f]+) +(?<info>[0-9a-f]+) (?<type>unrecognized: [0-9a-f]+|\S+) *(?<rest>.*)$")]
    private static partial Regex Row();

    /// <summary>Parses readelf -rW output; <paramref name="file"/> names the object until a "File:" line names a member.</summary>
    public static List<ReadelfRelocation> ParseReadelf(string file, string output)
    {
        var list = new List<ReadelfRelocation>();
        string obj = file, section = "";
        bool rela = false;
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("File: ", StringComparison.Ordinal)) { obj = line[6..]; continue; }
            var header = SectionHeader().Match(line);
            if (header.Success) { section = header.Groups["name"].Value; continue; }
            if (line.TrimStart().StartsWith("Offset", StringComparison.Ordinal)) { rela = line.EndsWith("Symbol's Name + Addend", StringComparison.Ordinal); continue; }
            var row = Row().Match(line);
            if (!row.Success) continue;
            string info = row.Groups["info"].Value;
            bool is64 = info.Length == 16;
            ulong infoValue = ulong.Parse(info, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            uint type = is64 ? (uint)infoValue : (uint)(infoValue & 0xff);
            uint symbol = is64 ? (uint)(infoValue >> 32) : (uint)(infoValue >> 8);
            string rest = row.Groups["rest"].Value;
            string name = "";
            long? addend = null;
            if (symbol != 0)
            {
                // "<value> <name>[ + <hex>|- <hex>]"
                int space = rest.IndexOf(' ');
                string afterValue = space < 0 ? "" : rest[(space + 1)..];
                if (rela)
                {
                    int sign = Math.Max(afterValue.LastIndexOf(" + ", StringComparison.Ordinal), afterValue.LastIndexOf(" - ", StringComparison.Ordinal));
                    if (sign < 0 && (afterValue.StartsWith("+ ", StringComparison.Ordinal) || afterValue.StartsWith("- ", StringComparison.Ordinal))) sign = -1;
                    string addendText = sign >= 0 ? afterValue[(sign + 1)..] : afterValue;
                    name = sign >= 0 ? afterValue[..sign].TrimStart() : ""; // names may end in spaces (clang's ".L0 ")
                    addend = ParseSigned(addendText.Replace(" ", ""));
                }
                else
                {
                    name = afterValue.TrimStart();
                }
            }
            else if (rela)
            {
                addend = ParseSigned(rest.Trim());
            }
            list.Add(new ReadelfRelocation(obj, section,
                ulong.Parse(row.Groups["offset"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                type, row.Groups["type"].Value, symbol, name, addend));
        }
        return list;
    }

    private static long ParseSigned(string text)
    {
        bool negative = text.StartsWith('-');
        string digits = text.TrimStart('+', '-');
        ulong value = ulong.Parse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return negative ? -(long)value : (long)value;
    }

    /// <summary>Compares PicGuard's relocations of one file with readelf's; returns the number compared and the first differences.</summary>
    /// <param name="llvm">Compare with llvm-readelf-19 -r (which reads SHT_CREL and names every machine's types) and compare every type name.</param>
    public static (int Compared, int TypeNamesCompared, List<string> Differences) Compare(string path, bool llvm = false)
    {
        var readelf = ParseReadelf(path, llvm ? RunChecked(LlvmReadelf, "-r", path).StdOut : ReadElf("-rW", path));
        var errors = new List<DumpError>();
        var ours = RelocationDump.Read(path, File.ReadAllBytes(path), errors);
        var differences = errors.Select(e => $"{e.Object}: PicGuard could not read it: {e.Message}").ToList();
        if (readelf.Count != ours.Count)
            differences.Add($"{path}: readelf lists {readelf.Count} relocations, PicGuard {ours.Count}");
        int names = 0;
        for (int i = 0; i < Math.Min(readelf.Count, ours.Count) && differences.Count < 20; i++)
        {
            var r = readelf[i];
            var o = ours[i];
            long? ourAddend = o.HasAddend ? o.Addend : null;
            // readelf shows at most 256 characters of a relocation section's name (long C++ section names).
            string ourSection = o.Section.Length > ReadelfSectionNameLimit ? o.Section[..ReadelfSectionNameLimit] : o.Section;
            bool same = r.Object == o.Object && r.Section == ourSection && r.Offset == o.Offset && r.Type == o.Type &&
                        r.SymbolIndex == o.SymbolIndex && r.Symbol == o.Symbol && r.Addend == ourAddend;
            // Type names: x86-64, whose table PicGuard has in full, against GNU readelf; every name against llvm-readelf.
            if (llvm || r.TypeName.StartsWith("R_X86_64_", StringComparison.Ordinal))
            {
                names++;
                same &= r.TypeName == o.TypeName;
            }
            if (!same)
                differences.Add($"#{i}: readelf: {r.Object} {r.Section} 0x{r.Offset:x} type {r.Type} {r.TypeName} sym {r.SymbolIndex} '{r.Symbol}' addend {r.Addend}\n" +
                                $"    PicGuard: {RelocationDump.Format(o)} (sym {o.SymbolIndex})");
        }
        return (Math.Min(readelf.Count, ours.Count), names, differences);
    }

    private static void AssertAgree(IEnumerable<string> paths, int minimumRelocations)
    {
        int total = 0, names = 0;
        var differences = new List<string>();
        foreach (var path in paths)
        {
            var (compared, typeNames, diff) = Compare(path);
            total += compared;
            names += typeNames;
            differences.AddRange(diff);
        }
        Assert.IsEmpty(differences, "PicGuard differs from readelf -rW:\n" + string.Join("\n", differences.Take(20)));
        Assert.IsGreaterThanOrEqualTo(minimumRelocations, total, "the corpus must hold relocations to compare");
        Assert.IsGreaterThan(0, names, "x86-64 type names must have been compared");
    }

    private const string LlvmReadelf = "llvm-readelf-19";

    /// <summary>
    /// Every machine with a relocation table, both byte orders, and SHT_CREL, against llvm-readelf-19 (every type name
    /// compared): (label, clang target, extra flags, machine, big-endian, ELF64). Each is built from the corpus source
    /// at three flag sets.
    /// </summary>
    public static IEnumerable<object[]> LlvmMachines =>
    [
        ["armv7a", "armv7a-linux-gnueabihf", "", ElfMachine.Arm, false, false],
        ["thumbv7a", "thumbv7a-linux-gnueabihf", "", ElfMachine.Arm, false, false],
        ["aarch64_be", "aarch64_be-linux-gnu", "", ElfMachine.AArch64, true, true],
        ["loongarch64", "loongarch64-linux-gnu", "", ElfMachine.LoongArch, false, true],
        ["powerpc64", "powerpc64-linux-gnu", "", ElfMachine.PowerPC64, true, true],
        ["powerpc64le", "powerpc64le-linux-gnu", "", ElfMachine.PowerPC64, false, true],
        ["s390x", "s390x-linux-gnu", "", ElfMachine.S390, true, true],
        ["riscv64", "riscv64-linux-gnu", "", ElfMachine.RiscV, false, true],
        ["i386", "i386-linux-gnu", "", ElfMachine.I386, false, false],
        ["x86_64", "x86_64-linux-gnu", "", ElfMachine.X86_64, false, true],
        ["x86_64-crel", "x86_64-linux-gnu", Fuzzing.FuzzSeeds.Crel, ElfMachine.X86_64, false, true],
        ["aarch64_be-crel", "aarch64_be-linux-gnu", Fuzzing.FuzzSeeds.Crel, ElfMachine.AArch64, true, true],
        ["riscv64-crel", "riscv64-linux-gnu", Fuzzing.FuzzSeeds.Crel, ElfMachine.RiscV, false, true],
    ];

    /// <summary>The corpus source built for <paramref name="target"/> at three flag sets (plain, -g with a section per function, -fpic).</summary>
    public static List<string> CompileForLlvmMachine(TempDir dir, string label, string target, string extra)
    {
        File.WriteAllText(dir["corpus.c"], ElfCorpus.Source);
        var objects = new List<string>();
        string[] flagSets = ["-O2", "-O1 -g -ffunction-sections -fdata-sections", "-O2 -fpic"];
        for (int i = 0; i < flagSets.Length; i++)
        {
            string obj = dir[$"{label}-{i}.o"];
            RunChecked(Clang, [$"--target={target}", .. ElfCorpus.Freestanding.Split(' '), .. flagSets[i].Split(' '),
                .. extra.Split(' ', StringSplitOptions.RemoveEmptyEntries), "-c", dir["corpus.c"], "-o", obj]);
            objects.Add(obj);
        }
        return objects;
    }

    [TestMethod]
    [DynamicData(nameof(LlvmMachines))]
    public void NewMachinesBothByteOrdersAndCrel_AgreeWithLlvmReadelf(string label, string target, string extra, ElfMachine machine, bool bigEndian, bool is64)
    {
        using var dir = new TempDir();
        var objects = CompileForLlvmMachine(dir, label, target, extra);
        foreach (var obj in objects)
        {
            // The corpus is what the row claims: the machine, the byte order, the class, and CREL where asked for.
            using var elf = new ElfFile(File.ReadAllBytes(obj));
            Assert.AreEqual(machine, elf.Machine, obj);
            Assert.AreEqual(bigEndian, elf.IsBigEndian, obj);
            Assert.AreEqual(is64, elf.Is64Bit, obj);
            bool crel = elf.Sections.Any(s => s.Type == ElfSectionType.Crel);
            Assert.AreEqual(extra.Contains("--crel"), crel, $"{obj}: SHT_CREL sections");
            Assert.IsFalse(elf.Sections.Any(s => s.Type is ElfSectionType.Rel or ElfSectionType.Rela) && crel, $"{obj}: CREL objects have no REL/RELA");
        }
        int total = 0, names = 0;
        var differences = new List<string>();
        foreach (var obj in objects)
        {
            var (compared, typeNames, diff) = Compare(obj, llvm: true);
            total += compared;
            names += typeNames;
            differences.AddRange(diff);
        }
        Assert.IsEmpty(differences, $"PicGuard differs from {LlvmReadelf} -r on {label}:\n" + string.Join("\n", differences.Take(20)));
        Assert.IsGreaterThanOrEqualTo(40, total, $"{label}: the corpus must hold relocations to compare");
        Assert.AreEqual(total, names, "every type name was compared");
        Report($"{label}: {total} relocations agree with {LlvmReadelf} (section, offset, type, type name, symbol, addend)");
    }

    [TestMethod]
    public void ThinArchive_AgreesWithBothReadelfs()
    {
        using var dir = new TempDir();
        var objects = CompileForLlvmMachine(dir, "aarch64_be", "aarch64_be-linux-gnu", "");
        objects.AddRange(CompileForLlvmMachine(dir, "arm", "armv7a-linux-gnueabihf", ""));
        Directory.CreateDirectory(dir["lib"]);
        string thin = dir["lib/built-in.a"];
        RunChecked("ar", ["rcT", thin, .. objects]);
        Assert.IsTrue(File.ReadAllBytes(thin).AsSpan().StartsWith("!<thin>\n"u8));

        var (compared, _, diff) = Compare(thin, llvm: true);
        Assert.IsEmpty(diff, string.Join("\n", diff.Take(20)));
        Assert.IsGreaterThan(100, compared);
        // GNU readelf names a thin archive's member "archive[member]"; otherwise its rows are the same.
        var gnu = ParseReadelf(thin, ReadElf("-rW", thin))
            .Select(r => r with { Object = r.Object.StartsWith(thin + "[", StringComparison.Ordinal) ? $"{thin}({r.Object[(thin.Length + 1)..^1]})" : r.Object }).ToList();
        var ours = RelocationDump.Read(thin, File.ReadAllBytes(thin), new List<DumpError>());
        Assert.HasCount(gnu.Count, ours);
        for (int i = 0; i < gnu.Count; i++)
            Assert.AreEqual(gnu[i], new ReadelfRelocation(ours[i].Object, ours[i].Section, ours[i].Offset, ours[i].Type, ours[i].TypeName,
                ours[i].SymbolIndex, ours[i].Symbol, ours[i].HasAddend ? ours[i].Addend : null), $"#{i}");
        Assert.AreEqual(compared, gnu.Count);
        StringAssert.Contains(RunChecked(LlvmReadelf, "-r", thin).StdOut, "File: ", "llvm-readelf must see the thin archive's members");
    }

    private static void Report(string line) => Console.WriteLine(line);

    [TestMethod]
    public void CompiledObjects_AllFourMachines_AgreeWithReadelf()
    {
        using var dir = new TempDir();
        var objects = ElfCorpus.CompileObjects(dir);
        // The corpus covers what it claims: four machines, REL and RELA.
        var machines = objects.Select(o => new ElfFile(File.ReadAllBytes(o.Path)).Machine).ToHashSet();
        CollectionAssert.IsSubsetOf(new[] { ElfMachine.X86_64, ElfMachine.I386, ElfMachine.AArch64, ElfMachine.RiscV }, machines.ToArray());
        AssertAgree(objects.Select(o => o.Path), minimumRelocations: 500);
    }

    [TestMethod]
    public void RelocatableLinkAndArchive_AgreeWithReadelf()
    {
        using var dir = new TempDir();
        var objects = ElfCorpus.CompileObjects(dir);
        var linked = ElfCorpus.LinkedAndArchived(dir, objects);
        StringAssert.Contains(ReadElf("-rW", linked[1].Path), "File: ", "readelf must see the archive's members");
        AssertAgree(linked.Select(l => l.Path), minimumRelocations: 500);
    }

    [TestMethod]
    public void StaticPie_AgreesWithReadelf()
    {
        using var dir = new TempDir();
        string exe = ElfCorpus.StaticPie(dir);
        StringAssert.Contains(ReadElf("-rW", exe), "R_X86_64_RELATIVE");
        AssertAgree([exe], minimumRelocations: 100);
    }

    [TestMethod]
    public void LibcArchive_AgreesWithReadelf()
    {
        Assert.IsTrue(File.Exists(LibcArchive), $"{LibcArchive} comes with libc6-dev, which gcc depends on");
        AssertAgree([LibcArchive], minimumRelocations: 10_000);
    }

    [TestMethod]
    public void Readelf_NegativeAndSymbolFreeAddends_ParseAsPrinted()
    {
        // The parser itself: a negative addend against a symbol, and a symbol-free RELATIVE entry.
        var rows = ParseReadelf("x.o", """
            Relocation section '.rela.text' at offset 0x1e0 contains 2 entries:
                Offset             Info             Type               Symbol's Value  Symbol's Name + Addend
            0000000000000005  0000000600000004 R_X86_64_PLT32         0000000000000000 f - 4
            00000000000ac518  0000000000000008 R_X86_64_RELATIVE                         b19a0
            """.Replace("\r", ""));
        Assert.HasCount(2, rows);
        Assert.AreEqual(new ReadelfRelocation("x.o", ".rela.text", 5, 4, "R_X86_64_PLT32", 6, "f", -4), rows[0]);
        Assert.AreEqual(new ReadelfRelocation("x.o", ".rela.text", 0xac518, 8, "R_X86_64_RELATIVE", 0, "", 0xb19a0), rows[1]);
    }

    [TestMethod]
    public void DumpRelocsCommand_PrintsOneLinePerRelocation()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "t.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        var (exit, stdout, stderr) = CliTests.Cli("dump-relocs", obj);

        Assert.AreEqual(0, exit, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var readelf = ParseReadelf(obj, ReadElf("-rW", obj));
        Assert.HasCount(readelf.Count, lines);
        var first = lines.First(l => l.Contains("\t.rela.text\t", StringComparison.Ordinal)).Split('\t');
        Assert.AreEqual(obj, first[0]);
        Assert.AreEqual("R_X86_64_32S", first[4]);
        Assert.AreEqual("table", first[5]);
        Assert.AreEqual("+0x0", first[6]);
    }

    [TestMethod]
    public void DumpRelocsCommand_MalformedInput_IsPG9001_OnStderr()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["bad.o"], "\u007fELF-not-really");
        var (exit, _, stderr) = CliTests.Cli("dump-relocs", dir["bad.o"]);

        Assert.AreEqual(1, exit);
        StringAssert.Contains(stderr, "error PG9001: malformed ELF");
    }
}
