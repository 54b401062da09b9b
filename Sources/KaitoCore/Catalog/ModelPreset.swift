/// The vLLM facts of a preset (docs/reference/kaito.md section 2.2 and 4.4).
public struct VLLMParameters: Sendable, Hashable {
    /// `--dtype`: `bfloat16`, `float16` or `auto`.
    public var dtype: String?
    /// `--load_format`.
    public var loadFormat: String = "auto"
    /// `--config_format`.
    public var configFormat: String = "auto"
    /// `--tokenizer_mode`.
    public var tokenizerMode: String = "auto"
    /// `--tool-call-parser` (adds `--enable-auto-tool-choice`).
    public var toolCallParser: String?
    /// `--reasoning-parser`.
    public var reasoningParser: String?
    /// Chat template file name under `/workspace/chat_templates/`.
    public var chatTemplate: String?
    /// Extra flags, each `key` or `key=value`.
    public var extraFlags: [String] = []
    /// `--kaito-kv-cache-cpu-memory-utilization=0` (hybrid KV cache or LMCache off).
    public var disableKVCacheOffload = false
    /// `VLLM_USE_DEEP_GEMM=1`.
    public var deepGEMM = false
    /// Needs the CUDA toolkit init container.
    public var cudaToolkit = false
    /// vLLM cannot serve LoRA adapters for this model (rule I6).
    public var disallowLoRA = false
    /// The model is never split across GPUs: no parallelism flags, the whole model on each GPU.
    ///
    /// The release's `DisableTensorParallelism` (Falcon-7B and Falcon-7B-instruct, whose 71 attention heads no GPU
    /// count divides).
    public var disableTensorParallelism = false
}

/// The transformers-runtime facts of a preset (docs/reference/kaito.md section 2.4).
public struct TransformersParameters: Sendable, Hashable {
    /// `ModelRunParams`, each `key` or `key=value`.
    public var runParams: [String] = []

    /// The value of one run parameter, for example `torch_dtype`.
    public func value(of key: String) -> String? {
        for param in runParams {
            let parts = param.split(separator: "=", maxSplits: 1)
            if parts.first.map(String.init) == key { return parts.count > 1 ? String(parts[1]) : "" }
        }
        return nil
    }
}

/// The tuning facts of a preset (docs/reference/kaito.md section 2.4, 2.7).
public struct TuningParameters: Sendable, Hashable {
    /// Node disk.
    public var diskStorageRequirement: Quantity?
    /// Memory the tuning run needs.
    public var totalSafeTensorFileSize: Quantity?
    /// Readiness timeout in minutes.
    public var readinessTimeoutMinutes: Double?
    /// Classic era: GPUs.
    public var gpuCountRequirement: Int?
    /// Classic era: total GPU memory.
    public var totalGPUMemoryRequirement: Quantity?
    /// Classic era: per-GPU memory.
    public var perGPUMemoryRequirement: Quantity?
}

/// What the compiler needs to run a preset on kaito-serve, the CPU engine (issue 6): the shape facts of the model's
/// `config.json` for the RAM estimate, the context it is served with, and where its image keeps the weights.
public struct KaitoServeParameters: Sendable, Hashable {
    /// Parameters, in billions.
    public var billionParameters: Double
    /// `num_hidden_layers`.
    public var layers: Int
    /// `num_key_value_heads`.
    public var keyValueHeads: Int
    /// `head_dim` (`hidden_size / num_attention_heads` when absent).
    public var headDimension: Int
    /// `--max-model-len`: the context served and sized for.
    public var maxModelLength: Int
    /// The folder of the Hugging Face weights inside the preset's image (presets with an image).
    public var weightsPath: String = "/workspace/tfs/weights"

    /// The weights as kaito-serve holds them: the checkpoint's own format (its safetensors size, `fileSize`; 2 bytes a
    /// parameter for the BF16/F16 checkpoints of Kaito's presets when the size is not in the catalog), or the block
    /// format `--quantization` converts them to (``KaitoServeQuantization/bitsPerWeight``).
    public func weightBytes(fileSize: Quantity?, quantization: KaitoServeQuantization?) -> Double {
        if let quantization { return billionParameters * 1e9 * quantization.bitsPerWeight / 8 }
        if let fileSize { return fileSize.value }
        return billionParameters * 1e9 * 2
    }

    /// The F32 KV cache of one sequence of `maxModelLength` tokens: keys and values of every layer.
    public var kvCacheBytes: Double {
        2 * Double(layers) * Double(keyValueHeads) * Double(headDimension) * 4 * Double(maxModelLength)
    }

    /// Weights + KV cache + headroom (1 GiB for the process, tokenizer and buffers, plus 10 %).
    public func memoryBytes(fileSize: Quantity?, quantization: KaitoServeQuantization?) -> Double {
        (weightBytes(fileSize: fileSize, quantization: quantization) + kvCacheBytes) * 1.1 + 1_073_741_824
    }
}

/// A weight format kaito-serve converts safetensors checkpoints to at load (`kaito-serve --quantization`), chosen
/// by a workspace's annotation `kaito.sh/kaito-serve-quantization`.
public enum KaitoServeQuantization: String, Sendable, Hashable, CaseIterable {
    /// GGUF `Q8_0`: blocks of 32 signed 8-bit weights with one F16 scale.
    case q8 = "q8_0"
    /// GGUF `Q4_0`: blocks of 32 4-bit weights with one F16 scale.
    case q4 = "q4_0"

    /// The annotation that chooses it.
    public static let annotation = "kaito.sh/kaito-serve-quantization"

    /// Bits a weight takes, block scale included: (32 × 8 + 16) / 32 = 8.5 and (32 × 4 + 16) / 32 = 4.5.
    public var bitsPerWeight: Double {
        switch self {
        case .q8: 8.5
        case .q4: 4.5
        }
    }
}

/// One model preset of a catalog.
public struct ModelPreset: Sendable, Hashable {
    /// The preset name: a Hugging Face id at HEAD, a short name in older eras.
    public var name: String
    /// Legacy names that resolve to this preset.
    public var aliases: [String] = []
    /// `--served-model-name`, the short name.
    public var servedModelName: String
    /// Family (v0.3.0).
    public var family: String?
    /// `TotalSafeTensorFileSize`.
    public var modelFileSize: Quantity?
    /// `DiskStorageRequirement`.
    public var diskStorageRequirement: Quantity?
    /// `ModelTokenLimit`.
    public var modelTokenLimit: Int?
    /// KV-cache bytes per token.
    public var bytesPerToken: Int?
    /// MHA, MQA, GQA or MLA.
    public var attention: String?
    /// `config.json` architectures.
    public var architectures: [String] = []
    /// Quantisation method, when quantised.
    public var quantization: String?
    /// Readiness timeout in minutes.
    public var readinessTimeoutMinutes: Double?
    /// Whether the model can span nodes.
    public var supportDistributedInference = false
    /// Weights are downloaded by the runtime.
    public var downloadAtRuntime = false
    /// Download needs an HF token (rule I8).
    public var downloadAuthRequired = false
    /// Legacy image tag.
    public var tag: String?
    /// `public` or `private` (v0.3.0).
    public var accessMode: String?
    /// Classic era: GPUs per replica.
    public var gpuCountRequirement: Int?
    /// Classic era: total GPU memory.
    public var totalGPUMemoryRequirement: Quantity?
    /// Classic era: per-GPU memory.
    public var perGPUMemoryRequirement: Quantity?
    /// v0.3.0 llama-2 world size.
    public var worldSize: Int?
    /// vLLM facts; `nil` when the preset does not run on vLLM in this era.
    public var vllm: VLLMParameters?
    /// Transformers facts; `nil` when not supported (rule I5).
    public var transformers: TransformersParameters?
    /// kaito-serve facts; `nil` when the preset cannot run on kaito-serve.
    public var kaitoServe: KaitoServeParameters?
    /// Tuning facts; `nil` when the preset cannot be tuned (rule T17).
    public var tuning: TuningParameters?
    /// Where the preset is defined.
    public var location: SourceLocation
}
