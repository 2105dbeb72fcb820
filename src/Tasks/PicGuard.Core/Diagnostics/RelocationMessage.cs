namespace PicGuard.Diagnostics;

/// <summary>What a relocation points at, as a message names it: <c>'symbol'</c>, <c>section .rodata+0x40</c> or <c>address 0x10</c>.</summary>
internal readonly struct RelocationTarget
{
    private enum Form : byte { Address, Section, Symbol, UnnamedSymbol }

    private readonly Form _form;
    private readonly string? _name;
    private readonly long _value; // the addend (address, section) or the symbol's index (unnamed symbol)

    private RelocationTarget(Form form, string? name, long value) => (_form, _name, _value) = (form, name, value);

    /// <summary>No symbol: the addend is the address.</summary>
    public static RelocationTarget Address(long addend) => new(Form.Address, null, addend);

    /// <summary>A section symbol: the section's name and the addend into it.</summary>
    public static RelocationTarget Section(string name, long addend) => new(Form.Section, name, addend);

    /// <summary>A named symbol (already printable), or its index when the name is empty.</summary>
    public static RelocationTarget Symbol(string printableName, uint index) =>
        printableName.Length == 0 ? new(Form.UnnamedSymbol, null, index) : new(Form.Symbol, printableName, 0);

    public void WriteTo(TextWriter writer)
    {
        switch (_form)
        {
            case Form.Address:
                if (_value == 0)
                {
                    writer.Write("address 0");
                    break;
                }
                writer.Write("address 0x");
                TextParts.Hex(writer, (ulong)_value);
                break;
            case Form.Section:
                writer.Write("section ");
                writer.Write(_name);
                if (_value != 0)
                {
                    writer.Write(_value > 0 ? "+0x" : "-0x");
                    TextParts.Hex(writer, _value > 0 ? (ulong)_value : (ulong)-_value);
                }
                break;
            case Form.Symbol:
                writer.Write('\'');
                writer.Write(_name);
                writer.Write('\'');
                break;
            default:
                writer.Write("'symbol #");
                TextParts.Decimal(writer, _value);
                writer.Write('\'');
                break;
        }
    }

    public override string ToString() => TextParts.Written(this, static (t, w) => t.WriteTo(w));
}

/// <summary>
/// A relocation finding's message kept as its parts: a template whose <c>{kind}</c>, <c>{type}</c>, <c>{target}</c>,
/// <c>{exec}</c>, <c>{section}</c> and <c>{from}</c> are filled from the finding, and an optional note after it.
/// <see cref="Diagnostic.WriteTo"/> writes the parts straight to the output, so a listed finding's message (and its
/// target, which is often a long mangled name) is never a string of its own; reading <see cref="Diagnostic.Message"/>
/// or <see cref="Diagnostic.Target"/> builds the text once, the same text either way.
/// </summary>
internal sealed class RelocationMessage(string template, string kind, string type, RelocationTarget target, bool executable, ObjectLocation location, string? note = null)
{
    /// <summary>The message of a relocation rule that has no template of its own (PG0001, PG0002, …).</summary>
    public const string DefaultTemplate = "{kind} relocation {type} against {target} in {exec}section {section}";

    private string? _text;
    private string? _target;

    /// <summary>The message as one string, built on first use.</summary>
    public string Text => _text ??= TextParts.Written(this, static (m, w) => m.WriteTo(w));

    /// <summary>The target as the message names it, built on first use.</summary>
    public string TargetText => _target ??= target.ToString();

    public void WriteTo(TextWriter writer)
    {
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
                case "exec": if (executable) writer.Write("executable "); break;
                case "section": writer.Write(location.Section); break;
                case "from": location.WriteDescription(writer); break;
                default: // not a placeholder: the brace is text
                    writer.Write('{');
                    at = open + 1;
                    break;
            }
        }
        if (note is not null) writer.Write(note);
    }
}
