import CKernels
import Foundation
import Testing

/// The tensor types and kernels of CKernels (issue 10, item 4).
///
/// Dequantization and quantization must equal their referees bit for bit (gguf-py's `gguf.quants` and, for Q8_K,
/// ggml's C reference; fixtures written by `scripts/make_kernel_fixtures.py`). Dot products are checked against the
/// exact dot of the dequantized rows (in Double), on both the SIMD and the scalar path; the matrix product must give
/// the same bits as `kt_vec_dot` of each row and activation, whatever the batch and row range.
///
/// Serialized, to keep timings out of each other's way; `kt_force_scalar` acts on the calling thread only, and each
/// test body runs synchronously on one thread.
@Suite(.serialized)
struct KernelTests {
    /// The types under test, by ggml's name.
    enum Kind: String, CaseIterable, Sendable {
        case f32 = "F32"
        case f16 = "F16"
        case bf16 = "BF16"
        case q40 = "Q4_0"
        case q80 = "Q8_0"
        case q4K = "Q4_K"
        case q6K = "Q6_K"
        case q8K = "Q8_K"

        var type: kt_type {
            switch self {
            case .f32: KT_F32
            case .f16: KT_F16
            case .bf16: KT_BF16
            case .q40: KT_Q4_0
            case .q80: KT_Q8_0
            case .q4K: KT_Q4_K
            case .q6K: KT_Q6_K
            case .q8K: KT_Q8_K
            }
        }

        /// Weight types, those with a dot product.
        static let weights: [Kind] = [.f32, .f16, .bf16, .q40, .q80, .q4K, .q6K]
    }

    /// Where the fixtures lie: next to this file, as the other InferenceEngine tests find theirs.
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/kernels")

    /// The paths to run each kernel test on: SIMD (when the CPU has AVX2) and the portable scalar path.
    static let paths: [Bool] = [false, true]

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    static func floats(_ name: String) throws -> [Float] {
        let raw = try bytes(name)
        return (0..<raw.count / 4).map { i in
            Float(
                bitPattern: UInt32(raw[4 * i]) | UInt32(raw[4 * i + 1]) << 8 | UInt32(raw[4 * i + 2]) << 16
                    | UInt32(raw[4 * i + 3]) << 24
            )
        }
    }

    /// Runs `body` with the scalar path forced or not, restoring the default afterwards.
    static func on<T>(scalar: Bool, _ body: () throws -> T) rethrows -> T {
        kt_force_scalar(scalar ? 1 : 0)
        defer { kt_force_scalar(0) }
        return try body()
    }

    @Test func typeTableFollowsGGML() {
        let expected: [(Kind, Int, Int, String)] = [
            (.f32, 1, 4, "f32"), (.f16, 1, 2, "f16"), (.bf16, 1, 2, "bf16"), (.q40, 32, 18, "q4_0"),
            (.q80, 32, 34, "q8_0"), (.q4K, 256, 144, "q4_K"), (.q6K, 256, 210, "q6_K"), (.q8K, 256, 292, "q8_K"),
        ]
        for (kind, elements, bytes, name) in expected {
            #expect(kt_block_elements(kind.type) == elements)
            #expect(kt_block_bytes(kind.type) == bytes)
            #expect(kt_row_bytes(kind.type, Int64(elements * 4)) == bytes * 4)
            #expect(String(cString: kt_type_name(Int32(kind.type.rawValue))) == name)
            #expect(kt_type_supported(Int32(kind.type.rawValue)) == 1)
        }
        for unsupported: Int32 in [3, 6, 7, 10, 11, 13, 16, 29, 31, -1, 1000] {
            #expect(kt_type_supported(unsupported) == 0)
            #expect(String(cString: kt_type_name(unsupported)) == "unknown")
        }
        #expect(kt_activation_type(KT_F16) == KT_F32)
        #expect(kt_activation_type(KT_BF16) == KT_F32)
        #expect(kt_activation_type(KT_F32) == KT_F32)
        #expect(kt_activation_type(KT_Q4_0) == KT_Q8_0)
        #expect(kt_activation_type(KT_Q8_0) == KT_Q8_0)
        #expect(kt_activation_type(KT_Q4_K) == KT_Q8_K)
        #expect(kt_activation_type(KT_Q6_K) == KT_Q8_K)
    }

    @Test(arguments: [Kind.f16, .bf16, .q40, .q80, .q4K, .q6K, .q8K], paths)
    func dequantizationMatchesReference(_ kind: Kind, scalar: Bool) throws {
        let blocks = try Self.bytes("\(kind.rawValue).blocks")
        let expected = try Self.floats("\(kind.rawValue).dequant")
        var out = [Float](repeating: .nan, count: expected.count)
        Self.on(scalar: scalar) {
            kt_dequantize_row(kind.type, blocks, &out, Int64(expected.count))
        }
        let mismatches = expected.indices.filter { out[$0].bitPattern != expected[$0].bitPattern }
        #expect(
            mismatches.isEmpty,
            "\(kind.rawValue): \(mismatches.count) of \(expected.count) differ, first \(mismatches.prefix(3))"
        )
    }

    @Test(arguments: [Kind.f16, .bf16, .q40, .q80, .q8K], paths)
    func quantizationMatchesReference(_ kind: Kind, scalar: Bool) throws {
        let input = try Self.floats("\(kind.rawValue).input")
        let expected = try Self.bytes("\(kind.rawValue).quant")
        var out = [UInt8](repeating: 0xAA, count: expected.count)
        let rc = Self.on(scalar: scalar) {
            kt_quantize_row(kind.type, input, &out, Int64(input.count))
        }
        #expect(rc == 0)
        let mismatches = out.indices.filter { out[$0] != expected[$0] }
        #expect(
            mismatches.isEmpty,
            "\(kind.rawValue): \(mismatches.count) bytes differ, first at \(mismatches.prefix(3))"
        )
    }

    /// The SIMD activation quantizers against the scalar reference ones on many random rows: ties (k + 0.5 after
    /// scaling), signed zeros, equal magnitudes of both signs, a wide range of scales.
    @Test(arguments: [Kind.q80, .q8K, .f16, .bf16, .q40])
    func quantizationPathsAgree(_ kind: Kind) {
        var generator = Generator(state: 4242)
        let n = 256 * 64
        var values = (0..<n).map { i -> Float in
            let scale = Float(1 << (i / 256 % 24)) / 4096
            return generator.float() * scale
        }
        for i in stride(from: 0, to: 2048, by: 1) {  // ties: block maximum 127, then k + 0.5 and -(k + 0.5)
            values[i] = i % 32 == 0 ? 127 : Float(i % 61 - 30) + (i % 2 == 0 ? 0.5 : -0.5)
        }
        for i in 2048..<2304 { values[i] = i % 2 == 0 ? -3 : 3 }  // equal magnitudes: the first one's sign wins
        values[2304] = -0.0
        let bytes = kt_row_bytes(kind.type, Int64(n))
        var simd = [UInt8](repeating: 0, count: bytes)
        var scalar = [UInt8](repeating: 1, count: bytes)
        Self.on(scalar: false) { _ = kt_quantize_row(kind.type, values, &simd, Int64(n)) }
        Self.on(scalar: true) { _ = kt_quantize_row(kind.type, values, &scalar, Int64(n)) }
        let first = simd.indices.first { simd[$0] != scalar[$0] }
        #expect(first == nil, "\(kind.rawValue): first differing byte \(String(describing: first))")
    }

    /// Every F16 value widens exactly (against Swift's `Float(Float16)`), and F32 values across the whole range, the
    /// halfway cases between F16 neighbours and random bit patterns (NaNs too) included, narrow as `Float16(Float)`
    /// does (IEEE round to nearest even, quiet NaNs keeping their top payload bits).
    @Test(arguments: paths)
    func halfConversionsAreExact(scalar: Bool) {
        let halves = (0...UInt16.max).map { $0 }
        var widened = [Float](repeating: 0, count: halves.count)
        Self.on(scalar: scalar) { kt_dequantize_row(KT_F16, halves, &widened, Int64(halves.count)) }
        let wrong = halves.indices.filter { i in
            let expected = Float(Float16(bitPattern: halves[i]))
            return expected.isNaN ? !widened[i].isNaN : widened[i].bitPattern != expected.bitPattern
        }
        #expect(wrong.isEmpty, "F16 -> F32 differs for \(wrong.count) values, first \(wrong.prefix(3))")

        var generator = Generator(state: 16)
        var values: [Float] = halves.compactMap { h -> Float? in
            let f = Float(Float16(bitPattern: h))
            guard f.isFinite, h & 0x7FFF != 0x7BFF else { return nil }
            return Float(bitPattern: f.bitPattern &+ 0x1000)  // halfway (or just past it for subnormals) to the next
        }
        values += (0..<65536).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: generator.next())) }
        values += [65504, 65519.996, 65520, 1e-8, 2.98e-8, 5.97e-8, -0.0, .infinity, -.infinity]
        var narrowed = [UInt16](repeating: 0, count: values.count)
        Self.on(scalar: scalar) { _ = kt_quantize_row(KT_F16, values, &narrowed, Int64(values.count)) }
        let off = values.indices.filter { narrowed[$0] != Float16(values[$0]).bitPattern }
        #expect(off.isEmpty, "F32 -> F16 differs for \(off.count) values, first \(off.prefix(3).map { values[$0] })")
    }

    @Test func quantizersAbsentForWeightOnlyKQuants() {
        let input = [Float](repeating: 1, count: 256)
        var out = [UInt8](repeating: 0, count: 256)
        #expect(kt_quantize_row(KT_Q4_K, input, &out, 256) == -1)
        #expect(kt_quantize_row(KT_Q6_K, input, &out, 256) == -1)
    }

    /// Deterministic generator (SplitMix64) for the kernel inputs.
    struct Generator {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        /// Uniform in [-1, 1).
        mutating func float() -> Float { Float(Int64(bitPattern: next()) >> 40) / Float(1 << 23) }

        mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    }

    /// `rows` weight rows of `n` elements in `kind`: quantized from random floats where the library quantizes the
    /// type, else random blocks with small F16 scales.
    static func makeWeights(_ kind: Kind, rows: Int, n: Int, generator: inout Generator) -> [UInt8] {
        let rowBytes = kt_row_bytes(kind.type, Int64(n))
        var out = [UInt8](repeating: 0, count: rowBytes * rows)
        switch kind {
        case .q4K, .q6K:
            for i in out.indices { out[i] = generator.byte() }
            let blockBytes = kt_block_bytes(kind.type)
            let scaleOffsets = kind == .q4K ? [0, 2] : [208]
            for block in 0..<(out.count / blockBytes) {
                for offset in scaleOffsets {
                    let scale = Float16(Float(generator.next() % 1000 + 1) * 1e-5).bitPattern
                    out[block * blockBytes + offset] = UInt8(scale & 0xFF)
                    out[block * blockBytes + offset + 1] = UInt8(scale >> 8)
                }
            }
        default:
            let values = (0..<(rows * n)).map { _ in generator.float() }
            out.withUnsafeMutableBytes { buffer in
                for r in 0..<rows {
                    let rc = kt_quantize_row(
                        kind.type,
                        Array(values[(r * n)..<((r + 1) * n)]),
                        buffer.baseAddress.map { $0 + r * rowBytes },
                        Int64(n)
                    )
                    precondition(rc == 0, "no quantizer for \(kind)")
                }
            }
        }
        return out
    }

    /// `count` activation rows of `n` random elements, in the activation format of `kind`.
    static func makeActivations(_ kind: Kind, count: Int, n: Int, generator: inout Generator) -> [UInt8] {
        let type = kt_activation_type(kind.type)
        let rowBytes = kt_row_bytes(type, Int64(n))
        var out = [UInt8](repeating: 0, count: rowBytes * count)
        let values = (0..<(count * n)).map { _ in generator.float() * 4 }
        out.withUnsafeMutableBytes { buffer in
            for b in 0..<count {
                _ = kt_quantize_row(
                    type,
                    Array(values[(b * n)..<((b + 1) * n)]),
                    buffer.baseAddress.map { $0 + b * rowBytes },
                    Int64(n)
                )
            }
        }
        return out
    }

    static func dequantize(_ type: kt_type, _ bytes: UnsafeRawPointer, n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n)
        kt_dequantize_row(type, bytes, &out, Int64(n))
        return out
    }

    @Test(arguments: Kind.weights, paths)
    func dotMatchesDequantizedDot(_ kind: Kind, scalar: Bool) {
        var generator = Generator(state: 7 &+ UInt64(kind.type.rawValue))
        let activation = kt_activation_type(kind.type)
        for n in kind.type == KT_Q4_K || kind.type == KT_Q6_K
            ? [256, 1024, 4096] : kt_block_elements(kind.type) == 1 ? [1, 7, 37, 1024, 4099] : [32, 96, 1024, 4096]
        {
            let w = Self.makeWeights(kind, rows: 1, n: n, generator: &generator)
            let x = Self.makeActivations(kind, count: 1, n: n, generator: &generator)
            let wf = Self.dequantize(kind.type, w, n: n)
            let xf = Self.dequantize(activation, x, n: n)
            let exact = zip(wf, xf).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let magnitude = zip(wf, xf).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
            let result = Self.on(scalar: scalar) { kt_vec_dot(kind.type, Int64(n), w, x) }
            // F32 accumulation in a few partial sums: well within 1e-5 of the sum of magnitudes at these lengths.
            #expect(
                abs(Double(result) - exact) <= 1e-5 * magnitude,
                "\(kind.rawValue) n=\(n): \(result) vs \(exact) (magnitude \(magnitude))"
            )
        }
    }

    @Test(arguments: Kind.weights)
    func simdAgreesWithScalar(_ kind: Kind) {
        var generator = Generator(state: 99 &+ UInt64(kind.type.rawValue))
        let n = 2048
        let w = Self.makeWeights(kind, rows: 1, n: n, generator: &generator)
        let x = Self.makeActivations(kind, count: 1, n: n, generator: &generator)
        let simd = Self.on(scalar: false) { kt_vec_dot(kind.type, Int64(n), w, x) }
        let scalar = Self.on(scalar: true) { kt_vec_dot(kind.type, Int64(n), w, x) }
        let wf = Self.dequantize(kind.type, w, n: n)
        let xf = Self.dequantize(kt_activation_type(kind.type), x, n: n)
        let magnitude = zip(wf, xf).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
        // Integer block sums are exact on both paths; only the F32 accumulation order differs.
        #expect(abs(Double(simd) - Double(scalar)) <= 2e-6 * magnitude, "\(kind.rawValue): \(simd) vs \(scalar)")
    }

    @Test(arguments: Kind.weights, paths)
    func matmulHasTheBitsOfVecDot(_ kind: Kind, scalar: Bool) {
        Self.checkMatmulBits(kind, scalar: scalar)
    }

    /// The float products on 512-bit vectors (the default where the CPU has AVX-512) and on AVX2 each give every
    /// output the bits of their own `kt_vec_dot`, and agree with each other within F32 rounding.
    @Test(.enabled(if: kt_cpu_has_avx512() == 1), arguments: [Kind.f32, .f16, .bf16])
    func avx512AndAVX2FloatPaths(_ kind: Kind) {
        kt_force_avx512(0)
        Self.checkMatmulBits(kind, scalar: false)
        kt_force_avx512(1)
        var generator = Generator(state: 77 &+ UInt64(kind.type.rawValue))
        for n in [15, 16, 17, 100, 1024, 4099] {
            let w = Self.makeWeights(kind, rows: 1, n: n, generator: &generator)
            let x = Self.makeActivations(kind, count: 1, n: n, generator: &generator)
            let wide = kt_vec_dot(kind.type, Int64(n), w, x)
            kt_force_avx512(0)
            let narrow = kt_vec_dot(kind.type, Int64(n), w, x)
            kt_force_avx512(1)
            let wf = Self.dequantize(kind.type, w, n: n)
            let magnitude = zip(wf, x.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }).reduce(0.0) {
                $0 + abs(Double($1.0) * Double($1.1))
            }
            #expect(abs(Double(wide) - Double(narrow)) <= 2e-6 * magnitude, "\(kind.rawValue) n=\(n)")
        }
    }

    static func checkMatmulBits(_ kind: Kind, scalar: Bool) {
        var generator = Generator(state: 1234 &+ UInt64(kind.type.rawValue))
        let n = kind.type == KT_Q4_K || kind.type == KT_Q6_K ? 512 : kt_block_elements(kind.type) == 1 ? 101 : 96
        let rows = 13
        let maxBatch = 17
        let w = Self.makeWeights(kind, rows: rows, n: n, generator: &generator)
        let x = Self.makeActivations(kind, count: maxBatch, n: n, generator: &generator)
        let rowBytes = kt_row_bytes(kind.type, Int64(n))
        let xStride = kt_row_bytes(kt_activation_type(kind.type), Int64(n))
        Self.on(scalar: scalar) {
            var expected = [UInt32](repeating: 0, count: rows * maxBatch)
            w.withUnsafeBytes { wb in
                x.withUnsafeBytes { xb in
                    for r in 0..<rows {
                        for b in 0..<maxBatch {
                            let dot = kt_vec_dot(
                                kind.type,
                                Int64(n),
                                wb.baseAddress.map { $0 + r * rowBytes },
                                xb.baseAddress.map { $0 + b * xStride }
                            )
                            expected[b * rows + r] = dot.bitPattern
                        }
                    }
                }
            }
            for nb in [1, 2, 3, 4, 5, 8, 17] {
                for (r0, r1) in [(0, rows), (3, 11), (5, 6), (1, 13)] {
                    let ldy = rows + 2
                    var y = [Float](repeating: .nan, count: ldy * nb)
                    kt_matmul(kind.type, Int64(n), w, Int64(r0), Int64(r1), x, xStride, Int64(nb), &y, Int64(ldy))
                    for b in 0..<nb {
                        for r in 0..<ldy {
                            if r >= r0 && r < r1 {
                                #expect(
                                    y[b * ldy + r].bitPattern == expected[b * rows + r],
                                    "\(kind.rawValue) nb=\(nb) rows \(r0)..<\(r1): (\(r), \(b))"
                                )
                            } else {
                                #expect(y[b * ldy + r].isNaN, "\(kind.rawValue): wrote outside rows \(r0)..<\(r1)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Long rows: the SIMD matrix product takes activations in chunks that fit L2 (a few rows at this length), so
    /// several chunks and their ragged ends are crossed.
    @Test(arguments: [Kind.f32, .f16, .q80, .q40, .q6K])
    func matmulAcrossActivationChunks(_ kind: Kind) {
        var generator = Generator(state: 77 &+ UInt64(kind.type.rawValue))
        let n = 16384
        let rows = 6
        let nb = 30
        let w = Self.makeWeights(kind, rows: rows, n: n, generator: &generator)
        let x = Self.makeActivations(kind, count: nb, n: n, generator: &generator)
        let rowBytes = kt_row_bytes(kind.type, Int64(n))
        let xStride = kt_row_bytes(kt_activation_type(kind.type), Int64(n))
        var y = [Float](repeating: .nan, count: rows * nb)
        kt_matmul(kind.type, Int64(n), w, 0, Int64(rows), x, xStride, Int64(nb), &y, Int64(rows))
        w.withUnsafeBytes { wb in
            x.withUnsafeBytes { xb in
                for r in 0..<rows {
                    for b in 0..<nb {
                        let dot = kt_vec_dot(
                            kind.type,
                            Int64(n),
                            wb.baseAddress.map { $0 + r * rowBytes },
                            xb.baseAddress.map { $0 + b * xStride }
                        )
                        #expect(y[b * rows + r].bitPattern == dot.bitPattern, "\(kind.rawValue): (\(r), \(b))")
                    }
                }
            }
        }
    }

    @Test(arguments: Kind.weights, paths)
    func zeroBlocksGiveZero(_ kind: Kind, scalar: Bool) {
        let n = 512
        var generator = Generator(state: 5)
        let w = [UInt8](repeating: 0, count: kt_row_bytes(kind.type, Int64(n)))
        let x = Self.makeActivations(kind, count: 1, n: n, generator: &generator)
        let result = Self.on(scalar: scalar) { kt_vec_dot(kind.type, Int64(n), w, x) }
        #expect(result == 0)
        // And zero activations against random weights.
        let w2 = Self.makeWeights(kind, rows: 1, n: n, generator: &generator)
        let zeros = [Float](repeating: 0, count: n)
        var x2 = [UInt8](repeating: 0xFF, count: kt_row_bytes(kt_activation_type(kind.type), Int64(n)))
        _ = kt_quantize_row(kt_activation_type(kind.type), zeros, &x2, Int64(n))
        #expect(Self.on(scalar: scalar) { kt_vec_dot(kind.type, Int64(n), w2, x2) } == 0)
    }

    /// Extreme integer values: Q8_0 weights of -128 (a file may hold them; ggml's quantizer never writes them) and
    /// activations at ±127, Q4_0 nibbles 0 and 15, where an 8-bit product trick could overflow.
    @Test(arguments: paths)
    func extremeQuantsStayExact(scalar: Bool) {
        let n = 256
        var w8 = [UInt8](repeating: 0, count: kt_row_bytes(KT_Q8_0, Int64(n)))
        var w4 = [UInt8](repeating: 0, count: kt_row_bytes(KT_Q4_0, Int64(n)))
        var x = [UInt8](repeating: 0, count: kt_row_bytes(KT_Q8_0, Int64(n)))
        let one = Float16(1).bitPattern
        for block in 0..<(n / 32) {
            for (bytes, size) in [(0, 34), (1, 18), (2, 34)] {
                let offset = block * size
                switch bytes {
                case 0:
                    w8[offset] = UInt8(one & 0xFF)
                    w8[offset + 1] = UInt8(one >> 8)
                    for j in 0..<32 { w8[offset + 2 + j] = j % 2 == 0 ? 0x80 : 0x7F }
                case 1:
                    w4[offset] = UInt8(one & 0xFF)
                    w4[offset + 1] = UInt8(one >> 8)
                    for j in 0..<16 { w4[offset + 2 + j] = j % 2 == 0 ? 0x0F : 0xF0 }
                default:
                    x[offset] = UInt8(one & 0xFF)
                    x[offset + 1] = UInt8(one >> 8)
                    for j in 0..<32 { x[offset + 2 + j] = (j / 2) % 2 == 0 ? 0x81 : 0x7F }
                }
            }
        }
        for (type, w) in [(KT_Q8_0, w8), (KT_Q4_0, w4)] {
            let wf = Self.dequantize(type, w, n: n)
            let xf = Self.dequantize(KT_Q8_0, x, n: n)
            let exact = zip(wf, xf).reduce(Float(0)) { $0 + $1.0 * $1.1 }  // integers: exact in F32
            let result = Self.on(scalar: scalar) { kt_vec_dot(type, Int64(n), w, x) }
            #expect(result == exact, "\(type): \(result) vs \(exact)")
        }
    }

    /// The VNNI tiles (`vpdpbusd`) compute the Q8_0/Q4_0 products with the AVX2 tiles' bits: the same exact integer
    /// sums, then the same floating-point steps.
    ///
    /// Random quants of every byte value (Q8_0 weights of -128 included,
    /// activations at ±127 and -128), small F16 scales, every tile shape through the batch sizes and row ranges.
    /// Runs each flavour the CPU has (AVX-VNNI, AVX512-VNNI with AVX512VL).
    @Test(.enabled(if: kt_cpu_vnni() != 0), arguments: [Kind.q80, .q40])
    func vnniHasTheBitsOfAVX2(_ kind: Kind) {
        for flavour: Int32 in [1, 2] where kt_cpu_vnni() & flavour != 0 {
            Self.compareVNNI(kind, flavour: flavour)
        }
    }

    static func compareVNNI(_ kind: Kind, flavour: Int32) {
        var generator = Generator(state: 31 &+ UInt64(kind.type.rawValue))
        let n = 256
        let rows = 19
        let maxBatch = 9
        let blockBytes = kt_block_bytes(kind.type)
        var w = (0..<(kt_row_bytes(kind.type, Int64(n)) * rows)).map { _ in generator.byte() }
        var x = (0..<(kt_row_bytes(KT_Q8_0, Int64(n)) * maxBatch)).map { _ in generator.byte() }
        for (bytes, size) in [(0, blockBytes), (1, kt_block_bytes(KT_Q8_0))] {
            for block in 0..<((bytes == 0 ? w.count : x.count) / size) {
                let scale = Float16(Float(generator.next() % 1000 + 1) * 1e-4).bitPattern
                if bytes == 0 {
                    w[block * size] = UInt8(scale & 0xFF)
                    w[block * size + 1] = UInt8(scale >> 8)
                } else {
                    x[block * size] = UInt8(scale & 0xFF)
                    x[block * size + 1] = UInt8(scale >> 8)
                    // Activations are ggml's Q8_0 (-127 ... 127): -128 only as a tested extreme, in one block.
                    for j in 2..<size where block != 3 && x[block * size + j] == 0x80 { x[block * size + j] = 0x81 }
                }
            }
        }
        let xStride = kt_row_bytes(KT_Q8_0, Int64(n))
        for nb in [1, 2, 3, 4, 5, 9] {
            for (r0, r1) in [(0, rows), (2, 17), (7, 8)] {
                var vnni = [Float](repeating: .nan, count: rows * nb)
                var avx2 = vnni
                kt_force_vnni(flavour)
                kt_matmul(kind.type, Int64(n), w, Int64(r0), Int64(r1), x, xStride, Int64(nb), &vnni, Int64(rows))
                kt_force_vnni(0)
                kt_matmul(kind.type, Int64(n), w, Int64(r0), Int64(r1), x, xStride, Int64(nb), &avx2, Int64(rows))
                kt_force_vnni(-1)
                let differing = vnni.indices.filter { vnni[$0].bitPattern != avx2[$0].bitPattern }
                #expect(
                    differing.isEmpty,
                    "\(kind.rawValue) VNNI \(flavour) nb=\(nb) rows \(r0)..<\(r1): \(differing.prefix(4))"
                )
            }
        }
    }

    /// Large magnitudes: F16 weights at ±65504 against large activations keep finite, correctly rounded sums.
    @Test(arguments: paths)
    func largeMagnitudes(scalar: Bool) {
        let n = 64
        let values = (0..<n).map { Float($0 % 2 == 0 ? 65504 : -65504) }
        var w = [UInt16](repeating: 0, count: n)
        _ = kt_quantize_row(KT_F16, values, &w, Int64(n))
        let x = (0..<n).map { Float($0 < n / 2 ? 1e30 : 2e30) }
        let result = Self.on(scalar: scalar) { kt_vec_dot(KT_F16, Int64(n), w, x) }
        #expect(result == 0)
        let y = [Float](repeating: 1e32, count: n)
        #expect(Self.on(scalar: scalar) { kt_vec_dot(KT_F16, Int64(n), w, y) } == 0)
        let overflow = [Float](repeating: 1e36, count: n)
        let w2 = [UInt16](repeating: Float16(65504).bitPattern, count: n)
        #expect(Self.on(scalar: scalar) { kt_vec_dot(KT_F16, Int64(n), w2, overflow) } == .infinity)
    }
}
