using System.Globalization;
using PicGuard.Elf;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// Source positions of relocation sites in objects built now by gcc 12 and clang 19: DWARF line
/// tables of versions 2 to 5, relocatable and linked files, four machines, and the STT_FILE
/// fallback for objects built without line information.
/// </summary>
[TestClass]
public sealed class SourceLocatorTests
{
    private const string MainSource = """
        #include "scale.h"
        int table[8];
        int *table_pointer;

        void remember_table(void)
        {
            table_pointer = &table[3]; /* table-ref */
        }

        int scaled_sum(int x)
        {
            return scaled(x) + 1;
        }
        """;

    private const string ScaleHeader = """
        extern int scale_factor;

        static inline int scaled(int x)
        {
            return x * scale_factor; /* scale-ref */
        }
        """;

    private const string OtherSource = """
        int other_table[4];


        int *other_address(void)
        {
            return &other_table[1]; /* other-ref */
        }
        """;

    /// <summary>The 1-based line of <paramref name="source"/> that holds <paramref name="marker"/>.</summary>
    private static int LineOf(string source, string marker)
    {
        var lines = source.Split('\n');
        int index = Array.FindIndex(lines, l => l.Contains(marker, StringComparison.Ordinal));
        Assert.IsGreaterThanOrEqualTo(0, index, marker);
        return index + 1;
    }

    private static readonly int TableLine = LineOf(MainSource, "table-ref");
    private static readonly int ScaleLine = LineOf(ScaleHeader, "scale-ref");
    private static readonly int OtherLine = LineOf(OtherSource, "other-ref");

    /// <summary>Writes the sources into <paramref name="dir"/> and compiles <paramref name="source"/> to <paramref name="output"/>.</summary>
    private static string Build(TempDir dir, string source, string output, string compiler, params string[] flags)
    {
        File.WriteAllText(dir["main.c"], MainSource);
        File.WriteAllText(dir["scale.h"], ScaleHeader);
        File.WriteAllText(dir["other.c"], OtherSource);
        string obj = dir[output];
        RunChecked(compiler, [.. flags, "-c", dir[source], "-o", obj]);
        return obj;
    }

    /// <summary>Section and offset of the first relocation against <paramref name="symbol"/> that patches code.</summary>
    private static (uint Section, ulong Offset, string Type) RelocationSite(ElfFile elf, string symbol)
    {
        foreach (var section in elf.Sections)
        {
            if (section.Type is not (ElfSectionType.Rela or ElfSectionType.Rel) || section.Info == 0) continue;
            var patched = elf.GetSection(section.Info);
            if (!patched.IsExecutable) continue;
            var symbols = elf.GetSymbolTable(section.Link);
            var relocations = elf.GetRelocations(section);
            for (int i = 0; i < relocations.Count; i++)
            {
                var r = relocations[i];
                if (r.SymbolIndex != 0 && symbols.Name(symbols[r.SymbolIndex]) == symbol)
                    return (section.Info, r.Offset, r.Type.ToString(CultureInfo.InvariantCulture));
            }
        }
        Assert.Fail($"no relocation against {symbol} in code");
        return default;
    }

    private static SourcePosition Locate(string path, string symbol)
    {
        var elf = new ElfFile(File.ReadAllBytes(path));
        var site = RelocationSite(elf, symbol);
        var position = SourceLocator.Build(elf).Find(site.Section, site.Offset);
        Assert.IsNotNull(position, $"no position for the relocation against {symbol} at [{site.Section}]+0x{site.Offset:x} in {path}");
        return position;
    }

    private static void AssertAt(SourcePosition position, string file, int line, string why)
    {
        Assert.AreEqual(file, Path.GetFileName(position.File), $"{why}: {position}");
        Assert.AreEqual(line, position.Line, $"{why}: {position}");
    }

    public static IEnumerable<object[]> Builds() =>
    [
        [Gcc, new[] { "-O2", "-g", "-mcmodel=kernel", "-fno-pic" }],
        [Clang, new[] { "-O2", "-g", "-mcmodel=kernel", "-fno-pic" }],
        [Gcc, new[] { "-O2", "-gdwarf-4", "-mcmodel=kernel", "-fno-pic" }],
        [Clang, new[] { "-O2", "-gdwarf-4", "-mcmodel=kernel", "-fno-pic" }],
        [Gcc, new[] { "-O2", "-gdwarf-3", "-fpic" }],
        [Gcc, new[] { "-O2", "-gdwarf-2", "-fpic" }],
        [Gcc, new[] { "-O2", "-g", "-fpic", "-ffunction-sections" }],
        [Clang, new[] { "-O2", "-g", "-fpic", "-ffunction-sections" }],
        [Clang, new[] { "-O2", "-gdwarf-4", "-fpic", "-ffunction-sections" }],
        [Gcc, new[] { "-O0", "-g", "-fpic" }],
        [Gcc, new[] { "-O2", "-g", "-m32", "-fno-pic" }],
        [Clang, new[] { "-O2", "-g", "--target=i386-linux-gnu", "-fno-pic", "-ffreestanding", "-nostdinc" }],
        [Clang, new[] { "-O2", "-g", "--target=aarch64-linux-gnu", "-ffreestanding", "-nostdinc" }],
        [Clang, new[] { "-O2", "-gdwarf-4", "--target=aarch64-linux-gnu", "-ffreestanding", "-nostdinc", "-ffunction-sections" }],
        [Clang, new[] { "-O2", "-g", "--target=riscv64-linux-gnu", "-mno-relax", "-ffreestanding", "-nostdinc" }],
        [Clang, new[] { "-O2", "-g", "--target=riscv64-linux-gnu", "-mrelax", "-ffreestanding", "-nostdinc" }],
    ];

    public static string BuildName(System.Reflection.MethodInfo method, object?[]? data) =>
        $"{method.Name}({data![0]} {string.Join(' ', (string[])data[1]!)})";

    [TestMethod]
    [DynamicData(nameof(Builds), DynamicDataDisplayName = nameof(BuildName))]
    public void RelocationSites_NameFileAndLine(string compiler, string[] flags)
    {
        using var dir = new TempDir();
        string obj = Build(dir, "main.c", "main.o", compiler, flags);

        var table = Locate(obj, "table");
        var scale = Locate(obj, "scale_factor");

        AssertAt(table, "main.c", TableLine, "reference to table");
        AssertAt(scale, "scale.h", ScaleLine, "reference to scale_factor inlined from the header");
        // The header was found next to the source: its directory is recorded, so the name is a full path.
        Assert.AreEqual(dir["scale.h"], scale.File);
        Assert.IsTrue(table.File == dir["main.c"] || table.File == "main.c", table.File);
    }

    [TestMethod]
    [DataRow(Gcc, "-g")]
    [DataRow(Clang, "-g")]
    [DataRow(Gcc, "-gdwarf-4")]
    [DataRow(Clang, "-gdwarf-4")]
    public void RelocatableOfTwoObjects_EachUnitKeepsItsFile(string compiler, string debug)
    {
        using var dir = new TempDir();
        string main = Build(dir, "main.c", "main.o", compiler, "-O2", debug, "-fpic");
        string other = Build(dir, "other.c", "other.o", compiler, "-O2", debug, "-fpic");
        string combined = dir["combined.o"];
        RunChecked(Ld, "-r", main, other, "-o", combined);
        Assert.AreEqual(2, ReadElf("--debug-dump=rawline", combined).Split('\n').Count(l => l.Contains("Offset:", StringComparison.Ordinal)),
            "ld -r is expected to keep two line table units");

        AssertAt(Locate(combined, "table"), "main.c", TableLine, "first unit");
        AssertAt(Locate(combined, "scale_factor"), "scale.h", ScaleLine, "first unit, inlined");
        var otherSite = Locate(combined, "other_table");
        AssertAt(otherSite, "other.c", OtherLine, "second unit, placed after the first in .text");
    }

    /// <summary>Every byte of code in a linked file, against what llvm-addr2line says for the same address.</summary>
    [TestMethod]
    [DataRow(Gcc, Ld, "-g", "")]
    [DataRow(Gcc, Ld, "-gdwarf-4", "")]
    [DataRow(Clang, Lld, "-g", "")]
    [DataRow(Clang, Ld, "-gdwarf-4", "")]
    [DataRow(Clang, Lld, "-g", "--target=aarch64-linux-gnu")]
    [DataRow(Clang, Lld, "-g", "--target=riscv64-linux-gnu")]
    public void LinkedFile_AgreesWithAddr2line(string compiler, string linker, string debug, string target)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["start.c"], "int scale_factor = 3;\nvoid remember_table(void);\nint *other_address(void);\nint scaled_sum(int);\n" +
            "void _start(void) { remember_table(); other_address(); scaled_sum(2); }\n");
        string[] flags = target.Length == 0
            ? ["-O2", debug, "-fpic", "-fvisibility=hidden", "-ffreestanding"]
            : ["-O2", debug, "-fpic", "-fvisibility=hidden", "-ffreestanding", "-nostdinc", target];
        string[] objects =
        [
            Build(dir, "main.c", "main.o", compiler, flags),
            Build(dir, "other.c", "other.o", compiler, flags),
            Build(dir, "start.c", "start.o", compiler, flags),
        ];
        string linked = dir["linked.elf"];
        RunChecked(linker, ["-pie", "-e", "_start", .. objects, "-o", linked]);

        var elf = new ElfFile(File.ReadAllBytes(linked));
        var locator = SourceLocator.Build(elf);
        var text = elf.Sections.Single(s => elf.SectionName(s) == ".text");
        var addresses = Enumerable.Range(0, (int)text.Size).Select(i => text.Address + (ulong)i).ToList();
        var expected = RunChecked("llvm-addr2line-19", ["-e", linked, .. addresses.Select(a => $"0x{a:x}")]).StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(addresses.Count, expected);

        int compared = 0;
        var lines = new HashSet<string>();
        for (int i = 0; i < addresses.Count; i++)
        {
            string reference = expected[i].Split(" (discriminator")[0].Trim();
            var found = locator.Find((uint)text.Index, addresses[i]);
            if (reference.StartsWith("??", StringComparison.Ordinal)) continue;
            int colon = reference.LastIndexOf(':');
            string file = reference[..colon];
            int line = int.Parse(reference[(colon + 1)..], CultureInfo.InvariantCulture);
            Assert.IsNotNull(found, $"0x{addresses[i]:x}: llvm-addr2line says {reference}");
            Assert.AreEqual(Path.GetFileName(file), Path.GetFileName(found.File), $"0x{addresses[i]:x}");
            Assert.AreEqual(line, found.Line, $"0x{addresses[i]:x}: llvm-addr2line says {reference}, found {found}");
            lines.Add($"{Path.GetFileName(file)}:{line}");
            compared++;
        }
        Assert.IsGreaterThan(20, compared);
        CollectionAssert.IsSubsetOf(new[] { $"main.c:{TableLine}", $"scale.h:{ScaleLine}", $"other.c:{OtherLine}" }, lines.ToList());
    }

    /// <summary>Compressed debug sections (SHF_COMPRESSED, zlib): one function per line, each reference on its own line.</summary>
    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void CompressedLineTable_EveryFunctionOnItsLine(string compiler)
    {
        using var dir = new TempDir();
        const int Count = 200;
        var source = new System.Text.StringBuilder("int table[8];\n");
        for (int i = 0; i < Count; i++)
            source.Append(CultureInfo.InvariantCulture, $"int f{i}(int x) {{ return table[x & 7] + {i}; }}\n");
        File.WriteAllText(dir["many.c"], source.ToString());
        string obj = dir["many.o"];
        RunChecked(compiler, "-O2", "-g", "-gz=zlib", "-fpic", "-c", dir["many.c"], "-o", obj);

        var elf = new ElfFile(File.ReadAllBytes(obj));
        var debugLine = elf.Sections.Single(s => elf.SectionName(s) == ".debug_line");
        Assert.AreNotEqual(ElfSectionFlags.None, debugLine.Flags & ElfSectionFlags.Compressed, "the line table is expected to be compressed");
        var locator = SourceLocator.Build(elf);
        var functions = FunctionIndex.Build(elf);
        int checkedSites = 0;
        foreach (var section in elf.Sections.Where(s => s.Type == ElfSectionType.Rela && s.Info != 0 && elf.GetSection(s.Info).IsExecutable))
        {
            var relocations = elf.GetRelocations(section);
            for (int i = 0; i < relocations.Count; i++)
            {
                var r = relocations[i];
                var (function, _) = functions.Containing(section.Info, r.Offset);
                Assert.IsNotNull(function);
                var position = locator.Find(section.Info, r.Offset);
                Assert.IsNotNull(position, function);
                Assert.AreEqual("many.c", Path.GetFileName(position.File));
                Assert.AreEqual(int.Parse(function[1..], CultureInfo.InvariantCulture) + 2, position.Line, function);
                checkedSites++;
            }
        }
        Assert.IsGreaterThanOrEqualTo(Count, checkedSites);
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void ObjectWithoutLineTable_FallsBackToFileSymbol(string compiler)
    {
        using var dir = new TempDir();
        string obj = Build(dir, "main.c", "main.o", compiler, "-O2", "-g0", "-mcmodel=kernel", "-fno-pic");
        var elf = new ElfFile(File.ReadAllBytes(obj));
        Assert.IsFalse(SourceLocator.Build(elf).HasLineTable);

        var position = Locate(obj, "table");

        Assert.AreEqual("main.c", Path.GetFileName(position.File));
        Assert.AreEqual(0, position.Line);
    }

    [TestMethod]
    [DataRow(Gcc, Ld)]
    [DataRow(Clang, Lld)]
    public void LinkedFileWithoutLineTable_NamesTheFileOfTheLocalFunction(string compiler, string linker)
    {
        using var dir = new TempDir();
        foreach (var name in new[] { "first", "second" })
            File.WriteAllText(dir[name + ".c"],
                $"int {name}_table[4];\n" +
                $"static __attribute__((noinline)) int *{name}_local(int i) {{ return &{name}_table[i]; }}\n" +
                $"int *{name}_entry(int i) {{ return {name}_local(i) + {name}_local(i + 1)[0]; }}\n");
        string[] flags = ["-O2", "-g0", "-fpic", "-fvisibility=hidden", "-ffreestanding"];
        string first = Build(dir, "first.c", "first.o", compiler, flags);
        string second = Build(dir, "second.c", "second.o", compiler, flags);
        string linked = dir["linked.elf"];
        RunChecked(linker, "-pie", "-e", "first_entry", first, second, "-o", linked);

        var elf = new ElfFile(File.ReadAllBytes(linked));
        var symtab = elf.GetSymbolTable((uint)elf.Sections.Single(s => s.Type == ElfSectionType.SymbolTable).Index);
        ElfSymbol Symbol(string name) => Enumerable.Range(1, symtab.Count - 1).Select(i => symtab[(uint)i]).Single(s => symtab.Name(s) == name);
        var locator = SourceLocator.Build(elf);
        Assert.IsFalse(locator.HasLineTable);

        foreach (var name in new[] { "first", "second" })
        {
            var local = Symbol(name + "_local");
            Assert.AreEqual(ElfSymbolBinding.Local, local.Binding);
            var position = locator.Find(local.SectionIndex, local.Value + 1);
            Assert.IsNotNull(position, name);
            Assert.AreEqual(name + ".c", Path.GetFileName(position.File));
            Assert.AreEqual(0, position.Line);
        }
    }

    /// <summary>Random damage to .debug_line: never an exception, and a position (if any) is still well-formed.</summary>
    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void DamagedLineTable_NeverThrows(string compiler)
    {
        using var dir = new TempDir();
        string obj = Build(dir, "main.c", "main.o", compiler, "-O2", "-g", "-fpic");
        byte[] original = File.ReadAllBytes(obj);
        var elf = new ElfFile(original);
        var line = elf.Sections.Single(s => elf.SectionName(s) == ".debug_line");
        var site = RelocationSite(elf, "table");
        var random = new Random(1234);
        int withPosition = 0;
        for (int round = 0; round < 400; round++)
        {
            byte[] damaged = (byte[])original.Clone();
            int changes = 1 + random.Next(8);
            for (int c = 0; c < changes; c++)
                damaged[(int)line.Offset + random.Next((int)line.Size)] = (byte)random.Next(256);
            var damagedElf = new ElfFile(damaged);
            var position = SourceLocator.Build(damagedElf).Find(site.Section, site.Offset);
            if (position is null) continue;
            Assert.IsGreaterThanOrEqualTo(0, position.Line);
            withPosition++;
        }
        Assert.IsGreaterThan(0, withPosition);
    }

    /// <summary>Headers that claim more than the section holds: no position from the table, the file symbol instead.</summary>
    [TestMethod]
    // Each header breaks before offset 0x22, where the object's own relocations of .debug_line start.
    [DataRow(new byte[] { 5, 0, 8, 0, 30, 0, 0, 0, 1, 1, 1, 0xfb, 14, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20 },
        DisplayName = "v5 header, no directory formats and 2^40 directories")]
    [DataRow(new byte[] { 4, 0, 20, 0, 0, 0, 1, 1, 1, 0xfb, 0, 13 }, DisplayName = "v4 header with line_range 0")]
    [DataRow(new byte[] { 9, 0, 20, 0, 0, 0 }, DisplayName = "version 9")]
    [DataRow(new byte[] { 3, 0, 0xff, 0xff, 0xff, 0x7f }, DisplayName = "header_length past the unit")]
    public void CraftedHeader_GivesFileSymbolOnly(byte[] unit)
    {
        using var dir = new TempDir();
        string obj = Build(dir, "main.c", "main.o", Gcc, "-O2", "-g", "-fpic");
        byte[] bytes = File.ReadAllBytes(obj);
        var elf = new ElfFile(bytes);
        var line = elf.Sections.Single(s => elf.SectionName(s) == ".debug_line");
        var site = RelocationSite(elf, "table");

        var section = new byte[line.Size];
        BitConverter.GetBytes((uint)(line.Size - 4)).CopyTo(section, 0);
        unit.CopyTo(section, 4);
        section.CopyTo(bytes, (int)line.Offset);

        var damaged = new ElfFile(bytes);
        var locator = SourceLocator.Build(damaged);
        Assert.IsFalse(locator.HasLineTable);
        var position = locator.Find(site.Section, site.Offset);
        Assert.IsNotNull(position);
        Assert.AreEqual("main.c", Path.GetFileName(position.File));
        Assert.AreEqual(0, position.Line);
    }
}
