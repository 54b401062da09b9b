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
        var out: [UInt8] = []
        out.reserveCapacity(2048)
        emit(node, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends one node as a document body ending with `\n` (no `---`) to `out`, as UTF-8.
    public static func emit(_ node: Node, into out: inout [UInt8]) {
        switch node.content {
        case .scalar:
            appendScalarText(node, to: &out)
            out.append(newline)
        case .sequence(let items) where items.isEmpty:
            out += "[]\n".utf8
        case .mapping(let pairs) where pairs.isEmpty:
            out += "{}\n".utf8
        default:
            block(node, indent: 0, continuesLine: false, into: &out)
        }
    }

    /// Emits several documents separated by `---` lines.
    public static func emit(documents: [Node]) -> String {
        documents.map { "---\n" + emit($0) }.joined()
    }

    // MARK: Blocks

    private static let newline = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " ")

    private static func pad(_ n: Int, into out: inout [UInt8]) {
        for _ in 0..<n { out.append(space) }
    }

    private static func emptyCollection(_ node: Node) -> StaticString? {
        switch node.content {
        case .sequence(let items) where items.isEmpty: return "[]"
        case .mapping(let pairs) where pairs.isEmpty: return "{}"
        default: return nil
        }
    }

    private static func append(_ text: StaticString, to out: inout [UInt8]) {
        text.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    /// The explicit tag written before a node (`!custom `), or `nil` for none or a core-schema tag.
    private static func customTag(_ node: Node) -> String? {
        guard let tag = node.tag, !tag.hasPrefix("tag:yaml.org,2002:") else { return nil }
        return tag
    }

    /// Writes the lines of a non-empty collection at an indentation.
    ///
    /// When `continuesLine` is set, the first line goes on the current line (after a sequence item's `- `) instead of
    /// starting with the indentation.
    private static func block(_ node: Node, indent: Int, continuesLine: Bool, into out: inout [UInt8]) {
        var continuing = continuesLine
        switch node.content {
        case .mapping(let pairs):
            for pair in pairs {
                if continuing { continuing = false } else { pad(indent, into: &out) }
                appendKey(pair.key, to: &out)
                out.append(UInt8(ascii: ":"))
                let value = pair.value
                if let empty = emptyCollection(value) {
                    out.append(space)
                    if let tag = customTag(value) {
                        append(tag, to: &out)
                        out.append(space)
                    }
                    append(empty, to: &out)
                    out.append(newline)
                    continue
                }
                switch value.content {
                case .scalar:
                    out.append(space)
                    appendScalar(value, indent: indent + 2, into: &out)
                case .mapping:
                    if let tag = customTag(value) {
                        out.append(space)
                        append(tag, to: &out)
                    }
                    out.append(newline)
                    block(value, indent: indent + 2, continuesLine: false, into: &out)
                case .sequence:
                    if let tag = customTag(value) {
                        out.append(space)
                        append(tag, to: &out)
                    }
                    out.append(newline)
                    block(value, indent: indent, continuesLine: false, into: &out)
                }
            }
        case .sequence(let items):
            for item in items {
                if continuing { continuing = false } else { pad(indent, into: &out) }
                out.append(UInt8(ascii: "-"))
                out.append(space)
                if let empty = emptyCollection(item) {
                    if let tag = customTag(item) {
                        append(tag, to: &out)
                        out.append(space)
                    }
                    append(empty, to: &out)
                    out.append(newline)
                    continue
                }
                switch item.content {
                case .scalar:
                    appendScalar(item, indent: indent + 2, into: &out)
                case .mapping, .sequence:
                    block(item, indent: indent + 2, continuesLine: true, into: &out)
                }
            }
        case .scalar:
            if !continuing { pad(indent, into: &out) }
            appendScalar(node, indent: indent, into: &out)
        }
    }

    /// Writes a scalar value and ends its line (a literal block ends with its last line).
    private static func appendScalar(_ node: Node, indent: Int, into out: inout [UInt8]) {
        guard case .scalar(let text, _) = node.content else { return }
        if let tag = customTag(node) {
            append(tag, to: &out)
            out.append(space)
        }
        if isString(node), appendLiteralBlock(text, indent: indent, into: &out) { return }
        appendScalarText(node, to: &out)
        out.append(newline)
    }

    // MARK: Scalars

    /// Whether the node is a string (see the type's discussion).
    static func isString(_ node: Node) -> Bool {
        guard case .scalar(let text, let style) = node.content else { return false }
        if let tag = node.tag { return tag == "tag:yaml.org,2002:str" || !tag.hasPrefix("tag:yaml.org,2002:") }
        if style != .plain { return true }
        return ScalarResolver.resolve(text) == .string
    }

    private static func appendKey(_ key: Node, to out: inout [UInt8]) {
        guard case .scalar(let text, _) = key.content else {
            append("\"\"", to: &out)
            return
        }
        if needsQuotes(text) { append(doubleQuoted(text), to: &out) } else { append(text, to: &out) }
    }

    private static func appendScalarText(_ node: Node, to out: inout [UInt8]) {
        guard case .scalar(let text, _) = node.content else { return }
        if isString(node), needsQuotes(text) { append(doubleQuoted(text), to: &out) } else { append(text, to: &out) }
    }

    /// Writes a multi-line string as a literal block (`|`, `|-`, `|+`) at `indent` when that reproduces it exactly;
    /// returns whether it did.
    private static func appendLiteralBlock(_ text: String, indent: Int, into out: inout [UInt8]) -> Bool {
        var hasNewline = false
        var isASCII = true
        for byte in text.utf8 {
            if byte == newline {
                hasNewline = true
            } else if byte >= 0x80 {
                isASCII = false
            } else if byte != UInt8(ascii: "\t"), byte < 0x20 || byte == 0x7F {
                return false  // control characters, `\r` among them
            }
        }
        guard hasNewline else { return false }
        if !isASCII, !text.unicodeScalars.allSatisfy({ $0 == "\n" || $0 == "\t" || isPrintable($0) }) { return false }
        var text = text
        return text.withUTF8 { bytes -> Bool in
            var end = bytes.count
            var trailing = 0
            while end > 0, bytes[end - 1] == newline {
                end -= 1
                trailing += 1
            }
            // The first line must set the indentation: not empty, not starting with a space or tab.
            guard end > 0, bytes[0] != space, bytes[0] != UInt8(ascii: "\t"), bytes[0] != newline else { return false }
            // Lines made only of spaces would be read as indentation.
            var lineStart = 0
            var onlySpaces = true
            for i in 0...end {
                if i == end || bytes[i] == newline {
                    if i > lineStart, onlySpaces { return false }
                    lineStart = i + 1
                    onlySpaces = true
                } else if bytes[i] != space {
                    onlySpaces = false
                }
            }
            out.append(UInt8(ascii: "|"))
            if trailing == 0 { out.append(UInt8(ascii: "-")) } else if trailing > 1 { out.append(UInt8(ascii: "+")) }
            out.append(newline)
            lineStart = 0
            for i in 0...end where i == end || bytes[i] == newline {
                if i > lineStart {
                    pad(indent, into: &out)
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[lineStart..<i]))
                }
                out.append(newline)
                lineStart = i + 1
            }
            for _ in 0..<max(trailing - 1, 0) { out.append(newline) }
            return true
        }
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
