import Foundation
import KaitoCore
import Testing
import YAML

/// Renders workspace files for one target of the test catalog and returns the objects by `Kind/name`.
func renderObjects(_ files: [String: String], target: String) throws -> [String: Node] {
    var inputs: [String: String] = [:]
    for (path, text) in files { inputs["workspaces/\(target)/\(path)"] = text }
    let root = try TestSupport.makeRepository(files: inputs)
    defer { try? FileManager.default.removeItem(at: root) }
    let report = try Builder.render(
        BuildOptions(repositoryRoot: root.path, presetsDirectory: TestSupport.testPresets.path, target: target)
    )
    #expect(!report.check.hasErrors, "\(report.check.rendered(as: .text))")
    var byKind: [String: Node] = [:]
    for object in try #require(report.targets.first).objects { byKind["\(object.kind)/\(object.name)"] = object.body }
    return byKind
}

/// The names of a list of containers or volumes.
func names(_ node: Node?) -> [String] { node?.sequence?.compactMap { $0["name"]?.scalar } ?? [] }

/// The quick start's tuning workspace (Kaito `examples/fine-tuning/kaito_workspace_tuning_phi_3.yaml`).
let quickstartTuning = """
    apiVersion: kaito.sh/v1alpha1
    kind: Workspace
    metadata:
      name: workspace-tuning-phi-3
    resource:
      instanceType: "Standard_NC6s_v3"
      labelSelector:
        matchLabels:
          app: tuning-phi-3
    tuning:
      preset:
        name: phi-3-mini-128k-instruct
      method: qlora
      input:
        urls:
          - "https://example.com/data/train.parquet?download=true"
      output:
        image: "myregistry.azurecr.io/phi-3-tuned:0.0.1"
        imagePushSecret: myregistry-push-secret

    """

/// Issue 13 points 1–2: the objects of each release's era, checked against that tag's code (see the fixture
/// READMEs under `Fixtures/render/`).
struct ReleaseFidelityTests {
    /// Kaito v0.4.6 `CreatePresetTuning` (`pkg/workspace/tuning/preset-tuning.go`): the preset image runs the
    /// trainer, with its weights inside; no weights downloader.
    @Test func quickStartTuningJobRunsThePresetImageOnV046() throws {
        let objects = try renderObjects(["tuning.yaml": quickstartTuning], target: "classic")
        let job = try #require(objects["Job/workspace-tuning-phi-3"])
        let pod = try #require(job["spec"]?["template"]?["spec"])
        let main = try #require(pod["containers"]?.sequence?.first)
        #expect(main["image"]?.scalar == "mcr.microsoft.com/aks/kaito/kaito-phi-3-mini-128k-instruct:0.1.1")
        #expect(names(pod["initContainers"]) == ["data-downloader"])
        #expect(!names(pod["volumes"]).contains("model-weights-volume"))
        #expect(names(pod["volumes"]) == ["dshm", "config-volume", "results-volume", "data-volume", "docker-config"])
        #expect(names(pod["containers"]) == ["workspace-tuning-phi-3", "pusher", "pause"])
        // Every container mounts every volume (`GenerateTuningJobManifest` at v0.4.6).
        let mounts = ["dshm", "config-volume", "results-volume", "data-volume", "docker-config"]
        #expect(names(main["volumeMounts"]) == mounts)
        for container in (pod["initContainers"]?.sequence ?? []) + (pod["containers"]?.sequence ?? []).dropFirst() {
            #expect(names(container["volumeMounts"]).suffix(mounts.count) == ArraySlice(mounts))
        }
        // No spot toleration and no node affinity before v0.10 / v0.7.
        #expect(pod["tolerations"]?.sequence?.compactMap { $0["key"]?.scalar } == ["gpu", "sku"])
        #expect(pod["affinity"] == nil)
        // The v0.4.6 downloader keeps the query in the file name.
        let script = pod["initContainers"]?.sequence?.first?["command"]?.sequence?.last?.scalar ?? ""
        #expect(script.contains("sed 's/[?=&]/_/g'"))
        #expect(main["env"]?.sequence?.first?["name"]?.scalar == "DEFAULT_TARGET_MODULES")
        let config = try #require(objects["ConfigMap/qlora-params-template"])
        #expect(config["data"]?["training_config.yaml"]?.scalar?.contains("save_strategy: \"epoch\"") == true)
    }

    /// From v0.5 the trainer is `kaito-base` and the weights come from the ORAS artifact
    /// (`GenerateBasicTuningPodSpec` in `pkg/workspace/tuning/preset_tuning.go` at v0.10.0).
    @Test func tuningJobDownloadsTheWeightsOnV010() throws {
        let workspace = quickstartTuning.replacingOccurrences(of: "v1alpha1", with: "v1beta1")
            .replacingOccurrences(of: "resource:", with: "resource:\n  count: 1")
            .replacingOccurrences(of: "Standard_NC6s_v3", with: "Standard_NC24ads_A100_v4")
        let objects = try renderObjects(["tuning.yaml": workspace], target: "v010")
        let pod = try #require(objects["Job/workspace-tuning-phi-3"]?["spec"]?["template"]?["spec"])
        let main = try #require(pod["containers"]?.sequence?.first)
        #expect(main["image"]?.scalar == "mcr.microsoft.com/aks/kaito/kaito-base:0.2.8")
        let downloader = try #require(pod["initContainers"]?.sequence?.first)
        #expect(
            downloader["command"]?.sequence?.compactMap(\.scalar) == [
                "oras", "pull", "mcr.microsoft.com/aks/kaito/kaito-phi-3-mini-128k-instruct:0.2.0", "-o",
                "/workspace/weights",
            ]
        )
        #expect(
            pod["tolerations"]?.sequence?.compactMap { $0["key"]?.scalar } == [
                "gpu", "sku", "kubernetes.azure.com/scalesetpriority",
            ]
        )
        #expect(pod["affinity"] != nil)
        let script = pod["initContainers"]?.sequence?.last?["command"]?.sequence?.last?.scalar ?? ""
        #expect(!script.contains("sed 's/[?=&]/_/g'"))
        let config = try #require(objects["ConfigMap/qlora-params-template"])
        #expect(config["data"]?["training_config.yaml"]?.scalar?.contains("save_strategy: \"no\"") == true)
    }

    /// Kaito v0.10 `GeneratePresetInference` (`pkg/workspace/inference/preset_inferences.go`): `kaito-base`, the
    /// `model-weights-downloader` init container, a startup probe, and no KV-events port (v0.11).
    @Test func inferenceUsesTheBaseImageAndTheDownloaderOnV010() throws {
        let workspace = """
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: phi-3
            resource:
              instanceType: Standard_NC24ads_A100_v4
              labelSelector:
                matchLabels:
                  apps: phi-3
            inference:
              preset:
                name: phi-3-mini-128k-instruct

            """
        let objects = try renderObjects(["phi-3.yaml": workspace], target: "v010")
        let pod = try #require(objects["StatefulSet/phi-3"]?["spec"]?["template"]?["spec"])
        let main = try #require(pod["containers"]?.sequence?.first)
        #expect(main["image"]?.scalar == "mcr.microsoft.com/aks/kaito/kaito-base:0.2.8")
        let downloader = try #require(pod["initContainers"]?.sequence?.first)
        #expect(downloader["name"]?.scalar == "model-weights-downloader")
        #expect(downloader["image"]?.scalar == "mcr.microsoft.com/oss/v2/oras-project/oras:v1.2.3")
        #expect(
            downloader["command"]?.sequence?.compactMap(\.scalar).dropLast(2).last
                == "mcr.microsoft.com/aks/kaito/kaito-phi-3-mini-128k-instruct:0.2.0"
        )
        #expect(names(main["volumeMounts"]).contains("model-weights-volume"))
        #expect(main["startupProbe"]?["failureThreshold"]?.scalar == "180")
        #expect(main["startupProbe"]?["httpGet"] != nil)
        #expect(main["livenessProbe"]?["initialDelaySeconds"]?.scalar == "0")
        #expect(main["ports"]?.sequence?.count == 1)
        #expect(objects["ConfigMap/inference-params-template"] != nil)
        let service = try #require(objects["Service/phi-3"])
        #expect(names(service["spec"]?["ports"]) == ["http", "ray", "dashboard"])
    }
}

/// The flags of a rendered preset workload's vLLM command line, `--key` → value (`""` for a bare flag).
func vllmFlags(_ objects: [String: Node], workload: String) throws -> [String: String] {
    let pod = try #require(objects[workload]?["spec"]?["template"]?["spec"])
    let command = try #require(pod["containers"]?.sequence?.first?["command"]?.sequence?.last?.scalar)
    var flags: [String: String] = [:]
    for word in command.split(separator: " ") where word.hasPrefix("--") {
        let parts = word.dropFirst(2).split(separator: "=", maxSplits: 1)
        flags[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
    }
    return flags
}

/// A v1beta1 preset workspace on one instance type, with an optional `inference.config`.
func presetWorkspace(_ name: String, preset: String, instanceType: String, config: String? = nil) -> String {
    """
    apiVersion: kaito.sh/v1beta1
    kind: Workspace
    metadata:
      name: \(name)
    resource:
      instanceType: \(instanceType)
      labelSelector:
        matchLabels:
          apps: \(name)
    inference:
      preset:
        name: \(preset)
    \(config.map { "  config: \($0)\n" } ?? "")
    """
}

/// Issue 13: the vLLM command line of Kaito v0.10.0 (docs/reference/kaito.md section 4.4.1;
/// `buildVLLMInferenceCommand` and `configureParallelism` in `pkg/model/interface.go`, `computeMaxModelLen` in
/// `pkg/workspace/inference/max_model_len_strategy.go`, `GenerateInferencePodSpec` in
/// `pkg/workspace/inference/preset_inferences.go`, all at tag v0.10.0).
struct VLLMCommandLineV010Tests {
    /// Phi-3-mini-128k on one A100 80 GB: `(80 × 0.84 − 7.12 × 1.02 − 2.3) GiB / 393216 B` = 157389 tokens, clamped to
    /// `ModelTokenLimit` 131072; utilization is the fixed 0.84, not v0.4.6's `getGPUMemoryUtilForVLLM` 0.95; none of
    /// HEAD's `--load_format`/`--trust-remote-code`/`--max-model-len=auto` defaults.
    @Test func phi3OnOneA100() throws {
        let workspace = presetWorkspace(
            "phi-3",
            preset: "phi-3-mini-128k-instruct",
            instanceType: "Standard_NC24ads_A100_v4"
        )
        let flags = try vllmFlags(
            renderObjects(["phi-3.yaml": workspace], target: "v010"),
            workload: "StatefulSet/phi-3"
        )
        #expect(
            flags == [
                "gpu-memory-utilization": "0.84",
                "kaito-config-file": "/mnt/config/inference_config.yaml",
                "max-model-len": "131072",
                "served-model-name": "phi-3-mini-128k-instruct",
                "tensor-parallel-size": "1",
            ]
        )
    }

    /// Four T4s (64 GiB, compute capability 7.5): the 7.12 GiB model is under half a GPU, so one copy per GPU with the
    /// KV-cache offload off (`configureParallelism`), `--dtype=float16` (`SupportsBFloat16`), and
    /// `(64 × 0.84 / 4 − 7.12 × 1.02 / 4 − 2.3) GiB / (393216 B / 4)` = 101847 tokens, aligned down to 101632.
    @Test func phi3OnFourT4s() throws {
        let workspace = presetWorkspace(
            "phi-3",
            preset: "phi-3-mini-128k-instruct",
            instanceType: "Standard_NC64as_T4_v3"
        )
        let flags = try vllmFlags(
            renderObjects(["phi-3.yaml": workspace], target: "v010"),
            workload: "StatefulSet/phi-3"
        )
        #expect(flags["max-model-len"] == "101632")
        #expect(flags["dtype"] == "float16")
        #expect(flags["data-parallel-size"] == "4")
        #expect(flags["tensor-parallel-size"] == "1")
        #expect(flags["kaito-kv-cache-cpu-memory-utilization"] == "0")
        #expect(flags["gpu-memory-utilization"] == "0.84")
    }

    /// Falcon-7B has `DisableTensorParallelism`: no parallelism flag at all, and its whole weights and KV bytes per
    /// token count on the one GPU (far more than its 2048-token limit fits).
    @Test func falconWithoutTensorParallelism() throws {
        let workspace = presetWorkspace("falcon", preset: "falcon-7b", instanceType: "Standard_NC48ads_A100_v4")
        let flags = try vllmFlags(
            renderObjects(["falcon.yaml": workspace], target: "v010"),
            workload: "StatefulSet/falcon"
        )
        #expect(flags["max-model-len"] == "2048")
        #expect(flags["tensor-parallel-size"] == nil)
        #expect(flags["data-parallel-size"] == nil)
        #expect(flags["chat-template"] == "/workspace/chat_templates/falcon-instruct.jinja")
    }

    /// A user ConfigMap whose `inference_config.yaml` is empty leaves `GenerateInferencePodSpec`'s default 2048.
    @Test func emptyInferenceConfigKeepsTheDefault() throws {
        let workspace = presetWorkspace(
            "phi-3",
            preset: "phi-3-mini-128k-instruct",
            instanceType: "Standard_NC24ads_A100_v4",
            config: "empty-config"
        )
        let configMap = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: empty-config
            data:
              inference_config.yaml: ""

            """
        let objects = try renderObjects(["phi-3.yaml": workspace, "config.yaml": configMap], target: "v010")
        let flags = try vllmFlags(objects, workload: "StatefulSet/phi-3")
        #expect(flags["max-model-len"] == "2048")
        #expect(flags["kaito-config-file"] == "/mnt/config/inference_config.yaml")
    }

    /// Where each difference starts (`ReleaseShape`): `--max-model-len` is absent at v0.6.2, computed from v0.7.0 to
    /// v0.10.0 and `auto` from v0.11.0; the fixed 0.84 utilization from v0.7.0; the data-parallel tier from v0.10.0.
    @Test func eraBoundaries() {
        #expect(ReleaseShape(KaitoVersion(0, 6, 2)).maxModelLength == .unset)
        #expect(ReleaseShape(KaitoVersion(0, 7, 0)).maxModelLength == .computed)
        #expect(ReleaseShape(KaitoVersion(0, 10, 0)).maxModelLength == .computed)
        #expect(ReleaseShape(KaitoVersion(0, 11, 0)).maxModelLength == .auto)
        #expect(!ReleaseShape(KaitoVersion(0, 6, 2)).fixedGPUMemoryUtilization)
        #expect(ReleaseShape(KaitoVersion(0, 7, 0)).fixedGPUMemoryUtilization)
        #expect(!ReleaseShape(KaitoVersion(0, 9, 4)).vllmDataParallel)
        #expect(ReleaseShape(KaitoVersion(0, 10, 0)).vllmDataParallel)
        #expect(ReleaseShape(KaitoVersion(0, 10, 0)).float16WithoutBFloat16)
        #expect(!ReleaseShape(KaitoVersion(0, 12, 0)).float16WithoutBFloat16)
    }

    /// v0.4.6 keeps `getGPUMemoryUtilForVLLM` and passes no `--max-model-len` (docs/reference/kaito.md section 2.7).
    @Test func classicKeepsItsFlags() throws {
        let workspace = presetWorkspace(
            "phi-3",
            preset: "phi-3-mini-128k-instruct",
            instanceType: "Standard_NC24ads_A100_v4"
        )
        let objects = try renderObjects(["phi-3.yaml": workspace], target: "classic-vllm")
        let flags = try vllmFlags(objects, workload: "Deployment/phi-3")
        #expect(flags["max-model-len"] == nil)
        #expect(flags["gpu-memory-utilization"] == "0.95")
    }
}

/// Issue 13 point 9: the startup budget as upstream computes it from the model's size.
struct StartupProbeTests {
    /// `readinessTimeoutForModelSize` (`presets/workspace/models/vllm_model.go`, v0.12): 15 min + 51.75 GiB × 18 s =
    /// 30 min 31.5 s, so `ceil(1831.5 s / 10 s) = 184`; the catalog's rounded 30.5 min gave 183.
    @Test func failureThresholdFollowsTheModelSize() throws {
        let workspace = """
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: qwen
            resource:
              instanceType: Standard_NC24ads_A100_v4
              labelSelector:
                matchLabels:
                  apps: qwen
            inference:
              preset:
                name: Qwen/Qwen3.6-27B

            """
        let objects = try renderObjects(["qwen.yaml": workspace], target: "head")
        let pod = try #require(objects["StatefulSet/qwen"]?["spec"]?["template"]?["spec"])
        let main = try #require(pod["containers"]?.sequence?.first)
        #expect(main["startupProbe"]?["failureThreshold"]?.scalar == "184")
    }
}

/// Runs a rendered shell script with `/bin/sh -c`, stub commands first on `PATH`; returns its exit status.
func runScript(_ script: String, stubs: [String: String], in dir: URL) throws -> Int32 {
    let bin = dir.appendingPathComponent("bin")
    try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
    for (name, text) in stubs {
        let url = bin.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    process.environment = ["PATH": "\(bin.path):/usr/bin:/bin", "HOME": dir.appendingPathComponent("home").path]
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// Issue 13 points 3–4: the adapter image the tuning Job pushes, and how it ends the pod.
///
/// The rendered pusher script runs here with `oras` and `killall` stubbed. Upstream: `pkg/workspace/image/pusher.sh`
/// (`wait`, `mklayer`, `mkconfig`, `mklayout`, `push`, `resume`), the same from v0.4.5 to v0.12.0.
struct PusherScriptTests {
    @Test func pushesAnOCIImageWithOnlyTheDiffIDsAndSignalsPause() throws {
        let objects = try renderObjects(["tuning.yaml": quickstartTuning], target: "classic")
        let pod = try #require(objects["Job/workspace-tuning-phi-3"]?["spec"]?["template"]?["spec"])
        let pusher = try #require(pod["containers"]?.sequence?.first { $0["name"]?.scalar == "pusher" })
        #expect(pusher["command"]?.sequence?.compactMap(\.scalar) == ["/bin/sh", "-c"])
        let script = try #require(pusher["args"]?.sequence?.first?.scalar)
        #expect(script.hasPrefix("set -ex\n"))
        // The sentinel is polled every second (`wait`).
        #expect(script.contains("do sleep 1; done"))
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let results = dir.appendingPathComponent("results")
        try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
        for file in ["adapter_config.json", "adapter_model.safetensors", "fine_tuning_completed.txt"] {
            try Data("\(file)\n".utf8).write(to: results.appendingPathComponent(file))
        }
        let log = dir.appendingPathComponent("log")
        let stubs = [
            // oras push: keep the config and the layer it was given.
            "oras": """
            #!/bin/sh
            echo "oras $*" >> "\(log.path)"
            if [ "$1" = push ]; then cp config.json layer.tar.gz annotations.json "\(dir.path)/"; fi

            """,
            "killall": "#!/bin/sh\necho \"killall $*\" >> \"\(log.path)\"\nexit 1\n",
        ]
        let body = script.replacingOccurrences(of: "/mnt/results", with: results.path)
        // `killall` failing (no `pause` to signal) does not fail the pusher.
        #expect(try runScript(body, stubs: stubs, in: dir) == 0)
        let logText = try String(contentsOf: log, encoding: .utf8)
        #expect(logText.contains("config.json:application/vnd.oci.image.config.v1+json"))
        #expect(logText.contains("layer.tar.gz:application/vnd.oci.image.layer.v1.tar+gzip"))
        #expect(logText.contains("oras cp --from-oci-layout"))
        #expect(logText.contains("myregistry.azurecr.io/phi-3-tuned:0.0.1"))
        #expect(logText.hasSuffix("killall -SIGCHLD pause\n"))
        // The image config is only `rootfs.diff_ids`, the uncompressed layer's digest (`mkconfig`).
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gunzip.arguments = ["-c", "gzip -dc '\(dir.path)/layer.tar.gz' | sha256sum | cut -d ' ' -f 1"]
        let pipe = Pipe()
        gunzip.standardOutput = pipe
        try gunzip.run()
        gunzip.waitUntilExit()
        let digest = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let config = try String(contentsOf: dir.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config == "{\"rootfs\":{\"diff_ids\":[\"sha256:\(digest)\"]}}")
        let annotations = try String(contentsOf: dir.appendingPathComponent("annotations.json"), encoding: .utf8)
        #expect(annotations == #"{"$manifest":{"sh.kaito.model.name":"phi-3-mini-128k-instruct"}}"#)
    }
}

/// The tuning input's image: `prepareDataSource` (`pkg/workspace/tuning/preset_tuning.go`, the same from v0.4.5 to
/// v0.12.0) always makes the pull-secret volume `docker-config-<input.name>-tuning-input`, a projection of no secret
/// when the input has none, and the puller and the trainer mount it before `data-volume`.
struct TuningInputImageTests {
    @Test func pullSecretVolumeWithoutSecrets() throws {
        let workspace = """
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: tune-qwen
            resource:
              instanceType: Standard_NC48ads_A100_v4
              labelSelector:
                matchLabels:
                  apps: tuning
            tuning:
              preset:
                name: qwen2.5-coder-7b-instruct
              method: lora
              input:
                name: corpus
                image: myregistry.azurecr.io/datasets/code:2024
              output:
                image: myregistry.azurecr.io/qwen-tuned:0.1.0
                imagePushSecret: acr-push

            """
        let objects = try renderObjects(["tune.yaml": workspace], target: "head")
        let pod = try #require(objects["Job/tune-qwen"]?["spec"]?["template"]?["spec"])
        let puller = try #require(pod["initContainers"]?.sequence?.first { $0["name"]?.scalar == "puller" })
        #expect(names(puller["volumeMounts"]) == ["docker-config-corpus-tuning-input", "data-volume"])
        let main = try #require(pod["containers"]?.sequence?.first)
        #expect(names(main["volumeMounts"]).suffix(2) == ["docker-config-corpus-tuning-input", "data-volume"])
        let volume = try #require(
            pod["volumes"]?.sequence?.first { $0["name"]?.scalar == "docker-config-corpus-tuning-input" }
        )
        #expect(volume["projected"]?["sources"]?.sequence?.isEmpty == true)
        // `relocate` moves the image's `data` folder onto the existing `/mnt/data`, so it lands in `/mnt/data/data`.
        let script = try #require(puller["args"]?.sequence?.first?.scalar)
        #expect(script.hasSuffix("mv -f \"$rootfs/data\" \"/mnt/data\""))
    }
}

/// The puller script of `pkg/workspace/image/puller.sh` (`pull`, `expand`, `relocate`; the same from v0.4.5 to
/// v0.12.0), run here with `skopeo` stubbed: a `dir:` copy of two layers whose manifest lists the second file first.
struct PullerScriptTests {
    /// A puller script for `image` into `destination`, rendered for a v0.12 adapter.
    func adapterPullerScript(image: String) throws -> String {
        let workspace = """
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: phi-4
            resource:
              instanceType: Standard_NC24ads_A100_v4
              labelSelector:
                matchLabels:
                  apps: phi-4
            inference:
              preset:
                name: phi-4-mini-instruct
              adapters:
                - source:
                    name: style
                    image: \(image)

            """
        let objects = try renderObjects(["phi-4.yaml": workspace], target: "head")
        let pod = try #require(objects["StatefulSet/phi-4"]?["spec"]?["template"]?["spec"])
        let puller = try #require(pod["initContainers"]?.sequence?.first { $0["name"]?.scalar == "puller-style" })
        return try #require(puller["args"]?.sequence?.first?.scalar)
    }

    /// `skopeo` stub: `copy` writes two layers (`aaa` holds `data/x` = "first", `bbb` overwrites it with
    /// "second") and logs its arguments; `inspect` lists the layers in manifest order, `bbb` then `aaa`, unless
    /// `order` says otherwise.
    func skopeoStub(_ dir: URL, order: String = "bbb aaa", failWithoutAuth: Bool = false) -> String {
        """
        #!/bin/sh
        echo "skopeo $*" >> "\(dir.path)/log"
        if [ "$1" = copy ]; then
          \(failWithoutAuth ? "case \"$*\" in *--authfile=*) ;; *) exit 1 ;; esac" : ":")
          for last; do :; done
          out="${last#dir:}"
          mkdir -p "$out" "\(dir.path)/src/a/data" "\(dir.path)/src/b/data"
          echo first > "\(dir.path)/src/a/data/x"
          echo second > "\(dir.path)/src/b/data/x"
          tar c -f "$out/aaa" -C "\(dir.path)/src/a" data
          tar c -f "$out/bbb" -C "\(dir.path)/src/b" data
          echo garbage > "$out/ccc"
        else
          printf '%s ' \(order)
        fi

        """
    }

    @Test func extractsTheLayersInManifestOrderAndMovesData() throws {
        let script = try adapterPullerScript(image: "myregistry.azurecr.io/adapters/style:1")
        #expect(script.hasPrefix("set -ex\n"))
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("adapter/style")
        try FileManager.default.createDirectory(
            at: target.deletingLastPathComponent(),
            withIntermediateDirectories: true
        )
        let body = script.replacingOccurrences(of: "/mnt/adapter", with: dir.appendingPathComponent("adapter").path)
        #expect(try runScript(body, stubs: ["skopeo": skopeoStub(dir)], in: dir) == 0)
        // `aaa` comes last in the manifest, so its file wins; `data` itself became the destination.
        let text = try String(contentsOf: target.appendingPathComponent("x"), encoding: .utf8)
        #expect(text == "first\n")
        let log = try String(contentsOf: dir.appendingPathComponent("log"), encoding: .utf8)
        #expect(log.contains("skopeo copy --dest-decompress docker://myregistry.azurecr.io/adapters/style:1 dir:"))
    }

    @Test func failsOnABadLayer() throws {
        let script = try adapterPullerScript(image: "myregistry.azurecr.io/adapters/style:1")
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let body = script.replacingOccurrences(of: "/mnt/adapter", with: dir.appendingPathComponent("adapter").path)
        #expect(try runScript(body, stubs: ["skopeo": skopeoStub(dir, order: "aaa ccc")], in: dir) != 0)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("adapter/style").path))
    }

    /// Each file under `$HOME/.docker/config.d` is tried as `--authfile` after an anonymous pull fails; none
    /// working fails the script.
    @Test func triesEachAuthFileAndFailsWhenNoneWorks() throws {
        let script = try adapterPullerScript(image: "myregistry.azurecr.io/adapters/style:1")
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let body = script.replacingOccurrences(of: "/mnt/adapter", with: dir.appendingPathComponent("adapter").path)
        let stub = skopeoStub(dir, failWithoutAuth: true)
        #expect(try runScript(body, stubs: ["skopeo": stub], in: dir) != 0)
        let auth = dir.appendingPathComponent("home/.docker/config.d/style-inference-adapter")
        try FileManager.default.createDirectory(at: auth, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: auth.appendingPathComponent("pull.json"))
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("adapter"),
            withIntermediateDirectories: true
        )
        #expect(try runScript(body, stubs: ["skopeo": stub], in: dir) == 0)
        let log = try String(contentsOf: dir.appendingPathComponent("log"), encoding: .utf8)
        #expect(log.contains("--authfile=\(auth.path)/pull.json"))
    }

    /// `renderPullerSH` normalises the reference with `reference.ParseDockerRef` (`pkg/workspace/image/puller.go`).
    @Test func normalisesTheReference() throws {
        #expect(try adapterPullerScript(image: "style").contains("docker://docker.io/library/style:latest"))
        #expect(try adapterPullerScript(image: "kaito/style:1").contains("docker://docker.io/kaito/style:1"))
        let digest = "sha256:" + String(repeating: "a", count: 64)
        #expect(
            try adapterPullerScript(image: "localhost:5000/style:1@\(digest)")
                .contains("docker://localhost:5000/style@\(digest)")
        )
    }
}

/// Issue 13: the inference pod's details that changed between releases, each checked at its tag in upstream's
/// source (`ReleaseShape`; `Fixtures/render/legacy-machine-era/README.md`).
struct InferencePodShapeTests {
    /// The boundaries: `/healthz` probes up to v0.3.2 (`ProbePath`, `pkg/inference/preset-inferences.go`); the
    /// Deployment strategy, the revision annotation and the instance type's GPU count from v0.3.1; the `http` port
    /// name and the KV-cache events port and flag from v0.12.0 (`containerPorts`, `vllmKVEventsContainerPort`,
    /// kaito-project/kaito#1890).
    @Test func eraBoundaries() {
        let v030 = ReleaseShape(KaitoVersion(0, 3, 0))
        let v031 = ReleaseShape(KaitoVersion(0, 3, 1))
        #expect(ReleaseShape(KaitoVersion(0, 3, 2)).probePath == "/healthz")
        #expect(ReleaseShape(KaitoVersion(0, 4, 0)).probePath == "/health")
        #expect(ReleaseShape(KaitoVersion(0, 3, 2)).transformersInferenceFile == "inference_api.py")
        #expect(ReleaseShape(KaitoVersion(0, 4, 0)).transformersInferenceFile == "/workspace/tfs/inference_api.py")
        #expect(!v030.deploymentRollingUpdate && v031.deploymentRollingUpdate)
        #expect(!v030.revisionAnnotation && v031.revisionAnnotation)
        #expect(v030.inferenceGPUsFromPreset && !v031.inferenceGPUsFromPreset)
        #expect(!ReleaseShape(KaitoVersion(0, 11, 0)).namedInferencePort)
        #expect(ReleaseShape(KaitoVersion(0, 12, 0)).namedInferencePort)
        #expect(!ReleaseShape(KaitoVersion(0, 11, 0)).kvEventsPort)
        #expect(ReleaseShape(KaitoVersion(0, 12, 0)).kvEventsPort)
        // kaito-project/kaito#950 (in v0.4.5, not v0.4.4) adds `NewPullerContainer`; `SetAdapterPuller` gives the
        // puller only `adapter-volume` from v0.6.0; `GenerateStatefulSetManifest` takes the revision and the pullers
        // from v0.5.0.
        #expect(!ReleaseShape(KaitoVersion(0, 4, 4)).imagePuller)
        #expect(ReleaseShape(KaitoVersion(0, 4, 5)).imagePuller)
        #expect(ReleaseShape(KaitoVersion(0, 5, 1)).adapterInitContainersMountWorkload)
        #expect(!ReleaseShape(KaitoVersion(0, 6, 0)).adapterInitContainersMountWorkload)
        #expect(!ReleaseShape(KaitoVersion(0, 4, 6)).statefulSetRevisionAndAdapterPullers)
        #expect(ReleaseShape(KaitoVersion(0, 5, 0)).statefulSetRevisionAndAdapterPullers)
    }

    /// One adapter `style` (strength 0.5, pull secret `pull`) on a v1alpha1 preset workspace.
    func adapterWorkspace(preset: String, instanceType: String, secrets: Bool = true) -> String {
        """
        apiVersion: kaito.sh/v1alpha1
        kind: Workspace
        metadata:
          name: ws
        resource:
          instanceType: \(instanceType)
          labelSelector:
            matchLabels:
              apps: ws
        inference:
          preset:
            name: \(preset)
          adapters:
            - source:
                name: style
                image: myregistry.azurecr.io/adapters/style:1
        \(secrets ? "        imagePullSecrets: [pull]\n" : "")      strength: "0.5"

        """
    }

    /// v0.3.0 (`GenerateDeploymentManifest` in `pkg/resources/manifests.go`; the same `GenerateInitContainers` in
    /// `pkg/workspace/manifests/manifests.go` up to v0.4.4): the adapter's own image, named after the adapter,
    /// copies `/data` with every mount of the inference container; its secret is only the pod's `imagePullSecrets`.
    @Test func adapterImageCopiesItsDataBeforeV045() throws {
        let workspace = adapterWorkspace(preset: "phi-3-mini-4k-instruct", instanceType: "Standard_NC12s_v3")
        let objects = try renderObjects(["ws.yaml": workspace], target: "v030")
        let pod = try #require(objects["Deployment/ws"]?["spec"]?["template"]?["spec"])
        let main = try #require(pod["containers"]?.sequence?.first)
        let initContainer = try #require(pod["initContainers"]?.sequence?.first)
        #expect(names(pod["initContainers"]) == ["style"])
        #expect(initContainer["image"]?.scalar == "myregistry.azurecr.io/adapters/style:1")
        #expect(
            initContainer["command"]?.sequence?.compactMap(\.scalar) == [
                "/bin/sh", "-c", "mkdir -p /mnt/adapter/style && cp -r /data/* /mnt/adapter/style",
            ]
        )
        #expect(initContainer["args"] == nil)
        #expect(initContainer["imagePullPolicy"]?.scalar == "Always")
        #expect(names(initContainer["volumeMounts"]) == names(main["volumeMounts"]))
        #expect(names(main["volumeMounts"]) == ["adapter-volume"])
        #expect(names(pod["volumes"]) == ["adapter-volume"])
        #expect(names(pod["imagePullSecrets"]) == ["pull"])
        #expect(names(main["env"]) == ["style"])
    }

    /// The adapter puller's mounts at v0.4.6 and v0.12.0.
    ///
    /// v0.4.6 `GeneratePullerContainers` (`pkg/workspace/manifests/manifests.go`, v0.4.5 to v0.5.1): the skopeo
    /// puller mounts the inference container's mounts, then `docker-config-style-inference-adapter`, which exists
    /// (a projection of nothing) even without pull secrets. v0.12.0 `GeneratePullerContainers` and
    /// `SetAdapterPuller`: `adapter-volume` only, no secret volume without secrets.
    @Test func adapterPullerMountsPerEra() throws {
        for secrets in [true, false] {
            let classic = adapterWorkspace(
                preset: "phi-3-mini-128k-instruct",
                instanceType: "Standard_NC6s_v3",
                secrets: secrets
            )
            let objects = try renderObjects(["ws.yaml": classic], target: "classic")
            let pod = try #require(objects["Deployment/ws"]?["spec"]?["template"]?["spec"])
            let puller = try #require(pod["initContainers"]?.sequence?.first)
            #expect(puller["name"]?.scalar == "puller-style")
            #expect(puller["image"]?.scalar == "quay.io/skopeo/stable:v1.18.0-immutable")
            #expect(
                names(puller["volumeMounts"]) == [
                    "config-volume", "dshm", "adapter-volume", "docker-config-style-inference-adapter",
                ]
            )
            #expect(
                names(pod["volumes"]) == [
                    "config-volume", "dshm", "adapter-volume", "docker-config-style-inference-adapter",
                ]
            )
            let sources = pod["volumes"]?.sequence?.last?["projected"]?["sources"]?.sequence
            #expect(sources?.count == (secrets ? 1 : 0))

            let head = classic.replacingOccurrences(of: "Standard_NC6s_v3", with: "Standard_NC24ads_A100_v4")
                .replacingOccurrences(of: "phi-3-mini-128k-instruct", with: "phi-4-mini-instruct")
                .replacingOccurrences(of: "v1alpha1", with: "v1beta1")
                .replacingOccurrences(of: "      strength: \"0.5\"\n", with: "")
            let headObjects = try renderObjects(["ws.yaml": head], target: "head")
            let headPod = try #require(headObjects["StatefulSet/ws"]?["spec"]?["template"]?["spec"])
            let headPuller = try #require(headPod["initContainers"]?.sequence?.last)
            let secretVolume = secrets ? ["docker-config-style-inference-adapter"] : []
            #expect(names(headPuller["volumeMounts"]) == ["adapter-volume"] + secretVolume)
            #expect(names(headPod["volumes"]).suffix(secretVolume.count + 1) == ["adapter-volume"] + secretVolume)
        }
    }

    /// Until v0.4.6 a StatefulSet (a distributed preset) gets `adapter-volume` but neither init containers nor the
    /// strength variable (`CreatePresetInference` passes them only to `GenerateDeploymentManifest`), and no
    /// revision annotation (`GenerateStatefulSetManifest` takes `revisionNum` from v0.5.0).
    @Test func statefulSetsGetNoAdapterPullersBeforeV05() throws {
        let workspace = adapterWorkspace(preset: "llama-2-13b", instanceType: "Standard_NC12s_v3")
            .replacingOccurrences(
                of: "    name: llama-2-13b\n",
                with: """
                        name: llama-2-13b
                        accessMode: private
                        presetOptions:
                          image: myregistry.azurecr.io/llama-2-13b:1

                    """
            )
        let objects = try renderObjects(["ws.yaml": workspace], target: "v030")
        let statefulSet = try #require(objects["StatefulSet/ws"])
        let pod = try #require(statefulSet["spec"]?["template"]?["spec"])
        let main = try #require(pod["containers"]?.sequence?.first)
        #expect(pod["initContainers"] == nil)
        #expect(names(main["env"]).isEmpty)
        #expect(names(main["volumeMounts"]).contains("adapter-volume"))
        #expect(statefulSet["metadata"]?["annotations"]?["workspace.kaito.io/revision"] == nil)
    }

    /// v0.3.0 on two V100s per node: `GPUCountRequirement` "1" of phi-3-mini-4k (`phi3/model.go`), `/healthz`, no
    /// strategy, no revision annotation, an unnamed port.
    @Test func v030Deployment() throws {
        let workspace = """
            apiVersion: kaito.sh/v1alpha1
            kind: Workspace
            metadata:
              name: phi-3
            resource:
              instanceType: Standard_NC12s_v3
              labelSelector:
                matchLabels:
                  apps: phi-3
            inference:
              preset:
                name: phi-3-mini-4k-instruct

            """
        let objects = try renderObjects(["phi-3.yaml": workspace], target: "v030")
        let deployment = try #require(objects["Deployment/phi-3"])
        #expect(deployment["spec"]?["strategy"] == nil)
        #expect(deployment["metadata"]?["annotations"]?["workspace.kaito.io/revision"] == nil)
        let container = try #require(deployment["spec"]?["template"]?["spec"]?["containers"]?.sequence?.first)
        #expect(container["resources"]?["limits"]?["nvidia.com/gpu"]?.scalar == "1")
        #expect(container["livenessProbe"]?["httpGet"]?["path"]?.scalar == "/healthz")
        #expect(container["readinessProbe"]?["httpGet"]?["path"]?.scalar == "/healthz")
        let command = container["command"]?.sequence?.last?.scalar ?? ""
        #expect(command.contains(" inference_api.py ") && !command.contains("/workspace/tfs/inference_api.py"))
        let port = try #require(container["ports"]?.sequence?.first)
        #expect(port["containerPort"]?.scalar == "5000" && port["name"] == nil)
    }

    /// KV-cache events and the port name start at v0.12.0.
    ///
    /// vLLM on v0.11.0 has no KV-cache events (neither flag, port nor Service port) and an unnamed port; v0.12.0 has
    /// all three and names the port `http`.
    @Test func kvEventsAndThePortNameStartAtV012() throws {
        let workspace = presetWorkspace(
            "phi-4",
            preset: "phi-4-mini-instruct",
            instanceType: "Standard_NC24ads_A100_v4"
        )
        for (target, v012) in [("v011-gateway", false), ("head", true)] {
            let objects = try renderObjects(["phi-4.yaml": workspace], target: target)
            let flags = try vllmFlags(objects, workload: "StatefulSet/phi-4")
            #expect((flags["kv-events-config"] != nil) == v012, "\(target)")
            let pod = try #require(objects["StatefulSet/phi-4"]?["spec"]?["template"]?["spec"])
            let ports = try #require(pod["containers"]?.sequence?.first?["ports"]?.sequence)
            #expect(ports.map { $0["name"]?.scalar } == (v012 ? ["http", "kv-events"] : [nil]), "\(target)")
            let service = try #require(objects["Service/phi-4"])
            let servicePorts = service["spec"]?["ports"]?.sequence?.compactMap { $0["name"]?.scalar } ?? []
            #expect(servicePorts.contains("kv-events") == v012, "\(target)")
        }
    }

    /// `NewPullerContainer` (`pkg/workspace/image/puller.go`, v0.4.5 to v0.12.0): `[/bin/sh, -c]` and the script as
    /// the one argument; the main container mounts the user's config before the weights, shared memory, then the
    /// adapters (`GenerateInferencePodSpec`, `SetAdapterPuller`, v0.10.0 and v0.12.0).
    @Test func pullerAndMountOrder() throws {
        let workspace = """
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: phi-4
            resource:
              instanceType: Standard_NC24ads_A100_v4
              labelSelector:
                matchLabels:
                  apps: phi-4
            inference:
              preset:
                name: phi-4-mini-instruct
              config: phi-4-config
              adapters:
                - source:
                    name: style
                    image: myregistry.azurecr.io/adapters/style:1
                    imagePullSecrets: [pull]

            """
        let config = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: phi-4-config
            data:
              inference_config.yaml: |
                vllm:
                  max-model-len: 4096

            """
        let objects = try renderObjects(["phi-4.yaml": workspace, "config.yaml": config], target: "head")
        let pod = try #require(objects["StatefulSet/phi-4"]?["spec"]?["template"]?["spec"])
        let puller = try #require(pod["initContainers"]?.sequence?.first { $0["name"]?.scalar == "puller-style" })
        #expect(puller["command"]?.sequence?.compactMap(\.scalar) == ["/bin/sh", "-c"])
        #expect(puller["args"]?.sequence?.count == 1)
        #expect(puller["args"]?.sequence?.first?.scalar?.contains("myregistry.azurecr.io/adapters/style:1") == true)
        #expect(names(puller["volumeMounts"]).first == "adapter-volume")
        let main = try #require(pod["containers"]?.sequence?.first)
        #expect(names(main["volumeMounts"]) == ["config-volume", "model-weights-volume", "dshm", "adapter-volume"])
    }
}
