namespace PicGuard;

/// <summary>
/// How many findings a caller shows over a run of <see cref="Checker.CheckFiles{T}"/> calls, such as MSBuild's
/// PicMaxLoggedDiagnostics: once the files before a file have listed that many, the file lists only the first finding
/// of each rule it has and counts the rest (<see cref="CheckResult.Unshown"/>). Listing is what costs (the function,
/// source line and instruction of each place), and a finding past what the caller shows is worth its count only.
/// </summary>
/// <remarks>
/// A file's room is taken when it starts, from the files finished by then; files before it still being checked are not
/// counted, so a file lists at least what an in-order caller shows of it, whatever the timing: the caller's own in-order
/// choice (the first <see cref="Limit"/>, then the first of each new rule) sees the same findings on every run.
/// </remarks>
public sealed class ListingRoom
{
    private int _listed;

    public ListingRoom(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Limit = limit;
    }

    /// <summary>Findings the caller shows before it shows only the first of each new rule.</summary>
    public int Limit { get; }

    /// <summary>Room left for a file starting now.</summary>
    internal int Remaining => Math.Max(0, Limit - Volatile.Read(ref _listed));

    /// <summary>A finished file listed <paramref name="findings"/>.</summary>
    internal void Listed(int findings) => Interlocked.Add(ref _listed, findings);
}
