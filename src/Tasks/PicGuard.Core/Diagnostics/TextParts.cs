using System.Globalization;

namespace PicGuard.Diagnostics;

/// <summary>
/// Writing a finding's text from its parts (<see cref="RelocationParts"/>, <see cref="RelocationTarget"/>,
/// <see cref="ObjectLocation"/>): numbers written without a string of their own, and the same text as a string when
/// it is read, so each part has one form whether written or read.
/// </summary>
internal static class TextParts
{
    /// <summary>Lowercase hexadecimal digits, no prefix, as <c>x</c> formats them (written here: a format string is parsed on every call).</summary>
    public static void Hex(TextWriter writer, ulong value)
    {
        Span<char> digits = stackalloc char[16];
        int at = digits.Length;
        do
        {
            digits[--at] = "0123456789abcdef"[(int)(value & 0xf)];
            value >>= 4;
        }
        while (value != 0);
        writer.Write(digits[at..]);
    }

    public static void Decimal(TextWriter writer, long value)
    {
        Span<char> digits = stackalloc char[20];
        value.TryFormat(digits, out int n, default, CultureInfo.InvariantCulture);
        writer.Write(digits[..n]);
    }

    /// <summary>What <paramref name="write"/> writes of <paramref name="parts"/>, as a string.</summary>
    public static string Written<T>(T parts, Action<T, TextWriter> write)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        write(parts, writer);
        return writer.ToString();
    }
}

/// <summary>
/// Where a finding's text goes, piece by piece. Writers of finding text are generic over a struct sink, so writing into a
/// <see cref="ListingText"/> (the CLI's listing) is direct calls the compiler inlines, while any other
/// <see cref="TextWriter"/> (<see cref="WriterSink"/>) gets the same text from the same code.
/// </summary>
internal interface ITextSink
{
    void Write(string? text);
    void Write(ReadOnlySpan<char> text);
    void Write(char c);
    /// <summary>Lowercase hexadecimal digits, no prefix.</summary>
    void Hex(ulong value);
    void Decimal(long value);
    /// <summary>Text already in UTF-8 (<see cref="NameText"/>).</summary>
    void WriteUtf8(ReadOnlySpan<byte> text);
    /// <summary>A string written again and again (an object's name, on every line of its findings): its bytes may be kept.</summary>
    void WriteRecurring(string text);
}

/// <summary>An <see cref="ITextSink"/> over any <see cref="TextWriter"/>.</summary>
internal readonly struct WriterSink(TextWriter writer) : ITextSink
{
    public void Write(string? text) => writer.Write(text);
    public void Write(ReadOnlySpan<char> text) => writer.Write(text);
    public void Write(char c) => writer.Write(c);
    public void Hex(ulong value) => TextParts.Hex(writer, value);
    public void Decimal(long value) => TextParts.Decimal(writer, value);
    public void WriteRecurring(string text) => writer.Write(text);

    public void WriteUtf8(ReadOnlySpan<byte> text)
    {
        Span<char> chars = text.Length <= 256 ? stackalloc char[text.Length] : new char[text.Length];
        writer.Write(chars[..System.Text.Encoding.UTF8.GetChars(text, chars)]);
    }
}

/// <summary>
/// A name as finding text writes it: a string, or the bytes of an ELF string table that are already the text (printable
/// ASCII), held while the object's data is in memory, for a listing written as text (<see cref="CheckOptions.ListsText"/>),
/// which then makes no string of a symbol's or function's name. <c>default</c> is no name.
/// </summary>
internal readonly struct NameText
{
    private readonly string? _text;
    private readonly ReadOnlyMemory<byte> _ascii;

    private NameText(string? text, ReadOnlyMemory<byte> ascii) => (_text, _ascii) = (text, ascii);

    public static implicit operator NameText(string? text) => new(text, default);

    /// <summary>The bytes of a name already known to be printable ASCII, as its text; null when there are none (decode the name instead).</summary>
    public static NameText? Printable(ReadOnlyMemory<byte> bytes) => bytes.Length > 0 ? new NameText(null, bytes) : null;

    /// <summary>No name (<c>default</c>).</summary>
    public bool IsNone => _text is null && _ascii.IsEmpty;

    public bool IsEmpty => _text is null ? _ascii.IsEmpty : _text.Length == 0;

    /// <summary>The name as a string (made here for bytes); null for no name.</summary>
    public string? Text => _text ?? (_ascii.IsEmpty ? null : System.Text.Encoding.ASCII.GetString(_ascii.Span));

    public void WriteTo<TSink>(TSink writer) where TSink : struct, ITextSink
    {
        if (_text is not null) writer.Write(_text);
        else writer.WriteUtf8(_ascii.Span);
    }

    public override string ToString() => Text ?? "";
}

