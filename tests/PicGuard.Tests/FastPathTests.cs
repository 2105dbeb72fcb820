using PicGuard.Diagnostics;
using PicGuard.Elf;
using PicGuard.Relocations;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// The checker's fast paths give what the plain ones give: per-field relocation reads, the section arrays a thread
/// reuses from one object to the next, section-name globs matched on bytes, and rules decided once per section.
/// </summary>
[TestClass]
public sealed class FastPathTests
{
    [TestMethod]
    public void RelocationFieldReads_AgreeWithWholeEntries_OnEveryClassAndFormat()
    {
        using var dir = new TempDir();
        int checkedEntries = 0;
        var formats = new HashSet<(bool Is64, ElfSectionType Type)>();
        foreach (var (label, path) in ElfCorpus.CompileObjects(dir))
        {
            using var elf = new ElfFile(File.ReadAllBytes(path));
            foreach (var section in elf.Sections)
            {
                if (section.Type is not (ElfSectionType.Rel or ElfSectionType.Rela)) continue;
                var relocations = elf.GetRelocations(section);
                for (int i = 0; i < relocations.Count; i++)
                {
                    var entry = relocations[i];
                    Assert.AreEqual(entry.Type, relocations.TypeAt(i), $"{label} [{section.Index}] #{i}");
                    Assert.AreEqual(entry.SymbolIndex, relocations.SymbolAt(i), $"{label} [{section.Index}] #{i}");
                    checkedEntries++;
                }
                if (relocations.Count > 0) formats.Add((elf.Is64Bit, section.Type));
            }
        }
        Assert.IsGreaterThan(500, checkedEntries);
        CollectionAssert.IsSubsetOf(new[] { (true, ElfSectionType.Rela), (false, ElfSectionType.Rel) }, formats.ToList(), "the corpus covers RELA64 and REL32");
    }

    /// <summary>The kinds written out for startup (no reflection) are the enum's, in order, named as the enum's names say.</summary>
    [TestMethod]
    public void RelocationKinds_AreTheEnumsKindsInOrder_NamedAsBefore()
    {
        CollectionAssert.AreEqual(Enum.GetValues<RelocationKind>(), RelocationKinds.All);
        foreach (var kind in Enum.GetValues<RelocationKind>())
        {
            string expected = kind switch
            {
                RelocationKind.Got => "GOT-based",
                RelocationKind.PcRelative => "PC-relative",
                RelocationKind.PltCall => "PLT",
                RelocationKind.Tls => "TLS",
                _ => kind.ToString().ToLowerInvariant(),
            };
            Assert.AreEqual(expected, RelocationKinds.Word(kind));
        }
        Assert.AreEqual("42", RelocationKinds.Word((RelocationKind)42));
    }

    [TestMethod]
    public void ElfRelocation_KeepsTypeAndSymbolApart_AtTheirFullWidth()
    {
        var r = new ElfRelocation(0x1234, 0xfffffffe, 0xfffffffd, -4, true);
        Assert.AreEqual(0xfffffffeu, r.Type);
        Assert.AreEqual(0xfffffffdu, r.SymbolIndex);
        Assert.AreEqual(-4L, r.Addend);
        Assert.AreEqual(0x1234UL, r.Offset);
        Assert.AreEqual(new ElfRelocation(0x1234, 0xfffffffe, 0xfffffffd, -4, true), r);
        Assert.AreNotEqual(new ElfRelocation(0x1234, 0xfffffffd, 0xfffffffe, -4, true), r);
    }

    [TestMethod]
    public void SectionArray_ReusedAfterALargerObject_HoldsOnlyTheSmallerObjectsSections()
    {
        using var dir = new TempDir();
        string many = string.Concat(Enumerable.Range(0, 300).Select(i => $"int f{i}(int x) {{ return x * {i + 2}; }}\n"));
        byte[] large = File.ReadAllBytes(Compile(dir.Path, "many.c", many, Gcc, "-O2", "-ffunction-sections"));
        byte[] small = File.ReadAllBytes(Compile(dir.Path, "one.c", "int one(int x) { return x + 1; }\n", Gcc, "-O2"));
        var expected = new ElfFile(small).Sections.ToArray(); // never disposed: an array of its own

        using (var big = new ElfFile(large))
            Assert.IsGreaterThan(300, big.Sections.Count);
        using var reused = new ElfFile(small); // takes the array the large object gave back

        CollectionAssert.AreEqual(expected, reused.Sections.ToArray());
        Assert.AreEqual(expected.Length, reused.SectionSpan.Length);
        Assert.AreEqual(".text", reused.SectionName(reused.Sections.Single(s => s.IsExecutable)));
        var text = expected.Single(x => x.IsExecutable);
        reused.Dispose();
        Assert.AreEqual(0, reused.Sections.Count, "a disposed file has no sections, never another object's");
        Assert.AreEqual($"[{text.Index}]", reused.SectionName(text), "nor their names");
        Assert.ThrowsExactly<ElfFormatException>(() => reused.GetSection((uint)text.Index));
    }

    [TestMethod]
    public void CheckingALargeObjectFirst_ChangesNothingInTheNextObjectsResult()
    {
        using var dir = new TempDir();
        string many = string.Concat(Enumerable.Range(0, 300).Select(i => $"int w{i}; int *p{i} = &w{i};\n"));
        string large = Compile(dir.Path, "many.c", many, Gcc, "-O2", "-fdata-sections");
        string small = Compile(dir.Path, "one.c", "int word; int *pointer = &word;\n", Gcc, "-O2");
        var checker = new Checker(CheckOptions.Default);

        var alone = checker.CheckFile(small);
        Assert.AreEqual(300, checker.CheckFile(large).Warnings);
        var after = checker.CheckFile(small);

        Assert.AreEqual(1, alone.Warnings);
        CollectionAssert.AreEqual(alone.Diagnostics.Select(d => d.Format()).ToList(), after.Diagnostics.Select(d => d.Format()).ToList());
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void PatchableFunctionEntries_AreNotDataPointers_ButOtherDataPointersAre(string compiler)
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "patchable.c", "int word; int *word_pointer = &word; int get(void) { return *word_pointer; }\n",
            compiler, [.. CatalogRuleTests.Policy, "-fpatchable-function-entry=2"]);
        var dump = RelocationDump.Read(obj, File.ReadAllBytes(obj), []);
        Assert.IsTrue(dump.Any(r => r.Section.Contains("__patchable_function_entries")), "the compiler emitted the section's absolute entries");

        var result = new Checker(CheckOptions.Default).CheckFile(obj);

        var pointer = result.Diagnostics.Single(d => d.Code == "PG0010");
        Assert.AreEqual("word", pointer.Symbol);
        Assert.IsFalse(result.Diagnostics.Any(d => d.Section == "__patchable_function_entries"));
    }

    [TestMethod]
    [DataRow(".rodata.str1.1", ".rodata*", true)]
    [DataRow(".rodata.str1.1", ".ro?ata.*", true)]
    [DataRow(".data", ".rodata*", false)]
    [DataRow("__patchable_function_entries", "__patchable_function_entries", true)]
    [DataRow("__patchable_function_entries", "__patchable*x", false)]
    [DataRow(".text.café", ".text.caf?", true)]
    [DataRow(".text.café", ".text.café", true)]
    [DataRow(".text.café", ".text.cafe", false)]
    [DataRow("", "*", true)]
    [DataRow("", "?", false)]
    public void SectionGlobs_OnNameBytes_MatchAsOnText(string name, string pattern, bool matches)
    {
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(name);
        Assert.AreEqual(matches, Glob.MatchesAny(name, [pattern]));
        Assert.AreEqual(matches, Glob.MatchesAny(utf8, [pattern]));
    }

    /// <summary>Calls from <paramref name="count"/> functions, each in its own section, to __fentry__ and __stack_chk_fail.</summary>
    private static string Instrumented(string dir, string name, int count) =>
        Compile(dir, name, string.Concat(Enumerable.Range(0, count).Select(i => $"int f{i}(int i) {{ char b[32]; b[i & 31] = (char)i; return b[(i + {i}) & 31]; }}\n")),
            Gcc, "-O2", "-fno-pie", "-ffunction-sections", "-pg", "-mfentry", "-fstack-protector-all");

    [TestMethod]
    public void CallsToOneInstrumentationEntry_FromManySections_AreOneFinding_WithEveryCallCounted()
    {
        using var dir = new TempDir();
        string obj = Instrumented(dir.Path, "many.c", 12);

        var result = new Checker(CheckOptions.Default).CheckFile(obj);

        // Written piece by piece (the CLI) before anything reads the lines, then read as lines (MSBuild, SARIF): one text,
        // here and on an object with source lines.
        string withSource = Compile(dir.Path, "table.c", Sources.GlobalTable, Gcc, "-O2", "-g", "-mcmodel=kernel", "-fno-pic");
        foreach (var checkedFile in (CheckResult[])[result, new Checker(CheckOptions.Default).CheckFile(withSource)])
        {
            var written = checkedFile.Diagnostics.Select(d => { var w = new StringWriter(); d.WriteTo(w); return w.ToString(); }).ToList();
            CollectionAssert.AreEqual(checkedFile.Diagnostics.Select(d => d.Format() + Environment.NewLine).ToList(), written);
        }
        StringAssert.Contains(new Checker(CheckOptions.Default).CheckFile(withSource).Diagnostics[0].Format(), ">>> source: ");

        var fentry = result.Diagnostics.Single(d => d.Code == "PG0005" && d.Symbol == "__fentry__");
        Assert.AreEqual(12, fentry.Occurrences);
        Assert.AreEqual(3, fentry.Context.Count(c => c.StartsWith("referenced by ", StringComparison.Ordinal)), string.Join("\n", fentry.Context));
        StringAssert.Contains(string.Join("\n", fentry.Context), "referenced 9 more time(s)");
        Assert.AreEqual(12, result.Diagnostics.Single(d => d.Code == "PG0005" && d.Symbol == "__stack_chk_fail").Occurrences);
        Assert.AreEqual(24, result.Errors);
    }

    [TestMethod]
    public void FindingsListedAsText_AreWhatTheirDiagnosticsWrite_WithTheSameCounts()
    {
        // The CLI takes a one-object file's listed findings as text, never as objects (CheckOptions.ListsText); MSBuild,
        // SARIF and CheckFile take objects. Both must say the same, repeats, places, counts and caps included, on objects
        // with source lines, instructions, collapsed repeats, suppressed findings, and an archive (objects either way).
        using var dir = new TempDir();
        var compiled = ElfCorpus.CompileObjects(dir);
        string[] paths =
        [
            .. compiled.Select(o => o.Path),
            .. ElfCorpus.LinkedAndArchived(dir, compiled).Select(o => o.Path),
            Instrumented(dir.Path, "many.c", 12),
            Compile(dir.Path, "table.c", Sources.GlobalTable, Gcc, "-O2", "-g", "-mcmodel=kernel", "-fno-pic"),
        ];
        bool anyText = false, anyRepeats = false;
        foreach (var (profile, cap) in new[] { Profiles.Generic, Profiles.KexecPurgatory, Profiles.EfiStub, Profiles.Startup }.SelectMany(p => new[] { (p, 100), (p, 2), (p, 0) }))
        {
            foreach (var suppressions in new Suppression[][] { [], [new Suppression("PG0005", Symbol: "__stack_chk_fail")] })
            {
                var options = new CheckOptions(profile) { MaxDiagnosticsPerFile = cap, Suppressions = suppressions };
                var objects = new Checker(options).CheckFiles(paths);
                var texts = new List<CheckResult>();
                new Checker(options with { ListsText = true }).CheckFiles(paths, (_, r) => texts.Add(r));
                for (int i = 0; i < paths.Length; i++)
                {
                    var expected = new StringWriter();
                    foreach (var d in objects[i].Diagnostics) d.WriteTo(expected);
                    var got = texts[i].Text ?? new ListingText();
                    anyText |= texts[i].Text is not null && texts[i].Diagnostics.Count == 0;
                    foreach (var d in texts[i].Diagnostics) d.WriteTo(got);
                    var bytes = new MemoryStream();
                    using (var writer = new StreamWriter(bytes, new System.Text.UTF8Encoding(false), leaveOpen: true)) got.WriteTo(writer);
                    string written = System.Text.Encoding.UTF8.GetString(bytes.ToArray());
                    anyRepeats |= written.Contains(" more time(s)", StringComparison.Ordinal);
                    string what = $"{Path.GetFileName(paths[i])}, {profile.Name}, cap {cap}, {suppressions.Length} suppression(s)";
                    Assert.AreEqual(expected.ToString(), written, what);
                    Assert.AreEqual((objects[i].Errors, objects[i].Warnings, objects[i].Omitted, objects[i].Suppressed.Count),
                        (texts[i].Errors, texts[i].Warnings, texts[i].Omitted, texts[i].Suppressed.Count), what);
                }
            }
        }
        Assert.IsTrue(anyText, "some one-object file's findings came as text alone");
        Assert.IsTrue(anyRepeats, "some finding collapsed its repeats");
    }

    [TestMethod]
    public void AnArchiveOverTheCap_CheckedInParallel_ListsWhatCheckFileLists()
    {
        using var dir = new TempDir();
        var members = Enumerable.Range(0, 16).Select(i => Instrumented(dir.Path, $"m{i:d2}.c", 3 + i % 5)).ToArray();
        string kernel = Compile(dir.Path, "k.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        string archive = Archive(dir.Path, "libinstrumented.a", [.. members, kernel, .. members]);
        foreach (int cap in new[] { 1, 3, 7, 40, 0 })
        {
            var checker = new Checker(CheckOptions.Default with { MaxDiagnosticsPerFile = cap });
            var expected = checker.CheckFile(archive);
            string Text(CheckResult r) => $"{r.Errors} {r.Warnings} {r.Omitted}\n" + string.Join("\n", r.Diagnostics.Select(d => d.Format()));

            for (int round = 0; round < 3; round++)
                Assert.AreEqual(Text(expected), Text(checker.CheckFiles([archive], 2)[0]), $"cap {cap}, round {round}");
            if (cap > 0) Assert.HasCount(cap, expected.Diagnostics, $"cap {cap}");
            else Assert.IsGreaterThan(64, expected.Diagnostics.Count, "no cap: two PG0005 findings per instrumented member and the kernel object's");
        }
    }

    [TestMethod]
    public void TheCommand_WritesEveryLineOfALongListing_ThenTheSummary()
    {
        using var dir = new TempDir();
        string got = Compile(dir.Path, "got.c", string.Concat(Enumerable.Range(0, 150).Select(i => $"extern int v{i}; int g{i}(void) {{ return v{i}; }}\n")), Gcc, "-O2", "-fpic");
        string archive = Archive(dir.Path, "liblong.a", [.. Enumerable.Range(0, 4).Select(i => Instrumented(dir.Path, $"l{i:d2}.c", 4)), got]);
        var (expectedExit, inProcess, _) = CliTests.Cli("check", "--max-diagnostics", "0", archive);
        string picguard = Path.Combine(AppContext.BaseDirectory, "picguard");

        var run = Run(picguard, ["check", "--max-diagnostics", "0", archive]);

        Assert.IsGreaterThan(64 * 1024, inProcess.Length, "longer than the output buffer");
        Assert.AreEqual(expectedExit, run.ExitCode);
        Assert.AreEqual(inProcess, run.StdOut);
        StringAssert.StartsWith(run.StdErr, "picguard: 1 file(s), 5 object(s)");
    }

    [TestMethod]
    public void InstrumentationNames_AreFoundByTheirFirstBytes_ForEveryRow_AndNearMissesAreNot()
    {
        foreach (var row in Instrumentation.Symbols)
        {
            string name = row.Pattern.EndsWith('*') ? row.Pattern.TrimEnd('*') + "load8" : row.Pattern;
            byte[] inTable = System.Text.Encoding.ASCII.GetBytes(name + "\0next_symbol\0");
            Assert.AreSame(row, Instrumentation.Match(inTable), name);
            if (!row.Pattern.EndsWith('*'))
            {
                Assert.IsNull(Instrumentation.Match(System.Text.Encoding.ASCII.GetBytes(name + "x\0")), name + "x");
                Assert.IsNull(Instrumentation.Match(System.Text.Encoding.ASCII.GetBytes(name[..^1] + "\0")), name[..^1]);
            }
        }
        foreach (var name in new[] { "", "_", "__", "sym1", "stack", "__asa", "_Z3fooi", "memcpy", "__x86_", "__cfi" })
            Assert.IsNull(Instrumentation.Match(System.Text.Encoding.ASCII.GetBytes(name + "\0")), $"'{name}'");
    }

    /// <summary>
    /// The instruction at a relocation site, found by one decoder per object that resumes each site's sweep from the
    /// previous site's instruction in the same function, or from the end of a call the relocations before it prove
    /// (R_X86_64_PLT32 with addend -4), is the one a plain sweep from the function's start reaches:
    /// every code relocation of the x86 objects of the corpus (gcc and clang, -m32, -ffunction-sections, ld -r, PIE),
    /// in relocation order through one decoder per object, as the checker calls it.
    /// </summary>
    [TestMethod]
    public void InstructionAtEachSite_IsTheOneASweepFromTheFunctionStartReaches()
    {
        using var dir = new TempDir();
        int compared = 0, described = 0;
        foreach (var (label, path) in ElfCorpus.CompileObjects(dir))
        {
            using var elf = new ElfFile(File.ReadAllBytes(path));
            if (elf.Machine is not (ElfMachine.X86_64 or ElfMachine.I386)) continue;
            var functions = FunctionIndex.Build(elf);
            var sites = new PicGuard.Diagnostics.SiteDecoder(elf);
            bool linked = elf.FileType != ElfFileType.Relocatable;
            foreach (var section in elf.Sections)
            {
                if (section.Type is not (ElfSectionType.Rel or ElfSectionType.Rela) || section.Info == 0) continue;
                var code = elf.GetSection(section.Info);
                if (!code.IsExecutable || !code.HasFileData) continue;
                var relocations = elf.GetRelocations(section);
                for (int i = 0; i < relocations.Count; i++)
                {
                    ulong raw = relocations[i].Offset;
                    ulong offset = linked ? raw - code.Address : raw;
                    var (function, functionOffset) = functions.Containing((uint)code.Index, raw);
                    ulong start = function is null ? 0 : offset - functionOffset;
                    string? expected = Sweep(elf, code, offset, start);
                    string? actual = sites.At(code, offset, start, section, i);
                    Assert.AreEqual(expected, actual, $"{label} [{code.Index}]+0x{offset:x}");
                    compared++;
                    if (actual is not null) described++;
                }
            }
        }
        Assert.IsGreaterThan(100, compared);
        Assert.IsGreaterThan(compared / 2, described, "most sites are instructions the decoder names");
    }

    /// <summary>
    /// The lengths the sweep steps over without Iced are Iced's, for a valid instruction, on random bytes (leading
    /// prefixes, REX and 0F made common, some cut short): the table gives no length Iced would not, and knows a good share.
    /// </summary>
    [TestMethod]
    public void InstructionLengths_AreIcedsLengths_OnRandomBytes()
    {
        var random = new Random(20261203);
        byte[] leading = [0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x2E, 0x3E, 0x26, 0x64, 0x65, 0x40, 0x41, 0x48, 0x4C, 0x0F, 0x0F, 0x0F, 0x9B, 0xC4, 0x62];
        var bytes = new byte[15];
        int samples = 1_000_000, known = 0;
        var wrong = new List<string>();
        for (int k = 0; k < samples; k++)
        {
            random.NextBytes(bytes);
            for (int j = random.Next(4); j > 0; j--) bytes[j - 1] = leading[random.Next(leading.Length)];
            int available = random.Next(8) == 0 ? random.Next(1, 16) : 15;
            int length = InstructionLength.Of64(bytes.AsSpan(0, available));
            if (length == 0) continue;
            known++;
            var decoder = Iced.Intel.Decoder.Create(64, new Iced.Intel.ByteArrayCodeReader(bytes, 0, available));
            decoder.Decode(out var instruction);
            if ((instruction.IsInvalid || instruction.Length != length) && wrong.Count < 10)
                wrong.Add($"{Convert.ToHexString(bytes, 0, available)}: {length}, Iced {(instruction.IsInvalid ? "invalid" : instruction.Length)}");
        }
        Assert.AreEqual(0, wrong.Count, string.Join("\n", wrong));
        Assert.IsGreaterThan(samples / 4, known, "the table knows the common one-byte and two-byte opcodes");
    }

    /// <summary>
    /// The same on compiled code, swept with Iced from the start of every code section: gcc and clang, kernel flags
    /// (IBT's endbr64, retpolines, return thunks, ftrace, stack protector) and AVX2; the table knows nearly every
    /// instruction there, so a site's sweep seldom needs Iced.
    /// </summary>
    [TestMethod]
    public void InstructionLengths_AreIcedsLengths_OnCompiledCode_AndKnowNearlyEveryInstruction()
    {
        using var dir = new TempDir();
        var objects = ElfCorpus.CompileObjects(dir).Where(o => o.Label.Contains("x86_64")).ToList();
        objects.Add(("kernel-flags", Compile(dir.Path, "kernel.c", ElfCorpus.Source, Gcc,
            "-O2", "-mcmodel=kernel", "-fno-pic", "-mno-red-zone", "-fcf-protection=full", "-mindirect-branch=thunk-extern",
            "-mfunction-return=thunk-extern", "-pg", "-mfentry", "-fstack-protector-strong")));
        objects.Add(("clang-avx2", Compile(dir.Path, "avx2.c", ElfCorpus.Source, Clang, "-O3", "-mavx2")));
        int instructions = 0, known = 0;
        foreach (var (label, path) in objects)
        {
            using var elf = new ElfFile(File.ReadAllBytes(path));
            foreach (var section in elf.Sections.Where(s => s.IsExecutable && s.HasFileData))
            {
                var code = elf.SectionData(section).ToArray();
                var decoder = Iced.Intel.Decoder.Create(64, new Iced.Intel.ByteArrayCodeReader(code));
                while (decoder.IP < (ulong)code.Length)
                {
                    ulong at = decoder.IP;
                    decoder.Decode(out var instruction);
                    int length = InstructionLength.Of64(code.AsSpan((int)at));
                    instructions++;
                    if (length == 0) continue;
                    known++;
                    Assert.IsFalse(instruction.IsInvalid, $"{label} [{section.Index}]+0x{at:x}: {length}, Iced invalid");
                    Assert.AreEqual(instruction.Length, length, $"{label} [{section.Index}]+0x{at:x}: {instruction}");
                }
            }
        }
        Assert.IsGreaterThan(400, instructions);
        Assert.IsGreaterThan(instructions * 9 / 10, known, $"{known} of {instructions} instructions known");
    }

    /// <summary>
    /// A retpoline call as the kernel's assembly writes it (a CS segment prefix before the call, as
    /// <c>-mindirect-branch-cs-prefix</c> asks of the compiler, so the site can be patched in place) is named with its
    /// prefix, as objdump names it, and with its target.
    /// </summary>
    [TestMethod]
    public void ARetpolineCallWithItsCsPrefix_IsNamedWithThePrefix()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "retpoline.s", FunctionF("""
                .byte 0x2e
                call __x86_indirect_thunk_rax
                ret
            """), Gcc);

        var finding = new Checker(CheckOptions.Default).CheckFile(obj).Diagnostics.Single(d => d.Code == "PG0005");

        StringAssert.Contains(finding.Message, "__x86_indirect_thunk_");
        StringAssert.StartsWith(finding.Instruction, "cs call 0x", "the prefix byte (0x2e) is part of the instruction at the site");
        CollectionAssert.Contains(finding.Context.ToList(), "instruction: " + finding.Instruction);
    }

    /// <summary>
    /// A byte that is no instruction (hand-written assembly jumping over it) throws a sweep from the function's start out
    /// of step: it decodes the call and the movabs after it as other instructions. The call's own relocation proves where
    /// the call ends, so the movabs is decoded from there and named as it is.
    /// </summary>
    [TestMethod]
    public void TheEndOfACallItsRelocationProves_PutsTheSweepBackInStep_AfterAByteThatIsNoInstruction()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "skip.s", FunctionF("""
                jmp 1f
                .byte 0x0f
            1:
                call g
                movabs $h, %rax
                ret
            """), Gcc);

        var finding = new Checker(CheckOptions.Default).CheckFile(obj).Diagnostics.Single(d => d.Code == "PG0001");

        Assert.AreEqual("mov rax, 0x0", finding.Instruction);
        CollectionAssert.Contains(finding.Context.ToList(), "instruction: mov rax, 0x0");
        using var elf = new ElfFile(File.ReadAllBytes(obj));
        var text = elf.Sections.Single(s => elf.SectionName(s) == ".text");
        Assert.AreNotEqual("mov rax, 0x0", Sweep(elf, text, finding.Location!.Offset, 0), "from the function's start the sweep is out of step");
    }

    /// <summary>
    /// The function index (sorted by a packed section-and-value key, ties put in the whole order by insertion) names every
    /// byte of code as the plain rule does on ELFSharp's reading of the symbol table: code symbols sorted by section,
    /// value, larger size first, then symbol order; a place belongs to the last one at or below it whose size covers it
    /// (or that has none). Hand-written assembly puts functions, sized aliases and labels at one place, in two sections.
    /// </summary>
    [TestMethod]
    public void FunctionIndex_NamesEveryByteOfCode_AsTheWholeOrderSortOfElfSharpsSymbolsDoes()
    {
        using var dir = new TempDir();
        string aliases = Compile(dir.Path, "aliases.s", """
                .text
                .globl whole, half, late_alias
                .type whole, @function
                .type half, @function
                .type late_alias, @function
            label_first:
            whole:
            half:
            late_alias:
                .fill 12, 1, 0x90
            inner_label:
                .fill 20, 1, 0x90
                .size whole, 32
                .size half, 16
                .size late_alias, 32
                .section .text.two, "ax", @progbits
                .type two_a, @function
                .type two_b, @function
            two_b:
            two_a:
            .Llocal:
                .fill 8, 1, 0xc3
                .size two_a, 8
                .size two_b, 4
            """, Gcc);
        var objects = new List<string> { aliases };
        objects.AddRange(ElfCorpus.CompileObjects(dir).Select(o => o.Path).Where(p => new ElfFile(File.ReadAllBytes(p)).FileType == ElfFileType.Relocatable));
        int places = 0;
        foreach (var path in objects)
        {
            using var elf = new ElfFile(File.ReadAllBytes(path));
            var index = FunctionIndex.Build(elf);
            using var theirs = ELFSharp.ELF.ELFReader.Load(path);
            var symbolTable = theirs.Sections.OfType<ELFSharp.ELF.Sections.ISymbolTable>().FirstOrDefault();
            if (symbolTable is null) continue;
            var code = symbolTable.Entries.Select((e, i) => (Entry: (dynamic)e, Index: i))
                .Where(x => x.Index > 0)
                .Select(x => (Name: (string)x.Entry.Name, Type: (int)x.Entry.Type, Section: (uint)x.Entry.PointedSectionIndex,
                    Value: Convert.ToUInt64(x.Entry.Value), Size: Convert.ToUInt64(x.Entry.Size), x.Index))
                .Where(x => x.Type is 0 or 2 or 10 && x.Section is > 0 and < 0xff00 && x.Name.Length > 0 && !x.Name.StartsWith(".L", StringComparison.Ordinal) && x.Name[0] != '$')
                .OrderBy(x => x.Section).ThenBy(x => x.Value).ThenByDescending(x => x.Size).ThenBy(x => x.Index).ToList();
            foreach (var section in elf.Sections.Where(s => s.IsExecutable && s.Size > 0))
            {
                for (ulong at = 0; at < section.Size; at++)
                {
                    string? expected = null;
                    foreach (var x in code.Where(x => x.Section == (uint)section.Index && x.Value <= at).Reverse())
                    {
                        if (x.Size != 0 && at - x.Value >= x.Size) continue;
                        expected = x.Name;
                        break;
                    }
                    Assert.AreEqual(expected, index.Containing((uint)section.Index, at).Name, $"{Path.GetFileName(path)} [{section.Index}]+0x{at:x}");
                    places++;
                }
            }
        }
        Assert.IsGreaterThan(1000, places);
        using var tied = new ElfFile(File.ReadAllBytes(aliases));
        var functions = FunctionIndex.Build(tied);
        uint two = (uint)tied.Sections.Single(s => tied.SectionName(s) == ".text.two").Index;
        Assert.AreEqual(("two_b", 2UL), functions.Containing(two, 2), "two sized functions at one place: the smaller, last in the order, names what it covers");
        Assert.AreEqual(("two_a", 6UL), functions.Containing(two, 6), "past the smaller one, the larger one");

    }

    /// <summary>
    /// An index of 256 or more code symbols is ordered by a radix sort of the packed keys: the same answers as the plain
    /// rule on ELFSharp's reading, at and around every symbol's start and end, for an object of some 900 code symbols in
    /// three sections whose symbol table order is shuffled against their addresses, with values past 2^16 (three bytes of
    /// the key differ) and sized aliases and labels at one place.
    /// </summary>
    [TestMethod]
    public void FunctionIndex_OfManySymbols_NamesPlacesAsTheWholeOrderSortOfElfSharpsSymbolsDoes()
    {
        using var dir = new TempDir();
        var random = new Random(12);
        var source = new System.Text.StringBuilder();
        var names = new List<string>();
        for (int section = 0; section < 3; section++)
            for (int i = 0; i < 300; i++)
                names.Add($"f{section}_{i}");
        // Symbols are made in the order they are first named: declared shuffled, defined in address order.
        foreach (var name in names.OrderBy(_ => random.Next()))
            source.AppendLine(name.EndsWith("_7", StringComparison.Ordinal) ? $"    .globl {name}" : $"    .type {name}, @function");
        for (int section = 0; section < 3; section++)
        {
            source.AppendLine(section == 0 ? "    .text" : $"    .section .text.s{section}, \"ax\", @progbits");
            for (int i = 0; i < 300; i++)
            {
                string name = $"f{section}_{i}";
                if (i % 10 == 3) source.AppendLine($"label{section}_{i}:"); // a label (no type, no size) where a function starts
                source.AppendLine($"{name}:");
                if (i % 10 == 5) source.AppendLine($"    .type alias{section}_{i}, @function\nalias{section}_{i}:\n    .size alias{section}_{i}, 2");
                int size = 8 + random.Next(24);
                source.AppendLine($"    .fill {size}, 1, 0x90");
                if (i % 7 != 0) source.AppendLine($"    .size {name}, {size - (i % 3)}"); // some unsized, some shorter than their bytes
                if (i % 50 == 49) source.AppendLine("    .skip 30000, 0xcc"); // values past 2^16
            }
        }
        string path = Compile(dir.Path, "many.s", source.ToString(), Gcc);
        using var elf = new ElfFile(File.ReadAllBytes(path));
        var index = FunctionIndex.Build(elf);
        using var theirs = ELFSharp.ELF.ELFReader.Load(path);
        var symbolTable = theirs.Sections.OfType<ELFSharp.ELF.Sections.ISymbolTable>().Single();
        var code = symbolTable.Entries.Select((e, i) => (Entry: (dynamic)e, Index: i))
            .Where(x => x.Index > 0)
            .Select(x => (Name: (string)x.Entry.Name, Type: (int)x.Entry.Type, Section: (uint)x.Entry.PointedSectionIndex,
                Value: Convert.ToUInt64(x.Entry.Value), Size: Convert.ToUInt64(x.Entry.Size), x.Index))
            .Where(x => x.Type is 0 or 2 or 10 && x.Section is > 0 and < 0xff00 && x.Name.Length > 0)
            .OrderBy(x => x.Section).ThenBy(x => x.Value).ThenByDescending(x => x.Size).ThenBy(x => x.Index).ToList();
        Assert.IsGreaterThan(1000, code.Count, "more code symbols than the radix sort's threshold, many times over");
        Assert.IsTrue(code.Max(x => x.Value) > 1UL << 16, "values that differ in a third byte");
        int places = 0;
        foreach (var bySection in code.GroupBy(x => x.Section))
        {
            var symbols = bySection.ToList();
            var points = symbols.SelectMany(x => new[] { x.Value, x.Value + 1, x.Value + x.Size, x.Value + x.Size + 1 })
                .Concat(symbols.Where(x => x.Value > 0).Select(x => x.Value - 1)).Distinct();
            foreach (ulong at in points)
            {
                string? expected = null;
                ulong offset = 0;
                for (int i = symbols.Count - 1; i >= 0; i--)
                {
                    var x = symbols[i];
                    if (x.Value > at || x.Size != 0 && at - x.Value >= x.Size) continue;
                    (expected, offset) = (x.Name, at - x.Value);
                    break;
                }
                var (name, actualOffset) = index.Containing(bySection.Key, at);
                Assert.AreEqual(expected, name, $"[{bySection.Key}]+0x{at:x}");
                if (expected is not null) Assert.AreEqual(offset, actualOffset, $"[{bySection.Key}]+0x{at:x}");
                places++;
            }
        }
        Assert.IsGreaterThan(3000, places);
    }

    /// <summary>The plain way: decode from the function's start until the instruction that holds the site.</summary>
    /// <summary>Assembly source of one global function <c>f</c> in <c>.text</c> with <paramref name="body"/> as its code.</summary>
    private static string FunctionF(string body) => $"""
            .text
            .globl f
            .type f, @function
        f:
        {body}
            .size f, .-f

        """;

    private static string? Sweep(ElfFile elf, ElfSection section, ulong site, ulong start)
    {
        var code = elf.SectionData(section);
        if (site >= (ulong)code.Length || start > site) return null;
        int end = (int)Math.Min((ulong)code.Length, site + 16);
        var decoder = Iced.Intel.Decoder.Create(elf.Machine == ElfMachine.X86_64 ? 64 : 32, new Iced.Intel.ByteArrayCodeReader(code[(int)start..end].ToArray()), start);
        while (decoder.IP <= site && decoder.IP < (ulong)end)
        {
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid) return null;
            if (site < instruction.NextIP) return PicGuard.Diagnostics.InstructionDecoder.Format(instruction);
        }
        return null;
    }
}

