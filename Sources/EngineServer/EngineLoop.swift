internal import EngineText
internal import Foundation
internal import InferenceEngine
internal import Prometheus

/// The limits of the engine loop, in vLLM's vocabulary (docs/kaito-serve.md, "Continuous batching").
public struct SchedulerLimits: Sendable, Hashable {
    /// Sequences running together (`--max-num-seqs`).
    public var maxSequences: Int
    /// Tokens one step runs at most (`--max-num-batched-tokens`): one per decoding sequence, the rest for chunks of
    /// prompts being prefilled; what one step costs, so it bounds the delay a long prompt adds to the others.
    public var maxBatchedTokens: Int
    /// The KV cache budget in positions, all running sequences together (`--kv-cache-tokens`); `nil`: one whole
    /// context (`--max-model-len`), the cache the rendered workload's memory request counts (docs/kaito-serve.md,
    /// "Memory model").
    public var cacheTokens: Int?
    /// Whether finished sequences' KV caches are kept for prompts that begin the same way
    /// (`--enable-prefix-caching`, on by default as in vLLM); they use only budget no request needs.
    public var prefixCaching: Bool

    /// Creates limits (defaults: 16 sequences, 64 tokens per step, the default cache budget, prefix caching).
    public init(maxSequences: Int = 16, maxBatchedTokens: Int = 64, cacheTokens: Int? = nil, prefixCaching: Bool = true)
    {
        self.maxSequences = maxSequences
        self.maxBatchedTokens = maxBatchedTokens
        self.cacheTokens = cacheTokens
        self.prefixCaching = prefixCaching
    }

    /// The budget in positions for `model`.
    func cacheBudget(for model: CausalLM) -> Int {
        cacheTokens ?? model.contextLength
    }

    /// Why these limits cannot serve `model`, or `nil` when they can.
    func problem(for model: CausalLM) -> String? {
        if maxSequences < 1 { return "--max-num-seqs must be at least 1" }
        if maxBatchedTokens < maxSequences {
            return
                "--max-num-batched-tokens (\(maxBatchedTokens)) must be at least --max-num-seqs (\(maxSequences)): every running sequence decodes one token per step"
        }
        let budget = cacheBudget(for: model)
        if budget < model.contextLength {
            return
                "the KV cache budget of \(budget) positions (--kv-cache-tokens) is smaller than the longest sequence served (\(model.contextLength), --max-model-len): lower --max-model-len or raise --kv-cache-tokens"
        }
        return nil
    }
}

/// One request inside the engine loop: what it asked for, and its progress.
///
/// Created by the submitting task, then touched only by the engine thread.
final class SequenceJob: @unchecked Sendable {
    let prompt: [Int]
    let budget: Int
    let strengths: [Float]?
    let stop: [String]
    let arrival: ContinuousClock.Instant
    let cancelled: CancelFlag
    let onText: (String) -> Bool
    /// Log-probabilities asked for: `nil` none, else the chosen token's and this many alternatives'.
    let logprobs: Int?
    /// Called with each generated token's log-probabilities, before its text.
    let onLogprob: ((TokenLogprob) -> Void)?
    var tokenLogprobs: [TokenLogprob] = []
    /// What the text must be (structured output), where it stands.
    var constraint: GrammarConstraint?
    let done: (Result<GenerationQueue.Output, any Error>) -> Void
    /// Positions reserved in the KV budget: the most this sequence can hold.
    let reservation: Int

    var sampler: Sampler
    var decoder: IncrementalDecoder
    var generated: [Int] = []
    /// Tokens not yet run: the prompt (or, after Phi-3's long-context crossing, prompt and answer) being prefilled,
    /// or the last token sampled.
    var pending: [Int] = []
    var fed = 0
    /// Whether `pending` is a prompt (its chunks use its whole length for the rotary factors).
    var prefilling = true
    var text = ""
    var emitted = 0
    var lastToken: ContinuousClock.Instant
    var cache: KVCache?
    /// Whether the cache's positions were computed with Phi-3's long-context factors.
    var longFactors = false

    init(
        prompt: [Int],
        budget: Int,
        sampling: SamplingParameters,
        strengths: [Float]?,
        stop: [String],
        tokenizer: Tokenizer,
        skipSpecialTokens: Bool = true,
        arrival: ContinuousClock.Instant,
        cancelled: CancelFlag,
        onText: @escaping (String) -> Bool,
        logprobs: Int? = nil,
        onLogprob: ((TokenLogprob) -> Void)? = nil,
        constraint: GrammarConstraint? = nil,
        done: @escaping (Result<GenerationQueue.Output, any Error>) -> Void
    ) {
        self.constraint = constraint
        self.prompt = prompt
        self.budget = budget
        self.strengths = strengths
        self.stop = stop
        self.arrival = arrival
        self.cancelled = cancelled
        self.onText = onText
        self.logprobs = logprobs
        self.onLogprob = onLogprob
        self.done = done
        reservation = prompt.count + budget
        sampler = Sampler(sampling)
        decoder = IncrementalDecoder(tokenizer: tokenizer, skipSpecialTokens: skipSpecialTokens)
        pending = prompt
        lastToken = arrival
    }
}

/// The engine loop: one thread owns the model and runs steps of continuous batching.
///
/// Each step admits waiting requests in arrival order while fewer than `maxSequences` run and the KV budget holds
/// their reservation (prompt plus the most tokens they may generate, so a running sequence never runs out of cache
/// and nothing is ever preempted: a request that does not fit waits), then runs one forward pass over every running
/// sequence: one token each for those decoding, and with the tokens left of `maxBatchedTokens`, the next chunks of
/// prompts being prefilled, oldest first. Sampled tokens go out through each request's callback; finished, stopped
/// and cancelled sequences leave before the next step.
final class EngineLoop: @unchecked Sendable {
    // Justification for @unchecked Sendable: `inbox` and `stopping` are guarded by `condition`; everything else is
    // touched only by the engine thread.
    let bundle: ModelBundle
    let limits: SchedulerLimits
    let budget: Int
    let runner: BatchRunner
    let metrics: ServerMetrics
    /// Called on the engine thread with the change of the waiting and running counts, before the answer leaves.
    let account: (_ waiting: Int, _ running: Int) -> Void
    private let condition = NSCondition()
    private var inbox: [SequenceJob] = []
    private var stopping = false
    private var waiting: [SequenceJob] = []
    private var running: [SequenceJob] = []
    private var reserved = 0
    private var prefixes = PrefixCache()
    /// The adapter sets last published in `vllm:lora_requests_info`.
    private var publishedAdapters: (running: [String], waiting: [String]) = ([], [])

    init(
        bundle: ModelBundle,
        limits: SchedulerLimits,
        metrics: ServerMetrics,
        account: @escaping (_ waiting: Int, _ running: Int) -> Void
    ) {
        self.bundle = bundle
        self.limits = limits
        budget = limits.cacheBudget(for: bundle.model)
        runner = BatchRunner(
            model: bundle.model,
            maxTokens: limits.maxBatchedTokens,
            maxSequences: limits.maxSequences
        )
        self.metrics = metrics
        self.account = account
    }

    /// Starts the engine thread.
    func start() {
        let thread = Thread { [self] in
            runner.prewarmCaches()
            run()
        }
        thread.name = "kaito-serve engine"
        thread.start()
    }

    /// Hands a request to the loop.
    func submit(_ job: SequenceJob) {
        condition.lock()
        inbox.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Ends the loop once its current step is done.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            // With nothing running nothing waits either (one whole context always fits the budget): sleep until a
            // request arrives.
            while inbox.isEmpty && !stopping && running.isEmpty && waiting.isEmpty { condition.wait() }
            let arrived = inbox
            inbox.removeAll()
            let stop = stopping
            condition.unlock()
            waiting.append(contentsOf: arrived)
            if stop {
                for job in waiting + running { job.done(.failure(CancellationError())) }
                return
            }
            dropCancelledWaiting()
            admit()
            publishAdapters()
            step()
            publishAdapters()
        }
    }

    /// The adapters a request applies: those at a strength other than 0.
    private func adapterNames(_ job: SequenceJob) -> [String] {
        let adapters = bundle.model.adapters
        let strengths = job.strengths ?? adapters.map(\.strength)
        return zip(adapters, strengths).filter { $0.1 != 0 }.map(\.0.name)
    }

    /// Publishes the adapters of running and waiting requests when they changed.
    private func publishAdapters() {
        guard !bundle.model.adapters.isEmpty else { return }
        let order = bundle.model.adapters.map(\.name)
        let running = Set(running.flatMap(adapterNames))
        let waiting = Set(waiting.flatMap(adapterNames))
        let now = (order.filter(running.contains), order.filter(waiting.contains))
        guard now != publishedAdapters else { return }
        publishedAdapters = now
        metrics.adapters(loaded: order.count, running: now.0, waiting: now.1)
    }

    /// Requests cancelled before they ran end with `CancellationError`, counted as aborted.
    private func dropCancelledWaiting() {
        waiting.removeAll { job in
            guard job.cancelled.isSet else { return false }
            metrics.queueTime.record(.now - job.arrival)
            metrics.success("abort").increment()
            metrics.endToEnd.record(.now - job.arrival)
            metrics.generationSize.record(Double(0))
            account(-1, 0)
            job.done(.failure(CancellationError()))
            return true
        }
    }

    /// Moves waiting requests to running, in arrival order, while sequences and cache budget allow.
    private func admit() {
        while let job = waiting.first, running.count < limits.maxSequences, reserved + job.reservation <= budget {
            waiting.removeFirst()
            reserved += job.reservation
            metrics.queueTime.record(.now - job.arrival)
            metrics.promptTokens.increment(by: Int64(job.prompt.count))
            metrics.promptSize.record(Double(job.prompt.count))
            account(-1, 1)
            if job.budget == 0 {
                // Nothing to generate: the answer is empty (the prompt is not run).
                job.cache = nil
                running.append(job)
                finish(job, .length)
                continue
            }
            job.cache = runner.makeCache()
            if let original = bundle.model.config.longRopeOriginalLength {
                job.longFactors = job.prompt.count > original
            }
            if limits.prefixCaching {
                metrics.prefixQueries.increment(by: Int64(job.prompt.count))
                if let hit = prefixes.lookup(job.prompt, context: context(job)) {
                    job.cache = hit.cache
                    job.fed = hit.positions
                    metrics.prefixHits.increment(by: Int64(hit.positions))
                }
                // Cached prefixes give way to running sequences.
                prefixes.evict(toHold: budget - reserved)
            }
            running.append(job)
        }
    }

    /// What a sequence's cached positions depend on besides its tokens.
    private func context(_ job: SequenceJob) -> PrefixCache.Context {
        PrefixCache.Context(
            strengths: job.strengths ?? bundle.model.defaultStrengths,
            longFactors: job.longFactors
        )
    }

    /// One forward pass over the running sequences, then sampling.
    private func step() {
        for job in running where job.cancelled.isSet { finish(job, .cancelled) }
        guard !running.isEmpty else { return }
        var tokensLeft = limits.maxBatchedTokens
        var work: [BatchRunner.Work] = []
        for job in running {
            var part = BatchRunner.Work(tokens: [], strengths: job.strengths, logits: false)
            if !job.prefilling {
                part.tokens = job.pending
                part.logits = true
                tokensLeft -= part.tokens.count
            }
            work.append(part)
        }
        for (i, job) in running.enumerated() where job.prefilling && tokensLeft > 0 {
            let take = min(tokensLeft, job.pending.count - job.fed)
            work[i].tokens = Array(job.pending[job.fed..<(job.fed + take)])
            work[i].sequenceLength = job.pending.count
            work[i].logits = job.fed + take == job.pending.count
            tokensLeft -= take
        }
        var caches = running.map { job in
            defer { job.cache = nil }
            return job.cache ?? runner.makeCache()
        }
        let logits = runner.step(work, caches: &caches)
        var usage = 0
        for (i, job) in running.enumerated() {
            job.cache = caches[i]
            usage += caches[i].count
            if job.prefilling { job.fed += work[i].tokens.count }
        }
        caches.removeAll()
        metrics.cacheUsage.set(Double(usage) / Double(budget))
        for (i, job) in running.enumerated() {
            guard let row = logits[i] else { continue }
            sample(job, row)
        }
    }

    /// Picks a sequence's next token from its logits and delivers it, as ``Generator`` does.
    private func sample(_ job: SequenceJob, _ logits: [Float]) {
        let penalized = job.sampler.parameters.repetitionPenalty != 1
        var token = job.sampler.next(logits, seen: penalized ? job.prompt + job.generated : [])
        if var constraint = job.constraint {
            // Structured output: sample first, mask only when the draw is not allowed (as ``Generator`` does).
            let remaining = job.budget - job.generated.count
            if !constraint.allows(token, remaining: remaining) {
                var masked = logits
                constraint.mask(&masked, remaining: remaining)
                guard masked.contains(where: { $0 > -.infinity }) else {
                    finish(job, .length)
                    return
                }
                token = job.sampler.next(masked, seen: penalized ? job.prompt + job.generated : [])
            }
            constraint.accept(token)
            job.constraint = constraint
        }
        if bundle.eosIDs.contains(token) {
            finish(job, .stop)
            return
        }
        job.generated.append(token)
        if let alternatives = job.logprobs {
            let entry = TokenLogprob(logits: logits, token: token, alternatives: alternatives)
            job.tokenLogprobs.append(entry)
            job.onLogprob?(entry)
        }
        let now = ContinuousClock.now
        if job.generated.count == 1 {
            metrics.timeToFirstToken.record(now - job.arrival)
        } else {
            metrics.interTokenLatency.record(now - job.lastToken)
        }
        job.lastToken = now
        metrics.generationTokens.increment()
        if job.cancelled.isSet {
            finish(job, .cancelled)
            return
        }
        let piece = job.decoder.push(token)
        job.text += piece
        if let match = job.stop.first(where: { !$0.isEmpty && job.text.contains($0) }),
            let range = job.text.firstRange(of: match)
        {
            // A stop string ends the text before it; what was not sent yet is sent now.
            job.text = String(job.text[..<range.lowerBound])
            let rest = String(job.text.dropFirst(job.emitted))
            if !rest.isEmpty { _ = job.onText(rest) }
            finish(job, .stop, stopString: true)
            return
        }
        if !piece.isEmpty {
            job.emitted = job.text.count
            guard job.onText(piece) else {
                finish(job, .cancelled)
                return
            }
        }
        if job.constraint?.isFinished == true {
            // The document is complete and nothing may follow it.
            finish(job, .stop)
            return
        }
        if job.generated.count == job.budget {
            finish(job, .length)
            return
        }
        let total = job.prompt.count + job.generated.count
        if let original = bundle.model.config.longRopeOriginalLength, total > original,
            let cache = job.cache, cache.count <= original
        {
            // Phi-3's long-context factors apply to the whole sequence once it outgrows the original context: as
            // ``Generator`` (and transformers) do, drop the cache built with the short factors and prefill again.
            job.cache = runner.makeCache()
            job.pending = job.prompt + job.generated
            job.fed = 0
            job.prefilling = true
            job.longFactors = true
        } else {
            job.pending = [token]
            job.prefilling = false
        }
    }

    /// Ends a running sequence: the rest of its text, its metrics, its answer; its cache is freed.
    private func finish(_ job: SequenceJob, _ finish: FinishReason, stopString: Bool = false) {
        guard let index = running.firstIndex(where: { $0 === job }) else { return }
        running.remove(at: index)
        reserved -= job.reservation
        if limits.prefixCaching, let cache = job.cache, !job.prefilling {
            // A sequence that ran its whole prompt (cancelled or not) leaves its positions for the next prompts.
            prefixes.store(cache, tokens: job.prompt + job.generated, context: context(job))
            prefixes.evict(toHold: budget - reserved)
        }
        job.cache = nil
        if finish != .cancelled && !stopString {
            let rest = job.decoder.finish()
            job.text += rest
            if !rest.isEmpty { _ = job.onText(rest) }
        }
        let reason = finish == .cancelled ? "abort" : finish == .length ? "length" : "stop"
        // Accounted before the answer leaves, so a client reading /metrics after its answer sees it.
        account(0, -1)
        metrics.success(reason).increment()
        metrics.endToEnd.record(.now - job.arrival)
        metrics.generationSize.record(Double(job.generated.count))
        if running.isEmpty { metrics.cacheUsage.set(0.0) }
        job.done(
            .success(
                GenerationQueue.Output(
                    text: job.text,
                    promptTokens: job.prompt.count,
                    completionTokens: job.generated.count,
                    finish: finish,
                    tokens: job.generated,
                    logprobs: job.logprobs == nil ? nil : job.tokenLogprobs
                )
            )
        )
    }
}

/// A generated token's log-probability and the most likely alternatives', from the model's distribution (the
/// log-softmax of its logits, before temperature, penalties and truncation: vLLM's default `raw_logprobs` mode).
public struct TokenLogprob: Sendable {
    /// The token.
    public var token: Int
    /// Its log-probability (at least -9999, vLLM's floor for a probability that underflows).
    public var logprob: Double
    /// The most likely tokens and theirs, most likely first (ties: lower id first).
    public var top: [(token: Int, logprob: Double)]

    init(logits: [Float], token: Int, alternatives: Int) {
        var maximum = -Double.infinity
        for value in logits { maximum = max(maximum, Double(value)) }
        var sum = 0.0
        for value in logits { sum += exp(Double(value) - maximum) }
        let normalizer = maximum + log(sum)
        func score(_ id: Int) -> Double { max(-9999, Double(logits[id]) - normalizer) }
        self.token = token
        logprob = score(token)
        var best: [Int] = []
        if alternatives > 0 {
            best = Array(
                logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
                    .prefix(alternatives)
            )
        }
        top = best.map { ($0, score($0)) }
    }
}
