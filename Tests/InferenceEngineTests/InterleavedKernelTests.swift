import CKernels
import Foundation
import Testing

@testable import InferenceEngine

/// The interleaved Q8_0/Q4_0 layouts (`KT_Q8_0_R8`, `KT_Q4_0_R8`; issue 10, item 4: prefill as a cache-blocked
/// matrix product): the layout round-trips to ggml's blocks, every instruction set gives the bits of the scalar
/// reference for every batch size and row range (so batching changes no result), the product agrees with ggml's
/// layout, and the loader gives the models' products this layout.
@Suite(.serialized)
struct InterleavedKernelTests {
    typealias Kind = KernelTests.Kind

    static let kinds: [Kind] = [.q80, .q40]

    /// `rows` random rows of `n` elements of `kind`, quantized by ggml's reference quantizer, with extreme blocks:
    /// row 1's first block all -128 (Q8_0; ggml's quantizer never writes it, a file may) or all 0 / all 15 (Q4_0).
    static func weights(_ kind: Kind, rows: Int, n: Int, seed: UInt64) -> [UInt8] {
        var generator = KernelTests.Generator(state: seed)
        var w = KernelTests.makeWeights(kind, rows: rows, n: n, generator: &generator)
        let rowBytes = kt_row_bytes(kind.type, Int64(n))
        let block = kt_block_bytes(kind.type)
        for j in 2..<block { w[rowBytes + j] = kind == .q80 ? 0x80 : 0x00 }
        for j in 2..<block { w[2 * rowBytes + j] = kind == .q80 ? 0x7F : 0xFF }
        return w
    }

    static func interleave(_ kind: Kind, _ w: [UInt8], rows: Int, n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: w.count)
        #expect(kt_interleave_rows(kind.type, w, &out, 0, Int64(rows / 8), Int64(n)) == 1)
        return out
    }

    /// The product on the path `flavour`: -1 scalar, 0 AVX2 without VNNI, 1 AVX-VNNI, 2 AVX512-VNNI.
    static func product(
        _ type: kt_type,
        _ w: [UInt8],
        _ x: [UInt8],
        n: Int,
        rows: Range<Int>,
        nb: Int,
        ldy: Int,
        flavour: Int32
    ) -> [Float] {
        var y = [Float](repeating: .nan, count: ldy * nb)
        kt_force_scalar(flavour < 0 ? 1 : 0)
        kt_force_vnni(max(flavour, 0))
        defer {
            kt_force_scalar(0)
            kt_force_vnni(-1)
        }
        let stride = kt_row_bytes(KT_Q8_0, Int64(n))
        kt_matmul(
            type,
            Int64(n),
            w,
            Int64(rows.lowerBound),
            Int64(rows.upperBound),
            x,
            stride,
            Int64(nb),
            &y,
            Int64(ldy)
        )
        return y
    }

    /// The paths this CPU runs: scalar always; AVX2 and each VNNI flavour where it has them.
    static var flavours: [Int32] {
        var result: [Int32] = [-1]
        if kt_cpu_has_avx2() == 1 { result.append(0) }
        for flavour: Int32 in [1, 2] where kt_cpu_vnni() & flavour != 0 { result.append(flavour) }
        return result
    }

    @Test(arguments: kinds)
    func layoutRoundTrips(_ kind: Kind) {
        let rows = 24
        let n = 96
        let w = Self.weights(kind, rows: rows, n: n, seed: 5)
        let interleaved = Self.interleave(kind, w, rows: rows, n: n)
        #expect(interleaved != w)
        var back = [UInt8](repeating: 0, count: w.count)
        #expect(kt_deinterleave_rows(kt_interleaved_type(kind.type), interleaved, &back, 0, 3, Int64(n)) == 1)
        #expect(back == w)
        // A whole tensor widens to ggml's values.
        let type = TensorType(rawValue: Int32(kt_interleaved_type(kind.type).rawValue))
        #expect(type?.isInterleaved == true && type?.rowType.kernel == kind.type)
        interleaved.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress, let type else { return }
            let view = TensorView(unchecked: type, shape: [rows, n], bytes: base, owner: OwnedBytes(count: 1))
            let expected = (0..<rows).flatMap { r in
                w.withUnsafeBytes { KernelTests.dequantize(kind.type, $0.baseAddress! + r * view.rowBytes, n: n) }
            }
            #expect(view.floats() == expected)
        }
    }

    /// Every path, batch size and row range (whole groups, part groups, one row) gives the scalar reference's bits;
    /// the reference agrees with the product of ggml's layout within F32 rounding.
    @Test(arguments: kinds)
    func everyPathHasTheBitsOfTheReference(_ kind: Kind) {
        let rows = 32
        let n = 256
        let w = Self.weights(kind, rows: rows, n: n, seed: 17 &+ UInt64(kind.type.rawValue))
        let interleaved = Self.interleave(kind, w, rows: rows, n: n)
        let type = kt_interleaved_type(kind.type)
        var generator = KernelTests.Generator(state: 3)
        let maxBatch = 13
        let x = KernelTests.makeActivations(kind, count: maxBatch, n: n, generator: &generator)
        let whole = Self.product(type, interleaved, x, n: n, rows: 0..<rows, nb: maxBatch, ldy: rows, flavour: -1)
        let ggml = Self.product(kind.type, w, x, n: n, rows: 0..<rows, nb: maxBatch, ldy: rows, flavour: -1)
        let stride = kt_row_bytes(KT_Q8_0, Int64(n))
        for b in 0..<maxBatch {
            let xf = x.withUnsafeBytes { KernelTests.dequantize(KT_Q8_0, $0.baseAddress! + b * stride, n: n) }
            for r in 0..<rows {
                let wf = w.withUnsafeBytes {
                    KernelTests.dequantize(kind.type, $0.baseAddress! + r * kt_row_bytes(kind.type, Int64(n)), n: n)
                }
                let magnitude = zip(wf, xf).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
                let (a, c) = (whole[b * rows + r], ggml[b * rows + r])
                #expect(abs(Double(a) - Double(c)) <= 2e-6 * magnitude, "\(kind) b=\(b) r=\(r): \(a) vs \(c)")
            }
        }
        for flavour in Self.flavours {
            for nb in [1, 2, 3, 4, 5, 6, 7, 9, 13] {
                for range in [0..<rows, 8..<16, 3..<21, 5..<6, 16..<32] {
                    let y = Self.product(type, interleaved, x, n: n, rows: range, nb: nb, ldy: rows, flavour: flavour)
                    let differing = (0..<nb).flatMap { b in range.map { b * rows + $0 } }.filter {
                        y[$0].bitPattern != whole[$0].bitPattern
                    }
                    #expect(differing.isEmpty, "\(kind) path \(flavour) nb=\(nb) rows \(range): \(differing.prefix(4))")
                    let outside = (0..<nb).flatMap { b in
                        (0..<rows).filter { !range.contains($0) }.map { b * rows + $0 }
                    }
                    #expect(outside.allSatisfy { y[$0].isNaN }, "\(kind) path \(flavour): wrote outside \(range)")
                }
            }
        }
    }

    /// The loader interleaves Q8_0 and Q4_0 product weights (not the embeddings), and the model's results do not
    /// depend on the thread count.
    @Test(arguments: [LoadOptions.Quantization.q8_0, .q4_0])
    func loaderInterleavesProductWeights(_ quantization: LoadOptions.Quantization) throws {
        let folder = ReferenceModelTests.fixtures.appendingPathComponent("llama").path
        var results: [[Float]] = []
        for threads in [1, 3] {
            let model = try CausalLM(folder: folder, options: LoadOptions(threads: threads, quantization: quantization))
            let expected: TensorType = quantization == .q8_0 ? .q8_0R8 : .q4_0R8
            #expect(model.layers[0].down.weight.type == expected)
            #expect(model.embeddings.type.isInterleaved == false)
            var cache = model.makeCache()
            _ = try model.prefill([1, 5, 9, 2, 7, 3, 8, 4, 6], cache: &cache)
            results.append(model.forward(token: 7, cache: &cache))
        }
        #expect(results[0] == results[1])
    }
}
