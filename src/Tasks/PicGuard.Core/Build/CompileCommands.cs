using System.Text;
using System.Text.Json;

namespace PicGuard.Build;

/// <summary>One compile as a JSON compilation database records it.</summary>
/// <param name="Directory">The working directory the compiler runs in.</param>
/// <param name="Arguments">The whole command: the compiler, then every argument, response files expanded.</param>
/// <param name="File">The source file, absolute.</param>
/// <param name="Output">The object file, absolute.</param>
public sealed record CompileCommand(string Directory, IReadOnlyList<string> Arguments, string File, string Output);

/// <summary>
/// Writes <c>compile_commands.json</c> (the JSON compilation database clangd, clang-tidy and IDEs read,
/// as CMake's <c>CMAKE_EXPORT_COMPILE_COMMANDS</c> and kbuild's <c>gen_compile_commands.py</c> write it):
/// one entry per source with the exact flags it is compiled with. The file is replaced whole and only
/// when its text changes, so a no-op build leaves it untouched.
/// </summary>
public static class CompileCommands
{
    public static string Format(IEnumerable<CompileCommand> commands)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var c in commands)
            {
                json.WriteStartObject();
                json.WriteString("directory", c.Directory);
                json.WriteStartArray("arguments");
                foreach (var a in c.Arguments) json.WriteStringValue(a);
                json.WriteEndArray();
                json.WriteString("file", c.File);
                json.WriteString("output", c.Output);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Writes the database to <paramref name="path"/> unless it already holds the same text; returns whether it wrote.</summary>
    public static bool Write(string path, IEnumerable<CompileCommand> commands) =>
        AtomicFile.WriteIfDifferent(path, Format(commands));
}

/// <summary>Files written whole: a temp file beside the target, then a rename, so no reader ever sees half a file.</summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="content"/> unless the file already holds exactly it; returns whether it wrote.</summary>
    public static bool WriteIfDifferent(string path, string content)
    {
        try
        {
            if (File.Exists(path) && File.ReadAllText(path) == content) return false;
        }
        catch (IOException) { }
        return Replace(path, temp => File.WriteAllText(temp, content));
    }

    /// <summary>Writes <paramref name="content"/> unless the file already holds exactly these bytes; returns whether it wrote.</summary>
    public static bool WriteIfDifferent(string path, byte[] content)
    {
        try
        {
            if (File.Exists(path) && new FileInfo(path).Length == content.Length && File.ReadAllBytes(path).AsSpan().SequenceEqual(content)) return false;
        }
        catch (IOException) { }
        return Replace(path, temp => File.WriteAllBytes(temp, content));
    }

    private static bool Replace(string path, Action<string> write)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        // Unique per writer: concurrent builds writing the same file never share a temp file.
        string temp = $"{path}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp";
        try
        {
            write(temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return true;
    }
}
