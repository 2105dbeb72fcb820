using System.Globalization;
using PicGuard.Diagnostics;
using PicGuard.Elf;
using PicGuard.Relocations;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// The aarch64, riscv64, riscv32, i386 and x32 relocation tables against objects clang 19 and gcc 12 build
/// now, against binutils' and LLVM's names for every type number, and the overflow column against ld.lld.
/// </summary>
[TestClass]
public sealed class ArchitectureTests
{
    private static CheckResult Check(string path) => new Checker(CheckOptions.Default).CheckFile(path);

    /// <summary>Absolute addresses in code (position-dependent builds), an extern, and an address in data.</summary>
    private const string Program = """
        int table[16];
        extern int external_counter;
        int *table_address(void) { return &table[0]; }
        int table_at(long i) { return table[i]; }
        int read_external(void) { return external_counter; }
        int *pointer = &table[3];
        """;

    private const string HiddenProgram = "#pragma GCC visibility push(hidden)\n" + Program;

    private const string ThreadLocal = """
        __thread int tls_counter;
        int read_tls(void) { return tls_counter; }
        """;

    /// <summary>How one configuration is compiled: "gcc" plus flags, or clang with a --target.</summary>
    private static string Build(TempDir dir, string name, string source, string compiler, string target, string flags)
    {
        string[] args = ["-O2", .. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        if (compiler == Gcc)
        {
            string tag = string.Join("", flags.Where(char.IsLetterOrDigit));
            return Compile(dir.Path, $"{Path.GetFileNameWithoutExtension(name)}-{tag}.c", source, Gcc, ["-ffreestanding", "-nostdinc", .. args]);
        }
        return CompileForTarget(dir.Path, name, source, target, args);
    }

    private static string Describe(CheckResult result) => string.Join("\n", result.Diagnostics.Select(d => d.Format()));

    // ---- position-dependent code: PG0001 with type and function ------------------------------------

    [TestMethod]
    [DataRow(Clang, "aarch64-linux-gnu", "-mcmodel=large -fno-pic", "R_AARCH64_MOVW_UABS_G0_NC,R_AARCH64_MOVW_UABS_G1_NC,R_AARCH64_MOVW_UABS_G2_NC,R_AARCH64_MOVW_UABS_G3")]
    [DataRow(Clang, "riscv64-linux-gnu", "-mcmodel=medlow -fno-pic", "R_RISCV_HI20")]
    [DataRow(Clang, "riscv32-unknown-elf", "-mcmodel=medlow -fno-pic", "R_RISCV_HI20")]
    [DataRow(Clang, "i386-linux-gnu", "-fno-pic", "R_386_32")]
    [DataRow(Gcc, "", "-m32 -fno-pic", "R_386_32")]
    [DataRow(Gcc, "", "-mx32 -fno-pic", "R_X86_64_32")]
    public void PositionDependentCode_IsPG0001_WithTypeAndFunction(string compiler, string target, string flags, string absoluteTypes)
    {
        using var dir = new TempDir();
        string obj = Build(dir, "program.c", Program, compiler, target, flags);
        var types = absoluteTypes.Split(',');

        var result = Check(obj);

        var expected = ReadElfRelocations(obj).Where(r => r.Section is ".rela.text" or ".rel.text" && types.Contains(r.TypeName)).ToList();
        Assert.IsGreaterThan(0, expected.Count, $"the compiler is expected to emit {absoluteTypes} in .text");
        // Identical findings collapse into one with a count; expand them to compare with readelf one by one.
        var found = result.Diagnostics.Where(d => d.Code == "PG0001").SelectMany(d => Enumerable.Repeat(d, d.Occurrences)).ToList();
        Assert.HasCount(expected.Count, found, Describe(result));
        CollectionAssert.AreEquivalent(expected.Select(r => r.TypeName).ToList(), found.Select(d => d.RelocationType).ToList());
        foreach (var function in new[] { "table_address", "table_at" })
        {
            var d = found.First(x => x.Context.Any(c => c.StartsWith($"referenced by {function}+0x", StringComparison.Ordinal)));
            Assert.AreEqual("'table'", d.Target);
            Assert.AreEqual(".text", d.Location!.Section);
            CollectionAssert.Contains(types, d.RelocationType);
        }
        CollectionAssert.AreEquivalent(expected.Select(r => $"'{r.Symbol}'").ToList(), found.Select(d => d.Target).ToList());
        // The paired low parts (riscv LO12_I) are in the object but never reported.
        var lowParts = ReadElfRelocations(obj).Where(r => r.TypeName.Contains("LO12")).ToList();
        if (target.StartsWith("riscv", StringComparison.Ordinal)) Assert.IsNotEmpty(lowParts);
        Assert.IsFalse(result.Diagnostics.Any(d => d.RelocationType is { } t && t.Contains("LO12")), Describe(result));
        Assert.IsFalse(result.Diagnostics.Any(d => d.Code == "PG0002"), Describe(result));
    }

    [TestMethod]
    [DataRow(Clang, "aarch64-linux-gnu", "-fno-pic", "R_AARCH64_ABS64")]
    [DataRow(Clang, "aarch64-linux-gnu", "-fpic -fvisibility=hidden", "R_AARCH64_ABS64")]
    [DataRow(Clang, "riscv64-linux-gnu", "-fno-pic", "R_RISCV_64")]
    [DataRow(Clang, "riscv64-linux-gnu", "-fpic -fvisibility=hidden", "R_RISCV_64")]
    [DataRow(Clang, "riscv32-unknown-elf", "-fno-pic", "R_RISCV_32")]
    [DataRow(Clang, "i386-linux-gnu", "-fno-pic", "R_386_32")]
    [DataRow(Gcc, "", "-m32 -fno-pic", "R_386_32")]
    [DataRow(Gcc, "", "-mx32 -fno-pic", "R_X86_64_32")]
    [DataRow(Gcc, "", "-fno-pic", "R_X86_64_64")]
    [DataRow(Clang, "x86_64-linux-gnu", "-fpic -fvisibility=hidden", "R_X86_64_64")]
    public void PointerInitialisedWithAddress_IsThePointerType(string compiler, string target, string flags, string pointerType)
    {
        using var dir = new TempDir();
        string obj = Build(dir, "program.c", Program, compiler, target, flags);
        var elf = new ElfFile(File.ReadAllBytes(obj));
        var table = RelocationTable.For(elf.Machine, elf.Is64Bit);
        Assert.IsNotNull(table);

        // .data, .data.rel.local, or .sdata (riscv small data)
        var inData = ReadElfRelocations(obj).Single(r => r.Symbol == "table" && r.Section is not (".rela.text" or ".rel.text"));

        Assert.AreEqual(pointerType, inData.TypeName);
        Assert.AreEqual(pointerType, table.PointerType.Name);
        Assert.AreEqual(inData.Type, table.PointerType.Number);
        Assert.AreEqual(RelocationKind.Absolute, table.PointerType.Kind);
        // In a data section the pointer is the loader's business, not PG0001's.
        Assert.IsFalse(Check(obj).Diagnostics.Any(d => d.Code == "PG0001" && d.Location!.Section.StartsWith(".data", StringComparison.Ordinal)));
    }

    // ---- GOT: PG0002 ---------------------------------------------------------------------------------

    [TestMethod]
    [DataRow(Clang, "aarch64-linux-gnu", "R_AARCH64_ADR_GOT_PAGE", "R_AARCH64_LD64_GOT_LO12_NC")]
    [DataRow(Clang, "riscv64-linux-gnu", "R_RISCV_GOT_HI20", "R_RISCV_PCREL_LO12_I")]
    [DataRow(Clang, "riscv32-unknown-elf", "R_RISCV_GOT_HI20", "R_RISCV_PCREL_LO12_I")]
    [DataRow(Clang, "i386-linux-gnu", "R_386_GOT32X", "R_386_GOTPC")]
    [DataRow(Gcc, "", "R_386_GOT32X", "R_386_GOTPC")]
    public void ExternDeclarationUnderFpic_IsPG0002_Once(string compiler, string target, string gotType, string companionType)
    {
        using var dir = new TempDir();
        string flags = compiler == Gcc ? "-m32 -fpic -fvisibility=hidden" : "-fpic -fvisibility=hidden";
        string obj = Build(dir, "ext.c", Sources.ExternVariable, compiler, target, flags);
        Assert.IsTrue(ReadElfRelocations(obj).Any(r => r.TypeName == companionType), $"{companionType} expected next to {gotType}");

        var result = Check(obj);

        var d = result.Diagnostics.Single(x => x.Code is "PG0001" or "PG0002");
        Assert.AreEqual("PG0002", d.Code, Describe(result));
        Assert.AreEqual(gotType, d.RelocationType);
        Assert.AreEqual("'external_counter'", d.Target);
        Assert.AreEqual("read_external", d.Location!.Function);
        Assert.AreEqual(".text", d.Location.Section);
    }

    // ---- position-independent builds: no false positives ---------------------------------------------

    [TestMethod]
    [DataRow(Clang, "aarch64-linux-gnu", "-fpic -fvisibility=hidden", "R_AARCH64_ADR_PREL_PG_HI21,R_AARCH64_ADD_ABS_LO12_NC,R_AARCH64_LDST32_ABS_LO12_NC")]
    [DataRow(Clang, "aarch64-linux-gnu", "-fno-pic", "R_AARCH64_ADR_PREL_PG_HI21,R_AARCH64_ADD_ABS_LO12_NC,R_AARCH64_LDST32_ABS_LO12_NC")]
    [DataRow(Clang, "aarch64-linux-gnu", "-fpie", "R_AARCH64_ADR_PREL_PG_HI21,R_AARCH64_ADD_ABS_LO12_NC,R_AARCH64_LDST32_ABS_LO12_NC")]
    [DataRow(Clang, "riscv64-linux-gnu", "-fpic -fvisibility=hidden", "R_RISCV_PCREL_HI20,R_RISCV_PCREL_LO12_I,R_RISCV_RELAX")]
    [DataRow(Clang, "riscv64-linux-gnu", "-mcmodel=medany -fno-pic", "R_RISCV_PCREL_HI20,R_RISCV_PCREL_LO12_I,R_RISCV_RELAX")]
    [DataRow(Clang, "riscv32-unknown-elf", "-fpic -fvisibility=hidden", "R_RISCV_PCREL_HI20,R_RISCV_PCREL_LO12_I")]
    [DataRow(Clang, "i386-linux-gnu", "-fpic -fvisibility=hidden", "R_386_GOTPC,R_386_GOTOFF")]
    [DataRow(Gcc, "", "-m32 -fpic -fvisibility=hidden", "R_386_GOTPC,R_386_GOTOFF")]
    [DataRow(Gcc, "", "-mx32 -fpic -fvisibility=hidden", "R_X86_64_PC32")]
    public void HiddenPositionIndependentBuild_HasNoPG0001OrPG0002(string compiler, string target, string flags, string pairedTypes)
    {
        using var dir = new TempDir();
        string obj = Build(dir, "program.c", HiddenProgram, compiler, target, flags);
        var inText = ReadElfRelocations(obj).Where(r => r.Section is ".rela.text" or ".rel.text").Select(r => r.TypeName).ToHashSet();
        foreach (var type in pairedTypes.Split(','))
            Assert.Contains(type, inText, $"the compiler is expected to emit {type} in .text");

        var result = Check(obj);

        Assert.IsFalse(result.Diagnostics.Any(d => d.Code is "PG0001" or "PG0002"), Describe(result));
        Assert.IsGreaterThan(0L, result.Relocations);
    }

    // ---- every type the tools print is a known row with the same name ---------------------------------

    [TestMethod]
    [DataRow(Clang, "aarch64-linux-gnu")]
    [DataRow(Clang, "riscv64-linux-gnu")]
    [DataRow(Clang, "riscv32-unknown-elf")]
    [DataRow(Clang, "i386-linux-gnu")]
    [DataRow(Clang, "x86_64-linux-gnu")]
    [DataRow(Gcc, "-m32")]
    [DataRow(Gcc, "-mx32")]
    [DataRow(Gcc, "-m64")]
    public void EveryTypeReadelfPrints_IsAKnownRowWithTheSameName(string compiler, string target)
    {
        using var dir = new TempDir();
        string[] flagSets = target.StartsWith("riscv", StringComparison.Ordinal)
            ? ["-mcmodel=medlow -fno-pic", "-mcmodel=medany -fno-pic", "-fpic", "-fpic -fvisibility=hidden", "-fpic -mtls-dialect=desc"]
            : ["-mcmodel=large -fno-pic", "-fno-pic", "-fpic", "-fpic -fvisibility=hidden", "-fpic -mtls-dialect=desc"];
        if (compiler == Gcc) flagSets = flagSets.Where(f => !f.Contains("mcmodel=large") && !f.Contains("tls-dialect") || target == "-m64").ToArray();
        if (target == "i386-linux-gnu") flagSets = flagSets.Where(f => !f.Contains("mcmodel")).ToArray();
        var seen = new HashSet<string>();
        int objects = 0;
        foreach (var (source, n) in new[] { (Program, "program.c"), (HiddenProgram, "hidden.c"), (ThreadLocal, "tls.c") })
        {
            foreach (var flags in flagSets)
            {
                string all = compiler == Gcc ? target + " " + flags : flags;
                string name = $"{Path.GetFileNameWithoutExtension(n)}{objects}.c";
                string obj;
                try { obj = Build(dir, name, source, compiler, target, all); }
                catch (InvalidOperationException) when (flags.Contains("tls-dialect")) { continue; }   // not every target has TLS descriptors
                objects++;
                var elf = new ElfFile(File.ReadAllBytes(obj));
                var table = RelocationTable.For(elf.Machine, elf.Is64Bit);
                Assert.IsNotNull(table, $"{obj}: no table for {elf.Machine}");
                var gnu = ReadElfRelocations(obj);
                var llvm = ReadElfRelocations(obj, "llvm-readelf-19");
                Assert.HasCount(gnu.Count, llvm);
                for (int i = 0; i < gnu.Count; i++)
                {
                    var r = gnu[i];
                    Assert.AreEqual(r.Type, llvm[i].Type);
                    // binutils 2.40 predates some types (riscv TLSDESC): LLVM names them then.
                    string typeName = r.TypeName != "" ? r.TypeName : llvm[i].TypeName;
                    var row = table[r.Type];
                    Assert.IsTrue(row.IsKnown, $"{obj}: {typeName} ({r.Type}) is not in the {table.Name} table");
                    Assert.AreEqual(typeName, row.Name, $"{obj}: type {r.Type}");
                    seen.Add(typeName);
                }
                Assert.AreEqual((long)ReadElfRelocations(obj).Count, Check(obj).Relocations, obj);
            }
        }
        Assert.IsGreaterThan(3, seen.Count, string.Join(", ", seen));
        Assert.IsTrue(seen.Any(t => t.Contains("TLS") || t.Contains("TPOFF") || t.Contains("TPREL")), string.Join(", ", seen));
    }

    /// <summary>
    /// A number a table has no row for is an unknown row named as readelf would not: the table's prefix and the number,
    /// inside the table and past its end, the same row each time it is asked for; the tables are each built once.
    /// </summary>
    [TestMethod]
    public void UnknownTypes_AreNamedByNumber_AndTablesAreBuiltOnce()
    {
        foreach (var table in RelocationTable.All)
        {
            uint unused = Enumerable.Range(0, 256).Select(n => (uint)n).First(n => !table[n].IsKnown && n != 0);
            foreach (uint n in (uint[])[unused, 70_000])
            {
                var row = table[n];
                Assert.IsFalse(row.IsKnown);
                Assert.AreEqual(RelocationKind.Unknown, row.Kind);
                Assert.AreEqual($"{table.Prefix}<unknown:{n}>", row.Name, table.Name);
                Assert.AreEqual(row, table[n]);
            }
            Assert.AreSame(table, RelocationTable.For(table.Machine, table.Is64Bit), table.Name);
        }
        var first = RelocationTable.X86_64;
        Assert.AreSame(first, RelocationTable.All[0]);
    }

    /// <summary>
    /// Writes one relocatable object per table with one relocation of every type number up to the table's
    /// largest and compares every name with GNU readelf's, or llvm-readelf's where binutils 2.40 predates the type.
    /// </summary>
    [TestMethod]
    [DataRow("x86-64")]
    [DataRow("x32")]
    [DataRow("i386")]
    [DataRow("aarch64")]
    [DataRow("riscv64")]
    [DataRow("riscv32")]
    public void EveryRowName_MatchesBinutilsOrLlvm(string tableName)
    {
        var table = RelocationTable.All.Single(t => t.Name == tableName);
        uint max = table.Types.Max(t => t.Number);
        using var dir = new TempDir();
        string obj = dir["all.o"];
        File.WriteAllBytes(obj, RelocatableWithEveryType(table.Machine, table.Is64Bit, max));
        var gnu = ReadElfRelocations(obj).Where(r => r.TypeName != "").ToDictionary(r => r.Type, r => r.TypeName);
        var llvm = ReadElfRelocations(obj, "llvm-readelf-19").Where(r => r.TypeName != "").ToDictionary(r => r.Type, r => r.TypeName);

        int byGnu = 0, byLlvm = 0;
        var onlyInPsAbi = new List<string>();
        foreach (var row in table.Types)
        {
            if (gnu.TryGetValue(row.Number, out var g)) { Assert.AreEqual(g, row.Name, $"type {row.Number}"); byGnu++; }
            else if (llvm.TryGetValue(row.Number, out var l)) { Assert.AreEqual(l, row.Name, $"type {row.Number}"); byLlvm++; }
            else onlyInPsAbi.Add(row.Name);
        }
        // Types binutils knows that the table lacks: only the ILP32 numbering and withdrawn numbers.
        var missing = gnu.Where(p => !table[p.Key].IsKnown).Select(p => p.Value)
            .Where(n => !n.StartsWith("R_AARCH64_P32_", StringComparison.Ordinal)
                && n is not ("R_RISCV_GPREL_I" or "R_RISCV_GPREL_S" or "R_RISCV_TPREL_I" or "R_RISCV_TPREL_S" or "R_386_USED_BY_INTEL_200"))
            .ToList();
        Assert.IsEmpty(missing, string.Join(", ", missing));
        Assert.IsGreaterThan(table.Types.Count() * 3 / 4, byGnu);
        // Newer than both tools (x86-64 APX CODE_5/6, riscv VENDOR): few and named in the psABI.
        Assert.IsLessThanOrEqualTo(10, onlyInPsAbi.Count, string.Join(", ", onlyInPsAbi));
        _ = byLlvm;
    }

    /// <summary>
    /// The tables named after llvm-readelf (arm, loongarch, ppc64, s390x): every row's name is llvm-readelf-19's for its
    /// number, or GNU readelf's where LLVM prints none; where both name a number differently LLVM's name is kept, and
    /// those numbers are exactly the ones listed (no compiler emits them).
    /// </summary>
    [TestMethod]
    [DataRow("arm", "32,33,34,35,36,37,129,135")]
    [DataRow("loongarch64", "")]
    [DataRow("loongarch32", "")]
    [DataRow("ppc64", "")]
    [DataRow("s390x", "13")]
    public void EveryRowName_OfTheLlvmNamedTables_MatchesLlvmOrBinutils(string tableName, string differFromGnu)
    {
        var table = RelocationTable.All.Single(t => t.Name == tableName);
        uint max = table.Types.Max(t => t.Number);
        using var dir = new TempDir();
        string obj = dir["all.o"];
        File.WriteAllBytes(obj, RelocatableWithEveryType(table.Machine, table.Is64Bit, max));
        var gnu = ReadElfRelocations(obj).Where(r => r.TypeName != "").ToDictionary(r => r.Type, r => r.TypeName);
        var llvm = ReadElfRelocations(obj, "llvm-readelf-19").Where(r => r.TypeName != "").ToDictionary(r => r.Type, r => r.TypeName);
        Assert.IsGreaterThan(40, llvm.Count, "llvm-readelf must name this machine's types");

        var differ = new List<uint>();
        foreach (var row in table.Types)
        {
            if (llvm.TryGetValue(row.Number, out var l)) Assert.AreEqual(l, row.Name, $"type {row.Number}");
            else Assert.IsTrue(gnu.TryGetValue(row.Number, out var g) && g == row.Name, $"type {row.Number} {row.Name}: neither readelf names it so");
            if (gnu.TryGetValue(row.Number, out var gnuName) && gnuName != row.Name) differ.Add(row.Number);
        }
        Assert.AreEqual(differFromGnu, string.Join(",", differ));
        // Every type llvm-readelf names is in the table, but for ARM's private range (R_ARM_PRIVATE_0..15).
        var missing = llvm.Where(p => !table[p.Key].IsKnown && !p.Value.StartsWith("R_ARM_PRIVATE_", StringComparison.Ordinal)).Select(p => p.Value).ToList();
        Assert.IsEmpty(missing, string.Join(", ", missing));
    }

    /// <summary>The types each new table must classify for the rules to mean anything, with the kind they have.</summary>
    [TestMethod]
    [DataRow("arm", "ABS32=Absolute MOVW_ABS_NC=Absolute MOVT_ABS=Absolute THM_MOVW_ABS_NC=Absolute THM_MOVT_ABS=Absolute REL32=PcRelative PREL31=PcRelative CALL=PltCall JUMP24=PltCall THM_CALL=PltCall THM_JUMP24=PltCall GOT_BREL=Got GOT_PREL=Got TARGET2=Got GOTOFF32=LabelDifference BASE_PREL=PcRelative TLS_LE32=Tls RELATIVE=Absolute GLOB_DAT=Dynamic V4BX=Marker")]
    [DataRow("loongarch64", "64=Absolute 32=Absolute MARK_LA=Marker ABS_HI20=Absolute ABS_LO12=LowPart PCALA_HI20=PcRelative PCALA_LO12=LowPart GOT_PC_HI20=Got GOT_PC_LO12=LowPart B26=PltCall CALL36=PltCall 32_PCREL=PcRelative ADD32=LabelDifference SUB32=LabelDifference RELAX=Marker ALIGN=Marker TLS_LE_HI20=Tls RELATIVE=Absolute")]
    [DataRow("ppc64", "ADDR64=Absolute ADDR32=Absolute ADDR16_HA=Absolute ADDR16_LO=LowPart REL24=PltCall REL24_NOTOC=PltCall REL32=PcRelative REL64=PcRelative TOC16_HA=LabelDifference TOC16_LO=LabelDifference TOC16_LO_DS=LabelDifference GOT16_DS=Got GOT_PCREL34=Got PCREL34=PcRelative TPREL16_HA=Tls RELATIVE=Absolute JMP_SLOT=Dynamic TOC=Absolute")]
    [DataRow("s390x", "64=Absolute 32=Absolute PC32=PcRelative PC32DBL=PcRelative PLT32DBL=PltCall GOTENT=Got GOT32=Got GOTOFF64=LabelDifference TLS_LE64=Tls RELATIVE=Absolute GLOB_DAT=Dynamic")]
    public void NewTables_ClassifyTheTypesCompilersEmit(string tableName, string expected)
    {
        var table = RelocationTable.All.Single(t => t.Name == tableName);
        foreach (var pair in expected.Split(' '))
        {
            var (name, kind) = (table.Prefix + pair.Split('=')[0], Enum.Parse<RelocationKind>(pair.Split('=')[1]));
            var row = table.Types.SingleOrDefault(r => r.Name == name);
            Assert.IsTrue(row.IsKnown, $"{name} is not in the {tableName} table");
            Assert.AreEqual(kind, row.Kind, name);
        }
        Assert.AreEqual(RelocationKind.Absolute, table.PointerType.Kind);
    }

    [TestMethod]
    public void For_PicksTheNewTablesByMachineAndClass()
    {
        Assert.AreSame(RelocationTable.Arm, RelocationTable.For(ElfMachine.Arm, false));
        Assert.IsNull(RelocationTable.For(ElfMachine.Arm, true));
        Assert.AreSame(RelocationTable.Arm, RelocationTable.For(ElfMachine.Arm), "arm's usual class is ELFCLASS32");
        Assert.AreSame(RelocationTable.LoongArch64, RelocationTable.For(ElfMachine.LoongArch, true));
        Assert.AreSame(RelocationTable.LoongArch32, RelocationTable.For(ElfMachine.LoongArch, false));
        Assert.AreSame(RelocationTable.PowerPC64, RelocationTable.For(ElfMachine.PowerPC64, true));
        Assert.IsNull(RelocationTable.For(ElfMachine.PowerPC64, false));
        Assert.AreSame(RelocationTable.S390x, RelocationTable.For(ElfMachine.S390, true));
        Assert.IsNull(RelocationTable.For(ElfMachine.S390, false), "31-bit s390 has no table");
        Assert.AreEqual("R_ARM_ABS32", RelocationTable.Arm.PointerType.Name);
        Assert.AreEqual("R_LARCH_64", RelocationTable.LoongArch64.PointerType.Name);
        Assert.AreEqual("R_LARCH_32", RelocationTable.LoongArch32.PointerType.Name);
        Assert.AreEqual("R_PPC64_ADDR64", RelocationTable.PowerPC64.PointerType.Name);
        Assert.AreEqual("R_390_64", RelocationTable.S390x.PointerType.Name);
    }

    [TestMethod]
    public void MachineWithoutTable_PG9002_NamesTheMachineAndClass()
    {
        using var dir = new TempDir();
        string obj = CompileForTarget(dir.Path, "m.c", Sources.GlobalTable, "mips-linux-gnu", "-O2");

        var d = Check(obj).Diagnostics.Single(x => x.Code == "PG9002");

        StringAssert.Contains(d.Message, "MIPS (EM_MIPS = 8), ELFCLASS32, has no relocation table");
        Assert.IsFalse(d.Message.Contains("(8)", StringComparison.Ordinal), d.Message);
    }

    // ---- overflow column ------------------------------------------------------------------------------

    [TestMethod]
    public void Fits_X86_64_Boundaries()
    {
        var t = RelocationTable.X86_64;
        var r32 = t[10]; var r32s = t[11]; var pc32 = t[2]; var plt32 = t[4]; var r64 = t[1]; var r16 = t[12]; var pc8 = t[15];
        Assert.AreEqual((RelocationOverflow.Unsigned, (byte)32), (r32.Overflow, r32.FieldBits));
        Assert.IsTrue(r32.Fits(0)); Assert.IsTrue(r32.Fits(uint.MaxValue));
        Assert.IsFalse(r32.Fits(-1)); Assert.IsFalse(r32.Fits(1L << 32));
        Assert.AreEqual((RelocationOverflow.Signed, (byte)32), (r32s.Overflow, r32s.FieldBits));
        Assert.IsTrue(r32s.Fits(int.MinValue)); Assert.IsTrue(r32s.Fits(int.MaxValue));
        Assert.IsFalse(r32s.Fits(int.MaxValue + 1L)); Assert.IsFalse(r32s.Fits(int.MinValue - 1L));
        foreach (var pc in new[] { pc32, plt32, t[9], t[42] })
        {
            Assert.IsTrue(pc.Fits(int.MinValue), pc.Name); Assert.IsTrue(pc.Fits(int.MaxValue), pc.Name);
            Assert.IsFalse(pc.Fits(int.MaxValue + 1L), pc.Name); Assert.IsFalse(pc.Fits(int.MinValue - 1L), pc.Name);
        }
        Assert.AreEqual(RelocationOverflow.None, r64.Overflow);
        Assert.IsTrue(r64.Fits(long.MinValue)); Assert.IsTrue(r64.Fits(long.MaxValue));
        Assert.AreEqual((RelocationOverflow.SignedOrUnsigned, (byte)16), (r16.Overflow, r16.FieldBits));
        Assert.IsTrue(r16.Fits(-32768)); Assert.IsTrue(r16.Fits(65535));
        Assert.IsFalse(r16.Fits(-32769)); Assert.IsFalse(r16.Fits(65536));
        Assert.IsTrue(pc8.Fits(-128)); Assert.IsTrue(pc8.Fits(127)); Assert.IsFalse(pc8.Fits(128)); Assert.IsFalse(pc8.Fits(-129));
        Assert.AreEqual(((Int128)int.MinValue, (Int128)int.MaxValue), r32s.Range);
        Assert.AreEqual(((Int128)0, (Int128)uint.MaxValue), r32.Range);
        Assert.IsNull(r64.Range);
        Assert.IsTrue(RelocationTable.X86_64[9999].Fits(long.MaxValue), "unknown rows have no check");
    }

    [TestMethod]
    public void Fits_AArch64_Boundaries()
    {
        var t = RelocationTable.AArch64;
        RelocationType Row(string name) => t.Types.Single(r => r.Name == "R_AARCH64_" + name);
        foreach (var branch in new[] { Row("CALL26"), Row("JUMP26") })
        {
            Assert.AreEqual((RelocationOverflow.Signed, (byte)28), (branch.Overflow, branch.FieldBits));
            Assert.IsTrue(branch.Fits(-(1L << 27))); Assert.IsTrue(branch.Fits((1L << 27) - 4));
            Assert.IsFalse(branch.Fits(1L << 27)); Assert.IsFalse(branch.Fits(-(1L << 27) - 4));
        }
        var page = Row("ADR_PREL_PG_HI21");
        Assert.AreEqual((RelocationOverflow.Signed, (byte)33), (page.Overflow, page.FieldBits));
        Assert.IsTrue(page.Fits(-(1L << 32))); Assert.IsTrue(page.Fits((1L << 32) - 4096));
        Assert.IsFalse(page.Fits(1L << 32)); Assert.IsFalse(page.Fits(-(1L << 32) - 4096));
        Assert.IsTrue(Row("ADR_PREL_PG_HI21_NC").Fits(1L << 40));
        Assert.IsTrue(Row("ADR_GOT_PAGE").Fits((1L << 32) - 4096)); Assert.IsFalse(Row("ADR_GOT_PAGE").Fits(1L << 32));
        var g0 = Row("MOVW_UABS_G0");
        Assert.IsTrue(g0.Fits(0xffff)); Assert.IsFalse(g0.Fits(0x10000)); Assert.IsFalse(g0.Fits(-1));
        Assert.IsTrue(Row("MOVW_UABS_G0_NC").Fits(0x10000));
        Assert.IsTrue(Row("MOVW_UABS_G1").Fits(uint.MaxValue)); Assert.IsFalse(Row("MOVW_UABS_G1").Fits(1L << 32));
        Assert.IsTrue(Row("MOVW_UABS_G2").Fits((1L << 48) - 1)); Assert.IsFalse(Row("MOVW_UABS_G2").Fits(1L << 48));
        Assert.IsTrue(Row("MOVW_UABS_G3").Fits(long.MinValue));
        var sabs = Row("MOVW_SABS_G0");
        Assert.IsTrue(sabs.Fits(-0x10000)); Assert.IsTrue(sabs.Fits(0xffff)); Assert.IsFalse(sabs.Fits(0x10000)); Assert.IsFalse(sabs.Fits(-0x10001));
        var abs32 = Row("ABS32");
        Assert.IsTrue(abs32.Fits(int.MinValue)); Assert.IsTrue(abs32.Fits(uint.MaxValue));
        Assert.IsFalse(abs32.Fits(int.MinValue - 1L)); Assert.IsFalse(abs32.Fits(1L << 32));
        Assert.IsTrue(Row("ABS64").Fits(long.MaxValue));
        var lo19 = Row("LD_PREL_LO19");
        Assert.IsTrue(lo19.Fits((1L << 20) - 4)); Assert.IsFalse(lo19.Fits(1L << 20)); Assert.IsTrue(lo19.Fits(-(1L << 20)));
        var tbz = Row("TSTBR14");
        Assert.IsTrue(tbz.Fits(32764)); Assert.IsFalse(tbz.Fits(32768)); Assert.IsTrue(tbz.Fits(-32768)); Assert.IsFalse(tbz.Fits(-32772));
        Assert.IsTrue(Row("ADD_ABS_LO12_NC").Fits(long.MaxValue), "low parts are never range-checked");
    }

    [TestMethod]
    public void Fits_RiscV_Boundaries()
    {
        RelocationType Row(RelocationTable t, string name) => t.Types.Single(r => r.Name == "R_RISCV_" + name);
        var r64 = RelocationTable.RiscV64;
        foreach (var name in new[] { "HI20", "PCREL_HI20", "GOT_HI20", "CALL", "CALL_PLT" })
        {
            var hi = Row(r64, name);
            Assert.AreEqual((RelocationOverflow.Signed, (byte)32, (short)0x800), (hi.Overflow, hi.FieldBits, hi.RangeBias), name);
            Assert.IsTrue(hi.Fits(0x7ffff7ff), name); Assert.IsFalse(hi.Fits(0x7ffff800), name);
            Assert.IsTrue(hi.Fits(-0x80000800L), name); Assert.IsFalse(hi.Fits(-0x80000801L), name);
            Assert.AreEqual((Int128)0x7ffff7ff, hi.Range!.Value.Max, name);
        }
        var branch = Row(r64, "BRANCH");
        Assert.IsTrue(branch.Fits(4094)); Assert.IsFalse(branch.Fits(4096)); Assert.IsTrue(branch.Fits(-4096)); Assert.IsFalse(branch.Fits(-4098));
        var jal = Row(r64, "JAL");
        Assert.IsTrue(jal.Fits((1 << 20) - 2)); Assert.IsFalse(jal.Fits(1 << 20)); Assert.IsTrue(jal.Fits(-(1 << 20)));
        var cj = Row(r64, "RVC_JUMP");
        Assert.IsTrue(cj.Fits(2046)); Assert.IsFalse(cj.Fits(2048)); Assert.IsTrue(cj.Fits(-2048));
        Assert.IsTrue(Row(r64, "64").Fits(long.MinValue));
        Assert.IsTrue(Row(r64, "32").Fits(uint.MaxValue)); Assert.IsFalse(Row(r64, "32").Fits(1L << 32));
        foreach (var name in new[] { "LO12_I", "LO12_S", "PCREL_LO12_I", "ADD32", "SUB64", "SET8" })
            Assert.IsTrue(Row(r64, name).Fits(long.MaxValue), name);
        // RV32: lui/auipc reach every 32-bit address.
        var rv32 = RelocationTable.RiscV32;
        Assert.AreEqual(RelocationOverflow.None, Row(rv32, "HI20").Overflow);
        Assert.IsTrue(Row(rv32, "HI20").Fits(0xfffff800)); Assert.IsTrue(Row(rv32, "PCREL_HI20").Fits(-0xfffff000L));
        Assert.IsFalse(Row(rv32, "BRANCH").Fits(4096), "short branches are range-checked on rv32 too");
    }

    /// <summary>
    /// The overflow column agrees with ld.lld-19: one relocation against an absolute symbol placed just inside
    /// and just outside the range links, or fails with "relocation ... out of range", exactly when Fits says so.
    /// </summary>
    [TestMethod]
    [DataRow("x86_64-linux-gnu", "movl $target, %eax", "R_X86_64_32", 0xffffffffL)]
    [DataRow("x86_64-linux-gnu", "movl $target, %eax", "R_X86_64_32", 0x100000000L)]
    [DataRow("x86_64-linux-gnu", "movq $target, %rax", "R_X86_64_32S", 0x7fffffffL)]
    [DataRow("x86_64-linux-gnu", "movq $target, %rax", "R_X86_64_32S", 0x80000000L)]
    [DataRow("x86_64-linux-gnu", "movq $target, %rax", "R_X86_64_32S", -0x80000000L)]
    [DataRow("x86_64-linux-gnu", "movq $target, %rax", "R_X86_64_32S", -0x80000001L)]
    [DataRow("x86_64-linux-gnu", ".short target", "R_X86_64_16", 0xffffL)]
    [DataRow("x86_64-linux-gnu", ".short target", "R_X86_64_16", 0x10000L)]
    [DataRow("riscv64-linux-gnu", "lui a0, %hi(target)", "R_RISCV_HI20", 0x7ffff7ffL)]
    [DataRow("riscv64-linux-gnu", "lui a0, %hi(target)", "R_RISCV_HI20", 0x7ffff800L)]
    [DataRow("riscv64-linux-gnu", "lui a0, %hi(target)", "R_RISCV_HI20", -0x80000800L)]
    [DataRow("riscv64-linux-gnu", "lui a0, %hi(target)", "R_RISCV_HI20", -0x80000801L)]
    [DataRow("aarch64-linux-gnu", "movz x0, #:abs_g0:target", "R_AARCH64_MOVW_UABS_G0", 0xffffL)]
    [DataRow("aarch64-linux-gnu", "movz x0, #:abs_g0:target", "R_AARCH64_MOVW_UABS_G0", 0x10000L)]
    [DataRow("aarch64-linux-gnu", "movz x0, #:abs_g1:target", "R_AARCH64_MOVW_UABS_G1", 0xffffffffL)]
    [DataRow("aarch64-linux-gnu", "movz x0, #:abs_g1:target", "R_AARCH64_MOVW_UABS_G1", 0x100000000L)]
    [DataRow("aarch64-linux-gnu", ".word target", "R_AARCH64_ABS32", 0xffffffffL)]
    [DataRow("aarch64-linux-gnu", ".word target", "R_AARCH64_ABS32", 0x100000000L)]
    [DataRow("aarch64-linux-gnu", ".word target", "R_AARCH64_ABS32", -0x80000000L)]
    [DataRow("aarch64-linux-gnu", ".word target", "R_AARCH64_ABS32", -0x80000001L)]
    public void Fits_AgreesWithLld(string target, string instruction, string typeName, long value)
    {
        using var dir = new TempDir();
        string asm = dir["ref.s"];
        File.WriteAllText(asm, $".text\n.globl _start\n_start:\n  {instruction}\n");
        string obj = dir["ref.o"];
        RunChecked(Clang, $"--target={target}", "-c", asm, "-o", obj);
        var reloc = ReadElfRelocations(obj).Single(r => r.TypeName != "R_RISCV_RELAX");
        Assert.AreEqual(typeName, reloc.TypeName);
        var elf = new ElfFile(File.ReadAllBytes(obj));
        var row = RelocationTable.For(elf.Machine, elf.Is64Bit)![reloc.Type];

        var link = Run(Lld, [obj, "-o", dir["out"], $"--defsym=target=0x{value:x}", "-Ttext=0x10000"]);

        bool linked = link.ExitCode == 0;
        if (!linked) StringAssert.Contains(link.All, "out of range");
        Assert.AreEqual(linked, row.Fits(value), $"{typeName} value 0x{value:x}: ld.lld says {(linked ? "fits" : link.All.Trim())}");
    }

    // ---- lookup -----------------------------------------------------------------------------------------

    [TestMethod]
    public void For_PicksTheTableByMachineAndClass()
    {
        Assert.AreSame(RelocationTable.X86_64, RelocationTable.For(ElfMachine.X86_64, true));
        Assert.AreSame(RelocationTable.X32, RelocationTable.For(ElfMachine.X86_64, false));
        Assert.AreSame(RelocationTable.I386, RelocationTable.For(ElfMachine.I386, false));
        Assert.AreSame(RelocationTable.AArch64, RelocationTable.For(ElfMachine.AArch64, true));
        Assert.IsNull(RelocationTable.For(ElfMachine.AArch64, false), "ILP32 numbers differ (R_AARCH64_P32_*)");
        Assert.AreSame(RelocationTable.RiscV64, RelocationTable.For(ElfMachine.RiscV, true));
        Assert.AreSame(RelocationTable.RiscV32, RelocationTable.For(ElfMachine.RiscV, false));
        Assert.AreSame(RelocationTable.I386, RelocationTable.For(ElfMachine.I386));
        Assert.AreSame(RelocationTable.AArch64, RelocationTable.For(ElfMachine.AArch64));
        Assert.AreEqual("R_X86_64_64", RelocationTable.X86_64.PointerType.Name);
        Assert.AreEqual("R_X86_64_32", RelocationTable.X32.PointerType.Name);
        Assert.AreEqual("R_386_32", RelocationTable.I386.PointerType.Name);
        Assert.AreEqual("R_AARCH64_ABS64", RelocationTable.AArch64.PointerType.Name);
        Assert.AreEqual("R_RISCV_64", RelocationTable.RiscV64.PointerType.Name);
        Assert.AreEqual("R_RISCV_32", RelocationTable.RiscV32.PointerType.Name);
        StringAssert.Contains(RuleCatalog.UnsupportedMachine.Fix, "aarch64");
        StringAssert.Contains(RuleCatalog.UnsupportedMachine.Fix, "riscv64");
    }

    [TestMethod]
    public void AArch64Ilp32Object_IsPG9002_NotMisclassified()
    {
        using var dir = new TempDir();
        string obj = dir["ilp32.o"];
        File.WriteAllBytes(obj, RelocatableWithEveryType(ElfMachine.AArch64, is64Bit: false, 10));

        var result = Check(obj);

        var d = result.Diagnostics.Single(x => x.Code == "PG9002");
        Assert.IsFalse(result.Diagnostics.Any(x => x.Code is "PG0001" or "PG0002"), Describe(result));
        StringAssert.Contains(d.Format(), "aarch64 (LP64, not ILP32)");
    }

    // ---- readelf ------------------------------------------------------------------------------------

    private sealed record ReadElfRelocation(string Section, uint Type, string TypeName, string Symbol);

    /// <summary>Every relocation readelf -rW prints, with the type number taken from the r_info column; TypeName is empty when the tool does not know the type.</summary>
    private static List<ReadElfRelocation> ReadElfRelocations(string obj, string tool = "readelf")
    {
        var list = new List<ReadElfRelocation>();
        string section = "";
        foreach (var line in RunChecked(tool, "-rW", obj).StdOut.Split('\n'))
        {
            var t = line.Trim();
            if (t.StartsWith("Relocation section '", StringComparison.Ordinal))
            {
                section = t.Split('\'')[1];
                continue;
            }
            var parts = t.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
            if (parts.Count > 3 && parts[2] == "unrecognized:") parts.RemoveAt(3);
            if (parts.Count < 3 || !ulong.TryParse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong info)
                || !ulong.TryParse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out _))
                continue;
            uint type = parts[1].Length > 8 ? (uint)(info & 0xffffffff) : (uint)(info & 0xff);
            string name = parts[2].StartsWith("R_", StringComparison.Ordinal) ? parts[2] : "";   // "unrecognized: 2f", "Unknown"
            list.Add(new ReadElfRelocation(section, type, name, parts.Count >= 5 ? parts[4] : ""));
        }
        return list;
    }

    /// <summary>A relocatable ELF with .text and one .rela.text entry of every type 0..<paramref name="max"/> against one symbol.</summary>
    private static byte[] RelocatableWithEveryType(ElfMachine machine, bool is64Bit, uint max)
    {
        if (!is64Bit) max = Math.Min(max, 255);   // ELF32 r_info keeps 8 bits of type
        byte[] shstr = "\0.text\0.rela.text\0.symtab\0.strtab\0.shstrtab\0"u8.ToArray();
        int Name(string s) => System.Text.Encoding.ASCII.GetString(shstr).IndexOf(s + "\0", StringComparison.Ordinal);
        byte[] strtab = "\0target\0"u8.ToArray();
        byte[] text = new byte[16];
        var rela = new MemoryStream();
        var symtab = new MemoryStream();
        var w = new BinaryWriter(rela);
        var s = new BinaryWriter(symtab);
        for (uint type = 0; type <= max; type++)
        {
            if (is64Bit) { w.Write(0UL); w.Write((1UL << 32) | type); w.Write(0L); }
            else { w.Write(0U); w.Write((1U << 8) | type); w.Write(0); }
        }
        if (is64Bit) { s.Write(new byte[24]); s.Write(1U); s.Write((byte)0x10); s.Write((byte)0); s.Write((ushort)0); s.Write(0UL); s.Write(0UL); }
        else { s.Write(new byte[16]); s.Write(1U); s.Write(0U); s.Write(0U); s.Write((byte)0x10); s.Write((byte)0); s.Write((ushort)0); }
        byte[][] blobs = [text, rela.ToArray(), symtab.ToArray(), strtab, shstr];
        int header = is64Bit ? 64 : 52;
        var body = new MemoryStream();
        var offsets = new List<long>();
        foreach (var blob in blobs)
        {
            offsets.Add(header + body.Length);
            body.Write(blob);
            while (body.Length % 8 != 0) body.WriteByte(0);
        }
        long shoff = header + body.Length;
        // name, type, flags, addr, offset, size, link, info, align, entsize
        var sections = new (long, long, long, long, long, long, long, long, long, long)[]
        {
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            (Name(".text"), 1, 6, 0, offsets[0], text.Length, 0, 0, 4, 0),
            (Name(".rela.text"), 4, 0x40, 0, offsets[1], blobs[1].Length, 3, 1, 8, is64Bit ? 24 : 12),
            (Name(".symtab"), 2, 0, 0, offsets[2], blobs[2].Length, 4, 1, 8, is64Bit ? 24 : 16),
            (Name(".strtab"), 3, 0, 0, offsets[3], strtab.Length, 0, 0, 1, 0),
            (Name(".shstrtab"), 3, 0, 0, offsets[4], shstr.Length, 0, 0, 1, 0),
        };
        var file = new MemoryStream();
        var h = new BinaryWriter(file);
        h.Write(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', (byte)(is64Bit ? 2 : 1), 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 });
        h.Write((ushort)1); h.Write((ushort)machine); h.Write(1U);
        if (is64Bit) { h.Write(0UL); h.Write(0UL); h.Write((ulong)shoff); }
        else { h.Write(0U); h.Write(0U); h.Write((uint)shoff); }
        h.Write(0U); h.Write((ushort)header); h.Write((ushort)0); h.Write((ushort)0);
        h.Write((ushort)(is64Bit ? 64 : 40)); h.Write((ushort)sections.Length); h.Write((ushort)5);
        h.Write(body.ToArray());
        foreach (var (name, type, flags, addr, offset, size, link, info, align, entsize) in sections)
        {
            h.Write((uint)name); h.Write((uint)type);
            if (is64Bit)
            {
                h.Write((ulong)flags); h.Write((ulong)addr); h.Write((ulong)offset); h.Write((ulong)size);
                h.Write((uint)link); h.Write((uint)info); h.Write((ulong)align); h.Write((ulong)entsize);
            }
            else
            {
                h.Write((uint)flags); h.Write((uint)addr); h.Write((uint)offset); h.Write((uint)size);
                h.Write((uint)link); h.Write((uint)info); h.Write((uint)align); h.Write((uint)entsize);
            }
        }
        return file.ToArray();
    }
}
