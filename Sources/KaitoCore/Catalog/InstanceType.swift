/// One instance type (SKU) of a cloud, with its GPUs (docs/reference/kaito.md section 3), or a CPU-only instance type that
/// kaito-serve runs on (`gpuCount: 0`, with `vcpus` and `memory`; issue 6).
public struct InstanceType: Sendable, Hashable {
    /// The SKU name, for example `Standard_NC24ads_A100_v4`.
    public var name: String
    /// `azure`, `aws` or `arc`.
    public var cloud: String
    /// GPUs per node.
    public var gpuCount: Int
    /// Total GPU memory of the node.
    public var gpuMemory: Quantity
    /// GPU model, for example `NVIDIA A100`.
    public var gpuModel: String
    /// CUDA compute capability such as `8.0`; `nil` for non-NVIDIA accelerators.
    public var computeCapability: String?
    /// Whether the node has local NVMe disks.
    public var nvme: Bool
    /// Whether the GPUs are MIG slices.
    public var mig: Bool
    /// First Kaito version that knows it.
    public var addedIn: KaitoVersion?
    /// First Kaito version that no longer knows it.
    public var removedIn: KaitoVersion?
    /// Virtual CPUs of the node (CPU-only instance types).
    public var vcpus: Int? = nil
    /// Memory (RAM) of the node (CPU-only instance types).
    public var memory: Quantity? = nil
    /// Where it is defined.
    public var location: SourceLocation

    /// Whether the node has no GPU: kaito-serve's instance types, unknown to Kaito.
    public var isCPUOnly: Bool { gpuCount == 0 }

    /// Memory per GPU.
    public var memoryPerGPU: Quantity { Quantity(gibibytes: gpuMemory.gibibytes / Double(max(gpuCount, 1))) }

    /// The compute capability as a number, when known.
    public var computeCapabilityValue: Double? { computeCapability.flatMap(Double.init) }

    /// Whether the GPUs compute natively in bfloat16 (compute capability ≥ 8.0).
    public var supportsBFloat16: Bool { (computeCapabilityValue ?? 0) >= 8.0 }

    /// Whether a Kaito release of this version ships this SKU in its table.
    public func isKnown(in version: KaitoVersion) -> Bool {
        if let addedIn, version < addedIn { return false }
        if let removedIn, version >= removedIn { return false }
        return true
    }
}

extension InstanceType {
    /// The memory a kaito-serve pod may use on a dedicated CPU node: the node's RAM less 1 GiB and 10 % for the
    /// kubelet, system daemons and the eviction threshold (an approximation of AKS's and EKS's reservations, a
    /// little generous on large nodes), in whole GiB.
    public var kaitoServeMemory: Quantity? {
        guard let memory, isCPUOnly else { return nil }
        return Quantity(gibibytes: (memory.gibibytes * 0.9 - 1).rounded(.down))
    }

    /// The cores a kaito-serve pod requests on a dedicated CPU node, and its `--threads`: all but one vCPU, which is
    /// left to the kubelet and system daemons.
    public var kaitoServeCores: Int? {
        guard let vcpus, isCPUOnly else { return nil }
        return max(1, vcpus - 1)
    }
}
