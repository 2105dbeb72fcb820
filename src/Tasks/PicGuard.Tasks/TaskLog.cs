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

    /// <summary>A checker finding; the file is the item as the user wrote it, archive members are named in the text.</summary>
    public static void Diagnostic(TaskLoggingHelper log, Diagnostic d, string itemSpec)
    {
        string message = d.Object == d.File ? d.MessageWithContext : $"{d.Object}: {d.MessageWithContext}";
        Rule(log, d.Rule, d.Severity, itemSpec, 0, 0, message);
    }

    /// <summary>PG9004: a property has a value PicGuard does not accept.</summary>
    public static void BadValue(TaskLoggingHelper log, string property, string? value, string accepted) =>
        Rule(log, RuleCatalog.BadConfiguration, null, $"{property} is '{value}', which is not accepted; use {accepted}");
}
