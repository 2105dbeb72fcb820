using System.CommandLine;
using PicGuard.Loaders;
using PicGuard.Rules;

namespace PicGuard.Cli;

/// <summary>
/// <c>picguard load BLOB --profile kexec-purgatory --base ADDR [-o IMAGE] [--set SYMBOL=HEX]...</c>: places the blob as
/// its profile's loader does, applies its relocations, prints the layout and writes the image as it lies in memory.
/// Exit 0 when it loaded, 1 when the loader fails (the PG findings, with the loader's own message) or the file cannot
/// be read, 2 for a bad option (PG9004).
/// </summary>
public static class LoadCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr, Action<int> setExit)
    {
        var blob = new Argument<string>("blob") { Description = "the relocatable blob (ld -r object) to place" };
        var profile = new Option<string>("--profile") { Description = $"whose loader places it; loader models exist for: {LoaderModels.ProfileNames}", DefaultValueFactory = _ => Profiles.KexecPurgatory.Name };
        var @base = new Option<string?>("--base") { Description = "the address the loader places the blob at, e.g. 0x100000000; a multiple of the blob's alignment", HelpName = "ADDR", Required = true };
        var output = new Option<string?>("--output", "-o") { Description = "write the image (the blob as it lies in memory, zero-filled sections included) to FILE; without it only the layout is printed", HelpName = "FILE" };
        var set = Program.ListOption("--set", "SYMBOL=HEX", "write a value into a global symbol after relocation, as the kernel's kexec_purgatory_get_set_symbol does: " + BlobLoad.SetForm + "; repeatable");
        var command = new Command("load", "place a blob as its loader does (kexec_file for kexec-purgatory), apply its relocations, print the layout and write the image")
        {
            blob, profile, @base, output, set,
        };
        command.SetAction(parse =>
        {
            var errors = new List<string>();
            string profileName = parse.GetValue(profile)!;
            if (!Profiles.TryGet(profileName, out var p))
                errors.Add($"--profile is '{profileName}', which is not a PicGuard profile; use one of: {Profiles.Names}");
            else if (LoaderModels.For(p) is null)
                errors.Add($"--profile is '{profileName}', whose loader PicGuard does not model; use one of: {LoaderModels.ProfileNames}");
            ulong baseAddress = 0;
            if (!BlobLoad.TryParseBase(parse.GetValue(@base), out baseAddress, out string why))
                errors.Add(why);
            var values = new List<SymbolValue>();
            foreach (var text in parse.GetValue(set) ?? [])
            {
                if (BlobLoad.TryParseSet(text, out var v, out string setError)) values.Add(v);
                else errors.Add(setError);
            }
            string? outputFile = parse.GetValue(output);
            if (outputFile is not null && (outputFile.Trim().Length == 0 || Directory.Exists(outputFile)))
                errors.Add($"--output is '{outputFile}', which is not a file name; name the image file to write, e.g. -o purgatory.image");
            if (errors.Count > 0)
            {
                foreach (var e in errors) stderr.WriteLine($"picguard: error {RuleCatalog.BadConfiguration.Code}: {e}");
                setExit(Program.ExitUsage);
                return;
            }
            setExit(Run(new LoadRequest(parse.GetValue(blob)!, p, baseAddress, values), outputFile, stdout, stderr));
        });
        return command;
    }

    public static int Run(LoadRequest request, string? outputFile, TextWriter stdout, TextWriter stderr)
    {
        var outcome = BlobLoad.Run(request);
        foreach (var d in outcome.Diagnostics)
            stderr.WriteLine(d.Format());
        if (!outcome.Succeeded)
        {
            stderr.WriteLine($"picguard: {Path.GetFileName(request.Path)} not loaded: {outcome.Diagnostics.Count(d => d.Severity == Severity.Error)} error(s){(outputFile is null ? "" : "; nothing written")}");
            return outcome.BadRequest ? Program.ExitUsage : Program.ExitFindings;
        }
        var result = outcome.Result!;
        if (outputFile is not null)
        {
            try
            {
                BlobLoad.WriteImage(outputFile, result.Image);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"picguard: error {RuleCatalog.BadConfiguration.Code}: --output '{outputFile}' cannot be written: {e.Message}");
                return Program.ExitUsage;
            }
        }
        stdout.Write(BlobLoad.FormatLayout(request, result, outputFile));
        stdout.Flush();
        return Program.ExitClean;
    }
}
