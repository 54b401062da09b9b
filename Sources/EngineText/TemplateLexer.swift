/// Tokens of a template: text, `{{ … }}` and `{% … %}` with their expression tokens.
enum TemplateToken: Sendable {
    case text(String)
    case output([ExprToken], line: Int)
    case block([ExprToken], line: Int)
}

enum ExprToken: Sendable, Equatable {
    case name(String)
    case string(String)
    case int(Int)
    case double(Double)
    case op(String)
}

enum TemplateLexer {
    /// Splits a template into text and tags, applying `-` whitespace control, `trim_blocks` and `lstrip_blocks`.
    static func tokenize(_ source: String) throws -> [TemplateToken] {
        let s = Array(source.unicodeScalars)
        var tokens: [TemplateToken] = []
        var text = String.UnicodeScalarView()
        var i = 0
        var line = 1
        var stripNextWhitespace = false
        var trimNextNewline = false
        func flushText() {
            if !text.isEmpty { tokens.append(.text(String(text))) }
            text = String.UnicodeScalarView()
        }
        while i < s.count {
            if s[i] == "{", i + 1 < s.count, s[i + 1] == "{" || s[i + 1] == "%" || s[i + 1] == "#" {
                let kind = s[i + 1]
                let close: Unicode.Scalar = kind == "{" ? "}" : (kind == "%" ? "%" : "#")
                var j = i + 2
                let stripBefore = j < s.count && s[j] == "-"
                let keepBefore = j < s.count && s[j] == "+"
                if stripBefore || keepBefore { j += 1 }
                // Whitespace control before the tag.
                if stripBefore {
                    while let last = text.last, last.properties.isWhitespace { text.removeLast() }
                } else if kind != "{", !keepBefore {
                    // lstrip_blocks: remove spaces and tabs from the start of the line up to a block or comment.
                    var k = text.endIndex
                    var onlyBlanks = true
                    var atLineStart = false
                    while k > text.startIndex {
                        let previous = text.index(before: k)
                        if text[previous] == "\n" {
                            atLineStart = true
                            break
                        }
                        if text[previous] != " " && text[previous] != "\t" {
                            onlyBlanks = false
                            break
                        }
                        k = previous
                    }
                    if k == text.startIndex, onlyBlanks, tokens.isEmpty { atLineStart = true }
                    if onlyBlanks && atLineStart {
                        text.removeSubrange(k..<text.endIndex)
                    }
                }
                // Find the end of the tag (skipping string literals in expressions).
                var end = j
                var quote: Unicode.Scalar?
                while end + 1 < s.count {
                    if let q = quote {
                        if s[end] == "\\" {
                            end += 2
                            continue
                        }
                        if s[end] == q { quote = nil }
                    } else if kind != "#" && (s[end] == "'" || s[end] == "\"") {
                        quote = s[end]
                    } else if s[end] == close && s[end + 1] == "}" {
                        break
                    }
                    end += 1
                }
                guard end + 1 < s.count else { throw TemplateError(message: "line \(line): unclosed tag") }
                var bodyEnd = end
                let stripAfter = bodyEnd > j && s[bodyEnd - 1] == "-"
                if stripAfter { bodyEnd -= 1 }
                let body = String(String.UnicodeScalarView(s[j..<bodyEnd]))
                flushText()
                if kind == "{" {
                    tokens.append(.output(try lexExpression(body, line: line), line: line))
                } else if kind == "%" {
                    tokens.append(.block(try lexExpression(body, line: line), line: line))
                }
                for c in s[i..<(end + 2)] where c == "\n" { line += 1 }
                i = end + 2
                stripNextWhitespace = stripAfter
                trimNextNewline = kind != "{" && !stripAfter
                continue
            }
            if stripNextWhitespace {
                if s[i].properties.isWhitespace {
                    if s[i] == "\n" { line += 1 }
                    i += 1
                    continue
                }
                stripNextWhitespace = false
            }
            if trimNextNewline {
                trimNextNewline = false
                if s[i] == "\n" {
                    line += 1
                    i += 1
                    continue
                }
            }
            if s[i] == "\n" { line += 1 }
            text.append(s[i])
            i += 1
        }
        flushText()
        return tokens
    }

    static func lexExpression(_ body: String, line: Int) throws -> [ExprToken] {
        let s = Array(body.unicodeScalars)
        var tokens: [ExprToken] = []
        var i = 0
        let twoCharacter = ["==", "!=", "<=", ">=", "//", "**"]
        while i < s.count {
            let c = s[i]
            if c.properties.isWhitespace {
                i += 1
                continue
            }
            if c == "'" || c == "\"" {
                var out = String.UnicodeScalarView()
                i += 1
                while i < s.count, s[i] != c {
                    if s[i] == "\\", i + 1 < s.count {
                        i += 1
                        switch s[i] {
                        case "n": out.append("\n")
                        case "t": out.append("\t")
                        case "r": out.append("\r")
                        default: out.append(s[i])
                        }
                    } else {
                        out.append(s[i])
                    }
                    i += 1
                }
                guard i < s.count else { throw TemplateError(message: "line \(line): unterminated string") }
                i += 1
                tokens.append(.string(String(out)))
                continue
            }
            if c.properties.numericType != nil, c.isASCII {
                var j = i
                while j < s.count, s[j].isASCII, s[j].properties.numericType != nil || s[j] == "." { j += 1 }
                let text = String(String.UnicodeScalarView(s[i..<j]))
                if let n = Int(text) {
                    tokens.append(.int(n))
                } else if let d = Double(text) {
                    tokens.append(.double(d))
                }
                i = j
                continue
            }
            if c.properties.isAlphabetic || c == "_" {
                var j = i
                while j < s.count,
                    s[j].properties.isAlphabetic || s[j] == "_" || (s[j].isASCII && s[j].properties.numericType != nil)
                { j += 1 }
                tokens.append(.name(String(String.UnicodeScalarView(s[i..<j]))))
                i = j
                continue
            }
            if i + 1 < s.count, twoCharacter.contains(String(String.UnicodeScalarView(s[i...(i + 1)]))) {
                tokens.append(.op(String(String.UnicodeScalarView(s[i...(i + 1)]))))
                i += 2
                continue
            }
            if "+-*/%~|.,:()[]{}=<>!".unicodeScalars.contains(c) {
                tokens.append(.op(String(c)))
                i += 1
                continue
            }
            throw TemplateError(message: "line \(line): unexpected character \(c)")
        }
        return tokens
    }
}
