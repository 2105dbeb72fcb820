using System.Diagnostics;
using System.Text;

namespace PicGuard.Tasks;

/// <summary>Runs a tool and captures its output, stdout and stderr interleaved as printed.</summary>
internal static class ProcessRunner
{
    public sealed record Result(int ExitCode, string Output);

    public static Result Run(string tool, IEnumerable<string> arguments, string workingDirectory)
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
        p.WaitForExit();
        lock (output) return new Result(p.ExitCode, output.ToString());
    }
}
