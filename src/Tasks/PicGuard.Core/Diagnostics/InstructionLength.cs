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
    /// <summary>How the length of a one-byte-map opcode is made (<see cref="OneByte"/>).</summary>
    private enum Form : byte
    {
        Unknown = 0,   // Iced decides
        Plain,         // the opcode alone
        Imm8,          // + imm8
        Imm16,         // + imm16
        ImmZ,          // + imm16 with the operand-size prefix, else imm32
        ModRM,         // + ModRM (SIB, displacement)
        ModRMImm8,     // + ModRM + imm8
        ModRMImmZ,     // + ModRM + imm16/imm32
        Rel8,          // + rel8 (a branch: no operand-size prefix)
        Rel32,         // + rel32 (a branch: no operand-size prefix)
        MovImm,        // B8+r: + imm64 with REX.W, imm16 with the operand-size prefix, else imm32
        Moffs,         // A0–A3: + an 8-byte address
        Enter,         // + imm16 + imm8
        Group,         // by ModRM's reg field (<see cref="GroupForm"/>)
        TwoByte,       // 0F: the two-byte map
    }

    private static readonly Form[] OneByte = BuildOneByte();

    private static Form[] BuildOneByte()
    {
        var f = new Form[256];
        for (int op = 0x00; op < 0x40; op += 8)
        {
            // add, or, adc, sbb, and, sub, xor, cmp: r/m,r and r,r/m forms, then AL,imm8 and eAX,imm
            f[op] = f[op + 1] = f[op + 2] = f[op + 3] = Form.ModRM;
            f[op + 4] = Form.Imm8;
            f[op + 5] = Form.ImmZ;
        }
        f[0x0F] = Form.TwoByte;
        for (int op = 0x50; op <= 0x5F; op++) f[op] = Form.Plain; // push/pop r
        f[0x63] = Form.ModRM;      // movsxd
        f[0x68] = Form.ImmZ;       // push imm
        f[0x69] = Form.ModRMImmZ;  // imul r, r/m, imm
        f[0x6A] = Form.Imm8;       // push imm8
        f[0x6B] = Form.ModRMImm8;  // imul r, r/m, imm8
        for (int op = 0x6C; op <= 0x6F; op++) f[op] = Form.Plain; // ins/outs
        for (int op = 0x70; op <= 0x7F; op++) f[op] = Form.Rel8;  // jcc rel8
        f[0x80] = f[0x83] = Form.ModRMImm8;  // group 1, imm8
        f[0x81] = Form.ModRMImmZ;            // group 1, imm
        for (int op = 0x84; op <= 0x8B; op++) f[op] = Form.ModRM; // test, xchg, mov
        f[0x8D] = Form.Group;      // lea: a memory operand only
        f[0x8F] = Form.Group;      // pop r/m: /0 only (others are XOP)
        for (int op = 0x90; op <= 0x99; op++) f[op] = Form.Plain; // nop/xchg, cbw, cwd
        f[0x9C] = f[0x9D] = f[0x9E] = f[0x9F] = Form.Plain; // pushf, popf, sahf, lahf (not fwait: Iced joins it to the x87 opcode after it)
        for (int op = 0xA0; op <= 0xA3; op++) f[op] = Form.Moffs;
        f[0xA4] = f[0xA5] = f[0xA6] = f[0xA7] = Form.Plain; // movs, cmps
        f[0xA8] = Form.Imm8;       // test al, imm8
        f[0xA9] = Form.ImmZ;       // test eAX, imm
        for (int op = 0xAA; op <= 0xAF; op++) f[op] = Form.Plain; // stos, lods, scas
        for (int op = 0xB0; op <= 0xB7; op++) f[op] = Form.Imm8;  // mov r8, imm8
        for (int op = 0xB8; op <= 0xBF; op++) f[op] = Form.MovImm;
        f[0xC0] = f[0xC1] = Form.Group;  // shifts, imm8 (/6 is an alias)
        f[0xC2] = Form.Imm16;      // ret imm16
        f[0xC3] = Form.Plain;      // ret
        f[0xC6] = f[0xC7] = Form.Group; // mov r/m, imm (/0 only)
        f[0xC8] = Form.Enter;
        f[0xC9] = f[0xCB] = f[0xCC] = f[0xCF] = Form.Plain; // leave, retf, int3, iret
        f[0xCA] = Form.Imm16;      // retf imm16
        f[0xCD] = Form.Imm8;       // int imm8
        for (int op = 0xD0; op <= 0xD3; op++) f[op] = Form.Group; // shifts by 1 or cl (/6 is an alias)
        f[0xD7] = Form.Plain;      // xlat
        f[0xE4] = f[0xE5] = f[0xE6] = f[0xE7] = Form.Imm8; // in/out imm8
        f[0xE8] = f[0xE9] = Form.Rel32; // call, jmp rel32
        f[0xEB] = Form.Rel8;       // jmp rel8
        for (int op = 0xEC; op <= 0xEF; op++) f[op] = Form.Plain; // in/out dx
        f[0xF1] = f[0xF4] = f[0xF5] = Form.Plain; // int1, hlt, cmc
        f[0xF6] = f[0xF7] = Form.Group; // test/not/neg/mul/imul/div/idiv
        for (int op = 0xF8; op <= 0xFD; op++) f[op] = Form.Plain; // clc … std
        f[0xFE] = f[0xFF] = Form.Group; // inc/dec (and call/jmp/push r/m)
        return f;
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
        int z = operandSize && !rexW ? 2 : 4; // imm16/imm32
        switch (OneByte[op])
        {
            case Form.Plain: return Fits(i, code);
            case Form.Imm8: return Fits(i + 1, code);
            case Form.Imm16: return operandSize ? 0 : Fits(i + 2, code); // ret/retf imm16: operand size changes the branch
            case Form.ImmZ: return Fits(i + z, code);
            case Form.ModRM: return ModRM(code, i, 0);
            case Form.ModRMImm8: return ModRM(code, i, 1);
            case Form.ModRMImmZ: return ModRM(code, i, z);
            case Form.Rel8: return operandSize ? 0 : Fits(i + 1, code);
            case Form.Rel32: return operandSize ? 0 : Fits(i + 4, code);
            case Form.MovImm: return Fits(i + (rexW ? 8 : z), code);
            case Form.Moffs: return Fits(i + 8, code);
            case Form.Enter: return Fits(i + 3, code);
            case Form.Group: return Group(code, op, i, z, operandSize);
            case Form.TwoByte: return TwoByte(code, i, operandSize);
            default: return 0;
        }
    }

    /// <summary>Opcodes whose form depends on ModRM's reg field; 0 for the forms left to Iced.</summary>
    private static int Group(ReadOnlySpan<byte> code, byte op, int i, int z, bool operandSize)
    {
        if (i >= code.Length) return 0;
        int mod = code[i] >> 6, reg = code[i] >> 3 & 7;
        return op switch
        {
            0x8D => mod == 3 ? 0 : ModRM(code, i, 0),                   // lea: a register operand is invalid
            0x8F => reg == 0 ? ModRM(code, i, 0) : 0,                   // pop r/m; XOP otherwise
            0xC0 or 0xC1 => reg == 6 ? 0 : ModRM(code, i, 1),           // shifts by imm8; /6 is an alias
            0xD0 or 0xD1 or 0xD2 or 0xD3 => reg == 6 ? 0 : ModRM(code, i, 0),
            0xC6 => reg == 0 ? ModRM(code, i, 1) : 0,                   // mov r/m8, imm8; xabort otherwise
            0xC7 => reg == 0 ? ModRM(code, i, z) : 0,                   // mov r/m, imm; xbegin otherwise
            0xF6 => reg == 0 ? ModRM(code, i, 1) : reg == 1 ? 0 : ModRM(code, i, 0), // test imm8; /1 is an alias
            0xF7 => reg == 0 ? ModRM(code, i, z) : reg == 1 ? 0 : ModRM(code, i, 0),
            0xFE => reg <= 1 ? ModRM(code, i, 0) : 0,                   // inc/dec r/m8
            // inc, dec, push r/m; call and jmp r/m without an operand-size prefix (which changes the branch)
            0xFF => reg is 0 or 1 or 6 || reg is 2 or 4 && !operandSize ? ModRM(code, i, 0) : 0,
            _ => 0,
        };
    }

    /// <summary>The two-byte map (0F xx), <paramref name="i"/> at its second byte: integer and control-flow opcodes only.</summary>
    private static int TwoByte(ReadOnlySpan<byte> code, int i, bool operandSize)
    {
        if (i >= code.Length) return 0;
        byte op = code[i++];
        switch (op)
        {
            case 0x05 or 0x0B or 0x31 or 0xA2: // syscall, ud2, rdtsc, cpuid
            case >= 0xC8 and <= 0xCF:          // bswap
                return operandSize ? 0 : Fits(i, code);
            case 0x1F: // nop r/m (/0; the multi-byte nops of alignment, often with operand-size and segment prefixes)
                return i < code.Length && (code[i] >> 3 & 7) == 0 ? ModRM(code, i, 0) : 0;
            case >= 0x40 and <= 0x4F: // cmovcc
            case >= 0x90 and <= 0x9F: // setcc
            case 0xA3 or 0xA5 or 0xAB or 0xAD or 0xAF or 0xB0 or 0xB1 or 0xB3 or 0xB6 or 0xB7 or 0xBB or 0xBC or 0xBD or 0xBE or 0xBF or 0xC0 or 0xC1:
                // bt, shld/shrd by cl, bts, imul, cmpxchg, btr, movzx, btc, bsf, bsr, movsx, xadd
                return ModRM(code, i, 0);
            case 0xA4 or 0xAC: // shld/shrd by imm8
                return ModRM(code, i, 1);
            case 0xBA: // bt/bts/btr/btc r/m, imm8 (/4 to /7)
                return i < code.Length && (code[i] >> 3 & 7) >= 4 ? ModRM(code, i, 1) : 0;
            case >= 0x80 and <= 0x8F: // jcc rel32
                return operandSize ? 0 : Fits(i + 4, code);
            default:
                return 0;
        }
    }

    /// <summary>ModRM at <paramref name="i"/>, its SIB and displacement (64-bit addressing), then <paramref name="immediate"/> bytes.</summary>
    private static int ModRM(ReadOnlySpan<byte> code, int i, int immediate)
    {
        if (i >= code.Length) return 0;
        byte modrm = code[i++];
        int mod = modrm >> 6, rm = modrm & 7;
        if (mod != 3)
        {
            if (rm == 4)
            {
                if (i >= code.Length) return 0;
                if (mod == 0 && (code[i] & 7) == 5) i += 4; // no base: disp32
                i++;
            }
            else if (mod == 0 && rm == 5)
            {
                i += 4; // RIP-relative disp32
            }
            i += mod == 1 ? 1 : mod == 2 ? 4 : 0;
        }
        return Fits(i + immediate, code);
    }

    /// <summary>The length when the instruction is whole in the code and no longer than an instruction may be, else 0.</summary>
    private static int Fits(int length, ReadOnlySpan<byte> code) => length <= code.Length && length <= 15 ? length : 0;
}
