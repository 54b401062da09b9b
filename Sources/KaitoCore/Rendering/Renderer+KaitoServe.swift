internal import YAML

extension RenderContext {
    /// Whether the workspace runs on a CPU-only node.
    var onCPUNode: Bool { plan.instanceType?.isCPUOnly == true }

    /// The weights folder of the main container: `--model` of kaito-serve.
    static let kaitoServeWeights = "/workspace/weights"

    /// The kaito-serve workload (issue 6): the same StatefulSet or Deployment shape, Service, node objects and
    /// adapter contract as Kaito's preset workloads (4.3, 4.7, 4.14), running `kaito-serve` on CPU cores and memory.
    ///
    /// The weights reach `/workspace/weights` through an init container: it copies the Hugging Face folder out of
    /// the preset's image (`kaitoServe.weightsPath`), or downloads it from Hugging Face with the base image's
    /// `huggingface-cli` for presets whose weights are downloaded at run time (all of them from Kaito v0.11).
    func kaitoServeWorkload() -> RenderedObject {
        let preset = plan.preset
        let serve = preset?.kaitoServe
        let weightsMount = M.labels([("name", "model-weights-volume"), ("mountPath", Self.kaitoServeWeights)])
        let adapterParts = adapterParts(workloadMounts: [weightsMount])
        var env: [Node] = []
        env += adapterParts.env

        var args = [
            "--model=\(Self.kaitoServeWeights)", "--port=5000",
            "--served-model-name=\(preset?.servedModelName ?? name)",
        ]
        if let cores = plan.instanceType?.kaitoServeCores { args.append("--threads=\(cores)") }
        if let serve { args.append("--max-model-len=\(serve.maxModelLength)") }
        if !adapters.isEmpty { args.append("--adapters-dir=/mnt/adapter") }
        let quantization = annotations[KaitoServeQuantization.annotation].flatMap(KaitoServeQuantization.init)
        if let quantization { args.append("--quantization=\(quantization.rawValue)") }

        var resources: Node?
        if let cores = plan.instanceType?.kaitoServeCores, let memory = plan.instanceType?.kaitoServeMemory {
            // Requests what the model needs (docs/kaito-serve.md, memory model); the limit is the node's share.
            var request = memory
            if let serve {
                let needed = serve.memoryBytes(fileSize: preset?.modelFileSize, quantization: quantization)
                let gibibytes = (needed / 1_073_741_824).rounded(.up)
                if gibibytes < memory.gibibytes { request = Quantity(gibibytes: gibibytes) }
            }
            resources = M.map([
                ("requests", M.labels([("cpu", String(cores)), ("memory", request.text)])),
                ("limits", M.labels([("memory", memory.text)])),
            ])
        }
        let container = M.map(
            [
                ("name", M.str(name)),
                ("image", M.str(target.kaitoServeImage)),
                ("command", M.strings(["kaito-serve"])),
                ("args", M.strings(args)),
                (
                    "ports",
                    M.list([
                        M.map([("name", M.str("http")), ("containerPort", M.int(5000)), ("protocol", M.str("TCP"))])
                    ])
                ),
                ("env", env.isEmpty ? nil : M.list(env)),
                ("resources", resources),
                (
                    "startupProbe",
                    httpProbe(path: "/health", initialDelay: 0, period: 10, failureThreshold: startupFailureThreshold)
                ),
                ("livenessProbe", httpProbe(path: "/health", initialDelay: 0, period: 10, failureThreshold: 3)),
                ("readinessProbe", httpProbe(path: "/health", initialDelay: 30, period: 10, failureThreshold: nil)),
                (
                    "volumeMounts",
                    M.list([weightsMount] + adapterParts.mounts)
                ),
            ]
        )
        var weightsVolume = [("name", M.str("model-weights-volume"))]
        if let size = preset?.modelFileSize {
            // The checkpoint as stored (F16/BF16 usually), with 10 % to spare.
            let limit = Quantity(gibibytes: (size.gibibytes * 1.1).rounded(.up))
            weightsVolume.append(("emptyDir", M.map([("sizeLimit", M.str(limit.text))])))
        } else {
            weightsVolume.append(("emptyDir", M.map([])))
        }
        let podSpec = M.map([
            ("affinity", nodeAffinity(pins: shape.provisionerNodePins)),
            ("tolerations", cpuTolerations),
            (
                "imagePullSecrets",
                adapterPullSecrets.isEmpty ? nil : M.list(adapterPullSecrets.map { M.labels([("name", $0)]) })
            ),
            ("initContainers", M.list([weightsContainer()] + adapterParts.initContainers)),
            ("containers", M.list([container])),
            ("volumes", M.list([M.map(weightsVolume)] + adapterParts.volumes)),
        ])
        return workloadObject(podSpec: podSpec, volumeClaim: nil)
    }

    /// The init container that fills `/workspace/weights` with the model's Hugging Face folder.
    func weightsContainer() -> Node {
        guard let preset = plan.preset else { return M.map([]) }
        let mounts = M.list([M.labels([("name", "model-weights-volume"), ("mountPath", Self.kaitoServeWeights)])])
        if shape.everyPresetDownloadedAtRuntime || preset.downloadAtRuntime {
            var env: [Node] = []
            if let secret = ws.inference?.preset?.presetOptions?.modelAccessSecret {
                env.append(
                    M.map([
                        ("name", M.str("HF_TOKEN")),
                        (
                            "valueFrom",
                            M.map([("secretKeyRef", M.map([("name", M.str(secret)), ("key", M.str("HF_TOKEN"))]))])
                        ),
                    ])
                )
            }
            let download =
                "huggingface-cli download \(preset.name) --local-dir \(Self.kaitoServeWeights) "
                + "--include '*.json' '*.safetensors' 'tokenizer*'"
            return M.map([
                ("name", M.str("model-weights")),
                ("image", M.str(baseImage)),
                ("command", M.strings(["/bin/sh", "-c", download])),
                ("env", env.isEmpty ? nil : M.list(env)),
                ("volumeMounts", mounts),
            ])
        }
        if let downloader = modelWeightsDownloader {
            // v0.5–v0.10: the preset's tag is an ORAS artifact of the weights, not an image to copy them out of.
            return downloader.setting("name", M.str("model-weights"))
        }
        let path = preset.kaitoServe?.weightsPath ?? "/workspace/tfs/weights"
        return M.map([
            ("name", M.str("model-weights")),
            ("image", M.str(inferenceImage)),
            ("command", M.strings(["/bin/sh", "-c", "cp -a \(path)/. \(Self.kaitoServeWeights)/"])),
            ("volumeMounts", mounts),
        ])
    }

    /// A CPU node carries the taint `sku=cpu:NoSchedule` (kept for the workspace, like Kaito's `sku=gpu`).
    var cpuTolerations: Node {
        guard onCPUNode else { return tolerations }
        return M.list([
            M.map([
                ("key", M.str("sku")), ("operator", M.str("Equal")), ("value", M.str("cpu")),
                ("effect", M.str("NoSchedule")),
            ])
        ])
    }

    /// The taint of the workspace's nodes: `sku=gpu`, or `sku=cpu` for a CPU-only instance type.
    var nodeTaints: Node {
        M.list([M.labels([("key", "sku"), ("value", onCPUNode ? "cpu" : "gpu"), ("effect", "NoSchedule")])])
    }
}
