using System.Text;

namespace PicGuard.Build;

/// <summary>Reads the make-style dependency file gcc and clang write with <c>-MD -MF</c>.</summary>
public static class DependencyFile
{
    /// <summary>The prerequisites of the file's first rule, unescaped (<c>\ </c>, <c>\#</c>, <c>$$</c>); none when it is missing or unreadable.</summary>
    public static IReadOnlyList<string> Read(string path)
    {
        if (!File.Exists(path)) return [];
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException) { return []; }
        catch (UnauthorizedAccessException) { return []; }
        return Parse(text);
    }

    public static IReadOnlyList<string> Parse(string text)
    {
        text = text.Replace("\\\r\n", " ").Replace("\\\n", " ");
        int colon = text.IndexOf(": ", StringComparison.Ordinal);
        if (colon < 0) return [];
        var result = new List<string>();
        var current = new StringBuilder();
        string rest = text[(colon + 2)..];
        int end = rest.IndexOf('\n');
        if (end >= 0) rest = rest[..end];
        for (int i = 0; i < rest.Length; i++)
        {
            char c = rest[i];
            if (c == '\\' && i + 1 < rest.Length && rest[i + 1] is ' ' or '#') { current.Append(rest[++i]); continue; }
            if (c == '$' && i + 1 < rest.Length && rest[i + 1] == '$') { current.Append('$'); i++; continue; }
            if (char.IsWhiteSpace(c))
            {
                if (current.Length > 0) { result.Add(current.ToString()); current.Clear(); }
                continue;
            }
            current.Append(c);
        }
        if (current.Length > 0) result.Add(current.ToString());
        return result;
    }
}
