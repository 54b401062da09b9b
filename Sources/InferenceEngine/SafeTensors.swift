internal import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

/// A read-only, memory-mapped `.safetensors` file.
///
/// Tensors are converted to `Float` when read: F32 is copied, F16 and BF16 are widened (the model keeps F32 weights,
/// so a BF16 checkpoint costs twice its file size in memory).
public final class SafeTensorsFile {
    /// One tensor's entry in the header.
    public struct Entry: Sendable {
        /// `F32`, `F16` or `BF16`.
        public var dtype: String
        /// The shape.
        public var shape: [Int]
        /// Byte offsets relative to the data section.
        public var begin: Int, end: Int
    }

    /// The file path.
    public let path: String
    /// The tensors by name.
    public let entries: [String: Entry]
    private let base: UnsafeMutableRawPointer
    private let length: Int
    private let dataOffset: Int

    /// Maps a file and validates its header against its length.
    ///
    /// - Throws: ``EngineError`` (`missingFile`, `truncatedFile`, `invalidFile`, `unsupportedDType`).
    public init(path: String) throws(EngineError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw EngineError(.missingFile, "cannot open \(path)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw EngineError(.invalidFile, "cannot stat \(path)") }
        length = Int(info.st_size)
        guard length >= 8 else {
            throw EngineError(.truncatedFile, "\(path) is \(length) bytes, shorter than a safetensors header")
        }
        guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw EngineError(.invalidFile, "cannot map \(path)")
        }
        do {
            // Every check runs before the last stored property is set, so a throw here never reaches deinit: the
            // mapping is unmapped once, below.
            (entries, dataOffset) = try SafeTensorsHeader.parse(UnsafeRawPointer(mapped), length: length, path: path)
        } catch {
            munmap(mapped, length)
            throw error
        }
        base = mapped
    }

    deinit {
        munmap(base, length)
    }

    /// Reads a tensor as `Float`s, row-major.
    public func floats(_ name: String) -> [Float]? {
        guard let entry = entries[name] else { return nil }
        let start = base + dataOffset + entry.begin
        let count = entry.shape.reduce(1, *)
        var result = [Float](repeating: 0, count: count)
        result.withUnsafeMutableBufferPointer { out in
            switch entry.dtype {
            case "F32":
                for i in 0..<count {
                    out[i] = Float(bitPattern: start.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian)
                }
            case "F16":
                for i in 0..<count {
                    out[i] = Float(
                        Float16(bitPattern: start.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian)
                    )
                }
            default:  // BF16: the high half of an F32.
                for i in 0..<count {
                    let bits = UInt32(start.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian) << 16
                    out[i] = Float(bitPattern: bits)
                }
            }
        }
        return result
    }
}
