internal import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

/// A GGUF file (llama.cpp's model format, versions 2 and 3), memory-mapped: its metadata, its tensor directory and
/// the tensor bytes where they lie.
///
/// The layout follows ggml's `docs/gguf.md` (ggml-org/ggml): the magic `GGUF`, a version, the tensor and metadata
/// counts, the key/value metadata, one entry per tensor (name, dimensions innermost first, type, offset) and the
/// tensor data, which starts at the next multiple of `general.alignment` (32 by default). Every count, length and
/// offset is checked against the file before it is used, so a truncated or hostile file is a ``GGUFError`` naming the
/// byte offset and the field, never a crash or an allocation larger than the file.
public final class GGUFFile: Sendable {
    /// The file path.
    public let path: String
    /// The format version (2 or 3).
    public let version: Int
    /// The metadata, by key.
    public let metadata: [String: GGUFValue]
    /// The metadata keys in file order.
    public let keys: [String]
    /// The tensor directory, in file order.
    public let tensors: [GGUFTensorInfo]
    /// Where the tensor data starts in the file.
    public let dataOffset: Int
    /// The file's length in bytes.
    public let length: Int
    // Justification for nonisolated(unsafe): the mapping is read-only and lives as long as this object.
    private nonisolated(unsafe) let base: UnsafeRawPointer
    private let index: [String: Int]

    /// Maps and parses a file.
    ///
    /// - Throws: ``GGUFError`` for an unreadable, truncated or malformed file.
    public init(path: String) throws(GGUFError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError(path: path, offset: 0, "cannot open the file") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw GGUFError(path: path, offset: 0, "cannot stat the file") }
        let length = Int(info.st_size)
        guard length >= 24 else {
            throw GGUFError(path: path, offset: 0, "header: the file has \(length) bytes, fewer than a GGUF header")
        }
        guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw GGUFError(path: path, offset: 0, "cannot map the file")
        }
        let base = UnsafeRawPointer(mapped)
        do throws(GGUFError) {
            var parser = GGUFParser(path: path, bytes: UnsafeRawBufferPointer(start: base, count: length))
            let parsed = try parser.parse()
            self.length = length
            self.base = base
            version = parsed.version
            metadata = parsed.metadata
            keys = parsed.keys
            tensors = parsed.tensors
            dataOffset = parsed.dataOffset
            index = parsed.index
        } catch {
            munmap(mapped, length)
            throw error
        }
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), length)
    }

    /// The directory entry of the tensor named `name`.
    public func tensor(named name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

    /// The first byte of a tensor's data; valid while this object lives.
    public func bytes(of tensor: GGUFTensorInfo) -> UnsafeRawPointer { base + dataOffset + tensor.offset }

    /// Tells the kernel that a tensor's data will not be read again soon, so its whole pages leave this process's
    /// resident set (after the engine has copied it into a layout of its own); reading it again maps them back in.
    public func release(_ tensor: GGUFTensorInfo) {
        guard let byteCount = tensor.byteCount else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = dataOffset + tensor.offset
        let start = (first + page - 1) / page * page
        let end = (first + byteCount) / page * page
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    /// The `general.architecture` value (`llama`, `qwen2`, `phi3`, …).
    public var architecture: String? { metadata["general.architecture"]?.string }

    /// An integer value of `key` (any integer type, or a whole float), or `nil`.
    public func integer(_ key: String) -> Int? { metadata[key]?.integer }

    /// A floating-point value of `key` (any number type), or `nil`.
    public func float(_ key: String) -> Double? { metadata[key]?.double }

    /// A string value of `key`, or `nil`.
    public func string(_ key: String) -> String? { metadata[key]?.string }

    /// A boolean value of `key`, or `nil`.
    public func bool(_ key: String) -> Bool? { metadata[key]?.bool }
}

/// One entry of the tensor directory.
public struct GGUFTensorInfo: Sendable, Hashable {
    /// The tensor's name, for example `blk.0.attn_q.weight`.
    public var name: String
    /// The dimensions, innermost (contiguous) first, as ggml counts them.
    public var dimensions: [Int]
    /// The ggml type id (`ggml_type`): 0 F32, 1 F16, 2 Q4_0, 8 Q8_0, 12 Q4_K, 14 Q6_K, 30 BF16 and others.
    public var type: Int
    /// The offset of its data from the start of the data section.
    public var offset: Int
    /// The data's size in bytes, where the type is one this reader knows (else `nil`).
    public var byteCount: Int?

    /// The shape outermost first, as PyTorch and safetensors write it.
    public var shape: [Int] { dimensions.reversed() }

    /// The type's name as ggml prints it.
    public var typeName: String { GGMLTypeTable.name(type) }
}

/// A metadata value.
public indirect enum GGUFValue: Sendable, Hashable {
    /// An unsigned integer (`UINT8` … `UINT64`).
    case unsigned(UInt64)
    /// A signed integer (`INT8` … `INT64`).
    case signed(Int64)
    /// A float (`FLOAT32`, `FLOAT64`).
    case float(Double)
    /// A boolean.
    case bool(Bool)
    /// A string, as its UTF-8 bytes (vocabularies hold strings that are not valid UTF-8 on their own).
    case string([UInt8])
    /// An array.
    case array([GGUFValue])

    /// The value as an `Int`, where it is an integer (or a float with no fraction).
    public var integer: Int? {
        switch self {
        case .unsigned(let v): v <= UInt64(Int.max) ? Int(v) : nil
        case .signed(let v): Int(v)
        case .float(let v): v.rounded() == v && abs(v) < 9e15 ? Int(v) : nil
        case .bool(let v): v ? 1 : 0
        default: nil
        }
    }

    /// The value as a `Double`, where it is a number.
    public var double: Double? {
        switch self {
        case .unsigned(let v): Double(v)
        case .signed(let v): Double(v)
        case .float(let v): v
        default: nil
        }
    }

    /// The value as a `Bool`, where it is one.
    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    /// The value as a `String` (invalid UTF-8 repaired), where it is a string.
    public var string: String? {
        if case .string(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    /// The value's bytes, where it is a string.
    public var bytes: [UInt8]? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }

    /// The elements, where it is an array.
    public var array: [GGUFValue]? {
        if case .array(let values) = self { return values }
        return nil
    }
}

/// A GGUF file that cannot be read, with the byte offset where reading stopped.
public struct GGUFError: Error, CustomStringConvertible, Sendable {
    /// The file.
    public var path: String
    /// The byte offset of the field that is wrong.
    public var offset: Int
    /// What is wrong, naming the field.
    public var message: String

    /// Creates an error.
    public init(path: String, offset: Int, _ message: String) {
        self.path = path
        self.offset = offset
        self.message = message
    }

    /// `path:@offset: message`.
    public var description: String { "\(path):@\(offset): \(message)" }
}
