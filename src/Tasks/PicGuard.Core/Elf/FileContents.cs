using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace PicGuard.Elf;

/// <summary>
/// A file's bytes as <see cref="Memory{T}"/>, valid until <see cref="Dispose"/>.
/// <para>
/// Files smaller than <see cref="MapFrom"/> are read whole into a pooled buffer; larger ones are memory-mapped
/// read-only, so a check touches only the pages it reads (headers, relocation and symbol tables). Mapping every
/// file made unmapping the cost of a many-file run: each munmap of a multi-threaded process flushes the TLB of
/// every core that ran it, by interrupt. Measured on 2 cores, 4,023 kernel modules (400 MB, median 35 KB):
/// mapped 1.12-1.34 s, read 0.49-0.53 s; the 216 llvm-19 archives (326 MB, most over 1 MB) read whole into fresh
/// pooled buffers took 0.63 s against 0.34 s mapped (first touch of the buffers, and the copy of code the check never
/// looks at); archives are now read neither way (below).
/// </para>
/// Files that cannot be mapped (pipes, /proc files whose size reads as 0) are read too.
/// <see cref="Checker.CheckFiles"/> reads neither way an archive it is given: it finds the members by reading their headers
/// by position and reads each member into a <see cref="MemberBuffer"/> (see there why); in a run of several files it reads
/// small object files into those buffers too.
/// </summary>
internal sealed unsafe class FileContents : MemoryManager<byte>
{
    /// <summary>Files of this size or larger are mapped, smaller ones read.</summary>
    public const int MapFrom = 1 << 20;

    /// <summary>Whether a file of <paramref name="length"/> bytes is read whole rather than mapped.</summary>
    public static bool IsReadWhole(long length) => length < MapFrom;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte[]? _buffer;
    private readonly bool _pooled;
    private readonly int _length;
    private byte* _pointer;

    private FileContents(MemoryMappedFile map, MemoryMappedViewAccessor view, int length)
    {
        _map = map;
        _view = view;
        _length = length;
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _pointer = p + view.PointerOffset;
    }

    private FileContents(byte[] buffer, int length, bool pooled)
    {
        _buffer = buffer;
        _length = length;
        _pooled = pooled;
    }

    /// <summary>The file's bytes; valid until <see cref="Dispose"/>.</summary>
    public ReadOnlyMemory<byte> Data => _buffer is not null ? _buffer.AsMemory(0, _length) : Memory;

    /// <summary>
    /// Reads or maps <paramref name="path"/>. Throws <see cref="IOException"/> or
    /// <see cref="UnauthorizedAccessException"/> when the file cannot be opened, and
    /// <see cref="ElfFormatException"/> when it is too large to check (2 GiB or more).
    /// </summary>
    public static FileContents Open(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1, FileOptions.None);
        long length = stream.CanSeek ? stream.Length : 0;
        if (length > int.MaxValue)
            throw new ElfFormatException($"file size 0x{length:x} is 2 GiB or more; PicGuard checks objects and archives smaller than that");
        if (length == 0)
            return Unpooled(ReadAll(stream)); // empty file, pipe, or a /proc file whose size reads as 0
        if (IsReadWhole(length))
            return ReadPooled(stream.SafeFileHandle, (int)length);
        MemoryMappedFile map;
        try
        {
            map = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            stream.Position = 0;
            return Unpooled(ReadAll(stream));
        }
        try
        {
            var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            return new FileContents(map, view, (int)length);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>What <see cref="Probe"/> found a path to hold.</summary>
    public enum Kind
    {
        /// <summary>Anything <see cref="Open"/> is left to read, map or report: a large object, an empty or unreadable file, a directory.</summary>
        Other,
        /// <summary>A file under <see cref="MapFrom"/> that does not start as an <c>ar</c> archive, left open for <see cref="Read"/>.</summary>
        SmallObject,
        /// <summary>An <c>ar</c> archive, left open for <see cref="ArArchive.ReadMembers(Microsoft.Win32.SafeHandles.SafeFileHandle, long, string)"/>.</summary>
        Archive,
    }

    /// <summary>
    /// Opens <paramref name="path"/> and reads its first 8 bytes. A small object is kept open for <see cref="Read"/>: the
    /// caller hands the reading (most of a small file's cost) to another thread. An archive is kept open for its members to
    /// be found and read by position. Anything else is closed again (<see cref="Kind.Other"/>).
    /// </summary>
    public static Kind Probe(string path, out Microsoft.Win32.SafeHandles.SafeFileHandle? handle, out long length)
    {
        handle = null;
        length = 0;
        Microsoft.Win32.SafeHandles.SafeFileHandle opened;
        try
        {
            opened = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return Kind.Other;
        }
        try
        {
            long size = RandomAccess.GetLength(opened);
            Span<byte> magic = stackalloc byte[8];
            if (size > 0 && size <= int.MaxValue)
            {
                var kind = ArArchive.HasArchiveMagic(magic[..RandomAccess.Read(opened, magic, 0)]) ? Kind.Archive
                    : IsReadWhole(size) ? Kind.SmallObject
                    : Kind.Other;
                if (kind != Kind.Other)
                {
                    (handle, length) = (opened, size);
                    return kind;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
        }
        opened.Dispose();
        return Kind.Other;
    }

    /// <summary>Reads a small object <see cref="Probe"/> opened, and closes it.</summary>
    public static FileContents Read(Microsoft.Win32.SafeHandles.SafeFileHandle handle, int length)
    {
        using (handle)
            return ReadPooled(handle, length);
    }

    /// <summary>Reads the file into a buffer from the shared pool; a file that shrank while read keeps what was read.</summary>
    private static FileContents ReadPooled(Microsoft.Win32.SafeHandles.SafeFileHandle handle, int length)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            return new FileContents(buffer, ReadAt(handle, 0, buffer.AsSpan(0, length)), pooled: true);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>Reads by position (pread) until <paramref name="into"/> is full or the file ends; how many bytes were read.</summary>
    public static int ReadAt(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, Span<byte> into)
    {
        int read = 0;
        while (read < into.Length)
        {
            int n = RandomAccess.Read(file, into[read..], offset + read);
            if (n == 0) break;
            read += n;
        }
        return read;
    }

    private static FileContents Unpooled(byte[] bytes) => new(bytes, bytes.Length, pooled: false);

    private static byte[] ReadAll(Stream stream)
    {
        var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    public override Span<byte> GetSpan()
    {
        if (_buffer is not null) return _buffer.AsSpan(0, _length);
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        return new Span<byte>(_pointer, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if (_buffer is not null) throw new NotSupportedException("pin the array instead");
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        return new MemoryHandle(_pointer + elementIndex);
    }

    public override void Unpin()
    {
    }

    /// <summary>Unmaps the view or returns the buffer to the pool: nothing taken from <see cref="Data"/> may be used after.</summary>
    public void Dispose() => ((IDisposable)this).Dispose();

    protected override void Dispose(bool disposing)
    {
        if (_view is not null && _pointer != null)
        {
            _pointer = null;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _map!.Dispose();
        }
        if (_buffer is { } buffer)
        {
            _buffer = null;
            if (_pooled) ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
