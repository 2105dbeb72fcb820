using Iced.Intel;
using PicGuard.Diagnostics;

namespace PicGuard.Tests;

/// <summary>
/// The common instructions read without Iced (<see cref="CommonInstructions"/>) against Iced itself: every byte sequence
/// of the forms it reads and of the forms around them (other prefixes, opcodes, ModRM and SIB bytes, displacements and
/// immediates) that it claims has Iced's length and Iced's text, as <see cref="InstructionDecoder"/> writes it.
/// </summary>
[TestClass]
public sealed class CommonInstructionsTests
{
    private static readonly byte[][] Prefixes =
        [[], [0x2E], [0x3E], [0x26], [0x64], [0x66], [0xF2], [0xF3], [0xF0], [0x40], [0x41], [0x44], [0x48], [0x49], [0x4A], [0x4C], [0x4D], [0x4F], [0x2E, 0x48], [0x66, 0x48]];

    private static readonly byte[][] Fields = [[0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], [0x00, 0x00, 0x00, 0x80], [0xC8, 0x01, 0x00, 0x00], [0x78, 0x56, 0x34, 0x12]];

    private static IEnumerable<byte[]> Candidates()
    {
        var opcodes = new List<byte[]> { new byte[] { 0xE8 }, new byte[] { 0xE9 }, new byte[] { 0xC6 }, new byte[] { 0x89 } };
        for (int r = 0; r < 8; r++) opcodes.Add([(byte)(0xB8 + r)]);
        foreach (var prefix in Prefixes)
        {
            foreach (var opcode in opcodes)
                foreach (var field in Fields)
                {
                    yield return [.. prefix, .. opcode, .. field];
                    yield return [.. prefix, .. opcode, .. field, .. field]; // imm64 for movabs
                }
            // C7 with every ModRM byte, the SIB bytes around "no index, rsp base", and each displacement size.
            for (int modrm = 0; modrm < 256; modrm++)
                foreach (byte sib in new byte[] { 0x24, 0x25, 0x20, 0x64, 0x8C, 0xA4 })
                    foreach (var displacement in new byte[][] { [], [0x08], [0xF8], [0x80], [0x00], [0xC8, 0x01, 0x00, 0x00], [0x00, 0x00, 0x00, 0x80] })
                        foreach (var immediate in new byte[][] { [0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], [0x00, 0x00, 0x00, 0x80] })
                        {
                            bool hasSib = (modrm >> 6) != 3 && (modrm & 7) == 4;
                            if (!hasSib && sib != 0x24) continue;
                            yield return [.. prefix, 0xC7, (byte)modrm, .. hasSib ? new[] { sib } : [], .. displacement, .. immediate];
                        }
        }
    }

    [TestMethod]
    public void EveryInstructionReadWithoutIced_HasIcedsLengthAndText()
    {
        const ulong ip = 0x40;
        int read = 0, branches = 0, stores = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var candidate in Candidates())
        {
            int length = InstructionLength.Of64(candidate);
            if (length <= 0 || !CommonInstructions.Reads64(candidate.AsSpan(0, length), ip, out bool branch, out ulong target))
                continue;
            string text = CommonInstructions.Text64(candidate.AsSpan(0, length));
            var decoder = Decoder.Create(64, new ByteArrayCodeReader(candidate), ip);
            decoder.Decode(out var instruction);
            string bytes = Convert.ToHexString(candidate.AsSpan(0, length));
            Assert.IsFalse(instruction.IsInvalid, bytes);
            Assert.AreEqual(instruction.Length, length, bytes);
            string expected = InstructionDecoder.Format(instruction);
            string actual = branch ? text + "0x" + target.ToString("x") : text;
            Assert.AreEqual(expected, actual, bytes);
            if (branch) Assert.AreEqual(instruction.NearBranchTarget, target, bytes);
            read++;
            branches += branch ? 1 : 0;
            stores += text.StartsWith("mov qword ptr [", StringComparison.Ordinal) ? 1 : 0;
            seen.Add(text.Split(' ')[0] + (branch ? "" : text.Contains('[') ? "[]" : " r"));
        }
        // Each form was met, many times over (so a form that stopped being read would fail here).
        Assert.IsTrue(read > 1000, $"{read} read");
        Assert.IsTrue(branches >= 20, $"{branches} branches");
        Assert.IsTrue(stores > 500, $"{stores} stores");
        CollectionAssert.IsSubsetOf(new[] { "call", "jmp", "cs", "mov r", "mov[]" }, seen.ToList(), string.Join(", ", seen));
    }

    [TestMethod]
    public void NearMisses_AreLeftToIced()
    {
        // An index register, a RIP-relative operand, C7 with a nonzero reg field, a REX that is no W, a second prefix.
        foreach (string hex in new[] { "48C704C500000000" + "00000000", "48C7050000000000000000", "48C7C800000000", "40B800000000", "F2E800000000", "3EE800000000", "6648C7C000000000" })
        {
            var bytes = Convert.FromHexString(hex);
            int length = InstructionLength.Of64(bytes);
            Assert.IsFalse(length > 0 && CommonInstructions.Reads64(bytes.AsSpan(0, length), 0, out _, out _), hex);
        }
    }
}
