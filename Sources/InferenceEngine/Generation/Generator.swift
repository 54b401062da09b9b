/// Why generation stopped.
public enum FinishReason: String, Sendable, Hashable {
    /// An end-of-sequence token.
    case stop
    /// The token budget.
    case length
    /// The caller cancelled.
    case cancelled
}

/// Generation: prefill, then sample token by token with a KV cache, stopping on EOS, a stop condition, the token
/// budget or cancellation.
public struct Generator: Sendable {
    /// The model.
    public let model: CausalLM

    /// Creates a generator.
    public init(model: CausalLM) {
        self.model = model
    }

    /// Generates up to `maxNewTokens` tokens after `prompt`.
    ///
    /// - Parameters:
    ///   - prompt: The prompt's token ids.
    ///   - maxNewTokens: The budget.
    ///   - sampling: How to pick tokens.
    ///   - eosTokens: Ids that end the sequence (default the model's).
    ///   - onToken: Called with each new token; return `false` to stop (a stop string was produced, or the client
    ///     went away).
    /// - Returns: The new tokens and why generation stopped.
    /// - Throws: ``EngineError`` when the prompt does not fit in the context.
    public func generate(
        prompt: [Int],
        maxNewTokens: Int,
        sampling: SamplingParameters = .greedy,
        eosTokens: [Int]? = nil,
        onToken: (Int) -> Bool = { _ in true }
    ) throws(EngineError) -> (tokens: [Int], finish: FinishReason) {
        var cache = model.makeCache()
        var logits = try model.prefill(prompt, cache: &cache)
        var sampler = Sampler(sampling)
        let stops = Set(eosTokens ?? model.config.eosTokenIDs)
        var generated: [Int] = []
        let budget = min(maxNewTokens, model.contextLength - prompt.count)
        while generated.count < budget {
            let token = sampler.next(logits, seen: prompt + generated)
            if stops.contains(token) { return (generated, .stop) }
            generated.append(token)
            guard onToken(token) else { return (generated, .cancelled) }
            if generated.count == budget { break }
            let total = prompt.count + generated.count
            if let original = model.config.longRopeOriginalLength, total > original, cache.count <= original {
                // Phi-3's long-context factors apply to the whole sequence once it outgrows the original context:
                // like transformers (`Phi3ForCausalLM.prepare_inputs_for_generation`), drop the cache built with
                // the short factors and recompute it once, at the crossing.
                cache = model.makeCache()
                logits = try model.prefill(prompt + generated, cache: &cache)
            } else {
                logits = model.forward(token: token, cache: &cache)
            }
        }
        return (generated, .length)
    }
}
