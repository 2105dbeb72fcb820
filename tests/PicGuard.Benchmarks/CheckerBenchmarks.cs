using BenchmarkDotNet.Attributes;
using PicGuard.Elf;

namespace PicGuard.Benchmarks;

/// <summary>The reader alone (headers, relocation entries) and the whole rule engine, on one large object held in memory.</summary>
[MemoryDiagnoser]
public class CheckerBenchmarks
{
    private string _directory = "";
    private string _path = "";
    private byte[] _data = [];
    private Checker _checker = null!;
    private Checker _counter = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("picguard-bench-").FullName;
        _path = LargeObject.Create(_directory);
        _data = File.ReadAllBytes(_path);
        _checker = new Checker(CheckOptions.Default);
        _counter = new Checker(CheckOptions.Default with { CountOnly = true });
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    /// <summary>Header and section header table.</summary>
    [Benchmark]
    public int ReadSections()
    {
        using var elf = new ElfFile(_data);
        return elf.Sections.Count;
    }

    /// <summary>Every relocation entry decoded (what readelf -r does, without printing).</summary>
    [Benchmark]
    public ulong ReadRelocations()
    {
        using var elf = new ElfFile(_data);
        ulong sum = 0;
        foreach (var section in elf.Sections)
        {
            if (section.Type is not (ElfSectionType.Rel or ElfSectionType.Rela)) continue;
            var relocations = elf.GetRelocations(section);
            for (int i = 0; i < relocations.Count; i++)
                sum += relocations[i].Offset + relocations[i].Type;
        }
        return sum;
    }

    /// <summary>All rules of the generic profile over every relocation, findings built as diagnostics.</summary>
    [Benchmark]
    public long CheckBuffer() => _checker.CheckBuffer(_path, _data).Relocations;

    /// <summary>All rules over every relocation, findings only counted (what <c>picguard check --summary-only</c> does).</summary>
    [Benchmark]
    public long CheckBufferCountOnly() => _counter.CheckBuffer(_path, _data).Relocations;

    /// <summary>The same through the file: memory-mapped, checked, unmapped.</summary>
    [Benchmark]
    public long CheckFile() => _checker.CheckFile(_path).Relocations;
}
