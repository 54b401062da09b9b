internal import Crypto
internal import OrderedCollections
internal import YAML

/// Turns validated workspaces into the Kubernetes objects Kaito's controllers would create (docs/reference/kaito.md section 4).
///
/// Deliberate differences from Kaito, all for GitOps: node object names are a stable hash instead of a time-salted
/// one; command-line flags and node-affinity expressions are sorted; there are no owner references to a Workspace
/// (none exists in the cluster) and no ControllerRevision; every object carries the labels
/// `app.kubernetes.io/managed-by: kaitoc`, `kaito.sh/workspace` and `kaito.sh/workspacenamespace`.
public struct Renderer: Sendable {
    /// The catalog.
    public var catalog: Catalog
    /// The ConfigMaps of the repository (referenced ones are emitted beside the workload).
    public var configMaps: ConfigMapIndex

    /// Creates a renderer.
    public init(catalog: Catalog, configMaps: ConfigMapIndex) {
        self.catalog = catalog
        self.configMaps = configMaps
    }

    /// The value of the `app.kubernetes.io/managed-by` label on everything kaitoc writes.
    public static let managedBy = "kaitoc"

    /// Renders one workspace in the given output mode.
    public func render(_ plan: WorkspacePlan, mode: OutputMode) -> [RenderedObject] {
        var context = RenderContext(plan: plan, catalog: catalog, configMaps: configMaps)
        var objects: [RenderedObject]
        switch mode {
        case .controller:
            objects = context.controllerModeObjects()
        case .expanded:
            objects = context.expandedObjects()
        }
        objects.sort(by: RenderedObject.installOrder)
        return objects
    }
}

/// Everything needed to render one workspace.
struct RenderContext {
    let plan: WorkspacePlan
    let catalog: Catalog
    let configMaps: ConfigMapIndex

    var ws: Workspace { plan.workspace }
    var target: Target { plan.target }
    var name: String { ws.metadata.name }
    var namespace: String { ws.metadata.effectiveNamespace }
    var version: KaitoVersion { target.kaitoVersion }
    var modelCatalog: ModelCatalog? { catalog.modelCatalog(for: version) }
    var annotations: [String: String] {
        var result: [String: String] = [:]
        for (k, v) in ws.metadata.annotations { result[k] = v }
        return result
    }

    init(plan: WorkspacePlan, catalog: Catalog, configMaps: ConfigMapIndex) {
        self.plan = plan
        self.catalog = catalog
        self.configMaps = configMaps
    }

    // MARK: Shared pieces

    /// The labels kaitoc adds to every object's metadata.
    var ownershipLabels: [(String, String)] {
        [
            ("app.kubernetes.io/managed-by", Renderer.managedBy),
            ("kaito.sh/workspace", name),
            ("kaito.sh/workspacenamespace", namespace),
        ]
    }

    /// The InferenceSet that generates the workspace (its `inferenceset.kaito.sh/created-by` label), or `nil`.
    var createdBy: String? {
        plan.inferenceSet == nil ? nil : ws.metadata.labels[InferenceSetValidator.createdByLabel]
    }

    /// The workload's selector and pod labels: `kaito.sh/workspace`, plus `inferenceset.kaito.sh/created-by` for the
    /// Workspaces of an InferenceSet (`GenerateStatefulSetManifest` and `GenerateStatefulSetManifestFromTemplate` in
    /// `pkg/workspace/manifests/manifests.go`, v0.12).
    var workloadSelector: [(String, String)] {
        [("kaito.sh/workspace", name)] + (createdBy.map { [(InferenceSetValidator.createdByLabel, $0)] } ?? [])
    }

    /// `matchLabels` without Kaito's reserved keys, in source order, plus single-value `In` expressions.
    var sanitizedMatchLabels: [(String, String)] {
        var result: OrderedDictionary<String, String> = [:]
        for (k, v) in ws.resource.labelSelector?.matchLabels ?? [:]
        where !WorkspaceValidator.reservedSelectorKeys.contains(k) {
            result[k] = v
        }
        for e in ws.resource.labelSelector?.matchExpressions ?? [] where e.operator == "In" && e.values.count == 1 {
            if !WorkspaceValidator.reservedSelectorKeys.contains(e.key) { result[e.key] = e.values[0] }
        }
        return result.map { ($0.key, $0.value) }
    }

    func metadata(
        name: String,
        namespaced: Bool = true,
        labels: [(String, String)] = [],
        annotations: [(String, String)] = []
    )
        -> Node
    {
        var allLabels = OrderedDictionary<String, String>()
        for (k, v) in ownershipLabels + labels { allLabels[k] = v }
        return M.map([
            ("name", M.str(name)),
            ("namespace", namespaced ? M.str(namespace) : nil),
            ("labels", M.labels(allLabels.map { ($0.key, $0.value) })),
            ("annotations", annotations.isEmpty ? nil : M.labels(annotations)),
        ])
    }

    func object(
        _ apiVersion: String,
        _ kind: String,
        name: String,
        namespaced: Bool = true,
        body: Node
    )
        -> RenderedObject
    {
        RenderedObject(
            apiVersion: apiVersion,
            kind: kind,
            name: name,
            namespace: namespaced ? namespace : nil,
            body: body,
            workspace: ws.qualifiedName,
            sourceFile: ws.source.file
        )
    }

    /// The first `length` hex digits of SHA-256 of `text`.
    static func hash(_ text: String, length: Int) -> String {
        let digest = SHA256.hash(data: Array(text.utf8))
        let hex = digest.map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
        return String(hex.prefix(length))
    }

    /// The registry of the target.
    var registry: String { target.presetRegistry }

    /// `<registry>/kaito-base:<tag>`.
    var baseImage: String {
        let tag = target.baseImageTag ?? modelCatalog?.baseImageTag ?? ""
        return "\(registry)/\(modelCatalog?.baseImageName ?? "kaito-base"):\(tag)"
    }

    /// The workload revision annotation of a first render (docs/reference/kaito.md section 4.17).
    var revisionAnnotation: (String, String) { ("workspace.kaito.io/revision", "1") }
    /// The workload's annotations: the revision from v0.3.1 (``ReleaseShape/revisionAnnotation``).
    var revisionAnnotations: [(String, String)] { shape.revisionAnnotation ? [revisionAnnotation] : [] }

    // MARK: Mode dispatch

    mutating func expandedObjects() -> [RenderedObject] {
        var objects = nodeObjects()
        objects += referencedConfigMaps()
        if let inference = ws.inference {
            objects += services()
            if inference.template != nil {
                objects.append(templateWorkload())
            } else if plan.preset != nil, runtime == .kaitoServe {
                objects.append(kaitoServeWorkload())
            } else if plan.preset != nil {
                if copiesDefaultInferenceConfig { objects.append(defaultInferenceConfigMap()) }
                objects.append(presetWorkload())
            }
        } else if ws.tuning != nil {
            objects += tuningObjects()
        }
        return objects
    }

    /// The ConfigMaps named by `inference.config` / `tuning.config`, copied from the repository.
    func referencedConfigMaps() -> [RenderedObject] {
        let names = [ws.inference?.config, ws.tuning?.config].compactMap { $0 }.filter { !$0.isEmpty }
        return names.compactMap { configName in
            guard let configMap = configMaps.find(namespace: namespace, name: configName) else { return nil }
            return configMapObject(configMap)
        }
    }

    func configMapObject(_ configMap: ConfigMapObject) -> RenderedObject {
        var labels: [(String, String)] = []
        for (k, v) in configMap.metadata.labels { labels.append((k, v)) }
        var annotations: [(String, String)] = []
        for (k, v) in configMap.metadata.annotations { annotations.append((k, v)) }
        let body = M.map([
            ("apiVersion", M.str("v1")),
            ("kind", M.str("ConfigMap")),
            ("metadata", metadata(name: configMap.metadata.name, labels: labels, annotations: annotations)),
            ("data", M.map(configMap.data.map { ($0.key, M.str($0.value)) })),
        ])
        return object("v1", "ConfigMap", name: configMap.metadata.name, body: body)
    }
}
