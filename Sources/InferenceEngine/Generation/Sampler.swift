#if canImport(Glibc)
internal import Glibc
#endif

/// A small deterministic PRNG (SplitMix64), so a seed gives the same tokens on every run and platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Sampling parameters with Hugging Face semantics.
public struct SamplingParameters: Sendable, Hashable {
    /// 0 means greedy.
    public var temperature: Float = 1
    /// Keep the `topK` most likely tokens (0 = all).
    public var topK: Int = 0
    /// Keep the smallest set whose probability reaches `topP` (1 = all).
    public var topP: Float = 1
    /// Drop tokens below `minP` × the top probability (0 = none).
    public var minP: Float = 0
    /// Divide positive logits and multiply negative ones of tokens already seen (1 = off).
    public var repetitionPenalty: Float = 1
    /// The seed; `nil` uses a fixed default so that runs are reproducible.
    public var seed: UInt64?

    /// Creates parameters.
    public init(
        temperature: Float = 1,
        topK: Int = 0,
        topP: Float = 1,
        minP: Float = 0,
        repetitionPenalty: Float = 1,
        seed: UInt64? = nil
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.seed = seed
    }

    /// Greedy decoding.
    public static let greedy = SamplingParameters(temperature: 0)
}

/// Picks the next token from logits.
public struct Sampler: Sendable {
    /// The parameters.
    public var parameters: SamplingParameters
    private var random: SplitMix64

    /// The seed of parameters without one.
    public static let defaultSeed: UInt64 = 0x5EED

    /// Creates a sampler.
    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        random = SplitMix64(seed: parameters.seed ?? Self.defaultSeed)
    }

    /// Applies the repetition penalty (transformers' `RepetitionPenaltyLogitsProcessor`).
    public static func penalize(_ logits: inout [Float], seen: [Int], penalty: Float) {
        guard penalty != 1 else { return }
        for token in Set(seen) where logits.indices.contains(token) {
            logits[token] = logits[token] > 0 ? logits[token] / penalty : logits[token] * penalty
        }
    }

    /// The candidate tokens and their probabilities after temperature, top-k, top-p and min-p, most likely first.
    public static func candidates(_ logits: [Float], _ p: SamplingParameters) -> [(token: Int, probability: Float)] {
        let temperature = max(p.temperature, 1e-6)
        var order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        if p.topK > 0 { order = Array(order.prefix(p.topK)) }
        let maximum = logits[order[0]] / temperature
        var probabilities = order.map { exp(logits[$0] / temperature - maximum) }
        let total = probabilities.reduce(0, +)
        probabilities = probabilities.map { $0 / total }
        var keep = probabilities.count
        if p.topP < 1 {
            var cumulative: Float = 0
            for (i, probability) in probabilities.enumerated() {
                cumulative += probability
                if cumulative >= p.topP {
                    keep = i + 1
                    break
                }
            }
        }
        if p.minP > 0 {
            let threshold = p.minP * probabilities[0]
            keep = min(keep, max(1, probabilities.prefix(while: { $0 >= threshold }).count))
        }
        let kept = Array(zip(order.prefix(keep), probabilities.prefix(keep)))
        let sum = kept.reduce(0) { $0 + $1.1 }
        return kept.map { ($0.0, $0.1 / sum) }
    }

    /// The next token.
    public mutating func next(_ logits: [Float], seen: [Int]) -> Int {
        var adjusted = logits
        Self.penalize(&adjusted, seen: seen, penalty: parameters.repetitionPenalty)
        if parameters.temperature <= 0 {
            return adjusted.indices.max { adjusted[$0] < adjusted[$1] || (adjusted[$0] == adjusted[$1] && $0 > $1) }
                ?? 0
        }
        let pool = Self.candidates(adjusted, parameters)
        let draw = Float(random.next() >> 40) / Float(1 << 24)
        var cumulative: Float = 0
        for candidate in pool {
            cumulative += candidate.probability
            if draw < cumulative { return candidate.token }
        }
        return pool.last?.token ?? 0
    }
}
