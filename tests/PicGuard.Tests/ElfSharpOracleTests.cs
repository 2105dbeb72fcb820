using ELFSharp.ELF;
using PicGuard.Elf;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// Our ELF reader against an independent one, ELFSharp 2.17.3: every section's name, type, flags, offset
/// and size, and every symbol's name, value, size, type, binding and section, on objects that
/// gcc and clang-19 make for both classes and both byte orders. (ELFSharp reads no relocations; the
/// readelf differential covers those.)
/// </summary>
[TestClass]
public sealed class ElfSharpOracleTests
{
    private const string Source = """
        int table[16];
        static int counter;
        extern int external_counter;
        int bump(void) { return ++counter + external_counter; }
        int *table_address(void) { return &table[3]; }
        const char *greeting(void) { return "hello"; }
        """;

    public static IEnumerable<object[]> Objects() =>
    [
        ["gcc", ""], ["clang-19", "x86_64-linux-gnu"], ["clang-19", "i386-linux-gnu"], ["clang-19", "aarch64-linux-gnu"],
        ["clang-19", "aarch64_be-linux-gnu"], ["clang-19", "riscv64-linux-gnu"], ["clang-19", "armv7a-linux-gnueabihf"],
        ["clang-19", "powerpc64-linux-gnu"], ["clang-19", "s390x-linux-gnu"],
    ];

    [TestMethod]
    [DynamicData(nameof(Objects))]
    public void SectionsAndSymbols_EqualElfSharps(string compiler, string target)
    {
        using var dir = new TempDir();
        string obj = target.Length == 0
            ? Compile(dir.Path, "o.c", Source, Gcc, "-O2", "-g", "-ffunction-sections")
            : CompileForTarget(dir.Path, "o.c", Source, target, "-O2", "-g", "-ffunction-sections");
        using var ours = new ElfFile(File.ReadAllBytes(obj));
        using var theirs = ELFReader.Load(obj);

        var theirSections = theirs.Sections.ToList();
        Assert.AreEqual(theirSections.Count, ours.Sections.Count, "section count");
        Assert.AreEqual(theirs.Endianess == ELFSharp.Endianess.BigEndian, ours.IsBigEndian);
        Assert.AreEqual(theirs.Class == Class.Bit64, ours.Is64Bit);
        int symbolTables = 0;
        for (int i = 0; i < theirSections.Count; i++)
        {
            dynamic their = theirSections[i];
            var our = ours.Sections[i];
            string where = $"{target} section [{i}] {(string)their.Name}";
            Assert.AreEqual((string)their.Name, ours.SectionName(our), where);
            Assert.AreEqual((uint)their.Type, (uint)our.Type, where);
            // ELFSharp's flags enum is signed: SHF_EXCLUDE (0x80000000, clang's .llvm_addrsig) reads negative.
            Assert.AreEqual(unchecked((uint)Convert.ToInt64(their.Flags)), unchecked((uint)(ulong)our.Flags), where);
            Assert.AreEqual(Convert.ToUInt64(their.Offset), our.Offset, where);
            Assert.AreEqual(Convert.ToUInt64(their.Size), our.Size, where);
            if (our.Type != ElfSectionType.SymbolTable) continue;

            symbolTables++;
            var table = ours.GetSymbolTable((uint)i);
            var entries = ((IEnumerable<dynamic>)their.Entries).ToList();
            Assert.AreEqual(entries.Count, table.Count, $"{where}: symbol count");
            for (int s = 0; s < entries.Count; s++)
            {
                dynamic e = entries[s];
                var symbol = table[(uint)s];
                string at = $"{where}: symbol {s} {(string)e.Name}";
                Assert.AreEqual((string)e.Name, table.Name(symbol), at);
                Assert.AreEqual(Convert.ToUInt64(e.Value), symbol.Value, at);
                Assert.AreEqual(Convert.ToUInt64(e.Size), symbol.Size, at);
                Assert.AreEqual((int)e.Type, (int)symbol.Type, at);
                Assert.AreEqual((int)e.Binding, (int)symbol.Binding, at);
                Assert.AreEqual(Convert.ToUInt64(e.PointedSectionIndex), (ulong)symbol.RawSectionIndex, at);
            }
        }
        Assert.AreEqual(1, symbolTables, "one symbol table compared");
    }
}
