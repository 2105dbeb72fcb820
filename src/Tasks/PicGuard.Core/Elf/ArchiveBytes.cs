using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace PicGuard.Elf;

/// <summary>
/// Where <see cref="ArArchive"/> reads an archive from: bytes in memory, or a file read by position. Headers and the
/// long-name table are read as they are walked; a member's bytes are a slice of the memory, or a <see cref="FileRange"/>
/// that is read only when used.
/// </summary>
internal abstract class ArchiveBytes
{
    public abstract long Length { get; }

    /// <summary>The bytes at <paramref name="offset"/>, now (a header, a name, the long-name table).</summary>
    public abstract ReadOnlyMemory<byte> Read(long offset, int length);

    /// <summary>A member's bytes, read when used.</summary>
    public abstract ReadOnlyMemory<byte> Member(long offset, int length);

    public sealed class InMemory(ReadOnlyMemory<byte> bytes) : ArchiveBytes
    {
        public override long Length => bytes.Length;
        public override ReadOnlyMemory<byte> Read(long offset, int length) => bytes.Slice((int)offset, length);
        public override ReadOnlyMemory<byte> Member(long offset, int length) => bytes.Slice((int)offset, length);
    }

    public sealed class InFile(SafeFileHandle file, long length) : ArchiveBytes
    {
        public override long Length => length;

        public override ReadOnlyMemory<byte> Read(long offset, int count)
        {
            var bytes = new byte[count];
            if (FileContents.ReadAt(file, offset, bytes) != count)
                throw new ElfFormatException($"archive bytes at 0x{offset:x} could not be read: the file ends at 0x{offset + count:x} or shrank while read");
            return bytes;
        }

        public override ReadOnlyMemory<byte> Member(long offset, int count) => new FileRange(file, offset, count).Unread;
    }
}

/// <summary>
/// A member of an archive in a file, not read yet: <see cref="Checker"/> reads it into a reusable
/// <see cref="MemberBuffer"/> (<see cref="ReadInto"/>); anything else that asks for its bytes gets them read into an
/// array of their own, once.
/// </summary>
internal sealed class FileRange(SafeFileHandle file, long offset, int length) : MemoryManager<byte>
{
    private byte[]? _bytes;

    /// <summary>Reads <paramref name="count"/> bytes from <paramref name="start"/> of the range into <paramref name="into"/>; how many were read (fewer only if the file shrank).</summary>
    public int ReadInto(int start, int count, Span<byte> into) => FileContents.ReadAt(file, offset + start, into[..count]);

    /// <summary>The range as memory, not read yet (<see cref="MemoryManager{T}.Memory"/> would read it for its length).</summary>
    public ReadOnlyMemory<byte> Unread => CreateMemory(length);

    public override Span<byte> GetSpan()
    {
        if (_bytes is null)
        {
            var bytes = new byte[length];
            int read = FileContents.ReadAt(file, offset, bytes);
            _bytes = read == length ? bytes : bytes[..read]; // a file that shrank gives what it still has, and the check says the member is cut short
        }
        return _bytes;
    }

    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        GetSpan();
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(_bytes, System.Runtime.InteropServices.GCHandleType.Pinned);
        return new MemoryHandle((byte*)handle.AddrOfPinnedObject() + elementIndex, handle);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
