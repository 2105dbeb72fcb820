namespace PicGuard.Diagnostics;

/// <summary>What a relocation points at, as a message names it: <c>'symbol'</c>, <c>section .rodata+0x40</c> or <c>address 0x10</c>.</summary>
internal readonly struct RelocationTarget
{
    private enum Form : byte { Address, Section, Symbol, UnnamedSymbol }

    private readonly Form _form;
    private readonly NameText _name;
    private readonly long _value; // the addend (address, section) or the symbol's index (unnamed symbol)

    private RelocationTarget(Form form, NameText name, long value) => (_form, _name, _value) = (form, name, value);

    /// <summary>No symbol: the addend is the address.</summary>
    public static RelocationTarget Address(long addend) => new(Form.Address, default, addend);

    /// <summary>A section symbol: the section's name and the addend into it.</summary>
    public static RelocationTarget Section(string name, long addend) => new(Form.Section, name, addend);

    /// <summary>A named symbol (already printable), or its index when the name is empty.</summary>
    public static RelocationTarget Symbol(NameText printableName, uint index) =>
        printableName.IsEmpty ? new(Form.UnnamedSymbol, default, index) : new(Form.Symbol, printableName, 0);

    public void WriteTo(TextWriter writer) => WriteTo(new WriterSink(writer));

    public void WriteTo<TSink>(TSink writer) where TSink : struct, ITextSink
    {
        switch (_form)
        {
            case Form.Address:
                if (_value == 0)
                {
                    writer.WriteUtf8("address 0"u8);
                    break;
                }
                writer.WriteUtf8("address 0x"u8);
                writer.Hex((ulong)_value);
                break;
            case Form.Section:
                writer.WriteUtf8("section "u8);
                _name.WriteTo(writer);
                if (_value != 0)
                {
                    writer.WriteUtf8(_value > 0 ? "+0x"u8 : "-0x"u8);
                    writer.Hex(_value > 0 ? (ulong)_value : (ulong)-_value);
                }
                break;
            case Form.Symbol:
                writer.Write('\'');
                _name.WriteTo(writer);
                writer.Write('\'');
                break;
            default:
                writer.WriteUtf8("'symbol #"u8);
                writer.Decimal(_value);
                writer.Write('\'');
                break;
        }
    }

    public override string ToString() => TextParts.Written(this, static (t, w) => t.WriteTo(w));
}
