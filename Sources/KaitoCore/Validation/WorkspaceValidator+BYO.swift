internal import OrderedCollections

/// What the nodes a BYO workspace selects resolve to.
enum BYONodes {
    /// The target declares no node pools: the facts are unknown (reported as a warning).
    case unknown
    /// No pool matches, or the matching pools differ (reported as Kaito's errors R6, R8).
    case failed
    /// The GPU facts of one node, as an instance type, and the number of matching nodes.
    case found(InstanceType, nodes: Int)
}

extension Run {
    /// The GPU facts Kaito reads from the Ready nodes matching the workspace's sanitized `matchLabels`
    /// (`validateCreateWithInference` in `api/v1beta1/workspace_validation.go`, `GetGPUConfigFromNodeLabels` in
    /// `pkg/sku/helpers.go`, v0.12; docs/reference/kaito.md section 3.6), from the target's declared node pools.
    mutating func resolveBYONodes() -> BYONodes {
        guard !target.nodePools.isEmpty else {
            report(
                .warning,
                DiagnosticCode.byo,
                "target \(target.name) declares no nodePools: Kaito sizes this workspace from the nvidia.com/gpu.* labels of the nodes its labelSelector matches; kaitoc renders 1 GPU per pod and tensor parallel 1, and skips the GPU memory check (R9) and the node estimate",
                at: "resource.labelSelector",
                notes: [
                    "declare the nodes in presets/targets.yaml: nodePools: [{name, labels, nodes, gpu: {product, count, memoryMiB}}] (presets/README.md)"
                ]
            )
            return .unknown
        }
        var selector: [String: String] = [:]
        for (key, value) in ws.resource.labelSelector?.matchLabels ?? [:]
        where !WorkspaceValidator.reservedSelectorKeys.contains(key) {
            selector[key] = value
        }
        for e in ws.resource.labelSelector?.matchExpressions ?? [] where e.operator == "In" && e.values.count == 1 {
            if !WorkspaceValidator.reservedSelectorKeys.contains(e.key) { selector[e.key] = e.values[0] }
        }
        let matching = target.nodePools.filter { pool in selector.allSatisfy { pool.labels[$0.key] == $0.value } }
        guard let first = matching.first else {
            kaito(
                "R6",
                "No nodes found matching the specified label selector",
                at: "resource.labelSelector",
                notes: [
                    "target \(target.name) declares node pools \(target.nodePools.map(\.name).joined(separator: ", "))"
                ]
            )
            return .failed
        }
        for pool in matching.dropFirst() {
            if pool.gpuProduct != first.gpuProduct {
                kaito(
                    "R8",
                    "Non-uniform GPU product: node \(pool.name) has \(pool.gpuProduct) GPUs, but previous node has \(first.gpuProduct) GPUs, all nodes must have the same GPU product for homogeneous placement",
                    at: "resource.labelSelector"
                )
                return .failed
            }
            if pool.gpuCount != first.gpuCount {
                kaito(
                    "R8",
                    "Non-uniform GPU count: node \(pool.name) has \(pool.gpuCount) GPUs, but previous node has \(first.gpuCount) GPUs",
                    at: "resource.labelSelector"
                )
                return .failed
            }
            if pool.nodeGPUMemory != first.nodeGPUMemory {
                kaito(
                    "R8",
                    "Non-uniform GPU memory: node \(pool.name) has \(pool.nodeGPUMemory.text) memory, but previous node has \(first.nodeGPUMemory.text) memory",
                    at: "resource.labelSelector"
                )
                return .failed
            }
        }
        let sku = InstanceType(
            name: first.name,
            cloud: target.cloudProvider,
            gpuCount: first.gpuCount,
            gpuMemory: first.nodeGPUMemory,
            gpuModel: first.gpuProduct,
            computeCapability: first.computeCapability,
            nvme: false,
            mig: first.mig,
            addedIn: nil,
            removedIn: nil,
            location: first.location
        )
        return .found(sku, nodes: matching.reduce(0) { $0 + $1.nodes })
    }
}
