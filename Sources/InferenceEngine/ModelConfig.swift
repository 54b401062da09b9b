internal import Foundation

/// The facts of a Hugging Face `config.json` the engine needs, for the architectures it runs.
public struct ModelConfig: Sendable, Hashable {
    /// The architectures kaito-serve runs.
    public enum Architecture: String, Sendable, Hashable, CaseIterable {
        case llama = "LlamaForCausalLM"
        case mistral = "MistralForCausalLM"
        case qwen2 = "Qwen2ForCausalLM"
        case phi3 = "Phi3ForCausalLM"
    }

    /// How positions are rotated.
    public enum RopeScaling: Sendable, Hashable {
        case none
        case linear(factor: Float)
        case llama3(factor: Float, lowFrequencyFactor: Float, highFrequencyFactor: Float, originalContext: Int)
        case longrope(shortFactor: [Float], longFactor: [Float], originalContext: Int, attentionFactor: Float)
        /// One divisor per rotary frequency (GGUF's `rope_freqs` tensor, which holds Llama 3's scaling).
        case frequencyFactors([Float])
    }

    /// The model family (`model_type`).
    public var architecture: Architecture
    /// Tokens in the vocabulary (`vocab_size`).
    public var vocabularySize: Int
    /// Width of the residual stream (`hidden_size`).
    public var hiddenSize: Int
    /// Width of the MLP (`intermediate_size`).
    public var intermediateSize: Int
    /// Decoder layers (`num_hidden_layers`).
    public var layerCount: Int
    /// Query heads (`num_attention_heads`).
    public var headCount: Int
    /// Key/value heads (`num_key_value_heads`; fewer than query heads for grouped-query attention).
    public var keyValueHeadCount: Int
    /// Width of one head (`head_dim`, or hidden size / heads).
    public var headDimension: Int
    /// The RMS norm epsilon (`rms_norm_eps`).
    public var rmsNormEpsilon: Float
    /// The rotary base (`rope_theta`).
    public var ropeTheta: Float
    /// The rotary scaling (`rope_scaling`).
    public var ropeScaling: RopeScaling
    /// The context length the model was trained for (`max_position_embeddings`).
    public var maxPositionEmbeddings: Int
    /// The attention window, where the model has one (`sliding_window`).
    public var slidingWindow: Int?
    /// Whether the output head reuses the embeddings (`tie_word_embeddings`).
    public var tieWordEmbeddings: Bool
    /// The beginning-of-sequence token (`bos_token_id`).
    public var bosTokenID: Int?
    /// The end-of-sequence tokens (`eos_token_id`, one or several).
    public var eosTokenIDs: [Int]

    /// Parses `config.json` (the forms transformers 4 and 5 write).
    ///
    /// - Throws: ``EngineError``: `.unsupportedArchitecture` for a model kaito-serve does not run, `.invalidFile`
    ///   naming the field and the expected type when a field is missing or has the wrong type, or for text that is not
    ///   JSON.
    public init(data: some Collection<UInt8>) throws(EngineError) {
        do {
            self = try JSONDecoder().decode(ModelConfig.self, from: Data(data))
        } catch let error as EngineError {
            throw error
        } catch {
            throw EngineError(.invalidFile, "config.json: \(Self.describe(error))")
        }
    }

    /// Parses a `config.json` already read as JSON objects (`JSONSerialization`'s, or a dictionary literal).
    ///
    /// - Throws: ``EngineError`` as ``init(data:)`` does.
    public init(json: [String: Any]) throws(EngineError) {
        guard let data = try? JSONSerialization.data(withJSONObject: json) else {
            throw EngineError(.invalidFile, "config.json: not a JSON object")
        }
        try self.init(data: data)
    }
}

extension ModelConfig: Decodable {
    private enum Keys: String, CodingKey {
        case architectures
        case vocabularySize = "vocab_size"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads"
        case keyValueHeadCount = "num_key_value_heads"
        case headDimension = "head_dim"
        case rmsNormEpsilon = "rms_norm_eps"
        case maxPositionEmbeddings = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings"
        case bosTokenID = "bos_token_id"
        case eosTokenID = "eos_token_id"
        case useSlidingWindow = "use_sliding_window"
        case slidingWindow = "sliding_window"
        case ropeParameters = "rope_parameters"
        case ropeScaling = "rope_scaling"
        case ropeTheta = "rope_theta"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
    }

    /// `rope_parameters` (transformers 5) or `rope_scaling` (transformers 4).
    private struct Rope: Decodable {
        var ropeType: String?
        var type: String?
        var ropeTheta: Double?
        var factor: Double?
        var lowFrequencyFactor: Double?
        var highFrequencyFactor: Double?
        var originalMaxPositionEmbeddings: Int?
        var shortFactor: [Double]?
        var longFactor: [Double]?
        var attentionFactor: Double?

        enum CodingKeys: String, CodingKey {
            case ropeType = "rope_type"
            case type
            case ropeTheta = "rope_theta"
            case factor
            case lowFrequencyFactor = "low_freq_factor"
            case highFrequencyFactor = "high_freq_factor"
            case originalMaxPositionEmbeddings = "original_max_position_embeddings"
            case shortFactor = "short_factor"
            case longFactor = "long_factor"
            case attentionFactor = "attention_factor"
        }
    }

    /// One token id or a list of them.
    private struct TokenIDs: Decodable {
        var ids: [Int]

        init(from decoder: any Decoder) throws {
            let single = try decoder.singleValueContainer()
            if let one = try? single.decode(Int.self) {
                ids = [one]
            } else {
                ids = try single.decode([Int].self)
            }
        }
    }

    /// Decodes `config.json`.
    ///
    /// - Throws: ``EngineError`` (`.unsupportedArchitecture`, or `.invalidFile` for longrope factors of the wrong
    ///   length or an unknown rope type), or `DecodingError` for a missing or mistyped field.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let names = try c.decodeIfPresent([String].self, forKey: .architectures) ?? []
        guard let architecture = names.lazy.compactMap(Architecture.init(rawValue:)).first else {
            throw EngineError(
                .unsupportedArchitecture,
                "unsupported architecture \(names.joined(separator: ", ")); supported: \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        self.architecture = architecture
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        headCount = try c.decode(Int.self, forKey: .headCount)
        guard headCount > 0 else { throw EngineError(.invalidFile, "config.json: num_attention_heads must be > 0") }
        keyValueHeadCount = try c.decodeIfPresent(Int.self, forKey: .keyValueHeadCount) ?? headCount
        headDimension = try c.decodeIfPresent(Int.self, forKey: .headDimension) ?? hiddenSize / headCount
        rmsNormEpsilon = Float(try c.decodeIfPresent(Double.self, forKey: .rmsNormEpsilon) ?? 1e-6)
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 2048
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID)
        eosTokenIDs = try c.decodeIfPresent(TokenIDs.self, forKey: .eosTokenID)?.ids ?? []
        let useSlidingWindow = try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) ?? (architecture == .mistral)
        slidingWindow = try useSlidingWindow ? c.decodeIfPresent(Int.self, forKey: .slidingWindow) : nil
        // transformers 4 writes rope_scaling and rope_theta; transformers 5 writes rope_parameters.
        let rope =
            try c.decodeIfPresent(Rope.self, forKey: .ropeParameters)
            ?? c.decodeIfPresent(Rope.self, forKey: .ropeScaling)
        ropeTheta = Float(try rope?.ropeTheta ?? c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10000)
        let original =
            try rope?.originalMaxPositionEmbeddings
            ?? c.decodeIfPresent(Int.self, forKey: .originalMaxPositionEmbeddings) ?? maxPositionEmbeddings
        switch rope?.ropeType ?? rope?.type ?? "default" {
        case "default":
            ropeScaling = .none
        case "linear":
            ropeScaling = .linear(factor: Float(rope?.factor ?? 1))
        case "llama3":
            ropeScaling = .llama3(
                factor: Float(rope?.factor ?? 8),
                lowFrequencyFactor: Float(rope?.lowFrequencyFactor ?? 1),
                highFrequencyFactor: Float(rope?.highFrequencyFactor ?? 4),
                originalContext: original
            )
        case "longrope", "su":
            let short = (rope?.shortFactor ?? []).map(Float.init)
            let long = (rope?.longFactor ?? []).map(Float.init)
            guard short.count == headDimension / 2, long.count == headDimension / 2 else {
                throw EngineError(
                    .invalidFile,
                    "config.json: longrope factors must have head_dim/2 = \(headDimension / 2) entries"
                )
            }
            guard original > 0 else {
                throw EngineError(.invalidFile, "config.json: original_max_position_embeddings must be > 0")
            }
            let scale = Float(maxPositionEmbeddings) / Float(original)
            let attention =
                rope?.attentionFactor.map(Float.init)
                ?? (scale <= 1 ? 1 : (1 + log(scale) / log(Float(original))).squareRoot())
            ropeScaling = .longrope(
                shortFactor: short,
                longFactor: long,
                originalContext: original,
                attentionFactor: attention
            )
        case let other:
            throw EngineError(.invalidFile, "config.json: unsupported rope scaling \(other)")
        }
    }

    /// One line naming the field and the expected type of a decoding error (`num_hidden_layers: expected Int, found
    /// a string`), or the error's description for anything else.
    package static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return String(describing: error) }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .drop { $0 == "." }.description
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing \(parent.isEmpty ? "" : parent + ".")\(key.stringValue)"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "\(path(context)): expected \(type): \(context.debugDescription)"
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return "not valid JSON"
        case .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return String(describing: error)
        }
    }
}

extension ModelConfig {
    /// The original context of a `longrope` model (Phi-3): past it, the long factors apply to every position.
    public var longRopeOriginalLength: Int? {
        if case .longrope(_, _, let original, _) = ropeScaling { return original }
        return nil
    }
}
