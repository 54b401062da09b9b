import EngineServer
import EngineText
import Foundation
import InferenceEngine
import Testing

/// Automatic prefix caching (issue 11 item 2): a prompt that begins with the whole 16-token blocks of a finished
/// sequence, and then with more of its tokens, prefills only the rest, and answers exactly as without the cache;
/// other adapters, other tokens and a full budget get no hit; vLLM's counters say how many tokens were found.
struct PrefixCachingTests {
    static let system = String(
        repeating: "You are a helpful assistant of the platform team; answer briefly and cite the runbook. ",
        count: 3
    )

    static func counter(_ queue: GenerationQueue, _ name: String) -> Int {
        let line = queue.metrics.render().split(separator: "\n").first { $0.hasPrefix("\(name){") }
        return Int(line?.split(separator: " ").last ?? "") ?? -1
    }

    static func answer(
        _ queue: GenerationQueue,
        _ prompt: String,
        strengths: [Float]? = nil
    ) async throws -> GenerationQueue.Output {
        try await queue.generate(prompt: prompt, maxNewTokens: 12, sampling: .greedy, strengths: strengths)
    }

    @Test func aSharedPrefixIsReusedAndChangesNoAnswer() async throws {
        let bundle = try BatchingServerTests.bundle()
        let systemTokens = bundle.tokenizer.encode(Self.system).count
        #expect(systemTokens >= 48)
        let prompts = [
            Self.system + "How do I restart a workspace?",
            Self.system + "Which GPU does phi-4 need?",
            Self.system + "How do I restart a workspace? And then?",
            Self.system + "Which GPU does phi-4 need?",
        ]
        let plain = try GenerationQueue(
            bundle: bundle,
            capacity: 4,
            limits: SchedulerLimits(maxSequences: 2, maxBatchedTokens: 16, prefixCaching: false)
        )
        var expected: [GenerationQueue.Output] = []
        for prompt in prompts { expected.append(try await Self.answer(plain, prompt)) }
        #expect(Self.counter(plain, "vllm:prefix_cache_hits_total") == 0)

        // A budget of four contexts, so that no finished sequence is evicted here.
        let cached = try GenerationQueue(
            bundle: bundle,
            capacity: 4,
            limits: SchedulerLimits(maxSequences: 2, maxBatchedTokens: 16, cacheTokens: 4 * bundle.model.contextLength)
        )
        var hits: [Int] = []
        for (i, prompt) in prompts.enumerated() {
            let output = try await Self.answer(cached, prompt)
            #expect(output.tokens == expected[i].tokens, "prompt \(i)")
            #expect(output.text == expected[i].text, "prompt \(i)")
            hits.append(Self.counter(cached, "vllm:prefix_cache_hits_total"))
        }
        // The first prompt finds nothing; the second finds the system prompt (its last token may merge with the
        // question's first); the third the first prompt, question included; the fourth repeats the second and runs
        // only its last token (whole blocks alone would leave up to 16 to run).
        let counts = prompts.map { bundle.tokenizer.encode($0).count }
        #expect(hits[0] == 0)
        #expect(hits[1] >= systemTokens - 1)
        #expect(hits[2] - hits[1] >= counts[0] - 1)
        #expect(hits[3] - hits[2] == counts[3] - 1)
        let queried = prompts.reduce(0) { $0 + bundle.tokenizer.encode($1).count }
        #expect(Self.counter(cached, "vllm:prefix_cache_queries_total") == queried)
    }

    @Test func otherAdapterStrengthsFindNothing() async throws {
        let bundle = try BatchingServerTests.bundle()
        let queue = try GenerationQueue(bundle: bundle, capacity: 4, limits: SchedulerLimits(maxSequences: 2))
        let alone = try GenerationQueue(
            bundle: bundle,
            capacity: 4,
            limits: SchedulerLimits(maxSequences: 2, prefixCaching: false)
        )
        _ = try await Self.answer(queue, Self.system + "First question", strengths: [0, 0])
        let output = try await Self.answer(queue, Self.system + "Second question", strengths: [1, 0])
        #expect(Self.counter(queue, "vllm:prefix_cache_hits_total") == 0)
        let expected = try await Self.answer(alone, Self.system + "Second question", strengths: [1, 0])
        #expect(output.tokens == expected.tokens)
        _ = try await Self.answer(queue, Self.system + "Third question", strengths: [1, 0])
        #expect(Self.counter(queue, "vllm:prefix_cache_hits_total") > 0)
    }

    /// With a budget of one whole context, a cached sequence is evicted when a request needs its positions: the
    /// request runs at once (it never waits for cached prefixes) and still answers as without the cache.
    @Test func cachedPrefixesGiveWayToRequests() async throws {
        let bundle = try BatchingServerTests.bundle(maxModelLength: 256)
        let queue = try GenerationQueue(
            bundle: bundle,
            capacity: 4,
            limits: SchedulerLimits(maxSequences: 2, cacheTokens: 256)
        )
        let alone = try GenerationQueue(
            bundle: bundle,
            capacity: 4,
            limits: SchedulerLimits(maxSequences: 2, cacheTokens: 256, prefixCaching: false)
        )
        let system = "You are a helpful assistant of the platform team. "
        let first = try await Self.answer(queue, system + "First question")
        let cachedPositions = first.promptTokens + first.completionTokens - 1
        // A prompt whose reservation (prompt + 12) leaves no room for the cached sequence.
        var long = system
        while bundle.tokenizer.encode(long).count + 12 + cachedPositions <= 256 { long += "More context. " }
        #expect(bundle.tokenizer.encode(long).count + 12 <= 256)
        let output = try await Self.answer(queue, long)
        #expect(output.tokens == (try await Self.answer(alone, long)).tokens)
        #expect(Self.counter(queue, "vllm:prefix_cache_hits_total") > 0)
    }
}
