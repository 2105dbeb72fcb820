using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests.Fuzzing;

/// <summary>
/// The fuzzer's seeds: small real objects compiled by gcc 12 and clang-19 for x86-64, i386,
/// aarch64 and riscv64, for arm (ARM and Thumb), loongarch64, ppc64le and the big-endian aarch64_be, powerpc64 and s390x,
/// with CREL relocations (ELF32 and ELF64, both byte orders), line tables of both byte orders, the differential corpus'
/// objects, clang-19 LLVM bitcode, and archives of them: regular, thin, and a thin one naming a regular archive's members. Compiled with
/// relative paths and a debug prefix map so the same toolchain gives the same bytes.
/// </summary>
public static class FuzzSeeds
{
    /// <summary>Small on purpose: a failing input minimises to a small regression file.</summary>
    public const string Tiny = """
        extern int ext_value;
        extern void ext_call(void);
        static int counter;
        int *pointer = &counter;
        int tiny(void) { ext_call(); return ext_value + counter; }
        """;

    private static readonly (string Label, string Compiler, string Flags)[] TinyBuilds =
    [
        ("tiny-gcc-x86_64", Gcc, "-O2"),
        ("tiny-clang-x86_64", Clang, "-O2 -fpic"),
        ("tiny-gcc-i386", Gcc, "-m32 -O2 " + ElfCorpus.Freestanding),
        ("tiny-clang-i386", Clang, "-m32 -O2 " + ElfCorpus.Freestanding),
        ("tiny-clang-aarch64", Clang, "--target=aarch64-linux-gnu -O2 " + ElfCorpus.Freestanding),
        ("tiny-clang-riscv64", Clang, "--target=riscv64-linux-gnu -O2 " + ElfCorpus.Freestanding),
        ("tiny-clang-armv7a", Clang, "--target=armv7a-linux-gnueabihf -O2 " + ElfCorpus.Freestanding),
        ("tiny-clang-loongarch64", Clang, "--target=loongarch64-linux-gnu -O2 " + ElfCorpus.Freestanding),
        ("tiny-clang-ppc64le", Clang, "--target=powerpc64le-linux-gnu -O2 " + ElfCorpus.Freestanding),
        ("tiny-clang-aarch64_be", Clang, "--target=aarch64_be-linux-gnu -O2 " + ElfCorpus.Freestanding),
        ("tiny-clang-ppc64", Clang, "--target=powerpc64-linux-gnu -O2 " + ElfCorpus.Freestanding),
        ("tiny-clang-s390x", Clang, "--target=s390x-linux-gnu -O2 " + ElfCorpus.Freestanding),
        ("tiny-clang-thumbv7a", Clang, "--target=thumbv7a-linux-gnueabihf -O2 " + ElfCorpus.Freestanding),
        ("tiny-clang-x86_64-crel", Clang, "-O2 -fpic " + Crel),
        ("tiny-clang-aarch64_be-crel", Clang, "--target=aarch64_be-linux-gnu -O2 " + Crel + " " + ElfCorpus.Freestanding),
        ("tiny-clang-s390x-crel", Clang, "--target=s390x-linux-gnu -O2 " + Crel + " " + ElfCorpus.Freestanding),
        ("tiny-clang-riscv64-crel", Clang, "--target=riscv64-linux-gnu -O2 " + Crel + " " + ElfCorpus.Freestanding),
        ("tiny-clang-i386-crel", Clang, "-m32 -O2 " + Crel + " " + ElfCorpus.Freestanding),
        // Line tables in both byte orders, with each machine's debug-section relocations (LoongArch ADD/SUB pairs).
        ("tiny-clang-s390x-g", Clang, "--target=s390x-linux-gnu -O1 -g " + ElfCorpus.Freestanding),
        ("tiny-clang-ppc64-g", Clang, "--target=powerpc64-linux-gnu -O1 -g " + ElfCorpus.Freestanding),
        ("tiny-clang-loongarch64-g", Clang, "--target=loongarch64-linux-gnu -O1 -g " + ElfCorpus.Freestanding),
    ];

    /// <summary>clang's flags for SHT_CREL relocation sections.</summary>
    public const string Crel = "-Wa,--allow-experimental-crel,--crel";

    private static readonly (string Label, string Compiler, string Flags)[] LinkedBuilds =
    [
        ("shared-x86_64", Clang, "-O2 -fpic"),
        ("shared-i386", Clang, "-m32 -O2 -fpic " + ElfCorpus.Freestanding),
        ("shared-aarch64", Clang, "--target=aarch64-linux-gnu -O2 -fpic " + ElfCorpus.Freestanding),
    ];

    /// <summary>LLVM bitcode (clang -flto): full and thin LTO, with debug info (thousands of metadata records), three machines.</summary>
    private static readonly (string Label, string Compiler, string Flags)[] BitcodeBuilds =
    [
        ("bitcode-x86_64-kernel", Clang, "--target=x86_64-linux-gnu -O2 -flto -mcmodel=kernel -fno-pic " + ElfCorpus.Freestanding),
        ("bitcode-x86_64-small", Clang, "--target=x86_64-linux-gnu -O2 -flto -mcmodel=small -fpic " + ElfCorpus.Freestanding),
        ("bitcode-aarch64-thin-g", Clang, "--target=aarch64-linux-gnu -O1 -g -flto=thin -mcmodel=tiny -fpic " + ElfCorpus.Freestanding),
        ("bitcode-riscv64-thin", Clang, "--target=riscv64-linux-gnu -O2 -flto=thin -mcmodel=medany " + ElfCorpus.Freestanding),
    ];

    public static List<FuzzSeed> Build(TempDir dir)
    {
        File.WriteAllText(dir["tiny.c"], Tiny);
        File.WriteAllText(dir["corpus.c"], ElfCorpus.Source);
        var seeds = new List<FuzzSeed>();
        var tiny = new List<string>();
        foreach (var (label, compiler, flags) in TinyBuilds)
        {
            Compile(dir, compiler, flags, "tiny.c", label + ".o");
            tiny.Add(label + ".o");
        }
        var corpus = new List<string>();
        foreach (var (label, compiler, flags) in ElfCorpus.Builds)
        {
            Compile(dir, compiler, flags + $" -fdebug-prefix-map={dir.Path}=.", "corpus.c", label + ".o");
            corpus.Add(label + ".o");
        }
        // Linked images (ET_DYN with .rela.dyn, .rela.plt and .dynsym): the checker's linked-file paths.
        var linked = new List<string>();
        foreach (var (label, compiler, flags) in LinkedBuilds)
        {
            Compile(dir, compiler, flags, "tiny.c", label + ".o");
            var r = Run(Lld, ["-shared", label + ".o", "-o", label + ".so"], workingDirectory: dir.Path);
            if (r.ExitCode != 0) throw new InvalidOperationException($"{Lld} -shared {label}.o failed:\n{r.All}");
            linked.Add(label + ".so");
        }
        var bitcode = new List<string>();
        foreach (var (label, compiler, flags) in BitcodeBuilds)
        {
            Compile(dir, compiler, flags + $" -fdebug-prefix-map={dir.Path}=.", "tiny.c", label + ".o");
            bitcode.Add(label + ".o");
        }
        foreach (var name in tiny.Concat(linked).Concat(corpus).Concat(bitcode))
            seeds.Add(new FuzzSeed(name, File.ReadAllBytes(dir[name])));
        // Bitcode members whose code models disagree (PG0013 over the archive), beside an ELF member.
        seeds.Add(new FuzzSeed("bitcode.a", File.ReadAllBytes(ArchiveOf(dir, "bitcode.a", [bitcode[0], bitcode[1], tiny[0]]))));
        // Archives: tiny objects of every machine (long member names need the "//" table), and two larger ones.
        seeds.Add(new FuzzSeed("tiny.a", File.ReadAllBytes(ArchiveOf(dir, "tiny.a", tiny))));
        seeds.Add(new FuzzSeed("mixed.a", File.ReadAllBytes(ArchiveOf(dir, "mixed.a", [tiny[0], corpus[0], corpus[6], corpus[9]]))));
        // A thin archive (the kernel's built-in.a): headers and a long-name table; its members are files of their own.
        var thin = Run("ar", ["rcT", "thin.a", .. tiny.Where(t => t.Contains("crel") || t.Contains("_be") || t.Contains("armv7a"))], workingDirectory: dir.Path);
        if (thin.ExitCode != 0) throw new InvalidOperationException($"ar rcT thin.a failed:\n{thin.All}");
        seeds.Add(new FuzzSeed("thin.a", File.ReadAllBytes(dir["thin.a"])));
        // GNU ar's thin archive of a regular archive: members named "/N:ORIGIN" (the nested archive's path, the member's header offset).
        ArchiveOf(dir, "nested-regular.a", [tiny[0], tiny[^1]]);
        var nested = Run("ar", ["rcT", "nested-thin.a", "nested-regular.a", tiny[1]], workingDirectory: dir.Path);
        if (nested.ExitCode != 0) throw new InvalidOperationException($"ar rcT nested-thin.a failed:\n{nested.All}");
        seeds.Add(new FuzzSeed("nested-thin.a", File.ReadAllBytes(dir["nested-thin.a"])));
        return seeds;
    }

    private static void Compile(TempDir dir, string compiler, string flags, string source, string output)
    {
        var r = Run(compiler, [.. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries), "-c", source, "-o", output], workingDirectory: dir.Path);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{compiler} {flags} {source} failed:\n{r.All}");
    }

    private static string ArchiveOf(TempDir dir, string name, IEnumerable<string> members)
    {
        var r = Run("ar", ["rcsD", name, .. members], workingDirectory: dir.Path);
        if (r.ExitCode != 0) throw new InvalidOperationException($"ar {name} failed:\n{r.All}");
        return dir[name];
    }
}
