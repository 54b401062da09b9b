internal import OrderedCollections
internal import YAML

extension RenderContext {
    /// The default tuning ConfigMap of docs/reference/kaito.md section 4.11, as Kaito's Helm chart ships it.
    func defaultTuningConfigMap(method: String) -> RenderedObject {
        let qlora = method == "qlora"
        let quantization =
            qlora
            ? """
              QuantizationConfig:
                load_in_4bit: true
                bnb_4bit_quant_type: "nf4"
                bnb_4bit_compute_dtype: "bfloat16"
                bnb_4bit_use_double_quant: true
            """
            : """
              QuantizationConfig:
                load_in_4bit: false
            """
        let config = """
            training_config:
              ModelConfig:
                torch_dtype: "bfloat16"
                local_files_only: true
                device_map: "auto"
            \(quantization)
              LoraConfig:
                r: 8
                lora_alpha: 8
                lora_dropout: 0.0
              TrainingArguments:
                output_dir: "/mnt/results"
                ddp_find_unused_parameters: false
                save_strategy: "no"
                per_device_train_batch_size: 1
              DataCollator:
                mlm: true
              DatasetConfig:
                shuffle_dataset: true
                train_test_split: 1

            """
        let configName = qlora ? "qlora-params-template" : "lora-params-template"
        let body = M.map([
            ("apiVersion", M.str("v1")),
            ("kind", M.str("ConfigMap")),
            ("metadata", metadata(name: configName)),
            ("data", M.map([("training_config.yaml", M.str(config))])),
        ])
        return object("v1", "ConfigMap", name: configName, body: body)
    }

    /// `TrainingArguments.output_dir` of the tuning ConfigMap, resolved under `/mnt` (4.10).
    var tuningOutputDirectory: String {
        guard let configName = ws.tuning?.config, !configName.isEmpty,
            let configMap = configMaps.find(namespace: namespace, name: configName),
            let text = configMap.data["training_config.yaml"],
            let root = try? YAMLParser.parse(text).first?.root,
            let dir = root["training_config"]?["TrainingArguments"]?["output_dir"]?.scalar,
            let resolved = TuningPaths.resolveOutputDirectory(dir)
        else { return "/mnt/results" }
        return resolved
    }

    /// The data-downloader script: fetches each URL of `DATA_URLS` into `DATA_VOLUME_PATH` (our own script;
    /// behaviour of docs/reference/kaito.md section 4.10).
    static let dataDownloaderScript = """
        set -eu
        mkdir -p "$DATA_VOLUME_PATH"
        for url in $DATA_URLS; do
          file=$(basename "${url%%[?#]*}")
          ok=0
          for attempt in 1 2 3; do
            status=$(curl -sSL -w '%{http_code}' -o "$DATA_VOLUME_PATH/$file" "$url" || echo 000)
            if [ "$status" = "200" ] && [ -s "$DATA_VOLUME_PATH/$file" ]; then ok=1; break; fi
            sleep 2
          done
          if [ "$ok" != 1 ]; then echo "failed to download $url (HTTP $status)" >&2; exit 1; fi
        done
        """

    /// The pusher script: waits for the trainer, then pushes the adapter as an OCI image (our own script;
    /// behaviour of docs/reference/kaito.md section 4.10).
    static func pusherScript(resultsDirectory: String, image: String, preset: String) -> String {
        """
        set -eu
        while [ ! -f "\(resultsDirectory)/fine_tuning_completed.txt" ]; do sleep 10; done
        work=$(mktemp -d)
        mkdir -p "$work/data"
        cp "\(resultsDirectory)/adapter_config.json" "\(resultsDirectory)/adapter_model.safetensors" "$work/data/"
        cd "$work"
        oras push "\(image)" --annotation "sh.kaito.model.name=\(preset)" data
        kill -INT $(pidof pause) 2>/dev/null || true
        """
    }

    func tuningObjects() -> [RenderedObject] {
        guard let tuning = ws.tuning, let preset = plan.preset else { return [] }
        var objects: [RenderedObject] = []
        let configName: String
        if let config = tuning.config, !config.isEmpty {
            configName = config
        } else {
            // The controller compares the method case-sensitively when it picks the template (docs/reference/kaito.md section 1.2).
            let template = defaultTuningConfigMap(method: tuning.method == "qlora" ? "qlora" : "lora")
            configName = template.name
            objects.append(template)
        }
        let results = tuningOutputDirectory
        var initContainers: [Node] = []
        var volumes: [Node] = []
        var containers: [Node] = []
        let shortName = preset.servedModelName
        if let tag = preset.tag {
            initContainers.append(
                M.map([
                    ("name", M.str("model-weights-downloader")),
                    ("image", M.str("mcr.microsoft.com/oss/v2/oras-project/oras:v1.2.3")),
                    (
                        "command",
                        M.strings(["oras", "pull", "\(registry)/kaito-\(shortName):\(tag)", "-o", "/workspace/weights"])
                    ),
                    (
                        "volumeMounts",
                        M.list([M.labels([("name", "model-weights-volume"), ("mountPath", "/workspace/weights")])])
                    ),
                ])
            )
        }
        let input = tuning.input
        if let urls = input?.urls {
            initContainers.append(
                M.map([
                    ("name", M.str("data-downloader")),
                    ("image", M.str("curlimages/curl")),
                    ("command", M.strings(["sh", "-c", Self.dataDownloaderScript])),
                    (
                        "env",
                        M.list([
                            M.labels([("name", "DATA_URLS"), ("value", urls.joined(separator: " "))]),
                            M.labels([("name", "DATA_VOLUME_PATH"), ("value", "/mnt/data")]),
                        ])
                    ),
                    ("volumeMounts", M.list([M.labels([("name", "data-volume"), ("mountPath", "/mnt/data")])])),
                ])
            )
            volumes.append(M.map([("name", M.str("data-volume")), ("emptyDir", M.map([]))]))
        } else if let image = input?.image {
            let inputName = input?.name ?? "input"
            var secretVolume: String?
            var secretMount: String?
            if let secrets = input?.imagePullSecrets, !secrets.isEmpty {
                secretVolume = "docker-config-\(inputName)-tuning-input"
                secretMount = "/root/.docker/config.d/\(inputName)-tuning-input"
                volumes.append(dockerConfigVolume(secretVolume ?? "", secrets: secrets))
            }
            initContainers.append(
                pullerContainer(
                    containerName: "puller",
                    image: image,
                    destination: "/mnt/data",
                    secretVolume: secretVolume,
                    secretMount: secretMount
                )
            )
            volumes.append(M.map([("name", M.str("data-volume")), ("emptyDir", M.map([]))]))
        } else if let source = input?.volumeSource {
            volumes.append(volume("data-volume", from: source))
        }

        var env = [M.labels([("name", "PYTORCH_CUDA_ALLOC_CONF"), ("value", "expandable_segments:True")])]
        if shortName.hasPrefix("phi-3") {
            env.append(
                M.labels([
                    ("name", "DEFAULT_TARGET_MODULES"),
                    ("value", "k_proj,q_proj,v_proj,o_proj,gate_proj,down_proj,up_proj"),
                ])
            )
        }
        let command =
            "cd /workspace/tfs/ && python3 metrics_server.py & accelerate launch --num_processes=\(gpuCount) /workspace/tfs/fine_tuning.py"
        let mainMounts = [
            M.labels([("name", "dshm"), ("mountPath", "/dev/shm")]),
            M.labels([("name", "model-weights-volume"), ("mountPath", "/workspace/weights")]),
            M.labels([("name", "config-volume"), ("mountPath", "/mnt/config")]),
            M.labels([("name", "results-volume"), ("mountPath", results)]),
            M.labels([("name", "data-volume"), ("mountPath", "/mnt/data")]),
        ]
        containers.append(
            M.map([
                ("name", M.str(name)),
                ("image", M.str(baseImage)),
                ("command", M.strings(["/bin/sh", "-c", command])),
                ("ports", M.list([M.map([("containerPort", M.int(5000)), ("protocol", M.str("TCP"))])])),
                ("env", M.list(env)),
                ("resources", gpuResources),
                ("volumeMounts", M.list(mainMounts)),
            ])
        )
        volumes += [
            M.map([("name", M.str("dshm")), ("emptyDir", M.map([("medium", M.str("Memory"))]))]),
            M.map([("name", M.str("model-weights-volume")), ("emptyDir", M.map([]))]),
            M.map([("name", M.str("config-volume")), ("configMap", M.map([("name", M.str(configName))]))]),
        ]
        if let output = tuning.output, let outputSource = output.volumeSource {
            volumes.append(volume("results-volume", from: outputSource))
        } else {
            volumes.append(M.map([("name", M.str("results-volume")), ("emptyDir", M.map([]))]))
        }
        var pullSecrets: [String] = []
        if let output = tuning.output, let image = output.image {
            let secret = output.imagePushSecret ?? ""
            pullSecrets.append(secret)
            containers.append(
                M.map([
                    ("name", M.str("pusher")),
                    ("image", M.str("ghcr.io/oras-project/oras:v1.2.2")),
                    (
                        "command",
                        M.strings([
                            "/bin/sh", "-c",
                            Self.pusherScript(resultsDirectory: results, image: image, preset: presetName),
                        ])
                    ),
                    (
                        "volumeMounts",
                        M.list([
                            M.labels([("name", "docker-config"), ("mountPath", "/root/.docker")]),
                            M.labels([("name", "results-volume"), ("mountPath", results)]),
                        ])
                    ),
                ])
            )
            containers.append(
                M.map([
                    ("name", M.str("pause")),
                    ("image", M.str("registry.k8s.io/pause:latest")),
                    ("imagePullPolicy", M.str("Always")),
                ])
            )
            volumes.append(
                M.map([
                    ("name", M.str("docker-config")),
                    (
                        "secret",
                        M.map([
                            ("secretName", M.str(secret)),
                            ("items", M.list([M.labels([("key", ".dockerconfigjson"), ("path", "config.json")])])),
                        ])
                    ),
                ])
            )
        }
        var tolerations = [
            M.labels([("key", "gpu"), ("operator", "Equal"), ("effect", "NoSchedule")]),
            M.labels([("key", "sku"), ("value", "gpu"), ("effect", "NoSchedule")]),
        ]
        if target.cloudProvider == "azure" {
            tolerations.append(
                M.labels([
                    ("key", "kubernetes.azure.com/scalesetpriority"), ("operator", "Equal"), ("value", "spot"),
                    ("effect", "NoSchedule"),
                ])
            )
        }
        let podSpec = M.map([
            ("restartPolicy", M.str("Never")),
            ("shareProcessNamespace", containers.count > 1 ? M.bool(true) : nil),
            ("affinity", nodeAffinity(pins: false)),
            ("tolerations", M.list(tolerations)),
            ("imagePullSecrets", pullSecrets.isEmpty ? nil : M.list(pullSecrets.map { M.labels([("name", $0)]) })),
            ("initContainers", initContainers.isEmpty ? nil : M.list(initContainers)),
            ("containers", M.list(containers)),
            ("volumes", M.list(volumes)),
        ])
        let labels = M.labels([("kaito.sh/workspace", name)])
        let body = M.map([
            ("apiVersion", M.str("batch/v1")),
            ("kind", M.str("Job")),
            ("metadata", metadata(name: name, annotations: [revisionAnnotation])),
            ("spec", M.map([("template", M.map([("metadata", M.map([("labels", labels)])), ("spec", podSpec)]))])),
        ])
        objects.append(object("batch/v1", "Job", name: name, body: body))
        return objects
    }

    /// A pod volume named `volumeName` from a user's VolumeSource.
    func volume(_ volumeName: String, from source: Node) -> Node {
        var result = M.map([("name", M.str(volumeName))])
        for pair in source.mapping ?? [] {
            if let key = pair.key.scalar { result = result.setting(key, pair.value) }
        }
        return result
    }
}
