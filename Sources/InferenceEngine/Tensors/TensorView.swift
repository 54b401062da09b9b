internal import CKernels

/// A tensor's bytes where they lie (usually a memory-mapped file), with their type and shape, and the object that
/// keeps those bytes alive.
///
/// The shape is outermost first, as safetensors and PyTorch write it (a linear layer's weight is
/// `[outputs, inputs]`); the last dimension is contiguous, and block-quantized types store each row of it as whole
/// blocks. A loader for another format (GGUF) presents its tensors this way, with Hugging Face names, through
/// ``TensorSource``.
public struct TensorView: Sendable {
    /// The element type.
    public let type: TensorType
    /// The shape, outermost dimension first.
    public let shape: [Int]
    // Justification for nonisolated(unsafe): the bytes are read-only and outlive the view through `owner`.
    /// The first byte of the data.
    public nonisolated(unsafe) let bytes: UnsafeRawPointer
    /// What keeps `bytes` alive (a ``MappedFile`` or a buffer of the engine's own).
    public let owner: any AnyObject & Sendable

    /// Describes `bytes` as a tensor of `type` and `shape`, checking that `byteCount` is exactly its size.
    ///
    /// - Throws: ``EngineError`` (`invalidFile`) naming the tensor when the row length is not a whole number of
    ///   blocks or the byte count does not match.
    public init(
        name: String,
        type: TensorType,
        shape: [Int],
        bytes: UnsafeRawPointer,
        byteCount: Int,
        owner: any AnyObject & Sendable
    ) throws(EngineError) {
        let columns = shape.last ?? 1
        guard shape.allSatisfy({ $0 >= 0 }), columns % type.blockElements == 0 else {
            throw EngineError(
                .invalidFile,
                "tensor \(name) of type \(type) has shape \(shape): rows must be whole blocks of \(type.blockElements)"
            )
        }
        // Overflow-checked: a damaged header may state any dimensions (a zero one makes the byte count 0).
        var expected = (columns / type.blockElements).multipliedReportingOverflow(by: type.blockBytes)
        for dimension in shape.dropLast() where !expected.overflow {
            expected = expected.partialValue.multipliedReportingOverflow(by: dimension)
        }
        guard !expected.overflow, expected.partialValue == byteCount else {
            let needed = expected.overflow ? "more than \(Int.max)" : "\(expected.partialValue)"
            throw EngineError(
                .invalidFile,
                "tensor \(name) of type \(type) and shape \(shape) needs \(needed) bytes, has \(byteCount)"
            )
        }
        self.type = type
        self.shape = shape
        self.bytes = bytes
        self.owner = owner
    }

    /// Elements in the tensor.
    public var elementCount: Int { shape.reduce(1, *) }

    /// Elements per row (the last dimension).
    public var columns: Int { shape.last ?? 1 }

    /// Rows (the product of the other dimensions).
    public var rows: Int { shape.dropLast().reduce(1, *) }

    /// Bytes of one row.
    public var rowBytes: Int { type.rowBytes(columns) }

    /// Bytes of the whole tensor.
    public var byteCount: Int { rowBytes * rows }

    /// The first byte of row `index`.
    func row(_ index: Int) -> UnsafeRawPointer { bytes + index * rowBytes }

    /// Every element widened to F32, row-major (for small tensors: norms, biases, adapters; and tests).
    public func floats() -> [Float] {
        let columns = columns
        var result = [Float](repeating: 0, count: elementCount)
        // Interleaved rows are put back in ggml's order first.
        var ggmlRows: OwnedBytes?
        if type.isInterleaved {
            let storage = OwnedBytes(count: byteCount)
            kt_deinterleave_rows(type.kernel, bytes, storage.bytes, 0, Int64(rows / 8), Int64(columns))
            ggmlRows = storage
        }
        let source = ggmlRows.map { UnsafeRawPointer($0.bytes) } ?? bytes
        let rowBytes = rowBytes
        result.withUnsafeMutableBufferPointer { out in
            guard let base = out.baseAddress else { return }
            for r in 0..<rows {
                kt_dequantize_row(type.rowType.kernel, source + r * rowBytes, base + r * columns, Int64(columns))
            }
        }
        withExtendedLifetime(ggmlRows) {}
        return result
    }
}

/// Memory the engine allocated itself (tensors quantized at load), 64-byte aligned, freed once with its owner.
final class OwnedBytes: Sendable {
    // Justification for nonisolated(unsafe): written only while the loader builds the tensor, before the buffer is
    /// The first byte.
    // shared; read-only afterwards.
    nonisolated(unsafe) let bytes: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = count
        bytes = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    }

    deinit { bytes.deallocate() }
}
