namespace PicGuard.Elf.Dwarf;

/// <summary>
/// The relocations of a relocatable object (ET_REL) applied to a copy of one debug section, so that
/// addresses and string offsets read from it hold their real values. Also remembers, for each field
/// patched with an absolute relocation, the section of the symbol it names: that tells which section
/// a DW_LNE_set_address belongs to. Relocations whose type is not understood, or whose symbol is
/// undefined, are remembered by offset so that the caller can drop what depends on them.
/// </summary>
internal sealed class DebugSectionRelocations
{
    private readonly Dictionary<int, uint> _addressSections = new();
    private readonly List<int> _unresolved = new();
    private readonly bool _bigEndian;

    private DebugSectionRelocations(bool bigEndian) => _bigEndian = bigEndian;

    /// <summary>The section of the symbol the absolute relocation at <paramref name="fieldOffset"/> names, if any.</summary>
    public uint? SectionOfField(int fieldOffset) =>
        _addressSections.TryGetValue(fieldOffset, out uint section) ? section : null;

    /// <summary>True when a relocation that could not be applied patches a byte in [start, end).</summary>
    public bool AnyUnresolvedIn(int start, int end)
    {
        int i = _unresolved.BinarySearch(start);
        if (i < 0) i = ~i;
        return i < _unresolved.Count && _unresolved[i] < end;
    }

    /// <summary>Applies every SHT_REL/SHT_RELA section that patches <paramref name="target"/> to <paramref name="data"/>, in place.</summary>
    public static DebugSectionRelocations Apply(ElfFile elf, ElfSection target, byte[] data)
    {
        var result = new DebugSectionRelocations(elf.IsBigEndian);
        foreach (var section in elf.Sections)
        {
            if (!ElfFile.IsRelocationSection(section.Type) || section.Info != (uint)target.Index) continue;
            var relocations = elf.GetRelocations(section);
            ElfSymbolTable? symbols = section.Link != 0 ? elf.GetSymbolTable(section.Link) : null;
            for (int i = 0; i < relocations.Count; i++)
                result.ApplyOne(elf.RawMachine, relocations[i], symbols, data);
        }
        result._unresolved.Sort();
        return result;
    }

    private void ApplyOne(ushort machine, ElfRelocation r, ElfSymbolTable? symbols, byte[] data)
    {
        var (kind, width) = Classify(machine, r.Type);
        if (kind == Kind.None) return;
        int offset = r.Offset <= int.MaxValue ? (int)r.Offset : -1;
        int span = kind is Kind.SetUleb128 or Kind.AddUleb128 or Kind.SubUleb128 ? 1 : width;
        if (offset < 0 || offset > data.Length - span)
        {
            if (offset >= 0 && offset < data.Length) _unresolved.Add(offset);
            return;
        }
        ElfSymbol? symbol = null;
        if (r.SymbolIndex != 0)
        {
            if (symbols is null || r.SymbolIndex >= (uint)symbols.Count) { _unresolved.Add(offset); return; }
            symbol = symbols[r.SymbolIndex];
            if (symbol.Value.IsUndefined) { _unresolved.Add(offset); return; }
        }
        if (kind == Kind.Unknown) { _unresolved.Add(offset); return; }

        ulong s = symbol?.Value ?? 0;
        var field = data.AsSpan(offset);
        ulong addend = r.HasAddend ? (ulong)r.Addend : Read(field, width);
        ulong value = s + addend;
        switch (kind)
        {
            case Kind.Absolute:
                Write(field, width, value);
                if (symbol is { IsInSection: true } defined)
                    _addressSections[offset] = defined.SectionIndex;
                break;
            case Kind.Set:
                Write(field, width, value);
                break;
            case Kind.Add:
                Write(field, width, Read(field, width) + s + (ulong)r.Addend);
                break;
            case Kind.Subtract:
                Write(field, width, Read(field, width) - s - (ulong)r.Addend);
                break;
            case Kind.Set6:
                field[0] = (byte)(field[0] & 0xc0 | (byte)(value & 0x3f));
                break;
            case Kind.Add6:
                field[0] = (byte)(field[0] & 0xc0 | (byte)((ulong)(field[0] & 0x3f) + s + (ulong)r.Addend & 0x3f));
                break;
            case Kind.Sub6:
                field[0] = (byte)(field[0] & 0xc0 | (byte)((ulong)(field[0] & 0x3f) - s - (ulong)r.Addend & 0x3f));
                break;
            case Kind.SetUleb128:
            case Kind.AddUleb128:
            case Kind.SubUleb128:
                if (!RewriteUleb128(field, kind, s + (ulong)r.Addend)) _unresolved.Add(offset);
                break;
        }
    }

    /// <summary>Sets or subtracts from the ULEB128 at the start of <paramref name="field"/>, keeping its encoded length.</summary>
    private static bool RewriteUleb128(Span<byte> field, Kind kind, ulong operand)
    {
        int length = 0;
        ulong current = 0;
        while (true)
        {
            if (length >= field.Length || length >= 10) return false;
            byte b = field[length];
            current |= (ulong)(b & 0x7f) << (7 * length);
            length++;
            if ((b & 0x80) == 0) break;
        }
        ulong value = kind switch { Kind.SetUleb128 => operand, Kind.AddUleb128 => current + operand, _ => current - operand };
        if (length < 10 && value >> (7 * length) != 0) return false;
        for (int i = 0; i < length; i++)
        {
            byte b = (byte)(value & 0x7f);
            value >>= 7;
            field[i] = i == length - 1 ? b : (byte)(b | 0x80);
        }
        return true;
    }

    /// <summary>A field of 1, 2, 3 (LoongArch ADD24/SUB24), 4 or 8 bytes in the object's byte order.</summary>
    private ulong Read(ReadOnlySpan<byte> field, int width)
    {
        ulong value = 0;
        if (_bigEndian)
            for (int i = 0; i < width; i++) value = value << 8 | field[i];
        else
            for (int i = width - 1; i >= 0; i--) value = value << 8 | field[i];
        return value;
    }

    private void Write(Span<byte> field, int width, ulong value)
    {
        for (int i = 0; i < width; i++)
            field[_bigEndian ? width - 1 - i : i] = (byte)(value >> (8 * i));
    }

    private enum Kind { None, Unknown, Absolute, Set, Add, Subtract, Set6, Add6, Sub6, SetUleb128, AddUleb128, SubUleb128 }

    private const ushort MachineArm = 40;

    /// <summary>The relocation types compilers put in debug sections, per machine.</summary>
    private static (Kind Kind, int Width) Classify(ushort machine, uint type) => ((ElfMachine)machine, type) switch
    {
        (ElfMachine.X86_64, 0) => (Kind.None, 0),
        (ElfMachine.X86_64, 1) => (Kind.Absolute, 8),   // R_X86_64_64
        (ElfMachine.X86_64, 10) => (Kind.Absolute, 4),  // R_X86_64_32
        (ElfMachine.X86_64, 11) => (Kind.Absolute, 4),  // R_X86_64_32S
        (ElfMachine.I386, 0) => (Kind.None, 0),
        (ElfMachine.I386, 1) => (Kind.Absolute, 4),     // R_386_32
        (ElfMachine.AArch64, 0 or 256) => (Kind.None, 0),
        (ElfMachine.AArch64, 257) => (Kind.Absolute, 8), // R_AARCH64_ABS64
        (ElfMachine.AArch64, 258) => (Kind.Absolute, 4), // R_AARCH64_ABS32
        (ElfMachine.AArch64, 259) => (Kind.Absolute, 2), // R_AARCH64_ABS16
        (ElfMachine.RiscV, 0 or 51) => (Kind.None, 0),   // R_RISCV_NONE, R_RISCV_RELAX
        (ElfMachine.RiscV, 1) => (Kind.Absolute, 4),     // R_RISCV_32
        (ElfMachine.RiscV, 2) => (Kind.Absolute, 8),     // R_RISCV_64
        (ElfMachine.RiscV, 33) => (Kind.Add, 1),
        (ElfMachine.RiscV, 34) => (Kind.Add, 2),
        (ElfMachine.RiscV, 35) => (Kind.Add, 4),
        (ElfMachine.RiscV, 36) => (Kind.Add, 8),
        (ElfMachine.RiscV, 37) => (Kind.Subtract, 1),
        (ElfMachine.RiscV, 38) => (Kind.Subtract, 2),
        (ElfMachine.RiscV, 39) => (Kind.Subtract, 4),
        (ElfMachine.RiscV, 40) => (Kind.Subtract, 8),
        (ElfMachine.RiscV, 52) => (Kind.Sub6, 1),
        (ElfMachine.RiscV, 53) => (Kind.Set6, 1),
        (ElfMachine.RiscV, 54) => (Kind.Set, 1),
        (ElfMachine.RiscV, 55) => (Kind.Set, 2),
        (ElfMachine.RiscV, 56) => (Kind.Set, 4),
        (ElfMachine.RiscV, 60) => (Kind.SetUleb128, 0),
        (ElfMachine.RiscV, 61) => (Kind.SubUleb128, 0),
        ((ElfMachine)MachineArm, 0) => (Kind.None, 0),
        ((ElfMachine)MachineArm, 2) => (Kind.Absolute, 4), // R_ARM_ABS32
        (ElfMachine.S390, 0) => (Kind.None, 0),
        (ElfMachine.S390, 4) => (Kind.Absolute, 4),      // R_390_32
        (ElfMachine.S390, 22) => (Kind.Absolute, 8),     // R_390_64
        (ElfMachine.PowerPC64, 0) => (Kind.None, 0),
        (ElfMachine.PowerPC64, 1) => (Kind.Absolute, 4), // R_PPC64_ADDR32
        (ElfMachine.PowerPC64, 38) => (Kind.Absolute, 8), // R_PPC64_ADDR64
        (ElfMachine.LoongArch, 0 or 100 or 102) => (Kind.None, 0), // R_LARCH_NONE, RELAX, ALIGN
        (ElfMachine.LoongArch, 1) => (Kind.Absolute, 4), // R_LARCH_32
        (ElfMachine.LoongArch, 2) => (Kind.Absolute, 8), // R_LARCH_64
        (ElfMachine.LoongArch, 47) => (Kind.Add, 1),
        (ElfMachine.LoongArch, 48) => (Kind.Add, 2),
        (ElfMachine.LoongArch, 49) => (Kind.Add, 3),
        (ElfMachine.LoongArch, 50) => (Kind.Add, 4),
        (ElfMachine.LoongArch, 51) => (Kind.Add, 8),
        (ElfMachine.LoongArch, 52) => (Kind.Subtract, 1),
        (ElfMachine.LoongArch, 53) => (Kind.Subtract, 2),
        (ElfMachine.LoongArch, 54) => (Kind.Subtract, 3),
        (ElfMachine.LoongArch, 55) => (Kind.Subtract, 4),
        (ElfMachine.LoongArch, 56) => (Kind.Subtract, 8),
        (ElfMachine.LoongArch, 105) => (Kind.Add6, 1),
        (ElfMachine.LoongArch, 106) => (Kind.Sub6, 1),
        (ElfMachine.LoongArch, 107) => (Kind.AddUleb128, 0),
        (ElfMachine.LoongArch, 108) => (Kind.SubUleb128, 0),
        _ => (Kind.Unknown, 0),
    };
}
