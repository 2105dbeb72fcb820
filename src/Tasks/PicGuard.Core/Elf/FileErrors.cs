namespace PicGuard.Elf;

/// <summary>
/// What went wrong with a file, in words, from the exception a file operation threw: "permission denied", "no such file
/// or directory", the system's own text for the rest. The installed <c>picguard</c> is built without the runtime's
/// message resources (<c>UseSystemResourceKeys</c>, for its start), so there an exception's message for these cases is a
/// resource key with the path it was about ("UnauthorizedAccess_IODenied_Path, /tmp/.out.txt.4242.tmp"); the kind of
/// failure is said here instead, the same with resources or without. The caller names the file.
/// </summary>
public static class FileErrors
{
    private const int WouldBlock = 11, Exists = 17; // EWOULDBLOCK (a lock held elsewhere), EEXIST

    public static string Describe(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        FileNotFoundException or DirectoryNotFoundException => "no such file or directory",
        PathTooLongException => "the path is too long",
        IOException { HResult: WouldBlock } => "the file is locked by another process",
        IOException { HResult: Exists } => "the file exists",
        _ when IsResourceKey(e.Message) => $"{e.GetType().Name} (error {e.HResult})",
        _ => e.Message,
    };

    /// <summary>A message that is a resource's key, with or without its arguments after a comma ("IO_PathNotFound_Path, /x").</summary>
    private static bool IsResourceKey(string message)
    {
        int end = message.IndexOf(',');
        var key = end < 0 ? message.AsSpan() : message.AsSpan(0, end);
        if (key.Length == 0 || !char.IsAsciiLetterUpper(key[0]) || key.IndexOf('_') < 0) return false;
        foreach (char c in key)
            if (!char.IsAsciiLetterOrDigit(c) && c != '_') return false;
        return true;
    }
}
