using System.Security.Cryptography;
using System.Text;

namespace PicGuard.Build;

/// <summary>
/// Where the object of each source goes. A source inside the project directory mirrors its path
/// under the object directory (<c>arch/x86_64/util.c</c> → <c>arch/x86_64/util.c.o</c>), the way
/// MSBuild's <c>%(RecursiveDir)</c> does; a source anywhere else goes to
/// <c>_ext/&lt;folder&gt;-&lt;hash&gt;/util.c.o</c>, where the hash is a short stable digest of its
/// folder's full path. Two different sources never share an object, whatever their names.
/// </summary>
public static class ObjectLayout
{
    /// <summary>The folder, under the object directory, that holds objects of sources outside the project.</summary>
    public const string ExternalFolder = "_ext";

    /// <summary>
    /// The object file of <paramref name="sourceFullPath"/>, relative to the object directory; paths use
    /// the platform's separator. <paramref name="projectDirectory"/> is the root sources mirror from.
    /// </summary>
    public static string RelativeObjectPath(string projectDirectory, string sourceFullPath)
    {
        string source = Path.GetFullPath(sourceFullPath);
        string relative = Path.GetRelativePath(Path.GetFullPath(projectDirectory), source);
        if (!Path.IsPathRooted(relative) && !EscapesRoot(relative))
            return relative + ".o";
        string folder = Path.GetDirectoryName(source) ?? "";
        return Path.Combine(ExternalFolder, $"{Readable(Path.GetFileName(folder))}-{ShortHash(folder)}", Path.GetFileName(source) + ".o");
    }

    private static bool EscapesRoot(string relative) =>
        relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal)
        || relative.StartsWith("../", StringComparison.Ordinal);

    /// <summary>The folder's name with anything but letters, digits, '.', '-' and '_' made '_'; "root" for the file system root.</summary>
    private static string Readable(string name)
    {
        if (name.Length == 0) return "root";
        var sb = new StringBuilder(name.Length);
        foreach (char c in name)
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        return sb.ToString();
    }

    /// <summary>The first 8 hex digits of the SHA-256 of the UTF-8 path: stable across machines and runs.</summary>
    private static string ShortHash(string path) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(path)), 0, 4).ToLowerInvariant();
}
