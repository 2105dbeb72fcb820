using PicGuard;
using PicGuard.Elf;
using PicGuard.Rules;
using SharpFuzz;

namespace PicGuard.Fuzz;

/// <summary>
/// One AFL++ input per call: the bytes go through the checker under each option set (so every rule,
/// the source-line lookup and the bitcode reader run) and through the relocation dump. A crash is an
/// exception escaping, or PG9000 (an internal error: a reader bug the checker caught); malformed input
/// must come back as PG9001, never as either.
/// </summary>
public static class Program
{
    /// <summary>Option sets each input is checked under in turn: the default, undefined symbols, confinement, the kexec loader, the startup profile.</summary>
    private static readonly CheckOptions[] Options =
    [
        CheckOptions.Default with { MaxDiagnosticsPerFile = 0 },
        CheckOptions.Default with { CheckUndefinedSymbols = true, AllowedUndefined = ["memcpy", "ext_*"], RestrictedSections = [".text*"] },
        new CheckOptions(Profiles.KexecPurgatory) { LoadAddress = new LoadAddress(0x1000, 0xffff_ffff) },
        new CheckOptions(Profiles.EfiStub),
        new CheckOptions(Profiles.Startup) { AllowedTargetSections = [".pi.*"], Suppressions = [new Suppression("PG0004", Symbol: "f*")], MaxDiagnosticsPerFile = 3 },
    ];

    public static void Main(string[] args)
    {
        if (args.Length > 0)
        {
            // Replay: picguard-fuzz FILE... runs the inputs once each, outside AFL++ (for minimised crashes).
            foreach (var file in args) Run(File.ReadAllBytes(file));
            return;
        }
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            Run(buffer.ToArray());
        });
    }

    private static void Run(byte[] input)
    {
        foreach (var options in Options)
        {
            var result = new Checker(options).CheckBuffer("input", input);
            foreach (var d in result.Diagnostics)
                if (d.Code == RuleCatalog.InternalError.Code)
                    throw new InvalidOperationException($"PG9000 under {options.Profile.Name}: {d.Message}");
        }
        RelocationDump.Read("input", input, []);
    }
}
