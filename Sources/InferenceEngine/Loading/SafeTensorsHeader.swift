internal import Foundation

/// The header of a `.safetensors` file, decoded through `Codable` and checked against the file's length.
///
/// The format (safetensors' README, "Format"): 8 bytes of little-endian header length `N`, `N` bytes of JSON mapping
/// tensor names to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the data after the header)
/// plus an optional `__metadata__` map of strings, then the data.
enum SafeTensorsHeader {
    /// One entry of the JSON header.
    private struct RawEntry: Decodable {
        var dtype: String
        var shape: [Int]
        var dataOffsets: [Int]

        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case dataOffsets = "data_offsets"
        }
    }

    /// Any key of the header's JSON object.
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The header's tensors, decoded one by one so that an error names its tensor.
    private struct Tensors: Decodable {
        var entries: [(name: String, result: Result<RawEntry, any Error>)]

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            entries = container.allKeys.filter { $0.stringValue != "__metadata__" }.sorted {
                $0.stringValue < $1.stringValue
            }
            .map { key in (key.stringValue, Result { try container.decode(RawEntry.self, forKey: key) }) }
        }
    }

    /// Validates the header at the start of a file of `length` bytes.
    ///
    /// - Parameters:
    ///   - bytes: The file's first byte.
    ///   - length: The file's length in bytes.
    ///   - path: The file path, for messages.
    /// - Returns: The tensors by name, and the offset of the data section.
    /// - Throws: ``EngineError``: `.truncatedFile` when the header or a tensor does not fit in the file,
    ///   `.invalidFile` for a header that is not a JSON object of entries (naming the tensor and the field), a negative
    ///   dimension, or a byte range that does not match the shape, `.unsupportedDType` for a dtype other than F32, F16
    ///   and BF16. Sizes are checked without overflow, whatever the numbers.
    static func parse(
        _ bytes: UnsafeRawPointer,
        length: Int,
        path: String
    ) throws(EngineError) -> (entries: [String: SafeTensorsFile.Entry], dataOffset: Int) {
        guard length >= 8 else {
            throw EngineError(.truncatedFile, "\(path) is \(length) bytes, shorter than a safetensors header")
        }
        let declared = bytes.loadUnaligned(as: UInt64.self).littleEndian
        guard declared > 0, declared <= UInt64(length - 8) else {
            throw EngineError(.truncatedFile, "\(path): header of \(declared) bytes does not fit in \(length) bytes")
        }
        let headerLength = Int(declared)
        let dataOffset = 8 + headerLength
        let tensors: Tensors
        do {
            tensors = try JSONDecoder().decode(Tensors.self, from: Data(bytes: bytes + 8, count: headerLength))
        } catch {
            throw EngineError(.invalidFile, "\(path): the header is not a JSON object of tensors")
        }
        var entries: [String: SafeTensorsFile.Entry] = [:]
        for (name, result) in tensors.entries {
            let raw: RawEntry
            switch result {
            case .success(let entry): raw = entry
            case .failure(let error):
                throw EngineError(
                    .invalidFile,
                    "\(path): malformed entry for tensor \(name): \(ModelConfig.describe(error))"
                )
            }
            let size: Int
            switch raw.dtype {
            case "F32": size = 4
            case "F16", "BF16": size = 2
            default:
                throw EngineError(
                    .unsupportedDType,
                    "\(path): tensor \(name) has dtype \(raw.dtype); supported: F32, F16, BF16"
                )
            }
            guard raw.dataOffsets.count == 2 else {
                throw EngineError(.invalidFile, "\(path): tensor \(name): data_offsets must be [begin, end]")
            }
            let (begin, end) = (raw.dataOffsets[0], raw.dataOffsets[1])
            var byteCount: Int? = size
            for dimension in raw.shape {
                guard let count = byteCount, dimension >= 0 else {
                    byteCount = nil
                    break
                }
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                byteCount = overflow ? nil : product
            }
            guard let byteCount, begin >= 0, end >= begin, end - begin == byteCount else {
                throw EngineError(
                    .invalidFile,
                    "\(path): tensor \(name) has byte range \(raw.dataOffsets) for shape \(raw.shape) of \(raw.dtype)"
                )
            }
            guard end <= length - dataOffset else {
                throw EngineError(
                    .truncatedFile,
                    "\(path) is truncated: tensor \(name) ends at byte \(dataOffset) + \(end) of \(length)"
                )
            }
            entries[name] = SafeTensorsFile.Entry(dtype: raw.dtype, shape: raw.shape, begin: begin, end: end)
        }
        return (entries, dataOffset)
    }
}
