extension Tokenizer {
    /// The GPT-2 byte-to-character table of byte-level BPE: printable bytes map to themselves, the others to
    /// characters from U+0100 up.
    static let byteToCharacter: [Character] = {
        var table = [Character](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = Character(Unicode.Scalar(UInt8(b)))
            } else {
                table[b] = Character(Unicode.Scalar(next) ?? " ")
                next += 1
            }
        }
        return table
    }()

    static let characterToByte: [Character: UInt8] = {
        var map: [Character: UInt8] = [:]
        for (b, c) in byteToCharacter.enumerated() { map[c] = UInt8(b) }
        return map
    }()

    /// Encodes text.
    ///
    /// - Parameters:
    ///   - text: The text.
    ///   - addSpecialTokens: Add the post-processor's special tokens (for example BOS).
    /// - Returns: Token ids, identical to `tokenizers`.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = []
        for segment in splitOnAddedTokens(text) {
            switch segment {
            case .added(let id): ids.append(id)
            case .text(let piece): ids += encodePlain(piece)
            }
        }
        return addSpecialTokens ? prefixIDs + ids + suffixIDs : ids
    }

    enum Segment {
        case added(Int)
        case text(String)
    }

    /// Splits text around added tokens (longest first at each position), honouring `lstrip` and `rstrip`.
    func splitOnAddedTokens(_ text: String) -> [Segment] {
        guard !addedTokens.isEmpty else { return text.isEmpty ? [] : [.text(text)] }
        var segments: [Segment] = []
        var scalars = Array(text.unicodeScalars)[...]
        var pending = String.UnicodeScalarView()
        func flush() {
            if !pending.isEmpty { segments.append(.text(String(pending))) }
            pending = String.UnicodeScalarView()
        }
        outer: while let first = scalars.first {
            for token in addedTokens where token.content.unicodeScalars.first == first {
                let content = Array(token.content.unicodeScalars)
                if scalars.starts(with: content) {
                    if token.lstrip {
                        while let last = pending.last, last.properties.isWhitespace { pending.removeLast() }
                    }
                    flush()
                    segments.append(.added(token.id))
                    scalars = scalars.dropFirst(content.count)
                    if token.rstrip {
                        while let next = scalars.first, next.properties.isWhitespace { scalars = scalars.dropFirst() }
                    }
                    continue outer
                }
            }
            pending.append(first)
            scalars = scalars.dropFirst()
        }
        flush()
        return segments
    }

    /// Normalises, pre-tokenises and runs BPE on text without added tokens.
    func encodePlain(_ text: String) -> [Int] {
        var normalized = text
        for normalizer in normalizers {
            switch normalizer {
            case .prepend(let prefix): if !normalized.isEmpty { normalized = prefix + normalized }
            case .replace(let pattern, let content): normalized = normalized.replacing(pattern, with: content)
            }
        }
        var words = normalized.isEmpty ? [] : [normalized]
        for pre in preTokenizers {
            switch pre {
            case .split(let pattern, let behavior):
                guard let box = splitRegexes[pattern] else { continue }
                words = words.flatMap { Self.split($0, regex: box.regex, behavior: behavior) }
            case .byteLevel(let addPrefixSpace, _):
                words = words.map { word in
                    let prefixed = addPrefixSpace && !word.hasPrefix(" ") ? " " + word : word
                    return String(prefixed.utf8.map { Self.byteToCharacter[Int($0)] })
                }
            case .metaspace(let replacement, let scheme):
                words = words.map { word in
                    let replaced = word.replacing(" ", with: replacement)
                    return scheme == "never" || replaced.hasPrefix(replacement) ? replaced : replacement + replaced
                }
            }
        }
        return words.flatMap(bpe)
    }

    /// The pieces of a string by a regex, keeping matches and the text between them ("Isolated").
    static func split(_ text: String, regex: Regex<AnyRegexOutput>, behavior: String) -> [String] {
        var pieces: [String] = []
        var last = text.startIndex
        for match in text.matches(of: regex) {
            if match.range.lowerBound > last { pieces.append(String(text[last..<match.range.lowerBound])) }
            if !match.range.isEmpty { pieces.append(String(text[match.range])) }
            last = match.range.upperBound
        }
        if last < text.endIndex { pieces.append(String(text[last...])) }
        return pieces
    }

    /// Byte-pair encoding of one word: lowest-ranked merges first.
    func bpe(_ word: String) -> [Int] {
        if let id = vocabulary[word], mergeRanks.isEmpty || word.unicodeScalars.count == 1 { return [id] }
        var symbols: [String] = word.unicodeScalars.map { String($0) }
        guard !symbols.isEmpty else { return [] }
        while symbols.count > 1 {
            var best: (rank: Int, index: Int)?
            for i in 0..<(symbols.count - 1) {
                if let rank = mergeRanks[symbols[i] + " " + symbols[i + 1]], rank < (best?.rank ?? .max) {
                    best = (rank, i)
                }
            }
            guard let best else { break }
            symbols[best.index] += symbols[best.index + 1]
            symbols.remove(at: best.index + 1)
        }
        var ids: [Int] = []
        var lastWasUnknown = false
        for symbol in symbols {
            if let id = vocabulary[symbol] {
                ids.append(id)
                lastWasUnknown = false
            } else if byteFallback {
                for byte in symbol.utf8 {
                    let name = "<0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true) + ">"
                    if let id = vocabulary[name] { ids.append(id) }
                }
                lastWasUnknown = false
            } else if let unknown = unknownToken, let id = vocabulary[unknown] {
                if !(fuseUnknown && lastWasUnknown) { ids.append(id) }
                lastWasUnknown = true
            }
        }
        return ids
    }

    /// Decodes ids, identical to `tokenizers` (invalid UTF-8 becomes U+FFFD).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var pieces = ids.compactMap { id -> String? in
            if skipSpecialTokens, specialIDs.contains(id) { return nil }
            return tokens[id]
        }
        for decoder in decoders {
            switch decoder {
            case .byteLevel:
                var bytes: [UInt8] = []
                for piece in pieces {
                    for character in piece {
                        if let byte = Self.characterToByte[character] {
                            bytes.append(byte)
                        } else {
                            bytes += Array(String(character).utf8)
                        }
                    }
                }
                pieces = [String(decoding: bytes, as: UTF8.self)]
            case .replace(let pattern, let content):
                pieces = pieces.map { $0.replacing(pattern, with: content) }
            case .byteFallback:
                var result: [String] = []
                var bytes: [UInt8] = []
                func flushBytes() {
                    guard !bytes.isEmpty else { return }
                    if let text = String(validating: bytes, as: UTF8.self) {
                        result.append(text)
                    } else {
                        result += Array(repeating: "\u{FFFD}", count: bytes.count)
                    }
                    bytes = []
                }
                for piece in pieces {
                    if piece.count == 6, piece.hasPrefix("<0x"), piece.hasSuffix(">"),
                        let byte = UInt8(piece.dropFirst(3).dropLast(), radix: 16)
                    {
                        bytes.append(byte)
                    } else {
                        flushBytes()
                        result.append(piece)
                    }
                }
                flushBytes()
                pieces = result
            case .fuse:
                pieces = [pieces.joined()]
            case .strip(let content, let start, let stop):
                pieces = pieces.map { piece in
                    var scalars = Substring(piece)
                    for _ in 0..<start where scalars.hasPrefix(content) { scalars = scalars.dropFirst(content.count) }
                    for _ in 0..<stop where scalars.hasSuffix(content) { scalars = scalars.dropLast(content.count) }
                    return String(scalars)
                }
            case .metaspace(let replacement, let scheme):
                pieces = pieces.enumerated().map { index, piece in
                    let replaced = piece.replacing(replacement, with: " ")
                    return index == 0 && scheme != "never" && replaced.hasPrefix(" ")
                        ? String(replaced.dropFirst()) : replaced
                }
            }
        }
        return pieces.joined()
    }
}

/// Streams decoded text token by token without ever emitting half a character: each call returns only text that
/// is final, and the concatenation of all outputs equals `decode(all ids)`.
public struct IncrementalDecoder: Sendable {
    let tokenizer: Tokenizer
    let skipSpecialTokens: Bool
    var ids: [Int] = []
    var emitted = ""

    /// Creates a decoder.
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds a token and returns the new final text (possibly empty).
    public mutating func push(_ id: Int) -> String {
        ids.append(id)
        let text = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        // A trailing U+FFFD may be an incomplete character still being spelled out in byte tokens.
        // Compare scalars, not characters: a new scalar may join the last character (emoji ZWJ sequences).
        guard text.unicodeScalars.last != "\u{FFFD}", text.unicodeScalars.starts(with: emitted.unicodeScalars) else {
            return ""
        }
        let new = String(String.UnicodeScalarView(text.unicodeScalars.dropFirst(emitted.unicodeScalars.count)))
        emitted = text
        return new
    }

    /// Returns whatever is left at the end of the stream.
    public mutating func finish() -> String {
        let text = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        guard text.unicodeScalars.starts(with: emitted.unicodeScalars) else { return "" }
        let rest = String(String.UnicodeScalarView(text.unicodeScalars.dropFirst(emitted.unicodeScalars.count)))
        emitted = text
        return rest
    }
}
