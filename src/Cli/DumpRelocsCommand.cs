using System.CommandLine;
using PicGuard.Elf;
using PicGuard.Rules;

namespace PicGuard.Cli;

/// <summary>
/// <c>picguard dump-relocs FILE...</c>: prints every relocation PicGuard decodes, one per line,
/// in <see cref="RelocationDump"/>'s tab-separated form, so it can be compared with <c>readelf -rW</c>.
/// Exit 0 when every object was read, 1 when some object is malformed (PG9001 on stderr), has a relocation section PicGuard
/// cannot decode (PG9006), is a thin archive's missing member (PG9003) or is a directory (PG9001, as <c>check</c> says it), 2 when a file is missing.
/// </summary>
public static class DumpRelocsCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr, Action<int> setExit)
    {
        var files = new Argument<string[]>("files") { CustomParser = Program.TokenValues, Description = "ELF objects, executables or ar archives", Arity = ArgumentArity.OneOrMore };
        var command = new Command("dump-relocs",
            "print every relocation as: object, section, offset, type number, type name, symbol, addend (tab-separated)") { files };
        command.SetAction(parse => setExit(Run(parse.GetValue(files)!, stdout, stderr)));
        return command;
    }

    public static int Run(IEnumerable<string> files, TextWriter stdout, TextWriter stderr)
    {
        int exit = Program.ExitClean;
        foreach (var file in files)
        {
            if (Checker.InputProblem(file) is { } problem)
            {
                stderr.WriteLine($"{file}: error {problem.Rule.Code}: {problem.Message}");
                exit = problem.Rule == RuleCatalog.MissingInput ? Program.ExitUsage : Math.Max(exit, Program.ExitFindings);
                continue;
            }
            byte[] data;
            try
            {
                data = File.ReadAllBytes(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"{file}: error PG9003: cannot read '{file}': {PicGuard.Elf.FileErrors.Describe(e)}");
                exit = Program.ExitUsage;
                continue;
            }
            var errors = new List<DumpError>();
            // Written in blocks: a console writer flushes on every line, and archives hold millions.
            var block = new System.Text.StringBuilder();
            foreach (var r in RelocationDump.Read(file, data, errors))
            {
                block.Append(RelocationDump.Format(r)).Append('\n');
                if (block.Length > 1 << 16)
                {
                    stdout.Write(block.ToString());
                    block.Clear();
                }
            }
            stdout.Write(block.ToString());
            foreach (var e in errors)
            {
                stderr.WriteLine($"{e.Object}: error {e.Code}: {e.Message}");
                if (exit == Program.ExitClean) exit = Program.ExitFindings;
            }
        }
        return exit;
    }
}
