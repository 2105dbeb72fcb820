using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using PicGuard.Elf;
using PicGuard.Cli;
using PicGuard.Diagnostics;
using PicGuard.Rules;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>picguard check --format sarif: a SARIF 2.1.0 log that the OASIS schema accepts and that says what the text says.</summary>
[TestClass]
public sealed class SarifTests
{
    /// <summary>
    /// The OASIS SARIF 2.1.0 schema, evaluated by JsonSchema.Net. The schema is written for draft-04, which
    /// the library does not read. It uses nothing draft-07 reads differently but "$schema" and "id", so it is
    /// evaluated as draft-07; its "id" is dropped (every "$ref" in it is local, and the library refuses to
    /// register the same document twice under it).
    /// </summary>
    private static readonly Lazy<JsonSchema> Schema = new(() =>
    {
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "sarif-schema-2.1.0.json")))!.AsObject();
        Assert.AreEqual("http://json-schema.org/draft-04/schema#", (string?)schema["$schema"]);
        schema["$schema"] = "http://json-schema.org/draft-07/schema#";
        schema.Remove("id");
        return JsonSchema.FromText(schema.ToJsonString(), new BuildOptions { SchemaRegistry = new SchemaRegistry(), Dialect = Dialect.Draft07 });
    });

    /// <summary>Every schema violation of <paramref name="instance"/>, as "location keyword: message".</summary>
    private static List<string> Violations(JsonElement instance)
    {
        var result = Schema.Value.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        if (result.IsValid) return [];
        return (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} {e.Key}: {e.Value}")).ToList();
    }

    /// <summary>Parses <paramref name="json"/> and fails the test with every schema violation, if any.</summary>
    private static JsonElement ValidLog(string json)
    {
        var root = JsonDocument.Parse(json).RootElement.Clone();
        var errors = Violations(root);
        Assert.AreEqual(0, errors.Count, "SARIF schema violations:\n" + string.Join("\n", errors.Take(20)) + "\n\n" + json);
        return root;
    }

    private static JsonElement Run0(JsonElement log) => log.GetProperty("runs")[0];

    private static List<JsonElement> Results(JsonElement log) => Run0(log).GetProperty("results").EnumerateArray().ToList();

    private static JsonElement RuleAt(JsonElement log, int index) => Run0(log).GetProperty("tool").GetProperty("driver").GetProperty("rules")[index];

    private static string ArtifactUri(JsonElement log, JsonElement artifactLocation) =>
        Run0(log).GetProperty("artifacts")[artifactLocation.GetProperty("index").GetInt32()].GetProperty("location").GetProperty("uri").GetString()!;

    // ---- the validator itself: a validator that accepts everything would make every test below pass ----

    private const string MinimalLog = """
        {"version":"2.1.0","runs":[{"tool":{"driver":{"name":"picguard","rules":[{"id":"PG0001"}]}},
          "results":[{"ruleId":"PG0001","level":"error","message":{"text":"m"},
            "locations":[{"physicalLocation":{"artifactLocation":{"uri":"a%20b.o"},"region":{"startLine":3}}}]}]}]}
        """;

    [TestMethod]
    public void Validator_AcceptsAMinimalLog()
    {
        var errors = Violations(JsonDocument.Parse(MinimalLog).RootElement);
        Assert.AreEqual(0, errors.Count, string.Join("\n", errors));
    }

    [TestMethod]
    [DataRow("\"version\":\"2.1.0\",", "", "required: Required properties [\"version\"]")]
    [DataRow("\"version\":\"2.1.0\"", "\"version\":\"2.0.0\"", "/version enum:")]
    [DataRow("\"level\":\"error\"", "\"level\":\"fatal\"", "/runs/0/results/0/level enum:")]
    [DataRow("\"startLine\":3", "\"startLine\":0", "/region/startLine minimum:")]
    [DataRow("\"uri\":\"a%20b.o\"", "\"uri\":\"a b.o\"", "/artifactLocation/uri format:")]
    [DataRow("\"name\":\"picguard\"", "\"name\":\"picguard\",\"colour\":\"red\"", "/driver/colour : All values fail against the false schema")]
    [DataRow("\"message\":{\"text\":\"m\"}", "\"message\":{\"text\":7}", "/message/text type:")]
    [DataRow("\"rules\":[{\"id\":\"PG0001\"}]", "\"rules\":[{\"id\":\"PG0001\"},{\"id\":\"PG0001\"}]", "/driver/rules uniqueItems:")]
    [DataRow("\"message\":{\"text\":\"m\"}", "\"message\":{}", "/results/0/message required: Required properties [\"text\"]")]
    public void Validator_RejectsBrokenLogs(string valid, string broken, string expected)
    {
        Assert.Contains(valid, MinimalLog, "the test edits a part of the minimal log");
        var errors = Violations(JsonDocument.Parse(MinimalLog.Replace(valid, broken)).RootElement);
        Assert.IsTrue(errors.Any(e => e.Contains(expected)), $"expected an error containing '{expected}', got:\n{string.Join("\n", errors)}");
    }

    // ---- the CLI ----

    [TestMethod]
    public void Findings_AreResults_WithRuleLevelLocationsAndProperties()
    {
        using var dir = new TempDir();
        string kernel = Compile(dir.Path, "k.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        string got = Compile(dir.Path, "g.c", Sources.ExternVariable, Clang, "-O2", "-fpic", "-fvisibility=hidden");

        var (exit, output, err) = CliTests.Cli("check", kernel, got, "--format", "sarif");

        Assert.AreEqual(Program.ExitFindings, exit, err);
        var log = ValidLog(output);
        Assert.AreEqual("2.1.0", log.GetProperty("version").GetString());
        var driver = Run0(log).GetProperty("tool").GetProperty("driver");
        Assert.AreEqual("picguard", driver.GetProperty("name").GetString());
        Assert.AreEqual(SarifWriter.ToolVersion, driver.GetProperty("version").GetString());
        Assert.AreEqual(RuleCatalog.All.Count, driver.GetProperty("rules").GetArrayLength());

        var results = Results(log);
        var absolute = results.First(r => r.GetProperty("ruleId").GetString() == "PG0001"
            && r.GetProperty("locations")[0].GetProperty("logicalLocations")[0].GetProperty("name").GetString() == "table_address");
        Assert.AreEqual("error", absolute.GetProperty("level").GetString());
        var rule = RuleAt(log, absolute.GetProperty("ruleIndex").GetInt32());
        Assert.AreEqual("PG0001", rule.GetProperty("id").GetString());
        Assert.AreEqual(RuleCatalog.AbsoluteInCode.HelpUri, rule.GetProperty("helpUri").GetString());
        Assert.AreEqual("error", rule.GetProperty("defaultConfiguration").GetProperty("level").GetString());
        Assert.AreEqual(RuleCatalog.AbsoluteInCode.Title, rule.GetProperty("shortDescription").GetProperty("text").GetString());

        var location = absolute.GetProperty("locations")[0];
        var artifact = location.GetProperty("physicalLocation").GetProperty("artifactLocation");
        // The temp directory is not under the current directory: an absolute file URI.
        Assert.AreEqual(new Uri(kernel).AbsoluteUri, artifact.GetProperty("uri").GetString());
        Assert.IsFalse(artifact.TryGetProperty("uriBaseId", out _));
        Assert.AreEqual(artifact.GetProperty("uri").GetString(), ArtifactUri(log, artifact));
        var function = location.GetProperty("logicalLocations")[0];
        Assert.AreEqual("function", function.GetProperty("kind").GetString());
        Assert.AreEqual(".text", location.GetProperty("logicalLocations")[1].GetProperty("name").GetString());

        var properties = absolute.GetProperty("properties");
        Assert.AreEqual("R_X86_64_32S", properties.GetProperty("relocationType").GetString());
        Assert.AreEqual(".text", properties.GetProperty("section").GetString());
        StringAssert.Contains(properties.GetProperty("target").GetString(), "table");
        StringAssert.Contains(absolute.GetProperty("message").GetProperty("text").GetString(), ">>> referenced by table_address+0x");

        var gotResult = results.Single(r => r.GetProperty("ruleId").GetString() == "PG0002");
        Assert.AreEqual(new Uri(got).AbsoluteUri, gotResult.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uri").GetString());
        Assert.AreEqual("PG0002", RuleAt(log, gotResult.GetProperty("ruleIndex").GetInt32()).GetProperty("id").GetString());

        var invocation = Run0(log).GetProperty("invocations")[0];
        Assert.IsTrue(invocation.GetProperty("executionSuccessful").GetBoolean());
        Assert.AreEqual(Program.ExitFindings, invocation.GetProperty("exitCode").GetInt32());
        StringAssert.Contains(err, "2 file(s)");
        Assert.DoesNotContain("error PG0001", err, "findings go to the log, not to stderr");
    }

    [TestMethod]
    public void CleanObject_GivesAValidLogWithNoResults()
    {
        using var dir = new TempDir();
        string clean = Compile(dir.Path, "c.c", Sources.StaticOnly, Gcc, "-O2", "-fpic", "-fvisibility=hidden");

        var (exit, output, err) = CliTests.Cli("check", clean, "--format", "sarif");

        Assert.AreEqual(Program.ExitClean, exit, err);
        var log = ValidLog(output);
        Assert.AreEqual(0, Results(log).Count);
        Assert.AreEqual(new Uri(clean).AbsoluteUri, Run0(log).GetProperty("artifacts")[0].GetProperty("location").GetProperty("uri").GetString());
        Assert.IsTrue(Run0(log).GetProperty("invocations")[0].GetProperty("executionSuccessful").GetBoolean());
    }

    [TestMethod]
    public void UndefinedSymbols_WithCheckUndefined_AreResults_AndAllowUndefinedRemovesThem()
    {
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "u.c", Sources.ExternVariable, Gcc, "-O2", "-fpic", "-fvisibility=hidden", "-include", WriteHiddenHeader(dir));

        var (exit, output, _) = CliTests.Cli("check", obj, "--format", "sarif", "--check-undefined");
        Assert.AreEqual(Program.ExitFindings, exit);
        var undefined = Results(ValidLog(output)).Single(r => r.GetProperty("ruleId").GetString() == "PG0008");
        StringAssert.Contains(undefined.GetProperty("message").GetProperty("text").GetString(), "external_counter");

        (exit, output, _) = CliTests.Cli("check", obj, "--format", "sarif", "--check-undefined", "--allow-undefined", "external_*");
        Assert.AreEqual(Program.ExitClean, exit);
        Assert.AreEqual(0, Results(ValidLog(output)).Count);
    }

    private static string WriteHiddenHeader(TempDir dir)
    {
        File.WriteAllText(dir["hidden.h"], "#pragma GCC visibility push(hidden)\n");
        return dir["hidden.h"];
    }

    [TestMethod]
    public void InputErrors_AreToolExecutionNotifications_AndStillFailTheRun()
    {
        using var dir = new TempDir();
        string clean = Compile(dir.Path, "c.c", Sources.StaticOnly, Gcc, "-O2", "-fpic");
        File.WriteAllText(dir["garbage.o"], "garbage");

        var (exit, output, err) = CliTests.Cli("check", clean, dir["garbage.o"], dir["missing.o"], "--format", "sarif");

        Assert.AreEqual(Program.ExitFindings, exit);
        var log = ValidLog(output);
        Assert.AreEqual(0, Results(log).Count, "input errors are not findings in the code");
        var invocation = Run0(log).GetProperty("invocations")[0];
        Assert.IsFalse(invocation.GetProperty("executionSuccessful").GetBoolean());
        var notes = invocation.GetProperty("toolExecutionNotifications").EnumerateArray().ToList();
        CollectionAssert.AreEquivalent(new[] { "PG9001", "PG9003" }, notes.Select(n => n.GetProperty("associatedRule").GetProperty("id").GetString()).ToArray());
        var malformed = notes.Single(n => n.GetProperty("associatedRule").GetProperty("id").GetString() == "PG9001");
        Assert.AreEqual("error", malformed.GetProperty("level").GetString());
        Assert.AreEqual(new Uri(dir["garbage.o"]).AbsoluteUri, malformed.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uri").GetString());
        Assert.AreEqual("PG9001", RuleAt(log, malformed.GetProperty("associatedRule").GetProperty("index").GetInt32()).GetProperty("id").GetString());
        // A CI log still says why.
        StringAssert.Contains(err, $"{dir["garbage.o"]}: error PG9001: ");
        StringAssert.Contains(err, $"{dir["missing.o"]}: error PG9003: ");
    }

    [TestMethod]
    public void Output_WritesTheLogToTheFile_AndNothingElse()
    {
        using var dir = new TempDir();
        string kernel = Compile(dir.Path, "k.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        string sarif = dir["out/picguard.sarif"];
        Directory.CreateDirectory(dir["out"]);
        File.WriteAllText(sarif, "stale");

        var (exit, output, err) = CliTests.Cli("check", kernel, "--format", "sarif", "--output", sarif);

        Assert.AreEqual(Program.ExitFindings, exit, err);
        Assert.AreEqual("", output);
        var log = ValidLog(File.ReadAllText(sarif));
        Assert.IsTrue(Results(log).Any(r => r.GetProperty("ruleId").GetString() == "PG0001"));
        CollectionAssert.AreEqual(new[] { "picguard.sarif" }, Directory.GetFiles(dir["out"]).Select(Path.GetFileName).ToArray(), "no temporary file is left behind");
    }

    [TestMethod]
    public void Log_IsTheSameForTheSameInput_AndResultsAreSortedByFile()
    {
        using var dir = new TempDir();
        string a = Compile(dir.Path, "a.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        string b = Compile(dir.Path, "b.c", Sources.GlobalTable + "int *table_pointer = &table[1];\n", Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");

        string first = CliTests.Cli("check", a, b, "--format", "sarif").Out;
        string again = CliTests.Cli("check", a, b, "--format", "sarif").Out;
        string reversed = CliTests.Cli("check", b, a, "--format", "sarif").Out;

        Assert.AreEqual(first, again);
        static List<string> Order(string json) => Results(JsonDocument.Parse(json).RootElement)
            .Select(r => r.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uri").GetString()
                + " " + r.GetProperty("ruleId").GetString() + " " + r.GetProperty("properties").GetProperty("offset").GetUInt64())
            .ToList();
        var order = Order(first);
        Assert.IsGreaterThan(2, order.Count);
        CollectionAssert.AreEqual(order, Order(reversed));
        CollectionAssert.AreEqual(order.OrderBy(x => x.Split(' ')[0], StringComparer.Ordinal).ToList(), order);
    }

    // ---- the writer on results the engine will produce (suppressions, source lines, archive members) ----

    [TestMethod]
    public void Writer_RendersSuppressedFindings_SourceLines_AndRelativeUris()
    {
        using var dir = new TempDir();
        var rule = RuleCatalog.AbsoluteInCode;
        var located = new Diagnostic(rule, Severity.Error, dir["lib.a"], $"{dir["lib.a"]}(entry.o)", "absolute relocation R_X86_64_64 against 'gdt' in executable section .pi.text",
            ["referenced by start+0x10 (.pi.text+0x30)", "fix: " + rule.Fix], new ObjectLocation(".pi.text", 0x30, "start", 0x10), "R_X86_64_64", "'gdt'")
        {
            Source = new SourcePosition(dir["src/entry.c"], 42, 7),
            Instruction = "movabs rax, 0x0",
            Occurrences = 3,
            Symbol = "gdt",
        };
        var accepted = new Diagnostic(rule, Severity.Error, dir["lib.a"], $"{dir["lib.a"]}(entry.o)", "absolute relocation R_X86_64_64 against '__phys_addr' in executable section .pi.text",
            [], new ObjectLocation(".pi.text", 0x80, "start", 0x60), "R_X86_64_64", "'__phys_addr'") { Symbol = "__phys_addr" };
        var result = new CheckResult { Omitted = 5, Objects = 1 };
        result.Diagnostics.Add(located);
        result.Suppressed.Add((accepted, new Suppression("PG0001", "__phys_addr", ".pi.*", Justification: "translated by the caller before use")));
        result.Suppressed.Add((accepted with { Message = "second", Location = accepted.Location! with { Offset = 0x90 } }, new Suppression("PG0001")));

        var log = ValidLog(SarifWriter.ToJson([dir["lib.a"]], result, dir.Path));

        var results = Results(log);
        Assert.AreEqual(3, results.Count);
        var first = results[0];
        Assert.IsFalse(first.TryGetProperty("suppressions", out _));
        var physical = first.GetProperty("locations")[0].GetProperty("physicalLocation");
        Assert.AreEqual("src/entry.c", physical.GetProperty("artifactLocation").GetProperty("uri").GetString());
        Assert.AreEqual(SarifWriter.SourceRootBaseId, physical.GetProperty("artifactLocation").GetProperty("uriBaseId").GetString());
        Assert.AreEqual(42, physical.GetProperty("region").GetProperty("startLine").GetInt32());
        Assert.AreEqual(7, physical.GetProperty("region").GetProperty("startColumn").GetInt32());
        var related = first.GetProperty("relatedLocations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation");
        Assert.AreEqual("lib.a", related.GetProperty("uri").GetString());
        Assert.AreEqual("lib.a", ArtifactUri(log, related));
        var props = first.GetProperty("properties");
        Assert.AreEqual("movabs rax, 0x0", props.GetProperty("instruction").GetString());
        Assert.AreEqual(3, props.GetProperty("occurrences").GetInt32());
        Assert.AreEqual(0x30, props.GetProperty("offset").GetInt32());
        Assert.AreEqual($"{dir["lib.a"]}(entry.o)", props.GetProperty("object").GetString());
        string message = first.GetProperty("message").GetProperty("text").GetString()!;
        StringAssert.Contains(message, ">>> referenced by start+0x10");
        Assert.DoesNotContain(rule.Fix, message, "the fix is the rule's help, not repeated in every result");

        var suppression = results[1].GetProperty("suppressions")[0];
        Assert.AreEqual("external", suppression.GetProperty("kind").GetString());
        Assert.AreEqual("translated by the caller before use", suppression.GetProperty("justification").GetString());
        Assert.AreEqual("PG0001", results[1].GetProperty("ruleId").GetString());
        Assert.IsFalse(results[2].GetProperty("suppressions")[0].TryGetProperty("justification", out _));

        Assert.AreEqual("file://" + dir.Path.Replace('\\', '/').TrimEnd('/') + "/",
            Run0(log).GetProperty("originalUriBaseIds").GetProperty(SarifWriter.SourceRootBaseId).GetProperty("uri").GetString());
        Assert.AreEqual(5, Run0(log).GetProperty("properties").GetProperty("omitted").GetInt32());
    }

    [TestMethod]
    public void Writer_EscapesPathsIntoUris()
    {
        using var dir = new TempDir();
        string odd = dir["with space#and%.o"];
        var result = new CheckResult();
        result.Diagnostics.Add(new Diagnostic(RuleCatalog.GotReference, Severity.Error, odd, odd, "GOT", []));

        var inside = ValidLog(SarifWriter.ToJson([odd], result, dir.Path));
        Assert.AreEqual("with%20space%23and%25.o", Run0(inside).GetProperty("artifacts")[0].GetProperty("location").GetProperty("uri").GetString());

        var outside = ValidLog(SarifWriter.ToJson([odd], result, dir["elsewhere"]));
        string uri = Run0(outside).GetProperty("artifacts")[0].GetProperty("location").GetProperty("uri").GetString()!;
        Assert.AreEqual(odd, new Uri(uri).LocalPath);
    }

    [TestMethod]
    public void RuleNames_ArePascalCaseAndUnique()
    {
        var names = RuleCatalog.All.Select(SarifWriter.RuleName).ToList();
        Assert.AreEqual("AbsoluteReferenceFromExecutableCode", SarifWriter.RuleName(RuleCatalog.AbsoluteInCode));
        Assert.AreEqual(names.Count, names.Distinct().Count());
        Assert.IsTrue(names.All(n => n.Length > 0 && char.IsUpper(n[0]) && n.All(char.IsAsciiLetterOrDigit)));
    }
}
