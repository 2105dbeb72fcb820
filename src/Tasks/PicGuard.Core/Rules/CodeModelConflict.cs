using PicGuard.Bitcode;
using PicGuard.Diagnostics;

namespace PicGuard.Rules;

/// <summary>One LLVM IR module among the inputs of a check: the file, the object (archive member included) and what it records.</summary>
public sealed record BitcodeInput(string File, string Object, BitcodeModule Module);

/// <summary>
/// The LLVM bitcode modules of one check or one link, gathered as objects are checked (from any thread), and the
/// code models that disagree among them (PG0013). LLVM's IR linker merges the <c>Code Model</c> module flag with
/// behaviour Error: two modules that both carry it must carry the same value, or ld.lld stops with
/// "linking module flags 'Code Model': IDs have conflicting values" and names no function.
/// </summary>
public sealed class BitcodeInputs
{
    /// <summary>Objects a finding lists of the other side, and functions it names of each object, before a count.</summary>
    public const int ObjectsShown = 5, FunctionsShown = 3;

    private readonly List<(int File, int Member, BitcodeInput Input)> _inputs = new();
    private int _files;

    /// <summary>A number for the next file whose objects come here: inputs are ordered by file, then member.</summary>
    public int NextFile() => Interlocked.Increment(ref _files) - 1;

    public void Add(int file, int member, string path, string objectName, IReadOnlyList<BitcodeModule> modules)
    {
        lock (_inputs)
            foreach (var m in modules)
                _inputs.Add((file, member, new BitcodeInput(path, objectName, m)));
    }

    /// <summary>How many modules carry a <c>Code Model</c> flag: fewer than two cannot disagree.</summary>
    public int WithCodeModel
    {
        get
        {
            lock (_inputs)
                return _inputs.Count(i => i.Input.Module.CodeModel is not null);
        }
    }

    /// <summary>The modules gathered, in file and member order.</summary>
    public IReadOnlyList<BitcodeInput> Inputs
    {
        get
        {
            lock (_inputs)
                return _inputs.OrderBy(i => i.File).ThenBy(i => i.Member).Select(i => i.Input).ToList();
        }
    }

    /// <summary>
    /// One finding per group of modules whose code model differs from the largest group's (the first group seen
    /// when sizes tie): it names each object of the group with its flags and functions, and the objects it conflicts with.
    /// </summary>
    internal IEnumerable<Diagnostic> Conflicts(Profile profile, Severity severity)
    {
        var rule = RuleCatalog.CodeModelConflict;
        if (severity == Severity.None) yield break;
        var groups = Inputs.Where(i => i.Module.CodeModel is not null)
            .GroupBy(i => i.Module.CodeModel!.Value)
            .Select(g => g.ToList())
            .ToList();
        if (groups.Count < 2) yield break;
        var reference = groups.OrderByDescending(g => g.Count).First(); // OrderBy is stable: ties keep the first seen
        string referenceModel = BitcodeModule.CodeModelName(reference[0].Module.CodeModel!.Value);
        bool piProfile = profile == Profiles.Startup || profile == Profiles.KexecPurgatory;
        foreach (var group in groups)
        {
            if (ReferenceEquals(group, reference)) continue;
            string model = BitcodeModule.CodeModelName(group[0].Module.CodeModel!.Value);
            var first = group[0];
            string these = group.Count == 1 ? $"{first.Object} is" : $"{first.Object} and {group.Count - 1} more bitcode input(s) are";
            string message = $"{these} LLVM bitcode with Code Model {model}, but {reference.Count} other bitcode input(s) of this link have Code Model {referenceModel} " +
                             $"({Names(reference)}): an LTO link stops at them with \"linking module flags 'Code Model': IDs have conflicting values\", naming no function";
            var context = new List<string>();
            foreach (var input in group)
                context.Add($"{model}: {Line(input)}");
            foreach (var input in reference.Take(ObjectsShown))
                context.Add($"{referenceModel}: {Line(input)}");
            if (reference.Count > ObjectsShown)
                context.Add($"{referenceModel}: and {reference.Count - ObjectsShown} more object(s)");
            if (piProfile)
            {
                // Startup code built with the position-independent flags keeps them in its bitcode: small model, a PIC level.
                var pi = group.Where(IsPositionIndependent).ToList();
                var otherSide = reference.Where(IsPositionIndependent).ToList();
                if (pi.Count > 0 && otherSide.Count == 0)
                    context.Add($"likely culprit: {string.Join(", ", pi.Select(i => i.Object))} carr{(pi.Count == 1 ? "ies" : "y")} the position-independent flags (Code Model small, a PIC Level): position-independent code built with LTO, as in the kernel's head64.o");
                else if (otherSide.Count > 0 && pi.Count == 0)
                    context.Add($"likely culprit: {string.Join(", ", otherSide.Take(ObjectsShown).Select(i => i.Object))} carr{(otherSide.Count == 1 ? "ies" : "y")} the position-independent flags (Code Model small, a PIC Level): position-independent code built with LTO, as in the kernel's head64.o");
            }
            context.Add("fix: " + rule.Fix);
            yield return new Diagnostic(rule, severity, first.File, first.Object, message, context);
        }
    }

    private static bool IsPositionIndependent(BitcodeInput i) => i.Module.CodeModel == 1 && i.Module.PicLevel is > 0;

    private static string Names(List<BitcodeInput> inputs) =>
        string.Join(", ", inputs.Take(ObjectsShown).Select(i => i.Object)) + (inputs.Count > ObjectsShown ? $", … ({inputs.Count - ObjectsShown} more)" : "");

    /// <summary><c>head64.o: Code Model small, PIC Level 2; defines a, b, c and 4 more</c>.</summary>
    internal static string Line(BitcodeInput input)
    {
        var functions = input.Module.DefinedFunctions;
        string defines = functions.Count == 0
            ? "defines no function"
            : "defines " + string.Join(", ", functions.Take(FunctionsShown)) + (functions.Count > FunctionsShown ? $" and {functions.Count - FunctionsShown} more" : "");
        return $"{input.Object}: {input.Module.DescribeModel()}; {defines}";
    }
}
