using PicGuard.Elf;
using PicGuard.Relocations;

namespace PicGuard.Rules;

public enum Severity : byte
{
    None = 0,
    Message,
    Warning,
    Error,
}

/// <summary>Where a rule looks.</summary>
public enum RuleScope : byte
{
    /// <summary>Every relocation applied to an allocated section.</summary>
    Relocation,
    /// <summary>Every section header.</summary>
    Section,
    /// <summary>Every symbol of the symbol table.</summary>
    Symbol,
    /// <summary>The input as a whole (format, existence); raised by the engine, not matched.</summary>
    Input,
    /// <summary>The build steps around the check (flag policy, tools, compiler and linker output).</summary>
    Build,
}

/// <summary>Matches relocations by kind and by the flags of the section they patch.</summary>
public sealed record RelocationMatch(RelocationKind[] Kinds, ElfSectionFlags SectionFlags = ElfSectionFlags.Alloc)
{
    /// <summary>Kinds as a bit mask, so the hot loop tests one bit.</summary>
    public uint KindMask { get; } = Kinds.Aggregate(0u, (m, k) => m | 1u << (int)k);

    public bool Matches(RelocationKind kind, ElfSectionFlags sectionFlags) =>
        (KindMask & 1u << (int)kind) != 0 && (sectionFlags & SectionFlags) == SectionFlags;
}

/// <summary>Matches sections by name prefix, or by a processor-specific flag on one machine.</summary>
public sealed record SectionMatch(string[] NamePrefixes, ElfSectionFlags MachineFlag = ElfSectionFlags.None, ElfMachine FlagMachine = ElfMachine.None)
{
    public byte[][] NamePrefixBytes { get; } = NamePrefixes.Select(p => System.Text.Encoding.ASCII.GetBytes(p)).ToArray();
}

/// <summary>
/// One row of the rule catalog: a stable public code, its default severity, a title, the text
/// that tells a person how to fix it, and what it matches. Rules know nothing of MSBuild.
/// </summary>
public sealed record Rule(
    string Code,
    Severity DefaultSeverity,
    string Title,
    RuleScope Scope,
    string Fix,
    RelocationMatch? Relocation = null,
    SectionMatch? Section = null)
{
    public const string HelpBase = "https://github.com/picguard/picguard/blob/main/docs/rules/";
    public string HelpUri => HelpBase + Code + ".md";
}
