/// Compiles a JSON Schema `pattern` (ECMA-262 syntax, the practical subset) into grammar items that spell, between a
/// string's quotes, exactly the JSON-escaped texts the pattern matches in full.
///
/// Supported: literal characters and escapes (`\.`, `\-`, `\n`, …), classes with ASCII ranges (`[a-z0-9_]`, negated
/// `[^…]` over ASCII plus every non-ASCII character), `\d`, `\w`, `\s`, `.`, groups (`(…)`, `(?:…)`), `|`, and the
/// quantifiers `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}` (greedy or lazy: the same language). A leading `^` and trailing
/// `$` are dropped: the whole string matches, which also satisfies the unanchored search JSON Schema specifies.
/// Lookarounds, backreferences and non-ASCII ranges are ``JSONSchemaError``s.
struct PatternGrammar {
    let source: [Unicode.Scalar]
    let pointer: String
    var position = 0

    init(source: [Unicode.Scalar], pointer: String) {
        self.source = source
        self.pointer = pointer
    }

    typealias Item = GrammarBuilder.Item

    func fail(_ message: String) -> JSONSchemaError {
        JSONSchemaError(pointer: pointer, message: "\(message) at offset \(position) of the pattern")
    }

    var peek: Unicode.Scalar? { position < source.count ? source[position] : nil }

    mutating func compile(into builder: inout GrammarBuilder) throws(JSONSchemaError) -> [Item] {
        if peek == "^" { position += 1 }
        var end = source.count
        if end > position, source[end - 1] == "$", end < 2 || source[end - 2] != "\\" { end -= 1 }
        let body = PatternGrammar(source: Array(source[position..<end]), pointer: pointer)
        var parser = body
        let items = try parser.alternation(&builder)
        guard parser.position == parser.source.count else { throw parser.fail("unexpected )") }
        return items
    }

    mutating func alternation(_ builder: inout GrammarBuilder) throws(JSONSchemaError) -> [Item] {
        var alternatives = [try sequence(&builder)]
        while peek == "|" {
            position += 1
            alternatives.append(try sequence(&builder))
        }
        return alternatives.count == 1 ? alternatives[0] : [builder.choice(alternatives)]
    }

    mutating func sequence(_ builder: inout GrammarBuilder) throws(JSONSchemaError) -> [Item] {
        var items: [Item] = []
        while let c = peek, c != "|", c != ")" {
            var atom = try self.atom(&builder)
            if let (minimum, maximum) = try quantifier() {
                if atom.isEmpty { continue }
                // Wrap the atom in a rule so a repeated empty-able group cannot recurse without consuming a byte.
                let unit: [Item] = [.rule(builder.rule([atom]))]
                atom = builder.repeated(unit, minimum: minimum, maximum: maximum)
            }
            items += atom
        }
        return items
    }

    mutating func quantifier() throws(JSONSchemaError) -> (Int, Int?)? {
        guard let c = peek else { return nil }
        var result: (Int, Int?)
        switch c {
        case "?": result = (0, 1)
        case "*": result = (0, nil)
        case "+": result = (1, nil)
        case "{":
            var i = position + 1
            func number() -> Int? {
                var digits = ""
                while i < source.count, let d = source[i].properties.numericType, d == .decimal {
                    digits.unicodeScalars.append(source[i])
                    i += 1
                }
                return Int(digits)
            }
            guard let low = number() else { return nil }  // a literal `{`
            var high: Int? = low
            if i < source.count, source[i] == "," {
                i += 1
                high = number()
            }
            guard i < source.count, source[i] == "}" else { throw fail("unterminated {") }
            guard low <= 256, (high ?? low) <= 256, (high ?? low) >= low else { throw fail("repetition bounds") }
            position = i
            result = (low, high)
        default: return nil
        }
        position += 1
        if peek == "?" { position += 1 }  // lazy: the same language
        return result
    }

    mutating func atom(_ builder: inout GrammarBuilder) throws(JSONSchemaError) -> [Item] {
        guard let c = peek else { throw fail("unexpected end") }
        position += 1
        switch c {
        case "(":
            if peek == "?" {
                guard position + 1 < source.count, source[position + 1] == ":" else {
                    throw fail("lookarounds and named groups are not supported")
                }
                position += 2
            }
            let inner = try alternation(&builder)
            guard peek == ")" else { throw fail("unterminated group") }
            position += 1
            return [.rule(builder.rule([inner]))]
        case "[": return [try characterClass(&builder)]
        case ".": return [Self.anyCharacter(&builder, except: ["\n"])]
        case "\\": return [try escape(&builder)]
        case "^", "$": throw fail("anchors inside the pattern are not supported")
        default: return Self.spell(c)
        }
    }

    mutating func escape(_ builder: inout GrammarBuilder) throws(JSONSchemaError) -> Item {
        guard let c = peek else { throw fail("trailing backslash") }
        position += 1
        switch c {
        case "d": return Self.set(&builder, ascii: Array(48...57))
        case "w": return Self.set(&builder, ascii: Array(48...57) + Array(65...90) + Array(97...122) + [95])
        case "s": return Self.set(&builder, ascii: [32, 9, 10, 13, 11, 12])
        case "n": return builder.choice([Self.spell("\n")])
        case "t": return builder.choice([Self.spell("\t")])
        case "r": return builder.choice([Self.spell("\r")])
        case "D", "W", "S", "b", "B": throw fail("\\\(c) is not supported")
        default:
            if c.properties.numericType != nil { throw fail("backreferences are not supported") }
            return builder.choice([Self.spell(c)])
        }
    }

    mutating func characterClass(_ builder: inout GrammarBuilder) throws(JSONSchemaError) -> Item {
        var negated = false
        if peek == "^" {
            negated = true
            position += 1
        }
        var members = Set<UInt8>()
        var first = true
        while let c = peek, c != "]" || first {
            first = false
            position += 1
            var low: UInt8
            if c == "\\" {
                guard let e = peek else { throw fail("trailing backslash") }
                position += 1
                switch e {
                case "d":
                    members.formUnion(48...57)
                    continue
                case "w":
                    members.formUnion(Array(48...57) + Array(65...90) + Array(97...122) + [95])
                    continue
                case "s":
                    members.formUnion([32, 9, 10, 13, 11, 12])
                    continue
                case "n": low = 10
                case "t": low = 9
                case "r": low = 13
                default:
                    guard e.isASCII else { throw fail("non-ASCII class members are not supported") }
                    low = UInt8(e.value)
                }
            } else {
                guard c.isASCII else { throw fail("non-ASCII class members are not supported") }
                low = UInt8(c.value)
            }
            if peek == "-", position + 1 < source.count, source[position + 1] != "]" {
                let high = source[position + 1]
                guard high.isASCII, UInt8(high.value) >= low else { throw fail("bad class range") }
                members.formUnion(low...UInt8(high.value))
                position += 2
            } else {
                members.insert(low)
            }
        }
        guard peek == "]" else { throw fail("unterminated class") }
        position += 1
        if negated {
            let excluded = members
            return Self.anyCharacter(&builder, except: excluded.map { Unicode.Scalar($0) })
        }
        return Self.set(&builder, ascii: members.sorted())
    }

    /// One of the ASCII characters, each as its JSON spelling.
    static func set(_ builder: inout GrammarBuilder, ascii: [UInt8]) -> Item {
        builder.choice(Set(ascii).sorted().map { spell(Unicode.Scalar($0)) })
    }

    /// Any character but `except` (ASCII), each as its JSON spelling; every non-ASCII character is included.
    static func anyCharacter(_ builder: inout GrammarBuilder, except: [Unicode.Scalar]) -> Item {
        let excluded = Set(except.map(\.value))
        let ascii = (0..<128).filter { !excluded.contains(UInt32($0)) }.map { UInt8($0) }
        return builder.choice(ascii.map { spell(Unicode.Scalar($0)) } + JSONSchemaGrammar.utf8Sequences)
    }

    /// A character as it is written inside a JSON string.
    static func spell(_ c: Unicode.Scalar) -> [Item] {
        JSONSchemaGrammar.literal(String(JSONSchemaGrammar.jsonString(String(c)).dropFirst().dropLast()))
    }
}
