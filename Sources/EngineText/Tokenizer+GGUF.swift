/// The `tokenizer.ggml.*` metadata of a GGUF file (llama.cpp's model format), from which ``Tokenizer`` builds the
/// same tokenizer that `tokenizer.json` describes.
public struct GGUFTokenizerMetadata: Sendable {
    /// `tokenizer.ggml.model`: `llama` (SentencePiece-style BPE over scores), `gpt2` (byte-level BPE over merges) or
    /// `gemma4` (SentencePiece-style BPE over merges).
    public var model: String
    /// `tokenizer.ggml.pre`: selects the pre-tokenizer regexes of a `gpt2` vocabulary, as llama.cpp does.
    public var pre: String?
    /// `tokenizer.ggml.tokens`, as UTF-8 bytes.
    public var tokens: [[UInt8]]
    /// `tokenizer.ggml.scores`.
    public var scores: [Float]?
    /// `tokenizer.ggml.token_type`: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    public var tokenTypes: [Int32]?
    /// `tokenizer.ggml.merges`: `"left right"` pairs, lowest rank first.
    public var merges: [[UInt8]]?
    /// `tokenizer.ggml.bos_token_id`.
    public var bosID: Int?
    /// `tokenizer.ggml.eos_token_id`.
    public var eosID: Int?
    /// `tokenizer.ggml.unknown_token_id`.
    public var unknownID: Int?
    /// `tokenizer.ggml.add_bos_token`.
    public var addBOS: Bool?
    /// `tokenizer.ggml.add_eos_token`.
    public var addEOS: Bool?
    /// `tokenizer.ggml.add_space_prefix`.
    public var addSpacePrefix: Bool?

    /// Creates the metadata from its parts.
    public init(model: String, pre: String? = nil, tokens: [[UInt8]]) {
        self.model = model
        self.pre = pre
        self.tokens = tokens
    }
}

extension Tokenizer {
    /// The split regexes of a byte-level vocabulary, by `tokenizer.ggml.pre`.
    ///
    /// These are the patterns of the models' `tokenizer.json`, chosen as llama.cpp's `src/llama-vocab.cpp` chooses
    /// them. Nil patterns: ByteLevel's own GPT-2 split.
    static func ggufSplits(_ pre: String) -> (patterns: [String]?, ignoreMerges: Bool, digits: Bool)? {
        let llama3 =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
            + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
        let qwen2 =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
            + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
        let qwen35 =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*"
            + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
        let han = "[\u{4E00}-\u{9FA5}\u{0800}-\u{4E00}\u{AC00}-\u{D7FF}]+"
        switch pre {
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral":
            return ([llama3], true, false)
        case "qwen2", "deepseek-r1-qwen", "megrez":
            return ([qwen2], false, false)
        case "qwen35":
            return ([qwen35], false, false)
        case "deepseek-llm":
            return (
                [
                    "[\r\n]", deepSeekLetters,
                    "\\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+",
                    "\\s+$", han, "\\p{N}+",
                ], false, false
            )
        case "deepseek-coder":
            return (["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", han, "\\p{N}"], false, false)
        case "command-r", "smollm", "codeshell", "exaone", "minerva":
            return (nil, false, true)
        case "default", "gpt-2", "gpt2", "mpt", "olmo", "jais", "trillion", "granite-docling":
            return (nil, false, false)
        default:
            return nil
        }
    }

    /// DeepSeek LLM's letter class (its `tokenizer.json`).
    static let deepSeekLetters =
        "\\s?[A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}\u{295}-\u{2AF}"
        + "\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}"
        + "\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}"
        + "\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}"
        + "\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}"
        + "\u{1F5D}\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}"
        + "\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}"
        + "\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}"
        + "\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}"
        + "\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}"
        + "\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}"
        + "\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}"
        + "\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+"

    /// Builds the tokenizer a GGUF file describes: its vocabulary, merges (or, for SentencePiece vocabularies,
    /// merges ranked by the merged token's score, which is how SentencePiece BPE chooses), special tokens (control
    /// and user-defined entries become added tokens), and the normalizer, pre-tokenizer, post-processor and decoder
    /// of the model family, with the pre-tokenizer chosen by `tokenizer.ggml.pre`.
    ///
    /// - Throws: ``TokenizerError`` for an unknown `tokenizer.ggml.model` or `tokenizer.ggml.pre`, or inconsistent
    ///   arrays.
    public init(gguf metadata: GGUFTokenizerMetadata) throws(TokenizerError) {
        let tokens = metadata.tokens
        if let types = metadata.tokenTypes, types.count != tokens.count {
            throw TokenizerError(
                message: "tokenizer.ggml.token_type has \(types.count) entries for \(tokens.count) tokens"
            )
        }
        if let scores = metadata.scores, scores.count != tokens.count {
            throw TokenizerError(
                message: "tokenizer.ggml.scores has \(scores.count) entries for \(tokens.count) tokens"
            )
        }
        var vocab: [[UInt8]: Int] = [:]
        vocab.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where vocab[token] == nil { vocab[token] = id }
        var added: [AddedToken] = []
        for (id, type) in (metadata.tokenTypes ?? []).enumerated() where type == 3 || type == 4 {
            added.append(
                AddedToken(
                    id: id,
                    content: Array(String(decoding: tokens[id], as: UTF8.self).unicodeScalars),
                    special: type == 3,
                    lstrip: false,
                    rstrip: false,
                    normalized: false,
                    singleWord: false
                )
            )
        }
        var prefix: [Int] = []
        var suffix: [Int] = []
        if metadata.addBOS ?? (metadata.model == "llama"), let bos = metadata.bosID { prefix = [bos] }
        if metadata.addEOS ?? false, let eos = metadata.eosID { suffix = [eos] }
        let post = PostProcessor.template(prefix: prefix, suffix: suffix)
        let unknown = metadata.unknownID.flatMap { $0 < tokens.count ? tokens[$0] : nil }
        let merges = (metadata.merges ?? []).compactMap { line -> ([UInt8], [UInt8])? in
            guard let space = line.firstIndex(of: 0x20) else { return nil }
            return (Array(line[..<space]), Array(line[(space + 1)...]))
        }
        let space: [Unicode.Scalar] = ["▁"]
        let metaspaceDecoder = Decoder.sequence([
            .replace(.literal(space), [" "]), .byteFallback, .fuse,
        ])
        switch metadata.model {
        case "llama":
            guard let scores = metadata.scores else { throw TokenizerError(message: "tokenizer.ggml.scores missing") }
            let prependSpace = metadata.addSpacePrefix ?? true
            let normalizer = Normalizer.sequence(
                (prependSpace ? [Normalizer.prepend(space)] : []) + [.replace(.literal([" "]), space)]
            )
            try self.init(
                vocabulary: vocab,
                merges: [],
                rankedMerges: Self.scoreMerges(
                    tokens: tokens,
                    scores: scores,
                    types: metadata.tokenTypes,
                    vocab: vocab
                ),
                addedTokens: added,
                ignoreMerges: false,
                byteFallback: true,
                unknownToken: unknown,
                fuseUnknown: true,
                normalizer: normalizer,
                preTokenizer: nil,
                postProcessor: post,
                decoder: prependSpace
                    ? .sequence([metaspaceDecoder, .strip(content: " ", start: 1, stop: 0)]) : metaspaceDecoder
            )
        case "gemma4":
            try self.init(
                vocabulary: vocab,
                merges: merges,
                addedTokens: added,
                ignoreMerges: false,
                byteFallback: true,
                unknownToken: unknown,
                fuseUnknown: true,
                normalizer: .replace(.literal([" "]), space),
                preTokenizer: nil,
                postProcessor: post,
                decoder: metaspaceDecoder
            )
        case "gpt2":
            let pre = metadata.pre ?? "default"
            guard let (patterns, ignoreMerges, digits) = Self.ggufSplits(pre) else {
                throw TokenizerError(message: "tokenizer.ggml.pre \(pre) is not supported")
            }
            var steps: [PreTokenizer] = []
            if digits { steps.append(.digits(individual: true)) }
            for pattern in patterns ?? [] {
                steps.append(.split(.regex(try TokenRegex(pattern)), .isolated, invert: false))
            }
            steps.append(.byteLevel(addPrefixSpace: false, useRegex: patterns == nil))
            try self.init(
                vocabulary: vocab,
                merges: merges,
                addedTokens: added,
                ignoreMerges: ignoreMerges,
                byteFallback: false,
                unknownToken: nil,
                fuseUnknown: false,
                normalizer: digits ? .nfc : nil,
                preTokenizer: .sequence(steps),
                postProcessor: post,
                decoder: .byteLevel
            )
        default:
            throw TokenizerError(message: "tokenizer.ggml.model \(metadata.model) is not supported")
        }
    }

    /// SentencePiece BPE as merges: every split of a token into two vocabulary entries is a merge into it, ranked by
    /// the token's score (higher first; equal scores share a rank, so the leftmost pair wins, as in SentencePiece).
    static func scoreMerges(
        tokens: [[UInt8]],
        scores: [Float],
        types: [Int32]?,
        vocab: [[UInt8]: Int]
    ) -> [UInt64: Merge] {
        let distinct = Array(Set(scores)).sorted(by: >)
        var rankOf: [Float: Int32] = [:]
        for (rank, score) in distinct.enumerated() { rankOf[score] = Int32(rank) }
        var merges: [UInt64: Merge] = [:]
        for (id, token) in tokens.enumerated() where token.count > 1 {
            if let types, types[id] != 1 { continue }
            let rank = rankOf[scores[id]] ?? Int32.max
            var cut = 1
            while cut < token.count {
                // Cut only between UTF-8 scalars.
                if token[cut] & 0xC0 != 0x80, let left = vocab[Array(token[..<cut])],
                    let right = vocab[Array(token[cut...])]
                {
                    let key = UInt64(left) << 32 | UInt64(right)
                    if let existing = merges[key], existing.rank <= rank {
                        cut += 1
                        continue
                    }
                    merges[key] = Merge(rank: rank, id: Int32(id))
                }
                cut += 1
            }
        }
        return merges
    }
}
