using PicGuard.Elf;

namespace PicGuard.Rules;

/// <summary>
/// A loader profile: which rules run for a kind of blob, at what severity, and the defaults the
/// loader implies. Profiles are data; the table of them is <see cref="Profiles.All"/> and docs/profiles.md.
/// </summary>
public sealed record Profile(string Name, string Description)
{
    /// <summary>Severities that differ from the rule's default; <see cref="Severity.None"/> turns a rule off.</summary>
    public IReadOnlyDictionary<string, Severity> Severities { get; init; } = new Dictionary<string, Severity>();

    /// <summary>
    /// What the profile's loader (or the kernel's check that stands for it) does with relocations, one row per machine
    /// (PG0006, and PG0001 at most a warning for types it applies at any address); a machine with no row is not checked.
    /// </summary>
    public IReadOnlyList<LoaderRow> Loaders { get; init; } = [];

    /// <summary>
    /// An object of a machine with no row is reported (PG9007): the loader is what the profile is about (kexec_file, the
    /// EFI stub). Off where the rows are extra checks the other rules already cover (startup: objtool and relacheck).
    /// </summary>
    public bool ReportsMachinesWithoutLoader { get; init; }

    /// <summary>The row for an object's machine and ELF class, or null when the profile has none.</summary>
    public LoaderRow? LoaderFor(ElfMachine machine, bool is64Bit)
    {
        foreach (var row in Loaders)
            if (row.Machine == machine && (row.Is64Bit is null || row.Is64Bit == is64Bit)) return row;
        return null;
    }

    /// <summary>Relocation types (psABI names) the loader applies, per machine: the rows that list what they apply.</summary>
    public IReadOnlyDictionary<ElfMachine, string[]> LoaderAppliesTypes =>
        Loaders.Where(l => l.AppliedTypes is not null).GroupBy(l => l.Machine).ToDictionary(g => g.Key, g => g.First().AppliedTypes!.ToArray());

    /// <summary>Where the loader may place the blob when PicLoadAddress is not set (PG0007); null: placement is not checked.</summary>
    public LoadAddress? DefaultLoadAddress { get; init; }

    /// <summary>Confined sections when PicRestrictedSections is not set (PG0004).</summary>
    public IReadOnlyList<string> DefaultRestrictedSections { get; init; } = [];

    /// <summary>Whether undefined symbols are reported (PG0008) when the caller does not say.</summary>
    public bool ChecksUndefinedSymbols { get; init; }

    /// <summary>The severity the rule has under this profile; <see cref="Severity.None"/> turns it off.</summary>
    public Severity SeverityOf(Rule rule) =>
        Severities.TryGetValue(rule.Code, out var s) ? s : rule.DefaultSeverity;
}

/// <summary>The profiles, one row each. docs/profiles.md is the same table in prose.</summary>
public static class Profiles
{
    public static readonly Profile Generic = new(
        "generic",
        "Position-independent code loaded at an arbitrary address: every rule at its default severity.");

    /// <summary>kexec_file's purgatory loader: per machine the types its arch_kexec_apply_relocations_add applies, placed anywhere, nothing resolved.</summary>
    public static readonly Profile KexecPurgatory = new(
        "kexec-purgatory",
        "The kexec_file purgatory: a relocatable object the kernel relocates itself. Only the types its loader applies, placed anywhere in the 64-bit space, no undefined symbols, one executable section.")
    {
        Severities = new Dictionary<string, Severity>
        {
            [RuleCatalog.SeveralExecutableSections.Code] = Severity.Error,
            // The loader applies R_X86_64_64 to data for the real placement: statically initialised pointers are right.
            [RuleCatalog.AbsolutePointerInData.Code] = Severity.None,
        },
        Loaders =
        [
            new(ElfMachine.X86_64, "kexec_file", "arch/x86/kernel/machine_kexec_64.c, arch_kexec_apply_relocations_add", "Unknown rela relocation: {type}")
            {
                Is64Bit = true,
                AppliedTypes = ["R_X86_64_NONE", "R_X86_64_64", "R_X86_64_32", "R_X86_64_32S", "R_X86_64_PC32", "R_X86_64_PLT32"],
                AppliedAnywhere = ["R_X86_64_64"],
                Note = "kexec-tools' own loader (kexec/arch/x86_64/kexec-elf-rel-x86_64.c) applies the same six types",
            },
            new(ElfMachine.RiscV, "kexec_file", "arch/riscv/kernel/machine_kexec_file.c, arch_kexec_apply_relocations_add", "Unknown rela relocation: {type}")
            {
                Is64Bit = true,
                AppliedTypes =
                [
                    "R_RISCV_BRANCH", "R_RISCV_JAL", "R_RISCV_PCREL_HI20", "R_RISCV_CALL_PLT", "R_RISCV_CALL", "R_RISCV_RVC_BRANCH",
                    "R_RISCV_RVC_JUMP", "R_RISCV_ADD16", "R_RISCV_SUB16", "R_RISCV_ADD32", "R_RISCV_SUB32", "R_RISCV_PCREL_LO12_I",
                    "R_RISCV_ALIGN", "R_RISCV_RELAX", "R_RISCV_64",
                ],
                AppliedAnywhere = ["R_RISCV_64"],
                TruncatesFields = true,
                Note = "no R_RISCV_PCREL_LO12_S (a store to a global) and no R_RISCV_32_PCREL (.eh_frame); PCREL_LO12_I is taken as the instruction after its PCREL_HI20; no field is range-checked",
            },
            new(ElfMachine.S390, "kexec_file", "arch/s390/kernel/machine_kexec_file.c, arch_kexec_apply_relocations_add, and machine_kexec_reloc.c, arch_kexec_do_relocs", "Unknown rela relocation: {type}")
            {
                Is64Bit = true,
                AppliedTypes =
                [
                    "R_390_NONE", "R_390_8", "R_390_12", "R_390_16", "R_390_20", "R_390_32", "R_390_64", "R_390_PC16", "R_390_PC16DBL",
                    "R_390_PC32DBL", "R_390_PC32", "R_390_PC64", "R_390_RELATIVE", "R_390_PLT32DBL",
                ],
                AppliedAnywhere = ["R_390_64", "R_390_RELATIVE"],
                TruncatesFields = true,
                Note = "R_390_PLT32DBL is rewritten to R_390_PC32DBL before it is applied; no field is range-checked",
            },
            new(ElfMachine.PowerPC64, "kexec_file", "include/linux/kexec.h, the generic arch_kexec_apply_relocations_add (powerpc has none of its own)", "RELA relocation unsupported.")
            {
                AppliedTypes = [],
                Note = "every SHT_RELA section that patches an allocated section fails, whatever it holds",
            },
        ],
        DefaultLoadAddress = LoadAddress.Anywhere,
        ChecksUndefinedSymbols = true,
        ReportsMachinesWithoutLoader = true,
    };

    /// <summary>The EFI stub: no native-pointer absolute relocation in any allocated section (drivers/firmware/efi/libstub/Makefile).</summary>
    public static readonly Profile EfiStub = new(
        "efi-stub",
        "An EFI stub: runs where the firmware loaded it, before anything relocates it. No absolute address in any allocated section, code or data.")
    {
        Severities = new Dictionary<string, Severity>
        {
            [RuleCatalog.AbsolutePointerInData.Code] = Severity.Error,
        },
        ReportsMachinesWithoutLoader = true,
        // cmd_stubcopy: strip --strip-debug, then objdump -r | grep $(STUBCOPY_RELOC-y); a match fails the build.
        Loaders =
        [
            EfiStubCheck(ElfMachine.I386, null, "STUBCOPY_RELOC-$(CONFIG_X86_32)", "R_386_32*"),
            EfiStubCheck(ElfMachine.X86_64, true, "STUBCOPY_RELOC-$(CONFIG_X86_64)", "R_X86_64_64"),
            EfiStubCheck(ElfMachine.Arm, null, "STUBCOPY_RELOC-$(CONFIG_ARM)", "R_ARM_ABS*"),
            EfiStubCheck(ElfMachine.AArch64, null, "STUBCOPY_RELOC-$(CONFIG_ARM64)", "R_AARCH64_ABS*"),
            EfiStubCheck(ElfMachine.RiscV, true, "STUBCOPY_RELOC-$(CONFIG_RISCV)", "R_RISCV_HI20", "R_RISCV_64", "R_RISCV_RELAX") with
            {
                Note = "the stub is built with -mno-relax; older kernels grep R_RISCV_HI20 only",
            },
            EfiStubCheck(ElfMachine.RiscV, false, "STUBCOPY_RELOC-$(CONFIG_RISCV)", "R_RISCV_HI20", "R_RISCV_32*", "R_RISCV_RELAX"),
            EfiStubCheck(ElfMachine.LoongArch, null, "STUBCOPY_RELOC-$(CONFIG_LOONGARCH)", "R_LARCH_MARK_LA"),
        ],
    };

    private static LoaderRow EfiStubCheck(ElfMachine machine, bool? is64Bit, string variable, params string[] rejected) =>
        new(machine, "the EFI stub's relocation check", "drivers/firmware/efi/libstub/Makefile, " + variable, "absolute symbol references not allowed in the EFI stub")
        {
            Is64Bit = is64Bit,
            RejectedTypes = rejected,
        };

    /// <summary>Early startup code run from the 1:1 mapping (objtool --noabs, the .pi.text confinement).</summary>
    public static readonly Profile Startup = new(
        "startup",
        "Early startup code running from an identity mapping: no absolute relocation in any allocated section (objtool --noabs), .pi.text may only reach .pi.text code, no instrumentation.")
    {
        Severities = new Dictionary<string, Severity>
        {
            [RuleCatalog.AbsolutePointerInData.Code] = Severity.Error,
        },
        DefaultRestrictedSections = [".pi.text", ".pi.text.*"],
        Loaders =
        [
            new(ElfMachine.X86_64, "objtool --noabs", "tools/objtool/check.c, check_abs_references, and arch/x86/decode.c, arch_absolute_reloc", "section {section} has absolute relocation at offset {offset}")
            {
                Is64Bit = true,
                RejectedTypes = ["R_X86_64_32", "R_X86_64_32S", "R_X86_64_64"],
                ExcludedSections = ["__patchable_function_entries"],
            },
            new(ElfMachine.AArch64, "relacheck", "arch/arm64/kernel/pi/relacheck.c", "Unexpected absolute relocations detected in {object}")
            {
                RejectedTypes = ["R_AARCH64_ABS64"],
                DataSectionsOnly = true,
                ExcludedSections = ["*.rodata.prel64*"],
                Note = "R_AARCH64_ABS64 in a section whose name contains .rodata.prel64 is rewritten to R_AARCH64_PREL64",
            },
        ],
    };

    public static readonly IReadOnlyList<Profile> All = [Generic, KexecPurgatory, EfiStub, Startup];

    public static string Names
    {
        get
        {
            var names = new string[All.Count];
            for (int i = 0; i < names.Length; i++) names[i] = All[i].Name; // no LINQ: read as the command line is built, at start
            return string.Join(", ", names);
        }
    }

    public static bool TryGet(string? name, out Profile profile)
    {
        string wanted = string.IsNullOrWhiteSpace(name) ? Generic.Name : name.Trim();
        foreach (var p in All) // no LINQ: read as the command line is read, at start
        {
            if (string.Equals(p.Name, wanted, StringComparison.OrdinalIgnoreCase))
            {
                profile = p;
                return true;
            }
        }
        profile = null!;
        return false;
    }
}
