internal import Foundation

/// jinja2's built-in filters and tests, with transformers' `tojson`.
extension TemplateRenderer {
    static let filterNames: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first",
        "float", "format", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
        "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string",
        "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "wordcount", "striptags", "forceescape",
    ]

    static let testNames: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==", "escaped", "even", "false", "filter",
        "float", "ge", ">=", "gt", "greaterthan", ">", "in", "integer", "iterable", "le", "<=", "lower", "lt",
        "lessthan", "<", "mapping", "ne", "!=", "none", "number", "odd", "sameas", "sequence", "string", "test",
        "true", "undefined", "upper",
    ]

    /// An argument by position or name, or its default.
    static func argument(
        _ args: [TemplateValue],
        _ named: [TemplateValue.Pair],
        _ position: Int,
        _ name: String,
        _ defaultValue: TemplateValue = .undefined
    ) -> TemplateValue {
        if let p = named.first(where: { $0.key == name }) { return p.value }
        return position < args.count ? args[position] : defaultValue
    }

    /// The items a filter works on; a TypeError for what Python cannot iterate.
    func items(_ v: TemplateValue) throws(TemplateError) -> [TemplateValue] { try iterate(v) }

    func length(_ v: TemplateValue) throws(TemplateError) -> Int {
        switch v {
        case .undefined: return 0
        case .string(let s): return s.unicodeScalars.count
        case .list(let l): return l.count
        case .dict(let d): return d.count
        case .object(let o):
            if case .tuple(let items) = o.kind { return items.count }
        default: break
        }
        throw TemplateError(.type, "object of type '\(typeName(v))' has no len()")
    }

    /// `attribute='a.b'` lookup as jinja2's `make_attrgetter` does (dotted paths, integer parts as indexes).
    func attributePath(_ v: TemplateValue, _ path: TemplateValue) throws(TemplateError) -> TemplateValue {
        var current = v
        let parts: [TemplateValue]
        if case .string(let s) = path {
            parts = s.split(separator: ".", omittingEmptySubsequences: false).map { p in
                Int(p).map { .int($0) } ?? .string(String(p))
            }
        } else {
            parts = [path]
        }
        for part in parts { current = try item(current, part) }
        return current
    }

    /// The sort key of jinja2's `sort`, `dictsort`, `unique`, `min`, `max`: lowercased strings unless
    /// case-sensitive.
    func sortKey(_ v: TemplateValue, caseSensitive: Bool) -> TemplateValue {
        if !caseSensitive, case .string(let s) = v { return .string(s.lowercased()) }
        return v
    }

    func sorted(
        _ values: [TemplateValue],
        reverse: Bool,
        key: (TemplateValue) throws(TemplateError) -> TemplateValue
    )
        throws(TemplateError) -> [TemplateValue]
    {
        var keyed: [(TemplateValue, TemplateValue)] = []
        for v in values { keyed.append((try key(v), v)) }
        // A stable merge sort that can throw (Python's sort is stable; reverse keeps equal items in order).
        func merge(_ a: [(TemplateValue, TemplateValue)]) throws(TemplateError) -> [(TemplateValue, TemplateValue)] {
            guard a.count > 1 else { return a }
            let left = try merge(Array(a[..<(a.count / 2)]))
            let right = try merge(Array(a[(a.count / 2)...]))
            var out: [(TemplateValue, TemplateValue)] = []
            var i = 0
            var j = 0
            while i < left.count, j < right.count {
                let takeRight = reverse ? try less(left[i].0, right[j].0) : try less(right[j].0, left[i].0)
                if takeRight {
                    out.append(right[j])
                    j += 1
                } else {
                    out.append(left[i])
                    i += 1
                }
            }
            return out + left[i...] + right[j...]
        }
        return try merge(keyed).map(\.1)
    }

    mutating func filter(
        _ v: TemplateValue,
        _ name: String,
        _ args: [TemplateValue],
        _ named: [TemplateValue.Pair]
    ) throws(TemplateError) -> TemplateValue {
        func arg(_ position: Int, _ key: String, _ defaultValue: TemplateValue = .undefined) -> TemplateValue {
            Self.argument(args, named, position, key, defaultValue)
        }
        func text() throws(TemplateError) -> String { try str(v) }
        switch name {
        case "abs":
            switch v {
            case .int(let i): return .int(abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return .double(abs(d))
            default: throw TemplateError(.type, "bad operand type for abs(): '\(typeName(v))'")
            }
        case "attr":
            // Python's getattr only: a dict's keys are not attributes.
            let attributeName = try str(arg(0, "name"))
            if case .dict = v, !Self.dictMethods.contains(attributeName) { return .undefined }
            return try attribute(v, attributeName)
        case "batch":
            guard let n = Self.integer(arg(0, "linecount")), n > 0 else {
                throw TemplateError(.type, "batch needs a positive count")
            }
            let fill = arg(1, "fill_with", .none)
            var batches: [TemplateValue] = []
            var current: [TemplateValue] = []
            for item in try items(v) {
                current.append(item)
                if current.count == n {
                    batches.append(.list(current))
                    current = []
                }
            }
            if !current.isEmpty {
                if fill != .none { current += Array(repeating: fill, count: n - current.count) }
                batches.append(.list(current))
            }
            return .object(TemplateObject(.generator(batches)))
        case "capitalize":
            let s = try text()
            return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
        case "center":
            let width = Self.integer(arg(0, "width", .int(80))) ?? 80
            return .string(TemplateBuiltins.pad(try text(), width: width, align: "^", fill: " "))
        case "count", "length": return .int(try length(v))
        case "d", "default":
            let fallback = arg(0, "default_value", .string(""))
            if case .undefined = v { return fallback }
            if arg(1, "boolean", .bool(false)).isTruthy, !(try truthy(v)) { return fallback }
            return v
        case "dictsort":
            guard case .dict(let pairs) = v else { throw TemplateError(.type, "dictsort expects a dict") }
            let caseSensitive = arg(0, "case_sensitive", .bool(false)).isTruthy
            let byValue = arg(1, "by", .string("key")) == .string("value")
            let reverse = arg(2, "reverse", .bool(false)).isTruthy
            let tuples = pairs.map { TemplateValue.tuple([$0.keyValue, $0.value]) }
            return .list(
                try sorted(tuples, reverse: reverse) { (t) throws(TemplateError) in
                    sortKey(t.sequence?[byValue ? 1 : 0] ?? .none, caseSensitive: caseSensitive)
                }
            )
        case "e", "escape", "forceescape":
            if case .undefined = v { return .string("") }
            return .string(TemplateBuiltins.escapeHTML(try text()))
        case "first":
            if case .undefined = v { return .undefined }
            return try items(v).first ?? .undefined
        case "last":
            if case .undefined = v { return .undefined }
            if case .object(let o) = v, case .generator = o.kind {
                throw TemplateError(.type, "'generator' object is not reversible")
            }
            return try items(v).last ?? .undefined
        case "float":
            let fallback = arg(0, "default", .double(0))
            switch v {
            case .int(let i): return .double(Double(i))
            case .bool(let b): return .double(b ? 1 : 0)
            case .double: return v
            case .string(let s):
                return Double(s.trimmingCharacters(in: .whitespacesAndNewlines)).map { .double($0) } ?? fallback
            default: return fallback
            }
        case "format": return .string(try TemplateBuiltins.percentFormat(try text(), .tuple(args), self))
        case "indent":
            var indentation = String(repeating: " ", count: 4)
            switch arg(0, "width", .int(4)) {
            case .string(let s): indentation = s
            case let w: indentation = String(repeating: " ", count: max(0, Self.integer(w) ?? 4))
            }
            let first = arg(1, "first", .bool(false)).isTruthy
            let blank = arg(2, "blank", .bool(false)).isTruthy
            let lines = TemplateBuiltins.splitLines(try text() + "\n")
            var result: String
            if blank {
                result = lines.joined(separator: "\n" + indentation)
            } else {
                result = lines.first ?? ""
                if lines.count > 1 {
                    result +=
                        "\n" + lines.dropFirst().map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n")
                }
            }
            return .string(first ? indentation + result : result)
        case "int":
            let fallback = arg(0, "default", .int(0))
            switch v {
            case .int: return v
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return d.isFinite ? .int(Int(d)) : fallback
            case .string(let s):
                let base = Self.integer(arg(1, "base", .int(10))) ?? 10
                let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines).replacing("_", with: "")
                if let i = Int(trimmed, radix: base) { return .int(i) }
                if let d = Double(trimmed), d.isFinite { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "items":
            if case .undefined = v { return .object(TemplateObject(.generator([]))) }
            guard case .dict(let pairs) = v else {
                throw TemplateError(.type, "Can only get item pairs from a mapping.")
            }
            return .object(TemplateObject(.generator(pairs.map { .tuple([$0.keyValue, $0.value]) })))
        case "join":
            let separator = try str(arg(0, "d", .string("")))
            let attributeName = arg(1, "attribute", .none)
            var parts: [String] = []
            for item in try items(v) {
                parts.append(try str(attributeName == .none ? item : try attributePath(item, attributeName)))
            }
            return .string(parts.joined(separator: separator))
        case "list": return .list(try items(v))
        case "lower": return .string(try text().lowercased())
        case "upper": return .string(try text().uppercased())
        case "title": return .string(TemplateBuiltins.jinjaTitle(try text()))
        case "map":
            var out: [TemplateValue] = []
            if !(try truthy(v)) { return .object(TemplateObject(.generator([]))) }
            if let attributeName = named.first(where: { $0.key == "attribute" })?.value {
                let fallback = named.first { $0.key == "default" }?.value
                for item in try items(v) {
                    var value = try attributePath(item, attributeName)
                    if case .undefined = value, let fallback { value = fallback }
                    out.append(value)
                }
            } else {
                guard case .string(let filterName)? = args.first else {
                    throw TemplateError(.type, "map requires a filter argument")
                }
                for item in try items(v) { out.append(try filter(item, filterName, Array(args.dropFirst()), named)) }
            }
            return .object(TemplateObject(.generator(out)))
        case "select", "reject", "selectattr", "rejectattr":
            let byAttribute = name.hasSuffix("attr")
            let testArgs = byAttribute ? Array(args.dropFirst()) : args
            let wanted = name.hasPrefix("select")
            var out: [TemplateValue] = []
            for item in try truthy(v) ? items(v) : [] {
                let subject = byAttribute ? try attributePath(item, args.first ?? .undefined) : item
                let passes: Bool
                if case .string(let testName)? = testArgs.first {
                    passes = try test(subject, testName, Array(testArgs.dropFirst()))
                } else {
                    passes = try truthy(subject)
                }
                if passes == wanted { out.append(item) }
            }
            return .object(TemplateObject(.generator(out)))
        case "max", "min":
            let caseSensitive = arg(0, "case_sensitive", .bool(false)).isTruthy
            let attributeName = arg(1, "attribute", .none)
            let values = try items(v)
            guard !values.isEmpty else { return .undefined }
            let ordered = try sorted(values, reverse: name == "max") { (x) throws(TemplateError) in
                sortKey(attributeName == .none ? x : try attributePath(x, attributeName), caseSensitive: caseSensitive)
            }
            return ordered[0]
        case "replace":
            let old = try str(arg(0, "old"))
            let new = try str(arg(1, "new"))
            let count = Self.integer(arg(2, "count", .none))
            return .string(TemplateBuiltins.replace(try text(), old, new, count: count))
        case "reverse":
            if case .string(let s) = v { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .object(TemplateObject(.generator(try items(v).reversed())))
        case "round":
            let precision = Self.integer(arg(0, "precision", .int(0))) ?? 0
            let method = try str(arg(1, "method", .string("common")))
            guard let x = Self.number(v) else { throw TemplateError(.type, "round expects a number") }
            let scale = pow(10, Double(precision))
            switch method {
            case "common": return .double((x * scale).rounded(.toNearestOrEven) / scale)
            case "ceil": return .double((x * scale).rounded(.up) / scale)
            case "floor": return .double((x * scale).rounded(.down) / scale)
            default: throw TemplateError(.type, "method must be common, ceil or floor")
            }
        case "safe": return v
        case "sort":
            let reverse = arg(0, "reverse", .bool(false)).isTruthy
            let caseSensitive = arg(1, "case_sensitive", .bool(false)).isTruthy
            let attributeName = arg(2, "attribute", .none)
            return .list(
                try sorted(try items(v), reverse: reverse) { (x) throws(TemplateError) in
                    sortKey(
                        attributeName == .none ? x : try attributePath(x, attributeName),
                        caseSensitive: caseSensitive
                    )
                }
            )
        case "string": return .string(try str(v))
        case "striptags":
            let stripped = try text().replacing(#/<!--.*?-->|<[^>]*>/#.dotMatchesNewlines(), with: "")
            return .string(stripped.split(whereSeparator: \.isWhitespace).joined(separator: " "))
        case "sum":
            let attributeName = arg(0, "attribute", .none)
            var total = arg(1, "start", .int(0))
            for item in try items(v) {
                total = try binary("+", total, attributeName == .none ? item : try attributePath(item, attributeName))
            }
            return total
        case "tojson":
            return .string(
                try TemplateBuiltins.json(
                    v,
                    ensureASCII: arg(0, "ensure_ascii", .bool(false)).isTruthy,
                    indent: arg(1, "indent", .none),
                    separators: arg(2, "separators", .none),
                    sortKeys: arg(3, "sort_keys", .bool(false)).isTruthy,
                    renderer: self
                )
            )
        case "trim":
            let chars = arg(0, "chars", .none)
            return .string(TemplateBuiltins.strip(try text(), chars == .none ? nil : try str(chars), "strip"))
        case "truncate":
            let s = try text()
            let length = Self.integer(arg(0, "length", .int(255))) ?? 255
            let killWords = arg(1, "killwords", .bool(false)).isTruthy
            let end = try str(arg(2, "end", .string("...")))
            let leeway = Self.integer(arg(3, "leeway", .int(5))) ?? 5
            let scalars = Array(s.unicodeScalars)
            if scalars.count <= length + leeway { return .string(s) }
            let cut = String(String.UnicodeScalarView(scalars[..<max(0, length - end.unicodeScalars.count)]))
            if killWords { return .string(cut + end) }
            let words = cut.split(separator: " ", omittingEmptySubsequences: false)
            return .string(words.dropLast().joined(separator: " ") + end)
        case "unique":
            let caseSensitive = arg(0, "case_sensitive", .bool(false)).isTruthy
            let attributeName = arg(1, "attribute", .none)
            var seen: [TemplateValue] = []
            var out: [TemplateValue] = []
            for item in try items(v) {
                let key = sortKey(
                    attributeName == .none ? item : try attributePath(item, attributeName),
                    caseSensitive: caseSensitive
                )
                if !seen.contains(where: { Self.equal($0, key) }) {
                    seen.append(key)
                    out.append(item)
                }
            }
            return .object(TemplateObject(.generator(out)))
        case "wordcount":
            return .int(try text().split { !($0.isLetter || $0.isNumber || $0 == "_") }.count)
        default:
            throw TemplateError(.type, "No filter named '\(name)'.")
        }
    }

    mutating func test(_ v: TemplateValue, _ name: String, _ args: [TemplateValue]) throws(TemplateError) -> Bool {
        let other = args.first ?? .undefined
        switch name {
        case "defined": if case .undefined = v { return false } else { return true }
        case "undefined": if case .undefined = v { return true } else { return false }
        case "none": return v == .none
        case "boolean": if case .bool = v { return true } else { return false }
        case "true": return v == .bool(true)
        case "false": return v == .bool(false)
        case "integer": if case .int = v { return true } else { return false }
        case "float": if case .double = v { return true } else { return false }
        case "number": return Self.number(v) != nil
        case "string": if case .string = v { return true } else { return false }
        case "mapping": if case .dict = v { return true } else { return false }
        case "iterable":
            switch v {
            case .undefined, .string, .list, .dict: return true
            case .object(let o):
                switch o.kind {
                case .tuple, .generator: return true
                default: return false
                }
            default: return false
            }
        case "sequence":
            switch v {
            case .undefined, .string, .list, .dict: return true
            case .object(let o): if case .tuple = o.kind { return true } else { return false }
            default: return false
            }
        case "callable":
            guard case .object(let o) = v else { return false }
            if case .tuple = o.kind { return false }
            if case .generator = o.kind { return false }
            return true
        case "sameas":
            switch (v, other) {
            case (.none, .none), (.undefined, .undefined): return true
            case (.bool(let x), .bool(let y)): return x == y
            case (.int(let x), .int(let y)): return x == y && (-5...256).contains(x)
            default: return false
            }
        case "escaped": return false
        case "eq", "equalto", "==": return Self.equal(v, other)
        case "ne", "!=": return !Self.equal(v, other)
        case "lt", "lessthan", "<": return try less(v, other)
        case "le", "<=": return try !less(other, v)
        case "gt", "greaterthan", ">": return try less(other, v)
        case "ge", ">=": return try !less(v, other)
        case "in": return try contains(other, v)
        case "divisibleby":
            guard let x = Self.number(v), let y = Self.number(other), y != 0 else {
                throw TemplateError(.type, "divisibleby needs numbers")
            }
            return fmod(x, y) == 0
        case "even", "odd":
            guard let x = Self.integer(v) else { throw TemplateError(.type, "\(name) needs an integer") }
            return (x % 2 == 0) == (name == "even")
        case "lower", "upper":
            let s = try str(v)
            let cased = s.unicodeScalars.filter { $0.properties.isCased }
            guard !cased.isEmpty else { return false }
            return name == "lower" ? s == s.lowercased() : s == s.uppercased()
        case "filter": return Self.filterNames.contains(try str(v))
        case "test": return Self.testNames.contains(try str(v))
        default: throw TemplateError(.type, "No test named '\(name)'.")
        }
    }
}
