internal import Crypto
internal import OrderedCollections
internal import YAML

/// What a validated InferenceSet resolves to: the Workspaces its controller would create, and the ScaledObject
/// keda-kaito-scaler would provision.
public struct InferenceSetPlan: Sendable {
    /// The InferenceSet.
    public var inferenceSet: InferenceSet
    /// The target it belongs to.
    public var target: Target
    /// One plan per child Workspace (`spec.replicas` of them).
    public var children: [WorkspacePlan]
    /// The runtime the controller resolves from the InferenceSet's own annotations (`GetInferenceSetRuntimeName`).
    public var runtime: Runtime
    /// The ScaledObject keda-kaito-scaler would create, or `nil`.
    public var autoscaling: Autoscaling?

    /// The ScaledObject keda-kaito-scaler provisions (docs/reference/kaito.md section 4.19).
    public struct Autoscaling: Sendable {
        /// `minReplicaCount`.
        public var minReplicas: Int
        /// `maxReplicaCount`.
        public var maxReplicas: Int
        /// `scaleTargetRef.apiVersion`.
        public var targetAPIVersion: String
        /// `advanced.horizontalPodAutoscalerConfig.behavior`.
        public var scaleUp: KedaKaitoScaler.Rule, scaleDown: KedaKaitoScaler.Rule
        /// `advanced.scalingModifiers` (`formula`, `target`, `metricType`), or `nil` for an empty one.
        public var scalingModifiers: (formula: String, target: String, metricType: String)?
        /// The external triggers: name, metadata (sorted by key, as Go writes a map) and metric type.
        public var triggers: [(name: String, metadata: [(String, String)], metricType: String)]
    }
}

/// Runs the InferenceSet webhook (docs/reference/kaito.md section 1.9) and the Workspace webhook on the Workspace the
/// InferenceSet generates, and resolves the InferenceSet's children.
public struct InferenceSetValidator: Sendable {
    /// The catalog.
    public var catalog: Catalog
    /// The target the InferenceSet belongs to.
    public var target: Target
    /// The repository's ConfigMaps.
    public var configMaps: ConfigMapIndex

    /// Creates a validator for one target.
    public init(catalog: Catalog, target: Target, configMaps: ConfigMapIndex) {
        self.catalog = catalog
        self.target = target
        self.configMaps = configMaps
    }

    /// The most Workspaces kaitoc renders for one InferenceSet.
    public static let maxReplicas = 10_000

    /// The label the controller puts on each child Workspace (`consts.WorkspaceCreatedByInferenceSetLabel`).
    public static let createdByLabel = "inferenceset.kaito.sh/created-by"

    /// The characters of Kubernetes' generated name suffixes (`k8s.io/apimachinery/pkg/util/rand`).
    static let suffixAlphabet = Array("bcdfghjklmnpqrstvwxz2456789")

    /// The name of the `index`-th child Workspace.
    ///
    /// Kaito creates children with `generateName: <name>-`, which the API server completes with 5 random characters (base cut to 58 characters, `names.SimpleNameGenerator`); kaitoc
    /// picks the 5 characters from SHA-256 of `namespace/name/index` instead, so names are stable across builds.
    public static func childName(namespace: String, name: String, index: Int) -> String {
        let base = String((name + "-").prefix(58))
        let digest = Array(SHA256.hash(data: Array("\(namespace)/\(name)/\(index)".utf8)))
        let suffix = (0..<5).map { suffixAlphabet[Int(digest[$0]) % suffixAlphabet.count] }
        return base + String(suffix)
    }

    /// Validates one InferenceSet.
    ///
    /// - Returns: What it resolves to (`nil` when the target's Kaito has no InferenceSet), and every problem found.
    public func validate(_ set: InferenceSet) -> (InferenceSetPlan?, [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        func report(
            _ severity: Severity,
            _ code: String,
            _ message: String,
            at path: String,
            notes: [String] = []
        ) {
            diagnostics.append(
                Diagnostic(severity, code: code, message: message, location: set.source.location(path), notes: notes)
            )
        }
        let shape = target.shape
        guard shape.inferenceSetAPIVersions.contains(set.apiVersion) else {
            report(
                .error,
                DiagnosticCode.inferenceSet,
                shape.inferenceSetAPIVersions.isEmpty
                    ? "Kaito \(target.kaitoVersion) has no InferenceSet (it appears in v0.8.0)"
                    : "Kaito \(target.kaitoVersion) serves InferenceSet only as \(shape.inferenceSetAPIVersions.map(\.rawValue).joined(separator: ", ")) (\(set.apiVersion.rawValue) appears in v0.11.0)",
                at: "apiVersion",
                notes: ["target \(target.name) models Kaito \(target.kaitoVersion)"]
            )
            return (nil, diagnostics)
        }
        if !target.gate("enableInferenceSetController") {
            report(
                .error,
                DiagnosticCode.inferenceSet,
                "the InferenceSet controller is off on target \(target.name): nothing would create its Workspaces",
                at: "kind",
                notes: ["set featureGates.enableInferenceSetController: true (the default from Kaito v0.11)"]
            )
        }

        // The InferenceSet webhook (`Validate` in api/v1beta1/inferenceset_validation.go, create).
        let nameErrors = KubernetesNames.dns1123LabelErrors(set.metadata.name)
        if !nameErrors.isEmpty {
            report(
                .error,
                "KAITO-IS1",
                "invalid value: \(nameErrors.joined(separator: ", ")): name",
                at: "metadata.name"
            )
        }
        if let replicas = set.replicas, replicas < 0 {
            report(
                .error,
                "KAITO-IS2",
                "invalid value: \(replicas): spec.replicas",
                at: "spec.replicas",
                notes: [
                    "must be non-negative",
                    "the CRD's minimum of 0 rejects it before the webhook: spec.replicas in body should be greater than or equal to 0",
                ]
            )
        }
        let instanceType = set.instanceType ?? ""
        if target.nodeAutoProvisioning, instanceType.isEmpty {
            report(
                .error,
                "KAITO-IS3",
                "missing field(s): spec.template.resource.instanceType",
                at: "spec.template.resource"
            )
        } else if !target.nodeAutoProvisioning, !instanceType.isEmpty {
            report(
                .error,
                "KAITO-IS3",
                "invalid value: \(instanceType): spec.template.resource.instanceType",
                at: "spec.template.resource.instanceType",
                notes: ["instanceType must be empty when nodeProvisioner is byo"]
            )
        }
        if let window = set.autoUpgrade?.maintenanceWindow {
            let schedule = window.schedule ?? ""
            if schedule.isEmpty {
                report(
                    .error,
                    "KAITO-IS4",
                    "missing field(s): spec.autoUpgrade.maintenanceWindow.schedule",
                    at: "spec.autoUpgrade.maintenanceWindow"
                )
            } else if let problem = CronSchedule.problem(schedule) {
                report(
                    .error,
                    "KAITO-IS4",
                    "invalid value: \(schedule): spec.autoUpgrade.maintenanceWindow.schedule",
                    at: "spec.autoUpgrade.maintenanceWindow.schedule",
                    notes: ["invalid cron expression: \(problem)"]
                )
            }
            if !schedule.isEmpty, let text = window.duration {
                switch GoDuration.parse(text) {
                case .some(let seconds) where seconds <= 0:
                    report(
                        .error,
                        "KAITO-IS4",
                        "invalid value: \(GoDuration.format(seconds)): spec.autoUpgrade.maintenanceWindow.duration",
                        at: "spec.autoUpgrade.maintenanceWindow.duration",
                        notes: ["must be a positive duration"]
                    )
                case .none:
                    report(
                        .error,
                        DiagnosticCode.schema,
                        "spec.autoUpgrade.maintenanceWindow.duration: \"\(text)\" is not a duration such as 4h or 90m",
                        at: "spec.autoUpgrade.maintenanceWindow.duration"
                    )
                default:
                    break
                }
            }
        }

        // The Workspace it generates, through the Workspace webhook (`ValidateWorkspaceForInferenceSet`, v0.12), and
        // every replica's plan.
        let validator = WorkspaceValidator(catalog: catalog, target: target, configMaps: configMaps)
        // `spec.replicas` is an int32; kaitoc writes every replica's objects, so it refuses more than it can hold.
        var count = max(set.desiredReplicas, 0)
        if count > Self.maxReplicas {
            report(
                .error,
                DiagnosticCode.inferenceSet,
                "spec.replicas \(count) is more Workspaces than kaitoc renders for one InferenceSet (at most \(Self.maxReplicas))",
                at: "spec.replicas",
                notes: count > Int(Int32.max) ? ["the CRD's replicas is an int32"] : []
            )
            count = 0
        }
        var children: [WorkspacePlan] = []
        let first = childWorkspace(set, index: 0)
        var (firstPlan, childDiagnostics) = validator.validate(first)
        let location = "in the Workspace that InferenceSet \(set.metadata.name) generates"
        let when =
            shape.inferenceSetWebhookValidatesWorkspace && set.apiVersion == .v1beta1
            ? "Kaito's InferenceSet webhook rejects the InferenceSet (ValidateInferenceSetWorkspace)"
            : "Kaito admits the InferenceSet, then its controller fails to create the Workspace"
        // `ValidateCreate` leaves the name rule (V1) to `Validate`, which the generated Workspace does not go through.
        for var diagnostic in childDiagnostics where diagnostic.code != "KAITO-V1" {
            diagnostic.notes.insert("\(location): \(when)", at: 0)
            diagnostics.append(diagnostic)
        }
        firstPlan.inferenceSet = set.qualifiedName
        if count > 0 { children.append(firstPlan) }
        for index in stride(from: 1, to: count, by: 1) {
            var (plan, _) = validator.validate(childWorkspace(set, index: index))
            plan.inferenceSet = set.qualifiedName
            children.append(plan)
        }

        // nodeCountLimit is read only by keda-kaito-scaler; Kaito itself does not enforce it.
        let nodesPerReplica = max(firstPlan.nodeCount, 1)
        let (needed, overflow) = count.multipliedReportingOverflow(by: nodesPerReplica)
        if let limit = set.nodeCountLimit, limit > 0, overflow || needed > limit {
            report(
                .warning,
                DiagnosticCode.inferenceSet,
                "\(count) replicas of \(nodesPerReplica) node(s) need \(overflow ? "more than \(Int.max)" : String(needed)) nodes, above spec.nodeCountLimit \(limit)",
                at: "spec.nodeCountLimit",
                notes: [
                    "Kaito does not enforce nodeCountLimit; keda-kaito-scaler caps autoscaling at nodeCountLimit / nodes per replica = \(max(limit / nodesPerReplica, 1)) replicas"
                ]
            )
        }

        var plan = InferenceSetPlan(
            inferenceSet: set,
            target: target,
            children: children,
            runtime: runtime(of: set),
            autoscaling: nil
        )
        plan.autoscaling = autoscaling(set, nodesPerReplica: nodesPerReplica, report: report)
        if target.gate("gatewayAPIInferenceExtension"), target.outputMode == .expanded, plan.runtime == .vllm,
            set.inference?.preset != nil, shape.inferencePoolChart == nil
        {
            report(
                .warning,
                DiagnosticCode.gateway,
                "no InferencePool objects are rendered for target \(target.name): kaitoc renders the Flux OCIRepository and HelmRelease of Kaito v0.12 (llm-d router gateway); Kaito \(target.kaitoVersion) installs Gateway API Inference Extension's inferencepool chart instead",
                at: "kind"
            )
        }
        return (plan, diagnostics)
    }

    /// The runtime the InferenceSet controller resolves from the InferenceSet's annotations
    /// (`GetInferenceSetRuntimeName` in `api/v1beta1/labels.go`).
    func runtime(of set: InferenceSet) -> Runtime {
        guard target.gate("vLLM") else { return .transformers }
        return set.metadata.annotations["kaito.sh/runtime"] == "transformers" ? .transformers : .vllm
    }

    /// The child Workspace, as `NewWorkspaceForInferenceSet` (`pkg/utils/inferenceset/inferenceset.go`) builds it.
    ///
    /// It has the template's labels and annotations, `kaito.sh/disable-benchmark: "true"` when the InferenceSet disables the
    /// benchmark, the created-by label, `spec.labelSelector`, the partition, the instance type unless BYO, and the
    /// inference spec. Field positions point into the InferenceSet's file.
    func childWorkspace(_ set: InferenceSet, index: Int) -> Workspace {
        var metadata = ObjectMeta(
            name: Self.childName(namespace: set.metadata.effectiveNamespace, name: set.metadata.name, index: index),
            namespace: set.metadata.namespace
        )
        metadata.labels = set.templateLabels
        if let role = set.metadata.labels["kaito.sh/inference-role"] {
            metadata.labels["kaito.sh/inference-role"] = role
        }
        metadata.labels[Self.createdByLabel] = set.metadata.name
        metadata.annotations = set.templateAnnotations
        if set.metadata.annotations["kaito.sh/disable-benchmark"] == "true" {
            metadata.annotations["kaito.sh/disable-benchmark"] = "true"
        }
        var resource = ResourceSpec()
        resource.labelSelector = set.labelSelector
        resource.partition = set.partition
        if target.nodeAutoProvisioning { resource.instanceType = set.instanceType }
        var source = set.source
        source.fieldMarks = Self.childFieldMarks(set.source.fieldMarks)
        return Workspace(
            apiVersion: .v1beta1,
            metadata: metadata,
            resource: resource,
            inference: set.inference,
            tuning: nil,
            source: source
        )
    }

    /// Field positions of the InferenceSet renamed to the child Workspace's paths.
    static func childFieldMarks(_ marks: [String: Mark]) -> [String: Mark] {
        let renames = [
            ("spec.template.inference", "inference"), ("spec.template.resource", "resource"),
            ("spec.labelSelector", "resource.labelSelector"), ("spec.template.metadata", "metadata"),
            ("metadata.name", "metadata.name"),
        ]
        var result: [String: Mark] = [:]
        for (path, mark) in marks {
            for (from, to) in renames where path == from || path.hasPrefix(from + ".") || path.hasPrefix(from + "[") {
                result[to + path.dropFirst(from.count)] = mark
            }
        }
        if result["resource"] == nil, let template = marks["spec.template"] { result["resource"] = template }
        return result
    }

    /// keda-kaito-scaler's decision (`enableAutoProvisioning`, `resolveMinReplicas`, `resolveMaxReplicas`,
    /// `resolveMetricName` of v0.5.1), with a warning wherever it would silently create nothing.
    func autoscaling(
        _ set: InferenceSet,
        nodesPerReplica: Int,
        report: (Severity, String, String, String, [String]) -> Void
    ) -> InferenceSetPlan.Autoscaling? {
        let a = set.metadata.annotations
        let base = "metadata.annotations."
        let v06 = target.kedaKaitoScaler == KedaKaitoScaler.V06.version
        if !v06, a[KedaKaitoScaler.metricsList] != nil {
            report(
                .warning,
                DiagnosticCode.autoscaling,
                "annotation \(KedaKaitoScaler.metricsList) is keda-kaito-scaler v0.6's; target \(target.name) runs keda-kaito-scaler \(KedaKaitoScaler.version) (metricName and threshold), which Kaito v0.12's documentation uses",
                base + KedaKaitoScaler.metricsList,
                ["set kedaKaitoScaler: \(KedaKaitoScaler.V06.version) on the target if the cluster runs that release"]
            )
        }
        guard a[KedaKaitoScaler.autoProvision] == "true" else { return nil }
        let path = base + KedaKaitoScaler.autoProvision
        let limit = set.nodeCountLimit ?? 0
        var problems: [String] = []
        if let text = a[KedaKaitoScaler.maxReplicas] {
            if (Int(text) ?? 0) <= 1 { problems.append("\(KedaKaitoScaler.maxReplicas) must be an integer above 1") }
        } else if limit == 0 {
            problems.append("set \(KedaKaitoScaler.maxReplicas) or spec.nodeCountLimit")
        }
        let threshold = a[KedaKaitoScaler.threshold] ?? ""
        var config: KedaKaitoScaler.V06Config?
        if v06 {
            switch KedaKaitoScaler.V06.config(Dictionary(a.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })) {
            case .failure(let error): problems.append(error.message)
            case .success(let parsed): config = parsed
            }
        } else if (Int(threshold) ?? -1) < 0 {
            problems.append("\(KedaKaitoScaler.threshold) must be a non-negative integer")
        }
        if !problems.isEmpty {
            report(
                .warning,
                DiagnosticCode.autoscaling,
                "keda-kaito-scaler creates no ScaledObject for this InferenceSet: \(problems.joined(separator: "; "))",
                path,
                []
            )
            return nil
        }
        var maxReplicas: Int
        if limit == 0 {
            maxReplicas = max(Int(a[KedaKaitoScaler.maxReplicas] ?? "") ?? 1, 1)
        } else {
            maxReplicas = max(limit / nodesPerReplica, 1)
        }
        maxReplicas = min(maxReplicas, Int(Int32.max))
        var minReplicas = 1
        if let text = a[KedaKaitoScaler.minReplicas], let v = Int(text), v > 1 { minReplicas = min(v, Int(Int32.max)) }
        if maxReplicas < minReplicas {
            report(
                .warning,
                DiagnosticCode.autoscaling,
                "keda-kaito-scaler creates no ScaledObject for this InferenceSet: max-replicas (\(maxReplicas)) is less than min-replicas (\(minReplicas))",
                path,
                []
            )
            return nil
        }
        if target.outputMode == .expanded {
            report(
                .warning,
                DiagnosticCode.autoscaling,
                "no ScaledObject is rendered for target \(target.name): KEDA scales the InferenceSet, which exists only where Kaito's controllers run; the expanded output has spec.replicas fixed copies",
                path,
                ["render for a target with outputMode: controller to get the InferenceSet and its ScaledObject"]
            )
        }
        let address =
            "\(KedaKaitoScaler.serviceName).\(target.kedaNamespace).svc.cluster.local:\(KedaKaitoScaler.grpcPort)"
        let identity = [
            ("inferenceSetName", set.metadata.name), ("inferenceSetNamespace", set.metadata.effectiveNamespace),
        ]
        if let config {
            return config.autoscaling(
                minReplicas: minReplicas,
                maxReplicas: maxReplicas,
                identity: identity,
                address: address
            )
        }
        let metric =
            a[KedaKaitoScaler.metricName].flatMap { $0.isEmpty ? nil : $0 } ?? KedaKaitoScaler.defaultMetricName
        let metadata = (identity + [("metricName", metric), ("scalerAddress", address), ("threshold", threshold)])
            .sorted { $0.0 < $1.0 }
        return .init(
            minReplicas: minReplicas,
            maxReplicas: maxReplicas,
            targetAPIVersion: KedaKaitoScaler.targetAPIVersion,
            scaleUp: KedaKaitoScaler.scaleUp,
            scaleDown: KedaKaitoScaler.scaleDown,
            scalingModifiers: nil,
            triggers: [(KedaKaitoScaler.scalerName, metadata, "AverageValue")]
        )
    }
}

/// The checks of `cron.ParseStandard` (robfig/cron v3) that an InferenceSet's maintenance window must pass: five
/// fields (minute, hour, day of month, month, day of week) of `*`, `?`, numbers or names, ranges, steps and lists, or a
/// descriptor (`@daily`, `@every 1h`, …), optionally after `TZ=`/`CRON_TZ=`.
enum CronSchedule {
    static let bounds: [(Int, Int, [String])] = [
        (0, 59, []), (0, 23, []), (1, 31, []),
        (1, 12, ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]),
        (0, 6, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
    ]

    /// Why the schedule does not parse, or `nil`.
    static func problem(_ text: String) -> String? {
        var spec = Substring(text.trimmingWhitespace)
        if spec.hasPrefix("TZ=") || spec.hasPrefix("CRON_TZ=") {
            guard let space = spec.firstIndex(of: " ") else { return "missing spec after timezone" }
            spec = spec[spec.index(after: space)...].drop(while: { $0 == " " })
        }
        if spec.hasPrefix("@") {
            if ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"].contains(spec) {
                return nil
            }
            if spec.hasPrefix("@every "), GoDuration.parse(String(spec.dropFirst(7))) != nil { return nil }
            return "unrecognized descriptor: \(spec)"
        }
        let fields = spec.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 5 else {
            return "expected exactly 5 fields, found \(fields.count): [\(fields.joined(separator: " "))]"
        }
        for (field, (low, high, names)) in zip(fields, bounds) {
            for range in field.split(separator: ",", omittingEmptySubsequences: false) {
                let parts = range.split(separator: "/", omittingEmptySubsequences: false)
                guard parts.count <= 2 else { return "too many slashes: \(range)" }
                if parts.count == 2, (Int(parts[1]) ?? 0) <= 0 {
                    return "step of range should be a positive number: \(range)"
                }
                if parts[0] == "*" || parts[0] == "?" { continue }
                let ends = parts[0].split(separator: "-", omittingEmptySubsequences: false)
                guard ends.count <= 2 else { return "too many hyphens: \(range)" }
                var values: [Int] = []
                for end in ends {
                    if let i = names.firstIndex(of: end.lowercased()) {
                        values.append(i + (low == 1 ? 1 : 0))
                    } else if let v = Int(end), v >= 0 {
                        values.append(v)
                    } else {
                        return "failed to parse int from \(end)"
                    }
                }
                if values[0] < low { return "beginning of range (\(values[0])) below minimum (\(low)): \(range)" }
                if values.last ?? 0 > high {
                    return "end of range (\(values.last ?? 0)) above maximum (\(high)): \(range)"
                }
                if values[0] > (values.last ?? 0) {
                    return "beginning of range (\(values[0])) beyond end of range (\(values.last ?? 0)): \(range)"
                }
            }
        }
        return nil
    }
}

/// Go's `time.ParseDuration` and `Duration.String` for whole seconds and more.
enum GoDuration {
    /// The duration in seconds, or `nil` when Go would not parse it.
    static func parse(_ text: String) -> Double? {
        var s = Substring(text)
        var sign = 1.0
        if s.hasPrefix("-") || s.hasPrefix("+") {
            if s.hasPrefix("-") { sign = -1 }
            s = s.dropFirst()
        }
        if s == "0" { return 0 }
        guard !s.isEmpty else { return nil }
        let units: [(String, Double)] = [
            ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600),
        ]
        var total = 0.0
        while !s.isEmpty {
            let number = s.prefix(while: { $0.isNumber || $0 == "." })
            guard !number.isEmpty, let value = Double(number) else { return nil }
            s = s.dropFirst(number.count)
            let unit = s.prefix(while: { !$0.isNumber && $0 != "." })
            guard let factor = units.first(where: { $0.0 == unit })?.1 else { return nil }
            s = s.dropFirst(unit.count)
            total += value * factor
        }
        return sign * total
    }

    /// `Duration.String()` of a whole number of seconds (`0s`, `-1h0m0s`, `1m30s`).
    static func format(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        if whole == 0 { return "0s" }
        let sign = whole < 0 ? "-" : ""
        let total = abs(whole)
        let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60)
        if h > 0 { return "\(sign)\(h)h\(m)m\(sec)s" }
        if m > 0 { return "\(sign)\(m)m\(sec)s" }
        return "\(sign)\(sec)s"
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
