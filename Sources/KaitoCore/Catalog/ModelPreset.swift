/// The vLLM facts of a preset (reference 2.2 and 4.4).
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
}

/// The transformers-runtime facts of a preset (reference 2.4).
public struct TransformersParameters: Sendable, Hashable {
    /// `ModelRunParams`, each `key` or `key=value`.
    public var runParams: [String] = []

    /// The value of one run parameter, e.g. `torch_dtype`.
    public func value(of key: String) -> String? {
        for param in runParams {
            let parts = param.split(separator: "=", maxSplits: 1)
            if parts.first.map(String.init) == key { return parts.count > 1 ? String(parts[1]) : "" }
        }
        return nil
    }
}

/// The tuning facts of a preset (reference 2.4, 2.7).
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
    /// Tuning facts; `nil` when the preset cannot be tuned (rule T17).
    public var tuning: TuningParameters?
    /// Where the preset is defined.
    public var location: SourceLocation
}
