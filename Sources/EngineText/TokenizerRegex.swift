/// A small backtracking regular-expression matcher for the split patterns tokenizers ship (Oniguruma syntax as the
/// `tokenizers` library compiles it): alternation, groups `(?:…)` and `(?i:…)`, greedy, lazy and possessive
/// quantifiers with `{n,m}`, atomic groups `(?>…)`, lookahead `(?=…)` / `(?!…)`, classes with ranges and negation,
/// `\p{L}`-style general categories, `\s \d \w`, POSIX brackets and the anchors `^ $ \A \z \b`.
///
/// Swift `Regex` rejects some of these forms and differs on others, so patterns are compiled here to a program for a
/// backtracking machine with Perl/Oniguruma leftmost-first semantics. Matching works on Unicode scalars, as the
/// `tokenizers` library's Oniguruma does on UTF-8 characters.
struct TokenRegex: Sendable {
    enum Instruction: Sendable {
        case scalar(Unicode.Scalar)
        case folded(Unicode.Scalar)
        case set(Int)
        case any
        case split(Int, Int)
        case jump(Int)
        case lookahead(program: Int, negate: Bool)
        case atomic(program: Int)
        case lineStart
        case lineEnd
        case textStart
        case textEnd
        case wordBoundary(negate: Bool)
        case match
    }

    /// All programs, one after the other: the pattern's at 0, then atomic groups and lookaheads, each ending with
    /// `match`; `starts` gives where each begins.
    let code: [Instruction]
    let starts: [Int]
    let sets: [ScalarSet]
    let pattern: String

    /// Compiles a pattern.
    ///
    /// - Throws: ``TokenizerError`` naming the pattern and the offset of the problem.
    init(_ pattern: String) throws(TokenizerError) {
        self.pattern = pattern
        var parser = RegexParser(pattern: Array(pattern.unicodeScalars), source: pattern)
        let node = try parser.parseAll()
        var compiler = RegexCompiler()
        let main = compiler.compileProgram(node)
        compiler.programs[main].append(.match)
        var code: [Instruction] = []
        var starts: [Int] = []
        for program in compiler.programs {
            starts.append(code.count)
            let base = code.count
            for instruction in program {
                switch instruction {
                case .split(let a, let b): code.append(.split(a + base, b + base))
                case .jump(let a): code.append(.jump(a + base))
                default: code.append(instruction)
                }
            }
        }
        for i in code.indices {
            switch code[i] {
            case .lookahead(let program, let negate): code[i] = .lookahead(program: starts[program], negate: negate)
            case .atomic(let program): code[i] = .atomic(program: starts[program])
            default: break
            }
        }
        self.code = code
        self.starts = starts
        sets = compiler.sets
    }

    /// The non-empty and empty matches of the pattern in `text`, left to right, as scalar offset ranges.
    func matches(in text: UnsafeBufferPointer<Unicode.Scalar>) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var stack: [(pc: Int32, pos: Int32)] = []
        stack.reserveCapacity(64)
        code.withUnsafeBufferPointer { code in
            sets.withUnsafeBufferPointer { sets in
                var start = 0
                while start <= text.count {
                    if let end = Self.run(code, sets, at: 0, from: start, in: text, stack: &stack) {
                        result.append(start..<end)
                        start = end > start ? end : start + 1
                    } else {
                        start += 1
                    }
                }
            }
        }
        return result
    }

    /// The end of the first match of the program at `entry` anchored at `start`, in priority order.
    static func run(
        _ code: UnsafeBufferPointer<Instruction>,
        _ sets: UnsafeBufferPointer<ScalarSet>,
        at entry: Int,
        from start: Int,
        in text: UnsafeBufferPointer<Unicode.Scalar>,
        stack: inout [(pc: Int32, pos: Int32)]
    ) -> Int? {
        let base = stack.count
        defer { stack.removeSubrange(base...) }
        var pc = entry
        var pos = start
        let count = text.count
        while true {
            var ok = true
            switch code[pc] {
            case .scalar(let scalar):
                if pos < count && text[pos] == scalar {
                    pos += 1
                    pc += 1
                } else {
                    ok = false
                }
            case .folded(let scalar):
                if pos < count && RegexParser.fold(text[pos]) == scalar {
                    pos += 1
                    pc += 1
                } else {
                    ok = false
                }
            case .set(let index):
                if pos < count && sets[index].contains(text[pos]) {
                    pos += 1
                    pc += 1
                } else {
                    ok = false
                }
            case .any:
                if pos < count && text[pos] != "\n" {
                    pos += 1
                    pc += 1
                } else {
                    ok = false
                }
            case .split(let first, let second):
                stack.append((Int32(second), Int32(pos)))
                pc = first
            case .jump(let target):
                pc = target
            case .lookahead(let sub, let negate):
                let found = run(code, sets, at: sub, from: pos, in: text, stack: &stack) != nil
                if found != negate { pc += 1 } else { ok = false }
            case .atomic(let sub):
                if let end = run(code, sets, at: sub, from: pos, in: text, stack: &stack) {
                    pos = end
                    pc += 1
                } else {
                    ok = false
                }
            case .lineStart:
                if pos == 0 || text[pos - 1] == "\n" { pc += 1 } else { ok = false }
            case .lineEnd:
                if pos == count || text[pos] == "\n" { pc += 1 } else { ok = false }
            case .textStart:
                if pos == 0 { pc += 1 } else { ok = false }
            case .textEnd:
                if pos == count { pc += 1 } else { ok = false }
            case .wordBoundary(let negate):
                let before = pos > 0 && ScalarSet.isWord(text[pos - 1])
                let after = pos < count && ScalarSet.isWord(text[pos])
                if (before != after) != negate { pc += 1 } else { ok = false }
            case .match:
                return pos
            }
            if !ok {
                guard stack.count > base, let top = stack.popLast() else { return nil }
                pc = Int(top.pc)
                pos = Int(top.pos)
            }
        }
    }
}

/// A character class: ranges and Unicode properties, possibly negated.
struct ScalarSet: Sendable {
    enum Property: Sendable, Equatable {
        /// General categories, as a mask of ``ScalarSet/bit(_:)``.
        case category(UInt32)
        case whitespace
        case digit
        case word
        case posixPunct
    }

    var ranges: [ClosedRange<UInt32>] = []
    var properties: [(property: Property, negated: Bool)] = []
    var negated = false
    var foldCase = false
    /// Membership of the ASCII scalars, precomputed.
    var ascii: (UInt64, UInt64) = (0, 0)

    mutating func finish() {
        var merged: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        ranges = merged
        var low: UInt64 = 0
        var high: UInt64 = 0
        for value in 0..<128 {
            guard let scalar = Unicode.Scalar(UInt32(value)), slowContains(scalar) else { continue }
            if value < 64 { low |= 1 << UInt64(value) } else { high |= 1 << UInt64(value - 64) }
        }
        ascii = (low, high)
    }

    func contains(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 64 { return ascii.0 & (1 << UInt64(value)) != 0 }
        if value < 128 { return ascii.1 & (1 << UInt64(value - 64)) != 0 }
        return slowContains(scalar)
    }

    func slowContains(_ scalar: Unicode.Scalar) -> Bool {
        var found = rawContains(scalar)
        if !found && foldCase {
            let folded = RegexParser.fold(scalar)
            found = rawContains(folded) || rawContains(RegexParser.upper(folded))
        }
        return found != negated
    }

    private func rawContains(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        // Ranges are sorted and disjoint after `finish()`: binary search.
        var low = 0
        var high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].upperBound < value {
                low = mid + 1
            } else {
                high = mid
            }
        }
        if low < ranges.count, ranges[low].contains(value) { return true }
        for (property, negated) in properties where Self.has(property, scalar) != negated { return true }
        return false
    }

    static func has(_ property: Property, _ scalar: Unicode.Scalar) -> Bool {
        switch property {
        case .category(let mask): mask & bit(scalar.properties.generalCategory) != 0
        case .whitespace: scalar.properties.isWhitespace
        case .digit: scalar.properties.generalCategory == .decimalNumber
        case .word: isWord(scalar)
        case .posixPunct:
            Unicode.punctuation.contains(scalar.properties.generalCategory)
                || (scalar.value < 128 && "$+<=>^`|~".unicodeScalars.contains(scalar))
        }
    }

    /// One bit per general category.
    static func bit(_ category: Unicode.GeneralCategory) -> UInt32 {
        let index: UInt32 =
            switch category {
            case .uppercaseLetter: 0
            case .lowercaseLetter: 1
            case .titlecaseLetter: 2
            case .modifierLetter: 3
            case .otherLetter: 4
            case .nonspacingMark: 5
            case .spacingMark: 6
            case .enclosingMark: 7
            case .decimalNumber: 8
            case .letterNumber: 9
            case .otherNumber: 10
            case .connectorPunctuation: 11
            case .dashPunctuation: 12
            case .openPunctuation: 13
            case .closePunctuation: 14
            case .initialPunctuation: 15
            case .finalPunctuation: 16
            case .otherPunctuation: 17
            case .mathSymbol: 18
            case .currencySymbol: 19
            case .modifierSymbol: 20
            case .otherSymbol: 21
            case .spaceSeparator: 22
            case .lineSeparator: 23
            case .paragraphSeparator: 24
            case .control: 25
            case .format: 26
            case .surrogate: 27
            case .privateUse: 28
            case .unassigned: 29
            @unknown default: 30
            }
        return 1 << index
    }

    /// The mask of a set of categories.
    static func mask(_ categories: Set<Unicode.GeneralCategory>) -> UInt32 {
        categories.reduce(0) { $0 | bit($1) }
    }

    /// Oniguruma's `\w` with Unicode: letters, marks, decimal numbers and connector punctuation.
    static func isWord(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .nonspacingMark,
            .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber, .connectorPunctuation:
            true
        default: false
        }
    }
}

extension Unicode {
    static let letters: Set<GeneralCategory> = [
        .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
    ]
    static let numbers: Set<GeneralCategory> = [.decimalNumber, .letterNumber, .otherNumber]
    static let punctuation: Set<GeneralCategory> = [
        .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
        .finalPunctuation, .otherPunctuation,
    ]
    static let marks: Set<GeneralCategory> = [.nonspacingMark, .spacingMark, .enclosingMark]
    static let symbols: Set<GeneralCategory> = [.mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol]
    static let separators: Set<GeneralCategory> = [.spaceSeparator, .lineSeparator, .paragraphSeparator]
    static let others: Set<GeneralCategory> = [.control, .format, .surrogate, .privateUse, .unassigned]
}

/// The syntax tree of a pattern.
indirect enum RegexNode: Sendable {
    case empty
    case scalar(Unicode.Scalar, fold: Bool)
    case set(ScalarSet)
    case any
    case sequence([RegexNode])
    case alternation([RegexNode])
    case repeated(RegexNode, min: Int, max: Int?, mode: RepeatMode)
    case lookahead(RegexNode, negate: Bool)
    case atomic(RegexNode)
    case lineStart, lineEnd, textStart, textEnd
    case wordBoundary(negate: Bool)

    enum RepeatMode: Sendable { case greedy, lazy, possessive }
}

struct RegexParser {
    let pattern: [Unicode.Scalar]
    let source: String
    var position = 0
    var foldCase = false

    init(pattern: [Unicode.Scalar], source: String) {
        self.pattern = pattern
        self.source = source
    }

    func error(_ message: String) -> TokenizerError {
        TokenizerError(message: "regex \(source.debugDescription): \(message)", offset: position)
    }

    /// Simple case folding, enough for `(?i:…)` over the contractions real patterns hold (including the two
    /// non-ASCII scalars that fold to ASCII letters, as Oniguruma folds them).
    static func fold(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        switch scalar.value {
        case 0x41...0x5A: return Unicode.Scalar(scalar.value + 32) ?? scalar
        case 0..<0x80: return scalar
        case 0x212A: return "k"
        case 0x017F: return "s"
        default:
            let lower = scalar.properties.lowercaseMapping.unicodeScalars
            return lower.count == 1 ? lower.first ?? scalar : scalar
        }
    }

    static func upper(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        let upper = scalar.properties.uppercaseMapping.unicodeScalars
        return upper.count == 1 ? upper.first ?? scalar : scalar
    }

    var atEnd: Bool { position >= pattern.count }
    var peek: Unicode.Scalar? { atEnd ? nil : pattern[position] }

    mutating func parseAll() throws(TokenizerError) -> RegexNode {
        let node = try alternation()
        guard atEnd else { throw error("unbalanced ')'") }
        return node
    }

    mutating func alternation() throws(TokenizerError) -> RegexNode {
        var branches = [try sequence()]
        while peek == "|" {
            position += 1
            branches.append(try sequence())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    mutating func sequence() throws(TokenizerError) -> RegexNode {
        var items: [RegexNode] = []
        while let next = peek, next != "|", next != ")" {
            var atom = try self.atom()
            atom = try quantified(atom)
            items.append(atom)
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    mutating func quantified(_ atom: RegexNode) throws(TokenizerError) -> RegexNode {
        var node = atom
        while let next = peek {
            var min = 0
            var max: Int?
            switch next {
            case "*": position += 1
            case "+":
                position += 1
                min = 1
            case "?":
                position += 1
                max = 1
            case "{":
                guard let (low, high) = try braces() else { return node }
                min = low
                max = high
            default: return node
            }
            var mode = RegexNode.RepeatMode.greedy
            if peek == "?" {
                position += 1
                mode = .lazy
            } else if peek == "+" {
                position += 1
                mode = .possessive
            }
            node = .repeated(node, min: min, max: max, mode: mode)
        }
        return node
    }

    /// `{n}`, `{n,}`, `{n,m}`, `{,m}`; nil (and nothing consumed) when the brace is a literal.
    mutating func braces() throws(TokenizerError) -> (Int, Int?)? {
        let save = position
        position += 1
        func digits(_ parser: inout RegexParser) -> Int? {
            var value: Int?
            while let d = parser.peek, let digit = Int(String(d)), d.isASCII {
                value = (value ?? 0) * 10 + digit
                parser.position += 1
            }
            return value
        }
        let low = digits(&self)
        var high = low
        if peek == "," {
            position += 1
            high = digits(&self)
        }
        guard peek == "}", low != nil || high != nil else {
            position = save
            return nil
        }
        position += 1
        if let low, let high, high < low { throw error("bad repetition range") }
        return (low ?? 0, high)
    }

    mutating func atom() throws(TokenizerError) -> RegexNode {
        guard let next = peek else { throw error("unexpected end") }
        position += 1
        switch next {
        case "(":
            return try group()
        case "[":
            return .set(try bracket())
        case ".":
            return .any
        case "^":
            return .lineStart
        case "$":
            return .lineEnd
        case "\\":
            return try escape(inClass: false).node(foldCase: foldCase)
        case "*", "+", "?":
            throw error("nothing to repeat")
        default:
            return .scalar(foldCase ? Self.fold(next) : next, fold: foldCase)
        }
    }

    mutating func group() throws(TokenizerError) -> RegexNode {
        guard peek == "?" else {
            let inner = try alternation()
            try close()
            return inner
        }
        position += 1
        guard let kind = peek else { throw error("unexpected end") }
        switch kind {
        case ":":
            position += 1
            let inner = try alternation()
            try close()
            return inner
        case "=", "!":
            position += 1
            let inner = try alternation()
            try close()
            return .lookahead(inner, negate: kind == "!")
        case ">":
            position += 1
            let inner = try alternation()
            try close()
            return .atomic(inner)
        default:
            // Inline options: (?i) (?-i) (?i:…)
            var on = true
            var fold = foldCase
            while let flag = peek, flag != ":", flag != ")" {
                switch flag {
                case "-": on = false
                case "i": fold = on
                case "m", "x", "s": throw error("unsupported option \(flag)")
                default: throw error("unsupported group (?\(flag)")
                }
                position += 1
            }
            if peek == ")" {
                position += 1
                foldCase = fold
                return .empty
            }
            position += 1
            let saved = foldCase
            foldCase = fold
            let inner = try alternation()
            foldCase = saved
            try close()
            return inner
        }
    }

    mutating func close() throws(TokenizerError) {
        guard peek == ")" else { throw error("missing ')'") }
        position += 1
    }

    enum Escaped {
        case scalar(Unicode.Scalar)
        case set(ScalarSet)
        case node(RegexNode)

        func node(foldCase: Bool) -> RegexNode {
            switch self {
            case .scalar(let scalar): .scalar(foldCase ? RegexParser.fold(scalar) : scalar, fold: foldCase)
            case .set(let set): .set(set)
            case .node(let node): node
            }
        }
    }

    static func propertySet(_ property: ScalarSet.Property, negated: Bool) -> ScalarSet {
        var set = ScalarSet()
        set.properties = [(property, negated)]
        set.finish()
        return set
    }

    mutating func escape(inClass: Bool) throws(TokenizerError) -> Escaped {
        guard let next = peek else { throw error("trailing backslash") }
        position += 1
        switch next {
        case "n": return .scalar("\n")
        case "r": return .scalar("\r")
        case "t": return .scalar("\t")
        case "f": return .scalar("\u{0C}")
        case "v": return .scalar("\u{0B}")
        case "a": return .scalar("\u{07}")
        case "e": return .scalar("\u{1B}")
        case "0": return .scalar("\0")
        case "s", "S": return .set(Self.propertySet(.whitespace, negated: next == "S"))
        case "d", "D": return .set(Self.propertySet(.digit, negated: next == "D"))
        case "w", "W": return .set(Self.propertySet(.word, negated: next == "W"))
        case "h", "H":
            var set = ScalarSet()
            set.ranges = [0x30...0x39, 0x41...0x46, 0x61...0x66]
            set.negated = next == "H"
            set.finish()
            return .set(set)
        case "p", "P":
            return .set(try property(negated: next == "P"))
        case "x":
            return .scalar(try hexScalar())
        case "u":
            return .scalar(try hexDigits(count: 4))
        case "b" where !inClass: return .node(.wordBoundary(negate: false))
        case "B" where !inClass: return .node(.wordBoundary(negate: true))
        case "A" where !inClass: return .node(.textStart)
        case "z" where !inClass, "Z" where !inClass: return .node(.textEnd)
        default:
            if next.properties.isAlphabetic || next.properties.numericType != nil {
                throw error("unsupported escape \\\(next)")
            }
            return .scalar(next)
        }
    }

    mutating func hexScalar() throws(TokenizerError) -> Unicode.Scalar {
        if peek == "{" {
            position += 1
            var value: UInt32 = 0
            while let digit = peek, digit != "}" {
                guard let d = digit.properties.numericType != nil ? UInt32(String(digit)) : hexLetter(digit) else {
                    throw error("bad \\x{…}")
                }
                value = value * 16 + d
                position += 1
            }
            position += 1
            guard let scalar = Unicode.Scalar(value) else { throw error("bad code point") }
            return scalar
        }
        return try hexDigits(count: 2)
    }

    func hexLetter(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar {
        case "a"..."f": scalar.value - 0x61 + 10
        case "A"..."F": scalar.value - 0x41 + 10
        case "0"..."9": scalar.value - 0x30
        default: nil
        }
    }

    mutating func hexDigits(count: Int) throws(TokenizerError) -> Unicode.Scalar {
        var value: UInt32 = 0
        for _ in 0..<count {
            guard let digit = peek, let d = hexLetter(digit) else { throw error("bad hex escape") }
            value = value * 16 + d
            position += 1
        }
        guard let scalar = Unicode.Scalar(value) else { throw error("bad code point") }
        return scalar
    }

    mutating func property(negated: Bool) throws(TokenizerError) -> ScalarSet {
        var name = ""
        if peek == "{" {
            position += 1
            while let c = peek, c != "}" {
                name.unicodeScalars.append(c)
                position += 1
            }
            guard peek == "}" else { throw error("missing '}'") }
            position += 1
        } else if let c = peek {
            name = String(c)
            position += 1
        }
        var negate = negated
        if name.hasPrefix("^") {
            negate.toggle()
            name.removeFirst()
        }
        let categories: Set<Unicode.GeneralCategory>
        switch name {
        case "L", "Letter": categories = Unicode.letters
        case "Lu": categories = [.uppercaseLetter]
        case "Ll": categories = [.lowercaseLetter]
        case "Lt": categories = [.titlecaseLetter]
        case "Lm": categories = [.modifierLetter]
        case "Lo": categories = [.otherLetter]
        case "N", "Number": categories = Unicode.numbers
        case "Nd": categories = [.decimalNumber]
        case "Nl": categories = [.letterNumber]
        case "No": categories = [.otherNumber]
        case "P", "Punct", "Punctuation": categories = Unicode.punctuation
        case "M", "Mark": categories = Unicode.marks
        case "Mn": categories = [.nonspacingMark]
        case "S", "Symbol": categories = Unicode.symbols
        case "Z", "Separator": categories = Unicode.separators
        case "Zs": categories = [.spaceSeparator]
        case "C", "Other": categories = Unicode.others
        case "Cc": categories = [.control]
        default: throw error("unsupported property \\p{\(name)}")
        }
        return Self.propertySet(.category(ScalarSet.mask(categories)), negated: negate)
    }

    /// `[…]` after the opening bracket.
    mutating func bracket() throws(TokenizerError) -> ScalarSet {
        var set = ScalarSet()
        set.foldCase = foldCase
        if peek == "^" {
            set.negated = true
            position += 1
        }
        var first = true
        while true {
            guard let next = peek else { throw error("missing ']'") }
            if next == "]" && !first {
                position += 1
                break
            }
            first = false
            position += 1
            var low: Unicode.Scalar
            switch next {
            case "[":
                if peek == ":" {
                    try posix(into: &set)
                    continue
                }
                // A nested class is a union.
                let inner = try bracket()
                if inner.negated { throw error("negated nested class") }
                set.ranges += inner.ranges
                set.properties += inner.properties
                continue
            case "\\":
                switch try escape(inClass: true) {
                case .scalar(let scalar): low = scalar
                case .set(let inner):
                    if inner.negated {
                        for (property, negated) in inner.properties { set.properties.append((property, !negated)) }
                        if !inner.ranges.isEmpty { throw error("negated range escape in a class") }
                    } else {
                        set.ranges += inner.ranges
                        set.properties += inner.properties
                    }
                    continue
                case .node: throw error("anchor in a class")
                }
            default:
                low = next
            }
            if peek == "-", position + 1 < pattern.count, pattern[position + 1] != "]" {
                position += 1
                guard let end = peek else { throw error("missing ']'") }
                position += 1
                var high = end
                if end == "\\" {
                    guard case .scalar(let scalar) = try escape(inClass: true) else { throw error("bad range") }
                    high = scalar
                }
                guard low.value <= high.value else { throw error("empty range in class") }
                set.ranges.append(low.value...high.value)
            } else {
                set.ranges.append(low.value...low.value)
            }
        }
        set.finish()
        return set
    }

    /// `[:name:]` inside a class, after its `[`.
    mutating func posix(into set: inout ScalarSet) throws(TokenizerError) {
        position += 1
        var negate = false
        if peek == "^" {
            negate = true
            position += 1
        }
        var name = ""
        while let c = peek, c != ":" {
            name.unicodeScalars.append(c)
            position += 1
        }
        guard position + 1 < pattern.count, pattern[position + 1] == "]" else { throw error("bad POSIX class") }
        position += 2
        let property: ScalarSet.Property
        switch name {
        case "alpha": property = .category(ScalarSet.mask(Unicode.letters.union(Unicode.marks)))
        case "digit": property = .digit
        case "alnum": property = .category(ScalarSet.mask(Unicode.letters.union(Unicode.marks).union([.decimalNumber])))
        case "space": property = .whitespace
        case "punct": property = .posixPunct
        case "upper": property = .category(ScalarSet.bit(.uppercaseLetter))
        case "lower": property = .category(ScalarSet.bit(.lowercaseLetter))
        case "word": property = .word
        default: throw error("unsupported POSIX class [:\(name):]")
        }
        set.properties.append((property, negate))
    }
}

/// Turns a syntax tree into programs for ``TokenRegex``.
struct RegexCompiler {
    var programs: [[TokenRegex.Instruction]] = []
    var sets: [ScalarSet] = []

    /// Compiles `node` into a new program (without its final `match`) and returns its index.
    mutating func compileProgram(_ node: RegexNode) -> Int {
        let index = programs.count
        programs.append([])
        var code: [TokenRegex.Instruction] = []
        emit(node, into: &code)
        programs[index] = code
        return index
    }

    mutating func emit(_ node: RegexNode, into code: inout [TokenRegex.Instruction]) {
        switch node {
        case .empty:
            break
        case .scalar(let scalar, let fold):
            code.append(fold ? .folded(scalar) : .scalar(scalar))
        case .set(let set):
            sets.append(set)
            code.append(.set(sets.count - 1))
        case .any:
            code.append(.any)
        case .sequence(let items):
            for item in items { emit(item, into: &code) }
        case .alternation(let branches):
            // split L1, next; L1: branch; jump end; next: split ...
            var jumps: [Int] = []
            for (i, branch) in branches.enumerated() {
                if i < branches.count - 1 {
                    let split = code.count
                    code.append(.split(0, 0))
                    emit(branch, into: &code)
                    jumps.append(code.count)
                    code.append(.jump(0))
                    code[split] = .split(split + 1, code.count)
                } else {
                    emit(branch, into: &code)
                }
            }
            for jump in jumps { code[jump] = .jump(code.count) }
        case .repeated(let inner, let min, let max, let mode):
            if mode == .possessive {
                let sub = compileProgram(.repeated(inner, min: min, max: max, mode: .greedy))
                programs[sub].append(.match)
                code.append(.atomic(program: sub))
                return
            }
            for _ in 0..<min { emit(inner, into: &code) }
            if let max {
                for _ in min..<max {
                    let split = code.count
                    code.append(.split(0, 0))
                    emit(inner, into: &code)
                    code[split] = mode == .lazy ? .split(code.count, split + 1) : .split(split + 1, code.count)
                }
            } else {
                let split = code.count
                code.append(.split(0, 0))
                emit(inner, into: &code)
                code.append(.jump(split))
                code[split] = mode == .lazy ? .split(code.count, split + 1) : .split(split + 1, code.count)
            }
        case .lookahead(let inner, let negate):
            let sub = compileProgram(inner)
            programs[sub].append(.match)
            code.append(.lookahead(program: sub, negate: negate))
        case .atomic(let inner):
            let sub = compileProgram(inner)
            programs[sub].append(.match)
            code.append(.atomic(program: sub))
        case .lineStart: code.append(.lineStart)
        case .lineEnd: code.append(.lineEnd)
        case .textStart: code.append(.textStart)
        case .textEnd: code.append(.textEnd)
        case .wordBoundary(let negate): code.append(.wordBoundary(negate: negate))
        }
    }
}
