// kaito-serve-bench: load time, prefill and decode speed, time to first token and peak memory of the engine, on a
// model folder (what `make bench-engine` runs) or on a random-weight model of a realistic shape.
import ArgumentParser
import Foundation
import InferenceEngine

@main
struct ServeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kaito-serve-bench",
        abstract: "Prefill and decode tokens/s, time to first token and peak memory of the kaito-serve engine."
    )

    @Option(
        help: """
            A model folder (config.json, safetensors) or a .gguf file; default: a Qwen2-0.5B-shaped random F32 model.
            """
    )
    var model: String?

    @Option(help: "Threads of the worker pool.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Quantize float weights at load: q8_0 or q4_0.")
    var quantization: String?

    @Option(help: "The KV cache's element type: f32 or f16.")
    var kvCacheDtype: String = "f16"

    @Option(help: "Prompt tokens.")
    var prompt: Int = 64

    @Option(help: "Tokens to decode.")
    var decode: Int = 32

    @Flag(help: "Print one JSON object instead of a sentence.")
    var json = false

    @Flag(help: "Also time the prompt token by token (checks that chunked prefill is faster).")
    var serial = false

    @Option(
        help:
            "Also decode this many sequences together, as kaito-serve's continuous batching does (comma-separated counts)."
    )
    var concurrent: String?

    /// Peak resident memory (VmHWM) in MiB.
    static func peakMemoryMiB() -> Double {
        guard let status = FileHandle(forReadingAtPath: "/proc/self/status")?.readDataToEndOfFile(),
            let line = String(decoding: status, as: UTF8.self).split(separator: "\n").first(where: {
                $0.hasPrefix("VmHWM:")
            })
        else { return 0 }
        return (Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "0") ?? 0) / 1024
    }

    static func format(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

    func validate() throws {
        if let quantization, LoadOptions.Quantization(rawValue: quantization) == nil {
            throw ValidationError("--quantization must be one of q8_0, q4_0")
        }
        if LoadOptions.CacheType(rawValue: kvCacheDtype) == nil {
            throw ValidationError("--kv-cache-dtype must be f32 or f16")
        }
        if prompt < 1 || decode < 1 { throw ValidationError("--prompt and --decode must be at least 1") }
        if let concurrent, concurrentCounts(concurrent) == nil {
            throw ValidationError("--concurrent must be positive counts separated by commas")
        }
    }

    func run() throws {
        let options = LoadOptions(
            threads: threads,
            quantization: quantization.flatMap(LoadOptions.Quantization.init(rawValue:)),
            kvCacheType: LoadOptions.CacheType(rawValue: kvCacheDtype) ?? .f16
        )
        let loadStart = Date()
        let model: CausalLM
        if let path = self.model, path.hasSuffix(".gguf") {
            model = try CausalLM(gguf: path, options: options)
        } else if let folder = self.model {
            model = try CausalLM(folder: folder, options: options)
        } else {
            // Qwen2-0.5B's shape (hidden 896, 24 layers, 14 heads, 2 KV heads, MLP 4864, vocabulary 151,936, tied).
            let config = try ModelConfig(json: [
                "architectures": ["Qwen2ForCausalLM"], "vocab_size": 151_936, "hidden_size": 896,
                "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
                "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 1_000_000.0,
                "max_position_embeddings": 32768, "tie_word_embeddings": true, "eos_token_id": 151_643,
            ])
            model = CausalLM(randomWeights: config, seed: 7, options: options)
        }
        let load = Date().timeIntervalSince(loadStart)
        let config = model.config
        let tokens = (0..<prompt).map { 1 + ($0 * 7919) % (config.vocabularySize - 1) }

        // Prefill as kaito-serve runs it; its end, plus picking the token, is the first token.
        var cache = model.makeCache()
        var sampler = Sampler(.greedy)
        let prefillStart = Date()
        var logits = try model.prefill(tokens, cache: &cache)
        var seen = tokens
        var next = sampler.next(logits, seen: seen)
        let firstToken = Date().timeIntervalSince(prefillStart)
        let decodeStart = Date()
        for _ in 0..<decode {
            seen.append(next)
            logits = model.forward(token: next, cache: &cache)
            next = sampler.next(logits, seen: seen)
        }
        let decodeTime = Date().timeIntervalSince(decodeStart)
        var serialRate: Double?
        if serial {
            var single = model.makeCache()
            let start = Date()
            for token in tokens { _ = model.forward(token: token, cache: &single, sequenceLength: prompt) }
            serialRate = Double(prompt) / Date().timeIntervalSince(start)
        }
        var batched: [String: Double] = [:]
        for count in concurrentCounts(concurrent ?? "") ?? [] {
            batched[String(count)] = batchedDecodeRate(model, count: count, tokens: tokens)
        }
        var result: [String: Any] = [
            "load_s": load, "prefill_tok_s": Double(prompt) / firstToken, "ttft_ms": firstToken * 1000,
            "decode_tok_s": Double(decode) / decodeTime, "peak_rss_mib": Self.peakMemoryMiB(),
            "weight_bytes": model.weightBytes, "threads": threads, "prompt": prompt, "decode": decode,
        ]
        if !batched.isEmpty { result["batched_decode_tok_s"] = batched }
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(
            "threads \(threads): load \(Self.format(load, 1)) s, prefill \(prompt) tokens "
                + "\(Self.format(Double(prompt) / firstToken)) tok/s"
                + (serialRate.map { " (token by token \(Self.format($0)) tok/s)" } ?? "")
                + ", time to first token \(Self.format(firstToken * 1000, 0)) ms, "
                + "decode \(decode) tokens \(Self.format(Double(decode) / decodeTime)) tok/s, "
                + "weights \(Self.format(Double(model.weightBytes) / 1_048_576, 0)) MiB, "
                + "peak RSS \(Self.format(Self.peakMemoryMiB(), 0)) MiB"
                + batched.keys.sorted { Int($0) ?? 0 < Int($1) ?? 0 }.map {
                    "; \($0) sequences together: \(Self.format(batched[$0] ?? 0)) tok/s in all"
                }.joined()
        )
    }

    func concurrentCounts(_ text: String) -> [Int]? {
        guard !text.isEmpty else { return [] }
        let counts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard counts.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        return counts.compactMap { $0 }
    }

    /// Aggregate decode tokens/s of `count` sequences decoding together through ``BatchRunner`` (each prefilled with
    /// the prompt first, then three rounds of `decode` steps of one token each, greedy; the best round).
    func batchedDecodeRate(_ model: CausalLM, count: Int, tokens: [Int]) -> Double {
        let runner = BatchRunner(model: model, maxTokens: max(count, 64), maxSequences: count)
        var caches = (0..<count).map { _ in runner.makeCache() }
        var next: [Int] = []
        for i in 0..<count {
            var work = (0..<count).map { _ in BatchRunner.Work(tokens: []) }
            // Distinct prompts: each sequence's first token differs.
            work[i] = BatchRunner.Work(tokens: [1 + (i * 31) % (model.config.vocabularySize - 1)] + tokens.dropFirst())
            var row: [Float] = []
            var start = 0
            while start < work[i].tokens.count {
                var part = work
                let end = min(work[i].tokens.count, start + 64)
                part[i] = BatchRunner.Work(
                    tokens: Array(work[i].tokens[start..<end]),
                    sequenceLength: work[i].tokens.count,
                    logits: end == work[i].tokens.count
                )
                row = runner.step(part, caches: &caches)[i] ?? row
                start = end
            }
            var sampler = Sampler(.greedy)
            next.append(sampler.next(row, seen: []))
        }
        // The best of three rounds of `decode` steps: the machine may be shared, and the best round is the one least
        // disturbed.
        var best = 0.0
        for _ in 0..<3 {
            let start = Date()
            for _ in 0..<decode {
                let rows = runner.step(next.map { BatchRunner.Work(tokens: [$0]) }, caches: &caches)
                for i in 0..<count {
                    var sampler = Sampler(.greedy)
                    next[i] = sampler.next(rows[i] ?? [], seen: [])
                }
            }
            best = max(best, Double(count * decode) / Date().timeIntervalSince(start))
        }
        return best
    }
}
