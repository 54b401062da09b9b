internal import Foundation

/// A problem loading a tokenizer.
public struct TokenizerError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// One line.
    public var description: String { message }
}

/// A Hugging Face `tokenizer.json` BPE tokenizer: byte-level BPE (GPT-2, Llama 3, Qwen2) and SentencePiece-style
/// BPE with byte fallback (Llama 2, Mistral, Phi-3), with added and special tokens.
public struct Tokenizer: Sendable {
    struct AddedToken: Sendable {
        var id: Int
        var content: String
        var special: Bool
        var lstrip: Bool
        var rstrip: Bool
    }

    enum Normalizer: Sendable {
        case prepend(String)
        case replace(String, String)
    }

    enum PreTokenizer: Sendable {
        case split(pattern: String, behavior: String)
        case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
        case metaspace(replacement: String, prependScheme: String)
    }

    enum Decoder: Sendable {
        case byteLevel
        case replace(String, String)
        case byteFallback
        case fuse
        case strip(content: String, start: Int, stop: Int)
        case metaspace(replacement: String, prependScheme: String)
    }

    let vocabulary: [String: Int]
    let tokens: [Int: String]
    let mergeRanks: [String: Int]
    let addedTokens: [AddedToken]
    let normalizers: [Normalizer]
    let preTokenizers: [PreTokenizer]
    let decoders: [Decoder]
    let byteFallback: Bool
    let unknownToken: String?
    let fuseUnknown: Bool
    /// Ids added before/after the text when special tokens are requested (TemplateProcessing).
    let prefixIDs: [Int]
    let suffixIDs: [Int]
    let specialIDs: Set<Int>
    let splitRegexes: [String: RegexBox]

    /// Loads `tokenizer.json`.
    ///
    /// - Throws: ``TokenizerError`` for a model or component this tokenizer does not support.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path),
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw TokenizerError(message: "cannot read \(path)") }
        try self.init(json: json)
    }

    init(json: [String: Any]) throws {
        guard let model = json["model"] as? [String: Any], (model["type"] as? String ?? "BPE") == "BPE",
            let vocab = model["vocab"] as? [String: Int]
        else { throw TokenizerError(message: "only BPE tokenizers are supported") }
        var vocabulary = vocab
        var ranks: [String: Int] = [:]
        for (rank, merge) in (model["merges"] as? [Any] ?? []).enumerated() {
            if let pair = merge as? [String], pair.count == 2 {
                ranks[pair[0] + " " + pair[1]] = rank
            } else if let text = merge as? String {
                ranks[text] = rank
            }
        }
        var added: [AddedToken] = []
        for item in json["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = item["id"] as? Int, let content = item["content"] as? String else { continue }
            added.append(
                AddedToken(
                    id: id,
                    content: content,
                    special: item["special"] as? Bool ?? false,
                    lstrip: item["lstrip"] as? Bool ?? false,
                    rstrip: item["rstrip"] as? Bool ?? false
                )
            )
            vocabulary[content] = id
        }
        self.vocabulary = vocabulary
        var reverse: [Int: String] = [:]
        for (token, id) in vocabulary { reverse[id] = token }
        tokens = reverse
        mergeRanks = ranks
        addedTokens = added.sorted { $0.content.utf8.count > $1.content.utf8.count }
        specialIDs = Set(added.filter(\.special).map(\.id))
        byteFallback = model["byte_fallback"] as? Bool ?? false
        unknownToken = model["unk_token"] as? String
        fuseUnknown = model["fuse_unk"] as? Bool ?? false
        normalizers = try Self.parseNormalizers(json["normalizer"])
        let pre = try Self.parsePreTokenizers(json["pre_tokenizer"])
        preTokenizers = pre
        decoders = try Self.parseDecoders(json["decoder"])
        var regexes: [String: RegexBox] = [:]
        for case .split(let pattern, _) in pre { regexes[pattern] = try RegexBox(pattern) }
        splitRegexes = regexes
        var prefix: [Int] = []
        var suffix: [Int] = []
        if let post = json["post_processor"] as? [String: Any], post["type"] as? String == "TemplateProcessing",
            let single = post["single"] as? [[String: Any]]
        {
            var seenSequence = false
            for piece in single {
                if piece["Sequence"] != nil {
                    seenSequence = true
                } else if let special = piece["SpecialToken"] as? [String: Any], let name = special["id"] as? String,
                    let id = vocabulary[name]
                {
                    if seenSequence { suffix.append(id) } else { prefix.append(id) }
                }
            }
        }
        prefixIDs = prefix
        suffixIDs = suffix
    }

    static func parseNormalizers(_ value: Any?) throws -> [Normalizer] {
        guard let node = value as? [String: Any], let type = node["type"] as? String else { return [] }
        switch type {
        case "Sequence":
            return try (node["normalizers"] as? [Any] ?? []).flatMap { try parseNormalizers($0) }
        case "Prepend":
            return [.prepend(node["prepend"] as? String ?? "")]
        case "Replace":
            let pattern = (node["pattern"] as? [String: Any])?["String"] as? String ?? ""
            return [.replace(pattern, node["content"] as? String ?? "")]
        case "NFC":
            return []  // Inputs are normalised to NFC by Swift string comparison; see the type's discussion.
        default:
            throw TokenizerError(message: "unsupported normalizer \(type)")
        }
    }

    static func parsePreTokenizers(_ value: Any?) throws -> [PreTokenizer] {
        guard let node = value as? [String: Any], let type = node["type"] as? String else { return [] }
        switch type {
        case "Sequence":
            return try (node["pretokenizers"] as? [Any] ?? []).flatMap { try parsePreTokenizers($0) }
        case "Split":
            guard let pattern = (node["pattern"] as? [String: Any])?["Regex"] as? String else {
                throw TokenizerError(message: "unsupported Split pattern")
            }
            return [.split(pattern: pattern, behavior: node["behavior"] as? String ?? "Isolated")]
        case "ByteLevel":
            return [
                .byteLevel(
                    addPrefixSpace: node["add_prefix_space"] as? Bool ?? false,
                    useRegex: node["use_regex"] as? Bool ?? true
                )
            ]
        case "Metaspace":
            return [
                .metaspace(
                    replacement: node["replacement"] as? String ?? "▁",
                    prependScheme: node["prepend_scheme"] as? String ?? "always"
                )
            ]
        default:
            throw TokenizerError(message: "unsupported pre-tokenizer \(type)")
        }
    }

    static func parseDecoders(_ value: Any?) throws -> [Decoder] {
        guard let node = value as? [String: Any], let type = node["type"] as? String else { return [] }
        switch type {
        case "Sequence":
            return try (node["decoders"] as? [Any] ?? []).flatMap { try parseDecoders($0) }
        case "ByteLevel": return [.byteLevel]
        case "Replace":
            let pattern = (node["pattern"] as? [String: Any])?["String"] as? String ?? ""
            return [.replace(pattern, node["content"] as? String ?? "")]
        case "ByteFallback": return [.byteFallback]
        case "Fuse": return [.fuse]
        case "Strip":
            return [
                .strip(
                    content: node["content"] as? String ?? " ",
                    start: node["start"] as? Int ?? 0,
                    stop: node["stop"] as? Int ?? 0
                )
            ]
        case "Metaspace":
            return [
                .metaspace(
                    replacement: node["replacement"] as? String ?? "▁",
                    prependScheme: node["prepend_scheme"] as? String ?? "always"
                )
            ]
        default:
            throw TokenizerError(message: "unsupported decoder \(type)")
        }
    }
}

/// A compiled regular expression shared across threads.
// Justification for @unchecked Sendable: the regex is immutable after init and only used for matching.
final class RegexBox: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>

    init(_ pattern: String) throws {
        regex = try Regex(pattern).matchingSemantics(.unicodeScalar)
    }
}
