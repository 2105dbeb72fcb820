using PicGuard.Diagnostics;
namespace PicGuard.Elf;
internal sealed class SourceLocator
{
    public static SourceLocator Build(ElfFile elf) => new();
    public SourcePosition? Find(uint section, ulong offset) => null;
}
