/// Everything in `presets/`: model catalogs per Kaito release, instance types, targets and prices.
public struct Catalog: Sendable {
    /// Model catalogs, oldest release first.
    public var modelCatalogs: [ModelCatalog]
    /// Every instance type of every cloud and release.
    public var instanceTypes: [InstanceType]
    /// The cluster targets.
    public var targets: [Target]
    /// Hourly prices of instance types (`PriceList` files; none by default).
    public var prices: [InstancePrice]

    /// Creates a catalog.
    public init(
        modelCatalogs: [ModelCatalog],
        instanceTypes: [InstanceType],
        targets: [Target],
        prices: [InstancePrice] = []
    ) {
        self.modelCatalogs = modelCatalogs.sorted { $0.kaitoVersion < $1.kaitoVersion }
        self.instanceTypes = instanceTypes
        self.targets = targets
        self.prices = prices
    }

    /// The model catalog of the newest release not newer than `version`.
    public func modelCatalog(for version: KaitoVersion) -> ModelCatalog? {
        modelCatalogs.last { $0.kaitoVersion <= version }
    }

    /// The instance type a target's Kaito release knows under that name (case-insensitive, as Kaito compares).
    public func instanceType(named name: String, for target: Target) -> InstanceType? {
        let key = name.lowercased()
        return instanceTypes.first {
            $0.name.lowercased() == key && $0.cloud == target.cloudProvider && $0.isKnown(in: target.kaitoVersion)
        }
    }

    /// An instance type of any release or cloud, for hints.
    public func anyInstanceType(named name: String) -> InstanceType? {
        let key = name.lowercased()
        return instanceTypes.first { $0.name.lowercased() == key }
    }

    /// The names of the GPU instance types a target's Kaito release knows (its SKU table), in catalog order.
    public func instanceTypeNames(for target: Target) -> [String] {
        instanceTypes.filter {
            !$0.isCPUOnly && $0.cloud == target.cloudProvider && $0.isKnown(in: target.kaitoVersion)
        }
        .map(\.name)
    }

    /// The names of the CPU-only instance types of a target's cloud (kaito-serve's), in catalog order.
    public func cpuInstanceTypeNames(for target: Target) -> [String] {
        instanceTypes.filter { $0.isCPUOnly && $0.cloud == target.cloudProvider }.map(\.name)
    }

    /// A target by name.
    public func target(named name: String) -> Target? { targets.first { $0.name == name } }
}
