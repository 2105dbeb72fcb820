namespace PicGuard.Diagnostics;

/// <summary>
/// The length of the x86-64 instruction at the start of some code, for the common instructions whose length their first
/// bytes settle plainly, or 0 when this cannot say. <see cref="SiteDecoder"/> steps over the instructions between a
/// known boundary and a relocation site with it, and decodes with Iced only the instruction at the site and those this
/// does not know.
/// </summary>
/// <remarks>
/// Why not Iced alone, and why our own: Iced (the decoder every instruction shown is decoded and formatted with) has no
/// length-only mode, and a full decode of each instruction on the way to a site was a twelfth of listing the kernel
/// modules. This answers only where the answer is plain: the one-byte and common two-byte opcodes of 64-bit mode with a
/// REX, operand-size, segment or the few meaningful repeat prefixes; ModRM, SIB and displacement sizes; immediate sizes.
/// Whatever else could matter (LOCK, address-size 67h, VEX/EVEX/XOP, x87, SSE, system opcodes, an undocumented alias, an
/// encoding Iced calls invalid, operand-size on a branch) gives 0, and Iced decodes it. Tests hold it to Iced on random
/// bytes and on compiled code: every length given here is Iced's for a valid instruction.
/// </remarks>
internal static class InstructionLength
{
    // An opcode's entry in its map's table: what follows the opcode. The low three bits say the immediate.
    private const byte Unknown = 0xFF;         // Iced decides
    private const byte HasModRM = 0x40;        // ModRM follows (SIB, displacement)
    private const byte NoOperandSize = 0x20;   // with an operand-size prefix Iced decides (a branch, whose size it changes)
    private const byte MemoryOnly = 0x10;      // a register operand is invalid (lea)
    private const byte RegsChecked = 0x08;     // only the reg fields its map's mask allows (group opcodes)
    private const byte ImmediateIfReg0 = 0x80; // the immediate only with reg field 0 (test in F6/F7)
    private const byte NoImm = 0, Imm8 = 1, Imm16 = 2, ImmZ = 3, Moffs = 4, Enter = 5, MovImm = 6;

    /// <summary>Immediate bytes by kind, without and (from 8 on) with the operand-size prefix: imm16 or imm32 (ImmZ), an 8-byte address (Moffs), imm16 + imm8 (Enter), B8+r's imm (MovImm: imm64 with REX.W).</summary>
    private static ReadOnlySpan<byte> ImmediateBytes => [0, 1, 2, 4, 8, 3, 4, 0, 0, 1, 2, 2, 8, 3, 2, 0];

    // The reg fields a group opcode allows, one bit each (filled as the tables below are built, so declared first).
    private static readonly byte[] OneByteRegs = new byte[256], TwoByteRegs = new byte[256];
    private static readonly byte[] OneByte = BuildOneByte(), TwoByte = BuildTwoByte();
    private static readonly byte[] ModRMBytes = BuildModRMBytes();

    private static byte[] BuildOneByte()
    {
        var t = new byte[256];
        t.AsSpan().Fill(Unknown);
        for (int op = 0x00; op < 0x40; op += 8)
        {
            // add, or, adc, sbb, and, sub, xor, cmp: r/m,r and r,r/m forms, then AL,imm8 and eAX,imm
            t[op] = t[op + 1] = t[op + 2] = t[op + 3] = HasModRM;
            t[op + 4] = Imm8;
            t[op + 5] = ImmZ;
        }
        for (int op = 0x50; op <= 0x5F; op++) t[op] = NoImm; // push/pop r
        t[0x63] = HasModRM;                   // movsxd
        t[0x68] = ImmZ;                       // push imm
        t[0x69] = HasModRM | ImmZ;            // imul r, r/m, imm
        t[0x6A] = Imm8;                       // push imm8
        t[0x6B] = HasModRM | Imm8;            // imul r, r/m, imm8
        for (int op = 0x6C; op <= 0x6F; op++) t[op] = NoImm;                 // ins/outs
        for (int op = 0x70; op <= 0x7F; op++) t[op] = Imm8 | NoOperandSize; // jcc rel8
        t[0x80] = t[0x83] = HasModRM | Imm8;  // group 1, imm8
        t[0x81] = HasModRM | ImmZ;            // group 1, imm
        for (int op = 0x84; op <= 0x8B; op++) t[op] = HasModRM;              // test, xchg, mov
        t[0x8D] = HasModRM | MemoryOnly;      // lea
        Group(t, OneByteRegs, 0x8F, HasModRM, 0b0000_0001); // pop r/m: /0 (XOP otherwise)
        for (int op = 0x90; op <= 0x99; op++) t[op] = NoImm;                 // nop/xchg, cbw, cwd
        t[0x9C] = t[0x9D] = t[0x9E] = t[0x9F] = NoImm; // pushf, popf, sahf, lahf (not fwait: Iced joins it to the x87 opcode after it)
        for (int op = 0xA0; op <= 0xA3; op++) t[op] = Moffs;                 // mov al/eAX, moffs and back
        t[0xA4] = t[0xA5] = t[0xA6] = t[0xA7] = NoImm;                       // movs, cmps
        t[0xA8] = Imm8;                       // test al, imm8
        t[0xA9] = ImmZ;                       // test eAX, imm
        for (int op = 0xAA; op <= 0xAF; op++) t[op] = NoImm;                 // stos, lods, scas
        for (int op = 0xB0; op <= 0xB7; op++) t[op] = Imm8;                  // mov r8, imm8
        for (int op = 0xB8; op <= 0xBF; op++) t[op] = MovImm;                // mov r, imm
        const byte NotSix = 0b1011_1111;      // shifts: /6 is an undocumented alias
        Group(t, OneByteRegs, 0xC0, HasModRM | Imm8, NotSix);
        Group(t, OneByteRegs, 0xC1, HasModRM | Imm8, NotSix);
        t[0xC2] = Imm16 | NoOperandSize;      // ret imm16
        t[0xC3] = NoImm;                      // ret
        Group(t, OneByteRegs, 0xC6, HasModRM | Imm8, 0b0000_0001); // mov r/m8, imm8 (/7 is xabort)
        Group(t, OneByteRegs, 0xC7, HasModRM | ImmZ, 0b0000_0001); // mov r/m, imm (/7 is xbegin)
        t[0xC8] = Enter;
        t[0xC9] = t[0xCB] = t[0xCC] = t[0xCF] = NoImm; // leave, retf, int3, iret
        t[0xCA] = Imm16 | NoOperandSize;      // retf imm16
        t[0xCD] = Imm8;                       // int imm8
        for (int op = 0xD0; op <= 0xD3; op++) Group(t, OneByteRegs, op, HasModRM, NotSix); // shifts by 1 or cl
        t[0xD7] = NoImm;                      // xlat
        t[0xE4] = t[0xE5] = t[0xE6] = t[0xE7] = Imm8;                        // in/out imm8
        t[0xE8] = t[0xE9] = ImmZ | NoOperandSize;                            // call, jmp rel32
        t[0xEB] = Imm8 | NoOperandSize;       // jmp rel8
        for (int op = 0xEC; op <= 0xEF; op++) t[op] = NoImm;                 // in/out dx
        t[0xF1] = t[0xF4] = t[0xF5] = NoImm;  // int1, hlt, cmc
        const byte NotOne = 0b1111_1101;      // test, not, neg, mul, imul, div, idiv: /1 is an alias of test
        Group(t, OneByteRegs, 0xF6, HasModRM | ImmediateIfReg0 | Imm8, NotOne);
        Group(t, OneByteRegs, 0xF7, HasModRM | ImmediateIfReg0 | ImmZ, NotOne);
        for (int op = 0xF8; op <= 0xFD; op++) t[op] = NoImm;                 // clc … std
        Group(t, OneByteRegs, 0xFE, HasModRM, 0b0000_0011); // inc/dec r/m8
        Group(t, OneByteRegs, 0xFF, HasModRM, 0b0101_0111); // inc, dec, call, jmp, push r/m (not the far forms, /3 /5)
        return t;
    }

    /// <summary>The two-byte map (0F xx): integer and control-flow opcodes only.</summary>
    private static byte[] BuildTwoByte()
    {
        var t = new byte[256];
        t.AsSpan().Fill(Unknown);
        t[0x05] = t[0x0B] = t[0x31] = t[0xA2] = NoOperandSize;            // syscall, ud2, rdtsc, cpuid
        for (int op = 0xC8; op <= 0xCF; op++) t[op] = NoOperandSize;       // bswap
        Group(t, TwoByteRegs, 0x1F, HasModRM, 0b0000_0001);               // nop r/m: the multi-byte nops of alignment
        for (int op = 0x40; op <= 0x4F; op++) t[op] = HasModRM;            // cmovcc
        for (int op = 0x80; op <= 0x8F; op++) t[op] = ImmZ | NoOperandSize; // jcc rel32
        for (int op = 0x90; op <= 0x9F; op++) t[op] = HasModRM;            // setcc
        // bt, shld/shrd by cl, bts, imul, cmpxchg, btr, movzx, btc, bsf, bsr, movsx, xadd
        foreach (int op in (ReadOnlySpan<byte>)[0xA3, 0xA5, 0xAB, 0xAD, 0xAF, 0xB0, 0xB1, 0xB3, 0xB6, 0xB7, 0xBB, 0xBC, 0xBD, 0xBE, 0xBF, 0xC0, 0xC1])
            t[op] = HasModRM;
        t[0xA4] = t[0xAC] = HasModRM | Imm8;                              // shld/shrd by imm8
        Group(t, TwoByteRegs, 0xBA, HasModRM | Imm8, 0b1111_0000);        // bt/bts/btr/btc r/m, imm8
        return t;
    }

    private static void Group(byte[] table, byte[] regs, int op, byte entry, byte allowedRegs)
    {
        table[op] = (byte)(entry | RegsChecked);
        regs[op] = allowedRegs;
    }

    /// <summary>ModRM and what follows it for 64-bit addressing: SIB, displacement (a SIB without base adds 4 more, see <see cref="Of64"/>).</summary>
    private static byte[] BuildModRMBytes()
    {
        var t = new byte[256];
        for (int modrm = 0; modrm < 256; modrm++)
        {
            int mod = modrm >> 6, rm = modrm & 7;
            t[modrm] = (byte)(mod == 3 ? 1 : 1 + (rm == 4 ? 1 : 0) + (mod == 1 ? 1 : mod == 2 ? 4 : rm == 5 ? 4 : 0));
        }
        return t;
    }

    /// <summary>
    /// The length of the instruction at the start of <paramref name="code"/> in 64-bit mode, or 0: not one this knows, or
    /// not whole in <paramref name="code"/>.
    /// </summary>
    public static int Of64(ReadOnlySpan<byte> code)
    {
        int i = 0;
        bool operandSize = false, rex = false, rexW = false, rep = false, repne = false;
        byte op;
        while (true)
        {
            if (i >= code.Length || i >= 4) return 0; // more prefixes than code uses: Iced decides
            op = code[i];
            if (op == 0x66) operandSize = true;
            else if (op is 0x26 or 0x2E or 0x36 or 0x3E or 0x64 or 0x65) { } // a segment (or branch hint): no length
            else if (op == 0xF3) rep = true;
            else if (op == 0xF2) repne = true;
            else break;
            i++;
        }
        if ((op & 0xF0) == 0x40)
        {
            rex = true;
            rexW = (op & 8) != 0;
            if (++i >= code.Length) return 0;
            op = code[i];
            if (op is 0x66 or 0x26 or 0x2E or 0x36 or 0x3E or 0x64 or 0x65 or 0xF2 or 0xF3 or 0xF0 or 0x67 || (op & 0xF0) == 0x40)
                return 0; // a prefix after REX: REX is ignored, Iced decides
        }
        i++; // past the opcode
        if (rep || repne)
        {
            // Repeat prefixes change what most opcodes are; kept only where they are plain: string instructions, pause,
            // "rep ret", and endbr64/endbr32 (F3 0F 1E FA/FB, at the start of every function built for IBT).
            bool plain = op is 0xA4 or 0xA5 or 0xA6 or 0xA7 or 0xAA or 0xAB or 0xAC or 0xAD or 0xAE or 0xAF
                || rep && !repne && op is 0x90 or 0xC3;
            if (!plain)
                return rep && !repne && !operandSize && !rex && op == 0x0F && i + 1 < code.Length && code[i] == 0x1E && code[i + 1] is 0xFA or 0xFB
                    ? Fits(i + 2, code) : 0;
        }
        byte entry;
        byte[] regs;
        if (op != 0x0F)
        {
            entry = OneByte[op];
            regs = OneByteRegs;
        }
        else
        {
            if (i >= code.Length) return 0;
            op = code[i++];
            entry = TwoByte[op];
            regs = TwoByteRegs;
        }
        if (entry == Unknown || operandSize && (entry & NoOperandSize) != 0) return 0;
        int kind = entry & 7;
        int immediate = kind == MovImm && rexW ? 8 : ImmediateBytes[kind + (operandSize && !rexW ? 8 : 0)];
        if ((entry & HasModRM) == 0) return Fits(i + immediate, code);

        if (i >= code.Length) return 0;
        byte modrm = code[i];
        int reg = modrm >> 3 & 7;
        if ((entry & RegsChecked) != 0 && (regs[op] >> reg & 1) == 0) return 0;
        if ((entry & MemoryOnly) != 0 && modrm >= 0xC0) return 0;
        if (operandSize && regs == OneByteRegs && op == 0xFF && reg is 2 or 4) return 0; // call/jmp r/m: operand size changes the branch
        if ((entry & ImmediateIfReg0) != 0 && reg != 0) immediate = 0;
        int length = i + ModRMBytes[modrm] + immediate;
        if ((modrm & 0xC7) == 0x04) // mod 0, SIB: a SIB without base (base 5) is followed by disp32
        {
            if (i + 1 >= code.Length) return 0;
            if ((code[i + 1] & 7) == 5) length += 4;
        }
        return Fits(length, code);
    }

    /// <summary>The length when the instruction is whole in the code and no longer than an instruction may be, else 0.</summary>
    private static int Fits(int length, ReadOnlySpan<byte> code) => length <= code.Length && length <= 15 ? length : 0;
}
