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

/// <summary>Where a rule looks (for documentation and for the engine's dispatch).</summary>
public enum RuleScope : byte
{
    /// <summary>Every relocation applied to an allocated section.</summary>
    Relocation,
    /// <summary>Every section header.</summary>
    Section,
    /// <summary>Every symbol of the symbol table.</summary>
    Symbol,
    /// <summary>One object as a whole (its sections taken together).</summary>
    Object,
    /// <summary>The input as a whole (format, existence); raised by the engine, not matched.</summary>
    Input,
    /// <summary>The build steps around the check (flag policy, tools, compiler and linker output).</summary>
    Build,
    /// <summary>The inputs of one link or one check taken together (LLVM bitcode modules whose module flags disagree).</summary>
    Link,
}

/// <summary>What, beyond its kind, makes a relocation a finding. A small fixed vocabulary the engine implements once.</summary>
public enum RelocationCheck : byte
{
    /// <summary>The relocation's kind and the patched section's flags alone decide.</summary>
    Kind,
    /// <summary>The target is an instrumentation or sanitizer entry point (<see cref="Instrumentation.Symbols"/>).</summary>
    InstrumentationTarget,
    /// <summary>The place is in a restricted section and the target is code outside the allowed sections.</summary>
    Confinement,
    /// <summary>The type is not in the profile's list of types the loader applies.</summary>
    NotAcceptedByLoader,
    /// <summary>The value the loader computes does not fit the field at the load address.</summary>
    Overflow,
}

/// <summary>Matches relocations by kind, by the flags and name of the section they patch, and by <see cref="Check"/>.</summary>
public sealed record RelocationMatch(
    RelocationKind[] Kinds,
    ElfSectionFlags SectionFlags = ElfSectionFlags.Alloc,
    ElfSectionFlags ExcludedSectionFlags = ElfSectionFlags.None,
    RelocationCheck Check = RelocationCheck.Kind,
    string[]? ExcludedSections = null)
{
    /// <summary>Kinds as a bit mask, so the hot loop tests one bit.</summary>
    public uint KindMask { get; } = Kinds.Aggregate(0u, (m, k) => m | 1u << (int)k);

    /// <summary>Whether a section with these flags is one this match looks at (the kind is tested apart, in the engine's index).</summary>
    public bool AppliesTo(ElfSectionFlags sectionFlags) =>
        (sectionFlags & SectionFlags) == SectionFlags && (sectionFlags & ExcludedSectionFlags) == 0;

    /// <summary>Every kind but None: whatever the loader would have to apply.</summary>
    public static readonly RelocationKind[] AllKinds = RelocationKinds.All.Where(k => k != RelocationKind.None).ToArray();

    /// <summary>Every kind that names a place in memory (all but None, Marker and the like).</summary>
    public static readonly RelocationKind[] AnyReference =
        [RelocationKind.Absolute, RelocationKind.PcRelative, RelocationKind.PltCall, RelocationKind.Got, RelocationKind.Tls, RelocationKind.Dynamic];
}

/// <summary>
/// Matches sections by name prefix, or by a flag (<see cref="Flag"/>; only on <see cref="FlagMachine"/> when that is set).
/// <see cref="Describes"/> finishes the sentence "section X …".
/// </summary>
public sealed record SectionMatch(string[] NamePrefixes, string Describes, ElfSectionFlags Flag = ElfSectionFlags.None, ElfMachine FlagMachine = ElfMachine.None, string? FlagDescribes = null)
{

    /// <summary>The prefixes as bytes; each has at least two (the engine compares the second byte first).</summary>
    public byte[][] NamePrefixBytes { get; } = NamePrefixes
        .Select(p => p.Length >= 2 ? System.Text.Encoding.ASCII.GetBytes(p) : throw new ArgumentException($"section prefix '{p}' is shorter than two characters"))
        .ToArray();
}

/// <summary>Matches an object by how many non-empty executable sections it has.</summary>
public sealed record ObjectMatch(int MaxExecutableSections, ElfFileType FileType);

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
    SectionMatch? Section = null,
    ObjectMatch? Object = null)
{
    public const string HelpBase = "https://github.com/picguard/picguard/blob/main/docs/rules/";
    public string HelpUri => HelpBase + Code + ".md";

    /// <summary>The code's number (PG0004 → 4), for keys that must not hash strings.</summary>
    public int Number { get; } = int.TryParse(Code.AsSpan(2), out int n) ? n : -1;
}
