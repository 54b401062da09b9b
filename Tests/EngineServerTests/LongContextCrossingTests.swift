import EngineText
import Foundation
import InferenceEngine
import Testing

@testable import EngineServer

/// Phi-3's long-context factors in the engine loop: once a sequence outgrows the original context, the cache built
/// with the short factors is dropped and the whole sequence prefilled again with the long ones, as ``Generator`` (and
/// transformers) do; batched beside another sequence, the answer is the Generator's, token for token.
struct LongContextCrossingTests {
    @Test func aSequenceCrossingTheOriginalContextAnswersAsTheGenerator() async throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("InferenceEngineTests/Fixtures")
        // The tiny Phi-3 has longrope factors with an original context of 32 and 256 tokens; the server tests'
        // tokenizer (616 tokens) only decodes the answer, so every id stays below 256.
        let model = try CausalLM(folder: fixtures.appendingPathComponent("phi3").path)
        let original = try #require(model.config.longRopeOriginalLength)
        let tokenizer = try Tokenizer(path: ServerTests.folder.appendingPathComponent("tokenizer.json").path)
        let bundle = ModelBundle(
            name: "phi3",
            model: model,
            tokenizer: tokenizer,
            template: nil,
            toolCallFormat: nil,
            bosToken: "",
            eosToken: "",
            eosIDs: [],
            adapters: []
        )
        let queue = try GenerationQueue(
            bundle: bundle,
            capacity: 4,
            limits: SchedulerLimits(maxSequences: 2, maxBatchedTokens: 8, cacheTokens: 256)
        )
        let prompt = (0..<20).map { 3 + ($0 * 37) % 250 }
        let other = (0..<9).map { 5 + ($0 * 11) % 250 }
        let newTokens = 30
        #expect(prompt.count + newTokens > original, "the answer crosses the original context")
        let expected = try Generator(model: model).generate(prompt: prompt, maxNewTokens: newTokens, eosTokens: [])
        let expectedOther = try Generator(model: model).generate(prompt: other, maxNewTokens: newTokens, eosTokens: [])
        async let crossing = queue.generate(ids: prompt, maxNewTokens: newTokens, sampling: .greedy)
        async let beside = queue.generate(ids: other, maxNewTokens: newTokens, sampling: .greedy)
        let (a, b) = try await (crossing, beside)
        #expect(a.tokens == expected.tokens)
        #expect(b.tokens == expectedOther.tokens)
    }
}
