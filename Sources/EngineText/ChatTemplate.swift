/// A template error: a syntax error with its position, or `raise_exception` called by the template.
public struct TemplateError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// One line.
    public var description: String { message }
}

/// A model's Jinja `chat_template`, rendered with the subset of Jinja that real chat templates use, with the
/// options transformers uses (`trim_blocks`, `lstrip_blocks`).
public struct ChatTemplate: Sendable {
    indirect enum Expr: Sendable {
        case literal(TemplateValue)
        case name(String)
        case list([Expr])
        case dict([(Expr, Expr)])
        case attribute(Expr, String)
        case index(Expr, Expr)
        case slice(Expr, Expr?, Expr?)
        case call(Expr, [Expr], [(String, Expr)])
        case filter(Expr, String, [Expr], [(String, Expr)])
        case test(Expr, String, Bool, [Expr])
        case unary(String, Expr)
        case binary(String, Expr, Expr)
        case conditional(Expr, Expr, Expr?)
    }

    indirect enum Node: Sendable {
        case text(String)
        case output(Expr)
        case ifBlock([(Expr, [Node])], [Node])
        case forBlock([String], Expr, [Node], [Node])
        case set(String, String?, Expr)
    }

    let nodes: [Node]

    /// Parses a template.
    ///
    /// - Throws: ``TemplateError`` for a syntax error, with its line.
    public init(_ source: String) throws {
        let tokens = try TemplateLexer.tokenize(source)
        var parser = TemplateParser(tokens: tokens)
        nodes = try parser.parseBlock(until: [])
    }

    /// Renders the template.
    ///
    /// - Parameter context: Variables such as `messages`, `add_generation_prompt`, `bos_token`, `tools`.
    /// - Throws: ``TemplateError`` when the template raises (`raise_exception`) or an expression fails.
    /// - Returns: The rendered text.
    public func render(_ context: [String: TemplateValue]) throws -> String {
        var renderer = TemplateRenderer(scopes: [context])
        var out = ""
        try renderer.run(nodes, into: &out)
        return out
    }
}
