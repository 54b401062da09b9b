public import Foundation

/// A template error: a syntax error, an error while rendering, or `raise_exception` called by the template; with the
/// template line where it happened.
public struct TemplateError: Error, Sendable, CustomStringConvertible {
    /// What kind of error, as jinja2 and Python classify it.
    public enum Kind: String, Sendable {
        /// The template does not parse (`TemplateSyntaxError`).
        case syntax
        /// The template called `raise_exception(message)`; ``TemplateError/message`` is the template's text.
        case raised
        /// An attribute or item of an undefined value was used (`UndefinedError`).
        case undefined
        /// An operation on values of the wrong type (Python's `TypeError`, `ValueError`).
        case type
        /// An operation the immutable sandbox forbids, such as `list.append` (`SecurityError`).
        case security
    }

    /// What kind of error.
    public var kind: Kind
    /// What went wrong (for ``Kind/raised``, exactly the template's message).
    public var message: String
    /// The template line, when known.
    public var line: Int?

    /// Creates an error.
    public init(_ kind: Kind, _ message: String, line: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
    }

    /// One line: `line N: message`.
    public var description: String { line.map { "line \($0): \(message)" } ?? message }
}

/// A model's Jinja `chat_template`, rendered as transformers renders it: jinja2's semantics with
/// `trim_blocks`, `lstrip_blocks`, the `loopcontrols` extension, `{% generation %}` blocks, the immutable sandbox,
/// and the globals `raise_exception`, `strftime_now`, `namespace` and transformers' `tojson` filter.
public struct ChatTemplate: Sendable {
    let nodes: [TemplateNode]

    /// Parses a template once; render it as often as needed.
    ///
    /// - Throws: ``TemplateError`` of kind ``TemplateError/Kind/syntax`` with its line.
    public init(_ source: String) throws(TemplateError) {
        let tokens = try TemplateLexer.tokenize(source)
        var parser = TemplateParser(tokens: tokens)
        nodes = try parser.parseTemplate()
        try TemplateValidator.validate(nodes)
    }

    /// Renders the template with the given variables.
    ///
    /// - Parameters:
    ///   - context: Variables such as `messages`, `add_generation_prompt`, `bos_token`, `tools`.
    ///   - now: The clock behind `strftime_now` (local time as transformers' `datetime.now()` reads it).
    /// - Throws: ``TemplateError`` when the template raises (`raise_exception`) or an expression fails.
    /// - Returns: The rendered text.
    public func render(_ context: [String: TemplateValue], now: Date = Date()) throws(TemplateError) -> String {
        var renderer = TemplateRenderer(globals: context, now: now)
        return try renderer.render(nodes)
    }

    /// Renders a conversation exactly as transformers' `apply_chat_template(…, tokenize=False)` does: `tools` and
    /// `documents` are always passed (as `None` when absent), reasoning fields are aliased as transformers aliases
    /// them, and `extra` holds further variables (`chat_template_kwargs`).
    ///
    /// - Parameters:
    ///   - messages: The conversation, one dict per message.
    ///   - tools: Tool schemas, or `nil`.
    ///   - documents: Documents for retrieval templates, or `nil`.
    ///   - addGenerationPrompt: Whether to open the assistant's turn.
    ///   - bosToken: The tokenizer's BOS token text.
    ///   - eosToken: The tokenizer's EOS token text.
    ///   - extra: Further variables; they cannot replace the ones above.
    ///   - now: The clock behind `strftime_now`.
    /// - Throws: ``TemplateError`` when the template raises or an expression fails.
    /// - Returns: The prompt text.
    public func render(
        messages: [TemplateValue],
        tools: [TemplateValue]? = nil,
        documents: [TemplateValue]? = nil,
        addGenerationPrompt: Bool,
        bosToken: String,
        eosToken: String,
        extra: [String: TemplateValue] = [:],
        now: Date = Date()
    ) throws(TemplateError) -> String {
        var context = extra
        context["messages"] = .list(messages.map(Self.aliasReasoning))
        context["tools"] = tools.map { .list($0) } ?? TemplateValue.none
        context["documents"] = documents.map { .list($0) } ?? TemplateValue.none
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        if context["bos_token"] == nil { context["bos_token"] = .string(bosToken) }
        if context["eos_token"] == nil { context["eos_token"] = .string(eosToken) }
        return try render(context, now: now)
    }

    /// transformers (`_alias_reasoning_fields`): the first of `reasoning_content`, `thinking`, `reasoning` that is
    /// set becomes the message `{"thinking": r, **message, "reasoning_content": r}`.
    static func aliasReasoning(_ message: TemplateValue) -> TemplateValue {
        guard case .dict(let pairs) = message else { return message }
        let names = ["reasoning_content", "thinking", "reasoning"]
        let found = names.lazy.compactMap { name in
            pairs.first { $0.key == name && $0.value != .none }?.value
        }.first
        guard let reasoning = found else { return message }
        var result = [TemplateValue.Pair("thinking", reasoning)]
        for pair in pairs {
            if pair.key == "thinking" { result[0].value = pair.value } else { result.append(pair) }
        }
        if let i = result.firstIndex(where: { $0.key == "reasoning_content" }) {
            result[i].value = reasoning
        } else {
            result.append(TemplateValue.Pair("reasoning_content", reasoning))
        }
        return .dict(result)
    }
}
