/// Reads the header, metadata and tensor directory of a GGUF file from its bytes, checking every count and length
/// against what remains before it allocates or reads.
struct GGUFParser {
    struct Parsed {
        var version: Int
        var metadata: [String: GGUFValue]
        var keys: [String]
        var tensors: [GGUFTensorInfo]
        var index: [String: Int]
        var dataOffset: Int
    }

    /// Nesting of arrays accepted (GGUF writers nest at most one level).
    static let maximumDepth = 8
    /// Dimensions of one tensor (ggml's `GGML_MAX_DIMS`).
    static let maximumDimensions = 4

    let path: String
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(path: String, bytes: UnsafeRawBufferPointer) {
        self.path = path
        self.bytes = bytes
    }

    private func fail(_ message: String, at offset: Int? = nil) -> GGUFError {
        GGUFError(path: path, offset: offset ?? position, message)
    }

    private var remaining: Int { bytes.count - position }

    private mutating func need(_ count: Int, _ field: String) throws(GGUFError) {
        guard count >= 0, count <= remaining else {
            throw fail("\(field): needs \(count) bytes, \(remaining) remain")
        }
    }

    private mutating func load<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(GGUFError) -> T {
        try need(MemoryLayout<T>.size, field)
        defer { position += MemoryLayout<T>.size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    }

    /// A count or length stored as `UInt64`, which must fit what remains when each item takes `minimumSize` bytes.
    private mutating func count(_ field: String, minimumSize: Int) throws(GGUFError) -> Int {
        let start = position
        let raw = try load(UInt64.self, field)
        guard raw <= UInt64(remaining / max(minimumSize, 1)) else {
            throw fail("\(field): \(raw) does not fit in the \(remaining) bytes that remain", at: start)
        }
        return Int(raw)
    }

    private mutating func string(_ field: String) throws(GGUFError) -> [UInt8] {
        let length = try count("\(field) length", minimumSize: 1)
        defer { position += length }
        return Array(bytes[position..<(position + length)])
    }

    mutating func parse() throws(GGUFError) -> Parsed {
        let magic = try load(UInt32.self, "magic")
        guard magic == 0x4655_4747 else {  // "GGUF" little-endian
            throw fail("magic: not a GGUF file (the first bytes are not GGUF)", at: 0)
        }
        let versionOffset = position
        let version = Int(try load(UInt32.self, "version"))
        guard version == 2 || version == 3 else {
            throw fail("version: \(version) is not supported (2 and 3 are)", at: versionOffset)
        }
        // A tensor entry takes at least 8 (name length) + 4 (dimensions) + 4 (type) + 8 (offset) bytes; a metadata
        // entry 8 (key length) + 4 (type) + 1.
        let tensorCount = try count("tensor count", minimumSize: 24)
        let metadataCount = try count("metadata count", minimumSize: 13)
        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(metadataCount)
        for _ in 0..<metadataCount {
            let keyOffset = position
            let key = String(decoding: try string("metadata key"), as: UTF8.self)
            guard metadata[key] == nil else { throw fail("metadata key \(key): duplicate", at: keyOffset) }
            let type = try load(UInt32.self, "type of \(key)")
            metadata[key] = try value(type: type, field: key, depth: 0)
            keys.append(key)
        }
        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let a = value.integer, a > 0, a & (a - 1) == 0, a <= 1 << 16 else {
                throw fail("general.alignment: \(value) is not a power of two")
            }
            alignment = a
        }
        var tensors: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        tensors.reserveCapacity(tensorCount)
        for _ in 0..<tensorCount {
            let entryOffset = position
            let name = String(decoding: try string("tensor name"), as: UTF8.self)
            guard index[name] == nil else { throw fail("tensor \(name): duplicate name", at: entryOffset) }
            let dimensionCount = Int(try load(UInt32.self, "dimensions of \(name)"))
            guard (1...Self.maximumDimensions).contains(dimensionCount) else {
                throw fail("tensor \(name): \(dimensionCount) dimensions (1 to \(Self.maximumDimensions) allowed)")
            }
            var dimensions: [Int] = []
            var elements = 1
            for d in 0..<dimensionCount {
                let raw = try load(UInt64.self, "dimension \(d) of \(name)")
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(clamping: raw))
                guard raw <= UInt64(Int.max), !overflow else {
                    throw fail("tensor \(name): dimension \(d) (\(raw)) overflows the element count")
                }
                elements = product
                dimensions.append(Int(raw))
            }
            let type = Int(try load(UInt32.self, "type of \(name)"))
            let offsetPosition = position
            let offset = try load(UInt64.self, "offset of \(name)")
            guard offset <= UInt64(bytes.count), Int(offset) % alignment == 0 else {
                throw fail(
                    "tensor \(name): offset \(offset) is past the file or not aligned to \(alignment)",
                    at: offsetPosition
                )
            }
            var byteCount: Int?
            if let layout = GGMLTypeTable.layout(type) {
                guard dimensions[0] % layout.elements == 0 else {
                    throw fail(
                        "tensor \(name): rows of \(dimensions[0]) elements are not whole \(GGMLTypeTable.name(type)) "
                            + "blocks of \(layout.elements)",
                        at: entryOffset
                    )
                }
                let (size, overflow) = (elements / layout.elements).multipliedReportingOverflow(by: layout.bytes)
                guard !overflow, size <= bytes.count else {
                    throw fail(
                        "tensor \(name): \(elements) elements take more bytes than the file has",
                        at: entryOffset
                    )
                }
                byteCount = size
            }
            index[name] = tensors.count
            tensors.append(
                GGUFTensorInfo(
                    name: name,
                    dimensions: dimensions,
                    type: type,
                    offset: Int(offset),
                    byteCount: byteCount
                )
            )
        }
        let dataOffset = (position + alignment - 1) / alignment * alignment
        for tensor in tensors {
            guard let size = tensor.byteCount else { continue }
            let (end, overflow) = (dataOffset + tensor.offset).addingReportingOverflow(size)
            guard !overflow, end <= bytes.count else {
                throw fail(
                    "tensor \(tensor.name): its \(size) bytes at data offset \(tensor.offset) end past the file "
                        + "(\(bytes.count) bytes)",
                    at: dataOffset
                )
            }
        }
        return Parsed(
            version: version,
            metadata: metadata,
            keys: keys,
            tensors: tensors,
            index: index,
            dataOffset: dataOffset
        )
    }

    private mutating func value(type: UInt32, field: String, depth: Int) throws(GGUFError) -> GGUFValue {
        switch type {
        case 0: return .unsigned(UInt64(try load(UInt8.self, field)))
        case 1: return .signed(Int64(try load(Int8.self, field)))
        case 2: return .unsigned(UInt64(try load(UInt16.self, field)))
        case 3: return .signed(Int64(try load(Int16.self, field)))
        case 4: return .unsigned(UInt64(try load(UInt32.self, field)))
        case 5: return .signed(Int64(try load(Int32.self, field)))
        case 6: return .float(Double(Float(bitPattern: try load(UInt32.self, field))))
        case 7:
            let start = position
            let raw = try load(UInt8.self, field)
            guard raw <= 1 else { throw fail("\(field): boolean byte \(raw) is neither 0 nor 1", at: start) }
            return .bool(raw == 1)
        case 8: return .string(try string(field))
        case 9:
            guard depth < Self.maximumDepth else {
                throw fail("\(field): arrays nested deeper than \(Self.maximumDepth)")
            }
            let elementType = try load(UInt32.self, "\(field) element type")
            let size = Self.minimumSize(of: elementType)
            guard size > 0 else { throw fail("\(field): unknown array element type \(elementType)", at: position - 4) }
            let n = try count("\(field) element count", minimumSize: size)
            var values: [GGUFValue] = []
            values.reserveCapacity(n)
            for _ in 0..<n { values.append(try value(type: elementType, field: field, depth: depth + 1)) }
            return .array(values)
        case 10: return .unsigned(try load(UInt64.self, field))
        case 11: return .signed(try load(Int64.self, field))
        case 12: return .float(Double(bitPattern: try load(UInt64.self, field)))
        default: throw fail("\(field): unknown value type \(type)", at: position - 4)
        }
    }

    /// The fewest bytes one value of a type takes (0 for an unknown type).
    static func minimumSize(of type: UInt32) -> Int {
        switch type {
        case 0, 1, 7: 1
        case 2, 3: 2
        case 4, 5, 6: 4
        case 8, 10, 11, 12: 8
        case 9: 12
        default: 0
        }
    }
}

/// ggml's tensor types: names and block layouts (`ggml/src/ggml.c`, `type_traits`), for the directory's byte counts
/// and error messages.
///
/// Which of them the engine computes with is the engine's business.
public enum GGMLTypeTable {
    /// Elements and bytes of one block of `type`, where ggml defines it.
    public static func layout(_ type: Int) -> (elements: Int, bytes: Int)? {
        switch type {
        case 0: (1, 4)  // f32
        case 1: (1, 2)  // f16
        case 2: (32, 18)  // q4_0
        case 3: (32, 20)  // q4_1
        case 6: (32, 22)  // q5_0
        case 7: (32, 24)  // q5_1
        case 8: (32, 34)  // q8_0
        case 9: (32, 36)  // q8_1
        case 10: (256, 84)  // q2_K
        case 11: (256, 110)  // q3_K
        case 12: (256, 144)  // q4_K
        case 13: (256, 176)  // q5_K
        case 14: (256, 210)  // q6_K
        case 15: (256, 292)  // q8_K
        case 24: (1, 1)  // i8
        case 25: (1, 2)  // i16
        case 26: (1, 4)  // i32
        case 27: (1, 8)  // i64
        case 28: (1, 8)  // f64
        case 30: (1, 2)  // bf16
        default: nil
        }
    }

    /// The type's name as ggml prints it (`q4_K`), or `type N`.
    public static func name(_ type: Int) -> String {
        let names: [Int: String] = [
            0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 6: "q5_0", 7: "q5_1", 8: "q8_0", 9: "q8_1", 10: "q2_K",
            11: "q3_K", 12: "q4_K", 13: "q5_K", 14: "q6_K", 15: "q8_K", 16: "iq2_xxs", 17: "iq2_xs", 18: "iq3_xxs",
            19: "iq1_s", 20: "iq4_nl", 21: "iq3_s", 22: "iq2_s", 23: "iq4_xs", 24: "i8", 25: "i16", 26: "i32",
            27: "i64", 28: "f64", 29: "iq1_m", 30: "bf16", 34: "tq1_0", 35: "tq2_0", 39: "mxfp4",
        ]
        return names[type] ?? "type \(type)"
    }
}
