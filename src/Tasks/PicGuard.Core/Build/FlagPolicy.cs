using System.Text;

namespace PicGuard.Build;

/// <summary>The compiler driver a flag list is meant for.</summary>
public enum CompilerFamily { Gcc, Clang }

/// <summary>What a source file is, by its extension: the policy adds some flags to some kinds only.</summary>
public enum SourceKind
{
    /// <summary>C (<c>.c</c>).</summary>
    C,

    /// <summary>Assembly run through the C preprocessor (<c>.S</c>, <c>.sx</c>).</summary>
    PreprocessedAssembly,

    /// <summary>Assembly as written (<c>.s</c>): no preprocessor, so no dependency file and no use for compiler flags.</summary>
    Assembly,
}

/// <summary>How the policy changed a flag the user gave.</summary>
public enum FlagChangeKind
{
    /// <summary>The flag was dropped (reported as message PG1001).</summary>
    Removed,

    /// <summary>The user set a value the policy owns; the policy's value wins (reported as warning PG1002).</summary>
    Overridden,
}

/// <summary>One flag the policy removed or overrode, with the reason shown to the user.</summary>
public sealed record FlagChange(string Flag, FlagChangeKind Kind, string Reason);

/// <summary>The settings the flag policy takes from the project.</summary>
/// <param name="CodeModel">The code model passed as <c>-mcmodel=</c>; see <see cref="FlagPolicy.IsValidCodeModel"/>.</param>
/// <param name="Visibility">The default symbol visibility passed as <c>-fvisibility=</c>; see <see cref="FlagPolicy.IsValidVisibility"/>.</param>
/// <param name="HiddenHeader">A header force-included with <c>-include</c> so extern declarations are hidden; null or empty adds none.</param>
/// <param name="KeepSanitizers">Keep sanitizer, profiling, coverage and stack-protector flags.</param>
/// <param name="KeepLto">Keep link-time-optimization flags.</param>
/// <param name="Freestanding">Add <c>-ffreestanding -fno-stack-protector -fno-jump-tables</c>.</param>
/// <param name="SourceRoot">
/// A directory written as <c>.</c> in debug info, <c>__FILE__</c> and every other path the compiler
/// records (<c>-ffile-prefix-map=</c>), so the objects do not depend on where the project lies; null
/// or empty adds none, and so does a <c>-f*-prefix-map=</c> flag of the user's.
/// </param>
/// <param name="Target">
/// The target triple the compiler builds for when the flags name none (what <c>cc -dumpmachine</c> prints);
/// a <c>--target=</c> in the flags wins. It decides how <see cref="CodeModel"/> is spelled (riscv: small is
/// <c>medany</c>); null: the code model is passed as it is.
/// </param>
public sealed record FlagPolicyOptions(
    string CodeModel = "small",
    string Visibility = "hidden",
    string? HiddenHeader = null,
    bool KeepSanitizers = false,
    bool KeepLto = false,
    bool Freestanding = true,
    string? SourceRoot = null,
    string? Target = null);

/// <summary>The flags to compile with, what happened to the user's flags, and what the policy added.</summary>
/// <param name="Flags">The user's surviving flags in their order, followed by <see cref="Added"/>.</param>
/// <param name="Changes">Each distinct user flag the policy removed or overrode, once, in first-seen order.</param>
/// <param name="Added">The policy's own flags, as appended to <see cref="Flags"/> (<c>-include</c> and its path are two entries).</param>
public sealed record FlagPolicyResult(IReadOnlyList<string> Flags, IReadOnlyList<FlagChange> Changes, IReadOnlyList<string> Added);

/// <summary>
/// The compiler flag policy for position-independent freestanding code. The rules are data: the
/// <see cref="Rules"/> table says which user flags are dropped and why, the <see cref="Additions"/>
/// table says which flags the policy appends; <see cref="Apply"/> walks both.
/// </summary>
public static class FlagPolicy
{
    /// <summary>What a rule is about; also links a rule to the policy flag that replaces what it drops.</summary>
    private enum Category { CodeModel, Pic, Visibility, Freestanding, Instrumentation, Lto, HiddenHeader, PathMap, Assembler }

    /// <summary>What happens to a user flag a rule matches.</summary>
    private enum RuleAction
    {
        /// <summary>Dropped; the policy adds its own flag of the category. Reported as overridden only when it differs from the policy's.</summary>
        Replace,

        /// <summary>Dropped without a report: the policy adds the same thing anyway.</summary>
        Duplicate,

        /// <summary>Dropped and reported as overridden: it contradicts a flag the policy adds.</summary>
        Override,

        /// <summary>Dropped and reported as removed.</summary>
        Remove,
    }

    /// <summary>Which option turns a rule off, keeping the flags it matches.</summary>
    private enum KeptBy { Nothing, KeepSanitizers, KeepLto, NotFreestanding }

    /// <param name="Pattern">An exact flag, or a glob where <c>*</c> matches any run of characters.</param>
    /// <param name="Reason">Shown to the user; <c>{flag}</c> is the user's flag, <c>{value}</c> the option value of the category.</param>
    private sealed record FlagRule(string Pattern, Category Category, RuleAction Action, KeptBy KeptBy, string Reason);

    /// <param name="Unit">The words the policy appends (one flag, or a flag and its argument); null when the options ask for none.</param>
    /// <param name="UnlessPresent">Not appended when the user's surviving flags already hold the same unit.</param>
    /// <param name="YieldsTo">Not appended when a surviving user flag matches this glob (one the user chose to keep).</param>
    /// <param name="Families">The compilers that get the flag; null means every family.</param>
    /// <param name="Kinds">The kinds of source that get the flag; null means every kind.</param>
    private sealed record PolicyAddition(
        Category Category,
        Func<FlagPolicyOptions, string[]?> Unit,
        bool UnlessPresent = false,
        string? YieldsTo = null,
        CompilerFamily[]? Families = null,
        SourceKind[]? Kinds = null);

    private const string CodeModelReason =
        "PicCodeModel is {value}: the policy owns the code model, so {flag} becomes {policy}; position-independent code must assume only ±2 GiB proximity; -mcmodel=large puts code in .ltext with clang ≥ 18";

    /// <param name="Architecture">The first part of the target triple, up to a digit or '-' ("riscv" for riscv64-linux-gnu).</param>
    /// <param name="CodeModel">The PicCodeModel value spelled differently on that architecture.</param>
    /// <param name="Spelling">The -mcmodel= value passed instead.</param>
    /// <param name="Why">Why, for the PG1002 reason.</param>
    private sealed record CodeModelSpelling(string Architecture, string CodeModel, string Spelling, string Why);

    /// <summary>
    /// Where a code model's name means something else: on riscv "small" is medlow, whose lui + addi pairs build
    /// absolute addresses (R_RISCV_HI20) in the low 2 GiB; medany reaches any symbol within ±2 GiB of the PC (auipc).
    /// </summary>
    private static readonly CodeModelSpelling[] CodeModelSpellings =
    [
        new("riscv", "small", "medany", "on riscv small is medlow, whose lui + addi pairs are absolute addresses; medany is the PC-relative model"),
    ];

    private const string NoPicReason =
        "{flag} lets the compiler emit absolute addresses (R_X86_64_32S, R_X86_64_64) that nothing rebases when the blob is loaded at an arbitrary address; the policy compiles with -fpic";

    private const string PieReason =
        "{flag} lets the compiler assume extern declarations are defined in the same executable (copy relocations, direct calls); the policy owns the PIC mode and compiles with -fpic";

    private const string VisibilityReason =
        "PicVisibility is {value}: the policy owns the default visibility, so {flag} becomes -fvisibility={value}; default visibility makes globals preemptible, and -fpic then reaches them through the GOT";

    private const string SanitizerReason =
        "sanitizers emit calls into their runtime (__asan_*, __ubsan_handle_*, __tsan_*, __msan_*) and shadow-memory accesses that a relocated blob cannot make";

    private const string ProfileReason =
        "profiling instrumentation emits counters and calls into its runtime (__gcov_*, __llvm_profile_*) plus constructors that a relocated blob cannot make or run";

    private const string CfiReason =
        "control-flow integrity needs LTO and calls into a runtime (__cfi_check, __cfi_slowpath) that a relocated blob cannot make";

    private const string FentryReason =
        "-pg/-mfentry emit calls to __fentry__/mcount that a relocated blob cannot make";

    private const string ProfileFeedbackReason =
        "profile feedback comes from an instrumented build the policy does not allow, and moves code into .text.hot/.text.unlikely sections";

    private const string LtoReason =
        "LTO emits compiler IR (LLVM bitcode, GCC GIMPLE) instead of machine code the checker can inspect; mixing code models under LTO fails at link: linking module flags 'Code Model': IDs have conflicting values; kexec does not support the many text sections LTO emits";

    private const string LtoOnlyReason = "{flag} only matters with LTO, which the policy removes: " + LtoReason;

    /// <summary>
    /// Rules over the user's flags; the first row whose pattern matches a flag decides. Flags no row
    /// matches are kept as they are.
    /// </summary>
    private static readonly FlagRule[] Rules =
    [
        // The code model, PIC mode and visibility are the policy's: every user setting goes, the policy adds its own.
        new("-mcmodel=*", Category.CodeModel, RuleAction.Replace, KeptBy.Nothing, CodeModelReason),
        new("-fpic", Category.Pic, RuleAction.Duplicate, KeptBy.Nothing, ""),
        new("-fPIC", Category.Pic, RuleAction.Duplicate, KeptBy.Nothing, ""),
        new("-fno-pic", Category.Pic, RuleAction.Override, KeptBy.Nothing, NoPicReason),
        new("-fno-PIC", Category.Pic, RuleAction.Override, KeptBy.Nothing, NoPicReason),
        new("-fno-pie", Category.Pic, RuleAction.Override, KeptBy.Nothing, NoPicReason),
        new("-fno-PIE", Category.Pic, RuleAction.Override, KeptBy.Nothing, NoPicReason),
        new("-fpie", Category.Pic, RuleAction.Override, KeptBy.Nothing, PieReason),
        new("-fPIE", Category.Pic, RuleAction.Override, KeptBy.Nothing, PieReason),
        new("-fvisibility=*", Category.Visibility, RuleAction.Replace, KeptBy.Nothing, VisibilityReason),

        // Settings that undo what the freestanding flags ask for.
        new("-fhosted", Category.Freestanding, RuleAction.Override, KeptBy.NotFreestanding,
            "-fhosted lets the compiler assume a hosted C library and its semantics; the blob runs without one, so the policy compiles with -ffreestanding"),
        new("-fjump-tables", Category.Freestanding, RuleAction.Override, KeptBy.NotFreestanding,
            "jump tables are data in .rodata that code indexes, which ties the blob's code to a data section a loader may place elsewhere; the policy compiles with -fno-jump-tables"),

        // Sanitizers and instrumentation: calls and tables a relocated blob cannot serve. Specific rows before the general ones.
        new("-fsanitize=kcfi", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers,
            "kernel CFI adds __cfi_ preambles and a .kcfi_traps table of code addresses that only a kernel's trap handler knows how to use"),
        new("-fsanitize=cfi*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, CfiReason),
        new("-fcfi*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, CfiReason),
        new("-fsanitize-coverage=*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers,
            "sanitizer coverage emits calls to __sanitizer_cov_* and tables of guard and PC addresses that a relocated blob cannot serve"),
        new("-fsanitize=*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, SanitizerReason),
        new("-fsanitize-*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers,
            "{flag} tunes the sanitizers, which the policy removes: " + SanitizerReason),
        new("-pg", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, FentryReason),
        new("-mfentry", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, FentryReason),
        new("-mrecord-mcount", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers,
            "-mrecord-mcount records every -pg call site in a __mcount_loc table of absolute addresses that nothing rebases"),
        new("-mnop-mcount", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers,
            "-mnop-mcount only changes the call sites -pg emits, and " + FentryReason),
        new("-fprofile-arcs", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, ProfileReason),
        new("-ftest-coverage", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, ProfileReason),
        new("--coverage", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, ProfileReason),
        new("-fprofile-generate*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, ProfileReason),
        new("-fprofile-instr-generate*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, ProfileReason),
        new("-fprofile-use*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, ProfileFeedbackReason),
        new("-fprofile-sample-use*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, ProfileFeedbackReason),
        new("-fprofile-instr-use*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers, ProfileFeedbackReason),
        new("-finstrument-functions*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers,
            "-finstrument-functions emits calls to __cyg_profile_func_enter/__cyg_profile_func_exit that a relocated blob cannot make"),
        new("-fxray-*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers,
            "XRay emits patchable sleds and an xray_instr_map of absolute addresses for a runtime a relocated blob does not have"),
        new("-fstack-protector*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers,
            "stack protectors read a canary from thread-local storage (%fs:40) or __stack_chk_guard and call __stack_chk_fail, none of which a relocated blob has"),
        new("-mindirect-branch=thunk-extern", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers,
            "-mindirect-branch=thunk-extern calls __x86_indirect_thunk_* that the kernel provides and a blob does not"),
        new("-mfunction-return=thunk-extern", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers,
            "-mfunction-return=thunk-extern jumps to __x86_return_thunk that the kernel provides and a blob does not"),
        new("-fplugin=*stackleak*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers,
            "the stackleak plugin calls stackleak_track_stack, a kernel function a blob does not have"),
        new("-fpatchable-function-entry=*", Category.Instrumentation, RuleAction.Remove, KeptBy.KeepSanitizers,
            "-fpatchable-function-entry records every function entry in __patchable_function_entries as an absolute address that nothing rebases"),

        // Link-time optimization.
        new("-flto*", Category.Lto, RuleAction.Remove, KeptBy.KeepLto, LtoReason),
        new("-ffat-lto-objects", Category.Lto, RuleAction.Remove, KeptBy.KeepLto, LtoOnlyReason),
        new("-fno-fat-lto-objects", Category.Lto, RuleAction.Remove, KeptBy.KeepLto, LtoOnlyReason),
        new("-fwhole-program-vtables", Category.Lto, RuleAction.Remove, KeptBy.KeepLto, LtoOnlyReason),
        new("-fsplit-lto-unit", Category.Lto, RuleAction.Remove, KeptBy.KeepLto, LtoOnlyReason),
        new("-fvirtual-function-elimination", Category.Lto, RuleAction.Remove, KeptBy.KeepLto, LtoOnlyReason),
    ];

    /// <summary>
    /// The flags the policy appends, in this order. The first row of a category is the flag a
    /// <see cref="RuleAction.Replace"/> rule of that category compares the user's flag with.
    /// Every row currently applies to both gcc and clang; a flag only one driver understands
    /// names it in <see cref="PolicyAddition.Families"/>, and one for some kinds of source only in
    /// <see cref="PolicyAddition.Kinds"/>.
    /// </summary>
    private static readonly PolicyAddition[] Additions =
    [
        new(Category.CodeModel, o => ["-mcmodel=" + o.CodeModel]),
        new(Category.Pic, _ => ["-fpic"]),
        new(Category.Visibility, o => ["-fvisibility=" + o.Visibility]),
        new(Category.Freestanding, o => o.Freestanding ? ["-ffreestanding"] : null, UnlessPresent: true),
        // A stack-protector flag the user kept with KeepSanitizers is not undone behind their back.
        new(Category.Freestanding, o => o.Freestanding ? ["-fno-stack-protector"] : null, UnlessPresent: true, YieldsTo: "-fstack-protector*"),
        new(Category.Freestanding, o => o.Freestanding ? ["-fno-jump-tables"] : null, UnlessPresent: true),
        new(Category.HiddenHeader, o => string.IsNullOrWhiteSpace(o.HiddenHeader) ? null : ["-include", o.HiddenHeader], UnlessPresent: true),
        // Outputs that do not depend on the project's location; a prefix map of the user's decides instead.
        new(Category.PathMap, o => string.IsNullOrWhiteSpace(o.SourceRoot) ? null : [$"-ffile-prefix-map={o.SourceRoot}=."], YieldsTo: "-f*-prefix-map=*"),
        // Hand-written assembly carries no .note.GNU-stack unless it says so; without it GNU ld warns
        // ("missing .note.GNU-stack section implies executable stack") and marks the stack executable.
        new(Category.Assembler, _ => ["-Wa,--noexecstack"], UnlessPresent: true, Kinds: [SourceKind.PreprocessedAssembly, SourceKind.Assembly]),
        // clang warns of every C flag on a .s file it only assembles ("argument unused during compilation").
        new(Category.Assembler, _ => ["-Qunused-arguments"], UnlessPresent: true, Families: [CompilerFamily.Clang], Kinds: [SourceKind.Assembly]),
    ];

    /// <summary>Options whose next word is their argument: the pair is one unit, its argument never matched against the rules.</summary>
    private static readonly HashSet<string> OptionsWithArgument = new(StringComparer.Ordinal)
    {
        "-Xclang", "-Xassembler", "-Xlinker", "-Xpreprocessor", "-mllvm",
        "-D", "-U", "-I", "-include", "-imacros", "-isystem", "-idirafter", "-iquote", "-isysroot",
        "-iprefix", "-iwithprefix", "-iwithprefixbefore", "-imultilib", "-MF", "-MT", "-MQ",
        "-x", "-o", "--param", "-target",
    };

    private static readonly HashSet<string> CodeModels = new(StringComparer.Ordinal)
    {
        "small", "medium", "large", "kernel", "tiny", "medlow", "medany", "normal",
    };

    private static readonly HashSet<string> Visibilities = new(StringComparer.Ordinal)
    {
        "default", "hidden", "protected", "internal",
    };

    private const string RemoveFlagsReason = "RemoveFlags of the file";

    /// <summary>The kind of source a file name's extension says (case matters: <c>.S</c> is preprocessed, <c>.s</c> is not).</summary>
    public static SourceKind KindOf(string path) => Path.GetExtension(path) switch
    {
        ".S" or ".sx" => SourceKind.PreprocessedAssembly,
        ".s" => SourceKind.Assembly,
        _ => SourceKind.C,
    };

    /// <summary>
    /// The target triple the flags name (<c>--target=T</c>, <c>--target T</c>, <c>-target T</c>; the last one wins), or null.
    /// </summary>
    public static string? TargetOf(IReadOnlyList<string> flags)
    {
        string? target = null;
        for (int i = 0; i < flags.Count; i++)
        {
            if (flags[i].StartsWith("--target=", StringComparison.Ordinal)) target = flags[i]["--target=".Length..];
            else if (flags[i] is "--target" or "-target" && i + 1 < flags.Count) target = flags[++i];
        }
        return string.IsNullOrWhiteSpace(target) ? null : target;
    }

    /// <summary>The -mcmodel= value the policy passes for <paramref name="codeModel"/> on <paramref name="target"/> (a triple, or null when unknown).</summary>
    public static string CodeModelFlagValue(string codeModel, string? target) => CodeModelSpellingFor(codeModel, target)?.Spelling ?? codeModel;

    private static CodeModelSpelling? CodeModelSpellingFor(string codeModel, string? target)
    {
        if (string.IsNullOrEmpty(target)) return null;
        int end = 0;
        while (end < target.Length && char.IsAsciiLetter(target[end])) end++;
        string architecture = target[..end];
        return Array.Find(CodeModelSpellings, s => s.CodeModel == codeModel && string.Equals(s.Architecture, architecture, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>True for a value <c>-mcmodel=</c> accepts on some target (x86-64, aarch64, riscv, loongarch).</summary>
    public static bool IsValidCodeModel(string value) => value is not null && CodeModels.Contains(value);

    /// <summary>True for a value <c>-fvisibility=</c> accepts.</summary>
    public static bool IsValidVisibility(string value) => value is not null && Visibilities.Contains(value);

    /// <summary>
    /// Applies the policy. <paramref name="userFlags"/> come first, then <paramref name="additional"/>;
    /// words matching a <paramref name="remove"/> entry (exact, or a glob with <c>*</c>) are dropped
    /// first, then the rule table runs over what is left, and the policy's flags are appended.
    /// A two-word unit such as <c>-Xclang X</c> is kept intact; <paramref name="remove"/> can drop it
    /// by its option word or by the two words joined with a space.
    /// </summary>
    /// <param name="sourceKind">What the source is: additions for other kinds of source are left out.</param>
    /// <exception cref="ArgumentException">The code model or visibility is not valid.</exception>
    public static FlagPolicyResult Apply(
        IReadOnlyList<string> userFlags,
        IReadOnlyList<string> additional,
        IReadOnlyList<string> remove,
        CompilerFamily family,
        FlagPolicyOptions options,
        SourceKind sourceKind = SourceKind.C)
    {
        ArgumentNullException.ThrowIfNull(userFlags);
        ArgumentNullException.ThrowIfNull(additional);
        ArgumentNullException.ThrowIfNull(remove);
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(family))
            throw new ArgumentOutOfRangeException(nameof(family), family, "unknown compiler family");
        if (!IsValidCodeModel(options.CodeModel))
            throw new ArgumentException($"'{options.CodeModel}' is not a code model; expected one of: {string.Join(", ", CodeModels)}", nameof(options));
        if (!IsValidVisibility(options.Visibility))
            throw new ArgumentException($"'{options.Visibility}' is not a visibility; expected one of: {string.Join(", ", Visibilities)}", nameof(options));

        // The code model as the target spells it: the policy adds and compares that; reasons name what was set.
        string? target = TargetOf([.. userFlags, .. additional]) ?? options.Target;
        var spelling = CodeModelSpellingFor(options.CodeModel, target);
        var setting = options;
        if (spelling is not null) options = options with { CodeModel = spelling.Spelling };

        var removePatterns = remove.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => p.Trim()).ToArray();
        var changes = new List<FlagChange>();
        var reported = new HashSet<string>(StringComparer.Ordinal);
        void Report(string flag, FlagChangeKind kind, string reason)
        {
            if (reported.Add(flag)) changes.Add(new FlagChange(flag, kind, reason));
        }

        var survivors = new List<string[]>();
        foreach (var unit in Units([.. userFlags, .. additional]))
        {
            string text = string.Join(' ', unit);
            if (removePatterns.Any(p => Glob(p, unit[0]) || (unit.Length > 1 && Glob(p, text))))
            {
                Report(text, FlagChangeKind.Removed, RemoveFlagsReason);
                continue;
            }
            if (unit.Length > 1 || Decide(unit[0], options, setting, spelling) is not { } drop)
            {
                survivors.Add(unit);
                continue;
            }
            if (drop.Kind is { } kind) Report(unit[0], kind, drop.Reason);
        }

        var flags = survivors.SelectMany(u => u).ToList();
        var added = new List<string>();
        foreach (var addition in Additions)
        {
            if (addition.Families is { } families && !families.Contains(family)) continue;
            if (addition.Kinds is { } kinds && !kinds.Contains(sourceKind)) continue;
            if (addition.Unit(options) is not { } unit) continue;
            if (addition.UnlessPresent && survivors.Any(s => s.SequenceEqual(unit, StringComparer.Ordinal))) continue;
            if (addition.YieldsTo is { } yieldsTo && survivors.Any(s => s.Length == 1 && Glob(yieldsTo, s[0]))) continue;
            added.AddRange(unit);
        }
        flags.AddRange(added);
        return new FlagPolicyResult(flags, changes, added);
    }

    /// <summary>
    /// What the rule table does with one flag: null keeps it; otherwise it is dropped, and reported
    /// when <c>Kind</c> is set.
    /// </summary>
    private static (FlagChangeKind? Kind, string Reason)? Decide(string flag, FlagPolicyOptions options, FlagPolicyOptions setting, CodeModelSpelling? spelling)
    {
        var rule = Array.Find(Rules, r => Glob(r.Pattern, flag));
        if (rule is null || IsKept(rule.KeptBy, options)) return null;
        string value = rule.Category == Category.CodeModel && spelling is not null
            ? $"{setting.CodeModel} ({spelling.Why})"
            : ValueOf(rule.Category, options);
        string reason = rule.Reason
            .Replace("{value}", value, StringComparison.Ordinal)
            .Replace("{flag}", flag, StringComparison.Ordinal);
        if (reason.Contains("{policy}", StringComparison.Ordinal))
            reason = reason.Replace("{policy}", string.Join(' ', PolicyFlagOf(rule.Category, options)), StringComparison.Ordinal);
        return rule.Action switch
        {
            RuleAction.Duplicate => (null, reason),
            RuleAction.Replace => string.Equals(flag, string.Join(' ', PolicyFlagOf(rule.Category, options)), StringComparison.Ordinal)
                ? (null, reason)
                : (FlagChangeKind.Overridden, reason),
            RuleAction.Override => (FlagChangeKind.Overridden, reason),
            RuleAction.Remove => (FlagChangeKind.Removed, reason),
            _ => throw new InvalidOperationException($"unknown rule action {rule.Action}"),
        };
    }

    private static bool IsKept(KeptBy keptBy, FlagPolicyOptions options) => keptBy switch
    {
        KeptBy.Nothing => false,
        KeptBy.KeepSanitizers => options.KeepSanitizers,
        KeptBy.KeepLto => options.KeepLto,
        KeptBy.NotFreestanding => !options.Freestanding,
        _ => throw new InvalidOperationException($"unknown option {keptBy}"),
    };

    private static string ValueOf(Category category, FlagPolicyOptions options) => category switch
    {
        Category.CodeModel => options.CodeModel,
        Category.Visibility => options.Visibility,
        _ => "",
    };

    private static string[] PolicyFlagOf(Category category, FlagPolicyOptions options) =>
        Additions.First(a => a.Category == category).Unit(options) ?? [];

    /// <summary>Groups the words into units: an option that takes the next word as its argument forms a unit with it.</summary>
    private static IEnumerable<string[]> Units(IReadOnlyList<string> words)
    {
        for (int i = 0; i < words.Count; i++)
        {
            if (OptionsWithArgument.Contains(words[i]) && i + 1 < words.Count)
            {
                yield return [words[i], words[i + 1]];
                i++;
            }
            else
            {
                yield return [words[i]];
            }
        }
    }

    /// <summary>Matches <paramref name="text"/> against <paramref name="pattern"/>, where <c>*</c> matches any run of characters (also none).</summary>
    private static bool Glob(string pattern, string text)
    {
        if (!pattern.Contains('*')) return string.Equals(pattern, text, StringComparison.Ordinal);
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (p < pattern.Length && pattern[p] == text[t])
            {
                p++;
                t++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    /// <summary>
    /// Splits a command line into words as a POSIX shell does, without any expansion: unquoted
    /// whitespace separates words; <c>'…'</c> quotes everything literally; <c>"…"</c> quotes with
    /// backslash escaping only <c>$ ` " \</c> and newline; an unquoted backslash escapes the next
    /// character (backslash-newline joins lines). <c>''</c> is an empty word.
    /// </summary>
    /// <exception cref="FormatException">A quote is not closed.</exception>
    public static IReadOnlyList<string> Split(string? commandLine)
    {
        var words = new List<string>();
        if (string.IsNullOrEmpty(commandLine)) return words;

        var word = new StringBuilder();
        bool inWord = false;
        string s = commandLine;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(word.ToString());
                word.Clear();
                inWord = false;
                continue;
            }

            if (c == '\\' && i + 1 < s.Length && s[i + 1] == '\n')
            {
                i++;
                continue;
            }

            inWord = true;
            switch (c)
            {
                case '\\':
                    word.Append(i + 1 < s.Length ? s[++i] : '\\');
                    break;
                case '\'':
                {
                    int end = s.IndexOf('\'', i + 1);
                    if (end < 0) throw new FormatException($"unterminated ' quote in: {commandLine}");
                    word.Append(s, i + 1, end - i - 1);
                    i = end;
                    break;
                }
                case '"':
                {
                    int j = i + 1;
                    for (; j < s.Length && s[j] != '"'; j++)
                    {
                        if (s[j] == '\\' && j + 1 < s.Length && s[j + 1] is '$' or '`' or '"' or '\\' or '\n')
                        {
                            j++;
                            if (s[j] != '\n') word.Append(s[j]);
                        }
                        else
                        {
                            word.Append(s[j]);
                        }
                    }
                    if (j >= s.Length) throw new FormatException($"unterminated \" quote in: {commandLine}");
                    i = j;
                    break;
                }
                default:
                    word.Append(c);
                    break;
            }
        }
        if (inWord) words.Add(word.ToString());
        return words;
    }
}
