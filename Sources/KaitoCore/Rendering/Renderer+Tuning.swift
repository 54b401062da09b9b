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
                save_strategy: "\(target.shape.tuningSaveStrategy)"
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

    /// The data-downloader script: fetches each URL of `DATA_URLS` into `DATA_VOLUME_PATH`.
    ///
    /// Our own script, with the behaviour of docs/reference/kaito.md section 4.10. The file is named after the URL as the release's
    /// downloader names it (``ReleaseShape/dataDownloaderKeepsQuery``).
    static func dataDownloaderScript(keepsQuery: Bool) -> String {
        let fileName =
            keepsQuery
            ? #"file=$(basename "$url" | sed 's/[?=&]/_/g')"#
            : #"file=$(basename "${url%%[?#]*}")"#
        return """
            set -eu
            mkdir -p "$DATA_VOLUME_PATH"
            for url in $DATA_URLS; do
              \(fileName)
              ok=0
              for attempt in 1 2 3; do
                status=$(curl -sSL -w '%{http_code}' -o "$DATA_VOLUME_PATH/$file" "$url" || echo 000)
                if [ "$status" = "200" ] && [ -s "$DATA_VOLUME_PATH/$file" ]; then ok=1; break; fi
                sleep 2
              done
              if [ "$ok" != 1 ]; then echo "failed to download $url (HTTP $status)" >&2; exit 1; fi
            done
            """
    }

    /// The pusher script: pushes the trained adapter as an image.
    ///
    /// Our own script, with the behaviour of upstream's `pkg/workspace/image/pusher.sh` (the same from v0.4.5 to
    /// v0.12.0): under `set -ex`, it polls every second for the trainer's `fine_tuning_completed.txt`, packs
    /// `adapter_config.json` and `adapter_model.safetensors` under `data/` into one tar layer, gzips it, writes the
    /// image config `{"rootfs":{"diff_ids":["sha256:<uncompressed layer digest>"]}}` and nothing else, pushes
    /// config, layer and the manifest annotations with `oras push` into an OCI layout and copies that to the image
    /// (normalised as `renderPusherSH` does, ``ImageReference/normalized(_:)``), and then runs
    /// `killall -SIGCHLD pause`, its output discarded and its failure ignored (`resume`). `SIGCHLD` makes a `pause`
    /// process reap its children, not exit, so the sandbox's own `pause` is unharmed.
    static func pusherScript(resultsDirectory: String, image: String, preset: String) -> String {
        let annotations = #"{"$manifest":{"sh.kaito.model.name":"\#(preset)"}}"#
        let reference = ImageReference.normalized(image)
        return """
            set -ex
            until [ -e "\(resultsDirectory)/fine_tuning_completed.txt" ]; do sleep 1; done
            work="$(mktemp -d)"
            mkdir -p "$work/data"
            cp -R "\(resultsDirectory)/adapter_config.json" "\(resultsDirectory)/adapter_model.safetensors" "$work/data"
            tar c -f "$work/layer.tar" -C "$work" data
            diff_id="$(sha256sum "$work/layer.tar" | cut -d ' ' -f 1)"
            gzip -9 "$work/layer.tar"
            printf '{"rootfs":{"diff_ids":["sha256:%s"]}}' "$diff_id" > "$work/config.json"
            printf '%s' '\(annotations)' > "$work/annotations.json"
            cd "$work"
            oras push --disable-path-validation --annotation-file "$work/annotations.json" \\
              --config "$work/config.json:application/vnd.oci.image.config.v1+json" \\
              --oci-layout "$work/layout:latest" layer.tar.gz:application/vnd.oci.image.layer.v1.tar+gzip
            cd /
            oras cp --from-oci-layout "$work/layout:latest" "\(reference)"
            killall -SIGCHLD pause </dev/null >/dev/null 2>&1 || true
            """
    }

    /// The tuning Job of docs/reference/kaito.md section 4.10, in the shape of the target's release (``ReleaseShape``).
    func tuningObjects() -> [RenderedObject] {
        guard let tuning = ws.tuning, let preset = plan.preset else { return [] }
        let shape = target.shape
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
        var containers: [Node] = []
        let shortName = preset.servedModelName
        let carriesWeights = shape.presetImagesCarryWeights
        if !carriesWeights, let tag = preset.tag {
            initContainers.append(
                M.map([
                    ("name", M.str("model-weights-downloader")),
                    ("image", M.str(shape.weightsDownloaderImage)),
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
        // Data source volumes and mounts (the data volume, and a pull-secret volume for an image input).
        var inputVolumes: [Node] = []
        let dataMount = M.labels([("name", "data-volume"), ("mountPath", "/mnt/data")])
        let input = tuning.input
        let inputSecretMount = M.labels([
            ("name", "docker-config-\(input?.name ?? "")-tuning-input"),
            ("mountPath", "/root/.docker/config.d/\(input?.name ?? "")-tuning-input"),
        ])
        if let urls = input?.urls {
            initContainers.append(
                M.map([
                    ("name", M.str("data-downloader")),
                    ("image", M.str("curlimages/curl")),
                    (
                        "command",
                        M.strings(["sh", "-c", Self.dataDownloaderScript(keepsQuery: shape.dataDownloaderKeepsQuery)])
                    ),
                    (
                        "env",
                        M.list([
                            M.labels([("name", "DATA_URLS"), ("value", urls.joined(separator: " "))]),
                            M.labels([("name", "DATA_VOLUME_PATH"), ("value", "/mnt/data")]),
                        ])
                    ),
                    ("volumeMounts", carriesWeights ? nil : M.list([dataMount])),
                ])
            )
            inputVolumes.append(M.map([("name", M.str("data-volume")), ("emptyDir", M.map([]))]))
        } else if let image = input?.image {
            // `prepareDataSource` (`pkg/workspace/tuning/preset_tuning.go`, the same from v0.4.5 to v0.12.0): the
            // pull-secret volume `docker-config-<input.name>-tuning-input` (a projection of no secret when there are
            // none) and the data volume; the puller mounts both, in that order (v0.4.x: every mount of the pod).
            let secretVolume = "docker-config-\(input?.name ?? "")-tuning-input"
            inputVolumes.append(dockerConfigVolume(secretVolume, secrets: input?.imagePullSecrets ?? []))
            initContainers.append(
                pullerContainer(
                    containerName: "puller",
                    image: image,
                    destination: "/mnt/data",
                    mounts: carriesWeights ? [] : [inputSecretMount, dataMount]
                )
            )
            inputVolumes.append(M.map([("name", M.str("data-volume")), ("emptyDir", M.map([]))]))
        } else if let source = input?.volumeSource {
            inputVolumes.append(volume("data-volume", from: source))
        }
        let hasData = !inputVolumes.isEmpty

        var env: [Node] = []
        if presetName.lowercased().hasPrefix("phi-3") || shortName.hasPrefix("phi-3") {
            env.append(
                M.labels([
                    ("name", "DEFAULT_TARGET_MODULES"),
                    ("value", "k_proj,q_proj,v_proj,o_proj,gate_proj,down_proj,up_proj"),
                ])
            )
        }
        env.append(M.labels([("name", "PYTORCH_CUDA_ALLOC_CONF"), ("value", "expandable_segments:True")]))
        let command =
            "cd /workspace/tfs/ && python3 metrics_server.py & accelerate launch --num_processes=\(gpuCount) /workspace/tfs/fine_tuning.py"
        let resultsVolume: Node
        if let output = tuning.output, let outputSource = output.volumeSource {
            resultsVolume = volume("results-volume", from: outputSource)
        } else {
            resultsVolume = M.map([("name", M.str("results-volume")), ("emptyDir", M.map([]))])
        }
        let pushImage = tuning.output?.image
        let pushSecret = tuning.output?.imagePushSecret ?? ""
        let pushSecretVolume = M.map([
            ("name", M.str("docker-config")),
            (
                "projected",
                M.map([
                    (
                        "sources",
                        M.list([
                            M.map([
                                (
                                    "secret",
                                    M.map([
                                        ("name", M.str(pushSecret)),
                                        (
                                            "items",
                                            M.list([M.labels([("key", ".dockerconfigjson"), ("path", "config.json")])])
                                        ),
                                    ])
                                )
                            ])
                        ])
                    )
                ])
            ),
        ])
        let pushSecretMount = M.labels([("name", "docker-config"), ("mountPath", "/root/.docker")])
        let resultsMount = M.labels([("name", "results-volume"), ("mountPath", results)])
        let dshmMount = M.labels([("name", "dshm"), ("mountPath", "/dev/shm")])
        let configMount = M.labels([("name", "config-volume"), ("mountPath", "/mnt/config")])
        let dshmVolume = M.map([("name", M.str("dshm")), ("emptyDir", M.map([("medium", M.str("Memory"))]))])
        let configVolume = M.map([
            ("name", M.str("config-volume")), ("configMap", M.map([("name", M.str(configName))])),
        ])

        // The data source's mounts: its pull-secret folder (image input), then the data volume.
        var inputMounts: [Node] = []
        if input?.urls == nil, input?.image != nil { inputMounts.append(inputSecretMount) }
        if hasData { inputMounts.append(dataMount) }
        // Upstream's order: shared memory (and the weights from v0.5), config, results, data source, push secret.
        // v0.4 mounts every volume in every container (`tuningSharesEveryMount`); from v0.5 the main container
        // mounts its own and the data source's (`SetTrainingInput`).
        var volumes = [dshmVolume]
        var mainMounts = [dshmMount]
        if !carriesWeights {
            volumes.append(M.map([("name", M.str("model-weights-volume")), ("emptyDir", M.map([]))]))
            mainMounts.append(M.labels([("name", "model-weights-volume"), ("mountPath", "/workspace/weights")]))
        }
        volumes += [configVolume, resultsVolume] + inputVolumes
        mainMounts += [configMount, resultsMount] + inputMounts
        if pushImage != nil {
            volumes.append(pushSecretVolume)
            if shape.tuningSharesEveryMount { mainMounts.append(pushSecretMount) }
        }
        let mainImage =
            carriesWeights
            ? "\(registry)/kaito-\(tuning.preset?.name ?? shortName):\(preset.tag ?? "latest")" : baseImage
        containers.append(
            M.map([
                ("name", M.str(name)),
                ("image", M.str(mainImage)),
                ("command", M.strings(["/bin/sh", "-c", command])),
                ("ports", M.list([M.map([("containerPort", M.int(5000)), ("protocol", M.str("TCP"))])])),
                ("env", M.list(env)),
                ("resources", gpuResources(count: gpuCount)),
                ("volumeMounts", M.list(mainMounts)),
            ])
        )
        var pullSecrets: [String] = []
        if let pushImage {
            pullSecrets.append(pushSecret)
            containers.append(
                M.map([
                    ("name", M.str("pusher")),
                    ("image", M.str("ghcr.io/oras-project/oras:v1.2.2")),
                    ("command", M.strings(["/bin/sh", "-c"])),
                    (
                        "args",
                        M.strings([Self.pusherScript(resultsDirectory: results, image: pushImage, preset: presetName)])
                    ),
                    ("volumeMounts", carriesWeights ? nil : M.list([pushSecretMount, resultsMount])),
                ])
            )
        }
        if pushImage != nil || shape.tuningSharesEveryMount {
            containers.append(
                M.map([
                    ("name", M.str("pause")),
                    ("image", M.str("registry.k8s.io/pause:latest")),
                    ("imagePullPolicy", M.str("Always")),
                ])
            )
        }
        if shape.tuningSharesEveryMount {
            // `GenerateTuningJobManifest` at v0.4.6 appends the pod's mounts to every init and sidecar container.
            initContainers = initContainers.map { appendingMounts(mainMounts, to: $0) }
            containers = [containers[0]] + containers.dropFirst().map { appendingMounts(mainMounts, to: $0) }
        }
        var tolerations = [
            M.labels([("key", "gpu"), ("operator", "Equal"), ("effect", "NoSchedule")]),
            M.labels([("key", "sku"), ("value", "gpu"), ("effect", "NoSchedule")]),
        ]
        if target.cloudProvider == "azure", shape.spotToleration {
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
            ("affinity", shape.tuningNodeAffinity ? nodeAffinity(pins: false) : nil),
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
            ("metadata", metadata(name: name, annotations: revisionAnnotations)),
            ("spec", M.map([("template", M.map([("metadata", M.map([("labels", labels)])), ("spec", podSpec)]))])),
        ])
        objects.append(object("batch/v1", "Job", name: name, body: body))
        return objects
    }

    /// A container with `mounts` appended to its own volume mounts.
    func appendingMounts(_ mounts: [Node], to container: Node) -> Node {
        let own = container["volumeMounts"]?.sequence ?? []
        return container.setting("volumeMounts", M.list(own + mounts))
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
