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
}

/// <summary>An <see cref="ITextSink"/> over any <see cref="TextWriter"/>.</summary>
internal readonly struct WriterSink(TextWriter writer) : ITextSink
{
    public void Write(string? text) => writer.Write(text);
    public void Write(ReadOnlySpan<char> text) => writer.Write(text);
    public void Write(char c) => writer.Write(c);
    public void Hex(ulong value) => TextParts.Hex(writer, value);
    public void Decimal(long value) => TextParts.Decimal(writer, value);
}

