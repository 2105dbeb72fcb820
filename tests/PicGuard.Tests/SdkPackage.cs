namespace PicGuard.Tests;

/// <summary>
/// Packs PicGuard.Sdk once per test run into a fresh local feed, and writes and builds temp
/// projects that restore it with an isolated NuGet package folder (so no stale cached copy is used).
/// </summary>
public static class SdkPackage
{
    public const string Version = "0.1.0";
    private static readonly Lazy<string> LazyFeed = new(Pack, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly string Root = Directory.CreateTempSubdirectory("picguard-e2e-").FullName;

    /// <summary>The directory holding the freshly packed PicGuard.Sdk and PicGuard.Templates packages.</summary>
    public static string Feed => LazyFeed.Value;

    /// <summary>The NuGet package folder every test project restores into; new for each test run.</summary>
    public static string PackagesFolder { get; } = Path.Combine(Root, "nuget-packages");

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "PicGuard.slnx")))
                    return dir.FullName;
            throw new InvalidOperationException("repository root (PicGuard.slnx) not found above the test assembly");
        }
    }

    private static string Pack()
    {
        string feed = Path.Combine(Root, "feed");
        var r = Dotnet(RepositoryRoot, "pack", Path.Combine(RepositoryRoot, "nuget", "PicGuard.Sdk.csproj"), "-c", "Release", "-o", feed);
        if (r.ExitCode != 0)
            throw new InvalidOperationException("dotnet pack of PicGuard.Sdk failed:\n" + r.All);
        if (!File.Exists(Path.Combine(feed, $"PicGuard.Sdk.{Version}.nupkg")))
            throw new InvalidOperationException($"dotnet pack wrote no PicGuard.Sdk.{Version}.nupkg to {feed}");
        var templates = Dotnet(RepositoryRoot, "pack", Path.Combine(RepositoryRoot, "templates", "PicGuard.Templates.csproj"), "-c", "Release", "-o", feed);
        if (templates.ExitCode != 0)
            throw new InvalidOperationException("dotnet pack of PicGuard.Templates failed:\n" + templates.All);
        return feed;
    }

    /// <summary>Runs the real dotnet CLI with an environment cleaned of the test host's MSBuild variables.</summary>
    public static Toolchain.Result Dotnet(string workingDirectory, params string[] args) =>
        Toolchain.Run("dotnet", args, workingDirectory, Environment());

    /// <summary><see cref="Dotnet(string, string[])"/> with more environment variables (a launcher's cache or hosts).</summary>
    public static Toolchain.Result Dotnet(string workingDirectory, IDictionary<string, string?> extraEnvironment, params string[] args)
    {
        var environment = Environment();
        foreach (var (k, v) in extraEnvironment) environment[k] = v;
        return Toolchain.Run("dotnet", args, workingDirectory, environment);
    }

    /// <summary>
    /// The environment <see cref="Dotnet"/> runs with: no node reuse, unless <paramref name="nodeHandshakeSalt"/>
    /// is given; then MSBuild nodes stay up after a build and only builds with the same salt reuse or shut them down.
    /// </summary>
    public static Dictionary<string, string?> Environment(string? nodeHandshakeSalt = null) => new()
    {
        ["NUGET_PACKAGES"] = PackagesFolder,
        ["MSBUILDDISABLENODEREUSE"] = nodeHandshakeSalt is null ? "1" : null,
        ["MSBUILDNODEHANDSHAKESALT"] = nodeHandshakeSalt,
        ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        ["MSBUILD_EXE_PATH"] = null,
        ["MSBuildExtensionsPath"] = null,
        ["MSBuildSDKsPath"] = null,
        ["MSBuildLoadMicrosoftTargetsReadOnly"] = null,
    };

    /// <summary>Writes a project directory with a NuGet.config naming the local feed (plus the default source).</summary>
    public static string WriteProject(string dir, string projectXml, string name = "blob.csproj")
    {
        WriteNuGetConfig(dir);
        string project = Path.Combine(dir, name);
        File.WriteAllText(project, projectXml);
        return project;
    }

    /// <summary>Writes a NuGet.config naming the local feed (plus the default source) into <paramref name="dir"/>.</summary>
    public static void WriteNuGetConfig(string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="picguard-local" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
    }

    internal static void DeleteRoot()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>A NoTargets project that references the freshly packed PicGuard.Sdk, with extra properties and items.</summary>
    public static string NoTargetsProject(string properties, string items) => $"""
        <Project Sdk="Microsoft.Build.NoTargets/3.7.0">
          <PropertyGroup>
            <TargetFramework>net8.0</TargetFramework>
            {properties}
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="PicGuard.Sdk" Version="{Version}" />
            {items}
          </ItemGroup>
        </Project>
        """;

    /// <summary>Occurrences of <paramref name="what"/> in a build log before MSBuild's closing summary (which repeats every error).</summary>
    public static int CountBeforeSummary(string log, string what)
    {
        int summary = log.IndexOf("\nBuild FAILED.", StringComparison.Ordinal);
        if (summary < 0) summary = log.IndexOf("\nBuild succeeded.", StringComparison.Ordinal);
        return System.Text.RegularExpressions.Regex.Matches(summary < 0 ? log : log[..summary], System.Text.RegularExpressions.Regex.Escape(what)).Count;
    }

    public static Toolchain.Result Build(string dir, params string[] extra) =>
        Dotnet(dir, ["build", "-nodeReuse:false", "-clp:NoSummary", .. extra]);

    /// <summary>A project in the standalone SDK form, <c>Sdk="PicGuard.Sdk/version"</c>: no TargetFramework, default source globs.</summary>
    public static string SdkProject(string properties, string items = "") => $"""
        <Project Sdk="PicGuard.Sdk/{Version}">
          <PropertyGroup>
            {properties}
          </PropertyGroup>
          <ItemGroup>
            {items}
          </ItemGroup>
        </Project>
        """;
}

[TestClass]
public static class SdkPackageCleanup
{
    /// <summary>Removes the run's feed and package folder.</summary>
    [AssemblyCleanup]
    public static void DeleteRunFolders() => SdkPackage.DeleteRoot();
}
