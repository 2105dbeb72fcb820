using System.Text;

namespace PicGuard.Elf;

/// <summary>One member of an <c>ar</c> archive: its name and a slice of the archive's bytes.</summary>
public readonly record struct ArMember(string Name, long Offset, ReadOnlyMemory<byte> Data);

/// <summary>
/// Reads System V / GNU and BSD <c>ar</c> archives (the format of <c>libfoo.a</c>). The symbol
/// index (<c>/</c>, <c>/SYM64/</c>, <c>__.SYMDEF*</c>) and the GNU long-name table (<c>//</c>)
/// are consumed, not returned; GNU <c>/123</c> and BSD <c>#1/len</c> long names are resolved.
/// Thin archives are rejected: their members live in other files.
/// </summary>
public static class ArArchive
{
    private const int HeaderSize = 60;
    public static ReadOnlySpan<byte> Magic => "!<arch>\n"u8;
    public static ReadOnlySpan<byte> ThinMagic => "!<thin>\n"u8;

    public static bool HasArchiveMagic(ReadOnlySpan<byte> data) => data.StartsWith(Magic) || data.StartsWith(ThinMagic);

    public static IEnumerable<ArMember> ReadMembers(ReadOnlyMemory<byte> archive)
    {
        if (archive.Span.StartsWith(ThinMagic))
            throw new ElfFormatException("thin archive: its members are separate files; check those objects directly");
        if (!archive.Span.StartsWith(Magic))
            throw new ElfFormatException("not an ar archive (no !<arch> magic)");
        return Enumerate(archive);
    }

    private static IEnumerable<ArMember> Enumerate(ReadOnlyMemory<byte> archive)
    {
        long length = archive.Length;
        long pos = Magic.Length;
        ReadOnlyMemory<byte> longNames = default;
        while (pos < length)
        {
            if (length - pos < HeaderSize)
                throw new ElfFormatException($"archive member header at 0x{pos:x} is truncated (file size 0x{length:x})");
            var header = archive.Slice((int)pos, HeaderSize);
            var (rawName, size) = ParseHeader(header.Span, pos);
            long dataStart = pos + HeaderSize;
            if (size > length - dataStart)
                throw new ElfFormatException($"archive member at 0x{pos:x} claims 0x{size:x} bytes, past end of file (size 0x{length:x})");
            var data = archive.Slice((int)dataStart, (int)size);
            pos = dataStart + size + (size & 1);

            string name;
            if (rawName == "/" || rawName == "/SYM64/" || rawName.StartsWith("__.SYMDEF", StringComparison.Ordinal))
                continue; // symbol index
            if (rawName == "//")
            {
                longNames = data;
                continue;
            }
            if (rawName.StartsWith("#1/", StringComparison.Ordinal))
            {
                // BSD: the name is the first N bytes of the data.
                if (!int.TryParse(rawName.AsSpan(3), out int nameLength) || nameLength < 0 || nameLength > data.Length)
                    throw new ElfFormatException($"archive member at 0x{dataStart - HeaderSize:x} has a bad BSD long name '{rawName}'");
                name = Encoding.UTF8.GetString(data.Span.Slice(0, nameLength)).TrimEnd('\0');
                if (name.StartsWith("__.SYMDEF", StringComparison.Ordinal))
                    continue;
                data = data.Slice(nameLength);
            }
            else if (rawName.Length > 1 && rawName[0] == '/' && char.IsAsciiDigit(rawName[1]))
            {
                if (!int.TryParse(rawName.AsSpan(1), out int offset) || offset < 0 || offset >= longNames.Length)
                    throw new ElfFormatException($"archive member at 0x{dataStart - HeaderSize:x} refers to long name {rawName}, outside the long-name table (size 0x{longNames.Length:x})");
                var rest = longNames.Span.Slice(offset);
                int end = rest.IndexOf("/\n"u8);
                if (end < 0) end = rest.IndexOf((byte)'\n');
                if (end < 0) end = rest.Length;
                name = Encoding.UTF8.GetString(rest.Slice(0, end));
            }
            else
            {
                name = rawName.EndsWith('/') ? rawName[..^1] : rawName;
            }
            yield return new ArMember(name, dataStart - HeaderSize, data);
        }
    }

    private static (string Name, long Size) ParseHeader(ReadOnlySpan<byte> header, long pos)
    {
        if (header[58] != (byte)'`' || header[59] != (byte)'\n')
            throw new ElfFormatException($"archive member header at 0x{pos:x} has no terminator (`\\n); the archive is corrupt");
        string name = Encoding.ASCII.GetString(header.Slice(0, 16)).TrimEnd(' ');
        var sizeField = Encoding.ASCII.GetString(header.Slice(48, 10)).Trim(' ');
        if (!long.TryParse(sizeField, System.Globalization.NumberStyles.None, null, out long size))
            throw new ElfFormatException($"archive member header at 0x{pos:x} has a bad size field '{sizeField}'");
        return (name, size);
    }
}
