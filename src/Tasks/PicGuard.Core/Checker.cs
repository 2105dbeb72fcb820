using PicGuard.Bitcode;
using PicGuard.Diagnostics;
using PicGuard.Elf;
using PicGuard.Rules;

namespace PicGuard;

/// <summary>What the checker was asked to do.</summary>
/// <param name="Profile">Which rules run and how severe they are.</param>
/// <param name="CheckUndefinedSymbols">Report undefined symbols (PG0008): on for a linked blob, off for the objects that make it up; null: as the profile says.</param>
/// <param name="AllowedUndefined">Symbol names or globs the loader provides (PicAllowUndefined).</param>
public sealed record CheckOptions(Profile Profile, bool? CheckUndefinedSymbols = null, IReadOnlyList<string>? AllowedUndefined = null)
{
    public static CheckOptions Default { get; } = new(Profiles.Generic);

    /// <summary>Sections whose code may only reach allowed sections (PG0004; PicRestrictedSections, globs such as <c>.pi.text*</c>).</summary>
    public IReadOnlyList<string> RestrictedSections { get; init; } = [];

    /// <summary>Sections restricted code may reference (PicAllowedTargetSections); empty means the restricted sections themselves.</summary>
    public IReadOnlyList<string> AllowedTargetSections { get; init; } = [];

    /// <summary>Where the loader places the blob, for placement overflow (PG0007); null means the profile's default, if any.</summary>
    public LoadAddress? LoadAddress { get; init; }

    /// <summary>Accepted findings (PicSuppress items, --suppress).</summary>
    public IReadOnlyList<Suppression> Suppressions { get; init; } = [];

    /// <summary>Only findings of these codes (globs such as <c>PG9*</c>) are kept; empty keeps all.</summary>
    public IReadOnlyList<string> OnlyRules { get; init; } = [];

    /// <summary>Whether findings of <paramref name="code"/> are wanted (<see cref="OnlyRules"/>).</summary>
    public bool Wants(string code) => OnlyRules.Count == 0 || OnlyRules.Any(g => Glob.Matches(code, g));

    /// <summary>Count findings without building them (a summary is all that is printed); none are listed.</summary>
    public bool CountOnly { get; init; }

    /// <summary>
    /// Listed findings of a one-object file are wanted as text, what the CLI prints (<see cref="CheckResult.Text"/>),
    /// rather than as <see cref="Diagnostic"/> objects: a listed relocation finding then costs no object at all.
    /// Archives, suppressed findings and PG0013 still come as objects.
    /// </summary>
    internal bool ListsText { get; init; }

    /// <summary>At most this many diagnostics per file are listed (PicMaxDiagnostics); the rest are counted. 0 means no cap.</summary>
    public int MaxDiagnosticsPerFile { get; init; } = 100;
}

/// <summary>What one check found, plus the counts a summary prints.</summary>
public sealed class CheckResult
{
    public List<Diagnostic> Diagnostics { get; } = new();

    /// <summary>
    /// Listed findings written as text, in order, before those in <see cref="Diagnostics"/> (<see cref="CheckOptions.ListsText"/>);
    /// null when there are none. Counted in <see cref="Errors"/> and <see cref="Warnings"/>.
    /// </summary>
    internal ListingText? Text { get; set; }

    /// <summary>How many findings <see cref="Text"/> lists, and their errors and warnings with their repeats.</summary>
    private int _textListed, _textErrors, _textWarnings;

    internal void CountText(Severity severity, int occurrences)
    {
        _textListed++;
        if (severity == Severity.Error) _textErrors += occurrences;
        else if (severity == Severity.Warning) _textWarnings += occurrences;
    }

    /// <summary>Listed findings, as objects or as text.</summary>
    internal int Listed => Diagnostics.Count + _textListed;

    /// <summary>Findings a <see cref="Suppression"/> accepted: not errors, listed in the summary.</summary>
    public List<(Diagnostic Diagnostic, Suppression By)> Suppressed { get; } = new();

    /// <summary>Findings beyond <see cref="CheckOptions.MaxDiagnosticsPerFile"/>: counted, not listed.</summary>
    public int Omitted { get; internal set; }

    /// <summary>Findings past the caller's <see cref="ListingRoom"/> (none without one): counted, not listed.</summary>
    public int Unshown { get; internal set; }
    public long Relocations { get; internal set; }
    public int Objects { get; internal set; }
    /// <summary>Errors found, counting collapsed and omitted ones.</summary>
    public int Errors => Diagnostics.Where(d => d.Severity == Severity.Error).Sum(d => d.Occurrences) + OmittedErrors + _droppedErrors + _textErrors;

    /// <summary>Warnings found, counting collapsed and omitted ones.</summary>
    public int Warnings => Diagnostics.Where(d => d.Severity == Severity.Warning).Sum(d => d.Occurrences) + OmittedWarnings + _droppedWarnings + _textWarnings;

    private int _droppedErrors, _droppedWarnings;

    /// <summary>
    /// Adds everything of <paramref name="other"/> a summary counts (errors and warnings, listed or not, suppressed
    /// findings, objects, relocations) but not its listed diagnostics: a running total over results already written out.
    /// </summary>
    public void AddSummary(CheckResult other)
    {
        AddCounts(other);
        _droppedErrors += other._droppedErrors + other._textErrors;
        _droppedWarnings += other._droppedWarnings + other._textWarnings;
        foreach (var d in other.Diagnostics)
        {
            if (d.Severity == Severity.Error) _droppedErrors += d.Occurrences;
            else if (d.Severity == Severity.Warning) _droppedWarnings += d.Occurrences;
        }
    }

    internal int OmittedErrors { get; set; }
    internal int OmittedWarnings { get; set; }

    public void Add(CheckResult other)
    {
        if (other.Text is not null)
            throw new InvalidOperationException("findings listed as text (CheckOptions.ListsText) cannot be added to another result: write them out");
        Diagnostics.AddRange(other.Diagnostics);
        AddCounts(other);
    }

    /// <summary>Everything but the listed diagnostics: counts, suppressed and omitted findings.</summary>
    internal void AddCounts(CheckResult other)
    {
        Suppressed.AddRange(other.Suppressed);
        Omitted += other.Omitted;
        Unshown += other.Unshown;
        OmittedErrors += other.OmittedErrors;
        OmittedWarnings += other.OmittedWarnings;
        Relocations += other.Relocations;
        Objects += other.Objects;
    }
}

/// <summary>
/// The one core the MSBuild task and the CLI both call: reads a file (object or archive),
/// runs the profile's rules over every object in it and returns diagnostics. Never throws for
/// bad input: a missing file is PG9003, a malformed one PG9001.
/// </summary>
public sealed class Checker
{
    private readonly CheckOptions _options;

    public Checker(CheckOptions options) => _options = options;

    public CheckResult CheckFile(string path) => CheckFile(path, null);

    /// <summary>
    /// As <see cref="CheckFile(string)"/>, but the file's LLVM bitcode modules go to <paramref name="bitcode"/>, shared by
    /// the files of one link checked one by one, and code models that disagree (PG0013) are left to
    /// <see cref="CodeModelConflicts"/> over all of them; without it they are reported within the file.
    /// </summary>
    public CheckResult CheckFile(string path, BitcodeInputs? bitcode)
    {
        var input = Open(path, out var failed);
        if (input is null) return failed!;
        using (input)
            return CheckBuffer(path, input.Data, bitcode);
    }

    /// <summary>PG0013 over the bitcode modules <see cref="CheckFile(string, BitcodeInputs?)"/> gathered: code models that disagree.</summary>
    public CheckResult CodeModelConflicts(BitcodeInputs bitcode)
    {
        var result = new CheckResult();
        AddCodeModelConflicts(result, bitcode);
        return result;
    }

    /// <summary>Adds PG0013 findings, kept, suppressed and capped apart from the file's own, to <paramref name="result"/>.</summary>
    private void AddCodeModelConflicts(CheckResult result, BitcodeInputs bitcode)
    {
        if (bitcode.WithCodeModel < 2) return;
        var findings = new FindingSet(_options);
        foreach (var d in bitcode.Conflicts(_options.Profile, Severity(RuleCatalog.CodeModelConflict)))
            findings.Add(d);
        var conflicts = new CheckResult();
        findings.WriteTo(conflicts);
        result.Add(conflicts);
    }

    /// <summary>
    /// Checks several files (objects or archives) at once: files and archive members are checked
    /// in parallel on up to <paramref name="maxParallelism"/> threads (0: one per processor), and
    /// result <c>i</c> is exactly what <see cref="CheckFile"/> returns for <c>paths[i]</c>, with
    /// diagnostics in the same order. Each file is read or mapped (<see cref="FileContents"/>) while its members are checked
    /// and released as soon as its last member is done. The one exception: code models that disagree
    /// among the LLVM bitcode of all the files (PG0013) are found over the files together and come
    /// last, in the last file's result.
    /// </summary>
    public IReadOnlyList<CheckResult> CheckFiles(IReadOnlyList<string> paths, int maxParallelism = 0)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var results = new CheckResult[paths.Count];
        CheckFiles(paths, (i, result) => results[i] = result, maxParallelism);
        return results;
    }

    /// <summary>
    /// As <see cref="CheckFiles(IReadOnlyList{string}, int)"/>, but hands each file's result to <paramref name="onResult"/>
    /// (with the file's index) as soon as that file and every file before it are checked, in input order, one call at a
    /// time, and keeps nothing of it afterwards: a caller that writes and drops each result holds only the files in flight,
    /// however many files there are. <paramref name="onResult"/> runs on one of the checking threads.
    /// </summary>
    public void CheckFiles(IReadOnlyList<string> paths, Action<int, CheckResult> onResult, int maxParallelism = 0) =>
        CheckFiles(paths, result => result, onResult, maxParallelism);

    /// <summary>
    /// As <see cref="CheckFiles(IReadOnlyList{string}, Action{int, CheckResult}, int)"/>, but each file's result first goes
    /// through <paramref name="prepare"/>, on the thread that finished the file, in parallel and in no particular order
    /// (the CLI renders a file's findings to text there), and <paramref name="onResult"/> gets what it made, in input order.
    /// The last file is prepared when it is emitted, after the code models of every file's bitcode (PG0013) are compared.
    /// With <paramref name="bitcode"/>, the files' LLVM bitcode modules go there instead, and PG0013 is left to the caller
    /// (<see cref="CodeModelConflicts"/>), as for files checked in several calls that make one link.
    /// </summary>
    /// <para>With <paramref name="room"/>, files list findings only while the files before them have listed fewer than its
    /// limit, then only the first finding of each rule they have, and count the rest (<see cref="CheckResult.Unshown"/>):
    /// for a caller that shows no more than that (MSBuild's PicMaxLoggedDiagnostics). Every finding is still counted.</para>
    public void CheckFiles<T>(IReadOnlyList<string> paths, Func<CheckResult, T> prepare, Action<int, T> onResult, int maxParallelism = 0, BitcodeInputs? bitcode = null, ListingRoom? room = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(prepare);
        ArgumentNullException.ThrowIfNull(onResult);
        ArgumentOutOfRangeException.ThrowIfNegative(maxParallelism);
        var run = new FilesRun(paths.Count, result => prepare(result), (i, prepared) => onResult(i, (T)prepared!), this, bitcode, room);
        // One small file is checked on this thread: starting pool threads for it costs more than the check.
        int parallelism = maxParallelism == 0 ? (paths.Count == 1 && IsSmallFile(paths[0]) ? 1 : Environment.ProcessorCount) : maxParallelism;
        try
        {
            var units = Units(paths, run);
            if (parallelism == 1)
            {
                foreach (var unit in units) Run(unit);
            }
            else
            {
                var source = System.Collections.Concurrent.Partitioner.Create(units, System.Collections.Concurrent.EnumerablePartitionerOptions.NoBuffering);
                Parallel.ForEach(source, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, Run);
            }
        }
        finally
        {
            run.DisposeInputs();
        }
        run.Emit();
        if (!run.AllEmitted)
            throw new InvalidOperationException("a file was not checked");
    }

    private static bool IsSmallFile(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists && FileContents.IsReadWhole(info.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false; // the check itself reports what is wrong with the path
        }
    }

    /// <summary>The files of one <see cref="CheckFiles(IReadOnlyList{string}, Action{int, CheckResult}, int)"/> call: hands out results in input order.</summary>
    private sealed class FilesRun(int count, Func<CheckResult, object?> prepare, Action<int, object?> onResult, Checker checker, BitcodeInputs? sharedBitcode, ListingRoom? room)
    {
        /// <summary>What the caller shows across files, or null: every file lists up to its cap.</summary>
        public ListingRoom? Room => room;

        /// <summary>The caller's preparation of a finished file's result (see <see cref="CheckFiles{T}"/>).</summary>
        public object? Prepare(CheckResult result) => prepare(result);

        /// <summary>Whether <paramref name="index"/> is the last file and PG0013 is found here: its result gains PG0013 when emitted.</summary>
        public bool GainsCodeModelConflicts(int index) => sharedBitcode is null && index == _jobs.Length - 1;

        /// <summary>The bitcode modules of every file, for PG0013 once the last file is done.</summary>
        public readonly BitcodeInputs Bitcode = sharedBitcode ?? new();

        private readonly FileJob?[] _jobs = new FileJob?[count];
        private readonly object _emit = new();
        private int _next;

        public bool AllEmitted => _next == _jobs.Length;

        public void Set(int index, FileJob job) => Volatile.Write(ref _jobs[index], job);

        /// <summary>
        /// Hands every complete file at the head of the order to the caller, and forgets it. A thread that finds another
        /// one doing so goes back to checking instead of waiting its turn: the one emitting takes the files that complete
        /// meanwhile (writing a listing of 100 MB takes a good part of a run, and waiting for it left a core idle).
        /// </summary>
        public void Emit()
        {
            while (Monitor.TryEnter(_emit))
            {
                try
                {
                    while (HeadIsComplete(out var job))
                    {
                        object? prepared = job.Prepared;
                        if (GainsCodeModelConflicts(_next))
                        {
                            var result = job.Finish();
                            checker.AddCodeModelConflicts(result, Bitcode);
                            prepared = prepare(result);
                        }
                        _jobs[_next] = null;
                        onResult(_next++, prepared);
                    }
                }
                finally
                {
                    Monitor.Exit(_emit);
                }
                // A file that completed while the lock was let go found it taken and left: it is emitted here.
                if (!HeadIsComplete(out _)) return;
            }
        }

        private bool HeadIsComplete([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out FileJob? job)
        {
            int next = Volatile.Read(ref _next);
            job = next < _jobs.Length ? Volatile.Read(ref _jobs[next]) : null;
            return job is { IsComplete: true };
        }

        /// <summary>
        /// The buffers that archive members, and the small object files of a run of several files, are read into: one per
        /// checking thread, freed with the inputs.
        /// </summary>
        public readonly MemberBuffer.Pool Buffers = new();

        /// <summary>
        /// The run checks more than one file: its small object files are read into <see cref="Buffers"/>, as archive members
        /// are. A buffer is 2 MiB (a huge page where the kernel gives one), touched once and then reused; a pooled array per file was more often fresh
        /// memory than not (the listing's text comes from the same pool). Listing the 4,023 kernel modules: 1,000 to 1,500
        /// fewer page faults, the summary 8% and the listing 3% less time. One file alone is read into a pooled array:
        /// faulting in a huge page costs more than reading one small file (0.35 ms more for a 1.4 KB object).
        /// </summary>
        public bool ReadsIntoBuffers => _jobs.Length > 1;

        public void DisposeInputs()
        {
            foreach (var job in _jobs)
                job?.DisposeInput();
            Buffers.Dispose();
        }
    }

    /// <summary>
    /// One file of a <see cref="CheckFiles"/> call: its mapping, its units of work in order, and what could not be split.
    /// Members are checked apart; their findings come together in member order as each prefix of members completes,
    /// so listing and the cap apply to the file as <see cref="CheckFile"/> applies them, and a member that starts when
    /// the file has listed all it may lists nothing (its findings are only counted).
    /// </summary>
    private sealed class FileJob(int index, string path, CheckOptions options, FilesRun run)
    {
        public string Path { get; } = path;
        public BitcodeInputs Bitcode => run.Bitcode;

        /// <summary>The run's buffers that archive members are read into.</summary>
        public MemberBuffer.Pool Buffers => run.Buffers;

        /// <inheritdoc cref="FilesRun.ReadsIntoBuffers"/>
        public bool ReadsIntoBuffers => run.ReadsIntoBuffers;
        private volatile bool _complete;

        /// <summary>Every member is checked and folded (or the file could not be read): <see cref="Finish"/> may run.</summary>
        public bool IsComplete => _complete;

        /// <summary>Marks a file that could not be read as complete.</summary>
        public void Failed()
        {
            Complete();
        }

        /// <summary>What <see cref="FilesRun.Prepare"/> made of the finished file (all but the last file).</summary>
        public object? Prepared;

        /// <summary>The file's number among the bitcode inputs (its order for PG0013).</summary>
        public int BitcodeFile;

        /// <summary>Prepares the finished file's result on this thread, marks it complete and emits what is ready.</summary>
        private void Complete()
        {
            if (!run.GainsCodeModelConflicts(index))
            {
                var result = Finish();
                run.Room?.Listed(result.Listed);
                Prepared = run.Prepare(result);
            }
            _complete = true;
            run.Emit();
        }

        public FileContents? Input;

        /// <summary>An archive, open: its members are found by their headers and read by the threads that check them.</summary>
        public Microsoft.Win32.SafeHandles.SafeFileHandle? Archive;
        public CheckResult? Whole;
        public Diagnostic? Tail;
        private readonly List<Unit> _units = new();
        private readonly CheckResult _merged = new();
        private FindingSet? _mergedSet;
        /// <summary>The members' findings, folded; made only for an archive (a one-object file's result is used as it is).</summary>
        private FindingSet MergedFindings => _mergedSet ??= new FindingSet(options);
        private int _folded;
        private CheckResult? _single;

        /// <summary>The file is one object, not an archive: one unit, whose result needs no folding.</summary>
        public bool Single;
        private volatile int _listed;
        private int _pending = 1;

        public void Hold() => Interlocked.Increment(ref _pending);

        public void Release()
        {
            if (Interlocked.Decrement(ref _pending) != 0) return;
            DisposeInput();
            Complete();
        }

        public void DisposeInput()
        {
            Interlocked.Exchange(ref Input, null)?.Dispose();
            Interlocked.Exchange(ref Archive, null)?.Dispose();
        }

        /// <summary>Adds the next member, in file order.</summary>
        public Unit Add(string objectName, ReadOnlyMemory<byte> data)
        {
            var unit = new Unit(this, objectName, data);
            lock (_units) _units.Add(unit);
            return unit;
        }

        /// <summary>
        /// How many more findings a member starting now may list: the cap less what the members before it already
        /// listed, as far as they are done (a lower bound, so the member never lists less than the file will show).
        /// </summary>
        public int? ListLimit => options.MaxDiagnosticsPerFile > 0 ? Math.Max(0, options.MaxDiagnosticsPerFile - _listed) : null;

        /// <summary>
        /// How many findings a member (or the file's one object) starting now may list before it lists only the first of
        /// each rule: the run's room less what this file's members before it listed; null without a room. Files before
        /// this one that are still being checked are not counted, so it is never less than the file will be shown.
        /// </summary>
        public int? RoomLimit => run.Room is { } room ? Math.Max(0, room.Remaining - _listed) : null;

        /// <summary>Records a member's result and folds every member whose predecessors are all done.</summary>
        public void Done(Unit unit, CheckResult result)
        {
            if (Single)
            {
                // The file is one object: its result is the file's as it is (it listed under the whole cap).
                _single = result;
                _folded = 1;
                return;
            }
            lock (_units)
            {
                unit.Result = result;
                while (_folded < _units.Count && _units[_folded].Result is { } next)
                {
                    _merged.AddCounts(next);
                    foreach (var d in next.Diagnostics) MergedFindings.Append(d);
                    _units[_folded++].Result = null; // what is folded is not kept twice
                    _listed = MergedFindings.Listed;
                }
            }
        }

        /// <summary>The file's result: the whole-file failure, or every member folded, then what ended the archive early.</summary>
        public CheckResult Finish()
        {
            if (Whole is { } whole) return whole;
            if (_single is { } single) return single;
            if (_folded != _units.Count)
                throw new InvalidOperationException($"{Path}: {_units.Count - _folded} member(s) were not checked");
            if (Tail is { } tail) MergedFindings.Add(tail);
            MergedFindings.WriteTo(_merged);
            return _merged;
        }
    }

    /// <summary>One object to check: a whole file or one archive member.</summary>
    private sealed class Unit(FileJob job, string objectName, ReadOnlyMemory<byte> data)
    {
        public FileJob Job { get; } = job;
        public string ObjectName { get; } = objectName;
        public ReadOnlyMemory<byte> Data { get; set; } = data;
        public CheckResult? Result;

        /// <summary>A small object file opened but not read yet: the checking thread reads it (<see cref="FileContents.Read"/>).</summary>
        public (Microsoft.Win32.SafeHandles.SafeFileHandle Handle, int Length)? Unread;

        /// <summary>The file's index in the run and the member's in the file: the order of bitcode modules for PG0013.</summary>
        public int File, Member;

        /// <summary>A thin archive's member that could not be read, and why (PG9003).</summary>
        public string? Missing;

        /// <summary>A thin archive's member that is no valid input (a nested archive that contains itself or nests too deep), and why (PG9001).</summary>
        public string? Malformed;
    }

    private void Run(Unit unit)
    {
        MemberBuffer? buffer = null;
        try
        {
            if (unit.Unread is { } unread && !ReadInput(unit, unread.Handle, unread.Length, ref buffer)) return;
            var result = new CheckResult();
            var findings = new FindingSet(_options, unit.Job.ListLimit, unit.Job.RoomLimit, listsText: _options.ListsText && unit.Job.Single);
            if (unit.Missing is { } missing)
                findings.Add(Make(RuleCatalog.MissingInput, unit.Job.Path, unit.ObjectName, missing));
            else if (unit.Malformed is { } malformed)
                findings.Add(Make(RuleCatalog.MalformedInput, unit.Job.Path, unit.ObjectName, malformed));
            else if (MemberBuffer.IsUnread(unit.Data, out var range, out int start))
            {
                // An archive member is read into this thread's buffer.
                buffer = unit.Job.Buffers.Rent();
                ReadOnlyMemory<byte>? member = null;
                try
                {
                    member = buffer.Read(range, start, unit.Data.Length);
                }
                catch (IOException e)
                {
                    findings.Add(Make(RuleCatalog.MissingInput, unit.Job.Path, unit.ObjectName, $"cannot read '{unit.ObjectName}': {FileErrors.Describe(e)}"));
                }
                if (member is { } bytes)
                    CheckObject(result, findings, unit.Job.Path, unit.ObjectName, bytes, unit.Job.Bitcode, unit.File, unit.Member);
            }
            else
                CheckObject(result, findings, unit.Job.Path, unit.ObjectName, unit.Data, unit.Job.Bitcode, unit.File, unit.Member);
            findings.WriteTo(result);
            unit.Job.Done(unit, result);
        }
        finally
        {
            // The file's unit releases it first: the buffer holds its bytes until then.
            unit.Job.Release();
            if (buffer is not null) unit.Job.Buffers.Return(buffer);
        }
    }

    /// <summary>
    /// Reads the small object file of a one-unit job on the checking thread, into this thread's buffer (<paramref name="buffer"/>,
    /// given back when the file is done) in a run of several files; false, with the file's PG9003 as its result, when it cannot.
    /// </summary>
    private bool ReadInput(Unit unit, Microsoft.Win32.SafeHandles.SafeFileHandle handle, int length, ref MemberBuffer? buffer)
    {
        unit.Unread = null;
        try
        {
            if (unit.Job.ReadsIntoBuffers)
            {
                buffer = unit.Job.Buffers.Rent();
                using (handle)
                    unit.Data = buffer.Read(new FileRange(handle, 0, length), 0, length);
                return true;
            }
            unit.Job.Input = FileContents.Read(handle, length);
            unit.Data = unit.Job.Input.Data;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            unit.Job.Done(unit, Single(unit.Job.Path, RuleCatalog.MissingInput, $"cannot read '{unit.Job.Path}': {FileErrors.Describe(e)}"));
            return false;
        }
    }

    /// <summary>
    /// Opens the files in order and yields their objects; runs on one thread at a time (under the work partitioner's lock),
    /// so it only opens: a small object file is read by the thread that checks it, in parallel with the others, and an
    /// archive is read or mapped here and its members handed out one by one.
    /// </summary>
    private IEnumerable<Unit> Units(IReadOnlyList<string> paths, FilesRun run)
    {
        // A relative path is opened by its full path, made here against the working directory read once: the runtime
        // would read the working directory again for every file (a getcwd call under the partitioner's lock).
        string? workingDirectory = null;
        for (int i = 0; i < paths.Count; i++)
        {
            var job = new FileJob(i, paths[i], _options, run) { BitcodeFile = run.Bitcode.NextFile() };
            string fullPath = Path.IsPathRooted(job.Path) ? job.Path : Path.Join(workingDirectory ??= Environment.CurrentDirectory, job.Path);
            var kind = FileContents.Probe(fullPath, out var handle, out long length);
            if (kind == FileContents.Kind.SmallObject)
            {
                run.Set(i, job);
                job.Single = true;
                var small = job.Add(job.Path, default);
                small.File = job.BitcodeFile;
                small.Unread = (handle!, (int)length);
                job.Hold();
                job.Release();
                yield return small;
                continue;
            }
            // An archive's members are found by reading their headers, and each is read by the thread that checks it.
            // Anything else is read or mapped here (Open), or reported.
            if (kind == FileContents.Kind.Archive)
                job.Archive = handle;
            else
                job.Input = Open(job.Path, out job.Whole);
            run.Set(i, job);
            if (job.Input is null && job.Archive is null)
            {
                job.Failed();
                continue;
            }
            var data = job.Input?.Data ?? default;
            if (job.Archive is null && !ArArchive.HasArchiveMagic(data.Span))
            {
                job.Whole = null;
                job.Single = true;
                var unit = job.Add(job.Path, data);
                unit.File = job.BitcodeFile;
                // The file has no other unit: the enumerator lets go of it before handing the unit out, so the unit's
                // own release completes the file (unmap, output) on its checking thread, not under the partitioner's lock.
                job.Hold();
                job.Release();
                yield return unit;
                continue;
            }
            IEnumerator<ArMember>? members = null;
            int memberIndex = 0;
            while (true)
            {
                ArMember member;
                try
                {
                    members ??= (job.Archive is { } archive ? ArArchive.ReadMembers(archive, length, job.Path) : ArArchive.ReadMembers(data, job.Path)).GetEnumerator();
                    if (!members.MoveNext()) break;
                    member = members.Current;
                }
                catch (ElfFormatException e)
                {
                    job.Tail = Make(RuleCatalog.MalformedInput, job.Path, job.Path, $"malformed archive: {e.Message}");
                    break;
                }
                catch (IOException e)
                {
                    job.Tail = Make(RuleCatalog.MissingInput, job.Path, job.Path, $"cannot read '{job.Path}': {FileErrors.Describe(e)}");
                    break;
                }
                var unit = job.Add($"{job.Path}({member.Name})", member.Data);
                unit.File = job.BitcodeFile;
                unit.Member = memberIndex++;
                unit.Missing = member.Missing;
                unit.Malformed = member.Malformed;
                job.Hold();
                yield return unit;
            }
            members?.Dispose();
            job.Release();
        }
    }

    /// <summary>
    /// Why <paramref name="path"/> cannot be an input, before it is opened: a directory (PG9001) or no such file (PG9003);
    /// null when it is a file. Every command that reads inputs says it in these words.
    /// </summary>
    public static (Rule Rule, string Message)? InputProblem(string path)
    {
        if (Directory.Exists(path)) return (RuleCatalog.MalformedInput, $"'{path}' is a directory; name an ELF object or archive file");
        if (!File.Exists(path)) return (RuleCatalog.MissingInput, $"input file '{path}' does not exist");
        return null;
    }

    /// <summary>Maps a file for checking, or says why it cannot be read (PG9001 for a directory, PG9003 otherwise).</summary>
    private FileContents? Open(string path, out CheckResult? failed)
    {
        failed = null;
        try
        {
            if (InputProblem(path) is { } problem)
                failed = Single(path, problem.Rule, problem.Message);
            else
                return FileContents.Open(path);
        }
        catch (ElfFormatException e)
        {
            failed = Single(path, RuleCatalog.MalformedInput, $"cannot check '{path}': {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failed = Single(path, RuleCatalog.MissingInput, $"cannot read '{path}': {FileErrors.Describe(e)}");
        }
        return null;
    }

    public CheckResult CheckBuffer(string path, ReadOnlyMemory<byte> data) => CheckBuffer(path, data, null);

    private CheckResult CheckBuffer(string path, ReadOnlyMemory<byte> data, BitcodeInputs? shared)
    {
        var result = new CheckResult();
        var findings = new FindingSet(_options);
        var bitcode = shared ?? new BitcodeInputs();
        int file = bitcode.NextFile();
        if (ArArchive.HasArchiveMagic(data.Span))
        {
            try
            {
                int member = 0;
                foreach (var m in ArArchive.ReadMembers(data, path))
                {
                    if (m.Missing is { } missing)
                        findings.Add(Make(RuleCatalog.MissingInput, path, $"{path}({m.Name})", missing));
                    else if (m.Malformed is { } malformed)
                        findings.Add(Make(RuleCatalog.MalformedInput, path, $"{path}({m.Name})", malformed));
                    else
                        CheckObject(result, findings, path, $"{path}({m.Name})", m.Data, bitcode, file, member);
                    member++;
                }
            }
            catch (ElfFormatException e)
            {
                findings.Add(Make(RuleCatalog.MalformedInput, path, path, $"malformed archive: {e.Message}"));
            }
        }
        else
        {
            CheckObject(result, findings, path, path, data, bitcode, file, 0);
        }
        findings.WriteTo(result);
        if (shared is null) AddCodeModelConflicts(result, bitcode);
        return result;
    }

    private void CheckObject(CheckResult result, FindingSet findings, string path, string objectName, ReadOnlyMemory<byte> data,
        BitcodeInputs bitcode, int file, int member)
    {
        result.Objects++;
        if (LtoInput.IsBitcode(data.Span))
        {
            CheckBitcode(findings, path, objectName, data, bitcode, file, member);
            return;
        }
        if (!ElfFile.HasElfMagic(data.Span))
        {
            findings.Add(Make(RuleCatalog.MalformedInput, path, objectName, Describe(data.Span)));
            return;
        }
        try
        {
            using var elf = new ElfFile(data);
            if (LtoInput.Describe(elf) is { } gccLto)
                findings.Add(Lto(path, objectName, gccLto));
            new ObjectChecker(elf, _options, path, objectName, result, findings).Run();
        }
        catch (ElfFormatException e)
        {
            findings.Add(Make(RuleCatalog.MalformedInput, path, objectName, $"malformed ELF: {e.Message}"));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            findings.Add(Make(RuleCatalog.InternalError, path, objectName, $"internal error while reading the object ({e.GetType().Name}: {e.Message})"));
        }
    }

    /// <summary>PG0009 naming the module flags, and the modules for PG0013; PG9001 when the bitcode is malformed.</summary>
    private void CheckBitcode(FindingSet findings, string path, string objectName, ReadOnlyMemory<byte> data, BitcodeInputs bitcode, int file, int member)
    {
        try
        {
            var modules = BitcodeReader.Read(data.Span);
            findings.Add(Lto(path, objectName, LtoInput.Describe(modules)));
            bitcode.Add(file, member, path, objectName, modules);
        }
        catch (BitcodeFormatException e)
        {
            findings.Add(Make(RuleCatalog.MalformedInput, path, objectName, $"malformed LLVM bitcode: {e.Message}"));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            findings.Add(Make(RuleCatalog.InternalError, path, objectName, $"internal error while reading the bitcode ({e.GetType().Name}: {e.Message})"));
        }
    }

    private Diagnostic Lto(string path, string objectName, string what)
    {
        var rule = RuleCatalog.LtoInput;
        return new Diagnostic(rule, Severity(rule), path, objectName, $"{objectName} is {what}: its code is generated only at link time, outside the position-independent flag policy",
            ["fix: " + rule.Fix]);
    }

    private static string Describe(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0) return "empty file: not an ELF object or archive";
        return "not an ELF object or ar archive (no \\x7fELF or !<arch> magic)";
    }

    private CheckResult Single(string path, Rule rule, string message)
    {
        var r = new CheckResult();
        var findings = new FindingSet(_options);
        findings.Add(Make(rule, path, path, message));
        findings.WriteTo(r);
        return r;
    }

    internal Diagnostic Make(Rule rule, string path, string objectName, string message) =>
        new(rule, Severity(rule), path, objectName, message, ["fix: " + rule.Fix]);

    private Severity Severity(Rule rule)
    {
        var s = _options.Profile.SeverityOf(rule);
        return s == Rules.Severity.None ? rule.DefaultSeverity : s;
    }
}
