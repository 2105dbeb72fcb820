namespace PicGuard.Build;

/// <summary>Finds a tool the way a shell would: a path as given, or a bare name on PATH.</summary>
public static class ToolLocator
{
    public static string? Find(string? tool)
    {
        if (string.IsNullOrWhiteSpace(tool)) return null;
        tool = tool.Trim();
        if (tool.Contains('/'))
            return File.Exists(tool) ? Path.GetFullPath(tool) : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The Debian package that provides a tool PicGuard drives, for "install …" hints.</summary>
    public static string InstallHint(string tool)
    {
        string name = Path.GetFileName(tool);
        if (name.StartsWith("clang-", StringComparison.Ordinal)) return $"apt-get install {name}";
        if (name.StartsWith("ld.lld-", StringComparison.Ordinal)) return $"apt-get install lld-{name["ld.lld-".Length..]}";
        return name switch
        {
            "gcc" or "cc" => "apt-get install gcc",
            "ld" or "ld.bfd" or "as" => "apt-get install binutils",
            "clang" => "apt-get install clang",
            "ld.lld" => "apt-get install lld",
            _ => $"install {name}",
        };
    }
}
