/// The inference runtime a workspace runs on.
public enum Runtime: String, Sendable, Hashable {
    case vllm
    case transformers
    /// kaito-serve, the CPU engine of this project (issue 6): annotation `kaito.sh/runtime: kaito-serve`, or a
    /// CPU-only instance type.
    case kaitoServe = "kaito-serve"
}

/// The facts a validated workspace resolves to, shared by the capacity rules and the renderer.
public struct WorkspacePlan: Sendable {
    /// The workspace.
    public var workspace: Workspace
    /// The target it belongs to.
    public var target: Target
    /// The resolved preset (inference or tuning), when there is one.
    public var preset: ModelPreset?
    /// The runtime, for inference presets.
    public var runtime: Runtime?
    /// The instance type, when the catalog knows it.
    public var instanceType: InstanceType?
    /// Nodes the workspace needs (`status.targetNodeCount`).
    public var nodeCount: Int
    /// The context length the estimator used (`vllm.max-model-len` or 2048).
    public var contextLength: Int
    /// The InferenceSet (`namespace/name`) that generates the workspace, or `nil` for a workspace of the repository.
    public var inferenceSet: String? = nil
}
