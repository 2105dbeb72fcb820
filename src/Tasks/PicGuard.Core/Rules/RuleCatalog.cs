using PicGuard.Elf;
using PicGuard.Relocations;
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
        Section: new([".ltext", ".ldata", ".lbss", ".lrodata"], "belongs to the large code model", ElfSectionFlags.X86_64Large, ElfMachine.X86_64, "has the large-model flag (SHF_X86_64_LARGE)"));

    public static readonly Rule SectionConfinement = new(
        "PG0004", Severity.Error, "reference out of a confined section", RuleScope.Relocation,
        Fix: "move the callee into the confined section too (e.g. __attribute__((section(\".pi.text\")))), or add its section to PicAllowedTargetSections if it is safe to run from there",
        Relocation: new(RelocationMatch.AnyReference, Check: RelocationCheck.Confinement));

    public static readonly Rule InstrumentationCall = new(
        "PG0005", Severity.Error, "instrumentation or sanitizer call in position-independent code", RuleScope.Relocation,
        Fix: "build the code without the instrumentation flag named in the message (PicGuard's flag policy removes them from PicSource items), or exempt the function with __attribute__((no_instrument_function)) / no_sanitize",
        Relocation: new(RelocationMatch.AnyReference, Check: RelocationCheck.InstrumentationTarget));

    public static readonly Rule RejectedByLoader = new(
        "PG0006", Severity.Error, "relocation type the target loader does not apply", RuleScope.Relocation,
        Fix: "the message lists what this profile's loader applies or what its check rejects; build position-independent (-fpic -mcmodel=small, medany on riscv, -fvisibility=hidden) so the compiler emits only types the loader takes, and compute addresses at run time where the check rejects stored pointers",
        Relocation: new(RelocationMatch.AllKinds, Check: RelocationCheck.NotAcceptedByLoader));

    public static readonly Rule PlacementOverflow = new(
        "PG0007", Severity.Error, "relocation overflows at the load address", RuleScope.Relocation,
        Fix: "make the reference PC-relative (-fpic -mcmodel=small) or 64-bit, or narrow PicLoadAddress to where the loader really places the blob",
        Relocation: new([RelocationKind.Absolute, RelocationKind.PcRelative, RelocationKind.PltCall], Check: RelocationCheck.Overflow));

    public static readonly Rule UndefinedSymbol = new(
        "PG0008", Severity.Error, "undefined symbol left in the blob", RuleScope.Symbol,
        Fix: "define the symbol in one of the blob's sources or objects (a loader such as kexec resolves nothing: 'Undefined symbol: %s'), or list it in a PicAllowUndefined item if the loader provides it");

    public static readonly Rule LtoInput = new(
        "PG0009", Severity.Error, "LTO or bitcode input", RuleScope.Input,
        Fix: "rebuild the object without -flto (PicGuard's flag policy removes LTO flags from PicSource items); LTO merges code models and emits many text sections, which position-independent loaders do not support");

    public static readonly Rule AbsolutePointerInData = new(
        "PG0010", Severity.Warning, "absolute pointer in an allocated data section", RuleScope.Relocation,
        Fix: "a statically initialised pointer holds the link-time address; compute the address at run time (PC-relative, e.g. &sym in code) or make sure the loader relocates data for the address the code runs at",
        Relocation: new([RelocationKind.Absolute], ElfSectionFlags.Alloc, ElfSectionFlags.ExecInstr, ExcludedSections: ["__patchable_function_entries"]));

    public static readonly Rule NeedsRuntime = new(
        "PG0011", Severity.Error, "needs a dynamic linker or TLS runtime", RuleScope.Relocation,
        Fix: "freestanding blobs have no dynamic linker and no thread pointer: drop thread-local variables (__thread), make symbols hidden and link statically without -shared/-dynamic-linker",
        Relocation: new([RelocationKind.Dynamic, RelocationKind.Tls]),
        Section: new([".tdata", ".tbss", ".interp"], "needs a dynamic linker or a TLS runtime", ElfSectionFlags.Tls, ElfMachine.None, "is thread-local storage (SHF_TLS)"));

    public static readonly Rule SeveralExecutableSections = new(
        "PG0012", Severity.None, "more than one executable section in a relocatable blob", RuleScope.Object,
        Fix: "put all code in one .text: compile with -mcmodel=small (not large: clang puts it in .ltext), without -ffunction-sections, and without -fprofile-use/LTO; the kexec loader rebases the entry by the one section that contains it",
        Object: new(1, ElfFileType.Relocatable));

    public static readonly Rule CodeModelConflict = new(
        "PG0013", Severity.Error, "code models of LTO inputs disagree", RuleScope.Link,
        Fix: "build the objects named without LTO, so they reach the link as machine code (PicGuard's flag policy removes LTO flags from PicSource items; for a prebuilt or kernel object, e.g. CFLAGS_REMOVE_head64.o += $(CC_FLAGS_LTO)), or give every bitcode input the same -mcmodel");

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
        Fix: "relocations of this machine and ELF class are not classified, so relocation rules did not run; supported: x86-64 (and x32), i386, aarch64 (LP64, not ILP32), riscv64 and riscv32, arm (32-bit), loongarch64 and loongarch32, ppc64 (big- and little-endian) and s390x");

    public static readonly Rule MissingInput = new(
        "PG9003", Severity.Error, "input file not found", RuleScope.Input,
        Fix: "check the path of the PicCheck item (or command-line argument); build the file before checking it");

    public static readonly Rule BadConfiguration = new(
        "PG9004", Severity.Error, "bad PicGuard property or option value", RuleScope.Input,
        Fix: "set the property to one of the accepted values the message lists");

    public static readonly Rule NothingToBuild = new(
        "PG9005", Severity.Warning, "nothing to compile, link or check", RuleScope.Input,
        Fix: "add C or assembly sources (PicSource; the SDK form takes **/*.c, **/*.S and **/*.s from the project folder), prebuilt objects (PicObject) or files to check (PicCheck), or set PicEnabled=false");

    public static readonly Rule UndecodedRelocations = new(
        "PG9006", Severity.Error, "relocation section PicGuard cannot decode", RuleScope.Input,
        Fix: "the relocations in this section were not checked; emit SHT_RELA, SHT_REL or SHT_CREL relocations (SHT_RELR only in a linked file; no Android packed relocations) or report the section type");

    public static readonly Rule NoLoaderForMachine = new(
        "PG9007", Severity.Warning, "the profile's loader has no row for this machine", RuleScope.Input,
        Fix: "check the object under the profile of the loader that will place it (docs/profiles.md lists each profile's machines); if that loader does not exist for this machine, the other rules still ran and this warning can be silenced (NoWarn PG9007 in MSBuild, --suppress PG9007 on the command line)");

    /// <summary>All rules, in code order.</summary>
    public static readonly IReadOnlyList<Rule> All =
    [
        AbsoluteInCode, GotReference, LargeCodeModelSection, SectionConfinement, InstrumentationCall,
        RejectedByLoader, PlacementOverflow, UndefinedSymbol, LtoInput, AbsolutePointerInData, NeedsRuntime, SeveralExecutableSections,
        CodeModelConflict,
        FlagRemoved, FlagOverridden, ToolNotFound,
        CompilerError, CompilerWarning, LinkerError, LinkerWarning,
        InternalError, MalformedInput, UnsupportedMachine, MissingInput, BadConfiguration, NothingToBuild, UndecodedRelocations,
        NoLoaderForMachine,
    ];

    public static Rule? Find(string code) => All.FirstOrDefault(r => string.Equals(r.Code, code, StringComparison.OrdinalIgnoreCase));
}
