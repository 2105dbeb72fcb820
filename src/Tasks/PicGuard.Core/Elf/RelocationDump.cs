using System.Globalization;
using System.Text;
using PicGuard.Relocations;

namespace PicGuard.Elf;

/// <summary>
/// One relocation as PicGuard decodes it, with the names <c>readelf -rW</c> shows for it:
/// the relocation section, the place, the type, the symbol (the section's name for an
/// STT_SECTION symbol; a control byte as <c>^B</c>, as readelf prints it) and the addend (none for SHT_REL).
/// </summary>
/// <param name="Object">The file name, or <c>archive(member)</c> for an archive member, as readelf's "File:" line.</param>
/// <param name="Section">Name of the SHT_REL/SHT_RELA/SHT_CREL section holding the entry.</param>
/// <param name="SymbolIndex">r_info's symbol index (0: no symbol).</param>
public readonly record struct DumpedRelocation(
    string Object,
    string Section,
    bool Is64Bit,
    ulong Offset,
    uint Type,
    string TypeName,
    uint SymbolIndex,
    string Symbol,
    long Addend,
    bool HasAddend);

/// <summary>An object (or archive member) whose relocations could not be read, and why, with the code that says so.</summary>
/// <param name="Code">PG9001 (malformed), PG9003 (a thin archive's member file is missing) or PG9006 (a relocation section PicGuard cannot decode).</param>
public readonly record struct DumpError(string Object, string Message, string Code = "PG9001");

/// <summary>
/// Lists every relocation of an object or archive in one stable text form that lines up with
/// <c>readelf -rW</c>: one tab-separated line per entry,
/// <c>object  section  offset  type-number  type-name  symbol  addend</c>.
/// The offset is zero-padded hex (16 digits for ELF64, 8 for ELF32), the type number decimal,
/// the addend signed hex (<c>+0x4</c>, <c>-0x4</c>) or empty for SHT_REL.
/// </summary>
public static class RelocationDump
{
    /// <summary>
    /// Decodes the relocations of <paramref name="data"/> (an ELF file or an ar archive).
    /// Objects that cannot be read go to <paramref name="errors"/>; the others are still listed.
    /// </summary>
    public static List<DumpedRelocation> Read(string name, ReadOnlyMemory<byte> data, List<DumpError> errors)
    {
        var list = new List<DumpedRelocation>();
        if (ArArchive.HasArchiveMagic(data.Span))
        {
            try
            {
                foreach (var member in ArArchive.ReadMembers(data, name))
                {
                    if (member.Missing is { } missing)
                        errors.Add(new DumpError($"{name}({member.Name})", missing, "PG9003"));
                    else if (member.Malformed is { } malformed)
                        errors.Add(new DumpError($"{name}({member.Name})", malformed));
                    else
                        ReadObject($"{name}({member.Name})", member.Data, list, errors);
                }
            }
            catch (ElfFormatException e)
            {
                errors.Add(new DumpError(name, $"malformed archive: {e.Message}"));
            }
            return list;
        }
        ReadObject(name, data, list, errors);
        return list;
    }

    private static void ReadObject(string objectName, ReadOnlyMemory<byte> data, List<DumpedRelocation> list, List<DumpError> errors)
    {
        if (!ElfFile.HasElfMagic(data.Span))
        {
            errors.Add(new DumpError(objectName, "not an ELF object (no \\x7fELF magic)"));
            return;
        }
        int before = list.Count;
        try
        {
            using var elf = new ElfFile(data);
            var table = RelocationTable.For(elf.Machine, elf.Is64Bit);
            foreach (var section in elf.Sections)
            {
                if (!elf.Decodes(section))
                {
                    // Relocations that cannot be decoded are an error, never an empty listing.
                    if (elf.UndecodedRelocations(section) is { } why)
                        errors.Add(new DumpError(objectName, $"relocation section {elf.SectionName(section)} cannot be decoded: {why}", "PG9006"));
                    continue;
                }
                string sectionName = elf.SectionName(section);
                var relocations = elf.GetRelocations(section);
                ElfSymbolTable? symbols = null;
                if (section.Link != 0 && section.Link < (uint)elf.Sections.Count &&
                    elf.Sections[(int)section.Link].Type is ElfSectionType.SymbolTable or ElfSectionType.DynamicSymbolTable)
                    symbols = elf.GetSymbolTable(section.Link);
                for (int i = 0; i < relocations.Count; i++)
                {
                    var r = relocations[i];
                    string symbol = r.SymbolIndex == 0 || symbols is null ? "" : PrintableName.Of(SymbolName(elf, symbols, r.SymbolIndex));
                    list.Add(new DumpedRelocation(objectName, sectionName, elf.Is64Bit, r.Offset, r.Type,
                        TypeName(table, r.Type), r.SymbolIndex, symbol, r.Addend, r.HasAddend));
                }
            }
        }
        catch (ElfFormatException e)
        {
            list.RemoveRange(before, list.Count - before);
            errors.Add(new DumpError(objectName, $"malformed ELF: {e.Message}"));
        }
    }

    /// <summary>The name readelf shows for a relocation's symbol: the section's name for STT_SECTION.</summary>
    private static string SymbolName(ElfFile elf, ElfSymbolTable symbols, uint index)
    {
        var symbol = symbols[index];
        if (symbol.Type != ElfSymbolType.Section)
            return symbols.Name(symbol);
        if (symbol.RawSectionIndex == ElfSectionIndex.ExtendedIndex || symbol.RawSectionIndex < ElfSectionIndex.LoReserve)
        {
            if (symbol.SectionIndex < (uint)elf.Sections.Count)
                return elf.SectionName(elf.Sections[(int)symbol.SectionIndex]);
            return $"<section 0x{symbol.SectionIndex:x}>";
        }
        return symbol.RawSectionIndex switch
        {
            ElfSectionIndex.Absolute => "ABS",
            ElfSectionIndex.Common => "COMMON",
            var other => $"<section 0x{other:x}>",
        };
    }

    /// <summary>The type's psABI name from PicGuard's table, or readelf's "unrecognized: N" form (hex) when there is none.</summary>
    public static string TypeName(ElfMachine machine, uint type) => TypeName(RelocationTable.For(machine), type);

    /// <summary>The type's psABI name from <paramref name="table"/> (the file's machine and class), or readelf's "unrecognized: N" form.</summary>
    public static string TypeName(RelocationTable? table, uint type)
    {
        var row = table?[type];
        return row is { IsKnown: true } known ? known.Name : $"unrecognized: {type:x}";
    }

    /// <summary>One line of the text form (no newline).</summary>
    public static string Format(in DumpedRelocation r)
    {
        var sb = new StringBuilder(96);
        sb.Append(r.Object).Append('\t')
          .Append(r.Section).Append('\t')
          .Append(r.Offset.ToString(r.Is64Bit ? "x16" : "x8", CultureInfo.InvariantCulture)).Append('\t')
          .Append(r.Type.ToString(CultureInfo.InvariantCulture)).Append('\t')
          .Append(r.TypeName).Append('\t')
          .Append(r.Symbol).Append('\t');
        if (r.HasAddend)
            sb.Append(FormatAddend(r.Addend));
        return sb.ToString();
    }

    /// <summary>Signed hex: <c>+0x4</c>, <c>-0x4</c>, <c>+0x0</c>.</summary>
    public static string FormatAddend(long addend) =>
        addend < 0 ? "-0x" + ((ulong)-(addend + 1) + 1).ToString("x", CultureInfo.InvariantCulture)
                   : "+0x" + addend.ToString("x", CultureInfo.InvariantCulture);
}
