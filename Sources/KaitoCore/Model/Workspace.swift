public import OrderedCollections
public import YAML

/// The API versions of the Kaito `Workspace` kind.
public enum WorkspaceAPIVersion: String, Sendable, Hashable, CaseIterable {
    case v1alpha1 = "kaito.sh/v1alpha1"
    case v1beta1 = "kaito.sh/v1beta1"
}

/// The metadata of an input object.
public struct ObjectMeta: Sendable, Hashable {
    /// `metadata.name`.
    public var name: String
    /// `metadata.namespace`, `nil` when not set (the object lands in `default`).
    public var namespace: String?
    /// `metadata.labels` in source order.
    public var labels: OrderedDictionary<String, String> = [:]
    /// `metadata.annotations` in source order.
    public var annotations: OrderedDictionary<String, String> = [:]

    /// Creates metadata.
    public init(name: String, namespace: String? = nil) {
        self.name = name
        self.namespace = namespace
    }

    /// The namespace the object lives in: `metadata.namespace` or `default`.
    public var effectiveNamespace: String { namespace ?? "default" }
}

/// A label selector; only `matchLabels` and `In` expressions are honoured by Kaito.
public struct LabelSelector: Sendable, Hashable {
    /// One `matchExpressions` entry.
    public struct Requirement: Sendable, Hashable {
        /// The label key.
        public var key: String
        /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
        public var `operator`: String
        /// The values.
        public var values: [String]
    }

    /// `matchLabels` in source order.
    public var matchLabels: OrderedDictionary<String, String> = [:]
    /// `matchExpressions`.
    public var matchExpressions: [Requirement] = []
}

/// `resource.partition` (v1beta1, BYO only).
public struct PartitionSpec: Sendable, Hashable {
    /// `mig` or `accelerator`.
    public var mode: String?
    /// MIG profile such as `1g.10gb`.
    public var profile: String?
    /// Whole GPUs in accelerator mode.
    public var count: Int?
}

/// `resource`: the GPU nodes a workspace needs.
public struct ResourceSpec: Sendable, Hashable {
    /// `resource.count` (deprecated in v1beta1).
    public var count: Int?
    /// `resource.instanceType`.
    public var instanceType: String?
    /// `resource.labelSelector`.
    public var labelSelector: LabelSelector?
    /// `resource.preferredNodes` (deprecated, unused at HEAD).
    public var preferredNodes: [String]?
    /// `resource.partition`.
    public var partition: PartitionSpec?
}

/// `presetOptions`.
public struct PresetOptions: Sendable, Hashable {
    /// Deprecated private image.
    public var image: String?
    /// Deprecated pull secrets.
    public var imagePullSecrets: [String]?
    /// Secret with key `HF_TOKEN` (v1beta1).
    public var modelAccessSecret: String?
}

/// `inference.preset` or `tuning.preset`.
public struct PresetSpec: Sendable, Hashable {
    /// The preset name: a legacy short name or a Hugging Face id.
    public var name: String?
    /// `public` or `private` (deprecated).
    public var accessMode: String?
    /// `presetOptions`.
    public var presetOptions: PresetOptions?
}

/// A data source: adapters and tuning input.
public struct DataSource: Sendable, Hashable {
    /// Used in volume and container names.
    public var name: String?
    /// Download URLs (tuning input only).
    public var urls: [String]?
    /// An OCI image holding `/data`.
    public var image: String?
    /// Pull secrets for `image`.
    public var imagePullSecrets: [String]?
    /// A Kubernetes volume source, kept as written.
    public var volumeSource: Node?
}

/// A tuning output destination.
public struct DataDestination: Sendable, Hashable {
    /// A Kubernetes volume source, kept as written.
    public var volumeSource: Node?
    /// The OCI image to push the adapter to.
    public var image: String?
    /// The Secret used to push `image`.
    public var imagePushSecret: String?
}

/// One LoRA adapter of an inference workspace.
public struct AdapterSpec: Sendable, Hashable {
    /// Where the adapter comes from (`nil` when the field is missing: rule A1).
    public var source: DataSource?
    /// The strength, a decimal string in [0, 1].
    public var strength: String?
}

/// `inference`.
public struct InferenceSpec: Sendable, Hashable {
    /// A model preset.
    public var preset: PresetSpec?
    /// A custom pod template, kept as written.
    public var template: Node?
    /// The name of a ConfigMap with `inference_config.yaml`.
    public var config: String?
    /// LoRA adapters.
    public var adapters: [AdapterSpec]?
}

/// `tuning`.
public struct TuningSpec: Sendable, Hashable {
    /// The model preset to fine-tune.
    public var preset: PresetSpec?
    /// `lora` or `qlora`.
    public var method: String?
    /// The name of a ConfigMap with `training_config.yaml`.
    public var config: String?
    /// The training data.
    public var input: DataSource?
    /// Where the adapter goes.
    public var output: DataDestination?
}

/// Where an input object came from: the file, the document's position, and the position of each decoded field.
public struct SourceInfo: Sendable, Hashable {
    /// The file path as used in diagnostics.
    public var file: String
    /// The 0-based index of the document in the file.
    public var documentIndex: Int
    /// The mark of the document's root node.
    public var mark: Mark
    /// The marks of field values, keyed by path (`resource.instanceType`, `inference.adapters[0].strength`).
    public var fieldMarks: [String: Mark]

    /// The location of a field, falling back to its closest recorded parent, then to the document.
    public func location(_ path: String) -> SourceLocation {
        var candidate = path
        while !candidate.isEmpty {
            if let mark = fieldMarks[candidate] { return SourceLocation(file: file, mark: mark) }
            if let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) {
                candidate = String(candidate[..<cut])
            } else {
                candidate = ""
            }
        }
        return SourceLocation(file: file, mark: mark)
    }
}

/// A Kaito `Workspace` as decoded from the repository.
public struct Workspace: Sendable, Hashable {
    /// The API version it was written in.
    public var apiVersion: WorkspaceAPIVersion
    /// Its metadata.
    public var metadata: ObjectMeta
    /// `resource`.
    public var resource: ResourceSpec
    /// `inference`.
    public var inference: InferenceSpec?
    /// `tuning`.
    public var tuning: TuningSpec?
    /// Where it came from.
    public var source: SourceInfo

    /// `namespace/name`.
    public var qualifiedName: String { "\(metadata.effectiveNamespace)/\(metadata.name)" }
}

/// A ConfigMap found beside the workspaces (an input for rules IC1–IC5 and T4–T10).
public struct ConfigMapObject: Sendable, Hashable {
    /// Its metadata.
    public var metadata: ObjectMeta
    /// `data`, with the mark of each value.
    public var data: OrderedDictionary<String, String>
    /// Where it came from.
    public var source: SourceInfo
}

/// Any other Kubernetes object found beside the workspaces, kept as written.
public struct OtherObject: Sendable, Hashable {
    /// `apiVersion`.
    public var apiVersion: String
    /// `kind`.
    public var kind: String
    /// Its metadata.
    public var metadata: ObjectMeta
    /// The whole document.
    public var node: Node
    /// Where it came from.
    public var source: SourceInfo
}

/// One object of the repository's inputs.
public enum InputObject: Sendable, Hashable {
    case workspace(Workspace)
    case inferenceSet(InferenceSet)
    case configMap(ConfigMapObject)
    case other(OtherObject)
}
