internal import Foundation

/// Python's operators on template values.
extension TemplateRenderer {
    static func number(_ v: TemplateValue) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    static func integer(_ v: TemplateValue) -> Int? {
        switch v {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// Python's `==`.
    static func equal(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
        if let x = integer(a), let y = integer(b) { return x == y }
        if let x = number(a), let y = number(b) { return x == y }
        switch (a, b) {
        case (.dict(let x), .dict(let y)):
            guard x.count == y.count else { return false }
            return x.allSatisfy { p in lookup(y, p.keyValue).map { equal($0, p.value) } ?? false }
        case (.list(let x), .list(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let o), .object(let p)):
            if case .tuple(let x) = o.kind, case .tuple(let y) = p.kind {
                return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
            }
            return a == b
        default: return a == b
        }
    }

    /// Python's `<` (and friends through it).
    func less(_ a: TemplateValue, _ b: TemplateValue) throws(TemplateError) -> Bool {
        if let x = Self.integer(a), let y = Self.integer(b) { return x < y }
        if let x = Self.number(a), let y = Self.number(b) { return x < y }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            return Array(x.unicodeScalars.map(\.value)).lexicographicallyPrecedes(y.unicodeScalars.map(\.value))
        default:
            if let x = a.sequence, let y = b.sequence, typeName(a) == typeName(b) {
                for (p, q) in zip(x, y) where !Self.equal(p, q) { return try less(p, q) }
                return x.count < y.count
            }
        }
        if case .undefined = a { throw TemplateError(.undefined, "an undefined value was compared") }
        if case .undefined = b { throw TemplateError(.undefined, "an undefined value was compared") }
        throw TemplateError(
            .type,
            "'<' not supported between instances of '\(typeName(a))' and '\(typeName(b))'"
        )
    }

    func contains(_ container: TemplateValue, _ element: TemplateValue) throws(TemplateError) -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let e) = element else {
                throw TemplateError(.type, "'in <string>' requires string as left operand, not \(typeName(element))")
            }
            return e.isEmpty || s.unicodeScalars.firstRange(of: e.unicodeScalars) != nil
        case .dict(let pairs):
            return Self.lookup(pairs, element) != nil
        case .undefined: return false
        case .namespace: throw TemplateError(.type, "argument of type 'Namespace' is not iterable")
        default:
            if let items = container.sequence { return items.contains { Self.equal($0, element) } }
            throw TemplateError(.type, "argument of type '\(typeName(container))' is not iterable")
        }
    }

    func compare(_ op: String, _ a: TemplateValue, _ b: TemplateValue) throws(TemplateError) -> Bool {
        switch op {
        case "==": return Self.equal(a, b)
        case "!=": return !Self.equal(a, b)
        case "<": return try less(a, b)
        case ">": return try less(b, a)
        case "<=": return try !less(b, a)
        case ">=": return try !less(a, b)
        case "in": return try contains(b, a)
        case "notin": return try !contains(b, a)
        default: throw TemplateError(.syntax, "unknown comparison \(op)")
        }
    }

    func binary(_ op: String, _ a: TemplateValue, _ b: TemplateValue) throws(TemplateError) -> TemplateValue {
        if op == "~" { return .string(try str(a) + str(b)) }
        if case .undefined = a { throw TemplateError(.undefined, "an undefined value was used with '\(op)'") }
        if case .undefined = b { throw TemplateError(.undefined, "an undefined value was used with '\(op)'") }
        let unsupported = TemplateError(
            .type,
            "unsupported operand type(s) for \(op): '\(typeName(a))' and '\(typeName(b))'"
        )
        if let x = Self.integer(a), let y = Self.integer(b) {
            switch op {
            case "+": return .int(x &+ y)
            case "-": return .int(x &- y)
            case "*": return .int(x &* y)
            case "/":
                guard y != 0 else { throw TemplateError(.type, "division by zero") }
                return .double(Double(x) / Double(y))
            case "//":
                guard y != 0 else { throw TemplateError(.type, "integer division or modulo by zero") }
                let q = x / y
                return .int((x % y != 0) && ((x < 0) != (y < 0)) ? q - 1 : q)
            case "%":
                guard y != 0 else { throw TemplateError(.type, "integer division or modulo by zero") }
                let r = x % y
                return .int(r != 0 && ((r < 0) != (y < 0)) ? r + y : r)
            case "**":
                if y >= 0 {
                    var result = 1
                    for _ in 0..<y { result = result &* x }
                    return .int(result)
                }
                return .double(pow(Double(x), Double(y)))
            default: break
            }
        }
        if let x = Self.number(a), let y = Self.number(b) {
            switch op {
            case "+": return .double(x + y)
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/":
                guard y != 0 else { throw TemplateError(.type, "float division by zero") }
                return .double(x / y)
            case "//":
                guard y != 0 else { throw TemplateError(.type, "float floor division by zero") }
                return .double((x / y).rounded(.down))
            case "%":
                guard y != 0 else { throw TemplateError(.type, "float modulo") }
                let r = fmod(x, y)
                return .double(r != 0 && ((r < 0) != (y < 0)) ? r + y : r)
            case "**": return .double(pow(x, y))
            default: break
            }
        }
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)): return .string(x + y)
        case ("+", .list(let x), .list(let y)): return .list(x + y)
        case ("%", .string(let format), _): return .string(try TemplateBuiltins.percentFormat(format, b, self))
        case ("*", .string(let s), _), ("*", _, .string(let s)):
            guard let n = Self.integer(op == "*" && Self.integer(b) != nil ? b : a) else { throw unsupported }
            return .string(String(repeating: s, count: max(0, n)))
        case ("*", .list(let l), _), ("*", _, .list(let l)):
            guard let n = Self.integer(Self.integer(b) != nil ? b : a) else { throw unsupported }
            return .list(Array(repeating: l, count: max(0, n)).flatMap { $0 })
        default: break
        }
        if op == "+", case .object(let o) = a, case .tuple(let x) = o.kind, case .object(let p) = b,
            case .tuple(let y) = p.kind
        {
            return .tuple(x + y)
        }
        if op == "+", case .string = a {
            throw TemplateError(.type, "can only concatenate str (not \"\(typeName(b))\") to str")
        }
        if op == "+", case .list = a {
            throw TemplateError(.type, "can only concatenate list (not \"\(typeName(b))\") to list")
        }
        throw unsupported
    }
}
