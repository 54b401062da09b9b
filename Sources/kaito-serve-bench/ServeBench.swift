// kaito-serve-bench: prefill and decode speed of the engine on a random-weight model of a realistic shape.
import ArgumentParser
import Foundation
import InferenceEngine

@main
struct ServeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kaito-serve-bench",
        abstract:
            "Prefill and decode tokens/s, time to first token and peak memory on a Qwen2-0.5B-shaped random model."
    )

    @Option(help: "Threads for matrix products (default: the machine's cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Prompt tokens.")
    var prompt: Int = 64

    @Option(help: "Tokens to decode.")
    var decode: Int = 32

    /// Peak resident memory (VmHWM) in MiB.
    static func peakMemoryMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return (Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "0") ?? 0) / 1024
    }

    static func format(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

    func run() throws {
        // Qwen2-0.5B's shape (hidden 896, 24 layers, 14 heads, 2 KV heads, MLP 4864, vocabulary 151,936, tied).
        let config = try ModelConfig(json: [
            "architectures": ["Qwen2ForCausalLM"], "vocab_size": 151_936, "hidden_size": 896, "intermediate_size": 4864,
            "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
            "rope_theta": 1_000_000.0, "max_position_embeddings": 32768, "tie_word_embeddings": true,
            "eos_token_id": 151_643,
        ])
        let loadStart = Date()
        let model = CausalLM(randomWeights: config, seed: 7, options: LoadOptions(threads: threads))
        let parameters =
            config.vocabularySize * config.hiddenSize
            + config.layerCount
            * (2 * config.hiddenSize * config.headCount * config.headDimension
                + 2 * config.hiddenSize * config.keyValueHeadCount * config.headDimension
                + 3 * config.hiddenSize * config.intermediateSize)
        print(
            "model: Qwen2 shape, \(Self.format(Double(parameters) / 1e6, 0))M parameters, F32, random weights (made in \(Self.format(Date().timeIntervalSince(loadStart), 1)) s)"
        )
        let tokens = (0..<prompt).map { ($0 * 7919) % config.vocabularySize }

        // Prefill as kaito-serve runs it (batches of CausalLM.prefillChunk tokens): its end is the first token.
        var cache = model.makeCache()
        let prefillStart = Date()
        var logits = try model.prefill(tokens, cache: &cache)
        let prefill = Date().timeIntervalSince(prefillStart)
        // The same prompt token by token, for comparison.
        var serial = model.makeCache()
        let serialStart = Date()
        for token in tokens { _ = model.forward(token: token, cache: &serial, sequenceLength: prompt) }
        let serialPrefill = Date().timeIntervalSince(serialStart)

        var sampler = Sampler(.greedy)
        let decodeStart = Date()
        var seen = tokens
        for _ in 0..<decode {
            let next = sampler.next(logits, seen: seen)
            seen.append(next)
            logits = model.forward(token: next, cache: &cache)
        }
        let decodeTime = Date().timeIntervalSince(decodeStart)
        print(
            "threads \(threads): prefill \(prompt) tokens \(Self.format(Double(prompt) / prefill)) tok/s "
                + "(token by token \(Self.format(Double(prompt) / serialPrefill)) tok/s), "
                + "time to first token \(Self.format(prefill * 1000, 0)) ms, "
                + "decode \(decode) tokens \(Self.format(Double(decode) / decodeTime)) tok/s, "
                + "peak RSS \(Self.format(Self.peakMemoryMiB(), 0)) MiB"
        )
    }
}
