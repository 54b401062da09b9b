/// Runs the next tokens of many sequences in one forward pass (continuous batching): each weight row is read once
/// per step for all of them, each sequence keeps its own KV cache, positions and adapter strengths.
///
/// A step mixes decoding sequences (one token each) with chunks of prompts being prefilled. A sequence gets the
/// same logits, bit for bit, as when it runs alone through ``CausalLM/forward(tokens:cache:sequenceLength:)``
/// (every kernel computes a token's result the same whatever else is in the product), so batching changes no result.
///
/// Not thread-safe: one owner (the server's engine loop) calls ``step(_:caches:)``.
public final class BatchRunner {
    /// The model.
    public let model: CausalLM
    /// The most tokens one step runs (`--max-num-batched-tokens`).
    public let maxTokens: Int
    /// The most sequences one step runs (`--max-num-seqs`).
    public let maxSequences: Int
    private let scratch: SequenceState

    /// One sequence's part of a step.
    public struct Work: Sendable {
        /// The tokens to append to the sequence (none: the sequence sits this step out).
        public var tokens: [Int]
        /// The length that selects Phi-3's long-context factors (default the cache's length after the tokens), as
        /// for ``CausalLM/forward(tokens:cache:sequenceLength:)``: a prompt prefilled in several steps passes its
        /// whole length every time.
        public var sequenceLength: Int?
        /// The strength of each of the model's adapters (``CausalLM/adapters``) for this sequence; `nil`: the
        /// defaults.
        public var strengths: [Float]?
        /// Whether to return the logits after the last token.
        public var logits: Bool

        /// Creates a part.
        public init(tokens: [Int], sequenceLength: Int? = nil, strengths: [Float]? = nil, logits: Bool = true) {
            self.tokens = tokens
            self.sequenceLength = sequenceLength
            self.strengths = strengths
            self.logits = logits
        }
    }

    /// Creates a runner with scratch memory for `maxTokens` tokens and `maxSequences` rows of logits.
    public init(model: CausalLM, maxTokens: Int, maxSequences: Int) {
        precondition(maxTokens >= 1 && maxSequences >= 1)
        self.model = model
        self.maxTokens = maxTokens
        self.maxSequences = maxSequences
        var shape = model.sequenceShape
        shape.capacity = 0
        shape.chunk = maxTokens
        shape.logitRows = maxSequences
        scratch = SequenceState(shape: shape)
    }

    /// A cache for a sequence run through this runner: keys and values only (the runner's scratch does the work),
    /// address space for the model's context whose pages become resident as positions are written.
    public func makeCache() -> KVCache {
        var shape = model.sequenceShape
        shape.chunk = 0
        shape.logitRows = 0
        return KVCache(state: SequenceState(shape: shape))
    }

    /// Faults in the first positions of `maxSequences` KV blocks and leaves them for the sequences to come.
    ///
    /// Within the recycling limit of ``SequenceState``, as vLLM and llama-server allocate their KV cache at start:
    /// the first burst of requests then copies its cached prefixes into resident memory. On this project's 2-core
    /// machines a fresh block's page faults cost about 10 ms per 128-token prefix (415M model), 132 ms for 13
    /// requests arriving together.
    ///
    /// Only as many blocks as the limit keeps are faulted in: on Phi-3-mini, whose kept positions are 100-200 MB a
    /// block, that is one or two, not `maxSequences` blocks faulted in and unmapped again.
    public func prewarmCaches() {
        let first = makeCache()
        let count = min(maxSequences, first.state.blocksThatFit)
        guard count > 0 else { return }
        let caches = [first] + (1..<count).map { _ in makeCache() }
        for cache in caches { cache.state.prefault() }
    }

    /// Runs `work[i].tokens` at the next positions of `caches[i]` for every `i`, all in one forward pass.
    ///
    /// - Parameters:
    ///   - work: One part per cache; at most ``maxTokens`` tokens and ``maxSequences`` parts with tokens in all, each
    ///     fitting in its cache (``CausalLM/contextLength``).
    ///   - caches: The sequences; each part's tokens are appended to its cache.
    /// - Returns: Per part, the logits after its last token when it asked for them and ran tokens, else `nil`.
    public func step(_ work: [Work], caches: inout [KVCache]) -> [[Float]?] {
        precondition(work.count == caches.count, "one part of work per cache")
        let defaults = model.defaultStrengths
        var batch = PassBatch(adapterCount: defaults.count)
        var rows: [Int?] = Array(repeating: nil, count: work.count)
        var sequences = 0
        for (i, part) in work.enumerated() where !part.tokens.isEmpty {
            let count = caches[i].count
            precondition(count + part.tokens.count <= caches[i].state.shape.capacity, "the sequence outgrows its cache")
            sequences += 1
            let state = caches[i].prepareWrite()
            if part.logits { rows[i] = batch.logitRows.count }
            batch.append(
                tokens: part.tokens,
                start: count,
                sequenceLength: max(part.sequenceLength ?? 0, count + part.tokens.count),
                state: state,
                strengths: part.strengths ?? defaults,
                logits: part.logits
            )
        }
        precondition(batch.count <= maxTokens && sequences <= maxSequences, "the step exceeds the runner's limits")
        guard batch.count > 0 else { return rows.map { _ in nil } }
        model.pass(batch, scratch: scratch)
        for (i, part) in work.enumerated() { caches[i].advance(by: part.tokens.count) }
        let vocabulary = model.config.vocabularySize
        return rows.map { row in
            row.map { Array(UnsafeBufferPointer(start: scratch.logits + $0 * vocabulary, count: vocabulary)) }
        }
    }
}
