using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace PicGuard.Tests.Fuzzing;

/// <summary>
/// Deterministic mutations of a well-formed seed: random bit flips and byte writes, truncation,
/// splices, and aimed ones from the seed's <see cref="ElfFieldMap"/>: ELF header, section header,
/// symbol and relocation fields set to 0 / max / -1 / off-by-one / file size / out-of-range
/// values, the section header table moved or overlapping, extended counts through section 0,
/// symbol indices past the table, huge sizes, and ar member sizes, names and long-name
/// references made wrong. The same <see cref="Random"/> state gives the same input.
/// </summary>
public sealed class ElfMutator
{
    private readonly Random _random;

    public ElfMutator(Random random) => _random = random;

    /// <summary>Applies 1–4 mutations to a copy of <paramref name="seed"/>; <paramref name="log"/> says which.</summary>
    public byte[] Mutate(byte[] seed, ElfFieldMap map, List<string> log)
    {
        var data = (byte[])seed.Clone();
        int count = 1 + (_random.Next(8) switch { < 4 => 0, < 6 => 1, 6 => 2, _ => 3 });
        for (int i = 0; i < count && data.Length > 0; i++)
            data = MutateOnce(data, map, log);
        return data;
    }

    private byte[] MutateOnce(byte[] data, ElfFieldMap map, List<string> log)
    {
        // The map describes the seed; after an earlier truncation or shift a slot may lie past the end.
        try
        {
            return Aimed(data, map, log);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or ArgumentException)
        {
            return BitFlips(data, log);
        }
    }

    private byte[] Aimed(byte[] data, ElfFieldMap map, List<string> log)
    {
        int choice = _random.Next(100);
        if (choice < 12) return BitFlips(data, log);
        if (choice < 20) return ByteSets(data, log);
        if (choice < 25) return Truncate(data, log);
        if (choice < 28) return Splice(data, log);
        if (choice < 30) return InsertOrDelete(data, log);
        if (choice < 62 && map.Fields.Count > 0) return SetField(data, map, log);
        if (choice < 70 && map.Images.Count > 0) return MoveSectionHeaders(data, map, log);
        if (choice < 75 && map.Images.Count > 0) return ExtendedCounts(data, map, log);
        if (choice < 82 && map.Fields.Count > 0) return SymbolIndexOutOfRange(data, map, log);
        if (choice < 88 && map.Fields.Count > 0) return HugeSize(data, map, log);
        if (map.Members.Count > 0) return ArchiveMutation(data, map, log);
        return BitFlips(data, log);
    }

    private byte[] BitFlips(byte[] data, List<string> log)
    {
        int n = 1 + _random.Next(8);
        for (int i = 0; i < n; i++)
        {
            int at = _random.Next(data.Length);
            int bit = _random.Next(8);
            data[at] ^= (byte)(1 << bit);
            log.Add($"flip bit {bit} at 0x{at:x}");
        }
        return data;
    }

    private byte[] ByteSets(byte[] data, List<string> log)
    {
        int n = 1 + _random.Next(4);
        for (int i = 0; i < n; i++)
        {
            int at = _random.Next(data.Length);
            byte value = _random.Next(4) switch { 0 => 0, 1 => 0xff, 2 => 0x7f, _ => (byte)_random.Next(256) };
            data[at] = value;
            log.Add($"byte 0x{at:x} = 0x{value:x2}");
        }
        return data;
    }

    private byte[] Truncate(byte[] data, List<string> log)
    {
        int length = _random.Next(3) == 0 ? _random.Next(Math.Min(data.Length, 128)) : _random.Next(data.Length);
        log.Add($"truncate to 0x{length:x}");
        return data.AsSpan(0, length).ToArray();
    }

    private byte[] Splice(byte[] data, List<string> log)
    {
        int from = _random.Next(data.Length);
        int to = _random.Next(data.Length);
        int length = Math.Min(_random.Next(1, 256), Math.Min(data.Length - from, data.Length - to));
        data.AsSpan(from, length).ToArray().CopyTo(data.AsSpan(to));
        log.Add($"copy 0x{length:x} bytes from 0x{from:x} to 0x{to:x}");
        return data;
    }

    private byte[] InsertOrDelete(byte[] data, List<string> log)
    {
        int at = _random.Next(data.Length);
        int length = _random.Next(1, 64);
        if (_random.Next(2) == 0)
        {
            var bytes = new byte[length];
            _random.NextBytes(bytes);
            log.Add($"insert 0x{length:x} bytes at 0x{at:x}");
            return [.. data.AsSpan(0, at), .. bytes, .. data.AsSpan(at)];
        }
        length = Math.Min(length, data.Length - at);
        log.Add($"delete 0x{length:x} bytes at 0x{at:x}");
        return [.. data.AsSpan(0, at), .. data.AsSpan(at + length)];
    }

    private ulong InterestingValue(ulong current, int size, int fileLength)
    {
        ulong max = size >= 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;
        ulong value = _random.Next(14) switch
        {
            0 => 0,
            1 => max,                              // also -1 in two's complement
            2 => max >> 1,                         // largest signed
            3 => (max >> 1) + 1,                   // smallest signed
            4 => current + 1,
            5 => current - 1,
            6 => (ulong)fileLength,
            7 => (ulong)fileLength - (ulong)_random.Next(1, 64),
            8 => (ulong)_random.Next(0, 64),
            9 => 0xff00 + (ulong)_random.Next(0, 0x100), // reserved section indices
            10 => current * 2 + 1,
            11 => current ^ (1UL << _random.Next(size * 8)),
            12 => 0x8000_0000UL + (ulong)_random.Next(64),
            _ => (ulong)_random.NextInt64(),
        };
        return value & max;
    }

    private static ulong Read(byte[] data, FieldSlot f) => f.Size switch
    {
        1 => data[f.Offset],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(f.Offset)),
        3 => (ulong)data[f.Offset] | (ulong)data[f.Offset + 1] << 8 | (ulong)data[f.Offset + 2] << 16,
        4 => BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(f.Offset)),
        _ => BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(f.Offset)),
    };

    private static void Write(byte[] data, FieldSlot f, ulong value)
    {
        for (int i = 0; i < f.Size && f.Offset + i < data.Length; i++)
            data[f.Offset + i] = (byte)(value >> (8 * i));
    }

    private static bool Fits(byte[] data, FieldSlot f) => f.Offset + f.Size <= data.Length;

    private byte[] SetField(byte[] data, ElfFieldMap map, List<string> log)
    {
        var f = map.Fields[_random.Next(map.Fields.Count)];
        if (!Fits(data, f)) return BitFlips(data, log);
        if (f.Name.StartsWith("ar_", StringComparison.Ordinal)) return ArchiveField(data, f, map, log);
        ulong value = InterestingValue(Read(data, f), f.Size, data.Length);
        Write(data, f, value);
        log.Add($"{f.Name} at 0x{f.Offset:x} = 0x{value:x}");
        return data;
    }

    private FieldSlot? Pick(ElfFieldMap map, params string[] names)
    {
        var candidates = map.Fields.Where(f => names.Contains(f.Name)).ToList();
        return candidates.Count == 0 ? null : candidates[_random.Next(candidates.Count)];
    }

    /// <summary>An ELF address-sized field (e_shoff and the like): 8 bytes in ELF64, 4 in ELF32.</summary>
    private static ulong ReadAddress(byte[] data, int at, bool is64) =>
        is64 ? BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at));

    private byte[] MoveSectionHeaders(byte[] data, ElfFieldMap map, List<string> log)
    {
        var (start, is64, length) = map.Images[_random.Next(map.Images.Count)];
        int shoffAt = start + (is64 ? 40 : 32);
        int shentsizeAt = start + (is64 ? 58 : 46);
        int shnumAt = start + (is64 ? 60 : 48);
        if (shnumAt + 2 > data.Length) return BitFlips(data, log);
        ulong shoff = ReadAddress(data, shoffAt, is64);
        int tableSize = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(shentsizeAt)) * BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(shnumAt));
        int target = _random.Next(Math.Max(1, length));
        if (_random.Next(2) == 0) target &= ~7;
        bool copy = _random.Next(2) == 0;
        if (copy && shoff + (ulong)tableSize <= (ulong)length)
        {
            int n = Math.Min(tableSize, length - target);
            data.AsSpan(start + (int)shoff, n).ToArray().CopyTo(data.AsSpan(start + target));
        }
        if (is64) BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(shoffAt), (ulong)target);
        else BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(shoffAt), (uint)target);
        log.Add($"section header table of image 0x{start:x} {(copy ? "moved" : "pointed")} to 0x{target:x} (overlapping what is there)");
        return data;
    }

    private byte[] ExtendedCounts(byte[] data, ElfFieldMap map, List<string> log)
    {
        var (start, is64, _) = map.Images[_random.Next(map.Images.Count)];
        int shnumAt = start + (is64 ? 60 : 48);
        int shstrndxAt = start + (is64 ? 62 : 50);
        int shoffAt = start + (is64 ? 40 : 32);
        if (shstrndxAt + 2 > data.Length) return BitFlips(data, log);
        ulong shoff = ReadAddress(data, shoffAt, is64);
        int section0 = start + (int)Math.Min(shoff, int.MaxValue / 2);
        var size0 = new FieldSlot(section0 + (is64 ? 32 : 20), is64 ? 8 : 4, "sh_size[0]");
        var link0 = new FieldSlot(section0 + (is64 ? 40 : 24), 4, "sh_link[0]");
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(shnumAt), 0);
        log.Add("e_shnum = 0 (count in section 0)");
        if (Fits(data, size0))
        {
            ulong n = InterestingValue(Read(data, size0), size0.Size, data.Length);
            Write(data, size0, n);
            log.Add($"section 0 sh_size = 0x{n:x}");
        }
        if (_random.Next(2) == 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(shstrndxAt), 0xffff);
            log.Add("e_shstrndx = SHN_XINDEX");
            if (Fits(data, link0))
            {
                ulong l = InterestingValue(Read(data, link0), 4, data.Length);
                Write(data, link0, l);
                log.Add($"section 0 sh_link = 0x{l:x}");
            }
        }
        return data;
    }

    private byte[] SymbolIndexOutOfRange(byte[] data, ElfFieldMap map, List<string> log)
    {
        if (Pick(map, "r_sym", "sh_link", "sh_info", "st_shndx", "e_shstrndx") is not { } f || !Fits(data, f)) return BitFlips(data, log);
        ulong value = _random.Next(4) switch
        {
            0 => (ulong)_random.Next(1, 1 << 12),
            1 => (ulong)_random.Next(1 << 16, 1 << 20),
            2 => 0xffff,
            _ => 0xffff_ffff,
        };
        if (f.Size < 8) value &= (1UL << (8 * f.Size)) - 1;
        Write(data, f, value);
        log.Add($"{f.Name} at 0x{f.Offset:x} = 0x{value:x} (index out of range)");
        return data;
    }

    private byte[] HugeSize(byte[] data, ElfFieldMap map, List<string> log)
    {
        if (Pick(map, "sh_size", "sh_offset", "sh_entsize", "e_shnum", "e_shentsize", "st_size", "st_name", "sh_name") is not { } f || !Fits(data, f)) return BitFlips(data, log);
        ulong value = _random.Next(5) switch
        {
            0 => 0x7fff_ffffUL,
            1 => 0xffff_ffffUL,
            2 => 0x8000_0000_0000_0000UL,
            3 => (ulong)data.Length * (ulong)_random.Next(2, 100),
            _ => ulong.MaxValue - (ulong)_random.Next(0, 64),
        };
        if (f.Size < 8) value &= (1UL << (8 * f.Size)) - 1;
        Write(data, f, value);
        log.Add($"{f.Name} at 0x{f.Offset:x} = 0x{value:x} (huge)");
        return data;
    }

    private byte[] ArchiveMutation(byte[] data, ElfFieldMap map, List<string> log)
    {
        var m = map.Members[_random.Next(map.Members.Count)];
        if (m.HeaderOffset + 60 > data.Length) return Truncate(data, log);
        switch (_random.Next(4))
        {
            case 0:
                return ArchiveField(data, new FieldSlot(m.HeaderOffset + 48, 10, "ar_size"), map, log);
            case 1:
                return ArchiveField(data, new FieldSlot(m.HeaderOffset, 16, "ar_name"), map, log);
            case 2:
            {
                // A copy of one member's header and data placed again at another member's place: overlapping members.
                var other = map.Members[_random.Next(map.Members.Count)];
                int length = Math.Min(60 + m.Size, data.Length - m.HeaderOffset);
                length = Math.Min(length, data.Length - other.HeaderOffset);
                if (length <= 0) return BitFlips(data, log);
                data.AsSpan(m.HeaderOffset, length).ToArray().CopyTo(data.AsSpan(other.HeaderOffset));
                log.Add($"member at 0x{m.HeaderOffset:x} copied over member at 0x{other.HeaderOffset:x}");
                return data;
            }
            default:
            {
                // A member repeated many times: archives with many (circularly identical) members.
                int length = Math.Min(60 + m.Size + (m.Size & 1), data.Length - m.HeaderOffset);
                int times = _random.Next(2, 40);
                var member = data.AsSpan(m.HeaderOffset, length).ToArray();
                var result = new List<byte>(data.Length + times * length);
                result.AddRange(data.AsSpan(0, m.HeaderOffset).ToArray());
                for (int i = 0; i < times; i++) result.AddRange(member);
                result.AddRange(data.AsSpan(m.HeaderOffset).ToArray());
                log.Add($"member at 0x{m.HeaderOffset:x} repeated {times} times");
                return result.ToArray();
            }
        }
    }

    private byte[] ArchiveField(byte[] data, FieldSlot f, ElfFieldMap map, List<string> log)
    {
        string text;
        switch (f.Name)
        {
            case "ar_size":
            {
                long current = long.TryParse(Encoding.ASCII.GetString(data, f.Offset, f.Size).Trim(), out var c) ? c : 0;
                text = _random.Next(10) switch
                {
                    0 => "0",
                    1 => (current + 1).ToString(CultureInfo.InvariantCulture),
                    2 => (current - 1).ToString(CultureInfo.InvariantCulture),
                    3 => "9999999999",
                    4 => "-1",
                    5 => (current + 60).ToString(CultureInfo.InvariantCulture),
                    6 => (current / 2).ToString(CultureInfo.InvariantCulture),
                    7 => "12ab",
                    8 => "",
                    _ => _random.Next(0, 1 << 20).ToString(CultureInfo.InvariantCulture),
                };
                break;
            }
            case "ar_name":
                text = _random.Next(9) switch
                {
                    0 => "/" + _random.Next(0, Math.Max(1, map.LongNameTableSize * 2)).ToString(CultureInfo.InvariantCulture),
                    1 => "/" + map.LongNameTableSize.ToString(CultureInfo.InvariantCulture),
                    2 => "/99999999999999",
                    3 => "/-1",
                    4 => "#1/" + _random.Next(0, 100_000).ToString(CultureInfo.InvariantCulture),
                    5 => "#1/-5",
                    6 => "//",
                    7 => "/",
                    _ => "/SYM64/",
                };
                break;
            default:
                text = _random.Next(2) == 0 ? "  " : "`x";
                break;
        }
        var bytes = Encoding.ASCII.GetBytes(text.PadRight(f.Size));
        bytes.AsSpan(0, Math.Min(f.Size, bytes.Length)).CopyTo(data.AsSpan(f.Offset));
        log.Add($"{f.Name} at 0x{f.Offset:x} = '{text}'");
        return data;
    }
}
