using System.Buffers;
using System.Text;

namespace PicGuard.Diagnostics;

/// <summary>
/// A listing of findings rendered to UTF-8, as <see cref="Diagnostic.WriteTo"/> writes them: one file's, rendered on the
/// thread that checked the file (so files render, and encode, in parallel) and written out later in input order
/// (<see cref="CheckResult.Text"/>, and the CLI's listing). The bytes live in a buffer from the shared pool, returned by
/// <see cref="WriteTo"/>: a run of thousands of files allocates no string per file, and the thread that writes the
/// listings out only copies bytes to the output stream.
/// </summary>
/// <remarks>Text is encoded as each piece arrives: a surrogate pair split across two writes would not survive, and none is (a
/// single character written alone is always ASCII punctuation; names and paths come whole).</remarks>
internal sealed class ListingText : TextWriter
{
    private byte[] _buffer = []; // rented at the first write: most files checked list nothing
    private int _length;
    private readonly int _capacity;

    public ListingText(int capacity = 32768)
    {
        _capacity = capacity;
        CoreNewLine = ['\n'];
    }

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value) => Append(value);

    public override void Write(string? value) => Append(value.AsSpan());

    public override void Write(ReadOnlySpan<char> value) => Append(value);

    /// <summary>This listing as an <see cref="ITextSink"/>: finding text written into it with direct calls.</summary>
    internal Sink AsSink() => new(this);

    internal readonly struct Sink(ListingText text) : ITextSink
    {
        public void Write(string? value) => text.Append(value.AsSpan());
        public void Write(ReadOnlySpan<char> value) => text.Append(value);
        public void Write(char c) => text.Append(c);
        public void Hex(ulong value) => text.AppendHex(value);
        public void Decimal(long value) => text.AppendDecimal(value);
        public void WriteUtf8(ReadOnlySpan<byte> value) => text.AppendUtf8(value);
        public void WriteRecurring(string value) => text.AppendRecurring(value);
    }

    /// <summary>
    /// The last few recurring strings written, each with its bytes: an object's name recurs on every line of its findings,
    /// a rule's fix line (some 100 characters) on every finding of the rule. Found by reference; the oldest goes first.
    /// Kept per thread, not per listing: a listing is rendered on one thread, and a fix line recurs over files.
    /// </summary>
    [ThreadStatic] private static Recurring[]? t_recurring;
    [ThreadStatic] private static int t_recurringNext;
    private const int RecurringKept = 4;

    private struct Recurring
    {
        public string? Text;
        public byte[] Bytes;
        public int Length;
    }

    private void AppendRecurring(string value)
    {
        var kept = t_recurring ??= new Recurring[RecurringKept];
        for (int i = 0; i < kept.Length; i++)
        {
            if (ReferenceEquals(value, kept[i].Text))
            {
                AppendUtf8(kept[i].Bytes.AsSpan(0, kept[i].Length));
                return;
            }
        }
        int start = _length;
        Append(value.AsSpan());
        int length = _length - start;
        ref var slot = ref kept[t_recurringNext];
        t_recurringNext = (t_recurringNext + 1) % RecurringKept;
        if (slot.Bytes is null || slot.Bytes.Length < length) slot.Bytes = new byte[Math.Max(length, 256)];
        _buffer.AsSpan(start, length).CopyTo(slot.Bytes);
        slot.Length = length;
        slot.Text = value;
    }

    private void AppendUtf8(ReadOnlySpan<byte> value)
    {
        if (_buffer.Length - _length < value.Length) Grow(value.Length);
        value.CopyTo(_buffer.AsSpan(_length));
        _length += value.Length;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void Append(char value)
    {
        if (value < 0x80 && _length < _buffer.Length)
            _buffer[_length++] = (byte)value;
        else
            Append(new ReadOnlySpan<char>(in value));
    }

    private void Append(ReadOnlySpan<char> value)
    {
        if (_buffer.Length - _length < value.Length) Grow(value.Length);
        if (value.Length <= 16)
        {
            // Most pieces are short ("+0x", a number, ") in "): narrowed here, which costs less than setting up the vector copy.
            var to = _buffer.AsSpan(_length, value.Length);
            int i = 0;
            for (; i < value.Length && value[i] < 0x80; i++) to[i] = (byte)value[i];
            if (i == value.Length)
            {
                _length += i;
                return;
            }
        }
        // ASCII, nearly always: one narrowing copy. Otherwise the rest is encoded as UTF-8.
        if (System.Text.Ascii.FromUtf16(value, _buffer.AsSpan(_length), out int written) == OperationStatus.Done)
        {
            _length += written;
            return;
        }
        _length += written;
        var rest = value[written..];
        int most = Encoding.UTF8.GetMaxByteCount(rest.Length);
        if (_buffer.Length - _length < most) Grow(most);
        _length += Encoding.UTF8.GetBytes(rest, _buffer.AsSpan(_length));
    }

    /// <summary>Lowercase hexadecimal digits, no prefix, as bytes.</summary>
    private void AppendHex(ulong value)
    {
        int digits = Math.Max(1, (64 - System.Numerics.BitOperations.LeadingZeroCount(value) + 3) >> 2);
        if (_buffer.Length - _length < digits) Grow(digits);
        var to = _buffer.AsSpan(_length, digits);
        for (int at = digits - 1; at >= 0; at--, value >>= 4)
            to[at] = (byte)"0123456789abcdef"[(int)(value & 0xf)];
        _length += digits;
    }

    private void AppendDecimal(long value)
    {
        if (_buffer.Length - _length < 20) Grow(20);
        value.TryFormat(_buffer.AsSpan(_length), out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        _length += written;
    }

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void WriteLine() => Write('\n');

    private void Grow(int needed)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(Math.Max(_buffer.Length * 2, _capacity), _length + needed));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    /// <summary>
    /// Writes the text to <paramref name="writer"/> and gives the buffer back: the object is empty after. A UTF-8
    /// <see cref="StreamWriter"/> gets the bytes on its stream (after what it holds); any other writer gets the text.
    /// </summary>
    public void WriteTo(TextWriter writer)
    {
        var bytes = _buffer.AsSpan(0, _length);
        if (writer is StreamWriter { Encoding: UTF8Encoding } stream)
        {
            stream.Flush();
            stream.BaseStream.Write(bytes);
        }
        else
        {
            writer.Write(Encoding.UTF8.GetString(bytes));
        }
        _length = 0;
        Release();
    }

    private void Release()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }

    protected override void Dispose(bool disposing)
    {
        Release();
        base.Dispose(disposing);
    }
}
