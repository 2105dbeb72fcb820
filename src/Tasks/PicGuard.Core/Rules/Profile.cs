namespace PicGuard.Rules;

/// <summary>
/// A loader profile: which rules run for a kind of blob and at what severity. Profiles are data;
/// the table of them is <see cref="Profiles.All"/> and docs/profiles.md.
/// </summary>
public sealed record Profile(string Name, string Description, IReadOnlyDictionary<string, Severity> SeverityOverrides)
{
    /// <summary>The severity the rule has under this profile; <see cref="Severity.None"/> turns it off.</summary>
    public Severity SeverityOf(Rule rule) =>
        SeverityOverrides.TryGetValue(rule.Code, out var s) ? s : rule.DefaultSeverity;
}

public static class Profiles
{
    public static readonly Profile Generic = new(
        "generic",
        "Position-independent code loaded at an arbitrary address: every rule at its default severity.",
        new Dictionary<string, Severity>());

    public static readonly IReadOnlyList<Profile> All = [Generic];

    public static string Names => string.Join(", ", All.Select(p => p.Name));

    public static bool TryGet(string? name, out Profile profile)
    {
        profile = All.FirstOrDefault(p => string.Equals(p.Name, string.IsNullOrWhiteSpace(name) ? Generic.Name : name.Trim(), StringComparison.OrdinalIgnoreCase))!;
        return profile is not null;
    }
}
