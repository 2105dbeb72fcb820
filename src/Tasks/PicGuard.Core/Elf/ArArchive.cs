using System.Text;

namespace PicGuard.Elf;

/// <summary>One member of an <c>ar</c> archive: its name and a slice of the archive's bytes.</summary>
/// <remarks>
/// A thin archive's member is the file it names: <see cref="Data"/> holds that file's bytes, <see cref="FilePath"/> its
/// path, and when it cannot be read <see cref="Missing"/> says why (the data is then empty).
/// </remarks>
public readonly record struct ArMember(string Name, long Offset, ReadOnlyMemory<byte> Data)
{
    /// <summary>For a thin archive's member, the file it was read from (relative names resolved against the archive's folder).</summary>
    public string? FilePath { get; init; }

    /// <summary>For a thin archive's member that could not be read, why; null otherwise.</summary>
    public string? Missing { get; init; }

    /// <summary>For a thin archive's member that is no valid input (a nested archive that contains itself or nests too deep), why; null otherwise (PG9001).</summary>
    public string? Malformed { get; init; }
}

/// <summary>
/// Reads System V / GNU and BSD <c>ar</c> archives (the format of <c>libfoo.a</c>). The symbol
/// index (<c>/</c>, <c>/SYM64/</c>, <c>__.SYMDEF*</c>) and the GNU long-name table (<c>//</c>)
/// are consumed, not returned; GNU <c>/123</c> and BSD <c>#1/len</c> long names are resolved.
/// Thin archives (<c>ar rcT</c>, <c>!&lt;thin&gt;</c>, the kernel's built-in.a) hold only headers and names: each member
/// is read from the path it records, relative to the archive's folder unless absolute. A thin archive's member may itself
/// be an archive (a thin <c>built-in.a</c> named by a thin <c>vmlinux.a</c>, or GNU ar's <c>/N:ORIGIN</c> reference to
/// the member at ORIGIN of a nested regular archive): its members are read in turn and named <c>inner.a(member.o)</c>,
/// at most <see cref="MaxNesting"/> archives deep; an archive that contains itself is a malformed member, not a loop.
/// </summary>
public static class ArArchive
{
    private const int HeaderSize = 60;
    public static ReadOnlySpan<byte> Magic => "!<arch>\n"u8;
    public static ReadOnlySpan<byte> ThinMagic => "!<thin>\n"u8;

    /// <summary>How many archives deep thin archives may nest (the outermost counts as one).</summary>
    public const int MaxNesting = 8;

    public static bool HasArchiveMagic(ReadOnlySpan<byte> data) => data.StartsWith(Magic) || data.StartsWith(ThinMagic);

    public static bool IsThin(ReadOnlySpan<byte> data) => data.StartsWith(ThinMagic);

    /// <summary>
    /// The archive's members in order. <paramref name="archivePath"/> is where the archive lies: a thin archive's members
    /// are read relative to its folder (the current directory when it is null).
    /// </summary>
    public static IEnumerable<ArMember> ReadMembers(ReadOnlyMemory<byte> archive, string? archivePath = null) =>
        ReadMembers(new ArchiveBytes.InMemory(archive), archivePath);

    /// <summary>
    /// The members of the archive in the open file <paramref name="file"/>, found by reading their headers by position:
    /// nothing else of the file is read here. Each regular member's <see cref="ArMember.Data"/> is a <see cref="FileRange"/>,
    /// read when first used (or read elsewhere by its caller, <see cref="FileRange.ReadInto"/>); the handle must stay open
    /// while the members are used.
    /// </summary>
    public static IEnumerable<ArMember> ReadMembers(Microsoft.Win32.SafeHandles.SafeFileHandle file, long length, string archivePath) =>
        ReadMembers(new ArchiveBytes.InFile(file, length), archivePath);

    private static IEnumerable<ArMember> ReadMembers(ArchiveBytes archive, string? archivePath)
    {
        var magic = archive.Read(0, (int)Math.Min(Magic.Length, archive.Length)).Span;
        bool thin = magic.StartsWith(ThinMagic);
        if (!thin && !magic.StartsWith(Magic))
            throw new ElfFormatException("not an ar archive (no !<arch> magic)");
        string? folder = null;
        if (thin)
        {
            folder = archivePath is null ? Environment.CurrentDirectory : Path.GetDirectoryName(Path.GetFullPath(archivePath));
            if (string.IsNullOrEmpty(folder)) folder = Environment.CurrentDirectory;
        }
        string[] chain = archivePath is null ? [] : [FullPathOrSelf(archivePath)];
        return Enumerate(archive, folder, chain);
    }

    private static string FullPathOrSelf(string path)
    {
        try { return Path.GetFullPath(path); }
        catch (ArgumentException) { return path; }
    }

    /// <param name="thinFolder">Null for a regular archive; for a thin one, the folder its relative member names start from.</param>
    /// <param name="chain">The full paths of the archives being read, outermost first: a member that is one of them is a cycle.</param>
    private static IEnumerable<ArMember> Enumerate(ArchiveBytes archive, string? thinFolder, string[] chain)
    {
        long length = archive.Length;
        long pos = Magic.Length;
        ReadOnlyMemory<byte> longNames = default;
        while (pos < length)
        {
            if (length - pos < HeaderSize)
                throw new ElfFormatException($"archive member header at 0x{pos:x} is truncated (file size 0x{length:x})");
            var header = archive.Read(pos, HeaderSize);
            var (rawName, size) = ParseHeader(header.Span, pos);
            long dataStart = pos + HeaderSize;
            // A thin archive stores the symbol index and the long-name table; every other member's size is its file's.
            bool stored = thinFolder is null || rawName is "/" or "//" or "/SYM64/";
            if (!stored)
            {
                pos = dataStart;
            }
            else
            {
                if (size > length - dataStart)
                    throw new ElfFormatException($"archive member at 0x{pos:x} claims 0x{size:x} bytes, past end of file (size 0x{length:x})");
                pos = dataStart + size + (size & 1);
            }
            string name;
            if (rawName == "/" || rawName == "/SYM64/" || rawName.StartsWith("__.SYMDEF", StringComparison.Ordinal))
                continue; // symbol index
            var data = stored ? archive.Member(dataStart, (int)size) : default;
            if (rawName == "//")
            {
                longNames = archive.Read(dataStart, (int)size);
                continue;
            }
            if (rawName.StartsWith("#1/", StringComparison.Ordinal))
            {
                // BSD: the name is the first N bytes of the data.
                if (!int.TryParse(rawName.AsSpan(3), out int nameLength) || nameLength < 0 || nameLength > data.Length)
                    throw new ElfFormatException($"archive member at 0x{dataStart - HeaderSize:x} has a bad BSD long name '{rawName}'");
                name = Encoding.UTF8.GetString(archive.Read(dataStart, nameLength).Span).TrimEnd('\0');
                if (name.StartsWith("__.SYMDEF", StringComparison.Ordinal))
                    continue;
                data = archive.Member(dataStart + nameLength, data.Length - nameLength);
            }
            else if (rawName.Length > 1 && rawName[0] == '/' && char.IsAsciiDigit(rawName[1]))
            {
                // GNU ar's thin archive names a member of a nested regular archive as "/N:ORIGIN": the archive's path is
                // the long name at N, the member's header is at ORIGIN in it.
                int colon = thinFolder is null ? -1 : rawName.IndexOf(':');
                long origin = -1;
                if (colon > 0 && (!long.TryParse(rawName.AsSpan(colon + 1), System.Globalization.NumberStyles.None, null, out origin) || origin < Magic.Length))
                    throw new ElfFormatException($"archive member at 0x{dataStart - HeaderSize:x} names a nested archive's member at a bad origin ('{rawName}')");
                if (!int.TryParse(colon > 0 ? rawName.AsSpan(1, colon - 1) : rawName.AsSpan(1), out int offset) || offset < 0 || offset >= longNames.Length)
                    throw new ElfFormatException($"archive member at 0x{dataStart - HeaderSize:x} refers to long name {rawName}, outside the long-name table (size 0x{longNames.Length:x})");
                var rest = longNames.Span.Slice(offset);
                int end = rest.IndexOf("/\n"u8);
                if (end < 0) end = rest.IndexOf((byte)'\n');
                if (end < 0) end = rest.Length;
                name = Encoding.UTF8.GetString(rest.Slice(0, end));
                if (origin >= 0)
                {
                    yield return ReadNestedMember(name, origin, dataStart - HeaderSize, thinFolder!, chain);
                    continue;
                }
            }
            else
            {
                name = rawName.EndsWith('/') ? rawName[..^1] : rawName;
            }
            if (thinFolder is not null)
            {
                var member = ReadThinMember(name, dataStart - HeaderSize, thinFolder);
                if (member.Missing is null && HasArchiveMagic(member.Data.Span))
                {
                    foreach (var inner in Nested(member, chain))
                        yield return inner;
                    continue;
                }
                yield return member;
                continue;
            }
            yield return new ArMember(name, dataStart - HeaderSize, data);
        }
    }

    /// <summary>
    /// The members of <paramref name="member"/>, a thin archive's member that is itself an archive, named
    /// <c>inner.a(member.o)</c>; one malformed member instead when it is an archive being read already or nests too deep.
    /// </summary>
    private static IEnumerable<ArMember> Nested(ArMember member, string[] chain)
    {
        if (Guard(member, chain) is { } refused) return [refused];
        return WithPrefix(member, NestedMembers(member, chain));
    }

    /// <summary>The member as a malformed one when it is an archive being read already or would nest too deep; null when it may be read.</summary>
    private static ArMember? Guard(ArMember member, string[] chain)
    {
        string path = member.FilePath!;
        int at = Array.IndexOf(chain, path);
        if (at >= 0)
            return member with { Data = default, Malformed = $"thin archive member '{member.Name}' is an archive that contains itself ({string.Join(" -> ", chain.Skip(at).Append(path))})" };
        if (chain.Length >= MaxNesting)
            return member with { Data = default, Malformed = $"thin archive member '{member.Name}' nests archives more than {MaxNesting} deep ({string.Join(" -> ", chain.Append(path))})" };
        return null;
    }

    /// <summary>The members of a nested archive, read whole (it is a file of its own); one malformed member when it is corrupt.</summary>
    private static List<ArMember> NestedMembers(ArMember archive, string[] chain)
    {
        string path = archive.FilePath!;
        string? folder = IsThin(archive.Data.Span) ? Path.GetDirectoryName(path) : null;
        try
        {
            return Enumerate(new ArchiveBytes.InMemory(archive.Data), folder, [.. chain, path]).ToList();
        }
        catch (ElfFormatException e)
        {
            return [new ArMember("", archive.Offset, default) { FilePath = path, Malformed = $"nested archive '{archive.Name}' is malformed: {e.Message}" }];
        }
    }

    private static IEnumerable<ArMember> WithPrefix(ArMember outer, IEnumerable<ArMember> members)
    {
        foreach (var m in members)
            yield return m with { Name = m.Name.Length == 0 ? outer.Name : $"{outer.Name}({m.Name})", Offset = outer.Offset };
    }

    /// <summary>GNU ar's "/N:ORIGIN" member: the member whose header is at <paramref name="origin"/> of the archive at <paramref name="name"/>.</summary>
    private static ArMember ReadNestedMember(string name, long origin, long offset, string folder, string[] chain)
    {
        var archive = ReadThinMember(name, offset, folder);
        if (archive.Missing is not null) return archive;
        if (!HasArchiveMagic(archive.Data.Span))
            return archive with { Data = default, Malformed = $"thin archive member '{name}' at origin {origin} names a member of '{name}', which is not an archive" };
        if (Guard(archive, chain) is { } refused) return refused;
        foreach (var m in NestedMembers(archive, chain))
        {
            if (m.Malformed is not null) return m with { Name = m.Name.Length == 0 ? name : $"{name}({m.Name})", Offset = offset };
            if (m.Offset == origin) return m with { Name = $"{name}({m.Name})", Offset = offset };
        }
        return archive with { Data = default, Malformed = $"thin archive member '{name}' at origin {origin}: '{name}' has no member header at offset {origin}" };
    }

    /// <summary>A thin archive's member, read from the file it names; <see cref="ArMember.Missing"/> says why when it cannot be.</summary>
    private static ArMember ReadThinMember(string name, long offset, string folder)
    {
        string path;
        try
        {
            path = Path.GetFullPath(Path.IsPathRooted(name) ? name : Path.Combine(folder, name));
        }
        catch (ArgumentException e)
        {
            return new ArMember(name, offset, default) { FilePath = name, Missing = $"thin archive member '{name}' is not a valid path: {e.Message}" };
        }
        try
        {
            if (Directory.Exists(path))
                return new ArMember(name, offset, default) { FilePath = path, Missing = $"thin archive member '{name}' is a directory ({path})" };
            // Exactly the file's length is read: a device or /proc file whose length reads as 0 gives an empty member, not an endless read.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1, FileOptions.None);
            long length = stream.CanSeek ? stream.Length : 0;
            if (length > int.MaxValue)
                return new ArMember(name, offset, default) { FilePath = path, Missing = $"thin archive member '{name}' is 2 GiB or more ({path})" };
            var bytes = new byte[length];
            stream.ReadExactly(bytes);
            return new ArMember(name, offset, bytes) { FilePath = path };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = e is FileNotFoundException or DirectoryNotFoundException ? "does not exist" : $"cannot be read: {FileErrors.Describe(e)}";
            return new ArMember(name, offset, default) { FilePath = path, Missing = $"thin archive member '{name}' {why} (looked for {path})" };
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
