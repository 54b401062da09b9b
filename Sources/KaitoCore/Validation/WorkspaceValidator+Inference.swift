internal import OrderedCollections
internal import YAML

extension Run {
    /// Rules I1–I3 and I5–I11, and A1–A6 on create too (docs/reference/kaito.md section 1.6).
    mutating func validateInference(_ inference: InferenceSpec) {
        let hasPreset = inference.preset != nil
        let hasTemplate = inference.template != nil
        if !hasPreset && !hasTemplate {
            kaito("I1", "missing field(s): Preset or Template must be specified", at: "inference")
        } else if hasPreset && hasTemplate {
            kaito("I2", "Preset and Template cannot be set at the same time", at: "inference.template")
        }
        if let preset = inference.preset {
            validateInferencePreset(preset, inference: inference)
        }
        validateAdapters(inference.adapters ?? [])
        if inference.template != nil, plan.instanceType != nil {
            plan.nodeCount = ws.resource.count ?? 1
        }
    }

    mutating func validateInferencePreset(_ preset: PresetSpec, inference: InferenceSpec) {
        guard let name = preset.name, !name.isEmpty else {
            kaito(
                "I3",
                "invalid value: Unsupported inference preset name : inference.presetName",
                at: "inference.preset"
            )
            return
        }
        guard let models else { return }
        let resolved: ModelPreset
        switch models.resolve(name) {
        case .preset(let p):
            resolved = p
            if ws.apiVersion == .v1alpha1, target.shape.v1alpha1LegacyPresetNamesFail,
                name.lowercased() != p.name.lowercased()
            {
                report(
                    .error,
                    DiagnosticCode.v1alpha1,
                    "Kaito \(target.kaitoVersion) fails this v1alpha1 workspace: its v1alpha1 webhook accepts the legacy preset name \(name), then looks it up among the Hugging Face ids it registers, and finds none",
                    at: "inference.preset.name",
                    notes: [
                        "migrate the workspace to apiVersion: kaito.sh/v1beta1 and name the preset by its Hugging Face id: inference.preset.name: \(p.name)"
                    ]
                )
            }
        case .deprecated:
            // R1 reported it; `InferenceSpec.validateCreate` rejects the unregistered name as well.
            kaito(
                "I3",
                "invalid value: Unsupported inference preset name \(name): inference.presetName",
                at: "inference.preset.name"
            )
            return
        case .uncataloguedHuggingFaceID:
            kaito(
                "I4",
                "invalid value: failed to get model preset: \(name) is not in the offline model catalog: inference.preset",
                at: "inference.preset.name",
                notes: [
                    "Kaito would look \(name) up on Hugging Face at admission time; kaitoc works offline, so add the model's facts to presets/models/ (see presets/README.md)"
                ]
            )
            return
        case .unknown:
            var notes: [String] = []
            let names = models.models.flatMap { [$0.name] + $0.aliases }
            if let suggestion = Suggestion.closest(to: name, in: names) { notes.append("did you mean \(suggestion)?") }
            if names.contains(where: { $0.lowercased() == name.lowercased() }) {
                notes.append(
                    "Kaito \(target.kaitoVersion) compares preset names exactly (case-insensitively from v0.11)"
                )
            }
            kaito(
                "I3",
                "invalid value: Unsupported inference preset name \(name): inference.presetName",
                at: "inference.preset.name",
                notes: notes
            )
            return
        }
        let runtime = plan.runtime ?? runtime()
        if runtime == .transformers, resolved.transformers == nil {
            kaito(
                "I5",
                "Runtime validation: model \(name) does not support inference with Huggingface Transformers runtime",
                at: "inference.preset.name"
            )
        }
        if runtime == .vllm, resolved.vllm == nil {
            report(
                .error,
                DiagnosticCode.runtime,
                "model \(name) has no vLLM parameters in the Kaito \(target.kaitoVersion) catalog; use the transformers runtime",
                at: "inference.preset.name"
            )
        }
        let adapters = inference.adapters ?? []
        if runtime == .vllm, !adapters.isEmpty, resolved.vllm?.disallowLoRA == true {
            kaito(
                "I6",
                "Runtime validation: vLLM does not support LoRA adapters for this model: \(name)",
                at: "inference.adapters"
            )
        }
        if runtime == .vllm, let i = adapters.firstIndex(where: { $0.strength != nil }) {
            kaito(
                "I7",
                "Runtime validation: vLLM does not support adapter strength",
                at: "inference.adapters[\(i)].strength",
                notes: [
                    "target \(target.name) runs vLLM by default; remove the strengths or select the transformers runtime with the annotation kaito.sh/runtime: transformers"
                ]
            )
        }
        let secret = preset.presetOptions?.modelAccessSecret
        if resolved.downloadAuthRequired, secret == nil {
            if isClassic {
                kaito(
                    "I8",
                    "This preset requires a modelAccessSecret with HF_TOKEN key under presetOptions to download the model",
                    at: "inference.preset"
                )
            } else {
                kaito(
                    "I8",
                    "This preset requires authentication and needs a modelAccessSecret with HF_TOKEN key under presetOptions to download the model",
                    at: "inference.preset"
                )
            }
        }
        if !resolved.downloadAtRuntime, secret != nil {
            kaito(
                "I9",
                "This preset does not require a modelAccessSecret with HF_TOKEN key under presetOptions",
                at: "inference.preset.presetOptions.modelAccessSecret"
            )
        }
        validateAccessMode(preset, resolved: resolved, path: "inference.preset")
    }

    /// The v1alpha1 (and v0.3.0) access-mode rules (docs/reference/kaito.md section 1.3, 1.7).
    mutating func validateAccessMode(_ preset: PresetSpec, resolved: ModelPreset, path: String) {
        guard ws.apiVersion == .v1alpha1 || target.kaitoVersion < KaitoVersion(0, 4, 0) else { return }
        let mode = preset.accessMode ?? "public"
        if resolved.accessMode == "private", mode != "private" {
            kaito(
                "ACCESS-MODE",
                "This preset only supports private AccessMode, AccessMode must be private to continue",
                at: "\(path).accessMode"
            )
        }
        if mode == "private", (preset.presetOptions?.image ?? "").isEmpty {
            kaito(
                "ACCESS-MODE",
                "When AccessMode is private, an image must be provided in PresetOptions",
                at: "\(path).presetOptions"
            )
        }
    }

    mutating func validateAdapters(_ adapters: [AdapterSpec]) {
        if adapters.count > 10 {
            kaito(
                "I10",
                "Number of Adapters exceeds the maximum limit, maximum of 10 allowed",
                at: "inference.adapters[10]"
            )
        }
        var seen: Set<String> = []
        for (i, adapter) in adapters.enumerated() {
            let path = "inference.adapters[\(i)]"
            guard let source = adapter.source else {
                kaito("A1", "missing field(s): Source", at: path)
                continue
            }
            let count = [source.urls != nil, source.image != nil, source.volumeSource != nil].filter { $0 }.count
            if count != 1 {
                kaito(
                    "A2",
                    "Exactly one of URLs, Volume, or Image must be specified: \(path).source.URLs, \(path).source.Volume, \(path).source.Image",
                    at: "\(path).source"
                )
            }
            if let name = source.name, !name.isEmpty {
                let errors = KubernetesNames.dns1123SubdomainErrors(name)
                if !errors.isEmpty {
                    kaito(
                        "A3",
                        "invalid value: \(errors.joined(separator: ", ")): adapters.source.name",
                        at: "\(path).source.name"
                    )
                }
                if !seen.insert(name).inserted {
                    kaito("I11", "Duplicate adapter source name found: \(name)", at: "\(path).source.name")
                }
            } else {
                kaito("A3", "missing field(s): Name of Adapter field must be specified", at: "\(path).source")
            }
            if source.image == nil, source.volumeSource == nil {
                kaito("A4", "Either Image or Volume must be specified for adapter source", at: "\(path).source")
            }
            if source.urls != nil {
                kaito("A5", "URLs are not supported as adapter source", at: "\(path).source.urls")
            }
            if let image = source.image, let error = ImageReference.error(in: image) {
                report(
                    .error,
                    DiagnosticCode.image,
                    "invalid value: Unable to parse adapter image reference: \(error): \(path).source.image",
                    at: "\(path).source.image",
                    notes: ImageReference.placeholderHint(image)
                )
            }
            if let strength = adapter.strength {
                let adapterName = source.name ?? ""
                if let value = Double(strength), value.isFinite {
                    if value < 0 || value > 1 {
                        kaito(
                            "A6",
                            "Strength value for Adapter '\(adapterName)' must be between 0 and 1",
                            at: "\(path).strength"
                        )
                    }
                } else {
                    kaito(
                        "A6",
                        "Invalid strength value for Adapter '\(adapterName)': strconv.ParseFloat: parsing \"\(strength)\": invalid syntax",
                        at: "\(path).strength"
                    )
                }
            }
        }
    }

    /// The ConfigMap a workspace references in its namespace; reports `rule` when it is missing and every
    /// ConfigMap of the repository was read.
    mutating func referencedConfigMap(
        _ name: String,
        rule: String,
        message: String,
        at path: String
    ) -> ConfigMapObject? {
        let namespace = ws.metadata.effectiveNamespace
        if let configMap = validator.configMaps.find(namespace: namespace, name: name) { return configMap }
        if validator.configMaps.isComplete {
            kaito(
                rule,
                message,
                at: path,
                notes: ["add a ConfigMap named \(name) in namespace \(namespace) under workspaces/"]
            )
        }
        return nil
    }

    /// IC1–IC5 against the ConfigMaps found in the repository; sets the estimator's context length.
    mutating func validateInferenceConfig(_ inference: InferenceSpec, preset: ModelPreset) {
        guard let name = inference.config, !name.isEmpty else { return }
        let namespace = ws.metadata.effectiveNamespace
        guard
            let configMap = referencedConfigMap(
                name,
                rule: "IC1",
                message:
                    "ConfigMap '\(name)' specified in 'config' not found in namespace '\(namespace)': inference.config",
                at: "inference.config"
            )
        else { return }
        guard let text = configMap.data["inference_config.yaml"] else {
            kaito(
                "IC2",
                "missing field(s): inference_config.yaml in ConfigMap",
                at: "inference.config",
                notes: [
                    "ConfigMap \(namespace)/\(name) is defined at \(configMap.source.file):\(configMap.source.mark.line)"
                ]
            )
            return
        }
        let location = configMap.source.location("data.inference_config.yaml")
        let root: Node?
        do {
            root = try YAMLParser.parse(text).first?.root
        } catch {
            diagnostics.append(
                Diagnostic(
                    .error,
                    code: "KAITO-IC3",
                    message: "Failed to parse inference_config.yaml: \(error.message)",
                    location: location
                )
            )
            return
        }
        guard let maxModelLen = root?["vllm"]?["max-model-len"] else { return }
        guard maxModelLen.resolvedType == .int, let value = maxModelLen.scalar.flatMap({ Int($0) }) else {
            diagnostics.append(
                Diagnostic(
                    .error,
                    code: "KAITO-IC4",
                    message: "invalid value: max-model-len must be an integer: \(maxModelLen.scalar ?? "")",
                    location: location
                )
            )
            return
        }
        plan.contextLength = value
        if let limit = preset.modelTokenLimit, value > limit {
            diagnostics.append(
                Diagnostic(
                    .error,
                    code: "KAITO-IC5",
                    message:
                        "invalid value: max-model-len \(value) exceeds model's maximum supported context window \(limit) (ModelTokenLimit)",
                    location: location,
                    notes: ["used by workspace \(ws.qualifiedName) (\(ws.source.file))"]
                )
            )
        }
    }
}

extension ImageReference {
    /// A hint for the quick starts' `…_HERE` placeholders.
    static func placeholderHint(_ image: String) -> [String] {
        guard image.contains("_HERE") else { return [] }
        return [
            "\(image) is a placeholder from Kaito's quick start; replace it with your registry and image, e.g. myregistry.azurecr.io/phi-3-adapter:0.0.1"
        ]
    }
}
