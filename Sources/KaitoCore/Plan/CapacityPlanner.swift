internal import OrderedCollections

/// Computes a ``CapacityPlan`` from a check: the same plans, catalog and estimator that `build` renders from, so
/// what `plan` says is what `build` writes.
public enum CapacityPlanner {
    /// The plan of every workspace a check resolved.
    ///
    /// - Parameter report: A check report; workspaces whose instance type or preset is unknown get a row without
    ///   options.
    /// - Returns: The plan; empty when the catalog could not be read.
    public static func plan(_ report: CheckReport) -> CapacityPlan {
        guard let catalog = report.catalog else { return CapacityPlan(workspaces: [], targets: []) }
        var rows: [WorkspaceCapacity] = []
        var setRows: [String: Int] = [:]
        for plan in report.plans {
            if let set = plan.inferenceSet {
                let key = "\(plan.target.name)/\(set)"
                if let index = setRows[key] {
                    rows[index].replicas += 1
                    continue
                }
                setRows[key] = rows.count
                var row = capacity(plan, catalog: catalog)
                row.kind = "InferenceSet"
                row.name = set
                if let setPlan = report.inferenceSetPlans.first(where: {
                    $0.target.name == plan.target.name && $0.inferenceSet.qualifiedName == set
                }) {
                    row.file = setPlan.inferenceSet.source.file
                    row.line = setPlan.inferenceSet.source.location("metadata.name").line
                    row.autoscaling = setPlan.autoscaling.map { ReplicaRange(min: $0.minReplicas, max: $0.maxReplicas) }
                }
                rows.append(row)
            } else {
                rows.append(capacity(plan, catalog: catalog))
            }
        }
        let keys = rows.map { "\($0.target)\u{0}\($0.name)\u{0}\($0.kind)" }
        rows = rows.indices.sorted { keys[$0] < keys[$1] }.map { rows[$0] }
        let targets = catalog.targets.compactMap { target -> TargetCapacity? in
            let selected = report.plans.filter { $0.target.name == target.name }
            guard !selected.isEmpty else { return nil }
            return summary(of: target, plans: selected, catalog: catalog)
        }
        return CapacityPlan(workspaces: rows, targets: targets)
    }

    // MARK: - One workspace

    static func capacity(_ plan: WorkspacePlan, catalog: Catalog) -> WorkspaceCapacity {
        let ws = plan.workspace
        let workload = ws.tuning != nil ? "tuning" : ws.inference?.template != nil ? "template" : "inference"
        let sku = plan.instanceType
        var row = WorkspaceCapacity(
            kind: "Workspace",
            name: ws.qualifiedName,
            file: ws.source.file,
            line: ws.source.location("metadata.name").line,
            target: plan.target.name,
            workload: workload,
            preset: plan.preset?.name,
            runtime: plan.runtime?.rawValue,
            instanceType: sku?.name,
            gpuModel: sku.map { $0.isCPUOnly ? "none (CPU)" : $0.gpuModel },
            replicas: 1,
            nodes: plan.nodeCount,
            gpusPerNode: sku?.gpuCount ?? 0,
            sizing: "resource.count",
            memory: nil,
            layout: nil,
            price: sku.flatMap { catalog.price(of: $0) }.map(PriceQuote.init),
            options: [],
            cpuOptions: []
        )
        guard workload == "inference", let preset = plan.preset, let runtime = plan.runtime else {
            row.optionsNote =
                workload == "tuning"
                ? "tuning Jobs run on resource.count nodes; Kaito estimates nothing for them"
                : workload == "template"
                    ? "a template workspace runs the user's pod on resource.count nodes"
                    : "no preset or instance type resolved (see check)"
            return row
        }
        let facts = ModelFacts(preset: preset, target: plan.target, runtime: runtime, contextLength: plan.contextLength)
        if runtime != .kaitoServe {
            row.cpuOptions = cpuOptions(preset: preset, target: plan.target, catalog: catalog, quantization: nil)
        }
        switch runtime {
        case .kaitoServe:
            row.sizing = "resource.count (kaito-serve: one pod per node)"
            let quantization = ws.metadata.annotations[KaitoServeQuantization.annotation].flatMap {
                KaitoServeQuantization(rawValue: $0)
            }
            row.cpuOptions = cpuOptions(preset: preset, target: plan.target, catalog: catalog, quantization: nil)
            if let serve = preset.kaitoServe, let sku, let limit = sku.kaitoServeMemory {
                let weights = serve.weightBytes(fileSize: preset.modelFileSize, quantization: quantization) / gib
                let kv = serve.kvCacheBytes / gib
                row.memory = MemoryBreakdown(
                    scope: "pod",
                    capacityGiB: sku.memory?.gibibytes ?? 0,
                    usableGiB: limit.gibibytes,
                    weightsGiB: weights,
                    weightsFormat: quantization?.rawValue ?? "checkpoint",
                    kvCacheGiB: kv,
                    contextLength: serve.maxModelLength,
                    runtimeReserveGiB: 1,
                    marginGiB: (weights + kv) * 0.1
                )
            }
            return row
        case .vllm, .transformers:
            break
        }
        guard plan.target.nodeAutoProvisioning else {
            if facts.usesEstimator, sku != nil {
                row.sizing = "estimator over the GPU labels of the matching node pools"
            }
            row.ownNodes = true
            row.price = nil
            if let sku { row.memory = facts.breakdown(sku: sku, nodes: plan.nodeCount) }
            row.layout = facts.layout(sku: sku, nodes: plan.nodeCount)
            row.optionsNote =
                "target \(plan.target.name) uses its own nodes (disableNodeAutoProvisioning): no instance type to choose"
            return row
        }
        if facts.usesEstimator { row.sizing = "estimator (docs/reference/kaito.md section 2.5)" }
        if let sku {
            row.memory = facts.breakdown(sku: sku, nodes: plan.nodeCount)
            row.layout = facts.layout(sku: sku, nodes: plan.nodeCount)
        }
        row.options = catalog.instanceTypeNames(for: plan.target).compactMap {
            catalog.instanceType(named: $0, for: plan.target)
        }.map { candidate in
            var option = facts.option(candidate)
            option.price = catalog.price(of: candidate).map(PriceQuote.init)
            option.chosen = candidate.name.lowercased() == sku?.name.lowercased()
            return option
        }
        markBest(&row.options)
        if row.options.isEmpty { row.optionsNote = "the catalog has no GPU instance type for this target" }
        return row
    }

    /// Marks the cheapest priced fit and the fit with the fewest GPUs.
    static func markBest(_ options: inout [InstanceOption]) {
        let fits = options.indices.filter { options[$0].fits }
        if let cheapest = fits.filter({ options[$0].hourlyCost != nil }).min(by: {
            (options[$0].hourlyCost ?? 0, options[$0].gpus ?? 0) < (options[$1].hourlyCost ?? 0, options[$1].gpus ?? 0)
        }) {
            options[cheapest].cheapest = true
        }
        if let smallest = fits.min(by: {
            let a = options[$0]
            let b = options[$1]
            return (a.gpus ?? 0, a.gpuMemoryGiB * Double(a.gpusPerNode)) < (
                b.gpus ?? 0, b.gpuMemoryGiB * Double(b.gpusPerNode)
            )
        }) {
            options[smallest].smallest = true
        }
    }

    /// The smallest CPU-only instance type (by memory, then vCPUs) for each weight format kaito-serve can use;
    /// `quantization` limits the list to one format.
    static func cpuOptions(
        preset: ModelPreset,
        target: Target,
        catalog: Catalog,
        quantization: KaitoServeQuantization?
    ) -> [CPUOption] {
        guard let serve = preset.kaitoServe, target.outputMode == .expanded else { return [] }
        let unsupported = preset.architectures.filter { !kaitoServeArchitectures.contains($0) }
        if !preset.architectures.isEmpty, unsupported.count == preset.architectures.count { return [] }
        let cpus = catalog.cpuInstanceTypeNames(for: target).compactMap { catalog.instanceType(named: $0, for: target) }
            .sorted {
                ($0.memory?.value ?? 0, $0.vcpus ?? 0, $0.name) < ($1.memory?.value ?? 0, $1.vcpus ?? 0, $1.name)
            }
        let formats: [KaitoServeQuantization?] = quantization.map { [$0] } ?? [nil, .q8, .q4]
        return formats.compactMap { format in
            let needed = serve.memoryBytes(fileSize: preset.modelFileSize, quantization: format)
            guard let sku = cpus.first(where: { ($0.kaitoServeMemory?.value ?? 0) >= needed }) else { return nil }
            return CPUOption(
                weights: format?.rawValue ?? "checkpoint",
                neededGiB: needed / gib,
                instanceType: sku.name,
                vcpus: sku.vcpus ?? 0,
                memoryGiB: sku.memory?.gibibytes ?? 0,
                price: catalog.price(of: sku).map(PriceQuote.init)
            )
        }
    }

    // MARK: - Targets

    static func summary(of target: Target, plans: [WorkspacePlan], catalog: Catalog) -> TargetCapacity {
        var usage: [String: InstanceTypeUsage] = [:]
        var order: [String] = []
        for plan in plans {
            guard let sku = plan.instanceType else { continue }
            if usage[sku.name] == nil {
                order.append(sku.name)
                usage[sku.name] = InstanceTypeUsage(
                    instanceType: sku.name,
                    workspaces: 0,
                    nodes: 0,
                    gpus: 0,
                    price: catalog.price(of: sku).map(PriceQuote.init)
                )
            }
            usage[sku.name]?.workspaces += 1
            usage[sku.name]?.nodes += plan.nodeCount
            usage[sku.name]?.gpus += plan.nodeCount * sku.gpuCount
        }
        let rows = order.sorted().compactMap { usage[$0] }
        let quotas = target.quotas.map { quota in
            let involved = plans.filter { plan in
                guard let sku = plan.instanceType else { return false }
                if let name = quota.instanceType { return sku.name.lowercased() == name.lowercased() }
                return sku.gpuModel == quota.gpuModel
            }
            return QuotaUsage(
                subject: quota.subject,
                nodes: involved.reduce(0) { $0 + $1.nodeCount },
                maxNodes: quota.maxNodes,
                gpus: involved.reduce(0) { $0 + $1.nodeCount * ($1.instanceType?.gpuCount ?? 0) },
                maxGPUs: quota.maxGPUs
            )
        }
        let priced = rows.filter { $0.price != nil }
        let currencies = Set(priced.compactMap { $0.price?.currency })
        return TargetCapacity(
            name: target.name,
            instanceTypes: rows,
            quotas: quotas,
            hourlyCost: priced.isEmpty || currencies.count > 1
                ? nil : priced.reduce(0) { $0 + ($1.price?.perHour ?? 0) * Double($1.nodes) },
            currency: currencies.count == 1 ? currencies.first : nil,
            unpriced: rows.filter { $0.price == nil }.map(\.instanceType)
        )
    }
}

/// The facts of a preset that size it on a GPU instance type.
struct ModelFacts {
    var preset: ModelPreset
    var target: Target
    var runtime: Runtime
    var contextLength: Int

    /// Kaito v0.11 and later estimate the node count of vLLM workspaces; before, `resource.count` is used as is.
    var usesEstimator: Bool {
        runtime == .vllm && target.shape.estimatesNodeCount && preset.modelFileSize != nil
            && preset.bytesPerToken != nil
    }

    var isClassic: Bool { target.shape.classicGPURequirements }

    /// Whether and how the preset fits an instance type.
    ///
    /// The estimator's node count where Kaito estimates, else the fewest nodes whose GPU memory holds the weights
    /// (and the classic GPU requirements), one node for a model that cannot be distributed. Where Kaito takes
    /// `resource.count` as the node count, this is the fewest that fit.
    func option(_ sku: InstanceType) -> InstanceOption {
        var option = InstanceOption(
            instanceType: sku.name,
            gpuModel: sku.gpuModel,
            gpusPerNode: sku.gpuCount,
            gpuMemoryGiB: sku.memoryPerGPU.gibibytes
        )
        if usesEstimator, let size = preset.modelFileSize, let bytesPerToken = preset.bytesPerToken {
            switch NodeEstimator.nodeCount(
                gpuCount: sku.gpuCount,
                totalGPUMemoryGiB: sku.gpuMemory.gibibytes,
                modelSizeGiB: size.gibibytes,
                bytesPerToken: bytesPerToken,
                contextLength: contextLength,
                isMIG: sku.mig
            ) {
            case .success(let nodes) where nodes > 1 && !preset.supportDistributedInference:
                option.reason = "needs \(nodes) nodes; the preset cannot be distributed"
            case .success(let nodes):
                option.nodes = nodes
                option.headroomPerGPUGiB = breakdown(sku: sku, nodes: nodes)?.headroomGiB
            case .failure(.gpuMemoryTooSmall(let usable, let reserve)):
                option.reason =
                    "\(Quantity.formatFixed(usable, decimals: 2))Gi usable per GPU ≤ \(Quantity.formatFixed(reserve, decimals: 2))Gi reserve and KV cache"
            case .failure(.migNeedsMoreThanOneSlice):
                option.reason = "needs more than one MIG slice"
            }
            return option
        }
        let size = preset.modelFileSize?.gibibytes ?? preset.totalGPUMemoryRequirement?.gibibytes ?? 0
        let nodeMemory = sku.gpuMemory.gibibytes
        if let perGPU = preset.perGPUMemoryRequirement, sku.memoryPerGPU.value < perGPU.value {
            option.reason = "\(sku.memoryPerGPU.formattedGi) per GPU < \(perGPU.formattedGi) required"
            return option
        }
        var nodes = 1
        if nodeMemory > 0, size > nodeMemory { nodes = Int((size / nodeMemory).rounded(.up)) }
        if let required = preset.totalGPUMemoryRequirement, nodeMemory > 0 {
            nodes = max(nodes, Int((required.gibibytes / nodeMemory).rounded(.up)))
        }
        if let required = preset.gpuCountRequirement, sku.gpuCount > 0 {
            nodes = max(nodes, (required + sku.gpuCount - 1) / sku.gpuCount)
        }
        let distributes = preset.supportDistributedInference && (runtime == .vllm || isClassic)
        if nodes > 1, !distributes {
            option.reason =
                "needs \(Quantity(gibibytes: size).formattedGi) of GPU memory, one node has \(sku.gpuMemory.formattedGi); the preset cannot be distributed"
            return option
        }
        option.nodes = nodes
        option.headroomPerGPUGiB = (nodeMemory * Double(nodes) - size) / Double(max(1, sku.gpuCount) * nodes)
        return option
    }

    /// The memory of one GPU of `sku` with the model on `nodes` nodes (vLLM's estimator), or of the nodes
    /// together against the weights (transformers, releases before v0.11).
    func breakdown(sku: InstanceType, nodes: Int) -> MemoryBreakdown? {
        guard let size = (preset.modelFileSize ?? preset.totalGPUMemoryRequirement)?.gibibytes, sku.gpuCount > 0
        else { return nil }
        let format =
            preset.modelFileSize == nil
            ? "the preset's totalGPUMemoryRequirement" : preset.vllm?.dtype ?? preset.quantization ?? "checkpoint"
        guard usesEstimator, let bytesPerToken = preset.bytesPerToken else {
            return MemoryBreakdown(
                scope: "node",
                capacityGiB: sku.gpuMemory.gibibytes * Double(nodes),
                usableGiB: sku.gpuMemory.gibibytes * Double(nodes),
                weightsGiB: size,
                weightsFormat: format,
                kvCacheGiB: 0,
                contextLength: contextLength,
                runtimeReserveGiB: 0,
                marginGiB: 0
            )
        }
        let g = Double(sku.gpuCount)
        let gpus = g * Double(max(nodes, 1))
        let perGPU = sku.gpuMemory.gibibytes / g
        let weights = size / gpus
        return MemoryBreakdown(
            scope: "gpu",
            capacityGiB: perGPU,
            usableGiB: 0.84 * perGPU,
            weightsGiB: weights,
            weightsFormat: format,
            kvCacheGiB: Double(contextLength) * Double(bytesPerToken) / g / gib,
            contextLength: contextLength,
            runtimeReserveGiB: 2.3,
            marginGiB: weights * (1.02 * 1.05 - 1)
        )
    }

    /// vLLM's layout on `nodes` nodes of `sku`; `nil` for other runtimes.
    func layout(sku: InstanceType?, nodes: Int) -> ParallelLayout? {
        guard runtime == .vllm, let sku else { return nil }
        return ParallelLayout.vllm(
            gpusPerNode: sku.gpuCount,
            nodes: nodes,
            modelSizeGiB: preset.modelFileSize?.gibibytes ?? 0,
            nodeGPUMemoryGiB: sku.gpuMemory.gibibytes,
            dataParallel: target.shape.vllmDataParallel
        )
    }
}

private let gib = 1_073_741_824.0
