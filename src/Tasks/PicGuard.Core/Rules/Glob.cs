namespace PicGuard.Rules;

/// <summary>Shell-style globs (<c>*</c> and <c>?</c>) for symbol and section names.</summary>
public static class Glob
{
    public static bool MatchesAny(string text, IReadOnlyList<string>? patterns)
    {
        if (patterns is null) return false;
        foreach (var p in patterns)
            if (Matches(text, p)) return true;
        return false;
    }

    public static bool Matches(ReadOnlySpan<char> text, ReadOnlySpan<char> pattern)
    {
        int t = 0, p = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t])) { t++; p++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = t; }
            else if (star >= 0) { p = star + 1; t = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }
}
