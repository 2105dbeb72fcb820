using System.Diagnostics;
using System.Text;

namespace PicGuard.Tasks;

/// <summary>Runs a tool and captures its output, stdout and stderr interleaved as printed.</summary>
internal static class ProcessRunner
{
    public sealed record Result(int ExitCode, string Output);

    /// <summary>Runs the tool to its end; a cancelled build kills it (and its children) and gets exit code -1.</summary>
    public static Result Run(string tool, IEnumerable<string> arguments, string workingDirectory, CancellationToken cancel = default)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        // Plain, untranslated, uncoloured diagnostics so they parse the same everywhere.
        psi.Environment["LC_ALL"] = "C";
        psi.Environment["LANG"] = "C";
        psi.Environment.Remove("GCC_COLORS");
        var output = new StringBuilder();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using (cancel.Register(() => { try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }))
            p.WaitForExit();
        if (cancel.IsCancellationRequested) return new Result(-1, "cancelled");
        lock (output) return new Result(p.ExitCode, output.ToString());
    }

    /// <summary>The command as a POSIX shell would take it, for the log.</summary>
    public static string CommandLine(string tool, IEnumerable<string> arguments) =>
        string.Join(' ', arguments.Prepend(tool).Select(Quote));

    /// <summary>A word quoted for a POSIX shell when it needs quoting.</summary>
    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=+,:@%".Contains(c))
            ? word
            : "'" + word.Replace("'", "'\\''") + "'";
}
