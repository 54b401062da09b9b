internal import CKernels

/// Quantization of float weights at load (`--quantization`) and the interleaved layout of product weights: one
/// tensor at a time, rows split across the worker pool, each row through `kt_quantize_row` (bit for bit ggml's
/// reference quantizer).
enum LoadQuantizer {
    /// Whether `view` can be converted to `type`: a float tensor whose rows are whole blocks of `type`.
    static func applies(_ view: TensorView, to type: TensorType) -> Bool {
        [.f32, .f16, .bf16].contains(view.type) && view.type != type && view.columns % type.blockElements == 0
    }

    /// Whether weights of `type` and `view`'s shape take an interleaved layout (`kt_interleave_rows`: Q8_0 and Q4_0,
    /// rows a multiple of 8).
    static func interleaves(_ view: TensorView, as type: TensorType) -> Bool {
        type.interleaved != nil && view.shape.count == 2 && view.rows % 8 == 0
    }

    /// `view` converted to `type` (when ``applies(_:to:)``), in the interleaved layout of the result's type when
    /// `interleave` and ``interleaves(_:as:)`` hold, in memory of the engine's own; `nil` when nothing changes.
    ///
    /// Interleaving works in groups of 8 rows through a per-worker scratch, so no whole intermediate tensor is
    /// allocated (its memory would stay in the allocator's heap and in the resident set).
    static func convert(_ view: TensorView, to target: TensorType?, interleave: Bool, pool: WorkerPool) -> TensorView? {
        let quantize = target.map { applies(view, to: $0) } ?? false
        let type = quantize ? target ?? view.type : view.type
        let interleaved = interleave && interleaves(view, as: type) ? type.interleaved : nil
        guard quantize || interleaved != nil else { return nil }
        let rows = view.rows
        let columns = view.columns
        let rowBytes = type.rowBytes(columns)
        let storage = OwnedBytes(count: rows * rowBytes)
        let groupRows = interleaved == nil ? 1 : 8
        pool.run { worker in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: columns)
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: groupRows * rowBytes, alignment: 64)
            defer {
                row.deallocate()
                scratch.deallocate()
            }
            for group in pool.share(rows / groupRows, worker) {
                let first = group * groupRows
                // The group's rows in ggml's layout of `type`: quantized into the scratch (or straight into the
                // result when not interleaving), or where the source keeps them.
                var ggmlRows = UnsafeRawPointer(view.row(first))
                if quantize {
                    let destination = interleaved == nil ? storage.bytes + first * rowBytes : scratch
                    for r in 0..<groupRows {
                        kt_dequantize_row(view.type.kernel, view.row(first + r), row, Int64(columns))
                        _ = kt_quantize_row(type.kernel, row, destination + r * rowBytes, Int64(columns))
                    }
                    ggmlRows = UnsafeRawPointer(destination)
                }
                if interleaved != nil {
                    kt_interleave_rows(type.kernel, ggmlRows, storage.bytes + first * rowBytes, 0, 1, Int64(columns))
                }
            }
        }
        return TensorView(
            unchecked: interleaved ?? type,
            shape: view.shape,
            bytes: UnsafeRawPointer(storage.bytes),
            owner: storage
        )
    }
}

extension TensorView {
    /// A view whose size the engine computed itself.
    init(unchecked type: TensorType, shape: [Int], bytes: UnsafeRawPointer, owner: any AnyObject & Sendable) {
        self.type = type
        self.shape = shape
        self.bytes = bytes
        self.owner = owner
    }
}
