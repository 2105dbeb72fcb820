using System.Text.RegularExpressions;
using PicGuard.Rules;

namespace PicGuard.Tests;

/// <summary>
/// What a new user copies is what the tests build: every project in README.md's "Use it" section, the
/// shipped sample, and the project `dotnet new picguard-blob` generates, each with the real `dotnet build`
/// of the freshly packed packages.
/// </summary>
[TestClass]
public sealed class ReadmeExampleTests
{
    private static readonly string[] SampleSources = ["entry.S", "purgatory.c", "digest.c", "purgatory.h"];

    /// <summary>The ```xml blocks of README.md's "Use it" section that are whole projects.</summary>
    public static IEnumerable<object[]> ReadmeProjects()
    {
        string readme = File.ReadAllText(Path.Combine(SdkPackage.RepositoryRoot, "README.md"));
        int start = readme.IndexOf("\n## Use it", StringComparison.Ordinal);
        int end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        string section = readme[start..end];
        int n = 0;
        foreach (Match m in Regex.Matches(section, "```xml\n(.*?)```", RegexOptions.Singleline))
            if (m.Groups[1].Value.TrimStart().StartsWith("<Project", StringComparison.Ordinal))
                yield return [++n, m.Groups[1].Value];
    }

    /// <summary>Copies samples/purgatory's sources into <paramref name="dir"/>.</summary>
    private static void CopySampleSources(string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (var name in SampleSources)
            File.Copy(Path.Combine(SdkPackage.RepositoryRoot, "samples", "purgatory", name), Path.Combine(dir, name));
    }

    [TestMethod]
    public void ReadmeHasTheThreeProjectForms()
    {
        var projects = ReadmeProjects().Select(p => (string)p[1]).ToList();
        Assert.HasCount(3, projects, "README's Use it section shows the SDK form, sources in another tree and the PackageReference form");
        foreach (var project in projects)
            StringAssert.Contains(project, SdkPackage.Version, "README examples name the version being packed");
    }

    [TestMethod]
    [DynamicData(nameof(ReadmeProjects))]
    public void ReadmeProject_Builds_AndItsBlobPasses(int index, string projectXml)
    {
        using var root = new TempDir();
        string project = Path.Combine(root.Path, "purgatory");
        // An example whose sources lie in ../purgatory/ gets them there; the others in the project folder.
        if (projectXml.Contains("../purgatory/", StringComparison.Ordinal))
        {
            CopySampleSources(Path.Combine(root.Path, "purgatory"));
            project = Path.Combine(root.Path, "project");
        }
        else
        {
            CopySampleSources(project);
        }
        SdkPackage.WriteProject(project, projectXml, "purgatory.csproj");

        var r = SdkPackage.Build(project, "-v:n");

        Assert.AreEqual(0, r.ExitCode, $"README example {index} does not build:\n{projectXml}\n{r.All}");
        Assert.AreEqual(3, SdkPackage.CountBeforeSummary(r.All, "PicGuard: compiled "), r.All);
        Assert.DoesNotContain("warning PG", r.All);
        string blob = Directory.GetFiles(Path.Combine(project, "bin"), "purgatory.ro", SearchOption.AllDirectories).Single();
        Assert.IsEmpty(new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(blob).Diagnostics);
    }

    [TestMethod]
    public void Sample_BuildsAsShipped()
    {
        using var dir = new TempDir();
        CopySampleSources(dir.Path);
        string shipped = File.ReadAllText(Path.Combine(SdkPackage.RepositoryRoot, "samples", "purgatory", "purgatory.csproj"));
        StringAssert.Contains(shipped, $"PicGuard.Sdk/{SdkPackage.Version}");
        SdkPackage.WriteProject(dir.Path, shipped, "purgatory.csproj");

        var r = SdkPackage.Build(dir.Path, "-v:n");

        Assert.AreEqual(0, r.ExitCode, r.All);
        Assert.IsTrue(File.Exists(dir["bin/Debug/purgatory.ro"]), r.All);
    }

    [TestMethod]
    public void DotnetNewPicguardBlob_BuildsAndPasses_AsGenerated()
    {
        using var dir = new TempDir();
        string hive = dir["template-hive"];
        string template = Path.Combine(SdkPackage.Feed, $"PicGuard.Templates.{SdkPackage.Version}.nupkg");
        var install = SdkPackage.Dotnet(dir.Path, "new", "install", template, "--debug:custom-hive", hive);
        Assert.AreEqual(0, install.ExitCode, install.All);

        var created = SdkPackage.Dotnet(dir.Path, "new", "picguard-blob", "-n", "MyBlob", "-o", "MyBlob", "--debug:custom-hive", hive);
        Assert.AreEqual(0, created.ExitCode, created.All);
        string project = dir["MyBlob"];
        StringAssert.Contains(File.ReadAllText(Path.Combine(project, "MyBlob.csproj")), $"PicGuard.Sdk/{SdkPackage.Version}", "the template names the SDK version it ships with");
        SdkPackage.WriteNuGetConfig(project);

        var r = SdkPackage.Build(project, "-v:n");

        Assert.AreEqual(0, r.ExitCode, r.All);
        Assert.DoesNotContain(": warning ", r.All);
        string blob = Path.Combine(project, "bin", "Debug", "MyBlob.ro");
        Assert.IsTrue(File.Exists(blob), r.All);
        Assert.IsEmpty(new Checker(new CheckOptions(Profiles.KexecPurgatory)).CheckFile(blob).Diagnostics);
    }
}
