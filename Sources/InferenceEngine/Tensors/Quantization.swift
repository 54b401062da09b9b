internal import CKernels

/// Quantization of float weights at load (`--quantization`): one tensor at a time, rows split across the worker
/// pool, each row through `kt_quantize_row` (bit for bit ggml's reference quantizer).
enum LoadQuantizer {
    /// Whether `view` can be converted to `type`: a float tensor whose rows are whole blocks of `type`.
    static func applies(_ view: TensorView, to type: TensorType) -> Bool {
        [.f32, .f16, .bf16].contains(view.type) && view.type != type && view.columns % type.blockElements == 0
    }

    /// `view` converted to `type` in memory of the engine's own.
    static func quantize(_ view: TensorView, to type: TensorType, pool: WorkerPool) -> TensorView {
        let rows = view.rows
        let columns = view.columns
        let rowBytes = type.rowBytes(columns)
        let storage = OwnedBytes(count: rows * rowBytes)
        pool.run { worker in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: columns)
            defer { row.deallocate() }
            for r in pool.share(rows, worker) {
                kt_dequantize_row(view.type.kernel, view.row(r), row, Int64(columns))
                _ = kt_quantize_row(type.kernel, row, storage.bytes + r * rowBytes, Int64(columns))
            }
        }
        return TensorView(unchecked: type, shape: view.shape, bytes: UnsafeRawPointer(storage.bytes), owner: storage)
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
