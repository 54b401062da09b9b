/// The stable codes of the compiler's own rules.
///
/// Kaito's webhook rules use `KAITO-<rule>` (see ``Rule``).
public enum DiagnosticCode {
    /// The file is not valid YAML, or hostile (too large, too deep, alias bomb, invalid UTF-8, duplicate key).
    public static let yaml = "KAITOC-YAML"
    /// A field has the wrong type, or a document lacks `apiVersion`/`kind`/`metadata.name`.
    public static let schema = "KAITOC-SCHEMA"
    /// A field that the API does not have (often a typo).
    public static let unknownField = "KAITOC-UNKNOWN-FIELD"
    /// Two workspaces (or two ConfigMaps) with the same namespace and name.
    public static let duplicate = "KAITOC-DUPLICATE"
    /// The workspaces of a target request more nodes or GPUs than its quotas allow.
    public static let quota = "KAITOC-QUOTA"
    /// A bfloat16 model on a GPU with compute capability below 8.0.
    public static let bf16 = "KAITOC-BF16"
    /// A workspace file that no target claims, or a target definition problem.
    public static let target = "KAITOC-TARGET"
    /// An instance type that passes Kaito's webhook (Azure `Standard_N*`/`Standard_D*` exception) but that no catalog
    /// describes, so Kaito's controller would fail to provision it.
    public static let unknownInstanceType = "KAITOC-SKU"
    /// The node-count estimator cannot place the model on the instance type.
    public static let estimate = "KAITOC-ESTIMATE"
    /// A file could not be read.
    public static let io = "KAITOC-IO"
    /// The catalog in `presets/` is malformed.
    public static let catalog = "KAITOC-CATALOG"
    /// A workspace on the kaito-serve runtime that it cannot run: a preset without kaito-serve facts or of an
    /// architecture the engine does not run, a GPU instance type, a GPU runtime asked for on a CPU-only one, or a
    /// controller-mode target.
    public static let kaitoServe = "KAITOC-SERVE"
    /// The model, its KV cache and headroom do not fit the memory a CPU-only instance type leaves to the pod.
    public static let kaitoServeMemory = "KAITOC-SERVE-MEMORY"
    /// Tuning asked for on a CPU-only instance type (Kaito's tuning jobs need GPUs).
    public static let cpuTuning = "KAITOC-CPU-TUNING"
    /// A tuning method in another case than `lora`/`qlora` without `tuning.config`: Kaito creates no Job.
    public static let tuningMethod = "KAITOC-TUNING-METHOD"
    /// A v1alpha1 workspace that the target's v1alpha1 webhook fails (legacy preset names at v0.12).
    public static let v1alpha1 = "KAITOC-V1ALPHA1"
    /// An InferenceSet the target's Kaito cannot serve (no such kind or API version, controller gate off), or whose
    /// replicas exceed its `nodeCountLimit`.
    public static let inferenceSet = "KAITOC-INFERENCESET"
    /// keda-kaito-scaler annotations that create no ScaledObject, or a ScaledObject the output cannot carry.
    public static let autoscaling = "KAITOC-AUTOSCALING"
    /// The Gateway API Inference Extension gate is on but kaitoc cannot render the objects of the target's release.
    public static let gateway = "KAITOC-GATEWAY"
    /// A BYO workspace whose GPU facts the target does not declare (`nodePools`), or whose estimate exceeds the
    /// matching nodes.
    public static let byo = "KAITOC-BYO"
    /// Rules spanning several workspaces were skipped because only some files were checked.
    public static let skipped = "KAITOC-SKIPPED"
    /// An unknown `kaito.sh/runtime` annotation (a warning), or vLLM asked for a model without vLLM parameters.
    public static let runtime = "KAITOC-RUNTIME"
    /// An adapter image that is not a valid image reference.
    public static let image = "KAITOC-IMAGE"
}
