using PicGuard.Elf;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// Thin archives whose members are archives, written by GNU ar and llvm-ar-19 (<c>ar rcT</c>): a thin
/// <c>built-in.a</c> named by a thin <c>vmlinux.a</c>, GNU ar's <c>/N:ORIGIN</c> reference into a regular archive,
/// and the archives no reader may loop on (two that name each other, nesting deeper than the limit), each a PG9001.
/// </summary>
[TestClass]
public sealed class NestedThinArchiveTests
{
    public static IEnumerable<object[]> Archivers => [["ar"], ["llvm-ar-19"]];

    /// <summary>Three objects with an absolute reference each (PG0001 under any profile): sub/a.o, sub/c.o, b.o.</summary>
    private static void Objects(TempDir dir)
    {
        Directory.CreateDirectory(dir["sub"]);
        foreach (var (name, variable) in new[] { ("sub/a", "alpha"), ("sub/c", "gamma"), ("b", "beta") })
        {
            File.WriteAllText(dir[name + ".c"], $"int {variable}[4];\nint *{variable}_address(void) {{ return &{variable}[1]; }}\n");
            RunChecked(Gcc, "-O2", "-mcmodel=kernel", "-fno-pic", "-c", dir[name + ".c"], "-o", dir[name + ".o"]);
        }
    }

    /// <summary>
    /// Writes thin archives that name each other: each (archive, members) pair is built while every member that is to be
    /// an archive is still an object, so the archiver records the path rather than flattening it, then all are put in place.
    /// </summary>
    private static void ThinArchives(TempDir dir, string archiver, params (string Archive, string[] Members)[] archives)
    {
        var placeholders = new List<string>();
        foreach (var (_, members) in archives)
            foreach (var m in members)
                if (!File.Exists(dir[m])) { File.Copy(dir["b.o"], dir[m]); placeholders.Add(m); }
        foreach (var (archive, members) in archives)
        {
            // Named after the final file, in the same folder, so the recorded paths are the final ones.
            string staging = dir[archive + ".staging"];
            string stagingDir = Path.GetDirectoryName(dir[archive])!;
            RunChecked("sh", "-c", $"cd '{stagingDir}' && {archiver} rcT '{Path.GetFileName(staging)}' {string.Join(' ', members.Select(m => $"'{Path.GetRelativePath(stagingDir, dir[m])}'"))}");
            Assert.IsTrue(File.ReadAllBytes(staging).AsSpan().StartsWith("!<thin>\n"u8), archive);
        }
        foreach (var (archive, _) in archives)
            File.Move(dir[archive + ".staging"], dir[archive], overwrite: true);
    }

    private static List<DumpedRelocation> Dump(string path, List<DumpError> errors) => RelocationDump.Read(path, File.ReadAllBytes(path), errors);

    [TestMethod]
    [DynamicData(nameof(Archivers))]
    public void ThinArchiveOfThinArchive_ReadsEveryMember(string archiver)
    {
        using var dir = new TempDir();
        Objects(dir);
        ThinArchives(dir, archiver, ("vmlinux.a", ["sub/built-in.a", "b.o"]), ("sub/built-in.a", ["sub/a.o", "sub/c.o"]));
        Assert.IsTrue(File.ReadAllBytes(dir["sub/built-in.a"]).AsSpan().StartsWith("!<thin>\n"u8), "the member is itself a thin archive");

        var errors = new List<DumpError>();
        var nested = Dump(dir["vmlinux.a"], errors);
        Assert.IsEmpty(errors, string.Join("\n", errors));
        var objects = nested.Select(r => r.Object).Distinct().ToList();
        // Each archive records its members relative to its own folder.
        Assert.AreEqual(string.Join("\n", $"{dir["vmlinux.a"]}(sub/built-in.a(a.o))", $"{dir["vmlinux.a"]}(sub/built-in.a(c.o))", $"{dir["vmlinux.a"]}(b.o)"),
            string.Join("\n", objects));
        // The nested members' relocations are those of the inner archive read on its own, and of the objects.
        var inner = Dump(dir["sub/built-in.a"], errors);
        Assert.IsNotEmpty(inner);
        Assert.AreEqual(string.Join("\n", inner.Select(r => RelocationDump.Format(r with { Object = "" }))),
            string.Join("\n", nested.Where(r => r.Object.Contains("built-in.a(", StringComparison.Ordinal)).Select(r => RelocationDump.Format(r with { Object = "" }))));
        var (compared, _, differences) = ReadelfDifferentialTests.Compare(dir["b.o"], llvm: true);
        Assert.IsEmpty(differences);
        Assert.AreEqual(compared, nested.Count(r => r.Object.EndsWith("(b.o)", StringComparison.Ordinal)));

        var result = new Checker(CheckOptions.Default).CheckFile(dir["vmlinux.a"]);
        Assert.AreEqual(3, result.Objects);
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0001" && d.Object.EndsWith("(sub/built-in.a(c.o))", StringComparison.Ordinal)),
            string.Join("\n", result.Diagnostics.Select(d => d.Format())));
        Assert.IsFalse(result.Diagnostics.Any(d => d.Code.StartsWith("PG9", StringComparison.Ordinal)), string.Join("\n", result.Diagnostics.Select(d => d.Format())));
    }

    [TestMethod]
    public void GnuNestedRegularArchiveReference_AgreesWithReadelfOfTheMembers()
    {
        using var dir = new TempDir();
        Objects(dir);
        RunChecked("sh", "-c", $"cd '{dir.Path}' && ar rc sub/regular.a sub/a.o sub/c.o && ar rcT with-regular.a sub/regular.a b.o");
        string thin = dir["with-regular.a"];
        StringAssert.Contains(File.ReadAllText(thin), "/0:", "GNU ar names the regular archive's members as /N:ORIGIN");

        // binutils 2.40's readelf names these members but cannot read them; llvm-readelf-19 refuses the archive. The
        // oracle is llvm-readelf on the nested archive and on the object, named as PicGuard names them: "thin(nested(member))".
        var expected = ReadelfDifferentialTests.ParseReadelf(dir["sub/regular.a"], RunChecked("llvm-readelf-19", "-r", dir["sub/regular.a"]).StdOut)
            .Select(r => r with { Object = $"{thin}(sub/regular.a({r.Object[(dir["sub/regular.a"].Length + 1)..^1]}))" })
            .Concat(ReadelfDifferentialTests.ParseReadelf($"{thin}(b.o)", RunChecked("llvm-readelf-19", "-r", dir["b.o"]).StdOut)).ToList();
        var errors = new List<DumpError>();
        var ours = Dump(thin, errors);
        Assert.IsEmpty(errors, string.Join("\n", errors));
        Assert.IsGreaterThan(4, expected.Count);
        Assert.HasCount(expected.Count, ours);
        for (int i = 0; i < expected.Count; i++)
            Assert.AreEqual(expected[i], new ReadelfDifferentialTests.ReadelfRelocation(ours[i].Object, ours[i].Section, ours[i].Offset, ours[i].Type, ours[i].TypeName,
                ours[i].SymbolIndex, ours[i].Symbol, ours[i].HasAddend ? ours[i].Addend : null), $"#{i}");
        CollectionAssert.Contains(ours.Select(r => r.Object).Distinct().ToList(), $"{thin}(sub/regular.a(c.o))");
    }

    [TestMethod]
    [DynamicData(nameof(Archivers))]
    public void ArchivesThatNameEachOther_ArePG9001_NotALoop(string archiver)
    {
        using var dir = new TempDir();
        Objects(dir);
        ThinArchives(dir, archiver, ("p.a", ["q.a", "b.o"]), ("q.a", ["p.a", "sub/a.o"]));

        var result = new Checker(CheckOptions.Default).CheckFile(dir["p.a"]);
        var text = string.Join("\n", result.Diagnostics.Select(d => d.Format()));
        var cycle = result.Diagnostics.Single(d => d.Code == "PG9001");
        StringAssert.Contains(cycle.Message, "is an archive that contains itself");
        StringAssert.Contains(cycle.Message, $"{dir["p.a"]} -> {dir["q.a"]} -> {dir["p.a"]}");
        // What can be read is still checked: q.a's sub/a.o and p.a's b.o.
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0001" && d.Object == $"{dir["p.a"]}(q.a(sub/a.o))"), text);
        Assert.IsTrue(result.Diagnostics.Any(d => d.Code == "PG0001" && d.Object == $"{dir["p.a"]}(b.o)"), text);

        var (exit, _, stderr) = CliTests.Cli("dump-relocs", dir["p.a"]);
        Assert.AreEqual(1, exit, stderr);
        StringAssert.Contains(stderr, "error PG9001: thin archive member 'p.a' is an archive that contains itself");
    }

    [TestMethod]
    public void NestingDeeperThanTheLimit_IsPG9001()
    {
        using var dir = new TempDir();
        Objects(dir);
        // level0.a names level1.a, …, each a thin archive: MaxNesting + 1 archives in all.
        int levels = ArArchive.MaxNesting + 1;
        var chain = Enumerable.Range(0, levels)
            .Select(i => ($"level{i}.a", i == levels - 1 ? new[] { "b.o" } : new[] { $"level{i + 1}.a" })).ToArray();
        ThinArchives(dir, "ar", chain);

        var (exit, stdout, stderr) = CliTests.Cli("check", dir["level0.a"]);
        Assert.AreEqual(1, exit, stdout + stderr);
        StringAssert.Contains(stdout + stderr, $"error PG9001: thin archive member 'level{ArArchive.MaxNesting}.a' nests archives more than {ArArchive.MaxNesting} deep");

        // One level less is read to the object at the bottom.
        var shallow = new Checker(CheckOptions.Default).CheckFile(dir["level1.a"]);
        Assert.IsFalse(shallow.Diagnostics.Any(d => d.Code == "PG9001"), string.Join("\n", shallow.Diagnostics.Select(d => d.Format())));
        Assert.IsTrue(shallow.Diagnostics.Any(d => d.Code == "PG0001" && d.Object.EndsWith("(b.o)" + new string(')', ArArchive.MaxNesting - 1), StringComparison.Ordinal)),
            string.Join("\n", shallow.Diagnostics.Select(d => d.Format())));
    }
}
