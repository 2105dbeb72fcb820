using System.Globalization;

namespace PicGuard.Rules;

/// <summary>
/// Where the loader may place the blob (<c>PicLoadAddress</c>, CLI <c>--load-address</c>): one address
/// (<c>0x100000</c>) or an inclusive range (<c>0x100000-0xffffffff</c>, or <c>any</c> for the whole
/// 64-bit space). Placement overflow (PG0007) is judged at both ends of the range.
/// </summary>
public readonly record struct LoadAddress(ulong Low, ulong High)
{
    public static readonly LoadAddress Anywhere = new(0, ulong.MaxValue);

    public bool IsSingle => Low == High;

    public override string ToString() => IsSingle ? $"0x{Low:x}" : this == Anywhere ? "any" : $"0x{Low:x}-0x{High:x}";

    public const string AcceptedForms = "an address such as 0x100000, a range such as 0x100000-0x7fffffff, or 'any'";

    public static bool TryParse(string? text, out LoadAddress address, out string error)
    {
        address = default;
        error = "";
        string t = (text ?? "").Trim();
        if (t.Equals("any", StringComparison.OrdinalIgnoreCase)) { address = Anywhere; return true; }
        int dash = t.IndexOf('-', 1 < t.Length ? 1 : 0);
        if (dash > 0)
        {
            if (!TryNumber(t[..dash], out ulong low) || !TryNumber(t[(dash + 1)..], out ulong high))
            {
                error = $"'{text}' is not {AcceptedForms}";
                return false;
            }
            if (high < low)
            {
                error = $"'{text}' is an empty range: its end is below its start";
                return false;
            }
            address = new LoadAddress(low, high);
            return true;
        }
        if (!TryNumber(t, out ulong single))
        {
            error = $"'{text}' is not {AcceptedForms}";
            return false;
        }
        address = new LoadAddress(single, single);
        return true;
    }

    private static bool TryNumber(string s, out ulong value)
    {
        s = s.Trim().Replace("_", "").Replace("'", "");
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && s.Length > 2;
        return ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
