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
        let selector = sanitizedSelector
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

    /// The GPUs of a partitioned BYO workspace.
    ///
    /// As `getGPUConfig` in `pkg/workspace/inference/preset_inferences.go`,
    /// `GetMIGGPUConfig` in `pkg/utils/common.go`, `ScaleGPUConfigToCount` in `pkg/sku/helpers.go`, v0.12): a MIG slice
    /// is one GPU of the profile's whole GB; an accelerator partition is `count` GPUs of the matching nodes' kind.
    /// Nothing when the gate is off or the spec is invalid (rules R11–R15 report it).
    mutating func resolvePartitionGPUs(_ partition: PartitionSpec) -> BYONodes {
        switch partition.mode {
        case "mig":
            guard target.gate("enableMIG"), let profile = partition.profile,
                let gb = MIGProfile.memoryGB(profile)
            else { return .unknown }
            let slice = InstanceType(
                name: "MIG \(profile)",
                cloud: target.cloudProvider,
                gpuCount: 1,
                gpuMemory: Quantity(gibibytes: Double(gb)),
                gpuModel: "MIG \(profile)",
                computeCapability: nil,
                nvme: false,
                mig: true,
                addedIn: nil,
                removedIn: nil,
                location: ws.source.location("resource.partition")
            )
            return .found(slice, nodes: 1)
        case "accelerator":
            guard target.gate("enableAccelerator"), let count = partition.count, count > 0 else { return .unknown }
            guard !target.nodePools.isEmpty else { return resolveBYONodes() }
            let selector = sanitizedSelector
            guard
                let pool = target.nodePools.first(where: { p in selector.allSatisfy { p.labels[$0.key] == $0.value } })
            else {
                report(
                    .error,
                    DiagnosticCode.byo,
                    "no ready nodes found, unable to determine GPU configuration",
                    at: "resource.labelSelector",
                    notes: ["Kaito's node estimator fails so; target \(target.name) has no node pool with these labels"]
                )
                return .failed
            }
            guard count <= pool.gpuCount else {
                report(
                    .error,
                    DiagnosticCode.byo,
                    "partition.count (\(count)) exceeds GPUs available on node (\(pool.gpuCount))",
                    at: "resource.partition.count",
                    notes: ["node pool \(pool.name) has \(pool.gpuCount) GPUs per node"]
                )
                return .failed
            }
            let perGPU = pool.nodeGPUMemory.gibibytes / Double(pool.gpuCount)
            let scaled = InstanceType(
                name: pool.name,
                cloud: target.cloudProvider,
                gpuCount: count,
                gpuMemory: Quantity(gibibytes: perGPU * Double(count)),
                gpuModel: pool.gpuProduct,
                computeCapability: pool.computeCapability,
                nvme: false,
                mig: pool.mig,
                addedIn: nil,
                removedIn: nil,
                location: pool.location
            )
            return .found(scaled, nodes: pool.nodes)
        default:
            return .unknown
        }
    }

    /// The workspace's `matchLabels` (and single-value `In` expressions) without Kaito's reserved keys.
    var sanitizedSelector: [String: String] {
        var selector: [String: String] = [:]
        for (key, value) in ws.resource.labelSelector?.matchLabels ?? [:]
        where !WorkspaceValidator.reservedSelectorKeys.contains(key) {
            selector[key] = value
        }
        for e in ws.resource.labelSelector?.matchExpressions ?? [] where e.operator == "In" && e.values.count == 1 {
            if !WorkspaceValidator.reservedSelectorKeys.contains(e.key) { selector[e.key] = e.values[0] }
        }
        return selector
    }
}

/// MIG profiles `<n>g.<memory>gb` (`ParseMIGProfile` in `pkg/utils/mig/mig.go`).
enum MIGProfile {
    /// The slice's memory in whole GB (rounded down), or `nil` when the profile does not parse.
    static func memoryGB(_ profile: String) -> Int? {
        let pieces = profile.split(separator: ".", maxSplits: 1)
        guard pieces.count == 2, pieces[0].hasSuffix("g"), Int(pieces[0].dropLast()) != nil, pieces[1].hasSuffix("gb"),
            let gb = Double(pieces[1].dropLast(2))
        else { return nil }
        return Int(gb.rounded(.down))
    }
}
