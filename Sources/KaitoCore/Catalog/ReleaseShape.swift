/// How the objects Kaito's controllers create changed from release to release: one named property per difference,
/// each with the release it appeared in and the upstream code it follows.
///
/// Renderers and rules ask a target's shape (``Target/shape``) instead of comparing version numbers, so that every
/// era difference lives here. Thresholds were read from Kaito's source at each tag (v0.3.0 … v0.12.0).
public struct ReleaseShape: Sendable, Hashable {
    /// The release.
    public var version: KaitoVersion

    /// Creates the shape of a release.
    public init(_ version: KaitoVersion) { self.version = version }

    private func since(_ major: Int, _ minor: Int, _ patch: Int = 0) -> Bool {
        version >= KaitoVersion(major, minor, patch)
    }

    // MARK: Weights

    /// Preset images carry the weights and run as the workload's image, for inference and tuning (until v0.4).
    ///
    /// `GetTuningImageInfo` in `pkg/workspace/tuning/preset-tuning.go` at v0.4.6 returns
    /// `<registry>/kaito-<preset>:<tag>`. From v0.5 the tag is an ORAS artifact that the `model-weights-downloader`
    /// init container pulls into `/workspace/weights` for the `kaito-base` image (`GenerateModelPullerContainer` in
    /// `pkg/workspace/manifests/manifests.go`, called by `preset_inferences.go` and `preset_tuning.go` at v0.10.0).
    public var presetImagesCarryWeights: Bool { !since(0, 5) }

    /// Every preset is downloaded by the runtime from Hugging Face (v0.11: the catalog of Hugging Face ids).
    public var everyPresetDownloadedAtRuntime: Bool { since(0, 11) }

    /// Weights go to a local-NVMe PVC when the instance type and StorageClass allow (`checkIfNVMeAvailable` in
    /// `preset_inferences.go`, from v0.5).
    public var weightsOnLocalNVMe: Bool { since(0, 5) }

    /// The image of the ORAS weights downloader (`utils.DefaultORASToolImage`).
    public var weightsDownloaderImage: String { "mcr.microsoft.com/oss/v2/oras-project/oras:v1.2.3" }

    // MARK: API

    /// Preset names resolve whatever their case (`IsValidPreset` in `pkg/utils/plugin/plugin.go` lowercases legacy
    /// names from v0.11); before, the model register compares them exactly.
    public var caseInsensitivePresetNames: Bool { since(0, 11) }

    /// The v1alpha1 webhook cannot serve legacy (short) preset names: `IsValidPreset` accepts them through the
    /// legacy map, but `validateCreateWithInference` (`api/v1alpha1/workspace_validation.go`) then looks the short
    /// name up in a register that holds only Hugging Face ids, and the request fails (v0.12).
    public var v1alpha1LegacyPresetNamesFail: Bool { since(0, 12) }

    // MARK: Bring-your-own nodes

    /// With node auto-provisioning off, the webhook and the estimator read the GPU facts of the nodes matching the
    /// workspace's `labelSelector` from their `nvidia.com/gpu.*` labels (`validateCreateWithInference` in
    /// `api/v1beta1/workspace_validation.go`: present at v0.8.0, absent at v0.7.0; docs/reference/kaito.md section 3.6).
    public var readsBYONodeGPULabels: Bool { since(0, 8) }

    // MARK: InferenceSet (docs/reference/kaito.md section 1.9, 4.18)

    /// The API versions of the `InferenceSet` kind: `kaito.sh/v1alpha1` from v0.8 (`api/v1alpha1/inferenceset_types.go`
    /// appears at v0.8.0), `kaito.sh/v1beta1` beside it from v0.11 (`api/v1beta1/inferenceset_types.go`).
    public var inferenceSetAPIVersions: [WorkspaceAPIVersion] {
        since(0, 11) ? [.v1alpha1, .v1beta1] : since(0, 8) ? [.v1alpha1] : []
    }

    /// Feature gates whose default differs from HEAD's in this release (`pkg/featuregates/featuregates.go`):
    /// `enableInferenceSetController` is off until v0.11 (v0.8.0–v0.10.0 default it to false).
    public var featureGateDefaults: [String: Bool] {
        since(0, 11) ? [:] : ["enableInferenceSetController": false]
    }

    /// The InferenceSet webhook validates the Workspace the InferenceSet generates, so a bad template fails the
    /// InferenceSet itself (`ValidateInferenceSetWorkspace` in `api/v1beta1/inferenceset_validation.go`, v0.12);
    /// before, the InferenceSet is admitted and its controller fails to create the Workspace.
    public var inferenceSetWebhookValidatesWorkspace: Bool { since(0, 12) }

    /// The chart the InferenceSet controller installs through Flux when `gatewayAPIInferenceExtension` is on.
    ///
    /// From `consts.InferencePoolChartURL`/`InferencePoolChartVersion` and `EPPImage*` in `pkg/utils/consts/consts.go`
    /// (v0.12: llm-d's router gateway). Earlier releases install Gateway API Inference Extension's own
    /// `inferencepool` chart v1.3.1 with other values, which kaitoc does not render (`nil`).
    public var inferencePoolChart: InferencePoolChart? {
        guard since(0, 12) else { return nil }
        return InferencePoolChart(
            url: "oci://ghcr.io/llm-d/charts/llm-d-router-gateway",
            tag: "v0.9.0",
            eppRegistry: "mcr.microsoft.com/oss/v2/llm-d",
            eppRepository: "llm-d-router-endpoint-picker",
            eppTag: "v0.9.0"
        )
    }

    // MARK: Inference workload

    /// Every inference workload is a StatefulSet (v0.8; before, only distributed presets).
    public var statefulSetForEveryPreset: Bool { since(0, 8) }

    /// StatefulSets carry `persistentVolumeClaimRetentionPolicy` (`GenerateStatefulSetManifest`, from v0.5).
    public var pvcRetentionPolicy: Bool { since(0, 5) }

    /// `inference-params-template` is copied into the namespace and mounted when `inference.config` is empty
    /// (`EnsureConfigOrCopyFromDefault` in `preset_inferences.go`, v0.4 to v0.10).
    public var copiesDefaultInferenceConfig: Bool { since(0, 4) && !since(0, 11) }

    /// The `inference_config.yaml` of the Helm chart's `inference-params-template`, comments left out
    /// (`charts/kaito/workspace/templates/inference-params.yaml`; `kv_cache_cpu_memory_utilization` from v0.7).
    public var defaultInferenceConfig: String {
        let offload = since(0, 7) ? "kv_cache_cpu_memory_utilization: 0.5\n" : ""
        return "max_probe_steps: 6\n\(offload)vllm:\n  cpu-offload-gb: 0\n  swap-space: 4\n"
    }

    /// `/dev/shm` is mounted on every inference pod (v0.4; before, only on multi-node ones).
    public var sharedMemoryAlways: Bool { since(0, 4) }

    /// Preset pods have a startup probe, and liveness starts at once (`buildStartupProbe` in
    /// `preset_inferences.go`, v0.10); before, liveness waited 600 s and there was no startup probe.
    public var startupProbe: Bool { since(0, 10) }

    /// The startup budget of Hugging Face presets grows with their weights: 15 min + 18 s per GiB of
    /// `modelFileSize`, within [30, 180] min (`readinessTimeoutForModelSize` in
    /// `presets/workspace/models/vllm_model.go`, v0.11).
    public var readinessTimeoutFromModelSize: Bool { since(0, 11) }

    /// When the vLLM benchmark runs as the startup probe.
    public enum Benchmark: Sendable, Hashable {
        /// Not in this release.
        case off
        /// Only with the annotation `kaito.sh/run-benchmark: "true"` (v0.10 `IsRunBenchmarkEnabled`).
        case optIn
        /// Unless the annotation `kaito.sh/disable-benchmark: "true"` (v0.11).
        case optOut
    }

    /// When the vLLM benchmark runs (`api/v1beta1/labels.go`).
    public var benchmark: Benchmark { since(0, 11) ? .optOut : since(0, 10) ? .optIn : .off }

    /// Inference and tuning pods tolerate Azure spot nodes (`defaultTolerations`, v0.10).
    public var spotToleration: Bool { since(0, 10) }

    /// The vLLM command line and environment of HEAD (docs/reference/kaito.md section 4.4): the `--load_format`,
    /// `--config_format` and `--tokenizer_mode` defaults, `--trust-remote-code`, `--model`/`--download-dir` for
    /// every preset, KV events, `VLLM_*` variables, the KV-cache offload off for hybrid-KV models and MIG (v0.11).
    public var headVLLMCommandLine: Bool { since(0, 11) }

    /// How the operator sets vLLM's `--max-model-len`.
    public enum MaxModelLength: Sendable, Hashable {
        /// Not passed: vLLM serves the model's whole context (until v0.6).
        case unset
        /// Computed from the GPU memory left once the weights are loaded, at most `ModelTokenLimit`, aligned down to
        /// 256 tokens; 2048 when the mounted `inference_config.yaml` is empty (v0.7 to v0.10).
        case computed
        /// `auto`: vLLM sizes it when it starts (v0.11).
        case auto
    }

    /// `--max-model-len` (`buildVLLMInferenceCommand` in `pkg/model/interface.go`): from v0.7.0 to v0.10.0 the value
    /// of `computeMaxModelLen` (`pkg/workspace/inference/max_model_len_strategy.go`, called by
    /// `GenerateInferencePodSpec` in `preset_inferences.go`; the same formula at every tag in between); absent at
    /// v0.6.2; `MaxModelLenAuto` from v0.11.0 (docs/reference/kaito.md section 4.4.1).
    public var maxModelLength: MaxModelLength { since(0, 11) ? .auto : since(0, 7) ? .computed : .unset }

    /// `--gpu-memory-utilization` is `0.84` (`buildVLLMInferenceCommand`, from v0.7.0); until v0.6.2
    /// `getGPUMemoryUtilForVLLM` derives it from the memory per GPU (docs/reference/kaito.md section 2.7).
    public var fixedGPUMemoryUtilization: Bool { since(0, 7) }

    /// `--gpu-memory-utilization=0.82` on NVIDIA A10 (`gpuMemoryUtilizationByGPUModel` in `pkg/model/interface.go`,
    /// v0.12.0; v0.11.0 passes 0.84 there too).
    public var lowerA10GPUMemoryUtilization: Bool { since(0, 12) }

    /// `--dtype=float16` on GPUs without native bfloat16, whatever the preset's dtype (`SupportsBFloat16` in
    /// `buildVLLMInferenceCommand`: at v0.10.0 and v0.11.0, not at v0.9.4 nor v0.12.0).
    public var float16WithoutBFloat16: Bool { since(0, 10) && !since(0, 12) }

    /// A model smaller than half a GPU runs one copy per GPU of its node (`--data-parallel-size=G
    /// --tensor-parallel-size=1 --kaito-kv-cache-cpu-memory-utilization=0`, `configureParallelism` in
    /// `pkg/model/interface.go`, from v0.10.0; v0.9.4 always splits it across the node's GPUs).
    public var vllmDataParallel: Bool { since(0, 10) }

    /// Multi-node vLLM turns the KV-cache CPU offload off (`--kaito-kv-cache-cpu-memory-utilization=0` beside
    /// `--pipeline-parallel-size` in `buildVLLMInferenceCommand`: from v0.9.3, not at v0.9.2).
    public var multiNodeDisablesKVCacheOffload: Bool { since(0, 9, 3) }

    /// The node estimator sets `targetNodeCount` of vLLM workspaces (docs/reference/kaito.md section 2.5; before
    /// v0.11 `resource.count` is the node count).
    public var estimatesNodeCount: Bool { since(0, 11) }

    /// Presets state GPU count and memory requirements that the webhook checks (docs/reference/kaito.md section 1.7,
    /// the "classic" rules of v0.3.0-v0.4.x).
    public var classicGPURequirements: Bool { !since(0, 5) }

    /// vLLM publishes KV-cache events: `--kv-events-config` on its command line (`pkg/model/interface.go`), port
    /// 5557 named `kv-events` on the container (`vllmKVEventsContainerPort` in
    /// `pkg/workspace/inference/preset_inferences.go`) and on the main Service (`pkg/workspace/manifests/manifests.go`);
    /// all three from v0.12.0 (kaito-project/kaito#1890), none at v0.11.0.
    public var kvEventsPort: Bool { since(0, 12) }

    /// The inference container's port has the name `http` (v0.12.0).
    ///
    /// `{name: http, containerPort: 5000}` is v0.12.0's `containerPorts` in
    /// `pkg/workspace/inference/preset_inferences.go`; before, `{containerPort: 5000}` without a name (v0.3.0
    /// `pkg/inference/preset-inferences.go` through v0.11.0).
    public var namedInferencePort: Bool { since(0, 12) }

    /// The path of the inference container's HTTP probes: `/healthz` up to v0.3.2 (`ProbePath` in
    /// `pkg/inference/preset-inferences.go`, served by that era's `inference_api.py`), `/health` from v0.4.0
    /// (`pkg/workspace/inference/preset-inferences.go`).
    public var probePath: String { since(0, 4) ? "/health" : "/healthz" }

    /// The transformers runtime's script: the relative `inference_api.py` up to v0.3.2 (`InferenceFile` in
    /// `pkg/inference/preset-inferences.go`, run from the preset image's `WORKDIR /workspace/tfs`), the absolute
    /// `/workspace/tfs/inference_api.py` from v0.4.0 (`InferenceMainFile` of the presets' transformers parameters).
    public var transformersInferenceFile: String {
        since(0, 4) ? "/workspace/tfs/inference_api.py" : "inference_api.py"
    }

    /// The inference Deployment's strategy is RollingUpdate with `maxSurge: 0, maxUnavailable: 1` from v0.3.1
    /// (`GenerateDeploymentManifest` in `pkg/resources/manifests.go`); v0.3.0 sets none (Kubernetes' default).
    public var deploymentRollingUpdate: Bool { since(0, 3, 1) }

    /// Workloads carry the `workspace.kaito.io/revision` annotation from v0.3.1 (`WorkspaceRevisionAnnotation` in
    /// `api/v1alpha1/workspace_labels.go`); v0.3.0 has none.
    public var revisionAnnotation: Bool { since(0, 3, 1) }

    /// The inference container requests the preset's `GPUCountRequirement` at v0.3.0 (`prepareInferenceParameters`
    /// in `pkg/inference/preset-inferences.go`); from v0.3.1 the instance type's GPU count (`skuNumGPUs`).
    public var inferenceGPUsFromPreset: Bool { !since(0, 3, 1) }

    /// The main Service has the Ray ports `ray` 6379 and `dashboard` 8265, and every workload has a headless
    /// Service (`GenerateServiceManifest`, v0.5).
    public var rayServicePorts: Bool { since(0, 5) }

    /// The main Service has the `torch` 29500 port (v0.3).
    public var torchServicePort: Bool { !since(0, 4) }

    /// `HF_TOKEN` from the model access secret is optional (v0.11).
    public var optionalModelAccessSecret: Bool { since(0, 11) }

    /// Pods are pinned to the nodes provisioned for the workspace (v0.11).
    public var provisionerNodePins: Bool { since(0, 11) }

    // MARK: Adapters and tuning

    /// Adapter and tuning-input images are pulled by the skopeo puller, `[/bin/sh, -c]` with its script as the one
    /// argument (`NewPullerContainer` in `pkg/workspace/image/puller.go`, added by kaito-project/kaito#950 in v0.4.5).
    ///
    /// Before, each adapter's own image runs as an init container named after the adapter, `imagePullPolicy:
    /// Always`, copying its `/data` into `/mnt/adapter/<name>` (`GenerateDeploymentManifest` in
    /// `pkg/resources/manifests.go` at v0.3.0, `GenerateInitContainers` in `pkg/workspace/manifests/manifests.go` at
    /// v0.4.4), and its pull secrets are only the pod's `imagePullSecrets`.
    public var imagePuller: Bool { since(0, 4, 5) }

    /// The adapter init containers mount every mount of the inference container (until v0.5.1).
    ///
    /// `GenerateInitContainers` before v0.4.5; `GeneratePullerContainers` in `pkg/workspace/manifests/manifests.go`
    /// at v0.4.5 to v0.5.1, which also adds the `docker-config-<adapter>-inference-adapter` volume and mount whether
    /// or not the adapter has pull secrets. From v0.6.0 `SetAdapterPuller` (`pkg/workspace/inference/preset_inferences.go`) gives the puller
    /// only `adapter-volume`, and the secret volume only when there are secrets.
    public var adapterInitContainersMountWorkload: Bool { !since(0, 6) }

    /// StatefulSets carry the revision annotation and the adapters' init containers and strength variables from
    /// v0.5.0 (`GenerateStatefulSetManifest` in `pkg/workspace/manifests/manifests.go` takes `revisionNum` and calls
    /// `GeneratePullerContainers`); until v0.4.6 only the Deployment does, and a StatefulSet gets no more of an
    /// adapter than `adapter-volume` (`CreatePresetInference` in `pkg/workspace/inference/preset-inferences.go`).
    public var statefulSetRevisionAndAdapterPullers: Bool { since(0, 5) }

    /// The skopeo image of the adapter and tuning-input puller (`NewPullerContainer` in
    /// `pkg/workspace/image/puller.go`: `quay.io/skopeo/stable` from v0.4.5 until v0.7, Microsoft's build from v0.8).
    public var pullerImage: String {
        since(0, 8) ? "mcr.microsoft.com/aks/skopeo:1.14.4-6" : "quay.io/skopeo/stable:v1.18.0-immutable"
    }

    /// `TrainingArguments.save_strategy` of the Helm chart's default tuning ConfigMaps
    /// (`charts/kaito/workspace/templates/{lora,qlora}-params.yaml`: `"epoch"` until v0.4, `"no"` from v0.5).
    public var tuningSaveStrategy: String { since(0, 5) ? "no" : "epoch" }

    /// Tuning pods have the node affinity of `labelSelector.matchLabels` (`GenerateBasicTuningPodSpec`, v0.7).
    public var tuningNodeAffinity: Bool { since(0, 7) }

    /// Every container of the tuning pod mounts every volume, and the `pause` sidecar is always there
    /// (`GenerateTuningJobManifest` in `pkg/workspace/manifests/manifests.go` and `CreatePresetTuning` at v0.4.6).
    public var tuningSharesEveryMount: Bool { !since(0, 5) }

    /// The data downloader names a file after its URL with `?`, `=` and `&` replaced by `_` (inline script of
    /// `handleURLDataSource` until v0.6); from v0.7 the query is cut off
    /// (`pkg/workspace/tuning/scripts/data-downloader.sh`).
    public var dataDownloaderKeepsQuery: Bool { !since(0, 7) }
}

/// The Helm chart of the InferencePool and its endpoint picker (EPP) that Kaito installs for an InferenceSet.
public struct InferencePoolChart: Sendable, Hashable {
    /// The OCI repository of the chart.
    public var url: String
    /// The chart's tag.
    public var tag: String
    /// The EPP image's registry, repository and tag (`router.epp.image`).
    public var eppRegistry: String, eppRepository: String, eppTag: String
}

extension Target {
    /// The object shapes of the target's Kaito release.
    public var shape: ReleaseShape { ReleaseShape(kaitoVersion) }
}
