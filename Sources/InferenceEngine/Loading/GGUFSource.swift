internal import Foundation
public import GGUF

/// The tensors of a GGUF file under Hugging Face names, where the file maps them: no copy, no conversion.
///
/// Names follow llama.cpp's tensor map (`gguf-py/gguf/tensor_mapping.py`): `token_embd`, `blk.N.attn_q`, … Phi-3's
/// fused `attn_qkv` and `ffn_up` (gate and up) are the HF `qkv_proj` and `gate_up_proj`. llama.cpp's converter
/// permutes the query and key rows of the `llama` architecture (`LlamaModel.permute` in `convert_hf_to_gguf.py`) so
/// that rotary pairs are adjacent; the source says so through ``rotaryLayout`` and the engine rotates accordingly,
/// which gives the same attention scores without touching the rows.
public struct GGUFSource: TensorSource {
    /// The file.
    public let file: GGUFFile
    private let names: [String: String]

    /// Wraps a parsed file.
    public init(file: GGUFFile) {
        self.file = file
        var names: [String: String] = [:]
        for tensor in file.tensors {
            if let hf = Self.huggingFaceName(tensor.name, architecture: file.architecture ?? "") {
                names[hf] = tensor.name
            }
        }
        self.names = names
    }

    /// The Hugging Face names of the tensors the file has, sorted.
    public var tensorNames: [String] { names.keys.sorted() }

    /// `.interleaved` for the `llama` architecture (its converter permutes query and key rows), else `.halves`.
    public var rotaryLayout: RotaryLayout { file.architecture == "llama" ? .interleaved : .halves }

    /// Drops the tensor's pages from the resident set (after the engine converted or interleaved it).
    public func release(_ name: String) {
        guard let ggufName = names[name], let info = file.tensor(named: ggufName) else { return }
        file.release(info)
    }

    /// The tensor where the file maps it.
    ///
    /// - Throws: ``EngineError`` (`unsupportedDType`) naming the tensor and its type when the engine has no kernel
    ///   for that type.
    public func tensor(_ name: String) throws(EngineError) -> TensorView? {
        guard let ggufName = names[name], let info = file.tensor(named: ggufName) else { return nil }
        guard let type = Int32(exactly: info.type).flatMap(TensorType.init(rawValue:)), type != .q8_K,
            !type.isInterleaved,
            let byteCount = info.byteCount
        else {
            throw EngineError(
                .unsupportedDType,
                "\(file.path): tensor \(ggufName) has type \(info.typeName); supported: "
                    + "f32, f16, bf16, q8_0, q4_0, q4_K, q6_K"
            )
        }
        return try TensorView(
            name: ggufName,
            type: type,
            shape: info.shape,
            bytes: file.bytes(of: info),
            byteCount: byteCount,
            owner: file
        )
    }

    /// The Hugging Face name of a GGUF tensor of the model architectures the engine runs, or `nil`.
    public static func huggingFaceName(_ name: String, architecture: String) -> String? {
        let global = [
            "token_embd.weight": "model.embed_tokens.weight",
            "output_norm.weight": "model.norm.weight",
            "output.weight": "lm_head.weight",
        ]
        if let hf = global[name] { return hf }
        let parts = name.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]) else { return nil }
        let rest = parts[2]
        let suffix: String
        if rest.hasSuffix(".weight") {
            suffix = ".weight"
        } else if rest.hasSuffix(".bias") {
            suffix = ".bias"
        } else {
            return nil
        }
        let module: String
        switch rest.dropLast(suffix.count) {
        case "attn_norm": module = "input_layernorm"
        case "ffn_norm": module = "post_attention_layernorm"
        case "attn_q": module = "self_attn.q_proj"
        case "attn_k": module = "self_attn.k_proj"
        case "attn_v": module = "self_attn.v_proj"
        case "attn_qkv": module = "self_attn.qkv_proj"
        case "attn_output": module = "self_attn.o_proj"
        case "ffn_gate": module = "mlp.gate_proj"
        case "ffn_up": module = architecture == "phi3" ? "mlp.gate_up_proj" : "mlp.up_proj"
        case "ffn_down": module = "mlp.down_proj"
        default: return nil
        }
        return "model.layers.\(layer).\(module)\(suffix)"
    }
}

extension ModelConfig {
    /// The configuration stored in a GGUF file's metadata (`{arch}.context_length`, `{arch}.block_count`, …), for
    /// the architectures llama (Llama and Mistral), qwen2 and phi3.
    ///
    /// Llama 3's rotary scaling arrives as the `rope_freqs` tensor (one divisor per frequency), Phi-3's long-rope
    /// factors as `rope_factors_long`/`rope_factors_short`; a sliding window is honoured where the file states one
    /// (llama.cpp's converter does not write Mistral's).
    ///
    /// - Throws: ``EngineError`` (`unsupportedArchitecture`, `invalidFile`) naming the key that is missing or wrong.
    public init(gguf file: GGUFFile) throws(EngineError) {
        let arch = file.architecture ?? ""
        let architecture: Architecture
        switch arch {
        case "llama": architecture = .llama
        case "qwen2": architecture = .qwen2
        case "phi3": architecture = .phi3
        default:
            throw EngineError(
                .unsupportedArchitecture,
                "\(file.path): general.architecture \(arch.isEmpty ? "is missing" : "is \(arch)"); supported: llama, "
                    + "qwen2, phi3"
            )
        }
        func int(_ key: String) throws(EngineError) -> Int {
            guard let value = file.integer("\(arch).\(key)"), value > 0 else {
                throw EngineError(.invalidFile, "\(file.path): \(arch).\(key) is missing or not a positive integer")
            }
            return value
        }
        func factors(_ name: String) throws(EngineError) -> [Float]? {
            guard let info = file.tensor(named: name) else { return nil }
            guard info.type == 0, let count = info.byteCount.map({ $0 / 4 }) else {
                throw EngineError(.invalidFile, "\(file.path): tensor \(name) must be f32, is \(info.typeName)")
            }
            let bytes = file.bytes(of: info)
            return (0..<count).map {
                Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
            }
        }
        let hidden = try int("embedding_length")
        let heads = try int("attention.head_count")
        let tokens = file.metadata["tokenizer.ggml.tokens"]?.array?.count
        guard
            let vocabulary = file.integer("\(arch).vocab_size") ?? tokens
                ?? file.tensor(named: "token_embd.weight")?.shape.first
        else { throw EngineError(.invalidFile, "\(file.path): no vocabulary size (\(arch).vocab_size)") }
        let headDimension = file.integer("\(arch).attention.key_length") ?? hidden / heads
        let context = try int("context_length")
        var scaling = RopeScaling.none
        if let divisors = try factors("rope_freqs.weight") {
            guard divisors.count == headDimension / 2 else {
                throw EngineError(
                    .invalidFile,
                    "\(file.path): rope_freqs has \(divisors.count) entries, expected \(headDimension / 2)"
                )
            }
            scaling = .frequencyFactors(divisors)
        } else if let long = try factors("rope_factors_long.weight"),
            let short = try factors("rope_factors_short.weight")
        {
            guard long.count == headDimension / 2, short.count == headDimension / 2 else {
                throw EngineError(
                    .invalidFile,
                    "\(file.path): long-rope factors must have \(headDimension / 2) entries"
                )
            }
            let original = file.integer("\(arch).rope.scaling.original_context_length") ?? context
            let scale = Float(context) / Float(original)
            let attention =
                file.float("\(arch).rope.scaling.attn_factor").map(Float.init)
                ?? (scale <= 1 ? 1 : (1 + log(scale) / log(Float(original))).squareRoot())
            scaling = .longrope(
                shortFactor: short,
                longFactor: long,
                originalContext: original,
                attentionFactor: attention
            )
        } else if file.string("\(arch).rope.scaling.type") == "linear",
            let factor = file.float("\(arch).rope.scaling.factor")
        {
            scaling = .linear(factor: Float(factor))
        }
        var eos: [Int] = []
        if let id = file.integer("tokenizer.ggml.eos_token_id") { eos.append(id) }
        if let id = file.integer("tokenizer.ggml.eot_token_id"), !eos.contains(id) { eos.append(id) }
        let window = file.integer("\(arch).attention.sliding_window") ?? 0
        self.architecture = architecture
        vocabularySize = vocabulary
        hiddenSize = hidden
        intermediateSize = try int("feed_forward_length")
        layerCount = try int("block_count")
        headCount = heads
        keyValueHeadCount = file.integer("\(arch).attention.head_count_kv") ?? heads
        self.headDimension = headDimension
        rmsNormEpsilon = Float(file.float("\(arch).attention.layer_norm_rms_epsilon") ?? 1e-5)
        ropeTheta = Float(file.float("\(arch).rope.freq_base") ?? 10000)
        ropeScaling = scaling
        maxPositionEmbeddings = context
        slidingWindow = window > 0 && architecture != .phi3 ? window : nil
        tieWordEmbeddings = file.tensor(named: "output.weight") == nil
        bosTokenID = file.integer("tokenizer.ggml.bos_token_id")
        eosTokenIDs = eos
    }
}

extension CausalLM {
    /// Loads a `.gguf` file: the configuration from its metadata, the weights where the file maps them.
    ///
    /// - Throws: ``EngineError`` for a malformed file (with the byte offset), an unsupported architecture or tensor
    ///   type (naming the tensor), or a missing tensor.
    public convenience init(gguf path: String, options: LoadOptions = LoadOptions()) throws(EngineError) {
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch {
            throw EngineError(.invalidFile, error.description)
        }
        try self.init(config: try ModelConfig(gguf: file), source: GGUFSource(file: file), options: options)
    }
}
