using System.Reflection;
using System.Text.RegularExpressions;

namespace PicGuard.Tests;

/// <summary>
/// src/Cli/method-order.txt, the order the native compiler lays picguard's hot methods out in (IlcOrderFile), names
/// methods that exist. The compiler skips a name it does not know, so a renamed or moved method silently falls out of the
/// layout and a small object's check takes page faults again; this test is what notices. The fix is to run
/// build/method-order.sh.
/// </summary>
[TestClass]
public sealed partial class MethodOrderTests
{
    /// <summary>The native compiler's symbol prefix for each of PicGuard's assemblies (its name, '.' as '_').</summary>
    private static readonly (string Prefix, Assembly Assembly)[] Assemblies =
    [
        ("PicGuard_Core_", typeof(Checker).Assembly),
        ("picguard_", typeof(PicGuard.Cli.Program).Assembly),
    ];

    [TestMethod]
    public void EveryPicGuardMethodTheOrderNames_Exists()
    {
        string file = Path.Combine(SdkPackage.RepositoryRoot, "src", "Cli", "method-order.txt");
        var names = File.ReadAllLines(file).Where(line => line.Length > 0 && !line.StartsWith('#')).ToList();
        Assert.IsTrue(names.Count > 1000, $"{file} lists {names.Count} methods; build/method-order.sh writes some 2,000");
        Assert.AreEqual(names.Count, names.Distinct(StringComparer.Ordinal).Count(), "each method once");

        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (prefix, assembly) in Assemblies)
            foreach (var type in assembly.GetTypes())
                foreach (var method in type.GetMembers(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
                    if (method is MethodBase)
                        known.Add(prefix + Mangle(type.FullName!) + "__" + Mangle(method.Name));

        // PicGuard's own methods in plain types, by the compiler's names: Namespace_Type[_Nested]__Method, an overload
        // numbered _0, _1, ... Generic instantiations and compiler-made types (lambdas, iterators, local functions) are
        // named by the compiler's numbering, which any edit shifts: not checked.
        var checkedNames = names
            .Where(n => Assemblies.Any(a => n.StartsWith(a.Prefix + "PicGuard_", StringComparison.Ordinal)))
            .Where(n => !n.Contains('<') && !CompilerMadeName().IsMatch(n))
            .ToList();
        Assert.IsTrue(checkedNames.Count > 200, $"{checkedNames.Count} of PicGuard's methods are named; the check, its reader and its listing have more");
        var missing = checkedNames.Where(n => !known.Contains(n) && !known.Contains(OverloadNumber().Replace(n, ""))).ToList();
        Assert.AreEqual(0, missing.Count,
            $"{file} names {missing.Count} PicGuard method(s) that no longer exist; run build/method-order.sh:\n{string.Join("\n", missing)}");
    }

    /// <summary>The compiler's symbol characters: '.' (namespaces, .ctor) and '+' (nested types) become '_'.</summary>
    private static string Mangle(string name) => name.Replace('.', '_').Replace('+', '_');

    [GeneratedRegex(@"_c__|_d__\d|_b__\d|_g__|DisplayClass")]
    private static partial Regex CompilerMadeName();

    [GeneratedRegex(@"_\d+$")]
    private static partial Regex OverloadNumber();
}
