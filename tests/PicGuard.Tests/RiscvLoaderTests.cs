using System.Globalization;
using System.Text.RegularExpressions;
using PicGuard.Loaders;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// The riscv64 kexec_file loader model: a purgatory-like blob built by clang for riscv64 and linked <c>ld.lld -r</c> is
/// placed by <c>picguard load</c> byte for byte as an independent placement from <c>llvm-readelf</c> output computes it,
/// and the medlow build (absolute R_RISCV_HI20/LO12_I) is refused by <c>check</c> and <c>load</c> alike.
/// </summary>
[TestClass]
public sealed class RiscvLoaderTests
{
    /// <summary>
    /// A digest with calls, loops, a switch (a jump table: R_RISCV_ADD32/SUB32 pairs), a pointer table in data
    /// (R_RISCV_64) and PC-relative addresses of globals (R_RISCV_PCREL_HI20 + PCREL_LO12_I).
    /// </summary>
    private const string Source = """
        struct region { unsigned long start, len; };
        struct region purgatory_sha_regions[4] = { { 1, 2 } };
        unsigned char purgatory_sha256_digest[32] = { 1 };
        static unsigned int table[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
        static const char *names[] = { "alpha", "beta" };
        typedef unsigned int (*step_fn)(unsigned int, unsigned char);
        __attribute__((noinline)) static unsigned int step_mix(unsigned int a, unsigned char b) { return (a * 31u) ^ b ^ table[a & 15]; }
        __attribute__((noinline)) static unsigned int step_add(unsigned int a, unsigned char b) { return a + b + table[b & 15]; }
        static step_fn steps[] = { step_mix, step_add };
        unsigned int digest(const unsigned char *p, unsigned long n)
        {
            unsigned int h = 5381;
            for (unsigned long i = 0; i < n; i++) { h = steps[i & 1](h, p[i]); if (h == 7) break; }
            switch (n & 7) {
            case 0: h += 3; break; case 1: h ^= 9; break; case 2: h -= 11; break; case 3: h *= 5; break;
            case 4: h += (unsigned char)names[n & 1][0]; break; case 5: h ^= 0x1234; break; default: h ^= 0x55;
            }
            return h;
        }
        __attribute__((noinline)) int verify(void)
        {
            unsigned int s = 0;
            for (int i = 0; i < 4; i++) s += digest((const unsigned char *)purgatory_sha_regions[i].start, purgatory_sha_regions[i].len);
            return s == purgatory_sha256_digest[0];
        }
        int purgatory(void) { return verify(); }
        """;

    /// <summary>
    /// The same with <c>verify</c> inlined into a loop: clang hoists the auipc of <c>purgatory_sha256_digest</c> out of the
    /// loop and leaves its %pcrel_lo load inside, so the pair is no longer adjacent.
    /// </summary>
    private static readonly string HoistedSource = Source
        .Replace("__attribute__((noinline)) int verify(void)", "static int verify(void)")
        .Replace("int purgatory(void) { return verify(); }", "void purgatory(void) { while (!verify()) { } }");

    private static readonly string[] MedanyFlags = ["--target=riscv64-linux-gnu", "-O2", "-fpic", "-fvisibility=hidden", "-mcmodel=medany", "-ffreestanding"];

    private static string Build(TempDir dir, string name, string[] flags) => Build(dir, name, Source, flags);

    private static string Build(TempDir dir, string name, string source, params string[] flags)
    {
        File.WriteAllText(dir["purgatory.c"], source);
        string obj = dir[name + ".o"], blob = dir[name + ".ro"];
        RunChecked(Clang, [.. flags, "-c", dir["purgatory.c"], "-o", obj]);
        RunChecked(Lld, ["-r", obj, "-o", blob]);
        return blob;
    }

    private static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    [TestMethod]
    [DataRow("relax")]
    [DataRow("no-relax")]
    public void Riscv64Blob_LoadsByteForByteAsFromReadelf_AtTwoBases(string relax)
    {
        using var dir = new TempDir();
        string blob = Build(dir, relax, relax == "relax" ? MedanyFlags : [.. MedanyFlags, "-mno-relax"]);
        string relocations = RunChecked(LlvmReadelf, ["-rW", blob]).StdOut;
        foreach (string type in new[] { "R_RISCV_PCREL_HI20", "R_RISCV_PCREL_LO12_I", "R_RISCV_64", "R_RISCV_ADD32", "R_RISCV_SUB32" })
            StringAssert.Contains(relocations, type, $"the {relax} build has no {type}");
        if (relax == "relax")
            foreach (string type in new[] { "R_RISCV_CALL_PLT", "R_RISCV_BRANCH", "R_RISCV_RVC_BRANCH", "R_RISCV_RVC_JUMP", "R_RISCV_RELAX" })
                StringAssert.Contains(relocations, type, $"the relaxable build keeps its branches as {type}");

        foreach (ulong b in new[] { 0x8020_0000UL, 0x7fff_1234_5000UL })
        {
            string image = dir[$"{relax}.{b:x}.image"];
            var (exit, output, err) = CliTests.Cli("load", blob, "--profile", "kexec-purgatory", "--base", Hex(b), "-o", image);
            Assert.AreEqual(0, exit, output + err);
            byte[] expected = PlaceFromReadelf(blob, b), actual = File.ReadAllBytes(image);
            Assert.AreEqual(expected.Length, actual.Length, $"{relax} at {Hex(b)}: image size");
            int first = Enumerable.Range(0, expected.Length).FirstOrDefault(i => expected[i] != actual[i], -1);
            Assert.AreEqual(-1, first, $"{relax} at {Hex(b)}: first differing byte");
        }
        Assert.IsTrue(PlacedImages.AssertDifferOnlyAtPatches(blob, firstBase: 0x8020_0000, secondBase: 0x7fff_1234_5000) > 0);
        var diagnostics = new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(blob).Diagnostics;
        Assert.IsFalse(diagnostics.Any(d => d.Code is "PG0006" or "PG0007" or "PG0008"), string.Join("\n", diagnostics.Select(d => d.Format())));
    }

    [TestMethod]
    public void Riscv64MedlowBlob_IsRefusedByCheckAndLoad_WithTheLoadersMessage()
    {
        using var dir = new TempDir();
        string blob = Build(dir, "medlow", Source, "--target=riscv64-linux-gnu", "-O2", "-fno-pic", "-mcmodel=medlow", "-ffreestanding");
        StringAssert.Contains(RunChecked(LlvmReadelf, ["-rW", blob]).StdOut, "R_RISCV_HI20");

        var diagnostics = new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(blob).Diagnostics;
        Assert.IsTrue(diagnostics.Any(d => d.Code == "PG0006" && d.Format().Contains("R_RISCV_HI20") && d.Format().Contains("'Unknown rela relocation: 26'")),
            string.Join("\n", diagnostics.Select(d => d.Format())));

        string image = dir["medlow.image"];
        var (exit, output, err) = CliTests.Cli("load", blob, "--profile", "kexec-purgatory", "--base", "0x80200000", "-o", image);
        Assert.AreNotEqual(0, exit, output);
        StringAssert.Contains(output + err, "error PG0006: Unknown rela relocation: 26");
        Assert.IsFalse(File.Exists(image), "a refused blob writes no image");
    }

    [TestMethod]
    [DataRow("relax")]
    [DataRow("no-relax")]
    public void HoistedAuipc_IsRefusedByCheckAndLoad_BecauseTheLoaderWritesTheWordAfterIt(string relax)
    {
        using var dir = new TempDir();
        string blob = Build(dir, "hoisted", HoistedSource, relax == "relax" ? MedanyFlags : [.. MedanyFlags, "-mno-relax"]);
        var apart = Regex.Matches(RunChecked(LlvmReadelf, ["-rW", blob]).StdOut, @"^([0-9a-f]{16})\s+[0-9a-f]{16}\s+R_RISCV_PCREL_LO12_I\s+([0-9a-f]{16})\s", RegexOptions.Multiline)
            .Where(m => Convert.ToUInt64(m.Groups[1].Value, 16) != Convert.ToUInt64(m.Groups[2].Value, 16) + 4).ToList();
        Assert.AreEqual(1, apart.Count, "clang hoists one auipc out of the loop");
        ulong lo = Convert.ToUInt64(apart[0].Groups[1].Value, 16), hi = Convert.ToUInt64(apart[0].Groups[2].Value, 16);

        var diagnostics = new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(blob).Diagnostics.Where(d => d.Code == "PG0006").Select(d => d.Format()).ToList();
        Assert.AreEqual(2, diagnostics.Count, string.Join("\n", diagnostics));
        Assert.IsTrue(diagnostics.Any(d => d.Contains($"R_RISCV_PCREL_LO12_I at .text+0x{lo:x} ") && d.Contains("keeps its unrelocated immediate")), string.Join("\n", diagnostics));
        Assert.IsTrue(diagnostics.Any(d => d.Contains($"R_RISCV_PCREL_HI20 at .text+0x{hi:x}:") && d.Contains("corrupted")), string.Join("\n", diagnostics));
        Assert.IsTrue(diagnostics.All(d => Regex.IsMatch(d, @"\n>>> referenced by \w+\+0x[0-9a-f]+ \(\.text\+0x[0-9a-f]+\) in ")), "each names its function and place:\n" + string.Join("\n", diagnostics));

        string image = dir["hoisted.image"];
        var (exit, output, err) = CliTests.Cli("load", blob, "--profile", "kexec-purgatory", "--base", "0x80200000", "-o", image);
        Assert.AreNotEqual(0, exit, output);
        StringAssert.Contains(output + err, $"error PG0006: R_RISCV_PCREL_LO12_I at .text+0x{lo:x} ");
        StringAssert.Contains(output + err, $"error PG0006: R_RISCV_PCREL_HI20 at .text+0x{hi:x}:");
        Assert.IsFalse(File.Exists(image), "a refused blob writes no image");
    }

    [TestMethod]
    public void PcrelLo12_NotAfterItsHi20_IsRefused_BecauseTheLoaderWritesTheWordAfterTheAuipc()
    {
        using var dir = new TempDir();
        // The kernel writes the low 12 bits with the PCREL_HI20, into the word after the auipc: a pair with an
        // instruction between is relocated wrong, and the instruction after the auipc is corrupted.
        File.WriteAllText(dir["split.S"], """
            .option norelax
            .option norvc
            .text
            .globl f
            f:
            .Lhi: auipc a0, %pcrel_hi(value)
                  add a1, a1, a2
                  ld a0, %pcrel_lo(.Lhi)(a0)
                  ret
            .data
            .p2align 3
            value: .quad 42
            """);
        RunChecked(Clang, ["--target=riscv64-linux-gnu", "-c", dir["split.S"], "-o", dir["split.o"]]);
        string blob = dir["split.ro"];
        RunChecked(Lld, ["-r", dir["split.o"], "-o", blob]);
        var (exit, output, err) = CliTests.Cli("load", blob, "--profile", "kexec-purgatory", "--base", "0x80200000", "-o", dir["split.image"]);
        Assert.AreNotEqual(0, exit, output);
        StringAssert.Contains(output + err, "error PG0006: R_RISCV_PCREL_HI20 at .text+0x0:");
        StringAssert.Contains(output + err, "error PG0006: R_RISCV_PCREL_LO12_I at .text+0x8 (against .Lhi)");
        Assert.IsFalse(File.Exists(dir["split.image"]));
    }

    [TestMethod]
    public void UndefinedSymbol_IsPG0008InCheckAndLoad_ThoughTheRiscvLoaderWouldUseAddressZero()
    {
        using var dir = new TempDir();
        string blob = Build(dir, "undefined", "extern void helper(void);\nvoid purgatory(void) { helper(); }\n", [.. MedanyFlags, "-mno-relax"]);
        var diagnostics = new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(blob).Diagnostics.Where(d => d.Code == "PG0008").Select(d => d.Format()).ToList();
        Assert.AreEqual(1, diagnostics.Count, string.Join("\n", diagnostics));
        StringAssert.Contains(diagnostics[0], "undefined symbol 'helper': the kexec-purgatory loader does not check it, and uses address 0x0");

        string image = dir["undefined.image"];
        var (exit, output, err) = CliTests.Cli("load", blob, "--profile", "kexec-purgatory", "--base", "0x80200000", "-o", image);
        Assert.AreNotEqual(0, exit, output);
        StringAssert.Contains(output + err, "error PG0008: helper is undefined, and the loader does not check: it uses address 0x0");
        Assert.IsFalse(File.Exists(image));
    }

    // ---- an independent placement from llvm-readelf -SrsW ----------------------------------------

    private const string LlvmReadelf = "llvm-readelf-19";

    /// <summary>
    /// The image of <paramref name="blob"/> at <paramref name="base"/> from <c>llvm-readelf -SrsW</c>: sections in header
    /// order at their alignment (no zero-filled ones in these blobs), and the riscv types as the psABI defines them, each
    /// PCREL_LO12_I taking its value from the PCREL_HI20 at the address its symbol names.
    /// </summary>
    private static byte[] PlaceFromReadelf(string blob, ulong @base)
    {
        string text = RunChecked(LlvmReadelf, ["-SrsW", blob]).StdOut;
        var sections = Regex.Matches(text, @"^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+[0-9a-f]{16}\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S*)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", RegexOptions.Multiline)
            .Select(m => (Index: int.Parse(m.Groups[1].Value), Name: m.Groups[2].Value, Type: m.Groups[3].Value, Offset: Convert.ToInt64(m.Groups[4].Value, 16),
                Size: Convert.ToInt64(m.Groups[5].Value, 16), Flags: m.Groups[6].Value, Info: int.Parse(m.Groups[8].Value), Align: long.Parse(m.Groups[9].Value)))
            .ToList();
        var symbols = Regex.Matches(text, @"^\s*(\d+):\s+([0-9a-f]{16})\s+\d+\s+\S+\s+\S+\s+\S+\s+(\S+)", RegexOptions.Multiline)
            .ToDictionary(m => int.Parse(m.Groups[1].Value), m => (Value: Convert.ToUInt64(m.Groups[2].Value, 16), Ndx: m.Groups[3].Value));
        Assert.IsFalse(sections.Any(s => s.Flags.Contains('A') && s.Type == "NOBITS"), "the test blob has no zero-filled section");
        var offsets = new Dictionary<int, long>();
        long end = 0;
        foreach (var s in sections.Where(s => s.Flags.Contains('A')))
        {
            long a = Math.Max(1, s.Align);
            end = (end + a - 1) / a * a;
            offsets[s.Index] = end;
            end += s.Size;
        }
        var image = new byte[end];
        byte[] file = File.ReadAllBytes(blob);
        foreach (var s in sections.Where(s => s.Flags.Contains('A')))
            Array.Copy(file, s.Offset, image, offsets[s.Index], s.Size);

        uint Word(long at) => (uint)(image[at] | image[at + 1] << 8 | image[at + 2] << 16 | image[at + 3] << 24);
        void SetWord(long at, uint w) { for (int i = 0; i < 4; i++) image[at + i] = (byte)(w >> (8 * i)); }
        ushort Half(long at) => (ushort)(image[at] | image[at + 1] << 8);
        void SetHalf(long at, uint h) { image[at] = (byte)h; image[at + 1] = (byte)(h >> 8); }
        // Bits [hi:lo] of the offset go to instruction bit 'to' upwards: (hi, lo, to) triples from the ISA's format tables.
        static uint Scatter(ulong v, params (int Hi, int Lo, int To)[] pieces)
        {
            uint w = 0;
            foreach (var (hi, lo, to) in pieces)
                w |= (uint)((v >> lo) & ((1UL << (hi - lo + 1)) - 1)) << to;
            return w;
        }
        static uint Mask(params (int Hi, int Lo, int To)[] pieces) => Scatter(ulong.MaxValue, pieces);
        (int, int, int)[] bType = [(12, 12, 31), (10, 5, 25), (4, 1, 8), (11, 11, 7)];
        (int, int, int)[] jType = [(20, 20, 31), (10, 1, 21), (11, 11, 20), (19, 12, 12)];
        (int, int, int)[] cbType = [(8, 8, 12), (4, 3, 10), (7, 6, 5), (2, 1, 3), (5, 5, 2)];
        (int, int, int)[] cjType = [(11, 11, 12), (4, 4, 11), (9, 8, 9), (10, 10, 8), (6, 6, 7), (7, 7, 6), (3, 1, 3), (5, 5, 2)];
        static ulong Hi20(ulong v) => unchecked(v + 0x800) >> 12 & 0xfffff;
        void Patch(long at, (int, int, int)[] format, ulong v) => SetWord(at, Word(at) & ~Mask(format) | Scatter(v, format));
        void PatchHalf(long at, (int, int, int)[] format, ulong v) => SetHalf(at, (uint)(Half(at) & ~Mask(format) | Scatter(v, format)));
        void SetUType(long at, ulong v) => SetWord(at, Word(at) & 0xfff | (uint)Hi20(v) << 12);
        void SetIType(long at, ulong v) => SetWord(at, Word(at) & 0xfffff | (uint)(v & 0xfff) << 20);

        var hi20 = new Dictionary<ulong, ulong>(); // the address of each PCREL_HI20's auipc -> its S + A - P
        var lo12 = new List<(long At, ulong Label)>();
        var matches = Regex.Matches(text, @"Relocation section '([^']+)' at offset 0x[0-9a-f]+ contains \d+ entr(?:y|ies):\n.*\n((?:[0-9a-f]{16}.*\n?)*)");
        Assert.IsTrue(matches.Count > 0, text);
        foreach (Match block in matches)
        {
            var relocationSection = sections.Single(s => s.Name == block.Groups[1].Value);
            long patched = offsets[relocationSection.Info];
            foreach (Match r in Regex.Matches(block.Groups[2].Value, @"^([0-9a-f]{16})\s+([0-9a-f]{16})\s+(R_RISCV_\w+)\s*(?:[0-9a-f]{16}\s+.*?\s([+-])\s([0-9a-f]+))?.*$", RegexOptions.Multiline))
            {
                string type = r.Groups[3].Value;
                if (type is "R_RISCV_RELAX" or "R_RISCV_ALIGN") continue;
                long at = patched + Convert.ToInt64(r.Groups[1].Value, 16);
                var symbol = symbols[(int)(Convert.ToUInt64(r.Groups[2].Value, 16) >> 32)];
                long addend = Convert.ToInt64(r.Groups[5].Value, 16) * (r.Groups[4].Value == "-" ? -1 : 1);
                ulong s = symbol.Ndx == "ABS" ? symbol.Value : @base + (ulong)offsets[int.Parse(symbol.Ndx)] + symbol.Value;
                ulong value = unchecked(s + (ulong)addend), p = @base + (ulong)at, pc = unchecked(value - p);
                switch (type)
                {
                    case "R_RISCV_64": for (int i = 0; i < 8; i++) image[at + i] = (byte)(value >> (8 * i)); break;
                    case "R_RISCV_ADD32": SetWord(at, unchecked(Word(at) + (uint)value)); break;
                    case "R_RISCV_SUB32": SetWord(at, unchecked(Word(at) - (uint)value)); break;
                    case "R_RISCV_ADD16": SetHalf(at, unchecked((uint)Half(at) + (uint)value)); break;
                    case "R_RISCV_SUB16": SetHalf(at, unchecked((uint)Half(at) - (uint)value)); break;
                    case "R_RISCV_BRANCH": Patch(at, bType, pc); break;
                    case "R_RISCV_JAL": Patch(at, jType, pc); break;
                    case "R_RISCV_RVC_BRANCH": PatchHalf(at, cbType, pc); break;
                    case "R_RISCV_RVC_JUMP": PatchHalf(at, cjType, pc); break;
                    case "R_RISCV_CALL": case "R_RISCV_CALL_PLT": SetUType(at, pc); SetIType(at + 4, pc); break;
                    case "R_RISCV_PCREL_HI20": SetUType(at, pc); hi20[p] = pc; break;
                    case "R_RISCV_PCREL_LO12_I": lo12.Add((at, value)); break;
                    default: Assert.Fail($"{type}: not a type the riscv64 kexec_file loader applies"); break;
                }
            }
        }
        Assert.IsTrue(lo12.Count > 0);
        foreach (var (at, label) in lo12)
        {
            Assert.IsTrue(hi20.TryGetValue(label, out ulong pc), $"no PCREL_HI20 at 0x{label:x}");
            SetIType(at, pc);
        }
        return image;
    }
}
