/// Kaito's node-count estimator for vLLM workspaces (docs/reference/kaito.md section 2.5).
public enum NodeEstimator {
    /// Why a model cannot be placed.
    public enum Failure: Error, Sendable, Hashable {
        /// The per-GPU memory does not even hold the fixed reserve and the KV cache.
        case gpuMemoryTooSmall(usable: Double, reserve: Double)
        /// A MIG slice would need more than one slice.
        case migNeedsMoreThanOneSlice
    }

    /// The number of nodes a vLLM workspace needs.
    ///
    /// - Parameters:
    ///   - gpuCount: GPUs per node (`G`).
    ///   - totalGPUMemoryGiB: total GPU memory per node in GiB (`M`).
    ///   - modelSizeGiB: `TotalSafeTensorFileSize` in GiB (`S`).
    ///   - bytesPerToken: KV-cache bytes per token.
    ///   - contextLength: `vllm.max-model-len` from the workspace's ConfigMap, else 2048.
    ///   - isMIG: whether the GPU is a MIG slice.
    /// - Returns: The node count, or why the model does not fit.
    public static func nodeCount(
        gpuCount: Int,
        totalGPUMemoryGiB: Double,
        modelSizeGiB: Double,
        bytesPerToken: Int,
        contextLength: Int = 2048,
        isMIG: Bool = false
    ) -> Result<Int, Failure> {
        let g = Double(max(gpuCount, 1))
        let perGPU = totalGPUMemoryGiB / g
        let usable = 0.84 * perGPU
        let kvGiB = Double(contextLength) * Double(bytesPerToken) / g / 1_073_741_824
        let reserve = 2.3 + kvGiB
        guard usable > reserve else { return .failure(.gpuMemoryTooSmall(usable: usable, reserve: reserve)) }
        let budget = (usable - reserve) / 1.05
        let minGPUs = Int((1.02 * modelSizeGiB / budget).rounded(.down)) + 1
        if isMIG, minGPUs > 1 { return .failure(.migNeedsMoreThanOneSlice) }
        return .success((minGPUs + Int(g) - 1) / Int(g))
    }
}

/// How vLLM spreads a model over the GPUs of its nodes: the `--tensor-parallel-size`, `--pipeline-parallel-size` and
/// `--data-parallel-size` Kaito passes (docs/reference/kaito.md sections 4.4 and 4.6).
public struct ParallelLayout: Sendable, Hashable, Codable {
    /// GPUs one copy of the model is split across inside a node.
    public var tensor: Int
    /// Nodes the layers are split across (Ray, one stage per node).
    public var pipeline: Int
    /// Whole copies of the model per node, each on its own GPU.
    public var data: Int

    /// Creates a layout.
    public init(tensor: Int, pipeline: Int, data: Int) {
        self.tensor = tensor
        self.pipeline = pipeline
        self.data = data
    }

    /// The layout of a vLLM workspace.
    ///
    /// - Parameters:
    ///   - gpusPerNode: GPUs of the instance type (`G`).
    ///   - nodes: The node count (`targetNodeCount`).
    ///   - modelSizeGiB: The checkpoint's size (`S`).
    ///   - nodeGPUMemoryGiB: Total GPU memory of a node (`M`).
    ///   - dataParallel: Whether the release replicates a small model on every GPU of one node (v0.10 and later:
    ///     when `S × G × 2 < M`; ``ReleaseShape/vllmDataParallel``).
    /// - Returns: Pipeline stages across nodes, else one copy per GPU for a small model, else tensor parallel.
    public static func vllm(
        gpusPerNode: Int,
        nodes: Int,
        modelSizeGiB: Double,
        nodeGPUMemoryGiB: Double,
        dataParallel: Bool
    ) -> ParallelLayout {
        let g = max(gpusPerNode, 1)
        if nodes > 1 { return ParallelLayout(tensor: g, pipeline: nodes, data: 1) }
        if dataParallel, g > 1, modelSizeGiB * Double(g) * 2 < nodeGPUMemoryGiB {
            return ParallelLayout(tensor: 1, pipeline: 1, data: g)
        }
        return ParallelLayout(tensor: g, pipeline: 1, data: 1)
    }
}
