namespace PicGuard.Relocations;

/// <summary>What a relocation type asks the loader to compute, as far as position independence cares.</summary>
public enum RelocationKind : byte
{
    /// <summary>Not described by any table (unknown machine or unassigned type number).</summary>
    Unknown = 0,
    /// <summary>R_*_NONE: no-op.</summary>
    None,
    /// <summary>S + A: the symbol's absolute address. Wrong as soon as the blob runs elsewhere than linked.</summary>
    Absolute,
    /// <summary>S + A - P: distance from the place; fine at any load address as long as the two stay together.</summary>
    PcRelative,
    /// <summary>L + A - P: a call through the PLT, resolved PC-relative in a static link.</summary>
    PltCall,
    /// <summary>Anything that goes through the GOT (entry address, GOT base, offset from the GOT).</summary>
    Got,
    /// <summary>Thread-local storage models; need a runtime that sets up TLS.</summary>
    Tls,
    /// <summary>Relocations only a dynamic linker applies (COPY, GLOB_DAT, JUMP_SLOT, RELATIVE, IRELATIVE).</summary>
    Dynamic,
    /// <summary>The symbol's size (Z + A): position-independent.</summary>
    Size,
    /// <summary>Known type that carries no address (e.g. linker relaxation markers, vtable bookkeeping).</summary>
    Marker,
}

/// <summary>
/// One row of a machine's relocation table: the psABI name, what it computes, and how wide the
/// field it patches is (0 when it patches no plain field or the width is not fixed).
/// </summary>
public readonly record struct RelocationType(uint Number, string Name, RelocationKind Kind, byte FieldBytes = 0)
{
    public bool IsKnown => Kind != RelocationKind.Unknown;
}
