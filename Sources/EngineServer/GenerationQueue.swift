internal import Dispatch
public import EngineText
public import InferenceEngine
internal import Prometheus
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
    /// The Prometheus metrics this queue updates.
    public let metrics: ServerMetrics
    private let worker = DispatchQueue(label: "kaito-serve.generation")
    fileprivate let counts = Mutex<(running: Int, waiting: Int)>((0, 0))

    /// Creates a queue (a serial worker: requests run one at a time in arrival order).
    public init(bundle: ModelBundle, capacity: Int, metrics: ServerMetrics? = nil) {
        self.bundle = bundle
        self.capacity = capacity
        self.metrics = metrics ?? ServerMetrics(model: bundle.name)
        self.metrics.adapters(bundle.adapters.map(\.name))
    }

    /// Requests running and waiting.
    public var load: (running: Int, waiting: Int) { counts.withLock { $0 } }

    fileprivate func publish(_ state: (running: Int, waiting: Int)) {
        metrics.running.set(Double(state.running))
        metrics.waiting.set(Double(state.waiting))
    }

    /// A place in the waiting room, taken before a streaming response commits to its 200 status; given back if it
    /// is dropped unused (the client left before its body was written).
    public final class Admission: Sendable {
        let queue: GenerationQueue
        let arrival = ContinuousClock.now
        private let used = Mutex(false)

        init(queue: GenerationQueue) { self.queue = queue }

        /// Marks the place as used; `false` if it already was.
        func take() -> Bool {
            used.withLock { was in
                defer { was = true }
                return !was
            }
        }

        deinit {
            if take() {
                queue.publish(
                    queue.counts.withLock {
                        $0.waiting -= 1
                        return $0
                    }
                )
            }
        }
    }

    /// Takes a place in the waiting room.
    ///
    /// - Throws: ``Full`` when `capacity` requests are already waiting.
    public func admit() throws(Full) -> Admission {
        let admitted = counts.withLock { state -> (running: Int, waiting: Int)? in
            guard state.waiting < capacity else { return nil }
            state.waiting += 1
            return state
        }
        guard let admitted else { throw Full(waiting: load.waiting, capacity: capacity) }
        publish(admitted)
        return Admission(queue: self)
    }

    /// Generates from a prompt, calling `onText` with each final piece of text (return `false` to stop).
    ///
    /// Cancelling the calling task (a client that went away) stops the generation at the next token, or skips it
    /// if it has not started; it then counts as `finished_reason="abort"`.
    ///
    /// - Parameters:
    ///   - prompt: The rendered prompt.
    ///   - addSpecialTokens: Whether tokenizing the prompt adds the tokenizer's special tokens (BOS): `true` for a raw
    ///     prompt, `false` for a rendered chat template, which writes them itself (transformers' `apply_chat_template`).
    ///   - maxNewTokens: The most tokens to generate.
    ///   - sampling: The sampling parameters.
    ///   - stop: Stop sequences; the text ends before the first one.
    ///   - grammar: What the text must be (structured output); `nil`: anything.
    ///   - admission: A place taken with ``admit()``; without one, the call takes its own.
    ///   - onText: Called with each final piece of text; return `false` to stop.
    /// - Returns: The generated text, token counts and finish reason.
    /// - Throws: ``Full`` when the queue is full; ``EngineError`` when the prompt does not fit; `CancellationError`
    ///   when cancelled before it started.
    public func generate(
        prompt: String,
        addSpecialTokens: Bool = true,
        maxNewTokens: Int,
        sampling: SamplingParameters,
        stop: [String] = [],
        grammar: Grammar? = nil,
        admission: Admission? = nil,
        onText: @escaping @Sendable (String) -> Bool = { _ in true }
    ) async throws -> Output {
        let admission = try admission ?? admit()
        guard admission.take() else { preconditionFailure("an admission serves one generation") }
        let cancelled = CancelFlag()
        let arrival = admission.arrival
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                worker.async {
                    self.publish(
                        self.counts.withLock {
                            $0.waiting -= 1
                            $0.running += 1
                            return $0
                        }
                    )
                    let (result, reason, tokens) = self.run(
                        prompt: prompt,
                        addSpecialTokens: addSpecialTokens,
                        maxNewTokens: maxNewTokens,
                        sampling: sampling,
                        stop: stop,
                        grammar: grammar,
                        arrival: arrival,
                        cancelled: cancelled,
                        onText: onText
                    )
                    // Accounted before the answer leaves, so a client reading /metrics after its answer sees it.
                    self.publish(
                        self.counts.withLock {
                            $0.running -= 1
                            return $0
                        }
                    )
                    self.metrics.cacheUsage.set(0.0)
                    if let reason { self.metrics.success(reason).increment() }
                    self.metrics.endToEnd.record(.now - arrival)
                    self.metrics.generationSize.record(Double(tokens))
                    continuation.resume(with: result)
                }
            }
        } onCancel: {
            cancelled.set()
        }
    }

    /// One generation on the worker thread: the output or error, vLLM's finish reason (`nil` for a failed request)
    /// and the tokens generated.
    private func run(
        prompt: String,
        addSpecialTokens: Bool,
        maxNewTokens: Int,
        sampling: SamplingParameters,
        stop: [String],
        grammar: Grammar?,
        arrival: ContinuousClock.Instant,
        cancelled: CancelFlag,
        onText: (String) -> Bool
    ) -> (Result<Output, any Error>, String?, Int) {
        var lastToken = ContinuousClock.now
        metrics.queueTime.record(lastToken - arrival)
        guard !cancelled.isSet else { return (.failure(CancellationError()), "abort", 0) }
        let ids = bundle.tokenizer.encode(prompt, addSpecialTokens: addSpecialTokens)
        metrics.promptTokens.increment(by: Int64(ids.count))
        metrics.promptSize.record(Double(ids.count))
        let context = Double(bundle.model.contextLength)
        var decoder = IncrementalDecoder(tokenizer: bundle.tokenizer)
        var text = ""
        var emitted = 0
        var stopped = false
        var tokens = 0
        do {
            let result = try Generator(model: bundle.model).generate(
                prompt: ids,
                maxNewTokens: maxNewTokens,
                sampling: sampling,
                eosTokens: bundle.eosIDs,
                constraint: grammar.map {
                    GrammarTokenConstraint(constraint: GrammarConstraint(grammar: $0, vocabulary: bundle.vocabulary))
                }
            ) { token in
                let now = ContinuousClock.now
                if tokens == 0 {
                    metrics.timeToFirstToken.record(now - arrival)
                } else {
                    metrics.interTokenLatency.record(now - lastToken)
                }
                lastToken = now
                tokens += 1
                metrics.generationTokens.increment()
                metrics.cacheUsage.set(Double(ids.count + tokens) / context)
                if cancelled.isSet { return false }
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
            let reason = finish == .cancelled ? "abort" : finish == .length ? "length" : "stop"
            let output = Output(
                text: text,
                promptTokens: ids.count,
                completionTokens: result.tokens.count,
                finish: finish
            )
            return (.success(output), reason, tokens)
        } catch {
            return (.failure(error), nil, tokens)
        }
    }
}

/// The text layer's grammar constraint as the generator's ``TokenConstraint``.
struct GrammarTokenConstraint: TokenConstraint {
    var constraint: GrammarConstraint

    var isFinished: Bool { constraint.isFinished }

    func allows(_ token: Int, remaining: Int) -> Bool { constraint.allows(token, remaining: remaining) }

    func mask(_ logits: inout [Float], remaining: Int) { constraint.mask(&logits, remaining: remaining) }

    mutating func accept(_ token: Int) { constraint.accept(token) }
}
