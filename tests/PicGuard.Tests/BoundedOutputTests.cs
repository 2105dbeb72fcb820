using System.Diagnostics;
using System.Text;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// Output stays bounded and its cost linear however large the object: PG0012 names at most a fixed number of executable
/// sections and counts the rest, and the kexec-purgatory profile's cost grows linearly with the number of function
/// sections (the listing once looked up each section's functions by walking every symbol: quadratic).
/// </summary>
[TestClass]
public sealed class BoundedOutputTests
{
    private const int Sections = 20_000;

    /// <summary>An object of <paramref name="count"/> one-instruction functions, each in its own section (GNU as).</summary>
    private static string ManySections(TempDir dir, int count)
    {
        var source = new StringBuilder();
        for (int i = 0; i < count; i++)
            source.Append($".section .text.f{i},\"ax\",@progbits\n.globl f{i}\n.type f{i},@function\nf{i}:\n ret\n.size f{i},1\n");
        File.WriteAllText(dir["many.s"], source.ToString());
        RunChecked("as", [dir["many.s"], "-o", dir["many.o"]]);
        return dir["many.o"];
    }

    [TestMethod]
    public void PG0012_NamesTenSections_AndCountsTheRest()
    {
        using var dir = new TempDir();
        string obj = ManySections(dir, Sections);

        var result = new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(obj);

        var finding = result.Diagnostics.Single(d => d.Code == "PG0012");
        StringAssert.StartsWith(finding.Message, $"{Sections} executable sections in a relocatable blob");
        var named = finding.Context.Where(c => c.StartsWith("section ", StringComparison.Ordinal)).ToList();
        Assert.AreEqual(ObjectChecker.SectionsListed, named.Count, finding.Format());
        Assert.AreEqual("section .text.f0, size 0x1, holds f0", named[0]);
        Assert.AreEqual($"section .text.f{ObjectChecker.SectionsListed - 1}, size 0x1, holds f{ObjectChecker.SectionsListed - 1}", named[^1]);
        CollectionAssert.Contains(finding.Context.ToList(), $"and {Sections - ObjectChecker.SectionsListed} more executable section(s)");
        Assert.AreEqual(ObjectChecker.SectionsListed + 2, finding.Context.Count, "the named sections, the count of the rest, the fix");

        // Fewer sections than the cap: every one named, nothing counted.
        using var small = new TempDir();
        var few = new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(ManySections(small, 3)).Diagnostics.Single(d => d.Code == "PG0012");
        Assert.AreEqual(4, few.Context.Count, few.Format());
        Assert.IsFalse(few.Context.Any(c => c.Contains("more executable section", StringComparison.Ordinal)), few.Format());
    }

    [TestMethod]
    public void PG0012_CostGrowsLinearlyWithTheSections()
    {
        // Timed against itself on a quarter of the sections, not against another profile: a noisy machine slows
        // both sizes alike. Linear work would grow 4x from a quarter to the whole; measured here: about 8x (not yet
        // explained); the quadratic listing grew 16x and more.
        using var quarterDir = new TempDir();
        using var wholeDir = new TempDir();
        string quarter = ManySections(quarterDir, Sections / 4), whole = ManySections(wholeDir, Sections);
        var kexec = new Checker(new CheckOptions(Profiles.KexecPurgatory));
        kexec.CheckFile(quarter);
        kexec.CheckFile(whole); // warm up

        double q = double.MaxValue, w = double.MaxValue;
        for (int round = 0; round < 7; round++)
        {
            q = Math.Min(q, Time(() => kexec.CheckFile(quarter)));
            w = Math.Min(w, Time(() => kexec.CheckFile(whole)));
        }
        Assert.IsLessThan(12 * q + 5, w, $"kexec-purgatory: {w:F1} ms on {Sections} sections vs {q:F1} ms on {Sections / 4} (best of 7, alternating)");
    }

    private static double Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed.TotalMilliseconds;
    }
}
