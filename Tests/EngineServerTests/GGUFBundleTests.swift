import EngineServer
import EngineText
import Foundation
import InferenceEngine
import Testing

/// `kaito-serve --model file.gguf`: a file written by llama.cpp's converter (the engine's GGUF fixtures) serves with
/// nothing beside it: the tokenizer from its metadata, BOS/EOS from the ids it names.
struct GGUFBundleTests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("InferenceEngineTests/Fixtures/gguf/llama-f32.gguf")

    @Test func servesAGGUFFileAlone() async throws {
        let bundle = try ModelBundle(gguf: Self.file.path)
        #expect(bundle.name == "llama-f32")
        #expect(bundle.model.config.layerCount == 2)
        let ids = bundle.tokenizer.encode("hello world", addSpecialTokens: true)
        #expect(ids.first == 1, "BOS from tokenizer.ggml.bos_token_id, added as tokenizer.ggml.add_bos_token says")
        #expect(bundle.tokenizer.decode(Array(ids.dropFirst())) == "hello world")
        let queue = GenerationQueue(bundle: bundle, capacity: 1)
        let output = try await queue.generate(prompt: "hello world", maxNewTokens: 5, sampling: .greedy)
        #expect(output.promptTokens == ids.count)
        #expect(output.completionTokens > 0)
    }

    @Test func anAdapterOnPermutedRowsIsRefused() throws {
        let adapters = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("InferenceEngineTests/Fixtures/adapters/llama")
        let folders = try FileManager.default.contentsOfDirectory(atPath: adapters.path).sorted()
        let adapter = try LoRAAdapter(folder: adapters.appendingPathComponent(try #require(folders.first)).path)
        try #require(adapter.modules.contains { $0.hasSuffix("q_proj") || $0.hasSuffix("k_proj") })
        #expect {
            _ = try ModelBundle(gguf: Self.file.path, adapters: [adapter])
        } throws: {
            ($0 as? EngineError)?.code == .invalidAdapter
        }
    }
}
