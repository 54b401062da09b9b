import EngineText
import Foundation
import GGUF
import Testing

/// Replays the fuzz corpora of the tokenizer, of the chat template parser and of GGUF files (their tokenizers).
///
/// `Fuzz/Corpus/fuzz-tokenizer` and `Fuzz/Corpus/fuzz-template` hold seeds and the inputs `make fuzz` found. Each
/// input loads or fails with an error that says what is wrong, and what loads runs.
struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus")

    static func inputs(_ target: String) -> [String] {
        let folder = root.appendingPathComponent(target).path
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    @Test func corporaArePresent() {
        #expect(Self.inputs("fuzz-tokenizer").count >= 1)
        #expect(Self.inputs("fuzz-template").count >= 6)
    }

    @Test(arguments: inputs("fuzz-tokenizer")) func tokenizerInput(_ name: String) {
        let path = Self.root.appendingPathComponent("fuzz-tokenizer/\(name)").path
        do {
            let tokenizer = try Tokenizer(path: path)
            let ids = tokenizer.encode("Hello <|user|> wörld 12345 \n\t ✓ ")
            _ = tokenizer.decode(ids)
        } catch {
            #expect(!String(describing: error).isEmpty)
        }
    }

    /// The seeds' vocabularies (SentencePiece and byte-level BPE) load and round-trip their own text.
    @Test(arguments: inputs("fuzz-gguf")) func ggufTokenizer(_ name: String) {
        let path = Self.root.appendingPathComponent("fuzz-gguf/\(name)").path
        do {
            let tokenizer = try Tokenizer(gguf: try GGUFFile(path: path))
            let ids = tokenizer.encode("Hello wörld 123")
            #expect(!ids.isEmpty)
            if name.hasPrefix("seed-") { #expect(tokenizer.decode(ids).hasSuffix("Hello wörld 123")) }
        } catch {
            #expect(!name.hasPrefix("seed-"), "\(error)")
            #expect(!String(describing: error).isEmpty)
        }
    }

    @Test(arguments: inputs("fuzz-template")) func templateInput(_ name: String) throws {
        let source = String(
            decoding: try Data(contentsOf: Self.root.appendingPathComponent("fuzz-template/\(name)")),
            as: UTF8.self
        )
        do {
            let template = try ChatTemplate(source)
            let message: (String, String) -> TemplateValue = { role, content in
                .dict([TemplateValue.Pair("role", .string(role)), TemplateValue.Pair("content", .string(content))])
            }
            _ = try template.render([
                "messages": .list([message("system", "Be brief."), message("user", "Hello")]),
                "add_generation_prompt": .bool(true), "bos_token": .string("<s>"), "eos_token": .string("</s>"),
            ])
        } catch {
            #expect(!String(describing: error).isEmpty)
        }
    }
}
