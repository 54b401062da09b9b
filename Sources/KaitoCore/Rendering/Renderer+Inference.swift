internal import OrderedCollections
internal import YAML

extension RenderContext {
    var runtime: Runtime { plan.runtime ?? .vllm }
    /// The object shapes of the target's release.
    var shape: ReleaseShape { target.shape }
    /// Whether Kaito resolves the workspace's runtime to vLLM (`GetWorkspaceRuntimeName` in
    /// `api/v1beta1/labels.go`): template workspaces resolve it from the gate and the annotation too.
    var resolvesToVLLM: Bool {
        if let runtime = plan.runtime { return runtime == .vllm }
        return target.gate("vLLM") && annotations["kaito.sh/runtime"] != "transformers"
    }
    var gpuCount: Int { plan.instanceType?.gpuCount ?? plan.preset?.gpuCountRequirement ?? 1 }
    /// The preset's `GPUCountRequirement` (what v0.3.0 requests, ``ReleaseShape/inferenceGPUsFromPreset``).
    var presetGPUCount: Int { plan.preset?.gpuCountRequirement ?? gpuCount }

    // MARK: Services (4.2)

    func services() -> [RenderedObject] {
        let loadBalancer = annotations["kaito.sh/enablelb"] == "True"
        var ports = [servicePort("http", 80, 5000)]
        if shape.rayServicePorts {
            ports += [servicePort("ray", 6379, 6379), servicePort("dashboard", 8265, 8265)]
            // `GenerateServiceManifest` (v0.12): ClusterIP Services of vLLM workspaces, templates included.
            if shape.kvEventsPort, !loadBalancer, resolvesToVLLM {
                ports.append(servicePort("kv-events", 5557, 5557))
            }
        } else if shape.torchServicePort {
            ports.append(servicePort("torch", 29500, 29500))
        }
        let main = M.map([
            ("apiVersion", M.str("v1")),
            ("kind", M.str("Service")),
            ("metadata", metadata(name: name)),
            (
                "spec",
                M.map([
                    ("type", M.str(loadBalancer ? "LoadBalancer" : "ClusterIP")),
                    ("ports", M.list(ports)),
                    (
                        "selector",
                        // The leader pod only, for StatefulSets; a Deployment's pods have no such label (4.2).
                        usesStatefulSet
                            ? M.labels([
                                ("kaito.sh/workspace", name), ("statefulset.kubernetes.io/pod-name", "\(name)-0"),
                            ])
                            : M.labels([("kaito.sh/workspace", name)])
                    ),
                    ("publishNotReadyAddresses", M.bool(true)),
                ])
            ),
        ])
        var result = [object("v1", "Service", name: name, body: main)]
        if shape.rayServicePorts || usesStatefulSet {
            let headless = M.map([
                ("apiVersion", M.str("v1")),
                ("kind", M.str("Service")),
                ("metadata", metadata(name: "\(name)-headless")),
                (
                    "spec",
                    M.map([
                        ("clusterIP", M.str("None")),
                        ("selector", M.labels([("kaito.sh/workspace", name)])),
                        ("publishNotReadyAddresses", M.bool(true)),
                    ])
                ),
            ])
            result.append(object("v1", "Service", name: "\(name)-headless", body: headless))
        }
        return result
    }

    func servicePort(_ portName: String, _ port: Int, _ targetPort: Int) -> Node {
        M.map([
            ("name", M.str(portName)), ("protocol", M.str("TCP")), ("port", M.int(port)),
            ("targetPort", M.int(targetPort)),
        ])
    }

    /// Kaito ≥ v0.8 runs every inference workload as a StatefulSet; earlier releases use a Deployment unless the
    /// preset is distributed (docs/reference/kaito.md section 4.14).
    var usesStatefulSet: Bool {
        shape.statefulSetForEveryPreset || plan.preset?.supportDistributedInference == true
    }

    // MARK: Scheduling

    var tolerations: Node {
        var items = [
            M.map([("key", M.str("nvidia.com/gpu")), ("operator", M.str("Exists")), ("effect", M.str("NoSchedule"))]),
            M.map([
                ("key", M.str("sku")), ("operator", M.str("Equal")), ("value", M.str("gpu")),
                ("effect", M.str("NoSchedule")),
            ]),
        ]
        if target.cloudProvider == "azure", shape.spotToleration {
            items.append(
                M.map([
                    ("key", M.str("kubernetes.azure.com/scalesetpriority")), ("operator", M.str("Equal")),
                    ("value", M.str("spot")), ("effect", M.str("NoSchedule")),
                ])
            )
        }
        return M.list(items)
    }

    /// Node affinity: one `In` expression per sanitized matchLabel plus the provisioner pins, sorted by key (4.1).
    func nodeAffinity(pins: Bool = true) -> Node? {
        var expressions = sanitizedMatchLabels.map { ($0.0, $0.1) }
        if pins, target.nodeAutoProvisioning {
            switch target.nodeProvisioner {
            case .gpuProvisioner:
                expressions += [("kaito.sh/workspace", name), ("kaito.sh/workspacenamespace", namespace)]
            case .karpenter:
                expressions += [
                    ("karpenter.kaito.sh/workspace-name", name), ("karpenter.kaito.sh/workspace-namespace", namespace),
                ]
            case .byo:
                break
            }
        }
        guard !expressions.isEmpty else { return nil }
        let sorted = expressions.sorted { $0.0 < $1.0 }
        return M.map([
            (
                "nodeAffinity",
                M.map([
                    (
                        "requiredDuringSchedulingIgnoredDuringExecution",
                        M.map([
                            (
                                "nodeSelectorTerms",
                                M.list([
                                    M.map([("matchExpressions", M.list(sorted.map { requirement($0.0, "In", [$0.1]) }))]
                                    )
                                ])
                            )
                        ])
                    )
                ])
            )
        ])
    }

    /// The MIG profile a partitioned workspace asks for (`resource.partition`, mode `mig`), or `nil`.
    var migProfile: String? {
        guard let p = ws.resource.partition, p.mode == "mig", let profile = p.profile, !profile.isEmpty else {
            return nil
        }
        return profile
    }

    /// `nvidia.com/gpu`, or `nvidia.com/mig-<profile>` for a MIG partition (`MIGResourceName` in
    /// `pkg/utils/mig/mig.go`, used by `preset_inferences.go`, v0.12), both as request and limit.
    func gpuResources(count: Int) -> Node {
        let quantity = M.str(String(count))
        let name = migProfile.map { "nvidia.com/mig-\($0)" } ?? "nvidia.com/gpu"
        return M.map([
            ("requests", M.map([(name, quantity)])),
            ("limits", M.map([(name, quantity)])),
        ])
    }

    // MARK: Adapters (4.7)

    var adapters: [AdapterSpec] { ws.inference?.adapters ?? [] }

    var adapterPullSecrets: [String] {
        var seen: [String] = []
        for secret in adapters.flatMap({ $0.source?.imagePullSecrets ?? [] }) where !seen.contains(secret) {
            seen.append(secret)
        }
        return seen
    }

    /// The puller script: moves an image's `/data` to a folder.
    ///
    /// Our own script, with the behaviour of upstream's `pkg/workspace/image/puller.sh` (the same from v0.4.5, where
    /// kaito-project/kaito#950 added it, to v0.12.0; docs/reference/kaito.md section 4.7): it traces every command and
    /// stops at the first failure (`set -ex`); tries `skopeo copy --dest-decompress` without credentials, then with
    /// each file under `$HOME/.docker/config.d` (`find -L`, symbolic links followed, as projected secrets are) as
    /// `--authfile`, and fails when none worked; extracts the layers in the manifest's order
    /// (`skopeo inspect` of the `dir:` copy), failing on a bad layer; and `mv -f`s the image's `data` folder to the
    /// destination (so an existing destination, such as the tuning input's `/mnt/data` mount point, receives it as
    /// `data/`). The reference is normalised as `renderPullerSH` does (``ImageReference/normalized(_:)``).
    static func pullerScript(image: String, destination: String) -> String {
        let reference = ImageReference.normalized(image)
        return """
            set -ex
            work="$(mktemp -d)"
            layout="$work/layout"
            rootfs="$work/rootfs"
            auth_files=""
            if [ -e "$HOME/.docker/config.d" ]; then
              auth_files="$(find -L "$HOME/.docker/config.d" -type f -printf '%p ')"
            fi
            pulled=no
            for auth_file in '' $auth_files; do
              options="--dest-decompress"
              if [ -n "$auth_file" ]; then options="$options --authfile=$auth_file"; fi
              if skopeo copy $options "docker://\(reference)" "dir:$layout"; then
                pulled=yes
                break
              fi
            done
            [ "$pulled" = yes ]
            mkdir -p "$rootfs"
            for layer in $(skopeo inspect --format '{{range .Layers}}{{slice . 7}} {{end}}' "dir:$layout"); do
              tar x -f "$layout/$layer" -C "$rootfs"
            done
            mv -f "$rootfs/data" "\(destination)"
            """
    }

    /// The skopeo puller (``ReleaseShape/imagePuller``): `NewPullerContainer` (`pkg/workspace/image/puller.go`, v0.4.5
    /// to v0.12.0) is `[/bin/sh, -c]` with the script as the one argument; the callers give the mounts.
    func pullerContainer(containerName: String, image: String, destination: String, mounts: [Node]) -> Node {
        M.map([
            ("name", M.str(containerName)),
            ("image", M.str(shape.pullerImage)),
            ("command", M.strings(["/bin/sh", "-c"])),
            ("args", M.strings([Self.pullerScript(image: image, destination: destination)])),
            ("volumeMounts", mounts.isEmpty ? nil : M.list(mounts)),
        ])
    }

    /// Projected docker-config volume for pull secrets (4.7).
    func dockerConfigVolume(_ volumeName: String, secrets: [String]) -> Node {
        M.map([
            ("name", M.str(volumeName)),
            (
                "projected",
                M.map([
                    (
                        "sources",
                        M.list(
                            secrets.map { secret in
                                M.map([
                                    (
                                        "secret",
                                        M.map([
                                            ("name", M.str(secret)),
                                            (
                                                "items",
                                                M.list([
                                                    M.labels([("key", ".dockerconfigjson"), ("path", "\(secret).json")])
                                                ])
                                            ),
                                        ])
                                    )
                                ])
                            }
                        )
                    )
                ])
            ),
        ])
    }

    /// The adapters' init containers, pod volumes, main-container mounts and strength variables.
    typealias AdapterParts = (initContainers: [Node], volumes: [Node], mounts: [Node], env: [Node])

    /// Init containers, volumes, main-container mounts and strength env vars for the adapters, in the shape of the
    /// target's release (``ReleaseShape/imagePuller``, ``ReleaseShape/adapterInitContainersMountWorkload``).
    ///
    /// `workloadMounts` are the inference container's mounts before the adapters' own, which the init containers
    /// of releases before v0.6 mount too.
    func adapterParts(workloadMounts: [Node] = []) -> AdapterParts {
        var volumes: [Node] = []
        var mounts: [Node] = []
        var env: [Node] = []
        // Each image adapter: its name, image, and pull-secret mount (`nil` when it has none).
        var pulls: [(name: String, image: String, secretMount: Node?)] = []
        for adapter in adapters {
            guard let source = adapter.source, let adapterName = source.name else { continue }
            if let image = source.image {
                var secretMount: Node?
                let secrets = source.imagePullSecrets ?? []
                if shape.imagePuller, !secrets.isEmpty || shape.adapterInitContainersMountWorkload {
                    let volumeName = "docker-config-\(adapterName)-inference-adapter"
                    secretMount = M.labels([
                        ("name", volumeName), ("mountPath", "/root/.docker/config.d/\(adapterName)-inference-adapter"),
                    ])
                    volumes.append(dockerConfigVolume(volumeName, secrets: secrets))
                }
                pulls.append((adapterName, image, secretMount))
            } else if let volumeSource = source.volumeSource {
                let volumeName = "adapter-volume-\(adapterName)"
                var volume = M.map([("name", M.str(volumeName))])
                for pair in volumeSource.mapping ?? [] {
                    if let key = pair.key.scalar { volume = volume.setting(key, pair.value) }
                }
                volumes.append(volume)
                mounts.append(M.labels([("name", volumeName), ("mountPath", "/mnt/adapter/\(adapterName)")]))
            }
            if let strength = adapter.strength {
                env.append(M.labels([("name", adapterName), ("value", strength)]))
            }
        }
        let adapterMount = M.labels([("name", "adapter-volume"), ("mountPath", "/mnt/adapter")])
        if !pulls.isEmpty {
            volumes.insert(M.map([("name", M.str("adapter-volume")), ("emptyDir", M.map([]))]), at: 0)
            mounts.insert(adapterMount, at: 0)
        }
        let pullerMounts = shape.adapterInitContainersMountWorkload ? workloadMounts + mounts : [adapterMount]
        let initContainers = pulls.map { pull -> Node in
            let destination = "/mnt/adapter/\(pull.name)"
            guard shape.imagePuller else {
                return M.map([
                    ("name", M.str(pull.name)),
                    ("image", M.str(pull.image)),
                    (
                        "command",
                        M.strings(["/bin/sh", "-c", "mkdir -p \(destination) && cp -r /data/* \(destination)"])
                    ),
                    ("volumeMounts", M.list(pullerMounts)),
                    ("imagePullPolicy", M.str("Always")),
                ])
            }
            return pullerContainer(
                containerName: "puller-\(pull.name)",
                image: pull.image,
                destination: destination,
                mounts: pullerMounts + [pull.secretMount].compactMap { $0 }
            )
        }
        return (initContainers, volumes, mounts, env)
    }
}
