using PicGuard.Relocations;

namespace PicGuard.Rules;

/// <summary>The overflow questions placement (PG0007) asks of a relocation type, over values wider than 64 bits.</summary>
internal static class RelocationFit
{
    public static bool HasOverflowCheck(this RelocationType type) => type.Range is not null;

    public static bool Fits(this RelocationType type, Int128 value) =>
        type.Range is not { } range || value >= range.Min && value <= range.Max;

    public static string FieldDescription(this RelocationType type) =>
        type.Range is { } range
            ? $"{type.FieldBits}-bit {(type.Overflow == RelocationOverflow.Unsigned ? "zero-extended" : type.Overflow == RelocationOverflow.Signed ? "sign-extended" : "")} field [{Hex(range.Min)}, {Hex(range.Max)}]".Replace("  ", " ")
            : "field";

    private static string Hex(Int128 v) => v < 0 ? $"-0x{(-v).ToString("x")}" : $"0x{v.ToString("x")}";
}
