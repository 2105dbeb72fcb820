using System.Buffers.Binary;

namespace PicGuard.Diagnostics;

/// <summary>
/// The text of the few instructions that most relocation sites in 64-bit code are, read from their bytes and written as
/// Iced's fast formatter writes them (<see cref="InstructionDecoder.Format"/>): a call or jump to a symbol
/// (<c>call 0x15</c>, the kernel's <c>cs call</c>), an absolute address loaded into a register (<c>mov edi, 0x0</c>,
/// <c>mov rdi, 0x0</c>, <c>movabs</c>) or stored to memory (<c>mov qword ptr [rbx+0x8], 0x0</c>). Of the kernel modules'
/// 160,344 listed sites, 94% are such.
/// </summary>
/// <remarks>
/// Why not Iced for these too: Iced's decoder builds its handler tables for every instruction set (legacy, VEX, EVEX,
/// XOP, MVEX) and its formatter its mnemonic table on first use, in every process. Listing one small kernel module
/// (cmac.ko, 40 findings), that was 4.5 M of the 7.3 M instructions the whole run ran and 173 of its 409 page faults.
/// An object whose listed sites are all of these forms never builds them. Anything else (another prefix, an index
/// register, a RIP-relative operand, 32-bit code) is Iced's. <c>CommonInstructionsTests</c> checks every form, and
/// the near misses around them, against Iced's text and length.
/// </remarks>
internal static class CommonInstructions
{
    private static readonly string[] Registers64 =
        ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

    private static readonly string[] Registers32 =
        ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"];

    /// <summary>
    /// Whether the one instruction <paramref name="bytes"/> holds (its whole length, as <see cref="InstructionLength.Of64"/>
    /// found it) is one of the common forms, and so whether <see cref="Text64"/> writes it; a near branch
    /// (<paramref name="branch"/>) with its target, at address <paramref name="ip"/>. Nothing is formatted: a site's text
    /// is most often known already (<see cref="SiteDecoder"/> keeps them by their bytes).
    /// </summary>
    public static bool Reads64(ReadOnlySpan<byte> bytes, ulong ip, out bool branch, out ulong target) =>
        Read64(bytes, ip, formats: false, out _, out branch, out target);

    /// <summary>The text of an instruction <see cref="Reads64"/> reads: a near branch's before its target (nothing follows the target).</summary>
    public static string Text64(ReadOnlySpan<byte> bytes) =>
        Read64(bytes, 0, formats: true, out string text, out _, out _) ? text : throw new ArgumentException("not a common instruction", nameof(bytes));

    private static bool Read64(ReadOnlySpan<byte> bytes, ulong ip, bool formats, out string text, out bool branch, out ulong target)
    {
        text = "";
        branch = false;
        target = 0;
        int n = bytes.Length;
        if (n < 5) return false;
        byte first = bytes[0];

        // call/jmp rel32, alone or after a CS segment prefix.
        int op = first == 0x2E ? 1 : 0;
        if (n == op + 5 && bytes[op] is 0xE8 or 0xE9)
        {
            branch = true;
            text = (op, bytes[op]) switch
            {
                (0, 0xE8) => "call ",
                (0, _) => "jmp ",
                (_, 0xE8) => "cs call ",
                _ => "cs jmp ",
            };
            target = ip + (ulong)n + (ulong)(long)BinaryPrimitives.ReadInt32LittleEndian(bytes[(op + 1)..]);
            return true;
        }

        // mov r32, imm32 (B8+r), r8d-r15d with REX.B.
        int rex = first == 0x41 ? 1 : 0;
        if (n == rex + 5 && (bytes[rex] & 0xF8) == 0xB8)
        {
            if (formats) text = $"mov {Registers32[(bytes[rex] & 7) + rex * 8]}, {Hex(BinaryPrimitives.ReadUInt32LittleEndian(bytes[(rex + 1)..]))}";
            return true;
        }

        if (first is not (0x48 or 0x49)) return false; // REX.W, and REX.B or not: no index or ModRM register extension
        int b = (first & 1) * 8;

        // movabs r64, imm64 (REX.W B8+r).
        if (n == 10 && (bytes[1] & 0xF8) == 0xB8)
        {
            if (formats) text = $"mov {Registers64[(bytes[1] & 7) + b]}, {Hex(BinaryPrimitives.ReadUInt64LittleEndian(bytes[2..]))}";
            return true;
        }

        // mov r/m64, imm32 sign-extended (REX.W C7 /0): a register, or memory at a base register and displacement.
        if (bytes[1] != 0xC7 || n < 7) return false;
        byte modrm = bytes[2];
        int mod = modrm >> 6, rm = modrm & 7;
        if ((modrm >> 3 & 7) != 0) return false;
        if (mod == 3)
        {
            if (n != 7) return false;
            if (formats) text = $"mov {Registers64[rm + b]}, {Immediate(bytes)}";
            return true;
        }
        int at = 3;
        if (rm == 4)
        {
            if (bytes[3] != 0x24) return false; // a SIB byte with no index and rsp (r12) as the base, and nothing else
            at = 4;
        }
        else if (mod == 0 && rm == 5)
        {
            return false; // RIP-relative: the text depends on the address
        }
        int displacementSize = mod switch { 1 => 1, 2 => 4, _ => 0 };
        if (n != at + displacementSize + 4) return false;
        if (!formats) return true;
        long displacement = mod switch
        {
            1 => (sbyte)bytes[at],
            2 => BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]),
            _ => 0,
        };
        string sign = displacement switch { 0 => "", > 0 => "+" + Hex((ulong)displacement), _ => "-" + Hex((ulong)-displacement) };
        text = $"mov qword ptr [{Registers64[rm + b]}{sign}], {Immediate(bytes)}";
        return true;
    }

    /// <summary>The sign-extended 32-bit immediate that ends a C7 instruction, as its 64-bit value.</summary>
    private static string Immediate(ReadOnlySpan<byte> bytes) => Hex((ulong)(long)BinaryPrimitives.ReadInt32LittleEndian(bytes[^4..]));

    private static string Hex(ulong value) => "0x" + value.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
}
