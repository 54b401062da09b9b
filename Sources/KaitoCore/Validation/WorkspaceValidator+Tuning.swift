internal import OrderedCollections
internal import YAML

extension Run {
    /// Rules T1–T3 and T11–T17, and T4–T10 against the ConfigMaps found in the repository (docs/reference/kaito.md section 1.6).
    mutating func validateTuning(_ tuning: TuningSpec) {
        if let count = ws.resource.count, count > 1 {
            kaito(
                "T1",
                "invalid value: Tuning does not currently support multinode configurations. Please set the node count to 1. Future support with DeepSpeed will allow this.: resource.count",
                at: "resource.count"
            )
        }
        if ws.resource.partition != nil {
            kaito(
                "T2",
                "invalid value: GPU partitioning is not supported for tuning workloads",
                at: "resource.partition"
            )
        }
        let method = tuning.method ?? ""
        let lowered = method.lowercased()
        if lowered != "lora" && lowered != "qlora" {
            kaito(
                "T3",
                "invalid value: \(method): tuning.Method",
                at: tuning.method == nil ? "tuning" : "tuning.method"
            )
        }
        if lowered != method, lowered == "lora" || lowered == "qlora", (tuning.config ?? "").isEmpty {
            // The webhook lowercases the method; `CreatePresetTuning` compares it exactly to pick the default
            // ConfigMap (`pkg/workspace/tuning`, every release with tuning), finds none and creates no Job.
            report(
                .error,
                DiagnosticCode.tuningMethod,
                "tuning method \"\(method)\" passes Kaito's webhook, but its controller compares it exactly when it picks the default \(lowered)-params-template ConfigMap, finds none and creates no tuning Job",
                at: "tuning.method",
                notes: ["write method: \(lowered)"]
            )
        }
        plan.instanceType = resolveInstanceType()
        plan.nodeCount = 1
        if let sku = plan.instanceType, sku.isCPUOnly {
            report(
                .error,
                DiagnosticCode.cpuTuning,
                "tuning needs GPUs, but \(sku.name) is a CPU-only instance type",
                at: "resource.instanceType",
                notes: ["Kaito's tuning jobs train with PyTorch on GPUs; choose a GPU instance type"]
            )
        }
        validateTuningPreset(tuning.preset)
        if let input = tuning.input {
            validateTuningInput(input)
        } else {
            kaito("T11", "missing field(s): Input", at: "tuning")
        }
        if let output = tuning.output {
            validateTuningOutput(output)
        } else {
            kaito("T11", "missing field(s): Output", at: "tuning")
        }
        validateTuningConfig(tuning, method: lowered)
        checkTuningBFloat16(tuning)
    }

    /// Warns when tuning trains in bfloat16 (the default templates do, docs/reference/kaito.md section 4.11) on GPUs without it.
    mutating func checkTuningBFloat16(_ tuning: TuningSpec) {
        guard let sku = plan.instanceType, let cc = sku.computeCapabilityValue, cc < 8.0 else { return }
        var dtype = "bfloat16"
        var source = "the default \(tuning.method?.lowercased() == "qlora" ? "qlora" : "lora")-params-template"
        if let name = tuning.config, !name.isEmpty,
            let configMap = validator.configMaps.find(namespace: ws.metadata.effectiveNamespace, name: name),
            let text = configMap.data["training_config.yaml"],
            let root = try? YAMLParser.parse(text).first?.root
        {
            dtype = root["training_config"]?["ModelConfig"]?["torch_dtype"]?.scalar ?? "auto"
            source = "ConfigMap \(name)"
        }
        guard dtype == "bfloat16" else { return }
        report(
            .warning,
            DiagnosticCode.bf16,
            "tuning trains in bfloat16 (ModelConfig.torch_dtype in \(source)), but \(sku.name) has \(sku.gpuModel) GPUs (compute capability \(sku.computeCapability ?? "?")) without native bfloat16; the trainer will run in bfloat16 through slow emulation",
            at: "resource.instanceType",
            notes: [
                "set ModelConfig.torch_dtype: float16 in a tuning ConfigMap (tuning.config), or use an instance type with compute capability 8.0 or higher"
            ]
        )
    }

    mutating func validateTuningPreset(_ preset: PresetSpec?) {
        guard let preset, let name = preset.name, !name.isEmpty else {
            kaito("T17", "missing field(s): Preset", at: preset == nil ? "tuning" : "tuning.preset")
            return
        }
        guard let models else { return }
        guard case .preset(let resolved) = models.resolve(name), resolved.tuning != nil else {
            let tunable = models.models.filter { $0.tuning != nil }.map { $0.aliases.first ?? $0.name }
            var notes: [String] = []
            if let s = Suggestion.closest(to: name, in: tunable) { notes.append("did you mean \(s)?") }
            notes.append(
                "presets that support tuning in Kaito \(target.kaitoVersion): \(tunable.joined(separator: ", "))"
            )
            kaito(
                "T17",
                "invalid value: Unsupported tuning preset name \(name): tuning.preset.name",
                at: "tuning.preset.name",
                notes: notes
            )
            return
        }
        plan.preset = resolved
        validateAccessMode(preset, resolved: resolved, path: "tuning.preset")
    }

    mutating func validateTuningInput(_ input: DataSource) {
        let count = [input.urls != nil, input.image != nil, input.volumeSource != nil].filter { $0 }.count
        if count != 1 {
            kaito(
                "T12",
                "Exactly one of URLs, Volume, or Image must be specified: tuning.input.URLs, tuning.input.Volume, tuning.input.Image",
                at: "tuning.input"
            )
        }
        if ws.apiVersion == .v1beta1 {
            for (i, url) in (input.urls ?? []).enumerated() {
                if let error = DataSourceURL.error(in: url) {
                    kaito("T13", "invalid value: \(error): tuning.input.URLs", at: "tuning.input.urls[\(i)]")
                }
            }
        }
        if let image = input.image, let error = ImageReference.error(in: image) {
            kaito(
                "T14",
                "invalid value: Unable to parse input image reference: \(error): tuning.input.image",
                at: "tuning.input.image",
                notes: ImageReference.placeholderHint(image)
            )
        }
    }

    mutating func validateTuningOutput(_ output: DataDestination) {
        let count = [output.image != nil, output.volumeSource != nil].filter { $0 }.count
        if count != 1 {
            kaito("T16", "missing field(s): Exactly one of Volume or Image must be specified", at: "tuning.output")
        }
        if let image = output.image {
            if let error = ImageReference.error(in: image) {
                kaito(
                    "T14",
                    "invalid value: Unable to parse output image reference: \(error): tuning.output.image",
                    at: "tuning.output.image",
                    notes: ImageReference.placeholderHint(image)
                )
            }
            if (output.imagePushSecret ?? "").isEmpty {
                kaito(
                    "T15",
                    "missing field(s): Must specify imagePushSecret with destination image",
                    at: "tuning.output"
                )
            }
        }
    }

    /// T4–T10 for a user ConfigMap; the default templates (docs/reference/kaito.md section 4.11) are rendered by kaitoc and valid.
    mutating func validateTuningConfig(_ tuning: TuningSpec, method: String) {
        guard let name = tuning.config, !name.isEmpty else { return }
        let namespace = ws.metadata.effectiveNamespace
        guard
            let configMap = referencedConfigMap(
                name,
                rule: "T4",
                message:
                    "Failed to evaluate validateConfigMap: ConfigMap '\(name)' specified in 'config' not found in namespace '\(namespace)'",
                at: "tuning.config"
            )
        else { return }
        let location = configMap.source.location("data.training_config.yaml")
        func fail(_ rule: String, _ message: String) -> Diagnostic {
            Diagnostic(
                .error,
                code: "KAITO-\(rule)",
                message: message,
                location: location,
                notes: ["used by workspace \(ws.qualifiedName) (\(ws.source.file))"]
            )
        }
        guard let text = configMap.data["training_config.yaml"] else {
            kaito("T5", "missing field(s): training_config.yaml in ConfigMap", at: "tuning.config")
            return
        }
        let root: Node?
        do {
            root = try YAMLParser.parse(text).first?.root
        } catch {
            diagnostics.append(fail("T5", "invalid value: Failed to parse training_config.yaml: \(error.message)"))
            return
        }
        guard let config = root?["training_config"], let sections = config.mapping else {
            diagnostics.append(fail("T5", "invalid value: Expected 'training_config' key to contain a map"))
            return
        }
        let allowed = [
            "ModelConfig", "QuantizationConfig", "LoraConfig", "TrainingArguments", "DatasetConfig", "DataCollator",
        ]
        for section in sections {
            guard let key = section.key.scalar, !allowed.contains(key) else { continue }
            diagnostics.append(fail("T5", "invalid value: Unrecognized section: \(key)"))
        }
        var load4 = false
        var load8 = false
        if let quantization = config["QuantizationConfig"] {
            for (key, flag) in [("load_in_4bit", 4), ("load_in_8bit", 8)] {
                guard let value = quantization[key], !value.isNull else { continue }
                guard value.resolvedType == .bool, let text = value.scalar else {
                    let type = value.resolvedType.map { "\($0)" } ?? (value.sequence != nil ? "list" : "map")
                    diagnostics.append(
                        fail("T6", "invalid value: value must be either nil or a boolean, got type \(type)")
                    )
                    continue
                }
                let on = ["true", "True", "TRUE"].contains(text)
                if flag == 4 { load4 = on } else { load8 = on }
            }
        }
        if load4 && load8 {
            diagnostics.append(
                fail("T7", "Cannot set both 'load_in_4bit' and 'load_in_8bit' to true in ConfigMap '\(name)'")
            )
        }
        if method == "lora", load4 || load8 {
            diagnostics.append(
                fail(
                    "T8",
                    "For method 'lora', 'load_in_4bit' or 'load_in_8bit' in ConfigMap '\(name)' must not be true"
                )
            )
        }
        if method == "qlora", !load4, !load8 {
            diagnostics.append(
                fail(
                    "T9",
                    "missing field(s): For method 'qlora', either 'load_in_4bit' or 'load_in_8bit' must be true in ConfigMap '\(name)', QuantizationConfig"
                )
            )
        }
        if let outputDir = config["TrainingArguments"]?["output_dir"], !outputDir.isNull {
            guard outputDir.resolvedType == .string, let dir = outputDir.scalar else {
                diagnostics.append(fail("T10", "invalid value: output_dir is not a string"))
                return
            }
            if TuningPaths.resolveOutputDirectory(dir) == nil {
                diagnostics.append(
                    fail("T10", "invalid value: Invalid output_dir specified: '\(dir)', must be a directory")
                )
            }
        }
    }
}

/// The output-directory rule of the tuning Job (docs/reference/kaito.md section 4.10).
public enum TuningPaths {
    /// Resolves `TrainingArguments.output_dir` under `/mnt`: relative paths are made relative to `/mnt`, the result
    /// is cleaned; `nil` when it is `/mnt` itself or escapes `/mnt`.
    public static func resolveOutputDirectory(_ dir: String) -> String? {
        let joined = dir.hasPrefix("/mnt") ? dir : "/mnt/" + dir
        var parts: [Substring] = []
        for part in joined.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if parts.isEmpty { return nil }
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        guard parts.first == "mnt", parts.count >= 2 else { return nil }
        return "/" + parts.joined(separator: "/")
    }
}
