using PicGuard.Diagnostics;

namespace PicGuard.Rules;

/// <summary>
/// What makes two findings "identical": the rule, the object, and either the relocation's type, symbol,
/// addend (section symbols) and patched section — the parts its message is made of — or, for findings
/// built whole, the message text. Cheap to build, so a repeat costs no formatting.
/// </summary>
/// <remarks>All numbers (rule number, the object's ordinal in its set), so a lookup hashes no strings.</remarks>
internal readonly record struct FindingKey(
    int Rule, int Object, uint Type = 0, uint SymbolTable = 0, uint Symbol = 0, long Addend = 0, int Section = -1, ulong Offset = 0, string? Text = null)
{
    /// <summary>
    /// The numbers mixed by multiplication, the text's hash only when there is one; made with the key, since every
    /// finding past the first is looked up by it twice (<see cref="FindingSet"/>'s key filter, then its table).
    /// </summary>
    private readonly int _hash = Hash(Rule, Object, Type, SymbolTable, Symbol, Addend, Section, Offset, Text);

    internal static int Hash(int rule, int obj, uint type, uint symbolTable, uint symbol, long addend, int section, ulong offset, string? text)
    {
        ulong h = ((ulong)(uint)rule << 32 | type) * 0x9E3779B97F4A7C15UL
            ^ ((ulong)symbol << 24 ^ (ulong)addend ^ offset ^ (ulong)(uint)section << 44 ^ (ulong)(uint)obj << 8 ^ (ulong)symbolTable << 56) * 0xC2B2AE3D27D4EB4FUL;
        int hash = (int)(h >> 32) ^ (int)h;
        return text is null ? hash : hash ^ text.GetHashCode();
    }

    public override int GetHashCode() => _hash;

    public bool Equals(FindingKey other) =>
        _hash == other._hash && Rule == other.Rule && Object == other.Object && Type == other.Type && SymbolTable == other.SymbolTable && Symbol == other.Symbol
        && Addend == other.Addend && Section == other.Section && Offset == other.Offset && string.Equals(Text, other.Text, StringComparison.Ordinal);
}

/// <summary>
/// Collects findings: keeps only the rules asked for, sets suppressed findings aside, collapses identical
/// findings into one with a count and up to <see cref="PlacesShown"/> more "referenced by" places, and
/// lists at most <see cref="CheckOptions.MaxDiagnosticsPerFile"/>, counting the rest. The engine builds
/// the costly parts of a finding (source line, instruction) only once <see cref="Admit"/> says it is listed.
/// </summary>
/// <param name="options">What is wanted, suppressed and capped.</param>
/// <param name="listLimit">
/// At most this many findings are listed here (null: <see cref="CheckOptions.MaxDiagnosticsPerFile"/>): an archive
/// member checked apart lists no more than its file still has room for.
/// </param>
/// <param name="roomLimit">
/// Past this many listed findings, only the first finding of each rule is listed and the rest are counted as unshown
/// (null: no such limit): the room a <see cref="ListingRoom"/> leaves this set.
/// </param>
/// <param name="listsText">
/// The set writes its listed findings as text (<see cref="CheckResult.Text"/>) rather than as <see cref="Diagnostic"/>
/// objects, and a relocation finding stays a value here until then (<see cref="ListsText"/>).
/// </param>
internal sealed class FindingSet(CheckOptions options, int? listLimit = null, int? roomLimit = null, bool listsText = false)
{
    /// <summary>Extra places a collapsed finding names before "referenced N more time(s)".</summary>
    public const int PlacesShown = 2;

    public enum Admission { Listed, Suppressed, Omitted }

    /// <summary>
    /// Whether a listed relocation finding is handed over as a value (<see cref="Complete(int, in RelocationFinding)"/>),
    /// kept in its group and written as text when the set is written out: the set is a one-object file's, and its
    /// findings are wanted as text (<see cref="CheckOptions.ListsText"/>). A listed finding then costs no object at all.
    /// </summary>
    public bool ListsText => listsText;

    /// <summary>Identical findings, by their first: a value in <see cref="_order"/>, so a listed finding costs no object of its own here.</summary>
    /// <remarks>
    /// Made in its place at the end of <see cref="_order"/> (<see cref="AddGroup"/>), its few set fields written one by one:
    /// it is some 300 bytes, most of them the finding a listed group gets later, and copying a whole new value into the
    /// list was a tenth of what listing the kernel modules costs over counting them.
    /// </remarks>
    private struct Group
    {
        public Severity Severity;
        public Diagnostic? Diagnostic;
        /// <summary>The first finding as a value, when the set lists text (<see cref="HasFinding"/>): no <see cref="Diagnostic"/> is made.</summary>
        public RelocationFinding Finding;
        public bool HasFinding;
        /// <summary>The set built <see cref="Diagnostic"/> and nothing else holds it: its count and places are set in place.</summary>
        public bool Owned;
        public int Count;
        public List<string>? Places;
        /// <summary>A relocation finding's repeats shown as places (at most <see cref="PlacesShown"/>): values here, objects only once written out.</summary>
        public RepeatPlaces Repeated;
        public int Repeats;
        public Suppression? By;
        public readonly bool Listed => Diagnostic is not null || HasFinding;
        public readonly int Shown => (Places?.Count ?? 0) + Repeats;
        /// <summary>Repeats neither in the first finding's own count nor shown as places: "referenced N more time(s)".</summary>
        public readonly int NotShown => Count - (Diagnostic?.Occurrences ?? 1) - Shown;
    }

    /// <summary>The places of up to <see cref="PlacesShown"/> repeats, inside their group.</summary>
    [System.Runtime.CompilerServices.InlineArray(PlacesShown)]
    private struct RepeatPlaces
    {
        private ObjectPlace _first;
    }

    private Dictionary<FindingKey, int> _groups = TakeSpare(ref t_spareGroups) ?? new();
    private List<Group> _order = TakeSpare(ref t_spareOrder) ?? new();

    // An object's set is written out when the object is done; its emptied table and list serve the next object checked
    // on the same thread, so they are not grown again from nothing for every archive member.
    [ThreadStatic] private static Dictionary<FindingKey, int>? t_spareGroups;
    [ThreadStatic] private static List<Group>? t_spareOrder;

    /// <summary>
    /// One bit per hash of the key of every group here (4,096 bits): a finding whose bit is clear has no identical
    /// finding here, known without a lookup. Most findings of an object with many are such (first of their kind, or over
    /// the cap and only counted), and a table lookup hashes and compares the whole key.
    /// </summary>
    private ulong[]? _keyBits = TakeSpare(ref t_spareKeyBits); // null until a group is added
    private const int KeyBitWords = 64;
    [ThreadStatic] private static ulong[]? t_spareKeyBits;

    private static int KeyBit(in FindingKey key) => Bit(key.GetHashCode());

    /// <summary>A hash's bit among the filter's 4,096.</summary>
    private static int Bit(int hash) => (int)((uint)hash * 2654435769u >> 20);

    private bool MayHave(in FindingKey key)
    {
        if (_keyBits is not { } bits) return false;
        int bit = KeyBit(key);
        return (bits[bit >> 6] & 1UL << bit) != 0;
    }

    /// <summary>
    /// The same for the key's plain numbers alone (rule, object, type, symbol, the section its message names), leaving
    /// out what needs the symbol read (a section symbol's addend) or varies by place (an offset): a finding whose bit is
    /// clear here is identical to no finding here (<see cref="MayRepeat"/>).
    /// </summary>
    private ulong[]? _plainKeyBits = TakeSpare(ref t_sparePlainKeyBits);
    [ThreadStatic] private static ulong[]? t_sparePlainKeyBits;

    private static int PlainKeyBit(int rule, int obj, uint type, uint symbolTable, uint symbol, int section) =>
        Bit(FindingKey.Hash(rule, obj, type, symbolTable, symbol, 0, section, 0, null));

    /// <summary>
    /// False when no finding here can be identical to one with these numbers: it is the first of its kind here. True when one may be.
    /// </summary>
    public bool MayRepeat(int rule, int obj, uint type, uint symbolTable, uint symbol, int section)
    {
        if (_plainKeyBits is not { } bits) return false;
        int bit = PlainKeyBit(rule, obj, type, symbolTable, symbol, section);
        return (bits[bit >> 6] & 1UL << bit) != 0;
    }

    /// <summary>
    /// A finding that is no repeat would only be counted (<see cref="Admit"/> says Omitted for it): nothing suppresses,
    /// and the set lists no more.
    /// </summary>
    public bool CountsOnly => !HasSuppressions && (options.CountOnly || _listed >= _listLimit);

    private ref Group GroupAt(int at) => ref System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_order)[at];

    private static T? TakeSpare<T>(ref T? spare) where T : class
    {
        var taken = spare;
        spare = null;
        return taken;
    }
    private readonly int _listLimit = listLimit ?? (options.MaxDiagnosticsPerFile > 0 ? options.MaxDiagnosticsPerFile : int.MaxValue);
    private int _listed;
    private int _objects;

    private int _countedErrors, _countedWarnings, _counted, _unshown;

    /// <summary>The rules listed here, while a room limit applies: past it, a rule not yet listed is still listed once.</summary>
    private HashSet<string>? _listedRules;

    /// <summary>
    /// Findings are only counted (a summary is all that is wanted, or there is no room left to list any) and nothing
    /// can suppress them: the engine may call <see cref="Tally"/> and skip the rest.
    /// </summary>
    public bool TallyOnly => (options.CountOnly || _listLimit == 0) && !HasSuppressions;

    /// <summary>How many findings are listed so far.</summary>
    public int Listed => _listed;

    /// <summary>
    /// Whether any suppression exists, so the engine knows whether symbol and section names are needed up front. Read
    /// once: it is asked for every finding, and the options' list is an interface.
    /// </summary>
    public bool HasSuppressions { get; } = options.Suppressions.Count > 0;

    /// <summary>Counts a finding without keeping anything of it (<see cref="TallyOnly"/>).</summary>
    public void Tally(Severity severity, int occurrences = 1)
    {
        _counted += occurrences;
        TallySeverity(severity, occurrences);
    }

    /// <summary>Counts a finding past the room limit: in the errors and warnings, and as unshown rather than omitted.</summary>
    private void TallyUnshown(Severity severity, int occurrences)
    {
        _unshown += occurrences;
        TallySeverity(severity, occurrences);
    }

    private void TallySeverity(Severity severity, int occurrences)
    {
        if (severity == Severity.Error) _countedErrors += occurrences;
        else if (severity == Severity.Warning) _countedWarnings += occurrences;
    }

    /// <summary>A number for the next object whose findings come here; keys of different objects never match.</summary>
    public int NextObject() => ++_objects;

    /// <summary>
    /// True when an identical finding is already here: it is counted, and <paramref name="wantsPlace"/> says whether
    /// the listed finding still shows extra places (the caller then hands the place, or its "referenced by" text, to <see cref="AddPlace(int, in ObjectPlace)"/>).
    /// </summary>
    public bool Repeat(in FindingKey key, int occurrences, out bool wantsPlace) => Repeat(key, occurrences, out _, out wantsPlace);

    /// <inheritdoc cref="Repeat(in FindingKey, int, out bool)"/>
    /// <param name="at">The identical finding's group, for <see cref="AddPlace(int, in ObjectPlace)"/>.</param>
    public bool Repeat(in FindingKey key, int occurrences, out int at, out bool wantsPlace)
    {
        wantsPlace = false;
        at = -1;
        if (!MayHave(key) || !_groups.TryGetValue(key, out at)) return false;
        ref var group = ref GroupAt(at);
        group.Count += occurrences;
        wantsPlace = group.Listed && group.By is null && group.Shown < PlacesShown;
        return true;
    }

    /// <summary>One more "referenced by" place for a repeated finding <see cref="Repeat"/> said wants one.</summary>
    public void AddPlace(in FindingKey key, string? place)
    {
        if (place is not null && _groups.TryGetValue(key, out int at))
            (GroupAt(at).Places ??= new List<string>()).Add(place);
    }

    /// <summary>As <see cref="AddPlace(in FindingKey, string?)"/> for a relocation finding: the place, formatted only when written.</summary>
    public void AddPlace(int at, in ObjectPlace place)
    {
        ref var group = ref GroupAt(at);
        group.Repeated[group.Repeats++] = place; // Repeat asks for no more than PlacesShown
    }

    /// <summary>
    /// The first finding of its kind, known by what suppressions match on: suppressed, listed, or only
    /// counted (over the cap, or <see cref="CheckOptions.CountOnly"/>). Nothing is formatted here; the
    /// caller builds the finding only when it is listed or suppressed and hands it to <see cref="Complete"/>.
    /// An omitted finding is only counted, not kept: its repeats come back here and are counted the same way.
    /// </summary>
    public Admission Admit(in FindingKey key, string code, Severity severity, string? symbol, string? section, string file, int occurrences = 1) =>
        Admit(key, code, severity, symbol, section, file, occurrences, keyed: true);

    /// <inheritdoc cref="Admit(in FindingKey, string, Severity, string?, string?, string, int)"/>
    /// <param name="at">The new group of a listed or suppressed finding, for <see cref="Complete(int, in RelocationFinding)"/>.</param>
    public Admission Admit(in FindingKey key, string code, Severity severity, string? symbol, string? section, string file, out int at)
    {
        var admission = Admit(key, code, severity, symbol, section, file, 1, keyed: true);
        at = admission == Admission.Omitted ? -1 : _order.Count - 1;
        return admission;
    }

    /// <param name="keyed">False for a finding nothing can repeat (<see cref="Append"/>): it is listed without a key in the table.</param>
    private Admission Admit(in FindingKey key, string code, Severity severity, string? symbol, string? section, string file, int occurrences, bool keyed)
    {
        var by = !HasSuppressions ? null : SuppressedBy(code, symbol, section, file);
        if (by is null && (options.CountOnly || _listed >= _listLimit))
        {
            Tally(severity, occurrences);
            return Admission.Omitted;
        }
        if (by is null && roomLimit is { } room)
        {
            bool firstOfRule = (_listedRules ??= new HashSet<string>(StringComparer.Ordinal)).Add(code);
            if (_listed >= room && !firstOfRule)
            {
                TallyUnshown(severity, occurrences);
                return Admission.Omitted;
            }
        }
        if (keyed)
        {
            _groups[key] = _order.Count;
            int bit = KeyBit(key);
            (_keyBits ??= new ulong[KeyBitWords])[bit >> 6] |= 1UL << bit;
            bit = PlainKeyBit(key.Rule, key.Object, key.Type, key.SymbolTable, key.Symbol, key.Section);
            (_plainKeyBits ??= new ulong[KeyBitWords])[bit >> 6] |= 1UL << bit;
        }
        AddGroup(severity, occurrences, by);
        if (by is not null) return Admission.Suppressed;
        _listed++;
        return Admission.Listed;
    }

    /// <summary>A new group at the end of <see cref="_order"/>, its fields set in place (the list's free slots are clear).</summary>
    private void AddGroup(Severity severity, int count, Suppression? by)
    {
        int at = _order.Count;
        System.Runtime.InteropServices.CollectionsMarshal.SetCount(_order, at + 1);
        ref var group = ref GroupAt(at);
        group.Severity = severity;
        group.Count = count;
        group.By = by;
    }

    /// <summary>The first suppression that covers the finding. Apart from <see cref="Admit"/>, so no closure is allocated on every finding.</summary>
    private Suppression? SuppressedBy(string code, string? symbol, string? section, string file)
    {
        foreach (var s in options.Suppressions)
            if (s.Covers(code, symbol, section, file)) return s;
        return null;
    }

    /// <summary>
    /// Adds a finding another set listed, as it is: never merged with another, listed while there is room (and
    /// counted with its occurrences when there is not). How the findings of archive members checked apart come together.
    /// </summary>
    public void Append(Diagnostic d)
    {
        // Never merged with another: it is listed (or counted) without a key in the table, which it would only grow.
        if (Admit(default, d.Code, d.Severity, d.Symbol, d.Section, d.File, d.Occurrences, keyed: false) != Admission.Omitted)
            GroupAt(_order.Count - 1).Diagnostic = d;
    }

    /// <summary>
    /// The built form of a listed or suppressed finding. <paramref name="owned"/>: the caller built it for this set alone,
    /// so its count and its repeats' places are set on it in place when the set is written out.
    /// </summary>
    public void Complete(in FindingKey key, Diagnostic finding, bool owned = false) => Complete(_groups[key], finding, owned);

    /// <inheritdoc cref="Complete(in FindingKey, Diagnostic, bool)"/>
    public void Complete(int at, Diagnostic finding, bool owned = false)
    {
        ref var group = ref GroupAt(at);
        group.Diagnostic = finding;
        group.Owned = owned;
    }

    /// <summary>Whether group <paramref name="at"/>'s finding is kept as a value and written as text (its places may be too).</summary>
    public bool IsText(int at) => GroupAt(at).HasFinding;

    /// <summary>A listed relocation finding as a value, for a set that <see cref="ListsText"/>: written as text, never an object.</summary>
    public void Complete(int at, in RelocationFinding finding)
    {
        ref var group = ref GroupAt(at);
        group.Finding = finding;
        group.HasFinding = true;
    }

    /// <summary>Adds a finding built whole (sections, symbols, input errors, or a listed finding of another set).</summary>
    public void Add(Diagnostic d)
    {
        if (d.Severity == Severity.None || !options.Wants(d.Code)) return;
        var key = new FindingKey(d.Rule.Number, 0, Text: d.Object + "\n" + d.Message);
        if (Repeat(key, d.Occurrences, out bool wantsPlace))
        {
            if (wantsPlace) AddPlace(key, d.Context.FirstOrDefault(c => c.StartsWith("referenced by ", StringComparison.Ordinal)));
            return;
        }
        if (Admit(key, d.Code, d.Severity, d.Symbol, d.Section, d.File, d.Occurrences) != Admission.Omitted)
            Complete(key, d);
    }

    /// <summary>
    /// Writes the findings to <paramref name="result"/> in the order they were first found: listed ones to its
    /// <see cref="CheckResult.Diagnostics"/>, or as text to its <see cref="CheckResult.Text"/> when the set <see cref="ListsText"/>.
    /// </summary>
    public void WriteTo(CheckResult result)
    {
        foreach (ref var g in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_order))
        {
            if (g.HasFinding)
            {
                g.Finding.WriteTo(result.Text ??= new ListingText(), g.Severity, ((ReadOnlySpan<ObjectPlace>)g.Repeated)[..g.Repeats], g.NotShown);
                result.CountText(g.Severity, g.Count);
                continue;
            }
            if (g.Diagnostic is null)
            {
                result.Omitted += g.Count;
                if (g.Severity == Severity.Error) result.OmittedErrors += g.Count;
                if (g.Severity == Severity.Warning) result.OmittedWarnings += g.Count;
                continue;
            }
            if (g.Owned && g.By is null && g.Places is null && g.Diagnostic.Context is RelocationParts parts)
            {
                // Built for this set alone: the count and the repeats' places go on the finding itself.
                if (g.Count != g.Diagnostic.Occurrences)
                    parts.SetRepeats(RepeatedPlaces(g), g.NotShown);
                g.Diagnostic.SetOccurrences(g.Count);
                List(result, g.Diagnostic);
                continue;
            }
            var d = g.Count == g.Diagnostic.Occurrences ? g.Diagnostic : g.Diagnostic with { Occurrences = g.Count };
            if (g.By is not null)
                result.Suppressed.Add((d, g.By));
            else
                List(result, g.Shown == 0 && g.Count == g.Diagnostic.Occurrences ? d : d with { Context = WithPlaces(g) });
        }
        result.Omitted += _counted;
        result.Unshown += _unshown;
        result.OmittedErrors += _countedErrors;
        result.OmittedWarnings += _countedWarnings;
        _counted = _countedErrors = _countedWarnings = _unshown = 0;
        _order.Clear();
        _groups.Clear();
        if (_keyBits is { } bits)
        {
            Array.Clear(bits);
            t_spareKeyBits ??= bits;
            _keyBits = null;
        }
        if (_plainKeyBits is { } plainBits)
        {
            Array.Clear(plainBits);
            t_sparePlainKeyBits ??= plainBits;
            _plainKeyBits = null;
        }
        // Kept for the next set on this thread unless it grew large (one huge object should not pin its table).
        if (_groups.EnsureCapacity(0) <= 4096 && t_spareGroups is null)
        {
            t_spareGroups = _groups;
            t_spareOrder ??= _order;
            _groups = new();
            _order = new();
        }
    }

    /// <summary>A listed finding built whole, as the set lists it: an object in the result, or its text.</summary>
    private void List(CheckResult result, Diagnostic d)
    {
        if (!listsText)
        {
            result.Diagnostics.Add(d);
            return;
        }
        d.WriteTo(result.Text ??= new ListingText());
        result.CountText(d.Severity, d.Occurrences);
    }

    private static ObjectPlace[] RepeatedPlaces(in Group g) => ((ReadOnlySpan<ObjectPlace>)g.Repeated)[..g.Repeats].ToArray();

    /// <summary>The first finding's context with the repeats' places after its own, and how many more there were.</summary>
    private static IReadOnlyList<string> WithPlaces(in Group g)
    {
        if (g.Diagnostic!.Context is RelocationParts parts && g.Places is null)
            return parts.WithRepeats(RepeatedPlaces(g), g.NotShown);
        var context = g.Diagnostic!.Context.ToList();
        int at = context.FindLastIndex(c => c.StartsWith("referenced by ", StringComparison.Ordinal)) + 1;
        var lines = new List<string>(g.Places ?? []);
        int more = g.NotShown;
        if (more > 0) lines.Add(RelocationParts.More(more));
        context.InsertRange(at, lines);
        return context;
    }
}
