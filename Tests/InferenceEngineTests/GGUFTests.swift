import CKernels
import Foundation
import GGUF
import InferenceEngine
import Testing

/// GGUF files written by llama.cpp's own converter from the reference models (`scripts/make_gguf_fixtures.py`):
/// the reader's view of them, its errors on damaged copies, and the engine on them against the same engine on the
/// safetensors folders and against transformers (`reference.json`).
struct GGUFTests {
    static let folder = ReferenceModelTests.fixtures.appendingPathComponent("gguf")

    static func path(_ name: String) -> String { folder.appendingPathComponent(name + ".gguf").path }

    struct Case: Decodable {
        var prompt: [Int]
        var lastLogits: [Float]
    }

    struct Reference: Decodable {
        var cases: [Case]
    }

    @Test func readsTheConvertersFile() throws {
        let file = try GGUFFile(path: Self.path("llama-f32"))
        #expect(file.version == 3)
        #expect(file.architecture == "llama")
        #expect(file.integer("llama.block_count") == 2)
        #expect(file.integer("llama.embedding_length") == 64)
        #expect(file.metadata["tokenizer.ggml.tokens"]?.array?.count == 256)
        #expect(file.string("tokenizer.ggml.model") == "llama")
        #expect(file.tensors.count == 2 * 9 + 3)
        let q = try #require(file.tensor(named: "blk.0.attn_q.weight"))
        #expect(q.dimensions == [64, 64])
        #expect(q.typeName == "f32")
        #expect(q.byteCount == 64 * 64 * 4)
        #expect(file.dataOffset % 32 == 0)
        let quantized = try GGUFFile(path: Self.path("llama-q8_0"))
        #expect(quantized.tensor(named: "blk.0.ffn_down.weight")?.typeName == "q8_0")
        #expect(quantized.tensor(named: "blk.0.ffn_down.weight")?.shape == [64, 128])
    }

    @Test func damagedFilesAreLocatedErrors() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Self.path("llama-q8_0")))
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: temporary) }
        func parse(_ bytes: Data) throws(GGUFError) -> GGUFFile {
            try? bytes.write(to: temporary)
            return try GGUFFile(path: temporary.path)
        }
        var magic = good
        magic[0] = UInt8(ascii: "X")
        #expect { _ = try parse(magic) } throws: { ($0 as? GGUFError)?.message.hasPrefix("magic") == true }
        var version = good
        version[4] = 9
        #expect { _ = try parse(version) } throws: { ($0 as? GGUFError)?.offset == 4 }
        var tensorCount = good
        tensorCount.replaceSubrange(8..<16, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        #expect { _ = try parse(tensorCount) } throws: { ($0 as? GGUFError)?.message.hasPrefix("tensor count") == true }
        // Every cut through the header and directory, and one through the data, is an error, never a crash.
        let header = try GGUFFile(path: Self.path("llama-q8_0")).dataOffset
        for cut in stride(from: 0, to: header, by: max(1, header / 300)) + [good.count - 1] {
            #expect(throws: GGUFError.self, "cut at \(cut)") { _ = try parse(good.prefix(cut)) }
        }
        // A dimension whose element count fits an Int but whose byte count does not (CI caught this one through the
        // random damage below): an error, not an arithmetic trap.
        var huge = good
        let name = try #require(good.range(of: Data("blk.0.attn_q.weight".utf8))).upperBound
        huge.replaceSubrange((name + 12)..<(name + 20), with: [0, 0, 0, 0, 0, 0, 0xF0, 0x01])  // 31 · 2^58 elements
        #expect { _ = try parse(huge) } throws: { ($0 as? GGUFError)?.message.contains("more bytes") == true }
        // Random damage (seeded, so a failure replays): each copy parses or fails with an error; none crashes or
        // allocates past the file.
        var random = SplitMix64(seed: 0x6767_7566)
        for _ in 0..<2000 {
            var damaged = good
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                damaged[Int.random(in: 0..<header, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            _ = try? parse(damaged)
        }
    }

    /// One GGUF file and the safetensors folder it was converted from.
    struct Pair: Sendable, CustomTestStringConvertible {
        var file: String
        var folder: String
        /// The folder model quantized at load as the converter quantized the file.
        var quantization: LoadOptions.Quantization? = nil
        /// Prompts of reference.json compared (Mistral's later ones outgrow its window, which the file lacks).
        var prompts = 3
        /// Whether reference.json holds transformers' logits for exactly these weights (F32 files).
        var checksTransformers = true
        /// The largest logit difference accepted against the folder model.
        var tolerance: Float = 1e-5
        /// Greedy tokens compared (0: none).
        var greedyTokens = 12
        var testDescription: String { file }
    }

    static let pairs = [
        Pair(file: "llama-f32", folder: "llama"), Pair(file: "llama3-rope-f32", folder: "llama3-rope"),
        Pair(file: "mistral-f32", folder: "mistral", prompts: 1, greedyTokens: 2),
        Pair(file: "qwen2-f32", folder: "qwen2"),
        Pair(file: "phi3-f32", folder: "phi3"), Pair(file: "llama-f16", folder: "llama-f16", checksTransformers: false),
        Pair(
            file: "llama-q8_0",
            folder: "llama",
            quantization: .q8_0,
            checksTransformers: false,
            tolerance: 0.1,
            greedyTokens: 0
        ),
    ]

    /// The same weights give the same logits (within 1e-5: the file's rotary layout orders a few sums differently)
    /// and the same greedy text; F32 files also match transformers within 1e-4.
    ///
    /// Mistral is compared within its window of 8 positions, which the file lacks. The converter's Q8_0 file also
    /// quantizes the embeddings, which quantization at load keeps in F32, so it is compared within 0.1 (greedy text
    /// of these random tiny models turns on near-ties) and its blocks are compared byte for byte in
    /// ``quantizedBlocksEqualTheConverters()``.
    @Test(arguments: pairs)
    func agreesWithTheSafetensorsModel(_ pair: Pair) throws {
        let gguf = try CausalLM(gguf: Self.path(pair.file))
        let reference = try CausalLM(
            folder: ReferenceModelTests.fixtures.appendingPathComponent(pair.folder).path,
            options: LoadOptions(quantization: pair.quantization)
        )
        let expected = try JSONDecoder().decode(
            Reference.self,
            from: Data(contentsOf: ReferenceModelTests.fixtures.appendingPathComponent(pair.folder + "/reference.json"))
        )
        #expect(gguf.config.layerCount == reference.config.layerCount)
        #expect(gguf.config.vocabularySize == reference.config.vocabularySize)
        for testCase in expected.cases.prefix(pair.prompts) {
            var a = gguf.makeCache()
            var b = reference.makeCache()
            let fromGGUF = try gguf.prefill(testCase.prompt, cache: &a)
            let fromFolder = try reference.prefill(testCase.prompt, cache: &b)
            let error = zip(fromGGUF, fromFolder).map { abs($0 - $1) }.max() ?? .infinity
            #expect(error <= pair.tolerance, "\(pair.file): max-abs \(error) against the safetensors model")
            if pair.checksTransformers {
                let transformers = zip(fromGGUF, testCase.lastLogits).map { abs($0 - $1) }.max() ?? .infinity
                #expect(transformers <= 1e-4, "\(pair.file): max-abs \(transformers) against transformers")
            }
            if ProcessInfo.processInfo.environment["ENGINE_REPORT"] != nil {
                print("\(pair.file) prompt \(testCase.prompt.count): max-abs \(error)")
            }
            guard pair.greedyTokens > 0 else { continue }
            let greedy = try Generator(model: gguf).generate(
                prompt: testCase.prompt,
                maxNewTokens: pair.greedyTokens,
                sampling: .greedy,
                eosTokens: []
            ).tokens
            let folderGreedy = try Generator(model: reference).generate(
                prompt: testCase.prompt,
                maxNewTokens: pair.greedyTokens,
                sampling: .greedy,
                eosTokens: []
            ).tokens
            #expect(greedy == folderGreedy, "\(pair.file): greedy text")
        }
    }

    /// The converter's Q8_0 blocks (gguf-py's reference quantizer) equal the engine's quantizer on the same F32
    /// rows, for every tensor whose rows the converter did not permute.
    @Test func quantizedBlocksEqualTheConverters() throws {
        let file = try GGUFFile(path: Self.path("llama-q8_0"))
        let folder = try SafeTensorsFolder(folder: ReferenceModelTests.fixtures.appendingPathComponent("llama").path)
        var compared = 0
        for info in file.tensors where info.type == 8 && !info.name.contains("attn_q") && !info.name.contains("attn_k")
        {
            let name = try #require(GGUFSource.huggingFaceName(info.name, architecture: "llama"))
            let floats = try #require(try folder.tensor(name)).floats()
            let size = try #require(info.byteCount)
            var ours = [UInt8](repeating: 0, count: size)
            let status = ours.withUnsafeMutableBytes {
                kt_quantize_row(KT_Q8_0, floats, $0.baseAddress, Int64(floats.count))
            }
            #expect(status == 0)
            let theirs = Array(UnsafeRawBufferPointer(start: file.bytes(of: info), count: size))
            #expect(ours == theirs, "\(info.name)")
            compared += 1
        }
        #expect(compared == 2 * 5 + 2)
    }

    @Test func mistralsWindowIsNotInTheFile() throws {
        // llama.cpp's converter writes no sliding window for Mistral (stored as llama); the engine, like llama.cpp,
        // then attends to the whole context.
        #expect(try CausalLM(gguf: Self.path("mistral-f32")).config.slidingWindow == nil)
    }

    @Test func unsupportedTensorTypeNamesTensorAndType() throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.path("llama-f32")))
        let name = Data("blk.0.attn_q.weight".utf8)
        let at = try #require(bytes.range(of: name)).upperBound
        // After the name: dimension count (4 bytes), two dimensions (16), then the type: make it q4_1 (3).
        bytes.replaceSubrange((at + 20)..<(at + 24), with: [3, 0, 0, 0])
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: temporary) }
        try bytes.write(to: temporary)
        #expect {
            _ = try CausalLM(gguf: temporary.path)
        } throws: {
            let error = $0 as? EngineError
            return error?.code == .unsupportedDType && "\(error!)".contains("blk.0.attn_q.weight")
                && "\(error!)".contains("q4_1")
        }
        #expect { _ = try CausalLM(gguf: "/nonexistent.gguf") } throws: { ($0 as? EngineError)?.code == .invalidFile }
    }
}
