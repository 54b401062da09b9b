public import OrderedCollections
public import YAML

/// `spec.autoUpgrade.maintenanceWindow` of an InferenceSet.
public struct MaintenanceWindow: Sendable, Hashable {
    /// A 5-field cron expression (UTC).
    public var schedule: String?
    /// How long the window stays open (a Go duration such as `4h`).
    public var duration: String?
}

/// `spec.autoUpgrade` of an InferenceSet.
public struct AutoUpgradePolicy: Sendable, Hashable {
    /// Whether Workspaces are upgraded automatically.
    public var enabled: Bool?
    /// `InPlace` or `Surge`.
    public var strategy: String?
    /// When upgrades may start.
    public var maintenanceWindow: MaintenanceWindow?
}

/// A Kaito `InferenceSet` (`kaito.sh/v1alpha1` or `kaito.sh/v1beta1`): a number of identical Workspaces made from one
/// template (docs/reference/kaito.md section 1.9).
public struct InferenceSet: Sendable, Hashable {
    /// The API version it was written in.
    public var apiVersion: WorkspaceAPIVersion
    /// Its metadata.
    public var metadata: ObjectMeta
    /// `spec.replicas` (CRD default 1).
    public var replicas: Int?
    /// `spec.nodeCountLimit` (0 or absent: no limit).
    public var nodeCountLimit: Int?
    /// `spec.labelSelector`, the child Workspaces' `resource.labelSelector`.
    public var labelSelector: LabelSelector?
    /// `spec.template.metadata.labels`.
    public var templateLabels: OrderedDictionary<String, String> = [:]
    /// `spec.template.metadata.annotations`.
    public var templateAnnotations: OrderedDictionary<String, String> = [:]
    /// `spec.template.resource.instanceType`.
    public var instanceType: String?
    /// `spec.template.resource.partition` (v1beta1).
    public var partition: PartitionSpec?
    /// `spec.template.inference`.
    public var inference: InferenceSpec?
    /// `spec.updateStrategy`, kept as written.
    public var updateStrategy: Node?
    /// `spec.autoUpgrade`.
    public var autoUpgrade: AutoUpgradePolicy?
    /// Where it came from.
    public var source: SourceInfo

    /// `namespace/name`.
    public var qualifiedName: String { "\(metadata.effectiveNamespace)/\(metadata.name)" }

    /// The desired number of Workspaces: `spec.replicas`, 1 when absent (`addOrUpdateInferenceSet`).
    public var desiredReplicas: Int { replicas ?? 1 }
}

/// Decodes one `InferenceSet` document.
struct InferenceSetDecoder {
    let context: DecodeContext
    let version: WorkspaceAPIVersion

    func decode(_ root: Node, index: Int) -> InferenceSet? {
        guard var top = MappingReader(root, path: "", context: context) else { return nil }
        _ = top.value("apiVersion")
        _ = top.value("kind")
        _ = top.value("status")
        let metadataNode = top.value("metadata")
        let specNode = top.value("spec")
        top.finish()
        guard let metadataNode else {
            context.error(DiagnosticCode.schema, "missing field metadata", at: root.mark)
            return nil
        }
        guard let metadata = InputDecoder.decodeMetadata(metadataNode, context: context, strict: true) else {
            return nil
        }
        let workspace = WorkspaceDecoder(context: context, version: .v1beta1)
        var set = InferenceSet(
            apiVersion: version,
            metadata: metadata,
            source: SourceInfo(file: context.file, documentIndex: index, mark: root.mark, fieldMarks: [:])
        )
        if let specNode, var spec = MappingReader(specNode, path: "spec", context: context) {
            set.replicas = spec.int("replicas")
            set.nodeCountLimit = spec.int("nodeCountLimit")
            if let selector = spec.value("labelSelector") {
                set.labelSelector = workspace.decodeLabelSelector(selector, path: "spec.labelSelector")
            } else if spec.keyMark("labelSelector") == nil {
                context.error(DiagnosticCode.schema, "missing field spec.labelSelector", at: specNode.mark)
            }
            set.updateStrategy = spec.value("updateStrategy")
            if let upgrade = spec.value("autoUpgrade") { set.autoUpgrade = decodeAutoUpgrade(upgrade) }
            if let template = spec.value("template") {
                decodeTemplate(template, into: &set, workspace: workspace)
            } else {
                context.error(DiagnosticCode.schema, "missing field spec.template", at: specNode.mark)
            }
            spec.finish()
        } else if specNode == nil {
            context.error(DiagnosticCode.schema, "missing field spec", at: root.mark)
        }
        set.source.fieldMarks = context.marks
        return set
    }

    private func decodeTemplate(_ node: Node, into set: inout InferenceSet, workspace: WorkspaceDecoder) {
        guard var t = MappingReader(node, path: "spec.template", context: context) else { return }
        if let meta = t.value("metadata"), var m = MappingReader(meta, path: "spec.template.metadata", context: context)
        {
            for entry in m.stringMap("labels") ?? [] { set.templateLabels[entry.key] = entry.value }
            for entry in m.stringMap("annotations") ?? [] { set.templateAnnotations[entry.key] = entry.value }
            // The CRD keeps template.metadata schemaless: other ObjectMeta fields are kept by the API server and
            // ignored by the controller (`NewWorkspaceForInferenceSet` copies only labels and annotations).
            for field in InputDecoder.objectMetaFields where !["labels", "annotations"].contains(field) {
                _ = m.value(field)
            }
            m.finish()
        }
        if let resource = t.value("resource"),
            var r = MappingReader(resource, path: "spec.template.resource", context: context)
        {
            set.instanceType = r.string("instanceType")
            if version == .v1beta1, let partition = r.value("partition") {
                set.partition = workspace.decodePartition(partition, path: "spec.template.resource.partition")
            }
            r.finish(
                extraHint: version == .v1alpha1 && resource["partition"] != nil
                    ? "partition exists only in kaito.sh/v1beta1" : nil
            )
        }
        if let inference = t.value("inference") {
            set.inference = workspace.decodeInference(inference, path: "spec.template.inference")
        } else {
            context.error(DiagnosticCode.schema, "missing field spec.template.inference", at: node.mark)
        }
        t.finish()
    }

    private func decodeAutoUpgrade(_ node: Node) -> AutoUpgradePolicy? {
        guard var r = MappingReader(node, path: "spec.autoUpgrade", context: context) else { return nil }
        var policy = AutoUpgradePolicy(enabled: r.bool("enabled"), strategy: r.string("strategy"))
        if let windowNode = r.value("maintenanceWindow"),
            var w = MappingReader(windowNode, path: "spec.autoUpgrade.maintenanceWindow", context: context)
        {
            policy.maintenanceWindow = MaintenanceWindow(schedule: w.string("schedule"), duration: w.string("duration"))
            w.finish()
        }
        r.finish()
        return policy
    }
}
