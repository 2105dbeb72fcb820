using System.Numerics;

namespace PicGuard.Elf;

/// <summary>
/// One spare array per thread and use, the largest seen: a thread checks one object after another, so this is all the
/// pooling an object's working arrays need (its section headers and names, its function symbols). The shared array pool
/// missed often for arrays of this size and churn, and a miss on a large one is a new large-object-heap array, which the
/// collector clears and counts towards a full collection. An array is either rented (<see cref="Rent"/>, its owner gives
/// it back) or used in place as scratch (<see cref="Scratch"/>, within one call).
/// </summary>
internal static class ThreadSpare
{
    /// <summary>
    /// This thread's spare array when it is long enough, else a new one sized up to serve more objects. A new array is
    /// not zeroed when its elements hold no references (callers write an element before they read it); an array of
    /// references is, and callers clear what they give back.
    /// </summary>
    public static T[] Rent<T>(ref T[]? spare, int count)
    {
        var kept = spare;
        if (kept is not null && kept.Length >= count)
        {
            spare = null;
            return kept;
        }
        return GC.AllocateUninitializedArray<T>(Math.Max(64, (int)BitOperations.RoundUpToPowerOf2((uint)count)));
    }

    /// <summary>Keeps <paramref name="array"/> as this thread's spare when it is longer than the one kept.</summary>
    public static void GiveBack<T>(ref T[]? spare, T[] array)
    {
        if (spare is null || spare.Length < array.Length) spare = array;
    }

    /// <summary>The first <paramref name="length"/> elements of this thread's scratch array, grown when too short; kept in place, never cleared.</summary>
    public static Span<T> Scratch<T>(ref T[]? scratch, int length) =>
        (scratch is { } array && array.Length >= length ? array : scratch = new T[Math.Max(length, 1024)]).AsSpan(0, length);
}
