using System.Collections;
using PicGuard.Elf;
using PicGuard.Rules;

namespace PicGuard.Diagnostics;

/// <summary>A place in an object as a value: <see cref="ObjectLocation"/>'s parts, with no object of their own.</summary>
/// <remarks>The function's name may be bytes of the object (<see cref="NameText"/>), for a listing written as text.</remarks>
internal readonly record struct ObjectPlace(string Section, ulong Offset, NameText Function, ulong FunctionOffset)
{
    public ObjectLocation ToLocation() => new(Section, Offset, Function.Text, FunctionOffset);

    public static ObjectPlace Of(ObjectLocation location) => new(location.Section, location.Offset, location.Function, location.FunctionOffset);
}

/// <summary>
/// A relocation finding as its parts, a value: the rule and the names its head line needs; the message, a template
/// whose <c>{kind}</c>, <c>{type}</c>, <c>{target}</c>, <c>{exec}</c>, <c>{section}</c> and <c>{from}</c> are filled
/// from the finding, with an optional note after it; and what its "&gt;&gt;&gt;" lines say (the place, source position,
/// instruction and fix). Written straight to the output, its message, target (often a long mangled name) and lines are
/// never strings of their own. A listing written as text keeps it as a value until it is written
/// (<see cref="Rules.FindingSet"/>); a <see cref="Diagnostic"/> holds it in a <see cref="RelocationParts"/>.
/// </summary>
internal readonly struct RelocationFinding(Rule rule, string file, string objectName, string template, string kind, string type,
    RelocationTarget target, bool executable, string? note, ObjectPlace place, SourcePosition? source, InstructionText instruction, string fixLine, string? symbol)
{
    /// <summary>The message of a relocation rule that has no template of its own (PG0001, PG0002, …).</summary>
    public const string DefaultTemplate = "{kind} relocation {type} against {target} in {exec}section {section}";

    public Rule Rule => rule;
    /// <summary>The path the user gave (the archive for a member).</summary>
    public string File => file;
    /// <summary>The object as text names it.</summary>
    public string ObjectName => objectName;
    /// <summary>The relocation type's name.</summary>
    public string Type => type;
    public RelocationTarget Target => target;
    /// <summary>Where the relocation patches.</summary>
    public ObjectPlace Place => place;
    public SourcePosition? Source => source;
    public string? Instruction => instruction.Text;
    /// <summary>The symbol the relocation names (a section symbol's section), for suppressions and SARIF.</summary>
    public string? Symbol => symbol;

    /// <summary>The finding as <see cref="Diagnostic.WriteTo"/> writes it: head line, "&gt;&gt;&gt;" lines, new line.</summary>
    public void WriteTo(ListingText text, Severity severity, ReadOnlySpan<ObjectPlace> repeats, int more) =>
        WriteTo(text.AsSink(), severity, repeats, more);

    public void WriteTo<TSink>(TSink writer, Severity severity, ReadOnlySpan<ObjectPlace> repeats, int more) where TSink : struct, ITextSink
    {
        writer.WriteRecurring(objectName);
        writer.WriteUtf8(severity switch { Severity.Error => ": error "u8, Severity.Warning => ": warning "u8, _ => ": message "u8 });
        writer.Write(rule.Code);
        writer.WriteUtf8(": "u8);
        WriteMessage(writer);
        WriteContext(writer, repeats, more);
        writer.Write('\n');
    }

    public void WriteMessage(TextWriter writer)
    {
        if (writer is ListingText text) WriteMessage(text.AsSink());
        else WriteMessage(new WriterSink(writer));
    }

    public void WriteMessage<TSink>(TSink writer) where TSink : struct, ITextSink
    {
        if (ReferenceEquals(template, DefaultTemplate))
        {
            // The template most findings have, written without reading it.
            writer.Write(kind);
            writer.WriteUtf8(" relocation "u8);
            writer.Write(type);
            writer.WriteUtf8(" against "u8);
            target.WriteTo(writer);
            writer.WriteUtf8(executable ? " in executable section "u8 : " in section "u8);
            writer.Write(place.Section);
            if (note is not null) writer.Write(note);
            return;
        }
        int at = 0;
        while (at < template.Length)
        {
            int open = template.IndexOf('{', at);
            int close = open < 0 ? -1 : template.IndexOf('}', open + 1);
            if (close < 0)
            {
                writer.Write(template.AsSpan(at));
                break;
            }
            writer.Write(template.AsSpan(at, open - at));
            at = close + 1;
            switch (template.AsSpan(open + 1, close - open - 1))
            {
                case "kind": writer.Write(kind); break;
                case "type": writer.Write(type); break;
                case "target": target.WriteTo(writer); break;
                case "exec": if (executable) writer.WriteUtf8("executable "u8); break;
                case "section": writer.Write(place.Section); break;
                case "from": RelocationParts.WriteDescription(writer, place); break;
                default: // not a placeholder: the brace is text
                    writer.Write('{');
                    at = open + 1;
                    break;
            }
        }
        if (note is not null) writer.Write(note);
    }

    /// <summary>Each "&gt;&gt;&gt;" line after "\n&gt;&gt;&gt; ", piece by piece: the place, <paramref name="repeats"/>, "referenced <paramref name="more"/> more time(s)", source, instruction, fix.</summary>
    public void WriteContext(TextWriter writer, ReadOnlySpan<ObjectPlace> repeats, int more)
    {
        if (writer is ListingText text) WriteContext(text.AsSink(), repeats, more);
        else WriteContext(new WriterSink(writer), repeats, more);
    }

    public void WriteContext<TSink>(TSink writer, ReadOnlySpan<ObjectPlace> repeats, int more) where TSink : struct, ITextSink
    {
        RelocationParts.WriteReferencedBy(writer, place, objectName, newLine: true);
        foreach (ref readonly var repeat in repeats)
            RelocationParts.WriteReferencedBy(writer, repeat, objectName, newLine: true);
        if (more > 0)
        {
            writer.WriteUtf8("\n>>> "u8);
            RelocationParts.WriteMore(writer, more);
        }
        if (source is { } position)
        {
            writer.WriteUtf8("\n>>> source: "u8);
            writer.Write(position.File);
            if (position.Line > 0)
            {
                writer.Write(':');
                writer.Decimal(position.Line);
                if (position.Column > 0)
                {
                    writer.Write(':');
                    writer.Decimal(position.Column);
                }
            }
        }
        if (!instruction.IsNone)
        {
            writer.WriteUtf8("\n>>> instruction: "u8);
            instruction.WriteTo(writer);
        }
        writer.WriteUtf8("\n>>> "u8);
        writer.WriteRecurring(fixLine); // one string per rule (and machine): the same bytes on each of its findings
    }

    /// <summary>How many "&gt;&gt;&gt;" lines <see cref="WriteContext"/> writes.</summary>
    public int LineCount(int repeats, int more) => 2 + repeats + (more > 0 ? 1 : 0) + (source is null ? 0 : 1) + (instruction.IsNone ? 0 : 1);

    /// <summary>The "&gt;&gt;&gt;" lines as strings, for a finding whose context is read.</summary>
    public string[] Lines(ReadOnlySpan<ObjectPlace> repeats, int more)
    {
        var lines = new string[LineCount(repeats.Length, more)];
        int i = 0;
        lines[i++] = RelocationParts.ReferencedBy(place, objectName);
        foreach (var repeat in repeats) lines[i++] = RelocationParts.ReferencedBy(repeat, objectName);
        if (more > 0) lines[i++] = RelocationParts.More(more);
        if (source is not null) lines[i++] = $"source: {source}";
        if (!instruction.IsNone) lines[i++] = $"instruction: {instruction.Text}";
        lines[i] = fixLine;
        return lines;
    }
}

/// <summary>
/// A relocation finding's parts (<see cref="RelocationFinding"/>) and the places of its collapsed repeats, one object
/// beside its <see cref="Diagnostic"/>, which this is as the finding's <see cref="Diagnostic.Context"/>: the
/// "&gt;&gt;&gt;" lines. <see cref="Diagnostic.WriteTo"/> writes the parts straight to the output; reading
/// <see cref="Diagnostic.Message"/>, <see cref="Diagnostic.Target"/> or an element of the context builds the text once,
/// the same text either way.
/// </summary>
internal sealed class RelocationParts(in RelocationFinding finding) : IReadOnlyList<string>
{
    private readonly RelocationFinding _finding = finding;
    private ObjectPlace[] _repeats = [];
    private int _more;

    // Text, once read.
    private string? _text;
    private string? _targetText;
    private string[]? _lines;

    /// <summary>Where the relocation patches.</summary>
    public ObjectPlace Place => _finding.Place;

    /// <summary>The message as one string, built on first use.</summary>
    public string Text => _text ??= TextParts.Written(this, static (m, w) => m.WriteMessage(w));

    /// <summary>The target as the message names it, built on first use.</summary>
    public string TargetText => _targetText ??= _finding.Target.ToString();

    public void WriteMessage(TextWriter writer) => _finding.WriteMessage(writer);

    /// <summary>
    /// The same finding with the places of identical findings after the first "referenced by" line, then "referenced N
    /// more time(s)" for <paramref name="more"/> not shown: how a collapsed finding reads, still kept as parts.
    /// </summary>
    public RelocationParts WithRepeats(ObjectPlace[] repeats, int more)
    {
        var copy = (RelocationParts)MemberwiseClone();
        copy.SetRepeats(repeats, more);
        return copy;
    }

    /// <summary>As <see cref="WithRepeats"/>, on these parts themselves: for a finding whose collector alone holds it.</summary>
    internal void SetRepeats(ObjectPlace[] repeats, int more)
    {
        _repeats = repeats;
        _more = more;
        _lines = null;
    }

    // ---- the "\n>>> " lines: the finding's Context ----------------------------------------------------------------

    public int Count => _finding.LineCount(_repeats.Length, _more);

    public string this[int index] => Lines[index];

    public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)Lines).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private string[] Lines => _lines ??= _finding.Lines(_repeats, _more);

    /// <summary>Writes each line after "\n&gt;&gt;&gt; ", as <see cref="Diagnostic.WriteTo"/> does, piece by piece.</summary>
    public void WriteContext(TextWriter writer)
    {
        if (_lines is null)
        {
            _finding.WriteContext(writer, _repeats, _more);
            return;
        }
        foreach (var line in _lines)
        {
            writer.Write("\n>>> ");
            writer.Write(line);
        }
    }

    /// <summary>The line that counts the places of a collapsed finding not shown.</summary>
    public static string More(int more) => TextParts.Written(more, static (m, writer) => WriteMore(new WriterSink(writer), m));

    /// <summary>"referenced by func+0x1c (.text+0x3c) in object", or "referenced by .data+0x8 in object" when no function holds the place.</summary>
    public static string ReferencedBy(ObjectPlace place, string objectName) =>
        TextParts.Written((place, objectName), static (p, writer) => WriteReferencedBy(new WriterSink(writer), p.place, p.objectName));

    internal static void WriteMore<TSink>(TSink writer, int more) where TSink : struct, ITextSink
    {
        writer.WriteUtf8("referenced "u8);
        writer.Decimal(more);
        writer.WriteUtf8(" more time(s)"u8);
    }

    /// <summary>"func+0x1c" like modpost, or "section+0x1c" when no function covers the place.</summary>
    internal static void WriteDescription<TSink>(TSink writer, in ObjectPlace place) where TSink : struct, ITextSink
    {
        if (place.Function.IsNone) writer.Write(place.Section);
        else place.Function.WriteTo(writer);
        writer.WriteUtf8("+0x"u8);
        writer.Hex(place.Function.IsNone ? place.Offset : place.FunctionOffset);
    }

    /// <param name="newLine">The line's "\n&gt;&gt;&gt; " first, as a context line is written.</param>
    internal static void WriteReferencedBy<TSink>(TSink writer, in ObjectPlace place, string objectName, bool newLine = false) where TSink : struct, ITextSink
    {
        writer.WriteUtf8(newLine ? "\n>>> referenced by "u8 : "referenced by "u8);
        if (!place.Function.IsNone)
        {
            place.Function.WriteTo(writer);
            writer.WriteUtf8("+0x"u8);
            writer.Hex(place.FunctionOffset);
            writer.WriteUtf8(" ("u8);
        }
        writer.Write(place.Section);
        writer.WriteUtf8("+0x"u8);
        writer.Hex(place.Offset);
        writer.WriteUtf8(place.Function.IsNone ? " in "u8 : ") in "u8);
        writer.WriteRecurring(objectName);
    }
}
