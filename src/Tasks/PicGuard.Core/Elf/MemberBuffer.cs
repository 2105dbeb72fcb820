using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace PicGuard.Elf;

/// <summary>
/// A reusable buffer that an archive member (or, in a run of several files, a small object file) is read into, by position
/// (pread), before it is checked.
/// <para>
/// <see cref="Checker.CheckFiles"/> finds an archive's members by reading their headers (<see cref="ArArchive"/> over the
/// open file) and reads each member into the buffer of the thread that checks it. It used to read archives under 1 MiB
/// whole and map larger ones; on this kind of machine every page fault costs several microseconds, and reading into
/// memory touched before costs only the copy. Side by side on the 216 llvm-19 archives (2 cores, `--summary-only`,
/// medians of 9): mapped 0.218 s wall, 0.36 s CPU, 6,700 page faults; larger archives' members read into these buffers
/// 0.188 s, 0.31 s, 4,800 page faults; every archive's members read, headers read by position, see docs/performance.md.
/// </para>
/// <para>
/// On Linux the buffer is aligned to 2 MiB and asks for transparent huge pages (<c>madvise(MADV_HUGEPAGE)</c>), so that
/// growing it to the largest member (6.8 MB among llvm-19's) costs a fault per 2 MiB rather than one per 4 KiB; growing
/// ordinary heap buffers instead cost more in faults than the mapping did. Elsewhere it is plain native memory.
/// </para>
/// </summary>
internal sealed unsafe class MemberBuffer : MemoryManager<byte>
{
    private const int Granule = 2 << 20;
    private const int MadviseHugePage = 14; // MADV_HUGEPAGE

    private byte* _pointer;
    private int _capacity;
    private int _length;

    /// <summary>Whether <paramref name="member"/> is (a slice of) an archive member not read yet, and which.</summary>
    public static bool IsUnread(ReadOnlyMemory<byte> member, out FileRange range, out int start) =>
        MemoryMarshal.TryGetMemoryManager(member, out range!, out start, out _);

    /// <summary>Reads <paramref name="length"/> bytes of <paramref name="range"/> from <paramref name="start"/>; valid until the next read or <see cref="Release"/>.</summary>
    public ReadOnlyMemory<byte> Read(FileRange range, int start, int length)
    {
        if (length > _capacity) Grow(length);
        _length = range.ReadInto(start, length, new Span<byte>(_pointer, length));
        return Memory;
    }

    private void Grow(int length)
    {
        Release();
        int capacity = (int)Math.Min(((long)length + Granule - 1) / Granule * Granule, int.MaxValue);
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)capacity, Granule);
        _capacity = capacity;
        if (Madvise != null)
            _ = Madvise(_pointer, (nuint)capacity, MadviseHugePage); // advice only: without huge pages it is ordinary memory
    }

    /// <summary>libc's madvise, found in the process (the host or the native executable links libc); null off Linux.</summary>
    private static readonly delegate* unmanaged<void*, nuint, int, int> Madvise =
        OperatingSystem.IsLinux() && NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "madvise", out var address)
            ? (delegate* unmanaged<void*, nuint, int, int>)address
            : null;

    /// <summary>Frees the memory; the buffer may be used again (it allocates anew).</summary>
    public void Release()
    {
        if (_pointer != null) NativeMemory.AlignedFree(_pointer);
        _pointer = null;
        _capacity = _length = 0;
    }

    public override Span<byte> GetSpan() => new(_pointer, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing) => Release();

    /// <summary>The buffers of one run: one per checking thread in practice, freed when the run ends.</summary>
    internal sealed class Pool : IDisposable
    {
        private readonly ConcurrentBag<MemberBuffer> _free = new();
        private readonly ConcurrentBag<MemberBuffer> _all = new();

        /// <summary>A buffer for this thread: the one it gave back last, when there is one.</summary>
        public MemberBuffer Rent()
        {
            if (_free.TryTake(out var buffer)) return buffer;
            buffer = new MemberBuffer();
            _all.Add(buffer);
            return buffer;
        }

        public void Return(MemberBuffer buffer) => _free.Add(buffer);

        public void Dispose()
        {
            foreach (var buffer in _all) buffer.Release();
        }
    }
}
