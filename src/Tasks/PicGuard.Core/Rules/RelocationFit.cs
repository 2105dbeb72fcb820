using PicGuard.Relocations;
namespace PicGuard.Rules;
internal static class RelocationFit
{
    public static bool HasOverflowCheck(this RelocationType t) => t.FieldBytes is > 0 and < 8;
    public static bool Fits(this RelocationType t, Int128 v)
    {
        int bits = t.FieldBytes * 8;
        bool signed = t.Name.EndsWith("32S") || t.Kind != RelocationKind.Absolute;
        return signed ? v >= -((Int128)1 << (bits - 1)) && v < ((Int128)1 << (bits - 1)) : v >= 0 && v < ((Int128)1 << bits);
    }
    public static string FieldDescription(this RelocationType t) => $"{t.FieldBytes * 8}-bit field";
}
