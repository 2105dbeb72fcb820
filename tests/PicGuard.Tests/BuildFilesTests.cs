using PicGuard.Build;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// The files the build writes and reads around each compile: where an object goes (<see cref="ObjectLayout"/>),
/// response files as gcc and clang read them, dependency files as they write them, and the per-kind policy rows.
/// </summary>
[TestClass]
public sealed class BuildFilesTests
{
    [TestMethod]
    [DataRow("/p/proj", "/p/proj/entry.S", "entry.S.o")]
    [DataRow("/p/proj", "/p/proj/arch/x86_64/util.c", "arch/x86_64/util.c.o")]
    [DataRow("/p/proj", "/p/proj/sub dir/ü.c", "sub dir/ü.c.o")]
    [DataRow("/p/proj/", "/p/proj/a/../b/x.c", "b/x.c.o")]
    public void SourceInTheProject_MirrorsItsPath(string project, string source, string expected)
    {
        Assert.AreEqual(expected, ObjectLayout.RelativeObjectPath(project, source));
    }

    [TestMethod]
    public void SourcesOutsideTheProject_GetAStableFolderPerDirectory_NeverColliding()
    {
        string a = ObjectLayout.RelativeObjectPath("/p/proj", "/p/kexec-tools/purgatory/util.c");
        string b = ObjectLayout.RelativeObjectPath("/p/proj", "/p/kexec-tools/purgatory/arch/x86_64/util.c");
        string sameFolderName = ObjectLayout.RelativeObjectPath("/p/proj", "/q/other tree/purgatory/util.c");
        string sibling = ObjectLayout.RelativeObjectPath("/p/proj", "/p/proj-other/util.c");

        StringAssert.StartsWith(a, "_ext/purgatory-");
        StringAssert.EndsWith(a, "/util.c.o");
        StringAssert.StartsWith(b, "_ext/x86_64-");
        Assert.AreEqual(4, new[] { a, b, sameFolderName, sibling }.Distinct().Count(), "four sources, four objects");
        Assert.AreEqual(a, ObjectLayout.RelativeObjectPath("/p/proj", "/p/kexec-tools/purgatory/util.c"), "stable from run to run");
        StringAssert.StartsWith(sibling, "_ext/proj-other-", "a sibling whose name starts like the project is outside it");
        StringAssert.Matches(ObjectLayout.RelativeObjectPath("/p/proj", "/p/it's here/x.c"), new System.Text.RegularExpressions.Regex(@"^_ext/it_s_here-[0-9a-f]{8}/x\.c\.o$"));
    }

    [TestMethod]
    public void ResponseFile_RoundTrips_AndGccAndClangReadItAsWritten()
    {
        using var dir = new TempDir();
        string[] flags = ["-DNAME=\"a b\"", "-DQ='x'", @"-DBACK=a\b", "-I" + dir["include dir ü"], "-O2"];
        CollectionAssert.AreEqual(flags, ResponseFile.Parse(ResponseFile.Format(flags)).ToArray());

        Directory.CreateDirectory(dir["include dir ü"]);
        File.WriteAllText(dir["include dir ü/h.h"], "#define FROM_HEADER 1\n");
        File.WriteAllText(dir["rsp"], ResponseFile.Format(flags));
        File.WriteAllText(dir["x.c"], """
            #include "h.h"
            #if FROM_HEADER != 1
            #error header
            #endif
            static const char name[] = NAME; static const char q = 'x';
            _Static_assert(sizeof name == 4, "NAME is the three characters a b");
            """);
        foreach (var compiler in new[] { Gcc, Clang })
        {
            var r = Run(compiler, ["@" + dir["rsp"], "-fsyntax-only", dir["x.c"]]);
            Assert.AreEqual(0, r.ExitCode, $"{compiler} read the response file differently:\n{r.All}");
        }
    }

    [TestMethod]
    public void DependencyFile_ReadsWhatTheCompilersWrite_EscapesIncluded()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["odd $dir #1"]);
        File.WriteAllText(dir["odd $dir #1/h.h"], "int h;\n");
        File.WriteAllText(dir["x.c"], "#include \"odd $dir #1/h.h\"\n");
        foreach (var compiler in new[] { Gcc, Clang })
        {
            string d = dir[$"x.{compiler}.d"];
            RunChecked(compiler, "-MD", "-MF", d, "-MT", dir["out dir/x.o"], "-c", dir["x.c"], "-o", dir[$"x.{compiler}.o"]);
            var deps = DependencyFile.Read(d);
            CollectionAssert.Contains(deps.ToArray(), dir["odd $dir #1/h.h"], $"{compiler}: {File.ReadAllText(d)}");
            Assert.IsTrue(deps.All(File.Exists), $"{compiler}: every prerequisite read is a file: {string.Join(" | ", deps)}");
        }
    }

    [TestMethod]
    public void AssemblySources_GetNoExecStack_AndClangIgnoresCFlagsOnPlainAssembly()
    {
        var options = new FlagPolicyOptions();
        var c = FlagPolicy.Apply([], [], [], CompilerFamily.Gcc, options, FlagPolicy.KindOf("x.c")).Flags;
        var preprocessed = FlagPolicy.Apply([], [], [], CompilerFamily.Gcc, options, FlagPolicy.KindOf("entry.S")).Flags;
        var plainClang = FlagPolicy.Apply([], [], [], CompilerFamily.Clang, options, FlagPolicy.KindOf("setup.s")).Flags;
        var plainGcc = FlagPolicy.Apply([], [], [], CompilerFamily.Gcc, options, FlagPolicy.KindOf("setup.s")).Flags;

        Assert.DoesNotContain("-Wa,--noexecstack", c);
        Assert.Contains("-Wa,--noexecstack", preprocessed);
        Assert.DoesNotContain("-Qunused-arguments", preprocessed);
        Assert.Contains("-Wa,--noexecstack", plainClang);
        Assert.Contains("-Qunused-arguments", plainClang);
        Assert.DoesNotContain("-Qunused-arguments", plainGcc, "gcc does not know -Qunused-arguments");
        Assert.AreEqual(1, FlagPolicy.Apply(["-Wa,--noexecstack"], [], [], CompilerFamily.Gcc, options, SourceKind.PreprocessedAssembly).Flags.Count(f => f == "-Wa,--noexecstack"));
    }

    [TestMethod]
    public void CompileCommands_AreAJsonArrayOfEntries_WrittenOnlyWhenChanged()
    {
        using var dir = new TempDir();
        string path = dir["cc/compile_commands.json"];
        var entry = new CompileCommand("/p", ["/usr/bin/gcc", "-DX=\"1 2\"", "-c", "/p/a.c", "-o", "/p/a.o"], "/p/a.c", "/p/a.o");

        Assert.IsTrue(CompileCommands.Write(path, [entry]));
        var parsed = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        Assert.AreEqual("-DX=\"1 2\"", parsed[0].GetProperty("arguments")[1].GetString());
        File.SetLastWriteTimeUtc(path, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Assert.IsFalse(CompileCommands.Write(path, [entry]), "same entries: the file is left alone");
        Assert.AreEqual(2020, File.GetLastWriteTimeUtc(path).Year);
        Assert.IsEmpty(Directory.GetFiles(dir["cc"], "*.tmp"));
    }
}
