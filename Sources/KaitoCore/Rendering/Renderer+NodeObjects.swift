internal import OrderedCollections
internal import YAML

extension RenderContext {
    /// The deterministic name of the `index`-th node object: `ws` + 9 hex digits of SHA-256 of
    /// `namespace/name/index`, which satisfies the AKS agent-pool rule `^[a-z][a-z0-9]{0,11}$` (docs/reference/kaito.md section 4.12.1).
    func nodeObjectName(_ index: Int) -> String {
        "ws" + Self.hash("\(namespace)/\(name)/\(index)", length: 9)
    }

    /// NodeClaims, a NodePool, Machines or nothing, per the target's provisioner and Kaito release (4.12, 4.13).
    func nodeObjects() -> [RenderedObject] {
        guard target.nodeAutoProvisioning, let instanceType = ws.resource.instanceType, !instanceType.isEmpty else {
            return []
        }
        let count = max(plan.nodeCount, 1)
        switch target.nodeProvisioner {
        case .byo:
            return []
        case .karpenter:
            return [nodePool(instanceType: instanceType, replicas: count)]
        case .gpuProvisioner:
            if version < KaitoVersion(0, 4, 2) {
                return (0..<count).map { machine(index: $0, instanceType: instanceType) }
            }
            return (0..<count).map { nodeClaim(index: $0, instanceType: instanceType) }
        }
    }

    /// The node disk: the preset's `DiskStorageRequirement` for inference presets, else `1024Gi` (4.12.1).
    var nodeStorage: String {
        if ws.inference?.preset != nil, let disk = plan.preset?.diskStorageRequirement { return disk.text }
        return "1024Gi"
    }

    var nodeImageFamily: String {
        String(
            (annotations["kaito.sh/node-image-family"] ?? target.defaultNodeImageFamily)
                .drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
        ).lowercased()
    }

    func requirement(_ key: String, _ op: String, _ values: [String]) -> Node {
        M.map([("key", M.str(key)), ("operator", M.str(op)), ("values", M.strings(values))])
    }

    func nodeClaim(index: Int, instanceType: String) -> RenderedObject {
        let claimName = nodeObjectName(index)
        var requirements = [
            requirement("karpenter.sh/nodepool", "In", ["kaito"]),
            requirement("node.kubernetes.io/instance-type", "In", [instanceType]),
            requirement("kubernetes.io/os", "In", ["linux"]),
        ]
        let nodeClassRef: Node
        if target.cloudProvider == "aws" {
            if !onCPUNode { requirements.append(requirement("karpenter.k8s.aws/instance-gpu-count", "Gt", ["0"])) }
            nodeClassRef =
                version >= KaitoVersion(0, 7, 0)
                ? M.labels([("group", "karpenter.k8s.aws"), ("kind", "EC2NodeClass"), ("name", "default")])
                : M.labels([("kind", "EC2NodeClass"), ("name", "default")])
        } else {
            requirements.append(requirement("karpenter.azure.com/sku-name", "In", [instanceType]))
            nodeClassRef =
                version >= KaitoVersion(0, 7, 0)
                ? M.labels([("group", "kaito.sh"), ("kind", "KaitoNodeClass"), ("name", "default")])
                : M.labels([("group", "karpenter.azure.com"), ("kind", "AKSNodeClass"), ("name", "default")])
        }
        let body = M.map([
            ("apiVersion", M.str("karpenter.sh/v1")),
            ("kind", M.str("NodeClaim")),
            (
                "metadata",
                metadata(
                    name: claimName,
                    namespaced: false,
                    labels: [("karpenter.sh/nodepool", "kaito")] + sanitizedMatchLabels,
                    annotations: [
                        ("karpenter.sh/do-not-disrupt", "true"), ("kaito.sh/node-image-family", nodeImageFamily),
                    ]
                )
            ),
            (
                "spec",
                M.map([
                    ("nodeClassRef", nodeClassRef),
                    ("taints", nodeTaints),
                    ("requirements", M.list(requirements)),
                    ("resources", M.map([("requests", M.labels([("storage", nodeStorage)]))])),
                ])
            ),
        ])
        return object("karpenter.sh/v1", "NodeClaim", name: claimName, namespaced: false, body: body)
    }

    /// A legacy `karpenter.sh/v1alpha5` Machine (Kaito ≤ v0.4.1, docs/reference/kaito.md section 4.13).
    func machine(index: Int, instanceType: String) -> RenderedObject {
        let machineName = nodeObjectName(index)
        let storage = ws.inference?.preset != nil ? (plan.preset?.diskStorageRequirement?.text ?? "0") : "0"
        let body = M.map([
            ("apiVersion", M.str("karpenter.sh/v1alpha5")),
            ("kind", M.str("Machine")),
            (
                "metadata",
                metadata(
                    name: machineName,
                    namespaced: false,
                    labels: [("karpenter.sh/provisioner-name", "default")] + sanitizedMatchLabels
                )
            ),
            (
                "spec",
                M.map([
                    ("machineTemplateRef", M.labels([("name", machineName)])),
                    (
                        "requirements",
                        M.list([
                            requirement("node.kubernetes.io/instance-type", "In", [instanceType]),
                            requirement("karpenter.sh/provisioner-name", "In", ["default"]),
                            requirement("kaito.sh/machine-type", "In", [onCPUNode ? "cpu" : "gpu"]),
                            requirement("kubernetes.io/arch", "In", ["amd64"]),
                            requirement("kubernetes.io/os", "In", ["linux"]),
                        ])
                    ),
                    ("taints", nodeTaints),
                    ("resources", M.map([("requests", M.labels([("storage", storage)]))])),
                ])
            ),
        ])
        return object("karpenter.sh/v1alpha5", "Machine", name: machineName, namespaced: false, body: body)
    }

    /// The NodePool name: `<ns>-<ws>`, shortened with a hash beyond 63 characters (4.12.2).
    var nodePoolName: String {
        let full = "\(namespace)-\(name)"
        guard full.count > 63 else { return full }
        return String(full.prefix(53)) + "-" + Self.hash(full, length: 9)
    }

    func nodePool(instanceType: String, replicas: Int) -> RenderedObject {
        let nodeClass =
            annotations["kaito.sh/node-class-name"] ?? target.karpenterNodeClasses.first ?? "image-family-ubuntu"
        var requirements = [requirement("node.kubernetes.io/instance-type", "In", [instanceType])]
        if target.cloudProvider == "azure" {
            requirements.append(requirement("karpenter.azure.com/placement-scope", "In", ["regional"]))
        }
        // The Workspaces of an InferenceSet carry its name on the NodePool and its nodes, and their drift budget
        // starts at "0" (`generateNodePool` in `pkg/nodeprovision/karpenter/nodepool.go`, v0.12).
        let inferenceSetLabels =
            createdBy.map {
                [("karpenter.kaito.sh/inferenceset", $0), ("karpenter.kaito.sh/inferenceset-namespace", namespace)]
            } ?? []
        let templateLabels =
            [("karpenter.kaito.sh/workspace-name", name), ("karpenter.kaito.sh/workspace-namespace", namespace)]
            + sanitizedMatchLabels + inferenceSetLabels
        let body = M.map([
            ("apiVersion", M.str("karpenter.sh/v1")),
            ("kind", M.str("NodePool")),
            (
                "metadata",
                metadata(
                    name: nodePoolName,
                    namespaced: false,
                    labels: [
                        ("karpenter.kaito.sh/managed-by", "kaito"), ("karpenter.kaito.sh/workspace-name", name),
                        ("karpenter.kaito.sh/workspace-namespace", namespace),
                    ] + inferenceSetLabels
                )
            ),
            (
                "spec",
                M.map([
                    ("replicas", M.int(replicas)),
                    (
                        "template",
                        M.map([
                            ("metadata", M.map([("labels", M.labels(templateLabels))])),
                            (
                                "spec",
                                M.map([
                                    (
                                        "nodeClassRef",
                                        M.labels([
                                            ("group", "karpenter.azure.com"), ("kind", "AKSNodeClass"),
                                            ("name", nodeClass),
                                        ])
                                    ),
                                    ("requirements", M.list(requirements)),
                                    (
                                        "taints",
                                        nodeTaints
                                    ),
                                ])
                            ),
                        ])
                    ),
                    (
                        "disruption",
                        M.map([
                            ("consolidateAfter", M.str("0s")),
                            (
                                "budgets",
                                M.list([
                                    M.map([
                                        ("nodes", M.str(createdBy == nil ? "1" : "0")),
                                        ("reasons", M.strings(["Drifted"])),
                                    ])
                                ])
                            ),
                        ])
                    ),
                ])
            ),
        ])
        return object("karpenter.sh/v1", "NodePool", name: nodePoolName, namespaced: false, body: body)
    }
}
