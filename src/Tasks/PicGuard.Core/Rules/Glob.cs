using System.Numerics;

namespace PicGuard.Rules;

/// <summary>Shell-style globs (<c>*</c> and <c>?</c>) for symbol and section names.</summary>
public static class Glob
{
    public static bool MatchesAny(string text, IReadOnlyList<string>? patterns)
    {
        if (patterns is null) return false;
        for (int i = 0; i < patterns.Count; i++) // not foreach: no enumerator to allocate
            if (Matches(text, patterns[i])) return true;
        return false;
    }

    /// <summary>
    /// As <see cref="MatchesAny(string, IReadOnlyList{string}?)"/> for a name still in the file's bytes (UTF-8, without its NUL):
    /// an ASCII name is matched byte by byte without decoding it; any other is decoded first.
    /// </summary>
    public static bool MatchesAny(ReadOnlySpan<byte> utf8Name, IReadOnlyList<string>? patterns)
    {
        if (patterns is null) return false;
        if (!System.Text.Ascii.IsValid(utf8Name)) return MatchesAny(System.Text.Encoding.UTF8.GetString(utf8Name), patterns);
        for (int i = 0; i < patterns.Count; i++)
            if (Matches<byte>(utf8Name, patterns[i])) return true;
        return false;
    }

    public static bool Matches(ReadOnlySpan<char> text, ReadOnlySpan<char> pattern) => Matches<char>(text, pattern);

    /// <summary>The one matcher, over UTF-16 text or ASCII bytes (each byte is the character of the same code).</summary>
    private static bool Matches<T>(ReadOnlySpan<T> text, ReadOnlySpan<char> pattern) where T : unmanaged, INumberBase<T>
    {
        int t = 0, p = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == ushort.CreateTruncating(text[t]))) { t++; p++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = t; }
            else if (star >= 0) { p = star + 1; t = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }
}
