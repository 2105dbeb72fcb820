using PicGuard.Elf;
using static PicGuard.Relocations.RelocationKind;

namespace PicGuard.Relocations;

/// <summary>
/// A machine's relocation types as data: one row per psABI type, looked up by number in O(1).
/// Adding a machine means adding a table here, never an <c>if</c> in a rule.
/// </summary>
public sealed class RelocationTable
{
    private readonly RelocationType[] _byNumber;

    public ElfMachine Machine { get; }
    public string Prefix { get; }

    private RelocationTable(ElfMachine machine, string prefix, params RelocationType[] rows)
    {
        Machine = machine;
        Prefix = prefix;
        // Every number up to 255 has a row (unknown ones too), so a lookup in the hot loop never allocates.
        _byNumber = new RelocationType[Math.Max(rows.Max(r => r.Number) + 1, 256)];
        for (uint n = 0; n < _byNumber.Length; n++)
            _byNumber[n] = UnknownRow(n);
        foreach (var row in rows)
            _byNumber[row.Number] = row with { Name = prefix + row.Name };
    }

    /// <summary>The row for <paramref name="type"/>; an Unknown row named "R_…_&lt;number&gt;" when the type is not in the table.</summary>
    public RelocationType this[uint type] =>
        type < (uint)_byNumber.Length ? _byNumber[type] : UnknownRow(type);

    private RelocationType UnknownRow(uint type) => new(type, $"{Prefix}<unknown:{type}>", Unknown);

    public IEnumerable<RelocationType> Types => _byNumber.Where(r => r.IsKnown);

    /// <summary>The table for a machine, or null when PicGuard has none.</summary>
    public static RelocationTable? For(ElfMachine machine) => machine switch
    {
        ElfMachine.X86_64 => X86_64,
        ElfMachine.I386 => I386,
        _ => null,
    };

    /// <summary>x86-64 psABI (System V AMD64 ABI, "Relocation Types").</summary>
    public static readonly RelocationTable X86_64 = new(ElfMachine.X86_64, "R_X86_64_",
        new(0, "NONE", None),
        new(1, "64", Absolute, 8),
        new(2, "PC32", PcRelative, 4),
        new(3, "GOT32", Got, 4),
        new(4, "PLT32", PltCall, 4),
        new(5, "COPY", Dynamic),
        new(6, "GLOB_DAT", Dynamic, 8),
        new(7, "JUMP_SLOT", Dynamic, 8),
        new(8, "RELATIVE", Dynamic, 8),
        new(9, "GOTPCREL", Got, 4),
        new(10, "32", Absolute, 4),
        new(11, "32S", Absolute, 4),
        new(12, "16", Absolute, 2),
        new(13, "PC16", PcRelative, 2),
        new(14, "8", Absolute, 1),
        new(15, "PC8", PcRelative, 1),
        new(16, "DTPMOD64", Tls, 8),
        new(17, "DTPOFF64", Tls, 8),
        new(18, "TPOFF64", Tls, 8),
        new(19, "TLSGD", Tls, 4),
        new(20, "TLSLD", Tls, 4),
        new(21, "DTPOFF32", Tls, 4),
        new(22, "GOTTPOFF", Tls, 4),
        new(23, "TPOFF32", Tls, 4),
        new(24, "PC64", PcRelative, 8),
        new(25, "GOTOFF64", Got, 8),
        new(26, "GOTPC32", Got, 4),
        new(27, "GOT64", Got, 8),
        new(28, "GOTPCREL64", Got, 8),
        new(29, "GOTPC64", Got, 8),
        new(30, "GOTPLT64", Got, 8),
        new(31, "PLTOFF64", Got, 8),
        new(32, "SIZE32", Size, 4),
        new(33, "SIZE64", Size, 8),
        new(34, "GOTPC32_TLSDESC", Tls, 4),
        new(35, "TLSDESC_CALL", Tls),
        new(36, "TLSDESC", Tls, 16),
        new(37, "IRELATIVE", Dynamic, 8),
        new(38, "RELATIVE64", Dynamic, 8),
        new(41, "GOTPCRELX", Got, 4),
        new(42, "REX_GOTPCRELX", Got, 4),
        new(43, "CODE_4_GOTPCRELX", Got, 4),
        new(44, "CODE_4_GOTTPOFF", Tls, 4),
        new(45, "CODE_4_GOTPC32_TLSDESC", Tls, 4),
        new(46, "CODE_5_GOTPCRELX", Got, 4),
        new(47, "CODE_5_GOTTPOFF", Tls, 4),
        new(48, "CODE_5_GOTPC32_TLSDESC", Tls, 4),
        new(49, "CODE_6_GOTPCRELX", Got, 4),
        new(50, "CODE_6_GOTTPOFF", Tls, 4),
        new(51, "CODE_6_GOTPC32_TLSDESC", Tls, 4));

    /// <summary>i386 psABI (System V Intel386 ABI).</summary>
    public static readonly RelocationTable I386 = new(ElfMachine.I386, "R_386_",
        new(0, "NONE", None),
        new(1, "32", Absolute, 4),
        new(2, "PC32", PcRelative, 4),
        new(3, "GOT32", Got, 4),
        new(4, "PLT32", PltCall, 4),
        new(5, "COPY", Dynamic),
        new(6, "GLOB_DAT", Dynamic, 4),
        new(7, "JUMP_SLOT", Dynamic, 4),
        new(8, "RELATIVE", Dynamic, 4),
        new(9, "GOTOFF", Got, 4),
        new(10, "GOTPC", Got, 4),
        new(11, "32PLT", PltCall, 4),
        new(14, "TLS_TPOFF", Tls, 4),
        new(15, "TLS_IE", Tls, 4),
        new(16, "TLS_GOTIE", Tls, 4),
        new(17, "TLS_LE", Tls, 4),
        new(18, "TLS_GD", Tls, 4),
        new(19, "TLS_LDM", Tls, 4),
        new(20, "16", Absolute, 2),
        new(21, "PC16", PcRelative, 2),
        new(22, "8", Absolute, 1),
        new(23, "PC8", PcRelative, 1),
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
        new(43, "GOT32X", Got, 4));
}
