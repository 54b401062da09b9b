internal import OrderedCollections
internal import YAML

extension Renderer {
    /// The objects of an InferenceSet itself; its Workspaces render as workspaces (their plans are in the check's
    /// plans, marked with ``WorkspacePlan/inferenceSet``).
    ///
    /// Controller mode: the InferenceSet normalised, and the ScaledObject keda-kaito-scaler would provision (section
    /// 4.19). Expanded mode: the Flux `OCIRepository` and `HelmRelease` of the InferencePool that the InferenceSet
    /// controller creates when `gatewayAPIInferenceExtension` is on (section 4.18).
    public func render(_ plan: InferenceSetPlan, mode: OutputMode) -> [RenderedObject] {
        let context = InferenceSetRenderContext(plan: plan)
        var objects: [RenderedObject]
        switch mode {
        case .controller:
            objects = [context.inferenceSetObject()]
            if let autoscaling = plan.autoscaling { objects.append(context.scaledObject(autoscaling)) }
        case .expanded:
            objects = context.inferencePoolObjects()
        }
        objects.sort(by: RenderedObject.installOrder)
        return objects
    }
}

/// Everything needed to render one InferenceSet's own objects.
struct InferenceSetRenderContext {
    let plan: InferenceSetPlan

    var source: InferenceSet { plan.inferenceSet }
    var name: String { source.metadata.name }
    var namespace: String { source.metadata.effectiveNamespace }

    func metadata(
        name objectName: String,
        labels: [(String, String)] = [],
        annotations: [(String, String)] = []
    )
        -> Node
    {
        var all = OrderedDictionary<String, String>()
        for (k, v) in [("app.kubernetes.io/managed-by", Renderer.managedBy)] + labels { all[k] = v }
        return M.map([
            ("name", M.str(objectName)),
            ("namespace", M.str(namespace)),
            ("labels", M.labels(all.map { ($0.key, $0.value) })),
            ("annotations", annotations.isEmpty ? nil : M.labels(annotations)),
        ])
    }

    func object(_ apiVersion: String, _ kind: String, name objectName: String, body: Node) -> RenderedObject {
        RenderedObject(
            apiVersion: apiVersion,
            kind: kind,
            name: objectName,
            namespace: namespace,
            body: body,
            workspace: source.qualifiedName,
            sourceFile: source.source.file
        )
    }

    // MARK: Controller mode

    /// The InferenceSet in the newest API version the target serves, with the CRD's defaults filled in
    /// (`spec.replicas` 1, `spec.updateStrategy` RollingUpdate with maxUnavailable 1, autoUpgrade's `enabled`,
    /// `strategy` and `maintenanceWindow.duration`; `api/v1beta1/inferenceset_types.go`).
    func inferenceSetObject() -> RenderedObject {
        let apiVersion = plan.target.shape.inferenceSetAPIVersions.last ?? source.apiVersion
        let defaultStrategy = M.map([
            ("type", M.str("RollingUpdate")), ("rollingUpdate", M.map([("maxUnavailable", M.int(1))])),
        ])
        var templateMetadata: [(String, Node?)] = []
        if !source.templateLabels.isEmpty {
            templateMetadata.append(("labels", M.labels(source.templateLabels.map { ($0.key, $0.value) })))
        }
        if !source.templateAnnotations.isEmpty {
            templateMetadata.append(("annotations", M.labels(source.templateAnnotations.map { ($0.key, $0.value) })))
        }
        let resource = M.map([
            ("instanceType", source.instanceType.map(M.str)),
            ("partition", apiVersion == .v1beta1 ? source.partition.map(RenderContext.partitionNode) : nil),
        ])
        let template = M.map([
            ("metadata", templateMetadata.isEmpty ? nil : M.map(templateMetadata)),
            ("resource", resource),
            ("inference", source.inference.map(RenderContext.inferenceNode) ?? M.map([])),
        ])
        let autoUpgrade = source.autoUpgrade.map { policy in
            M.map([
                ("enabled", M.bool(policy.enabled ?? false)),
                ("strategy", M.str(policy.strategy ?? "InPlace")),
                (
                    "maintenanceWindow",
                    policy.maintenanceWindow.map { window in
                        M.map([
                            ("schedule", M.str(window.schedule ?? "")),
                            ("duration", M.str(window.duration ?? "4h")),
                        ])
                    }
                ),
            ])
        }
        let spec = M.map([
            ("template", template),
            ("replicas", M.int(source.desiredReplicas)),
            ("nodeCountLimit", source.nodeCountLimit.flatMap { $0 == 0 ? nil : M.int($0) }),
            ("labelSelector", source.labelSelector.map(RenderContext.selectorNode)),
            ("updateStrategy", source.updateStrategy ?? defaultStrategy),
            ("autoUpgrade", autoUpgrade),
        ])
        let body = M.map([
            ("apiVersion", M.str(apiVersion.rawValue)),
            ("kind", M.str("InferenceSet")),
            (
                "metadata",
                metadata(
                    name: name,
                    labels: source.metadata.labels.map { ($0.key, $0.value) },
                    annotations: source.metadata.annotations.map { ($0.key, $0.value) }
                )
            ),
            ("spec", spec),
        ])
        return object(apiVersion.rawValue, "InferenceSet", name: name, body: body)
    }

    /// The ScaledObject of `buildScaledObject` in keda-kaito-scaler v0.5.1
    /// (`pkg/controllers/autoprovision/auto_provision_controller.go`) or v0.6.2 (`pkg/scaledobject/provisioner.go`),
    /// without the owner reference (no UID exists
    /// before the InferenceSet is applied; Kubernetes garbage collection is the only thing it feeds).
    func scaledObject(_ autoscaling: InferenceSetPlan.Autoscaling) -> RenderedObject {
        func rule(_ r: KedaKaitoScaler.Rule) -> Node {
            M.map([
                ("stabilizationWindowSeconds", M.int(r.stabilizationWindowSeconds)),
                ("selectPolicy", M.str("Max")),
                (
                    "policies",
                    M.list([
                        M.map([("type", M.str("Pods")), ("value", M.int(1)), ("periodSeconds", M.int(r.periodSeconds))])
                    ])
                ),
                ("tolerance", M.str(r.tolerance)),
            ])
        }
        let triggers = autoscaling.triggers.map { trigger in
            M.map([
                ("type", M.str("external")),
                ("name", M.str(trigger.name)),
                ("metadata", M.labels(trigger.metadata)),
                (
                    "authenticationRef",
                    M.labels([
                        ("name", KedaKaitoScaler.authenticationName), ("kind", KedaKaitoScaler.authenticationKind),
                    ])
                ),
                ("metricType", M.str(trigger.metricType)),
            ])
        }
        // A struct field marked omitempty, which encoding/json still writes, `{}` when unset (KEDA v2.19.0
        // `AdvancedConfig.ScalingModifiers`).
        let modifiers = M.map(
            autoscaling.scalingModifiers.map { m in
                [("formula", M.str(m.formula)), ("target", M.str(m.target)), ("metricType", M.str(m.metricType))]
            } ?? []
        )
        let spec = M.map([
            (
                "scaleTargetRef",
                M.labels([
                    ("name", name), ("apiVersion", autoscaling.targetAPIVersion), ("kind", "InferenceSet"),
                ])
            ),
            ("pollingInterval", M.int(KedaKaitoScaler.pollingInterval)),
            ("minReplicaCount", M.int(autoscaling.minReplicas)),
            ("maxReplicaCount", M.int(autoscaling.maxReplicas)),
            (
                "advanced",
                M.map([
                    (
                        "horizontalPodAutoscalerConfig",
                        M.map([
                            (
                                "behavior",
                                M.map([
                                    ("scaleUp", rule(autoscaling.scaleUp)),
                                    ("scaleDown", rule(autoscaling.scaleDown)),
                                ])
                            )
                        ])
                    ),
                    ("scalingModifiers", modifiers),
                ])
            ),
            ("triggers", M.list(triggers)),
        ])
        let body = M.map([
            ("apiVersion", M.str("keda.sh/v1alpha1")),
            ("kind", M.str("ScaledObject")),
            (
                "metadata",
                metadata(name: name, annotations: [(KedaKaitoScaler.managedBy, KedaKaitoScaler.scalerName)])
            ),
            ("spec", spec),
        ])
        return object("keda.sh/v1alpha1", "ScaledObject", name: name, body: body)
    }

    // MARK: Expanded mode

    /// Whether the InferenceSet controller installs the InferencePool (`ensureGatewayAPIInferenceExtension` in
    /// `pkg/inferenceset/inferenceset_controller.go`, v0.12): the gate is on, the InferenceSet's runtime is vLLM, it
    /// has a preset, and it has Workspaces.
    var installsInferencePool: Bool {
        plan.target.gate("gatewayAPIInferenceExtension") && plan.runtime == .vllm && source.inference?.preset != nil
            && !plan.children.isEmpty
    }

    /// The Flux `OCIRepository` and `HelmRelease` named `<name>-inferencepool`.
    ///
    /// As `GenerateInferencePoolOCIRepository`, `GenerateInferencePoolHelmRelease` in `pkg/workspace/manifests/manifests.go`, `InferencePoolName` in
    /// `pkg/utils/common.go`, v0.12). Kaito leaves `interval` unset, so its zero value `0s` is sent; kaitoc writes the
    /// same. No owner reference: no InferenceSet exists without Kaito's controllers.
    func inferencePoolObjects() -> [RenderedObject] {
        guard installsInferencePool, let chart = plan.target.shape.inferencePoolChart else { return [] }
        let poolName = "\(name)-inferencepool"
        let repository = M.map([
            ("apiVersion", M.str("source.toolkit.fluxcd.io/v1")),
            ("kind", M.str("OCIRepository")),
            ("metadata", metadata(name: poolName)),
            (
                "spec",
                M.map([
                    ("url", M.str(chart.url)),
                    ("ref", M.labels([("tag", chart.tag)])),
                    ("interval", M.str("0s")),
                ])
            ),
        ])
        // The values are a Go map marshalled by encoding/json: keys in sorted order.
        let epp = M.map([
            ("flags", M.map([("secure-serving", M.bool(false))])),
            (
                "image",
                M.labels([
                    ("pullPolicy", "IfNotPresent"), ("registry", chart.eppRegistry),
                    ("repository", chart.eppRepository), ("tag", chart.eppTag),
                ])
            ),
            (
                "resources",
                M.map([
                    ("limits", M.labels([("memory", "16Gi")])),
                    ("requests", M.labels([("cpu", "1"), ("memory", "2Gi")])),
                ])
            ),
        ])
        let modelServers = M.map([
            (
                "matchLabels",
                M.labels([
                    ("apps.kubernetes.io/pod-index", "0"), (InferenceSetValidator.createdByLabel, name),
                ])
            ),
            ("targetPorts", M.list([M.map([("number", M.int(5000))])])),
        ])
        let release = M.map([
            ("apiVersion", M.str("helm.toolkit.fluxcd.io/v2")),
            ("kind", M.str("HelmRelease")),
            ("metadata", metadata(name: poolName)),
            (
                "spec",
                M.map([
                    (
                        "chartRef",
                        M.labels([("kind", "OCIRepository"), ("name", poolName), ("namespace", namespace)])
                    ),
                    ("interval", M.str("0s")),
                    ("values", M.map([("router", M.map([("epp", epp), ("modelServers", modelServers)]))])),
                ])
            ),
        ])
        return [
            object("source.toolkit.fluxcd.io/v1", "OCIRepository", name: poolName, body: repository),
            object("helm.toolkit.fluxcd.io/v2", "HelmRelease", name: poolName, body: release),
        ]
    }
}
