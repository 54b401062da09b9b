internal import Foundation

/// Where a model's weights come from: named tensors in Hugging Face naming (`model.layers.0.self_attn.q_proj.weight`),
/// each a ``TensorView`` over bytes the source keeps alive.
///
/// A folder of safetensors files is one (``SafeTensorsFolder``); a GGUF file is another, its tensors renamed to
/// these names and their shapes given outermost first.
public protocol TensorSource {
    /// Every tensor's name.
    var tensorNames: [String] { get }

    /// The tensor named `name`, or `nil` when the source has none.
    ///
    /// - Throws: ``EngineError`` when the tensor exists but cannot be presented (an unsupported type).
    func tensor(_ name: String) throws(EngineError) -> TensorView?

    /// How the rows of the query and key projections pair the dimensions that rotary embeddings rotate together.
    var rotaryLayout: RotaryLayout { get }

    /// Called after a tensor has been converted into memory of the engine's own (quantized at load): the source
    /// may drop its pages from the resident set.
    func release(_ name: String)
}

extension TensorSource {
    /// Hugging Face's layout, `.halves`.
    public var rotaryLayout: RotaryLayout { .halves }

    /// Does nothing.
    public func release(_ name: String) {}
}

/// How rotary embeddings pair dimensions within a head.
public enum RotaryLayout: Sendable, Hashable {
    /// Dimension `i` with `i + head_dim / 2` (transformers' `rotate_half`; Hugging Face checkpoints).
    case halves
    /// Dimension `2i` with `2i + 1` (llama.cpp's converter permutes Llama's query and key rows this way).
    case interleaved
}

/// The tensors of a model folder: one `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
public struct SafeTensorsFolder: TensorSource {
    /// The files, in the order of their names.
    public let files: [SafeTensorsFile]
    private let owner: [String: Int]

    /// Maps the folder's safetensors files.
    ///
    /// - Throws: ``EngineError`` for a missing or malformed file.
    public init(folder: String) throws(EngineError) {
        let index = folder + "/model.safetensors.index.json"
        var names: [String] = []
        if let data = FileManager.default.contents(atPath: index) {
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let map = json["weight_map"] as? [String: String]
            else { throw EngineError(.invalidFile, "\(index) has no weight_map") }
            names = Array(Set(map.values)).sorted()
        } else {
            names = ["model.safetensors"]
        }
        var files: [SafeTensorsFile] = []
        var owner: [String: Int] = [:]
        for name in names {
            let file = try SafeTensorsFile(path: folder + "/" + name)
            for tensor in file.entries.keys { owner[tensor] = files.count }
            files.append(file)
        }
        self.files = files
        self.owner = owner
    }

    /// Every tensor's name, sorted.
    public var tensorNames: [String] { owner.keys.sorted() }

    /// The tensor where it lies in its file.
    public func tensor(_ name: String) throws(EngineError) -> TensorView? {
        guard let i = owner[name] else { return nil }
        return try files[i].view(name)
    }

    /// Drops the tensor's pages from the resident set.
    public func release(_ name: String) {
        guard let i = owner[name], let range = files[i].fileRange(name) else { return }
        files[i].file.release(range)
    }

    /// Bytes of all files.
    public var byteCount: Int { files.reduce(0) { $0 + $1.file.length } }
}
