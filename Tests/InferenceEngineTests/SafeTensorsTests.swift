import Foundation
import InferenceEngine
import Testing

/// Writes safetensors files by hand (the format: an 8-byte little-endian header length, a JSON header, raw data).
enum SafeTensorsWriter {
    static func write(_ tensors: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])], to url: URL) throws {
        var header: [String: Any] = [:]
        var data: [UInt8] = []
        for tensor in tensors {
            header[tensor.name] = [
                "dtype": tensor.dtype, "shape": tensor.shape,
                "data_offsets": [data.count, data.count + tensor.bytes.count],
            ]
            data += tensor.bytes
        }
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var length = UInt64(json.count).littleEndian
        var file = Data(bytes: &length, count: 8)
        file += json
        file += Data(data)
        try file.write(to: url)
    }

    static func floats(_ values: [Float]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } }
    }
}

struct SafeTensorsTests {
    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func halfAndBFloat16AreWidenedExactly() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let values: [Float] = [1, -2.5, 0.15625, 65504]
        let f16 = values.flatMap { withUnsafeBytes(of: Float16($0).bitPattern.littleEndian) { Array($0) } }
        let bf16 = values.flatMap { withUnsafeBytes(of: UInt16($0.bitPattern >> 16).littleEndian) { Array($0) } }
        let url = folder.appendingPathComponent("t.safetensors")
        try SafeTensorsWriter.write([("a", "F16", [4], f16), ("b", "BF16", [2, 2], bf16)], to: url)
        let file = try SafeTensorsFile(path: url.path)
        #expect(file.floats("a") == values)
        #expect(file.floats("b") == values.map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) })
        #expect(file.entries["b"]?.shape == [2, 2])
    }

    @Test func unsupportedDTypeAndInconsistentOffsetsAreRefused() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("t.safetensors")
        try SafeTensorsWriter.write([("a", "I64", [1], [UInt8](repeating: 0, count: 8))], to: url)
        #expect { _ = try SafeTensorsFile(path: url.path) } throws: { ($0 as? EngineError)?.code == .unsupportedDType }
        try SafeTensorsWriter.write([("a", "F32", [3], SafeTensorsWriter.floats([1, 2]))], to: url)
        #expect { _ = try SafeTensorsFile(path: url.path) } throws: { ($0 as? EngineError)?.code == .invalidFile }
    }

    /// A refused file leaves no mapping behind, and a tensor view keeps its file mapped.
    ///
    /// Issue 15: a malformed header unmapped the file twice (once in the failing branch, once in `deinit`). The
    /// mapping now has one owner, ``MappedFile``, unmapped once in its `deinit`.
    @Test func malformedHeadersLeaveNoMappingBehind() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("bad-\(UUID().uuidString).safetensors")
        func mapped() throws -> Bool {
            // procfs reports a size of 0: read to the end rather than by size.
            let maps = try #require(FileHandle(forReadingAtPath: "/proc/self/maps")).readDataToEndOfFile()
            return String(decoding: maps, as: UTF8.self).contains(url.lastPathComponent)
        }
        let header = Array("{not json}".utf8)
        var notJSON = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
        notJSON += [UInt8](repeating: 0, count: 64)
        let writers: [(String, () throws -> Void)] = [
            ("not JSON", { try Data(notJSON).write(to: url) }),
            (
                "malformed entry",
                { try SafeTensorsWriter.write([("a", "F32", [2], [1, 2, 3, 4, 5, 6, 7, 8])], to: url) }
            ),
            ("bad dtype", { try SafeTensorsWriter.write([("a", "I8", [1], [1])], to: url) }),
        ]
        for (label, write) in writers {
            try write()
            if label == "malformed entry" {
                // Damage the entry after writing a valid file: shape and offsets disagree.
                var bytes = try Data(contentsOf: url)
                let text = String(decoding: bytes, as: UTF8.self)
                let fixed = text.replacingOccurrences(of: "[2]", with: "[\"x\"]")
                bytes = Data(fixed.utf8)
                try bytes.write(to: url)
            }
            #expect(throws: EngineError.self, "\(label)") { _ = try SafeTensorsFile(path: url.path) }
            #expect(try !mapped(), "\(label): the mapping is released")
        }
        try SafeTensorsWriter.write([("a", "F32", [2], SafeTensorsWriter.floats([1, 2]))], to: url)
        var file: SafeTensorsFile? = try SafeTensorsFile(path: url.path)
        #expect(try mapped())
        let view = try #require(try file?.view("a"))
        file = nil
        #expect(try mapped(), "a tensor view keeps its file mapped")
        #expect(view.floats() == [1, 2])
    }

    /// A checkpoint split into two shards with `model.safetensors.index.json` loads like the single file.
    @Test func shardedCheckpointsLoadLikeOneFile() throws {
        let source = ReferenceModelTests.fixtures.appendingPathComponent("llama")
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(
            at: source.appendingPathComponent("config.json"),
            to: folder.appendingPathComponent("config.json")
        )
        let whole = try SafeTensorsFile(path: source.appendingPathComponent("model.safetensors").path)
        let names = whole.entries.keys.sorted()
        var weightMap: [String: String] = [:]
        for (index, part) in [Array(names.prefix(names.count / 2)), Array(names.dropFirst(names.count / 2))]
            .enumerated()
        {
            let shard = "model-0000\(index + 1)-of-00002.safetensors"
            let tensors = part.map { name in
                (
                    name: name, dtype: "F32", shape: whole.entries[name]?.shape ?? [],
                    bytes: SafeTensorsWriter.floats(whole.floats(name) ?? [])
                )
            }
            try SafeTensorsWriter.write(tensors, to: folder.appendingPathComponent(shard))
            for name in part { weightMap[name] = shard }
        }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": weightMap])
        try index.write(to: folder.appendingPathComponent("model.safetensors.index.json"))
        let sharded = try CausalLM(folder: folder.path)
        let single = try CausalLM(folder: source.path)
        var a = sharded.makeCache()
        var b = single.makeCache()
        #expect(try sharded.prefill([1, 5, 9], cache: &a) == (try single.prefill([1, 5, 9], cache: &b)))
    }
}
