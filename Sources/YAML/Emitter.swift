/// Writes ``Node`` trees as deterministic block-style YAML.
///
/// The style is the one `kubectl` and kustomize print: two-space indentation, keys in the order given, sequences in a
/// mapping indented at their key's level (`key:` then `- item`), no line wrapping, `\n` line endings, one trailing
/// newline. Strings are written plain when that reads back as the same string, otherwise double-quoted; multi-line
/// strings are literal blocks (`|`, `|-`, `|+`) when that is exact.
///
/// Whether a scalar is a string: a scalar of style `.plain` whose text resolves to another type (`80`, `true`,
/// `null`) is that type and is written plain; every other scalar (quoted or block style, a plain one that resolves
/// to a string, or one tagged `!!str`) is a string and is quoted wherever plain would change its type, so
/// `Node.string("true")` becomes `"true"` and `Node.scalar("80")` becomes `80`.
public enum YAMLEmitter {
    /// Emits one node as a document body ending with `\n` (no `---`).
    public static func emit(_ node: Node) -> String {
        var out = ""
        switch node.content {
        case .scalar:
            out = scalarText(node, indent: 0) + "\n"
        case .sequence(let items) where items.isEmpty:
            out = "[]\n"
        case .mapping(let pairs) where pairs.isEmpty:
            out = "{}\n"
        default:
            for line in block(node, indent: 0) { out += line + "\n" }
        }
        return out
    }

    /// Emits several documents separated by `---` lines.
    public static func emit(documents: [Node]) -> String {
        documents.map { "---\n" + emit($0) }.joined()
    }

    // MARK: Blocks

    private static func pad(_ n: Int) -> String { String(repeating: " ", count: n) }

    private static func isEmptyCollection(_ node: Node) -> String? {
        switch node.content {
        case .sequence(let items) where items.isEmpty: return "[]"
        case .mapping(let pairs) where pairs.isEmpty: return "{}"
        default: return nil
        }
    }

    private static func tagPrefix(_ node: Node) -> String {
        guard let tag = node.tag, !tag.hasPrefix("tag:yaml.org,2002:") else { return "" }
        return tag + " "
    }

    /// Lines of a non-empty collection at `indent`; the first line starts with `firstPrefix` instead of the
    /// indentation when one is given (a mapping or sequence that is a sequence item starts after `- `).
    private static func block(_ node: Node, indent: Int, firstPrefix: String? = nil) -> [String] {
        var lines: [String] = []
        let p = pad(indent)

        switch node.content {
        case .mapping(let pairs):
            for pair in pairs {
                let key = p + keyText(pair.key) + ":"
                let value = pair.value
                if let empty = isEmptyCollection(value) {
                    lines.append(key + " " + tagPrefix(value) + empty)
                    continue
                }
                switch value.content {
                case .scalar:
                    appendScalar(value, prefix: key + " ", indent: indent + 2, into: &lines)
                case .mapping:
                    lines.append(key + (tagPrefix(value).isEmpty ? "" : " " + tagPrefix(value).dropLast()))
                    lines += block(value, indent: indent + 2)
                case .sequence:
                    lines.append(key + (tagPrefix(value).isEmpty ? "" : " " + tagPrefix(value).dropLast()))
                    lines += block(value, indent: indent)
                }
            }
        case .sequence(let items):
            for item in items {
                if let empty = isEmptyCollection(item) {
                    lines.append(p + "- " + tagPrefix(item) + empty)
                    continue
                }
                switch item.content {
                case .scalar:
                    appendScalar(item, prefix: p + "- ", indent: indent + 2, into: &lines)
                case .mapping, .sequence:
                    lines += block(item, indent: indent + 2, firstPrefix: p + "- ")
                }
            }
        case .scalar:
            appendScalar(node, prefix: p, indent: indent, into: &lines)
        }
        if let firstPrefix, !lines.isEmpty {
            lines[0] = firstPrefix + String(decoding: lines[0].utf8.dropFirst(indent), as: UTF8.self)
        }
        return lines
    }

    private static func appendScalar(_ node: Node, prefix: String, indent: Int, into lines: inout [String]) {
        guard case .scalar(let text, _) = node.content else { return }
        if isString(node), let literal = literalBlock(text) {
            lines.append(prefix + tagPrefix(node) + literal.header)
            for line in literal.lines {
                lines.append(line.isEmpty ? "" : pad(indent) + line)
            }
            return
        }
        lines.append(prefix + tagPrefix(node) + scalarText(node, indent: indent))
    }

    // MARK: Scalars

    /// Whether the node is a string (see the type's discussion).
    static func isString(_ node: Node) -> Bool {
        guard case .scalar(let text, let style) = node.content else { return false }
        if let tag = node.tag { return tag == "tag:yaml.org,2002:str" || !tag.hasPrefix("tag:yaml.org,2002:") }
        if style != .plain { return true }
        return ScalarResolver.resolve(text) == .string
    }

    private static func keyText(_ key: Node) -> String {
        guard case .scalar(let text, _) = key.content else { return "\"\"" }
        return needsQuotes(text) ? doubleQuoted(text) : text
    }

    private static func scalarText(_ node: Node, indent: Int) -> String {
        guard case .scalar(let text, _) = node.content else { return "" }
        if !isString(node) { return text }
        return needsQuotes(text) ? doubleQuoted(text) : text
    }

    /// A literal block (`|`) for multi-line strings, when it reproduces the text exactly.
    private static func literalBlock(_ text: String) -> (header: String, lines: [String])? {
        guard text.contains("\n"), !text.contains("\r") else { return nil }
        guard text.unicodeScalars.allSatisfy({ $0 == "\n" || $0 == "\t" || isPrintable($0) }) else { return nil }
        var body = Substring(text)
        var trailing = 0
        while body.hasSuffix("\n") {
            body = body.dropLast()
            trailing += 1
        }
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let first = lines.first, !first.hasPrefix(" "), !first.hasPrefix("\t"), !first.isEmpty else { return nil }
        // Lines made only of spaces would be read as indentation.
        guard lines.allSatisfy({ $0.isEmpty || !$0.allSatisfy { $0 == " " } }) else { return nil }
        let chomp: String
        switch trailing {
        case 0: chomp = "-"
        case 1: chomp = ""
        default: chomp = "+"
        }
        return ("|" + chomp, lines + Array(repeating: "", count: max(trailing - 1, 0)))
    }

    private static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x20 || v == 0x7F { return false }
        if (0x80...0x9F).contains(v) { return false }
        if v == 0x2028 || v == 0x2029 || v == 0xFEFF { return false }
        if (0xD800...0xDFFF).contains(v) || v == 0xFFFE || v == 0xFFFF { return false }
        return true
    }

    /// Whether a plain scalar with this text would read back as something else than this string.
    ///
    /// - Complexity: O(n) in the UTF-8 length, with an ASCII fast path.
    static func needsQuotes(_ text: String) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last else { return true }
        if ScalarResolver.looksNonString(text) { return true }
        let space = UInt8(ascii: " ")
        let tab = UInt8(ascii: "\t")
        if first == space || last == space || first == tab || last == tab || last == UInt8(ascii: ":") { return true }
        switch first {
        case UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"),
            UInt8(ascii: "#"), UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: "!"), UInt8(ascii: "|"),
            UInt8(ascii: ">"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "%"), UInt8(ascii: "@"),
            UInt8(ascii: "`"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "?"), UInt8(ascii: ":"):
            // `-`, `?` and `:` start a plain scalar only when a non-space follows (`--port` is plain, `- x` is not).
            let second = bytes.dropFirst().first
            if second == nil || second == space || second == tab { return true }
            if first != UInt8(ascii: "?"), bytes.starts(with: first == UInt8(ascii: "-") ? "---".utf8 : ":".utf8),
                first == UInt8(ascii: "-")
            {
                return true
            }
        case UInt8(ascii: "."):
            if bytes.starts(with: "...".utf8) { return true }
        case UInt8(ascii: "<"):
            if text == "<<" { return true }
        default:
            break
        }
        var previous: UInt8 = 0
        var isASCII = true
        for byte in bytes {
            if byte >= 0x80 {
                isASCII = false
            } else if byte < 0x20 || byte == 0x7F {
                return true
            }
            if previous == UInt8(ascii: ":"), byte == space || byte == tab { return true }
            if byte == UInt8(ascii: "#"), previous == space || previous == tab { return true }
            previous = byte
        }
        if !isASCII, !text.unicodeScalars.allSatisfy(isPrintable) { return true }
        return false
    }

    static func doubleQuoted(_ text: String) -> String {
        var out = "\""
        for c in text.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\0": out += "\\0"
            case "\u{85}": out += "\\N"
            case "\u{2028}": out += "\\L"
            case "\u{2029}": out += "\\P"
            default:
                if isPrintable(c) {
                    out.unicodeScalars.append(c)
                } else if c.value <= 0xFF {
                    let hex = String(c.value, radix: 16, uppercase: true)
                    out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                } else {
                    var hex = String(c.value, radix: 16, uppercase: true)
                    while hex.count < 4 { hex = "0" + hex }
                    out += "\\u" + hex
                }
            }
        }
        return out + "\""
    }
}

extension Node {
    /// A string scalar: the emitter writes it plain when that keeps it a string, quoted otherwise.
    public static func string(_ value: String, mark: Mark = Mark(line: 0, column: 0)) -> Node {
        Node(.scalar(value, .doubleQuoted), mark: mark)
    }
}
