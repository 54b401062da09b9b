internal import OrderedCollections
internal import YAML

extension RenderContext {
    /// The StatefulSet built from the user's pod template, completed as Kaito completes it (docs/reference/kaito.md section 4.9).
    func templateWorkload() -> RenderedObject {
        let template = ws.inference?.template ?? M.map([])
        var metadataNode = template["metadata"] ?? M.map([])
        var labels = metadataNode["labels"] ?? M.map([])
        for (key, value) in workloadSelector { labels = labels.setting(key, M.str(value)) }
        metadataNode = metadataNode.setting("labels", labels)
        var spec = template["spec"] ?? M.map([])
        if let affinity = nodeAffinity(pins: true) {
            spec = spec.setting("affinity", affinity)
        } else {
            spec = spec.removing("affinity")
        }
        let userTolerations = spec["tolerations"]?.sequence ?? []
        spec = spec.setting("tolerations", M.list(userTolerations + (tolerations.sequence ?? [])))
        let body = M.map([
            ("apiVersion", M.str("apps/v1")),
            ("kind", M.str("StatefulSet")),
            ("metadata", metadata(name: name)),
            (
                "spec",
                M.map([
                    ("replicas", M.int(max(ws.resource.count ?? 1, 1))),
                    // Kaito's Go struct sends an empty serviceName for template workloads (docs/reference/kaito.md section 4.9).
                    ("serviceName", M.str("")),
                    ("selector", M.map([("matchLabels", M.labels(workloadSelector))])),
                    ("template", template.setting("metadata", metadataNode).setting("spec", spec)),
                ])
            ),
        ])
        return object("apps/v1", "StatefulSet", name: name, body: body)
    }

    // MARK: Controller mode

    /// The validated Workspace normalised to `kaito.sh/v1beta1` with its defaults filled in, plus the ConfigMaps it
    /// references, for clusters that run the Kaito operator.
    func controllerModeObjects() -> [RenderedObject] {
        var labels: [(String, String)] = []
        for (k, v) in ws.metadata.labels { labels.append((k, v)) }
        var annotationPairs: [(String, String)] = []
        for (k, v) in ws.metadata.annotations { annotationPairs.append((k, v)) }
        var resource: [(String, Node?)] = [
            ("count", M.int(ws.resource.count ?? 1)),
            ("instanceType", ws.resource.instanceType.map(M.str)),
        ]
        if let selector = ws.resource.labelSelector { resource.append(("labelSelector", Self.selectorNode(selector))) }
        if let preferred = ws.resource.preferredNodes { resource.append(("preferredNodes", M.strings(preferred))) }
        if let partition = ws.resource.partition { resource.append(("partition", Self.partitionNode(partition))) }
        var top: [(String, Node?)] = [
            ("apiVersion", M.str(WorkspaceAPIVersion.v1beta1.rawValue)),
            ("kind", M.str("Workspace")),
            ("metadata", metadata(name: name, labels: labels, annotations: annotationPairs)),
            ("resource", M.map(resource)),
        ]
        if let inference = ws.inference { top.append(("inference", Self.inferenceNode(inference))) }
        if let tuning = ws.tuning {
            top.append(
                (
                    "tuning",
                    M.map([
                        ("preset", tuning.preset.map(Self.presetNode)),
                        ("method", tuning.method.map(M.str)),
                        ("config", tuning.config.map(M.str)),
                        ("input", tuning.input.map(Self.dataSourceNode)),
                        (
                            "output",
                            tuning.output.map { output in
                                M.map([
                                    ("volumeSource", output.volumeSource),
                                    ("image", output.image.map(M.str)),
                                    ("imagePushSecret", output.imagePushSecret.map(M.str)),
                                ])
                            }
                        ),
                    ])
                )
            )
        }
        var objects = [object("kaito.sh/v1beta1", "Workspace", name: name, body: M.map(top))]
        objects += referencedConfigMaps()
        return objects
    }

    static func presetNode(_ preset: PresetSpec) -> Node {
        var options: [(String, Node?)] = []
        if let o = preset.presetOptions {
            options = [
                ("image", o.image.map(M.str)),
                ("imagePullSecrets", o.imagePullSecrets.map(M.strings)),
                ("modelAccessSecret", o.modelAccessSecret.map(M.str)),
            ]
        }
        return M.map([
            ("name", preset.name.map(M.str)),
            ("accessMode", M.str(preset.accessMode ?? "public")),
            ("presetOptions", options.isEmpty ? nil : M.map(options)),
        ])
    }

    /// `labelSelector` as written.
    static func selectorNode(_ selector: LabelSelector) -> Node {
        var pairs: [(String, Node?)] = []
        if !selector.matchLabels.isEmpty {
            pairs.append(("matchLabels", M.labels(selector.matchLabels.map { ($0.key, $0.value) })))
        }
        if !selector.matchExpressions.isEmpty {
            let expressions = selector.matchExpressions.map {
                M.map([("key", M.str($0.key)), ("operator", M.str($0.operator)), ("values", M.strings($0.values))])
            }
            pairs.append(("matchExpressions", M.list(expressions)))
        }
        return M.map(pairs)
    }

    /// `resource.partition` as written.
    static func partitionNode(_ partition: PartitionSpec) -> Node {
        M.map([
            ("mode", partition.mode.map(M.str)), ("profile", partition.profile.map(M.str)),
            ("count", partition.count.map(M.int)),
        ])
    }

    /// `inference` with its defaults filled in.
    static func inferenceNode(_ inference: InferenceSpec) -> Node {
        let adapters = inference.adapters.map { list in
            M.list(
                list.map { adapter in
                    M.map([
                        ("source", adapter.source.map(Self.dataSourceNode)),
                        ("strength", adapter.strength.map(M.str)),
                    ])
                }
            )
        }
        return M.map([
            ("preset", inference.preset.map(Self.presetNode)),
            ("template", inference.template),
            ("config", inference.config.map(M.str)),
            ("adapters", adapters),
        ])
    }

    static func dataSourceNode(_ source: DataSource) -> Node {
        M.map([
            ("name", source.name.map(M.str)),
            ("urls", source.urls.map(M.strings)),
            ("image", source.image.map(M.str)),
            ("imagePullSecrets", source.imagePullSecrets.map(M.strings)),
            ("volumeSource", source.volumeSource),
        ])
    }
}
