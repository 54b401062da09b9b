internal import EngineText
internal import Foundation

/// What a chat request's `tools` ask of its generation, and how the answer becomes OpenAI `tool_calls`.
///
/// - `tool_choice: "auto"` (the default with tools): the tools go into the chat template, the model answers freely,
///   and its answer is read back in its family's format (``ToolCallFormat``, detected from the chat template).
/// - a named function: the answer is constrained to a JSON object valid under that function's `parameters` schema
///   (vLLM does the same with guided decoding), and becomes one call of that function.
/// - `"required"`: the answer is constrained to a JSON array of `{"name", "parameters"}` calls of the given
///   functions, at least one.
/// - `"none"`: no tools reach the template, and nothing is parsed.
struct ToolPlan: Sendable {
    enum Mode: Sendable {
        case parse(ToolCallFormat?)
        case function(String)
        case required
    }

    /// The tool definitions handed to the chat template.
    var tools: [TemplateValue]
    var mode: Mode
    /// The constraint of a named or required choice.
    var grammar: Grammar?

    /// Whether the text must keep special tokens (the family's call markers, such as Mistral's `[TOOL_CALLS]`).
    var keepsSpecialTokens: Bool {
        if case .parse(let format?) = mode { return format == .mistral || format == .llama3JSON }
        return false
    }

    /// The plan of a request; `nil` without tools or with `tool_choice: "none"`.
    ///
    /// - Throws: ``KaitoServeRoutes/Rejection`` (400) for a named function the tools lack, a function without a usable
    ///   `parameters` schema, or tools beside `response_format`.
    static func make(_ body: CompletionRequest, format: ToolCallFormat?) throws -> ToolPlan? {
        guard let tools = body.tools, !tools.isEmpty, body.toolChoice != ToolChoice.none else {
            if case .function? = body.toolChoice { throw rejection("tool_choice names a function but tools is empty") }
            if body.toolChoice == .required { throw rejection("tool_choice is required but tools is empty") }
            return nil
        }
        var functions: [(name: String, parameters: TemplateValue)] = []
        for tool in tools {
            guard case .dict(let pairs) = tool,
                case .dict(let function)? = pairs.first(where: { $0.key == "function" })?.value,
                case .string(let name)? = function.first(where: { $0.key == "name" })?.value
            else { throw rejection("every tool needs function.name") }
            let parameters =
                function.first { $0.key == "parameters" }?.value
                ?? .dict([TemplateValue.Pair("type", .string("object"))])
            functions.append((name, parameters))
        }
        let mode: Mode
        var grammar: Grammar?
        switch body.toolChoice ?? .auto {
        case .none, .auto: mode = .parse(format)
        case .function(let name):
            guard let function = functions.first(where: { $0.name == name }) else {
                throw rejection("tool_choice names \(name), which is not among the tools")
            }
            mode = .function(name)
            grammar = try compile(function.parameters, "tools[\(name)].function.parameters")
        case .required:
            mode = .required
            let calls = functions.map { function in
                TemplateValue.dict([
                    .init("type", .string("object")),
                    .init(
                        "properties",
                        .dict([
                            .init("name", .dict([.init("const", .string(function.name))])),
                            .init("parameters", function.parameters),
                        ])
                    ),
                    .init("required", .list([.string("name"), .string("parameters")])),
                ])
            }
            let schema = TemplateValue.dict([
                .init("type", .string("array")), .init("minItems", .int(1)),
                .init("items", .dict([.init("anyOf", .list(calls))])),
            ])
            grammar = try compile(schema, "tools")
        }
        if grammar != nil, body.responseFormat != nil {
            throw rejection("response_format cannot be combined with a named or required tool_choice")
        }
        return ToolPlan(tools: tools, mode: mode, grammar: grammar)
    }

    static func compile(_ schema: TemplateValue, _ what: String) throws -> Grammar {
        do {
            return try JSONSchemaGrammar.grammar(for: schema)
        } catch {
            throw rejection("\(what)\(error.pointer): \(error.message)")
        }
    }

    static func rejection(_ message: String) -> KaitoServeRoutes.Rejection {
        KaitoServeRoutes.Rejection(badRequest: message, param: "tools")
    }

    /// The answer's content and calls (no calls: the answer is content).
    func read(_ text: String) -> (content: String?, calls: [ToolCall]) {
        switch mode {
        case .parse(let format?): return format.parse(text)
        case .parse(nil): return (text, [])
        case .function(let name):
            return (nil, [ToolCall(name: name, arguments: ToolCallFormat.normalizedArguments(text) ?? text)])
        case .required:
            guard let calls = ToolCallFormat.calls(fromJSONArray: text), !calls.isEmpty else { return (text, []) }
            return (nil, calls)
        }
    }

    /// OpenAI's shape of the calls, with fresh ids (vLLM's `chatcmpl-tool-…`) where the model wrote none.
    static func bodies(_ calls: [ToolCall], indexed: Bool) -> [CompletionBody.Choice.ToolCallBody] {
        calls.enumerated().map { i, call in
            CompletionBody.Choice.ToolCallBody(
                index: indexed ? i : nil,
                id: call.id ?? "chatcmpl-tool-"
                    + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased(),
                function: .init(name: call.name, arguments: call.arguments)
            )
        }
    }
}
