using PicGuard.Elf;

namespace PicGuard.Loaders;

/// <summary>What a loader computes for one relocation type (S: the symbol's loaded address, A: the addend, P: the place's loaded address).</summary>
public enum FormulaKind : byte
{
    /// <summary>Nothing is written (R_X86_64_NONE).</summary>
    Nothing,
    /// <summary>S + A.</summary>
    Absolute,
    /// <summary>S + A - P.</summary>
    PcRelative,
}

/// <summary>How a loader checks that the value fits its field before it writes the low bytes.</summary>
public enum FieldCheck : byte
{
    /// <summary>The field is as wide as the value (64 bits): nothing to check.</summary>
    FullWidth,
    /// <summary>The value must equal its zero-extended low bits (<c>value != *(u32 *)location</c>).</summary>
    ZeroExtended,
    /// <summary>The value must equal its sign-extended low bits (<c>(s64)value != *(s32 *)location</c>).</summary>
    SignExtended,
    /// <summary>
    /// The loader writes the low bits without checking: a value that does not fit sign-extended is written truncated and
    /// the code goes elsewhere. PicGuard reports it (PG0007) where the loader would not.
    /// </summary>
    Unchecked,
    /// <summary>As <see cref="Unchecked"/>, for a field the instruction or the data reads zero-extended (an unsigned displacement, a 32-bit pointer).</summary>
    UncheckedUnsigned,
}

/// <summary>Where the value goes in the field.</summary>
public enum FieldLayout : byte
{
    /// <summary>The low <see cref="RelocationFormula.Width"/> bytes, in the file's byte order.</summary>
    Whole,
    /// <summary>s390x R_390_12: the low 12 bits of a halfword, its top 4 bits kept.</summary>
    S390Displacement12,
    /// <summary>s390x R_390_20: DL (12 bits) at bits 16–27 and DH (8 bits) at bits 8–15 of a word, the rest kept.</summary>
    S390Displacement20,
    /// <summary>The low <see cref="RelocationFormula.Width"/> bytes plus the value (R_RISCV_ADD16/32: <c>*(u32 *)loc += val</c>).</summary>
    Added,
    /// <summary>The low <see cref="RelocationFormula.Width"/> bytes minus the value (R_RISCV_SUB16/32: <c>*(u32 *)loc -= val</c>).</summary>
    Subtracted,
    /// <summary>riscv B-type (conditional branch): a 13-bit signed offset scattered over bits 7–11 and 25–31 of the instruction word.</summary>
    RiscvBType,
    /// <summary>riscv J-type (jal): a 21-bit signed offset scattered over bits 12–31 of the instruction word.</summary>
    RiscvJType,
    /// <summary>
    /// riscv auipc and the instruction word after it, written as one 64-bit little-endian field: the auipc's U-type immediate
    /// takes the high part (value + 0x800) &gt;&gt; 12, the next word's I-type immediate (bits 52–63) the low 12 bits.
    /// The kernel writes both for R_RISCV_CALL(_PLT) and for R_RISCV_PCREL_HI20, whose R_RISCV_PCREL_LO12_I it skips.
    /// </summary>
    RiscvAuipcPair,
    /// <summary>riscv compressed CB-type (c.beqz/c.bnez): a 9-bit signed offset in the 16-bit instruction.</summary>
    RiscvCBType,
    /// <summary>riscv compressed CJ-type (c.j): a 12-bit signed offset in the 16-bit instruction.</summary>
    RiscvCJType,
}

/// <summary>
/// One row per machine and relocation type a loader applies: the formula, the field width in bytes, and the
/// loader's own overflow check. Which types a profile's loader applies is the profile's list
/// (<see cref="Rules.Profile.LoaderAppliesTypes"/>); this table says how.
/// </summary>
public sealed record RelocationFormula(ElfMachine Machine, string TypeName, FormulaKind Kind, int Width, FieldCheck Check)
{
    /// <summary>Bits the value is shifted right before it is written (1 for s390x's halfword-counted *DBL types).</summary>
    public int Shift { get; init; }

    /// <summary>Where in the field the value goes.</summary>
    public FieldLayout Layout { get; init; }

    /// <summary>
    /// For a type the loader skips because it wrote its field with another relocation of the previous instruction word
    /// (R_RISCV_PCREL_LO12_I, written by R_RISCV_PCREL_HI20): that type's name. The relocation's symbol must name that
    /// word, and that word's relocation must be of this type; otherwise the loader writes the wrong instruction.
    /// </summary>
    public string? WrittenWith { get; init; }

    /// <summary>How many bits of the value the field holds, shift included: what the check is on.</summary>
    public int Bits => Layout switch
    {
        FieldLayout.S390Displacement12 => 12,
        FieldLayout.S390Displacement20 => 20,
        FieldLayout.RiscvBType => 13,
        FieldLayout.RiscvJType => 21,
        FieldLayout.RiscvAuipcPair => 32,
        FieldLayout.RiscvCBType => 9,
        FieldLayout.RiscvCJType => 12,
        _ => Width * 8 + Shift,
    };

    /// <summary>The formula as text, for layouts and documentation: "S + A - P, 32-bit, unchecked".</summary>
    public string Describe() =>
        (Layout switch { FieldLayout.Added => "field += ", FieldLayout.Subtracted => "field -= ", _ => "" }) +
        (Kind switch { FormulaKind.Nothing => "nothing written", FormulaKind.Absolute => "S + A", _ => "S + A - P" }) +
        (Layout == FieldLayout.RiscvAuipcPair ? ", split over auipc (hi20, rounded) and the next instruction (lo12)" : "") +
        (Shift > 0 ? $" >> {Shift}" : "") +
        (Kind == FormulaKind.Nothing ? "" : $", {Bits - Shift}-bit") +
        Check switch
        {
            FieldCheck.ZeroExtended => ", must zero-extend",
            FieldCheck.SignExtended => ", must sign-extend",
            FieldCheck.Unchecked or FieldCheck.UncheckedUnsigned => ", written truncated without a check",
            _ => "",
        };

    /// <summary>
    /// The values the loader accepts, as a range on the 64-bit circle: from <c>Low</c>, <c>Count</c> values (2^64 for any value).
    /// An unchecked field is judged as sign-extended: a value outside that range runs wrong even though the loader says nothing.
    /// </summary>
    internal (ulong Low, UInt128 Count) Accepted => Check switch
    {
        _ when Bits >= 64 => (0, (UInt128)1 << 64),
        // hi20 = (value + 0x800) >> 12 must sign-extend from 20 bits: value in [-2^31 - 0x800, 2^31 - 0x800).
        _ when Layout == FieldLayout.RiscvAuipcPair => (unchecked((ulong)(-(1L << 31) - 0x800)), (UInt128)1 << 32),
        FieldCheck.ZeroExtended or FieldCheck.UncheckedUnsigned => (0, (UInt128)1 << Bits),
        FieldCheck.SignExtended or FieldCheck.Unchecked => (unchecked((ulong)-(1L << (Bits - 1))), (UInt128)1 << Bits),
        _ => (0, (UInt128)1 << 64),
    };

    /// <summary>Whether the loader (or, for an unchecked field, the code) accepts <paramref name="value"/> (for a shifted field, before the shift).</summary>
    public bool Fits(ulong value)
    {
        var (low, count) = Accepted;
        return (UInt128)unchecked(value - low) < count;
    }
}
