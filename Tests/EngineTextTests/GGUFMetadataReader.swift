import EngineText
import Foundation

/// Reads the `tokenizer.ggml.*` metadata of a GGUF file (version 2 or 3) for the tests: the header and key/value
/// section of llama.cpp's format (ggml `docs/gguf.md`), nothing of the tensors.
enum GGUFMetadataReader {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    enum Value {
        case int(Int)
        case float(Double)
        case bool(Bool)
        case string([UInt8])
        case array([Value])
    }

    static func read(_ path: String) throws -> GGUFTokenizerMetadata {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "\(path): unreadable")
        }
        let bytes = [UInt8](data)
        var position = 0
        func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard position + count <= bytes.count else { throw Failure(description: "\(path):\(position): truncated") }
            defer { position += count }
            return bytes[position..<(position + count)]
        }
        func integer(_ count: Int) throws -> UInt64 {
            var value: UInt64 = 0
            for (shift, byte) in try take(count).enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
            return value
        }
        func string() throws -> [UInt8] { Array(try take(Int(try integer(8)))) }
        func value(_ type: UInt64) throws -> Value {
            switch type {
            case 0, 1: return .int(Int(try integer(1)))
            case 2, 3: return .int(Int(try integer(2)))
            case 4: return .int(Int(try integer(4)))
            case 5: return .int(Int(Int32(truncatingIfNeeded: try integer(4))))
            case 6: return .float(Double(Float(bitPattern: UInt32(try integer(4)))))
            case 7: return .bool(try integer(1) != 0)
            case 8: return .string(try string())
            case 9:
                let elementType = try integer(4)
                let count = Int(try integer(8))
                var values: [Value] = []
                values.reserveCapacity(count)
                for _ in 0..<count { values.append(try value(elementType)) }
                return .array(values)
            case 10, 11: return .int(Int(truncatingIfNeeded: try integer(8)))
            case 12: return .float(Double(bitPattern: try integer(8)))
            default: throw Failure(description: "\(path):\(position): unknown value type \(type)")
            }
        }
        guard Array(try take(4)) == Array("GGUF".utf8) else { throw Failure(description: "\(path): not GGUF") }
        _ = try integer(4)
        _ = try integer(8)
        let count = try integer(8)
        var values: [String: Value] = [:]
        for _ in 0..<count {
            let key = String(decoding: try string(), as: UTF8.self)
            values[key] = try value(try integer(4))
        }
        func text(_ key: String) -> String? {
            if case .string(let b) = values[key] { return String(decoding: b, as: UTF8.self) }
            return nil
        }
        func int(_ key: String) -> Int? {
            if case .int(let v) = values[key] { return v }
            return nil
        }
        func bool(_ key: String) -> Bool? {
            if case .bool(let v) = values[key] { return v }
            return nil
        }
        func strings(_ key: String) -> [[UInt8]]? {
            guard case .array(let items) = values[key] else { return nil }
            return items.compactMap { if case .string(let b) = $0 { b } else { nil } }
        }
        guard let model = text("tokenizer.ggml.model"), let tokens = strings("tokenizer.ggml.tokens") else {
            throw Failure(description: "\(path): no tokenizer.ggml.model or tokens")
        }
        var metadata = GGUFTokenizerMetadata(model: model, pre: text("tokenizer.ggml.pre"), tokens: tokens)
        if case .array(let items) = values["tokenizer.ggml.scores"] {
            metadata.scores = items.map { if case .float(let v) = $0 { Float(v) } else { 0 } }
        }
        if case .array(let items) = values["tokenizer.ggml.token_type"] {
            metadata.tokenTypes = items.map { if case .int(let v) = $0 { Int32(v) } else { 1 } }
        }
        metadata.merges = strings("tokenizer.ggml.merges")
        metadata.bosID = int("tokenizer.ggml.bos_token_id")
        metadata.eosID = int("tokenizer.ggml.eos_token_id")
        metadata.unknownID = int("tokenizer.ggml.unknown_token_id")
        metadata.addBOS = bool("tokenizer.ggml.add_bos_token")
        metadata.addEOS = bool("tokenizer.ggml.add_eos_token")
        metadata.addSpacePrefix = bool("tokenizer.ggml.add_space_prefix")
        return metadata
    }
}
