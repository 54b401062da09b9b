internal import Dispatch
internal import Foundation

/// A dense linear layer `y = W x (+ b) + Σ scale · B (A x)`, `W` row-major `[outputs × inputs]`, with the LoRA deltas
/// of ``LoRAAdapter`` as side branches (never merged into `W`).
public struct Linear: Sendable {
    /// One adapter's branch on this layer.
    struct Delta: Sendable {
        var pair: LoRAAdapter.Pair
        var scale: Float
    }

    /// The weights, row-major.
    public var weight: [Float]
    /// The bias, if any.
    public var bias: [Float]?
    /// Output size.
    public var outputs: Int
    /// Input size.
    public var inputs: Int
    /// The adapter branches.
    var deltas: [Delta] = []

    /// Applies the layer: a SIMD dot product per output row, rows split across threads for large layers.
    ///
    /// - Complexity: O(outputs × inputs).
    public func callAsFunction(_ x: [Float]) -> [Float] {
        var y = product(x, count: 1)
        if let bias { for i in 0..<outputs { y[i] += bias[i] } }
        for delta in deltas {
            let d = delta.pair.delta(x)
            for i in 0..<outputs { y[i] += delta.scale * d[i] }
        }
        return y
    }

    /// Applies the layer to several inputs, reading each weight row once for all of them; each output equals
    /// `self(input)` exactly.
    ///
    /// - Complexity: O(outputs × inputs × batch), with the weights streamed from memory once.
    public func callAsFunction(batch: [[Float]]) -> [[Float]] {
        guard batch.count > 1 else { return batch.map { self($0) } }
        let count = batch.count
        var flat = [Float](repeating: 0, count: count * inputs)
        for (t, x) in batch.enumerated() { flat.replaceSubrange((t * inputs)..<((t + 1) * inputs), with: x) }
        let y = product(flat, count: count)
        var result = (0..<count).map { t in Array(y[(t * outputs)..<((t + 1) * outputs)]) }
        if let bias { for t in 0..<count { for i in 0..<outputs { result[t][i] += bias[i] } } }
        for delta in deltas {
            for t in 0..<count {
                let d = delta.pair.delta(batch[t])
                for i in 0..<outputs { result[t][i] += delta.scale * d[i] }
            }
        }
        return result
    }

    /// `W x` for `count` inputs laid out one after another, output-major; rows split across threads for large
    /// products.
    private func product(_ flat: [Float], count: Int) -> [Float] {
        var y = [Float](repeating: 0, count: count * outputs)
        let inputs = inputs
        let outputs = outputs
        weight.withUnsafeBufferPointer { w in
            flat.withUnsafeBufferPointer { xs in
                y.withUnsafeMutableBufferPointer { out in
                    let job = MatMul(
                        weight: RawFloats(w.baseAddress),
                        input: RawFloats(xs.baseAddress),
                        output: RawMutableFloats(out.baseAddress),
                        inputs: inputs,
                        outputs: outputs,
                        batch: count
                    )
                    let threads = outputs * inputs * count >= 1 << 18 ? ThreadCount.current : 1
                    if threads <= 1 {
                        job.rows(0..<outputs)
                    } else {
                        let chunk = (outputs + threads - 1) / threads
                        DispatchQueue.concurrentPerform(iterations: threads) { t in
                            job.rows((t * chunk)..<min(outputs, (t + 1) * chunk))
                        }
                    }
                }
            }
        }
        return y
    }
}

/// The number of threads matrix products use (`--threads`; default: the machine's cores).
public enum ThreadCount {
    nonisolated(unsafe) private static var value = ProcessInfo.processInfo.activeProcessorCount
    /// The current count.
    public static var current: Int { value }
    /// Sets the count; call once at start-up, before any model runs.
    public static func set(_ count: Int) { value = max(1, count) }
}

/// A read-only pointer handed to worker threads.
// Justification for @unchecked Sendable: workers only read through it while the owning buffer outlives the
// concurrentPerform call that uses it.
struct RawFloats: @unchecked Sendable {
    let pointer: UnsafePointer<Float>?
    init(_ pointer: UnsafePointer<Float>?) { self.pointer = pointer }
}

/// An output pointer handed to worker threads.
// Justification for @unchecked Sendable: each worker writes a disjoint range of rows, and the buffer outlives the
// concurrentPerform call.
struct RawMutableFloats: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>?
    init(_ pointer: UnsafeMutablePointer<Float>?) { self.pointer = pointer }
}

/// A matrix product over a range of weight rows: each row, loaded once, against every input of the batch.
///
/// Every output sums in the same order (eight SIMD lanes, then the tail) whatever the batch, so batching changes no
/// bit.
struct MatMul: Sendable {
    let weight: RawFloats
    let input: RawFloats
    let output: RawMutableFloats
    let inputs: Int
    let outputs: Int
    let batch: Int

    func rows(_ range: Range<Int>) {
        guard let w = weight.pointer, let x = input.pointer, let y = output.pointer else { return }
        let vectorEnd = inputs - inputs % 8
        for row in range {
            let base = w + row * inputs
            var t = 0
            // Four inputs at a time share each load of the weight row (registers, not cache, hold the reuse).
            while t + 4 <= batch {
                let x0 = x + t * inputs, x1 = x0 + inputs, x2 = x1 + inputs, x3 = x2 + inputs
                var acc0 = SIMD8<Float>(repeating: 0), acc1 = acc0, acc2 = acc0, acc3 = acc0
                var k = 0
                while k < vectorEnd {
                    let a = UnsafeRawPointer(base + k).loadUnaligned(as: SIMD8<Float>.self)
                    acc0 += a * UnsafeRawPointer(x0 + k).loadUnaligned(as: SIMD8<Float>.self)
                    acc1 += a * UnsafeRawPointer(x1 + k).loadUnaligned(as: SIMD8<Float>.self)
                    acc2 += a * UnsafeRawPointer(x2 + k).loadUnaligned(as: SIMD8<Float>.self)
                    acc3 += a * UnsafeRawPointer(x3 + k).loadUnaligned(as: SIMD8<Float>.self)
                    k += 8
                }
                var sums = (acc0.sum(), acc1.sum(), acc2.sum(), acc3.sum())
                while k < inputs {
                    sums.0 += base[k] * x0[k]
                    sums.1 += base[k] * x1[k]
                    sums.2 += base[k] * x2[k]
                    sums.3 += base[k] * x3[k]
                    k += 1
                }
                y[t * outputs + row] = sums.0
                y[(t + 1) * outputs + row] = sums.1
                y[(t + 2) * outputs + row] = sums.2
                y[(t + 3) * outputs + row] = sums.3
                t += 4
            }
            while t < batch {
                let xt = x + t * inputs
                var acc = SIMD8<Float>(repeating: 0)
                var k = 0
                while k < vectorEnd {
                    let a = UnsafeRawPointer(base + k).loadUnaligned(as: SIMD8<Float>.self)
                    let b = UnsafeRawPointer(xt + k).loadUnaligned(as: SIMD8<Float>.self)
                    acc += a * b
                    k += 8
                }
                var sum = acc.sum()
                while k < inputs {
                    sum += base[k] * xt[k]
                    k += 1
                }
                y[t * outputs + row] = sum
                t += 1
            }
        }
    }
}

/// One decoder layer's weights.
struct DecoderLayer: Sendable {
    var inputNorm: [Float]
    var postAttentionNorm: [Float]
    /// Q, K and V, separate (Llama, Mistral, Qwen2) or fused (Phi-3 `qkv_proj`).
    var query: Linear?
    var key: Linear?
    var value: Linear?
    var fusedQKV: Linear?
    var output: Linear
    var gate: Linear?
    var up: Linear?
    var fusedGateUp: Linear?
    var down: Linear
}

/// The keys and values of every layer for the positions seen so far.
public struct KVCache: Sendable {
    var keys: [[Float]]
    var values: [[Float]]
    /// Positions cached.
    public private(set) var count = 0

    init(layers: Int) {
        keys = Array(repeating: [], count: layers)
        values = Array(repeating: [], count: layers)
    }

    mutating func advance() { count += 1 }
}

/// A causal language model loaded from a Hugging Face folder, run in F32 on the CPU.
public final class CausalLM: Sendable {
    /// The configuration.
    public let config: ModelConfig
    let embeddings: [Float]
    let layers: [DecoderLayer]
    let finalNorm: [Float]
    let head: Linear
    /// The longest sequence served: the model's `max_position_embeddings`, or less (``limitingContext(to:)``).
    public let contextLength: Int

    init(
        config: ModelConfig,
        embeddings: [Float],
        layers: [DecoderLayer],
        finalNorm: [Float],
        head: Linear,
        contextLength: Int
    ) {
        self.config = config
        self.contextLength = contextLength
        self.embeddings = embeddings
        self.layers = layers
        self.finalNorm = finalNorm
        self.head = head
    }

    /// Loads `config.json` and the safetensors weights (single file or sharded with an index) of a folder.
    ///
    /// - Throws: ``EngineError`` for a missing file, unsupported architecture or dtype, wrong shape, truncated file.
    public init(folder: String) throws(EngineError) {
        let configPath = folder + "/config.json"
        guard let configData = FileManager.default.contents(atPath: configPath) else {
            throw EngineError(.missingFile, "missing \(configPath)")
        }
        guard let json = try? JSONSerialization.jsonObject(with: configData) as? [String: Any] else {
            throw EngineError(.invalidFile, "\(configPath) is not a JSON object")
        }
        let config = try ModelConfig(json: json)
        self.config = config
        contextLength = config.maxPositionEmbeddings
        let weights = try WeightStore(folder: folder)
        func tensor(_ name: String, _ shape: [Int]) throws(EngineError) -> [Float] {
            try weights.tensor(name, shape: shape)
        }
        func linear(_ name: String, _ outputs: Int, _ inputs: Int, bias: Bool = false) throws(EngineError) -> Linear {
            Linear(
                weight: try tensor(name + ".weight", [outputs, inputs]),
                bias: bias ? try tensor(name + ".bias", [outputs]) : nil,
                outputs: outputs,
                inputs: inputs
            )
        }
        let h = config.hiddenSize
        let qSize = config.headCount * config.headDimension
        let kvSize = config.keyValueHeadCount * config.headDimension
        embeddings = try tensor("model.embed_tokens.weight", [config.vocabularySize, h])
        var layers: [DecoderLayer] = []
        for i in 0..<config.layerCount {
            let p = "model.layers.\(i)."
            var layer = DecoderLayer(
                inputNorm: try tensor(p + "input_layernorm.weight", [h]),
                postAttentionNorm: try tensor(p + "post_attention_layernorm.weight", [h]),
                output: try linear(p + "self_attn.o_proj", h, qSize),
                down: try linear(p + "mlp.down_proj", h, config.intermediateSize)
            )
            if config.architecture == .phi3 {
                layer.fusedQKV = try linear(p + "self_attn.qkv_proj", qSize + 2 * kvSize, h)
                layer.fusedGateUp = try linear(p + "mlp.gate_up_proj", 2 * config.intermediateSize, h)
            } else {
                let bias = config.architecture == .qwen2
                layer.query = try linear(p + "self_attn.q_proj", qSize, h, bias: bias)
                layer.key = try linear(p + "self_attn.k_proj", kvSize, h, bias: bias)
                layer.value = try linear(p + "self_attn.v_proj", kvSize, h, bias: bias)
                layer.gate = try linear(p + "mlp.gate_proj", config.intermediateSize, h)
                layer.up = try linear(p + "mlp.up_proj", config.intermediateSize, h)
            }
            layers.append(layer)
        }
        self.layers = layers
        finalNorm = try tensor("model.norm.weight", [h])
        if config.tieWordEmbeddings || !weights.has("lm_head.weight") {
            head = Linear(weight: embeddings, bias: nil, outputs: config.vocabularySize, inputs: h)
        } else {
            head = try linear("lm_head", config.vocabularySize, h)
        }
    }

    /// A model of the given configuration with seeded random weights (for benchmarks: realistic shapes, no download).
    public init(randomWeights config: ModelConfig, seed: UInt64 = 1) {
        self.config = config
        contextLength = config.maxPositionEmbeddings
        var random = SplitMix64(seed: seed)
        func values(_ count: Int, scale: Float = 0.02) -> [Float] {
            (0..<count).map { _ in (Float(random.next() >> 40) / Float(1 << 24) - 0.5) * 2 * scale }
        }
        func linear(_ outputs: Int, _ inputs: Int, bias: Bool = false) -> Linear {
            Linear(
                weight: values(outputs * inputs),
                bias: bias ? values(outputs) : nil,
                outputs: outputs,
                inputs: inputs
            )
        }
        let h = config.hiddenSize
        let qSize = config.headCount * config.headDimension
        let kvSize = config.keyValueHeadCount * config.headDimension
        embeddings = values(config.vocabularySize * h)
        layers = (0..<config.layerCount).map { _ in
            DecoderLayer(
                inputNorm: [Float](repeating: 1, count: h),
                postAttentionNorm: [Float](repeating: 1, count: h),
                query: linear(qSize, h, bias: config.architecture == .qwen2),
                key: linear(kvSize, h, bias: config.architecture == .qwen2),
                value: linear(kvSize, h, bias: config.architecture == .qwen2),
                output: linear(h, qSize),
                gate: linear(config.intermediateSize, h),
                up: linear(config.intermediateSize, h),
                down: linear(h, config.intermediateSize)
            )
        }
        finalNorm = [Float](repeating: 1, count: h)
        head = Linear(weight: embeddings, bias: nil, outputs: config.vocabularySize, inputs: h)
    }

    /// This model serving at most `tokens` positions (`--max-model-len`); never more than the model's own context.
    public func limitingContext(to tokens: Int) -> CausalLM {
        CausalLM(
            config: config,
            embeddings: embeddings,
            layers: layers,
            finalNorm: finalNorm,
            head: head,
            contextLength: max(1, min(tokens, config.maxPositionEmbeddings))
        )
    }

    /// A cache for a new sequence.
    public func makeCache() -> KVCache { KVCache(layers: config.layerCount) }

    /// Runs one token at the next position of `cache` and returns the logits of the next token.
    ///
    /// - Parameters:
    ///   - token: The token id.
    ///   - cache: The sequence so far.
    ///   - sequenceLength: The length that selects Phi-3's long-context factors, as transformers does for a
    ///     whole prompt at once; default the position plus one.
    /// - Returns: The logits of the next token.
    public func forward(token: Int, cache: inout KVCache, sequenceLength: Int? = nil) -> [Float] {
        forward(tokens: [token], cache: &cache, sequenceLength: sequenceLength)
    }

    /// Runs consecutive tokens at the next positions of `cache` as one batch and returns the logits after the last.
    ///
    /// Each weight row is read once for the whole batch (``Linear/callAsFunction(batch:)``), which is what makes
    /// prefill faster than token-by-token decoding on a memory-bound CPU; every dot product sums in the same order
    /// as the single-token path, so the results are the same bit for bit. Attention is causal within the batch.
    ///
    /// - Parameters:
    ///   - tokens: The token ids, at least one.
    ///   - cache: The sequence so far; the tokens are appended.
    ///   - sequenceLength: As for ``forward(token:cache:sequenceLength:)``; default the last position plus one.
    /// - Returns: The logits of the token after the last.
    public func forward(tokens: [Int], cache: inout KVCache, sequenceLength: Int? = nil) -> [Float] {
        let c = config
        let start = cache.count
        let count = tokens.count
        let hd = c.headDimension
        let h = c.hiddenSize
        var xs = tokens.map { Array(embeddings[($0 * h)..<(($0 + 1) * h)]) }
        let length = max(sequenceLength ?? 0, start + count)
        let rotations = (0..<count).map { Rotary.angles(config: c, position: start + $0, sequenceLength: length) }
        let groupSize = c.headCount / c.keyValueHeadCount
        let qSize = c.headCount * hd
        let kvSize = c.keyValueHeadCount * hd
        let scale = 1 / Float(hd).squareRoot()
        for (l, layer) in layers.enumerated() {
            let normed = xs.map { Self.rmsNorm($0, layer.inputNorm, c.rmsNormEpsilon) }
            var qs: [[Float]]
            var ks: [[Float]]
            var vs: [[Float]]
            if let fused = layer.fusedQKV {
                let qkv = fused(batch: normed)
                qs = qkv.map { Array($0[0..<qSize]) }
                ks = qkv.map { Array($0[qSize..<(qSize + kvSize)]) }
                vs = qkv.map { Array($0[(qSize + kvSize)...]) }
            } else {
                qs = layer.query.map { $0(batch: normed) } ?? []
                ks = layer.key.map { $0(batch: normed) } ?? []
                vs = layer.value.map { $0(batch: normed) } ?? []
            }
            for t in 0..<count {
                Rotary.apply(
                    &qs[t],
                    heads: c.headCount,
                    headDimension: hd,
                    cosines: rotations[t].0,
                    sines: rotations[t].1
                )
                Rotary.apply(
                    &ks[t],
                    heads: c.keyValueHeadCount,
                    headDimension: hd,
                    cosines: rotations[t].0,
                    sines: rotations[t].1
                )
                cache.keys[l] += ks[t]
                cache.values[l] += vs[t]
            }
            var attended: [[Float]] = []
            attended.reserveCapacity(count)
            cache.keys[l].withUnsafeBufferPointer { keys in
                cache.values[l].withUnsafeBufferPointer { values in
                    for t in 0..<count {
                        let positions = start + t + 1
                        let first = c.slidingWindow.map { max(0, positions - $0) } ?? 0
                        var attention = [Float](repeating: 0, count: qSize)
                        var scores = [Float](repeating: 0, count: positions - first)
                        for head in 0..<c.headCount {
                            let kvHead = head / groupSize
                            var maximum = -Float.infinity
                            for j in first..<positions {
                                var dot: Float = 0
                                let base = j * kvSize + kvHead * hd
                                for d in 0..<hd { dot += qs[t][head * hd + d] * keys[base + d] }
                                let s = dot * scale
                                scores[j - first] = s
                                maximum = max(maximum, s)
                            }
                            var total: Float = 0
                            for i in scores.indices {
                                scores[i] = exp(scores[i] - maximum)
                                total += scores[i]
                            }
                            for j in first..<positions {
                                let weight = scores[j - first] / total
                                let base = j * kvSize + kvHead * hd
                                for d in 0..<hd { attention[head * hd + d] += weight * values[base + d] }
                            }
                        }
                        attended.append(attention)
                    }
                }
            }
            let projected = layer.output(batch: attended)
            for t in 0..<count { for i in 0..<h { xs[t][i] += projected[t][i] } }
            let normed2 = xs.map { Self.rmsNorm($0, layer.postAttentionNorm, c.rmsNormEpsilon) }
            var gates: [[Float]]
            var ups: [[Float]]
            if let fused = layer.fusedGateUp {
                let gu = fused(batch: normed2)
                gates = gu.map { Array($0[0..<c.intermediateSize]) }
                ups = gu.map { Array($0[c.intermediateSize...]) }
            } else {
                gates = layer.gate.map { $0(batch: normed2) } ?? []
                ups = layer.up.map { $0(batch: normed2) } ?? []
            }
            for t in 0..<count {
                for i in gates[t].indices { gates[t][i] = gates[t][i] / (1 + exp(-gates[t][i])) * ups[t][i] }
            }
            let mlp = layer.down(batch: gates)
            for t in 0..<count { for i in 0..<h { xs[t][i] += mlp[t][i] } }
        }
        for _ in 0..<count { cache.advance() }
        return head(Self.rmsNorm(xs[count - 1], finalNorm, c.rmsNormEpsilon))
    }

    /// The number of prompt tokens run as one batch by ``prefill(_:cache:)``: enough to reuse each weight row many
    /// times, small enough to keep the batch's activations in cache.
    public static let prefillChunk = 32

    /// Runs a prompt, in batches of ``prefillChunk`` tokens, and returns the logits after its last token.
    ///
    /// - Throws: ``EngineError`` (`promptTooLong`) when the prompt does not fit in the context.
    public func prefill(_ tokens: [Int], cache: inout KVCache) throws(EngineError) -> [Float] {
        guard cache.count + tokens.count <= contextLength else {
            throw EngineError(
                .promptTooLong,
                "the prompt has \(tokens.count) tokens; with \(cache.count) cached the context of \(contextLength) is exceeded"
            )
        }
        var logits: [Float] = []
        let length = cache.count + tokens.count
        var index = 0
        while index < tokens.count {
            let chunk = Array(tokens[index..<min(tokens.count, index + Self.prefillChunk)])
            logits = forward(tokens: chunk, cache: &cache, sequenceLength: length)
            index += chunk.count
        }
        return logits
    }

    static func rmsNorm(_ x: [Float], _ weight: [Float], _ epsilon: Float) -> [Float] {
        var sum: Float = 0
        for v in x { sum += v * v }
        let scale = 1 / (sum / Float(x.count) + epsilon).squareRoot()
        var out = [Float](repeating: 0, count: x.count)
        for i in x.indices { out[i] = weight[i] * (x[i] * scale) }
        return out
    }
}

/// Rotary position embeddings (the `rotate_half` convention of transformers).
enum Rotary {
    static func inverseFrequencies(_ c: ModelConfig, sequenceLength: Int) -> ([Float], Float) {
        let half = c.headDimension / 2
        var inv = (0..<half).map { i in 1 / pow(c.ropeTheta, Float(2 * i) / Float(c.headDimension)) }
        var attentionFactor: Float = 1
        switch c.ropeScaling {
        case .none:
            break
        case .linear(let factor):
            inv = inv.map { $0 / factor }
        case .llama3(let factor, let low, let high, let original):
            let lowWavelength = Float(original) / low
            let highWavelength = Float(original) / high
            inv = inv.map { f in
                let wavelength = 2 * Float.pi / f
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return f / factor }
                let smooth = (Float(original) / wavelength - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
        case .longrope(let short, let long, let original, let factor):
            let factors = sequenceLength > original ? long : short
            inv = inv.enumerated().map { i, f in f / factors[i] }
            attentionFactor = factor
        }
        return (inv, attentionFactor)
    }

    static func angles(config: ModelConfig, position: Int, sequenceLength: Int) -> ([Float], [Float]) {
        let (inv, factor) = inverseFrequencies(config, sequenceLength: sequenceLength)
        return (inv.map { cos(Float(position) * $0) * factor }, inv.map { sin(Float(position) * $0) * factor })
    }

    static func apply(_ x: inout [Float], heads: Int, headDimension: Int, cosines: [Float], sines: [Float]) {
        let half = headDimension / 2
        for h in 0..<heads {
            let base = h * headDimension
            for i in 0..<half {
                let a = x[base + i]
                let b = x[base + i + half]
                x[base + i] = a * cosines[i] - b * sines[i]
                x[base + i + half] = b * cosines[i] + a * sines[i]
            }
        }
    }
}

/// The tensors of a model folder, from one safetensors file or shards listed in `model.safetensors.index.json`.
struct WeightStore {
    var files: [SafeTensorsFile] = []
    var owner: [String: Int] = [:]

    init(folder: String) throws(EngineError) {
        let index = folder + "/model.safetensors.index.json"
        var names: [String] = []
        if let data = FileManager.default.contents(atPath: index) {
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let map = json["weight_map"] as? [String: String]
            else { throw EngineError(.invalidFile, "\(index) has no weight_map") }
            names = Array(Set(map.values)).sorted()
        } else {
            names = ["model.safetensors"]
        }
        for name in names {
            let file = try SafeTensorsFile(path: folder + "/" + name)
            for tensor in file.entries.keys { owner[tensor] = files.count }
            files.append(file)
        }
    }

    func has(_ name: String) -> Bool { owner[name] != nil }

    func tensor(_ name: String, shape: [Int]) throws(EngineError) -> [Float] {
        guard let i = owner[name], let entry = files[i].entries[name] else {
            throw EngineError(.shapeMismatch, "tensor \(name) is missing")
        }
        guard entry.shape == shape else {
            throw EngineError(.shapeMismatch, "tensor \(name) has shape \(entry.shape), expected \(shape)")
        }
        return files[i].floats(name) ?? []
    }
}
