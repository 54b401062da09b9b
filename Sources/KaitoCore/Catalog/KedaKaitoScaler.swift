internal import YAML

/// What keda-kaito-scaler's auto-provision controller reads from an InferenceSet and the KEDA `ScaledObject` it
/// creates (docs/reference/kaito.md section 4.19).
///
/// The facts here are those of keda-kaito-scaler v0.5.1, the release whose annotations Kaito v0.12's documentation and
/// examples use (`website/docs/keda-autoscaler-inference.md`, `examples/inference/kaito_inferenceset_*.yaml` at
/// kaito v0.12.0), read from `pkg/controllers/autoprovision/auto_provision_controller.go`, `pkg/scaler/scaler.go`,
/// `cmd/app/options/options.go` and `charts/keda-kaito-scaler` at keda-kaito-scaler tag v0.5.1; ``V06`` holds
/// v0.6.2's, which replaced `metricName`/`threshold` by one `scaledobject.kaito.sh/metrics` list. A target picks one
/// (``Target/kedaKaitoScaler``).
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
    /// The keda-kaito-scaler v0.6 list of metrics (``V06``).
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
        /// Creates a rule.
        public init(stabilizationWindowSeconds: Int, periodSeconds: Int, tolerance: String) {
            self.stabilizationWindowSeconds = stabilizationWindowSeconds
            self.periodSeconds = periodSeconds
            self.tolerance = tolerance
        }

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

extension KedaKaitoScaler {
    /// The facts of keda-kaito-scaler v0.6.2 (`pkg/scaledobject/provisioner.go`, `pkg/constants/constants.go`,
    /// `pkg/controllers/autoprovision/auto_provision_controller.go` at tag v0.6.2), whose one
    /// `scaledobject.kaito.sh/metrics` list replaces `metricName` and `threshold`: each metric is a trigger, and a
    /// `scalingModifiers` formula combines them with a readiness gate (docs/reference/kaito.md section 4.19).
    public enum V06 {
        /// The release.
        public static let version = "v0.6.2"
        /// `AnnotationKeyCombinePolicy`, `AnnotationKeyEvaluationWindow`, `AnnotationKeyScaleUpCooldown`,
        /// `AnnotationKeyScaleDownCooldown`.
        public static let combinePolicy = "scaledobject.kaito.sh/combinepolicy"
        /// The scale-up stabilization window (seconds, default 60).
        public static let evaluationWindow = "scaledobject.kaito.sh/evaluationwindow"
        /// The scale-up period (seconds, default 300).
        public static let scaleUpCooldown = "scaledobject.kaito.sh/scaleupcooldown"
        /// The scale-down window and period (seconds, default 300).
        public static let scaleDownCooldown = "scaledobject.kaito.sh/scaledowncooldown"
        /// `constants.InferenceSetAPIVersion` of the scale target.
        public static let targetAPIVersion = "kaito.sh/v1beta1"
        /// `gateTriggerName`.
        public static let gate = "readiness_gate"

        /// Parses and checks the annotations as `parseMetricsConfig` does; the failure is its error text.
        static func config(_ annotations: [String: String]) -> Result<V06Config, V06Error> {
            var policy = "AND"
            if let p = annotations[combinePolicy], !p.isEmpty { policy = p.uppercased() }
            guard policy == "AND" else {
                return .failure(V06Error("unsupported combinepolicy \"\(annotations[combinePolicy] ?? "")\""))
            }
            let raw = annotations[metricsList] ?? ""
            let required = "auto-provision requires the \(metricsList) annotation with at least one metric"
            guard !raw.trimmingWhitespace.isEmpty else { return .failure(V06Error(required)) }
            guard let root = try? YAMLParser.parse(raw).first?.root, let items = root.sequence else {
                return .failure(V06Error("invalid \(metricsList) annotation: not a YAML list of metrics"))
            }
            guard !items.isEmpty else { return .failure(V06Error(required)) }
            var metrics: [V06Config.Metric] = []
            var seen: [String: String] = [:]
            for (i, item) in items.enumerated() {
                func field(_ key: String) -> Node? { item.mapping?.first { $0.key.scalar == key }?.value }
                func number(_ key: String) -> Double? {
                    guard let node = field(key), node.resolvedType == .int || node.resolvedType == .float else {
                        return nil
                    }
                    return node.scalar.flatMap(Double.init)
                }
                let name = field("name")?.scalar ?? ""
                guard item.mapping != nil, !name.isEmpty else {
                    return .failure(V06Error("metric index \(i): name is required"))
                }
                let type = field("type")?.scalar ?? ""
                guard type == "gauge" || type == "histogram" else {
                    return .failure(
                        V06Error(
                            "metric \"\(name)\" (index \(i)): type must be \"gauge\" or \"histogram\", got \"\(type)\""
                        )
                    )
                }
                let source = field("source")?.scalar ?? ""
                guard source.isEmpty || source == "modelpod" else {
                    return .failure(
                        V06Error("metric \"\(name)\" (index \(i)): source must be \"modelpod\", got \"\(source)\"")
                    )
                }
                let variable = variableName(name)
                if let previous = seen[variable] {
                    return .failure(
                        V06Error(
                            "metric \"\(name)\" (index \(i)) collides with \"\(previous)\" on formula variable \"\(variable)\""
                        )
                    )
                }
                seen[variable] = name
                guard let up = number("upthreshold") else {
                    return .failure(V06Error("metric \"\(name)\" (index \(i)): upthreshold is required"))
                }
                guard let down = number("downthreshold") else {
                    return .failure(V06Error("metric \"\(name)\" (index \(i)): downthreshold is required"))
                }
                guard up.isFinite else {
                    return .failure(V06Error("metric \"\(name)\" (index \(i)): upthreshold must be a finite number"))
                }
                guard down.isFinite else {
                    return .failure(V06Error("metric \"\(name)\" (index \(i)): downthreshold must be a finite number"))
                }
                guard down <= up else {
                    return .failure(
                        V06Error(
                            "metric \"\(name)\" (index \(i)): downthreshold (\(goFloat(down))) must not exceed upthreshold (\(goFloat(up)))"
                        )
                    )
                }
                var window: Int?
                let windowNode = field("metriccachewindow")
                if type == "histogram" {
                    window = 300
                    if let node = windowNode {
                        guard let value = node.scalar.flatMap(Int.init), value > 0 else {
                            return .failure(
                                V06Error(
                                    "metric \"\(name)\" (index \(i)): metriccachewindow must be a positive number of seconds, got \(node.scalar ?? "")"
                                )
                            )
                        }
                        window = value
                    }
                } else if windowNode != nil {
                    return .failure(
                        V06Error(
                            "metric \"\(name)\" (index \(i)): metriccachewindow is only valid for histogram metrics"
                        )
                    )
                }
                metrics.append(
                    .init(
                        name: name,
                        aggregation: type == "gauge" ? "service-avg" : "windowed-avg",
                        up: goFloat(up),
                        down: goFloat(down),
                        cacheWindow: window
                    )
                )
            }
            var seconds: [Int] = []
            for (key, fallback) in [(evaluationWindow, 60), (scaleUpCooldown, 300), (scaleDownCooldown, 300)] {
                guard let text = annotations[key], !text.isEmpty else {
                    seconds.append(fallback)
                    continue
                }
                guard let value = Int(text), value >= 0, value <= Int(Int32.max) else {
                    return .failure(
                        V06Error("\(key) must be a non-negative integer within int32 range, got \"\(text)\"")
                    )
                }
                seconds.append(value)
            }
            return .success(
                V06Config(
                    metrics: metrics,
                    evaluationWindow: seconds[0],
                    scaleUpCooldown: seconds[1],
                    scaleDownCooldown: seconds[2]
                )
            )
        }

        /// `formulaVarName`: letters, digits and `_`, other characters as `_`, a leading digit prefixed with `_`.
        public static func variableName(_ metric: String) -> String {
            var result = ""
            for (i, c) in metric.unicodeScalars.enumerated() {
                switch c {
                case "a"..."z", "A"..."Z", "_": result.unicodeScalars.append(c)
                case "0"..."9":
                    if i == 0 { result += "_" }
                    result.unicodeScalars.append(c)
                default: result += "_"
                }
            }
            return result
        }

        /// `strconv.FormatFloat(v, 'f', -1, 64)` for ordinary values: `10`, `0.5`.
        static func goFloat(_ value: Double) -> String {
            if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
            return "\(value)"
        }
    }

    /// A parse failure of the v0.6 annotations, with keda-kaito-scaler's text.
    public struct V06Error: Error, Sendable, Hashable {
        /// The message.
        public var message: String
        init(_ message: String) { self.message = message }
    }

    /// The parsed v0.6 configuration (`metricsConfig`).
    public struct V06Config: Sendable, Hashable {
        /// One metric entry.
        public struct Metric: Sendable, Hashable {
            /// The Prometheus metric name.
            public var name: String
            /// `service-avg` (gauge) or `windowed-avg` (histogram).
            public var aggregation: String
            /// The thresholds as Go formats them.
            public var up: String, down: String
            /// The histogram cache window in seconds.
            public var cacheWindow: Int?
        }

        /// The metrics.
        public var metrics: [Metric]
        /// Seconds: scale-up stabilization, scale-up period, scale-down window and period.
        public var evaluationWindow: Int, scaleUpCooldown: Int, scaleDownCooldown: Int

        /// `buildFormula`: scale up ×2 when the gate is 1 and every metric is above its up-threshold, down ×0.5 when
        /// every metric is below its down-threshold, else hold.
        public var formula: String {
            let up = metrics.map { "\(V06.variableName($0.name)) > \($0.up)" }
            let down = metrics.map { "\(V06.variableName($0.name)) < \($0.down)" }
            let upExpression = (["\(V06.gate) == 1"] + up).joined(separator: " && ")
            return "(\(upExpression)) ? 2.0 : ((\(down.joined(separator: " && "))) ? 0.5 : 1.0)"
        }

        /// The ScaledObject's values (`buildScaledObject`, `buildTriggers`, `buildHPAConfig`).
        func autoscaling(
            minReplicas: Int,
            maxReplicas: Int,
            identity: [(String, String)],
            address: String
        ) -> InferenceSetPlan.Autoscaling {
            var triggers: [(name: String, metadata: [(String, String)], metricType: String)] = metrics.map { m in
                var metadata =
                    identity + [
                        ("scalerAddress", address), ("metricName", m.name), ("metricSource", "modelpod"),
                        ("aggregation", m.aggregation),
                    ]
                if let window = m.cacheWindow { metadata.append(("metricCacheWindow", String(window))) }
                return (V06.variableName(m.name), metadata.sorted { $0.0 < $1.0 }, "Value")
            }
            let gate = identity + [("scalerAddress", address), ("metricName", V06.gate), ("aggregation", "gate")]
            triggers.append((V06.gate, gate.sorted { $0.0 < $1.0 }, "Value"))
            return .init(
                minReplicas: minReplicas,
                maxReplicas: maxReplicas,
                targetAPIVersion: V06.targetAPIVersion,
                scaleUp: Rule(
                    stabilizationWindowSeconds: evaluationWindow,
                    periodSeconds: scaleUpCooldown,
                    tolerance: "100m"
                ),
                scaleDown: Rule(
                    stabilizationWindowSeconds: scaleDownCooldown,
                    periodSeconds: scaleDownCooldown,
                    tolerance: "100m"
                ),
                scalingModifiers: (formula, "1", "Value"),
                triggers: triggers
            )
        }
    }
}
