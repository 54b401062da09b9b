import Foundation
import KaitoCore
import Testing
import YAML

/// Replays the fuzz corpus of the YAML layer and the strict decoder (`Fuzz/Corpus/fuzz-yaml`: seeds and the inputs
/// `make fuzz` found): each input parses or fails with a located error, and each document decodes or gets diagnostics.
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus/fuzz-yaml")

    static var inputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted()
    }

    @Test func corpusIsPresent() {
        #expect(Self.inputs.count >= 6)
    }

    @Test(arguments: inputs) func replays(_ name: String) throws {
        let bytes = Array(try Data(contentsOf: Self.corpus.appendingPathComponent(name)))
        do {
            for (index, document) in try YAMLParser.parse(bytes).enumerated() {
                guard let root = document.root else { continue }
                let (object, diagnostics) = InputDecoder.decode(root, file: name, index: index)
                #expect(object != nil || !diagnostics.isEmpty, "a document that decodes to nothing says why")
            }
        } catch {
            #expect(error.mark.line >= 1 && error.mark.column >= 1, "\(error)")
        }
    }
}
