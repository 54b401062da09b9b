internal import Foundation

/// A value inside a chat template: what the Jinja subset of chat templates computes with, with Python's semantics.
public enum TemplateValue: Sendable, Hashable {
    /// jinja2's default `Undefined`: prints as nothing, is falsy and iterates as empty; reading an attribute of it
    /// raises.
    case undefined
    /// Python's `None`.
    case none
    /// A Python `bool`.
    case bool(Bool)
    /// A Python `int`.
    case int(Int)
    /// A Python `float`.
    case double(Double)
    /// A Python `str`.
    case string(String)
    /// A Python `list` (tuples are lists here, except that they print with parentheses: see ``tuple(_:)``).
    case list([TemplateValue])
    /// A Python `dict` with string keys, in insertion order.
    case dict([Pair])
    /// A `namespace()` object, by its index in the render's namespace table.
    case namespace(Int)
    /// Something a template can hold but not build from data: a Python tuple, a generator (what `map`, `select`
    /// and friends return), a macro, a built-in function or a bound method.
    case object(TemplateObject)

    /// One key/value pair of a dict, in insertion order.
    public struct Pair: Sendable, Hashable {
        /// The key (as Python's `str()` writes it when the template used a number, bool or `None` as key).
        public var key: String
        /// The value.
        public var value: TemplateValue
        /// A key that is not a string (a dict literal such as `{4096: 512}` in a template), else `nil`.
        var nonStringKey: TemplateValue?

        /// Creates a pair.
        public init(_ key: String, _ value: TemplateValue) {
            self.key = key
            self.value = value
        }

        init(key: TemplateValue, value: TemplateValue) {
            if case .string(let s) = key {
                self.key = s
            } else {
                self.key = key.repr
                nonStringKey = key
            }
            self.value = value
        }

        /// The key as the template sees it.
        var keyValue: TemplateValue { nonStringKey ?? .string(key) }
    }

    /// A Python tuple.
    public static func tuple(_ items: [TemplateValue]) -> TemplateValue { .object(TemplateObject(.tuple(items))) }

    /// Converts JSON-like values (from `JSONSerialization` or literals) into template values.
    public static func from(_ any: Any?) -> TemplateValue {
        switch any {
        case nil: return .none
        case let v as TemplateValue: return v
        case let v as Bool: return .bool(v)
        case let v as Int: return .int(v)
        case let v as Double: return .double(v)
        case let v as String: return .string(v)
        case let v as [Any]: return .list(v.map(from))
        case let v as [(String, Any)]: return .dict(v.map { Pair($0.0, from($0.1)) })
        case let v as [String: Any]: return .dict(v.keys.sorted().map { Pair($0, from(v[$0])) })
        default: return .none
        }
    }

    /// The items when the value is a sequence (list, tuple or generator).
    var sequence: [TemplateValue]? {
        switch self {
        case .list(let items): return items
        case .object(let o):
            switch o.kind {
            case .tuple(let items), .generator(let items): return items
            default: return nil
            }
        default: return nil
        }
    }

    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .dict(let d): return !d.isEmpty
        case .namespace: return true
        case .object(let o):
            if case .tuple(let items) = o.kind { return !items.isEmpty }
            return true
        }
    }

    /// How `{{ value }}` prints it (Python's `str`).
    public var rendered: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr
        }
    }

    /// Python's `repr`.
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return Self.pythonFloat(d)
        case .string(let s): return Self.pythonRepr(s)
        case .list(let items): return "[" + items.map(\.repr).joined(separator: ", ") + "]"
        case .dict(let pairs):
            return "{" + pairs.map { $0.keyValue.repr + ": " + $0.value.repr }.joined(separator: ", ") + "}"
        case .namespace: return "<Namespace>"
        case .object(let o):
            switch o.kind {
            case .tuple(let items):
                return "(" + items.map(\.repr).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
            case .generator: return "<generator object>"
            case .macro: return "<Macro>"
            case .function(let name): return "<function \(name)>"
            case .method(_, let name): return "<built-in method \(name)>"
            case .loop: return "<LoopContext>"
            }
        }
    }

    /// Python's `repr` of a float: the shortest text that reads back, in exponent form outside [1e-4, 1e16).
    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        let magnitude = abs(d)
        var text = "\(d)"
        if magnitude >= 1e16 || magnitude < 1e-4 {
            // Swift writes 1e-05 and 1e+16 like Python; make sure the mantissa has no trailing ".0".
            if !text.contains("e") { text = String(format: "%.17g", d) }
            text = text.replacing(".0e", with: "e")
            return text
        }
        if text.contains("e") {
            // Swift chose an exponent where Python does not: print positionally.
            var digits = String(format: "%.17f", d)
            while digits.hasSuffix("0") { digits.removeLast() }
            if digits.hasSuffix(".") { digits += "0" }
            return digits
        }
        return text.contains(".") ? text : text + ".0"
    }

    /// Python's `repr` of a `str`.
    static func pythonRepr(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote {
                    out += "\\" + String(quote)
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + hex(scalar.value, width: 2)
                } else if scalar.value >= 0x80, !isPrintable(scalar) {
                    let width = scalar.value <= 0xFF ? 2 : scalar.value <= 0xFFFF ? 4 : 8
                    out += (width == 2 ? "\\x" : width == 4 ? "\\u" : "\\U") + hex(scalar.value, width: width)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append(quote)
        return out
    }

    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
            .spaceSeparator:
            return scalar == " "
        default: return true
        }
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// A template value that only a template can make: a tuple, a generator, a macro, a function or a bound method.
public struct TemplateObject: Sendable, Hashable {
    indirect enum Kind: Sendable, Hashable {
        case tuple([TemplateValue])
        case generator([TemplateValue])
        case macro(Int)
        case function(String)
        case method(TemplateValue, String)
        case loop(Int)
    }

    let kind: Kind

    init(_ kind: Kind) {
        self.kind = kind
    }
}

extension TemplateValue {
    /// Parses JSON text, keeping object keys in document order (so `tojson` writes them back in the same order).
    ///
    /// - Throws: ``TemplateError`` when the text is not JSON.
    public static func parseJSON(_ text: String) throws(TemplateError) -> TemplateValue {
        var parser = JSONParser(scalars: Array(text.unicodeScalars))
        let value = try parser.value()
        parser.skipSpace()
        guard parser.index == parser.scalars.count else {
            throw TemplateError(.syntax, "trailing characters in JSON at offset \(parser.index)")
        }
        return value
    }
}

struct JSONParser {
    let scalars: [Unicode.Scalar]
    var index = 0

    mutating func skipSpace() {
        while index < scalars.count, [" ", "\n", "\r", "\t"].contains(scalars[index]) { index += 1 }
    }

    func fail(_ message: String) -> TemplateError { TemplateError(.syntax, "\(message) in JSON at offset \(index)") }

    mutating func value() throws(TemplateError) -> TemplateValue {
        skipSpace()
        guard index < scalars.count else { throw fail("unexpected end") }
        switch scalars[index] {
        case "{":
            index += 1
            var pairs: [TemplateValue.Pair] = []
            skipSpace()
            if index < scalars.count, scalars[index] == "}" {
                index += 1
                return .dict(pairs)
            }
            while true {
                skipSpace()
                guard case .string(let key) = try value() else { throw fail("object key must be a string") }
                skipSpace()
                guard index < scalars.count, scalars[index] == ":" else { throw fail("expected ':'") }
                index += 1
                pairs.append(TemplateValue.Pair(key, try value()))
                skipSpace()
                guard index < scalars.count else { throw fail("unterminated object") }
                if scalars[index] == "," {
                    index += 1
                    continue
                }
                if scalars[index] == "}" {
                    index += 1
                    return .dict(pairs)
                }
                throw fail("expected ',' or '}'")
            }
        case "[":
            index += 1
            var items: [TemplateValue] = []
            skipSpace()
            if index < scalars.count, scalars[index] == "]" {
                index += 1
                return .list(items)
            }
            while true {
                items.append(try value())
                skipSpace()
                guard index < scalars.count else { throw fail("unterminated array") }
                if scalars[index] == "," {
                    index += 1
                    continue
                }
                if scalars[index] == "]" {
                    index += 1
                    return .list(items)
                }
                throw fail("expected ',' or ']'")
            }
        case "\"":
            index += 1
            var out = String.UnicodeScalarView()
            while index < scalars.count, scalars[index] != "\"" {
                if scalars[index] == "\\", index + 1 < scalars.count {
                    index += 1
                    switch scalars[index] {
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    case "r": out.append("\r")
                    case "b": out.append("\u{08}")
                    case "f": out.append("\u{0C}")
                    case "u":
                        var code = hex4(at: index + 1)
                        index += 4
                        if (0xD800...0xDBFF).contains(code), index + 6 < scalars.count, scalars[index + 1] == "\\" {
                            let low = hex4(at: index + 3)
                            code = 0x10000 + ((code - 0xD800) << 10) + (low &- 0xDC00)
                            index += 6
                        }
                        out.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                    default: out.append(scalars[index])
                    }
                } else {
                    out.append(scalars[index])
                }
                index += 1
            }
            index += 1
            return .string(String(out))
        default:
            let start = index
            while index < scalars.count, !",]} \n\r\t".unicodeScalars.contains(scalars[index]) { index += 1 }
            let word = String(String.UnicodeScalarView(scalars[start..<index]))
            switch word {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null": return .none
            default:
                if let i = Int(word) { return .int(i) }
                if let d = Double(word) { return .double(d) }
                throw fail("invalid value \(word)")
            }
        }
    }

    private func hex4(at position: Int) -> UInt32 {
        guard position + 4 <= scalars.count else { return 0xFFFD }
        return UInt32(String(String.UnicodeScalarView(scalars[position..<(position + 4)])), radix: 16) ?? 0xFFFD
    }
}
