/// Evaluates template nodes with Python/Jinja semantics.
struct TemplateRenderer {
    typealias Expr = ChatTemplate.Expr
    typealias Node = ChatTemplate.Node

    var scopes: [[String: TemplateValue]]
    var namespaces: [[String: TemplateValue]] = []

    init(scopes: [[String: TemplateValue]]) {
        self.scopes = scopes
    }

    func lookup(_ name: String) -> TemplateValue {
        for scope in scopes.reversed() { if let v = scope[name] { return v } }
        return .undefined
    }

    mutating func run(_ nodes: [Node], into out: inout String) throws {
        for node in nodes {
            switch node {
            case .text(let t): out += t
            case .output(let e): out += try eval(e).rendered
            case .ifBlock(let branches, let otherwise):
                var done = false
                for (condition, body) in branches where try eval(condition).isTruthy {
                    try run(body, into: &out)
                    done = true
                    break
                }
                if !done { try run(otherwise, into: &out) }
            case .forBlock(let names, let iterable, let body, let otherwise):
                let items: [TemplateValue]
                switch try eval(iterable) {
                case .list(let l): items = l
                case .dict(let pairs): items = pairs.map { .string($0.key) }
                case .string(let s): items = s.map { .string(String($0)) }
                default: items = []
                }
                if items.isEmpty {
                    try run(otherwise, into: &out)
                    continue
                }
                for (i, item) in items.enumerated() {
                    var scope: [String: TemplateValue] = [:]
                    if names.count == 1 {
                        scope[names[0]] = item
                    } else if case .list(let parts) = item {
                        for (n, v) in zip(names, parts) { scope[n] = v }
                    }
                    scope["loop"] = .dict([
                        .init("index", .int(i + 1)), .init("index0", .int(i)), .init("first", .bool(i == 0)),
                        .init("last", .bool(i == items.count - 1)), .init("length", .int(items.count)),
                        .init("revindex", .int(items.count - i)), .init("revindex0", .int(items.count - i - 1)),
                        .init("previtem", i > 0 ? items[i - 1] : .undefined),
                        .init("nextitem", i + 1 < items.count ? items[i + 1] : .undefined),
                    ])
                    scopes.append(scope)
                    defer { scopes.removeLast() }
                    try run(body, into: &out)
                }
            case .set(let name, let attribute, let e):
                let value = try eval(e)
                if let attribute {
                    guard case .namespace(let id) = lookup(name) else {
                        throw TemplateError(message: "cannot set \(name).\(attribute): \(name) is not a namespace")
                    }
                    namespaces[id][attribute] = value
                } else {
                    scopes[scopes.count - 1][name] = value
                }
            }
        }
    }

    mutating func eval(_ e: Expr) throws -> TemplateValue {
        switch e {
        case .literal(let v): return v
        case .name(let n): return lookup(n)
        case .list(let items): return .list(try items.map { try eval($0) })
        case .dict(let pairs):
            return .dict(try pairs.map { TemplateValue.Pair(try eval($0.0).rendered, try eval($0.1)) })
        case .attribute(let base, let name):
            let b = try eval(base)
            if case .namespace(let id) = b { return namespaces[id][name] ?? .undefined }
            return Self.item(b, .string(name))
        case .index(let base, let key): return Self.item(try eval(base), try eval(key))
        case .slice(let base, let lower, let upper):
            let b = try eval(base)
            let lo = try lower.map { try eval($0) }
            let hi = try upper.map { try eval($0) }
            func bounds(_ count: Int) -> Range<Int> {
                func clamp(_ v: TemplateValue?, _ fallback: Int) -> Int {
                    guard case .int(let i)? = v else { return fallback }
                    return max(0, min(count, i < 0 ? count + i : i))
                }
                let start = clamp(lo, 0)
                return start..<max(start, clamp(hi, count))
            }
            switch b {
            case .list(let l): return .list(Array(l[bounds(l.count)]))
            case .string(let s):
                let chars = Array(s)
                return .string(String(chars[bounds(chars.count)]))
            default: return .undefined
            }
        case .call(let callee, let args, let named):
            return try call(callee, try args.map { try eval($0) }, try named.map { ($0.0, try eval($0.1)) })
        case .filter(let base, let name, let args, let named):
            return try filter(
                try eval(base),
                name,
                try args.map { try eval($0) },
                try named.map { ($0.0, try eval($0.1)) }
            )
        case .test(let base, let name, let negated, let args):
            let result = try test(try eval(base), name, try args.map { try eval($0) })
            return .bool(negated ? !result : result)
        case .unary(let op, let x):
            let v = try eval(x)
            if op == "not" { return .bool(!v.isTruthy) }
            switch v {
            case .int(let i): return .int(-i)
            case .double(let d): return .double(-d)
            default: throw TemplateError(message: "cannot negate \(v.repr)")
            }
        case .binary(let op, let l, let r):
            if op == "and" {
                let a = try eval(l)
                return a.isTruthy ? try eval(r) : a
            }
            if op == "or" {
                let a = try eval(l)
                return a.isTruthy ? a : try eval(r)
            }
            return try Self.binary(op, try eval(l), try eval(r))
        case .conditional(let condition, let value, let otherwise):
            if try eval(condition).isTruthy { return try eval(value) }
            return try otherwise.map { try eval($0) } ?? .undefined
        }
    }

    static func item(_ base: TemplateValue, _ key: TemplateValue) -> TemplateValue {
        switch (base, key) {
        case (.dict(let pairs), .string(let k)): return pairs.first { $0.key == k }?.value ?? .undefined
        case (.list(let l), .int(let i)):
            let j = i < 0 ? l.count + i : i
            return l.indices.contains(j) ? l[j] : .undefined
        case (.string(let s), .int(let i)):
            let chars = Array(s)
            let j = i < 0 ? chars.count + i : i
            return chars.indices.contains(j) ? .string(String(chars[j])) : .undefined
        default: return .undefined
        }
    }

    static func equal(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .double(let y)): return Double(x) == y
        case (.double(let x), .int(let y)): return x == Double(y)
        case (.undefined, .none), (.none, .undefined): return false
        default: return a == b
        }
    }

    static func binary(_ op: String, _ a: TemplateValue, _ b: TemplateValue) throws -> TemplateValue {
        switch op {
        case "==": return .bool(equal(a, b))
        case "!=": return .bool(!equal(a, b))
        case "~": return .string(a.rendered + b.rendered)
        case "in":
            switch b {
            case .string(let s): return .bool(s.contains(a.rendered))
            case .list(let l): return .bool(l.contains { equal($0, a) })
            case .dict(let d): return .bool(d.contains { $0.key == a.rendered })
            default: return .bool(false)
            }
        default: break
        }
        switch (a, b) {
        case (.string(let x), .string(let y)) where op == "+": return .string(x + y)
        case (.list(let x), .list(let y)) where op == "+": return .list(x + y)
        case (.string(let x), .string(let y)):
            switch op {
            case "<": return .bool(x < y)
            case ">": return .bool(x > y)
            case "<=": return .bool(x <= y)
            case ">=": return .bool(x >= y)
            default: break
            }
        case (.int(let x), .int(let y)):
            switch op {
            case "+": return .int(x + y)
            case "-": return .int(x - y)
            case "*": return .int(x * y)
            case "//": return .int(Int((Double(x) / Double(y)).rounded(.down)))
            case "%": return .int(((x % y) + y) % y)
            case "/": return .double(Double(x) / Double(y))
            case "<": return .bool(x < y)
            case ">": return .bool(x > y)
            case "<=": return .bool(x <= y)
            case ">=": return .bool(x >= y)
            default: break
            }
        default:
            if let x = number(a), let y = number(b) {
                switch op {
                case "+": return .double(x + y)
                case "-": return .double(x - y)
                case "*": return .double(x * y)
                case "/": return .double(x / y)
                case "<": return .bool(x < y)
                case ">": return .bool(x > y)
                case "<=": return .bool(x <= y)
                case ">=": return .bool(x >= y)
                default: break
                }
            }
        }
        throw TemplateError(message: "unsupported operation \(a.repr) \(op) \(b.repr)")
    }

    static func number(_ v: TemplateValue) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    mutating func call(
        _ callee: Expr,
        _ args: [TemplateValue],
        _ named: [(String, TemplateValue)]
    ) throws -> TemplateValue {
        if case .name(let n) = callee {
            switch n {
            case "raise_exception": throw TemplateError(message: args.first?.rendered ?? "raise_exception")
            case "namespace":
                namespaces.append(Dictionary(named.map { ($0.0, $0.1) }, uniquingKeysWith: { $1 }))
                return .namespace(namespaces.count - 1)
            case "range":
                let ints = args.compactMap { if case .int(let i) = $0 { return i } else { return nil } }
                let (lo, hi) = ints.count >= 2 ? (ints[0], ints[1]) : (0, ints.first ?? 0)
                return .list(lo < hi ? (lo..<hi).map { .int($0) } : [])
            default: throw TemplateError(message: "unknown function \(n)")
            }
        }
        guard case .attribute(let baseExpr, let method) = callee else {
            throw TemplateError(message: "unsupported call")
        }
        let base = try eval(baseExpr)
        switch (base, method) {
        case (.string(let s), "strip"), (.string(let s), "lstrip"), (.string(let s), "rstrip"):
            let chars = args.first.map { Set($0.rendered) }
            let isStripped: (Character) -> Bool = { chars?.contains($0) ?? $0.isWhitespace }
            var sub = Substring(s)
            if method != "rstrip" { sub = sub.drop(while: isStripped) }
            if method != "lstrip" { while let last = sub.last, isStripped(last) { sub = sub.dropLast() } }
            return .string(String(sub))
        case (.string(let s), "split"):
            if let separator = args.first?.rendered {
                return .list(
                    s.split(separator: separator, omittingEmptySubsequences: false).map { .string(String($0)) }
                )
            }
            return .list(s.split(whereSeparator: \.isWhitespace).map { .string(String($0)) })
        case (.string(let s), "startswith"): return .bool(s.hasPrefix(args.first?.rendered ?? ""))
        case (.string(let s), "endswith"): return .bool(s.hasSuffix(args.first?.rendered ?? ""))
        case (.string(let s), "upper"): return .string(s.uppercased())
        case (.string(let s), "lower"): return .string(s.lowercased())
        case (.string(let s), "replace"):
            return .string(s.replacing(args.first?.rendered ?? "", with: args.dropFirst().first?.rendered ?? ""))
        case (.dict(let pairs), "items"): return .list(pairs.map { .list([.string($0.key), $0.value]) })
        case (.dict(let pairs), "keys"): return .list(pairs.map { .string($0.key) })
        case (.dict(let pairs), "values"): return .list(pairs.map(\.value))
        case (.dict(let pairs), "get"):
            let key = args.first?.rendered ?? ""
            return pairs.first { $0.key == key }?.value ?? args.dropFirst().first ?? .none
        default:
            throw TemplateError(message: "unsupported method \(method) on \(base.repr)")
        }
    }

    func filter(
        _ v: TemplateValue,
        _ name: String,
        _ args: [TemplateValue],
        _ named: [(String, TemplateValue)]
    ) throws
        -> TemplateValue
    {
        switch name {
        case "trim": return .string(v.rendered.trimmingWhitespace())
        case "upper": return .string(v.rendered.uppercased())
        case "lower": return .string(v.rendered.lowercased())
        case "capitalize":
            let s = v.rendered
            return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
        case "length", "count":
            switch v {
            case .list(let l): return .int(l.count)
            case .dict(let d): return .int(d.count)
            case .string(let s): return .int(s.count)
            default: return .int(0)
            }
        case "tojson":
            var indent: Int?
            if case .int(let i)? = named.first(where: { $0.0 == "indent" })?.1 ?? args.first { indent = i }
            return .string(v.json(indent: indent))
        case "default", "d":
            let boolean = args.dropFirst().first?.isTruthy ?? false
            if case .undefined = v { return args.first ?? .string("") }
            if boolean, !v.isTruthy { return args.first ?? .string("") }
            return v
        case "join":
            guard case .list(let l) = v else { return .string(v.rendered) }
            return .string(l.map(\.rendered).joined(separator: args.first?.rendered ?? ""))
        case "replace":
            return .string(
                v.rendered.replacing(args.first?.rendered ?? "", with: args.dropFirst().first?.rendered ?? "")
            )
        case "first":
            if case .list(let l) = v { return l.first ?? .undefined }
            return .string(String(v.rendered.prefix(1)))
        case "last":
            if case .list(let l) = v { return l.last ?? .undefined }
            return .string(String(v.rendered.suffix(1)))
        case "items":
            if case .dict(let pairs) = v { return .list(pairs.map { .list([.string($0.key), $0.value]) }) }
            return .list([])
        case "string": return .string(v.rendered)
        case "int": return .int(Int(v.rendered) ?? 0)
        case "list":
            if case .list = v { return v }
            return .list(v.rendered.map { .string(String($0)) })
        case "safe", "e", "escape": return v
        default: throw TemplateError(message: "unsupported filter \(name)")
        }
    }

    func test(_ v: TemplateValue, _ name: String, _ args: [TemplateValue]) throws -> Bool {
        switch name {
        case "defined": if case .undefined = v { return false } else { return true }
        case "undefined": if case .undefined = v { return true } else { return false }
        case "none": if case .none = v { return true } else { return false }
        case "string": if case .string = v { return true } else { return false }
        case "mapping": if case .dict = v { return true } else { return false }
        case "sequence", "iterable":
            switch v {
            case .list, .string, .dict: return true
            default: return false
            }
        case "number":
            switch v {
            case .int, .double: return true
            default: return false
            }
        case "boolean": if case .bool = v { return true } else { return false }
        case "true": return v == .bool(true)
        case "false": return v == .bool(false)
        case "equalto", "eq": return Self.equal(v, args.first ?? .none)
        default: throw TemplateError(message: "unsupported test \(name)")
        }
    }
}

extension String {
    /// Python's `str.strip()`.
    func trimmingWhitespace() -> String {
        var sub = Substring(self).drop(while: \.isWhitespace)
        while let last = sub.last, last.isWhitespace { sub = sub.dropLast() }
        return String(sub)
    }
}
