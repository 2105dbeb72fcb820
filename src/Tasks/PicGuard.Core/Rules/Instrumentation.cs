using System.Text;

namespace PicGuard.Rules;

/// <summary>One family of instrumentation entry points and the compiler flag that makes code call them.</summary>
/// <param name="Pattern">Symbol name glob (<c>__ubsan_handle_*</c>).</param>
/// <param name="ProducedBy">The flag (or feature) that emits the reference, as a user would grep for it.</param>
/// <param name="Fix">What removes it.</param>
public sealed record InstrumentationSymbol(string Pattern, string ProducedBy, string Fix);

/// <summary>
/// Instrumentation and sanitizer runtimes that position-independent, freestanding code must not call:
/// the runtime is not there (or not mapped) when the blob runs. One row per family (PG0005).
/// </summary>
public static class Instrumentation
{
    public static readonly IReadOnlyList<InstrumentationSymbol> Symbols =
    [
        new("__fentry__", "-pg -mfentry (ftrace)", "drop -pg/-mfentry/-mrecord-mcount, or mark the function __attribute__((no_instrument_function))"),
        new("mcount", "-pg", "drop -pg"),
        new("_mcount", "-pg", "drop -pg"),
        new("__gnu_mcount_nc", "-pg", "drop -pg"),
        new("__sanitizer_cov_*", "-fsanitize-coverage=trace-pc (KCOV)", "drop -fsanitize-coverage=…"),
        new("__ubsan_handle_*", "-fsanitize=undefined (UBSAN)", "drop -fsanitize=undefined and friends, or mark the function __attribute__((no_sanitize(\"undefined\")))"),
        new("__asan_*", "-fsanitize=address (ASAN)", "drop -fsanitize=address"),
        new("__kasan_*", "-fsanitize=kernel-address (KASAN)", "drop -fsanitize=kernel-address"),
        new("__hwasan_*", "-fsanitize=hwaddress", "drop -fsanitize=hwaddress"),
        new("__msan_*", "-fsanitize=memory or kernel-memory (KMSAN)", "drop -fsanitize=memory/kernel-memory"),
        new("__tsan_*", "-fsanitize=thread", "drop -fsanitize=thread"),
        new("__kcsan_*", "-fsanitize=thread with KCSAN", "drop -fsanitize=thread (KCSAN)"),
        new("__gcov_*", "-fprofile-arcs / --coverage (gcov)", "drop --coverage/-fprofile-arcs"),
        new("__llvm_gcov_*", "--coverage (clang gcov)", "drop --coverage"),
        new("__llvm_profile_*", "-fprofile-instr-generate", "drop -fprofile-instr-generate/-fprofile-generate"),
        new("__stack_chk_fail", "-fstack-protector*", "compile with -fno-stack-protector"),
        new("__stack_chk_guard", "-fstack-protector*", "compile with -fno-stack-protector"),
        new("stackleak_track_stack", "the stackleak GCC plugin", "drop -fplugin=…stackleak…"),
        new("__cyg_profile_func_*", "-finstrument-functions", "drop -finstrument-functions"),
        new("__cfi_*", "-fsanitize=cfi", "drop -fsanitize=cfi"),
        new("__kcfi_*", "-fsanitize=kcfi", "drop -fsanitize=kcfi"),
        new("__x86_indirect_thunk_*", "-mindirect-branch=thunk-extern (retpoline)", "drop -mindirect-branch=thunk-extern, or provide the thunk in the blob"),
        new("__x86_return_thunk", "-mfunction-return=thunk-extern", "drop -mfunction-return=thunk-extern"),
    ];

    /// <summary>The patterns as bytes, grouped by their first three bytes (every pattern has at least three before any '*').</summary>
    private static readonly Dictionary<int, (byte[] Prefix, bool Exact, InstrumentationSymbol Row)[]> ByFirstBytes = GroupByFirstBytes();

    /// <remarks>Plain loops: the table is built as a process starts, when LINQ's generic code is slow to run first.</remarks>
    private static Dictionary<int, (byte[] Prefix, bool Exact, InstrumentationSymbol Row)[]> GroupByFirstBytes()
    {
        var groups = new Dictionary<int, (byte[] Prefix, bool Exact, InstrumentationSymbol Row)[]>();
        for (int i = 0; i < Symbols.Count; i++)
        {
            var row = Symbols[i];
            var prefix = Encoding.ASCII.GetBytes(row.Pattern.TrimEnd('*'));
            if (prefix.Length < 3)
                throw new InvalidOperationException($"instrumentation pattern '{row.Pattern}' is shorter than three characters");
            int key = FirstBytes(prefix);
            var group = groups.TryGetValue(key, out var some) ? some : [];
            Array.Resize(ref group, group.Length + 1);
            group[^1] = (prefix, !row.Pattern.EndsWith('*'), row);
            groups[key] = group;
        }
        return groups;
    }

    private static int FirstBytes(ReadOnlySpan<byte> name) => name[0] | name[1] << 8 | name[2] << 16;

    /// <summary>
    /// The row whose pattern the name matches, or null. <paramref name="name"/> may run past the name's NUL
    /// (the rest of the string table): the first three bytes pick the few patterns that can match, or reject the
    /// name, before the NUL is looked for. Compares bytes; allocates nothing.
    /// </summary>
    public static InstrumentationSymbol? Match(ReadOnlySpan<byte> name)
    {
        if (name.Length < 3 || !ByFirstBytes.TryGetValue(FirstBytes(name), out var candidates)) return null;
        int end = name.IndexOf((byte)0);
        if (end >= 0) name = name[..end];
        foreach (var (prefix, exact, row) in candidates)
        {
            if (exact ? name.SequenceEqual(prefix) : name.StartsWith(prefix)) return row;
        }
        return null;
    }
}
