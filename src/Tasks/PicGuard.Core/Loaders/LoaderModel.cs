using PicGuard.Elf;
using PicGuard.Rules;

namespace PicGuard.Loaders;

/// <summary>
/// One machine's relocation function in a loader: the loader's own message for a value that does not fit (format items:
/// {0} the type number, {1} the value; null when it checks no field). Where the function is and its message for a type it does not apply are the
/// profile's loader row (<see cref="LoaderRow"/>).
/// </summary>
public sealed record LoaderArchitecture(ElfMachine Machine, string? OverflowMessage)
{
    /// <summary>
    /// False when the relocation function does not stop at an SHN_UNDEF symbol: it adds section 0's sh_addr (0), so the
    /// symbol is address st_value. Relocations against symbol 0 (R_RISCV_RELAX, R_RISCV_ALIGN) pass; PicGuard still reports
    /// a named undefined symbol (PG0008), where the loader would not.
    /// </summary>
    public bool ChecksUndefined { get; init; } = true;
}

/// <summary>
/// A loader, as data: how it places an object's sections (<see cref="LoaderEngine"/> implements the one placement
/// the kernel's kexec_file loader has), its per-machine relocation functions and messages, and the formula of every
/// type it applies (<see cref="Formulas"/>, one row per machine and type). The types it applies are the profile's
/// loader row (<see cref="Profile.LoaderFor"/>); a listed type without a formula row is a gap in this table, caught by the tests.
/// </summary>
public sealed record LoaderModel(string Name, string Placement, IReadOnlyList<LoaderArchitecture> Architectures, IReadOnlyList<RelocationFormula> Formulas)
{
    /// <summary>The loader's message for a relocation against an undefined symbol ({0}: the name).</summary>
    public string UndefinedMessage { get; init; } = "Undefined symbol: {0}";

    /// <summary>The loader's message for a relocation against a common symbol ({0}: the name).</summary>
    public string CommonMessage { get; init; } = "symbol '{0}' in common section";

    /// <summary>The loader's message for a symbol whose section index is reserved or out of range ({0}: the index, {1}: the name).</summary>
    public string InvalidSectionMessage { get; init; } = "Invalid section {0} for symbol {1}";

    /// <summary>The loader's message for a REL (not RELA) section.</summary>
    public string RelMessage { get; init; } = "REL relocation unsupported";

    public LoaderArchitecture? Architecture(ElfMachine machine)
    {
        foreach (var a in Architectures)
            if (a.Machine == machine) return a;
        return null;
    }

    /// <summary>The formula of <paramref name="typeName"/> on <paramref name="machine"/>, or null when the table has no row.</summary>
    public RelocationFormula? Formula(ElfMachine machine, string typeName)
    {
        foreach (var f in Formulas)
            if (f.Machine == machine && f.TypeName == typeName) return f;
        return null;
    }
}

/// <summary>The loader models, and which profile is placed by which. docs/loaders.md is this file in prose.</summary>
public static class LoaderModels
{
    /// <summary>
    /// The kernel's kexec_file purgatory loader: kexec_purgatory_setup_kbuf and kexec_purgatory_setup_sechdrs
    /// (kernel/kexec_file.c) place the sections; arch_kexec_apply_relocations_add (arch/x86/kernel/machine_kexec_64.c)
    /// relocates them.
    /// </summary>
    public static readonly LoaderModel KexecFile = new(
        "kexec_file",
        "allocated sections with file data in section-header order, each at its sh_addralign, then the zero-filled ones after the data aligned to the largest of their alignments; the blob's base is a multiple of the largest alignment and of a page; the entry is e_entry rebased by the first executable section that contains it",
        [
            new(ElfMachine.X86_64, "Overflow in relocation type {0} value 0x{1:x}"),
            // arch/s390/kernel/machine_kexec_file.c, arch_kexec_apply_relocations_add, and machine_kexec_reloc.c, arch_kexec_do_relocs: no field is checked.
            new(ElfMachine.S390, null),
            // arch/riscv/kernel/machine_kexec_file.c, arch_kexec_apply_relocations_add: no field is checked.
            // It has no SHN_UNDEF test either: an undefined symbol is address st_value.
            new(ElfMachine.RiscV, null) { ChecksUndefined = false },
        ],
        [
            new(ElfMachine.X86_64, "R_X86_64_NONE", FormulaKind.Nothing, 0, FieldCheck.FullWidth),
            new(ElfMachine.X86_64, "R_X86_64_64", FormulaKind.Absolute, 8, FieldCheck.FullWidth),
            new(ElfMachine.X86_64, "R_X86_64_32", FormulaKind.Absolute, 4, FieldCheck.ZeroExtended),
            new(ElfMachine.X86_64, "R_X86_64_32S", FormulaKind.Absolute, 4, FieldCheck.SignExtended),
            new(ElfMachine.X86_64, "R_X86_64_PC32", FormulaKind.PcRelative, 4, FieldCheck.Unchecked),
            new(ElfMachine.X86_64, "R_X86_64_PLT32", FormulaKind.PcRelative, 4, FieldCheck.Unchecked),
            new(ElfMachine.S390, "R_390_NONE", FormulaKind.Nothing, 0, FieldCheck.FullWidth),
            new(ElfMachine.S390, "R_390_8", FormulaKind.Absolute, 1, FieldCheck.UncheckedUnsigned),
            new(ElfMachine.S390, "R_390_12", FormulaKind.Absolute, 2, FieldCheck.UncheckedUnsigned) { Layout = FieldLayout.S390Displacement12 },
            new(ElfMachine.S390, "R_390_16", FormulaKind.Absolute, 2, FieldCheck.UncheckedUnsigned),
            new(ElfMachine.S390, "R_390_20", FormulaKind.Absolute, 4, FieldCheck.Unchecked) { Layout = FieldLayout.S390Displacement20 },
            new(ElfMachine.S390, "R_390_32", FormulaKind.Absolute, 4, FieldCheck.UncheckedUnsigned),
            new(ElfMachine.S390, "R_390_64", FormulaKind.Absolute, 8, FieldCheck.FullWidth),
            new(ElfMachine.S390, "R_390_PC16", FormulaKind.PcRelative, 2, FieldCheck.Unchecked),
            new(ElfMachine.S390, "R_390_PC16DBL", FormulaKind.PcRelative, 2, FieldCheck.Unchecked) { Shift = 1 },
            new(ElfMachine.S390, "R_390_PC32DBL", FormulaKind.PcRelative, 4, FieldCheck.Unchecked) { Shift = 1 },
            // Rewritten to R_390_PC32DBL before it is applied.
            new(ElfMachine.S390, "R_390_PLT32DBL", FormulaKind.PcRelative, 4, FieldCheck.Unchecked) { Shift = 1 },
            new(ElfMachine.S390, "R_390_PC32", FormulaKind.PcRelative, 4, FieldCheck.Unchecked),
            new(ElfMachine.S390, "R_390_PC64", FormulaKind.PcRelative, 8, FieldCheck.FullWidth),
            // *(unsigned long *)loc = val: the symbol's address plus the addend, like R_390_64.
            new(ElfMachine.S390, "R_390_RELATIVE", FormulaKind.Absolute, 8, FieldCheck.FullWidth),
            // riscv64: instruction words are little-endian; every immediate is written without a range check.
            new(ElfMachine.RiscV, "R_RISCV_BRANCH", FormulaKind.PcRelative, 4, FieldCheck.Unchecked) { Layout = FieldLayout.RiscvBType },
            new(ElfMachine.RiscV, "R_RISCV_JAL", FormulaKind.PcRelative, 4, FieldCheck.Unchecked) { Layout = FieldLayout.RiscvJType },
            // One 64-bit write: the auipc's hi20 and the I-type immediate of the word after it (the jalr, or the PCREL_LO12_I instruction).
            new(ElfMachine.RiscV, "R_RISCV_PCREL_HI20", FormulaKind.PcRelative, 8, FieldCheck.Unchecked) { Layout = FieldLayout.RiscvAuipcPair },
            new(ElfMachine.RiscV, "R_RISCV_CALL_PLT", FormulaKind.PcRelative, 8, FieldCheck.Unchecked) { Layout = FieldLayout.RiscvAuipcPair },
            new(ElfMachine.RiscV, "R_RISCV_CALL", FormulaKind.PcRelative, 8, FieldCheck.Unchecked) { Layout = FieldLayout.RiscvAuipcPair },
            new(ElfMachine.RiscV, "R_RISCV_RVC_BRANCH", FormulaKind.PcRelative, 2, FieldCheck.Unchecked) { Layout = FieldLayout.RiscvCBType },
            new(ElfMachine.RiscV, "R_RISCV_RVC_JUMP", FormulaKind.PcRelative, 2, FieldCheck.Unchecked) { Layout = FieldLayout.RiscvCJType },
            // ADD/SUB pairs compute a difference: each half is S + A modulo the field, and only the pair's sum means anything.
            new(ElfMachine.RiscV, "R_RISCV_ADD16", FormulaKind.Absolute, 2, FieldCheck.FullWidth) { Layout = FieldLayout.Added },
            new(ElfMachine.RiscV, "R_RISCV_SUB16", FormulaKind.Absolute, 2, FieldCheck.FullWidth) { Layout = FieldLayout.Subtracted },
            new(ElfMachine.RiscV, "R_RISCV_ADD32", FormulaKind.Absolute, 4, FieldCheck.FullWidth) { Layout = FieldLayout.Added },
            new(ElfMachine.RiscV, "R_RISCV_SUB32", FormulaKind.Absolute, 4, FieldCheck.FullWidth) { Layout = FieldLayout.Subtracted },
            // Skipped: "It has been applied by R_RISCV_PCREL_HI20 sym" (the instruction after the auipc).
            new(ElfMachine.RiscV, "R_RISCV_PCREL_LO12_I", FormulaKind.Nothing, 0, FieldCheck.FullWidth) { WrittenWith = "R_RISCV_PCREL_HI20" },
            new(ElfMachine.RiscV, "R_RISCV_ALIGN", FormulaKind.Nothing, 0, FieldCheck.FullWidth),
            new(ElfMachine.RiscV, "R_RISCV_RELAX", FormulaKind.Nothing, 0, FieldCheck.FullWidth),
            new(ElfMachine.RiscV, "R_RISCV_64", FormulaKind.Absolute, 8, FieldCheck.FullWidth),
        ]);

    public static IReadOnlyList<LoaderModel> All { get; } = [KexecFile];

    /// <summary>The loader that places blobs of <paramref name="profile"/>, or null when PicGuard has no model of it.</summary>
    public static LoaderModel? For(Profile profile) =>
        string.Equals(profile.Name, Profiles.KexecPurgatory.Name, StringComparison.Ordinal) ? KexecFile : null;

    /// <summary>The profiles whose loader PicGuard models, by name.</summary>
    public static string ProfileNames => Profiles.KexecPurgatory.Name;
}
