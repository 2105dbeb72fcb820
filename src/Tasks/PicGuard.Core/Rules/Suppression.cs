namespace PicGuard.Rules;

/// <summary>
/// One accepted finding (<c>&lt;PicSuppress Include="PG0004" Symbol="__phys_addr" Section=".pi.text" Justification="…"/&gt;</c>,
/// CLI <c>--suppress PG0004:__phys_addr@.pi.text</c>). Every field but the code is a glob; an empty field matches anything.
/// A suppressed finding is not an error; it is counted and listed as suppressed in the summary.
/// </summary>
public sealed record Suppression(string Code, string? Symbol = null, string? Section = null, string? File = null, string? Justification = null)
{
    /// <summary>
    /// Parses the command-line form <c>CODE[:SYMBOL][@SECTION]</c>, e.g. <c>PG0004:__phys_addr@.pi.text</c>.
    /// Returns false with a message naming what is wrong.
    /// </summary>
    public static bool TryParse(string text, out Suppression suppression, out string error)
    {
        suppression = null!;
        error = "";
        string rest = text.Trim();
        string? section = null, symbol = null;
        int at = rest.IndexOf('@');
        if (at >= 0) { section = rest[(at + 1)..]; rest = rest[..at]; }
        int colon = rest.IndexOf(':');
        if (colon >= 0) { symbol = rest[(colon + 1)..]; rest = rest[..colon]; }
        if (!IsCode(rest))
        {
            error = $"'{text}' does not start with a PicGuard code (PGnnnn or a glob such as PG00*); the form is CODE[:SYMBOL][@SECTION]";
            return false;
        }
        suppression = new Suppression(rest.ToUpperInvariant(), Empty(symbol), Empty(section));
        return true;
    }

    /// <summary>A code or a code glob: "PG" then four digits or '*'/'?'.</summary>
    public static bool IsCode(string code) =>
        code.Length >= 3 && code.StartsWith("PG", StringComparison.OrdinalIgnoreCase) && code[2..].All(c => char.IsAsciiDigit(c) || c is '*' or '?');

    /// <summary>Whether this suppression covers a finding of <paramref name="code"/> against <paramref name="symbol"/> from <paramref name="section"/> in <paramref name="file"/>.</summary>
    public bool Covers(string code, string? symbol, string? section, string? file) =>
        Glob.Matches(code, Code)
        && (Symbol is null || symbol is not null && Glob.Matches(symbol, Symbol))
        && (Section is null || section is not null && Glob.Matches(section, Section))
        && (File is null || file is not null && (Glob.Matches(file, File) || Glob.Matches(System.IO.Path.GetFileName(file), File)));

    private static string? Empty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
