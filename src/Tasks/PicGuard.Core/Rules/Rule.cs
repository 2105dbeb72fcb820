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
    public uint KindMask { get; } = MaskOf(Kinds);

    /// <summary>Whether a section with these flags is one this match looks at (the kind is tested apart, in the engine's index).</summary>
    public bool AppliesTo(ElfSectionFlags sectionFlags) =>
        (sectionFlags & SectionFlags) == SectionFlags && (sectionFlags & ExcludedSectionFlags) == 0;

    /// <summary>Every kind but None: whatever the loader would have to apply.</summary>
    public static readonly RelocationKind[] AllKinds = AllBut(RelocationKind.None);

    /// <summary>Every kind that names a place in memory (all but None, Marker and the like).</summary>
    public static readonly RelocationKind[] AnyReference =
        [RelocationKind.Absolute, RelocationKind.PcRelative, RelocationKind.PltCall, RelocationKind.Got, RelocationKind.Tls, RelocationKind.Dynamic];

    // The rule catalog builds these when a process starts: plain loops, no LINQ (its generic code is slow the first time
    // it runs in the native executable, and one small object's whole check takes about a millisecond).
    private static RelocationKind[] AllBut(RelocationKind left)
    {
        var kinds = new List<RelocationKind>(RelocationKinds.All.Length);
        foreach (var kind in RelocationKinds.All)
            if (kind != left) kinds.Add(kind);
        return kinds.ToArray();
    }

    private static uint MaskOf(RelocationKind[] kinds)
    {
        uint mask = 0;
        foreach (var kind in kinds) mask |= 1u << (int)kind;
        return mask;
    }
}

/// <summary>
/// Matches sections by name prefix, or by a flag (<see cref="Flag"/>; only on <see cref="FlagMachine"/> when that is set).
/// <see cref="Describes"/> finishes the sentence "section X …".
/// </summary>
public sealed record SectionMatch(string[] NamePrefixes, string Describes, ElfSectionFlags Flag = ElfSectionFlags.None, ElfMachine FlagMachine = ElfMachine.None, string? FlagDescribes = null)
{

    /// <summary>The prefixes as bytes; each has at least two (the engine compares the second byte first).</summary>
    public byte[][] NamePrefixBytes { get; } = BytesOf(NamePrefixes);

    private static byte[][] BytesOf(string[] prefixes)
    {
        var bytes = new byte[prefixes.Length][];
        for (int i = 0; i < prefixes.Length; i++)
            bytes[i] = prefixes[i].Length >= 2 ? System.Text.Encoding.ASCII.GetBytes(prefixes[i]) : throw new ArgumentException($"section prefix '{prefixes[i]}' is shorter than two characters");
        return bytes;
    }
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

    /// <summary>The code's number (PG0004 → 4), for keys that must not hash strings; -1 when the code is not PG and digits.</summary>
    public int Number { get; } = NumberOf(Code);

    private static int NumberOf(string code)
    {
        // Digits read here: int.TryParse would set up the current culture's number format at start.
        if (code.Length < 3 || code.Length > 11) return -1;
        int n = 0;
        foreach (char c in code.AsSpan(2))
        {
            if (c is < '0' or > '9') return -1;
            n = n * 10 + (c - '0');
        }
        return n;
    }
}
