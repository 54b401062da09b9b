/// The architectures kaito-serve's engine runs (`Sources/InferenceEngine`).
let kaitoServeArchitectures: Set<String> = [
    "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Phi3ForCausalLM",
]

extension Run {
    /// The rules of the kaito-serve runtime (issue 6): the preset must carry kaito-serve facts of an architecture
    /// the engine runs, the instance type must be a CPU-only one, and the model must fit its memory.
    mutating func validateKaitoServe(preset: ModelPreset, sku: InstanceType?) {
        if target.outputMode == .controller {
            // Kaito's controller knows no kaito-serve runtime: it would run vLLM or transformers on a CPU node.
            report(
                .error,
                DiagnosticCode.kaitoServe,
                "target \(target.name) hands workspaces to Kaito's controller (outputMode: controller), which cannot run kaito-serve",
                at: sku == nil ? "metadata.annotations.kaito.sh/runtime" : "resource.instanceType",
                notes: ["kaito-serve workloads are rendered by kaitoc; use a target with outputMode: expanded"]
            )
            return
        }
        let requested = annotations["kaito.sh/runtime"]?.lowercased()
        if let sku, sku.isCPUOnly, let requested, requested != "kaito-serve" {
            report(
                .error,
                DiagnosticCode.kaitoServe,
                "the \(requested) runtime needs GPUs, but \(sku.name) is a CPU-only instance type",
                at: "metadata.annotations.kaito.sh/runtime",
                notes: ["CPU-only instance types run kaito-serve; remove the annotation or set it to kaito-serve"]
            )
            return
        }
        if let sku, !sku.isCPUOnly {
            report(
                .error,
                DiagnosticCode.kaitoServe,
                "kaito-serve runs on CPU-only instance types, but \(sku.name) has \(sku.gpuCount) \(sku.gpuModel) GPU(s) that would stay idle",
                at: "resource.instanceType",
                notes: [
                    "choose a CPU-only instance type (\(catalog.cpuInstanceTypeNames(for: target).prefix(4).joined(separator: ", ")), …) or remove the annotation kaito.sh/runtime: kaito-serve"
                ]
            )
            return
        }
        let name = requestedName(preset)
        let unsupported = preset.architectures.filter { !kaitoServeArchitectures.contains($0) }
        if !preset.architectures.isEmpty, unsupported.count == preset.architectures.count {
            report(
                .error,
                DiagnosticCode.kaitoServe,
                "kaito-serve cannot run \(name): architecture \(unsupported.joined(separator: ", ")) is not one of \(kaitoServeArchitectures.sorted().joined(separator: ", "))",
                at: "inference.preset.name"
            )
            return
        }
        guard let serve = preset.kaitoServe else {
            report(
                .error,
                DiagnosticCode.kaitoServe,
                "preset \(name) has no kaito-serve facts in the Kaito \(target.kaitoVersion) catalog",
                at: "inference.preset.name",
                notes: [
                    "add a kaitoServe entry (billionParameters, layers, keyValueHeads, headDimension, maxModelLength) to the preset in presets/models/ (see presets/README.md)"
                ]
            )
            return
        }
        guard let chosen = kaitoServeQuantization(), let sku, let available = sku.kaitoServeMemory, let ram = sku.memory
        else { return }
        let needed = Quantity(gibibytes: serve.memoryBytes(fileSize: preset.modelFileSize, quantization: chosen) / gib)
        if needed.value > available.value {
            let weights = serve.weightBytes(fileSize: preset.modelFileSize, quantization: chosen) / gib
            let format = chosen.map { "\($0.rawValue) weights" } ?? "weights in the checkpoint's format"
            var notes = [
                "\(format) \(Quantity.formatFixed(weights, decimals: 2))Gi + F32 KV cache of \(serve.maxModelLength) tokens \(Quantity.formatFixed(serve.kvCacheBytes / gib, decimals: 2))Gi, plus 10 % and 1Gi of headroom",
                "choose an instance type with more memory"
                    + (catalog.cpuInstanceTypeNames(for: target).compactMap { n in
                        catalog.instanceType(named: n, for: target).flatMap { t in
                            (t.kaitoServeMemory?.value ?? 0) >= needed.value ? ", e.g. \(t.name)" : nil
                        }
                    }.first ?? ""),
            ]
            let smaller = KaitoServeQuantization.allCases.filter {
                $0.bitsPerWeight < (chosen?.bitsPerWeight ?? 16)
                    && serve.memoryBytes(fileSize: preset.modelFileSize, quantization: $0) <= available.value
            }
            if let fit = smaller.first {
                notes.append(
                    "or quantize the weights at load: annotation \(KaitoServeQuantization.annotation): \(fit.rawValue) needs \(Quantity(gibibytes: serve.memoryBytes(fileSize: preset.modelFileSize, quantization: fit) / gib).formattedGi)"
                )
            }
            report(
                .error,
                DiagnosticCode.kaitoServeMemory,
                "preset \(name) needs \(needed.formattedGi) of memory on kaito-serve, but \(sku.name) leaves \(available.text) of its \(ram.text) to the pod",
                at: "resource.instanceType",
                notes: notes
            )
        }
    }

    /// The quantization a workspace's annotation chooses: `.some(nil)` for none, `nil` (reported) for a value
    /// kaito-serve does not accept.
    mutating func kaitoServeQuantization() -> KaitoServeQuantization?? {
        guard let value = annotations[KaitoServeQuantization.annotation] else { return .some(nil) }
        if let quantization = KaitoServeQuantization(rawValue: value) { return .some(quantization) }
        let accepted = KaitoServeQuantization.allCases.map(\.rawValue)
        report(
            .error,
            DiagnosticCode.kaitoServe,
            "invalid value \"\(value)\" in annotation \(KaitoServeQuantization.annotation): kaito-serve --quantization accepts \(accepted.joined(separator: " or "))",
            at: "metadata.annotations.\(KaitoServeQuantization.annotation)",
            notes: [
                KaitoServeQuantization(rawValue: value.lowercased()).map { "did you mean \($0.rawValue)?" }
                    ?? "q8_0 keeps 8.5 bits a weight, q4_0 4.5; without the annotation kaito-serve computes from the checkpoint's own format"
            ]
        )
        return nil
    }
}

private let gib = 1_073_741_824.0
