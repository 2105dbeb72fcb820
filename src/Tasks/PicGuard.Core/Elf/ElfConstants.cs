namespace PicGuard.Elf;

/// <summary>ELF file types (e_type).</summary>
public enum ElfFileType : ushort
{
    None = 0,
    Relocatable = 1,
    Executable = 2,
    SharedObject = 3,
    Core = 4,
}

/// <summary>The machines PicGuard has relocation tables for (e_machine); others are read but not classified.</summary>
public enum ElfMachine : ushort
{
    None = 0,
    I386 = 3,
    X86_64 = 62,
    AArch64 = 183,
    RiscV = 243,
}

/// <summary>Section types (sh_type) the reader interprets.</summary>
public enum ElfSectionType : uint
{
    Null = 0,
    ProgBits = 1,
    SymbolTable = 2,
    StringTable = 3,
    Rela = 4,
    Hash = 5,
    Dynamic = 6,
    Note = 7,
    NoBits = 8,
    Rel = 9,
    DynamicSymbolTable = 11,
    Group = 17,
    SymbolTableSectionIndex = 18,
}

/// <summary>Section flags (sh_flags).</summary>
[Flags]
public enum ElfSectionFlags : ulong
{
    None = 0,
    Write = 0x1,
    Alloc = 0x2,
    ExecInstr = 0x4,
    Merge = 0x10,
    Strings = 0x20,
    InfoLink = 0x40,
    Tls = 0x400,
    /// <summary>SHF_COMPRESSED: the data starts with an Elf32_Chdr/Elf64_Chdr and is compressed.</summary>
    Compressed = 0x800,
    /// <summary>SHF_X86_64_LARGE: the section lives outside the small code model's 2 GiB (x86-64 only).</summary>
    X86_64Large = 0x10000000,
}

/// <summary>Symbol types (low nibble of st_info).</summary>
public enum ElfSymbolType : byte
{
    NoType = 0,
    Object = 1,
    Function = 2,
    Section = 3,
    File = 4,
    Common = 5,
    Tls = 6,
    GnuIndirectFunction = 10,
}

/// <summary>Symbol bindings (high nibble of st_info).</summary>
public enum ElfSymbolBinding : byte
{
    Local = 0,
    Global = 1,
    Weak = 2,
    GnuUnique = 10,
}

/// <summary>Special section indices (st_shndx, e_shstrndx).</summary>
public static class ElfSectionIndex
{
    public const ushort Undefined = 0;
    public const ushort LoReserve = 0xff00;
    public const ushort Absolute = 0xfff1;
    public const ushort Common = 0xfff2;
    public const ushort ExtendedIndex = 0xffff;
}
