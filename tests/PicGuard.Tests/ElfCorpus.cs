using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// Real objects for the readelf differential test and the mutation fuzzer: one C source built by
/// gcc 12 and clang-19 for x86-64, i386 (-m32), aarch64 and riscv64, with and without -g and
/// -ffunction-sections, plus an <c>ld -r</c> relocatable, a static-pie executable and archives.
/// </summary>
public static class ElfCorpus
{
    /// <summary>Globals, externs, statics, a jump table, strings, function pointers and TLS: many relocation types.</summary>
    public const string Source = """
        extern int ext_counter;
        extern void ext_call(int);
        static int local_counter;
        int table[16];
        const char *names[] = { "alpha", "beta", "gamma" };
        static void (*handler)(int) = ext_call;
        __thread int tls_value;
        int dispatch(int k, int v)
        {
            switch (k) {
            case 0: return v + 1;
            case 1: return table[v];
            case 2: return ext_counter;
            case 3: return local_counter++;
            case 4: ext_call(v); return 0;
            case 5: return names[v][0];
            case 6: handler(v); return 1;
            case 7: return v * 7 + table[v & 3];
            default: return tls_value;
            }
        }
        long address_of(void) { return (long)&table[3]; }
        static int helper(int x) { return x * x + local_counter; }
        int use_helper(int x) { return helper(x) + helper(x + 1); }
        """;

    /// <summary>Defines what <see cref="Source"/> leaves undefined, and main, for a linked program.</summary>
    public const string Program = """
        int ext_counter = 3;
        void ext_call(int v) { ext_counter += v; }
        int dispatch(int, int);
        int main(int argc, char **argv) { (void)argv; return dispatch(argc, 1); }
        """;

    public const string Freestanding = "-ffreestanding -nostdinc";

    /// <summary>(label, compiler, flags) for every object the corpus compiles from <see cref="Source"/>.</summary>
    public static readonly (string Label, string Compiler, string Flags)[] Builds =
    [
        ("gcc-x86_64-O2", Gcc, "-O2"),
        ("gcc-x86_64-O0-g", Gcc, "-O0 -g"),
        ("gcc-x86_64-fsections-fpic", Gcc, "-O2 -ffunction-sections -fdata-sections -fpic"),
        ("gcc-x86_64-kernel", Gcc, "-O2 -mcmodel=kernel -fno-pic -g"),
        ("clang-x86_64-O2", Clang, "-O2"),
        ("clang-x86_64-O1-g-fsections", Clang, "-O1 -g -ffunction-sections -fdata-sections"),
        ("gcc-i386-O2", Gcc, "-m32 -O2 " + Freestanding),
        ("gcc-i386-g", Gcc, "-m32 -O1 -g -fpic " + Freestanding),
        ("clang-i386-O2", Clang, "-m32 -O2 -ffunction-sections " + Freestanding),
        ("clang-aarch64-O2", Clang, "--target=aarch64-linux-gnu -O2 " + Freestanding),
        ("clang-aarch64-g-fsections", Clang, "--target=aarch64-linux-gnu -O1 -g -ffunction-sections " + Freestanding),
        ("clang-riscv64-O2", Clang, "--target=riscv64-linux-gnu -O2 " + Freestanding),
        ("clang-riscv64-g-fsections", Clang, "--target=riscv64-linux-gnu -O1 -g -ffunction-sections " + Freestanding),
    ];

    /// <summary>Compiles every entry of <see cref="Builds"/> into <paramref name="dir"/>; returns (label, object path).</summary>
    public static List<(string Label, string Path)> CompileObjects(TempDir dir)
    {
        string source = dir["corpus.c"];
        File.WriteAllText(source, Source);
        var objects = new List<(string, string)>();
        foreach (var (label, compiler, flags) in Builds)
        {
            string obj = dir[label + ".o"];
            RunChecked(compiler, [.. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries), "-c", source, "-o", obj]);
            objects.Add((label, obj));
        }
        return objects;
    }

    /// <summary>An <c>ld -r</c> of two x86-64 objects, an archive of the objects, and ld.lld-19 shared objects for x86-64 and aarch64.</summary>
    public static List<(string Label, string Path)> LinkedAndArchived(TempDir dir, List<(string Label, string Path)> objects)
    {
        string program = dir["program.c"];
        File.WriteAllText(program, Program);
        string programObject = dir["program.o"];
        RunChecked(Gcc, "-O2", "-c", program, "-o", programObject);
        string x86 = objects.First(o => o.Label == "gcc-x86_64-O2").Path;

        string relocatable = dir["combined.o"];
        RunChecked(Ld, "-r", x86, programObject, "-o", relocatable);

        string archive = Archive(dir.Path, "libcorpus.a", [.. objects.Select(o => o.Path)]);

        // Shared objects linked by ld.lld-19: .rela.dyn/.rela.plt against .dynsym.
        var shared = new List<(string, string)>();
        foreach (var (label, flags) in new[] { ("x86_64", "-O2 -fpic"), ("aarch64", "--target=aarch64-linux-gnu -O2 -fpic " + Freestanding) })
        {
            string obj = dir[$"shared-{label}.o"];
            RunChecked(Clang, [.. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries), "-c", dir["corpus.c"], "-o", obj]);
            string so = dir[$"shared-{label}.so"];
            RunChecked(Lld, "-shared", obj, "-o", so);
            shared.Add(($"lld-shared-{label}", so));
        }
        return [("ld-r", relocatable), ("archive", archive), .. shared];
    }

    /// <summary>A gcc -static-pie executable: .rela.dyn with RELATIVE and IRELATIVE entries.</summary>
    public static string StaticPie(TempDir dir)
    {
        string program = dir["program.c"];
        File.WriteAllText(program, Program);
        File.WriteAllText(dir["corpus.c"], Source);
        string exe = dir["static-pie"];
        RunChecked(Gcc, "-O2", "-static-pie", dir["corpus.c"], program, "-o", exe);
        return exe;
    }
}
