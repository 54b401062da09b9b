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
