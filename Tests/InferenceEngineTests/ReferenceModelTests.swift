import Foundation
import InferenceEngine
import Testing

/// Logits and greedy continuations of tiny random models against HF transformers (fixtures made by
/// `scripts/make_engine_fixtures.py` with fixed seeds; tolerance 1e-4 max-abs in F32).
struct ReferenceModelTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let models = ["llama", "llama3-rope", "mistral", "qwen2", "phi3"]

    struct Case: Decodable {
        var prompt: [Int]
        var lastLogits: [Float]
        var greedy: [Int]
    }

    struct Reference: Decodable {
        var cases: [Case]
    }

    @Test(arguments: models)
    func logitsAndGreedyMatchTransformers(_ name: String) throws {
        let folder = Self.fixtures.appendingPathComponent(name)
        let model = try CausalLM(folder: folder.path)
        let reference = try JSONDecoder().decode(
            Reference.self,
            from: Data(contentsOf: folder.appendingPathComponent("reference.json"))
        )
        for testCase in reference.cases {
            var cache = model.makeCache()
            let logits = try model.prefill(testCase.prompt, cache: &cache)
            var maxError: Float = 0
            for (a, b) in zip(logits, testCase.lastLogits) { maxError = max(maxError, abs(a - b)) }
            #expect(logits.count == testCase.lastLogits.count)
            #expect(
                maxError <= 1e-4,
                "\(name): max-abs logit error \(maxError) for a prompt of \(testCase.prompt.count) tokens"
            )
            if ProcessInfo.processInfo.environment["ENGINE_REPORT"] != nil {
                print("\(name) prompt \(testCase.prompt.count): max-abs \(maxError)")
            }
            // Greedy through the generation loop kaito-serve runs (Phi-3 recomputes its cache at the long-rope switch).
            let generated = try Generator(model: model).generate(
                prompt: testCase.prompt,
                maxNewTokens: testCase.greedy.count,
                sampling: .greedy,
                eosTokens: []
            ).tokens
            #expect(generated == testCase.greedy, "\(name): greedy continuation")
        }
    }

    @Test(arguments: models)
    func batchedPrefillEqualsTokenByToken(_ name: String) throws {
        // The batched path streams each weight row once for a chunk of tokens; it must not change a single bit.
        let model = try CausalLM(folder: Self.fixtures.appendingPathComponent(name).path)
        let prompt = [1] + (0..<70).map { ($0 * 37 + 11) % model.config.vocabularySize }
        var batched = model.makeCache()
        let fromBatches = try model.prefill(prompt, cache: &batched)
        var single = model.makeCache()
        var fromTokens: [Float] = []
        for token in prompt { fromTokens = model.forward(token: token, cache: &single, sequenceLength: prompt.count) }
        #expect(fromBatches == fromTokens)
        #expect(batched.count == single.count)
        #expect(model.forward(token: 5, cache: &batched) == model.forward(token: 5, cache: &single), "the caches agree")
    }

    @Test func errorsNameTheProblem() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("engine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect { _ = try CausalLM(folder: folder.path) } throws: { ($0 as? EngineError)?.code == .missingFile }
        let source = Self.fixtures.appendingPathComponent("llama")
        var config = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
        try config.replacingOccurrences(of: "LlamaForCausalLM", with: "GPT2LMHeadModel").write(
            to: folder.appendingPathComponent("config.json"),
            atomically: true,
            encoding: .utf8
        )
        #expect { _ = try CausalLM(folder: folder.path) } throws: {
            ($0 as? EngineError)?.code == .unsupportedArchitecture
        }
        config = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
        try config.replacingOccurrences(of: "\"hidden_size\": 64", with: "\"hidden_size\": 32").write(
            to: folder.appendingPathComponent("config.json"),
            atomically: true,
            encoding: .utf8
        )
        let weights = try Data(contentsOf: source.appendingPathComponent("model.safetensors"))
        try weights.write(to: folder.appendingPathComponent("model.safetensors"))
        #expect { _ = try CausalLM(folder: folder.path) } throws: { ($0 as? EngineError)?.code == .shapeMismatch }
        try config.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try weights.prefix(weights.count / 2).write(to: folder.appendingPathComponent("model.safetensors"))
        #expect { _ = try CausalLM(folder: folder.path) } throws: { ($0 as? EngineError)?.code == .truncatedFile }
        let model = try CausalLM(folder: source.path)
        var cache = model.makeCache()
        #expect { _ = try model.prefill(Array(repeating: 5, count: 200), cache: &cache) } throws: {
            ($0 as? EngineError)?.code == .promptTooLong
        }
    }
}
