/// What keda-kaito-scaler's auto-provision controller reads from an InferenceSet and the KEDA `ScaledObject` it
/// creates (docs/reference/kaito.md section 4.19).
///
/// The facts are those of keda-kaito-scaler v0.5.1, the release whose annotations Kaito v0.12's documentation and
/// examples use (`website/docs/keda-autoscaler-inference.md`, `examples/inference/kaito_inferenceset_*.yaml` at
/// kaito v0.12.0), read from `pkg/controllers/autoprovision/auto_provision_controller.go`, `pkg/scaler/scaler.go`,
/// `cmd/app/options/options.go` and `charts/keda-kaito-scaler` at keda-kaito-scaler tag v0.5.1. keda-kaito-scaler
/// v0.6 replaced `metricName`/`threshold` by one `scaledobject.kaito.sh/metrics` list, which kaitoc does not render.
public enum KedaKaitoScaler {
    /// The release the facts come from.
    public static let version = "v0.5.1"

    /// `AnnotationKeyAutoProvision`: the ScaledObject is provisioned when the value is exactly `"true"`.
    public static let autoProvision = "scaledobject.kaito.sh/auto-provision"
    /// `AnnotationKeyMinReplicas`: used when an integer above 1, else 1 (`resolveMinReplicas`).
    public static let minReplicas = "scaledobject.kaito.sh/min-replicas"
    /// `AnnotationKeyMaxReplicas`: when present it must be an integer above 1 (`enableAutoProvisioning`).
    public static let maxReplicas = "scaledobject.kaito.sh/max-replicas"
    /// `AnnotationKeyThreshold`: a non-negative integer, required (`enableAutoProvisioning`).
    public static let threshold = "scaledobject.kaito.sh/threshold"
    /// `AnnotationKeyMetricName`: the vLLM metric scraped from each pod (`resolveMetricName`).
    public static let metricName = "scaledobject.kaito.sh/metricName"
    /// The keda-kaito-scaler v0.6 list of metrics; not rendered by kaitoc.
    public static let metricsList = "scaledobject.kaito.sh/metrics"
    /// `AnnotationKeyManagedBy`, set on the ScaledObject to `ScalerName`.
    public static let managedBy = "scaledobject.kaito.sh/managed-by"

    /// `defaultMetricName`.
    public static let defaultMetricName = "vllm:num_requests_waiting"
    /// `scaler.ScalerName`: the trigger's name and the managed-by value.
    public static let scalerName = "keda-kaito-scaler"
    /// `defaultPollingInterval` (seconds).
    public static let pollingInterval = 15
    /// `inferenceSetAPIVersion` of the scale target.
    public static let targetAPIVersion = "kaito.sh/v1alpha1"
    /// `ClusterTriggerAuthName` / `ClusterTriggerAuthKind`.
    public static let authenticationName = "keda-kaito-scaler-creds"
    /// The kind of the trigger authentication.
    public static let authenticationKind = "ClusterTriggerAuthentication"
    /// The chart's Service (`keda-kaito-scaler-svc`) and gRPC port (`ports.grpc`: 10450).
    public static let serviceName = "keda-kaito-scaler-svc"
    /// The gRPC port of the scaler.
    public static let grpcPort = 10450

    /// One `spec.advanced.horizontalPodAutoscalerConfig.behavior` rule (`getDefaultHorizontalPodAutoscalerConfig`).
    public struct Rule: Sendable, Hashable {
        /// `stabilizationWindowSeconds`.
        public var stabilizationWindowSeconds: Int
        /// The one `Pods` policy's `periodSeconds` (value 1).
        public var periodSeconds: Int
        /// `tolerance` as Kubernetes serialises the quantity (0.1 is `100m`).
        public var tolerance: String
    }

    /// Scale up: 60 s window, 1 pod per 300 s, tolerance 0.1.
    public static let scaleUp = Rule(stabilizationWindowSeconds: 60, periodSeconds: 300, tolerance: "100m")
    /// Scale down: 300 s window, 1 pod per 600 s, tolerance 0.5.
    public static let scaleDown = Rule(stabilizationWindowSeconds: 300, periodSeconds: 600, tolerance: "500m")
}
