using PicGuard.Cli;
using PicGuard.Diagnostics;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>picguard check: same codes and canonical lines as the task; exit 0 clean, 1 findings, 2 usage.</summary>
[TestClass]
public sealed class CliTests
{
    /// <summary>Runs the picguard command in process; every test class that drives the CLI calls this one.</summary>
    internal static (int Exit, string Out, string Err) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = Program.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// The picguard process itself, which writes to its descriptors without System.Console: a listing of megabytes is
    /// whole on a pipe; a reader that leaves after the first bytes (<c>| head -c 200</c>) ends the run quietly with the
    /// usual exit code; both streams sent to one file follow each other there.
    /// </summary>
    [TestMethod]
    public void TheProcess_WritesWholeListings_AndEndsQuietlyWhenTheReaderLeaves()
    {
        using var dir = new TempDir();
        // 4,000 absolute addresses of as many symbols in code: as many errors (PG0001), none collapsing, megabytes of listing.
        File.WriteAllText(dir["pointers.s"], ".text\n" + string.Concat(Enumerable.Range(0, 4000).Select(i => $"movabs $sym{i}, %rax\n")));
        RunChecked("as", dir["pointers.s"], "-o", dir["pointers.o"]);
        string picguard = Path.Combine(AppContext.BaseDirectory, "picguard");

        var whole = Run(picguard, ["check", "--max-diagnostics", "0", dir["pointers.o"]]);
        Assert.AreEqual(Program.ExitFindings, whole.ExitCode, whole.StdErr);
        Assert.AreEqual(Cli("check", "--max-diagnostics", "0", dir["pointers.o"]).Out, whole.StdOut, "the process writes what the CLI writes in process");
        Assert.IsGreaterThan(1_000_000, whole.StdOut.Length);
        StringAssert.Contains(whole.StdErr, "4000 error(s)");

        string pipeline = $"'{picguard}' check --max-diagnostics 0 '{dir["pointers.o"]}' | head -c 200 > /dev/null; exit ${{PIPESTATUS[0]}}";
        var cut = Run("bash", ["-c", pipeline]);
        Assert.AreEqual(Program.ExitFindings, cut.ExitCode, cut.StdErr);
        Assert.IsFalse(cut.StdErr.Contains("xception", StringComparison.Ordinal), cut.StdErr);
        StringAssert.Contains(cut.StdErr, "4000 error(s)", "the summary still reaches standard error");

        // Either stream closed: the run goes on without it.
        foreach (var closed in new[] { ">&-", "2>&-" })
        {
            var without = Run("bash", ["-c", $"'{picguard}' check '{dir["pointers.o"]}' {closed}"]);
            Assert.AreEqual(Program.ExitFindings, without.ExitCode, closed + ": " + without.All);
        }

        // Both streams to one file: each write lands after the last (write(2)), nothing overwrites anything.
        var together = Run("bash", ["-c", $"'{picguard}' check '{dir["missing.o"]}' '{dir["pointers.o"]}' > '{dir["both.txt"]}' 2>&1"]);
        Assert.AreEqual(Program.ExitFindings, together.ExitCode, together.All);
        string both = File.ReadAllText(dir["both.txt"]);
        StringAssert.StartsWith(both, $"{dir["missing.o"]}: error PG9003: ");
        StringAssert.Contains(both, $"{dir["pointers.o"]}: error PG0001: ");
        StringAssert.EndsWith(both, "picguard: 2 file(s), 1 object(s), 4000 relocation(s): 4001 error(s), 0 warning(s), 3900 omitted (over --max-diagnostics)\n");
    }

    [TestMethod]
    public void Findings_PrintCanonicalLines_AndExit1()
    {
        using var dir = new TempDir();
        string kernel = Compile(dir.Path, "k.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        string got = Compile(dir.Path, "g.c", Sources.ExternVariable, Clang, "-O2", "-fpic", "-fvisibility=hidden");
        string large = Compile(dir.Path, "l.c", Sources.StaticOnly, Clang, "-O2", "-mcmodel=large");
        File.WriteAllText(dir["garbage.o"], "garbage");

        var (exit, output, err) = Cli("check", kernel, got, large, dir["garbage.o"]);

        Assert.AreEqual(Program.ExitFindings, exit);
        StringAssert.Contains(output, $"{kernel}: error PG0001: ");
        StringAssert.Contains(output, $"{got}: error PG0002: ");
        StringAssert.Contains(output, $"{large}: error PG0003: ");
        StringAssert.Contains(output, $"{dir["garbage.o"]}: error PG9001: ");
        StringAssert.Contains(output, ">>> referenced by table_address+0x");
        StringAssert.Contains(err, "4 file(s)");
    }

    [TestMethod]
    public void CleanObject_Exits0()
    {
        using var dir = new TempDir();
        string clean = Compile(dir.Path, "c.c", Sources.StaticOnly, Gcc, "-O2", "-mcmodel=small", "-fpic", "-fvisibility=hidden");

        var (exit, output, err) = Cli("check", clean, "--profile", "generic");

        Assert.AreEqual(Program.ExitClean, exit, output + err);
        Assert.AreEqual("", output);
        StringAssert.Contains(err, "0 error(s)");
    }

    /// <summary>
    /// The root command is a plain Command with its own --help and --version (RootCommand's cost a ResourceManager at
    /// every start): they keep System.CommandLine's names, aliases, descriptions, help layout and errors.
    /// </summary>
    [TestMethod]
    public void HelpAndVersion_BehaveAsSystemCommandLines()
    {
        var help = Cli("--help");
        Assert.AreEqual(Program.ExitClean, help.Exit, help.Err);
        StringAssert.Contains(help.Out, "Usage:\n  picguard [command] [options]");
        StringAssert.Matches(help.Out, new System.Text.RegularExpressions.Regex(@"\n  -\?, -h, --help +Show help and usage information\n  --version +Show version information\n"));
        StringAssert.Contains(help.Out, "check <files>");
        foreach (var alias in new[] { "-h", "-?", "/h", "/?" })
            Assert.AreEqual(help.Out, Cli(alias).Out, alias);

        // A subcommand's help lists its own options, then the root's recursive --help (not --version).
        var checkHelp = Cli("check", "x.o", "--help");
        Assert.AreEqual(Program.ExitClean, checkHelp.Exit, checkHelp.Err);
        StringAssert.Contains(checkHelp.Out, "picguard check <files>... [options]");
        StringAssert.Matches(checkHelp.Out, new System.Text.RegularExpressions.Regex(@"--allow-undefined <GLOB> +symbol name or glob[^\n]*\n  -\?, -h, --help +Show help and usage information\n"));
        Assert.DoesNotContain("--version", checkHelp.Out);

        var version = Cli("--version");
        Assert.AreEqual(Program.ExitClean, version.Exit, version.Err);
        string expected = typeof(Program).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;
        Assert.AreEqual(expected + Environment.NewLine, version.Out);

        var combined = Cli("--version", "check");
        Assert.AreEqual(Program.ExitUsage, combined.Exit);
        StringAssert.Contains(combined.Err, "picguard: --version option cannot be combined with other arguments.");

        // Under check, --version is not an option: it is a file name, as before.
        var underCheck = Cli("check", "--version");
        Assert.AreEqual(Program.ExitFindings, underCheck.Exit, underCheck.Err);
        StringAssert.Contains(underCheck.Out, "--version: error PG9003: ");

        // No directives: a leading [name] is refused, not skipped.
        var directive = Cli("[suggest]", "check", "x.o");
        Assert.AreEqual(Program.ExitUsage, directive.Exit);
        StringAssert.Contains(directive.Err, "picguard: Unrecognized command or argument '[suggest]'.");
    }

    [TestMethod]
    public void NoFiles_IsUsageError()
    {
        var (exit, _, err) = Cli("check");
        Assert.AreEqual(Program.ExitUsage, exit);
        StringAssert.Contains(err, "usage: picguard check");
    }

    [TestMethod]
    public void UnknownProfile_IsUsageError_NamingTheAcceptedValues()
    {
        using var dir = new TempDir();
        string clean = Compile(dir.Path, "c.c", Sources.StaticOnly, Gcc, "-fpic");
        var (exit, _, err) = Cli("check", clean, "--profile", "kexec-purgatry");
        Assert.AreEqual(Program.ExitUsage, exit);
        StringAssert.Contains(err, "PG9004");
        StringAssert.Contains(err, "use one of: generic");
    }

    [TestMethod]
    [DataRow("--format", "xml", "--format is 'xml'; use one of: text, sarif")]
    [DataRow("--load-address", "somewhere", "--load-address 'somewhere' is not an address such as 0x100000, a range such as 0x100000-0x7fffffff, or 'any'")]
    [DataRow("--load-address", "0x2000-0x1000", "--load-address '0x2000-0x1000' is an empty range")]
    [DataRow("--load-address", "0x2000-0x1000", "use an address such as 0x100000")]
    [DataRow("--suppress", "__phys_addr", "--suppress '__phys_addr' does not start with a PicGuard code")]
    [DataRow("--suppress", "__phys_addr", "CODE[:SYMBOL][@SECTION]")]
    [DataRow("--max-diagnostics", "-1", "--max-diagnostics is '-1', which is not a whole number; use N >= 0 (0 = no cap)")]
    [DataRow("--max-diagnostics", "ten", "--max-diagnostics is 'ten'")]
    [DataRow("--restricted-section", " ", "--restricted-section is empty; use a section name or glob")]
    [DataRow("--allowed-target-section", "", "--allowed-target-section is empty; use a section name or glob")]
    [DataRow("--allow-undefined", "", "--allow-undefined is empty; use a symbol name or glob")]
    public void BadOptionValue_IsUsageError_NamingTheOptionAndAcceptedForms(string option, string value, string expected)
    {
        using var dir = new TempDir();
        string clean = Compile(dir.Path, "c.c", Sources.StaticOnly, Gcc, "-fpic");

        var (exit, output, err) = Cli("check", clean, option, value);

        Assert.AreEqual(Program.ExitUsage, exit, err);
        Assert.AreEqual("", output, "nothing is checked when an option is wrong");
        StringAssert.Contains(err, "picguard: error PG9004: " + option + " ");
        StringAssert.Contains(err, expected);
        Assert.DoesNotContain("file(s)", err, "no check ran");
    }

    [TestMethod]
    public void SeveralBadOptions_AreAllReported()
    {
        var (exit, _, err) = Cli("check", "x.o", "--format", "xml", "--max-diagnostics", "many", "--suppress", "nope");
        Assert.AreEqual(Program.ExitUsage, exit);
        StringAssert.Contains(err, "--format");
        StringAssert.Contains(err, "--max-diagnostics");
        StringAssert.Contains(err, "--suppress");
    }

    [TestMethod]
    public void OutputThatIsADirectory_IsUsageError()
    {
        using var dir = new TempDir();
        var (exit, _, err) = Cli("check", "x.o", "--format", "sarif", "--output", dir.Path);
        Assert.AreEqual(Program.ExitUsage, exit);
        StringAssert.Contains(err, "PG9004: --output");
    }

    [TestMethod]
    public void OutputInAMissingDirectory_IsAClearError()
    {
        using var dir = new TempDir();
        string clean = Compile(dir.Path, "c.c", Sources.StaticOnly, Gcc, "-fpic");
        var (exit, _, err) = Cli("check", clean, "--format", "sarif", "--output", dir["no/such/dir/out.sarif"]);
        Assert.AreEqual(Program.ExitUsage, exit);
        StringAssert.Contains(err, "PG9004: --output");
        StringAssert.Contains(err, "cannot be written");
    }

    [TestMethod]
    public void Options_ReachTheCheckerOptions()
    {
        var errors = new List<string>();
        var options = Program.ParseCheckOptions(
        [
            "x.o", "--profile", "generic",
            "--restricted-section", ".pi.text*", "--restricted-section", ".head.text",
            "--allowed-target-section", ".pi.*",
            "--load-address", "0x100000-0x7fffffff",
            "--suppress", "pg0004:__phys_addr@.pi.text", "--suppress", "PG0001",
            "--max-diagnostics", "0",
            "--check-undefined", "--allow-undefined", "__efi_*", "--allow-undefined", "memcpy",
        ], errors);

        Assert.IsNotNull(options, string.Join("\n", errors));
        CollectionAssert.AreEqual(new[] { ".pi.text*", ".head.text" }, options.RestrictedSections.ToArray());
        CollectionAssert.AreEqual(new[] { ".pi.*" }, options.AllowedTargetSections.ToArray());
        Assert.AreEqual(new LoadAddress(0x100000, 0x7fffffff), options.LoadAddress);
        Assert.AreEqual(2, options.Suppressions.Count);
        Assert.AreEqual(new Suppression("PG0004", "__phys_addr", ".pi.text"), options.Suppressions[0]);
        Assert.AreEqual(new Suppression("PG0001"), options.Suppressions[1]);
        Assert.AreEqual(0, options.MaxDiagnosticsPerFile);
        Assert.IsTrue(options.CheckUndefinedSymbols);
        CollectionAssert.AreEqual(new[] { "__efi_*", "memcpy" }, options.AllowedUndefined!.ToArray());

        var defaults = Program.ParseCheckOptions(["x.o"], errors)!;
        Assert.AreEqual(CheckOptions.Default.MaxDiagnosticsPerFile, defaults.MaxDiagnosticsPerFile);
        Assert.IsNull(defaults.LoadAddress);
        Assert.IsNull(defaults.CheckUndefinedSymbols, "without --check-undefined the profile decides");
        Assert.AreEqual(0, defaults.Suppressions.Count + defaults.RestrictedSections.Count);
        Assert.AreEqual(LoadAddress.Anywhere, Program.ParseCheckOptions(["x.o", "--load-address", "any"], errors)!.LoadAddress);
    }

    /// <summary>
    /// <c>check FILE...</c> with at most its three flags is read without System.CommandLine (Program.CheckArguments.Plain):
    /// what it reads is what System.CommandLine reads on picguard's command line, and everything else is left to it,
    /// every option and alias <c>check</c> takes included, so an option added later cannot be read as a file.
    /// </summary>
    [TestMethod]
    public void PlainCheckWords_AreReadAsSystemCommandLineReadsThem()
    {
        string[][] plain =
        [
            ["check", "a.o"],
            ["check", "/abs/a.o", "b.o", "dir with space/c.o", "check", "[x]", "", "x-y.o"],
            ["check", "--summary-only", "a.o"],
            ["check", "a.o", "-v", "--check-undefined", "b.a"],
            ["check", "a.o", "--verbose"],
            ["check", "--summary-only", "truthy.o"],
        ];
        foreach (var args in plain)
        {
            var fast = Program.CheckArguments.Plain(args);
            Assert.IsNotNull(fast, string.Join(" ", args));
            var errors = new List<string>();
            var full = Program.ParseCheckArguments(args[1..], errors);
            Assert.IsNotNull(full, string.Join("\n", errors));
            CollectionAssert.AreEqual(full.Files, fast.Files, string.Join(" ", args));
            Assert.AreEqual(Describe(full), Describe(fast), string.Join(" ", args));
        }

        string[][] left =
        [
            ["check"], ["check", "--profile", "kexec-purgatory", "a.o"], ["check", "a.o", "--max-diagnostics", "0"], ["check", "@words.rsp"],
            ["check", "--summary-only", "true", "a.o"], ["check", "a.o", "--verbose", "False"], ["check", "-v", "-v", "a.o"],
            ["check", "--", "a.o"], ["check", "a.o", "/?"], ["check", "/h"], ["check", "-"], ["dump-relocs", "a.o"], ["a.o"], [],
        ];
        foreach (var args in left)
            Assert.IsNull(Program.CheckArguments.Plain(args), string.Join(" ", args));

        string[] flags = ["--summary-only", "--verbose", "-v", "--check-undefined"];
        var names = Program.CheckOptionNames().ToList();
        Assert.IsGreaterThan(15, names.Count, string.Join(" ", names));
        foreach (var name in names)
        {
            var read = Program.CheckArguments.Plain(["check", name, "a.o"]);
            if (flags.Contains(name)) Assert.IsNotNull(read, name);
            else Assert.IsNull(read, $"{name} is an option of check, not a file");
        }

        static string Describe(Program.CheckArguments a) =>
            $"{a.Profile} {a.SummaryOnly} {a.Format} {a.Output} {a.Verbose} {a.LoadAddress} {a.MaxDiagnostics} {a.CheckUndefined} "
            + string.Join(",", a.RestrictedSections) + "|" + string.Join(",", a.AllowedTargetSections) + "|" + string.Join(",", a.Suppress) + "|" + string.Join(",", a.AllowUndefined);
    }

    /// <summary>The plain form prints, byte for byte, what the same check prints when System.CommandLine reads it.</summary>
    [TestMethod]
    public void PlainCheck_PrintsWhatTheCommandLinePrints()
    {
        using var dir = new TempDir();
        string kernel = Compile(dir.Path, "k.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        string clean = Compile(dir.Path, "c.c", Sources.StaticOnly, Gcc, "-fpic");
        foreach (var flags in new[] { Array.Empty<string>(), ["--summary-only"], ["-v", "--check-undefined"] })
        {
            string[] args = ["check", kernel, clean, dir["missing.o"], .. flags];
            Assert.IsNotNull(Program.CheckArguments.Plain(args));
            var fast = Cli(args);
            var full = Cli([.. args, "--profile", "generic"]); // a value option: System.CommandLine reads it
            Assert.AreEqual(Program.ExitFindings, fast.Exit, fast.Err);
            Assert.AreEqual(full, fast, string.Join(" ", flags));
        }
        StringAssert.Contains(Cli("check", kernel).Out, $"{kernel}: error PG0001: ");
    }

    [TestMethod]
    public void TextOutput_CanGoToAFile()
    {
        using var dir = new TempDir();
        string kernel = Compile(dir.Path, "k.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");

        var (exit, output, err) = Cli("check", kernel, "--output", dir["report.txt"]);

        Assert.AreEqual(Program.ExitFindings, exit, err);
        Assert.AreEqual("", output);
        StringAssert.Contains(File.ReadAllText(dir["report.txt"]), $"{kernel}: error PG0001: ");
        StringAssert.Contains(err, "error(s)");
    }

    [TestMethod]
    public void Summary_CountsSuppressedAndOmitted_OnlyWhenThereAreSome()
    {
        var result = new CheckResult { Objects = 2 };
        Assert.DoesNotContain("suppressed", Program.Summary(1, result));
        Assert.DoesNotContain("omitted", Program.Summary(1, result));

        var d = new Diagnostic(RuleCatalog.AbsoluteInCode, Severity.Error, "a.o", "a.o", "absolute relocation R_X86_64_64 against 'x'", []);
        result.Suppressed.Add((d, new Suppression("PG0001", "x", Justification: "relocated by the loader")));
        result.Suppressed.Add((d, new Suppression("PG0001", "x", ".text")));
        result.Omitted = 7;
        string summary = Program.Summary(1, result);
        StringAssert.Contains(summary, "0 error(s), 0 warning(s), 2 suppressed, 7 omitted");

        Assert.AreEqual("a.o: note: suppressed PG0001: absolute relocation R_X86_64_64 against 'x' (relocated by the loader)",
            Program.SuppressedLine(d, result.Suppressed[0].By));
        Assert.AreEqual("a.o: note: suppressed PG0001: absolute relocation R_X86_64_64 against 'x' (--suppress PG0001:x@.text)",
            Program.SuppressedLine(d, result.Suppressed[1].By));
    }

    /// <summary>
    /// A file that cannot be read or written is said in words, the same whether the runtime's messages are there (this
    /// test host) or only their keys (the installed tool, built with UseSystemResourceKeys: `ToolPackageTests` runs it).
    /// </summary>
    [TestMethod]
    public void FileErrors_SayWhatWentWrong_FromTheExceptionNotItsResourceKey()
    {
        Assert.AreEqual("permission denied", PicGuard.Elf.FileErrors.Describe(new UnauthorizedAccessException("UnauthorizedAccess_IODenied_Path, /tmp/x.o")));
        Assert.AreEqual("permission denied", PicGuard.Elf.FileErrors.Describe(new UnauthorizedAccessException("Access to the path '/tmp/x.o' is denied.")));
        Assert.AreEqual("no such file or directory", PicGuard.Elf.FileErrors.Describe(new DirectoryNotFoundException("IO_PathNotFound_Path, /d/.x.tmp")));
        Assert.AreEqual("the file is locked by another process", PicGuard.Elf.FileErrors.Describe(new IOException("IO_SharingViolation_File, /tmp/x.o", 11)));
        Assert.AreEqual("IOException (error 28)", PicGuard.Elf.FileErrors.Describe(new IOException("IO_DiskFull_Path_Reason, /x, 28", 28)));
        Assert.AreEqual("Input/output error : '/tmp/x.o'", PicGuard.Elf.FileErrors.Describe(new IOException("Input/output error : '/tmp/x.o'", 5)), "the system's own text stays");

        // In process: --output into a directory that does not exist names the failure, not the temporary file written first.
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "missing", "out.txt");
        var (exit, _, err) = Cli("check", "--output", output, Compile(dir.Path, "k.c", Sources.GlobalTable, Gcc, "-O2", "-fpic"));
        Assert.AreEqual(Program.ExitUsage, exit, err);
        StringAssert.Contains(err, $"--output '{output}' cannot be written: no such file or directory");
    }
}
