import Foundation
import GGUF
import Testing

/// GGUF bytes built by hand (little-endian, ggml's `docs/gguf.md` layout), so a test controls every field: every
/// metadata value type, nested arrays, alignment, tensor offsets, and the errors of malformed keys and values.
struct GGUFReaderTests {
    struct Builder {
        var bytes: [UInt8] = []

        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func string(_ s: [UInt8]) {
            u64(UInt64(s.count))
            bytes += s
        }
        mutating func string(_ s: String) { string(Array(s.utf8)) }
        mutating func pad(to alignment: Int) {
            while bytes.count % alignment != 0 { bytes.append(0) }
        }

        init(tensors: UInt64, keys: UInt64, version: UInt32 = 3) {
            u32(0x4655_4747)
            u32(version)
            u64(tensors)
            u64(keys)
        }
    }

    /// A file with every metadata type, nested arrays and two tensors (F32 2×3, Q8_0 2×32) at alignment 64.
    static func goodFile() -> [UInt8] {
        var b = Builder(tensors: 2, keys: 15)
        b.string("general.architecture")
        b.u32(8)
        b.string("llama")
        b.string("general.alignment")
        b.u32(4)
        b.u32(64)
        let scalars: [(String, UInt32, [UInt8])] = [
            ("u8", 0, [200]), ("i8", 1, [0xFE]), ("u16", 2, [0x34, 0x12]), ("i16", 3, [0xFF, 0xFF]),
            ("u32", 4, [1, 0, 0, 0]), ("i32", 5, [0xFB, 0xFF, 0xFF, 0xFF]), ("bool", 7, [1]),
            ("u64", 10, [7, 0, 0, 0, 0, 0, 0, 0]), ("i64", 11, [0xF9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        ]
        for (key, type, payload) in scalars {
            b.string(key)
            b.u32(type)
            b.bytes += payload
        }
        b.string("f32")
        b.u32(6)
        b.u32(Float(1.5).bitPattern)
        b.string("f64")
        b.u32(12)
        b.u64(Double(-2.25).bitPattern)
        b.string("tokens")  // strings, one of them not valid UTF-8 on its own (a byte-level piece)
        b.u32(9)
        b.u32(8)
        b.u64(3)
        for s in [Array("<s>".utf8), Array("é".utf8), [0xC3]] { b.string(s) }
        b.string("nested")  // [[1, 2] as u8, ["x"]]
        b.u32(9)
        b.u32(9)
        b.u64(2)
        b.u32(0)
        b.u64(2)
        b.bytes += [1, 2]
        b.u32(8)
        b.u64(1)
        b.string("x")
        b.string("a")
        b.u32(2)
        b.u64(3)
        b.u64(2)
        b.u32(0)
        b.u64(0)
        b.string("q")
        b.u32(2)
        b.u64(32)
        b.u64(2)
        b.u32(8)
        b.u64(64)
        b.pad(to: 64)
        for i in 0..<6 { b.u32(Float(i).bitPattern) }
        b.pad(to: 64)
        b.bytes += [UInt8](repeating: 9, count: 68)
        return b.bytes
    }

    static func parse(_ bytes: [UInt8], _ name: String = #function) throws(GGUFError) -> GGUFFile {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString).gguf")
        try? Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try GGUFFile(path: url.path)
    }

    @Test func everyValueTypeAndTheDirectory() throws {
        let file = try Self.parse(Self.goodFile())
        #expect(file.version == 3)
        #expect(file.dataOffset % 64 == 0)
        #expect(file.keys.first == "general.architecture" && file.keys.count == 15)
        #expect(file.metadata["general.architecture"]?.string == "llama")
        #expect(file.metadata["u8"] == .unsigned(200))
        #expect(file.metadata["i8"] == .signed(-2))
        #expect(file.metadata["u16"]?.integer == 0x1234)
        #expect(file.metadata["i16"]?.integer == -1)
        #expect(file.metadata["u32"]?.integer == 1)
        #expect(file.metadata["i32"]?.integer == -5)
        #expect(file.metadata["u64"]?.integer == 7)
        #expect(file.metadata["i64"]?.integer == -7)
        #expect(file.metadata["bool"] == .bool(true))
        #expect(file.metadata["f32"]?.double == 1.5)
        #expect(file.metadata["f64"]?.double == -2.25)
        #expect(file.metadata["tokens"]?.array?.compactMap(\.bytes) == [Array("<s>".utf8), Array("é".utf8), [0xC3]])
        #expect(file.metadata["nested"] == .array([.array([.unsigned(1), .unsigned(2)]), .array([.string([120])])]))
        let a = try #require(file.tensor(named: "a"))
        #expect(a.dimensions == [3, 2] && a.shape == [2, 3] && a.byteCount == 24 && a.typeName == "f32")
        let values = (0..<6).map {
            Float(bitPattern: file.bytes(of: a).loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))
        }
        #expect(values == [0, 1, 2, 3, 4, 5])
        let q = try #require(file.tensor(named: "q"))
        #expect(q.byteCount == 68 && q.offset == 64 && q.typeName == "q8_0")
        #expect(file.bytes(of: q).load(as: UInt8.self) == 9)
    }

    /// Each damage is an error naming the field, at the offset where reading stopped.
    @Test func malformedFilesNameTheField() throws {
        func message(_ bytes: [UInt8]) -> String? {
            do {
                _ = try Self.parse(bytes)
                return nil
            } catch {
                return error.message
            }
        }
        let good = Self.goodFile()
        // A boolean byte that is neither 0 nor 1.
        var bad = good
        let bool = try #require(bad.firstRange(of: Array("bool".utf8))).upperBound + 4
        bad[bool] = 2
        #expect(message(bad)?.contains("boolean byte 2") == true)
        // An unknown value type.
        bad = good
        let u8 = try #require(bad.firstRange(of: Array("u8".utf8))).upperBound
        bad[u8] = 13
        #expect(message(bad)?.contains("unknown value type 13") == true)
        // An unknown array element type.
        bad = good
        let tokens = try #require(bad.firstRange(of: Array("tokens".utf8))).upperBound + 4
        bad[tokens] = 77
        #expect(message(bad)?.contains("unknown array element type 77") == true)
        // A duplicate key.
        bad = good
        let i16 = try #require(bad.firstRange(of: Array("i16".utf8)))
        bad.replaceSubrange(i16, with: Array("i32".utf8))
        #expect(message(bad)?.contains("duplicate") == true)
        // An alignment that is not a power of two.
        bad = good
        let alignment = try #require(bad.firstRange(of: Array("general.alignment".utf8))).upperBound + 4
        bad[alignment] = 48
        #expect(message(bad)?.contains("power of two") == true)
        // Five dimensions; a row that is not whole Q8_0 blocks; a tensor offset past the file.
        bad = good
        let q = try #require(bad.lastRange(of: [1, 0, 0, 0, 0, 0, 0, 0, 0x71])).upperBound
        bad[q] = 5
        #expect(message(bad)?.contains("5 dimensions") == true)
        bad = good
        bad[q + 4] = 31
        #expect(message(bad)?.contains("not whole q8_0 blocks") == true)
        bad = good
        bad[q + 24] = 0xFF
        bad[q + 25] = 0xFF
        #expect(message(bad)?.contains("past the file") == true)
        // Version 1 is refused; version 2 reads.
        bad = good
        bad[4] = 1
        #expect(message(bad)?.contains("version: 1 is not supported") == true)
        bad[4] = 2
        #expect(message(bad) == nil)
    }
}

extension Array where Element == UInt8 {
    func lastRange(of needle: [UInt8]) -> Range<Int>? {
        guard needle.count <= count else { return nil }
        for start in stride(from: count - needle.count, through: 0, by: -1)
        where self[start..<(start + needle.count)].elementsEqual(needle) {
            return start..<(start + needle.count)
        }
        return nil
    }
}
