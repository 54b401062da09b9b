// Unicode normalization forms (NFC/NFD/NFKC/NFKD) come from Foundation's String API.
internal import Foundation

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#endif

/// A pattern of `Split`, `Replace`: a literal string or a regular expression.
enum TextPattern: Sendable {
    case literal([Unicode.Scalar])
    case regex(TokenRegex)

    init(json: JSONValue?) throws(TokenizerError) {
        if let text = json?["String"]?.string {
            self = .literal(Array(text.unicodeScalars))
        } else if let pattern = json?["Regex"]?.string {
            self = .regex(try TokenRegex(pattern))
        } else {
            throw TokenizerError(message: "pattern is neither String nor Regex")
        }
    }

    /// Non-overlapping matches, left to right, as offsets from the start of `text`.
    func matches(in text: ArraySlice<Unicode.Scalar>) -> [Range<Int>] {
        switch self {
        case .regex(let regex):
            return text.withUnsafeBufferPointer { regex.matches(in: $0) }
        case .literal(let needle):
            guard !needle.isEmpty, needle.count <= text.count else { return [] }
            var result: [Range<Int>] = []
            var i = 0
            let base = text.startIndex
            while i + needle.count <= text.count {
                if text[base + i] == needle[0], text[(base + i)..<(base + i + needle.count)].elementsEqual(needle) {
                    result.append(i..<(i + needle.count))
                    i += needle.count
                } else {
                    i += 1
                }
            }
            return result
        }
    }
}

/// A `normalizer` of `tokenizer.json`.
indirect enum Normalizer: Sendable {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case stripAccents
    case strip(left: Bool, right: Bool)
    case prepend([Unicode.Scalar])
    case replace(TextPattern, [Unicode.Scalar])
    case sequence([Normalizer])

    init?(json: JSONValue) throws(TokenizerError) {
        guard let type = json["type"]?.string else { return nil }
        switch type {
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "StripAccents": self = .stripAccents
        case "Strip":
            self = .strip(left: json["strip_left"]?.bool ?? true, right: json["strip_right"]?.bool ?? true)
        case "Prepend": self = .prepend(Array((json["prepend"]?.string ?? "").unicodeScalars))
        case "Replace":
            self = .replace(
                try TextPattern(json: json["pattern"]),
                Array((json["content"]?.string ?? "").unicodeScalars)
            )
        case "Sequence":
            var items: [Normalizer] = []
            for item in json["normalizers"]?.array ?? [] {
                if let normalizer = try Normalizer(json: item) { items.append(normalizer) }
            }
            self = .sequence(items)
        default: throw TokenizerError(message: "normalizer \(type) is not supported")
        }
    }

    func apply(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        switch self {
        case .nfc, .nfd, .nfkc, .nfkd:
            let string = String(String.UnicodeScalarView(text))
            let result: String
            switch self {
            case .nfc: result = string.precomposedStringWithCanonicalMapping
            case .nfd: result = string.decomposedStringWithCanonicalMapping
            case .nfkc: result = string.precomposedStringWithCompatibilityMapping
            default: result = string.decomposedStringWithCompatibilityMapping
            }
            return Array(result.unicodeScalars)
        case .lowercase:
            var out: [Unicode.Scalar] = []
            out.reserveCapacity(text.count)
            for scalar in text {
                if scalar.isASCII {
                    out.append(RegexParser.fold(scalar))
                } else {
                    out += scalar.properties.lowercaseMapping.unicodeScalars
                }
            }
            return out
        case .stripAccents:
            return text.filter { $0.properties.generalCategory != .nonspacingMark }
        case .strip(let left, let right):
            var slice = text[...]
            if left { while let first = slice.first, first.properties.isWhitespace { slice.removeFirst() } }
            if right { while let last = slice.last, last.properties.isWhitespace { slice.removeLast() } }
            return Array(slice)
        case .prepend(let prefix):
            return text.isEmpty ? text : prefix + text
        case .replace(let pattern, let content):
            var out: [Unicode.Scalar] = []
            var last = 0
            for range in pattern.matches(in: text[...]) {
                out += text[last..<range.lowerBound]
                out += content
                last = range.upperBound
            }
            out += text[last...]
            return out
        case .sequence(let items):
            var text = text
            for item in items { text = item.apply(text) }
            return text
        }
    }
}

/// How `Split` (and the character-class pre-tokenizers) treat the delimiters they find.
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    init(json: JSONValue?) throws(TokenizerError) {
        let name = json?.string ?? "Isolated"
        guard let behavior = SplitBehavior(rawValue: name) else {
            throw TokenizerError(message: "split behavior \(name) is not supported")
        }
        self = behavior
    }

    /// Pieces of `0..<count` given the matched ranges, as `tokenizers`' `NormalizedString::split` forms them.
    func pieces(count: Int, matches: [Range<Int>], invert: Bool) -> [Range<Int>] {
        var marked: [(Range<Int>, Bool)] = []
        var previous = 0
        for range in matches {
            if previous != range.lowerBound { marked.append((previous..<range.lowerBound, false)) }
            marked.append((range, true))
            previous = range.upperBound
        }
        if previous != count || marked.isEmpty { marked.append((previous..<count, false)) }
        if invert { marked = marked.map { ($0.0, !$0.1) } }
        var out: [Range<Int>] = []
        switch self {
        case .removed:
            out = marked.filter { !$0.1 }.map(\.0)
        case .isolated:
            out = marked.map(\.0)
        case .mergedWithPrevious:
            var previousMatch = false
            for (range, isMatch) in marked {
                if isMatch && !previousMatch, let last = out.last {
                    out[out.count - 1] = last.lowerBound..<range.upperBound
                } else {
                    out.append(range)
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for (range, isMatch) in marked.reversed() {
                if isMatch && !previousMatch, let last = out.last {
                    out[out.count - 1] = range.lowerBound..<last.upperBound
                } else {
                    out.append(range)
                }
                previousMatch = isMatch
            }
            out.reverse()
        case .contiguous:
            var previousMatch = false
            for (range, isMatch) in marked {
                if isMatch == previousMatch, let last = out.last {
                    out[out.count - 1] = last.lowerBound..<range.upperBound
                } else {
                    out.append(range)
                }
                previousMatch = isMatch
            }
        }
        return out.filter { !$0.isEmpty }
    }
}

/// A piece of text during pre-tokenization; `atStart` when it begins at offset 0 of the input (Metaspace "first").
struct PreToken {
    var scalars: ArraySlice<Unicode.Scalar>
    var atStart: Bool
}

/// A `pre_tokenizer` of `tokenizer.json`.
indirect enum PreTokenizer: Sendable {
    case split(TextPattern, SplitBehavior, invert: Bool)
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case metaspace(replacement: Unicode.Scalar, prependScheme: String, split: Bool)
    case digits(individual: Bool)
    case punctuation(SplitBehavior)
    case whitespace
    case whitespaceSplit
    case sequence([PreTokenizer])

    /// GPT-2's split, which `ByteLevel` applies when `use_regex` is set.
    static let gpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
    // The patterns are constants that compile (a test checks both).
    // swift-format-ignore: NeverUseForceTry
    static let gpt2Regex = try! TokenRegex(gpt2Pattern)
    // swift-format-ignore: NeverUseForceTry
    static let wordRegex = try! TokenRegex("\\w+|[^\\w\\s]+")

    init?(json: JSONValue) throws(TokenizerError) {
        guard let type = json["type"]?.string else { return nil }
        switch type {
        case "Split":
            self = .split(
                try TextPattern(json: json["pattern"]),
                try SplitBehavior(json: json["behavior"]),
                invert: json["invert"]?.bool ?? false
            )
        case "ByteLevel":
            self = .byteLevel(
                addPrefixSpace: json["add_prefix_space"]?.bool ?? true,
                useRegex: json["use_regex"]?.bool ?? true
            )
        case "Metaspace":
            let replacement = (json["replacement"]?.string ?? "▁").unicodeScalars.first ?? "▁"
            var scheme = json["prepend_scheme"]?.string
            if scheme == nil { scheme = (json["add_prefix_space"]?.bool ?? true) ? "always" : "never" }
            self = .metaspace(
                replacement: replacement,
                prependScheme: scheme ?? "always",
                split: json["split"]?.bool ?? true
            )
        case "Digits": self = .digits(individual: json["individual_digits"]?.bool ?? false)
        case "Punctuation": self = .punctuation(try SplitBehavior(json: json["behavior"]))
        case "Whitespace": self = .whitespace
        case "WhitespaceSplit": self = .whitespaceSplit
        case "Sequence":
            var items: [PreTokenizer] = []
            for item in json["pretokenizers"]?.array ?? [] {
                if let pre = try PreTokenizer(json: item) { items.append(pre) }
            }
            self = .sequence(items)
        default: throw TokenizerError(message: "pre-tokenizer \(type) is not supported")
        }
    }

    /// Splits each piece by `body`, which gives ranges as offsets from the piece's start.
    static func splitEach(
        _ pieces: [PreToken],
        _ body: (ArraySlice<Unicode.Scalar>) -> [Range<Int>]
    ) -> [PreToken] {
        var out: [PreToken] = []
        out.reserveCapacity(pieces.count)
        for piece in pieces {
            let base = piece.scalars.startIndex
            for range in body(piece.scalars) {
                out.append(
                    PreToken(
                        scalars: piece.scalars[(base + range.lowerBound)..<(base + range.upperBound)],
                        atStart: piece.atStart && range.lowerBound == 0
                    )
                )
            }
        }
        return out
    }

    static func charMatches(_ text: ArraySlice<Unicode.Scalar>, _ test: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for (i, scalar) in text.enumerated() where test(scalar) { out.append(i..<(i + 1)) }
        return out
    }

    /// Rust's `char::is_ascii_punctuation() || is_punctuation()`.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let v = scalar.value
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v)
                || (0x7B...0x7E).contains(v)
        }
        return Unicode.punctuation.contains(scalar.properties.generalCategory)
    }

    func apply(_ pieces: [PreToken]) -> [PreToken] {
        switch self {
        case .split(let pattern, let behavior, let invert):
            return Self.splitEach(pieces) { text in
                behavior.pieces(count: text.count, matches: pattern.matches(in: text), invert: invert)
            }
        case .byteLevel(let addPrefixSpace, let useRegex):
            var pieces = pieces
            if addPrefixSpace {
                for i in pieces.indices where pieces[i].scalars.first != " " {
                    pieces[i].scalars = [" "] + pieces[i].scalars
                }
            }
            if useRegex {
                pieces = Self.splitEach(pieces) { text in
                    let matches = text.withUnsafeBufferPointer { Self.gpt2Regex.matches(in: $0) }
                    return SplitBehavior.isolated.pieces(count: text.count, matches: matches, invert: false)
                }
            }
            let table = ByteLevel.byteToScalar
            return pieces.map { piece in
                var out: [Unicode.Scalar] = []
                out.reserveCapacity(piece.scalars.count)
                for scalar in piece.scalars {
                    if scalar.isASCII {
                        out.append(table[Int(scalar.value)])
                    } else {
                        for byte in scalar.utf8 { out.append(table[Int(byte)]) }
                    }
                }
                return PreToken(scalars: out[...], atStart: piece.atStart)
            }
        case .metaspace(let replacement, let scheme, let split):
            var out: [PreToken] = []
            for piece in pieces {
                var text = piece.scalars.map { $0 == " " ? replacement : $0 }[...]
                let prepend =
                    switch scheme {
                    case "always": text.first != replacement
                    case "first": text.first != replacement && piece.atStart
                    default: false
                    }
                if prepend { text = [replacement] + text }
                if split {
                    let matches = Self.charMatches(text) { $0 == replacement }
                    for range in SplitBehavior.mergedWithNext.pieces(count: text.count, matches: matches, invert: false)
                    {
                        out.append(
                            PreToken(
                                scalars: text[
                                    (text.startIndex + range.lowerBound)..<(text.startIndex + range.upperBound)
                                ],
                                atStart: piece.atStart && range.lowerBound == 0
                            )
                        )
                    }
                } else {
                    out.append(PreToken(scalars: text, atStart: piece.atStart))
                }
            }
            return out
        case .digits(let individual):
            return Self.splitEach(pieces) { text in
                let matches = Self.charMatches(text) { $0.properties.numericType != nil }
                return (individual ? SplitBehavior.isolated : .contiguous).pieces(
                    count: text.count,
                    matches: matches,
                    invert: false
                )
            }
        case .punctuation(let behavior):
            return Self.splitEach(pieces) { text in
                behavior.pieces(count: text.count, matches: Self.charMatches(text, Self.isPunctuation), invert: false)
            }
        case .whitespace:
            return Self.splitEach(pieces) { text in
                let matches = text.withUnsafeBufferPointer { Self.wordRegex.matches(in: $0) }
                return SplitBehavior.removed.pieces(count: text.count, matches: matches, invert: true)
            }
        case .whitespaceSplit:
            return Self.splitEach(pieces) { text in
                let matches = Self.charMatches(text) { $0.properties.isWhitespace }
                return SplitBehavior.removed.pieces(count: text.count, matches: matches, invert: false)
            }
        case .sequence(let items):
            var pieces = pieces
            for item in items { pieces = item.apply(pieces) }
            return pieces
        }
    }
}

/// GPT-2's reversible byte ↔ printable-scalar table of byte-level BPE.
enum ByteLevel {
    /// Printable bytes map to themselves, the others to scalars from U+0100 up.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(next) ?? " "
                next += 1
            }
        }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (byte, scalar) in byteToScalar.enumerated() { map[scalar.value] = UInt8(byte) }
        return map
    }()
}

/// A `post_processor` of `tokenizer.json` (what `addSpecialTokens` adds).
indirect enum PostProcessor: Sendable {
    case template(prefix: [Int], suffix: [Int])
    case sequence([PostProcessor])
    case none

    init?(json: JSONValue, vocabulary: [[UInt8]: Int], added: [Tokenizer.AddedToken]) throws(TokenizerError) {
        guard let type = json["type"]?.string else { return nil }
        func idOf(_ name: JSONValue?) -> [Int] {
            if let pair = name?.array, pair.count == 2, let id = pair[1].int { return [id] }
            return []
        }
        switch type {
        case "TemplateProcessing":
            var prefix: [Int] = []
            var suffix: [Int] = []
            var seenSequence = false
            for piece in json["single"]?.array ?? [] {
                if piece["Sequence"] != nil {
                    seenSequence = true
                } else if let name = piece["SpecialToken"]?["id"] {
                    guard let special = json["special_tokens"]?[name.string ?? ""], let ids = special["ids"]?.array
                    else { throw TokenizerError(message: "TemplateProcessing names an undefined special token") }
                    let values = ids.compactMap(\.int)
                    if seenSequence { suffix += values } else { prefix += values }
                }
            }
            self = .template(prefix: prefix, suffix: suffix)
        case "RobertaProcessing", "BertProcessing":
            self = .template(prefix: idOf(json["cls"]), suffix: idOf(json["sep"]))
        case "ByteLevel":
            self = .none
        case "Sequence":
            var items: [PostProcessor] = []
            for item in json["processors"]?.array ?? [] {
                if let processor = try PostProcessor(json: item, vocabulary: vocabulary, added: added) {
                    items.append(processor)
                }
            }
            self = .sequence(items)
        default: throw TokenizerError(message: "post-processor \(type) is not supported")
        }
    }

    func apply(_ ids: [Int]) -> [Int] {
        switch self {
        case .template(let prefix, let suffix): prefix + ids + suffix
        case .none: ids
        case .sequence(let items): items.reduce(ids) { $1.apply($0) }
        }
    }
}

/// A `decoder` of `tokenizer.json`.
indirect enum Decoder: Sendable {
    case byteLevel
    case replace(TextPattern, [Unicode.Scalar])
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case metaspace(replacement: Unicode.Scalar, prependScheme: String)
    case sequence([Decoder])

    init?(json: JSONValue) throws(TokenizerError) {
        guard let type = json["type"]?.string else { return nil }
        switch type {
        case "ByteLevel": self = .byteLevel
        case "Replace":
            self = .replace(
                try TextPattern(json: json["pattern"]),
                Array((json["content"]?.string ?? "").unicodeScalars)
            )
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            self = .strip(
                content: (json["content"]?.string ?? " ").unicodeScalars.first ?? " ",
                start: json["start"]?.int ?? 0,
                stop: json["stop"]?.int ?? 0
            )
        case "Metaspace":
            var scheme = json["prepend_scheme"]?.string
            if scheme == nil { scheme = (json["add_prefix_space"]?.bool ?? true) ? "always" : "never" }
            self = .metaspace(
                replacement: (json["replacement"]?.string ?? "▁").unicodeScalars.first ?? "▁",
                prependScheme: scheme ?? "always"
            )
        case "Sequence":
            var items: [Decoder] = []
            for item in json["decoders"]?.array ?? [] {
                if let decoder = try Decoder(json: item) { items.append(decoder) }
            }
            self = .sequence(items)
        default: throw TokenizerError(message: "decoder \(type) is not supported")
        }
    }

    func apply(_ tokens: [[Unicode.Scalar]]) -> [[Unicode.Scalar]] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens {
                var mapped: [UInt8] = []
                mapped.reserveCapacity(token.count)
                var ok = true
                for scalar in token {
                    guard let byte = ByteLevel.scalarToByte[scalar.value] else {
                        ok = false
                        break
                    }
                    mapped.append(byte)
                }
                if ok {
                    bytes += mapped
                } else {
                    for scalar in token { bytes += scalar.utf8 }
                }
            }
            return [Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)]
        case .replace(let pattern, let content):
            return tokens.map { Normalizer.replace(pattern, content).apply($0) }
        case .byteFallback:
            var out: [[Unicode.Scalar]] = []
            var bytes: [UInt8] = []
            func flush() {
                guard !bytes.isEmpty else { return }
                if let text = String(validating: bytes, as: UTF8.self) {
                    out.append(Array(text.unicodeScalars))
                } else {
                    for _ in bytes { out.append(["\u{FFFD}"]) }
                }
                bytes = []
            }
            for token in tokens {
                if token.count == 6, token[0] == "<", token[1] == "0", token[2] == "x", token[5] == ">",
                    let byte = UInt8(String(String.UnicodeScalarView(token[3...4])), radix: 16)
                {
                    bytes.append(byte)
                } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.flatMap { $0 }]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                var slice = token[...]
                var n = 0
                while n < start, slice.first == content {
                    slice.removeFirst()
                    n += 1
                }
                n = 0
                while n < stop, slice.last == content {
                    slice.removeLast()
                    n += 1
                }
                return Array(slice)
            }
        case .metaspace(let replacement, let scheme):
            // As `tokenizers` does: in the first token every replacement is dropped, not only a leading one.
            return tokens.enumerated().map { index, token in
                if index == 0 && scheme != "never" { return token.filter { $0 != replacement } }
                return token.map { $0 == replacement ? " " : $0 }
            }
        case .sequence(let items):
            return items.reduce(tokens) { $1.apply($0) }
        }
    }
}
