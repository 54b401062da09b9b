internal import Dispatch
public import EngineText
public import InferenceEngine
internal import Synchronization

/// Runs generations one at a time on a dedicated thread (CPU-bound work stays off the cooperative pool), admitting
/// at most `capacity` waiting requests; beyond that a request is refused (HTTP 429).
public final class GenerationQueue: Sendable {
    /// A finished generation.
    public struct Output: Sendable {
        /// The text.
        public var text: String
        /// Prompt tokens.
        public var promptTokens: Int
        /// Generated tokens.
        public var completionTokens: Int
        /// Why it stopped.
        public var finish: FinishReason
    }

    /// The queue is full.
    public struct Full: Error, Sendable {
        /// Requests waiting.
        public var waiting: Int
        /// The limit.
        public var capacity: Int
    }

    let bundle: ModelBundle
    let capacity: Int
    private let worker = DispatchQueue(label: "kaito-serve.generation")
    private let counts = Mutex<(running: Int, waiting: Int)>((0, 0))

    /// Creates a queue.
    public init(bundle: ModelBundle, capacity: Int) {
        self.bundle = bundle
        self.capacity = capacity
    }

    /// Requests running and waiting.
    public var load: (running: Int, waiting: Int) { counts.withLock { $0 } }

    /// Generates from a prompt, calling `onText` with each final piece of text (return `false` to stop).
    ///
    /// - Throws: ``Full`` when the queue is full; ``EngineError`` when the prompt does not fit.
    public func generate(
        prompt: String,
        maxNewTokens: Int,
        sampling: SamplingParameters,
        stop: [String] = [],
        onText: @escaping @Sendable (String) -> Bool = { _ in true }
    ) async throws -> Output {
        let admitted = counts.withLock { state -> Bool in
            guard state.waiting < capacity else { return false }
            state.waiting += 1
            return true
        }
        guard admitted else { throw Full(waiting: load.waiting, capacity: capacity) }
        let bundle = bundle
        return try await withCheckedThrowingContinuation { continuation in
            worker.async {
                self.counts.withLock { $0.waiting -= 1; $0.running += 1 }
                defer { self.counts.withLock { $0.running -= 1 } }
                let ids = bundle.tokenizer.encode(prompt)
                var decoder = IncrementalDecoder(tokenizer: bundle.tokenizer)
                var text = ""
                var emitted = 0
                var stopped = false
                do {
                    let result = try Generator(model: bundle.model).generate(
                        prompt: ids,
                        maxNewTokens: maxNewTokens,
                        sampling: sampling,
                        eosTokens: bundle.eosIDs
                    ) { token in
                        let piece = decoder.push(token)
                        text += piece
                        if let match = stop.first(where: { !$0.isEmpty && text.contains($0) }),
                            let range = text.firstRange(of: match)
                        {
                            // A stop string ends the text before it; what was not sent yet is sent now.
                            text = String(text[..<range.lowerBound])
                            stopped = true
                            let rest = String(text.dropFirst(emitted))
                            if !rest.isEmpty { _ = onText(rest) }
                            return false
                        }
                        guard !piece.isEmpty else { return true }
                        emitted = text.count
                        return onText(piece)
                    }
                    if !stopped {
                        let rest = decoder.finish()
                        text += rest
                        if !rest.isEmpty { _ = onText(rest) }
                    }
                    let finish: FinishReason = stopped ? .stop : result.finish
                    continuation.resume(
                        returning: Output(text: text, promptTokens: ids.count, completionTokens: result.tokens.count, finish: finish)
                    )
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
