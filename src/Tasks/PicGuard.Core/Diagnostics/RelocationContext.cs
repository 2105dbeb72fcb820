using System.Collections;
using PicGuard.Elf;

namespace PicGuard.Diagnostics;

/// <summary>
/// The "&gt;&gt;&gt;" lines of a relocation finding, kept as their parts (the place, the places of its collapsed repeats,
/// source position, instruction and fix) and turned into text only when written or read: <see cref="Diagnostic.WriteTo"/>
/// writes the parts straight to the output, so a listed finding costs no line strings; reading an element builds (and
/// keeps) the lines.
/// </summary>
internal sealed class RelocationContext : IReadOnlyList<string>
{
    private readonly ObjectLocation _place;
    private readonly string _objectName;
    private readonly SourcePosition? _source;
    private readonly string? _instruction;
    private readonly string _fixLine;
    private IReadOnlyList<ObjectLocation> _repeats;
    private int _more;
    private string[]? _lines;

    public RelocationContext(ObjectLocation place, string objectName, SourcePosition? source, string? instruction, string fixLine)
        : this(place, objectName, source, instruction, fixLine, [], 0)
    {
    }

    private RelocationContext(ObjectLocation place, string objectName, SourcePosition? source, string? instruction, string fixLine, IReadOnlyList<ObjectLocation> repeats, int more)
    {
        _place = place;
        _objectName = objectName;
        _source = source;
        _instruction = instruction;
        _fixLine = fixLine;
        _repeats = repeats;
        _more = more;
    }

    /// <summary>
    /// The same lines with the places of identical findings after the first "referenced by" line, then "referenced N more
    /// time(s)" for <paramref name="more"/> not shown: how a collapsed finding reads, still kept as parts.
    /// </summary>
    public RelocationContext WithRepeats(IReadOnlyList<ObjectLocation> repeats, int more) =>
        new(_place, _objectName, _source, _instruction, _fixLine, repeats, more);

    /// <summary>As <see cref="WithRepeats"/>, on these lines themselves: for a finding whose collector alone holds it.</summary>
    internal void SetRepeats(IReadOnlyList<ObjectLocation> repeats, int more)
    {
        _repeats = repeats;
        _more = more;
        _lines = null;
    }

    public int Count => 2 + _repeats.Count + (_more > 0 ? 1 : 0) + (_source is null ? 0 : 1) + (_instruction is null ? 0 : 1);

    public string this[int index] => Lines[index];

    public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)Lines).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private string[] Lines => _lines ??= Build();

    private string[] Build()
    {
        var lines = new string[Count];
        int i = 0;
        lines[i++] = ReferencedBy(_place, _objectName);
        foreach (var repeat in _repeats) lines[i++] = ReferencedBy(repeat, _objectName);
        if (_more > 0) lines[i++] = More(_more);
        if (_source is not null) lines[i++] = $"source: {_source}";
        if (_instruction is not null) lines[i++] = $"instruction: {_instruction}";
        lines[i] = _fixLine;
        return lines;
    }

    /// <summary>The line that counts the places of a collapsed finding not shown.</summary>
    public static string More(int more) => TextParts.Written(more, static (m, writer) => WriteMore(writer, m));

    /// <summary>"referenced by func+0x1c (.text+0x3c) in object", or "referenced by .data+0x8 in object" when no function holds the place.</summary>
    public static string ReferencedBy(ObjectLocation place, string objectName) =>
        TextParts.Written((place, objectName), static (p, writer) => WriteReferencedBy(writer, p.place, p.objectName));

    /// <summary>Writes each line after "\n&gt;&gt;&gt; ", as <see cref="Diagnostic.WriteTo"/> does, piece by piece.</summary>
    public void WriteTo(TextWriter writer)
    {
        if (_lines is not null)
        {
            foreach (var line in _lines)
            {
                writer.Write("\n>>> ");
                writer.Write(line);
            }
            return;
        }
        writer.Write("\n>>> ");
        WriteReferencedBy(writer, _place, _objectName);
        for (int r = 0; r < _repeats.Count; r++) // no enumerator for an empty list
        {
            writer.Write("\n>>> ");
            WriteReferencedBy(writer, _repeats[r], _objectName);
        }
        if (_more > 0)
        {
            writer.Write("\n>>> ");
            WriteMore(writer, _more);
        }
        if (_source is { } source)
        {
            writer.Write("\n>>> source: ");
            writer.Write(source.File);
            if (source.Line > 0)
            {
                writer.Write(':');
                TextParts.Decimal(writer, source.Line);
                if (source.Column > 0)
                {
                    writer.Write(':');
                    TextParts.Decimal(writer, source.Column);
                }
            }
        }
        if (_instruction is not null)
        {
            writer.Write("\n>>> instruction: ");
            writer.Write(_instruction);
        }
        writer.Write("\n>>> ");
        writer.Write(_fixLine);
    }

    private static void WriteMore(TextWriter writer, int more)
    {
        writer.Write("referenced ");
        TextParts.Decimal(writer, more);
        writer.Write(" more time(s)");
    }

    private static void WriteReferencedBy(TextWriter writer, ObjectLocation place, string objectName)
    {
        writer.Write("referenced by ");
        if (place.Function is { } function)
        {
            writer.Write(function);
            writer.Write("+0x");
            TextParts.Hex(writer, place.FunctionOffset);
            writer.Write(" (");
        }
        writer.Write(place.Section);
        writer.Write("+0x");
        TextParts.Hex(writer, place.Offset);
        writer.Write(place.Function is null ? " in " : ") in ");
        writer.Write(objectName);
    }
}
