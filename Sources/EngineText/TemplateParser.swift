/// An expression of a template.
indirect enum TemplateExpr: Sendable {
    case literal(TemplateValue)
    case name(String)
    case list([TemplateExpr])
    case tuple([TemplateExpr])
    case dict([TemplateExprPair])
    case attribute(TemplateExpr, String)
    case item(TemplateExpr, TemplateExpr)
    case slice(TemplateExpr, TemplateExpr?, TemplateExpr?, TemplateExpr?)
    case call(TemplateExpr, TemplateArguments)
    /// A filter; the base is `nil` in `{% filter %}` and `{% set x | filter %}` blocks, where the body is the input.
    case filter(TemplateExpr?, String, TemplateArguments)
    case test(TemplateExpr, String, TemplateArguments)
    case not(TemplateExpr)
    case negate(TemplateExpr)
    case positive(TemplateExpr)
    case binary(String, TemplateExpr, TemplateExpr)
    /// Python's chained comparison: `a < b < c`.
    case compare(TemplateExpr, [TemplateComparison])
    case and(TemplateExpr, TemplateExpr)
    case or(TemplateExpr, TemplateExpr)
    case conditional(condition: TemplateExpr, then: TemplateExpr, otherwise: TemplateExpr?)
}

/// A key/value pair of a dict literal.
struct TemplateExprPair: Sendable {
    var key: TemplateExpr
    var value: TemplateExpr
}

/// One `op operand` step of a comparison.
struct TemplateComparison: Sendable {
    var op: String
    var operand: TemplateExpr
}

/// The arguments of a call, a filter or a test.
struct TemplateArguments: Sendable {
    var positional: [TemplateExpr] = []
    var named: [TemplateNamedArgument] = []
    var star: TemplateExpr?
    var starStar: TemplateExpr?
}

/// A `name=value` argument.
struct TemplateNamedArgument: Sendable {
    var name: String
    var value: TemplateExpr
}

/// What `{% set %}`, `{% for %}` and `{% with %}` assign to.
indirect enum TemplateTarget: Sendable {
    case name(String)
    case tuple([TemplateTarget])
    case namespaceAttribute(String, String)
}

/// A `{% macro %}` (or the body of a `{% call %}` block, as `caller`).
struct TemplateMacro: Sendable {
    var name: String
    var parameters: [TemplateParameter]
    var body: [TemplateNode]
}

/// A macro parameter with its default.
struct TemplateParameter: Sendable {
    var name: String
    var defaultValue: TemplateExpr?
}

/// An `if`/`elif` branch.
struct TemplateBranch: Sendable {
    var condition: TemplateExpr
    var body: [TemplateNode]
}

/// A `{% for %}` loop.
struct TemplateLoop: Sendable {
    var target: TemplateTarget
    var iterable: TemplateExpr
    var condition: TemplateExpr?
    var recursive: Bool
    var body: [TemplateNode]
    var otherwise: [TemplateNode]
}

/// A statement of a template, with its line.
indirect enum TemplateNode: Sendable {
    case text(String)
    case output(TemplateExpr, line: Int)
    case ifBlock([TemplateBranch], otherwise: [TemplateNode], line: Int)
    case forBlock(TemplateLoop, line: Int)
    case set(TemplateTarget, TemplateExpr, line: Int)
    case setBlock(TemplateTarget, filter: TemplateExpr?, body: [TemplateNode], line: Int)
    case macro(TemplateMacro, line: Int)
    case callBlock(TemplateExpr, caller: TemplateMacro, line: Int)
    case filterBlock(TemplateExpr, body: [TemplateNode], line: Int)
    case with([TemplateAssignment], body: [TemplateNode], line: Int)
    case generation([TemplateNode])
    case breakLoop(line: Int)
    case continueLoop(line: Int)
}

/// One `target = value` of a `{% with %}`.
struct TemplateAssignment: Sendable {
    var target: TemplateTarget
    var value: TemplateExpr
}

/// Parses template tokens into statements and expressions with jinja2's grammar and precedence.
struct TemplateParser {
    let tokens: [TemplateToken]
    var index = 0

    init(tokens: [TemplateToken]) {
        self.tokens = tokens
    }

    var current: TemplateToken.Kind { tokens[index].kind }
    var line: Int { tokens[index].line }
    var next: TemplateToken.Kind { index + 1 < tokens.count ? tokens[index + 1].kind : .end }

    func fail(_ message: String) -> TemplateError { TemplateError(.syntax, message, line: line) }

    mutating func advance() { if index + 1 < tokens.count { index += 1 } }

    func isName(_ name: String) -> Bool { current == .name(name) }
    func isOp(_ op: String) -> Bool { current == .op(op) }

    mutating func skipName(_ name: String) -> Bool {
        guard isName(name) else { return false }
        advance()
        return true
    }

    mutating func skipOp(_ op: String) -> Bool {
        guard isOp(op) else { return false }
        advance()
        return true
    }

    mutating func expectOp(_ op: String) throws(TemplateError) {
        guard skipOp(op) else { throw fail("expected '\(op)', got \(describe(current))") }
    }

    mutating func expectName() throws(TemplateError) -> String {
        guard case .name(let n) = current else { throw fail("expected a name, got \(describe(current))") }
        advance()
        return n
    }

    mutating func expectBlockEnd() throws(TemplateError) {
        guard current == .blockEnd else { throw fail("expected end of statement block, got \(describe(current))") }
        advance()
    }

    func describe(_ kind: TemplateToken.Kind) -> String {
        switch kind {
        case .text: return "template data"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string \(TemplateValue.pythonRepr(s))"
        case .int(let i): return "integer \(i)"
        case .float(let d): return "float \(d)"
        case .op(let o): return "'\(o)'"
        case .end: return "end of template"
        }
    }

    mutating func parseTemplate() throws(TemplateError) -> [TemplateNode] {
        let nodes = try parseStatements(until: [])
        guard current == .end else { throw fail("unexpected \(describe(next))") }
        return nodes
    }

    /// Parses statements until a block whose keyword is in `terminators`; leaves the parser on that keyword.
    mutating func parseStatements(until terminators: Set<String>) throws(TemplateError) -> [TemplateNode] {
        var nodes: [TemplateNode] = []
        while true {
            switch current {
            case .end:
                if terminators.isEmpty { return nodes }
                throw fail(
                    "Unexpected end of template. Jinja was looking for the following tags: "
                        + terminators.sorted().map { "'\($0)'" }.joined(separator: " or ")
                )
            case .text(let t):
                nodes.append(.text(t))
                advance()
            case .variableBegin:
                let startLine = line
                advance()
                let e = try parseTuple()
                guard current == .variableEnd else { throw fail("expected '}}', got \(describe(current))") }
                advance()
                nodes.append(.output(e, line: startLine))
            case .blockBegin:
                advance()
                guard case .name(let keyword) = current else { throw fail("tag name expected") }
                if terminators.contains(keyword) { return nodes }
                nodes.append(try parseStatement(keyword))
            default:
                throw fail("unexpected \(describe(current))")
            }
        }
    }

    /// After `parseStatements(until:)`: consumes the terminator keyword and returns it.
    mutating func takeTerminator() -> String {
        guard case .name(let k) = current else { return "" }
        advance()
        return k
    }

    mutating func parseBody(_ end: String) throws(TemplateError) -> [TemplateNode] {
        let body = try parseStatements(until: [end])
        advance()
        try expectBlockEnd()
        return body
    }

    mutating func parseStatement(_ keyword: String) throws(TemplateError) -> TemplateNode {
        let startLine = line
        advance()
        switch keyword {
        case "if":
            var branches: [TemplateBranch] = []
            var condition = try parseTuple(withCondexpr: true)
            try expectBlockEnd()
            while true {
                let body = try parseStatements(until: ["elif", "else", "endif"])
                branches.append(TemplateBranch(condition: condition, body: body))
                let k = takeTerminator()
                if k == "elif" {
                    condition = try parseTuple(withCondexpr: true)
                    try expectBlockEnd()
                    continue
                }
                if k == "else" {
                    try expectBlockEnd()
                    let otherwise = try parseBody("endif")
                    return .ifBlock(branches, otherwise: otherwise, line: startLine)
                }
                try expectBlockEnd()
                return .ifBlock(branches, otherwise: [], line: startLine)
            }
        case "for":
            let target = try parseAssignTarget(extraEnd: ["in"])
            guard skipName("in") else { throw fail("expected 'in'") }
            let iterable = try parseTuple(withCondexpr: false, extraEnd: ["recursive"])
            var condition: TemplateExpr?
            if skipName("if") { condition = try parseExpression() }
            let recursive = skipName("recursive")
            try expectBlockEnd()
            let body = try parseStatements(until: ["endfor", "else"])
            var otherwise: [TemplateNode] = []
            if takeTerminator() == "else" {
                try expectBlockEnd()
                otherwise = try parseBody("endfor")
            } else {
                try expectBlockEnd()
            }
            let loop = TemplateLoop(
                target: target,
                iterable: iterable,
                condition: condition,
                recursive: recursive,
                body: body,
                otherwise: otherwise
            )
            return .forBlock(loop, line: startLine)
        case "set":
            let target = try parseAssignTarget(withNamespace: true)
            if skipOp("=") {
                let value = try parseTuple()
                try expectBlockEnd()
                return .set(target, value, line: startLine)
            }
            let filter = try parseFilter(nil)
            try expectBlockEnd()
            let body = try parseBody("endset")
            return .setBlock(target, filter: filter, body: body, line: startLine)
        case "macro":
            let name = try expectName()
            let parameters = try parseSignature()
            try expectBlockEnd()
            let body = try parseBody("endmacro")
            return .macro(TemplateMacro(name: name, parameters: parameters, body: body), line: startLine)
        case "call":
            let parameters = isOp("(") ? try parseSignature() : []
            let call = try parseExpression()
            guard case .call = call else { throw fail("expected call") }
            try expectBlockEnd()
            let body = try parseBody("endcall")
            return .callBlock(
                call,
                caller: TemplateMacro(name: "caller", parameters: parameters, body: body),
                line: startLine
            )
        case "filter":
            guard let filter = try parseFilter(nil, startInline: true) else { throw fail("expected a filter") }
            try expectBlockEnd()
            return .filterBlock(filter, body: try parseBody("endfilter"), line: startLine)
        case "with":
            var assignments: [TemplateAssignment] = []
            while current != .blockEnd {
                if !assignments.isEmpty { try expectOp(",") }
                let target = try parseAssignTarget()
                try expectOp("=")
                assignments.append(TemplateAssignment(target: target, value: try parseExpression()))
            }
            try expectBlockEnd()
            return .with(assignments, body: try parseBody("endwith"), line: startLine)
        case "generation":
            try expectBlockEnd()
            return .generation(try parseBody("endgeneration"))
        case "break":
            try expectBlockEnd()
            return .breakLoop(line: startLine)
        case "continue":
            try expectBlockEnd()
            return .continueLoop(line: startLine)
        default:
            throw TemplateError(.syntax, "Encountered unknown tag '\(keyword)'.", line: startLine)
        }
    }

    mutating func parseSignature() throws(TemplateError) -> [TemplateParameter] {
        try expectOp("(")
        var parameters: [TemplateParameter] = []
        while !isOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let name = try expectName()
            var defaultValue: TemplateExpr?
            if skipOp("=") { defaultValue = try parseExpression() }
            parameters.append(TemplateParameter(name: name, defaultValue: defaultValue))
        }
        try expectOp(")")
        return parameters
    }

    mutating func parseAssignTarget(
        withNamespace: Bool = false,
        extraEnd: Set<String> = []
    ) throws(TemplateError) -> TemplateTarget {
        if withNamespace, case .name(let n) = current, next == .op(".") {
            advance()
            advance()
            return .namespaceAttribute(n, try expectName())
        }
        var targets: [TemplateTarget] = []
        var isTuple = false
        let parenthesized = skipOp("(")
        while true {
            if !targets.isEmpty {
                guard skipOp(",") else { break }
                isTuple = true
            }
            if case .name(let n) = current, extraEnd.contains(n) { break }
            if current == .blockEnd || isOp(")") || isOp("=") { break }
            if isOp("(") {
                targets.append(try parseAssignTarget())
            } else {
                targets.append(.name(try expectName()))
            }
        }
        if parenthesized {
            try expectOp(")")
            isTuple = isTuple || targets.count != 1
        }
        guard !targets.isEmpty else { throw fail("expected an assignment target") }
        return isTuple ? .tuple(targets) : targets[0]
    }

    func isTupleEnd(_ extraEnd: Set<String>) -> Bool {
        switch current {
        case .variableEnd, .blockEnd, .end: return true
        case .op(")"): return true
        case .name(let n): return extraEnd.contains(n)
        default: return false
        }
    }

    /// jinja2's `parse_tuple`: one expression, or a tuple when commas separate several.
    mutating func parseTuple(
        withCondexpr: Bool = true,
        extraEnd: Set<String> = [],
        explicitParentheses: Bool = false
    ) throws(TemplateError) -> TemplateExpr {
        var items: [TemplateExpr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            items.append(withCondexpr ? try parseExpression() : try parseOr())
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let first = items.first { return first }
            if !explicitParentheses { throw fail("Expected an expression, got \(describe(current))") }
        }
        return .tuple(items)
    }

    mutating func parseExpression() throws(TemplateError) -> TemplateExpr {
        var e = try parseOr()
        while skipName("if") {
            let condition = try parseOr()
            var otherwise: TemplateExpr?
            if skipName("else") { otherwise = try parseExpression() }
            e = .conditional(condition: condition, then: e, otherwise: otherwise)
        }
        return e
    }

    mutating func parseOr() throws(TemplateError) -> TemplateExpr {
        var left = try parseAnd()
        while skipName("or") { left = .or(left, try parseAnd()) }
        return left
    }

    mutating func parseAnd() throws(TemplateError) -> TemplateExpr {
        var left = try parseNot()
        while skipName("and") { left = .and(left, try parseNot()) }
        return left
    }

    mutating func parseNot() throws(TemplateError) -> TemplateExpr {
        if skipName("not") { return .not(try parseNot()) }
        return try parseCompare()
    }

    mutating func parseCompare() throws(TemplateError) -> TemplateExpr {
        let left = try parseMath1()
        var steps: [TemplateComparison] = []
        while true {
            if case .op(let o) = current, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                advance()
                steps.append(TemplateComparison(op: o, operand: try parseMath1()))
            } else if skipName("in") {
                steps.append(TemplateComparison(op: "in", operand: try parseMath1()))
            } else if isName("not"), next == .name("in") {
                advance()
                advance()
                steps.append(TemplateComparison(op: "notin", operand: try parseMath1()))
            } else {
                break
            }
        }
        return steps.isEmpty ? left : .compare(left, steps)
    }

    mutating func parseMath1() throws(TemplateError) -> TemplateExpr {
        var left = try parseConcat()
        while case .op(let o) = current, o == "+" || o == "-" {
            advance()
            left = .binary(o, left, try parseConcat())
        }
        return left
    }

    mutating func parseConcat() throws(TemplateError) -> TemplateExpr {
        var left = try parseMath2()
        while skipOp("~") { left = .binary("~", left, try parseMath2()) }
        return left
    }

    mutating func parseMath2() throws(TemplateError) -> TemplateExpr {
        var left = try parsePow()
        while case .op(let o) = current, ["*", "/", "//", "%"].contains(o) {
            advance()
            left = .binary(o, left, try parsePow())
        }
        return left
    }

    mutating func parsePow() throws(TemplateError) -> TemplateExpr {
        var left = try parseUnary()
        while skipOp("**") { left = .binary("**", left, try parseUnary()) }
        return left
    }

    mutating func parseUnary(withFilter: Bool = true) throws(TemplateError) -> TemplateExpr {
        var e: TemplateExpr
        if skipOp("-") {
            e = .negate(try parseUnary(withFilter: false))
        } else if skipOp("+") {
            e = .positive(try parseUnary(withFilter: false))
        } else {
            e = try parsePrimary()
        }
        e = try parsePostfix(e)
        if withFilter { e = try parseFilterExpr(e) }
        return e
    }

    mutating func parsePrimary() throws(TemplateError) -> TemplateExpr {
        let token = current
        switch token {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case .string(var s):
            advance()
            while case .string(let more) = current {
                s += more
                advance()
            }
            return .literal(.string(s))
        case .int(let i):
            advance()
            return .literal(.int(i))
        case .float(let d):
            advance()
            return .literal(.double(d))
        case .op("("):
            advance()
            let e = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return e
        case .op("["):
            advance()
            var items: [TemplateExpr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return .list(items)
        case .op("{"):
            advance()
            var pairs: [TemplateExprPair] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append(TemplateExprPair(key: key, value: try parseExpression()))
            }
            try expectOp("}")
            return .dict(pairs)
        default:
            throw fail("unexpected \(describe(token))")
        }
    }

    mutating func parsePostfix(_ base: TemplateExpr) throws(TemplateError) -> TemplateExpr {
        var e = base
        while true {
            if skipOp(".") {
                switch current {
                case .name(let n):
                    advance()
                    e = .attribute(e, n)
                case .int(let i):
                    advance()
                    e = .item(e, .literal(.int(i)))
                default: throw fail("expected name or number")
                }
            } else if skipOp("[") {
                var items: [TemplateExpr] = []
                while !isOp("]") {
                    if !items.isEmpty { try expectOp(",") }
                    items.append(try parseSubscribed(e))
                }
                try expectOp("]")
                if items.count == 1, case .slice = items[0] {
                    e = items[0]
                } else {
                    e = .item(e, items.count == 1 ? items[0] : .tuple(items))
                }
            } else if isOp("(") {
                e = .call(e, try parseArguments())
            } else {
                return e
            }
        }
    }

    mutating func parseSubscribed(_ base: TemplateExpr) throws(TemplateError) -> TemplateExpr {
        var start: TemplateExpr?
        if !isOp(":") {
            let e = try parseExpression()
            if !isOp(":") { return e }
            start = e
        }
        advance()
        var stop: TemplateExpr?
        var step: TemplateExpr?
        if !isOp("]"), !isOp(","), !isOp(":") { stop = try parseExpression() }
        if skipOp(":"), !isOp("]"), !isOp(",") { step = try parseExpression() }
        return .slice(base, start, stop, step)
    }

    mutating func parseArguments() throws(TemplateError) -> TemplateArguments {
        try expectOp("(")
        var arguments = TemplateArguments()
        var first = true
        while !isOp(")") {
            if !first { try expectOp(",") }
            first = false
            if isOp(")") { break }
            if skipOp("*") {
                arguments.star = try parseExpression()
            } else if skipOp("**") {
                arguments.starStar = try parseExpression()
            } else if case .name(let n) = current, next == .op("=") {
                advance()
                advance()
                arguments.named.append(TemplateNamedArgument(name: n, value: try parseExpression()))
            } else {
                arguments.positional.append(try parseExpression())
            }
        }
        try expectOp(")")
        return arguments
    }

    mutating func parseFilterExpr(_ base: TemplateExpr) throws(TemplateError) -> TemplateExpr {
        var e = base
        while true {
            if isOp("|") {
                e = try parseFilter(e) ?? e
            } else if isName("is") {
                e = try parseTest(e)
            } else if isOp("(") {
                e = .call(e, try parseArguments())
            } else {
                return e
            }
        }
    }

    mutating func parseFilterName() throws(TemplateError) -> String {
        var name = try expectName()
        while isOp("."), case .name(let more) = next {
            advance()
            advance()
            name += "." + more
        }
        return name
    }

    /// `| name(args) | …`; with `startInline` the first filter has no leading `|` (`{% filter upper %}`).
    mutating func parseFilter(_ base: TemplateExpr?, startInline: Bool = false) throws(TemplateError) -> TemplateExpr? {
        var e = base
        var inline = startInline
        while isOp("|") || inline {
            if !inline { advance() }
            inline = false
            let name = try parseFilterName()
            let arguments = isOp("(") ? try parseArguments() : TemplateArguments()
            e = .filter(e, name, arguments)
        }
        return e
    }

    mutating func parseTest(_ base: TemplateExpr) throws(TemplateError) -> TemplateExpr {
        advance()  // is
        let negated = skipName("not")
        let name = try parseFilterName()
        var arguments = TemplateArguments()
        if isOp("(") {
            arguments = try parseArguments()
        } else {
            var takesArgument = false
            switch current {
            case .name(let n): takesArgument = !["else", "or", "and"].contains(n)
            case .string, .int, .float, .op("["), .op("{"): takesArgument = true
            default: break
            }
            if takesArgument {
                if isName("is") { throw fail("You cannot chain multiple tests with is") }
                arguments.positional = [try parsePostfix(try parsePrimary())]
            }
        }
        let test = TemplateExpr.test(base, name, arguments)
        return negated ? .not(test) : test
    }
}

/// jinja2's compile-time checks: a filter or test that does not exist is an error when the template is compiled,
/// unless it sits directly in an `if` block or a conditional expression (jinja2's "soft" frames, where the check
/// waits until the filter runs); `break` and `continue` must be inside a loop.
enum TemplateValidator {
    static func validate(_ nodes: [TemplateNode]) throws(TemplateError) {
        for node in nodes { try validate(node, soft: false, inLoop: false) }
    }

    static func validate(_ node: TemplateNode, soft: Bool, inLoop: Bool) throws(TemplateError) {
        func body(_ nodes: [TemplateNode], soft: Bool, inLoop: Bool) throws(TemplateError) {
            for n in nodes { try validate(n, soft: soft, inLoop: inLoop) }
        }
        switch node {
        case .text: break
        case .output(let e, let line): try check(e, soft: soft, line: line)
        case .ifBlock(let branches, let otherwise, let line):
            for b in branches {
                try check(b.condition, soft: true, line: line)
                try body(b.body, soft: true, inLoop: inLoop)
            }
            try body(otherwise, soft: true, inLoop: inLoop)
        case .forBlock(let loop, let line):
            try check(loop.iterable, soft: soft, line: line)
            if let c = loop.condition { try check(c, soft: false, line: line) }
            try body(loop.body, soft: false, inLoop: true)
            try body(loop.otherwise, soft: soft, inLoop: inLoop)
        case .set(_, let e, let line): try check(e, soft: soft, line: line)
        case .setBlock(_, let filter, let nodes, let line):
            if let filter { try check(filter, soft: false, line: line) }
            try body(nodes, soft: false, inLoop: inLoop)
        case .macro(let macro, let line):
            for p in macro.parameters { if let d = p.defaultValue { try check(d, soft: false, line: line) } }
            try body(macro.body, soft: false, inLoop: false)
        case .callBlock(let call, let caller, let line):
            try check(call, soft: soft, line: line)
            try body(caller.body, soft: false, inLoop: false)
        case .filterBlock(let filter, let nodes, let line):
            try check(filter, soft: false, line: line)
            try body(nodes, soft: false, inLoop: inLoop)
        case .with(let assignments, let nodes, let line):
            for a in assignments { try check(a.value, soft: soft, line: line) }
            try body(nodes, soft: false, inLoop: inLoop)
        case .generation(let nodes):
            // transformers' AssistantTracker compiles the block as a `{% call %}` body: a macro frame.
            try body(nodes, soft: false, inLoop: false)
        case .breakLoop(let line), .continueLoop(let line):
            if !inLoop { throw TemplateError(.syntax, "'break' or 'continue' outside a loop", line: line) }
        }
    }

    static func check(_ e: TemplateExpr, soft: Bool, line: Int) throws(TemplateError) {
        func all(_ es: [TemplateExpr], soft: Bool = soft) throws(TemplateError) {
            for x in es { try check(x, soft: soft, line: line) }
        }
        func arguments(_ a: TemplateArguments) throws(TemplateError) {
            try all(a.positional + a.named.map(\.value) + [a.star, a.starStar].compactMap { $0 })
        }
        switch e {
        case .literal, .name: break
        case .list(let items), .tuple(let items): try all(items)
        case .dict(let pairs): try all(pairs.flatMap { [$0.key, $0.value] })
        case .attribute(let base, _): try check(base, soft: soft, line: line)
        case .item(let base, let key): try all([base, key])
        case .slice(let base, let a, let b, let c): try all([base] + [a, b, c].compactMap { $0 })
        case .call(let callee, let a):
            try check(callee, soft: soft, line: line)
            try arguments(a)
        case .filter(let base, let name, let a):
            if let base { try check(base, soft: soft, line: line) }
            try arguments(a)
            if !soft, !TemplateRenderer.filterNames.contains(name) {
                throw TemplateError(.syntax, "No filter named '\(name)'.", line: line)
            }
        case .test(let base, let name, let a):
            try check(base, soft: soft, line: line)
            try arguments(a)
            if !soft, !TemplateRenderer.testNames.contains(name) {
                throw TemplateError(.syntax, "No test named '\(name)'.", line: line)
            }
        case .not(let x), .negate(let x), .positive(let x): try check(x, soft: soft, line: line)
        case .binary(_, let l, let r), .and(let l, let r), .or(let l, let r): try all([l, r])
        case .compare(let first, let steps): try all([first] + steps.map(\.operand))
        case .conditional(let condition, let then, let otherwise):
            try all([condition, then] + [otherwise].compactMap { $0 }, soft: true)
        }
    }
}
