using PicGuard.Elf;
using static PicGuard.Relocations.RelocationKind;

namespace PicGuard.Rules;

/// <summary>
/// Every rule PicGuard knows, one row each (the idea of modpost's <c>sectioncheck[]</c>).
/// Codes are public: never renumber a row. docs/rules/&lt;code&gt;.md explains each.
/// </summary>
public static class RuleCatalog
{
    public static readonly Rule AbsoluteInCode = new(
        "PG0001", Severity.Error, "absolute reference from executable code", RuleScope.Relocation,
        Fix: "compile with -fpic -mcmodel=small (PicGuard's flag policy does), or address the symbol PC-relative in assembly (lea sym(%rip), %reg)",
        Relocation: new([Absolute], ElfSectionFlags.Alloc | ElfSectionFlags.ExecInstr));

    public static readonly Rule GotReference = new(
        "PG0002", Severity.Error, "GOT-based reference", RuleScope.Relocation,
        Fix: "make the symbol hidden so the compiler reaches it PC-relative: -fvisibility=hidden and, for extern declarations, '#pragma GCC visibility push(hidden)' (-include hidden.h); the GOT holds absolute addresses no static relocation covers",
        Relocation: new([Got]));

    public static readonly Rule LargeCodeModelSection = new(
        "PG0003", Severity.Error, "large-code-model section", RuleScope.Section,
        Fix: "compile with -mcmodel=small; clang 18 and later put -mcmodel=large code in .ltext, a second executable section that position-independent loaders such as kexec do not rebase",
        Section: new([".ltext", ".ldata", ".lbss", ".lrodata"], ElfSectionFlags.X86_64Large, ElfMachine.X86_64));

    public static readonly Rule UndefinedSymbol = new(
        "PG0008", Severity.Error, "undefined symbol left in the blob", RuleScope.Symbol,
        Fix: "define the symbol in one of the blob's sources or objects (a loader such as kexec resolves nothing: 'Undefined symbol: %s'), or list it in a PicAllowUndefined item if the loader provides it");

    public static readonly Rule FlagRemoved = new(
        "PG1001", Severity.Message, "flag removed by the position-independent flag policy", RuleScope.Build,
        Fix: "set PicKeepSanitizers=true or PicKeepLto=true to keep such flags, at your own risk");

    public static readonly Rule FlagOverridden = new(
        "PG1002", Severity.Warning, "explicit flag overridden by the position-independent flag policy", RuleScope.Build,
        Fix: "remove the flag from PicCFlags, or change the policy property that owns it (PicCodeModel, PicVisibility)");

    public static readonly Rule ToolNotFound = new(
        "PG1003", Severity.Error, "compiler or linker not found", RuleScope.Build,
        Fix: "install the tool or set the property to its full path");

    public static readonly Rule CompilerError = new(
        "PG2001", Severity.Error, "compiler error", RuleScope.Build,
        Fix: "fix the source at the location given; the compiler's own text follows");

    public static readonly Rule CompilerWarning = new(
        "PG2002", Severity.Warning, "compiler warning", RuleScope.Build,
        Fix: "fix the source, or silence the compiler's warning flag (-Wno-…) in PicCFlags");

    public static readonly Rule LinkerError = new(
        "PG2101", Severity.Error, "linker error", RuleScope.Build,
        Fix: "the linker's own text follows; check PicEntryPoint, PicObject items and symbol definitions");

    public static readonly Rule LinkerWarning = new(
        "PG2102", Severity.Warning, "linker warning", RuleScope.Build,
        Fix: "the linker's own text follows");

    public static readonly Rule InternalError = new(
        "PG9000", Severity.Error, "internal error", RuleScope.Input,
        Fix: "this is a bug in PicGuard; please report it with the input file");

    public static readonly Rule MalformedInput = new(
        "PG9001", Severity.Error, "input is not a valid ELF object or archive", RuleScope.Input,
        Fix: "pass an ELF relocatable object, executable, shared object or an ar archive of them; rebuild the file if it was truncated");

    public static readonly Rule UnsupportedMachine = new(
        "PG9002", Severity.Warning, "no relocation table for this machine", RuleScope.Input,
        Fix: "relocations of this machine and ELF class are not classified, so relocation rules did not run; supported: x86-64 (and x32), i386, aarch64 (LP64, not ILP32), riscv64 and riscv32");

    public static readonly Rule MissingInput = new(
        "PG9003", Severity.Error, "input file not found", RuleScope.Input,
        Fix: "check the path of the PicCheck item (or command-line argument); build the file before checking it");

    public static readonly Rule BadConfiguration = new(
        "PG9004", Severity.Error, "bad PicGuard property or option value", RuleScope.Input,
        Fix: "set the property to one of the accepted values the message lists");

    /// <summary>All rules, in code order.</summary>
    public static readonly IReadOnlyList<Rule> All =
    [
        AbsoluteInCode, GotReference, LargeCodeModelSection, UndefinedSymbol,
        FlagRemoved, FlagOverridden, ToolNotFound,
        CompilerError, CompilerWarning, LinkerError, LinkerWarning,
        InternalError, MalformedInput, UnsupportedMachine, MissingInput, BadConfiguration,
    ];

    public static Rule? Find(string code) => All.FirstOrDefault(r => string.Equals(r.Code, code, StringComparison.OrdinalIgnoreCase));
}
