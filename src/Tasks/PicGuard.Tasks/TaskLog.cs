using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using PicGuard.Diagnostics;
using PicGuard.Rules;

namespace PicGuard.Tasks;

/// <summary>Logs PicGuard findings as canonical MSBuild diagnostics: code, help link, file(line,col).</summary>
internal static class TaskLog
{
    public static void Rule(TaskLoggingHelper log, Rule rule, Severity severity, string? file, int line, int column, string message)
    {
        switch (severity)
        {
            case Severity.Error:
                log.LogError(null, rule.Code, rule.Code, rule.HelpUri, file, line, column, 0, 0, message);
                break;
            case Severity.Warning:
                log.LogWarning(null, rule.Code, rule.Code, rule.HelpUri, file, line, column, 0, 0, message);
                break;
            case Severity.Message:
                log.LogMessage(null, rule.Code, rule.Code, file, line, column, 0, 0, MessageImportance.Low, message);
                break;
        }
    }

    public static void Rule(TaskLoggingHelper log, Rule rule, string? file, string message) =>
        Rule(log, rule, rule.DefaultSeverity, file, 0, 0, message);

    /// <summary>
    /// A checker finding. It points at the source line when debug info names one that exists on disk
    /// (so IDEs jump to it), else at the item as the user wrote it; archive members are named in the text.
    /// </summary>
    public static void Diagnostic(TaskLoggingHelper log, Diagnostic d, string itemSpec)
    {
        string message = d.Object == d.File ? d.MessageWithContext : $"{d.Object}: {d.MessageWithContext}";
        if (d.Occurrences > 1) message = $"{message}\n>>> {d.Occurrences} identical finding(s) in all";
        if (d.Source is { Line: > 0 } source && File.Exists(source.File))
            Rule(log, d.Rule, d.Severity, source.File, source.Line, Math.Max(0, source.Column), $"{d.Object}: {message}");
        else
            Rule(log, d.Rule, d.Severity, itemSpec, 0, 0, message);
    }

    /// <summary>
    /// A compiler's or linker's output as PG diagnostics (<paramref name="error"/>/<paramref name="warning"/>),
    /// each with its notes as "&gt;&gt;&gt;" lines; a non-zero exit with no error line becomes one error carrying the whole output.
    /// </summary>
    public static void ToolOutput(TaskLoggingHelper log, string tool, ProcessRunner.Result result, Rule error, Rule warning, string defaultFile)
    {
        var parsed = Build.ToolOutput.Parse(result.Output);
        foreach (var d in parsed)
        {
            var rule = d.IsError ? error : warning;
            string text = d.Context.Count == 0 ? d.Message : d.Message + "\n" + string.Join("\n", d.Context.Select(c => ">>> " + c));
            Rule(log, rule, rule.DefaultSeverity, d.File ?? defaultFile, d.Line, d.Column, text);
        }
        if (result.ExitCode != 0 && !parsed.Any(d => d.IsError))
            Rule(log, error, defaultFile, $"{Path.GetFileName(tool)} exited with code {result.ExitCode}:\n{result.Output.Trim()}");
    }

    /// <summary>PG9004: a property has a value PicGuard does not accept.</summary>
    public static void BadValue(TaskLoggingHelper log, string property, string? value, string accepted, string? projectFile = null) =>
        Rule(log, RuleCatalog.BadConfiguration, projectFile, $"{property} is '{value}', which is not accepted; use {accepted}");
}
