internal import OrderedCollections
internal import YAML

/// The ConfigMaps of the repository, by namespace and name.
public struct ConfigMapIndex: Sendable {
    /// The ConfigMaps.
    public var byKey: [String: ConfigMapObject] = [:]
    /// Whether every ConfigMap of the repository was read (a whole-repo check); when `false`, a missing ConfigMap is
    /// not an error because it may live in a file that was not checked.
    public var isComplete: Bool

    /// Creates an index.
    public init(_ configMaps: [ConfigMapObject], isComplete: Bool) {
        for configMap in configMaps {
            byKey["\(configMap.metadata.effectiveNamespace)/\(configMap.metadata.name)"] = configMap
        }
        self.isComplete = isComplete
    }

    /// The ConfigMap `namespace/name`.
    public func find(namespace: String, name: String) -> ConfigMapObject? { byKey["\(namespace)/\(name)"] }
}

/// Runs every webhook rule of docs/reference/kaito.md section 1.6 that needs no live cluster, the era differences of 1.7, and the
/// compiler's per-workspace rules (unknown instance types, the estimator, bfloat16 support).
public struct WorkspaceValidator: Sendable {
    /// The catalog.
    public var catalog: Catalog
    /// The target the workspace belongs to.
    public var target: Target
    /// The repository's ConfigMaps.
    public var configMaps: ConfigMapIndex

    /// Creates a validator for one target.
    public init(catalog: Catalog, target: Target, configMaps: ConfigMapIndex) {
        self.catalog = catalog
        self.target = target
        self.configMaps = configMaps
    }

    /// Keys Kaito strips from `matchLabels` (docs/reference/kaito.md section 1.4).
    static let reservedSelectorKeys: Set<String> = [
        "kaito.sh/workspace", "kaito.sh/workspacenamespace", "kaito.sh/ragengine", "kaito.sh/ragenginenamespace",
        "karpenter.kaito.sh/workspace-name", "karpenter.kaito.sh/workspace-namespace",
        "karpenter.kaito.sh/inferenceset", "karpenter.kaito.sh/inferenceset-namespace",
    ]

    /// Validates one workspace.
    ///
    /// - Returns: What the workspace resolves to, and every problem found.
    public func validate(_ workspace: Workspace) -> (WorkspacePlan, [Diagnostic]) {
        var run = Run(validator: self, workspace: workspace)
        run.validate()
        return (run.plan, run.diagnostics)
    }
}

/// The state of validating one workspace.
struct Run {
    let validator: WorkspaceValidator
    let ws: Workspace
    var plan: WorkspacePlan
    var diagnostics: [Diagnostic] = []

    var target: Target { validator.target }
    var catalog: Catalog { validator.catalog }
    var models: ModelCatalog? { catalog.modelCatalog(for: target.kaitoVersion) }
    var isHead: Bool { target.shape.estimatesNodeCount }
    var isClassic: Bool { target.shape.classicGPURequirements }
    var annotations: [String: String] {
        var result: [String: String] = [:]
        for (k, v) in ws.metadata.annotations { result[k] = v }
        return result
    }
    var bypassResourceChecks: Bool { annotations["kaito.sh/bypass-resource-checks"] != nil }

    init(validator: WorkspaceValidator, workspace: Workspace) {
        self.validator = validator
        self.ws = workspace
        self.plan = WorkspacePlan(
            workspace: workspace,
            target: validator.target,
            preset: nil,
            runtime: nil,
            instanceType: nil,
            nodeCount: 1,
            contextLength: 2048
        )
    }

    // MARK: Reporting

    mutating func report(
        _ severity: Severity = .error,
        _ rule: String,
        _ message: String,
        at path: String,
        notes: [String] = []
    ) {
        diagnostics.append(
            Diagnostic(severity, code: rule, message: message, location: ws.source.location(path), notes: notes)
        )
    }

    /// Kaito's rules carry the code `KAITO-<rule>`.
    mutating func kaito(
        _ rule: String,
        _ message: String,
        at path: String,
        severity: Severity = .error,
        notes: [String] = []
    ) {
        report(severity, "KAITO-\(rule)", message, at: path, notes: notes)
    }

    // MARK: Entry

    mutating func validate() {
        validateName()
        let hasInference = ws.inference != nil
        let hasTuning = ws.tuning != nil
        if !hasInference && !hasTuning {
            kaito("C1", "Either Inference or Tuning must be specified, not neither", at: "")
        } else if hasInference && hasTuning {
            kaito("C2", "Either Inference or Tuning must be specified, but not both", at: "tuning")
        }
        validateProvisioning()
        validateAnnotations()
        if let inference = ws.inference, !hasTuning {
            validateResourceWithInference(inference)
            validateInference(inference)
        }
        if let tuning = ws.tuning, !hasInference {
            validateSelector()
            validateTuning(tuning)
        }
    }

    mutating func validateName() {
        let errors = KubernetesNames.dns1123LabelErrors(ws.metadata.name)
        if !errors.isEmpty {
            kaito("V1", "invalid value: \(errors.joined(separator: ", ")): name", at: "metadata.name")
        }
    }

    mutating func validateProvisioning() {
        let instanceType = ws.resource.instanceType ?? ""
        if !target.nodeAutoProvisioning, !instanceType.isEmpty {
            kaito(
                "C3",
                "invalid value: instanceType must be empty when node auto-provisioning is disabled (BYO scenario): spec.resource.instanceType",
                at: "resource.instanceType",
                notes: ["target \(target.name) uses the \(target.nodeProvisioner.rawValue) node provisioner"]
            )
        }
        if target.nodeAutoProvisioning, instanceType.isEmpty {
            kaito(
                "C4",
                "missing field(s): instanceType is required when node auto-provisioning is enabled, spec.resource.instanceType",
                at: "resource"
            )
        }
    }

    mutating func validateAnnotations() {
        let a = annotations
        // `NormalizeSupportedNodeImageFamily` (`pkg/utils/consts/consts.go`) trims and lowercases the value.
        if let family = a["kaito.sh/node-image-family"],
            !["ubuntu", "azurelinux"].contains(
                String(family.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
                    .lowercased()
            )
        {
            kaito(
                "C5",
                "invalid value: unsupported node image family \"\(family)\", supported values are azurelinux, ubuntu",
                at: "metadata.annotations.kaito.sh/node-image-family"
            )
        }
        if let mode = a["kaito.sh/performance-mode"], !["balanced", "interactivity", "throughput"].contains(mode) {
            kaito(
                "C6",
                "invalid value: \"\(mode)\" is not a valid performance mode; choose one of: balanced, interactivity, throughput",
                at: "metadata.annotations.kaito.sh/performance-mode"
            )
        }
        if let local = a["kaito.sh/use-local-weights"], local != "true", local != "false" {
            kaito(
                "C7",
                "invalid value: \"\(local)\" must be \"true\" or \"false\"",
                at: "metadata.annotations.kaito.sh/use-local-weights"
            )
        }
        if let nodeClass = a["kaito.sh/node-class-name"], target.nodeProvisioner == .karpenter,
            !target.karpenterNodeClasses.contains(nodeClass)
        {
            kaito(
                "C8",
                "invalid value: \"\(nodeClass)\" is not a KAITO-managed NodeClass, supported values are [\(target.karpenterNodeClasses.joined(separator: " "))]",
                at: "metadata.annotations.kaito.sh/node-class-name"
            )
        }
        if let runtime = a["kaito.sh/runtime"], !["vllm", "transformers", "kaito-serve"].contains(runtime.lowercased())
        {
            report(
                .warning,
                DiagnosticCode.runtime,
                "unknown runtime \"\(runtime)\" in annotation kaito.sh/runtime; Kaito falls back to its default runtime",
                at: "metadata.annotations.kaito.sh/runtime",
                notes: ["kaitoc knows vllm, transformers and kaito-serve (the CPU engine of this project)"]
            )
        }
    }

    // MARK: Resource

    /// Validates the label selector (R2, R3) and returns the sanitized matchLabels.
    @discardableResult
    mutating func validateSelector() -> [String: String]? {
        guard let selector = ws.resource.labelSelector else { return nil }
        var map: [String: String] = [:]
        for (k, v) in selector.matchLabels { map[k] = v }
        for (i, e) in selector.matchExpressions.enumerated() {
            guard e.operator == "In", e.values.count == 1 else {
                let err =
                    e.operator == "In"
                    ? "operator \"In\" without a single value cannot be converted into a map"
                    : "operator \"\(e.operator)\" cannot be converted into a map"
                kaito(
                    "R2",
                    "invalid value: \(err): resource.labelSelector",
                    at: "resource.labelSelector.matchExpressions[\(i)]"
                )
                return nil
            }
            map[e.key] = e.values[0]
        }
        if !selector.matchLabels.isEmpty,
            selector.matchLabels.keys.allSatisfy({ WorkspaceValidator.reservedSelectorKeys.contains($0) })
        {
            kaito(
                "R3",
                "invalid value: matchLabels must contain at least one non-reserved label: resource.labelSelector.matchLabels",
                at: "resource.labelSelector.matchLabels"
            )
        }
        return map.filter { !WorkspaceValidator.reservedSelectorKeys.contains($0.key) }
    }

    /// The preset name as Kaito prints it in messages: the requested name, lowercased (docs/reference/kaito.md section 2.1).
    func requestedName(_ preset: ModelPreset) -> String {
        (ws.inference?.preset?.name ?? ws.tuning?.preset?.name ?? preset.name).lowercased()
    }

    /// Resolves the runtime as Kaito does (docs/reference/kaito.md section 1.4), plus kaito-serve: selected by the annotation
    /// `kaito.sh/runtime: kaito-serve` or by a CPU-only instance type (issue 6).
    func runtime() -> Runtime {
        let requested = annotations["kaito.sh/runtime"]?.lowercased()
        if requested == "kaito-serve" || cpuInstanceType != nil { return .kaitoServe }
        guard target.gate("vLLM") else { return .transformers }
        return requested == "transformers" ? .transformers : .vllm
    }

    /// The workspace's instance type when the catalog knows it as CPU-only.
    var cpuInstanceType: InstanceType? {
        guard target.nodeAutoProvisioning, let name = ws.resource.instanceType,
            let sku = catalog.instanceType(named: name, for: target), sku.isCPUOnly
        else { return nil }
        return sku
    }

    /// Looks the instance type up; reports R5 or the compiler's unknown-SKU error.
    mutating func resolveInstanceType() -> InstanceType? {
        guard target.nodeAutoProvisioning, let name = ws.resource.instanceType, !name.isEmpty else { return nil }
        if let known = catalog.instanceType(named: name, for: target) { return known }
        let prefixException: Bool
        let lower = name.lowercased()
        let hasNDPrefix = lower.hasPrefix("standard_n") || lower.hasPrefix("standard_d")
        prefixException = target.cloudProvider == "azure" && hasNDPrefix
        var notes: [String] = []
        if let other = catalog.anyInstanceType(named: name) {
            if other.cloud != target.cloudProvider {
                notes.append(
                    "\(other.name) is an \(other.cloud) instance type; target \(target.name) is on \(target.cloudProvider)"
                )
            } else if let removed = other.removedIn, target.kaitoVersion >= removed {
                notes.append(
                    "\(other.name) was removed from Kaito's SKU table in \(removed); target \(target.name) models Kaito \(target.kaitoVersion)"
                )
            } else if let added = other.addedIn, target.kaitoVersion < added {
                notes.append(
                    "\(other.name) was added to Kaito's SKU table in \(added); target \(target.name) models Kaito \(target.kaitoVersion)"
                )
            }
        } else if let suggestion = Suggestion.closest(
            to: name,
            in: catalog.instanceTypeNames(for: target) + catalog.cpuInstanceTypeNames(for: target)
        ) {
            notes.append("did you mean \(suggestion)?")
        }
        if prefixException {
            report(
                .error,
                DiagnosticCode.unknownInstanceType,
                "instance type \(name) is not in the GPU catalog: Kaito's webhook accepts it (name starts with Standard_N or Standard_D) but its controller cannot provision it (\"Unsupported SKU '\(name)' for cloud provider\"); add it to presets/ with its GPU facts",
                at: "resource.instanceType",
                notes: notes
            )
        } else {
            let list = catalog.instanceTypeNames(for: target).sorted()
            kaito(
                "R5",
                "invalid value: Unsupported instance type \(name). Supported SKUs: [\(list.joined(separator: " "))]: resource.instanceType",
                at: "resource.instanceType",
                notes: notes
            )
        }
        return nil
    }

    mutating func validateResourceWithInference(_ inference: InferenceSpec) {
        var preset: ModelPreset?
        if let name = inference.preset?.name, let models {
            switch models.resolve(name) {
            case .preset(let p): preset = p
            case .deprecated:
                kaito(
                    "R1",
                    "Model \(name.lowercased()) is deprecated and no longer supported: resource.presetName",
                    at: "inference.preset.name"
                )
                return
            default: break
            }
        }
        _ = validateSelector()
        if target.nodeAutoProvisioning, ws.resource.partition != nil {
            kaito(
                "R4",
                "GPU partitioning is only supported with BYO nodes (disableNodeAutoProvisioning=true): resource.partition",
                at: "resource.partition"
            )
        }
        var sku = resolveInstanceType()
        plan.instanceType = sku
        validatePartition(preset: preset)
        guard let preset else { return }
        plan.preset = preset
        let runtime = runtime()
        plan.runtime = runtime
        let count = ws.resource.count ?? 1
        // BYO nodes: the GPU facts and the number of machines come from the nodes the selector matches.
        var machines = count
        var byoFacts = false
        if runtime != .kaitoServe, !target.nodeAutoProvisioning, target.shape.readsBYONodeGPULabels {
            switch ws.resource.partition.map({ resolvePartitionGPUs($0) }) ?? resolveBYONodes() {
            case .unknown: break
            case .failed: return
            case .found(let nodeSKU, let nodes):
                sku = nodeSKU
                plan.instanceType = nodeSKU
                machines = nodes
                byoFacts = true
            }
        }
        if runtime == .kaitoServe {
            plan.nodeCount = count
            validateKaitoServe(preset: preset, sku: sku)
            return
        }
        if annotations[KaitoServeQuantization.annotation] != nil {
            report(
                .warning,
                DiagnosticCode.kaitoServe,
                "annotation \(KaitoServeQuantization.annotation) has no effect: the workspace runs on \(runtime.rawValue), not kaito-serve",
                at: "metadata.annotations.\(KaitoServeQuantization.annotation)",
                notes: ["remove it, or run the workspace on kaito-serve (annotation kaito.sh/runtime: kaito-serve)"]
            )
        }
        guard let sku else { return }
        plan.nodeCount = count
        if isClassic {
            validateClassicCapacity(preset: preset, sku: sku, count: count, gpuRequirement: preset.gpuCountRequirement)
        } else if ws.resource.partition == nil, !target.nodeAutoProvisioning || runtime != .vllm {
            // R9/R10: only when NAP is off or the runtime is not vLLM (docs/reference/kaito.md section 1.6); with BYO
            // nodes the machines are the matching nodes and the instance type printed is the (empty) field.
            if let size = preset.modelFileSize {
                let total = Quantity(gibibytes: sku.gpuMemory.gibibytes * Double(machines))
                let skuName = byoFacts ? ws.resource.instanceType ?? "" : sku.name
                if total.value < size.value {
                    kaito(
                        "R9",
                        "invalid value: Insufficient total GPU memory: Instance type \(skuName) has a total of \(total.text), but preset \(requestedName(preset)) requires at least \(size.text): resource.instanceType",
                        at: "resource.instanceType",
                        severity: bypassResourceChecks ? .warning : .error,
                        notes: bypassResourceChecks ? ["kaito.sh/bypass-resource-checks turns this into a warning"] : []
                    )
                }
                if preset.supportDistributedInference, size.value > sku.gpuMemory.value, runtime == .transformers {
                    kaito(
                        "R10",
                        "Multi-node distributed inference is not supported with Huggingface Transformers runtime",
                        at: "resource.instanceType"
                    )
                }
            }
        }
        if runtime == .vllm { validateInferenceConfig(inference, preset: preset) }
        // A MIG slice too small for the weights is rule R14's; the estimate would only repeat it.
        let sliceTooSmall = diagnostics.contains { $0.code == "KAITO-R14" }
        if runtime == .vllm, target.nodeAutoProvisioning || byoFacts, isHead, !sliceTooSmall {
            estimateNodes(preset: preset, sku: sku)
            if byoFacts, ws.resource.partition == nil, plan.nodeCount > machines {
                report(
                    .warning,
                    DiagnosticCode.byo,
                    "preset \(preset.name) needs \(plan.nodeCount) nodes of \(sku.gpuCount) × \(sku.gpuModel) (estimate), but the node pools matching resource.labelSelector have \(machines)",
                    at: "resource.labelSelector",
                    notes: [
                        "the StatefulSet's pods beyond \(machines) stay Pending until more nodes with these labels join"
                    ]
                )
            }
        }
        checkBFloat16(preset: preset, sku: sku, runtime: runtime)
    }

    mutating func estimateNodes(preset: ModelPreset, sku: InstanceType) {
        guard let size = preset.modelFileSize, let bytesPerToken = preset.bytesPerToken else { return }
        let result = NodeEstimator.nodeCount(
            gpuCount: sku.gpuCount,
            totalGPUMemoryGiB: sku.gpuMemory.gibibytes,
            modelSizeGiB: size.gibibytes,
            bytesPerToken: bytesPerToken,
            contextLength: plan.contextLength,
            isMIG: sku.mig
        )
        switch result {
        case .success(let nodes):
            plan.nodeCount = nodes
            if nodes > 1, !preset.supportDistributedInference {
                report(
                    .error,
                    DiagnosticCode.estimate,
                    "preset \(preset.name) needs \(nodes) nodes of \(sku.name) but does not support distributed inference",
                    at: "resource.instanceType"
                )
            }
        case .failure(.gpuMemoryTooSmall(let usable, let reserve)):
            report(
                .error,
                DiagnosticCode.estimate,
                "GPU memory of \(sku.name) is too small: \(Quantity.formatFixed(usable, decimals: 2))Gi usable per GPU does not cover the \(Quantity.formatFixed(reserve, decimals: 2))Gi reserve for a \(plan.contextLength)-token context of \(preset.name)",
                at: "resource.instanceType"
            )
        case .failure(.migNeedsMoreThanOneSlice):
            report(
                .error,
                DiagnosticCode.estimate,
                "preset \(preset.name) does not fit in one MIG slice of \(sku.name)",
                at: "resource.instanceType"
            )
        }
    }

    /// The rules of v0.3.0–v0.4.x (docs/reference/kaito.md section 1.7): GPU count, per-GPU memory, total GPU memory.
    mutating func validateClassicCapacity(preset: ModelPreset, sku: InstanceType, count: Int, gpuRequirement: Int?) {
        let severity: Severity = bypassResourceChecks ? .warning : .error
        let notes = bypassResourceChecks ? ["kaito.sh/bypass-resource-checks turns this into a warning"] : []
        if let required = gpuRequirement, sku.gpuCount * count < required {
            kaito(
                "GPU-COUNT",
                "invalid value: Insufficient number of GPUs: Instance type \(sku.name) provides \(sku.gpuCount * count), but preset \(preset.name) requires at least \(required): resource.instanceType",
                at: "resource.instanceType",
                severity: severity,
                notes: notes
            )
        }
        if let perGPU = preset.perGPUMemoryRequirement, sku.memoryPerGPU.value < perGPU.value {
            kaito(
                "GPU-MEMORY",
                "invalid value: Insufficient per GPU memory: Instance type \(sku.name) provides \(sku.memoryPerGPU.text) per GPU, but preset \(preset.name) requires at least \(perGPU.text) per GPU: resource.instanceType",
                at: "resource.instanceType",
                severity: severity,
                notes: notes
            )
        }
        if let total = preset.totalGPUMemoryRequirement {
            let available = Quantity(gibibytes: sku.gpuMemory.gibibytes * Double(count))
            if available.value < total.value {
                kaito(
                    "R9",
                    "invalid value: Insufficient total GPU memory: Instance type \(sku.name) has a total of \(available.text), but preset \(preset.name) requires at least \(total.text): resource.instanceType",
                    at: "resource.instanceType",
                    severity: severity,
                    notes: notes
                )
            }
        }
    }

    /// Warns when a bfloat16 model lands on GPUs without native bfloat16 (compute capability below 8.0).
    mutating func checkBFloat16(preset: ModelPreset, sku: InstanceType, runtime: Runtime) {
        guard let cc = sku.computeCapabilityValue, cc < 8.0 else { return }
        switch runtime {
        case .kaitoServe:
            return
        case .vllm:
            guard preset.vllm?.dtype == "bfloat16" else { return }
            report(
                .error,
                DiagnosticCode.bf16,
                "preset \(preset.name) runs vLLM with --dtype=bfloat16, but \(sku.name) has \(sku.gpuModel) GPUs (compute capability \(sku.computeCapability ?? "?")) and vLLM refuses bfloat16 below compute capability 8.0; the pod would crash at start",
                at: "resource.instanceType",
                notes: [
                    "use the transformers runtime (annotation kaito.sh/runtime: transformers) or an instance type with compute capability 8.0 or higher"
                ]
            )
        case .transformers:
            let dtype = preset.transformers?.value(of: "torch_dtype") ?? "auto"
            guard dtype == "bfloat16" || dtype == "auto" else { return }
            report(
                .warning,
                DiagnosticCode.bf16,
                "preset \(preset.name) loads its weights as bfloat16 (torch_dtype=\(dtype)), but \(sku.name) has \(sku.gpuModel) GPUs (compute capability \(sku.computeCapability ?? "?")) without native bfloat16; the transformers runtime will run in bfloat16 through slow emulation",
                at: "resource.instanceType",
                notes: ["an instance type with compute capability 8.0 or higher runs bfloat16 natively"]
            )
        }
    }

    mutating func validatePartition(preset: ModelPreset?) {
        guard let partition = ws.resource.partition else { return }
        guard !target.nodeAutoProvisioning else { return }
        switch partition.mode {
        case "mig":
            if !target.gate("enableMIG") {
                kaito(
                    "R11",
                    "MIG support is not enabled, set feature gate enableMIG=true: partition",
                    at: "resource.partition"
                )
            }
            if partition.count != nil {
                kaito(
                    "R12",
                    "invalid value: count is only valid for accelerator mode: partition.count",
                    at: "resource.partition.count"
                )
            }
            guard let profile = partition.profile else { return }
            let pieces = profile.split(separator: ".", maxSplits: 1)
            let valid =
                pieces.count == 2 && pieces[0].hasSuffix("g") && Int(pieces[0].dropLast()) != nil
                && pieces[1].hasSuffix("gb") && Double(pieces[1].dropLast(2)) != nil
            if !valid {
                kaito(
                    "R13",
                    "invalid value: invalid MIG profile format \"\(profile)\": expected format like '1g.10gb': partition.profile",
                    at: "resource.partition.profile"
                )
            } else if let preset, let size = preset.modelFileSize, let gb = Double(pieces[1].dropLast(2)) {
                let slice = Quantity(gibibytes: gb.rounded(.down))
                if size.value > slice.value {
                    kaito(
                        "R14",
                        "invalid value: Model \(requestedName(preset)) requires at least \(size.formattedGi) for weights, which exceeds the \(profile) MIG slice capacity of \(slice.text): partition.profile",
                        at: "resource.partition.profile"
                    )
                }
            }
        case "accelerator":
            if !target.gate("enableAccelerator") {
                kaito(
                    "R15",
                    "accelerator partition support is not enabled, set feature gate enableAccelerator=true: partition",
                    at: "resource.partition"
                )
            }
            if partition.profile != nil {
                kaito(
                    "R15",
                    "invalid value: profile is not valid for accelerator mode: partition.profile",
                    at: "resource.partition.profile"
                )
            }
            if partition.count == nil {
                kaito("R15", "missing field(s): partition.count", at: "resource.partition")
            }
        default:
            report(
                .error,
                DiagnosticCode.schema,
                "resource.partition.mode: must be mig or accelerator",
                at: "resource.partition.mode"
            )
        }
    }
}
