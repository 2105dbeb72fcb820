using System.Runtime.InteropServices;

namespace PicGuard.Cli;

/// <summary>
/// Standard output or standard error written with <c>write(2)</c> on its descriptor, not through <see cref="Console"/>:
/// on Unix the first write through a console stream sets up terminal and signal handling (a thread, signal handlers, the
/// terminal's settings), about 1 ms of the 8 ms it takes to check one small object. A plain <see cref="FileStream"/> will
/// not do: on a regular file it writes at a position of its own (<c>pwrite</c>), so standard output and error sent to
/// one file (<c>&gt;log 2&gt;&amp;1</c>) would overwrite each other. Like the console's stream, it ends quietly when
/// the reader has gone away (<c>picguard check … | head</c>: EPIPE) or the descriptor is closed (<c>2&gt;&amp;-</c>).
/// Off Linux it is the console's stream.
/// </summary>
internal sealed unsafe class StandardStream : Stream
{
    private const int Interrupted = 4, BadDescriptor = 9, WouldBlock = 11, BrokenPipe = 32; // EINTR, EBADF, EAGAIN, EPIPE

    /// <summary>libc's write and errno, found in the process (the native executable or the host links libc); null off Linux.</summary>
    private static readonly delegate* unmanaged<int, byte*, nuint, nint> WriteCall;
    private static readonly delegate* unmanaged<int*> ErrnoLocation;

    static StandardStream()
    {
        if (!OperatingSystem.IsLinux()) return;
        var process = NativeLibrary.GetMainProgramHandle();
        if (NativeLibrary.TryGetExport(process, "write", out var write) && NativeLibrary.TryGetExport(process, "__errno_location", out var errno))
        {
            WriteCall = (delegate* unmanaged<int, byte*, nuint, nint>)write;
            ErrnoLocation = (delegate* unmanaged<int*>)errno;
        }
    }

    private readonly int _descriptor;
    private bool _readerGone;

    private StandardStream(int descriptor) => _descriptor = descriptor;

    /// <summary>Standard output (1) or standard error (2).</summary>
    public static Stream Open(int descriptor) =>
        WriteCall != null && ErrnoLocation != null ? new StandardStream(descriptor)
        : descriptor == 1 ? Console.OpenStandardOutput() : Console.OpenStandardError();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            int done = 0;
            while (done < buffer.Length && !_readerGone)
            {
                nint written = WriteCall(_descriptor, start + done, (nuint)(buffer.Length - done));
                if (written >= 0)
                {
                    done += (int)written;
                    continue;
                }
                int errno = *ErrnoLocation();
                if (errno == Interrupted) continue;
                if (errno == WouldBlock)
                {
                    Thread.Sleep(1); // a non-blocking descriptor whose reader is behind
                    continue;
                }
                if (errno is BrokenPipe or BadDescriptor)
                {
                    _readerGone = true; // nobody reads any more (or the descriptor was closed at start): the rest is dropped
                    return;
                }
                throw new IOException($"cannot write to {(_descriptor == 1 ? "standard output" : "standard error")} (errno {errno})", errno);
            }
        }
    }

    public override void Flush()
    {
        // Nothing is buffered here; the writer above buffers.
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
