import Foundation
import KaitoCore
import Testing
import YAML

/// docs/reference/kaito.md section 4.15: the fully expanded `workspace-phi-4-mini` example, field for field, except the
/// documented deliberate differences (deterministic NodeClaim name, sorted flags, no Workspace owner references).
struct WorkedExampleTests {
    func render() throws -> [String: Node] {
        let source = try String(
            contentsOf: TestSupport.repositoryRoot.appendingPathComponent(
                "workspaces/aks-prod/workspace-phi-4-mini.yaml"
            ),
            encoding: .utf8
        )
        let root = try TestSupport.makeRepository(files: ["workspaces/head/phi-4-mini.yaml": source])
        defer { try? FileManager.default.removeItem(at: root) }
        let report = try Builder.render(
            BuildOptions(repositoryRoot: root.path, presetsDirectory: TestSupport.testPresets.path, target: "head")
        )
        let objects = try #require(report.targets.first).objects
        var byKind: [String: Node] = [:]
        for object in objects { byKind["\(object.kind)/\(object.name)"] = object.body }
        return byKind
    }

    @Test func nodeClaimMatchesTheReference() throws {
        let objects = try render()
        let claims = objects.filter { $0.key.hasPrefix("NodeClaim/") }
        #expect(claims.count == 1)
        let claim = try #require(claims.first?.value)
        let name = try #require(claim["metadata"]?["name"]?.scalar)
        #expect(name.wholeMatch(of: /ws[0-9a-f]{9}/) != nil)
        let labels = claim["metadata"]?["labels"]
        #expect(labels?["karpenter.sh/nodepool"]?.scalar == "kaito")
        #expect(labels?["kaito.sh/workspace"]?.scalar == "workspace-phi-4-mini")
        #expect(labels?["kaito.sh/workspacenamespace"]?.scalar == "default")
        #expect(labels?["apps"]?.scalar == "phi-4")
        #expect(claim["metadata"]?["annotations"]?["karpenter.sh/do-not-disrupt"]?.scalar == "true")
        #expect(claim["metadata"]?["annotations"]?["kaito.sh/node-image-family"]?.scalar == "ubuntu")
        #expect(claim["spec"]?["nodeClassRef"]?["kind"]?.scalar == "KaitoNodeClass")
        #expect(claim["spec"]?["nodeClassRef"]?["group"]?.scalar == "kaito.sh")
        let requirements = claim["spec"]?["requirements"]?.sequence?.map {
            ($0["key"]?.scalar ?? "", $0["values"]?.sequence?.compactMap(\.scalar) ?? [])
        }
        #expect(
            requirements?.map(\.0) == [
                "karpenter.sh/nodepool", "node.kubernetes.io/instance-type", "kubernetes.io/os",
                "karpenter.azure.com/sku-name",
            ]
        )
        #expect(requirements?[1].1 == ["Standard_NC24ads_A100_v4"])
        #expect(claim["spec"]?["resources"]?["requests"]?["storage"]?.scalar == "87Gi")
        #expect(claim["spec"]?["taints"]?.sequence?.first?["key"]?.scalar == "sku")
    }

    @Test func statefulSetMatchesTheReference() throws {
        let objects = try render()
        let set = try #require(objects["StatefulSet/workspace-phi-4-mini"])
        let spec = try #require(set["spec"])
        #expect(spec["replicas"]?.scalar == "1")
        #expect(spec["podManagementPolicy"]?.scalar == "Parallel")
        #expect(spec["serviceName"]?.scalar == "workspace-phi-4-mini-headless")
        let claim = spec["volumeClaimTemplates"]?.sequence?.first
        #expect(claim?["spec"]?["storageClassName"]?.scalar == "kaito-local-nvme-disk")
        #expect(claim?["spec"]?["resources"]?["requests"]?["storage"]?.scalar == "87Gi")
        let container = try #require(spec["template"]?["spec"]?["containers"]?.sequence?.first)
        #expect(container["image"]?.scalar == "mcr.microsoft.com/aks/kaito/kaito-base:0.5.0")
        // The 4.4 worked example command, compared as a set of flags (Kaito's own tests do the same).
        let reference =
            "python3 /workspace/vllm/inference_api.py --load_format=auto --config_format=auto --tokenizer_mode=auto --trust-remote-code --dtype=bfloat16 --chat-template=/workspace/chat_templates/tool-chat-phi4-mini.jinja --served-model-name=phi-4-mini-instruct --max-model-len=auto --gpu-memory-utilization=0.84 --kv-events-config='{\"enable_kv_cache_events\":true}' --compilation-config.pass_config.fuse_allreduce_rms=False --model=microsoft/phi-4-mini-instruct --download-dir=/workspace/weights --tensor-parallel-size=1"
        let command = try #require(container["command"]?.sequence?.last?.scalar)
        let flags = { (s: String) in Set(s.split(separator: " ").dropFirst(2).map(String.init)) }
        #expect(command.hasPrefix("python3 /workspace/vllm/inference_api.py "))
        #expect(flags(command) == flags(reference))
        let sortedFlags = command.split(separator: " ").dropFirst(2).map(String.init)
        #expect(sortedFlags == sortedFlags.sorted(), "flags are sorted")
        #expect(
            container["env"]?.sequence?.map { $0["name"]?.scalar ?? "" } == [
                "VLLM_USE_FLASHINFER_SAMPLER", "VLLM_USE_DEEP_GEMM",
            ]
        )
        #expect(container["ports"]?.sequence?.compactMap { $0["containerPort"]?.scalar } == ["5000", "5557"])
        #expect(container["resources"]?["limits"]?["nvidia.com/gpu"]?.scalar == "1")
        #expect(container["startupProbe"]?["failureThreshold"]?.scalar == "180")
        #expect(container["startupProbe"]?["timeoutSeconds"]?.scalar == "600")
        let affinity = spec["template"]?["spec"]?["affinity"]?["nodeAffinity"]?[
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]?["nodeSelectorTerms"]?.sequence?.first?["matchExpressions"]?.sequence
        #expect(
            affinity?.compactMap { $0["key"]?.scalar } == ["apps", "kaito.sh/workspace", "kaito.sh/workspacenamespace"]
        )
        let tolerations = spec["template"]?["spec"]?["tolerations"]?.sequence?.compactMap { $0["key"]?.scalar }
        #expect(tolerations == ["nvidia.com/gpu", "sku", "kubernetes.azure.com/scalesetpriority"])
        #expect(set["metadata"]?["ownerReferences"] == nil)
        #expect(set["metadata"]?["annotations"]?["workspace.kaito.io/revision"]?.scalar == "1")
    }

    @Test func servicesMatchTheReference() throws {
        let objects = try render()
        let service = try #require(objects["Service/workspace-phi-4-mini"])
        #expect(service["spec"]?["type"]?.scalar == "ClusterIP")
        #expect(
            service["spec"]?["ports"]?.sequence?.compactMap { $0["name"]?.scalar } == [
                "http", "ray", "dashboard", "kv-events",
            ]
        )
        #expect(service["spec"]?["selector"]?["statefulset.kubernetes.io/pod-name"]?.scalar == "workspace-phi-4-mini-0")
        let headless = try #require(objects["Service/workspace-phi-4-mini-headless"])
        #expect(headless["spec"]?["clusterIP"]?.scalar == "None")
        #expect(headless["spec"]?["publishNotReadyAddresses"]?.scalar == "true")
    }
}
