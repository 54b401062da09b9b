import Foundation
import InferenceEngine
import Testing

/// Replays the fuzz corpus of the safetensors header (`Fuzz/Corpus/fuzz-safetensors`: seeds and the inputs
/// `make fuzz` found): each file opens with every tensor readable, or fails with an ``EngineError``.
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus/fuzz-safetensors")

    static var inputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted()
    }

    @Test func corpusIsPresent() {
        #expect(Self.inputs.count >= 3)
    }

    @Test(arguments: inputs) func replays(_ name: String) {
        do {
            let file = try SafeTensorsFile(path: Self.corpus.appendingPathComponent(name).path)
            for (tensor, entry) in file.entries {
                let count = entry.shape.reduce(1, *)
                #expect(file.floats(tensor)?.count == count, "\(tensor)")
            }
        } catch {
            #expect(!error.message.isEmpty)
        }
    }
}

/// Replays the fuzz corpus of GGUF files (`Fuzz/Corpus/fuzz-gguf`: the seeds `scripts/make_fuzz_gguf_seeds.py` wrote
/// and the inputs `make fuzz` found): each loads and runs, or fails with an ``EngineError``; the seeds load.
struct GGUFFuzzCorpusTests {
    static let corpus = FuzzCorpusTests.corpus.deletingLastPathComponent().appendingPathComponent("fuzz-gguf")

    static var inputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted()
    }

    @Test func corpusIsPresent() {
        #expect(Self.inputs.filter { $0.hasPrefix("seed-") }.count >= 3)
    }

    @Test(arguments: inputs) func replays(_ name: String) {
        do {
            let model = try CausalLM(gguf: Self.corpus.appendingPathComponent(name).path).limitingContext(to: 8)
            var cache = model.makeCache()
            let logits = try model.prefill([1, 2, 3].map { $0 % model.config.vocabularySize }, cache: &cache)
            #expect(logits.count == model.config.vocabularySize)
            if name.hasPrefix("seed-") { #expect(logits.allSatisfy { $0.isFinite }) }
        } catch {
            let message = error.message
            #expect(!name.hasPrefix("seed-"), "\(message)")
            #expect(!message.isEmpty)
        }
    }
}
