using System.Buffers.Binary;
using PicGuard.Diagnostics;
using PicGuard.Elf;
using PicGuard.Relocations;
using PicGuard.Rules;

namespace PicGuard.Loaders;

/// <summary>Where the loader puts one allocated section, relative to the blob's base.</summary>
public readonly record struct PlacedSection(int Index, string Name, ulong Offset, ulong Size, ulong Alignment, bool ZeroFilled, bool Executable);

/// <summary>
/// The layout the kexec_file loader gives a relocatable object (kexec_purgatory_setup_kbuf and
/// kexec_purgatory_setup_sechdrs): the offset of every allocated section from the base, the size of the copied data,
/// the size in memory with the zero-filled sections, the alignment of the base, and the entry.
/// </summary>
public sealed class LoaderLayout
{
    internal const ulong NotPlaced = ulong.MaxValue;
    private readonly ulong[] _offsets;

    internal LoaderLayout(ulong[] offsets, IReadOnlyList<PlacedSection> sections, ulong fileSize, ulong memorySize, ulong alignment,
        ulong elfEntry, int entrySection, ulong entryOffset, IReadOnlyList<int> otherEntrySections)
    {
        _offsets = offsets;
        Sections = sections;
        FileSize = fileSize;
        MemorySize = memorySize;
        Alignment = alignment;
        ElfEntry = elfEntry;
        EntrySection = entrySection;
        EntryOffset = entryOffset;
        OtherEntrySections = otherEntrySections;
    }

    /// <summary>Allocated sections in section-header order.</summary>
    public IReadOnlyList<PlacedSection> Sections { get; }

    /// <summary>The bytes the loader copies (kbuf->bufsz): file data, then padding up to the zero-filled sections.</summary>
    public ulong FileSize { get; }

    /// <summary>The bytes the blob takes in memory (kbuf->memsz): <see cref="FileSize"/> plus the zero-filled sections.</summary>
    public ulong MemorySize { get; }

    /// <summary>The base is a multiple of this (kbuf->buf_align): the largest alignment of an allocated section, at least a page.</summary>
    public ulong Alignment { get; }

    public ulong ElfEntry { get; }

    /// <summary>The executable section that contains e_entry and rebases it (the first one), or -1: the entry stays e_entry, unrebased.</summary>
    public int EntrySection { get; }

    /// <summary>The entry's offset from the base when <see cref="EntrySection"/> is set.</summary>
    public ulong EntryOffset { get; }

    /// <summary>Later executable sections that also contain e_entry: the kernel warns (WARN_ON) and ignores them.</summary>
    public IReadOnlyList<int> OtherEntrySections { get; }

    /// <summary>The section's offset from the base, or null when the loader does not place it.</summary>
    public ulong? OffsetOf(uint section) => section < (uint)_offsets.Length && _offsets[section] != NotPlaced ? _offsets[section] : null;

    internal ulong RawOffset(uint section) => section < (uint)_offsets.Length ? _offsets[section] : NotPlaced;

    /// <summary>The entry address at <paramref name="base"/>: rebased by its section, or e_entry as it is when no executable section contains it.</summary>
    public ulong EntryAt(ulong @base) => EntrySection >= 0 ? @base + EntryOffset : ElfEntry;
}

/// <summary>What a relocation's symbol is to the loader.</summary>
public enum SymbolPlacement : byte
{
    /// <summary>Defined in a placed section: its address is base + the section's offset + st_value.</summary>
    Placed,
    /// <summary>SHN_ABS: st_value, wherever the blob is.</summary>
    Absolute,
    /// <summary>SHN_UNDEF: the loader fails ('Undefined symbol: %s').</summary>
    Undefined,
    /// <summary>SHN_COMMON: the loader fails ('symbol '%s' in common section').</summary>
    Common,
    /// <summary>A reserved or out-of-range section index: the loader fails ('Invalid section %d for symbol %s').</summary>
    InvalidSection,
}

/// <summary>A relocation's symbol as the loader resolves it: for a placed symbol, <see cref="Value"/> is its offset from the base.</summary>
public readonly record struct ResolvedSymbol(SymbolPlacement Placement, ulong Value, string? Name, ushort RawSectionIndex);

/// <summary>One value written into a symbol of the placed image (kexec_purgatory_get_set_symbol), as <c>--set SYMBOL=HEX</c> gives it.</summary>
public sealed record SymbolValue(string Symbol, byte[] Bytes, bool IsNumber, ulong Number);

/// <summary>A field the loader writes: its offset from the base and width in bytes.</summary>
public readonly record struct Patch(ulong Offset, int Width);

/// <summary>A loader error: the PG rule it is, the loader's own message, and the place.</summary>
public sealed record LoaderFinding(Rule Rule, string LoaderMessage, IReadOnlyList<string> Context);

/// <summary>The image as the loader leaves it in memory, or the errors that stop it.</summary>
public sealed class LoadResult
{
    public LoaderLayout? Layout { get; init; }
    public ulong Base { get; init; }
    /// <summary><see cref="LoaderLayout.MemorySize"/> bytes: the copied data, relocated, then the zero-filled sections.</summary>
    public byte[] Image { get; init; } = [];
    public List<Patch> Patches { get; } = new();
    public List<LoaderFinding> Errors { get; } = new();
    public List<string> Warnings { get; } = new();
    public bool Succeeded => Errors.Count == 0 && Layout is not null;
}

/// <summary>
/// The one engine behind the loader models: places a relocatable object as the kexec_file loader does, resolves
/// symbols and computes every relocation with the model's formula and the loader's own overflow check. The checker
/// judges PG0006, PG0007 and PG0008 with these same functions; <c>picguard load</c> writes the image they produce.
/// </summary>
public static class LoaderEngine
{
    /// <summary>How to build code whose auipc pairs the riscv64 loader relocates right.</summary>
    public const string MisPairedFix = "keep each auipc and its %pcrel_lo instruction adjacent, as the loader assumes (the compiler moved this pair apart, e.g. hoisting the auipc out of a loop): compute the address with lla in assembly or restructure the code; a loader that follows the psABI applies the pair as it is";

    /// <summary>The kernel's ALIGN(x, a): (x + a - 1) &amp; ~(a - 1), with its arithmetic as is (ALIGN(x, 0) is 0).</summary>
    internal static ulong Align(ulong x, ulong a) => unchecked((x + (a - 1)) & ~(a - 1));

    /// <summary>The page size kexec_add_buffer aligns every segment's base to (PAGE_SIZE on x86-64 and s390x).</summary>
    public const ulong PageSize = 0x1000;

    /// <summary>Places the allocated sections of a relocatable object as kexec_purgatory_setup_kbuf and kexec_purgatory_setup_sechdrs do.</summary>
    public static LoaderLayout Place(ElfFile elf)
    {
        var sections = elf.SectionSpan;
        var offsets = new ulong[sections.Length];
        Array.Fill(offsets, LoaderLayout.NotPlaced);
        ulong bufAlign = 1, bssAlign = 1, bufSize = 0, bssSize = 0;
        foreach (ref readonly var s in sections)
        {
            if (!s.IsAllocated) continue;
            if (s.Type != ElfSectionType.NoBits)
            {
                bufAlign = Math.Max(bufAlign, s.Alignment);
                bufSize = Align(bufSize, s.Alignment) + s.Size;
            }
            else
            {
                bssAlign = Math.Max(bssAlign, s.Alignment);
                bssSize = Align(bssSize, s.Alignment) + s.Size;
            }
        }
        bufSize = Align(bufSize, bssAlign);
        ulong memSize = bufSize + bssSize;
        bufAlign = Math.Max(bufAlign, bssAlign);
        // kexec_add_buffer: buf_align = max(buf_align, PAGE_SIZE); the base is at least page-aligned.
        bufAlign = Math.Max(bufAlign, PageSize);

        var placed = new List<PlacedSection>();
        ulong offset = 0, bss = bufSize;
        int entrySection = -1;
        ulong entryOffset = 0;
        var others = new List<int>();
        foreach (ref readonly var s in sections)
        {
            if (!s.IsAllocated) continue;
            if (s.Type == ElfSectionType.NoBits)
            {
                // The base is a multiple of bufAlign, so aligning the offset aligns the address.
                bss = Align(bss, s.Alignment);
                offsets[s.Index] = bss;
                placed.Add(new(s.Index, elf.SectionName(s), bss, s.Size, s.Alignment, true, s.IsExecutable));
                bss += s.Size;
                continue;
            }
            offset = Align(offset, s.Alignment);
            if (s.IsExecutable && elf.Entry >= s.Address && elf.Entry - s.Address < s.Size)
            {
                if (entrySection < 0)
                {
                    entrySection = s.Index;
                    entryOffset = offset + (elf.Entry - s.Address);
                }
                else
                {
                    others.Add(s.Index);
                }
            }
            offsets[s.Index] = offset;
            placed.Add(new(s.Index, elf.SectionName(s), offset, s.Size, s.Alignment, false, s.IsExecutable));
            offset += s.Size;
        }
        return new LoaderLayout(offsets, placed, bufSize, memSize, bufAlign, elf.Entry, entrySection, entryOffset, others);
    }

    /// <summary>
    /// The formulas of the types the profile's loader applies on <paramref name="table"/>'s machine, by type number
    /// (null entries for types it does not apply), or null when PicGuard has no model of that loader on that machine.
    /// </summary>
    public static RelocationFormula?[]? Formulas(LoaderModel? model, Profile profile, RelocationTable table)
    {
        if (model is null || model.Architecture(table.Machine) is null) return null;
        if (profile.LoaderFor(table.Machine, table.Is64Bit)?.AppliedTypes is not { } accepted) return null;
        var formulas = new RelocationFormula?[table.Types.Max(x => x.Number) + 1];
        foreach (var type in table.Types)
        {
            if (!accepted.Contains(type.Name, StringComparer.Ordinal)) continue;
            // A listed type with no row: the model does not know how the loader applies it, so it is not judged by formula.
            if (model.Formula(table.Machine, type.Name) is not { } f) return null;
            formulas[type.Number] = f;
        }
        return formulas;
    }

    /// <summary>Resolves symbol <paramref name="index"/> as arch_kexec_apply_relocations_add does (raw st_shndx, the section's name for an unnamed symbol).</summary>
    public static ResolvedSymbol Resolve(ElfFile elf, LoaderLayout layout, ElfSymbolTable symbols, uint index, bool withName)
    {
        var symbol = symbols[index];
        ushort shndx = symbol.RawSectionIndex;
        string? name = withName ? LoaderName(elf, symbols, symbol) : null;
        if (shndx == ElfSectionIndex.Undefined) return new(SymbolPlacement.Undefined, 0, name, shndx);
        if (shndx == ElfSectionIndex.Common) return new(SymbolPlacement.Common, 0, name, shndx);
        if (shndx == ElfSectionIndex.Absolute) return new(SymbolPlacement.Absolute, symbol.Value, name, shndx);
        if (shndx >= elf.Sections.Count) return new(SymbolPlacement.InvalidSection, 0, name, shndx);
        ulong offset = layout.RawOffset(shndx);
        // An unallocated section keeps sh_addr (0 in an object) in the loader's copy of the headers: the value is absolute.
        if (offset == LoaderLayout.NotPlaced)
            return new(SymbolPlacement.Absolute, unchecked(elf.GetSection(shndx).Address + symbol.Value), name, shndx);
        return new(SymbolPlacement.Placed, unchecked(offset + symbol.Value), name, shndx);
    }

    /// <summary>The name the loader prints: st_name, or the name of the symbol's section for an unnamed one.</summary>
    private static string LoaderName(ElfFile elf, ElfSymbolTable symbols, in ElfSymbol symbol)
    {
        if (symbol.NameOffset != 0) return symbols.Name(symbol);
        return symbol.RawSectionIndex < elf.Sections.Count ? elf.SectionName(elf.GetSection(symbol.RawSectionIndex)) : "";
    }

    /// <summary>
    /// The value a formula computes as a function of the base: <c>Constant + Slope × base</c> (mod 2^64), slope -1, 0 or 1.
    /// </summary>
    public static (ulong Constant, int Slope) Linear(RelocationFormula formula, in ResolvedSymbol symbol, long addend, ulong placeOffset)
    {
        unchecked
        {
            int symbolSlope = symbol.Placement == SymbolPlacement.Placed ? 1 : 0;
            ulong s = symbol.Value + (ulong)addend;
            return formula.Kind == FormulaKind.PcRelative ? (s - placeOffset, symbolSlope - 1) : (s, formula.Kind == FormulaKind.Nothing ? 0 : symbolSlope);
        }
    }

    /// <summary>
    /// Whether the value overflows the field for some base in <paramref name="low"/>..<paramref name="high"/>, with the first
    /// such base and its value. Exact over the whole range (the loader's arithmetic wraps at 2^64), not only at its ends.
    /// </summary>
    public static bool OverflowsSomewhere(RelocationFormula formula, ulong constant, int slope, ulong low, ulong high, out ulong badBase, out ulong badValue)
    {
        badBase = low;
        badValue = unchecked(constant + (ulong)(long)slope * low);
        if (formula.Kind == FormulaKind.Nothing || formula.Check == FieldCheck.FullWidth) return false;
        var (accepted, count) = formula.Accepted;
        if (slope == 0) return !formula.Fits(constant);
        UInt128 n = (UInt128)(high - low) + 1;
        UInt128 d = unchecked(badValue - accepted); // how far the value at the low end is into the accepted range
        if (d >= count) return true;
        UInt128 step = slope > 0 ? count - d : d + 1; // bases from the low end until the value leaves the range
        if (step >= n) return false;
        badBase = unchecked(low + (ulong)step);
        badValue = unchecked(constant + (ulong)(long)slope * badBase);
        return true;
    }

    /// <summary>The loader's overflow message for a type number and value.</summary>
    public static string OverflowMessage(LoaderArchitecture arch, uint type, ulong value) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, arch.OverflowMessage ?? "", type, value);

    /// <summary>
    /// Loads <paramref name="elf"/> at <paramref name="base"/> as the profile's loader does: places the sections, applies every
    /// relocation with its formula and check, then writes <paramref name="values"/> into their symbols. Every error is
    /// collected (the kernel stops at the first), each with the loader's own message.
    /// </summary>
    public static LoadResult Load(ElfFile elf, Profile profile, ulong @base, IReadOnlyList<SymbolValue> values)
    {
        var model = LoaderModels.For(profile) ?? throw new ArgumentException($"profile {profile.Name} has no loader model", nameof(profile));
        var arch = model.Architecture(elf.Machine);
        var table = RelocationTable.For(elf.Machine, elf.Is64Bit);
        var loaderRow = profile.LoaderFor(elf.Machine, elf.Is64Bit);
        if (arch is null || table is null || loaderRow is null || Formulas(model, profile, table) is not { } formulas)
            throw new NotSupportedException($"the {model.Name} loader model has no relocation formulas for {ElfMachineNames.Describe(elf.RawMachine)}; it models {string.Join(", ", model.Architectures.Select(a => ElfMachineNames.Describe((ushort)a.Machine)))}");

        var layout = Place(elf);
        var image = new byte[layout.MemorySize];
        var result = new LoadResult { Layout = layout, Base = @base, Image = image };
        foreach (var s in layout.Sections)
            if (!s.ZeroFilled)
                elf.SectionData(elf.GetSection((uint)s.Index)).CopyTo(image.AsSpan((int)s.Offset));
        foreach (int other in layout.OtherEntrySections)
            result.Warnings.Add($"e_entry 0x{layout.ElfEntry:x} is also inside executable section {elf.SectionName(elf.GetSection((uint)other))}: the loader warns (WARN_ON in kexec_purgatory_setup_sechdrs) and rebases the entry by {elf.SectionName(elf.GetSection((uint)layout.EntrySection))} only");
        if (layout.EntrySection < 0)
            result.Warnings.Add($"e_entry 0x{layout.ElfEntry:x} is in no executable section: the loader leaves the entry at 0x{layout.ElfEntry:x}, not in the blob");

        var misPaired = MisPaired(elf, layout, table, formulas).ToDictionary(m => (m.RelocationSection, m.Index), m => m.Message);
        foreach (ref readonly var rs in elf.SectionSpan)
        {
            if (rs.Type is not (ElfSectionType.Rela or ElfSectionType.Rel) && !ElfFile.IsRelocationSection(rs.Type)) continue;
            string rsName = elf.SectionName(rs);
            if (rs.Info >= elf.Sections.Count || rs.Link >= elf.Sections.Count)
            {
                result.Errors.Add(new(RuleCatalog.MalformedInput, "-ENOEXEC", [$"relocation section {rsName} names section {rs.Info} or symbol table {rs.Link}, past the {elf.Sections.Count} sections"]));
                continue;
            }
            var patched = elf.GetSection(rs.Info);
            if (!patched.IsAllocated) continue;
            string patchedName = elf.SectionName(patched);
            if (rs.Type is not (ElfSectionType.Rela or ElfSectionType.Rel))
            {
                // SHT_CREL and the like: the loader looks for SHT_RELA and SHT_REL only, so these relocations are never applied.
                result.Errors.Add(new(RuleCatalog.RejectedByLoader, $"section {rsName} (type 0x{(uint)rs.Type:x}) is not SHT_RELA or SHT_REL: the loader skips it, and {patchedName} is left unrelocated",
                    ["fix: link without --pack-relative-relocs/CREL (-Wa,--crel): the loader reads SHT_RELA only"]));
                continue;
            }
            if (rs.Type == ElfSectionType.Rel)
            {
                result.Errors.Add(new(RuleCatalog.RejectedByLoader, model.RelMessage, [$"relocation section {rsName} is SHT_REL; the loader applies SHT_RELA only"]));
                continue;
            }
            if (patched.Type == ElfSectionType.NoBits)
            {
                result.Errors.Add(new(RuleCatalog.RejectedByLoader, $"relocations in {rsName} patch zero-filled section {patchedName}, which the loader does not copy: they would be written elsewhere in the blob", []));
                continue;
            }
            ulong sectionOffset = layout.RawOffset((uint)patched.Index);
            var symbols = elf.GetSymbolTable(rs.Link);
            var relocations = elf.GetRelocations(rs);
            for (int i = 0; i < relocations.Count; i++)
            {
                var r = relocations[i];
                uint type = r.Type;
                var row = table[type];
                ulong placeOffset = unchecked(sectionOffset + r.Offset);
                string where = $"{patchedName}+0x{r.Offset:x}, at 0x{unchecked(@base + placeOffset):x}";
                var symbol = Resolve(elf, layout, symbols, r.SymbolIndex, withName: true);
                if (symbol.Placement == SymbolPlacement.Undefined && !arch.ChecksUndefined)
                {
                    ulong undefinedValue = symbols[r.SymbolIndex].Value;
                    if (r.SymbolIndex != 0)
                    {
                        result.Errors.Add(new(RuleCatalog.UndefinedSymbol, $"{symbol.Name} is undefined, and the loader does not check: it uses address 0x{undefinedValue:x}",
                            [$"{row.Name} at {where}", "fix: " + RuleCatalog.UndefinedSymbol.Fix]));
                        continue;
                    }
                    symbol = symbol with { Placement = SymbolPlacement.Absolute, Value = undefinedValue };
                }
                switch (symbol.Placement)
                {
                    case SymbolPlacement.Undefined:
                        result.Errors.Add(new(RuleCatalog.UndefinedSymbol, string.Format(model.UndefinedMessage, symbol.Name),
                            [$"{row.Name} at {where}", "fix: " + RuleCatalog.UndefinedSymbol.Fix]));
                        continue;
                    case SymbolPlacement.Common:
                        result.Errors.Add(new(RuleCatalog.UndefinedSymbol, string.Format(model.CommonMessage, symbol.Name),
                            [$"{row.Name} at {where}", "fix: compile with -fno-common, or give the variable an initialiser, so it is defined in .bss"]));
                        continue;
                    case SymbolPlacement.InvalidSection:
                        result.Errors.Add(new(RuleCatalog.UndefinedSymbol, string.Format(model.InvalidSectionMessage, symbol.RawSectionIndex, symbol.Name),
                            [$"{row.Name} at {where}"]));
                        continue;
                }
                var formula = type < (uint)formulas.Length ? formulas[type] : null;
                if (formula is null)
                {
                    result.Errors.Add(new(RuleCatalog.RejectedByLoader, loaderRow.ErrorFor(type, patchedName, r.Offset, ""),
                        [$"{row.Name} against {symbol.Name} at {where}", "fix: " + RuleCatalog.RejectedByLoader.Fix]));
                    continue;
                }
                if (misPaired.TryGetValue((rs.Index, i), out string? misPairedMessage))
                {
                    result.Errors.Add(new(RuleCatalog.RejectedByLoader, misPairedMessage,
                        [$"at 0x{unchecked(@base + placeOffset):x}", "fix: " + MisPairedFix]));
                    continue;
                }
                if (formula.Kind == FormulaKind.Nothing) continue;
                if (placeOffset > layout.FileSize || (ulong)formula.Width > patched.Size || r.Offset > patched.Size - (ulong)formula.Width)
                {
                    result.Errors.Add(new(RuleCatalog.MalformedInput, $"{row.Name} at {patchedName}+0x{r.Offset:x} writes past the end of {patchedName} (size 0x{patched.Size:x})", []));
                    continue;
                }
                var (constant, slope) = Linear(formula, symbol, r.Addend, placeOffset);
                ulong value = unchecked(constant + (ulong)(long)slope * @base);
                if (!formula.Fits(value))
                {
                    int bits = formula.Bits;
                    string check = formula.Check switch
                    {
                        FieldCheck.ZeroExtended => $"the loader checks that the value zero-extends from {bits} bits",
                        FieldCheck.SignExtended => $"the loader checks that the value sign-extends from {bits} bits",
                        FieldCheck.UncheckedUnsigned => $"the loader writes the low {bits} bits without a check; the field would read 0x{value & ((1UL << bits) - 1):x} instead",
                        _ => $"the loader writes the low {bits} bits without a check; the code would reach 0x{SignExtend(value, bits):x} instead",
                    };
                    string message = arch.OverflowMessage is not null && formula.Check is FieldCheck.ZeroExtended or FieldCheck.SignExtended
                        ? OverflowMessage(arch, type, value)
                        : $"{row.Name} value 0x{value:x} does not fit its {bits}-bit field: the loader writes it truncated, without an error";
                    result.Errors.Add(new(RuleCatalog.PlacementOverflow, message,
                        [$"{row.Name} against {symbol.Name}{Addend(r.Addend)} at {where}", $"{check}; the blob is placed at 0x{@base:x}", "fix: " + RuleCatalog.PlacementOverflow.Fix]));
                    continue;
                }
                WriteField(image.AsSpan((int)placeOffset, formula.Width), formula, value, elf.IsBigEndian);
                result.Patches.Add(new(placeOffset, formula.Width));
            }
        }
        foreach (var v in values)
            SetSymbol(elf, layout, image, v, result);
        return result;
    }

    /// <summary>A relocation the loader applies to the wrong instruction: its relocation section, its index there, and why.</summary>
    public readonly record struct MisPairedRelocation(int RelocationSection, int Index, string Message);

    /// <summary>
    /// The relocations whose field the loader writes with another relocation's (<see cref="RelocationFormula.WrittenWith"/>:
    /// R_RISCV_PCREL_LO12_I with the R_RISCV_PCREL_HI20 of the word before it) and that are not where the loader assumes:
    /// a reader whose symbol does not name a writer in the word before it keeps its unrelocated immediate, and a writer
    /// with no such reader after it has the next instruction's bits 20–31 overwritten. Per-relocation state: the writers'
    /// places, looked up at the address each reader's symbol names.
    /// </summary>
    public static List<MisPairedRelocation> MisPaired(ElfFile elf, LoaderLayout layout, RelocationTable table, RelocationFormula?[] formulas)
    {
        var found = new List<MisPairedRelocation>();
        string? readerName = null, writerName = null;
        foreach (var f in formulas)
            if (f?.WrittenWith is { } w) (readerName, writerName) = (f.TypeName, w);
        if (readerName is null) return found;
        var writers = new HashSet<ulong>();
        var paired = new HashSet<ulong>();
        var readers = new List<(int Section, int Index, ulong Place, ulong Target, bool Placed, string Where)>();
        var writerPlaces = new List<(int Section, int Index, ulong Place, string Where)>();
        foreach (ref readonly var rs in elf.SectionSpan)
        {
            if (rs.Type != ElfSectionType.Rela || rs.Info >= elf.Sections.Count || rs.Link == 0 || rs.Link >= elf.Sections.Count) continue;
            ulong sectionOffset = layout.RawOffset(rs.Info);
            if (sectionOffset == LoaderLayout.NotPlaced) continue;
            string patchedName = elf.SectionName(elf.GetSection(rs.Info));
            var symbols = elf.GetSymbolTable(rs.Link);
            var relocations = elf.GetRelocations(rs);
            for (int i = 0; i < relocations.Count; i++)
            {
                var r = relocations[i];
                string name = table[r.Type].Name;
                ulong place = unchecked(sectionOffset + r.Offset);
                if (name == writerName)
                {
                    writers.Add(place);
                    writerPlaces.Add((rs.Index, i, place, $"{patchedName}+0x{r.Offset:x}"));
                }
                else if (name == readerName && r.SymbolIndex < (uint)symbols.Count)
                {
                    var symbol = Resolve(elf, layout, symbols, r.SymbolIndex, withName: true);
                    readers.Add((rs.Index, i, place, symbol.Value, symbol.Placement == SymbolPlacement.Placed, $"{patchedName}+0x{r.Offset:x} (against {symbol.Name})"));
                }
            }
        }
        foreach (var (section, index, place, target, placed, where) in readers)
        {
            if (placed && target == unchecked(place - 4) && writers.Contains(target))
            {
                paired.Add(target);
                continue;
            }
            string names = placed && writers.Contains(target) ? $"the {writerName} at offset 0x{target:x}" : $"offset 0x{target:x}, where there is no {writerName}";
            found.Add(new(section, index,
                $"{readerName} at {where} is skipped by the loader, which writes the low 12 bits with the {writerName} of the word before it (offset 0x{unchecked(place - 4):x}); its symbol names {names}, so this instruction keeps its unrelocated immediate"));
        }
        foreach (var (section, index, place, where) in writerPlaces)
            if (!paired.Contains(place))
                found.Add(new(section, index,
                    $"{writerName} at {where}: the loader also writes the low 12 bits into bits 20–31 of the next instruction word (offset 0x{place + 4:x}), which is not this auipc's {readerName}: that instruction is corrupted"));
        return found;
    }

    private static ulong SignExtend(ulong value, int bits) => bits >= 64 ? value : unchecked((ulong)((long)(value << (64 - bits)) >> (64 - bits)));

    private static string Addend(long addend) => addend == 0 ? "" : addend > 0 ? $"+0x{addend:x}" : $"-0x{-addend:x}";

    /// <summary>Writes a computed value into its field as the loader does: shifted, then whole or into its bit field.</summary>
    private static void WriteField(Span<byte> field, RelocationFormula formula, ulong value, bool bigEndian)
    {
        ulong v = value >> formula.Shift; // unsigned long arithmetic, as the loader's
        switch (formula.Layout)
        {
            case FieldLayout.S390Displacement12:
            {
                ulong old = bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(field) : BinaryPrimitives.ReadUInt16LittleEndian(field);
                Write(field, (old & 0xf000) | (v & 0xfff), bigEndian);
                break;
            }
            case FieldLayout.S390Displacement20:
            {
                ulong old = bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(field) : BinaryPrimitives.ReadUInt32LittleEndian(field);
                Write(field, (old & 0xf00000ff) | ((v & 0xfff) << 16) | ((v & 0xff000) >> 4), bigEndian);
                break;
            }
            case FieldLayout.Added:
                Write(field, Read(field, bigEndian) + v, bigEndian);
                break;
            case FieldLayout.Subtracted:
                Write(field, Read(field, bigEndian) - v, bigEndian);
                break;
            case FieldLayout.RiscvBType:
                ReplaceImmediate(field, RiscvBType, v);
                break;
            case FieldLayout.RiscvJType:
                ReplaceImmediate(field, RiscvJType, v);
                break;
            case FieldLayout.RiscvCBType:
                ReplaceImmediate(field, RiscvCBType, v);
                break;
            case FieldLayout.RiscvCJType:
                ReplaceImmediate(field, RiscvCJType, v);
                break;
            case FieldLayout.RiscvAuipcPair:
            {
                // RISCV_CONST_HIGH_PART / RISCV_CONST_LOW_PART: the high part rounds, so the low 12 bits read sign-extended add back.
                ulong high = unchecked(v + 0x800) & ~0xfffUL, low = unchecked(v - high);
                ulong clean = (0xfffffUL << 12) | (0xfffUL << 52);
                Write(field, (Read(field, false) & ~clean) | (((high >> 12) & 0xfffff) << 12) | ((low & 0xfff) << 52), false);
                break;
            }
            default:
                Write(field, v, bigEndian);
                break;
        }
    }

    private static ulong Bit(ulong x, int from, int count) => (x >> from) & ((1UL << count) - 1);

    // The immediate encodings of the riscv instruction formats (unprivileged ISA, chapters 2 and 16): offset bits to instruction bits.
    /// <summary>Replaces the immediate bits of a little-endian riscv instruction with <paramref name="value"/> scattered by <paramref name="encode"/>.</summary>
    private static void ReplaceImmediate(Span<byte> field, Func<ulong, ulong> encode, ulong value) =>
        Write(field, (Read(field, false) & ~encode(ulong.MaxValue)) | encode(value), false);

    private static ulong RiscvBType(ulong x) => (Bit(x, 1, 4) << 8) | (Bit(x, 5, 6) << 25) | (Bit(x, 11, 1) << 7) | (Bit(x, 12, 1) << 31);
    private static ulong RiscvJType(ulong x) => (Bit(x, 1, 10) << 21) | (Bit(x, 11, 1) << 20) | (Bit(x, 12, 8) << 12) | (Bit(x, 20, 1) << 31);
    private static ulong RiscvCBType(ulong x) => (Bit(x, 1, 2) << 3) | (Bit(x, 3, 2) << 10) | (Bit(x, 5, 1) << 2) | (Bit(x, 6, 2) << 5) | (Bit(x, 8, 1) << 12);
    private static ulong RiscvCJType(ulong x) =>
        (Bit(x, 1, 3) << 3) | (Bit(x, 4, 1) << 11) | (Bit(x, 5, 1) << 2) | (Bit(x, 6, 1) << 7) | (Bit(x, 7, 1) << 6) |
        (Bit(x, 8, 2) << 9) | (Bit(x, 10, 1) << 8) | (Bit(x, 11, 1) << 12);

    private static ulong Read(ReadOnlySpan<byte> field, bool bigEndian) => field.Length switch
    {
        8 => bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(field) : BinaryPrimitives.ReadUInt64LittleEndian(field),
        4 => bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(field) : BinaryPrimitives.ReadUInt32LittleEndian(field),
        2 => bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(field) : BinaryPrimitives.ReadUInt16LittleEndian(field),
        1 => field[0],
        _ => throw new ArgumentException($"field of {field.Length} bytes"),
    };

    private static void Write(Span<byte> field, ulong value, bool bigEndian)
    {
        switch (field.Length)
        {
            case 8: if (bigEndian) BinaryPrimitives.WriteUInt64BigEndian(field, value); else BinaryPrimitives.WriteUInt64LittleEndian(field, value); break;
            case 4: if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(field, (uint)value); else BinaryPrimitives.WriteUInt32LittleEndian(field, (uint)value); break;
            case 2: if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(field, (ushort)value); else BinaryPrimitives.WriteUInt16LittleEndian(field, (ushort)value); break;
            case 1: field[0] = (byte)value; break;
            default: throw new ArgumentException($"field of {field.Length} bytes");
        }
    }

    /// <summary>
    /// kexec_purgatory_get_set_symbol: the first global symbol of the name in the symbol table, defined in a section,
    /// of exactly the value's size, and not in a zero-filled section.
    /// </summary>
    private static void SetSymbol(ElfFile elf, LoaderLayout layout, byte[] image, SymbolValue v, LoadResult result)
    {
        var rule = RuleCatalog.BadConfiguration;
        ElfSymbol? found = null;
        foreach (var s in elf.Sections)
        {
            if (s.Type != ElfSectionType.SymbolTable) continue;
            var symbols = elf.GetSymbolTable((uint)s.Index);
            for (uint k = 0; k < (uint)symbols.Count; k++)
            {
                var sym = symbols[k];
                if (sym.Binding != ElfSymbolBinding.Global || symbols.Name(sym) != v.Symbol) continue;
                found = sym;
                break;
            }
            if (found is not null) break;
        }
        if (found is not { } symbol || symbol.RawSectionIndex == ElfSectionIndex.Undefined || symbol.RawSectionIndex >= elf.Sections.Count)
        {
            result.Errors.Add(new(rule, $"--set {v.Symbol}: no global symbol '{v.Symbol}' defined in a section of the blob (kexec_purgatory_find_symbol finds global symbols only)", []));
            return;
        }
        byte[] bytes = v.Bytes;
        if (v.IsNumber)
        {
            if (symbol.Size is 0 or > 8 || (symbol.Size < 8 && v.Number >> (int)(symbol.Size * 8) != 0))
            {
                result.Errors.Add(new(rule, $"--set {v.Symbol}=0x{v.Number:x}: the symbol is {symbol.Size} byte(s), which {(symbol.Size is 0 or > 8 ? "a number cannot fill; give its bytes as hex digits without 0x" : "do not hold the number")}", []));
                return;
            }
            bytes = new byte[symbol.Size];
            for (int b = 0; b < bytes.Length; b++)
                bytes[elf.IsBigEndian ? bytes.Length - 1 - b : b] = (byte)(v.Number >> (8 * b));
        }
        if ((ulong)bytes.Length != symbol.Size)
        {
            result.Errors.Add(new(rule, $"symbol {v.Symbol} size mismatch: expected {symbol.Size} actual {bytes.Length}", ["--set gives the symbol's bytes in memory order, two hex digits each"]));
            return;
        }
        var section = elf.GetSection(symbol.RawSectionIndex);
        if (section.Type == ElfSectionType.NoBits)
        {
            result.Errors.Add(new(rule, $"symbol {v.Symbol} is in a bss section. Cannot set", ["fix: compile with -fno-zero-initialized-in-bss (as the kernel's purgatory does), or give the variable a non-zero initialiser"]));
            return;
        }
        ulong offset = layout.RawOffset(symbol.RawSectionIndex);
        if (offset == LoaderLayout.NotPlaced || symbol.Value + symbol.Size > section.Size)
        {
            result.Errors.Add(new(rule, $"--set {v.Symbol}: the symbol is not inside an allocated section the loader copies", []));
            return;
        }
        bytes.CopyTo(image.AsSpan((int)(offset + symbol.Value)));
    }
}
