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
    /// <summary>Short machine name as used in messages: x86-64, x32, i386, aarch64, riscv64, riscv32, arm, loongarch64, loongarch32, ppc64, s390x.</summary>
    public string Name { get; }
    public string Prefix { get; }

    /// <summary>
    /// The native-pointer absolute type (R_X86_64_64, R_X86_64_32 for x32, R_386_32, R_AARCH64_ABS64,
    /// R_RISCV_64, R_RISCV_32 for riscv32, R_ARM_ABS32, R_LARCH_64, R_PPC64_ADDR64, R_390_64): what the compiler emits
    /// for a pointer initialised with an address.
    /// </summary>
    public RelocationType PointerType { get; }

    private RelocationTable(ElfMachine machine, bool is64Bit, string name, string prefix, uint pointerType, RelocationType[] rows)
    {
        Machine = machine;
        Is64Bit = is64Bit;
        Name = name;
        Prefix = prefix;
        // Every number up to 255 has a row (unknown ones too), so a lookup in the hot loop never allocates.
        // Plain loops here and below: the tables are built as a process starts, when LINQ's generic code is slow to run first.
        uint highest = 0;
        foreach (var row in rows) highest = Math.Max(highest, row.Number);
        _byNumber = new RelocationType[Math.Max(highest + 1, 256)];
        for (uint n = 0; n < _byNumber.Length; n++)
            _byNumber[n] = new(n, null!, Unknown); // named when first looked up
        foreach (var row in rows)
        {
            if (_byNumber[row.Number].IsKnown)
                throw new InvalidOperationException($"{name}: relocation type {row.Number} listed twice");
            _byNumber[row.Number] = row with { Name = prefix + row.Name };
        }
        _kindByNumber = new RelocationKind[_byNumber.Length];
        for (int n = 0; n < _byNumber.Length; n++) _kindByNumber[n] = _byNumber[n].Kind;
        PointerType = this[pointerType];
        if (PointerType.Kind != Absolute)
            throw new InvalidOperationException($"{name}: pointer type {pointerType} is not an absolute row");
    }

    /// <summary>The row for <paramref name="type"/>; an Unknown row named "R_…_&lt;unknown:number&gt;" when the type is not in the table.</summary>
    public RelocationType this[uint type]
    {
        get
        {
            if (type >= (uint)_byNumber.Length) return UnknownRow(type);
            ref var row = ref _byNumber[type];
            // An unknown row gets its name once, when first asked for: only the name changes, one reference written.
            if (row.Name is null) row = UnknownRow(type);
            return row;
        }
    }

    /// <summary>
    /// Every type's kind by number (at least 256 entries; numbers past the end are Unknown): what the hot loop tests,
    /// held in hand, before it needs a type's row.
    /// </summary>
    public ReadOnlySpan<RelocationKind> KindsByNumber => _kindByNumber;

    private RelocationType UnknownRow(uint type) => new(type, $"{Prefix}<unknown:{type}>", Unknown);

    public IEnumerable<RelocationType> Types => _byNumber.Where(r => r.IsKnown);

    /// <summary>Every table PicGuard has.</summary>
    public static IReadOnlyList<RelocationTable> All => [X86_64, X32, I386, AArch64, RiscV64, RiscV32, Arm, LoongArch64, LoongArch32, PowerPC64, S390x];

    /// <summary>
    /// The table for a machine in its usual ELF class (ELFCLASS32 for i386 and arm, ELFCLASS64 for the others),
    /// or null when PicGuard has none. Prefer <see cref="For(ElfMachine, bool)"/> with the file's class.
    /// </summary>
    public static RelocationTable? For(ElfMachine machine) => For(machine, machine is not (ElfMachine.I386 or ElfMachine.Arm));

    /// <summary>
    /// The table for a machine and ELF class, or null when PicGuard has none:
    /// EM_X86_64 is x86-64 (ELFCLASS64) or x32 (ELFCLASS32, same numbers, 32-bit pointers);
    /// EM_386 is i386 (ELFCLASS32 only);
    /// EM_AARCH64 is aarch64 (ELFCLASS64 only: ILP32 objects use the separate R_AARCH64_P32_* numbering, which has no table);
    /// EM_RISCV is riscv64 (ELFCLASS64) or riscv32 (ELFCLASS32): the psABI numbers are shared,
    /// the pointer type (R_RISCV_32) and the range checks of 32-bit fields differ, which wrap on riscv32;
    /// EM_ARM is arm (ELFCLASS32 only, REL: the addend is in the patched field);
    /// EM_LOONGARCH is loongarch64 (ELFCLASS64) or loongarch32 (ELFCLASS32), like RISC-V;
    /// EM_PPC64 is ppc64 of either byte order (ELFCLASS64 only: ELFv1 big-endian and ELFv2 share the numbering);
    /// EM_S390 is s390x (ELFCLASS64 only; 31-bit s390 has no table).
    /// The byte order of a file never changes the table.
    /// </summary>
    public static RelocationTable? For(ElfMachine machine, bool is64Bit) => (machine, is64Bit) switch
    {
        (ElfMachine.X86_64, true) => X86_64,
        (ElfMachine.X86_64, false) => X32,
        (ElfMachine.I386, false) => I386,
        (ElfMachine.AArch64, true) => AArch64,
        (ElfMachine.RiscV, true) => RiscV64,
        (ElfMachine.RiscV, false) => RiscV32,
        (ElfMachine.Arm, false) => Arm,
        (ElfMachine.LoongArch, true) => LoongArch64,
        (ElfMachine.LoongArch, false) => LoongArch32,
        (ElfMachine.PowerPC64, true) => PowerPC64,
        (ElfMachine.S390, true) => S390x,
        _ => null,
    };

    /// <summary>x86-64 psABI (System V AMD64 ABI, "Relocation Types").</summary>
    public static RelocationTable X86_64 => LazyInitializer.EnsureInitialized(ref s_x86_64, static () => new(ElfMachine.X86_64, true, "x86-64", "R_X86_64_", 1, X86_64Rows(8)));
    private static RelocationTable? s_x86_64;

    /// <summary>x32: x86-64 numbering in ELFCLASS32 objects, with 4-byte pointers (R_X86_64_32).</summary>
    public static RelocationTable X32 => LazyInitializer.EnsureInitialized(ref s_x32, static () => new(ElfMachine.X86_64, false, "x32", "R_X86_64_", 10, X86_64Rows(4)));
    private static RelocationTable? s_x32;

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
    public static RelocationTable I386 => LazyInitializer.EnsureInitialized(ref s_i386, static () => new(ElfMachine.I386, false, "i386", "R_386_", 1,
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
    ]));
    private static RelocationTable? s_i386;

    /// <summary>
    /// ELF for the Arm 64-bit Architecture (AAELF64), ELFCLASS64 (LP64) numbering. Range checks follow
    /// the "Check" column: X is the value the relocation computes (for *_PAGE21 the page difference).
    /// The *_LO12_NC parts of adrp pairs are <see cref="RelocationKind.LowPart"/>: the adrp relocation
    /// (ADR_PREL_PG_HI21, ADR_GOT_PAGE) carries the verdict.
    /// </summary>
    public static RelocationTable AArch64 => LazyInitializer.EnsureInitialized(ref s_aArch64, static () => new(ElfMachine.AArch64, true, "aarch64", "R_AARCH64_", 257,
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
    ]));
    private static RelocationTable? s_aArch64;

    /// <summary>RISC-V ELF psABI, ELFCLASS64 objects (RV64).</summary>
    public static RelocationTable RiscV64 => LazyInitializer.EnsureInitialized(ref s_riscV64, static () => new(ElfMachine.RiscV, true, "riscv64", "R_RISCV_", 2, RiscVRows(64)));
    private static RelocationTable? s_riscV64;

    /// <summary>RISC-V ELF psABI, ELFCLASS32 objects (RV32): same numbers and kinds, 32-bit pointers (R_RISCV_32).</summary>
    public static RelocationTable RiscV32 => LazyInitializer.EnsureInitialized(ref s_riscV32, static () => new(ElfMachine.RiscV, false, "riscv32", "R_RISCV_", 1, RiscVRows(32)));
    private static RelocationTable? s_riscV32;

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

    /// <summary>
    /// ELF for the Arm Architecture (AAELF32), as llvm-readelf names the types. A 32-bit field covers the whole address
    /// space and wraps, so ABS32 and REL32 have no overflow check; branch ranges are the instruction's (CALL, JUMP24:
    /// signed 26 bits; Thumb-2 BL: signed 25 bits). MOVW/MOVT_ABS is the absolute address in two halves (both Absolute:
    /// either half is wrong elsewhere); TARGET1 is ABS32 and TARGET2 is GOT_PREL on Linux. GNU readelf names 32–37 without
    /// the last underscore or suffix (R_ARM_ALU_PCREL7_0, R_ARM_LDR_SBREL_11_0, ...), 129 R_ARM_THM_TLS_DESCSEQ and
    /// 135 R_ARM_THM_ALU_ABS_G3_NC; no compiler emits them.
    /// </summary>
    public static RelocationTable Arm => LazyInitializer.EnsureInitialized(ref s_arm, static () => new(ElfMachine.Arm, false, "arm", "R_ARM_", 2,
    [
        new(0, "NONE", RelocationKind.None),
        new(1, "PC24", PltCall, 4, Signed, 26),
        new(2, "ABS32", Absolute, 4),
        new(3, "REL32", PcRelative, 4),
        new(4, "LDR_PC_G0", PcRelative, 4),
        new(5, "ABS16", Absolute, 2, SignedOrUnsigned, 16),
        new(6, "ABS12", Absolute, 4, Unsigned, 12),
        new(7, "THM_ABS5", Absolute, 2, Unsigned, 7),
        new(8, "ABS8", Absolute, 1, SignedOrUnsigned, 8),
        new(9, "SBREL32", LabelDifference, 4),
        new(10, "THM_CALL", PltCall, 4, Signed, 25),
        new(11, "THM_PC8", PcRelative, 2),
        new(12, "BREL_ADJ", LabelDifference),
        new(13, "TLS_DESC", Tls, 4),
        new(14, "THM_SWI8", Marker),
        new(15, "XPC25", PltCall, 4, Signed, 26),
        new(16, "THM_XPC22", PltCall, 4, Signed, 23),
        new(17, "TLS_DTPMOD32", Tls, 4),
        new(18, "TLS_DTPOFF32", Tls, 4),
        new(19, "TLS_TPOFF32", Tls, 4),
        new(20, "COPY", Dynamic),
        new(21, "GLOB_DAT", Dynamic, 4),
        new(22, "JUMP_SLOT", Dynamic, 4),
        new(23, "RELATIVE", Absolute, 4),
        new(24, "GOTOFF32", LabelDifference, 4),
        new(25, "BASE_PREL", PcRelative, 4),
        new(26, "GOT_BREL", Got, 4),
        new(27, "PLT32", PltCall, 4, Signed, 26),
        new(28, "CALL", PltCall, 4, Signed, 26),
        new(29, "JUMP24", PltCall, 4, Signed, 26),
        new(30, "THM_JUMP24", PltCall, 4, Signed, 25),
        new(31, "BASE_ABS", Absolute, 4),
        new(32, "ALU_PCREL_7_0", PcRelative, 4),
        new(33, "ALU_PCREL_15_8", PcRelative, 4),
        new(34, "ALU_PCREL_23_15", PcRelative, 4),
        new(35, "LDR_SBREL_11_0_NC", LabelDifference, 4),
        new(36, "ALU_SBREL_19_12_NC", LabelDifference, 4),
        new(37, "ALU_SBREL_27_20_CK", LabelDifference, 4),
        new(38, "TARGET1", Absolute, 4),
        new(39, "SBREL31", LabelDifference, 4),
        new(40, "V4BX", Marker),
        new(41, "TARGET2", Got, 4),
        new(42, "PREL31", PcRelative, 4, Signed, 31),
        new(43, "MOVW_ABS_NC", Absolute, 4),
        new(44, "MOVT_ABS", Absolute, 4),
        new(45, "MOVW_PREL_NC", PcRelative, 4),
        new(46, "MOVT_PREL", PcRelative, 4),
        new(47, "THM_MOVW_ABS_NC", Absolute, 4),
        new(48, "THM_MOVT_ABS", Absolute, 4),
        new(49, "THM_MOVW_PREL_NC", PcRelative, 4),
        new(50, "THM_MOVT_PREL", PcRelative, 4),
        new(51, "THM_JUMP19", PcRelative, 4, Signed, 21),
        new(52, "THM_JUMP6", PcRelative, 2),
        new(53, "THM_ALU_PREL_11_0", PcRelative, 4),
        new(54, "THM_PC12", PcRelative, 4),
        new(55, "ABS32_NOI", Absolute, 4),
        new(56, "REL32_NOI", PcRelative, 4),
        new(57, "ALU_PC_G0_NC", PcRelative, 4),
        new(58, "ALU_PC_G0", PcRelative, 4),
        new(59, "ALU_PC_G1_NC", PcRelative, 4),
        new(60, "ALU_PC_G1", PcRelative, 4),
        new(61, "ALU_PC_G2", PcRelative, 4),
        new(62, "LDR_PC_G1", PcRelative, 4),
        new(63, "LDR_PC_G2", PcRelative, 4),
        new(64, "LDRS_PC_G0", PcRelative, 4),
        new(65, "LDRS_PC_G1", PcRelative, 4),
        new(66, "LDRS_PC_G2", PcRelative, 4),
        new(67, "LDC_PC_G0", PcRelative, 4),
        new(68, "LDC_PC_G1", PcRelative, 4),
        new(69, "LDC_PC_G2", PcRelative, 4),
        new(70, "ALU_SB_G0_NC", LabelDifference, 4),
        new(71, "ALU_SB_G0", LabelDifference, 4),
        new(72, "ALU_SB_G1_NC", LabelDifference, 4),
        new(73, "ALU_SB_G1", LabelDifference, 4),
        new(74, "ALU_SB_G2", LabelDifference, 4),
        new(75, "LDR_SB_G0", LabelDifference, 4),
        new(76, "LDR_SB_G1", LabelDifference, 4),
        new(77, "LDR_SB_G2", LabelDifference, 4),
        new(78, "LDRS_SB_G0", LabelDifference, 4),
        new(79, "LDRS_SB_G1", LabelDifference, 4),
        new(80, "LDRS_SB_G2", LabelDifference, 4),
        new(81, "LDC_SB_G0", LabelDifference, 4),
        new(82, "LDC_SB_G1", LabelDifference, 4),
        new(83, "LDC_SB_G2", LabelDifference, 4),
        new(84, "MOVW_BREL_NC", LabelDifference, 4),
        new(85, "MOVT_BREL", LabelDifference, 4),
        new(86, "MOVW_BREL", LabelDifference, 4),
        new(87, "THM_MOVW_BREL_NC", LabelDifference, 4),
        new(88, "THM_MOVT_BREL", LabelDifference, 4),
        new(89, "THM_MOVW_BREL", LabelDifference, 4),
        new(90, "TLS_GOTDESC", Tls, 4),
        new(91, "TLS_CALL", Tls, 4),
        new(92, "TLS_DESCSEQ", Tls, 4),
        new(93, "THM_TLS_CALL", Tls, 4),
        new(94, "PLT32_ABS", Absolute, 4),
        new(95, "GOT_ABS", Got, 4),
        new(96, "GOT_PREL", Got, 4),
        new(97, "GOT_BREL12", Got, 4),
        new(98, "GOTOFF12", LabelDifference, 4),
        new(99, "GOTRELAX", Got, 4),
        new(100, "GNU_VTENTRY", Marker),
        new(101, "GNU_VTINHERIT", Marker),
        new(102, "THM_JUMP11", PcRelative, 2, Signed, 12),
        new(103, "THM_JUMP8", PcRelative, 2, Signed, 9),
        new(104, "TLS_GD32", Tls, 4),
        new(105, "TLS_LDM32", Tls, 4),
        new(106, "TLS_LDO32", Tls, 4),
        new(107, "TLS_IE32", Tls, 4),
        new(108, "TLS_LE32", Tls, 4),
        new(109, "TLS_LDO12", Tls, 4),
        new(110, "TLS_LE12", Tls, 4),
        new(111, "TLS_IE12GP", Tls, 4),
        new(128, "ME_TOO", Marker),
        new(129, "THM_TLS_DESCSEQ16", Tls, 2),
        new(130, "THM_TLS_DESCSEQ32", Tls, 4),
        new(132, "THM_ALU_ABS_G0_NC", Absolute, 2),
        new(133, "THM_ALU_ABS_G1_NC", Absolute, 2),
        new(134, "THM_ALU_ABS_G2_NC", Absolute, 2),
        new(135, "THM_ALU_ABS_G3", Absolute, 2),
        new(136, "THM_BF16", PcRelative, 4),
        new(137, "THM_BF12", PcRelative, 4),
        new(138, "THM_BF18", PcRelative, 4),
        new(160, "IRELATIVE", Dynamic, 4),
        new(161, "GOTFUNCDESC", Got, 4),
        new(162, "GOTOFFFUNCDESC", Got, 4),
        new(163, "FUNCDESC", Dynamic, 4),
        new(164, "FUNCDESC_VALUE", Dynamic, 8),
        new(165, "TLS_GD32_FDPIC", Tls, 4),
        new(166, "TLS_LDM32_FDPIC", Tls, 4),
        new(167, "TLS_IE32_FDPIC", Tls, 4),
    ]));
    private static RelocationTable? s_arm;

    /// <summary>LoongArch ELF psABI, ELFCLASS64 objects (LA64).</summary>
    public static RelocationTable LoongArch64 => LazyInitializer.EnsureInitialized(ref s_loongArch64, static () => new(ElfMachine.LoongArch, true, "loongarch64", "R_LARCH_", 2, LoongArchRows(64)));
    private static RelocationTable? s_loongArch64;

    /// <summary>LoongArch ELF psABI, ELFCLASS32 objects (LA32): same numbers and kinds, 32-bit pointers (R_LARCH_32).</summary>
    public static RelocationTable LoongArch32 => LazyInitializer.EnsureInitialized(ref s_loongArch32, static () => new(ElfMachine.LoongArch, false, "loongarch32", "R_LARCH_", 1, LoongArchRows(32)));
    private static RelocationTable? s_loongArch32;

    /// <summary>
    /// The LoongArch rows for GRLEN <paramref name="grlen"/>, named as llvm-readelf names them (GNU readelf 2.40 knows
    /// only up to R_LARCH_RELAX). pcalau12i + addi (PCALA_HI20 / PCALA_LO12) is PC-relative by page; lu12i.w + ori
    /// (ABS_HI20 / ABS_LO12) is absolute; the *_LO12 halves are <see cref="RelocationKind.LowPart"/> and the HI20 half
    /// decides. The 64-bit halves (*64_LO20, *64_HI12) of -mcmodel=extreme sequences carry their kind too. The stack
    /// machine of the old ABI (SOP_*) is judged by what it pushes: the pops only store the result.
    /// </summary>
    private static RelocationType[] LoongArchRows(int grlen)
    {
        byte word = (byte)(grlen / 8);
        bool la64 = grlen == 64;
        var hi = la64 ? Signed : RelocationOverflow.None;
        byte hiBits = la64 ? (byte)32 : (byte)0;
        short hiBias = la64 ? (short)0x800 : (short)0;
        var wide = la64 ? Signed : RelocationOverflow.None;
        byte wideBits = la64 ? (byte)32 : (byte)0;
        return
        [
            new(0, "NONE", RelocationKind.None),
            new(1, "32", Absolute, 4, la64 ? SignedOrUnsigned : RelocationOverflow.None, wideBits),
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
            new(12, "IRELATIVE", Dynamic, word),
            new(13, "TLS_DESC32", Tls, 4),
            new(14, "TLS_DESC64", Tls, 8),
            new(20, "MARK_LA", Marker),
            new(21, "MARK_PCREL", Marker),
            new(22, "SOP_PUSH_PCREL", PcRelative),
            new(23, "SOP_PUSH_ABSOLUTE", Absolute),
            new(24, "SOP_PUSH_DUP", Marker),
            new(25, "SOP_PUSH_GPREL", Got),
            new(26, "SOP_PUSH_TLS_TPREL", Tls),
            new(27, "SOP_PUSH_TLS_GOT", Tls),
            new(28, "SOP_PUSH_TLS_GD", Tls),
            new(29, "SOP_PUSH_PLT_PCREL", PltCall),
            new(30, "SOP_ASSERT", Marker),
            new(31, "SOP_NOT", Marker),
            new(32, "SOP_SUB", Marker),
            new(33, "SOP_SL", Marker),
            new(34, "SOP_SR", Marker),
            new(35, "SOP_ADD", Marker),
            new(36, "SOP_AND", Marker),
            new(37, "SOP_IF_ELSE", Marker),
            new(38, "SOP_POP_32_S_10_5", Marker),
            new(39, "SOP_POP_32_U_10_12", Marker),
            new(40, "SOP_POP_32_S_10_12", Marker),
            new(41, "SOP_POP_32_S_10_16", Marker),
            new(42, "SOP_POP_32_S_10_16_S2", Marker),
            new(43, "SOP_POP_32_S_5_20", Marker),
            new(44, "SOP_POP_32_S_0_5_10_16_S2", Marker),
            new(45, "SOP_POP_32_S_0_10_10_16_S2", Marker),
            new(46, "SOP_POP_32_U", Marker),
            new(47, "ADD8", LabelDifference, 1),
            new(48, "ADD16", LabelDifference, 2),
            new(49, "ADD24", LabelDifference, 3),
            new(50, "ADD32", LabelDifference, 4),
            new(51, "ADD64", LabelDifference, 8),
            new(52, "SUB8", LabelDifference, 1),
            new(53, "SUB16", LabelDifference, 2),
            new(54, "SUB24", LabelDifference, 3),
            new(55, "SUB32", LabelDifference, 4),
            new(56, "SUB64", LabelDifference, 8),
            new(57, "GNU_VTINHERIT", Marker),
            new(58, "GNU_VTENTRY", Marker),
            new(64, "B16", PcRelative, 4, Signed, 18),
            new(65, "B21", PcRelative, 4, Signed, 23),
            new(66, "B26", PltCall, 4, Signed, 28),
            new(67, "ABS_HI20", Absolute, 4, hi, hiBits, hiBias),
            new(68, "ABS_LO12", LowPart, 4),
            new(69, "ABS64_LO20", Absolute, 4),
            new(70, "ABS64_HI12", Absolute, 4),
            new(71, "PCALA_HI20", PcRelative, 4, hi, hiBits, hiBias),
            new(72, "PCALA_LO12", LowPart, 4),
            new(73, "PCALA64_LO20", PcRelative, 4),
            new(74, "PCALA64_HI12", PcRelative, 4),
            new(75, "GOT_PC_HI20", Got, 4, hi, hiBits, hiBias),
            new(76, "GOT_PC_LO12", LowPart, 4),
            new(77, "GOT64_PC_LO20", Got, 4),
            new(78, "GOT64_PC_HI12", Got, 4),
            new(79, "GOT_HI20", Got, 4, hi, hiBits, hiBias),
            new(80, "GOT_LO12", LowPart, 4),
            new(81, "GOT64_LO20", Got, 4),
            new(82, "GOT64_HI12", Got, 4),
            new(83, "TLS_LE_HI20", Tls, 4),
            new(84, "TLS_LE_LO12", Tls, 4),
            new(85, "TLS_LE64_LO20", Tls, 4),
            new(86, "TLS_LE64_HI12", Tls, 4),
            new(87, "TLS_IE_PC_HI20", Tls, 4),
            new(88, "TLS_IE_PC_LO12", Tls, 4),
            new(89, "TLS_IE64_PC_LO20", Tls, 4),
            new(90, "TLS_IE64_PC_HI12", Tls, 4),
            new(91, "TLS_IE_HI20", Tls, 4),
            new(92, "TLS_IE_LO12", Tls, 4),
            new(93, "TLS_IE64_LO20", Tls, 4),
            new(94, "TLS_IE64_HI12", Tls, 4),
            new(95, "TLS_LD_PC_HI20", Tls, 4),
            new(96, "TLS_LD_HI20", Tls, 4),
            new(97, "TLS_GD_PC_HI20", Tls, 4),
            new(98, "TLS_GD_HI20", Tls, 4),
            new(99, "32_PCREL", PcRelative, 4, wide, wideBits),
            new(100, "RELAX", Marker),
            new(102, "ALIGN", Marker),
            new(103, "PCREL20_S2", PcRelative, 4, Signed, 22),
            new(105, "ADD6", LabelDifference, 1),
            new(106, "SUB6", LabelDifference, 1),
            new(107, "ADD_ULEB128", LabelDifference),
            new(108, "SUB_ULEB128", LabelDifference),
            new(109, "64_PCREL", PcRelative, 8),
            new(110, "CALL36", PltCall, 8, Signed, 38),
            new(111, "TLS_DESC_PC_HI20", Tls, 4),
            new(112, "TLS_DESC_PC_LO12", Tls, 4),
            new(113, "TLS_DESC64_PC_LO20", Tls, 4),
            new(114, "TLS_DESC64_PC_HI12", Tls, 4),
            new(115, "TLS_DESC_HI20", Tls, 4),
            new(116, "TLS_DESC_LO12", Tls, 4),
            new(117, "TLS_DESC64_LO20", Tls, 4),
            new(118, "TLS_DESC64_HI12", Tls, 4),
            new(119, "TLS_DESC_LD", Tls),
            new(120, "TLS_DESC_CALL", Tls),
            new(121, "TLS_LE_HI20_R", Tls, 4),
            new(122, "TLS_LE_ADD_R", Tls),
            new(123, "TLS_LE_LO12_R", Tls, 4),
            new(124, "TLS_LD_PCREL20_S2", Tls, 4),
            new(125, "TLS_GD_PCREL20_S2", Tls, 4),
            new(126, "TLS_DESC_PCREL20_S2", Tls, 4),
        ];
    }

    /// <summary>
    /// 64-bit ELF V2 ABI for the Power Architecture (and the ELFv1 numbering it keeps), for big- and little-endian
    /// objects. Names are llvm-readelf's; where it prints none (PLT*, SECTOFF*, REL30, UADDR*, the 34-bit prefixed
    /// forms, ...) GNU readelf's. TOC16* address a symbol relative to the TOC base (S + A - .TOC.): a distance between
    /// two link-time addresses, <see cref="RelocationKind.LabelDifference"/>; the .toc entries they load are ADDR64
    /// (absolute pointers in data). R_PPC64_TOC is the TOC base's absolute address (ELFv1 function descriptors).
    /// </summary>
    public static RelocationTable PowerPC64 => LazyInitializer.EnsureInitialized(ref s_powerPC64, static () => new(ElfMachine.PowerPC64, true, "ppc64", "R_PPC64_", 38,
    [
        new(0, "NONE", RelocationKind.None),
        new(1, "ADDR32", Absolute, 4, SignedOrUnsigned, 32),
        new(2, "ADDR24", Absolute, 4, Signed, 26),
        new(3, "ADDR16", Absolute, 2, SignedOrUnsigned, 16),
        new(4, "ADDR16_LO", LowPart, 2),
        new(5, "ADDR16_HI", Absolute, 2),
        new(6, "ADDR16_HA", Absolute, 2),
        new(7, "ADDR14", Absolute, 4, Signed, 16),
        new(8, "ADDR14_BRTAKEN", Absolute, 4, Signed, 16),
        new(9, "ADDR14_BRNTAKEN", Absolute, 4, Signed, 16),
        new(10, "REL24", PltCall, 4, Signed, 26),
        new(11, "REL14", PcRelative, 4, Signed, 16),
        new(12, "REL14_BRTAKEN", PcRelative, 4, Signed, 16),
        new(13, "REL14_BRNTAKEN", PcRelative, 4, Signed, 16),
        new(14, "GOT16", Got, 2, Signed, 16),
        new(15, "GOT16_LO", Got, 2),
        new(16, "GOT16_HI", Got, 2),
        new(17, "GOT16_HA", Got, 2),
        new(19, "COPY", Dynamic),
        new(20, "GLOB_DAT", Dynamic, 8),
        new(21, "JMP_SLOT", Dynamic, 8),
        new(22, "RELATIVE", Absolute, 8),
        new(24, "UADDR32", Absolute, 4, SignedOrUnsigned, 32),
        new(25, "UADDR16", Absolute, 2, SignedOrUnsigned, 16),
        new(26, "REL32", PcRelative, 4, Signed, 32),
        new(27, "PLT32", Got, 4),
        new(28, "PLTREL32", Got, 4),
        new(29, "PLT16_LO", Got, 2),
        new(30, "PLT16_HI", Got, 2),
        new(31, "PLT16_HA", Got, 2),
        new(33, "SECTOFF", LabelDifference, 2),
        new(34, "SECTOFF_LO", LabelDifference, 2),
        new(35, "SECTOFF_HI", LabelDifference, 2),
        new(36, "SECTOFF_HA", LabelDifference, 2),
        new(37, "REL30", PcRelative, 4),
        new(38, "ADDR64", Absolute, 8),
        new(39, "ADDR16_HIGHER", Absolute, 2),
        new(40, "ADDR16_HIGHERA", Absolute, 2),
        new(41, "ADDR16_HIGHEST", Absolute, 2),
        new(42, "ADDR16_HIGHESTA", Absolute, 2),
        new(43, "UADDR64", Absolute, 8),
        new(44, "REL64", PcRelative, 8),
        new(45, "PLT64", Got, 8),
        new(46, "PLTREL64", Got, 8),
        new(47, "TOC16", LabelDifference, 2, Signed, 16),
        new(48, "TOC16_LO", LabelDifference, 2),
        new(49, "TOC16_HI", LabelDifference, 2),
        new(50, "TOC16_HA", LabelDifference, 2),
        new(51, "TOC", Absolute, 8),
        new(52, "PLTGOT16", Got, 2),
        new(53, "PLTGOT16_LO", Got, 2),
        new(54, "PLTGOT16_HI", Got, 2),
        new(55, "PLTGOT16_HA", Got, 2),
        new(56, "ADDR16_DS", Absolute, 2, Signed, 16),
        new(57, "ADDR16_LO_DS", LowPart, 2),
        new(58, "GOT16_DS", Got, 2, Signed, 16),
        new(59, "GOT16_LO_DS", Got, 2),
        new(60, "PLT16_LO_DS", Got, 2),
        new(61, "SECTOFF_DS", LabelDifference, 2),
        new(62, "SECTOFF_LO_DS", LabelDifference, 2),
        new(63, "TOC16_DS", LabelDifference, 2, Signed, 16),
        new(64, "TOC16_LO_DS", LabelDifference, 2),
        new(65, "PLTGOT16_DS", Got, 2),
        new(66, "PLTGOT16_LO_DS", Got, 2),
        new(67, "TLS", Tls),
        new(68, "DTPMOD64", Tls, 8),
        new(69, "TPREL16", Tls, 2),
        new(70, "TPREL16_LO", Tls, 2),
        new(71, "TPREL16_HI", Tls, 2),
        new(72, "TPREL16_HA", Tls, 2),
        new(73, "TPREL64", Tls, 8),
        new(74, "DTPREL16", Tls, 2),
        new(75, "DTPREL16_LO", Tls, 2),
        new(76, "DTPREL16_HI", Tls, 2),
        new(77, "DTPREL16_HA", Tls, 2),
        new(78, "DTPREL64", Tls, 8),
        new(79, "GOT_TLSGD16", Tls, 2),
        new(80, "GOT_TLSGD16_LO", Tls, 2),
        new(81, "GOT_TLSGD16_HI", Tls, 2),
        new(82, "GOT_TLSGD16_HA", Tls, 2),
        new(83, "GOT_TLSLD16", Tls, 2),
        new(84, "GOT_TLSLD16_LO", Tls, 2),
        new(85, "GOT_TLSLD16_HI", Tls, 2),
        new(86, "GOT_TLSLD16_HA", Tls, 2),
        new(87, "GOT_TPREL16_DS", Tls, 2),
        new(88, "GOT_TPREL16_LO_DS", Tls, 2),
        new(89, "GOT_TPREL16_HI", Tls, 2),
        new(90, "GOT_TPREL16_HA", Tls, 2),
        new(91, "GOT_DTPREL16_DS", Tls, 2),
        new(92, "GOT_DTPREL16_LO_DS", Tls, 2),
        new(93, "GOT_DTPREL16_HI", Tls, 2),
        new(94, "GOT_DTPREL16_HA", Tls, 2),
        new(95, "TPREL16_DS", Tls, 2),
        new(96, "TPREL16_LO_DS", Tls, 2),
        new(97, "TPREL16_HIGHER", Tls, 2),
        new(98, "TPREL16_HIGHERA", Tls, 2),
        new(99, "TPREL16_HIGHEST", Tls, 2),
        new(100, "TPREL16_HIGHESTA", Tls, 2),
        new(101, "DTPREL16_DS", Tls, 2),
        new(102, "DTPREL16_LO_DS", Tls, 2),
        new(103, "DTPREL16_HIGHER", Tls, 2),
        new(104, "DTPREL16_HIGHERA", Tls, 2),
        new(105, "DTPREL16_HIGHEST", Tls, 2),
        new(106, "DTPREL16_HIGHESTA", Tls, 2),
        new(107, "TLSGD", Tls),
        new(108, "TLSLD", Tls),
        new(109, "TOCSAVE", Marker),
        new(110, "ADDR16_HIGH", Absolute, 2),
        new(111, "ADDR16_HIGHA", Absolute, 2),
        new(112, "TPREL16_HIGH", Tls, 2),
        new(113, "TPREL16_HIGHA", Tls, 2),
        new(114, "DTPREL16_HIGH", Tls, 2),
        new(115, "DTPREL16_HIGHA", Tls, 2),
        new(116, "REL24_NOTOC", PltCall, 4, Signed, 26),
        new(117, "ADDR64_LOCAL", Absolute, 8),
        new(118, "ENTRY", Marker),
        new(119, "PLTSEQ", Marker),
        new(120, "PLTCALL", Marker),
        new(121, "PLTSEQ_NOTOC", Marker),
        new(122, "PLTCALL_NOTOC", Marker),
        new(123, "PCREL_OPT", Marker),
        new(124, "REL24_P9NOTOC", PltCall, 4, Signed, 26),
        new(128, "D34", Absolute, 8, Signed, 34),
        new(129, "D34_LO", Absolute, 8),
        new(130, "D34_HI30", Absolute, 8),
        new(131, "D34_HA30", Absolute, 8),
        new(132, "PCREL34", PcRelative, 8, Signed, 34),
        new(133, "GOT_PCREL34", Got, 8, Signed, 34),
        new(134, "PLT_PCREL34", Got, 8),
        new(135, "PLT_PCREL34_NOTOC", Got, 8),
        new(136, "ADDR16_HIGHER34", Absolute, 2),
        new(137, "ADDR16_HIGHERA34", Absolute, 2),
        new(138, "ADDR16_HIGHEST34", Absolute, 2),
        new(139, "ADDR16_HIGHESTA34", Absolute, 2),
        new(140, "REL16_HIGHER34", PcRelative, 2),
        new(141, "REL16_HIGHERA34", PcRelative, 2),
        new(142, "REL16_HIGHEST34", PcRelative, 2),
        new(143, "REL16_HIGHESTA34", PcRelative, 2),
        new(144, "D28", Absolute, 8, Signed, 28),
        new(145, "PCREL28", PcRelative, 8, Signed, 28),
        new(146, "TPREL34", Tls, 8),
        new(147, "DTPREL34", Tls, 8),
        new(148, "GOT_TLSGD_PCREL34", Tls, 8),
        new(149, "GOT_TLSLD_PCREL34", Tls, 8),
        new(150, "GOT_TPREL_PCREL34", Tls, 8),
        new(151, "GOT_DTPREL_PCREL34", Tls, 8),
        new(240, "REL16_HIGH", PcRelative, 2),
        new(241, "REL16_HIGHA", PcRelative, 2),
        new(242, "REL16_HIGHER", PcRelative, 2),
        new(243, "REL16_HIGHERA", PcRelative, 2),
        new(244, "REL16_HIGHEST", PcRelative, 2),
        new(245, "REL16_HIGHESTA", PcRelative, 2),
        new(246, "REL16DX_HA", PcRelative, 4),
        new(247, "JMP_IREL", Dynamic, 8),
        new(248, "IRELATIVE", Dynamic, 8),
        new(249, "REL16", PcRelative, 2, Signed, 16),
        new(250, "REL16_LO", LowPart, 2),
        new(251, "REL16_HI", PcRelative, 2),
        new(252, "REL16_HA", PcRelative, 2),
        new(253, "GNU_VTINHERIT", Marker),
        new(254, "GNU_VTENTRY", Marker),
    ]));
    private static RelocationTable? s_powerPC64;

    /// <summary>
    /// s390x ELF ABI (zSeries), named as llvm-readelf names them (13 is R_390_GOTOFF there, R_390_GOTOFF32 in GNU
    /// readelf). The *DBL types hold a halfword count: PC32DBL (larl, brasl) reaches ±4 GiB, a signed 33-bit range.
    /// GOTENT (larl of a GOT slot) reads a GOT entry.
    /// </summary>
    public static RelocationTable S390x => LazyInitializer.EnsureInitialized(ref s_s390x, static () => new(ElfMachine.S390, true, "s390x", "R_390_", 22,
    [
        new(0, "NONE", RelocationKind.None),
        new(1, "8", Absolute, 1, SignedOrUnsigned, 8),
        new(2, "12", Absolute, 2, Unsigned, 12),
        new(3, "16", Absolute, 2, SignedOrUnsigned, 16),
        new(4, "32", Absolute, 4, SignedOrUnsigned, 32),
        new(5, "PC32", PcRelative, 4, Signed, 32),
        new(6, "GOT12", Got, 2, Unsigned, 12),
        new(7, "GOT32", Got, 4),
        new(8, "PLT32", PltCall, 4, Signed, 32),
        new(9, "COPY", Dynamic),
        new(10, "GLOB_DAT", Dynamic, 8),
        new(11, "JMP_SLOT", Dynamic, 8),
        new(12, "RELATIVE", Absolute, 8),
        new(13, "GOTOFF", LabelDifference, 4),
        new(14, "GOTPC", PcRelative, 4),
        new(15, "GOT16", Got, 2),
        new(16, "PC16", PcRelative, 2, Signed, 16),
        new(17, "PC16DBL", PcRelative, 2, Signed, 17),
        new(18, "PLT16DBL", PltCall, 2, Signed, 17),
        new(19, "PC32DBL", PcRelative, 4, Signed, 33),
        new(20, "PLT32DBL", PltCall, 4, Signed, 33),
        new(21, "GOTPCDBL", PcRelative, 4, Signed, 33),
        new(22, "64", Absolute, 8),
        new(23, "PC64", PcRelative, 8),
        new(24, "GOT64", Got, 8),
        new(25, "PLT64", PltCall, 8),
        new(26, "GOTENT", Got, 4, Signed, 33),
        new(27, "GOTOFF16", LabelDifference, 2),
        new(28, "GOTOFF64", LabelDifference, 8),
        new(29, "GOTPLT12", Got, 2),
        new(30, "GOTPLT16", Got, 2),
        new(31, "GOTPLT32", Got, 4),
        new(32, "GOTPLT64", Got, 8),
        new(33, "GOTPLTENT", Got, 4, Signed, 33),
        new(34, "PLTOFF16", LabelDifference, 2),
        new(35, "PLTOFF32", LabelDifference, 4),
        new(36, "PLTOFF64", LabelDifference, 8),
        new(37, "TLS_LOAD", Tls),
        new(38, "TLS_GDCALL", Tls),
        new(39, "TLS_LDCALL", Tls),
        new(40, "TLS_GD32", Tls, 4),
        new(41, "TLS_GD64", Tls, 8),
        new(42, "TLS_GOTIE12", Tls, 2),
        new(43, "TLS_GOTIE32", Tls, 4),
        new(44, "TLS_GOTIE64", Tls, 8),
        new(45, "TLS_LDM32", Tls, 4),
        new(46, "TLS_LDM64", Tls, 8),
        new(47, "TLS_IE32", Tls, 4),
        new(48, "TLS_IE64", Tls, 8),
        new(49, "TLS_IEENT", Tls, 4),
        new(50, "TLS_LE32", Tls, 4),
        new(51, "TLS_LE64", Tls, 8),
        new(52, "TLS_LDO32", Tls, 4),
        new(53, "TLS_LDO64", Tls, 8),
        new(54, "TLS_DTPMOD", Tls, 8),
        new(55, "TLS_DTPOFF", Tls, 8),
        new(56, "TLS_TPOFF", Tls, 8),
        new(57, "20", Absolute, 4, Signed, 20),
        new(58, "GOT20", Got, 4),
        new(59, "GOTPLT20", Got, 4),
        new(60, "TLS_GOTIE20", Tls, 4),
        new(61, "IRELATIVE", Dynamic, 8),
        new(62, "PC12DBL", PcRelative, 2, Signed, 13),
        new(63, "PLT12DBL", PltCall, 2, Signed, 13),
        new(64, "PC24DBL", PcRelative, 4, Signed, 25),
        new(65, "PLT24DBL", PltCall, 4, Signed, 25),
        new(250, "GNU_VTINHERIT", Marker),
        new(251, "GNU_VTENTRY", Marker),
    ]));
    private static RelocationTable? s_s390x;
}
