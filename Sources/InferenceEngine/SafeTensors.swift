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
    public private(set) var entries: [String: Entry] = [:]
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
        base = mapped
        let headerLength = Int(base.loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLength > 0, 8 + headerLength <= length else {
            munmap(base, length)
            throw EngineError(
                .truncatedFile,
                "\(path): header of \(headerLength) bytes does not fit in \(length) bytes"
            )
        }
        dataOffset = 8 + headerLength
        let headerData = Data(bytes: base + 8, count: headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            munmap(base, length)
            throw EngineError(.invalidFile, "\(path): the header is not JSON")
        }
        for (name, value) in header where name != "__metadata__" {
            guard let fields = value as? [String: Any], let dtype = fields["dtype"] as? String,
                let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int],
                offsets.count == 2
            else {
                munmap(base, length)
                throw EngineError(.invalidFile, "\(path): malformed entry for tensor \(name)")
            }
            let size: Int
            switch dtype {
            case "F32": size = 4
            case "F16", "BF16": size = 2
            default:
                munmap(base, length)
                throw EngineError(
                    .unsupportedDType,
                    "\(path): tensor \(name) has dtype \(dtype); supported: F32, F16, BF16"
                )
            }
            let count = shape.reduce(1, *)
            guard offsets[1] - offsets[0] == count * size, offsets[0] >= 0 else {
                munmap(base, length)
                throw EngineError(
                    .invalidFile,
                    "\(path): tensor \(name) has \(offsets[1] - offsets[0]) bytes for shape \(shape)"
                )
            }
            guard dataOffset + offsets[1] <= length else {
                munmap(base, length)
                throw EngineError(
                    .truncatedFile,
                    "\(path) is truncated: tensor \(name) ends at byte \(dataOffset + offsets[1]) of \(length)"
                )
            }
            entries[name] = Entry(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
        }
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
