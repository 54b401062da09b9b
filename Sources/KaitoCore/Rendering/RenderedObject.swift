public import YAML

/// One Kubernetes object produced by `kaitoc build`.
public struct RenderedObject: Sendable {
    /// `apiVersion`.
    public var apiVersion: String
    /// `kind`.
    public var kind: String
    /// `metadata.name`.
    public var name: String
    /// `metadata.namespace`, `nil` for cluster-scoped objects.
    public var namespace: String?
    /// The whole object.
    public var body: Node
    /// The workspace it belongs to (`namespace/name`), or `nil` for shared objects.
    public var workspace: String?
    /// The file the workspace came from.
    public var sourceFile: String?

    /// Whether the object is cluster-scoped.
    public var isClusterScoped: Bool { namespace == nil }

    /// The rank of a kind in install order (what must exist before what), as Helm and kustomize order them.
    public static func installRank(_ kind: String) -> Int { installRanks[kind] ?? installRanks.count }

    private static let installRanks: [String: Int] = {
        let order = [
            "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "ServiceAccount", "Secret", "ConfigMap",
            "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
            "ClusterRoleBinding", "Role", "RoleBinding", "NodePool", "NodeClaim", "Machine", "Workspace", "Service",
            "DaemonSet", "Pod", "ReplicaSet", "Deployment", "StatefulSet", "Job", "CronJob", "InferenceSet",
            "OCIRepository", "HelmRelease", "ScaledObject",
        ]
        return Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element, $0.offset) })
    }()

    /// Install order: kind rank, then namespace, then name.
    public static func installOrder(_ a: RenderedObject, _ b: RenderedObject) -> Bool {
        installOrder((a.kind, a.namespace, a.name), (b.kind, b.namespace, b.name))
    }

    /// Install order of objects given by kind, namespace and name.
    static func installOrder(
        _ a: (kind: String, namespace: String?, name: String),
        _ b: (kind: String, namespace: String?, name: String)
    ) -> Bool {
        let (ra, rb) = (installRank(a.kind), installRank(b.kind))
        if ra != rb { return ra < rb }
        if a.kind != b.kind { return a.kind < b.kind }
        if (a.namespace ?? "") != (b.namespace ?? "") { return (a.namespace ?? "") < (b.namespace ?? "") }
        return a.name < b.name
    }
}
