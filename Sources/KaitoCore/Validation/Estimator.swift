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
