using System.Buffers;
using System.Text;

namespace PicGuard.Cli;

/// <summary>
/// One file's listing, rendered to text on the thread that checked the file (so files render in parallel) and
/// written out later in input order. The characters live in a buffer from the shared pool, returned by
/// <see cref="WriteTo"/>: a run of thousands of files allocates no string per file.
/// </summary>
internal sealed class RenderedText : TextWriter
{
    private char[] _buffer;
    private int _length;

    public RenderedText(int capacity = 4096)
    {
        _buffer = ArrayPool<char>.Shared.Rent(capacity);
        CoreNewLine = ['\n'];
    }

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        if (_length == _buffer.Length) Grow(1);
        _buffer[_length++] = value;
    }

    public override void Write(string? value) => Write(value.AsSpan());

    public override void Write(ReadOnlySpan<char> value)
    {
        if (_buffer.Length - _length < value.Length) Grow(value.Length);
        value.CopyTo(_buffer.AsSpan(_length));
        _length += value.Length;
    }

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void WriteLine() => Write('\n');

    private void Grow(int needed)
    {
        var bigger = ArrayPool<char>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + needed));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<char>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    /// <summary>Writes the text to <paramref name="writer"/> and gives the buffer back: the object is empty after.</summary>
    public void WriteTo(TextWriter writer)
    {
        writer.Write(_buffer.AsSpan(0, _length));
        _length = 0;
        Release();
    }

    private void Release()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0) ArrayPool<char>.Shared.Return(buffer);
    }

    protected override void Dispose(bool disposing)
    {
        Release();
        base.Dispose(disposing);
    }
}
