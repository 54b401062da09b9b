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
    }

    public var architecture: Architecture
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var keyValueHeadCount: Int
    public var headDimension: Int
    public var rmsNormEpsilon: Float
    public var ropeTheta: Float
    public var ropeScaling: RopeScaling
    public var maxPositionEmbeddings: Int
    public var slidingWindow: Int?
    public var tieWordEmbeddings: Bool
    public var bosTokenID: Int?
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
        let original = rope["original_max_position_embeddings"] as? Int ?? json["original_max_position_embeddings"] as? Int
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
                throw EngineError(.invalidFile, "config.json: longrope factors must have head_dim/2 = \(headDimension / 2) entries")
            }
            let scale = Float(maxPositionEmbeddings) / Float(original)
            let attention =
                (rope["attention_factor"] as? Double).map(Float.init)
                ?? (scale <= 1 ? 1 : (1 + log(scale) / log(Float(original))).squareRoot())
            ropeScaling = .longrope(shortFactor: short, longFactor: long, originalContext: original, attentionFactor: attention)
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
