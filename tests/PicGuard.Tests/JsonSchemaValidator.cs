using System.Text.Json;
using System.Text.RegularExpressions;

namespace PicGuard.Tests;

/// <summary>
/// A JSON Schema (draft-04/07) validator for the keywords the SARIF 2.1.0 schema uses: $ref (JSON pointers into the
/// same document), type (also as an array; "integer" is a number without fraction), enum, const, required,
/// properties, patternProperties, additionalProperties, items (schema or tuple), minItems, maxItems, uniqueItems,
/// minimum, maximum, minLength, maxLength, pattern, format (uri, uri-reference, date-time), allOf, anyOf, oneOf, not.
/// An unknown keyword throws, so a schema feature this validator lacks cannot pass unnoticed.
/// </summary>
public sealed class JsonSchemaValidator
{
    private static readonly HashSet<string> Annotations = ["$schema", "id", "$id", "title", "description", "default", "definitions", "$comment", "examples"];
    private readonly JsonElement _root;
    private readonly Dictionary<string, Regex> _regexes = new();

    public JsonSchemaValidator(JsonElement schema) => _root = schema;

    public static JsonSchemaValidator Load(string path) => new(JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone());

    /// <summary>Every violation, as "JSON path: what is wrong"; empty when the instance is valid.</summary>
    public List<string> Validate(JsonElement instance)
    {
        var errors = new List<string>();
        Check(_root, instance, "$", errors);
        return errors;
    }

    private void Check(JsonElement schema, JsonElement x, string path, List<string> errors)
    {
        if (schema.ValueKind == JsonValueKind.True) return;
        if (schema.ValueKind == JsonValueKind.False) { errors.Add($"{path}: no value is allowed here"); return; }
        if (schema.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"schema at {path} is not an object");

        if (schema.TryGetProperty("$ref", out var reference))
        {
            Check(Resolve(reference.GetString()!), x, path, errors); // siblings of $ref are ignored (draft-04/07)
            return;
        }

        foreach (var keyword in schema.EnumerateObject())
        {
            var v = keyword.Value;
            switch (keyword.Name)
            {
                case "type":
                    var types = v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(t => t.GetString()!).ToList() : [v.GetString()!];
                    if (!types.Any(t => HasType(x, t))) errors.Add($"{path}: is {x.ValueKind}, not {string.Join(" or ", types)}");
                    break;
                case "enum":
                    if (!v.EnumerateArray().Any(e => JsonEquals(e, x))) errors.Add($"{path}: {x.GetRawText()} is not one of {v.GetRawText()}");
                    break;
                case "const":
                    if (!JsonEquals(v, x)) errors.Add($"{path}: {x.GetRawText()} is not {v.GetRawText()}");
                    break;
                case "required":
                    if (x.ValueKind == JsonValueKind.Object)
                        foreach (var name in v.EnumerateArray())
                            if (!x.TryGetProperty(name.GetString()!, out _)) errors.Add($"{path}: required property '{name.GetString()}' is missing");
                    break;
                case "properties":
                case "patternProperties":
                    break; // with additionalProperties, below
                case "additionalProperties":
                    break;
                case "items":
                    if (x.ValueKind != JsonValueKind.Array) break;
                    int i = 0;
                    foreach (var item in x.EnumerateArray())
                    {
                        if (v.ValueKind == JsonValueKind.Array)
                        {
                            if (i < v.GetArrayLength()) Check(v[i], item, $"{path}[{i}]", errors);
                            else if (schema.TryGetProperty("additionalItems", out var more)) Check(more, item, $"{path}[{i}]", errors);
                        }
                        else Check(v, item, $"{path}[{i}]", errors);
                        i++;
                    }
                    break;
                case "additionalItems":
                    break; // with items
                case "minItems":
                    if (x.ValueKind == JsonValueKind.Array && x.GetArrayLength() < v.GetInt32()) errors.Add($"{path}: fewer than {v.GetInt32()} items");
                    break;
                case "maxItems":
                    if (x.ValueKind == JsonValueKind.Array && x.GetArrayLength() > v.GetInt32()) errors.Add($"{path}: more than {v.GetInt32()} items");
                    break;
                case "uniqueItems":
                    if (v.GetBoolean() && x.ValueKind == JsonValueKind.Array)
                    {
                        var items = x.EnumerateArray().ToList();
                        for (int a = 0; a < items.Count; a++)
                            for (int b = a + 1; b < items.Count; b++)
                                if (JsonEquals(items[a], items[b])) errors.Add($"{path}: items {a} and {b} are equal");
                    }
                    break;
                case "minimum":
                    if (x.ValueKind == JsonValueKind.Number && x.GetDecimal() < v.GetDecimal()) errors.Add($"{path}: {x.GetRawText()} is below the minimum {v.GetRawText()}");
                    break;
                case "maximum":
                    if (x.ValueKind == JsonValueKind.Number && x.GetDecimal() > v.GetDecimal()) errors.Add($"{path}: {x.GetRawText()} is above the maximum {v.GetRawText()}");
                    break;
                case "minLength":
                    if (x.ValueKind == JsonValueKind.String && x.GetString()!.EnumerateRunes().Count() < v.GetInt32()) errors.Add($"{path}: shorter than {v.GetInt32()}");
                    break;
                case "maxLength":
                    if (x.ValueKind == JsonValueKind.String && x.GetString()!.EnumerateRunes().Count() > v.GetInt32()) errors.Add($"{path}: longer than {v.GetInt32()}");
                    break;
                case "pattern":
                    if (x.ValueKind == JsonValueKind.String && !Pattern(v.GetString()!).IsMatch(x.GetString()!)) errors.Add($"{path}: '{x.GetString()}' does not match {v.GetString()}");
                    break;
                case "format":
                    if (x.ValueKind == JsonValueKind.String && !FormatHolds(v.GetString()!, x.GetString()!)) errors.Add($"{path}: '{x.GetString()}' is not a valid {v.GetString()}");
                    break;
                case "allOf":
                    foreach (var sub in v.EnumerateArray()) Check(sub, x, path, errors);
                    break;
                case "anyOf":
                    if (!v.EnumerateArray().Any(sub => Valid(sub, x, path))) errors.Add($"{path}: matches none of anyOf");
                    break;
                case "oneOf":
                    int matches = v.EnumerateArray().Count(sub => Valid(sub, x, path));
                    if (matches != 1) errors.Add($"{path}: matches {matches} of oneOf, not exactly one");
                    break;
                case "not":
                    if (Valid(v, x, path)) errors.Add($"{path}: matches a 'not' schema");
                    break;
                default:
                    if (!Annotations.Contains(keyword.Name))
                        throw new NotSupportedException($"schema keyword '{keyword.Name}' at {path} is not supported by this validator");
                    break;
            }
        }

        if (x.ValueKind == JsonValueKind.Object)
            CheckProperties(schema, x, path, errors);
    }

    private void CheckProperties(JsonElement schema, JsonElement x, string path, List<string> errors)
    {
        bool hasProperties = schema.TryGetProperty("properties", out var properties);
        bool hasPatterns = schema.TryGetProperty("patternProperties", out var patterns);
        bool hasAdditional = schema.TryGetProperty("additionalProperties", out var additional);
        foreach (var p in x.EnumerateObject())
        {
            string at = $"{path}.{p.Name}";
            bool covered = false;
            if (hasProperties && properties.TryGetProperty(p.Name, out var sub)) { Check(sub, p.Value, at, errors); covered = true; }
            if (hasPatterns)
                foreach (var pattern in patterns.EnumerateObject())
                    if (Pattern(pattern.Name).IsMatch(p.Name)) { Check(pattern.Value, p.Value, at, errors); covered = true; }
            if (!covered && hasAdditional)
            {
                if (additional.ValueKind == JsonValueKind.False) errors.Add($"{path}: property '{p.Name}' is not allowed");
                else Check(additional, p.Value, at, errors);
            }
        }
    }

    private bool Valid(JsonElement schema, JsonElement x, string path)
    {
        var scratch = new List<string>();
        Check(schema, x, path, scratch);
        return scratch.Count == 0;
    }

    private JsonElement Resolve(string reference)
    {
        if (!reference.StartsWith('#')) throw new NotSupportedException($"$ref '{reference}' is not a reference into this schema");
        var node = _root;
        foreach (var raw in reference[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string token = Uri.UnescapeDataString(raw).Replace("~1", "/").Replace("~0", "~");
            if (!node.TryGetProperty(token, out node)) throw new InvalidDataException($"$ref '{reference}' does not resolve");
        }
        return node;
    }

    private Regex Pattern(string pattern)
    {
        if (!_regexes.TryGetValue(pattern, out var regex))
            _regexes[pattern] = regex = new Regex(pattern, RegexOptions.ECMAScript | RegexOptions.CultureInvariant);
        return regex;
    }

    private static bool HasType(JsonElement x, string type) => type switch
    {
        "object" => x.ValueKind == JsonValueKind.Object,
        "array" => x.ValueKind == JsonValueKind.Array,
        "string" => x.ValueKind == JsonValueKind.String,
        "number" => x.ValueKind == JsonValueKind.Number,
        "integer" => x.ValueKind == JsonValueKind.Number && decimal.TryParse(x.GetRawText(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) && d == decimal.Truncate(d),
        "boolean" => x.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => x.ValueKind == JsonValueKind.Null,
        _ => throw new NotSupportedException($"type '{type}'"),
    };

    private static readonly Regex UriScheme = new("^[A-Za-z][A-Za-z0-9+.-]*:");

    /// <summary>RFC 3986: unreserved and reserved characters and well-formed percent escapes only.</summary>
    private static readonly Regex UriCharacters = new(@"^([A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$");

    private static bool FormatHolds(string format, string value) => format switch
    {
        "uri" => UriScheme.IsMatch(value) && UriCharacters.IsMatch(value) && Uri.TryCreate(value, UriKind.Absolute, out _),
        "uri-reference" => UriCharacters.IsMatch(value) && Uri.TryCreate(value, UriKind.RelativeOrAbsolute, out _),
        "date-time" => DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _) && value.Contains('T'),
        _ => true, // other formats are annotations
    };

    /// <summary>JSON equality: numbers by value, objects regardless of property order.</summary>
    public static bool JsonEquals(JsonElement a, JsonElement b)
    {
        if (a.ValueKind != b.ValueKind) return false;
        switch (a.ValueKind)
        {
            case JsonValueKind.Number: return a.GetDecimal() == b.GetDecimal();
            case JsonValueKind.String: return a.GetString() == b.GetString();
            case JsonValueKind.Array:
                if (a.GetArrayLength() != b.GetArrayLength()) return false;
                return a.EnumerateArray().Zip(b.EnumerateArray()).All(p => JsonEquals(p.First, p.Second));
            case JsonValueKind.Object:
                var pa = a.EnumerateObject().ToList();
                if (pa.Count != b.EnumerateObject().Count()) return false;
                return pa.All(p => b.TryGetProperty(p.Name, out var q) && JsonEquals(p.Value, q));
            default: return true; // true, false, null
        }
    }
}
