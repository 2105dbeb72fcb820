using System.Globalization;
using System.Text.RegularExpressions;
using PicGuard.Elf;
using PicGuard.Loaders;
using PicGuard.Relocations;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// Proof by loading: <c>picguard load</c> places blobs as the kexec_file loader does, a harness runs them above 4 GiB,
/// an independent placement from readelf output agrees byte for byte, and the static verdict (PG0006–PG0008) agrees with
/// what the loader does at the same base.
/// </summary>
[TestClass]
public sealed class LoaderTests
{
    /// <summary>
    /// A digest over a buffer through a table of function pointers and a pointer to a string: data the loader must
    /// relocate with R_X86_64_64, code that reaches it PC-relative, and the sample's digest_seed in another object.
    /// </summary>
    public const string DigestTable = """
        #include "purgatory.h"
        typedef unsigned long (*digest_step)(unsigned long, unsigned char);
        static unsigned long step_fnv(unsigned long h, unsigned char c) { return (h ^ c) * 0x100000001b3UL; }
        static unsigned long step_rotate(unsigned long h, unsigned char c) { return ((h << 5) | (h >> 59)) + c; }
        digest_step digest_steps[2] = { step_fnv, step_rotate };
        const char *digest_salt = "picguard";
        /* Zero-initialised: in .bss unless -fno-zero-initialized-in-bss, where the loader can set it (--set). */
        unsigned char loader_digest[DIGEST_SIZE] = { 0 };
        unsigned long digest_buffer(const unsigned char *p, unsigned long n)
        {
        	unsigned long h = digest_seed;
        	for (unsigned long i = 0; i < n; i++)
        		h = digest_steps[i & 1](h, p[i]);
        	for (const char *s = digest_salt; *s; s++)
        		h = digest_steps[0](h, (unsigned char)*s);
        	return h;
        }
        """;

    /// <summary>Maps an image at a fixed address (MAP_FIXED_NOREPLACE), makes it executable, and calls the blob's digests and the native ones.</summary>
    private const string Harness = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <sys/mman.h>
        #include "purgatory.h"
        unsigned long digest_buffer(const unsigned char *p, unsigned long n);
        typedef unsigned long (*digest_fn)(const unsigned char *, unsigned long);
        typedef int (*verify_fn)(const struct purgatory_region *, int, const unsigned char *);
        int main(int argc, char **argv)
        {
        	if (argc != 5) return 2;
        	unsigned long base = strtoul(argv[2], 0, 16);
        	FILE *f = fopen(argv[1], "rb");
        	if (!f) return 2;
        	fseek(f, 0, SEEK_END);
        	long size = ftell(f);
        	fseek(f, 0, SEEK_SET);
        	unsigned long length = ((unsigned long)size + 4095) & ~4095UL;
        	void *at = mmap((void *)base, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        	if (at == MAP_FAILED) return errno == EEXIST ? 3 : 4;
        	if (at != (void *)base) return 5;
        	if (fread(at, 1, size, f) != (size_t)size) return 2;
        	if (mprotect(at, length, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) return 6;
        	static unsigned char buffer[4096];
        	for (int i = 0; i < 4096; i++) buffer[i] = (unsigned char)(i * 131 + 7);
        	struct purgatory_region regions[2] = { { (unsigned long)buffer, 1000 }, { (unsigned long)buffer + 1000, 3096 } };
        	unsigned long native = digest_buffer(buffer, sizeof buffer);
        	unsigned char expected[DIGEST_SIZE];
        	for (int i = 0; i < DIGEST_SIZE; i++) expected[i] = (unsigned char)(native >> (8 * i));
        	digest_fn blob_digest = (digest_fn)(base + strtoul(argv[3], 0, 16));
        	verify_fn blob_verify = (verify_fn)(base + strtoul(argv[4], 0, 16));
        	printf("blob_digest=%lx native_digest=%lx\n", blob_digest(buffer, sizeof buffer), native);
        	printf("blob_verify=%d native_verify=%d\n", blob_verify(regions, 2, expected), verify_digest(regions, 2, expected));
        	return 0;
        }
        """;

    private static readonly string SampleFolder = Path.Combine(SdkPackage.RepositoryRoot, "samples", "purgatory");

    /// <summary>samples/purgatory's sources and <see cref="DigestTable"/> in a temp folder.</summary>
    private static TempDir SampleSources()
    {
        var dir = new TempDir();
        foreach (var f in Directory.GetFiles(SampleFolder))
            if (Path.GetExtension(f) is ".c" or ".S" or ".h")
                File.Copy(f, dir[Path.GetFileName(f)]);
        File.WriteAllText(dir["digest_table.c"], DigestTable);
        return dir;
    }

    private static readonly string[] CSources = ["digest.c", "purgatory.c", "digest_table.c"];

    /// <summary>Compiles the sample's sources and the digest table with <paramref name="flags"/> and links them with <c>ld -r</c>, the way a build outside PicGuard would.</summary>
    private static string LinkByHand(TempDir dir, string name, string compiler, string linker, params string[] flags)
    {
        var objects = new List<string>();
        foreach (var source in CSources.Append("entry.S"))
        {
            string obj = dir[$"{name}.{Path.GetFileNameWithoutExtension(source)}.o"];
            RunChecked(compiler, [.. flags, "-c", dir[source], "-o", obj]);
            objects.Add(obj);
        }
        string blob = dir[name + ".ro"];
        RunChecked(linker, ["-r", "-e", "purgatory_start", "-z", "nodefaultlib", .. objects, "-o", blob]);
        return blob;
    }

    private static readonly string HiddenHeader = Path.Combine(SdkPackage.RepositoryRoot, "src", "Sdk", "include", "picguard", "hidden.h");

    /// <summary>The policy's flags (as PicGuard compiles) for a blob built by hand.</summary>
    private static string[] PolicyFlags => ["-O2", "-mcmodel=small", "-fpic", "-fvisibility=hidden", "-ffreestanding", "-fno-stack-protector", "-fno-jump-tables", "-include", HiddenHeader];

    private static readonly string[] KernelModelFlags = ["-O2", "-mcmodel=kernel", "-fno-pic", "-ffreestanding", "-fno-stack-protector"];

    /// <summary>Three different random bases above 4 GiB (below 2^46, 64 KiB aligned).</summary>
    private static IEnumerable<ulong> RandomHighBases(Random random)
    {
        var seen = new HashSet<ulong>();
        while (true)
        {
            ulong b = (ulong)random.NextInt64(0x1_0000, 0x4000_0000) << 16;
            if (seen.Add(b)) yield return b;
        }
    }

    private static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>Section addresses from <c>picguard load</c>'s layout lines.</summary>
    private static Dictionary<string, ulong> LayoutAddresses(string output) =>
        Regex.Matches(output, @"^\s+(\S+)\s+0x([0-9a-f]{16})\s+0x[0-9a-f]+\s", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => ulong.Parse(m.Groups[2].Value, NumberStyles.HexNumber));

    /// <summary>A defined symbol's section name and value, from readelf -sW and -SW.</summary>
    private static (string Section, ulong Value) SymbolOf(string blob, string name)
    {
        var sections = ReadelfSections(blob);
        var symbol = ReadelfSymbols(blob).Single(s => s.Name == name);
        return (sections.Single(s => s.Index == int.Parse(symbol.Ndx)).Name, symbol.Value);
    }

    // ---- running above 4 GiB --------------------------------------------------------------------

    [TestMethod]
    public void DigestBuiltByPicGuard_RunsAtThreeRandomAddressesAbove4GiB_AndEqualsTheNativeFunction()
    {
        using var dir = SampleSources();
        SdkPackage.WriteProject(dir.Path, SdkPackage.SdkProject("<PicProfile>kexec-purgatory</PicProfile><PicEntryPoint>purgatory_start</PicEntryPoint><PicCFlags>-O2</PicCFlags>"), "purgatory.csproj");
        var build = SdkPackage.Build(dir.Path);
        Assert.AreEqual(0, build.ExitCode, build.All);
        string blob = dir["bin/Debug/purgatory.ro"];
        Assert.IsTrue(File.Exists(blob), build.All);
        Assert.IsTrue(PlacedImages.AssertDifferOnlyAtPatches(blob) > 0, "the function pointer table and the salt pointer differ between bases");

        File.WriteAllText(dir["harness.c"], Harness);
        // The native functions: the same sources compiled into the harness as ordinary code.
        RunChecked(Gcc, ["-O2", "-o", dir["harness"], dir["harness.c"], dir["digest.c"], dir["digest_table.c"]]);
        var digest = SymbolOf(blob, "digest_buffer");
        var verify = SymbolOf(blob, "verify_digest");

        var random = new Random();
        var ran = new List<ulong>();
        foreach (ulong b in RandomHighBases(random))
        {
            if (ran.Count == 3) break;
            string image = dir[$"purgatory.{b:x}.image"];
            var (exit, output, err) = CliTests.Cli("load", blob, "--profile", "kexec-purgatory", "--base", Hex(b), "-o", image);
            Assert.AreEqual(0, exit, output + err);
            var addresses = LayoutAddresses(output);
            Assert.AreEqual(b, addresses[".text"] & ~0xfUL, output);
            var run = Run(dir["harness"], [image, Hex(b), Hex(addresses[digest.Section] - b + digest.Value), Hex(addresses[verify.Section] - b + verify.Value)]);
            if (run.ExitCode == 3) continue; // something else is mapped there: another address
            Assert.AreEqual(0, run.ExitCode, $"harness at {Hex(b)}: {run.All}");
            var values = Regex.Matches(run.StdOut, @"(\w+)=(-?[0-9a-f]+)").ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            Assert.AreEqual(values["native_digest"], values["blob_digest"], $"at {Hex(b)}: {run.StdOut}");
            Assert.AreEqual(values["native_verify"], values["blob_verify"], $"at {Hex(b)}: {run.StdOut}");
            Assert.AreNotEqual("0", values["blob_verify"], "regions hashed with FNV-1a differ from the table digest: verify_digest reports a mismatch");
            ran.Add(b);
        }
        Assert.AreEqual(3, ran.Distinct().Count());
        Assert.IsTrue(ran.All(b => b >= 0x1_0000_0000UL));
    }

    [TestMethod]
    public void SameSourceBuiltTheOldWays_IsRefusedBeforeItRuns()
    {
        using var dir = SampleSources();
        string kernelModel = LinkByHand(dir, "kernel-model", Gcc, Ld, KernelModelFlags);
        foreach (ulong b in RandomHighBases(new Random()).Take(3))
        {
            var (checkExit, checkOut, checkErr) = CliTests.Cli("check", kernelModel, "--profile", "kexec-purgatory", "--load-address", Hex(b));
            Assert.AreEqual(1, checkExit, checkOut + checkErr);
            StringAssert.Matches(checkOut, new Regex(@"error PG0007: R_X86_64_32S? against .* overflows when the blob is placed at 0x[0-9a-f]+: the kexec-purgatory loader computes 0x[0-9a-f]+ and fails with 'Overflow in relocation type 1[01] value 0x[0-9a-f]+'"));

            string image = dir[$"kernel-model.{b:x}.image"];
            var (exit, output, err) = CliTests.Cli("load", kernelModel, "--base", Hex(b), "-o", image);
            Assert.AreEqual(1, exit, output + err);
            StringAssert.Matches(err, new Regex(@"kernel-model\.ro: error PG0007: Overflow in relocation type 1[01] value 0x[0-9a-f]{9,}\n>>> R_X86_64_32S? against "));
            Assert.IsFalse(File.Exists(image), "nothing is written when the loader fails");
        }
        // Where its 32-bit addresses fit, the same blob loads: the finding is about the placement, not the blob.
        var (lowExit, lowOut, lowErr) = CliTests.Cli("load", kernelModel, "--base", "0x100000");
        Assert.AreEqual(0, lowExit, lowOut + lowErr);

        string large = LinkByHand(dir, "large-model", Clang, Lld, "-O2", "-mcmodel=large", "-ffreestanding", "-fno-stack-protector");
        var (largeExit, largeOut, largeErr) = CliTests.Cli("check", large, "--profile", "kexec-purgatory");
        Assert.AreEqual(1, largeExit, largeOut + largeErr);
        StringAssert.Contains(largeOut, "error PG0003: section .ltext");
        StringAssert.Matches(largeOut, new Regex(@"error PG0012: 2 executable sections in a relocatable blob"));
    }

    [TestMethod]
    public void PicLoadImageBase_WritesTheImageBesideTheBlob_AndLoaderErrorsFailTheBuild()
    {
        using var dir = SampleSources();
        SdkPackage.WriteProject(dir.Path, SdkPackage.SdkProject("<PicProfile>kexec-purgatory</PicProfile><PicEntryPoint>purgatory_start</PicEntryPoint><PicCFlags>-O2</PicCFlags>"), "purgatory.csproj");
        var build = SdkPackage.Build(dir.Path, "-p:PicLoadImageBase=0x7f0000000000");
        Assert.AreEqual(0, build.ExitCode, build.All);
        string blob = dir["bin/Debug/purgatory.ro"], image = dir["bin/Debug/purgatory.image"];
        StringAssert.Contains(build.All, "purgatory.ro placed at 0x7f0000000000 by the kexec_file loader");
        CollectionAssert.AreEqual(PlaceFromReadelf(blob, 0x7f00_0000_0000), File.ReadAllBytes(image), "the image is the blob placed at the base");
        PlacedImages.AssertDifferOnlyAtPatches(blob);

        var noop = SdkPackage.Build(dir.Path, "-p:PicLoadImageBase=0x7f0000000000");
        Assert.AreEqual(0, noop.ExitCode, noop.All);
        Assert.DoesNotContain("placed at", noop.All, "nothing changed: the image is not written again");
        var moved = SdkPackage.Build(dir.Path, "-p:PicLoadImageBase=0x100000000");
        Assert.AreEqual(0, moved.ExitCode, moved.All);
        CollectionAssert.AreEqual(PlaceFromReadelf(blob, 0x1_0000_0000), File.ReadAllBytes(image), "a new base writes a new image");

        var misaligned = SdkPackage.Build(dir.Path, "-p:PicLoadImageBase=0x100000004");
        Assert.AreNotEqual(0, misaligned.ExitCode);
        StringAssert.Contains(misaligned.All, "error PG9004: purgatory.ro: PicLoadImageBase 0x100000004 is not a multiple of the blob's alignment 0x");
        Assert.IsFalse(File.Exists(image), "no image of another base is left to be taken for this one");

        var clean = SdkPackage.Dotnet(dir.Path, "clean", "-p:PicLoadImageBase=0x100000000");
        Assert.AreEqual(0, clean.ExitCode, clean.All);
    }

    // ---- the static verdict is the loader's -------------------------------------------------------

    [TestMethod]
    public void StaticVerdictAndLoad_AgreeAtEveryBase()
    {
        using var dir = SampleSources();
        string kernelModel = LinkByHand(dir, "kernel-model", Gcc, Ld, KernelModelFlags);
        string policy = LinkByHand(dir, "policy", Gcc, Ld, PolicyFlags);
        var random = new Random(16);
        var bases = new List<ulong> { 0, 0x100000, 0x7fff_0000, 0x8000_0000, 0xffff_0000, 0x1_0000_0000, 0xffff_ffff_8000_0000, 0xffff_ffff_ffff_0000 };
        for (int i = 0; i < 24; i++) bases.Add((ulong)random.NextInt64() << 1 & ~0xffffUL);
        for (int i = 0; i < 8; i++) bases.Add(0x8000_0000UL - (ulong)random.NextInt64(0, 0x10_0000) & ~0xfffUL);
        int refused = 0;
        foreach (string blob in new[] { kernelModel, policy })
        {
            foreach (ulong b in bases)
            {
                var check = new Checker(new CheckOptions(Profiles.KexecPurgatory) { LoadAddress = new LoadAddress(b, b) }).CheckFile(blob);
                var load = BlobLoad.Run(new LoadRequest(blob, Profiles.KexecPurgatory, b, []));
                var staticCodes = check.Diagnostics.Where(d => d.Code is "PG0006" or "PG0007" or "PG0008").Sum(d => d.Occurrences);
                var loaderCodes = load.Diagnostics.Count(d => d.Code is "PG0006" or "PG0007" or "PG0008");
                Assert.AreEqual(loaderCodes, staticCodes, $"{Path.GetFileName(blob)} at {Hex(b)}:\nstatic:\n{string.Join("\n", check.Diagnostics.Select(d => d.Format()))}\nload:\n{string.Join("\n", load.Diagnostics.Select(d => d.Format()))}");
                Assert.AreEqual(loaderCodes == 0, load.Succeeded);
                if (loaderCodes > 0) refused++;
            }
        }
        Assert.IsTrue(refused > 0 && refused < bases.Count, "the kernel-model blob loads low and is refused high; the policy blob loads everywhere");
        // Over a range the verdict names a base where the loader fails, and the loader does fail there.
        var any = new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(kernelModel);
        var finding = any.Diagnostics.First(d => d.Code == "PG0007");
        ulong witness = ulong.Parse(Regex.Match(finding.Message, @"e\.g\. at 0x([0-9a-f]+)").Groups[1].Value, NumberStyles.HexNumber);
        Assert.IsFalse(BlobLoad.Run(new LoadRequest(kernelModel, Profiles.KexecPurgatory, (witness + 0xfff) & ~0xfffUL, [])).Succeeded, finding.Message);
    }

    [TestMethod]
    public void OverflowOverARange_IsExact_AgainstEveryBaseInTheRange()
    {
        var formulas = LoaderModels.KexecFile.Formulas.Where(f => f.Kind != FormulaKind.Nothing).ToList();
        var random = new Random(7);
        var edges = new ulong[] { 0, 0x7fff_ff00, 0x8000_0000, 0xffff_ff00, 0x1_0000_0000, 0xffff_ffff_7fff_ff00, 0xffff_ffff_ffff_ff00, 0x8000_0000_0000_0000 };
        int checkedCases = 0;
        foreach (var f in formulas)
        {
            foreach (int slope in new[] { -1, 0, 1 })
            {
                for (int i = 0; i < 200; i++)
                {
                    ulong low = edges[random.Next(edges.Length)] + (ulong)random.Next(0, 0x200) - 0x100;
                    ulong high = low + (ulong)random.Next(0, 0x300);
                    if (high < low) continue;
                    ulong constant = edges[random.Next(edges.Length)] + (ulong)random.Next(0, 0x200) - 0x100;
                    bool found = LoaderEngine.OverflowsSomewhere(f, constant, slope, low, high, out ulong badBase, out ulong badValue);
                    ulong? first = null;
                    for (ulong b = low; ; b++)
                    {
                        if (!f.Fits(unchecked(constant + (ulong)(long)slope * b))) { first = b; break; }
                        if (b == high) break;
                    }
                    Assert.AreEqual(first.HasValue, found, $"{f.TypeName} c=0x{constant:x} slope {slope} range 0x{low:x}-0x{high:x}");
                    if (found)
                    {
                        Assert.AreEqual(first!.Value, badBase, $"{f.TypeName} c=0x{constant:x} slope {slope} range 0x{low:x}-0x{high:x}");
                        Assert.AreEqual(unchecked(constant + (ulong)(long)slope * badBase), badValue);
                    }
                    checkedCases++;
                }
            }
        }
        Assert.IsTrue(checkedCases > 2000);
        // The whole 64-bit space: a 32-bit field that moves with the base fails somewhere, a PC-relative one within the blob never.
        var abs32s = LoaderModels.KexecFile.Formula(ElfMachine.X86_64, "R_X86_64_32S")!;
        Assert.IsTrue(LoaderEngine.OverflowsSomewhere(abs32s, 0x40, 1, 0, ulong.MaxValue, out ulong at, out _));
        Assert.AreEqual(0x7fff_ffc0UL, at);
        Assert.IsFalse(LoaderEngine.OverflowsSomewhere(LoaderModels.KexecFile.Formula(ElfMachine.X86_64, "R_X86_64_PC32")!, unchecked((ulong)-0x40L), 0, 0, ulong.MaxValue, out _, out _));
    }

    [TestMethod]
    public void EveryTypeAProfileSaysItsLoaderApplies_HasAFormulaRow()
    {
        foreach (var profile in Profiles.All)
        {
            var model = LoaderModels.For(profile);
            if (model is null) continue;
            foreach (var (machine, types) in profile.LoaderAppliesTypes)
            {
                if (model.Architecture(machine) is null) continue;
                foreach (string type in types)
                    Assert.IsNotNull(model.Formula(machine, type), $"{profile.Name}: {type} is applied by the {model.Name} loader but has no formula row");
                var table = RelocationTable.For(machine, true)!;
                Assert.IsNotNull(LoaderEngine.Formulas(model, profile, table));
            }
        }
        Assert.AreSame(LoaderModels.KexecFile, LoaderModels.For(Profiles.KexecPurgatory));
        Assert.IsNull(LoaderModels.For(Profiles.Generic));
    }

    // ---- an independent placement from readelf -------------------------------------------------

    private sealed record ReadelfSection(int Index, string Name, string Type, ulong Offset, ulong Size, string Flags, int Link, int Info, ulong Align);
    private sealed record ReadelfSymbol(int Num, ulong Value, string Ndx, string Name);

    private static List<ReadelfSection> ReadelfSections(string blob) =>
        Regex.Matches(ReadElf("-SW", blob), @"^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S*)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", RegexOptions.Multiline)
            .Select(m => new ReadelfSection(int.Parse(m.Groups[1].Value), m.Groups[2].Value, m.Groups[3].Value, Convert.ToUInt64(m.Groups[4].Value, 16), Convert.ToUInt64(m.Groups[5].Value, 16),
                m.Groups[6].Value, int.Parse(m.Groups[7].Value), int.Parse(m.Groups[8].Value), ulong.Parse(m.Groups[9].Value)))
            .Where(s => s.Type != "NULL").ToList();

    private static List<ReadelfSymbol> ReadelfSymbols(string blob) =>
        Regex.Matches(ReadElf("-sW", blob), @"^\s*(\d+):\s+([0-9a-f]+)\s+\d+\s+\S+\s+\S+\s+\S+\s+(\S+)\s*(\S*)\s*$", RegexOptions.Multiline)
            .Select(m => new ReadelfSymbol(int.Parse(m.Groups[1].Value), Convert.ToUInt64(m.Groups[2].Value, 16), m.Groups[3].Value, m.Groups[4].Value)).ToList();

    /// <summary>
    /// The image the kexec_file loader makes of <paramref name="blob"/> at <paramref name="base"/>, from <c>readelf -SrsW</c>
    /// alone: allocated sections with data in header order at their alignment, zero-filled ones after the data aligned to
    /// the largest of theirs, and the x86-64 and s390x types as the psABIs define them (s390x big-endian, *DBL in halfwords).
    /// </summary>
    private static byte[] PlaceFromReadelf(string blob, ulong @base)
    {
        string text = ReadElf("-SrsW", blob);
        var sections = ReadelfSections(blob);
        var symbols = ReadelfSymbols(blob).ToDictionary(s => s.Num);
        var offsets = new Dictionary<int, ulong>();
        ulong end = 0, bssAlign = 1;
        foreach (var s in sections.Where(s => s.Flags.Contains('A')))
        {
            if (s.Type == "NOBITS") { bssAlign = Math.Max(bssAlign, s.Align); continue; }
            ulong a = Math.Max(1, s.Align);
            end = (end + a - 1) / a * a;
            offsets[s.Index] = end;
            end += s.Size;
        }
        ulong bss = (end + bssAlign - 1) / bssAlign * bssAlign, fileSize = bss;
        foreach (var s in sections.Where(s => s.Flags.Contains('A') && s.Type == "NOBITS"))
        {
            ulong a = Math.Max(1, s.Align);
            bss = (bss + a - 1) / a * a;
            offsets[s.Index] = bss;
            bss += s.Size;
        }
        var image = new byte[bss];
        byte[] file = File.ReadAllBytes(blob);
        foreach (var s in sections.Where(s => s.Flags.Contains('A') && s.Type != "NOBITS"))
            Array.Copy(file, (long)s.Offset, image, (long)offsets[s.Index], (long)s.Size);

        bool s390 = Regex.IsMatch(ReadElf("-hW", blob), @"Machine:\s+IBM S/390");
        void Put(int at, int width, ulong value)
        {
            for (int i = 0; i < width; i++)
                image[at + (s390 ? width - 1 - i : i)] = (byte)(value >> (8 * i));
        }
        ulong Get(int at, int width)
        {
            ulong v = 0;
            for (int i = 0; i < width; i++)
                v |= (ulong)image[at + (s390 ? width - 1 - i : i)] << (8 * i);
            return v;
        }
        foreach (Match block in Regex.Matches(text, @"Relocation section '([^']+)' at offset 0x[0-9a-f]+ contains \d+ entr(?:y|ies):\n.*\n((?:[0-9a-f]{16}.*\n?)*)"))
        {
            var relocationSection = sections.Single(s => s.Name == block.Groups[1].Value);
            if (!offsets.TryGetValue(relocationSection.Info, out ulong patched)) continue; // patches an unallocated section
            foreach (Match r in Regex.Matches(block.Groups[2].Value, @"^([0-9a-f]{16})\s+([0-9a-f]{16})\s+(R_(?:X86_64|390)_\w+)\s+[0-9a-f]{16}\s+.*?\s([+-])\s([0-9a-f]+)\s*$", RegexOptions.Multiline))
            {
                ulong offset = Convert.ToUInt64(r.Groups[1].Value, 16);
                int symbolIndex = (int)(Convert.ToUInt64(r.Groups[2].Value, 16) >> 32);
                long addend = (long)Convert.ToUInt64(r.Groups[5].Value, 16) * (r.Groups[4].Value == "-" ? -1 : 1);
                var symbol = symbols[symbolIndex];
                ulong s = symbol.Ndx == "ABS" ? symbol.Value : @base + offsets[int.Parse(symbol.Ndx)] + symbol.Value;
                ulong p = @base + patched + offset;
                ulong value = unchecked(s + (ulong)addend);
                int at = (int)(patched + offset);
                ulong pc = unchecked(value - p);
                switch (r.Groups[3].Value)
                {
                    case "R_X86_64_64": case "R_390_64": case "R_390_RELATIVE": Put(at, 8, value); break;
                    case "R_X86_64_32": case "R_X86_64_32S": case "R_390_32": Put(at, 4, value); break;
                    case "R_390_16": Put(at, 2, value); break;
                    case "R_390_8": Put(at, 1, value); break;
                    case "R_390_12": Put(at, 2, Get(at, 2) & 0xf000 | value & 0xfff); break;
                    case "R_390_20": Put(at, 4, Get(at, 4) & 0xf00000ff | (value & 0xfff) << 16 | (value >> 12 & 0xff) << 8); break;
                    case "R_X86_64_PC32": case "R_X86_64_PLT32": case "R_390_PC32": Put(at, 4, pc); break;
                    case "R_390_PC16": Put(at, 2, pc); break;
                    case "R_390_PC64": Put(at, 8, pc); break;
                    case "R_390_PC32DBL": case "R_390_PLT32DBL": Put(at, 4, pc >> 1); break;
                    case "R_390_PC16DBL": Put(at, 2, pc >> 1); break;
                    case "R_X86_64_NONE": case "R_390_NONE": break;
                    default: Assert.Fail($"{r.Groups[3].Value}: not a type the kexec_file loader applies"); break;
                }
            }
        }
        Assert.IsTrue(fileSize <= (ulong)image.Length);
        return image;
    }

    [TestMethod]
    [DataRow(Gcc, Ld)]
    [DataRow(Clang, Lld)]
    public void Load_AgreesByteForByte_WithAPlacementFromReadelf(string compiler, string linker)
    {
        using var dir = SampleSources();
        string policy = LinkByHand(dir, "policy", compiler, linker, PolicyFlags);
        string kernelModel = LinkByHand(dir, "kernel-model", compiler, linker, KernelModelFlags);
        foreach (var (blob, b) in new[] { (policy, 0x1_0000_0000UL), (policy, 0x7f00_dead_0000UL), (kernelModel, 0x100000UL), (kernelModel, 0x7fe0_0000UL) })
        {
            string image = dir[$"{Path.GetFileName(blob)}.{b:x}.image"];
            var (exit, output, err) = CliTests.Cli("load", blob, "--base", Hex(b), "-o", image);
            Assert.AreEqual(0, exit, output + err);
            byte[] expected = PlaceFromReadelf(blob, b);
            byte[] actual = File.ReadAllBytes(image);
            Assert.AreEqual(expected.Length, actual.Length, $"{Path.GetFileName(blob)} at {Hex(b)}: image size");
            int first = Enumerable.Range(0, expected.Length).FirstOrDefault(i => expected[i] != actual[i], -1);
            Assert.AreEqual(-1, first, $"{Path.GetFileName(blob)} at {Hex(b)}: first differing byte");
            StringAssert.Contains(output, $"written to {image}");
        }
        PlacedImages.AssertDifferOnlyAtPatches(policy);
        PlacedImages.AssertDifferOnlyAtPatches(kernelModel, firstBase: 0x100000, secondBase: 0x7fe0_0000);
    }

    [TestMethod]
    public void S390xBlob_LoadsByteForByteAsFromReadelf_AtTwoBases()
    {
        using var dir = SampleSources();
        string[] flags = ["--target=s390x-linux-gnu", "-ffreestanding", "-nostdinc", "-O2", "-fpic", "-fvisibility=hidden", "-include", HiddenHeader];
        var objects = CSources.Select(c =>
        {
            string obj = dir[$"s390x.{Path.GetFileNameWithoutExtension(c)}.o"];
            RunChecked(Clang, [.. flags, "-c", dir[c], "-o", obj]);
            return obj;
        }).ToList();
        string blob = dir["s390x.ro"];
        RunChecked(Lld, ["-r", .. objects, "-o", blob]);
        string relocations = ReadElf("-rW", blob);
        StringAssert.Contains(relocations, "R_390_PC32DBL");
        StringAssert.Contains(relocations, "R_390_64", "the digest table's function pointers");
        foreach (ulong b in new[] { 0x1_0000_0000UL, 0x3ff_f000_0000UL })
        {
            string image = dir[$"s390x.{b:x}.image"];
            var (exit, output, err) = CliTests.Cli("load", blob, "--base", Hex(b), "-o", image);
            Assert.AreEqual(0, exit, output + err);
            CollectionAssert.AreEqual(PlaceFromReadelf(blob, b), File.ReadAllBytes(image), $"s390x at {Hex(b)}");
        }
        Assert.IsTrue(PlacedImages.AssertDifferOnlyAtPatches(blob) > 0);
        Assert.IsFalse(new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(blob).Diagnostics.Any(d => d.Code is "PG0006" or "PG0007" or "PG0008"));
    }

    // ---- the command line ------------------------------------------------------------------------

    [TestMethod]
    public void Set_WritesTheSymbolsBytes_LikeKexecPurgatoryGetSetSymbol()
    {
        using var dir = SampleSources();
        string blob = LinkByHand(dir, "data", Gcc, Ld, [.. PolicyFlags, "-fno-zero-initialized-in-bss"]);
        string image = dir["data.image"];
        var (exit, output, err) = CliTests.Cli("load", blob, "--base", "0x200000000", "-o", image, "--set", "loader_digest=0011223344556677", "--set", "digest_seed=0x1122334455667788");
        Assert.AreEqual(0, exit, output + err);
        var addresses = LayoutAddresses(output);
        byte[] bytes = File.ReadAllBytes(image);
        var digest = SymbolOf(blob, "loader_digest");
        var seed = SymbolOf(blob, "digest_seed");
        CollectionAssert.AreEqual(Convert.FromHexString("0011223344556677"), bytes.AsSpan((int)(addresses[digest.Section] - 0x200000000 + digest.Value), 8).ToArray());
        Assert.AreEqual(0x1122334455667788UL, BitConverter.ToUInt64(bytes, (int)(addresses[seed.Section] - 0x200000000 + seed.Value)));
        StringAssert.Contains(output, "2 symbol(s) set");

        // In .bss (no -fno-zero-initialized-in-bss), of the wrong size, or local: the loader's refusals.
        string bss = LinkByHand(dir, "bss", Gcc, Ld, PolicyFlags);
        var inBss = CliTests.Cli("load", bss, "--base", "0x200000000", "--set", "loader_digest=0011223344556677");
        Assert.AreEqual(2, inBss.Exit);
        StringAssert.Contains(inBss.Err, "symbol loader_digest is in a bss section. Cannot set");
        var size = CliTests.Cli("load", blob, "--base", "0x200000000", "--set", "loader_digest=0011");
        StringAssert.Contains(size.Err, "symbol loader_digest size mismatch: expected 8 actual 2");
        var local = CliTests.Cli("load", blob, "--base", "0x200000000", "--set", "digest_failed=00000000");
        StringAssert.Contains(local.Err, "no global symbol 'digest_failed'");
    }

    [TestMethod]
    public void BadOptionsAndInputs_AreOnePG9004OrInputError_AndWriteNothing()
    {
        using var dir = SampleSources();
        string blob = LinkByHand(dir, "policy", Gcc, Ld, PolicyFlags);
        string image = dir["out.image"];
        foreach (var (args, what) in new (string[], string)[]
        {
            (["--base", "somewhere"], "--base is 'somewhere', which is not one address"),
            (["--base", "0x1000-0x2000"], "which is not one address"),
            (["--base", "0x100000001"], "is not a multiple of the blob's alignment 0x"),
            (["--base", "0xfffffffffffff000"], "would run past the end of the 64-bit address space"),
            (["--base", "0x100000000", "--profile", "generic"], "whose loader PicGuard does not model"),
            (["--base", "0x100000000", "--profile", "kexec"], "is not a PicGuard profile"),
            (["--base", "0x100000000", "--set", "purgatory_digest"], "--set is 'purgatory_digest'; use SYMBOL=HEX"),
            (["--base", "0x100000000", "--set", "purgatory_digest=0x"], "is not a hexadecimal number"),
            (["--base", "0x100000000", "--set", "purgatory_digest=abc"], "is not a whole number of bytes"),
        })
        {
            var (exit, output, err) = CliTests.Cli(["load", blob, "-o", image, .. args]);
            Assert.AreEqual(2, exit, string.Join(' ', args) + "\n" + err);
            StringAssert.Contains(err, "error PG9004: ");
            StringAssert.Contains(err, what);
            Assert.IsFalse(err.Contains("   at "), "no stack trace: " + err);
            Assert.IsFalse(File.Exists(image));
        }
        var noBase = CliTests.Cli("load", blob, "-o", image);
        Assert.AreEqual(2, noBase.Exit, noBase.Err);
        StringAssert.Contains(noBase.Err, "--base");
        StringAssert.Contains(noBase.Err, "usage: picguard load BLOB --base ADDR");
        Assert.IsFalse(File.Exists(image));
        var missing = CliTests.Cli("load", dir["missing.ro"], "--base", "0x100000000");
        Assert.AreEqual(1, missing.Exit);
        StringAssert.Contains(missing.Err, "error PG9003: input file");

        string pie = dir["pie.elf"];
        RunChecked(Ld, ["-pie", "--no-dynamic-linker", "-e", "purgatory_start", "-o", pie, blob]);
        var linked = CliTests.Cli("load", pie, "--base", "0x100000000");
        Assert.AreEqual(2, linked.Exit, linked.Err);
        StringAssert.Contains(linked.Err, "places relocatable objects (ld -r, ET_REL) only");

        string arm = CompileForTarget(dir.Path, "a.c", Sources.StaticOnly, "aarch64-linux-gnu", "-O2", "-fpic");
        var other = CliTests.Cli("load", arm, "--base", "0x100000000");
        Assert.AreEqual(2, other.Exit, other.Err);
        StringAssert.Contains(other.Err, "has no relocation formulas for");
    }

    [TestMethod]
    public void UndefinedAndCommonSymbols_AreTheLoadersRefusals_InCheckAndLoad()
    {
        using var dir = new TempDir();
        string undefined = Compile(dir.Path, "u.c", "#pragma GCC visibility push(hidden)\n" + Sources.ExternVariable, Gcc, CatalogRuleTests.Policy);
        string common = Compile(dir.Path, "c.c", "int shared_counter; int bump(void) { return ++shared_counter; }\n", Gcc, [.. CatalogRuleTests.Policy, "-fcommon", "-fvisibility=default"]);
        var u = CliTests.Cli("load", undefined, "--base", "0x100000000");
        Assert.AreEqual(1, u.Exit, u.Err);
        StringAssert.Contains(u.Err, "error PG0008: Undefined symbol: external_counter");
        var uCheck = new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(undefined);
        StringAssert.Contains(uCheck.Diagnostics.Single(d => d.Code == "PG0008").Message, "fails with 'Undefined symbol: external_counter'");

        var c = CliTests.Cli("load", common, "--base", "0x100000000");
        Assert.AreEqual(1, c.Exit, c.Err);
        StringAssert.Contains(c.Err, "error PG0008: symbol 'shared_counter' in common section");
        var cCheck = new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(common);
        StringAssert.Contains(cCheck.Diagnostics.First(d => d.Code == "PG0008").Message, "common symbol 'shared_counter'");
    }
}
