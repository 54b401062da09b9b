/// One token of a template, with the line it starts on.
struct TemplateToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case text(String)
        case variableBegin
        case variableEnd
        case blockBegin
        case blockEnd
        case name(String)
        case string(String)
        case int(Int)
        case float(Double)
        case op(String)
        case end
    }

    var kind: Kind
    var line: Int
}

/// Splits a template into text and tag tokens as jinja2's lexer does with transformers' options: newlines
/// normalized, the final newline dropped, `-` whitespace control, `trim_blocks` (one newline after a block or comment
/// tag) and `lstrip_blocks` (blanks before a block or comment tag at the start of a line).
enum TemplateLexer {
    private static let operators2: Set<String> = ["//", "**", "==", "!=", ">=", "<="]
    private static let operators1: Set<Unicode.Scalar> = [
        "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";",
    ]

    static func tokenize(_ source: String) throws(TemplateError) -> [TemplateToken] {
        var s = normalizedNewlines(source)
        if s.last == "\n" { s.removeLast() }
        var lexer = Lexer(s: s)
        try lexer.run()
        lexer.tokens.append(TemplateToken(kind: .end, line: lexer.line))
        return lexer.tokens
    }

    private static func normalizedNewlines(_ source: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(source.unicodeScalars.count)
        var previousCR = false
        for c in source.unicodeScalars {
            if c == "\r" {
                out.append("\n")
                previousCR = true
                continue
            }
            if c == "\n", previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            out.append(c)
        }
        return out
    }

    private struct Lexer {
        let s: [Unicode.Scalar]
        var i = 0
        var line = 1
        var tokens: [TemplateToken] = []
        var lineStarting = true

        init(s: [Unicode.Scalar]) {
            self.s = s
        }

        func at(_ k: Int, _ text: String) -> Bool {
            var j = k
            for c in text.unicodeScalars {
                guard j < s.count, s[j] == c else { return false }
                j += 1
            }
            return true
        }

        func string(_ range: Range<Int>) -> String { String(String.UnicodeScalarView(s[range])) }

        mutating func emitText(_ text: [Unicode.Scalar], line textLine: Int) {
            if !text.isEmpty {
                tokens.append(TemplateToken(kind: .text(String(String.UnicodeScalarView(text))), line: textLine))
            }
        }

        mutating func count(_ range: Range<Int>) {
            for k in range where s[k] == "\n" { line += 1 }
        }

        /// The next tag start at or after `from`: its position and kind (`{`, `%`, `#`).
        func nextTag(from: Int) -> (Int, Unicode.Scalar)? {
            var k = from
            while k + 1 < s.count {
                if s[k] == "{", s[k + 1] == "{" || s[k + 1] == "%" || s[k + 1] == "#" { return (k, s[k + 1]) }
                k += 1
            }
            return nil
        }

        /// `{% raw %}` at `k` (with optional whitespace control): the index after its `%}`.
        func rawStart(_ k: Int) -> (end: Int, stripAfter: Bool)? {
            var j = k + 2
            if j < s.count, s[j] == "-" || s[j] == "+" { j += 1 }
            while j < s.count, s[j].properties.isWhitespace { j += 1 }
            guard at(j, "raw") else { return nil }
            j += 3
            while j < s.count, s[j].properties.isWhitespace { j += 1 }
            if at(j, "-%}") { return (j + 3, true) }
            if at(j, "%}") { return (j + 2, false) }
            return nil
        }

        mutating func run() throws(TemplateError) {
            while i < s.count {
                guard let (start, kind) = nextTag(from: i) else {
                    emitText(Array(s[i...]), line: line)
                    i = s.count
                    return
                }
                var text = Array(s[i..<start])
                let textLine = line
                let sign: Unicode.Scalar? =
                    start + 2 < s.count && (s[start + 2] == "-" || s[start + 2] == "+") ? s[start + 2] : nil
                if sign == "-" {
                    while let last = text.last, last.properties.isWhitespace { text.removeLast() }
                } else if sign != "+", kind != "{" {
                    let lineStart = (text.lastIndex(of: "\n").map { $0 + 1 }) ?? 0
                    if lineStart > 0 || lineStarting, lineStart < text.count,
                        text[lineStart...].allSatisfy({ $0.properties.isWhitespace })
                    {
                        text.removeSubrange(lineStart...)
                    }
                }
                emitText(text, line: textLine)
                count(i..<start)
                if kind == "%", let raw = rawStart(start) {
                    try lexRaw(from: raw.end, stripFirst: raw.stripAfter, tagStart: start)
                    continue
                }
                i = start + 2 + (sign == nil ? 0 : 1)
                switch kind {
                case "#": try lexComment(tagStart: start)
                case "{":
                    tokens.append(TemplateToken(kind: .variableBegin, line: line))
                    try lexTag(closing: "}}", trims: false)
                default:
                    tokens.append(TemplateToken(kind: .blockBegin, line: line))
                    try lexTag(closing: "%}", trims: true)
                }
            }
        }

        mutating func lexComment(tagStart: Int) throws(TemplateError) {
            var k = i
            while k + 1 < s.count, !(s[k] == "#" && s[k + 1] == "}") { k += 1 }
            guard k + 1 < s.count else { throw TemplateError(.syntax, "Missing end of comment tag", line: line) }
            var end = k + 2
            if k > i, s[k - 1] == "-" {
                while end < s.count, s[end].properties.isWhitespace { end += 1 }
            } else if !(k > i && s[k - 1] == "+"), end < s.count, s[end] == "\n" {
                end += 1
            }
            count(i..<end)
            lineStarting = end > 0 && s[end - 1] == "\n"
            i = end
        }

        mutating func lexRaw(from bodyStart: Int, stripFirst: Bool, tagStart: Int) throws(TemplateError) {
            var k = bodyStart
            if stripFirst { while k < s.count, s[k].properties.isWhitespace { k += 1 } }
            let contentStart = k
            while k + 1 < s.count {
                if s[k] == "{", s[k + 1] == "%" {
                    var j = k + 2
                    let sign: Unicode.Scalar? = j < s.count && (s[j] == "-" || s[j] == "+") ? s[j] : nil
                    if sign != nil { j += 1 }
                    while j < s.count, s[j].properties.isWhitespace { j += 1 }
                    if at(j, "endraw") {
                        j += 6
                        while j < s.count, s[j].properties.isWhitespace { j += 1 }
                        var body = Array(s[contentStart..<k])
                        if sign == "-" {
                            while let last = body.last, last.properties.isWhitespace { body.removeLast() }
                        }
                        emitText(body, line: line)
                        var end: Int
                        if at(j, "-%}") {
                            end = j + 3
                            while end < s.count, s[end].properties.isWhitespace { end += 1 }
                        } else if at(j, "+%}") {
                            end = j + 3
                        } else if at(j, "%}") {
                            end = j + 2
                            if end < s.count, s[end] == "\n" { end += 1 }
                        } else {
                            throw TemplateError(.syntax, "Missing end of raw directive", line: line)
                        }
                        count(tagStart..<end)
                        lineStarting = s[end - 1] == "\n"
                        i = end
                        return
                    }
                }
                k += 1
            }
            throw TemplateError(.syntax, "Missing end of raw directive", line: line)
        }

        mutating func lexTag(closing: String, trims: Bool) throws(TemplateError) {
            var balance: [Unicode.Scalar] = []
            while true {
                while i < s.count, s[i].properties.isWhitespace {
                    if s[i] == "\n" { line += 1 }
                    i += 1
                }
                guard i < s.count else {
                    throw TemplateError(.syntax, "unexpected end of template, expected '\(closing)'", line: line)
                }
                if balance.isEmpty {
                    var end: Int?
                    var strip = false
                    if at(i, "-" + closing) {
                        end = i + 3
                        strip = true
                    } else if trims, at(i, "+" + closing) {
                        end = i + 3
                    } else if at(i, closing) {
                        end = i + 2 + (trims && i + 2 < s.count && s[i + 2] == "\n" ? 1 : 0)
                    }
                    if var e = end {
                        if strip { while e < s.count, s[e].properties.isWhitespace { e += 1 } }
                        tokens.append(TemplateToken(kind: trims ? .blockEnd : .variableEnd, line: line))
                        count(i..<e)
                        lineStarting = s[e - 1] == "\n"
                        i = e
                        return
                    }
                }
                let c = s[i]
                if c == "'" || c == "\"" {
                    tokens.append(TemplateToken(kind: .string(try lexString(quote: c)), line: line))
                    continue
                }
                if c.isASCII, c.properties.numericType != nil {
                    tokens.append(TemplateToken(kind: lexNumber(), line: line))
                    continue
                }
                if c.properties.isXIDStart || c == "_" {
                    var j = i + 1
                    while j < s.count, s[j].properties.isXIDContinue { j += 1 }
                    tokens.append(TemplateToken(kind: .name(string(i..<j)), line: line))
                    i = j
                    continue
                }
                if i + 1 < s.count, operators2.contains(string(i..<(i + 2))) {
                    tokens.append(TemplateToken(kind: .op(string(i..<(i + 2))), line: line))
                    i += 2
                    continue
                }
                guard operators1.contains(c) else {
                    throw TemplateError(.syntax, "unexpected char '\(c)'", line: line)
                }
                switch c {
                case "(": balance.append(")")
                case "[": balance.append("]")
                case "{": balance.append("}")
                case ")", "]", "}":
                    guard let expected = balance.popLast() else {
                        throw TemplateError(.syntax, "unexpected '\(c)'", line: line)
                    }
                    guard expected == c else {
                        throw TemplateError(.syntax, "unexpected '\(c)', expected '\(expected)'", line: line)
                    }
                default: break
                }
                tokens.append(TemplateToken(kind: .op(String(c)), line: line))
                i += 1
            }
        }

        mutating func lexNumber() -> TemplateToken.Kind {
            func digits(_ k: inout Int) -> Bool {
                let start = k
                while k < s.count, s[k].isASCII, s[k].properties.numericType != nil || (s[k] == "_" && k > start) {
                    k += 1
                }
                return k > start
            }
            var k = i
            _ = digits(&k)
            var isFloat = false
            if k + 1 < s.count, s[k] == ".", s[k + 1].isASCII, s[k + 1].properties.numericType != nil {
                k += 1
                _ = digits(&k)
                isFloat = true
            }
            if k < s.count, s[k] == "e" || s[k] == "E" {
                var e = k + 1
                if e < s.count, s[e] == "+" || s[e] == "-" { e += 1 }
                if digits(&e) {
                    k = e
                    isFloat = true
                }
            }
            let text = string(i..<k).replacing("_", with: "")
            i = k
            if isFloat { return .float(Double(text) ?? .nan) }
            if let n = Int(text) { return .int(n) }
            return .float(Double(text) ?? .nan)
        }

        mutating func lexString(quote: Unicode.Scalar) throws(TemplateError) -> String {
            var out = String.UnicodeScalarView()
            var k = i + 1
            func hexValue(_ count: Int) -> Unicode.Scalar? {
                guard k + count < s.count,
                    let v = UInt32(String(String.UnicodeScalarView(s[(k + 1)...(k + count)])), radix: 16)
                else { return nil }
                return Unicode.Scalar(v)
            }
            while k < s.count, s[k] != quote {
                if s[k] == "\\", k + 1 < s.count {
                    k += 1
                    switch s[k] {
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    case "r": out.append("\r")
                    case "b": out.append("\u{08}")
                    case "f": out.append("\u{0C}")
                    case "v": out.append("\u{0B}")
                    case "a": out.append("\u{07}")
                    case "\\", "'", "\"": out.append(s[k])
                    case "\n": break
                    case "x", "u", "U":
                        let width = s[k] == "x" ? 2 : s[k] == "u" ? 4 : 8
                        guard let scalar = hexValue(width) else {
                            throw TemplateError(.syntax, "bad \\\(s[k]) escape in a string literal", line: line)
                        }
                        out.append(scalar)
                        k += width
                    case "0"..."7":
                        var value: UInt32 = 0
                        var n = 0
                        while n < 3, k < s.count, ("0"..."7").contains(s[k]) {
                            value = value * 8 + (s[k].value - 48)
                            k += 1
                            n += 1
                        }
                        k -= 1
                        out.append(Unicode.Scalar(value) ?? "\u{FFFD}")
                    default:
                        out.append("\\")
                        out.append(s[k])
                    }
                } else {
                    if s[k] == "\n" { line += 1 }
                    out.append(s[k])
                }
                k += 1
            }
            guard k < s.count else { throw TemplateError(.syntax, "unterminated string", line: line) }
            i = k + 1
            return String(out)
        }
    }
}
