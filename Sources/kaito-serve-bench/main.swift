// kaito-serve-bench: prefill and decode speed of the engine on a random-weight model of a realistic shape.
import Foundation
import InferenceEngine

/// Peak resident memory (VmHWM) in MiB.
func peakMemoryMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    let kib = Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "0") ?? 0
    return kib / 1024
}

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let v = Int(arguments[i + 1]) else { return fallback }
    return v
}
let threads = option("--threads", ProcessInfo.processInfo.activeProcessorCount)
let promptLength = option("--prompt", 64)
let decodeSteps = option("--decode", 32)
ThreadCount.set(threads)

// Qwen2-0.5B's shape (hidden 896, 24 layers, 14 heads, 2 KV heads, MLP 4864, vocabulary 151,936, tied embeddings).
let config = try ModelConfig(json: [
    "architectures": ["Qwen2ForCausalLM"], "vocab_size": 151_936, "hidden_size": 896, "intermediate_size": 4864,
    "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
    "rope_theta": 1_000_000.0, "max_position_embeddings": 32768, "tie_word_embeddings": true, "eos_token_id": 151_643,
])
let loadStart = Date()
let model = CausalLM(randomWeights: config, seed: 7)
let parameters = config.vocabularySize * config.hiddenSize
    + config.layerCount * (2 * config.hiddenSize * config.headCount * config.headDimension
        + 2 * config.hiddenSize * config.keyValueHeadCount * config.headDimension + 3 * config.hiddenSize * config.intermediateSize)
print("model: Qwen2 shape, \(String(format: "%.0f", Double(parameters) / 1e6))M parameters, F32, random weights (made in \(String(format: "%.1f", Date().timeIntervalSince(loadStart))) s)")
let prompt = (0..<promptLength).map { ($0 * 7919) % config.vocabularySize }
var cache = model.makeCache()
let prefillStart = Date()
var logits = model.forward(token: prompt[0], cache: &cache)
let firstToken = Date().timeIntervalSince(prefillStart)
for token in prompt.dropFirst() { logits = model.forward(token: token, cache: &cache, sequenceLength: promptLength) }
let prefill = Date().timeIntervalSince(prefillStart)
var sampler = Sampler(.greedy)
let decodeStart = Date()
var seen = prompt
for _ in 0..<decodeSteps {
    let next = sampler.next(logits, seen: seen)
    seen.append(next)
    logits = model.forward(token: next, cache: &cache)
}
let decode = Date().timeIntervalSince(decodeStart)
print(
    "threads \(threads): prefill \(promptLength) tokens \(String(format: "%.2f", Double(promptLength) / prefill)) tok/s, "
        + "time to first token \(String(format: "%.0f", (prefill + decode / Double(decodeSteps)) * 1000)) ms "
        + "(first position \(String(format: "%.0f", firstToken * 1000)) ms), "
        + "decode \(decodeSteps) tokens \(String(format: "%.2f", Double(decodeSteps) / decode)) tok/s, "
        + "peak RSS \(String(format: "%.0f", peakMemoryMiB())) MiB"
)
