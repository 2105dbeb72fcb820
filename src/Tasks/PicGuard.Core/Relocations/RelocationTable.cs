using PicGuard.Elf;
using static PicGuard.Relocations.RelocationKind;
using static PicGuard.Relocations.RelocationOverflow;

namespace PicGuard.Relocations;

/// <summary>
/// A machine's relocation types as data: one row per psABI type, looked up by number in O(1).
/// Adding a machine means adding a table here, never an <c>if</c> in a rule.
/// Names are the ones GNU readelf prints (where the psABI renamed a type, readelf's name wins, e.g.
/// R_AARCH64_TLS_DTPMOD64 for the AAELF64 R_AARCH64_TLS_DTPMOD).
/// </summary>
public sealed class RelocationTable
{
    private readonly RelocationType[] _byNumber;
    private readonly RelocationKind[] _kindByNumber;

    public ElfMachine Machine { get; }
    /// <summary>The ELF class the table is for: the same machine number can mean different numbering or pointer width per class.</summary>
    public bool Is64Bit { get; }
    /// <summary>Short machine name as used in messages: x86-64, x32, i386, aarch64, riscv64, riscv32.</summary>
    public string Name { get; }
    public string Prefix { get; }

    /// <summary>
    /// The native-pointer absolute type (R_X86_64_64, R_X86_64_32 for x32, R_386_32, R_AARCH64_ABS64,
    /// R_RISCV_64, R_RISCV_32 for riscv32): what the compiler emits for a pointer initialised with an address.
    /// </summary>
    public RelocationType PointerType { get; }

    private RelocationTable(ElfMachine machine, bool is64Bit, string name, string prefix, uint pointerType, RelocationType[] rows)
    {
        Machine = machine;
        Is64Bit = is64Bit;
        Name = name;
        Prefix = prefix;
        // Every number up to 255 has a row (unknown ones too), so a lookup in the hot loop never allocates.
        _byNumber = new RelocationType[Math.Max(rows.Max(r => r.Number) + 1, 256)];
        for (uint n = 0; n < _byNumber.Length; n++)
            _byNumber[n] = UnknownRow(n);
        foreach (var row in rows)
        {
            if (_byNumber[row.Number].IsKnown)
                throw new InvalidOperationException($"{name}: relocation type {row.Number} listed twice");
            _byNumber[row.Number] = row with { Name = prefix + row.Name };
        }
        _kindByNumber = _byNumber.Select(r => r.Kind).ToArray();
        PointerType = this[pointerType];
        if (PointerType.Kind != Absolute)
            throw new InvalidOperationException($"{name}: pointer type {pointerType} is not an absolute row");
    }

    /// <summary>The row for <paramref name="type"/>; an Unknown row named "R_…_&lt;unknown:number&gt;" when the type is not in the table.</summary>
    public RelocationType this[uint type] =>
        type < (uint)_byNumber.Length ? _byNumber[type] : UnknownRow(type);

    /// <summary>
    /// Every type's kind by number (at least 256 entries; numbers past the end are Unknown): what the hot loop tests,
    /// held in hand, before it needs a type's row.
    /// </summary>
    public ReadOnlySpan<RelocationKind> KindsByNumber => _kindByNumber;

    private RelocationType UnknownRow(uint type) => new(type, $"{Prefix}<unknown:{type}>", Unknown);

    public IEnumerable<RelocationType> Types => _byNumber.Where(r => r.IsKnown);

    /// <summary>Every table PicGuard has.</summary>
    public static IReadOnlyList<RelocationTable> All => [X86_64, X32, I386, AArch64, RiscV64, RiscV32];

    /// <summary>
    /// The table for a machine in its usual ELF class (ELFCLASS32 for i386, ELFCLASS64 for the others),
    /// or null when PicGuard has none. Prefer <see cref="For(ElfMachine, bool)"/> with the file's class.
    /// </summary>
    public static RelocationTable? For(ElfMachine machine) => For(machine, machine != ElfMachine.I386);

    /// <summary>
    /// The table for a machine and ELF class, or null when PicGuard has none:
    /// EM_X86_64 is x86-64 (ELFCLASS64) or x32 (ELFCLASS32, same numbers, 32-bit pointers);
    /// EM_386 is i386 (ELFCLASS32 only);
    /// EM_AARCH64 is aarch64 (ELFCLASS64 only: ILP32 objects use the separate R_AARCH64_P32_* numbering, which has no table);
    /// EM_RISCV is riscv64 (ELFCLASS64) or riscv32 (ELFCLASS32): the psABI numbers are shared,
    /// the pointer type (R_RISCV_32) and the range checks of 32-bit fields differ, which wrap on riscv32.
    /// </summary>
    public static RelocationTable? For(ElfMachine machine, bool is64Bit) => (machine, is64Bit) switch
    {
        (ElfMachine.X86_64, true) => X86_64,
        (ElfMachine.X86_64, false) => X32,
        (ElfMachine.I386, false) => I386,
        (ElfMachine.AArch64, true) => AArch64,
        (ElfMachine.RiscV, true) => RiscV64,
        (ElfMachine.RiscV, false) => RiscV32,
        _ => null,
    };

    /// <summary>x86-64 psABI (System V AMD64 ABI, "Relocation Types").</summary>
    public static readonly RelocationTable X86_64 = new(ElfMachine.X86_64, true, "x86-64", "R_X86_64_", 1, X86_64Rows(8));

    /// <summary>x32: x86-64 numbering in ELFCLASS32 objects, with 4-byte pointers (R_X86_64_32).</summary>
    public static readonly RelocationTable X32 = new(ElfMachine.X86_64, false, "x32", "R_X86_64_", 10, X86_64Rows(4));

    /// <param name="word">Pointer size in bytes: the width of GLOB_DAT, JUMP_SLOT, RELATIVE and IRELATIVE.</param>
    private static RelocationType[] X86_64Rows(byte word) =>
    [
        new(0, "NONE", RelocationKind.None),
        new(1, "64", Absolute, 8),
        new(2, "PC32", PcRelative, 4, Signed, 32),
        new(3, "GOT32", Got, 4, Signed, 32),
        new(4, "PLT32", PltCall, 4, Signed, 32),
        new(5, "COPY", Dynamic),
        new(6, "GLOB_DAT", Dynamic, word),
        new(7, "JUMP_SLOT", Dynamic, word),
        new(8, "RELATIVE", Absolute, word),
        new(9, "GOTPCREL", Got, 4, Signed, 32),
        new(10, "32", Absolute, 4, Unsigned, 32),   // zero-extended
        new(11, "32S", Absolute, 4, Signed, 32),    // sign-extended
        new(12, "16", Absolute, 2, SignedOrUnsigned, 16),
        new(13, "PC16", PcRelative, 2, Signed, 16),
        new(14, "8", Absolute, 1, SignedOrUnsigned, 8),
        new(15, "PC8", PcRelative, 1, Signed, 8),
        new(16, "DTPMOD64", Tls, 8),
        new(17, "DTPOFF64", Tls, 8),
        new(18, "TPOFF64", Tls, 8),
        new(19, "TLSGD", Tls, 4, Signed, 32),
        new(20, "TLSLD", Tls, 4, Signed, 32),
        new(21, "DTPOFF32", Tls, 4, Signed, 32),
        new(22, "GOTTPOFF", Tls, 4, Signed, 32),
        new(23, "TPOFF32", Tls, 4, Signed, 32),
        new(24, "PC64", PcRelative, 8),
        new(25, "GOTOFF64", LabelDifference, 8),      // S + A - GOT: a distance between two link-time addresses
        new(26, "GOTPC32", PcRelative, 4, Signed, 32),  // GOT + A - P: the GOT base, PC-relative
        new(27, "GOT64", Got, 8),
        new(28, "GOTPCREL64", Got, 8),
        new(29, "GOTPC64", PcRelative, 8),
        new(30, "GOTPLT64", Got, 8),
        new(31, "PLTOFF64", LabelDifference, 8),      // L - GOT + A
        new(32, "SIZE32", Size, 4, Unsigned, 32),
        new(33, "SIZE64", Size, 8),
        new(34, "GOTPC32_TLSDESC", Tls, 4, Signed, 32),
        new(35, "TLSDESC_CALL", Tls),
        new(36, "TLSDESC", Tls, (byte)(2 * word)),
        new(37, "IRELATIVE", Dynamic, word),
        new(38, "RELATIVE64", Absolute, 8),
        new(39, "PC32_BND", PcRelative, 4, Signed, 32),  // withdrawn with MPX; still printed by readelf
        new(40, "PLT32_BND", PltCall, 4, Signed, 32),    // withdrawn with MPX
        new(41, "GOTPCRELX", Got, 4, Signed, 32),
        new(42, "REX_GOTPCRELX", Got, 4, Signed, 32),
        new(43, "CODE_4_GOTPCRELX", Got, 4, Signed, 32),
        new(44, "CODE_4_GOTTPOFF", Tls, 4, Signed, 32),
        new(45, "CODE_4_GOTPC32_TLSDESC", Tls, 4, Signed, 32),
        new(46, "CODE_5_GOTPCRELX", Got, 4, Signed, 32),
        new(47, "CODE_5_GOTTPOFF", Tls, 4, Signed, 32),
        new(48, "CODE_5_GOTPC32_TLSDESC", Tls, 4, Signed, 32),
        new(49, "CODE_6_GOTPCRELX", Got, 4, Signed, 32),
        new(50, "CODE_6_GOTTPOFF", Tls, 4, Signed, 32),
        new(51, "CODE_6_GOTPC32_TLSDESC", Tls, 4, Signed, 32),
        new(250, "GNU_VTINHERIT", Marker),
        new(251, "GNU_VTENTRY", Marker),
    ];

    /// <summary>
    /// i386 psABI (System V Intel386 ABI). A 32-bit field covers the whole address space and the
    /// linkers let it wrap, so 32-bit fields have no overflow check; 8- and 16-bit fields do.
    /// </summary>
    public static readonly RelocationTable I386 = new(ElfMachine.I386, false, "i386", "R_386_", 1,
    [
        new(0, "NONE", RelocationKind.None),
        new(1, "32", Absolute, 4),
        new(2, "PC32", PcRelative, 4),
        new(3, "GOT32", Got, 4),
        new(4, "PLT32", PltCall, 4),
        new(5, "COPY", Dynamic),
        new(6, "GLOB_DAT", Dynamic, 4),
        new(7, "JUMP_SLOT", Dynamic, 4),   // R_386_JMP_SLOT in the psABI text; readelf prints JUMP_SLOT
        new(8, "RELATIVE", Absolute, 4),
        new(9, "GOTOFF", LabelDifference, 4),    // S + A - GOT: -fpic data access, no GOT entry
        new(10, "GOTPC", PcRelative, 4),        // GOT + A - P: the GOT base, PC-relative (-fpic prologue)
        new(11, "32PLT", Absolute, 4),     // L + A: the PLT entry's absolute address, not PC-relative
        new(14, "TLS_TPOFF", Tls, 4),
        new(15, "TLS_IE", Tls, 4),
        new(16, "TLS_GOTIE", Tls, 4),
        new(17, "TLS_LE", Tls, 4),
        new(18, "TLS_GD", Tls, 4),
        new(19, "TLS_LDM", Tls, 4),
        new(20, "16", Absolute, 2, SignedOrUnsigned, 16),
        new(21, "PC16", PcRelative, 2, Signed, 16),
        new(22, "8", Absolute, 1, SignedOrUnsigned, 8),
        new(23, "PC8", PcRelative, 1, Signed, 8),
        new(24, "TLS_GD_32", Tls, 4),
        new(25, "TLS_GD_PUSH", Tls),
        new(26, "TLS_GD_CALL", Tls),
        new(27, "TLS_GD_POP", Tls),
        new(28, "TLS_LDM_32", Tls, 4),
        new(29, "TLS_LDM_PUSH", Tls),
        new(30, "TLS_LDM_CALL", Tls),
        new(31, "TLS_LDM_POP", Tls),
        new(32, "TLS_LDO_32", Tls, 4),
        new(33, "TLS_IE_32", Tls, 4),
        new(34, "TLS_LE_32", Tls, 4),
        new(35, "TLS_DTPMOD32", Tls, 4),
        new(36, "TLS_DTPOFF32", Tls, 4),
        new(37, "TLS_TPOFF32", Tls, 4),
        new(38, "SIZE32", Size, 4),
        new(39, "TLS_GOTDESC", Tls, 4),
        new(40, "TLS_DESC_CALL", Tls),
        new(41, "TLS_DESC", Tls, 8),
        new(42, "IRELATIVE", Dynamic, 4),
        new(43, "GOT32X", Got, 4),
        new(250, "GNU_VTINHERIT", Marker),
        new(251, "GNU_VTENTRY", Marker),
    ]);

    /// <summary>
    /// ELF for the Arm 64-bit Architecture (AAELF64), ELFCLASS64 (LP64) numbering. Range checks follow
    /// the "Check" column: X is the value the relocation computes (for *_PAGE21 the page difference).
    /// The *_LO12_NC parts of adrp pairs are <see cref="RelocationKind.LowPart"/>: the adrp relocation
    /// (ADR_PREL_PG_HI21, ADR_GOT_PAGE) carries the verdict.
    /// </summary>
    public static readonly RelocationTable AArch64 = new(ElfMachine.AArch64, true, "aarch64", "R_AARCH64_", 257,
    [
        new(0, "NONE", RelocationKind.None),
        new(256, "NULL", RelocationKind.None),      // withdrawn second encoding of NONE
        // Static data
        new(257, "ABS64", Absolute, 8),
        new(258, "ABS32", Absolute, 4, SignedOrUnsigned, 32),
        new(259, "ABS16", Absolute, 2, SignedOrUnsigned, 16),
        new(260, "PREL64", PcRelative, 8),
        new(261, "PREL32", PcRelative, 4, SignedOrUnsigned, 32),
        new(262, "PREL16", PcRelative, 2, SignedOrUnsigned, 16),
        // movz/movk/movn with the absolute address, 16 bits at a time (-mcmodel=large)
        new(263, "MOVW_UABS_G0", Absolute, 4, Unsigned, 16),
        new(264, "MOVW_UABS_G0_NC", Absolute, 4),
        new(265, "MOVW_UABS_G1", Absolute, 4, Unsigned, 32),
        new(266, "MOVW_UABS_G1_NC", Absolute, 4),
        new(267, "MOVW_UABS_G2", Absolute, 4, Unsigned, 48),
        new(268, "MOVW_UABS_G2_NC", Absolute, 4),
        new(269, "MOVW_UABS_G3", Absolute, 4),
        new(270, "MOVW_SABS_G0", Absolute, 4, Signed, 17),
        new(271, "MOVW_SABS_G1", Absolute, 4, Signed, 33),
        new(272, "MOVW_SABS_G2", Absolute, 4, Signed, 49),
        // PC-relative addresses, branches
        new(273, "LD_PREL_LO19", PcRelative, 4, Signed, 21),
        new(274, "ADR_PREL_LO21", PcRelative, 4, Signed, 21),
        new(275, "ADR_PREL_PG_HI21", PcRelative, 4, Signed, 33),
        new(276, "ADR_PREL_PG_HI21_NC", PcRelative, 4),
        new(277, "ADD_ABS_LO12_NC", LowPart, 4),
        new(278, "LDST8_ABS_LO12_NC", LowPart, 4),
        new(279, "TSTBR14", PcRelative, 4, Signed, 16),
        new(280, "CONDBR19", PcRelative, 4, Signed, 21),
        new(282, "JUMP26", PltCall, 4, Signed, 28),
        new(283, "CALL26", PltCall, 4, Signed, 28),
        new(284, "LDST16_ABS_LO12_NC", LowPart, 4),
        new(285, "LDST32_ABS_LO12_NC", LowPart, 4),
        new(286, "LDST64_ABS_LO12_NC", LowPart, 4),
        new(287, "MOVW_PREL_G0", PcRelative, 4, Signed, 17),
        new(288, "MOVW_PREL_G0_NC", PcRelative, 4),
        new(289, "MOVW_PREL_G1", PcRelative, 4, Signed, 33),
        new(290, "MOVW_PREL_G1_NC", PcRelative, 4),
        new(291, "MOVW_PREL_G2", PcRelative, 4, Signed, 49),
        new(292, "MOVW_PREL_G2_NC", PcRelative, 4),
        new(293, "MOVW_PREL_G3", PcRelative, 4),
        new(299, "LDST128_ABS_LO12_NC", LowPart, 4),
        // GOT
        new(300, "MOVW_GOTOFF_G0", Got, 4, Signed, 17),
        new(301, "MOVW_GOTOFF_G0_NC", Got, 4),
        new(302, "MOVW_GOTOFF_G1", Got, 4, Signed, 33),
        new(303, "MOVW_GOTOFF_G1_NC", Got, 4),
        new(304, "MOVW_GOTOFF_G2", Got, 4, Signed, 49),
        new(305, "MOVW_GOTOFF_G2_NC", Got, 4),
        new(306, "MOVW_GOTOFF_G3", Got, 4),
        new(307, "GOTREL64", LabelDifference, 8),    // S + A - GOT
        new(308, "GOTREL32", LabelDifference, 4, Signed, 32),
        new(309, "GOT_LD_PREL19", Got, 4, Signed, 21),
        new(310, "LD64_GOTOFF_LO15", Got, 4, Unsigned, 15),
        new(311, "ADR_GOT_PAGE", Got, 4, Signed, 33),
        new(312, "LD64_GOT_LO12_NC", LowPart, 4),    // low part of ADR_GOT_PAGE, which is reported
        new(313, "LD64_GOTPAGE_LO15", Got, 4, Unsigned, 15),
        new(314, "PLT32", PltCall, 4, Signed, 32),
        new(315, "GOTPCREL32", Got, 4, Signed, 32),
        // TLS: general dynamic, local dynamic
        new(512, "TLSGD_ADR_PREL21", Tls, 4, Signed, 21),
        new(513, "TLSGD_ADR_PAGE21", Tls, 4, Signed, 33),
        new(514, "TLSGD_ADD_LO12_NC", Tls, 4),
        new(515, "TLSGD_MOVW_G1", Tls, 4, Signed, 33),
        new(516, "TLSGD_MOVW_G0_NC", Tls, 4),
        new(517, "TLSLD_ADR_PREL21", Tls, 4, Signed, 21),
        new(518, "TLSLD_ADR_PAGE21", Tls, 4, Signed, 33),
        new(519, "TLSLD_ADD_LO12_NC", Tls, 4),
        new(520, "TLSLD_MOVW_G1", Tls, 4, Signed, 33),
        new(521, "TLSLD_MOVW_G0_NC", Tls, 4),
        new(522, "TLSLD_LD_PREL19", Tls, 4, Signed, 21),
        new(523, "TLSLD_MOVW_DTPREL_G2", Tls, 4, Signed, 49),
        new(524, "TLSLD_MOVW_DTPREL_G1", Tls, 4, Signed, 33),
        new(525, "TLSLD_MOVW_DTPREL_G1_NC", Tls, 4),
        new(526, "TLSLD_MOVW_DTPREL_G0", Tls, 4, Signed, 17),
        new(527, "TLSLD_MOVW_DTPREL_G0_NC", Tls, 4),
        new(528, "TLSLD_ADD_DTPREL_HI12", Tls, 4, Unsigned, 24),
        new(529, "TLSLD_ADD_DTPREL_LO12", Tls, 4, Unsigned, 12),
        new(530, "TLSLD_ADD_DTPREL_LO12_NC", Tls, 4),
        new(531, "TLSLD_LDST8_DTPREL_LO12", Tls, 4, Unsigned, 12),
        new(532, "TLSLD_LDST8_DTPREL_LO12_NC", Tls, 4),
        new(533, "TLSLD_LDST16_DTPREL_LO12", Tls, 4, Unsigned, 12),
        new(534, "TLSLD_LDST16_DTPREL_LO12_NC", Tls, 4),
        new(535, "TLSLD_LDST32_DTPREL_LO12", Tls, 4, Unsigned, 12),
        new(536, "TLSLD_LDST32_DTPREL_LO12_NC", Tls, 4),
        new(537, "TLSLD_LDST64_DTPREL_LO12", Tls, 4, Unsigned, 12),
        new(538, "TLSLD_LDST64_DTPREL_LO12_NC", Tls, 4),
        // TLS: initial exec, local exec
        new(539, "TLSIE_MOVW_GOTTPREL_G1", Tls, 4, Signed, 33),
        new(540, "TLSIE_MOVW_GOTTPREL_G0_NC", Tls, 4),
        new(541, "TLSIE_ADR_GOTTPREL_PAGE21", Tls, 4, Signed, 33),
        new(542, "TLSIE_LD64_GOTTPREL_LO12_NC", Tls, 4),
        new(543, "TLSIE_LD_GOTTPREL_PREL19", Tls, 4, Signed, 21),
        new(544, "TLSLE_MOVW_TPREL_G2", Tls, 4, Signed, 49),
        new(545, "TLSLE_MOVW_TPREL_G1", Tls, 4, Signed, 33),
        new(546, "TLSLE_MOVW_TPREL_G1_NC", Tls, 4),
        new(547, "TLSLE_MOVW_TPREL_G0", Tls, 4, Signed, 17),
        new(548, "TLSLE_MOVW_TPREL_G0_NC", Tls, 4),
        new(549, "TLSLE_ADD_TPREL_HI12", Tls, 4, Unsigned, 24),
        new(550, "TLSLE_ADD_TPREL_LO12", Tls, 4, Unsigned, 12),
        new(551, "TLSLE_ADD_TPREL_LO12_NC", Tls, 4),
        new(552, "TLSLE_LDST8_TPREL_LO12", Tls, 4, Unsigned, 12),
        new(553, "TLSLE_LDST8_TPREL_LO12_NC", Tls, 4),
        new(554, "TLSLE_LDST16_TPREL_LO12", Tls, 4, Unsigned, 12),
        new(555, "TLSLE_LDST16_TPREL_LO12_NC", Tls, 4),
        new(556, "TLSLE_LDST32_TPREL_LO12", Tls, 4, Unsigned, 12),
        new(557, "TLSLE_LDST32_TPREL_LO12_NC", Tls, 4),
        new(558, "TLSLE_LDST64_TPREL_LO12", Tls, 4, Unsigned, 12),
        new(559, "TLSLE_LDST64_TPREL_LO12_NC", Tls, 4),
        // TLS descriptors
        new(560, "TLSDESC_LD_PREL19", Tls, 4, Signed, 21),
        new(561, "TLSDESC_ADR_PREL21", Tls, 4, Signed, 21),
        new(562, "TLSDESC_ADR_PAGE21", Tls, 4, Signed, 33),
        new(563, "TLSDESC_LD64_LO12", Tls, 4),
        new(564, "TLSDESC_ADD_LO12", Tls, 4),
        new(565, "TLSDESC_OFF_G1", Tls, 4, Signed, 33),
        new(566, "TLSDESC_OFF_G0_NC", Tls, 4),
        new(567, "TLSDESC_LDR", Tls),
        new(568, "TLSDESC_ADD", Tls),
        new(569, "TLSDESC_CALL", Tls),
        new(570, "TLSLE_LDST128_TPREL_LO12", Tls, 4, Unsigned, 12),
        new(571, "TLSLE_LDST128_TPREL_LO12_NC", Tls, 4),
        new(572, "TLSLD_LDST128_DTPREL_LO12", Tls, 4, Unsigned, 12),
        new(573, "TLSLD_LDST128_DTPREL_LO12_NC", Tls, 4),
        // Pointer authentication ABI: a signed absolute pointer
        new(580, "AUTH_ABS64", Absolute, 8),
        // Dynamic
        new(1024, "COPY", Dynamic),
        new(1025, "GLOB_DAT", Dynamic, 8),
        new(1026, "JUMP_SLOT", Dynamic, 8),
        new(1027, "RELATIVE", Absolute, 8),
        new(1028, "TLS_DTPMOD64", Tls, 8),   // AAELF64: R_AARCH64_TLS_DTPMOD
        new(1029, "TLS_DTPREL64", Tls, 8),   // AAELF64: R_AARCH64_TLS_DTPREL
        new(1030, "TLS_TPREL64", Tls, 8),    // AAELF64: R_AARCH64_TLS_TPREL
        new(1031, "TLSDESC", Tls, 16),
        new(1032, "IRELATIVE", Dynamic, 8),
        new(1041, "AUTH_RELATIVE", Dynamic, 8),
    ]);

    /// <summary>RISC-V ELF psABI, ELFCLASS64 objects (RV64).</summary>
    public static readonly RelocationTable RiscV64 = new(ElfMachine.RiscV, true, "riscv64", "R_RISCV_", 2, RiscVRows(64));

    /// <summary>RISC-V ELF psABI, ELFCLASS32 objects (RV32): same numbers and kinds, 32-bit pointers (R_RISCV_32).</summary>
    public static readonly RelocationTable RiscV32 = new(ElfMachine.RiscV, false, "riscv32", "R_RISCV_", 1, RiscVRows(32));

    /// <summary>
    /// The RISC-V rows for XLEN <paramref name="xlen"/>. %hi-style fields (HI20, PCREL_HI20, CALL, GOT_HI20, ...)
    /// hold (V + 0x800) &gt;&gt; 12: on RV64 V + 0x800 must be a signed 32-bit value; on RV32 lui/auipc reach the
    /// whole address space and the value wraps, so there is no check. The %lo / %pcrel_lo parts are
    /// <see cref="RelocationKind.LowPart"/>: HI20 (lui, absolute) or PCREL_HI20 / GOT_HI20 (auipc) decides.
    /// Numbers 47–50 (GPREL_I/S, TPREL_I/S) were internal to one linker's relaxation and are reserved.
    /// </summary>
    private static RelocationType[] RiscVRows(int xlen)
    {
        byte word = (byte)(xlen / 8);
        bool rv64 = xlen == 64;
        var hi = rv64 ? Signed : RelocationOverflow.None;
        byte hiBits = rv64 ? (byte)32 : (byte)0;
        short hiBias = rv64 ? (short)0x800 : (short)0;
        var wide = rv64 ? Signed : RelocationOverflow.None;           // 32-bit PC-relative fields
        byte wideBits = rv64 ? (byte)32 : (byte)0;
        return
        [
            new(0, "NONE", RelocationKind.None),
            new(1, "32", Absolute, 4, rv64 ? SignedOrUnsigned : RelocationOverflow.None, wideBits),
            new(2, "64", Absolute, 8),
            new(3, "RELATIVE", Absolute, word),
            new(4, "COPY", Dynamic),
            new(5, "JUMP_SLOT", Dynamic, word),
            new(6, "TLS_DTPMOD32", Tls, 4),
            new(7, "TLS_DTPMOD64", Tls, 8),
            new(8, "TLS_DTPREL32", Tls, 4),
            new(9, "TLS_DTPREL64", Tls, 8),
            new(10, "TLS_TPREL32", Tls, 4),
            new(11, "TLS_TPREL64", Tls, 8),
            new(12, "TLSDESC", Tls, (byte)(2 * word)),
            new(16, "BRANCH", PcRelative, 4, Signed, 13),
            new(17, "JAL", PcRelative, 4, Signed, 21),
            new(18, "CALL", PltCall, 8, hi, hiBits, hiBias),       // auipc + jalr
            new(19, "CALL_PLT", PltCall, 8, hi, hiBits, hiBias),
            new(20, "GOT_HI20", Got, 4, hi, hiBits, hiBias),
            new(21, "TLS_GOT_HI20", Tls, 4, hi, hiBits, hiBias),
            new(22, "TLS_GD_HI20", Tls, 4, hi, hiBits, hiBias),
            new(23, "PCREL_HI20", PcRelative, 4, hi, hiBits, hiBias),
            new(24, "PCREL_LO12_I", LowPart, 4),
            new(25, "PCREL_LO12_S", LowPart, 4),
            new(26, "HI20", Absolute, 4, hi, hiBits, hiBias),          // lui: absolute
            new(27, "LO12_I", LowPart, 4),
            new(28, "LO12_S", LowPart, 4),
            new(29, "TPREL_HI20", Tls, 4, hi, hiBits, hiBias),
            new(30, "TPREL_LO12_I", Tls, 4),
            new(31, "TPREL_LO12_S", Tls, 4),
            new(32, "TPREL_ADD", Tls),
            new(33, "ADD8", LabelDifference, 1),
            new(34, "ADD16", LabelDifference, 2),
            new(35, "ADD32", LabelDifference, 4),
            new(36, "ADD64", LabelDifference, 8),
            new(37, "SUB8", LabelDifference, 1),
            new(38, "SUB16", LabelDifference, 2),
            new(39, "SUB32", LabelDifference, 4),
            new(40, "SUB64", LabelDifference, 8),
            new(41, "GOT32_PCREL", Got, 4, wide, wideBits),
            new(43, "ALIGN", Marker),
            new(44, "RVC_BRANCH", PcRelative, 2, Signed, 9),
            new(45, "RVC_JUMP", PcRelative, 2, Signed, 12),
            new(46, "RVC_LUI", Absolute, 2, Signed, 18, 0x800),     // c.lui: 6-bit %hi
            new(51, "RELAX", Marker),
            new(52, "SUB6", LabelDifference, 1),
            new(53, "SET6", LabelDifference, 1),
            new(54, "SET8", LabelDifference, 1),
            new(55, "SET16", LabelDifference, 2),
            new(56, "SET32", LabelDifference, 4),
            new(57, "32_PCREL", PcRelative, 4, wide, wideBits),
            new(58, "IRELATIVE", Dynamic, word),
            new(59, "PLT32", PltCall, 4, wide, wideBits),
            new(60, "SET_ULEB128", LabelDifference),
            new(61, "SUB_ULEB128", LabelDifference),
            new(62, "TLSDESC_HI20", Tls, 4, hi, hiBits, hiBias),
            new(63, "TLSDESC_LOAD_LO12", Tls, 4),
            new(64, "TLSDESC_ADD_LO12", Tls, 4),
            new(65, "TLSDESC_CALL", Tls),
            new(191, "VENDOR", Marker),   // names the vendor of the next, non-standard relocation
        ];
    }
}
