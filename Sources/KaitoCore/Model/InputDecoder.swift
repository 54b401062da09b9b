internal import OrderedCollections
public import YAML

/// Decodes the documents of a repository file into ``InputObject`` values with strict field checking.
public enum InputDecoder {
    /// The fields of `metadata` that Kubernetes defines; any other key is reported as unknown.
    static let objectMetaFields = [
        "name", "namespace", "labels", "annotations", "generateName", "uid", "resourceVersion", "generation",
        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers", "ownerReferences",
        "managedFields", "selfLink",
    ]

    /// Decodes one document.
    ///
    /// - Parameters:
    ///   - root: The document's root node.
    ///   - file: The file path used in diagnostics.
    ///   - index: The 0-based index of the document in its file.
    /// - Returns: The object (`nil` when it cannot be identified) and every problem found while decoding.
    public static func decode(_ root: Node, file: String, index: Int) -> (InputObject?, [Diagnostic]) {
        let context = DecodeContext(file: file)
        guard root.mapping != nil else {
            context.typeMismatch("document", expected: "a Kubernetes object (a mapping)", found: root)
            return (nil, context.diagnostics)
        }
        let apiVersionNode = root["apiVersion"]
        let kindNode = root["kind"]
        guard let apiVersion = apiVersionNode?.scalar, let kind = kindNode?.scalar, !apiVersion.isEmpty, !kind.isEmpty
        else {
            context.error(
                DiagnosticCode.schema,
                "document has no \(root["apiVersion"] == nil ? "apiVersion" : "kind"); every document under workspaces/ must be a Kubernetes object",
                at: root.mark
            )
            return (nil, context.diagnostics)
        }
        if kind == "Workspace", apiVersion.hasPrefix("kaito.sh/") {
            guard let version = WorkspaceAPIVersion(rawValue: apiVersion) else {
                context.error(
                    DiagnosticCode.schema,
                    "unsupported apiVersion \"\(apiVersion)\" for Workspace; expected kaito.sh/v1alpha1 or kaito.sh/v1beta1",
                    at: apiVersionNode?.mark ?? root.mark
                )
                return (nil, context.diagnostics)
            }
            let workspace = WorkspaceDecoder(context: context, version: version).decode(root, index: index)
            return (workspace.map(InputObject.workspace), context.diagnostics)
        }
        if kind == "InferenceSet", apiVersion.hasPrefix("kaito.sh/") {
            guard let version = WorkspaceAPIVersion(rawValue: apiVersion) else {
                context.error(
                    DiagnosticCode.schema,
                    "unsupported apiVersion \"\(apiVersion)\" for InferenceSet; expected kaito.sh/v1alpha1 or kaito.sh/v1beta1",
                    at: apiVersionNode?.mark ?? root.mark
                )
                return (nil, context.diagnostics)
            }
            let set = InferenceSetDecoder(context: context, version: version).decode(root, index: index)
            return (set.map(InputObject.inferenceSet), context.diagnostics)
        }
        var reader = MappingReader(root, path: "", context: context)
        let metadata = reader?.value("metadata").flatMap { decodeMetadata($0, context: context, strict: false) }
        guard let metadata else {
            context.error(DiagnosticCode.schema, "\(kind) has no metadata.name", at: root.mark)
            return (nil, context.diagnostics)
        }
        let source = SourceInfo(file: file, documentIndex: index, mark: root.mark, fieldMarks: context.marks)
        if kind == "ConfigMap", apiVersion == "v1" {
            var data: [(String, String)] = []
            if let dataNode = reader?.value("data") {
                if let pairs = dataNode.mapping {
                    for pair in pairs {
                        guard let key = pair.key.scalar else { continue }
                        context.record("data.\(key)", pair.value.mark)
                        if pair.value.resolvedType == .string, let value = pair.value.scalar {
                            data.append((key, value))
                        } else {
                            context.typeMismatch("data.\(key)", expected: "a string", found: pair.value)
                        }
                    }
                } else {
                    context.typeMismatch("data", expected: "a map of strings", found: dataNode)
                }
            }
            var configSource = source
            configSource.fieldMarks = context.marks
            let object = ConfigMapObject(
                metadata: metadata,
                data: .init(uniqueKeysWithValues: data),
                source: configSource
            )
            return (.configMap(object), context.diagnostics)
        }
        return (
            .other(OtherObject(apiVersion: apiVersion, kind: kind, metadata: metadata, node: root, source: source)),
            context.diagnostics
        )
    }

    /// Decodes `metadata`; `nil` when it has no usable name (reported).
    static func decodeMetadata(_ node: Node, context: DecodeContext, strict: Bool) -> ObjectMeta? {
        guard var reader = MappingReader(node, path: "metadata", context: context) else { return nil }
        let name = reader.string("name")
        let namespace = reader.string("namespace")
        let labels = reader.stringMap("labels")
        let annotations = reader.stringMap("annotations")
        for field in objectMetaFields where !["name", "namespace", "labels", "annotations"].contains(field) {
            _ = reader.value(field)
        }
        if strict { reader.finish() }
        guard let name else {
            if reader.keyMark("name") == nil {
                context.error(DiagnosticCode.schema, "missing field metadata.name", at: node.mark)
            }
            return nil
        }
        // The namespace and the names of non-Workspace objects become folders and files of out/: they must be
        // what Kubernetes accepts (Workspace names are rule V1).
        if let namespace, let mark = reader.node["namespace"]?.mark {
            let errors = KubernetesNames.dns1123LabelErrors(namespace)
            if !errors.isEmpty {
                context.error(DiagnosticCode.schema, "metadata.namespace: \(errors.joined(separator: ", "))", at: mark)
            }
        }
        if !strict, let mark = reader.node["name"]?.mark {
            let errors = KubernetesNames.dns1123SubdomainErrors(name)
            if !errors.isEmpty {
                context.error(DiagnosticCode.schema, "metadata.name: \(errors.joined(separator: ", "))", at: mark)
            }
        }
        var meta = ObjectMeta(name: name, namespace: namespace)
        for entry in labels ?? [] { meta.labels[entry.key] = entry.value }
        for entry in annotations ?? [] { meta.annotations[entry.key] = entry.value }
        return meta
    }
}

/// Decodes one `Workspace` document, field by field, for one API version.
struct WorkspaceDecoder {
    let context: DecodeContext
    let version: WorkspaceAPIVersion

    /// The CRD default of `resource.instanceType` in v1alpha1 (docs/reference/kaito.md section 1.3).
    static let v1alpha1DefaultInstanceType = "Standard_NC24ads_A100_v4"

    func decode(_ root: Node, index: Int) -> Workspace? {
        guard var top = MappingReader(root, path: "", context: context) else { return nil }
        _ = top.value("apiVersion")
        _ = top.value("kind")
        _ = top.value("status")
        let metadataNode = top.value("metadata")
        let resourceNode = top.value("resource")
        let inferenceNode = top.value("inference")
        let tuningNode = top.value("tuning")
        let hasSpec = root["spec"] != nil
        top.finish(
            extraHint: hasSpec
                ? "a Kaito Workspace has no spec: resource, inference and tuning sit at the top level beside metadata"
                : nil
        )
        guard let metadataNode else {
            context.error(DiagnosticCode.schema, "missing field metadata", at: root.mark)
            return nil
        }
        guard let metadata = InputDecoder.decodeMetadata(metadataNode, context: context, strict: true) else {
            return nil
        }
        var resource = resourceNode.map(decodeResource) ?? ResourceSpec()
        if version == .v1alpha1, resource.instanceType == nil {
            resource.instanceType = Self.v1alpha1DefaultInstanceType
        }
        let inference = inferenceNode.flatMap { decodeInference($0) }
        let tuning = tuningNode.flatMap(decodeTuning)
        let source = SourceInfo(file: context.file, documentIndex: index, mark: root.mark, fieldMarks: context.marks)
        return Workspace(
            apiVersion: version,
            metadata: metadata,
            resource: resource,
            inference: inference,
            tuning: tuning,
            source: source
        )
    }

    private func decodeResource(_ node: Node) -> ResourceSpec {
        var spec = ResourceSpec()
        guard var r = MappingReader(node, path: "resource", context: context) else { return spec }
        spec.count = r.int("count")
        spec.instanceType = r.string("instanceType")
        if let selector = r.value("labelSelector") {
            spec.labelSelector = decodeLabelSelector(selector, path: "resource.labelSelector")
        } else if r.keyMark("labelSelector") == nil {
            context.error(DiagnosticCode.schema, "missing field resource.labelSelector", at: node.mark)
        }
        spec.preferredNodes = r.stringList("preferredNodes")
        if version == .v1beta1, let partition = r.value("partition") {
            spec.partition = decodePartition(partition, path: "resource.partition")
        }
        r.finish(
            extraHint: version == .v1alpha1 && node["partition"] != nil
                ? "partition exists only in kaito.sh/v1beta1" : nil
        )
        return spec
    }

    func decodePartition(_ node: Node, path: String) -> PartitionSpec? {
        guard var p = MappingReader(node, path: path, context: context) else { return nil }
        let partition = PartitionSpec(mode: p.string("mode"), profile: p.string("profile"), count: p.int("count"))
        p.finish()
        return partition
    }

    func decodeLabelSelector(_ node: Node, path: String) -> LabelSelector? {
        guard var r = MappingReader(node, path: path, context: context) else { return nil }
        var selector = LabelSelector()
        for entry in r.stringMap("matchLabels") ?? [] { selector.matchLabels[entry.key] = entry.value }
        if let expressions = r.value("matchExpressions") {
            if let items = expressions.sequence {
                for (i, item) in items.enumerated() {
                    guard var e = MappingReader(item, path: "\(path).matchExpressions[\(i)]", context: context) else {
                        continue
                    }
                    let requirement = LabelSelector.Requirement(
                        key: e.string("key") ?? "",
                        operator: e.string("operator") ?? "",
                        values: e.stringList("values") ?? []
                    )
                    e.finish()
                    selector.matchExpressions.append(requirement)
                }
            } else {
                context.typeMismatch("\(path).matchExpressions", expected: "a list", found: expressions)
            }
        }
        r.finish()
        return selector
    }

    private func decodePreset(_ node: Node, path: String) -> PresetSpec? {
        guard var r = MappingReader(node, path: path, context: context) else { return nil }
        var preset = PresetSpec(name: r.string("name"), accessMode: r.string("accessMode"))
        if let optionsNode = r.value("presetOptions"),
            var o = MappingReader(optionsNode, path: "\(path).presetOptions", context: context)
        {
            var options = PresetOptions(image: o.string("image"), imagePullSecrets: o.stringList("imagePullSecrets"))
            if version == .v1beta1 { options.modelAccessSecret = o.string("modelAccessSecret") }
            o.finish(
                extraHint: version == .v1alpha1 && optionsNode["modelAccessSecret"] != nil
                    ? "modelAccessSecret exists only in kaito.sh/v1beta1" : nil
            )
            preset.presetOptions = options
        }
        r.finish()
        return preset
    }

    private func decodeDataSource(_ node: Node, path: String) -> DataSource? {
        guard var r = MappingReader(node, path: path, context: context) else { return nil }
        let source = DataSource(
            name: r.string("name"),
            urls: r.stringList("urls"),
            image: r.string("image"),
            imagePullSecrets: r.stringList("imagePullSecrets"),
            volumeSource: r.value("volumeSource")
        )
        r.finish()
        return source
    }

    func decodeInference(_ node: Node, path base: String = "inference") -> InferenceSpec? {
        guard var r = MappingReader(node, path: base, context: context) else { return nil }
        var spec = InferenceSpec()
        spec.preset = r.value("preset").flatMap { decodePreset($0, path: "\(base).preset") }
        spec.template = r.value("template")
        if let template = spec.template, template.mapping == nil {
            context.typeMismatch("\(base).template", expected: "a pod template (a mapping)", found: template)
            spec.template = nil
        }
        spec.config = r.string("config")
        if let adaptersNode = r.value("adapters") {
            if let items = adaptersNode.sequence {
                var adapters: [AdapterSpec] = []
                for (i, item) in items.enumerated() {
                    let path = "\(base).adapters[\(i)]"
                    context.record(path, item.mark)
                    guard var a = MappingReader(item, path: path, context: context) else { continue }
                    let adapter = AdapterSpec(
                        source: a.value("source").flatMap { decodeDataSource($0, path: "\(path).source") },
                        strength: a.string("strength")
                    )
                    a.finish()
                    adapters.append(adapter)
                }
                spec.adapters = adapters
            } else {
                context.typeMismatch("\(base).adapters", expected: "a list", found: adaptersNode)
            }
        }
        r.finish()
        return spec
    }

    private func decodeTuning(_ node: Node) -> TuningSpec? {
        guard var r = MappingReader(node, path: "tuning", context: context) else { return nil }
        var spec = TuningSpec()
        spec.preset = r.value("preset").flatMap { decodePreset($0, path: "tuning.preset") }
        spec.method = r.string("method")
        spec.config = r.string("config")
        spec.input = r.value("input").flatMap { decodeDataSource($0, path: "tuning.input") }
        if let outputNode = r.value("output"),
            var o = MappingReader(outputNode, path: "tuning.output", context: context)
        {
            spec.output = DataDestination(
                volumeSource: o.value("volumeSource"),
                image: o.string("image"),
                imagePushSecret: o.string("imagePushSecret")
            )
            o.finish()
        }
        r.finish()
        return spec
    }
}
