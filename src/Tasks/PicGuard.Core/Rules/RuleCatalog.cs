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

    public static readonly Rule InternalError = new(
        "PG9000", Severity.Error, "internal error", RuleScope.Input,
        Fix: "this is a bug in PicGuard; please report it with the input file");

    public static readonly Rule MalformedInput = new(
        "PG9001", Severity.Error, "input is not a valid ELF object or archive", RuleScope.Input,
        Fix: "pass an ELF relocatable object, executable, shared object or an ar archive of them; rebuild the file if it was truncated");

    public static readonly Rule UnsupportedMachine = new(
        "PG9002", Severity.Warning, "no relocation table for this machine", RuleScope.Input,
        Fix: "relocations of this machine are not classified, so relocation rules did not run; supported: x86-64, i386");

    public static readonly Rule MissingInput = new(
        "PG9003", Severity.Error, "input file not found", RuleScope.Input,
        Fix: "check the path of the PicCheck item (or command-line argument); build the file before checking it");

    /// <summary>All rules, in code order.</summary>
    public static readonly IReadOnlyList<Rule> All =
    [
        AbsoluteInCode, GotReference, LargeCodeModelSection,
        InternalError, MalformedInput, UnsupportedMachine, MissingInput,
    ];

    public static Rule? Find(string code) => All.FirstOrDefault(r => string.Equals(r.Code, code, StringComparison.OrdinalIgnoreCase));
}
