using PicGuard.Diagnostics;
using System.Diagnostics;
using System.Text.RegularExpressions;
using PicGuard.Elf;
using PicGuard.Rules;

namespace PicGuard.Tests.Fuzzing;

/// <summary>A seed input: a name and a well-formed object or archive.</summary>
public sealed record FuzzSeed(string Name, byte[] Data)
{
    public ElfFieldMap Map { get; } = ElfFieldMap.Of(Data);
}

/// <summary>An input that broke an invariant: what broke (<see cref="Signature"/> without numbers, to group alike ones), and the input.</summary>
public sealed record FuzzFailure(string Signature, string Detail, string Seed, long Iteration, IReadOnlyList<string> Mutations, byte[] Input);

/// <summary>Totals of one run.</summary>
public sealed record FuzzStats(long Inputs, TimeSpan Elapsed, IReadOnlyList<FuzzFailure> Failures, long Pg9001, long MaxAllocatedBeyondInput, TimeSpan Slowest)
{
    public double InputsPerSecond => Inputs / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>
/// Runs inputs through <see cref="Checker.CheckBuffer"/> and holds it to its contract: it returns
/// (diagnostics, or a PG9001 for malformed input) and never throws, never takes more than a second,
/// never allocates more than 64 MB beyond the input's size, and never reports PG9000 (an internal
/// error, i.e. a reader bug). <see cref="RelocationDump"/> must not throw either.
/// </summary>
public static partial class FuzzHarness
{
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(1);
    public const long AllocationLimit = 64L << 20;

    /// <summary>
    /// Option sets each input is checked under in turn, so every rule runs: the default; the undefined-symbol
    /// check; confinement without a cap; the kexec loader's list, placement overflow and section count; the
    /// startup profile's confinement and data rules with a suppression.
    /// </summary>
    public static readonly CheckOptions[] Options =
    [
        CheckOptions.Default,
        CheckOptions.Default with { CheckUndefinedSymbols = true, AllowedUndefined = ["memcpy", "ext_*"] },
        CheckOptions.Default with { CheckUndefinedSymbols = true, MaxDiagnosticsPerFile = 0, RestrictedSections = [".text*"] },
        new CheckOptions(Profiles.KexecPurgatory) { LoadAddress = new LoadAddress(0x1000, 0xffff_ffff) },
        new CheckOptions(Profiles.Startup) { AllowedTargetSections = [".pi.*"], Suppressions = [new Suppression("PG0004", Symbol: "f*")], MaxDiagnosticsPerFile = 3 },
    ];

    [GeneratedRegex("0x[0-9a-f]+|[0-9]+")]
    private static partial Regex Numbers();

    /// <summary>Null when <paramref name="input"/> keeps every invariant under <paramref name="options"/>, else (signature, detail).</summary>
    public static (string Signature, string Detail)? Evaluate(byte[] input, CheckOptions options, out long allocatedBeyondInput, out TimeSpan elapsed, out bool malformed)
    {
        allocatedBeyondInput = 0;
        elapsed = TimeSpan.Zero;
        malformed = false;
        CheckResult result;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();
        try
        {
            result = new Checker(options).CheckBuffer("fuzz.o", input);
        }
        catch (Exception e)
        {
            return ($"CheckBuffer threw {e.GetType().Name} at {TopFrame(e)}", e.ToString());
        }
        elapsed = watch.Elapsed;
        allocatedBeyondInput = GC.GetAllocatedBytesForCurrentThread() - before - input.Length;
        if (elapsed > TimeLimit)
            return ("CheckBuffer took longer than 1 s", $"took {elapsed.TotalMilliseconds:F0} ms");
        if (allocatedBeyondInput > AllocationLimit)
            return ("CheckBuffer allocated more than 64 MB beyond the input", $"allocated {allocatedBeyondInput} bytes beyond the input");
        var internalError = result.Diagnostics.FirstOrDefault(d => d.Code == "PG9000");
        if (internalError is not null)
        {
            string where = FindThrowingFrame(input, options);
            return ($"PG9000 {Numbers().Replace(internalError.Message, "N")} at {where}", internalError.Format() + "\n" + where);
        }
        malformed = result.Diagnostics.Any(d => d.Code == "PG9001");
        try
        {
            RelocationDump.Read("fuzz.o", input, new List<DumpError>());
        }
        catch (Exception e)
        {
            return ($"RelocationDump threw {e.GetType().Name} at {TopFrame(e)}", e.ToString());
        }
        return null;
    }

    /// <summary>Re-runs the object checker without the checker's catch-all to name the frame a PG9000 came from.</summary>
    private static string FindThrowingFrame(byte[] input, CheckOptions options)
    {
        var objects = new List<ReadOnlyMemory<byte>>();
        try
        {
            if (ArArchive.HasArchiveMagic(input)) objects.AddRange(ArArchive.ReadMembers(input).Select(m => m.Data));
            else objects.Add(input);
        }
        catch (ElfFormatException) { }
        foreach (var obj in objects)
        {
            try
            {
                var elf = new ElfFile(obj);
                new ObjectChecker(elf, options, "fuzz.o", "fuzz.o", new CheckResult(), new FindingSet(options)).Run();
            }
            catch (ElfFormatException) { }
            catch (Exception e) { return TopFrame(e); }
        }
        return "unknown frame";
    }

    private static string TopFrame(Exception e)
    {
        var frames = new StackTrace(e, fNeedFileInfo: false).GetFrames();
        var ours = frames.FirstOrDefault(f => f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("PicGuard", StringComparison.Ordinal) == true
                                           && f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("PicGuard.Tests", StringComparison.Ordinal) != true);
        var m = ours?.GetMethod() ?? frames.FirstOrDefault()?.GetMethod();
        return m is null ? "?" : $"{m.DeclaringType?.Name}.{m.Name}";
    }

    /// <summary>Mutates the seeds <paramref name="inputs"/> times from <paramref name="randomSeed"/>; one failure kept per signature (the smallest input).</summary>
    public static FuzzStats Run(IReadOnlyList<FuzzSeed> seeds, long inputs, int randomSeed, Action<long, FuzzStats>? progress = null)
    {
        var random = new Random(randomSeed);
        var mutator = new ElfMutator(random);
        var failures = new Dictionary<string, FuzzFailure>();
        long pg9001 = 0, maxAllocated = 0;
        TimeSpan slowest = TimeSpan.Zero;
        var watch = Stopwatch.StartNew();
        var log = new List<string>();
        for (long i = 0; i < inputs; i++)
        {
            var seed = seeds[random.Next(seeds.Count)];
            log.Clear();
            var input = mutator.Mutate(seed.Data, seed.Map, log);
            var options = Options[i % Options.Length];
            var failure = Evaluate(input, options, out long allocated, out var elapsed, out bool malformed);
            if (malformed) pg9001++;
            maxAllocated = Math.Max(maxAllocated, allocated);
            if (elapsed > slowest) slowest = elapsed;
            if (failure is { } f && (!failures.TryGetValue(f.Signature, out var known) || known.Input.Length > input.Length))
                failures[f.Signature] = new FuzzFailure(f.Signature, f.Detail, seed.Name, i, log.ToList(), input);
            if (progress is not null && (i + 1) % 50_000 == 0)
                progress(i + 1, new FuzzStats(i + 1, watch.Elapsed, failures.Values.ToList(), pg9001, maxAllocated, slowest));
        }
        return new FuzzStats(inputs, watch.Elapsed, failures.Values.ToList(), pg9001, maxAllocated, slowest);
    }

    /// <summary>True when <paramref name="input"/> breaks an invariant under any option set.</summary>
    public static string? FirstFailure(byte[] input)
    {
        foreach (var options in Options)
            if (Evaluate(input, options, out _, out _, out _) is { } f)
                return f.Signature;
        return null;
    }

    /// <summary>
    /// Shrinks a failing input while the same failure (signature) remains: drops chunks from the end
    /// and from inside (halving the chunk size down to one byte), then zeroes what can be zeroed.
    /// </summary>
    public static byte[] Minimise(byte[] input, string signature)
    {
        bool Same(byte[] candidate)
        {
            foreach (var options in Options)
                if (Evaluate(candidate, options, out _, out _, out _) is { } f && f.Signature == signature)
                    return true;
            return false;
        }
        var current = input;
        for (int chunk = Math.Max(1, current.Length / 2); chunk >= 1; chunk /= 2)
        {
            for (int at = current.Length - chunk; at >= 0; at -= chunk)
            {
                if (at + chunk > current.Length) continue;
                var candidate = current.AsSpan(0, at).ToArray().Concat(current.AsSpan(at + chunk).ToArray()).ToArray();
                if (Same(candidate)) current = candidate;
            }
            if (chunk == 1) break;
        }
        for (int chunk = 64; chunk >= 1; chunk /= 4)
        {
            for (int at = 0; at < current.Length; at += chunk)
            {
                int n = Math.Min(chunk, current.Length - at);
                if (current.AsSpan(at, n).IndexOfAnyExcept((byte)0) < 0) continue;
                var candidate = (byte[])current.Clone();
                candidate.AsSpan(at, n).Clear();
                if (Same(candidate)) current = candidate;
            }
        }
        return current;
    }
}
