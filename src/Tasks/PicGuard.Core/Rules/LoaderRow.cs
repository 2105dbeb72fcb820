using PicGuard.Elf;

namespace PicGuard.Rules;

/// <summary>
/// One loader on one machine, as data: the relocation types it applies (any other type fails) or the types its check
/// rejects, the sections it looks at, the error it prints, and the types it applies at any load address without
/// overflow. A profile holds one row per machine (<see cref="Profile.Loaders"/>); the engine picks the row of the
/// object's machine. docs/profiles.md lists every row.
/// </summary>
/// <param name="Machine">The object's e_machine this row is for.</param>
/// <param name="Loader">Who applies or checks the relocations, as messages name it ("kexec_file", "objtool --noabs").</param>
/// <param name="Source">Where the kernel defines it (a repository path, and the function or variable).</param>
/// <param name="Error">
/// The loader's own error text, as it prints it: <c>{type}</c> is the type number, <c>{section}</c> the patched
/// section, <c>{offset}</c> the offset in it (0x…), <c>{object}</c> the object's name.
/// </param>
public sealed record LoaderRow(ElfMachine Machine, string Loader, string Source, string Error)
{
    /// <summary>Only objects of this ELF class (true: ELFCLASS64); null: both.</summary>
    public bool? Is64Bit { get; init; }

    /// <summary>
    /// The types (psABI names) the loader applies; every other type in a section it looks at fails, and an empty list
    /// means it applies none. Null when the row lists the types its check rejects instead (<see cref="RejectedTypes"/>).
    /// </summary>
    public IReadOnlyList<string>? AppliedTypes { get; init; }

    /// <summary>Globs over type names the check rejects (a kernel <c>grep</c> matches a part of the name: <c>R_ARM_ABS*</c>); used when <see cref="AppliedTypes"/> is null.</summary>
    public IReadOnlyList<string> RejectedTypes { get; init; } = [];

    /// <summary>
    /// Types the loader applies at any load address without overflow (a 64-bit absolute field): the blob loads and runs,
    /// so the position-independence rules (PG0001, PG0010) report them as a warning at most.
    /// </summary>
    public IReadOnlyList<string> AppliedAnywhere { get; init; } = [];

    /// <summary>The loader looks only at allocated sections that are not executable (arm64 relacheck: data only).</summary>
    public bool DataSectionsOnly { get; init; }

    /// <summary>
    /// Section-name globs the loader leaves alone: a rejected type there is accepted (objtool skips
    /// <c>__patchable_function_entries</c>; relacheck rewrites ABS64 in <c>*.rodata.prel64*</c> to PREL64).
    /// </summary>
    public IReadOnlyList<string> ExcludedSections { get; init; } = [];

    /// <summary>The loader stores each value truncated to its field without checking it (riscv64 and s390x kexec_file): an overflow is silent.</summary>
    public bool TruncatesFields { get; init; }

    /// <summary>What else the reader of docs/profiles.md should know about this row (a rewrite the caller does, a version difference).</summary>
    public string? Note { get; init; }

    /// <summary>Whether the loader fails on type <paramref name="typeName"/> in a section it looks at.</summary>
    public bool Rejects(string typeName) =>
        AppliedTypes is { } applied ? !applied.Contains(typeName, StringComparer.Ordinal) : Glob.MatchesAny(typeName, RejectedTypes);

    /// <summary>Whether the loader's error text names the place's offset (each place is then its own finding).</summary>
    public bool ErrorNamesOffset => Error.Contains("{offset}", StringComparison.Ordinal);

    /// <summary>Whether the error text names the section (findings in different sections are then told apart).</summary>
    public bool ErrorNamesSection => Error.Contains("{section}", StringComparison.Ordinal) || AppliedTypes is null;

    /// <summary>The loader's error as it would print it for this relocation.</summary>
    public string ErrorFor(uint type, string section, ulong offset, string objectName) => Error
        .Replace("{type}", type.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{section}", section, StringComparison.Ordinal)
        .Replace("{offset}", $"0x{offset:x}", StringComparison.Ordinal)
        .Replace("{object}", objectName, StringComparison.Ordinal);

    /// <summary>What the loader does, in words, for messages and docs: "applies R_…, R_…" or "rejects R_…".</summary>
    public string Describe() => AppliedTypes switch
    {
        null => "rejects " + string.Join(", ", RejectedTypes),
        [] => "applies no RELA relocation",
        var applied => "applies " + string.Join(", ", applied),
    };
}
