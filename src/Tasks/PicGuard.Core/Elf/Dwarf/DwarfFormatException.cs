namespace PicGuard.Elf.Dwarf;

/// <summary>Debug information that does not decode; the locator catches it and answers "no position".</summary>
internal sealed class DwarfFormatException : Exception
{
    public DwarfFormatException(string message) : base(message) { }
}
