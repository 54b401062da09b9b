/// The node provisioner a cluster runs (docs/reference/kaito.md section 4.12, 4.16).
public enum NodeProvisioner: String, Sendable, Hashable, CaseIterable {
    /// Azure gpu-provisioner consuming `karpenter.sh/v1` NodeClaims (Kaito's default).
    case gpuProvisioner = "gpu-provisioner"
    /// Karpenter proper: one NodePool per workspace.
    case karpenter
    /// Bring your own nodes: no node auto-provisioning.
    case byo
}

/// What `kaitoc build` writes for a target.
public enum OutputMode: String, Sendable, Hashable, CaseIterable {
    /// Every object Kaito's controllers would create, for clusters without Kaito.
    case expanded
    /// Only the validated, normalised Workspaces and the ConfigMaps they use, for clusters running Kaito.
    case controller
}

/// A limit on the nodes or GPUs that a target's workspaces may request.
public struct Quota: Sendable, Hashable {
    /// The instance type it limits, or `nil`.
    public var instanceType: String?
    /// The GPU model it limits (for example `NVIDIA A100`), or `nil`.
    public var gpuModel: String?
    /// Maximum nodes.
    public var maxNodes: Int?
    /// Maximum GPUs.
    public var maxGPUs: Int?
    /// Where it is defined.
    public var location: SourceLocation

    /// A readable name of what the quota limits.
    public var subject: String {
        if let instanceType { return "instance type \(instanceType)" }
        return "GPU model \(gpuModel ?? "?")"
    }
}

/// A group of bring-your-own GPU nodes of a target, with the labels NVIDIA GPU Feature Discovery puts on them: what
/// Kaito reads from the nodes that match a workspace's `labelSelector` (docs/reference/kaito.md section 3.6).
public struct NodePoolFacts: Sendable, Hashable {
    /// A name for messages.
    public var name: String
    /// The nodes' labels; a workspace selects the pool when the pool has every (non-reserved) label of its
    /// `labelSelector.matchLabels`.
    public var labels: [String: String]
    /// How many Ready nodes the pool has.
    public var nodes: Int
    /// `nvidia.com/gpu.product`.
    public var gpuProduct: String
    /// `nvidia.com/gpu.count`: GPUs per node.
    public var gpuCount: Int
    /// `nvidia.com/gpu.memory`: memory per GPU in MiB.
    public var gpuMemoryMiB: Int
    /// `nvidia.com/cuda.compute.major` and `.minor`, as `8.0`; `nil` when the labels are absent.
    public var computeCapability: String?
    /// Whether MIG is active (`nvidia.com/mig.config` other than `all-disabled`, applied successfully).
    public var mig: Bool
    /// Where it is defined.
    public var location: SourceLocation

    /// The node's GPU memory as `GetGPUConfigFromNodeLabels` (`pkg/sku/helpers.go`) computes it: the per-GPU MiB
    /// rounded to whole GiB, times the GPU count.
    public var nodeGPUMemory: Quantity {
        Quantity(gibibytes: (Double(gpuMemoryMiB) / 1024 + 0.5).rounded(.down) * Double(gpuCount))
    }
}

/// A cluster that workspaces are compiled for: everything Kaito would read from the live cluster, made explicit
/// (docs/reference/kaito.md section 4.16).
public struct Target: Sendable, Hashable {
    /// The target's name; workspaces under `workspaces/<name>/` belong to it.
    public var name: String
    /// Whether workspaces outside any target folder belong to this target.
    public var isDefault: Bool
    /// A sentence for people.
    public var description: String?
    /// The Kaito release whose catalog and rules apply.
    public var kaitoVersion: KaitoVersion
    /// `CLOUD_PROVIDER`: `azure`, `aws` or `arc`.
    public var cloudProvider: String
    /// The node provisioner.
    public var nodeProvisioner: NodeProvisioner
    /// `PRESET_REGISTRY_NAME`.
    public var presetRegistry: String
    /// The base image tag; `nil` means the catalog's.
    public var baseImageTag: String?
    /// Whether the StorageClass `kaito-local-nvme-disk` exists.
    public var localNVMeStorageClass: Bool
    /// Feature gates, with Kaito's defaults filled in.
    public var featureGates: [String: Bool]
    /// The namespace Kaito's Helm release lives in (default tuning ConfigMaps are copied from it).
    public var releaseNamespace: String
    /// `--karpenter-node-classes` names (rule C8).
    public var karpenterNodeClasses: [String]
    /// `--default-node-image-family`.
    public var defaultNodeImageFamily: String
    /// What `build` writes.
    public var outputMode: OutputMode
    /// Limits on nodes and GPUs.
    public var quotas: [Quota]
    /// The registry of the kaito-serve image (default: `presetRegistry`).
    public var kaitoServeRegistry: String? = nil
    /// The tag of the kaito-serve image.
    public var kaitoServeTag: String = Target.defaultKaitoServeTag
    /// The GPU facts of the target's bring-your-own nodes (BYO or `disableNodeAutoProvisioning`); empty when unknown.
    public var nodePools: [NodePoolFacts] = []
    /// The keda-kaito-scaler release the cluster runs: `v0.5.1` (metricName/threshold annotations, Kaito v0.12's
    /// guide) or `v0.6.2` (the `scaledobject.kaito.sh/metrics` list).
    public var kedaKaitoScaler: String = KedaKaitoScaler.version
    /// The namespace KEDA and keda-kaito-scaler run in (the scaler's `--working-namespace`, default
    /// `kaito-workspace`): the address of the external scaler in the ScaledObjects it provisions.
    public var kedaNamespace: String = "kaito-workspace"
    /// Where it is defined.
    public var location: SourceLocation

    /// The kaito-serve image tag when a target names none.
    public static let defaultKaitoServeTag = "0.1.0"

    /// The kaito-serve image: `<kaitoServeRegistry or presetRegistry>/kaito-serve:<kaitoServeTag>`.
    public var kaitoServeImage: String { "\(kaitoServeRegistry ?? presetRegistry)/kaito-serve:\(kaitoServeTag)" }

    /// Kaito's feature-gate defaults at HEAD (docs/reference/kaito.md section 4.16).
    public static let defaultFeatureGates: [String: Bool] = [
        "vLLM": true,
        "disableNodeAutoProvisioning": false,
        "enableInferenceSetController": true,
        "enableMIG": false,
        "enableAccelerator": false,
        "ModelMirror": false,
        "ModelStreaming": false,
        "gatewayAPIInferenceExtension": false,
        "enableMultiRoleInferenceController": false,
        "enableBaseImageAutoUpgrade": false,
    ]

    /// Whether a feature gate is on.
    public func gate(_ name: String) -> Bool { featureGates[name] ?? false }

    /// Whether Kaito provisions nodes itself (NAP): not BYO and not `disableNodeAutoProvisioning`.
    public var nodeAutoProvisioning: Bool {
        nodeProvisioner != .byo && !gate("disableNodeAutoProvisioning")
    }
}
