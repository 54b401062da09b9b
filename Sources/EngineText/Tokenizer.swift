#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// A problem loading a tokenizer: what is wrong, and where (file and byte offset, or pattern offset).
public struct TokenizerError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// The file being read, when there is one.
    public var path: String?
    /// The byte offset in the file (or the scalar offset in a pattern) of the problem, when known.
    public var offset: Int?

    /// Creates an error.
    public init(message: String, path: String? = nil, offset: Int? = nil) {
        self.message = message
        self.path = path
        self.offset = offset
    }

    /// One line: `path:offset: message`.
    public var description: String {
        var prefix = ""
        if let path { prefix = path + ":" }
        if let offset { prefix += "\(offset):" }
        return prefix.isEmpty ? message : prefix + " " + message
    }
}

/// A Hugging Face `tokenizers` tokenizer (BPE model) implemented as that library runs it: added tokens are split out
/// first (`lstrip`, `rstrip`, `single_word`, `normalized`), then the normalizers, the pre-tokenizers, BPE (with
/// `ignore_merges`, byte fallback and `fuse_unk`), the post-processor and, for decoding, the decoders.
///
/// Load it from `tokenizer.json` (``init(path:)``) or from a GGUF file's `tokenizer.ggml.*` metadata
/// (``init(gguf:)``). Vocabulary entries are compared as UTF-8 bytes, so canonically equivalent tokens stay distinct.
public struct Tokenizer: Sendable {
    struct AddedToken: Sendable {
        var id: Int
        var content: [Unicode.Scalar]
        var special: Bool
        var lstrip: Bool
        var rstrip: Bool
        var normalized: Bool
        var singleWord: Bool
    }

    /// Token ids by their UTF-8 bytes (model vocabulary and added tokens).
    let vocabulary: [[UInt8]: Int]
    /// Token bytes by id (nil for an unused id).
    let tokenBytes: [[UInt8]?]
    /// Ids of the tokens that are one scalar, for the first step of BPE.
    let scalarIDs: ScalarTable
    /// BPE merges: (left id << 32 | right id) → (rank, merged id).
    let merges: PairTable
    let ignoreMerges: Bool
    let byteFallback: Bool
    let byteTokenIDs: [Int32]?
    let unknownID: Int?
    let fuseUnknown: Bool

    let addedTokens: [AddedToken]
    /// Added tokens matched on the raw text (`normalized: false`), and on the normalized text.
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    let specialIDs: Set<Int>

    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor?
    let decoder: Decoder?

    struct Merge: Sendable {
        var rank: Int32
        var id: Int32
    }

    /// Loads `tokenizer.json`.
    ///
    /// - Throws: ``TokenizerError`` with the file and offset for unreadable JSON, or naming the component that this
    ///   tokenizer does not implement.
    public init(path: String) throws(TokenizerError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError(message: "cannot read the file", path: path)
        }
        let json = try JSONValue.parse([UInt8](data), path: path)
        do {
            try self.init(json: json)
        } catch {
            throw TokenizerError(message: error.message, path: path, offset: error.offset)
        }
    }

    init(json: JSONValue) throws(TokenizerError) {
        guard let model = json["model"] else { throw TokenizerError(message: "no model") }
        let type = model["type"]?.string ?? "BPE"
        guard type == "BPE" else { throw TokenizerError(message: "model \(type) is not supported (only BPE)") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[key]?.string, !value.isEmpty {
                throw TokenizerError(message: "BPE \(key) is not supported")
            }
        }
        guard case .object(let entries) = model["vocab"] ?? .null else {
            throw TokenizerError(message: "BPE model without a vocab object")
        }
        var vocab: [[UInt8]: Int] = [:]
        vocab.reserveCapacity(entries.count)
        for (key, value) in entries {
            guard let id = value.int, id >= 0 else { throw TokenizerError(message: "bad id in vocab") }
            vocab[key] = id
        }
        var mergeList: [([UInt8], [UInt8])] = []
        for item in model["merges"]?.array ?? [] {
            if let pair = item.array, pair.count == 2, let a = pair[0].bytes, let b = pair[1].bytes {
                mergeList.append((a, b))
            } else if let text = item.bytes, let space = text.firstIndex(of: 0x20) {
                mergeList.append((Array(text[..<space]), Array(text[(space + 1)...])))
            } else {
                throw TokenizerError(message: "bad merge entry")
            }
        }
        var added: [AddedToken] = []
        for item in json["added_tokens"]?.array ?? [] {
            guard let id = item["id"]?.int, let content = item["content"]?.bytes else {
                throw TokenizerError(message: "added token without id or content")
            }
            added.append(
                AddedToken(
                    id: id,
                    content: Array(String(decoding: content, as: UTF8.self).unicodeScalars),
                    special: item["special"]?.bool ?? false,
                    lstrip: item["lstrip"]?.bool ?? false,
                    rstrip: item["rstrip"]?.bool ?? false,
                    normalized: item["normalized"]?.bool ?? !(item["special"]?.bool ?? false),
                    singleWord: item["single_word"]?.bool ?? false
                )
            )
        }
        let normalizer = try json["normalizer"].flatMap { (node) throws(TokenizerError) in
            try Normalizer(json: node)
        }
        try self.init(
            vocabulary: vocab,
            merges: mergeList,
            addedTokens: added,
            ignoreMerges: model["ignore_merges"]?.bool ?? false,
            byteFallback: model["byte_fallback"]?.bool ?? false,
            unknownToken: model["unk_token"]?.bytes,
            fuseUnknown: model["fuse_unk"]?.bool ?? false,
            normalizer: normalizer,
            preTokenizer: try json["pre_tokenizer"].flatMap { (node) throws(TokenizerError) in
                try PreTokenizer(json: node)
            },
            postProcessor: try json["post_processor"].flatMap { (node) throws(TokenizerError) in
                try PostProcessor(json: node, vocabulary: vocab, added: added)
            },
            decoder: try json["decoder"].flatMap { (node) throws(TokenizerError) in try Decoder(json: node) }
        )
    }

    /// Builds a tokenizer from its parts; merges are pairs of token strings, lowest rank first.
    init(
        vocabulary vocab: [[UInt8]: Int],
        merges mergeList: [([UInt8], [UInt8])],
        rankedMerges: [UInt64: Merge]? = nil,
        addedTokens added: [AddedToken],
        ignoreMerges: Bool,
        byteFallback: Bool,
        unknownToken: [UInt8]?,
        fuseUnknown: Bool,
        normalizer: Normalizer?,
        preTokenizer: PreTokenizer?,
        postProcessor: PostProcessor?,
        decoder: Decoder?
    ) throws(TokenizerError) {
        var vocabulary = vocab
        for token in added { vocabulary[Array(String(String.UnicodeScalarView(token.content)).utf8)] = token.id }
        let maxID = vocabulary.values.max() ?? -1
        var bytes = [[UInt8]?](repeating: nil, count: maxID + 1)
        // The model's entries first, then added tokens, which take precedence for decoding as in `tokenizers`.
        for (key, id) in vocab { bytes[id] = key }
        // A `normalized` added token decodes as its normalized form (as `tokenizers` 0.23 stores it).
        for token in added {
            let content = token.normalized ? normalizer?.apply(token.content) ?? token.content : token.content
            bytes[token.id] = Array(String(String.UnicodeScalarView(content)).utf8)
        }
        var scalars: [UInt32: Int32] = [:]
        for (key, id) in vocab {
            let text = String(decoding: key, as: UTF8.self).unicodeScalars
            if text.count == 1, let scalar = text.first { scalars[scalar.value] = Int32(id) }
        }
        var merges: [UInt64: Merge] = rankedMerges ?? [:]
        if rankedMerges == nil {
            merges.reserveCapacity(mergeList.count)
            for (rank, (a, b)) in mergeList.enumerated() {
                guard let left = vocab[a], let right = vocab[b], let merged = vocab[a + b] else { continue }
                merges[UInt64(left) << 32 | UInt64(right)] = Merge(rank: Int32(rank), id: Int32(merged))
            }
        }
        var byteIDs: [Int32]?
        if byteFallback {
            var ids: [Int32] = []
            for byte in 0..<256 {
                let name = "<0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true) + ">"
                guard let id = vocab[Array(name.utf8)] else { break }
                ids.append(Int32(id))
            }
            byteIDs = ids.count == 256 ? ids : nil
        }
        self.vocabulary = vocabulary
        self.tokenBytes = bytes
        self.scalarIDs = ScalarTable(scalars)
        self.merges = PairTable(merges)
        self.ignoreMerges = ignoreMerges
        self.byteFallback = byteFallback
        self.byteTokenIDs = byteIDs
        self.unknownID = unknownToken.flatMap { vocab[$0] }
        self.fuseUnknown = fuseUnknown
        self.addedTokens = added
        self.specialIDs = Set(added.filter(\.special).map(\.id))
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.decoder = decoder
        rawMatcher = AddedTokenMatcher(added.filter { !$0.normalized })
        normalizedMatcher = AddedTokenMatcher(
            added.filter(\.normalized).map { token in
                var token = token
                if let normalizer { token.content = normalizer.apply(token.content) }
                return token
            }
        )
    }

    /// The number of ids (the largest id plus one).
    public var vocabularySize: Int { tokenBytes.count }

    /// The id of a token given by its exact text (compared as UTF-8 bytes), if the vocabulary has it.
    public func id(of token: String) -> Int? { vocabulary[Array(token.utf8)] }

    /// The text of a token (invalid UTF-8 repaired), if the id is used.
    public func token(of id: Int) -> String? {
        guard id >= 0, id < tokenBytes.count, let bytes = tokenBytes[id] else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether an id is a special added token (skipped when decoding with `skipSpecialTokens`).
    public func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }
}

/// Finds added tokens in text, leftmost first and longest at a position, as `tokenizers` does with Aho-Corasick.
struct AddedTokenMatcher: Sendable {
    /// Tokens by first scalar, longest first.
    let byFirst: [UInt32: [Tokenizer.AddedToken]]

    init(_ tokens: [Tokenizer.AddedToken]) {
        var map: [UInt32: [Tokenizer.AddedToken]] = [:]
        for token in tokens where !token.content.isEmpty {
            map[token.content[0].value, default: []].append(token)
        }
        for key in map.keys { map[key]?.sort { $0.content.count > $1.content.count } }
        byFirst = map
    }

    var isEmpty: Bool { byFirst.isEmpty }

    enum Part {
        case token(Int)
        case text(Range<Int>)
    }

    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }

    /// Splits `text` into added tokens and the text between them.
    func split(_ text: [Unicode.Scalar]) -> [Part] {
        guard !byFirst.isEmpty else { return text.isEmpty ? [] : [.text(0..<text.count)] }
        var parts: [Part] = []
        var offset = 0
        var position = 0
        while position < text.count {
            guard let candidates = byFirst[text[position].value],
                let token = candidates.first(where: { token in
                    position + token.content.count <= text.count
                        && text[position..<(position + token.content.count)].elementsEqual(token.content)
                })
            else {
                position += 1
                continue
            }
            var start = position
            var stop = position + token.content.count
            position = stop
            if token.singleWord {
                let before = start > 0 && Self.isWordScalar(text[start - 1])
                let after = stop < text.count && Self.isWordScalar(text[stop])
                if before || after { continue }
            }
            if token.lstrip {
                while start > offset, text[start - 1].properties.isWhitespace { start -= 1 }
            }
            if token.rstrip {
                while stop < text.count, text[stop].properties.isWhitespace { stop += 1 }
            }
            if offset < start { parts.append(.text(offset..<start)) }
            parts.append(.token(token.id))
            offset = stop
            position = max(position, stop)
        }
        if offset < text.count { parts.append(.text(offset..<text.count)) }
        return parts
    }
}

/// BPE merges by pair of ids, in an open-addressing table: the merge loop's hot lookup, cheaper than a `Dictionary`
/// with its seeded hashing.
struct PairTable: Sendable {
    private let keys: [UInt64]
    private let values: [Tokenizer.Merge]
    private let shift: UInt64
    let count: Int

    static let empty = UInt64.max

    init(_ merges: [UInt64: Tokenizer.Merge]) {
        var capacity = 16
        while capacity < merges.count * 2 { capacity *= 2 }
        var keys = [UInt64](repeating: Self.empty, count: capacity)
        var values = [Tokenizer.Merge](repeating: Tokenizer.Merge(rank: 0, id: 0), count: capacity)
        let shift = UInt64(64 - capacity.trailingZeroBitCount)
        for (key, value) in merges {
            var slot = Int((key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while keys[slot] != Self.empty { slot = (slot + 1) & (capacity - 1) }
            keys[slot] = key
            values[slot] = value
        }
        self.keys = keys
        self.values = values
        self.shift = shift
        count = merges.count
    }

    var isEmpty: Bool { count == 0 }

    /// The merge of `left` followed by `right`, if any.
    func merge(_ left: Int32, _ right: Int32) -> Tokenizer.Merge? {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        let mask = keys.count - 1
        var slot = Int((key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let found = keys[slot]
            if found == key { return values[slot] }
            if found == Self.empty { return nil }
            slot = (slot + 1) & mask
        }
    }
}

/// Token ids of single scalars: a flat array below U+30000, a dictionary above.
struct ScalarTable: Sendable {
    private let low: [Int32]
    private let high: [UInt32: Int32]
    static let flatLimit: UInt32 = 0x3_0000

    init(_ ids: [UInt32: Int32]) {
        var low = [Int32](repeating: -1, count: Int(Self.flatLimit))
        var high: [UInt32: Int32] = [:]
        for (scalar, id) in ids {
            if scalar < Self.flatLimit { low[Int(scalar)] = id } else { high[scalar] = id }
        }
        self.low = low
        self.high = high
    }

    subscript(_ scalar: UInt32) -> Int32? {
        if scalar < Self.flatLimit {
            let id = low[Int(scalar)]
            return id >= 0 ? id : nil
        }
        return high[scalar]
    }
}
