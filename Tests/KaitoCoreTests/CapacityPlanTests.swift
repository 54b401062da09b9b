import Foundation
import KaitoCore
import Testing
import YAML

/// `kaitoc plan` (issue 16): the estimator's cells of docs/reference/kaito.md section 2.5 reappear as the nodes of
/// every instance type that fits, the layout is the one `build` renders, prices come only from a `PriceList`.
struct CapacityPlanTests {
    /// The shipped catalog plus `files`, in memory, as a repository root.
    static func tree(_ files: [String: String]) throws -> MemoryTree {
        var all: [String: [UInt8]] = [:]
        let presets = TestSupport.repositoryRoot.appendingPathComponent("presets")
        let enumerator = FileManager.default.enumerator(atPath: presets.path)
        while let path = enumerator?.nextObject() as? String {
            guard path.hasSuffix(".yaml") else { continue }
            all["presets/\(path)"] = Array(try Data(contentsOf: presets.appendingPathComponent(path)))
        }
        for (path, text) in files { all[path] = Array(text.utf8) }
        return MemoryTree(files: all)
    }

    static func check(_ files: [String: String]) throws -> CheckReport {
        Checker.check(CheckOptions(repositoryRoot: "", paths: [], tree: try tree(files)))
    }

    static func workspace(
        _ name: String,
        preset: String,
        instanceType: String,
        target: String = "aks-prod"
    ) -> (
        String, String
    ) {
        (
            "workspaces/\(target)/\(name).yaml",
            """
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: \(name)
            resource:
              instanceType: \(instanceType)
              labelSelector:
                matchLabels:
                  app: \(name)
            inference:
              preset:
                name: \(preset)

            """
        )
    }

    static let prices = """
        kind: PriceList
        cloud: azure
        currency: USD
        region: test-region
        source: test fixture, not a real price
        date: "2026-12-01"
        prices:
          - instanceType: Standard_NC24ads_A100_v4
            perHour: 3.5
          - instanceType: Standard_NC48ads_A100_v4
            perHour: 8
          - instanceType: Standard_NC96ads_A100_v4
            perHour: 14.5

        """

    static func plan(_ files: [(String, String)], extra: [String: String] = [:]) throws -> (CapacityPlan, CheckReport) {
        var all = extra
        for (path, text) in files { all[path] = text }
        let report = try check(all)
        return (CapacityPlanner.plan(report), report)
    }

    /// docs/reference/kaito.md section 2.5, the Llama-3.3-70B and DeepSeek-R1-0528 rows (the latter is Kaito issue
    /// #1956's five NC80adis_H100_v5 nodes).
    @Test(arguments: [
        (
            "meta-llama/Llama-3.3-70B-Instruct",
            [
                "Standard_NV36ads_A10_v5": 9, "Standard_NC24ads_A100_v4": 3, "Standard_NC48ads_A100_v4": 2,
                "Standard_NC96ads_A100_v4": 1, "Standard_NC40ads_H100_v5": 2, "Standard_ND96isr_H200_v5": 1,
            ]
        ),
        (
            "deepseek-ai/DeepSeek-R1-0528",
            [
                "Standard_NV36ads_A10_v5": 39, "Standard_NC24ads_A100_v4": 11, "Standard_NC80adis_H100_v5": 5,
                "Standard_ND96amsr_A100_v4": 2, "Standard_ND96isr_H200_v5": 1,
            ]
        ),
    ])
    func optionsReproduceTheEstimatorTable(preset: String, cells: [String: Int]) throws {
        let (plan, _) = try Self.plan([Self.workspace("big", preset: preset, instanceType: "Standard_NC96ads_A100_v4")])
        let row = try #require(plan.workspaces.first)
        for (sku, nodes) in cells {
            let option = try #require(row.options.first { $0.instanceType == sku }, "\(sku) listed")
            #expect(option.nodes == nodes, "\(preset) on \(sku)")
        }
        #expect(row.sizing.contains("estimator"))
    }

    @Test func chosenInstanceTypeMatchesWhatBuildRenders() throws {
        let (path, text) = Self.workspace(
            "llama",
            preset: "meta-llama/Llama-3.3-70B-Instruct",
            instanceType: "Standard_NC24ads_A100_v4"
        )
        let (plan, report) = try Self.plan([(path, text)])
        #expect(!report.hasErrors, "\(report.diagnostics)")
        let row = try #require(plan.workspaces.first)
        #expect(row.nodes == 3 && row.gpusPerNode == 1 && row.totalGPUs == 3)
        #expect(row.layout == ParallelLayout(tensor: 1, pipeline: 3, data: 1))
        let chosen = try #require(row.options.first { $0.chosen })
        #expect(chosen.instanceType == "Standard_NC24ads_A100_v4" && chosen.nodes == row.nodes)

        let built = try Builder.render(BuildOptions(repositoryRoot: "", tree: try Self.tree([path: text])))
        let command = built.targets.flatMap(\.objects).compactMap { object -> String? in
            guard object.kind == "StatefulSet" else { return nil }
            return YAMLEmitter.emit(object.body)
        }.joined()
        #expect(command.contains("--pipeline-parallel-size=3"))
        #expect(command.contains("--tensor-parallel-size=1"))
    }

    /// The per-GPU breakdown adds up to vLLM's usable memory, and the estimator's minimum leaves headroom.
    @Test func memoryBreakdownAddsUp() throws {
        let (plan, _) = try Self.plan([
            Self.workspace("phi", preset: "microsoft/Phi-4-mini-instruct", instanceType: "Standard_NC24ads_A100_v4")
        ])
        let row = try #require(plan.workspaces.first)
        let memory = try #require(row.memory)
        #expect(memory.scope == "gpu")
        #expect(abs(memory.usableGiB - 0.84 * 80) < 1e-9)
        #expect(memory.runtimeReserveGiB == 2.3)
        #expect(memory.contextLength == 2048)
        let parts = memory.weightsGiB + memory.kvCacheGiB + memory.runtimeReserveGiB + memory.marginGiB
        #expect(abs(parts + memory.headroomGiB - memory.usableGiB) < 1e-9)
        #expect(memory.headroomGiB > 0)
        for option in row.options where option.fits { #expect((option.headroomPerGPUGiB ?? -1) >= 0) }
    }

    @Test func pricesOnlyFromThePriceListAndTheCheapestFitIsMarked() throws {
        let ws = Self.workspace(
            "llama",
            preset: "meta-llama/Llama-3.3-70B-Instruct",
            instanceType: "Standard_NC24ads_A100_v4"
        )
        let (unpriced, _) = try Self.plan([ws])
        let bare = try #require(unpriced.workspaces.first)
        #expect(bare.price == nil && bare.hourlyCost == nil)
        #expect(!bare.options.contains { $0.cheapest })
        #expect(bare.options.filter { $0.smallest }.count == 1)
        #expect(unpriced.rendered(as: .text).contains("no prices in the catalog"))
        #expect(unpriced.targets.first?.hourlyCost == nil)

        let (priced, report) = try Self.plan([ws], extra: ["presets/prices.yaml": Self.prices])
        #expect(!report.hasErrors, "\(report.diagnostics)")
        let row = try #require(priced.workspaces.first)
        // 3 × 3.5 = 10.5, 2 × 8 = 16, 1 × 14.5 = 14.5: three NC24ads nodes are the cheapest fit.
        #expect(row.hourlyCost == 10.5)
        let cheapest = try #require(row.options.first { $0.cheapest })
        #expect(cheapest.instanceType == "Standard_NC24ads_A100_v4" && cheapest.hourlyCost == 10.5)
        #expect(row.options.first { $0.instanceType == "Standard_NC48ads_A100_v4" }?.hourlyCost == 16)
        #expect(row.options.first { $0.instanceType == "Standard_NV36ads_A10_v5" }?.price == nil)
        #expect(priced.targets.first?.hourlyCost == 10.5 && priced.targets.first?.currency == "USD")
        let text = priced.rendered(as: .text)
        #expect(text.contains("test-region, test fixture, not a real price, 2026-12-01"))
    }

    @Test func aPriceListWithoutItsSourceIsRejected() throws {
        let noSource = Self.prices.replacingOccurrences(of: "source: test fixture, not a real price\n", with: "")
        let report = try Self.check(["presets/prices.yaml": noSource])
        let error = try #require(report.diagnostics.first { $0.code == DiagnosticCode.catalog })
        #expect(error.message.contains("source"))
        #expect(error.location.file == "presets/prices.yaml")
        let twice = Self.prices + "  - instanceType: standard_nc24ads_a100_v4\n    perHour: 1\n"
        let duplicate = try Self.check(["presets/prices.yaml": twice])
        #expect(duplicate.diagnostics.contains { $0.message.contains("has two prices") })
    }

    /// A small model on a GPU lists kaito-serve's CPU option; the checkpoint (F16/BF16 file size) needs more memory
    /// than q8_0, which needs more than q4_0 (presets/README.md, kaito-serve).
    @Test func smallModelsGetACPUOption() throws {
        let (plan, _) = try Self.plan([
            Self.workspace(
                "phi3",
                preset: "microsoft/Phi-3-mini-4k-instruct",
                instanceType: "Standard_NC24ads_A100_v4"
            )
        ])
        let options = try #require(plan.workspaces.first).cpuOptions
        #expect(options.map(\.weights) == ["checkpoint", "q8_0", "q4_0"])
        #expect(options[0].neededGiB > options[1].neededGiB && options[1].neededGiB > options[2].neededGiB)
        for option in options { #expect(option.memoryGiB * 0.9 - 1 >= option.neededGiB) }
        let (big, _) = try Self.plan([
            Self.workspace("r1", preset: "deepseek-ai/DeepSeek-R1-0528", instanceType: "Standard_ND96isr_H200_v5")
        ])
        #expect(try #require(big.workspaces.first).cpuOptions.isEmpty)
    }

    /// Hand-computed (presets/README.md, kaito-serve): Phi-3-mini-4k on a Standard_D8s_v5 (32Gi): F32 KV cache
    /// 2 × 32 layers × 32 KV heads × 96 × 4 B × 4096 tokens = 3 GiB; checkpoint 7.12 GiB; need (7.12 + 3) × 1.1 + 1
    /// = 12.132 GiB; q8_0 3.821e9 × 8.5 / 8 B = 3.78099 GiB → 8.45909 GiB; q4_0 2.00170 GiB → 6.50187 GiB; the pod may
    /// use ⌊32 × 0.9 − 1⌋ = 27 GiB, so 27 − 7.12 − 3 − 1 − 1.012 = 14.868 GiB is left.
    @Test func kaitoServeOnACPUInstanceTypeByHand() throws {
        var (path, text) = Self.workspace(
            "phi3-cpu",
            preset: "microsoft/Phi-3-mini-4k-instruct",
            instanceType: "Standard_D8s_v5"
        )
        text = text.replacingOccurrences(
            of: "  name: phi3-cpu\n",
            with: "  name: phi3-cpu\n  annotations:\n    kaito.sh/runtime: kaito-serve\n"
        )
        let (plan, report) = try Self.plan([(path, text)])
        #expect(!report.hasErrors, "\(report.diagnostics)")
        let row = try #require(plan.workspaces.first)
        #expect(row.runtime == "kaito-serve" && row.gpusPerNode == 0 && row.totalGPUs == 0)
        let memory = try #require(row.memory)
        #expect(memory.scope == "pod" && memory.capacityGiB == 32 && memory.usableGiB == 27)
        #expect(abs(memory.weightsGiB - 7.12) < 1e-9 && abs(memory.kvCacheGiB - 3) < 1e-9)
        #expect(abs(memory.marginGiB - 1.012) < 1e-9 && abs(memory.headroomGiB - 14.868) < 1e-9)
        let needs = row.cpuOptions.map { ($0.weights, ($0.neededGiB * 1000).rounded() / 1000, $0.instanceType) }
        #expect(needs.map(\.0) == ["checkpoint", "q8_0", "q4_0"])
        #expect(needs.map(\.1) == [12.132, 8.459, 6.502])
        #expect(needs.allSatisfy { $0.2 == "Standard_D8s_v5" })
        #expect(row.options.isEmpty)
    }

    /// The shipped repository: one row per workspace, the InferenceSet's replicas in one row, quotas summed as the
    /// quota rule sums them.
    @Test func shippedRepositoryPlan() throws {
        let report = Checker.check(CheckOptions(repositoryRoot: TestSupport.repositoryRoot.path, paths: []))
        #expect(!report.hasErrors)
        let plan = CapacityPlanner.plan(report)
        let names = plan.workspaces.map { "\($0.target)/\($0.name)" }
        #expect(names == names.sorted())
        let set = try #require(plan.workspaces.first { $0.kind == "InferenceSet" })
        #expect(set.replicas == report.plans.filter { $0.inferenceSet == set.name }.count)
        #expect(plan.workspaces.contains { $0.runtime == "kaito-serve" && $0.memory?.scope == "pod" })
        #expect(plan.workspaces.contains { $0.workload == "tuning" && $0.options.isEmpty && $0.optionsNote != nil })
        let prod = try #require(plan.targets.first { $0.name == "aks-prod" })
        let a100 = try #require(prod.quotas.first { $0.subject == "GPU model NVIDIA A100" })
        let planned = plan.workspaces.filter { $0.target == "aks-prod" && $0.gpuModel == "NVIDIA A100" }
        #expect(a100.gpus == planned.reduce(0) { $0 + $1.totalGPUs })
        #expect(
            prod.instanceTypes.reduce(0) { $0 + $1.gpus }
                == plan.workspaces.filter { $0.target == "aks-prod" }
                .reduce(0) { $0 + $1.totalGPUs }
        )
        // JSON is deterministic and decodes back.
        let json = plan.rendered(as: .json)
        #expect(json == CapacityPlanner.plan(report).rendered(as: .json))
        let decoded = try JSONDecoder().decode(CapacityPlan.self, from: Data(json.utf8))
        #expect(decoded == plan)
    }

    /// Kaito v0.12's KEDA guide (docs/reference/kaito.md section 4.19): an InferenceSet KEDA scales up to five
    /// replicas is planned at its replicas now and at most five.
    @Test func autoscaledInferenceSetShowsItsCeiling() throws {
        let source = try String(
            contentsOf: TestSupport.fixtures.appendingPathComponent(
                "render/inferenceset-controller/workspaces/operator/phi-4-mini.yaml"
            ),
            encoding: .utf8
        )
        let (plan, report) = try Self.plan([("workspaces/aks-prod/phi-4-mini.yaml", source)])
        #expect(!report.hasErrors, "\(report.diagnostics)")
        let row = try #require(plan.workspaces.first)
        #expect(row.kind == "InferenceSet" && row.replicas == 1 && row.totalGPUs == 1)
        #expect(row.autoscaling == ReplicaRange(min: 1, max: 5))
        #expect(plan.rendered(as: .text).contains("autoscaled by KEDA between 1 and 5 replicas: up to 5 nodes, 5 GPUs"))
    }

    @Test func diffShowsAddedResizedAndRemovedWorkspaces() throws {
        let llama = Self.workspace(
            "llama",
            preset: "meta-llama/Llama-3.3-70B-Instruct",
            instanceType: "Standard_NC24ads_A100_v4"
        )
        let phi = Self.workspace(
            "phi",
            preset: "microsoft/Phi-4-mini-instruct",
            instanceType: "Standard_NC24ads_A100_v4"
        )
        let qwen = Self.workspace(
            "qwen",
            preset: "Qwen/Qwen2.5-Coder-7B-Instruct",
            instanceType: "Standard_NC24ads_A100_v4"
        )
        let (before, _) = try Self.plan([llama, phi], extra: ["presets/prices.yaml": Self.prices])
        let resized = Self.workspace(
            "llama",
            preset: "meta-llama/Llama-3.3-70B-Instruct",
            instanceType: "Standard_NC96ads_A100_v4"
        )
        let (after, _) = try Self.plan([resized, qwen], extra: ["presets/prices.yaml": Self.prices])
        let diff = after.diff(from: before, baseName: "main")
        #expect(
            diff.workspaces.map { "\($0.change) \($0.name)" } == [
                "changed default/llama", "removed default/phi", "added default/qwen",
            ]
        )
        let llamaChange = diff.workspaces[0]
        #expect(llamaChange.before?.nodes == 3 && llamaChange.after?.nodes == 1)
        #expect(llamaChange.before?.gpus == 3 && llamaChange.after?.gpus == 4)
        #expect(llamaChange.before?.hourlyCost == 10.5 && llamaChange.after?.hourlyCost == 14.5)
        let target = try #require(diff.targets.first)
        #expect(target.gpusBefore == 4 && target.gpusAfter == 5)
        #expect(target.hourlyCostBefore == 14 && target.hourlyCostAfter == 18)
        let markdown = diff.rendered(as: .markdown)
        #expect(markdown.contains("| changed | aks-prod | default/llama | 3 × Standard_NC24ads_A100_v4"))
        #expect(markdown.contains("14.00 → 18.00 USD (+4.00)"))
        #expect(after.diff(from: after, baseName: "HEAD").isEmpty)
    }
}
