using System.Text;
using PicGuard.Elf;
using PicGuard.Rules;

namespace PicGuard.Diagnostics;

/// <summary>Where in an object a finding sits: section, offset in it, and the function containing it.</summary>
public sealed record ObjectLocation(string Section, ulong Offset, string? Function, ulong FunctionOffset)
{
    /// <summary>"func+0x1c" like modpost, or "section+0x1c" when no function covers the place.</summary>
    public string Describe() => TextParts.Written(this, static (l, writer) => l.WriteDescription(writer));

    /// <summary>Writes <see cref="Describe"/>'s text piece by piece.</summary>
    internal void WriteDescription(TextWriter writer) => RelocationParts.WriteDescription(new WriterSink(writer), ObjectPlace.Of(this));
}

/// <summary>
/// One finding. <see cref="File"/> is the path the user gave (the archive for a member);
/// <see cref="Object"/> is how the object is named in text, <c>lib.a(member.o)</c> for members.
/// <see cref="Context"/> holds the lld-style "&gt;&gt;&gt;" lines that make the fix obvious.
/// </summary>
public sealed record Diagnostic(
    Rule Rule,
    Severity Severity,
    string File,
    string Object,
    string Message,
    IReadOnlyList<string> Context,
    ObjectLocation? Location = null,
    string? RelocationType = null,
    string? Target = null)
{
    private string? _message = Message;
    private string? _target = Target;
    private ObjectLocation? _location = Location;
    private readonly RelocationParts? _parts;

    /// <summary>A relocation finding whose message, target, place and context lines stay parts until read or written.</summary>
    internal Diagnostic(in RelocationFinding finding, Severity severity)
        : this(finding.Rule, severity, finding.File, finding.ObjectName, (string)null!, new RelocationParts(finding), null, finding.Type)
    {
        _parts = (RelocationParts)Context;
        Symbol = finding.Symbol;
        Source = finding.Source;
        Instruction = finding.Instruction;
    }

    /// <summary>What was found, in one sentence.</summary>
    public string Message
    {
        get => _message ??= _parts!.Text;
        init
        {
            // A new message (with { Message = … }) keeps the target and the place the parts named.
            _target ??= _parts?.TargetText;
            _location ??= _parts?.Place.ToLocation();
            _message = value;
            _parts = null;
        }
    }

    /// <summary>Where the finding is: the place a relocation patches (made from its parts when first read), or the section itself.</summary>
    public ObjectLocation? Location
    {
        get => _location ??= _parts?.Place.ToLocation();
        init => _location = value;
    }

    /// <summary>What the relocation points at, as the message names it (a relocation finding), or null.</summary>
    public string? Target
    {
        get => _target ?? _parts?.TargetText;
        init => _target = value;
    }

    /// <summary>The source line the finding comes from, when debug info or an STT_FILE symbol says it.</summary>
    public SourcePosition? Source { get; init; }

    /// <summary>The instruction at the relocation site, disassembled (x86), e.g. <c>movabs rax, 0x0</c>.</summary>
    public string? Instruction { get; init; }

    /// <summary>How many identical findings this one stands for (identical findings collapse into one with a count).</summary>
    public int Occurrences { get => _occurrences; init => _occurrences = value; }

    private int _occurrences = 1;

    /// <summary>Sets the count of a finding that its collector alone holds, instead of copying it (<c>with { Occurrences = … }</c>).</summary>
    internal void SetOccurrences(int occurrences) => _occurrences = occurrences;

    /// <summary>The section the finding is in (the place a relocation patches, or the section itself).</summary>
    public string? Section => _location?.Section ?? _parts?.Place.Section;

    /// <summary>The symbol the finding is about (relocation target or undefined symbol), for suppressions and SARIF.</summary>
    public string? Symbol { get; init; }

    public string Code => Rule.Code;

    public static string SeverityWord(Severity s) => s switch
    {
        Severity.Error => "error",
        Severity.Warning => "warning",
        _ => "message",
    };

    /// <summary>The canonical one-line form: <c>object: error PG0001: message</c>.</summary>
    public string HeadLine => $"{Object}: {SeverityWord(Severity)} {Code}: {Message}";

    /// <summary>The message with its context lines, as MSBuild and the CLI print it after the head.</summary>
    public string MessageWithContext
    {
        get
        {
            if (Context.Count == 0) return Message;
            var sb = new StringBuilder(Message);
            foreach (var line in Context) sb.Append('\n').Append(">>> ").Append(line);
            return sb.ToString();
        }
    }

    /// <summary>Writes <see cref="Format"/> and a new line to <paramref name="writer"/>, piece by piece (no string of the whole).</summary>
    public void WriteTo(TextWriter writer)
    {
        writer.Write(Object);
        writer.Write(": ");
        writer.Write(SeverityWord(Severity));
        writer.Write(' ');
        writer.Write(Code);
        writer.Write(": ");
        if (_message is null && _parts is not null) _parts.WriteMessage(writer);
        else writer.Write(Message);
        if (Context is RelocationParts lazy)
        {
            lazy.WriteContext(writer);
            writer.WriteLine();
            return;
        }
        foreach (var line in Context)
        {
            writer.Write("\n>>> ");
            writer.Write(line);
        }
        writer.WriteLine();
    }

    /// <summary>Head line plus context lines, as the CLI prints it.</summary>
    public string Format()
    {
        var sb = new StringBuilder(HeadLine);
        foreach (var line in Context) sb.Append('\n').Append(">>> ").Append(line);
        return sb.ToString();
    }
}
