import Foundation
import Testing

@testable import KaitoCore

/// Issue 13 points 10 and 11: InferenceSets, their Workspaces and keda-kaito-scaler's ScaledObject.
///
/// docs/reference/kaito.md sections 1.9, 4.18, 4.19. The golden render cases `inferenceset-expanded` and
/// `inferenceset-controller` and the rule fixtures `KAITO-IS*`, `KAITOC-INFERENCESET`, `KAITOC-AUTOSCALING`,
/// `KAITOC-GATEWAY` cover the rendered objects and messages.
struct InferenceSetTests {
    func check(_ files: [String: String]) throws -> CheckReport {
        let root = try TestSupport.makeRepository(files: files)
        defer { try? FileManager.default.removeItem(at: root) }
        return Checker.check(CheckOptions(repositoryRoot: root.path, presetsDirectory: TestSupport.testPresets.path))
    }

    func inferenceSet(
        name: String = "llama",
        replicas: Int = 2,
        preset: String = "llama-3.3-70b-instruct",
        extra: String = "",
        annotations: String = ""
    ) -> String {
        """
        apiVersion: kaito.sh/v1beta1
        kind: InferenceSet
        metadata:
          name: \(name)
          namespace: llm
        \(annotations.isEmpty ? "" : "  annotations:\n" + annotations)
        spec:
          replicas: \(replicas)
        \(extra)
          labelSelector:
            matchLabels:
              apps: llama
          template:
            inference:
              preset:
                name: \(preset)
                presetOptions:
                  modelAccessSecret: hf-token
            resource:
              instanceType: Standard_NC24ads_A100_v4

        """
    }

    /// `generateName: <name>-` completed with 5 characters of Kubernetes' alphabet, the base cut to 58 characters
    /// (section 1.9); stable for a given namespace, name and index, distinct between indices.
    @Test func childNamesHaveTheShapeOfGeneratedNames() throws {
        let a = InferenceSetValidator.childName(namespace: "llm", name: "llama", index: 0)
        let b = InferenceSetValidator.childName(namespace: "llm", name: "llama", index: 1)
        #expect(a == InferenceSetValidator.childName(namespace: "llm", name: "llama", index: 0))
        #expect(a != b)
        for child in [a, b] {
            #expect(child.hasPrefix("llama-"))
            #expect(child.count == "llama-".count + 5)
            #expect(child.dropFirst(6).allSatisfy { "bcdfghjklmnpqrstvwxz2456789".contains($0) })
        }
        let long = InferenceSetValidator.childName(namespace: "llm", name: String(repeating: "a", count: 63), index: 0)
        #expect(long.count == 63)
        #expect(long.hasPrefix(String(repeating: "a", count: 58)))
    }

    /// Every replica is a Workspace plan of the target, with the created-by label and the estimator's node count;
    /// the replicas count in the quotas like any workspace.
    @Test func replicasBecomeWorkspacePlans() throws {
        let report = try check(["workspaces/head/llama.yaml": inferenceSet(replicas: 3)])
        let set = try #require(report.inferenceSetPlans.first)
        #expect(set.children.count == 3)
        #expect(Set(set.children.map(\.workspace.metadata.name)).count == 3)
        for child in set.children {
            #expect(child.inferenceSet == "llm/llama")
            #expect(
                child.workspace.metadata.labels.first { $0.key == "inferenceset.kaito.sh/created-by" }?.value == "llama"
            )
            #expect(child.workspace.resource.instanceType == "Standard_NC24ads_A100_v4")
            #expect(child.nodeCount == 3)
        }
        #expect(report.plans.filter { $0.inferenceSet != nil }.count == 3)
    }

    /// `NewWorkspaceForInferenceSet`: the template's annotations, plus `kaito.sh/disable-benchmark: "true"` when the
    /// InferenceSet's own annotation disables the benchmark; no instance type under BYO.
    @Test func childWorkspacesCarryTheTemplateAnnotationsAndTheBenchmarkOptOut() throws {
        let set = inferenceSet(
            preset: "phi-4-mini-instruct",
            annotations: "    kaito.sh/disable-benchmark: \"true\"\n"
        )
        .replacingOccurrences(
            of: "    inference:\n",
            with: "    metadata:\n      annotations:\n        kaito.sh/performance-mode: throughput\n    inference:\n"
        )
        let byo = set.replacingOccurrences(
            of: "    resource:\n      instanceType: Standard_NC24ads_A100_v4\n",
            with: ""
        )
        let report = try check(["workspaces/head/phi.yaml": set, "workspaces/byo/phi.yaml": byo])
        let errors = report.diagnostics.filter { $0.severity == .error }.map(\.message)
        #expect(errors.isEmpty, "\(errors)")
        for plan in report.plans {
            let annotations = Dictionary(
                uniqueKeysWithValues: plan.workspace.metadata.annotations.map { ($0.key, $0.value) }
            )
            #expect(annotations["kaito.sh/disable-benchmark"] == "true")
            #expect(annotations["kaito.sh/performance-mode"] == "throughput")
            #expect((plan.workspace.resource.instanceType != nil) == (plan.target.name == "head"))
        }
        #expect(report.plans.count == 4)
    }

    /// The replicas count in the target's quotas like any workspace (test target `head`: at most 2 nodes of
    /// Standard_NC96ads_A100_v4).
    @Test func replicasCountInQuotas() throws {
        let set = inferenceSet(replicas: 3, preset: "phi-4-mini-instruct")
            .replacingOccurrences(of: "Standard_NC24ads_A100_v4", with: "Standard_NC96ads_A100_v4")
        let report = try check(["workspaces/head/phi.yaml": set])
        #expect(report.diagnostics.contains { $0.code == DiagnosticCode.quota && $0.severity == .error })
    }

    /// Hostile replica counts are an error, not a hang or a trap.
    @Test func hugeReplicaCountsAreRefused() throws {
        let report = try check([
            "workspaces/head/llama.yaml": inferenceSet(replicas: Int.max, extra: "  nodeCountLimit: 3")
        ])
        #expect(report.diagnostics.contains { $0.code == DiagnosticCode.inferenceSet && $0.severity == .error })
        #expect(report.inferenceSetPlans.first?.children.isEmpty == true)
    }

    /// keda-kaito-scaler v0.6.2 (`parseMetricsConfig`, `buildFormula`, `buildTriggers` in
    /// `pkg/scaledobject/provisioner.go`): the metrics list of Kaito v0.12's CI (`.github/workflows/aikit.yaml`) plus a
    /// histogram metric, one trigger per metric named by its formula variable, and the readiness gate.
    @Test func kedaKaitoScalerV06MetricsList() throws {
        let annotations: [String: String] = [
            "scaledobject.kaito.sh/metrics": """
            - name: vllm:num_requests_waiting
              type: gauge
              upthreshold: 10
              downthreshold: 1
            - name: vllm:e2e_request_latency_seconds
              type: histogram
              upthreshold: 2.5
              downthreshold: 0.5
            """,
            "scaledobject.kaito.sh/scaleupcooldown": "120",
        ]
        let config = try KedaKaitoScaler.V06.config(annotations).get()
        #expect(
            config.formula
                == "(readiness_gate == 1 && vllm_num_requests_waiting > 10 && vllm_e2e_request_latency_seconds > 2.5) ? 2.0 : ((vllm_num_requests_waiting < 1 && vllm_e2e_request_latency_seconds < 0.5) ? 0.5 : 1.0)"
        )
        let plan = config.autoscaling(minReplicas: 1, maxReplicas: 5, identity: [], address: "a:1")
        #expect(
            plan.triggers.map(\.name) == [
                "vllm_num_requests_waiting", "vllm_e2e_request_latency_seconds", "readiness_gate",
            ]
        )
        #expect(plan.triggers[1].metadata.contains { $0 == ("metricCacheWindow", "300") })
        #expect(plan.scaleUp.periodSeconds == 120)
        #expect(plan.scaleUp.stabilizationWindowSeconds == 60)
        let bad: [String: String] = [
            "scaledobject.kaito.sh/metrics": "- name: x\n  type: gauge\n  upthreshold: 1\n  downthreshold: 2\n"
        ]
        guard case .failure(let error) = KedaKaitoScaler.V06.config(bad) else {
            Issue.record("downthreshold above upthreshold must fail")
            return
        }
        #expect(error.message == "metric \"x\" (index 0): downthreshold (2) must not exceed upthreshold (1)")
    }

    /// Two InferenceSets of one name would generate the same Workspaces: an error, as for two Workspaces.
    @Test func duplicateInferenceSetsAreAnError() throws {
        let report = try check([
            "workspaces/head/a.yaml": inferenceSet(preset: "phi-4-mini-instruct"),
            "workspaces/head/b.yaml": inferenceSet(preset: "phi-4-mini-instruct"),
        ])
        let duplicate = report.diagnostics.filter { $0.code == DiagnosticCode.duplicate }
        #expect(duplicate.count == 1)
        #expect(duplicate.first?.message == "InferenceSet llm/llama is defined twice for target head")
    }

    /// keda-kaito-scaler v0.5.1 `resolveMaxReplicas`: nodeCountLimit / nodes per replica (here 3 nodes per 70B
    /// replica), `resolveMetricName`'s default, `resolveMinReplicas` ignoring values ≤ 1.
    @Test func maxReplicasComeFromNodeCountLimitAndTheEstimate() throws {
        let report = try check([
            "workspaces/head/llama.yaml": inferenceSet(
                replicas: 1,
                extra: "  nodeCountLimit: 7",
                annotations: """
                        scaledobject.kaito.sh/auto-provision: "true"
                        scaledobject.kaito.sh/min-replicas: "1"
                        scaledobject.kaito.sh/threshold: "3"

                    """
            )
        ])
        let autoscaling = try #require(report.inferenceSetPlans.first?.autoscaling)
        #expect(autoscaling.maxReplicas == 2)
        #expect(autoscaling.minReplicas == 1)
        let metadata = Dictionary(uniqueKeysWithValues: try #require(autoscaling.triggers.first).metadata)
        #expect(metadata["metricName"] == "vllm:num_requests_waiting")
        #expect(metadata["threshold"] == "3")
    }

    /// The Workspace the InferenceSet generates goes through the Workspace webhook; its errors point into the
    /// InferenceSet's file (section 1.9, `ValidateInferenceSetWorkspace`).
    @Test func childErrorsPointIntoTheInferenceSet() throws {
        let report = try check(["workspaces/head/llama.yaml": inferenceSet(preset: "llama-3.3-70b-instrcut")])
        let error = try #require(report.diagnostics.first { $0.code == "KAITO-I3" })
        #expect(error.location.file.hasSuffix("workspaces/head/llama.yaml"))
        #expect(error.location.line == 16)
        #expect(error.notes.first?.contains("InferenceSet webhook rejects") == true)
        // One diagnostic, not one per replica.
        #expect(report.diagnostics.filter { $0.code == "KAITO-I3" }.count == 1)
    }

    /// `cron.ParseStandard`'s accepted forms and a few failures.
    @Test(arguments: [
        ("0 2 * * 6", true), ("*/15 0-6 1,15 jan-mar mon-fri", true), ("@daily", true), ("@every 90m", true),
        ("CRON_TZ=UTC 0 2 * * *", true), ("0 2 * *", false), ("60 2 * * *", false), ("0 2 * * 8", false),
        ("0 2 * * x", false), ("@fortnightly", false), ("5-1 * * * *", false),
    ])
    func cronSchedules(_ schedule: String, _ valid: Bool) {
        #expect((CronSchedule.problem(schedule) == nil) == valid, "\(schedule)")
    }

    /// Go's `time.ParseDuration` and `Duration.String`.
    @Test func goDurations() {
        #expect(GoDuration.parse("4h") == 14_400)
        #expect(GoDuration.parse("1h30m") == 5_400)
        #expect(GoDuration.parse("0") == 0)
        #expect(GoDuration.parse("-2m") == -120)
        #expect(GoDuration.parse("4 hours") == nil)
        #expect(GoDuration.format(0) == "0s")
        #expect(GoDuration.format(-3_600) == "-1h0m0s")
        #expect(GoDuration.format(90) == "1m30s")
    }
}
