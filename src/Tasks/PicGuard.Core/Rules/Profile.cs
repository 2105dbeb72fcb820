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

    /// <summary>Relocation types (psABI names) the loader applies, per machine (PG0006); a machine not listed is not checked.</summary>
    public IReadOnlyDictionary<ElfMachine, string[]> LoaderAppliesTypes { get; init; } = new Dictionary<ElfMachine, string[]>();

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

    /// <summary>kexec_file's purgatory loader (arch/x86/kernel/machine_kexec_64.c): six x86-64 types, placed anywhere, nothing resolved.</summary>
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
        LoaderAppliesTypes = new Dictionary<ElfMachine, string[]>
        {
            [ElfMachine.X86_64] = ["R_X86_64_NONE", "R_X86_64_64", "R_X86_64_32", "R_X86_64_32S", "R_X86_64_PC32", "R_X86_64_PLT32"],
        },
        DefaultLoadAddress = LoadAddress.Anywhere,
        ChecksUndefinedSymbols = true,
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
    };

    public static readonly IReadOnlyList<Profile> All = [Generic, KexecPurgatory, EfiStub, Startup];

    public static string Names => string.Join(", ", All.Select(p => p.Name));

    public static bool TryGet(string? name, out Profile profile)
    {
        profile = All.FirstOrDefault(p => string.Equals(p.Name, string.IsNullOrWhiteSpace(name) ? Generic.Name : name.Trim(), StringComparison.OrdinalIgnoreCase))!;
        return profile is not null;
    }
}
