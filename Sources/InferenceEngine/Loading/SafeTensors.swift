internal import Foundation

/// A read-only, memory-mapped `.safetensors` file.
///
/// Tensors stay in the file's format where they lie (``view(_:)``); the mapping has one owner (``MappedFile``),
/// so a file whose header is malformed is unmapped exactly once, when the initializer throws.
public final class SafeTensorsFile: Sendable {
    /// One tensor's entry in the header.
    public struct Entry: Sendable {
        /// `F32`, `F16` or `BF16`.
        public var dtype: String
        /// The shape.
        public var shape: [Int]
        /// Byte offsets relative to the data section.
        public var begin: Int, end: Int

        /// The engine's type for the dtype.
        var type: TensorType {
            switch dtype {
            case "F16": .f16
            case "BF16": .bf16
            default: .f32
            }
        }
    }

    /// The file path.
    public let path: String
    /// The tensors by name.
    public let entries: [String: Entry]
    /// The mapping.
    let file: MappedFile
    private let dataOffset: Int

    /// Maps a file and validates its header against its length.
    ///
    /// - Throws: ``EngineError`` (`missingFile`, `truncatedFile`, `invalidFile`, `unsupportedDType`).
    public init(path: String) throws(EngineError) {
        self.path = path
        let file = try MappedFile(path: path)
        let length = file.length
        guard length >= 8 else {
            throw EngineError(.truncatedFile, "\(path) is \(length) bytes, shorter than a safetensors header")
        }
        // One parser for the header (also the fuzz target's): every size checked without overflow, typed errors.
        let (entries, dataOffset) = try SafeTensorsHeader.parse(file.bytes, length: length, path: path)
        self.entries = entries
        self.file = file
        self.dataOffset = dataOffset
    }

    /// The tensor `name` where it lies in the mapping, in the file's format.
    ///
    /// - Returns: `nil` when the file has no such tensor.
    /// - Throws: ``EngineError`` (`invalidFile`) when its shape does not suit the engine (never for a file that
    ///   passed the header checks).
    public func view(_ name: String) throws(EngineError) -> TensorView? {
        guard let entry = entries[name] else { return nil }
        return try TensorView(
            name: name,
            type: entry.type,
            shape: entry.shape.isEmpty ? [1] : entry.shape,
            bytes: file.bytes + dataOffset + entry.begin,
            byteCount: entry.end - entry.begin,
            owner: file
        )
    }

    /// Reads a tensor as `Float`s, row-major (F16 and BF16 widened exactly).
    public func floats(_ name: String) -> [Float]? {
        guard let view = try? view(name) else { return nil }
        return view.floats()
    }

    /// The byte range of tensor `name` in the file.
    func fileRange(_ name: String) -> Range<Int>? {
        entries[name].map { (dataOffset + $0.begin)..<(dataOffset + $0.end) }
    }
}
