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

    private static readonly (byte[] Prefix, bool Exact, InstrumentationSymbol Row)[] Compiled =
        Symbols.Select(s => (Encoding.ASCII.GetBytes(s.Pattern.TrimEnd('*')), !s.Pattern.EndsWith('*'), s)).ToArray();

    /// <summary>
    /// The row whose pattern the name matches, or null. <paramref name="name"/> may run past the name's NUL
    /// (the rest of the string table): the first bytes reject most names before the NUL is looked for.
    /// Compares bytes; allocates nothing.
    /// </summary>
    public static InstrumentationSymbol? Match(ReadOnlySpan<byte> name)
    {
        // C++ names (_Z…) and most others fail on the first bytes; every pattern starts with '_', 'm' or 's'.
        if (name.Length < 4 || name[0] is not ((byte)'_' or (byte)'m' or (byte)'s') || name[0] == '_' && name[1] == 'Z') return null;
        int end = name.IndexOf((byte)0);
        if (end >= 0) name = name[..end];
        foreach (var (prefix, exact, row) in Compiled)
        {
            if (exact ? name.SequenceEqual(prefix) : name.StartsWith(prefix)) return row;
        }
        return null;
    }
}
