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

    /// Parses `config.json`.
    ///
    /// - Throws: ``EngineError`` for an unsupported architecture or a missing field.
    public init(json: [String: Any]) throws(EngineError) {
        let names = json["architectures"] as? [String] ?? []
        guard let architecture = names.lazy.compactMap(Architecture.init(rawValue:)).first else {
            throw EngineError(
                .unsupportedArchitecture,
                "unsupported architecture \(names.joined(separator: ", ")); supported: \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        func int(_ key: String) throws(EngineError) -> Int {
            guard let value = json[key] as? Int else { throw EngineError(.invalidFile, "config.json: missing \(key)") }
            return value
        }
        self.architecture = architecture
        vocabularySize = try int("vocab_size")
        hiddenSize = try int("hidden_size")
        intermediateSize = try int("intermediate_size")
        layerCount = try int("num_hidden_layers")
        headCount = try int("num_attention_heads")
        keyValueHeadCount = json["num_key_value_heads"] as? Int ?? headCount
        headDimension = json["head_dim"] as? Int ?? hiddenSize / headCount
        rmsNormEpsilon = Float(json["rms_norm_eps"] as? Double ?? 1e-6)
        maxPositionEmbeddings = json["max_position_embeddings"] as? Int ?? 2048
        tieWordEmbeddings = json["tie_word_embeddings"] as? Bool ?? false
        bosTokenID = json["bos_token_id"] as? Int
        if let list = json["eos_token_id"] as? [Int] {
            eosTokenIDs = list
        } else if let one = json["eos_token_id"] as? Int {
            eosTokenIDs = [one]
        } else {
            eosTokenIDs = []
        }
        let useSlidingWindow = json["use_sliding_window"] as? Bool ?? (architecture == .mistral)
        slidingWindow = useSlidingWindow ? json["sliding_window"] as? Int : nil
        // transformers 4 writes rope_scaling and rope_theta; transformers 5 writes rope_parameters.
        let rope = (json["rope_parameters"] as? [String: Any]) ?? (json["rope_scaling"] as? [String: Any]) ?? [:]
        ropeTheta = Float(rope["rope_theta"] as? Double ?? json["rope_theta"] as? Double ?? 10000)
        let original =
            rope["original_max_position_embeddings"] as? Int ?? json["original_max_position_embeddings"] as? Int
            ?? maxPositionEmbeddings
        switch (rope["rope_type"] as? String) ?? (rope["type"] as? String) ?? "default" {
        case "default":
            ropeScaling = .none
        case "linear":
            ropeScaling = .linear(factor: Float(rope["factor"] as? Double ?? 1))
        case "llama3":
            ropeScaling = .llama3(
                factor: Float(rope["factor"] as? Double ?? 8),
                lowFrequencyFactor: Float(rope["low_freq_factor"] as? Double ?? 1),
                highFrequencyFactor: Float(rope["high_freq_factor"] as? Double ?? 4),
                originalContext: original
            )
        case "longrope", "su":
            let short = (rope["short_factor"] as? [Double] ?? []).map(Float.init)
            let long = (rope["long_factor"] as? [Double] ?? []).map(Float.init)
            guard short.count == headDimension / 2, long.count == headDimension / 2 else {
                throw EngineError(
                    .invalidFile,
                    "config.json: longrope factors must have head_dim/2 = \(headDimension / 2) entries"
                )
            }
            let scale = Float(maxPositionEmbeddings) / Float(original)
            let attention =
                (rope["attention_factor"] as? Double).map(Float.init)
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
}

extension ModelConfig {
    /// The original context of a `longrope` model (Phi-3): past it, the long factors apply to every position.
    public var longRopeOriginalLength: Int? {
        if case .longrope(_, _, let original, _) = ropeScaling { return original }
        return nil
    }
}
