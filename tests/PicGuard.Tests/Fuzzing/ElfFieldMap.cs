using System.Buffers.Binary;
using System.Text;

namespace PicGuard.Tests.Fuzzing;

/// <summary>Where a known field lies in a seed: byte offset, width, and what it is (e.g. "sh_size", "r_sym").</summary>
public readonly record struct FieldSlot(int Offset, int Size, string Name);

/// <summary>An archive member header's place and the numbers in it.</summary>
public readonly record struct ArMemberSlot(int HeaderOffset, int DataOffset, int Size, string RawName);

/// <summary>
/// The layout of a well-formed seed (ELF object or ar archive), found by walking it once with
/// plain offset arithmetic: ELF header, section header, symbol and relocation fields, and ar
/// member headers. The mutator aims its field and structure mutations at these places.
/// </summary>
public sealed class ElfFieldMap
{
    public List<FieldSlot> Fields { get; } = new();
    public List<ArMemberSlot> Members { get; } = new();
    /// <summary>Start of each ELF image in the seed (0 for an object; member data offsets for an archive).</summary>
    public List<(int Start, bool Is64, int Length)> Images { get; } = new();
    public int LongNameTableOffset { get; private set; } = -1;
    public int LongNameTableSize { get; private set; }

    private const int MaxEntriesPerTable = 256;

    public static ElfFieldMap Of(byte[] data)
    {
        var map = new ElfFieldMap();
        if (data.AsSpan().StartsWith("!<arch>\n"u8))
            map.AddArchive(data, thin: false);
        else if (data.AsSpan().StartsWith("!<thin>\n"u8))
            map.AddArchive(data, thin: true);
        else
            map.AddElf(data, 0, data.Length);
        return map;
    }

    /// <param name="thin">A thin archive: only the symbol index and the long-name table have data in the file.</param>
    private void AddArchive(byte[] data, bool thin)
    {
        int pos = 8;
        while (pos + 60 <= data.Length)
        {
            string name = Encoding.ASCII.GetString(data, pos, 16).TrimEnd(' ');
            int size = int.Parse(Encoding.ASCII.GetString(data, pos + 48, 10).Trim(' '));
            if (thin && name is not ("/" or "//" or "/SYM64/")) size = 0; // the member's bytes are in the file it names
            Members.Add(new ArMemberSlot(pos, pos + 60, size, name));
            Fields.Add(new FieldSlot(pos, 16, "ar_name"));
            Fields.Add(new FieldSlot(pos + 48, 10, "ar_size"));
            Fields.Add(new FieldSlot(pos + 58, 2, "ar_fmag"));
            if (name == "//")
            {
                LongNameTableOffset = pos + 60;
                LongNameTableSize = size;
            }
            else if (data.Length >= pos + 64 && data.AsSpan(pos + 60, 4).SequenceEqual("\u007fELF"u8))
            {
                AddElf(data, pos + 60, size);
            }
            pos += 60 + size + (size & 1);
        }
    }

    private void AddElf(byte[] data, int start, int length)
    {
        var s = data.AsSpan(start, length);
        if (s.Length < 52 || !s.StartsWith("\u007fELF"u8)) return;
        bool is64 = s[4] == 2;
        bool big = s[5] == 2;
        Images.Add((start, is64, length));
        ushort U16(ReadOnlySpan<byte> b) => big ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);
        uint U32(ReadOnlySpan<byte> b) => big ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);
        ulong U64(ReadOnlySpan<byte> b) => big ? BinaryPrimitives.ReadUInt64BigEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b);
        void F(int offset, int size, string name) => Fields.Add(new FieldSlot(start + offset, size, name));
        F(4, 1, "ei_class"); F(5, 1, "ei_data"); F(16, 2, "e_type"); F(18, 2, "e_machine");
        ulong shoff;
        int shentsize, shnum;
        if (is64)
        {
            F(24, 8, "e_entry"); F(32, 8, "e_phoff"); F(40, 8, "e_shoff"); F(58, 2, "e_shentsize"); F(60, 2, "e_shnum"); F(62, 2, "e_shstrndx");
            shoff = U64(s[40..]);
            shentsize = U16(s[58..]);
            shnum = U16(s[60..]);
        }
        else
        {
            F(24, 4, "e_entry"); F(28, 4, "e_phoff"); F(32, 4, "e_shoff"); F(46, 2, "e_shentsize"); F(48, 2, "e_shnum"); F(50, 2, "e_shstrndx");
            shoff = U32(s[32..]);
            shentsize = U16(s[46..]);
            shnum = U16(s[48..]);
        }
        if (shoff == 0 || shentsize == 0 || shoff + (ulong)(shnum * shentsize) > (ulong)length) return;
        for (int i = 0; i < shnum; i++)
        {
            int h = (int)shoff + i * shentsize;
            uint type = U32(s[(h + 4)..]);
            ulong offset, size;
            if (is64)
            {
                F(h, 4, "sh_name"); F(h + 4, 4, "sh_type"); F(h + 8, 8, "sh_flags"); F(h + 16, 8, "sh_addr"); F(h + 24, 8, "sh_offset");
                F(h + 32, 8, "sh_size"); F(h + 40, 4, "sh_link"); F(h + 44, 4, "sh_info"); F(h + 48, 8, "sh_addralign"); F(h + 56, 8, "sh_entsize");
                offset = U64(s[(h + 24)..]);
                size = U64(s[(h + 32)..]);
            }
            else
            {
                F(h, 4, "sh_name"); F(h + 4, 4, "sh_type"); F(h + 8, 4, "sh_flags"); F(h + 12, 4, "sh_addr"); F(h + 16, 4, "sh_offset");
                F(h + 20, 4, "sh_size"); F(h + 24, 4, "sh_link"); F(h + 28, 4, "sh_info"); F(h + 32, 4, "sh_addralign"); F(h + 36, 4, "sh_entsize");
                offset = U32(s[(h + 16)..]);
                size = U32(s[(h + 20)..]);
            }
            if (offset + size > (ulong)length) continue;
            int o = (int)offset;
            switch (type)
            {
                case 2 or 11: // SHT_SYMTAB, SHT_DYNSYM
                {
                    int entry = is64 ? 24 : 16;
                    for (int k = 0; k < Math.Min((int)size / entry, MaxEntriesPerTable); k++)
                    {
                        int e = o + k * entry;
                        if (is64) { F(e, 4, "st_name"); F(e + 4, 1, "st_info"); F(e + 5, 1, "st_other"); F(e + 6, 2, "st_shndx"); F(e + 8, 8, "st_value"); F(e + 16, 8, "st_size"); }
                        else { F(e, 4, "st_name"); F(e + 4, 4, "st_value"); F(e + 8, 4, "st_size"); F(e + 12, 1, "st_info"); F(e + 13, 1, "st_other"); F(e + 14, 2, "st_shndx"); }
                    }
                    break;
                }
                case 0x40000014: // SHT_CREL: LEB128 bytes, no fixed fields; the header and the first entries
                    for (int k = 0; k < Math.Min((int)size, 64); k++)
                        F(o + k, 1, k == 0 ? "crel_header" : "crel_byte");
                    break;
                case 4 or 9: // SHT_RELA, SHT_REL
                {
                    bool rela = type == 4;
                    int entry = (is64, rela) switch { (true, true) => 24, (true, false) => 16, (false, true) => 12, _ => 8 };
                    for (int k = 0; k < Math.Min((int)size / entry, MaxEntriesPerTable); k++)
                    {
                        int e = o + k * entry;
                        if (is64) { F(e, 8, "r_offset"); F(e + 8, 4, "r_type"); F(e + 12, 4, "r_sym"); if (rela) F(e + 16, 8, "r_addend"); }
                        else { F(e, 4, "r_offset"); F(e + 4, 1, "r_type"); F(e + 5, 3, "r_sym"); if (rela) F(e + 8, 4, "r_addend"); }
                    }
                    break;
                }
            }
        }
    }
}
