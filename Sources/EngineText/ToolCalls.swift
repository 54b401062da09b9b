/// A function call the model wrote, in OpenAI's shape: the function's name and its arguments as JSON text.
public struct ToolCall: Sendable, Hashable {
    /// The function's name.
    public var name: String
    /// The arguments, as JSON text (Python's `json.dumps` layout, as vLLM's parsers write them).
    public var arguments: String
    /// The call's id when the model wrote one (Mistral's `[CALL_ID]`).
    public var id: String?

    /// Creates a call.
    public init(name: String, arguments: String, id: String? = nil) {
        self.name = name
        self.arguments = arguments
        self.id = id
    }
}

/// How a model family writes tool calls, named as vLLM's `--tool-call-parser` options, and how to read them back.
///
/// - `hermes` (Qwen2.5, Hermes): `<tool_call>{"name": …, "arguments": {…}}</tool_call>`, any number, after optional
///   text.
/// - `llama3_json` (Llama 3.1–3.3): the whole answer is `{"name": …, "parameters": {…}}` (or `"arguments"`), optionally
///   after `<|python_tag|>`, several separated by `;`.
/// - `mistral`: `[TOOL_CALLS][{"name": …, "arguments": {…}}, …]` (Mistral-Nemo, tokenizer v3) or, from tokenizer v11,
///   `[TOOL_CALLS]name[CALL_ID]id[ARGS]{…}` repeated (Mistral-Small 3.2, Devstral).
/// - `phi4_mini_json` (Phi-4-mini): `functools[{"name": …, "arguments": {…}}, …]`.
///
/// Text that does not parse as the format's calls stays content, as vLLM's parsers leave it.
public enum ToolCallFormat: String, Sendable, CaseIterable {
    case hermes
    case llama3JSON = "llama3_json"
    case mistral
    case phi4Mini = "phi4_mini_json"

    /// The format a chat template writes its assistant tool calls in, from the markers it contains.
    public static func detect(template source: String) -> ToolCallFormat? {
        if source.contains("[TOOL_CALLS]") { return .mistral }
        if source.contains("<tool_call>") { return .hermes }
        if source.contains("<|python_tag|>") || source.contains("\"parameters\": dictionary") { return .llama3JSON }
        if source.contains("functools") || source.contains("<|tool|>") { return .phi4Mini }
        return nil
    }

    /// The content and the calls of a model's answer; no calls when the answer holds none that parse.
    public func parse(_ text: String) -> (content: String?, calls: [ToolCall]) {
        let calls: [ToolCall]?
        var content: String?
        switch self {
        case .hermes:
            guard let first = text.firstRange(of: "<tool_call>") else { return (text, []) }
            content = String(text[..<first.lowerBound])
            var found: [ToolCall] = []
            var rest = text[first.lowerBound...]
            while let open = rest.firstRange(of: "<tool_call>") {
                let body = rest[open.upperBound...]
                let close = body.firstRange(of: "</tool_call>")
                guard let call = Self.call(String(body[..<(close?.lowerBound ?? body.endIndex)])) else {
                    return (text, [])
                }
                found.append(call)
                rest = close.map { body[$0.upperBound...] } ?? body[body.endIndex...]
            }
            calls = found
        case .llama3JSON:
            var body = Substring(text).drop { $0.isWhitespace }
            if body.hasPrefix("<|python_tag|>") { body = body.dropFirst("<|python_tag|>".count) }
            guard body.first == "{" else { return (text, []) }
            var found: [ToolCall] = []
            for part in Self.splitTopLevel(String(body), separator: ";") {
                guard let call = Self.call(part, argumentsKeys: ["parameters", "arguments"]) else { return (text, []) }
                found.append(call)
            }
            calls = found
        case .mistral:
            guard let marker = text.firstRange(of: "[TOOL_CALLS]") else { return (text, []) }
            content = String(text[..<marker.lowerBound])
            let body = text[marker.upperBound...].drop { $0.isWhitespace }
            if body.first == "[" {
                calls = Self.array(String(body))
            } else {
                var found: [ToolCall] = []
                for part in body.split(separator: "[TOOL_CALLS]", omittingEmptySubsequences: false) {
                    guard let args = part.firstRange(of: "[ARGS]") else { return (text, []) }
                    var name = String(part[..<args.lowerBound])
                    var id: String?
                    if let callID = name.firstRange(of: "[CALL_ID]") {
                        id = String(name[callID.upperBound...])
                        name = String(name[..<callID.lowerBound])
                    }
                    guard let arguments = Self.argumentsText(String(part[args.upperBound...])) else {
                        return (text, [])
                    }
                    found.append(ToolCall(name: name.trimmingWhitespace, arguments: arguments, id: id))
                }
                calls = found
            }
        case .phi4Mini:
            guard let marker = text.firstRange(of: "functools[") else { return (text, []) }
            content = String(text[..<marker.lowerBound])
            calls = Self.array(String(text[text.index(before: marker.upperBound)...]))
        }
        guard let calls, !calls.isEmpty else { return (text, []) }
        if let c = content, c.trimmingWhitespace.isEmpty { content = nil }
        return (content, calls)
    }

    /// One `{"name": …, "arguments": {…}}` object.
    static func call(_ json: String, argumentsKeys: [String] = ["arguments"]) -> ToolCall? {
        guard case .dict(let pairs)? = try? TemplateValue.parseJSON(json.trimmingWhitespace),
            case .string(let name)? = pairs.first(where: { $0.key == "name" })?.value
        else { return nil }
        let arguments = argumentsKeys.lazy.compactMap { key in pairs.first { $0.key == key }?.value }.first
        return ToolCall(name: name, arguments: Self.pythonJSON(arguments ?? .dict([])))
    }

    /// A JSON array of call objects.
    static func array(_ json: String) -> [ToolCall]? {
        // The array may be followed by text (an end marker): take the balanced prefix.
        let prefix = Self.balancedPrefix(json)
        guard case .list(let items)? = try? TemplateValue.parseJSON(prefix) else { return nil }
        var calls: [ToolCall] = []
        for item in items {
            guard case .dict(let pairs) = item,
                case .string(let name)? = pairs.first(where: { $0.key == "name" })?.value
            else { return nil }
            let arguments = pairs.first { $0.key == "arguments" || $0.key == "parameters" }?.value ?? .dict([])
            calls.append(ToolCall(name: name, arguments: Self.pythonJSON(arguments)))
        }
        return calls
    }

    /// Arguments written as JSON text, in Python's `json.dumps` layout (`nil` when the text is not JSON).
    public static func normalizedArguments(_ json: String) -> String? { argumentsText(json) }

    /// The calls of a JSON array of `{"name", "arguments"}` (or `"parameters"`) objects (`nil` when it is not one).
    public static func calls(fromJSONArray json: String) -> [ToolCall]? { array(json) }

    /// An arguments object written as JSON text, normalised to Python's layout.
    static func argumentsText(_ json: String) -> String? {
        guard let value = try? TemplateValue.parseJSON(Self.balancedPrefix(json.trimmingWhitespace)) else { return nil }
        return pythonJSON(value)
    }

    /// The leading JSON value of `text` (an object or array, with brackets balanced outside strings).
    static func balancedPrefix(_ text: String) -> String {
        var scanner = JSONNesting()
        for index in text.indices where scanner.closes(text[index]) { return String(text[...index]) }
        return text
    }

    /// Splits at `separator` outside strings and brackets.
    static func splitTopLevel(_ text: String, separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var scanner = JSONNesting()
        for c in text {
            _ = scanner.closes(c)
            if c == separator && scanner.isTopLevel {
                parts.append(current)
                current = ""
                continue
            }
            current.append(c)
        }
        if !current.trimmingWhitespace.isEmpty { parts.append(current) }
        return parts
    }

    /// Python's `json.dumps(value, ensure_ascii=False)`: `", "` and `": "` separators, keys in order.
    static func pythonJSON(_ value: TemplateValue) -> String {
        switch value {
        case .dict(let pairs):
            return "{"
                + pairs.map { JSONSchemaGrammar.jsonString($0.key) + ": " + pythonJSON($0.value) }
                .joined(separator: ", ") + "}"
        case .list(let items):
            return "[" + items.map(pythonJSON).joined(separator: ", ") + "]"
        case .double(let d) where d.isFinite:
            return TemplateValue.pythonFloat(d)
        default:
            return (try? JSONSchemaGrammar.compactJSON(value, at: "")) ?? "null"
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace.
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

/// Brackets and strings of JSON text read character by character.
struct JSONNesting {
    var depth = 0
    var inString = false
    var escaped = false

    /// Whether the text read so far is outside every bracket and string.
    var isTopLevel: Bool { depth == 0 && !inString }

    /// Reads `c`; whether it closes the outermost bracket.
    mutating func closes(_ c: Character) -> Bool {
        if inString {
            if escaped {
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == "\"" {
                inString = false
            }
            return false
        }
        switch c {
        case "\"": inString = true
        case "{", "[": depth += 1
        case "}", "]":
            depth -= 1
            return depth == 0
        default: break
        }
        return false
    }
}
