using System.Text.RegularExpressions;

namespace PicGuard.Build;

/// <summary>One diagnostic a compiler or linker printed, with the note and context lines that follow it.</summary>
public sealed record ToolDiagnostic(string? File, int Line, int Column, bool IsError, string Message, List<string> Context);

/// <summary>
/// Parses gcc, clang, GNU ld and ld.lld output into diagnostics. Unlike MSBuild's canonical
/// parser it keeps <c>fatal error:</c>, attaches <c>note:</c>, "In file included from" and
/// lld's <c>&gt;&gt;&gt;</c> lines to the diagnostic they explain, and never invents codes.
/// </summary>
public static partial class ToolOutput
{
    // file:line:col: error: text   |   file:line: warning: text
    [GeneratedRegex(@"^(?<file>[^:\n]+?):(?<line>\d+):(?:(?<col>\d+):)?\s*(?<kind>fatal error|error|warning|note|remark):\s*(?<msg>.*)$")]
    private static partial Regex Located();

    // tool: error: text  (cc1, clang, ld, ld.lld-19, collect2…)
    [GeneratedRegex(@"^(?<tool>[^\s:]+):\s*(?<kind>fatal error|error|warning|note):\s*(?<msg>.*)$")]
    private static partial Regex Unlocated();

    public static List<ToolDiagnostic> Parse(string output)
    {
        var result = new List<ToolDiagnostic>();
        var pending = new List<string>(); // "In file included from" lines belong to the next diagnostic
        ToolDiagnostic? last = null;
        foreach (var raw in output.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            var m = Located().Match(line);
            if (m.Success)
            {
                string kind = m.Groups["kind"].Value;
                if (kind is "note" or "remark")
                {
                    if (last is not null) last.Context.Add($"{kind}: {m.Groups["msg"].Value} ({m.Groups["file"].Value}:{m.Groups["line"].Value})");
                    continue;
                }
                last = new ToolDiagnostic(m.Groups["file"].Value, int.Parse(m.Groups["line"].Value),
                    m.Groups["col"].Success ? int.Parse(m.Groups["col"].Value) : 0,
                    kind != "warning", m.Groups["msg"].Value, new List<string>(pending));
                pending.Clear();
                result.Add(last);
                continue;
            }
            m = Unlocated().Match(line);
            if (m.Success)
            {
                string kind = m.Groups["kind"].Value;
                if (kind == "note")
                {
                    last?.Context.Add("note: " + m.Groups["msg"].Value);
                    continue;
                }
                last = new ToolDiagnostic(null, 0, 0, kind != "warning", $"{m.Groups["tool"].Value}: {m.Groups["msg"].Value}", new List<string>(pending));
                pending.Clear();
                result.Add(last);
                continue;
            }
            if (line.StartsWith("In file included from", StringComparison.Ordinal) || line.StartsWith("                 from", StringComparison.Ordinal))
            {
                pending.Add(line.Trim());
                continue;
            }
            // Source excerpts, carets, lld's ">>> referenced by" and bfd's "in function" lines explain the last diagnostic.
            if (last is not null && last.Context.Count < 8)
                last.Context.Add(line.StartsWith(">>> ", StringComparison.Ordinal) ? line[4..] : line.Trim());
        }
        return result;
    }
}
