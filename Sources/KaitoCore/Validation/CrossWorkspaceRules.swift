internal import OrderedCollections
internal import YAML

/// Rules that span the workspaces of a target; they run only when the whole repository is checked.
enum CrossWorkspaceRules {
    /// Two workspaces (or two ConfigMaps) with the same namespace and name in one target.
    static func duplicates(workspaces: [Workspace], configMaps: [ConfigMapObject], target: Target) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var seen: [String: SourceInfo] = [:]
        for workspace in workspaces {
            let key = workspace.qualifiedName
            if let first = seen[key] {
                diagnostics.append(
                    Diagnostic(
                        .error,
                        code: DiagnosticCode.duplicate,
                        message: "workspace \(key) is defined twice for target \(target.name)",
                        location: workspace.source.location("metadata.name"),
                        notes: [
                            "first defined at \(first.location("metadata.name").file):\(first.location("metadata.name").line)"
                        ]
                    )
                )
            } else {
                seen[key] = workspace.source
            }
        }
        var seenConfigMaps: [String: SourceInfo] = [:]
        for configMap in configMaps {
            let key = "\(configMap.metadata.effectiveNamespace)/\(configMap.metadata.name)"
            if let first = seenConfigMaps[key] {
                diagnostics.append(
                    Diagnostic(
                        .error,
                        code: DiagnosticCode.duplicate,
                        message: "ConfigMap \(key) is defined twice for target \(target.name)",
                        location: configMap.source.location("metadata.name"),
                        notes: [
                            "first defined at \(first.location("metadata.name").file):\(first.location("metadata.name").line)"
                        ]
                    )
                )
            } else {
                seenConfigMaps[key] = configMap.source
            }
        }
        return diagnostics
    }

    /// Two InferenceSets with the same namespace and name in one target (their Workspaces would be the same).
    static func duplicates(inferenceSets: [InferenceSet], target: Target) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var seen: [String: SourceInfo] = [:]
        for set in inferenceSets {
            let key = set.qualifiedName
            guard let first = seen[key] else {
                seen[key] = set.source
                continue
            }
            let firstLocation = first.location("metadata.name")
            diagnostics.append(
                Diagnostic(
                    .error,
                    code: DiagnosticCode.duplicate,
                    message: "InferenceSet \(key) is defined twice for target \(target.name)",
                    location: set.source.location("metadata.name"),
                    notes: ["first defined at \(firstLocation.file):\(firstLocation.line)"]
                )
            )
        }
        return diagnostics
    }

    /// The nodes and GPUs that the target's workspaces request must fit its quotas.
    static func quotas(plans: [WorkspacePlan], target: Target) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for quota in target.quotas {
            let involved = plans.filter { plan in
                guard let sku = plan.instanceType else { return false }
                if let name = quota.instanceType { return sku.name.lowercased() == name.lowercased() }
                return sku.gpuModel == quota.gpuModel
            }
            let nodes = involved.reduce(0) { $0 + $1.nodeCount }
            let gpus = involved.reduce(0) { $0 + $1.nodeCount * ($1.instanceType?.gpuCount ?? 0) }
            var excess: [String] = []
            if let max = quota.maxNodes, nodes > max { excess.append("\(nodes) nodes (quota \(max))") }
            if let max = quota.maxGPUs, gpus > max { excess.append("\(gpus) GPUs (quota \(max))") }
            guard !excess.isEmpty else { continue }
            let notes = involved.map { plan in
                let loc = plan.workspace.source.location("resource.instanceType")
                return
                    "\(plan.workspace.qualifiedName) at \(loc.file):\(loc.line) requests \(plan.nodeCount) × \(plan.instanceType?.name ?? "?") (\(plan.nodeCount * (plan.instanceType?.gpuCount ?? 0)) GPUs)"
            }
            diagnostics.append(
                Diagnostic(
                    .error,
                    code: DiagnosticCode.quota,
                    message:
                        "the workspaces of target \(target.name) request \(excess.joined(separator: " and ")) of \(quota.subject)",
                    location: quota.location,
                    notes: notes
                )
            )
        }
        return diagnostics
    }
}
