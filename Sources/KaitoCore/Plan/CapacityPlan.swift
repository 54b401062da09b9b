/// What `kaitoc plan` prints: what each workspace will occupy and cost, and why (issue 16).
///
/// The estimator's memory breakdown, the nodes and GPUs chosen, vLLM's parallel layout, every instance type of the
/// target's catalog that would fit, and the kaito-serve CPU option. Values are in GiB and in the currency of the
/// catalog's `PriceList`; a price the catalog does not have is absent, never guessed.
public struct CapacityPlan: Sendable, Hashable, Codable {
    /// One row per workspace of the repository, one per InferenceSet (its replicas together), sorted by target and
    /// name.
    public var workspaces: [WorkspaceCapacity]
    /// One summary per target that has workspaces.
    public var targets: [TargetCapacity]
}

/// What one workspace (or InferenceSet) occupies.
public struct WorkspaceCapacity: Sendable, Hashable, Codable {
    /// `Workspace` or `InferenceSet`.
    public var kind: String
    /// `namespace/name`.
    public var name: String
    /// The file and line that define it.
    public var file: String
    /// The line of `metadata.name`.
    public var line: Int
    /// The target.
    public var target: String
    /// `inference`, `tuning` or `template`.
    public var workload: String
    /// The preset, when there is one.
    public var preset: String?
    /// The runtime of an inference preset (`vllm`, `transformers`, `kaito-serve`).
    public var runtime: String?
    /// The instance type, when the catalog knows it.
    public var instanceType: String?
    /// Its GPU model.
    public var gpuModel: String?
    /// Workspaces the row stands for: `spec.replicas` of an InferenceSet, else 1.
    public var replicas: Int
    /// The replicas KEDA may scale an InferenceSet between (`scaledobject.kaito.sh/min-replicas`, `max-replicas`;
    /// docs/reference/kaito.md section 4.19), when it is autoscaled.
    public var autoscaling: ReplicaRange? = nil
    /// Nodes per replica.
    public var nodes: Int
    /// GPUs per node.
    public var gpusPerNode: Int
    /// How the node count was found.
    public var sizing: String
    /// Whether the target brings its own nodes (`disableNodeAutoProvisioning`): nothing is provisioned or priced.
    public var ownNodes = false
    /// The memory of one GPU (or, on kaito-serve, of the pod) the model takes, when it can be estimated.
    public var memory: MemoryBreakdown?
    /// vLLM's parallel layout.
    public var layout: ParallelLayout?
    /// The price of one node, when the catalog has it.
    public var price: PriceQuote?
    /// Every GPU instance type of the target's release and cloud, with whether and how the model fits.
    public var options: [InstanceOption]
    /// CPU-only instance types kaito-serve could run the model on (the smallest fit per weight format).
    public var cpuOptions: [CPUOption]
    /// Why no options are listed, when none are.
    public var optionsNote: String?

    /// All nodes of the row.
    public var totalNodes: Int { replicas * nodes }
    /// All GPUs of the row.
    public var totalGPUs: Int { replicas * nodes * gpusPerNode }
    /// The hourly cost of the row, when the price is known.
    public var hourlyCost: Double? { price.map { $0.perHour * Double(totalNodes) } }
}

/// The replicas an autoscaled InferenceSet runs between.
public struct ReplicaRange: Sendable, Hashable, Codable {
    /// `minReplicaCount`.
    public var min: Int
    /// `maxReplicaCount`.
    public var max: Int

    /// Creates a range.
    public init(min: Int, max: Int) {
        self.min = min
        self.max = max
    }
}

/// Where the memory of one GPU goes, as Kaito's estimator counts it (docs/reference/kaito.md section 2.5), or the
/// pod memory of kaito-serve (presets/README.md).
public struct MemoryBreakdown: Sendable, Hashable, Codable {
    /// `gpu` (per GPU, vLLM's estimator), `node` (total GPU memory against the weights, transformers and older
    /// releases) or `pod` (kaito-serve's RAM).
    public var scope: String
    /// The memory available: the GPU's memory, the nodes' GPU memory, or the pod's limit.
    public var capacityGiB: Double
    /// The part the runtime may use (vLLM: `--gpu-memory-utilization` 0.84 of it).
    public var usableGiB: Double
    /// The weights held there.
    public var weightsGiB: Double
    /// The weights' format (`bfloat16`, `q4_0`, "checkpoint").
    public var weightsFormat: String
    /// The KV cache held there.
    public var kvCacheGiB: Double
    /// The context the KV cache is sized for.
    public var contextLength: Int
    /// Fixed runtime reserve: CUDA context, activations, graphs (vLLM: 2.3 GiB per GPU); on kaito-serve 1 GiB.
    public var runtimeReserveGiB: Double
    /// Margins on the weights and cache (vLLM: 2 % for the checkpoint's non-weight tensors and 5 % for fragmentation
    /// of the weight budget; kaito-serve: 10 %).
    public var marginGiB: Double
    /// What is left of `usableGiB`.
    public var headroomGiB: Double { usableGiB - weightsGiB - kvCacheGiB - runtimeReserveGiB - marginGiB }
}

/// An hourly list price and where it was read.
public struct PriceQuote: Sendable, Hashable, Codable {
    /// The price of one node for one hour.
    public var perHour: Double
    /// The currency.
    public var currency: String
    /// The region or basis, the source and the date, as the catalog states them.
    public var region: String
    /// Where it was read.
    public var source: String
    /// When.
    public var date: String

    init(_ price: InstancePrice) {
        perHour = price.perHour
        currency = price.currency
        region = price.region
        source = price.source
        date = price.date
    }
}

/// One instance type, and what the workspace would need of it.
public struct InstanceOption: Sendable, Hashable, Codable {
    /// The instance type.
    public var instanceType: String
    /// Its GPU model.
    public var gpuModel: String
    /// GPUs per node.
    public var gpusPerNode: Int
    /// GPU memory per GPU.
    public var gpuMemoryGiB: Double
    /// Nodes needed, when it fits.
    public var nodes: Int?
    /// The free memory of each GPU once the model is placed, when it fits.
    public var headroomPerGPUGiB: Double?
    /// Why it does not fit.
    public var reason: String?
    /// Its price, when the catalog has it.
    public var price: PriceQuote?
    /// Whether the workspace uses it.
    public var chosen: Bool = false
    /// Whether it is the cheapest fit with a known price.
    public var cheapest: Bool = false
    /// Whether it is the fit with the fewest GPUs (then the least GPU memory).
    public var smallest: Bool = false

    /// Whether the model fits.
    public var fits: Bool { nodes != nil }
    /// GPUs it takes, when it fits.
    public var gpus: Int? { nodes.map { $0 * gpusPerNode } }
    /// Its hourly cost for one replica, when it fits and is priced.
    public var hourlyCost: Double? {
        guard let nodes, let price else { return nil }
        return price.perHour * Double(nodes)
    }
}

/// A CPU-only instance type kaito-serve could run the model on.
public struct CPUOption: Sendable, Hashable, Codable {
    /// The weight format: `checkpoint` (the file's own), `q8_0` or `q4_0` (annotation
    /// `kaito.sh/kaito-serve-quantization`).
    public var weights: String
    /// The memory the pod needs.
    public var neededGiB: Double
    /// The smallest instance type whose pod limit holds it.
    public var instanceType: String
    /// Its vCPUs.
    public var vcpus: Int
    /// Its RAM.
    public var memoryGiB: Double
    /// Its price, when the catalog has it.
    public var price: PriceQuote?
}

/// The totals of one target.
public struct TargetCapacity: Sendable, Hashable, Codable {
    /// The target.
    public var name: String
    /// Nodes and GPUs per instance type.
    public var instanceTypes: [InstanceTypeUsage]
    /// Use of each quota of the target.
    public var quotas: [QuotaUsage]
    /// The hourly cost of the priced instance types.
    public var hourlyCost: Double?
    /// The currency of `hourlyCost`.
    public var currency: String?
    /// Instance types in use without a price in the catalog.
    public var unpriced: [String]
}

/// Nodes and GPUs of one instance type in a target.
public struct InstanceTypeUsage: Sendable, Hashable, Codable {
    /// The instance type.
    public var instanceType: String
    /// Workspaces on it (InferenceSet replicas counted one by one).
    public var workspaces: Int
    /// Nodes.
    public var nodes: Int
    /// GPUs.
    public var gpus: Int
    /// The price of one node, when known.
    public var price: PriceQuote?
}

/// How much of a quota the target's workspaces take.
public struct QuotaUsage: Sendable, Hashable, Codable {
    /// What the quota limits.
    public var subject: String
    /// Nodes used, and the limit.
    public var nodes: Int
    /// The node limit.
    public var maxNodes: Int?
    /// GPUs used.
    public var gpus: Int
    /// The GPU limit.
    public var maxGPUs: Int?
}
