import Foundation
import Testing

@testable import EngineText

/// llama.cpp's tokenizer vectors and a corpus, against HF `tokenizers`.
///
/// Each vocabulary is converted to `tokenizer.json` by transformers. The material is made at test time by `scripts/make_tokenizer_vectors.py`
/// (run by `make test`) from llama.cpp's `models/` folder (`make third-party`) into `.cache/tokenizers/`.
struct LlamaVocabularyTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let cache = root.appendingPathComponent(".cache/tokenizers")

    /// The vocabularies of llama.cpp's test set that the issue names.
    static let vocabularies = [
        "phi-3", "llama-spm", "llama-bpe", "qwen2", "qwen35", "deepseek-llm", "deepseek-coder", "gpt-2", "command-r",
        "gemma-4",
    ]

    /// Variants of converted vocabularies that put the other HF components under test (see the script).
    static let variants = [
        "llama-spm-metaspace-first", "llama-spm-metaspace-always-split", "llama-spm-metaspace-never",
        "phi-3-added-token-options",
        "gpt-2-nfkc-lowercase-whitespace", "gpt-2-nfd-strip-punctuation", "gpt-2-nfkd-digits-whitespacesplit",
        "gpt-2-split-removed", "gpt-2-split-merged-next", "gpt-2-split-contiguous-invert",
        "gpt-2-split-isolated-punct-replace",
    ]

    struct Vector {
        var text: String
        var ids: [Int]
        var decoded: String
    }

    struct CorpusCase {
        var text: String
        var ids: [Int]
        var idsWithSpecial: [Int]
        var decoded: String
        var decodedSkippingSpecial: String
    }

    static func ints(_ value: JSONValue?) -> [Int] { (value?.array ?? []).compactMap(\.int) }

    /// The converted tokenizer and the expectations of one vocabulary.
    static func load(_ name: String) throws -> (Tokenizer, [Vector], [CorpusCase]) {
        let (vectors, corpus) = try expectations(name)
        let path = cache.appendingPathComponent(name).appendingPathComponent("tokenizer.json").path
        return (try Tokenizer(path: path), vectors, corpus)
    }

    /// The expectations of one vocabulary: llama.cpp's vectors with HF's decodes, and the corpus.
    static func expectations(_ name: String) throws -> ([Vector], [CorpusCase]) {
        let folder = cache.appendingPathComponent(name)
        let expectedPath = folder.appendingPathComponent("expected.json").path
        guard let data = FileManager.default.contents(atPath: expectedPath) else {
            throw TokenizerError(
                message: "missing; run `make test` (scripts/make_tokenizer_vectors.py makes it)",
                path: expectedPath
            )
        }
        let json = try JSONValue.parse([UInt8](data), path: expectedPath)
        let vectors = (json["vectors"]?.array ?? []).map {
            Vector(text: $0["text"]?.string ?? "", ids: ints($0["ids"]), decoded: $0["decoded"]?.string ?? "")
        }
        let corpus = (json["corpus"]?.array ?? []).map {
            CorpusCase(
                text: $0["text"]?.string ?? "",
                ids: ints($0["ids"]),
                idsWithSpecial: ints($0["idsWithSpecial"]),
                decoded: $0["decoded"]?.string ?? "",
                decodedSkippingSpecial: $0["decodedSkippingSpecial"]?.string ?? ""
            )
        }
        return (vectors, corpus)
    }

    static func same(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }

    /// Every `.inp` case of llama.cpp encodes to its `.out` ids and decodes as HF does (none for the variants), and
    /// every corpus chunk gives HF's ids, with and without special tokens, and HF's decodes.
    @Test(arguments: vocabularies + variants)
    func matchesLlamaCppAndTokenizers(_ name: String) throws {
        let (tokenizer, vectors, corpus) = try Self.load(name)
        if Self.vocabularies.contains(name) {
            #expect(vectors.count >= 46, "\(name): too few vectors")
        }
        var vectorsPassed = 0
        for vector in vectors {
            let ids = tokenizer.encode(vector.text, addSpecialTokens: false)
            let decoded = tokenizer.decode(vector.ids)
            #expect(ids == vector.ids, "\(name) encode \(vector.text.debugDescription)")
            #expect(Self.same(decoded, vector.decoded), "\(name) decode \(vector.text.debugDescription)")
            if ids == vector.ids && Self.same(decoded, vector.decoded) { vectorsPassed += 1 }
        }
        #expect(corpus.count >= 300, "\(name): corpus too small")
        var passed = 0
        for c in corpus {
            let ids = tokenizer.encode(c.text, addSpecialTokens: false)
            let withSpecial = tokenizer.encode(c.text)
            let decoded = tokenizer.decode(c.ids)
            let skipping = tokenizer.decode(c.ids, skipSpecialTokens: true)
            #expect(ids == c.ids, "\(name) encode \(c.text.debugDescription)")
            #expect(withSpecial == c.idsWithSpecial, "\(name) encode with special \(c.text.debugDescription)")
            #expect(Self.same(decoded, c.decoded), "\(name) decode \(c.text.debugDescription)")
            #expect(Self.same(skipping, c.decodedSkippingSpecial), "\(name) decode skipping \(c.text.debugDescription)")
            if ids == c.ids && withSpecial == c.idsWithSpecial && Self.same(decoded, c.decoded)
                && Self.same(skipping, c.decodedSkippingSpecial)
            {
                passed += 1
            }
        }
        print(
            "\(name): \(vectorsPassed)/\(vectors.count) llama.cpp vectors, \(passed)/\(corpus.count) corpus chunks "
                + "identical to tokenizers"
        )
    }
}

/// The same vectors through the tokenizer built from the GGUF file's own metadata (`Tokenizer(gguf:)`).
struct GGUFVocabularyTests {
    @Test(arguments: LlamaVocabularyTests.vocabularies)
    func ggufMatchesVectors(_ name: String) throws {
        let (vectors, _) = try LlamaVocabularyTests.expectations(name)
        let path = LlamaVocabularyTests.root.appendingPathComponent(".cache/llama.cpp/models/ggml-vocab-\(name).gguf")
        let tokenizer = try Tokenizer(gguf: try GGUFMetadataReader.read(path.path))
        var passed = 0
        for vector in vectors {
            let ids = tokenizer.encode(vector.text, addSpecialTokens: false)
            #expect(ids == vector.ids, "\(name) GGUF encode \(vector.text.debugDescription)")
            #expect(
                LlamaVocabularyTests.same(tokenizer.decode(vector.ids), vector.decoded),
                "\(name) GGUF decode \(vector.text.debugDescription)"
            )
            if ids == vector.ids { passed += 1 }
        }
        print("\(name): \(passed)/\(vectors.count) llama.cpp vectors from GGUF metadata")
    }
}
