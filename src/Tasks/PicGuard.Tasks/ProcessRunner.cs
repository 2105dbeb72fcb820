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
        using (cancel.Register(() => Stop(p)))
        {
            // Polled, so a cancelled build never waits on a tool that outlives its kill (or on a child holding its pipes).
            while (!p.WaitForExit(PollInterval))
            {
                if (!cancel.IsCancellationRequested) continue;
                Stop(p);
                p.WaitForExit(CancelGrace);
                break;
            }
        }
        if (cancel.IsCancellationRequested) return new Result(-1, "cancelled");
        p.WaitForExit(); // the tool has exited: let its last output lines arrive
        lock (output) return new Result(p.ExitCode, output.ToString());
    }

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);
    /// <summary>How long a cancelled build waits for the killed tool to go before it stops anyway.</summary>
    private static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(5);

    /// <summary>Kills the tool and whatever it started; if the tree cannot be walked, the tool itself. Never throws: it runs in MSBuild's cancellation.</summary>
    private static void Stop(Process p)
    {
        try
        {
            p.Kill(entireProcessTree: true);
            return;
        }
        catch (Exception e) when (e is AggregateException or System.ComponentModel.Win32Exception or InvalidOperationException) { } // the tree changed under the walk, or the tool already ended
        try
        {
            p.Kill();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException) { }
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
