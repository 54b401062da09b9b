internal import Foundation

/// A PEFT LoRA adapter (`adapter_config.json` + `adapter_model.safetensors`, what Kaito tuning writes) with the
/// strength it is served at.
///
/// The adapter is applied as a side branch, never merged: a targeted layer computes
/// `y = W x + Σᵢ strengthᵢ · scalingᵢ · Bᵢ (Aᵢ x)` with `scaling = lora_alpha / r` (or `/ √r` with rsLoRA). That is
/// the exact weighted sum of the adapters' deltas (PEFT's `combination_type="cat"`), and it costs
/// `4 · r · (inputs + outputs)` bytes and `2 · r · (inputs + outputs)` multiply-adds per token per targeted layer
/// (for Phi-3-mini with r 8 on every projection, 50 MB and under 1 % of the base's work), where a merged copy of
/// the base would cost its full size again (15 GB in F32 for Phi-3-mini).
public struct LoRAAdapter: Sendable {
    /// One targeted layer: `A` is `[rank × inputs]`, `B` is `[outputs × rank]`.
    struct Pair: Sendable {
        var a: [Float]
        var b: [Float]
        var rank: Int
        var inputs: Int
        var outputs: Int
        var scaling: Float
    }

    /// The adapter's name: its folder's name, which is also the environment variable holding its strength.
    public let name: String
    /// The strength in [0, 1] that multiplies the adapter's delta.
    public let strength: Float
    /// The default rank (`r`).
    public let rank: Int
    /// The targeted layers by module path (`model.layers.0.self_attn.q_proj`).
    let pairs: [String: Pair]

    /// The module paths the adapter changes, sorted.
    public var modules: [String] { pairs.keys.sorted() }

    /// Loads an adapter folder.
    ///
    /// - Throws: ``EngineError`` (`invalidAdapter`, `missingFile`) naming the adapter and the field or tensor.
    public init(folder: String, name: String? = nil, strength: Float = 1) throws(EngineError) {
        let name = name ?? URL(fileURLWithPath: folder).lastPathComponent
        self.name = name
        func fail(_ message: String) -> EngineError { EngineError(.invalidAdapter, "adapter \"\(name)\": \(message)") }
        guard strength.isFinite, (0...1).contains(strength) else {
            throw fail("strength \(strength) is outside [0, 1]")
        }
        self.strength = strength
        let configPath = folder + "/adapter_config.json"
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw EngineError(.missingFile, "adapter \"\(name)\": missing \(configPath)")
        }
        guard let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw fail("\(configPath) is not a JSON object")
        }
        let settings = try AdapterSettings(config, fail: fail)
        rank = settings.rank
        let weightsPath = folder + "/adapter_model.safetensors"
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            let legacy = FileManager.default.fileExists(atPath: folder + "/adapter_model.bin")
            throw EngineError(
                .missingFile,
                "adapter \"\(name)\": missing \(weightsPath)"
                    + (legacy ? " (adapter_model.bin is a pickle; save the adapter with safe_serialization=True)" : "")
            )
        }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: weightsPath) } catch { throw fail(error.message) }
        var halves: [String: (a: SafeTensorsFile.Entry?, b: SafeTensorsFile.Entry?)] = [:]
        for (key, entry) in file.entries {
            let path = key.hasPrefix("base_model.model.") ? String(key.dropFirst("base_model.model.".count)) : key
            if path.hasSuffix(".lora_A.weight") {
                halves[String(path.dropLast(".lora_A.weight".count)), default: (nil, nil)].a = entry
            } else if path.hasSuffix(".lora_B.weight") {
                halves[String(path.dropLast(".lora_B.weight".count)), default: (nil, nil)].b = entry
            } else {
                throw fail(
                    "tensor \(key) is not a LoRA A or B weight (DoRA, embedding LoRA, biases and modules_to_save are not supported)"
                )
            }
        }
        var pairs: [String: Pair] = [:]
        for (module, half) in halves {
            guard let a = half.a, let b = half.b else {
                let (has, lacks) = half.a == nil ? ("B", "A") : ("A", "B")
                throw fail("module \(module) has lora_\(has) but not lora_\(lacks)")
            }
            let moduleRank = settings.rank(for: module)
            guard a.shape.count == 2, b.shape.count == 2, a.shape[0] == moduleRank, b.shape[1] == moduleRank else {
                throw fail(
                    "module \(module): lora_A has shape \(a.shape) and lora_B \(b.shape); expected [\(moduleRank), inputs] and [outputs, \(moduleRank)] for r = \(moduleRank)"
                )
            }
            let prefix = file.entries["base_model.model.\(module).lora_A.weight"] != nil ? "base_model.model." : ""
            pairs[module] = Pair(
                a: file.floats(prefix + module + ".lora_A.weight") ?? [],
                b: file.floats(prefix + module + ".lora_B.weight") ?? [],
                rank: moduleRank,
                inputs: a.shape[1],
                outputs: b.shape[0],
                scaling: settings.scaling(for: module)
            )
        }
        guard !pairs.isEmpty else { throw fail("\(weightsPath) holds no LoRA weights") }
        self.pairs = pairs
    }

    /// Loads every adapter under `directory` the way Kaito's runtime does: each subfolder is an adapter named after
    /// the folder, its strength read from the environment variable of exactly that name (default 1.0).
    ///
    /// Unlike Kaito, a subfolder without `adapter_config.json` is an error rather than skipped: a puller that failed
    /// must not leave a pod serving the base model as if it were adapted. Hidden folders and `lost+found` are skipped.
    /// Adapters are returned sorted by name.
    ///
    /// - Throws: ``EngineError`` naming the adapter and the field, or the folder when it cannot be read.
    public static func loadAll(directory: String, environment: [String: String]) throws(EngineError) -> [LoRAAdapter] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw EngineError(.missingFile, "adapters folder \(directory) cannot be read")
        }
        var adapters: [LoRAAdapter] = []
        for name in names.sorted() where !name.hasPrefix(".") && name != "lost+found" {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isFolder),
                isFolder.boolValue
            else { continue }
            var strength: Float = 1
            if let text = environment[name] {
                guard let value = Float(text.trimmingCharacters(in: .whitespaces)), value.isFinite,
                    (0...1).contains(value)
                else {
                    throw EngineError(
                        .invalidAdapter,
                        "adapter \"\(name)\": strength \"\(text)\" from the environment variable \(name) is not a number in [0, 1]"
                    )
                }
                strength = value
            }
            adapters.append(try LoRAAdapter(folder: directory + "/" + name, name: name, strength: strength))
        }
        return adapters
    }
}

/// The fields of `adapter_config.json` that matter for inference (docs/reference/inference.md section 4.5).
private struct AdapterSettings {
    var rank: Int
    var alpha: Float
    var rsLoRA: Bool
    var rankPattern: [(NSRegularExpression, Int)] = []
    var alphaPattern: [(NSRegularExpression, Float)] = []

    init(_ config: [String: Any], fail: (String) -> EngineError) throws(EngineError) {
        func number(_ value: Any?) -> Double? {
            (value as? NSNumber)?.doubleValue
        }
        func flag(_ key: String) throws(EngineError) -> Bool {
            guard let value = config[key], !(value is NSNull) else { return false }
            guard let flag = value as? Bool else { throw fail("field \(key) must be true or false") }
            return flag
        }
        let type = config["peft_type"] as? String ?? "LORA"
        guard type.uppercased() == "LORA" else {
            throw fail("field peft_type is \"\(type)\"; only LORA adapters are supported")
        }
        guard let r = number(config["r"]), r == r.rounded() else { throw fail("field r is missing or not an integer") }
        guard r > 0 else { throw fail("field r is \(Int(r)); the rank must be at least 1") }
        rank = Int(r)
        if let value = config["lora_alpha"], !(value is NSNull) {
            guard let a = number(value), a.isFinite else { throw fail("field lora_alpha must be a number") }
            alpha = Float(a)
        } else {
            alpha = 8  // PEFT's default
        }
        rsLoRA = try flag("use_rslora")
        if try flag("use_dora") { throw fail("field use_dora is true; DoRA adapters are not supported") }
        if try flag("lora_bias") { throw fail("field lora_bias is true; LoRA biases are not supported") }
        if let bias = config["bias"] as? String, bias != "none" {
            throw fail("field bias is \"\(bias)\"; only \"none\" is supported")
        }
        if let saved = config["modules_to_save"] as? [Any], !saved.isEmpty {
            throw fail("field modules_to_save is not empty; full module replacements are not supported")
        }
        // fan_in_fan_out only concerns GPT-2's Conv1D weights; every module of the supported architectures is an
        // nn.Linear, for which PEFT resets it to false, so A and B keep their [r, in] and [out, r] layout.
        for (regex, value) in try Self.patterns(config["rank_pattern"], field: "rank_pattern", fail: fail) {
            guard value > 0, value == value.rounded() else {
                throw fail("field rank_pattern entry \(regex.pattern) must be a positive integer")
            }
            rankPattern.append((regex, Int(value)))
        }
        alphaPattern = try Self.patterns(config["alpha_pattern"], field: "alpha_pattern", fail: fail).map {
            ($0, Float($1))
        }
    }

    /// PEFT's matching of pattern keys: the key is a regex that must match the end of the module path at a dot.
    private static func patterns(
        _ value: Any?,
        field: String,
        fail: (String) -> EngineError
    ) throws(EngineError) -> [(NSRegularExpression, Double)] {
        guard let map = value as? [String: Any] else { return [] }
        var result: [(NSRegularExpression, Double)] = []
        for key in map.keys.sorted() {
            guard let n = map[key] as? NSNumber else { throw fail("field \(field)[\"\(key)\"] must be a number") }
            guard let regex = try? NSRegularExpression(pattern: "^(.*\\.)?(\(key))$") else {
                throw fail("field \(field) key \"\(key)\" is not a regular expression")
            }
            result.append((regex, n.doubleValue))
        }
        return result
    }

    private static func first<T>(_ patterns: [(NSRegularExpression, T)], _ module: String) -> T? {
        let range = NSRange(module.startIndex..., in: module)
        return patterns.first { $0.0.firstMatch(in: module, range: range) != nil }?.1
    }

    func rank(for module: String) -> Int { Self.first(rankPattern, module) ?? rank }

    func scaling(for module: String) -> Float {
        let r = Float(rank(for: module))
        let a = Self.first(alphaPattern, module) ?? alpha
        return rsLoRA ? a / r.squareRoot() : a / r
    }
}

extension CausalLM {
    /// This model with `adapters` attached as side branches; the base weights are shared, not copied.
    ///
    /// Every adapter stays loaded, at strength 0 too: a forward pass applies each at its default strength
    /// (``LoRAAdapter/strength``), a batch's sequences at their own (``BatchRunner``); a branch at strength 0 is
    /// skipped, so it leaves the base's bits untouched.
    ///
    /// - Throws: ``EngineError`` (`invalidAdapter`) naming the adapter and the module that does not exist in this
    ///   model or whose shape does not match it.
    public func applying(_ adapters: [LoRAAdapter]) throws(EngineError) -> CausalLM {
        var layers = self.layers
        var head = self.head
        var attached = self.adapters
        for adapter in adapters {
            let index = attached.count
            attached.append(AttachedAdapter(name: adapter.name, strength: adapter.strength))
            for module in adapter.modules {
                guard let pair = adapter.pairs[module] else { continue }
                func attach(_ linear: inout Linear) throws(EngineError) {
                    guard pair.inputs == linear.inputs, pair.outputs == linear.outputs else {
                        throw EngineError(
                            .invalidAdapter,
                            "adapter \"\(adapter.name)\": module \(module) maps \(pair.inputs) → \(pair.outputs) features but the model's layer maps \(linear.inputs) → \(linear.outputs)"
                        )
                    }
                    linear.deltas.append(Linear.Delta(pair: pair, adapter: index))
                }
                func unknown() -> EngineError {
                    EngineError(
                        .invalidAdapter,
                        "adapter \"\(adapter.name)\": unknown module \(module) for \(config.architecture.rawValue) with \(config.layerCount) layers"
                    )
                }
                if module == "lm_head" {
                    try attach(&head)
                    continue
                }
                let parts = module.split(separator: ".")
                guard parts.count == 5, parts[0] == "model", parts[1] == "layers", let i = Int(parts[2]),
                    layers.indices.contains(i)
                else { throw unknown() }
                let path: WritableKeyPath<DecoderLayer, Linear?>
                switch (parts[3], parts[4]) {
                case ("self_attn", "o_proj"):
                    try attach(&layers[i].output)
                    continue
                case ("mlp", "down_proj"):
                    try attach(&layers[i].down)
                    continue
                case ("self_attn", "q_proj"): path = \.query
                case ("self_attn", "k_proj"): path = \.key
                case ("self_attn", "v_proj"): path = \.value
                case ("self_attn", "qkv_proj"): path = \.fusedQKV
                case ("mlp", "gate_proj"): path = \.gate
                case ("mlp", "up_proj"): path = \.up
                case ("mlp", "gate_up_proj"): path = \.fusedGateUp
                default: throw unknown()
                }
                guard var linear = layers[i][keyPath: path] else { throw unknown() }
                try attach(&linear)
                layers[i][keyPath: path] = linear
            }
        }
        return rebuilt(layers: layers, head: head, contextLength: contextLength, adapters: attached)
    }
}

/// A LoRA adapter attached to a model: its name and the strength it applies at unless a sequence asks otherwise.
public struct AttachedAdapter: Sendable, Hashable {
    /// The adapter's name (its folder's).
    public var name: String
    /// The default strength.
    public var strength: Float

    /// Creates an entry.
    public init(name: String, strength: Float) {
        self.name = name
        self.strength = strength
    }
}
