import CKernels
import Foundation
import Testing

@testable import InferenceEngine

/// The engine core of issue 10: quantization at load, the F16 KV cache, the worker pool, the per-token kernels of
/// `kt_ops.h`, the copy-on-write cache and the tensor-source abstraction GGUF builds on.
struct EngineCoreTests {
    static let fixtures = ReferenceModelTests.fixtures
    static let prompt = [1] + (0..<40).map { ($0 * 37 + 11) % 256 }

    static func maxError(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    static func logits(_ model: CausalLM, _ prompt: [Int] = prompt) throws -> [Float] {
        var cache = model.makeCache()
        return try model.prefill(prompt, cache: &cache)
    }

    /// Quantized at load, the fixture models stay within a stated distance of F32 compute, and the stored bytes are
    /// exactly `kt_quantize_row` of the file's rows.
    ///
    /// Tolerance, max-abs logit error on logits of magnitude ≤ 2: 0.1 for Q8_0 and 0.8 for Q4_0 (measured 0.038 /
    /// 0.060 / 0.057 and 0.40 / 0.54 / 0.37 on llama / qwen2 / phi3; weights and activations are both quantized,
    /// as llama.cpp does, and these 64-wide random models average little of the rounding away); the greedy next
    /// token agrees at Q8_0. Under Q4_0 the head keeps Q8_0.
    @Test(arguments: ["llama", "qwen2", "phi3"])
    func quantizedAtLoadStaysCloseToF32(_ name: String) throws {
        let folder = Self.fixtures.appendingPathComponent(name).path
        let reference = try Self.logits(CausalLM(folder: folder))
        for (quantization, tolerance) in [(LoadOptions.Quantization.q8_0, Float(0.1)), (.q4_0, 0.8)] {
            let model = try CausalLM(folder: folder, options: LoadOptions(quantization: quantization))
            let logits = try Self.logits(model)
            let error = Self.maxError(logits, reference)
            #expect(error <= tolerance, "\(name) \(quantization): max-abs \(error)")
            #expect(error > 0, "\(name) \(quantization): the weights did change format")
            if quantization == .q8_0 {
                #expect(
                    logits.indices.max { logits[$0] < logits[$1] }
                        == reference.indices.max { reference[$0] < reference[$1] }
                )
            }
            if ProcessInfo.processInfo.environment["ENGINE_REPORT"] != nil {
                print("\(name) \(quantization): max-abs \(error), logits max-abs \(reference.map(abs).max() ?? 0)")
            }
            // The bytes of the first layer's first product against the reference quantizer, row by row.
            let linear = try #require(model.layers[0].fusedQKV ?? model.layers[0].query)
            let type: TensorType = quantization == .q8_0 ? .q8_0 : .q4_0
            // Product weights are kept interleaved by 8 rows (InterleavedKernelTests); ggml's blocks come back.
            #expect(linear.weight.type == type.interleaved)
            let file = try SafeTensorsFolder(folder: folder)
            let source = try #require(
                try file.tensor(
                    model.layers[0].fusedQKV == nil
                        ? "model.layers.0.self_attn.q_proj.weight" : "model.layers.0.self_attn.qkv_proj.weight"
                )
            )
            let floats = source.floats()
            let rowBytes = type.rowBytes(source.columns)
            var expected = [UInt8](repeating: 0, count: rowBytes * source.rows)
            floats.withUnsafeBufferPointer { f in
                expected.withUnsafeMutableBytes { out in
                    for r in 0..<source.rows {
                        _ = kt_quantize_row(
                            type.kernel,
                            f.baseAddress! + r * source.columns,
                            out.baseAddress! + r * rowBytes,
                            Int64(source.columns)
                        )
                    }
                }
            }
            var stored = [UInt8](repeating: 0, count: expected.count)
            kt_deinterleave_rows(
                linear.weight.type.kernel,
                linear.weight.bytes,
                &stored,
                0,
                Int64(source.rows / 8),
                Int64(source.columns)
            )
            #expect(stored == expected, "\(name) \(quantization): stored blocks equal kt_quantize_row's")
            // The head keeps 8 bits.
            #expect(model.head.weight.type.rowType == .q8_0)
        }
    }

    /// An F16 KV cache rounds keys and values once: logits within 5e-3 of the F32 cache; batching still changes
    /// nothing.
    @Test func halfPrecisionCacheStaysClose() throws {
        let folder = Self.fixtures.appendingPathComponent("llama").path
        let exact = try Self.logits(CausalLM(folder: folder))
        let model = try CausalLM(folder: folder, options: LoadOptions(kvCacheType: .f16))
        let half = try Self.logits(model)
        let error = Self.maxError(exact, half)
        #expect(error <= 5e-3 && error > 0, "max-abs \(error)")
        var single = model.makeCache()
        var last: [Float] = []
        for token in Self.prompt {
            last = model.forward(token: token, cache: &single, sequenceLength: Self.prompt.count)
        }
        #expect(last == half)
    }

    /// The worker pool splits rows, heads and tokens; the thread count changes no bit of the result.
    @Test(arguments: ["mistral", "phi3"])
    func threadCountChangesNoBit(_ name: String) throws {
        let folder = Self.fixtures.appendingPathComponent(name).path
        var results: [[Float]] = []
        for threads in [1, 2, 3, 5] {
            let model = try CausalLM(folder: folder, options: LoadOptions(threads: threads, quantization: .q8_0))
            #expect(model.pool.count == threads)
            var cache = model.makeCache()
            _ = try model.prefill(Self.prompt, cache: &cache)
            results.append(model.forward(token: 7, cache: &cache))
        }
        for result in results.dropFirst() { #expect(result == results[0]) }
    }

    /// Ended sequences' KV blocks are kept mapped for later ones (`SequenceState`'s recycling, issue 11: TTFT under
    /// load); a new sequence in such a block computes exactly what it computes in fresh memory, whatever the block
    /// held before.
    @Test func recycledCacheMemoryChangesNoResult() throws {
        let model = try CausalLM(folder: Self.fixtures.appendingPathComponent("llama").path)
        func short() throws -> [Float] {
            var cache = model.makeCache()
            _ = try model.prefill(Array(Self.prompt.prefix(3)), cache: &cache)
            return model.forward(token: 5, cache: &cache)
        }
        let first = try short()
        for _ in 0..<3 {
            // A long sequence ends: its block, full of other keys and values, is kept and handed to the next one.
            var long = model.makeCache()
            _ = try model.prefill(Self.prompt + Self.prompt, cache: &long)
            _ = model.forward(token: 9, cache: &long)
            withExtendedLifetime(long) {}
        }
        #expect(try short() == first)
    }

    /// A copied cache is a value: continuing one copy leaves the other as it was.
    @Test func cacheCopiesAreValues() throws {
        let model = try CausalLM(folder: Self.fixtures.appendingPathComponent("qwen2").path)
        var cache = model.makeCache()
        _ = try model.prefill(Array(Self.prompt.prefix(10)), cache: &cache)
        var copy = cache
        let fromCopy = model.forward(token: 3, cache: &copy)
        _ = model.forward(token: 200, cache: &cache)
        #expect(copy.count == 11 && cache.count == 11)
        var fresh = model.makeCache()
        _ = try model.prefill(Array(Self.prompt.prefix(10)), cache: &fresh)
        #expect(model.forward(token: 3, cache: &fresh) == fromCopy)
    }

    /// A tensor source other than a safetensors folder builds the same model; one that stores query and key rows
    /// as llama.cpp's converter permutes them (`.interleaved`) computes the same logits.
    @Test func tensorSourcesAndInterleavedRotaryLayout() throws {
        let folder = Self.fixtures.appendingPathComponent("llama").path
        let config = try CausalLM(folder: folder).config
        let files = try SafeTensorsFolder(folder: folder)
        let reference = try Self.logits(CausalLM(folder: folder))
        let same = try CausalLM(config: config, source: files)
        #expect(try Self.logits(same) == reference)
        let permuted = PermutedSource(files: files, config: config)
        let interleaved = try Self.logits(CausalLM(config: config, source: permuted))
        let error = Self.maxError(interleaved, reference)
        #expect(error <= 1e-5, "max-abs \(error)")
    }

    /// Query and key rows permuted as `convert_hf_to_gguf.py` does for Llama (`LlamaModel.permute`): within each
    /// head, row `2i` is Hugging Face's row `i` and row `2i + 1` is row `i + head_dim / 2`.
    struct PermutedSource: TensorSource {
        let files: SafeTensorsFolder
        let config: ModelConfig
        var tensorNames: [String] { files.tensorNames }
        var rotaryLayout: RotaryLayout { .interleaved }

        func tensor(_ name: String) throws(EngineError) -> TensorView? {
            guard let view = try files.tensor(name) else { return nil }
            let heads =
                name.hasSuffix("q_proj.weight")
                ? config.headCount : name.hasSuffix("k_proj.weight") ? config.keyValueHeadCount : 0
            guard heads > 0 else { return view }
            let values = view.floats()
            let hd = config.headDimension
            let columns = view.columns
            var permuted = values
            for h in 0..<heads {
                for i in 0..<(hd / 2) {
                    for (to, from) in [(2 * i, i), (2 * i + 1, i + hd / 2)] {
                        let target = (h * hd + to) * columns
                        let origin = (h * hd + from) * columns
                        permuted.replaceSubrange(target..<(target + columns), with: values[origin..<(origin + columns)])
                    }
                }
            }
            let owner = OwnedBytes(count: permuted.count * 4)
            permuted.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { owner.bytes.copyMemory(from: base, byteCount: bytes.count) }
            }
            return TensorView(unchecked: .f32, shape: view.shape, bytes: UnsafeRawPointer(owner.bytes), owner: owner)
        }
    }
}

/// The per-token kernels of `kt_ops.h`: the dispatched (AVX2 where the CPU has it) paths against the scalar ones and
/// against plain Swift.
struct OpsKernelTests {
    static func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in (Float(rng.next() >> 40) / Float(1 << 24) - 0.5) * 2 * scale }
    }

    /// Attention against a plain two-pass softmax in Double: several head sizes (with and without the vector
    /// path), grouped queries, F32 and F16 keys and values, lengths across block boundaries.
    @Test(arguments: [16, 64, 72, 128, 20])
    func attentionMatchesTwoPassSoftmax(_ hd: Int) {
        for n in [1, 3, 63, 64, 65, 200] {
            let nq = 3
            let q = Self.random(nq * hd, seed: UInt64(hd * 1000 + n))
            let k = Self.random(n * hd, seed: UInt64(hd * 1000 + n + 1), scale: 2)
            let v = Self.random(n * hd, seed: UInt64(hd * 1000 + n + 2))
            let scale = 1 / Float(hd).squareRoot()
            for kvType: Int32 in [0, 1] {
                let kf: [Float] = kvType == 1 ? k.map { Float(Float16($0)) } : k
                let vf: [Float] = kvType == 1 ? v.map { Float(Float16($0)) } : v
                let kh = k.map { Float16($0).bitPattern }
                let vh = v.map { Float16($0).bitPattern }
                var fast = [Float](repeating: 0, count: nq * hd)
                var reference = [Float](repeating: 0, count: nq * hd)
                func call(
                    _ f: (UnsafeRawPointer, UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void,
                    _ out: inout [Float]
                ) {
                    out.withUnsafeMutableBufferPointer { o in
                        if kvType == 1 {
                            kh.withUnsafeBytes { kp in
                                vh.withUnsafeBytes { vp in f(kp.baseAddress!, vp.baseAddress!, o.baseAddress!) }
                            }
                        } else {
                            k.withUnsafeBytes { kp in
                                v.withUnsafeBytes { vp in f(kp.baseAddress!, vp.baseAddress!, o.baseAddress!) }
                            }
                        }
                    }
                }
                call(
                    {
                        kt_attention(q, Int64(nq), Int64(hd), $0, $1, kvType, Int64(hd), Int64(n), scale, $2, Int64(hd))
                    },
                    &fast
                )
                call(
                    {
                        kt_attention_ref(
                            q,
                            Int64(nq),
                            Int64(hd),
                            $0,
                            $1,
                            kvType,
                            Int64(hd),
                            Int64(n),
                            scale,
                            $2,
                            Int64(hd)
                        )
                    },
                    &reference
                )
                for i in 0..<nq {
                    let scores = (0..<n).map { j in
                        (0..<hd).reduce(0.0) { $0 + Double(q[i * hd + $1]) * Double(kf[j * hd + $1]) } * Double(scale)
                    }
                    let top = scores.max() ?? 0
                    let weights = scores.map { exp($0 - top) }
                    let total = weights.reduce(0, +)
                    for d in 0..<hd {
                        let exact = (0..<n).reduce(0.0) { $0 + weights[$1] * Double(vf[$1 * hd + d]) } / total
                        #expect(abs(Double(fast[i * hd + d]) - exact) < 1e-5, "hd \(hd) n \(n) kv \(kvType)")
                        #expect(abs(Double(reference[i * hd + d]) - exact) < 1e-5, "scalar: hd \(hd) n \(n)")
                    }
                }
                // One query at a time gives the same bits as the group.
                var single = [Float](repeating: 0, count: hd)
                let second = Array(q[hd..<(2 * hd)])
                call(
                    { kt_attention(second, 1, Int64(hd), $0, $1, kvType, Int64(hd), Int64(n), scale, $2, Int64(hd)) },
                    &single
                )
                #expect(single == Array(fast[hd..<(2 * hd)]))
            }
        }
    }

    @Test func normSiLUAndExpMatchPlainSwift() {
        let x = Self.random(1000, seed: 1, scale: 3)
        let w = Self.random(1000, seed: 2)
        let eps: Float = 1e-6
        var fast = [Float](repeating: 0, count: 1000)
        var scalar = fast
        kt_rms_norm(x, w, &fast, 1000, eps)
        kt_rms_norm_ref(x, w, &scalar, 1000, eps)
        let rms = 1 / ((x.reduce(0.0) { $0 + Double($1) * Double($1) } / 1000) + Double(eps)).squareRoot()
        for i in 0..<1000 {
            let exact = Double(w[i]) * Double(x[i]) * rms
            #expect(abs(Double(fast[i]) - exact) < 1e-5 && abs(Double(scalar[i]) - exact) < 1e-5)
        }
        let g = Self.random(1000, seed: 3, scale: 12)
        kt_silu_mul(g, w, &fast, 1000)
        kt_silu_mul_ref(g, w, &scalar, 1000)
        for i in 0..<1000 {
            let exact = Double(g[i]) / (1 + exp(-Double(g[i]))) * Double(w[i])
            #expect(abs(Double(fast[i]) - exact) < 1e-5 * max(1, abs(exact)))
            #expect(abs(Double(scalar[i]) - exact) < 1e-5 * max(1, abs(exact)))
        }
        for value in stride(from: Float(-87), through: 88, by: 0.37) {
            let exact = exp(Double(value))
            #expect(abs(Double(kt_exp(value)) - exact) <= 3e-7 * exact, "exp(\(value))")
        }
    }

    /// F32 → F16 rounds as Swift's `Float16(_:)` (nearest even), normals, subnormals, overflow and NaN alike, on
    /// both the vector path (runs of 8) and the scalar tail; F16 → F32 is exact.
    @Test func halfConversionsMatchSwift() {
        var rng = SplitMix64(seed: 9)
        var values: [Float] = [0, -0, 65504, 65519.99, 65520, 1e-8, 5.96e-8, 2.98e-8, 6.1e-5, .infinity, -.infinity]
        values += (0..<4000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }
        values += (0..<4000).map { _ in Float(bitPattern: 0x3300_0000 + UInt32(rng.next() % 0x0E00_0000)) }
        values = values.filter { !$0.isNaN }
        for length in [values.count, 7] {
            let slice = Array(values.prefix(length))
            var halves = [UInt16](repeating: 0, count: slice.count)
            kt_store_f16(slice, &halves, Int64(slice.count))
            #expect(halves == slice.map { Float16($0).bitPattern })
            var back = [Float](repeating: 0, count: slice.count)
            kt_load_f16(halves, &back, Int64(slice.count))
            #expect(back.map(\.bitPattern) == slice.map { Float(Float16($0)).bitPattern })
        }
        var nan: UInt16 = 0
        kt_store_f16([Float.nan], &nan, 1)
        #expect(Float16(bitPattern: nan).isNaN)
    }

    /// The interleaved rotary layout is the halves layout on permuted dimensions.
    @Test func rotaryLayoutsAgreeUpToPermutation() {
        let hd = 16
        let x = Self.random(2 * hd, seed: 4)
        let cosines = (0..<(hd / 2)).map { cos(Float($0) * 0.3) }
        let sines = (0..<(hd / 2)).map { sin(Float($0) * 0.3) }
        var halves = x
        kt_rope(&halves, 2, Int64(hd), cosines, sines, 0)
        var permuted = x
        for h in 0..<2 {
            for i in 0..<(hd / 2) {
                permuted[h * hd + 2 * i] = x[h * hd + i]
                permuted[h * hd + 2 * i + 1] = x[h * hd + i + hd / 2]
            }
        }
        kt_rope(&permuted, 2, Int64(hd), cosines, sines, 1)
        for h in 0..<2 {
            for i in 0..<(hd / 2) {
                #expect(permuted[h * hd + 2 * i] == halves[h * hd + i])
                #expect(permuted[h * hd + 2 * i + 1] == halves[h * hd + i + hd / 2])
            }
        }
    }
}
