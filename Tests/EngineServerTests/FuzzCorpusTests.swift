import EngineServer
import Foundation
import Testing

/// Replays the fuzz corpus of the HTTP request bodies (`Fuzz/Corpus/fuzz-request`: seeds and the inputs `make fuzz`
/// found) through the three POST routes' decoding: each body decodes or fails with a ``RequestBodyError``.
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus/fuzz-request")

    static var inputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted()
    }

    @Test func corpusIsPresent() {
        #expect(Self.inputs.count >= 4)
    }

    @Test(arguments: inputs) func replays(_ name: String) throws {
        let body = Array(try Data(contentsOf: Self.corpus.appendingPathComponent(name)))
        for route in ["/chat", "/v1/chat/completions", "/v1/completions"] {
            do {
                try KaitoServeRoutes.validateBody(body, route: route)
            } catch {
                // A field's error names the field; only the body itself (not an object) has an empty path.
                if case .invalid(let expected) = error.kind, error.path.isEmpty {
                    #expect(expected == .dictionary, "\(route): \(error)")
                }
            }
        }
    }
}
