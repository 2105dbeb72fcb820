using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Reflection;
using PicGuard;
using PicGuard.Diagnostics;
using PicGuard.Rules;

namespace PicGuard.Cli;

/// <summary>
/// picguard check FILE... [options]: prints diagnostics as <c>file: error PGnnnn: …</c>, or a SARIF 2.1.0 log
/// with <c>--format sarif</c>. The options mirror the MSBuild properties (PicRestrictedSections, PicLoadAddress, …).
/// </summary>
public static class Program
{
    public const int ExitClean = 0;
    public const int ExitFindings = 1;
    public const int ExitUsage = 2;

    public static int Main(string[] args)
    {
        // Diagnostics can run to tens of thousands of lines: one buffered writer, flushed before the summary, not a write per line.
        // 4K characters, not more: a listing's text goes to the stream itself (ListingText.WriteTo), and the buffer is an
        // array the collector clears at every start: 16K made 32 KB of the 136 KB that checking one small object allocated
        // (64K, before that, a twentieth of its time).
        // Both streams are the descriptors themselves, not System.Console's (StandardStream says why).
        var utf8 = new System.Text.UTF8Encoding(false);
        using var stdout = new StreamWriter(StandardStream.Open(1), utf8, 1 << 12) { NewLine = "\n" };
        using var stderr = new StreamWriter(StandardStream.Open(2), utf8, 1 << 10) { NewLine = "\n", AutoFlush = true };
        int exit = Run(args, stdout, stderr);
        stdout.Flush();
        return exit;
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        // "picguard check FILE...", what builds and CI run: read without building the command line (CheckArguments.Plain).
        if (CheckArguments.Plain(args) is { } plain)
            return RunCheck(plain, stdout, stderr);
        int exit = ExitClean;
        var check = CheckCommand(stdout, stderr, code => exit = code);
        var root = NewRootCommand();
        root.Subcommands.Add(check);
        root.Subcommands.Add(DumpRelocsCommand.Create(stdout, stderr, code => exit = code));
        root.Subcommands.Add(LoadCommand.Create(stdout, stderr, code => exit = code));

        var result = root.Parse(args);
        var errors = new List<string>();
        foreach (var token in result.Tokens)
        {
            // A plain root command has no directives: a leading [name] is not ignored but refused, as a RootCommand refuses one it does not know.
            if (token.Type == TokenType.Directive)
                errors.Add($"Unrecognized command or argument '{token.Value}'.");
        }
        foreach (var error in result.Errors)
            errors.Add(error.Message);
        if (errors.Count > 0)
        {
            foreach (var error in errors)
                stderr.WriteLine($"picguard: {error}");
            stderr.WriteLine(args.Length > 0 && args[0] == "load"
                ? "usage: picguard load BLOB --base ADDR [--profile kexec-purgatory] [-o IMAGE] [--set SYMBOL=HEX]...   (picguard load --help for more)"
                : "usage: picguard check FILE... [--profile P] [--format text|sarif]   (picguard --help for more)");
            return ExitUsage;
        }
        int invoked = result.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return invoked != 0 && exit == ExitClean ? invoked : exit;
    }

    /// <summary>
    /// The <c>picguard</c> command with <c>--help</c> and <c>--version</c>. Not System.CommandLine's RootCommand: its help and
    /// version options read their descriptions through the library's ResourceManager, whose first use costs about 1 ms of
    /// reflection (the assembly's attributes) at every start, a sixth of checking one small object. These two options do what
    /// those do (the same names, aliases, descriptions, help layout and "cannot be combined" error). What a plain root lacks
    /// is the [suggest] directive of dotnet-suggest's shell completion.
    /// </summary>
    private static Command NewRootCommand()
    {
        var root = new Command("picguard", "picguard: position-independence checks for ELF objects and archives");
        root.Options.Add(new Option<bool>("--help", "-h", "/h", "-?", "/?")
        {
            Description = "Show help and usage information", Arity = ArgumentArity.Zero, Recursive = true, Action = new HelpAction(),
        });
        var version = new Option<bool>("--version") { Description = "Show version information", Arity = ArgumentArity.Zero, Action = new VersionAction() };
        version.Validators.Add(result =>
        {
            if (!result.Implicit && result.Parent is CommandResult parent && parent.Children.Any(r => r is not OptionResult { Implicit: true } && !(r is OptionResult o && o.Option == version)))
                result.AddError($"{result.IdentifierToken?.Value ?? version.Name} option cannot be combined with other arguments.");
        });
        root.Options.Add(version);
        return root;
    }

    /// <summary>Prints picguard's informational version (e.g. <c>0.1.0+commit</c>).</summary>
    private sealed class VersionAction : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parse)
        {
            parse.InvocationConfiguration.Output.WriteLine(
                typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "");
            return 0;
        }
    }

    /// <summary>
    /// A repeatable option that holds its words as a string[] (none when absent). The array is made here: System.CommandLine
    /// would make it with Array.CreateInstance, a type-loader lookup costing about 0.25 ms at its first use in the native
    /// executable, at parse and again for each absent option's empty default.
    /// </summary>
    internal static Option<string[]> ListOption(string name, string helpName, string description) => new(name)
    {
        Description = description, HelpName = helpName, Arity = ArgumentArity.OneOrMore, CustomParser = TokenValues, DefaultValueFactory = _ => [],
    };

    /// <summary>The words given to a list argument or option, as the string[] it holds (see <see cref="ListOption"/>).</summary>
    internal static string[] TokenValues(ArgumentResult result)
    {
        var values = new string[result.Tokens.Count];
        for (int i = 0; i < values.Length; i++)
            values[i] = result.Tokens[i].Value;
        return values;
    }

    /// <summary>The options of <c>check</c>; <see cref="CheckSettings.From"/> turns their values into settings.</summary>
    internal sealed class CheckOptionSet
    {
        public readonly Argument<string[]> Files = new("files") { CustomParser = TokenValues, Description = "ELF objects, executables or ar archives to check", Arity = ArgumentArity.OneOrMore };
        public readonly Option<string> Profile = new("--profile") { Description = $"loader profile: {Profiles.Names}", DefaultValueFactory = _ => CheckArguments.Unset.Profile };
        public readonly Option<bool> SummaryOnly = new("--summary-only") { Description = "count diagnostics but print only the summary line" };
        public readonly Option<string> Format = new("--format") { Description = "output format: text (default) or sarif (SARIF 2.1.0 log)", DefaultValueFactory = _ => CheckArguments.Unset.Format, HelpName = "text|sarif" };
        public readonly Option<string?> Output = new("--output", "-o") { Description = "write the diagnostics (text or SARIF) to FILE instead of standard output", HelpName = "FILE" };
        public readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "also list suppressed findings, one 'note: suppressed' line each" };
        public readonly Option<string[]> RestrictedSections = ListOption("--restricted-section", "GLOB", "section glob (e.g. '.pi.text*') whose code may only reach allowed sections (PicRestrictedSections); repeatable");
        public readonly Option<string[]> AllowedTargetSections = ListOption("--allowed-target-section", "GLOB", "section glob restricted code may reference (PicAllowedTargetSections); repeatable; default: the restricted sections");
        public readonly Option<string?> LoadAddress = new("--load-address") { Description = $"where the loader places the blob (PicLoadAddress): {Rules.LoadAddress.AcceptedForms}", HelpName = "ADDR|LOW-HIGH|any" };
        public readonly Option<string[]> Suppress = ListOption("--suppress", "CODE[:SYMBOL][@SECTION]", "accept findings (PicSuppress): CODE[:SYMBOL][@SECTION], globs allowed, e.g. PG0004:__phys_addr@.pi.text; repeatable");
        public readonly Option<string?> MaxDiagnostics = new("--max-diagnostics") { Description = "list at most N diagnostics per file and count the rest (PicMaxDiagnostics); 0 = no cap; default 100", HelpName = "N" };
        public readonly Option<bool> CheckUndefined = new("--check-undefined") { Description = "report undefined symbols (PG0008), for a linked blob; the kexec-purgatory profile always does" };
        public readonly Option<string[]> AllowUndefined = ListOption("--allow-undefined", "GLOB", "symbol name or glob the loader provides (PicAllowUndefined); repeatable");

        public IEnumerable<Symbol> All => [Files, Profile, SummaryOnly, Format, Output, Verbose, RestrictedSections, AllowedTargetSections,
            LoadAddress, Suppress, MaxDiagnostics, CheckUndefined, AllowUndefined];
    }

    private static Command NewCheckCommand(CheckOptionSet o)
    {
        var check = new Command("check", "check ELF files for constructs that break position-independent code");
        foreach (var symbol in o.All)
        {
            if (symbol is Argument a) check.Arguments.Add(a);
            else check.Options.Add((Option)symbol);
        }
        return check;
    }

    /// <summary>The checker options the arguments of <c>check</c> (without the word "check") give, or null with the errors.</summary>
    internal static CheckOptions? ParseCheckOptions(string[] args, List<string> errors)
    {
        var arguments = ParseCheckArguments(args, errors);
        if (arguments is null) return null;
        var settings = CheckSettings.From(arguments, errors);
        return errors.Count == 0 ? settings.Options : null;
    }

    /// <summary>The words after <c>check</c> as System.CommandLine reads them on picguard's command line, or null with its errors.</summary>
    internal static CheckArguments? ParseCheckArguments(string[] args, List<string> errors)
    {
        var o = new CheckOptionSet();
        var root = NewRootCommand();
        root.Subcommands.Add(NewCheckCommand(o));
        var parse = root.Parse(["check", .. args]);
        errors.AddRange(parse.Errors.Select(e => e.Message));
        return errors.Count == 0 ? CheckArguments.From(parse, o) : null;
    }

    /// <summary>The names and aliases of every option <c>check</c> takes, its own and the root's (help).</summary>
    internal static IEnumerable<string> CheckOptionNames()
    {
        var root = NewRootCommand();
        var check = NewCheckCommand(new CheckOptionSet());
        root.Subcommands.Add(check);
        return check.Options.Concat(root.Options.Where(r => r.Recursive)).SelectMany(option => option.Aliases.Prepend(option.Name));
    }

    private static Command CheckCommand(TextWriter stdout, TextWriter stderr, Action<int> setExit)
    {
        var o = new CheckOptionSet();
        var check = NewCheckCommand(o);
        check.SetAction(parse => setExit(RunCheck(CheckArguments.From(parse, o), stdout, stderr)));
        return check;
    }

    /// <summary>Validates the words after <c>check</c> and checks the files; an invalid value is a PG9004 line and exit 2.</summary>
    private static int RunCheck(CheckArguments arguments, TextWriter stdout, TextWriter stderr)
    {
        var errors = new List<string>();
        var settings = CheckSettings.From(arguments, errors);
        if (errors.Count > 0)
        {
            foreach (var e in errors) stderr.WriteLine($"picguard: error {RuleCatalog.BadConfiguration.Code}: {e}");
            return ExitUsage;
        }
        try
        {
            return Check(arguments.Files, settings, stdout, stderr);
        }
        catch (Exception e)
        {
            // A fault in picguard itself, never bad input (that is a PG9xxx finding): reported as System.CommandLine's
            // handler reports an action's exception, whichever way the words were read.
            stderr.WriteLine($"Unhandled exception: {e}");
            return ExitFindings;
        }
    }

    /// <summary>
    /// The words after <c>check</c> as given, before they are validated (<see cref="CheckSettings.From"/>): read by
    /// System.CommandLine (<see cref="From"/>), or, in the plain form, without it (<see cref="Plain"/>).
    /// </summary>
    internal sealed record CheckArguments(string[] Files)
    {
        /// <summary>Every value as it is when not given: the plain form's, and the defaults of System.CommandLine's options.</summary>
        public static CheckArguments Unset { get; } = new([]);

        public string Profile { get; init; } = Profiles.Generic.Name;
        public bool SummaryOnly { get; init; }
        public string Format { get; init; } = "text";
        public string? Output { get; init; }
        public bool Verbose { get; init; }
        public string[] RestrictedSections { get; init; } = [];
        public string[] AllowedTargetSections { get; init; } = [];
        public string? LoadAddress { get; init; }
        public string[] Suppress { get; init; } = [];
        public string? MaxDiagnostics { get; init; }
        public bool CheckUndefined { get; init; }
        public string[] AllowUndefined { get; init; } = [];

        /// <summary>What System.CommandLine read.</summary>
        public static CheckArguments From(ParseResult parse, CheckOptionSet o) => new(parse.GetValue(o.Files)!)
        {
            Profile = parse.GetValue(o.Profile)!,
            SummaryOnly = parse.GetValue(o.SummaryOnly),
            Format = parse.GetValue(o.Format)!,
            Output = parse.GetValue(o.Output),
            Verbose = parse.GetValue(o.Verbose),
            RestrictedSections = parse.GetValue(o.RestrictedSections) ?? [],
            AllowedTargetSections = parse.GetValue(o.AllowedTargetSections) ?? [],
            LoadAddress = parse.GetValue(o.LoadAddress),
            Suppress = parse.GetValue(o.Suppress) ?? [],
            MaxDiagnostics = parse.GetValue(o.MaxDiagnostics),
            CheckUndefined = parse.GetValue(o.CheckUndefined),
            AllowUndefined = parse.GetValue(o.AllowUndefined) ?? [],
        };

        /// <summary>
        /// <c>check FILE...</c>, with at most the flags <c>--summary-only</c>, <c>--verbose</c> (<c>-v</c>) and
        /// <c>--check-undefined</c>, each once: read here, without System.CommandLine, whose command line costs about half a
        /// millisecond to build and parse at every start (one small object: 7.39 ms to 6.84 ms). Null for anything else, which
        /// System.CommandLine reads: no file; an option with a value; any other word that starts with <c>-</c> (an option) or
        /// <c>@</c> (a response file), or is help's <c>/h</c> or <c>/?</c>; a flag followed by a word that reads as true or
        /// false (System.CommandLine takes it as the flag's value). CliTests checks that both readings agree.
        /// </summary>
        public static CheckArguments? Plain(string[] args)
        {
            if (args.Length < 2 || args[0] != "check") return null;
            var files = new List<string>(args.Length - 1);
            bool summaryOnly = false, verbose = false, checkUndefined = false;
            for (int i = 1; i < args.Length; i++)
            {
                string word = args[i];
                if (word.StartsWith('-') || word.StartsWith('@') || word is "/h" or "/?")
                {
                    switch (word)
                    {
                        case "--summary-only" when !summaryOnly: summaryOnly = true; break;
                        case "--verbose" or "-v" when !verbose: verbose = true; break;
                        case "--check-undefined" when !checkUndefined: checkUndefined = true; break;
                        default: return null;
                    }
                    if (i + 1 < args.Length && bool.TryParse(args[i + 1], out _)) return null;
                    continue;
                }
                files.Add(word);
            }
            if (files.Count == 0) return null;
            return new([.. files]) { SummaryOnly = summaryOnly, Verbose = verbose, CheckUndefined = checkUndefined };
        }
    }

    /// <summary>The validated values of the check options.</summary>
    private sealed record CheckSettings(CheckOptions Options, bool Sarif, string? OutputFile, bool SummaryOnly, bool Verbose)
    {
        public static CheckSettings From(CheckArguments a, List<string> errors)
        {
            string profileName = a.Profile;
            if (!Profiles.TryGet(profileName, out var profile))
            {
                errors.Add($"--profile is '{profileName}', which is not a PicGuard profile; use one of: {Profiles.Names}");
                profile = Profiles.Generic;
            }

            string format = a.Format;
            bool sarif = format.Equals("sarif", StringComparison.OrdinalIgnoreCase);
            if (!sarif && !format.Equals("text", StringComparison.OrdinalIgnoreCase))
                errors.Add($"--format is '{format}'; use one of: text, sarif");

            string? output = a.Output;
            if (output is not null && (output.Trim().Length == 0 || Directory.Exists(output)))
                errors.Add($"--output is '{output}', which is not a file name; name the file to write, e.g. --output picguard.sarif");

            LoadAddress? loadAddress = null;
            if (a.LoadAddress is { } loadText)
            {
                if (Rules.LoadAddress.TryParse(loadText, out var parsed, out string why))
                    loadAddress = parsed;
                else
                    errors.Add($"--load-address {why}; use {Rules.LoadAddress.AcceptedForms}");
            }

            var suppressions = new List<Suppression>();
            foreach (var text in a.Suppress)
            {
                if (Suppression.TryParse(text, out var s, out string why))
                    suppressions.Add(s);
                else
                    errors.Add($"--suppress {why}");
            }

            int maxDiagnostics = new CheckOptions(profile).MaxDiagnosticsPerFile;
            if (a.MaxDiagnostics is { } maxText)
            {
                if (!int.TryParse(maxText.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out maxDiagnostics))
                    errors.Add($"--max-diagnostics is '{maxText}', which is not a whole number; use N >= 0 (0 = no cap)");
            }

            var restricted = Globs(a.RestrictedSections, "--restricted-section", "a section name or glob such as .pi.text*", errors);
            var allowedTargets = Globs(a.AllowedTargetSections, "--allowed-target-section", "a section name or glob such as .pi.*", errors);
            var allowUndefined = Globs(a.AllowUndefined, "--allow-undefined", "a symbol name or glob such as __efi_*", errors);

            var options = new CheckOptions(profile, a.CheckUndefined ? true : null, allowUndefined)
            {
                RestrictedSections = restricted,
                AllowedTargetSections = allowedTargets,
                LoadAddress = loadAddress,
                Suppressions = suppressions,
                MaxDiagnosticsPerFile = maxDiagnostics,
                // A summary of text output needs counts only: findings are counted, never formatted. SARIF lists them all the same.
                CountOnly = a.SummaryOnly && !sarif,
            };
            return new CheckSettings(options, sarif, output, a.SummaryOnly, a.Verbose);
        }

        private static List<string> Globs(string[] values, string option, string form, List<string> errors)
        {
            var list = new List<string>();
            foreach (var v in values)
            {
                if (string.IsNullOrWhiteSpace(v))
                    errors.Add($"{option} is empty; use {form}");
                else
                    list.Add(v.Trim());
            }
            return list;
        }
    }

    private static int Check(string[] files, CheckSettings settings, TextWriter stdout, TextWriter stderr)
    {
        // A text listing takes each one-object file's listed findings as text, never as objects (ListsText).
        var checker = new Checker(settings.Sarif || settings.SummaryOnly ? settings.Options : settings.Options with { ListsText = true });
        var total = new CheckResult();
        bool written;
        if (settings.Sarif)
        {
            // A SARIF log is one JSON document over every file: the results are kept until it is written.
            foreach (var result in checker.CheckFiles(files))
                total.Add(result);
            int sarifExit = total.Errors > 0 ? ExitFindings : ExitClean;
            written = Emit(settings.OutputFile, stdout, stderr, stream => SarifWriter.Write(stream, files, total, Environment.CurrentDirectory, sarifExit));
            if (written)
                foreach (var d in total.Diagnostics.Where(SarifWriter.IsInputFinding))
                    stderr.WriteLine(d.HeadLine); // why the run could not check everything, where a CI log shows it
        }
        else if (settings.SummaryOnly)
        {
            checker.CheckFiles(files, (_, result) => total.AddSummary(result));
            written = true;
        }
        else
        {
            // Text is rendered file by file on the threads that checked them, in parallel, then written in input
            // order; nothing listed is kept: memory holds the files in flight, not every finding of the run.
            written = EmitText(settings.OutputFile, stdout, stderr, text =>
            {
                checker.CheckFiles(files, result =>
                {
                    // A one-object file's listed findings come as text already (ListsText); the rest are objects.
                    var rendered = result.Text ?? new ListingText();
                    result.Text = null;
                    foreach (var d in result.Diagnostics)
                        d.WriteTo(rendered);
                    return (result, rendered);
                }, (_, file) =>
                {
                    file.rendered.WriteTo(text);
                    total.AddSummary(file.result);
                });
                if (settings.Verbose)
                    foreach (var (d, by) in total.Suppressed)
                        text.WriteLine(SuppressedLine(d, by));
            });
        }
        if (!written) return ExitUsage;
        stderr.WriteLine(Summary(files.Length, total, settings.Options.CountOnly));
        return total.Errors > 0 ? ExitFindings : ExitClean;
    }

    /// <summary>The summary line; suppressed and omitted counts appear only when there are some.</summary>
    internal static string Summary(int files, CheckResult total, bool countOnly = false)
    {
        string line = $"picguard: {files} file(s), {total.Objects} object(s), {total.Relocations} relocation(s): {total.Errors} error(s), {total.Warnings} warning(s)";
        if (total.Suppressed.Count > 0) line += $", {total.Suppressed.Count} suppressed";
        if (total.Omitted > 0 && !countOnly) line += $", {total.Omitted} omitted (over --max-diagnostics)";
        return line;
    }

    /// <summary><c>object: note: suppressed PG0004: message (justification)</c>.</summary>
    internal static string SuppressedLine(Diagnostic d, Suppression by) =>
        $"{d.Object}: note: suppressed {d.Code}: {d.Message} ({(string.IsNullOrWhiteSpace(by.Justification) ? "--suppress " + by.Code + (by.Symbol is null ? "" : ":" + by.Symbol) + (by.Section is null ? "" : "@" + by.Section) : by.Justification)})";

    /// <summary>As <see cref="Emit"/>, for text: straight to <paramref name="stdout"/>, which is buffered, when no file is named.</summary>
    private static bool EmitText(string? outputFile, TextWriter stdout, TextWriter stderr, Action<TextWriter> write)
    {
        if (outputFile is null)
        {
            write(stdout);
            stdout.Flush();
            return true;
        }
        return Emit(outputFile, stdout, stderr, stream =>
        {
            using var text = new StreamWriter(stream, new System.Text.UTF8Encoding(false), bufferSize: -1, leaveOpen: true) { NewLine = "\n" };
            write(text);
        });
    }

    /// <summary>
    /// Writes to <paramref name="outputFile"/> through a temporary file renamed into place (a reader never sees half a
    /// file), or to <paramref name="stdout"/> when no file is named. False, with a PG9004 line, when the file cannot be written.
    /// </summary>
    private static bool Emit(string? outputFile, TextWriter stdout, TextWriter stderr, Action<Stream> write)
    {
        if (outputFile is null)
        {
            using var buffer = new MemoryStream();
            write(buffer);
            stdout.Write(new System.Text.UTF8Encoding(false).GetString(buffer.ToArray()));
            stdout.Flush();
            return true;
        }
        string full = Path.GetFullPath(outputFile);
        string temp = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                write(file);
            File.Move(temp, full, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            stderr.WriteLine($"picguard: error {RuleCatalog.BadConfiguration.Code}: --output '{outputFile}' cannot be written: {PicGuard.Elf.FileErrors.Describe(e)}");
            return false;
        }
    }
}
