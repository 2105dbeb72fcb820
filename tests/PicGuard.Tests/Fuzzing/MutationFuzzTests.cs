using System.Text;

namespace PicGuard.Tests.Fuzzing;

/// <summary>
/// Mutation fuzzing of the ELF/ar reader through <see cref="Checker.CheckBuffer"/>: seeded and
/// deterministic. CI runs 20,000 inputs; build/fuzz.sh runs more through the same test by setting
/// PICGUARD_FUZZ_INPUTS (and PICGUARD_FUZZ_SEED, PICGUARD_FUZZ_REPORT, PICGUARD_FUZZ_OUT for the
/// minimised failing inputs). Every failure ever found is replayed from Fuzzing/regressions/.
/// </summary>
[TestClass]
public sealed class MutationFuzzTests
{
    public TestContext TestContext { get; set; } = null!;

    private const int DefaultSeed = 0x5eed_e1f;
    private const long DefaultInputs = 20_000;

    private static string RegressionDirectory => Path.Combine(AppContext.BaseDirectory, "Fuzzing", "regressions");

    [TestMethod]
    public void Fuzz_SeededInputs_KeepTheCheckerContract()
    {
        long inputs = long.TryParse(Environment.GetEnvironmentVariable("PICGUARD_FUZZ_INPUTS"), out var n) ? n : DefaultInputs;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("PICGUARD_FUZZ_SEED"), out var s) ? s : DefaultSeed;
        string? report = Environment.GetEnvironmentVariable("PICGUARD_FUZZ_REPORT");
        string? outDir = Environment.GetEnvironmentVariable("PICGUARD_FUZZ_OUT");

        using var dir = new TempDir();
        var seeds = FuzzSeeds.Build(dir);
        void Report(string text)
        {
            TestContext.WriteLine(text);
            if (report is not null) File.AppendAllText(report, text + "\n");
        }
        Report($"fuzz: {seeds.Count} seeds ({string.Join(", ", seeds.Select(x => $"{x.Name} {x.Data.Length} B"))}), random seed {seed}, {inputs} inputs");

        var stats = FuzzHarness.Run(seeds, inputs, seed, (done, so_far) =>
            Report($"fuzz: {done} inputs, {so_far.InputsPerSecond:F0} inputs/s, {so_far.Failures.Count} failure signature(s)"));

        Report($"fuzz: {stats.Inputs} inputs in {stats.Elapsed.TotalSeconds:F1} s = {stats.InputsPerSecond:F0} inputs/s; " +
               $"{stats.Pg9001} PG9001; slowest {stats.Slowest.TotalMilliseconds:F1} ms; most allocated beyond input {stats.MaxAllocatedBeyondInput / 1024} KiB; " +
               $"{stats.Failures.Count} failure signature(s)");
        var text = new StringBuilder();
        foreach (var f in stats.Failures)
        {
            var small = FuzzHarness.Minimise(f.Input, f.Signature);
            text.AppendLine($"- {f.Signature}\n  seed {f.Seed}, input #{f.Iteration}: {string.Join("; ", f.Mutations)}\n  minimised {f.Input.Length} -> {small.Length} bytes\n  {f.Detail.Split('\n')[0]}");
            if (outDir is not null)
            {
                Directory.CreateDirectory(outDir);
                string name = $"{seed}-{f.Iteration}.bin";
                File.WriteAllBytes(Path.Combine(outDir, name), small);
                File.WriteAllText(Path.Combine(outDir, name + ".txt"), $"{f.Signature}\n{f.Detail}\n{string.Join("\n", f.Mutations)}\n");
            }
        }
        if (text.Length > 0) Report(text.ToString());

        Assert.IsEmpty(stats.Failures, "inputs broke the checker's contract:\n" + text);
        Assert.AreEqual(inputs, stats.Inputs);
        Assert.IsGreaterThan(inputs / 10, stats.Pg9001, "the mutations must reach the reader's error paths");
    }

    [TestMethod]
    public void Fuzz_BitcodeSeeds_KeepTheContract_AndMalformedBitcodeIsPG9001NamingTheObject()
    {
        using var dir = new TempDir();
        var seeds = FuzzSeeds.Build(dir).Where(s => s.Name.StartsWith("bitcode", StringComparison.Ordinal)).ToList();
        Assert.HasCount(5, seeds, "four bitcode objects and an archive of bitcode members");
        var mutator = new ElfMutator(new Random(DefaultSeed));
        var random = new Random(DefaultSeed);
        int malformed = 0, parsed = 0;
        var broken = new List<string>();
        for (int i = 0; i < 3000; i++)
        {
            var seed = seeds[random.Next(seeds.Count)];
            var input = mutator.Mutate(seed.Data, seed.Map, []);
            var options = FuzzHarness.Options[i % FuzzHarness.Options.Length];
            if (FuzzHarness.Evaluate(input, options, out _, out _, out _) is { } f)
            {
                broken.Add($"{seed.Name} #{i}: {f.Signature}");
                continue;
            }
            foreach (var d in new Checker(options).CheckBuffer("fuzz.o", input).Diagnostics)
            {
                if (d.Code == "PG9001" && d.Message.StartsWith("malformed LLVM bitcode: ", StringComparison.Ordinal))
                {
                    malformed++;
                    // The object is named: the file, or the archive member it is.
                    if (d.Object != "fuzz.o" && !d.Object.StartsWith("fuzz.o(", StringComparison.Ordinal)) broken.Add($"{seed.Name} #{i}: PG9001 names '{d.Object}'");
                }
                else if (d.Code == "PG0009" && d.Message.Contains("LLVM bitcode", StringComparison.Ordinal)) parsed++;
            }
        }
        TestContext.WriteLine($"bitcode fuzz: 3000 inputs, {malformed} malformed-bitcode PG9001, {parsed} bitcode PG0009");
        Assert.IsEmpty(broken, string.Join("\n", broken));
        Assert.IsGreaterThan(300, malformed, "the mutations must reach the bitcode reader's error paths");
        Assert.IsGreaterThan(300, parsed, "and leave some bitcode readable");
    }

    [TestMethod]
    public void Regressions_EveryInputFuzzingFound_KeepsTheContract()
    {
        var files = Directory.Exists(RegressionDirectory) ? Directory.GetFiles(RegressionDirectory, "*.bin") : [];
        Assert.IsNotEmpty(files, $"no regression inputs in {RegressionDirectory}");
        var broken = new List<string>();
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            var input = File.ReadAllBytes(file);
            foreach (var options in FuzzHarness.Options)
            {
                if (FuzzHarness.Evaluate(input, options, out _, out _, out _) is { } f)
                    broken.Add($"{Path.GetFileName(file)}: {f.Signature}");
                // Every input gets a definite answer, never silence from an exception.
                var result = new Checker(options).CheckBuffer(Path.GetFileName(file), input);
                Assert.IsTrue(result.Objects > 0 || result.Diagnostics.Count > 0, $"{Path.GetFileName(file)}: no object and no diagnostic");
            }
        }
        Assert.IsEmpty(broken, string.Join("\n", broken));
    }

    [TestMethod]
    public void Seeds_CoverEveryMachine_BothByteOrders_Crel_LineTables_AndThinArchives()
    {
        using var dir = new TempDir();
        var seeds = FuzzSeeds.Build(dir);
        var elves = new List<(string Name, PicGuard.Elf.ElfFile Elf)>();
        foreach (var seed in seeds.Where(s => PicGuard.Elf.ElfFile.HasElfMagic(s.Data)))
            elves.Add((seed.Name, new PicGuard.Elf.ElfFile(seed.Data)));
        try
        {
            // Every machine with a relocation table.
            var machines = elves.Select(e => e.Elf.Machine).ToHashSet();
            foreach (var m in new[] { PicGuard.Elf.ElfMachine.X86_64, PicGuard.Elf.ElfMachine.I386, PicGuard.Elf.ElfMachine.AArch64, PicGuard.Elf.ElfMachine.RiscV,
                         PicGuard.Elf.ElfMachine.Arm, PicGuard.Elf.ElfMachine.LoongArch, PicGuard.Elf.ElfMachine.PowerPC64, PicGuard.Elf.ElfMachine.S390 })
                Assert.Contains(m, machines, $"a seed for {m}");
            bool Crel(PicGuard.Elf.ElfFile e) => e.Sections.Any(x => x.Type == PicGuard.Elf.ElfSectionType.Crel);
            bool Lines(PicGuard.Elf.ElfFile e) => PicGuard.Elf.SourceLocator.Build(e).HasLineTable;
            Assert.IsTrue(elves.Any(e => e.Elf.IsBigEndian) && elves.Any(e => !e.Elf.IsBigEndian), "both byte orders");
            Assert.IsTrue(elves.Any(e => Crel(e.Elf) && e.Elf.IsBigEndian), "CREL, big-endian");
            Assert.IsTrue(elves.Any(e => Crel(e.Elf) && !e.Elf.Is64Bit), "CREL, ELF32");
            Assert.IsTrue(elves.Any(e => Lines(e.Elf) && e.Elf.IsBigEndian), "a big-endian line table");
            Assert.IsTrue(elves.Any(e => Lines(e.Elf) && e.Elf.Machine == PicGuard.Elf.ElfMachine.LoongArch), "a LoongArch line table (ADD/SUB debug relocations)");
        }
        finally
        {
            foreach (var e in elves) e.Elf.Dispose();
        }
        Assert.IsTrue(seeds.Any(s => s.Name == "thin.a" && s.Data.AsSpan().StartsWith("!<thin>\n"u8)), "a thin archive");
        var nested = seeds.Single(s => s.Name == "nested-thin.a");
        Assert.Contains("/0:", Encoding.ASCII.GetString(nested.Data), "GNU ar's /N:ORIGIN member names");
    }

    [TestMethod]
    public void Mutator_SameRandomSeed_SameInputs()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["t.c"], FuzzSeeds.Tiny);
        var seed = new FuzzSeed("t.o", File.ReadAllBytes(Toolchain.Compile(dir.Path, "t.c", FuzzSeeds.Tiny, Toolchain.Gcc, "-O2")));
        Assert.IsGreaterThan(50, seed.Map.Fields.Count, "the field map must find header, section, symbol and relocation fields");

        string Inputs(int randomSeed)
        {
            var m = new ElfMutator(new Random(randomSeed));
            var sb = new StringBuilder();
            for (int i = 0; i < 200; i++)
                sb.Append(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(m.Mutate(seed.Data, seed.Map, [])))).Append('\n');
            return sb.ToString();
        }

        Assert.AreEqual(Inputs(7), Inputs(7));
        Assert.AreNotEqual(Inputs(7), Inputs(8));
    }
}
