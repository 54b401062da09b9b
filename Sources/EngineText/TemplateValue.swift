/// A value inside a chat template: what the Jinja subset of chat templates computes with.
public enum TemplateValue: Sendable, Hashable {
    case undefined
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([TemplateValue])
    case dict([Pair])
    /// A `namespace()` object, by its index in the render's namespace table.
    case namespace(Int)

    /// One key/value pair of a dict, in insertion order.
    public struct Pair: Sendable, Hashable {
        /// The key.
        public var key: String
        /// The value.
        public var value: TemplateValue

        /// Creates a pair.
        public init(_ key: String, _ value: TemplateValue) {
            self.key = key
            self.value = value
        }
    }

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
        }
    }

    /// How `{{ value }}` prints it (Python's `str`).
    public var rendered: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e16 ? String(format1(d)) : "\(d)"
        case .string(let s): return s
        case .list(let items): return "[" + items.map(\.repr).joined(separator: ", ") + "]"
        case .dict(let pairs): return "{" + pairs.map { "'\($0.key)': \($0.value.repr)" }.joined(separator: ", ") + "}"
        case .namespace: return "<Namespace>"
        }
    }

    private func format1(_ d: Double) -> String { String(Int(d)) + ".0" }

    /// Python's `repr`.
    var repr: String {
        if case .string(let s) = self { return "'" + s.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'" }
        return rendered
    }

    /// JSON as Python's `json.dumps(ensure_ascii=False)` writes it.
    func json(indent: Int?, level: Int = 0) -> String {
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
        let closing = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
        let separator = indent == nil ? ", " : ","
        switch self {
        case .undefined, .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e16 ? format1(d) : "\(d)"
        case .string(let s): return Self.jsonString(s)
        case .namespace: return "{}"
        case .list(let items):
            if items.isEmpty { return "[]" }
            return "["
                + items.map { (newline ?? "") + $0.json(indent: indent, level: level + 1) }.joined(separator: separator)
                + closing + "]"
        case .dict(let pairs):
            if pairs.isEmpty { return "{}" }
            return "{"
                + pairs.map {
                    (newline ?? "") + Self.jsonString($0.key) + ": " + $0.value.json(indent: indent, level: level + 1)
                }
                .joined(separator: separator) + closing + "}"
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 {
                    let hex = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}

extension TemplateValue {
    /// Parses JSON text, keeping object keys in document order (so `tojson` writes them back in the same order).
    public static func parseJSON(_ text: String) throws -> TemplateValue {
        var parser = JSONParser(scalars: Array(text.unicodeScalars))
        let value = try parser.value()
        parser.skipSpace()
        guard parser.index == parser.scalars.count else { throw TemplateError(message: "trailing characters in JSON") }
        return value
    }
}

struct JSONParser {
    let scalars: [Unicode.Scalar]
    var index = 0

    mutating func skipSpace() {
        while index < scalars.count, [" ", "\n", "\r", "\t"].contains(scalars[index]) { index += 1 }
    }

    mutating func value() throws -> TemplateValue {
        skipSpace()
        guard index < scalars.count else { throw TemplateError(message: "unexpected end of JSON") }
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
                guard case .string(let key) = try value() else {
                    throw TemplateError(message: "JSON object key must be a string")
                }
                skipSpace()
                guard index < scalars.count, scalars[index] == ":" else {
                    throw TemplateError(message: "expected ':' in JSON")
                }
                index += 1
                pairs.append(TemplateValue.Pair(key, try value()))
                skipSpace()
                guard index < scalars.count else { throw TemplateError(message: "unterminated JSON object") }
                if scalars[index] == "," {
                    index += 1
                    continue
                }
                if scalars[index] == "}" {
                    index += 1
                    return .dict(pairs)
                }
                throw TemplateError(message: "expected ',' or '}' in JSON")
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
                guard index < scalars.count else { throw TemplateError(message: "unterminated JSON array") }
                if scalars[index] == "," {
                    index += 1
                    continue
                }
                if scalars[index] == "]" {
                    index += 1
                    return .list(items)
                }
                throw TemplateError(message: "expected ',' or ']' in JSON")
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
                        let hex = String(String.UnicodeScalarView(scalars[(index + 1)..<min(index + 5, scalars.count)]))
                        var code = UInt32(hex, radix: 16) ?? 0xFFFD
                        index += 4
                        if (0xD800...0xDBFF).contains(code), index + 6 < scalars.count, scalars[index + 1] == "\\" {
                            let low =
                                UInt32(String(String.UnicodeScalarView(scalars[(index + 3)..<(index + 7)])), radix: 16)
                                ?? 0
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
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
                throw TemplateError(message: "invalid JSON value \(word)")
            }
        }
    }
}
