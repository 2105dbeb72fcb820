using System.Globalization;
using System.Text;
using PicGuard.Build;
using PicGuard.Diagnostics;
using PicGuard.Elf;
using PicGuard.Rules;

namespace PicGuard.Loaders;

/// <summary>What <c>picguard load</c> and the <c>PicLoadImageBase</c> property ask: a blob, its profile, a base and values to set.</summary>
public sealed record LoadRequest(string Path, Profile Profile, ulong Base, IReadOnlyList<SymbolValue> Values)
{
    /// <summary>How the caller names the base in messages: the option (<c>--base</c>) or the property (<c>PicLoadImageBase</c>).</summary>
    public string BaseName { get; init; } = "--base";
}

/// <summary>The outcome of loading one blob: the findings (loader errors, bad input or options) and, when it loaded, the image.</summary>
public sealed class LoadOutcome
{
    public List<Diagnostic> Diagnostics { get; } = new();
    public LoadResult? Result { get; set; }
    /// <summary>True when the request itself was wrong (an option, a file the loader does not place): PG9004, exit 2.</summary>
    public bool BadRequest { get; set; }
    public bool Succeeded => Result is { Succeeded: true } && !Diagnostics.Any(d => d.Severity == Severity.Error);
}

/// <summary>
/// Loads a blob file as its profile's loader would (<see cref="LoaderEngine.Load"/>), turning every loader error into a
/// PG finding with the loader's own message, and formats the layout. The CLI and the MSBuild task both call this.
/// </summary>
public static class BlobLoad
{
    public const string SetForm = "SYMBOL=HEX: the symbol's bytes in memory order (e.g. purgatory_sha256_digest=00ff…), or SYMBOL=0xNUMBER for a symbol of at most 8 bytes";

    public static LoadOutcome Run(LoadRequest request)
    {
        var outcome = new LoadOutcome();
        string path = request.Path;
        string name = Path.GetFileName(path);
        void Fail(Rule rule, string message, params string[] context) =>
            outcome.Diagnostics.Add(new Diagnostic(rule, Severity.Error, path, name, message,
                rule == RuleCatalog.BadConfiguration ? context : [.. context, "fix: " + rule.Fix]));

        var model = LoaderModels.For(request.Profile);
        if (model is null)
        {
            outcome.BadRequest = true;
            Fail(RuleCatalog.BadConfiguration, $"profile '{request.Profile.Name}' has no loader model; PicGuard models the loader of: {LoaderModels.ProfileNames}");
            return outcome;
        }
        byte[] data;
        try
        {
            if (Directory.Exists(path))
            {
                Fail(RuleCatalog.MalformedInput, $"'{path}' is a directory; name the blob (an ld -r object)");
                return outcome;
            }
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(RuleCatalog.MissingInput, File.Exists(path) ? $"cannot read '{path}': {FileErrors.Describe(e)}" : $"input file '{path}' does not exist");
            return outcome;
        }
        try
        {
            if (!ElfFile.HasElfMagic(data))
            {
                Fail(RuleCatalog.MalformedInput, $"'{path}' is not an ELF file; the {model.Name} loader places an ld -r object");
                return outcome;
            }
            using var elf = new ElfFile(data);
            if (elf.FileType != ElfFileType.Relocatable)
            {
                outcome.BadRequest = true;
                Fail(RuleCatalog.BadConfiguration, $"'{path}' is {elf.FileType switch { ElfFileType.Executable => "an executable (ET_EXEC)", ElfFileType.SharedObject => "a shared object or PIE (ET_DYN)", _ => $"ELF type {(ushort)elf.FileType}" }}; the {model.Name} loader places relocatable objects (ld -r, ET_REL) only",
                    "link the blob with PicLinkMode=relocatable (ld -r), as the kernel links purgatory.ro");
                return outcome;
            }
            var table = Relocations.RelocationTable.For(elf.Machine, elf.Is64Bit);
            if (table is null || LoaderEngine.Formulas(model, request.Profile, table) is null)
            {
                outcome.BadRequest = true;
                Fail(RuleCatalog.BadConfiguration, $"the {model.Name} loader model has no relocation formulas for {ElfMachineNames.Describe(elf.RawMachine)} ({(elf.Is64Bit ? "ELFCLASS64" : "ELFCLASS32")}); it models {string.Join(", ", model.Architectures.Select(a => ElfMachineNames.Describe((ushort)a.Machine)))}");
                return outcome;
            }
            var layout = LoaderEngine.Place(elf);
            if (layout.Alignment != 0 && request.Base % layout.Alignment != 0)
            {
                outcome.BadRequest = true;
                Fail(RuleCatalog.BadConfiguration, $"{request.BaseName} 0x{request.Base:x} is not a multiple of the blob's alignment 0x{layout.Alignment:x}: the loader (kexec_add_buffer) places the blob at a multiple of its largest section alignment, and of a page",
                    $"use e.g. {request.BaseName} 0x{LoaderEngine.Align(request.Base, layout.Alignment):x}");
                return outcome;
            }
            if (layout.MemorySize > 0 && request.Base > ulong.MaxValue - (layout.MemorySize - 1))
            {
                outcome.BadRequest = true;
                Fail(RuleCatalog.BadConfiguration, $"{request.BaseName} 0x{request.Base:x}: the blob's 0x{layout.MemorySize:x} bytes would run past the end of the 64-bit address space");
                return outcome;
            }
            var result = LoaderEngine.Load(elf, request.Profile, request.Base, request.Values);
            outcome.Result = result;
            foreach (var e in result.Errors)
                outcome.Diagnostics.Add(new Diagnostic(e.Rule, Severity.Error, path, name, e.LoaderMessage, e.Context));
            foreach (var w in result.Warnings)
                outcome.Diagnostics.Add(new Diagnostic(RuleCatalog.SeveralExecutableSections, Severity.Warning, path, name, w, ["fix: " + RuleCatalog.SeveralExecutableSections.Fix]));
            outcome.BadRequest = result.Errors.Any(e => e.Rule == RuleCatalog.BadConfiguration);
        }
        catch (ElfFormatException e)
        {
            Fail(RuleCatalog.MalformedInput, $"cannot load '{path}': {e.Message}");
        }
        return outcome;
    }

    /// <summary>The layout as printed: each placed section's address, size and alignment, then the entry and the sizes.</summary>
    public static string FormatLayout(LoadRequest request, LoadResult result, string? writtenTo)
    {
        var layout = result.Layout!;
        var sb = new StringBuilder();
        ulong b = result.Base;
        sb.Append(CultureInfo.InvariantCulture, $"{Path.GetFileName(request.Path)} placed at 0x{b:x} by the {LoaderModels.For(request.Profile)!.Name} loader ({request.Profile.Name}):\n");
        int width = Math.Max(7, layout.Sections.Select(s => s.Name.Length).DefaultIfEmpty(0).Max());
        sb.Append(CultureInfo.InvariantCulture, $"  {"section".PadRight(width)}  {"address",-18}  {"size",-10}  align\n");
        foreach (var s in layout.Sections.OrderBy(s => s.Offset).ThenBy(s => s.Index))
            sb.Append(CultureInfo.InvariantCulture, $"  {s.Name.PadRight(width)}  0x{b + s.Offset:x16}  0x{s.Size,-8:x}  {s.Alignment}{(s.ZeroFilled ? "  zero-filled" : "")}\n");
        string entryWhere = layout.EntrySection >= 0
            ? $"{layout.Sections.First(s => s.Index == layout.EntrySection).Name}+0x{layout.EntryOffset - layout.Sections.First(s => s.Index == layout.EntrySection).Offset:x}, e_entry 0x{layout.ElfEntry:x} rebased"
            : $"e_entry 0x{layout.ElfEntry:x}, in no executable section: not rebased";
        sb.Append(CultureInfo.InvariantCulture, $"  entry 0x{layout.EntryAt(b):x} ({entryWhere})\n");
        sb.Append(CultureInfo.InvariantCulture, $"  image 0x{layout.MemorySize:x} bytes: 0x{layout.FileSize:x} copied, 0x{layout.MemorySize - layout.FileSize:x} zero-filled; {result.Patches.Count} relocation(s) applied");
        if (request.Values.Count > 0) sb.Append(CultureInfo.InvariantCulture, $"; {request.Values.Count} symbol(s) set");
        sb.Append(writtenTo is null ? "\n" : $"; written to {writtenTo}\n");
        return sb.ToString();
    }

    /// <summary>Parses a base address: 0x-prefixed hexadecimal or decimal.</summary>
    public static bool TryParseBase(string? text, out ulong value, out string error)
    {
        value = 0;
        error = "";
        if (LoadAddress.TryParse(text, out var address, out _) && address.IsSingle)
        {
            value = address.Low;
            return true;
        }
        error = $"--base is '{text}', which is not one address; give it as 0x100000000 (hexadecimal) or a decimal number";
        return false;
    }

    /// <summary>Parses <c>SYMBOL=HEX</c> or <c>SYMBOL=0xNUMBER</c>.</summary>
    public static bool TryParseSet(string? text, out SymbolValue value, out string error)
    {
        value = null!;
        error = "";
        string t = (text ?? "").Trim();
        int eq = t.IndexOf('=');
        string symbol = eq > 0 ? t[..eq].Trim() : "";
        string hex = eq > 0 ? t[(eq + 1)..].Trim() : "";
        if (symbol.Length == 0 || hex.Length == 0)
        {
            error = $"--set is '{text}'; use {SetForm}";
            return false;
        }
        if (hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            if (!ulong.TryParse(hex.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong number) || hex.Length == 2)
            {
                error = $"--set {symbol}: '{hex}' is not a hexadecimal number of at most 64 bits; use {SetForm}";
                return false;
            }
            value = new SymbolValue(symbol, [], true, number);
            return true;
        }
        if (hex.Length % 2 != 0 || !hex.All(Uri.IsHexDigit))
        {
            error = $"--set {symbol}: '{hex}' is not a whole number of bytes as hex digits; use {SetForm}";
            return false;
        }
        value = new SymbolValue(symbol, Convert.FromHexString(hex), false, 0);
        return true;
    }

    /// <summary>Writes the image whole (a temp file renamed into place) unless the file already holds exactly it.</summary>
    public static void WriteImage(string path, byte[] image) => AtomicFile.WriteIfDifferent(path, image);
}
