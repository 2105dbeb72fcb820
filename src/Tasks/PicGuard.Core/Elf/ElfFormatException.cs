namespace PicGuard.Elf;

/// <summary>
/// The input is not a well-formed ELF object or archive. The message says which structure is
/// broken and where, e.g. "section header table at 0x40 runs past end of file (size 0x20)".
/// </summary>
public sealed class ElfFormatException : Exception
{
    public ElfFormatException(string message) : base(message) { }
}
