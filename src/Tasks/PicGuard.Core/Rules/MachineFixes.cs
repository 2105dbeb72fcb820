using PicGuard.Elf;

namespace PicGuard.Rules;

/// <summary>
/// The "fix:" line of a rule where it depends on the machine: the flags and the instruction pattern that
/// reach a symbol PC-relative differ per architecture. One row per rule and machine; a rule with no row for
/// the object's machine uses its catalog text (written for x86-64).
/// </summary>
public static class MachineFixes
{
    private sealed record Row(string Code, ElfMachine Machine, string Fix);

    private static readonly Row[] Rows =
    [
        new("PG0001", ElfMachine.I386,
            "compile with -fpic -fvisibility=hidden (PicGuard's flag policy does): i386 code then reaches data relative to the GOT base (R_386_GOTPC + R_386_GOTOFF), not by an absolute R_386_32; in assembly compute the address from the PC (call/pop, then sym@GOTOFF)"),
        new("PG0001", ElfMachine.AArch64,
            "compile with -fpic -mcmodel=small or tiny (PicGuard's flag policy does); in assembly use adrp x0, sym + add x0, x0, :lo12:sym (or adr), not ldr x0, =sym or movz/movk #:abs_g*:sym, which are absolute"),
        new("PG0001", ElfMachine.RiscV,
            "compile with -mcmodel=medany and -fpic (PicGuard's flag policy passes medany for PicCodeModel=small on RISC-V, where the compiler's small is medlow and builds addresses with an absolute lui + addi pair, R_RISCV_HI20/LO12); in assembly use lla or auipc + addi (PCREL_HI20/PCREL_LO12_I), not lui"),
        new("PG0001", ElfMachine.Arm,
            "compile with -fpic (PicGuard's flag policy does); in assembly build addresses from the PC (adr, or a literal holding sym - . added to pc, R_ARM_REL32), not movw/movt #:lower16:/#:upper16:sym (R_ARM_MOVW_ABS_NC/MOVT_ABS) or a literal holding sym (R_ARM_ABS32)"),
        new("PG0001", ElfMachine.LoongArch,
            "compile with -fpic (PicGuard's flag policy does) so addresses are la.pcrel (pcalau12i + addi, R_LARCH_PCALA_HI20/LO12); in assembly avoid la.abs (R_LARCH_ABS_*) and la with -mla-global-with-abs, whose R_LARCH_MARK_LA the EFI stub's check rejects"),
        new("PG0001", ElfMachine.PowerPC64,
            "compile with -fpic (PicGuard's flag policy does): ppc64 code then reaches data TOC-relative (R_PPC64_TOC16_*) or, with -mpcrel on POWER10, PC-relative; in assembly avoid lis with sym@ha or sym@h and addi/ori with sym@l (R_PPC64_ADDR16_*)"),
        new("PG0001", ElfMachine.S390,
            "compile with -fpic (PicGuard's flag policy does); in assembly take addresses with larl (R_390_PC32DBL), not from a literal pool entry holding sym (R_390_64/R_390_32)"),
    ];

    /// <summary>The fix for <paramref name="code"/> on <paramref name="machine"/>, or null when the catalog's text applies.</summary>
    public static string? For(string code, ElfMachine machine)
    {
        foreach (var row in Rows)
            if (row.Machine == machine && row.Code == code) return row.Fix;
        return null;
    }
}
