/// Parses template tokens into nodes and expressions (Jinja precedence).
struct TemplateParser {
    typealias Node = ChatTemplate.Node
    typealias Expr = ChatTemplate.Expr

    let tokens: [TemplateToken]
    var position = 0

    init(tokens: [TemplateToken]) {
        self.tokens = tokens
    }

    /// Parses nodes until a block whose first word is in `terminators` (left unconsumed), or the end.
    mutating func parseBlock(until terminators: Set<String>) throws -> [Node] {
        var nodes: [Node] = []
        while position < tokens.count {
            switch tokens[position] {
            case .text(let text):
                nodes.append(.text(text))
                position += 1
            case .output(let expression, let line):
                var p = ExpressionParser(tokens: expression, line: line)
                nodes.append(.output(try p.parseAll()))
                position += 1
            case .block(let words, let line):
                guard case .name(let keyword) = words.first else {
                    throw TemplateError(message: "line \(line): empty block")
                }
                if terminators.contains(keyword) { return nodes }
                position += 1
                var p = ExpressionParser(tokens: Array(words.dropFirst()), line: line)
                switch keyword {
                case "if":
                    var branches: [(Expr, [Node])] = [
                        (try p.parseAll(), try parseBlock(until: ["elif", "else", "endif"]))
                    ]
                    var elseBody: [Node] = []
                    while true {
                        guard position < tokens.count, case .block(let w, let l) = tokens[position],
                            case .name(let k) = w.first
                        else {
                            throw TemplateError(message: "line \(line): if without endif")
                        }
                        position += 1
                        if k == "elif" {
                            var q = ExpressionParser(tokens: Array(w.dropFirst()), line: l)
                            branches.append((try q.parseAll(), try parseBlock(until: ["elif", "else", "endif"])))
                        } else if k == "else" {
                            elseBody = try parseBlock(until: ["endif"])
                        } else {
                            break
                        }
                    }
                    nodes.append(.ifBlock(branches, elseBody))
                case "for":
                    var names: [String] = []
                    while case .name(let n) = p.peek, n != "in" {
                        names.append(n)
                        p.index += 1
                        if p.peek == .op(",") { p.index += 1 }
                    }
                    try p.expect(.name("in"))
                    let iterable = try p.parseConditional(allowIf: false)
                    let body = try parseBlock(until: ["else", "endfor"])
                    var elseBody: [Node] = []
                    if position < tokens.count, case .block(let w, _) = tokens[position], w.first == .name("else") {
                        position += 1
                        elseBody = try parseBlock(until: ["endfor"])
                    }
                    position += 1  // endfor
                    nodes.append(.forBlock(names, iterable, body, elseBody))
                case "set":
                    guard case .name(let target) = p.peek else {
                        throw TemplateError(message: "line \(line): set needs a name")
                    }
                    p.index += 1
                    var attribute: String?
                    if p.peek == .op(".") {
                        p.index += 1
                        guard case .name(let a) = p.peek else {
                            throw TemplateError(message: "line \(line): bad set target")
                        }
                        attribute = a
                        p.index += 1
                    }
                    try p.expect(.op("="))
                    nodes.append(.set(target, attribute, try p.parseAll()))
                default:
                    throw TemplateError(message: "line \(line): unsupported block \(keyword)")
                }
            }
        }
        if !terminators.isEmpty {
            throw TemplateError(
                message: "unexpected end of template: expected \(terminators.sorted().joined(separator: " or "))"
            )
        }
        return nodes
    }
}

struct ExpressionParser {
    typealias Expr = ChatTemplate.Expr
    let tokens: [ExprToken]
    let line: Int
    var index = 0

    init(tokens: [ExprToken], line: Int) {
        self.tokens = tokens
        self.line = line
    }

    var peek: ExprToken? { index < tokens.count ? tokens[index] : nil }

    mutating func expect(_ token: ExprToken) throws {
        guard peek == token else { throw TemplateError(message: "line \(line): expected \(token)") }
        index += 1
    }

    mutating func parseAll() throws -> Expr {
        let e = try parseConditional(allowIf: true)
        guard index == tokens.count else { throw TemplateError(message: "line \(line): unexpected \(tokens[index])") }
        return e
    }

    mutating func parseConditional(allowIf: Bool) throws -> Expr {
        let value = try parseOr()
        if allowIf, peek == .name("if") {
            index += 1
            let condition = try parseOr()
            var otherwise: Expr?
            if peek == .name("else") {
                index += 1
                otherwise = try parseConditional(allowIf: true)
            }
            return .conditional(condition, value, otherwise)
        }
        return value
    }

    mutating func parseOr() throws -> Expr {
        var left = try parseAnd()
        while peek == .name("or") {
            index += 1
            left = .binary("or", left, try parseAnd())
        }
        return left
    }

    mutating func parseAnd() throws -> Expr {
        var left = try parseNot()
        while peek == .name("and") {
            index += 1
            left = .binary("and", left, try parseNot())
        }
        return left
    }

    mutating func parseNot() throws -> Expr {
        if peek == .name("not") {
            index += 1
            return .unary("not", try parseNot())
        }
        return try parseCompare()
    }

    mutating func parseCompare() throws -> Expr {
        var left = try parseConcat()
        while true {
            if case .op(let o) = peek, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                index += 1
                left = .binary(o, left, try parseConcat())
            } else if peek == .name("in") {
                index += 1
                left = .binary("in", left, try parseConcat())
            } else if peek == .name("not"), index + 1 < tokens.count, tokens[index + 1] == .name("in") {
                index += 2
                left = .unary("not", .binary("in", left, try parseConcat()))
            } else if peek == .name("is") {
                index += 1
                var negated = false
                if peek == .name("not") {
                    negated = true
                    index += 1
                }
                guard case .name(let test) = peek else {
                    throw TemplateError(message: "line \(line): expected a test after is")
                }
                index += 1
                var args: [Expr] = []
                if peek == .op("(") { (args, _) = try parseArguments() }
                left = .test(left, test, negated, args)
            } else {
                return left
            }
        }
    }

    mutating func parseConcat() throws -> Expr {
        var left = try parseSum()
        while peek == .op("~") {
            index += 1
            left = .binary("~", left, try parseSum())
        }
        return left
    }

    mutating func parseSum() throws -> Expr {
        var left = try parseProduct()
        while case .op(let o) = peek, o == "+" || o == "-" {
            index += 1
            left = .binary(o, left, try parseProduct())
        }
        return left
    }

    mutating func parseProduct() throws -> Expr {
        var left = try parseUnary()
        while case .op(let o) = peek, ["*", "/", "//", "%"].contains(o) {
            index += 1
            left = .binary(o, left, try parseUnary())
        }
        return left
    }

    mutating func parseUnary() throws -> Expr {
        if peek == .op("-") {
            index += 1
            return .unary("-", try parseUnary())
        }
        if peek == .op("+") {
            index += 1
            return try parseUnary()
        }
        var e = try parsePostfix(try parsePrimary())
        while peek == .op("|") {
            index += 1
            guard case .name(let name) = peek else {
                throw TemplateError(message: "line \(line): expected a filter name")
            }
            index += 1
            var args: [Expr] = []
            var named: [(String, Expr)] = []
            if peek == .op("(") { (args, named) = try parseArguments() }
            e = try parsePostfix(.filter(e, name, args, named))
        }
        return e
    }

    mutating func parseArguments() throws -> ([Expr], [(String, Expr)]) {
        try expect(.op("("))
        var args: [Expr] = []
        var named: [(String, Expr)] = []
        while peek != .op(")") {
            if case .name(let n) = peek, index + 1 < tokens.count, tokens[index + 1] == .op("=") {
                index += 2
                named.append((n, try parseConditional(allowIf: true)))
            } else {
                args.append(try parseConditional(allowIf: true))
            }
            if peek == .op(",") { index += 1 } else { break }
        }
        try expect(.op(")"))
        return (args, named)
    }

    mutating func parsePostfix(_ base: Expr) throws -> Expr {
        var e = base
        while true {
            if peek == .op(".") {
                index += 1
                guard case .name(let n) = peek else {
                    throw TemplateError(message: "line \(line): expected an attribute")
                }
                index += 1
                e = .attribute(e, n)
            } else if peek == .op("[") {
                index += 1
                var lower: Expr?
                if peek != .op(":") { lower = try parseConditional(allowIf: true) }
                if peek == .op(":") {
                    index += 1
                    var upper: Expr?
                    if peek != .op("]") { upper = try parseConditional(allowIf: true) }
                    try expect(.op("]"))
                    e = .slice(e, lower, upper)
                } else {
                    try expect(.op("]"))
                    e = .index(e, lower ?? .literal(.none))
                }
            } else if peek == .op("(") {
                let (args, named) = try parseArguments()
                e = .call(e, args, named)
            } else {
                return e
            }
        }
    }

    mutating func parsePrimary() throws -> Expr {
        guard let token = peek else { throw TemplateError(message: "line \(line): unexpected end of expression") }
        index += 1
        switch token {
        case .string(let s):
            var value = s
            while case .string(let more) = peek {
                value += more
                index += 1
            }  // adjacent literals concatenate
            return .literal(.string(value))
        case .int(let i): return .literal(.int(i))
        case .double(let d): return .literal(.double(d))
        case .name(let n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case .op("("):
            let e = try parseConditional(allowIf: true)
            try expect(.op(")"))
            return e
        case .op("["):
            var items: [Expr] = []
            while peek != .op("]") {
                items.append(try parseConditional(allowIf: true))
                if peek == .op(",") { index += 1 } else { break }
            }
            try expect(.op("]"))
            return .list(items)
        case .op("{"):
            var pairs: [(Expr, Expr)] = []
            while peek != .op("}") {
                let key = try parseConditional(allowIf: true)
                try expect(.op(":"))
                pairs.append((key, try parseConditional(allowIf: true)))
                if peek == .op(",") { index += 1 } else { break }
            }
            try expect(.op("}"))
            return .dict(pairs)
        default:
            throw TemplateError(message: "line \(line): unexpected \(token)")
        }
    }
}
