internal import Dispatch
public import EngineText
public import InferenceEngine
internal import Prometheus
internal import Synchronization

/// Runs generations with continuous batching on a dedicated engine thread (CPU-bound work stays off the
/// cooperative pool, see ``EngineLoop``), admitting at most `capacity` waiting requests; beyond that a request is
/// refused (HTTP 429).
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
        /// The generated token ids.
        public var tokens: [Int] = []
        /// Each generated token's log-probabilities, when asked for.
        public var logprobs: [TokenLogprob]? = nil
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
    /// The engine loop's limits.
    public let limits: SchedulerLimits
    /// The Prometheus metrics this queue updates.
    public let metrics: ServerMetrics
    private let engine: EngineLoop
    fileprivate let counts: RequestCounts

    /// Creates a queue with the default ``SchedulerLimits``, which serve any model.
    public convenience init(bundle: ModelBundle, capacity: Int, metrics: ServerMetrics? = nil) {
        // The default limits fit every model (the budget holds at least one context; 64 tokens ≥ 16 sequences).
        // swift-format-ignore: NeverUseForceTry
        try! self.init(bundle: bundle, capacity: capacity, limits: SchedulerLimits(), metrics: metrics)
    }

    /// Creates a queue and starts its engine thread.
    ///
    /// - Throws: ``EngineError`` (`invalidLimits`) when the limits cannot serve the model: fewer batched tokens than
    ///   sequences, or a KV budget smaller than one whole context.
    public init(
        bundle: ModelBundle,
        capacity: Int,
        limits: SchedulerLimits,
        metrics: ServerMetrics? = nil
    ) throws(EngineError) {
        if let problem = limits.problem(for: bundle.model) { throw EngineError(.invalidLimits, problem) }
        self.bundle = bundle
        self.capacity = capacity
        self.limits = limits
        let metrics = metrics ?? ServerMetrics(model: bundle.name)
        self.metrics = metrics
        let counts = RequestCounts()
        self.counts = counts
        engine = EngineLoop(bundle: bundle, limits: limits, metrics: metrics) { waiting, running in
            let state = counts.state.withLock {
                $0.waiting += waiting
                $0.running += running
                return $0
            }
            metrics.running.set(Double(state.running))
            metrics.waiting.set(Double(state.waiting))
        }
        metrics.adapters(loaded: bundle.model.adapters.count, running: [], waiting: [])
        engine.start()
    }

    deinit { engine.stop() }

    /// The KV cache budget in positions.
    public var cacheBudget: Int { engine.budget }

    /// Requests running and waiting.
    public var load: (running: Int, waiting: Int) { counts.state.withLock { $0 } }

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
                    queue.counts.state.withLock {
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
        let admitted = counts.state.withLock { state -> (running: Int, waiting: Int)? in
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
    /// The request waits until the engine loop admits it (a free sequence and room in the KV budget), then runs
    /// batched with the others. Cancelling the calling task (a client that went away) stops the generation at the
    /// next step, or drops it if it has not started; it then counts as `finished_reason="abort"`.
    ///
    /// - Parameters:
    ///   - prompt: The rendered prompt.
    ///   - addSpecialTokens: Whether tokenizing the prompt adds the tokenizer's special tokens (BOS): `true` for a raw
    ///     prompt, `false` for a rendered chat template, which writes them itself (transformers' `apply_chat_template`).
    ///   - maxNewTokens: The most tokens to generate.
    ///   - sampling: The sampling parameters.
    ///   - stop: Stop sequences; the text ends before the first one.
    ///   - strengths: The strength of each of the bundle's adapters for this request; `nil`: their defaults.
    ///   - logprobs: Whether to report each token's log-probability (`nil`: no), with this many alternatives.
    ///   - grammar: What the text must be (structured output); `nil`: anything.
    ///   - keepSpecialTokens: Whether the text keeps special tokens (tool-call markers such as `[TOOL_CALLS]`).
    ///   - admission: A place taken with ``admit()``; without one, the call takes its own.
    ///   - onText: Called with each final piece of text; return `false` to stop.
    ///   - onLogprob: Called with each token's log-probabilities (when asked for), before its text.
    /// - Returns: The generated text, token counts and finish reason.
    /// - Throws: ``Full`` when the queue is full; ``EngineError`` when the prompt is empty or does not fit;
    ///   `CancellationError` when cancelled before it started.
    public func generate(
        prompt: String,
        addSpecialTokens: Bool = true,
        maxNewTokens: Int,
        sampling: SamplingParameters,
        stop: [String] = [],
        strengths: [Float]? = nil,
        logprobs: Int? = nil,
        grammar: Grammar? = nil,
        keepSpecialTokens: Bool = false,
        admission: Admission? = nil,
        onText: @escaping @Sendable (String) -> Bool = { _ in true },
        onLogprob: (@Sendable (TokenLogprob) -> Void)? = nil
    ) async throws -> Output {
        let admission = try admission ?? admit()
        return try await generate(
            ids: bundle.tokenizer.encode(prompt, addSpecialTokens: addSpecialTokens),
            maxNewTokens: maxNewTokens,
            sampling: sampling,
            stop: stop,
            strengths: strengths,
            logprobs: logprobs,
            grammar: grammar,
            keepSpecialTokens: keepSpecialTokens,
            admission: admission,
            onText: onText,
            onLogprob: onLogprob
        )
    }

    /// ``generate(prompt:addSpecialTokens:maxNewTokens:sampling:stop:strengths:admission:onText:)`` from token ids.
    func generate(
        ids: [Int],
        maxNewTokens: Int,
        sampling: SamplingParameters,
        stop: [String] = [],
        strengths: [Float]? = nil,
        logprobs: Int? = nil,
        grammar: Grammar? = nil,
        keepSpecialTokens: Bool = false,
        admission: Admission? = nil,
        onText: @escaping @Sendable (String) -> Bool = { _ in true },
        onLogprob: (@Sendable (TokenLogprob) -> Void)? = nil
    ) async throws -> Output {
        let admission = try admission ?? admit()
        guard admission.take() else { preconditionFailure("an admission serves one generation") }
        let arrival = admission.arrival
        let context = bundle.model.contextLength
        if let strengths { precondition(strengths.count == bundle.model.adapters.count, "one strength per adapter") }
        guard !ids.isEmpty, ids.count <= context else {
            publish(
                counts.state.withLock {
                    $0.waiting -= 1
                    return $0
                }
            )
            metrics.endToEnd.record(.now - arrival)
            throw ids.isEmpty
                ? EngineError(.emptyPrompt, "the prompt is empty: it has no tokens to continue")
                : EngineError(
                    .promptTooLong,
                    "the prompt has \(ids.count) tokens; with 0 cached the context of \(context) is exceeded"
                )
        }
        let cancelled = CancelFlag()
        let engine = engine
        let tokenizer = bundle.tokenizer
        let constraint = grammar.map { GrammarConstraint(grammar: $0, vocabulary: bundle.vocabulary) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                engine.submit(
                    SequenceJob(
                        prompt: ids,
                        budget: min(maxNewTokens, context - ids.count),
                        sampling: sampling,
                        strengths: strengths,
                        stop: stop,
                        tokenizer: tokenizer,
                        skipSpecialTokens: !keepSpecialTokens,
                        arrival: arrival,
                        cancelled: cancelled,
                        onText: onText,
                        logprobs: logprobs,
                        onLogprob: onLogprob,
                        constraint: constraint,
                        done: { continuation.resume(with: $0) }
                    )
                )
            }
        } onCancel: {
            cancelled.set()
        }
    }
}

/// The requests running and waiting, shared by the HTTP side (admissions) and the engine loop.
final class RequestCounts: Sendable {
    let state = Mutex<(running: Int, waiting: Int)>((0, 0))
}
