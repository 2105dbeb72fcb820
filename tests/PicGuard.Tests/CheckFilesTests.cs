using System.Text.RegularExpressions;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>Checker.CheckFiles: parallel over files and archive members, yet the same results, in the same order, as CheckFile one by one.</summary>
[TestClass]
public sealed class CheckFilesTests
{
    private static string Text(CheckResult r) =>
        $"objects={r.Objects} relocations={r.Relocations} errors={r.Errors} warnings={r.Warnings}\n" +
        string.Join("\n", r.Diagnostics.Select(d => d.Format()));

    /// <summary>Objects with findings in several members, clean ones, and every kind of bad input.</summary>
    private static List<string> Corpus(TempDir dir)
    {
        string kernel = Compile(dir.Path, "k.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        string got = Compile(dir.Path, "g.c", Sources.ExternVariable, Clang, "-O2", "-fpic", "-fvisibility=hidden");
        string clean = Compile(dir.Path, "c.c", Sources.StaticOnly, Gcc, "-O2", "-fpic", "-fvisibility=hidden");
        string large = Compile(dir.Path, "l.c", Sources.StaticOnly, Clang, "-O2", "-mcmodel=large");
        var members = new List<string>();
        for (int i = 0; i < 12; i++)
        {
            string copy = dir[$"member{i:d2}.o"];
            File.Copy((i % 4) switch { 0 => kernel, 1 => got, 2 => clean, _ => large }, copy);
            members.Add(copy);
        }
        string archive = Archive(dir.Path, "libmany.a", [.. members]);
        var bytes = File.ReadAllBytes(archive);
        File.WriteAllBytes(dir["truncated.a"], bytes.AsSpan(0, bytes.Length - 100).ToArray());
        File.WriteAllText(dir["garbage.o"], "garbage");
        File.WriteAllBytes(dir["empty.o"], []);
        Directory.CreateDirectory(dir["folder.o"]);
        return [archive, kernel, dir["missing.o"], got, dir["truncated.a"], clean, dir["garbage.o"], archive, dir["empty.o"], dir["folder.o"], large];
    }

    [TestMethod]
    public void CheckFiles_EqualsCheckFile_ForEachPath_InInputOrder()
    {
        using var dir = new TempDir();
        var paths = Corpus(dir);
        var checker = new Checker(CheckOptions.Default);
        var expected = paths.Select(p => Text(checker.CheckFile(p))).ToList();
        Assert.IsTrue(expected[0].Contains("PG0001") && expected[0].Contains("PG0002") && expected[0].Contains("PG0003"), expected[0]);
        StringAssert.Contains(expected[4], "malformed archive");

        foreach (int parallelism in new[] { 0, 1, 2, 8 })
        {
            for (int round = 0; round < 3; round++)
            {
                var results = checker.CheckFiles(paths, parallelism);
                Assert.HasCount(paths.Count, results);
                for (int i = 0; i < paths.Count; i++)
                    Assert.AreEqual(expected[i], Text(results[i]), $"{paths[i]} with parallelism {parallelism}");
            }
        }
    }

    [TestMethod]
    public void StreamingCheckFiles_HandsOutEachFileOnce_InInputOrder_OneAtATime_AsCheckFileWouldList()
    {
        using var dir = new TempDir();
        var paths = Corpus(dir);
        var checker = new Checker(CheckOptions.Default);
        var expected = paths.Select(p => Text(checker.CheckFile(p))).ToList();

        foreach (int parallelism in new[] { 0, 1, 2, 8 })
        {
            var order = new List<int>();
            int inside = 0, overlapped = 0;
            checker.CheckFiles(paths, (i, result) =>
            {
                if (Interlocked.Increment(ref inside) != 1) Interlocked.Increment(ref overlapped);
                order.Add(i);
                Assert.AreEqual(expected[i], Text(result), $"{paths[i]} with parallelism {parallelism}");
                Thread.Sleep(1); // a slow consumer: another thread would enter here now if calls could overlap
                Interlocked.Decrement(ref inside);
            }, parallelism);
            CollectionAssert.AreEqual(Enumerable.Range(0, paths.Count).ToList(), order, $"parallelism {parallelism}");
            Assert.AreEqual(0, overlapped, "the callback runs one call at a time");
        }
    }

    [TestMethod]
    public void PreparedCheckFiles_PrepareEachFileOnce_AndHandThemOutInInputOrder()
    {
        using var dir = new TempDir();
        var paths = Corpus(dir);
        var checker = new Checker(CheckOptions.Default);
        var expected = paths.Select(p => Text(checker.CheckFile(p))).ToList();

        foreach (int parallelism in new[] { 0, 1, 2, 8 })
        {
            var prepared = new int[paths.Count];
            var order = new List<int>();
            checker.CheckFiles(paths, result =>
            {
                string text = Text(result);
                int index = expected.IndexOf(text);
                Assert.IsGreaterThanOrEqualTo(0, index, $"prepare got a result no file has:\n{text}");
                return text;
            }, (i, text) =>
            {
                order.Add(i);
                prepared[i]++;
                Assert.AreEqual(expected[i], text, $"{paths[i]} with parallelism {parallelism}");
            }, parallelism);
            CollectionAssert.AreEqual(Enumerable.Range(0, paths.Count).ToList(), order, $"parallelism {parallelism}");
            Assert.IsTrue(prepared.All(n => n == 1), $"each file prepared and handed out once, parallelism {parallelism}");
        }
    }

    [TestMethod]
    public void FilesOverTheMappingSize_AreMapped_CheckedAlike_AndUnmappedAfter_ArchivesReadByMember()
    {
        using var dir = new TempDir();
        string kernel = Compile(dir.Path, "k.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        string big = Compile(dir.Path, "big.c", $"char big_table[{PicGuard.Elf.FileContents.MapFrom + 4096}] = {{ 1 }};\n", Gcc, "-O2", "-fpic");
        string small = Archive(dir.Path, "small.a", kernel);
        string large = Archive(dir.Path, "large.a", kernel, big);
        Assert.IsLessThan(PicGuard.Elf.FileContents.MapFrom, new FileInfo(small).Length);
        Assert.IsGreaterThan(PicGuard.Elf.FileContents.MapFrom, new FileInfo(large).Length);
        var checker = new Checker(CheckOptions.Default);

        string Text(CheckResult result, string archive) => string.Join("\n", result.Diagnostics.Select(d => d.Format().Replace(archive, "ARCHIVE")));
        string Findings(string archive) => Text(checker.CheckFile(archive), archive);
        string fromSmall = Findings(small);
        StringAssert.Contains(fromSmall, "PG0001");
        Assert.AreEqual(fromSmall, Findings(large), "a mapped file is checked as a read one");
        // CheckFiles does not map or read an archive whole: it reads each member into a buffer (MemberBuffer).
        var results = checker.CheckFiles([large, small, large], maxParallelism: 2);
        Assert.AreEqual(fromSmall, Text(results[0], large), "an archive's members, read one by one, are checked as a mapped archive's");
        Assert.AreEqual(fromSmall, Text(results[1], small));
        Assert.AreEqual(fromSmall, Text(results[2], large));

        string maps = File.ReadAllText("/proc/self/maps");
        Assert.DoesNotContain(large, maps, "the mapped archive is unmapped once checked");
    }

    [TestMethod]
    public void ArchiveMembers_AreReadByPosition_IntoAlignedReusedMemory()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "data.bin");
        var bytes = new byte[(3 << 20) + 12345];
        new Random(12).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        using var file = File.OpenHandle(path);

        var member = new PicGuard.Elf.FileRange(file, 1000, bytes.Length - 2000).Unread;
        Assert.IsFalse(PicGuard.Elf.MemberBuffer.IsUnread(bytes.AsMemory(8, 100), out _, out _), "bytes in memory are checked where they are");
        Assert.IsTrue(PicGuard.Elf.MemberBuffer.IsUnread(member.Slice(8000, 100), out var range, out int start));
        Assert.AreEqual(8000, start);

        var buffer = new PicGuard.Elf.MemberBuffer();
        try
        {
            long previous = 0;
            foreach (var (at, length) in new[] { (8000, 100), (60, bytes.Length - 2060), (4096 * 5 + 1, 777) })
            {
                var read = buffer.Read(range, at, length);
                CollectionAssert.AreEqual(bytes[(1000 + at)..(1000 + at + length)], read.ToArray(), $"{length} bytes from {at}");
                unsafe
                {
                    using var pin = read.Pin();
                    Assert.AreEqual(0L, (long)pin.Pointer % (2 << 20), "the buffer is aligned for transparent huge pages");
                    if (length == 777) Assert.AreEqual(previous, (long)pin.Pointer, "a smaller member reuses the buffer");
                    previous = (long)pin.Pointer;
                }
            }
        }
        finally
        {
            buffer.Release();
        }
        // Anything else that asks for the member's bytes gets them read.
        CollectionAssert.AreEqual(bytes[1000..^1000], member.ToArray());
    }

    [TestMethod]
    public void CheckFiles_UnderADiagnosticCap_StillEqualsCheckFile()
    {
        using var dir = new TempDir();
        var paths = Corpus(dir);
        var checker = new Checker(CheckOptions.Default with { MaxDiagnosticsPerFile = 2 });
        var expected = paths.Select(p => Text(checker.CheckFile(p))).ToList();
        var results = checker.CheckFiles(paths, 4);
        for (int i = 0; i < paths.Count; i++)
            Assert.AreEqual(expected[i], Text(results[i]), paths[i]);
    }

    [TestMethod]
    public void RelocationCount_EqualsReadelf_ForAnArchive()
    {
        using var dir = new TempDir();
        string archive = Corpus(dir)[0];

        long counted = new Checker(CheckOptions.Default).CheckFiles([archive]).Single().Relocations;

        long readelf = Regex.Matches(ReadElf("-rW", archive), @"contains (\d+) entr(y|ies)")
            .Sum(m => long.Parse(m.Groups[1].Value));
        Assert.IsGreaterThan(0L, readelf);
        Assert.AreEqual(readelf, counted);
    }

    [TestMethod]
    public void Inputs_AreUnmapped_AfterTheCheck()
    {
        using var dir = new TempDir();
        var paths = Corpus(dir);
        var checker = new Checker(CheckOptions.Default);

        checker.CheckFiles(paths);
        checker.CheckFile(paths[0]);

        string maps = File.ReadAllText("/proc/self/maps");
        foreach (var p in paths)
            Assert.DoesNotContain(p, maps, $"{p} is still mapped");
    }

    [TestMethod]
    public void EmptyList_GivesNoResults_AndBadArgumentsThrow()
    {
        var checker = new Checker(CheckOptions.Default);
        Assert.IsEmpty(checker.CheckFiles([]));
        Assert.ThrowsExactly<ArgumentNullException>(() => checker.CheckFiles(null!));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => checker.CheckFiles(["a.o"], -1));
    }

    /// <summary>
    /// What a caller that shows N findings in order, then the first of each new rule (MSBuild's PicMaxLoggedDiagnostics),
    /// takes from a run with a ListingRoom of N is what it takes from a run without one, at any parallelism; every finding is
    /// still counted; and the findings past the room are counted as unshown, not listed.
    /// </summary>
    [TestMethod]
    public void ListingRoom_ListsWhatAnInOrderCallerShows_AndCountsTheRest()
    {
        using var dir = new TempDir();
        var paths = Corpus(dir);
        for (int i = 0; i < 6; i++)
            paths.Insert(1, Compile(dir.Path, $"k{i}.c", Sources.GlobalTable.Replace("table", $"table{i}"), Gcc, "-O2", "-mcmodel=kernel", "-fno-pic"));
        paths.Add(Compile(dir.Path, "late.c", Sources.ExternVariable, Gcc, "-O2", "-fpic", "-fvisibility=hidden")); // PG0002 again, last
        var checker = new Checker(CheckOptions.Default);
        var all = checker.CheckFiles(paths);
        int listedWithout = all.Sum(r => r.Diagnostics.Count);

        foreach (int limit in new[] { 0, 3, 10 })
        {
            var shown = Shown(all, limit);
            Assert.IsGreaterThan(limit, shown.Count, "some findings are shown past the limit, one of each new rule");
            foreach (int parallelism in new[] { 1, 2, 8 })
            {
                var results = new CheckResult[paths.Count];
                checker.CheckFiles(paths, r => r, (i, r) => results[i] = r, parallelism, room: new ListingRoom(limit));
                CollectionAssert.AreEqual(shown, Shown(results, limit), $"limit {limit}, parallelism {parallelism}");
                for (int i = 0; i < paths.Count; i++)
                {
                    Assert.AreEqual(all[i].Errors, results[i].Errors, $"{paths[i]}: every error is counted");
                    Assert.AreEqual(all[i].Warnings, results[i].Warnings, $"{paths[i]}: every warning is counted");
                }
                int listed = results.Sum(r => r.Diagnostics.Count);
                Assert.IsLessThan(listedWithout, listed, $"limit {limit}, parallelism {parallelism}: findings past the room are not listed");
                Assert.IsGreaterThan(0, results.Sum(r => r.Unshown), "they are counted as unshown");
            }
        }
    }

    /// <summary>The findings an in-order caller shows: the first <paramref name="limit"/>, then the first of each rule code not shown yet.</summary>
    private static List<string> Shown(IEnumerable<CheckResult> results, int limit)
    {
        var codes = new HashSet<string>();
        var shown = new List<string>();
        foreach (var d in results.SelectMany(r => r.Diagnostics))
            if (codes.Add(d.Code) | shown.Count < limit)
                shown.Add(d.Format());
        return shown;
    }
}
