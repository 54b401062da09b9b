/// A JSON Schema keyword the grammar compiler does not enforce, or a schema that is not well formed.
public struct JSONSchemaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where in the schema, as a JSON pointer (`/properties/age/minimum`).
    public var pointer: String
    /// What is wrong.
    public var message: String

    /// The pointer and the message.
    public var description: String { "\(pointer.isEmpty ? "/" : pointer): \(message)" }
}

/// Compiles a JSON Schema into a byte ``Grammar`` whose texts are exactly compact-ish JSON documents valid under it:
/// the schema subset that llama.cpp's `json-schema-to-grammar` and vLLM's guided decoding document.
///
/// Supported: `type` (one or a list), `properties` (emitted in the schema's order; `required` ones always, the others
/// optionally), `additionalProperties` (`false` and absent mean no others when `properties` is given; a schema or
/// `true` with no `properties` gives a map), `items`, `minItems`, `maxItems`, `enum`, `const`, `anyOf`, `oneOf` (as
/// `anyOf`, as llama.cpp does), a one-schema `allOf`, `$ref` to `#/$defs/…` or `#/definitions/…` (recursion allowed),
/// `minLength`, `maxLength`, `pattern` (literals, classes, `.`, groups, `|`, `?`, `*`, `+`, `{m,n}`, anchored at both
/// ends), `format` `date`, `time`, `date-time` and `uuid`, `minimum: 0` on numbers and integers (no sign), and the
/// annotations (`title`, `description`, `default`, `examples`, `$schema`, `$id`, `$comment`, `deprecated`,
/// `readOnly`, `writeOnly`). Any other keyword is a ``JSONSchemaError`` naming it, never silently ignored.
///
/// Whitespace: one optional space after `:` and `,`, none elsewhere, so that generation always ends.
public struct JSONSchemaGrammar {
    var builder = GrammarBuilder()
    var definitions: [String: TemplateValue] = [:]
    var definitionRules: [String: Int] = [:]
    var anyValueRule: Int?
    var stringRule: Int?
    var numberRule: Int?

    static let annotations: Set<String> = [
        "title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly",
        "writeOnly", "$defs", "definitions",
    ]

    /// The grammar of documents valid under `schema`.
    ///
    /// - Throws: ``JSONSchemaError`` naming the first unsupported keyword or malformed part.
    public static func grammar(for schema: TemplateValue) throws(JSONSchemaError) -> Grammar {
        var compiler = JSONSchemaGrammar()
        if case .dict(let pairs) = schema {
            for key in ["$defs", "definitions"] {
                guard let defs = pairs.last(where: { $0.key == key })?.value else { continue }
                guard case .dict(let entries) = defs else {
                    throw JSONSchemaError(pointer: "/\(key)", message: "must be an object")
                }
                for entry in entries { compiler.definitions["#/\(key)/\(entry.key)"] = entry.value }
            }
        }
        let root = try compiler.value(schema, at: "")
        let grammar = compiler.builder.build(root: root)
        guard grammar.isWellFormed else {
            throw JSONSchemaError(pointer: "", message: "a repeated part of the schema can match nothing")
        }
        return grammar
    }

    /// The grammar of any JSON object (OpenAI's `response_format: {"type": "json_object"}`).
    public static func anyObject() -> Grammar {
        var compiler = JSONSchemaGrammar()
        let value = compiler.anyValue()
        let root = compiler.objectOfAny(value: [.rule(value)])
        return compiler.builder.build(root: root)
    }

    typealias Item = GrammarBuilder.Item

    static func literal(_ text: String) -> [Item] { GrammarBuilder.literal(Array(text.utf8)) }

    mutating func space() -> Item { builder.optional(Self.literal(" ")) }

    // MARK: Schemas

    mutating func value(_ schema: TemplateValue, at pointer: String) throws(JSONSchemaError) -> [Item] {
        switch schema {
        case .bool(true): return [.rule(anyValue())]
        case .bool(false): throw JSONSchemaError(pointer: pointer, message: "the schema false matches nothing")
        case .dict(let pairs): return try object(schema: pairs, at: pointer)
        default: throw JSONSchemaError(pointer: pointer, message: "a schema must be an object or a boolean")
        }
    }

    mutating func object(schema pairs: [TemplateValue.Pair], at pointer: String) throws(JSONSchemaError) -> [Item] {
        var keys: [String: TemplateValue] = [:]
        for pair in pairs { keys[pair.key] = pair.value }
        let known: Set<String> = [
            "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "enum", "const",
            "anyOf", "oneOf", "allOf", "$ref", "minLength", "maxLength", "pattern", "format", "minimum",
        ]
        for pair in pairs where !known.contains(pair.key) && !Self.annotations.contains(pair.key) {
            throw JSONSchemaError(pointer: pointer + "/" + pair.key, message: "keyword \(pair.key) is not supported")
        }
        if let reference = keys["$ref"] {
            guard case .string(let target) = reference, let definition = definitions[target] else {
                throw JSONSchemaError(pointer: pointer + "/$ref", message: "only #/$defs/… and #/definitions/… resolve")
            }
            if let rule = definitionRules[target] { return [.rule(rule)] }
            let rule = builder.reserve()
            definitionRules[target] = rule
            builder.define(rule, [try value(definition, at: String(target.dropFirst()))])
            return [.rule(rule)]
        }
        if let constant = keys["const"] { return Self.literal(try Self.compactJSON(constant, at: pointer + "/const")) }
        if let options = keys["enum"] {
            guard case .list(let values) = options, !values.isEmpty else {
                throw JSONSchemaError(pointer: pointer + "/enum", message: "must be a non-empty array")
            }
            var alternatives: [[Item]] = []
            for (i, v) in values.enumerated() {
                alternatives.append(Self.literal(try Self.compactJSON(v, at: pointer + "/enum/\(i)")))
            }
            return [builder.choice(alternatives)]
        }
        for key in ["anyOf", "oneOf"] {
            guard let options = keys[key] else { continue }
            guard case .list(let schemas) = options, !schemas.isEmpty else {
                throw JSONSchemaError(pointer: pointer + "/" + key, message: "must be a non-empty array")
            }
            var alternatives: [[Item]] = []
            for (i, s) in schemas.enumerated() { alternatives.append(try value(s, at: pointer + "/\(key)/\(i)")) }
            return [builder.choice(alternatives)]
        }
        if let all = keys["allOf"] {
            guard case .list(let schemas) = all, schemas.count == 1 else {
                throw JSONSchemaError(pointer: pointer + "/allOf", message: "allOf is supported with one schema only")
            }
            return try value(schemas[0], at: pointer + "/allOf/0")
        }
        var types: [String]
        switch keys["type"] {
        case .string(let t)?: types = [t]
        case .list(let items)?:
            types = []
            for item in items {
                guard case .string(let t) = item else {
                    throw JSONSchemaError(pointer: pointer + "/type", message: "types must be strings")
                }
                types.append(t)
            }
        case nil:
            // Untyped: inferred from the keywords present, else any value.
            if keys["properties"] != nil || keys["additionalProperties"] != nil {
                types = ["object"]
            } else if keys["items"] != nil {
                types = ["array"]
            } else if keys["pattern"] != nil || keys["format"] != nil || keys["minLength"] != nil {
                types = ["string"]
            } else {
                return [.rule(anyValue())]
            }
        default: throw JSONSchemaError(pointer: pointer + "/type", message: "must be a string or an array")
        }
        var alternatives: [[Item]] = []
        for type in types {
            switch type {
            case "object": alternatives.append(try objectValue(keys, at: pointer))
            case "array": alternatives.append(try arrayValue(keys, at: pointer))
            case "string": alternatives.append(try stringValue(keys, at: pointer))
            case "number", "integer":
                alternatives.append(try numberValue(keys, integer: type == "integer", at: pointer))
            case "boolean": alternatives.append([builder.choice([Self.literal("true"), Self.literal("false")])])
            case "null": alternatives.append(Self.literal("null"))
            default: throw JSONSchemaError(pointer: pointer + "/type", message: "unknown type \(type)")
            }
        }
        return [builder.choice(alternatives)]
    }

    mutating func objectValue(_ keys: [String: TemplateValue], at pointer: String) throws(JSONSchemaError) -> [Item] {
        guard case .dict(let properties)? = keys["properties"], !properties.isEmpty else {
            switch keys["additionalProperties"] {
            case .bool(false)?: return Self.literal("{}")
            case nil, .bool(true)?: return objectOfAny(value: [.rule(anyValue())])
            case let schema?: return objectOfAny(value: try value(schema, at: pointer + "/additionalProperties"))
            }
        }
        var required = Set<String>()
        if let list = keys["required"] {
            guard case .list(let names) = list else {
                throw JSONSchemaError(pointer: pointer + "/required", message: "must be an array")
            }
            for name in names {
                guard case .string(let n) = name else {
                    throw JSONSchemaError(pointer: pointer + "/required", message: "names must be strings")
                }
                required.insert(n)
            }
        }
        if case .dict? = keys["additionalProperties"] {
            throw JSONSchemaError(
                pointer: pointer + "/additionalProperties",
                message: "a schema for additional properties beside properties is not supported"
            )
        }
        for name in required.sorted() where !properties.contains(where: { $0.key == name }) {
            throw JSONSchemaError(
                pointer: pointer + "/required",
                message: "required property \(name) is not among the properties"
            )
        }
        var members: [(items: [Item], required: Bool)] = []
        for property in properties {
            let key = Self.literal(Self.jsonString(property.key)) + Self.literal(":") + [space()]
            members.append(
                (
                    key + (try value(property.value, at: pointer + "/properties/" + property.key)),
                    required.contains(property.key)
                )
            )
        }
        // rest(i, first): the members from i on, each after a comma unless it is the first written.
        var memo: [Int: [Bool: Item]] = [:]
        func rest(_ i: Int, first: Bool) -> [Item] {
            guard i < members.count else { return [] }
            if let item = memo[i]?[first] { return [item] }
            let comma = first ? [] : Self.literal(",") + [space()]
            let written = comma + members[i].items + rest(i + 1, first: false)
            let item: Item
            if members[i].required {
                item = .rule(builder.rule([written]))
            } else {
                item = .rule(builder.rule([written, rest(i + 1, first: first)]))
            }
            memo[i, default: [:]][first] = item
            return [item]
        }
        return Self.literal("{") + rest(0, first: true) + Self.literal("}")
    }

    mutating func objectOfAny(value: [Item]) -> [Item] {
        let member = [.rule(string())] + Self.literal(":") + [space()] + value
        let more = builder.star(Self.literal(",") + [space()] + member)
        return Self.literal("{") + [builder.optional(member + [more])] + Self.literal("}")
    }

    mutating func arrayValue(_ keys: [String: TemplateValue], at pointer: String) throws(JSONSchemaError) -> [Item] {
        let item: [Item] =
            try keys["items"].map { (s) throws(JSONSchemaError) in
                try value(s, at: pointer + "/items")
            } ?? [.rule(anyValue())]
        let minimum = try count(keys["minItems"], at: pointer + "/minItems") ?? 0
        let maximum = try count(keys["maxItems"], at: pointer + "/maxItems")
        if let maximum, maximum < minimum {
            throw JSONSchemaError(pointer: pointer + "/maxItems", message: "is below minItems")
        }
        if maximum == 0 { return Self.literal("[]") }
        let next = Self.literal(",") + [space()] + item
        let tail = builder.repeated(next, minimum: max(minimum - 1, 0), maximum: maximum.map { $0 - 1 })
        let items = item + tail
        return Self.literal("[") + (minimum == 0 ? [builder.optional(items)] : items) + Self.literal("]")
    }

    mutating func stringValue(_ keys: [String: TemplateValue], at pointer: String) throws(JSONSchemaError) -> [Item] {
        if let pattern = keys["pattern"] {
            guard case .string(let source) = pattern else {
                throw JSONSchemaError(pointer: pointer + "/pattern", message: "must be a string")
            }
            var parser = PatternGrammar(source: Array(source.unicodeScalars), pointer: pointer + "/pattern")
            return Self.literal("\"") + (try parser.compile(into: &builder)) + Self.literal("\"")
        }
        if let format = keys["format"] {
            guard case .string(let name) = format, let items = formatValue(name) else {
                throw JSONSchemaError(
                    pointer: pointer + "/format",
                    message: "format \(format.rendered) is not supported (date, time, date-time, uuid are)"
                )
            }
            return Self.literal("\"") + items + Self.literal("\"")
        }
        let minimum = try count(keys["minLength"], at: pointer + "/minLength") ?? 0
        let maximum = try count(keys["maxLength"], at: pointer + "/maxLength")
        if minimum == 0 && maximum == nil { return [.rule(string())] }
        if let maximum, maximum < minimum {
            throw JSONSchemaError(pointer: pointer + "/maxLength", message: "is below minLength")
        }
        let character = [Self.character(&builder)]
        return Self.literal("\"") + builder.repeated(character, minimum: minimum, maximum: maximum) + Self.literal("\"")
    }

    mutating func numberValue(
        _ keys: [String: TemplateValue],
        integer: Bool,
        at pointer: String
    ) throws(JSONSchemaError) -> [Item] {
        var signed = true
        if let minimum = keys["minimum"] {
            let bound: Double? =
                switch minimum {
                case .int(let i): Double(i)
                case .double(let d): d
                default: nil
                }
            guard bound == 0 else {
                throw JSONSchemaError(pointer: pointer + "/minimum", message: "only minimum 0 is supported")
            }
            signed = false
        }
        let digit = ByteSet(UInt8(ascii: "0")...UInt8(ascii: "9"))
        let nonZero = ByteSet(UInt8(ascii: "1")...UInt8(ascii: "9"))
        let whole = builder.choice([
            Self.literal("0"), [.bytes(nonZero)] + builder.repeated([.bytes(digit)], minimum: 0, maximum: 15),
        ])
        var items: [Item] = signed ? [builder.optional(Self.literal("-")), whole] : [whole]
        if !integer {
            let fraction = Self.literal(".") + builder.repeated([.bytes(digit)], minimum: 1, maximum: 16)
            let exponent =
                [.bytes(ByteSet(UInt8(ascii: "e")...UInt8(ascii: "e"), UInt8(ascii: "E")...UInt8(ascii: "E")))]
                + [
                    builder.optional([
                        .bytes(ByteSet(UInt8(ascii: "+")...UInt8(ascii: "+"), UInt8(ascii: "-")...UInt8(ascii: "-")))
                    ])
                ]
                + builder.repeated([.bytes(digit)], minimum: 1, maximum: 2)
            items += [builder.optional(fraction), builder.optional(exponent)]
        }
        return items
    }

    func count(_ value: TemplateValue?, at pointer: String) throws(JSONSchemaError) -> Int? {
        guard let value else { return nil }
        guard case .int(let n) = value, n >= 0, n <= 4096 else {
            throw JSONSchemaError(pointer: pointer, message: "must be an integer from 0 to 4096")
        }
        return n
    }

    // MARK: Shared rules

    /// Any JSON value.
    mutating func anyValue() -> Int {
        if let anyValueRule { return anyValueRule }
        let rule = builder.reserve()
        anyValueRule = rule
        let element: [Item] = [.rule(rule)]
        let array =
            Self.literal("[")
            + [builder.optional(element + [builder.star(Self.literal(",") + [space()] + element)])]
            + Self.literal("]")
        builder.define(
            rule,
            [
                objectOfAny(value: element), array, [.rule(string())], [.rule(number())], Self.literal("true"),
                Self.literal("false"), Self.literal("null"),
            ]
        )
        return rule
    }

    /// Any JSON string.
    mutating func string() -> Int {
        if let stringRule { return stringRule }
        let character = Self.character(&builder)
        let rule = builder.rule([Self.literal("\"") + [builder.star([character])] + Self.literal("\"")])
        stringRule = rule
        return rule
    }

    /// Any JSON number.
    mutating func number() -> Int {
        if let numberRule { return numberRule }
        let items = try? numberValue([:], integer: false, at: "")
        let rule = builder.rule([items ?? []])
        numberRule = rule
        return rule
    }

    /// One character of a JSON string: an escape, or a well-formed UTF-8 sequence other than `"`, `\` and controls.
    static func character(_ builder: inout GrammarBuilder) -> Item {
        let hex = ByteSet(
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "a")...UInt8(ascii: "f"),
            UInt8(ascii: "A")...UInt8(ascii: "F")
        )
        let simpleEscape = ByteSet(
            UInt8(ascii: "\"")...UInt8(ascii: "\""),
            UInt8(ascii: "\\")...UInt8(ascii: "\\"),
            UInt8(ascii: "/")...UInt8(ascii: "/"),
            UInt8(ascii: "b")...UInt8(ascii: "b"),
            UInt8(ascii: "f")...UInt8(ascii: "f"),
            UInt8(ascii: "n")...UInt8(ascii: "n"),
            UInt8(ascii: "r")...UInt8(ascii: "r"),
            UInt8(ascii: "t")...UInt8(ascii: "t")
        )
        let escape = builder.choice([
            [.bytes(simpleEscape)], literal("u") + [Item](repeating: .bytes(hex), count: 4),
        ])
        return builder.choice(
            [
                [.bytes(ByteSet(0x20...0x21, 0x23...0x5B, 0x5D...0x7F))],
                literal("\\") + [escape],
            ] + utf8Sequences
        )
    }

    /// The well-formed multi-byte UTF-8 sequences (Unicode's table 3-7), so that generated text is always valid UTF-8.
    static let utf8Sequences: [[Item]] = {
        let tail = Item.bytes(ByteSet(0x80...0xBF))
        return [
            [.bytes(ByteSet(0xC2...0xDF)), tail],
            [.bytes(ByteSet(0xE0...0xE0)), .bytes(ByteSet(0xA0...0xBF)), tail],
            [.bytes(ByteSet(0xE1...0xEC, 0xEE...0xEF)), tail, tail],
            [.bytes(ByteSet(0xED...0xED)), .bytes(ByteSet(0x80...0x9F)), tail],
            [.bytes(ByteSet(0xF0...0xF0)), .bytes(ByteSet(0x90...0xBF)), tail, tail],
            [.bytes(ByteSet(0xF1...0xF3)), tail, tail, tail],
            [.bytes(ByteSet(0xF4...0xF4)), .bytes(ByteSet(0x80...0x8F)), tail, tail],
        ]
    }()

    /// The `format`s enforced, as the text between the quotes.
    mutating func formatValue(_ name: String) -> [Item]? {
        let digit = Item.bytes(ByteSet(UInt8(ascii: "0")...UInt8(ascii: "9")))
        func digits(_ n: Int) -> [Item] { [Item](repeating: digit, count: n) }
        func range(_ low: Unicode.Scalar, _ high: Unicode.Scalar) -> Item {
            .bytes(ByteSet(UInt8(ascii: low)...UInt8(ascii: high)))
        }
        let month = builder.choice([Self.literal("0") + [range("1", "9")], Self.literal("1") + [range("0", "2")]])
        let day = builder.choice([
            Self.literal("0") + [range("1", "9")], [range("1", "2"), digit], Self.literal("3") + [range("0", "1")],
        ])
        let date = digits(4) + Self.literal("-") + [month] + Self.literal("-") + [day]
        let hour = builder.choice([[range("0", "1"), digit], Self.literal("2") + [range("0", "3")]])
        let sixty = [range("0", "5"), digit]
        let fraction = builder.optional(Self.literal(".") + builder.repeated([digit], minimum: 1, maximum: 9))
        let offset = builder.choice([
            Self.literal("Z"),
            [.bytes(ByteSet(UInt8(ascii: "+")...UInt8(ascii: "+"), UInt8(ascii: "-")...UInt8(ascii: "-"))), hour]
                + Self.literal(":") + sixty,
        ])
        let time = [hour] + Self.literal(":") + sixty + Self.literal(":") + sixty + [fraction, offset]
        let hex = Item.bytes(
            ByteSet(UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"))
        )
        func hexes(_ n: Int) -> [Item] { [Item](repeating: hex, count: n) }
        switch name {
        case "date": return date
        case "time": return time
        case "date-time": return date + Self.literal("T") + time
        case "uuid":
            return hexes(8) + Self.literal("-") + hexes(4) + Self.literal("-") + hexes(4) + Self.literal("-")
                + hexes(4) + Self.literal("-") + hexes(12)
        default: return nil
        }
    }

    // MARK: Literals

    /// A value as compact JSON (for `enum` and `const`).
    static func compactJSON(_ value: TemplateValue, at pointer: String) throws(JSONSchemaError) -> String {
        switch value {
        case .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            guard d.isFinite else { throw JSONSchemaError(pointer: pointer, message: "not a JSON number") }
            return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)"
        case .string(let s): return jsonString(s)
        case .list(let items):
            var parts: [String] = []
            for (i, item) in items.enumerated() { parts.append(try compactJSON(item, at: pointer + "/\(i)")) }
            return "[" + parts.joined(separator: ",") + "]"
        case .dict(let pairs):
            var parts: [String] = []
            for pair in pairs { parts.append(jsonString(pair.key) + ":" + (try compactJSON(pair.value, at: pointer))) }
            return "{" + parts.joined(separator: ",") + "}"
        default: throw JSONSchemaError(pointer: pointer, message: "not a JSON value")
        }
    }

    /// A string as JSON text (the template builtins' escaping, non-ASCII kept).
    static func jsonString(_ s: String) -> String { TemplateBuiltins.jsonString(s, ensureASCII: false) }
}
