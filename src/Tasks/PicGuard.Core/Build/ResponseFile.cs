using System.Text;

namespace PicGuard.Build;

/// <summary>
/// The response files (<c>@file</c>) PicGuard compiles with: one argument per line, with whitespace,
/// quotes and backslashes escaped by a backslash, which gcc's and clang's @file readers both undo.
/// </summary>
public static class ResponseFile
{
    public static string Format(IEnumerable<string> arguments)
    {
        var sb = new StringBuilder();
        foreach (var argument in arguments)
        {
            foreach (char c in argument)
            {
                if (char.IsWhiteSpace(c) || c is '\'' or '"' or '\\') sb.Append('\\');
                sb.Append(c);
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The arguments of a file <see cref="Format"/> wrote.</summary>
    public static IReadOnlyList<string> Parse(string text)
    {
        var arguments = new List<string>();
        var current = new StringBuilder();
        bool any = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\' && i + 1 < text.Length)
            {
                current.Append(text[++i]);
                any = true;
            }
            else if (c == '\n')
            {
                if (any) arguments.Add(current.ToString());
                current.Clear();
                any = false;
            }
            else
            {
                current.Append(c);
                any = true;
            }
        }
        if (any) arguments.Add(current.ToString());
        return arguments;
    }
}
