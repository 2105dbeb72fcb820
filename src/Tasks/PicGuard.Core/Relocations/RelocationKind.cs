namespace PicGuard.Relocations;

/// <summary>
/// What a relocation type asks the loader to compute, as far as position independence cares.
/// Rules match kinds through <c>1u &lt;&lt; (int)kind</c> masks: numbers are stable, new kinds are
/// appended and stay below 32.
/// </summary>
public enum RelocationKind : byte
{
    /// <summary>Not described by any table (unknown machine or unassigned type number).</summary>
    Unknown = 0,
    /// <summary>R_*_NONE: no-op.</summary>
    None,
    /// <summary>S + A: the symbol's absolute address, or a piece of it (aarch64 MOVW_UABS_G*, riscv HI20). Wrong as soon as the blob runs elsewhere than linked.</summary>
    Absolute,
    /// <summary>S + A - P: distance from the place; fine at any load address as long as the two stay together.</summary>
    PcRelative,
    /// <summary>L + A - P: a call through the PLT, resolved PC-relative in a static link.</summary>
    PltCall,
    /// <summary>
    /// A GOT entry: its address or its offset (GOTPCREL*, GOT32, ADR_GOT_PAGE, GOT_HI20, ...). The entry holds
    /// an absolute address that only a dynamic linker fills in. The GOT base alone (GOTPC: PcRelative) and
    /// offsets from it (GOTOFF: LabelDifference) read no entry and are not Got.
    /// </summary>
    Got,
    /// <summary>Thread-local storage models; need a runtime that sets up TLS.</summary>
    Tls,
    /// <summary>Relocations only a dynamic linker applies (COPY, GLOB_DAT, JUMP_SLOT, IRELATIVE). RELATIVE (B + A) is <see cref="Absolute"/>: it is the absolute address a self-relocating blob must patch.</summary>
    Dynamic,
    /// <summary>The symbol's size (Z + A): position-independent.</summary>
    Size,
    /// <summary>Known type that carries no address (linker relaxation and alignment markers, vtable bookkeeping).</summary>
    Marker,
    /// <summary>
    /// The low bits of an address whose high part is a separate relocation that carries the verdict:
    /// aarch64 ADD_ABS_LO12_NC / LDST*_ABS_LO12_NC after ADR_PREL_PG_HI21 (adrp), riscv LO12_I/LO12_S
    /// after HI20 (lui) and PCREL_LO12_I/PCREL_LO12_S after PCREL_HI20 (auipc). The low part is the same
    /// at every 4 KiB-aligned load address, so it is never flagged on its own; the high part is.
    /// </summary>
    LowPart,
    /// <summary>
    /// A distance between two link-time addresses, the same at any load address: one half of a label
    /// difference the linker computes in place (riscv ADD*, SUB*, SET*, SET_ULEB128, SUB_ULEB128, emitted
    /// in pairs for <c>.word b - a</c> and DWARF), or an offset from the GOT base that reads no GOT entry
    /// (S + A - GOT: i386 GOTOFF, x86-64 GOTOFF64 and PLTOFF64, aarch64 GOTREL*).
    /// </summary>
    LabelDifference,
}

/// <summary>
/// Every <see cref="RelocationKind"/> and the word a message uses for it, written out so that nothing at startup reads
/// the enum's metadata (<c>Enum.GetValues</c> and <c>Enum.ToString</c> start the runtime's reflection, a few tenths of
/// a millisecond of a small object's whole run). A test holds <see cref="All"/> to the enum.
/// </summary>
public static class RelocationKinds
{
    public static readonly RelocationKind[] All =
    [
        RelocationKind.Unknown, RelocationKind.None, RelocationKind.Absolute, RelocationKind.PcRelative, RelocationKind.PltCall,
        RelocationKind.Got, RelocationKind.Tls, RelocationKind.Dynamic, RelocationKind.Size, RelocationKind.Marker,
        RelocationKind.LowPart, RelocationKind.LabelDifference,
    ];

    /// <summary>"absolute relocation …", "PC-relative relocation …": the kind as the default message names it.</summary>
    public static string Word(RelocationKind kind) => kind switch
    {
        RelocationKind.Unknown => "unknown",
        RelocationKind.None => "none",
        RelocationKind.Absolute => "absolute",
        RelocationKind.PcRelative => "PC-relative",
        RelocationKind.PltCall => "PLT",
        RelocationKind.Got => "GOT-based",
        RelocationKind.Tls => "TLS",
        RelocationKind.Dynamic => "dynamic",
        RelocationKind.Size => "size",
        RelocationKind.Marker => "marker",
        RelocationKind.LowPart => "lowpart",
        RelocationKind.LabelDifference => "labeldifference",
        _ => ((int)kind).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>How the linker or loader checks a computed value against the field it patches (ELF psABI "overflow check").</summary>
public enum RelocationOverflow : byte
{
    /// <summary>No check: the value is truncated to the field (whole-word fields, *_NC pieces, low parts).</summary>
    None = 0,
    /// <summary>The value must fit the field as a two's-complement number: -2^(n-1) ≤ V &lt; 2^(n-1).</summary>
    Signed,
    /// <summary>The value must fit the field as an unsigned number: 0 ≤ V &lt; 2^n.</summary>
    Unsigned,
    /// <summary>"Bitfield": either reading is accepted: -2^(n-1) ≤ V &lt; 2^n.</summary>
    SignedOrUnsigned,
}

/// <summary>
/// One row of a machine's relocation table: the psABI name, what it computes, how wide the
/// field it patches is (<see cref="FieldBytes"/>, 0 when it patches no plain field or the width is not
/// fixed) and how the computed value is range-checked (<see cref="Overflow"/> over <see cref="FieldBits"/>
/// bits, after adding <see cref="RangeBias"/>).
/// </summary>
/// <param name="FieldBits">
/// Width in bits of the value range the check uses, which is the range of the computed value, not
/// the instruction's immediate: aarch64 CALL26 patches 26 bits that hold V &gt;&gt; 2, so it is a signed
/// 28-bit range; ADR_PREL_PG_HI21 holds Page(S+A) - Page(P) &gt;&gt; 12, a signed 33-bit range.
/// </param>
/// <param name="RangeBias">
/// Added to the value before the range check. RISC-V %hi / %pcrel_hi store (V + 0x800) &gt;&gt; 12 so that
/// the sign-extended low 12 bits add back to V; their check is on V + 0x800 (bias 0x800).
/// </param>
public readonly record struct RelocationType(
    uint Number,
    string Name,
    RelocationKind Kind,
    byte FieldBytes = 0,
    RelocationOverflow Overflow = RelocationOverflow.None,
    byte FieldBits = 0,
    short RangeBias = 0)
{
    public bool IsKnown => Kind != RelocationKind.Unknown;

    /// <summary>
    /// Whether <paramref name="value"/>, the value this relocation computes by its psABI formula
    /// (S + A, S + A - P, Page(S + A) - Page(P), G + GOT + A - P, ...), passes the linker's overflow check
    /// for the field. Always true for <see cref="RelocationOverflow.None"/> and for unknown rows.
    /// Alignment (e.g. CALL26 needs a multiple of 4) is not part of this check.
    /// </summary>
    public bool Fits(Int128 value) => Range is not { } range || value >= range.Min && value <= range.Max;

    /// <summary>The inclusive range of values <see cref="Fits"/> accepts, or null when there is no check.</summary>
    public (Int128 Min, Int128 Max)? Range
    {
        get
        {
            if (Overflow == RelocationOverflow.None || FieldBits == 0 || FieldBits > 64) return null;
            Int128 min = Overflow == RelocationOverflow.Unsigned ? 0 : -(Int128.One << (FieldBits - 1));
            Int128 max = (Overflow == RelocationOverflow.Signed ? Int128.One << (FieldBits - 1) : Int128.One << FieldBits) - 1;
            return (min - RangeBias, max - RangeBias);
        }
    }

    /// <summary>The range check in words for messages, e.g. "32-bit sign-extended field [-0x80000000, 0x7fffffff]".</summary>
    public string RangeDescription => Range is { } range
        ? $"{FieldBits}-bit {Overflow switch { RelocationOverflow.Unsigned => "zero-extended ", RelocationOverflow.Signed => "sign-extended ", _ => "" }}field [{Hex(range.Min)}, {Hex(range.Max)}]"
        : "field";

    /// <summary>A signed hex number as messages print values and ranges ("-0x80000000").</summary>
    internal static string Hex(Int128 v) => v < 0 ? $"-0x{(-v).ToString("x")}" : $"0x{v.ToString("x")}";
}
