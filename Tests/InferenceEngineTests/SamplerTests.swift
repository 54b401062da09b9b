import Foundation
import InferenceEngine
import Testing

struct SamplerTests {
    @Test func repetitionPenaltyFollowsTransformers() {
        var logits: [Float] = [2, -2, 1, 0.5]
        Sampler.penalize(&logits, seen: [0, 1, 1], penalty: 2)
        #expect(logits == [1, -4, 1, 0.5])
    }

    @Test func topKTopPAndMinPFilterCandidates() {
        let logits: [Float] = [3, 2, 1, 0, -1]
        #expect(Sampler.candidates(logits, SamplingParameters(topK: 2)).map(\.token) == [0, 1])
        // Probabilities ≈ 0.64, 0.24, 0.09, …: top-p 0.8 keeps two tokens.
        #expect(Sampler.candidates(logits, SamplingParameters(topP: 0.8)).map(\.token) == [0, 1])
        // min-p 0.3 keeps tokens at least 0.3 × 0.64.
        #expect(Sampler.candidates(logits, SamplingParameters(minP: 0.3)).map(\.token) == [0, 1])
        let probabilities = Sampler.candidates(logits, SamplingParameters(topK: 3)).map(\.probability)
        #expect(abs(probabilities.reduce(0, +) - 1) < 1e-5)
        // Temperature sharpens.
        let cold = Sampler.candidates(logits, SamplingParameters(temperature: 0.1))[0].probability
        #expect(cold > 0.99)
    }

    @Test func seedsAreReproducibleAndGreedyIsArgmax() {
        let logits: [Float] = [1, 1.1, 0.9, 1.05]
        var a = Sampler(SamplingParameters(temperature: 1, seed: 42))
        var b = Sampler(SamplingParameters(temperature: 1, seed: 42))
        let first = (0..<50).map { _ in a.next(logits, seen: []) }
        let second = (0..<50).map { _ in b.next(logits, seen: []) }
        #expect(first == second)
        #expect(Set(first).count > 1, "sampling at temperature 1 explores several tokens")
        var greedy = Sampler(.greedy)
        #expect(greedy.next(logits, seen: []) == 1)
    }
}

struct GeneratorTests {
    @Test func greedyGenerationMatchesTheReferenceAndStopsAsAsked() throws {
        let folder = ReferenceModelTests.fixtures.appendingPathComponent("phi3")
        let model = try CausalLM(folder: folder.path)
        let reference = try JSONDecoder().decode(
            ReferenceModelTests.Reference.self,
            from: Data(contentsOf: folder.appendingPathComponent("reference.json"))
        )
        let first = reference.cases[1]
        let generator = Generator(model: model)
        let result = try generator.generate(prompt: first.prompt, maxNewTokens: first.greedy.count, eosTokens: [])
        #expect(result.tokens == first.greedy)
        #expect(result.finish == .length)
        var streamed: [Int] = []
        let stopped = try generator.generate(prompt: first.prompt, maxNewTokens: 12, eosTokens: []) { token in
            streamed.append(token)
            return streamed.count < 3
        }
        #expect(stopped.finish == .cancelled)
        #expect(stopped.tokens == Array(first.greedy.prefix(3)))
        // The first token that appears later than position 0 serves as end-of-sequence.
        let stopIndex = try #require(
            first.greedy.indices.first { $0 > 0 && !first.greedy[..<$0].contains(first.greedy[$0]) }
        )
        let eos = try generator.generate(prompt: first.prompt, maxNewTokens: 12, eosTokens: [first.greedy[stopIndex]])
        #expect(eos.finish == .stop)
        #expect(eos.tokens == Array(first.greedy.prefix(stopIndex)))
    }
}
