internal import OrderedCollections
internal import YAML

extension RenderContext {
    // MARK: Commands (4.4, 4.5, 4.6)

    /// Joins `--key=value` / `--key` flags sorted by key, so the command is stable across builds.
    static func flags(_ values: [String: String?]) -> String {
        values.keys.sorted().map { key in
            if let value = values[key] ?? nil { return "--\(key)=\(value)" }
            return "--\(key)"
        }.joined(separator: " ")
    }

    /// Parses catalog parameters written `key` or `key=value`.
    static func parameters(_ list: [String]) -> [String: String?] {
        var result: [String: String?] = [:]
        for item in list {
            let parts = item.split(separator: "=", maxSplits: 1)
            result[String(parts[0])] = parts.count > 1 ? String(parts[1]) : nil
        }
        return result
    }

    var presetName: String { ws.inference?.preset?.name ?? ws.tuning?.preset?.name ?? "" }

    var multiNode: Bool { runtime == .vllm && plan.nodeCount > 1 }

    /// The vLLM flags of docs/reference/kaito.md section 4.4 (HEAD), 4.4.1 (v0.7–v0.10) or of older releases'
    /// `ModelRunParams`.
    func vllmFlags() -> [String: String?] {
        guard let preset = plan.preset, let vllm = preset.vllm else { return [:] }
        var flags = Self.parameters(vllm.extraFlags)
        if shape.headVLLMCommandLine {
            flags["load_format"] = vllm.loadFormat
            flags["config_format"] = vllm.configFormat
            flags["tokenizer_mode"] = vllm.tokenizerMode
            flags["trust-remote-code"] = .some(nil)
            if shape.kvEventsPort { flags["kv-events-config"] = "'{\"enable_kv_cache_events\":true}'" }
            flags["compilation-config.pass_config.fuse_allreduce_rms"] = "False"
            flags["model"] = presetName.contains("/") ? presetName.lowercased() : preset.name.lowercased()
            flags["download-dir"] = "/workspace/weights"
        } else {
            // Before the HEAD defaults, a format is passed only where the preset's `ModelRunParams` names one (the
            // Ministral 3 presets of v0.10.0, `mistral3RunParamsVLLM` in `presets/workspace/models/mistral/model.go`).
            let formats = [
                ("load_format", vllm.loadFormat), ("config_format", vllm.configFormat),
                ("tokenizer_mode", vllm.tokenizerMode),
            ]
            for (key, value) in formats where value != "auto" { flags[key] = value }
        }
        if let dtype = vllm.dtype { flags["dtype"] = dtype }
        if shape.float16WithoutBFloat16, let sku = plan.instanceType, !sku.supportsBFloat16 {
            flags["dtype"] = "float16"
        }
        if let parser = vllm.toolCallParser {
            flags["tool-call-parser"] = parser
            flags["enable-auto-tool-choice"] = .some(nil)
        }
        if let parser = vllm.reasoningParser { flags["reasoning-parser"] = parser }
        if let template = vllm.chatTemplate { flags["chat-template"] = "/workspace/chat_templates/\(template)" }
        flags["served-model-name"] = preset.servedModelName
        switch shape.maxModelLength {
        case .unset: break
        case .computed:
            if let length = computedMaxModelLength { flags["max-model-len"] = String(length) }
        case .auto: flags["max-model-len"] = "auto"
        }
        flags["gpu-memory-utilization"] = gpuMemoryUtilization
        if !adapters.isEmpty { flags["enable-lora"] = .some(nil) }
        if inferenceConfigMapName != nil {
            flags["kaito-config-file"] = "/mnt/config/inference_config.yaml"
        }
        if let mode = annotations["kaito.sh/performance-mode"], mode != "balanced" { flags["performance-mode"] = mode }
        var disableOffload = shape.headVLLMCommandLine && (vllm.disableKVCacheOffload || plan.instanceType?.mig == true)
        // `DisableTensorParallelism` presets get no parallelism flags at all (`configureParallelism`, v0.10.0;
        // `buildVLLMInferenceCommand` leaves out `--tensor-parallel-size` at v0.4.6).
        if !vllm.disableTensorParallelism {
            let layout = ParallelLayout.vllm(
                gpusPerNode: gpuCount,
                nodes: multiNode ? plan.nodeCount : 1,
                modelSizeGiB: preset.modelFileSize?.gibibytes ?? 0,
                nodeGPUMemoryGiB: plan.instanceType?.gpuMemory.gibibytes ?? 0,
                dataParallel: shape.vllmDataParallel
            )
            flags["tensor-parallel-size"] = String(layout.tensor)
            if layout.pipeline > 1 {
                flags["pipeline-parallel-size"] = String(layout.pipeline)
                flags["distributed-executor-backend"] = "ray"
                disableOffload = disableOffload || shape.multiNodeDisablesKVCacheOffload
            } else if layout.data > 1 {
                flags["data-parallel-size"] = String(layout.data)
                disableOffload = true
            }
        }
        if disableOffload { flags["kaito-kv-cache-cpu-memory-utilization"] = "0" }
        return flags
    }

    /// `--max-model-len` of v0.7–v0.10 (docs/reference/kaito.md section 4.4.1), or `nil` when none is passed.
    ///
    /// `GenerateInferencePodSpec` (`pkg/workspace/inference/preset_inferences.go` at v0.10.0) starts from 2048 and,
    /// when the mounted ConfigMap's `inference_config.yaml` has content (always for the default template), replaces
    /// it with `computeMaxModelLen` (`max_model_len_strategy.go`); a result of 0 passes no flag. With `M` the node's
    /// GPU memory, `G` its GPUs, `N` the nodes, `W` the weights and `B` the KV-cache bytes per token:
    /// `(M × 0.84 / G − W × 1.02 / (N × G) − 2.3 GiB) / (B / G × N)` tokens, at most `ModelTokenLimit`, aligned down
    /// to 256; a `DisableTensorParallelism` preset keeps `W × 1.02` and `B` whole. Quantities are whole bytes (Go's
    /// `Quantity.Value()` rounds up) and the arithmetic is float64 in upstream's order.
    var computedMaxModelLength: Int? {
        guard inferenceConfigHasContent else { return 2048 }
        guard let preset = plan.preset, let sku = plan.instanceType, let limit = preset.modelTokenLimit,
            let bytesPerToken = preset.bytesPerToken, limit > 0, bytesPerToken > 0, sku.gpuCount > 0,
            sku.gpuMemory.value > 0, plan.nodeCount > 0,
            let weights = preset.modelFileSize?.value.rounded(.up), weights > 0
        else { return nil }
        let gib = 1_073_741_824.0
        let gpus = Double(sku.gpuCount)
        let nodes = Double(plan.nodeCount)
        let whole = preset.vllm?.disableTensorParallelism == true
        let usablePerGPU = (sku.gpuMemory.value.rounded(.up) / gib * 0.84) / gpus
        let weightsPerGPU = whole ? weights / gib * 1.02 : (weights / gib * 1.02) / (nodes * gpus)
        let available = (usablePerGPU - weightsPerGPU - 2.3) * gib
        let perToken = whole ? Double(bytesPerToken) : Double(bytesPerToken) / gpus * nodes
        guard available > 0 else { return nil }
        let candidate = Int(available / perToken)
        guard candidate > 0 else { return nil }
        return min(candidate, limit) / 256 * 256
    }

    /// Whether the ConfigMap mounted at `/mnt/config` has a non-empty `inference_config.yaml`: the default template
    /// does; a ConfigMap the repository does not hold is taken to (the webhook requires the key).
    var inferenceConfigHasContent: Bool {
        guard let name = ws.inference?.config, !name.isEmpty,
            let configMap = configMaps.find(namespace: namespace, name: name)
        else { return true }
        return !(configMap.data["inference_config.yaml"] ?? "").isEmpty
    }

    /// `--gpu-memory-utilization`: 0.84 from v0.7 (0.82 on A10 from v0.12); before, `floor((1 − 1.5 GiB / per-GPU
    /// memory) × 100) / 100`, at most 0.95 (docs/reference/kaito.md section 2.7, 4.4).
    var gpuMemoryUtilization: String {
        if shape.lowerA10GPUMemoryUtilization, plan.instanceType?.gpuModel == "NVIDIA A10" { return "0.82" }
        if shape.fixedGPUMemoryUtilization { return "0.84" }
        guard let sku = plan.instanceType, sku.gpuCount > 0 else { return "0.90" }
        let perGPU = sku.gpuMemory.gibibytes / Double(sku.gpuCount)
        guard perGPU > 1.5 else { return "0.90" }
        let utilization = min(((1 - 1.5 / perGPU) * 100).rounded(.down) / 100, 0.95)
        return Quantity.formatFixed(utilization, decimals: 2)
    }

    /// Kaito v0.4–v0.7 copied `inference-params-template` into the namespace when `inference.config` was empty and
    /// always mounted a config volume (docs/reference/kaito.md section 4.8).
    var copiesDefaultInferenceConfig: Bool {
        shape.copiesDefaultInferenceConfig && ws.inference?.template == nil
            && (ws.inference?.config ?? "").isEmpty
    }

    /// The ConfigMap mounted at `/mnt/config`, if any.
    var inferenceConfigMapName: String? {
        if let config = ws.inference?.config, !config.isEmpty { return config }
        return copiesDefaultInferenceConfig ? "inference-params-template" : nil
    }

    /// The `inference-params-template` ConfigMap of the release (docs/reference/kaito.md section 4.8).
    func defaultInferenceConfigMap() -> RenderedObject {
        let body = M.map([
            ("apiVersion", M.str("v1")),
            ("kind", M.str("ConfigMap")),
            ("metadata", metadata(name: "inference-params-template")),
            (
                "data",
                M.map([
                    (
                        "inference_config.yaml",
                        M.str(shape.defaultInferenceConfig)
                    )
                ])
            ),
        ])
        return object("v1", "ConfigMap", name: "inference-params-template", body: body)
    }

    var headlessHost: String { "\(name)-0.\(name)-headless.\(namespace).svc.cluster.local" }

    func vllmCommand() -> String {
        let serve = "python3 /workspace/vllm/inference_api.py " + Self.flags(vllmFlags())
        guard multiNode else { return serve }
        return
            "if [ \"${POD_INDEX}\" = \"0\" ]; then /workspace/vllm/multi-node-serving.sh leader --ray_cluster_size=\(plan.nodeCount) --ray_port=6379; \(serve); else /workspace/vllm/multi-node-serving.sh worker --ray_address=\(headlessHost) --ray_port=6379; fi"
    }

    func transformersCommand() -> String {
        guard let preset = plan.preset else { return "" }
        var flags = Self.parameters(preset.transformers?.runParams ?? [])
        if shape.everyPresetDownloadedAtRuntime {
            flags["served_model_name"] = preset.servedModelName
            flags["pretrained_model_name_or_path"] = preset.name
            flags["allow_remote_files"] = .some(nil)
        } else if preset.downloadAtRuntime {
            flags["pretrained_model_name_or_path"] = preset.name
        }
        return
            "accelerate launch --gpu_ids=all --machine_rank=0 --num_machines=1 --num_processes=1 "
            + shape.transformersInferenceFile + " " + Self.flags(flags)
    }

    /// The main container image: the preset image with its weights inside until v0.4, the base image after
    /// (``ReleaseShape/presetImagesCarryWeights``).
    var inferenceImage: String {
        guard let preset = plan.preset else { return baseImage }
        if !shape.presetImagesCarryWeights || preset.downloadAtRuntime { return baseImage }
        return "\(registry)/kaito-\(preset.name):\(preset.tag ?? "latest")"
    }

    /// The `model-weights-downloader` init container that pulls a preset's ORAS weights artifact
    /// `<registry>/kaito-<preset>:<tag>` into `/workspace/weights` (`GenerateModelPullerContainer` in
    /// `pkg/workspace/manifests/manifests.go` at v0.10.0), or `nil` where the release runs preset images with the
    /// weights inside, or the preset's weights are downloaded by the runtime.
    var modelWeightsDownloader: Node? {
        guard let preset = plan.preset, let tag = preset.tag, !shape.presetImagesCarryWeights,
            !shape.everyPresetDownloadedAtRuntime, !preset.downloadAtRuntime
        else { return nil }
        return M.map([
            ("name", M.str("model-weights-downloader")),
            ("image", M.str(shape.weightsDownloaderImage)),
            (
                "command",
                M.strings([
                    "oras", "pull", "\(registry)/kaito-\(preset.servedModelName):\(tag)", "-o", "/workspace/weights",
                ])
            ),
            (
                "volumeMounts",
                M.list([M.labels([("name", "model-weights-volume"), ("mountPath", "/workspace/weights")])])
            ),
        ])
    }

    // MARK: Probes

    func httpProbe(
        path: String? = nil,
        initialDelay: Int,
        period: Int,
        failureThreshold: Int?,
        timeout: Int? = nil
    ) -> Node {
        M.map([
            ("httpGet", M.map([("path", M.str(path ?? shape.probePath)), ("port", M.int(5000))])),
            ("initialDelaySeconds", M.int(initialDelay)),
            ("periodSeconds", M.int(period)),
            ("timeoutSeconds", timeout.map(M.int)),
            ("failureThreshold", failureThreshold.map(M.int)),
        ])
    }

    func execProbe(_ command: [String], initialDelay: Int, period: Int, timeout: Int, failureThreshold: Int) -> Node {
        M.map([
            ("exec", M.map([("command", M.strings(command))])),
            ("initialDelaySeconds", M.int(initialDelay)),
            ("periodSeconds", M.int(period)),
            ("timeoutSeconds", M.int(timeout)),
            ("failureThreshold", M.int(failureThreshold)),
        ])
    }

    /// `ceil(ReadinessTimeout / 10 s)` (`buildStartupProbe` in `preset_inferences.go`).
    var startupFailureThreshold: Int {
        var seconds = (plan.preset?.readinessTimeoutMinutes ?? 30) * 60
        if shape.readinessTimeoutFromModelSize, let size = plan.preset?.modelFileSize {
            // `readinessTimeoutForModelSize`: whole bytes (`Quantity.Value()` rounds up), a duration in whole
            // nanoseconds, clamped to [30, 180] min.
            let gibibytes = size.value.rounded(.up) / 1_073_741_824
            let nanoseconds = 900e9 + (gibibytes * 18e9).rounded(.towardZero)
            seconds = min(max(nanoseconds, 1800e9), 10800e9) / 1e9
        }
        return Int((seconds / 10).rounded(.up))
    }

    var benchmarkEnabled: Bool {
        guard runtime == .vllm else { return false }
        switch shape.benchmark {
        case .off: return false
        case .optIn: return annotations["kaito.sh/run-benchmark"] == "true"
        case .optOut: return annotations["kaito.sh/disable-benchmark"] != "true"
        }
    }

    func probes() -> [(String, Node?)] {
        if !shape.startupProbe {
            // v0.4–v0.7 Deployment probes (4.14): liveness after 600 s, readiness after 30 s, no startup probe.
            return [
                ("livenessProbe", httpProbe(initialDelay: 600, period: 10, failureThreshold: nil)),
                ("readinessProbe", httpProbe(initialDelay: 30, period: 10, failureThreshold: nil)),
            ]
        }
        if multiNode {
            let check = "python3 /workspace/vllm/multi-node-health-check.py"
            let leader = "--leader-address=\(headlessHost)"
            let startup: Node =
                benchmarkEnabled
                ? execProbe(
                    [
                        "/bin/sh", "-c",
                        "if [ \"$POD_INDEX\" = \"0\" ]; then python3 /workspace/vllm/benchmark_entrypoint.py; else true; fi",
                    ],
                    initialDelay: 0,
                    period: 10,
                    timeout: 600,
                    failureThreshold: startupFailureThreshold
                )
                : execProbe(
                    ["/bin/sh", "-c", "\(check) readiness \(leader) --vllm-port=5000"],
                    initialDelay: 0,
                    period: 10,
                    timeout: 1,
                    failureThreshold: startupFailureThreshold
                )
            return [
                ("startupProbe", startup),
                (
                    "livenessProbe",
                    execProbe(
                        ["/bin/sh", "-c", "\(check) liveness \(leader) --ray-port=6379"],
                        initialDelay: 60,
                        period: 10,
                        timeout: 5,
                        failureThreshold: 1
                    ).setting("terminationGracePeriodSeconds", M.int(1))
                ),
                (
                    "readinessProbe",
                    execProbe(
                        ["/bin/sh", "-c", "\(check) readiness \(leader) --vllm-port=5000"],
                        initialDelay: 0,
                        period: 10,
                        timeout: 1,
                        failureThreshold: 1
                    )
                ),
            ]
        }
        let startup =
            benchmarkEnabled
            ? execProbe(
                ["python3", "/workspace/vllm/benchmark_entrypoint.py"],
                initialDelay: 0,
                period: 10,
                timeout: 600,
                failureThreshold: startupFailureThreshold
            )
            : httpProbe(initialDelay: 0, period: 10, failureThreshold: startupFailureThreshold)
        return [
            ("startupProbe", startup),
            ("livenessProbe", httpProbe(initialDelay: 0, period: 10, failureThreshold: 3)),
            ("readinessProbe", httpProbe(initialDelay: 30, period: 10, failureThreshold: nil)),
        ]
    }

    // MARK: The preset workload (4.3, 4.14)

    /// Whether model weights go to a local-NVMe PVC (4.3).
    var usesNVMeVolumeClaim: Bool {
        shape.weightsOnLocalNVMe && target.localNVMeStorageClass && plan.instanceType?.nvme == true
            && annotations["kaito.sh/use-local-weights"] != "true"
    }

    /// The preset pod's tolerations: a MIG partition also tolerates the taint `nvidia.com/mig-<profile>`
    /// (`preset_inferences.go`, v0.12).
    var presetTolerations: Node {
        guard let profile = migProfile else { return tolerations }
        let mig = M.map([
            ("key", M.str("nvidia.com/mig-\(profile)")), ("operator", M.str("Exists")), ("effect", M.str("NoSchedule")),
        ])
        return M.list((tolerations.sequence ?? []) + [mig])
    }

    func presetWorkload() -> RenderedObject {
        let preset = plan.preset
        let vllmEra = runtime == .vllm
        var env: [Node] = []
        if vllmEra, shape.headVLLMCommandLine {
            env.append(M.labels([("name", "VLLM_USE_FLASHINFER_SAMPLER"), ("value", "0")]))
            env.append(
                M.labels([("name", "VLLM_USE_DEEP_GEMM"), ("value", preset?.vllm?.deepGEMM == true ? "1" : "0")])
            )
            if preset?.vllm?.cudaToolkit == true {
                env.append(M.labels([("name", "CUDA_HOME"), ("value", "/opt/kaito/cuda/129")]))
            }
        }
        if let secret = ws.inference?.preset?.presetOptions?.modelAccessSecret {
            env.append(
                M.map([
                    ("name", M.str("HF_TOKEN")),
                    (
                        "valueFrom",
                        M.map([
                            (
                                "secretKeyRef",
                                M.map([
                                    ("name", M.str(secret)), ("key", M.str("HF_TOKEN")),
                                    ("optional", shape.optionalModelAccessSecret ? M.bool(true) : nil),
                                ])
                            )
                        ])
                    ),
                ])
            )
        }
        if multiNode {
            env.append(
                M.map([
                    ("name", M.str("POD_INDEX")),
                    (
                        "valueFrom",
                        M.map([
                            (
                                "fieldRef",
                                M.map([("fieldPath", M.str("metadata.labels['apps.kubernetes.io/pod-index']"))])
                            )
                        ])
                    ),
                ])
            )
        }

        var mounts: [Node] = []
        var volumes: [Node] = []
        // `GenerateInferencePodSpec` (`preset_inferences.go`, v0.10.0 and v0.12.0): the user's config, the model
        // weights, the CUDA toolkit (v0.12), then shared memory; adapters come last (`SetAdapterPuller`).
        if let configName = inferenceConfigMapName {
            mounts.append(M.labels([("name", "config-volume"), ("mountPath", "/mnt/config")]))
            volumes.append(
                M.map([("name", M.str("config-volume")), ("configMap", M.map([("name", M.str(configName))]))])
            )
        }
        if !shape.presetImagesCarryWeights {
            mounts.append(M.labels([("name", "model-weights-volume"), ("mountPath", "/workspace/weights")]))
            if !usesNVMeVolumeClaim {
                volumes.append(M.map([("name", M.str("model-weights-volume")), ("emptyDir", M.map([]))]))
            }
        }
        var initContainers = modelWeightsDownloader.map { [$0] } ?? []
        if preset?.vllm?.cudaToolkit == true, vllmEra, shape.headVLLMCommandLine {
            mounts.append(
                M.map([
                    ("name", M.str("cuda-toolkit-hostpath")), ("mountPath", M.str("/opt/kaito/cuda/129")),
                    ("readOnly", M.bool(true)),
                ])
            )
            volumes.append(
                M.map([
                    ("name", M.str("cuda-toolkit-hostpath")),
                    (
                        "hostPath",
                        M.map([("path", M.str("/opt/kaito/cuda/129")), ("type", M.str("DirectoryOrCreate"))])
                    ),
                ])
            )
            initContainers.insert(
                M.map([
                    ("name", M.str("cuda-toolkit-provisioner")),
                    ("image", M.str(baseImage)),
                    (
                        "command",
                        M.strings([
                            "/bin/sh", "-c", "flock \"$1\" /workspace/cuda-provision.sh \"$1\"", "sh",
                            "/opt/kaito/cuda/129",
                        ])
                    ),
                    (
                        "volumeMounts",
                        M.list([M.labels([("name", "cuda-toolkit-hostpath"), ("mountPath", "/opt/kaito/cuda/129")])])
                    ),
                ]),
                at: 0
            )
        }
        if shape.sharedMemoryAlways || plan.nodeCount > 1 {
            mounts.append(M.labels([("name", "dshm"), ("mountPath", "/dev/shm")]))
            volumes.append(M.map([("name", M.str("dshm")), ("emptyDir", M.map([("medium", M.str("Memory"))]))]))
        }
        let adapterParts = adapterParts(workloadMounts: mounts)
        mounts += adapterParts.mounts
        volumes += adapterParts.volumes
        // Until v0.4.6 only the Deployment gets the adapters' init containers and strength variables
        // (``ReleaseShape/statefulSetRevisionAndAdapterPullers``).
        if !usesStatefulSet || shape.statefulSetRevisionAndAdapterPullers {
            initContainers += adapterParts.initContainers
            env += adapterParts.env
        }

        // `protocol: TCP` is the API server's default, written out (a deliberate difference, README "kaitoc build").
        var ports = [
            M.map([
                ("name", shape.namedInferencePort ? M.str("http") : nil), ("containerPort", M.int(5000)),
                ("protocol", M.str("TCP")),
            ])
        ]
        if vllmEra, shape.kvEventsPort {
            ports.append(
                M.map([("name", M.str("kv-events")), ("containerPort", M.int(5557)), ("protocol", M.str("TCP"))])
            )
        }
        let command = vllmEra ? vllmCommand() : transformersCommand()
        let container = M.map(
            [
                ("name", M.str(name)),
                ("image", M.str(inferenceImage)),
                ("command", M.strings(["/bin/sh", "-c", command])),
                ("ports", M.list(ports)),
                ("env", env.isEmpty ? nil : M.list(env)),
                ("resources", gpuResources(count: shape.inferenceGPUsFromPreset ? presetGPUCount : gpuCount)),
            ] + probes() + [
                ("volumeMounts", M.list(mounts))
            ]
        )
        let podSpec = M.map([
            ("affinity", nodeAffinity(pins: shape.provisionerNodePins)),
            ("tolerations", presetTolerations),
            (
                "imagePullSecrets",
                adapterPullSecrets.isEmpty ? nil : M.list(adapterPullSecrets.map { M.labels([("name", $0)]) })
            ),
            ("initContainers", initContainers.isEmpty ? nil : M.list(initContainers)),
            ("containers", M.list([container])),
            ("volumes", M.list(volumes)),
        ])
        return workloadObject(podSpec: podSpec, volumeClaim: usesNVMeVolumeClaim ? nvmeClaim() : nil)
    }

    /// The StatefulSet (Kaito ≥ v0.8, distributed presets) or Deployment that runs a pod spec, one replica a node
    /// (4.3, 4.14).
    func workloadObject(podSpec: Node, volumeClaim: Node?) -> RenderedObject {
        let selector = M.labels(workloadSelector)
        let template = M.map([("metadata", M.map([("labels", selector)])), ("spec", podSpec)])
        let replicas = plan.nodeCount
        if usesStatefulSet {
            var spec: [(String, Node?)] = [
                ("replicas", M.int(replicas)),
                ("podManagementPolicy", M.str("Parallel")),
                (
                    "persistentVolumeClaimRetentionPolicy",
                    shape.pvcRetentionPolicy ? M.labels([("whenScaled", "Retain"), ("whenDeleted", "Delete")]) : nil
                ),
                ("serviceName", M.str("\(name)-headless")),
                ("selector", M.map([("matchLabels", selector)])),
                ("template", template),
            ]
            if let volumeClaim {
                spec.append(("volumeClaimTemplates", M.list([volumeClaim])))
            }
            let body = M.map([
                ("apiVersion", M.str("apps/v1")),
                ("kind", M.str("StatefulSet")),
                (
                    "metadata",
                    metadata(
                        name: name,
                        annotations: shape.statefulSetRevisionAndAdapterPullers ? revisionAnnotations : []
                    )
                ),
                ("spec", M.map(spec)),
            ])
            return object("apps/v1", "StatefulSet", name: name, body: body)
        }
        let body = M.map([
            ("apiVersion", M.str("apps/v1")),
            ("kind", M.str("Deployment")),
            ("metadata", metadata(name: name, annotations: revisionAnnotations)),
            (
                "spec",
                M.map([
                    ("replicas", M.int(replicas)),
                    (
                        "strategy",
                        shape.deploymentRollingUpdate
                            ? M.map([
                                ("type", M.str("RollingUpdate")),
                                ("rollingUpdate", M.map([("maxSurge", M.int(0)), ("maxUnavailable", M.int(1))])),
                            ]) : nil
                    ),
                    ("selector", M.map([("matchLabels", selector)])),
                    ("template", template),
                ])
            ),
        ])
        return object("apps/v1", "Deployment", name: name, body: body)
    }

    func nvmeClaim() -> Node {
        M.map([
            (
                "metadata",
                M.map([("name", M.str("model-weights-volume")), ("labels", M.labels([("kaito.sh/workspace", name)]))])
            ),
            (
                "spec",
                M.map([
                    ("accessModes", M.strings(["ReadWriteOnce"])),
                    ("storageClassName", M.str("kaito-local-nvme-disk")),
                    ("resources", M.map([("requests", M.labels([("storage", nodeStorage)]))])),
                ])
            ),
        ])
    }
}
