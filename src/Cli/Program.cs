using System.CommandLine;
using PicGuard;
using PicGuard.Rules;

namespace PicGuard.Cli;

/// <summary>picguard check FILE... [--profile P]: prints diagnostics as <c>file: error PGnnnn: …</c>.</summary>
public static class Program
{
    public const int ExitClean = 0;
    public const int ExitFindings = 1;
    public const int ExitUsage = 2;

    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var files = new Argument<string[]>("files") { Description = "ELF objects, executables or ar archives to check", Arity = ArgumentArity.OneOrMore };
        var profile = new Option<string>("--profile") { Description = $"loader profile: {Profiles.Names}", DefaultValueFactory = _ => Profiles.Generic.Name };
        var summaryOnly = new Option<bool>("--summary-only") { Description = "count diagnostics but print only the summary line" };
        var check = new Command("check", "check ELF files for constructs that break position-independent code") { files, profile, summaryOnly };
        var root = new RootCommand("picguard: position-independence checks for ELF objects and archives") { check };

        int exit = ExitClean;
        check.SetAction(parse =>
        {
            string profileName = parse.GetValue(profile)!;
            if (!Profiles.TryGet(profileName, out var p))
            {
                stderr.WriteLine($"picguard: error PG9004: --profile is '{profileName}', which is not a PicGuard profile; use one of: {Profiles.Names}");
                exit = ExitUsage;
                return;
            }
            exit = Check(parse.GetValue(files)!, p, parse.GetValue(summaryOnly), stdout, stderr);
        });

        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var error in result.Errors)
                stderr.WriteLine($"picguard: {error.Message}");
            stderr.WriteLine("usage: picguard check FILE... [--profile P]   (picguard --help for more)");
            return ExitUsage;
        }
        int invoked = result.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return invoked != 0 && exit == ExitClean ? invoked : exit;
    }

    private static int Check(string[] files, Profile profile, bool summaryOnly, TextWriter stdout, TextWriter stderr)
    {
        var checker = new Checker(new CheckOptions(profile));
        var total = new CheckResult();
        foreach (var result in checker.CheckFiles(files))
        {
            if (!summaryOnly)
                foreach (var d in result.Diagnostics)
                    stdout.WriteLine(d.Format());
            total.Add(result);
        }
        stderr.WriteLine($"picguard: {files.Length} file(s), {total.Objects} object(s), {total.Relocations} relocation(s): {total.Errors} error(s), {total.Warnings} warning(s)");
        return total.Errors > 0 ? ExitFindings : ExitClean;
    }
}
