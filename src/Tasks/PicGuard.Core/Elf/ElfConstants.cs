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
    PowerPC = 20,
    PowerPC64 = 21,
    S390 = 22,
    Arm = 40,
    X86_64 = 62,
    AArch64 = 183,
    RiscV = 243,
    LoongArch = 258,
}

/// <summary>Names of machines (e_machine) for messages, whether or not PicGuard has a relocation table for them.</summary>
public static class ElfMachineNames
{
    /// <summary>"ARM (EM_ARM = 40)", or "unknown machine 1234" for a number PicGuard has no name for.</summary>
    public static string Describe(ushort machine) => Name(machine) is { } name ? name.Insert(name.Length - 1, $" = {machine}") : $"unknown machine {machine}";

    /// <summary>The machine's usual name and its EM_ constant, or null.</summary>
    public static string? Name(ushort machine) => machine switch
    {
        0 => "no machine (EM_NONE)",
        2 => "SPARC (EM_SPARC)",
        3 => "i386 (EM_386)",
        4 => "m68k (EM_68K)",
        8 => "MIPS (EM_MIPS)",
        15 => "PA-RISC (EM_PARISC)",
        18 => "SPARC32PLUS (EM_SPARC32PLUS)",
        20 => "PowerPC (EM_PPC)",
        21 => "PowerPC64 (EM_PPC64)",
        22 => "s390 (EM_S390)",
        40 => "ARM (EM_ARM)",
        42 => "SuperH (EM_SH)",
        43 => "SPARC v9 (EM_SPARCV9)",
        50 => "IA-64 (EM_IA_64)",
        62 => "x86-64 (EM_X86_64)",
        83 => "AVR (EM_AVR)",
        93 => "ARC (EM_ARC_COMPACT)",
        94 => "Xtensa (EM_XTENSA)",
        105 => "MSP430 (EM_MSP430)",
        164 => "Hexagon (EM_HEXAGON)",
        183 => "AArch64 (EM_AARCH64)",
        189 => "MicroBlaze (EM_MICROBLAZE)",
        190 => "CUDA (EM_CUDA)",
        195 => "ARCv2 (EM_ARC_COMPACT2)",
        224 => "AMDGPU (EM_AMDGPU)",
        243 => "RISC-V (EM_RISCV)",
        247 => "BPF (EM_BPF)",
        252 => "C-SKY (EM_CSKY)",
        258 => "LoongArch (EM_LOONGARCH)",
        _ => null,
    };
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
    InitArray = 14,
    FiniArray = 15,
    PreinitArray = 16,
    Group = 17,
    SymbolTableSectionIndex = 18,
    /// <summary>SHT_RELR: relative relocations as a bitmap of places (linked files only).</summary>
    Relr = 19,
    /// <summary>SHT_CREL: compact relocations, LEB128-encoded deltas (LLVM, <c>-Wa,--crel</c>).</summary>
    Crel = 0x40000014,
    GnuHash = 0x6ffffff6,
    GnuVersionDefinitions = 0x6ffffffd,
    GnuVersionNeeds = 0x6ffffffe,
    GnuVersionSymbols = 0x6fffffff,
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
