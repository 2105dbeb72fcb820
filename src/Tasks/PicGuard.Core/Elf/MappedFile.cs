using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace PicGuard.Elf;

/// <summary>
/// A file's bytes as <see cref="Memory{T}"/> over a read-only memory-mapped view, so a check
/// touches only the pages it reads (headers, relocation and symbol tables) instead of copying
/// the whole file. Files that cannot be mapped (empty files, pipes, /proc) are read into an
/// array instead. Dispose unmaps the view: no span or memory taken from it may be used after.
/// </summary>
internal sealed unsafe class MappedFile : MemoryManager<byte>
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte[]? _copy;
    private readonly int _length;
    private byte* _pointer;

    private MappedFile(MemoryMappedFile map, MemoryMappedViewAccessor view, int length)
    {
        _map = map;
        _view = view;
        _length = length;
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _pointer = p + view.PointerOffset;
    }

    private MappedFile(byte[] copy)
    {
        _copy = copy;
        _length = copy.Length;
    }

    /// <summary>The file's bytes; valid until <see cref="Dispose(bool)"/>.</summary>
    public ReadOnlyMemory<byte> Data => _copy ?? Memory;

    /// <summary>
    /// Maps <paramref name="path"/> read-only. Throws <see cref="IOException"/> or
    /// <see cref="UnauthorizedAccessException"/> when the file cannot be opened, and
    /// <see cref="ElfFormatException"/> when it is too large to check (2 GiB or more).
    /// </summary>
    public static MappedFile Open(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1, FileOptions.None);
        long length = stream.CanSeek ? stream.Length : 0;
        if (length > int.MaxValue)
            throw new ElfFormatException($"file size 0x{length:x} is 2 GiB or more; PicGuard checks objects and archives smaller than that");
        if (length == 0)
            return new MappedFile(ReadAll(stream)); // empty file, pipe, or a /proc file whose size reads as 0
        MemoryMappedFile map;
        try
        {
            map = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            stream.Position = 0;
            return new MappedFile(ReadAll(stream));
        }
        try
        {
            var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            return new MappedFile(map, view, (int)length);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    private static byte[] ReadAll(Stream stream)
    {
        var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    public override Span<byte> GetSpan()
    {
        if (_copy is not null) return _copy;
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        return new Span<byte>(_pointer, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if (_copy is not null) throw new NotSupportedException("pin the array instead");
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        return new MemoryHandle(_pointer + elementIndex);
    }

    public override void Unpin()
    {
    }

    /// <summary>Unmaps the view (or drops the copy).</summary>
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
    }
}
