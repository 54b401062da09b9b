import Foundation
import InferenceEngine
import Testing

/// LoRA adapters against PEFT (fixtures made by `scripts/make_adapter_fixtures.py` with fixed seeds): one adapter at
/// strengths 0, 0.5 and 1, an rsLoRA adapter stored in BF16, and two adapters together, on Llama (unfused modules)
/// and Phi-3 (fused `qkv_proj`/`gate_up_proj`).
///
/// Tolerance: the engine's F32 one, 1e-4 max-abs. Strength is Kaito's per-adapter environment variable (reference
/// docs/reference/inference.md section 1.5).
struct LoRATests {
    static let fixtures = ReferenceModelTests.fixtures

    struct Case: Decodable {
        var adapters: [String: Float]
        var lastLogits: [[Float]]
    }

    struct Reference: Decodable {
        var prompts: [[Int]]
        var cases: [Case]
    }

    static func maxError(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test(arguments: ["llama", "phi3"])
    func logitsMatchPEFT(_ name: String) throws {
        let base = try CausalLM(folder: Self.fixtures.appendingPathComponent(name).path)
        let folder = Self.fixtures.appendingPathComponent("adapters/\(name)")
        let reference = try JSONDecoder().decode(
            Reference.self,
            from: Data(contentsOf: folder.appendingPathComponent("reference.json"))
        )
        var unadapted: [[Float]] = []
        for prompt in reference.prompts {
            var cache = base.makeCache()
            unadapted.append(try base.prefill(prompt, cache: &cache))
        }
        for testCase in reference.cases {
            // Through the loader Kaito's contract uses: the folder listing and one environment variable per adapter.
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "adapters-\(UUID().uuidString)"
            )
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            for adapter in testCase.adapters.keys {
                try FileManager.default.createSymbolicLink(
                    at: directory.appendingPathComponent(adapter),
                    withDestinationURL: folder.appendingPathComponent(adapter)
                )
            }
            let environment = testCase.adapters.mapValues { String($0) }
            let adapters = try LoRAAdapter.loadAll(directory: directory.path, environment: environment)
            #expect(adapters.map(\.name) == testCase.adapters.keys.sorted())
            let model = try base.applying(adapters)
            for (i, prompt) in reference.prompts.enumerated() {
                var cache = model.makeCache()
                let logits = try model.prefill(prompt, cache: &cache)
                let error = Self.maxError(logits, testCase.lastLogits[i])
                #expect(error <= 1e-4, "\(name) \(testCase.adapters): max-abs \(error)")
                let shift = Self.maxError(logits, unadapted[i])
                if testCase.adapters.values.allSatisfy({ $0 == 0 }) {
                    #expect(shift == 0, "strength 0 leaves the base untouched")
                } else {
                    #expect(shift > 0.05, "the adapter changes the logits (\(shift))")
                }
                if ProcessInfo.processInfo.environment["ENGINE_REPORT"] != nil {
                    print("\(name) \(testCase.adapters) prompt \(prompt.count): max-abs \(error), shift \(shift)")
                }
            }
        }
    }

    @Test func phi3KaitoTargetsReachOnlyExistingModules() throws {
        // Kaito's Phi-3 default target list names q/k/v/gate/up, which Phi-3 does not have: PEFT keeps o_proj and
        // down_proj only (docs/reference/inference.md section 1.6).
        let adapter = try LoRAAdapter(folder: Self.fixtures.appendingPathComponent("adapters/phi3/phi-kaito").path)
        #expect(Set(adapter.modules.map { $0.split(separator: ".").last! }) == ["o_proj", "down_proj"])
        let fused = try LoRAAdapter(folder: Self.fixtures.appendingPathComponent("adapters/phi3/phi-fused").path)
        #expect(fused.modules.contains("model.layers.1.self_attn.qkv_proj"))
        #expect(fused.modules.contains("model.layers.0.mlp.gate_up_proj"))
    }

    /// Copies an adapter into a temporary folder, lets `edit` damage it, and returns the start-up error.
    func loadError(
        _ source: String = "adapters/llama/alpha-one",
        model: String = "llama",
        environment: [String: String] = [:],
        edit: (URL) throws -> Void
    ) throws -> EngineError? {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString)")
        let adapter = directory.appendingPathComponent("my-adapter")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent(source), to: adapter)
        try edit(adapter)
        do {
            let adapters = try LoRAAdapter.loadAll(directory: directory.path, environment: environment)
            _ = try CausalLM(folder: Self.fixtures.appendingPathComponent(model).path).applying(adapters)
            return nil
        } catch {
            return error
        }
    }

    /// Writes an F32 safetensors file of zero-filled tensors with the given shapes.
    func writeSafeTensors(_ url: URL, _ tensors: [String: [Int]]) throws {
        var header: [String: Any] = [:]
        var offset = 0
        for (name, shape) in tensors.sorted(by: { $0.key < $1.key }) {
            let size = shape.reduce(4, *)
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]]
            offset += size
        }
        let json = try JSONSerialization.data(withJSONObject: header)
        var data = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(Data(count: offset))
        try data.write(to: url)
    }

    func editConfig(_ adapter: URL, _ change: (inout [String: Any]) -> Void) throws {
        let url = adapter.appendingPathComponent("adapter_config.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        change(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
    }

    @Test func badAdaptersFailAtStartUpNamingAdapterAndField() throws {
        let cases: [(String, String, () throws -> EngineError?)] = [
            ("rank 0", "field r is 0", { try loadError { try editConfig($0) { $0["r"] = 0 } } }),
            ("DoRA", "field use_dora", { try loadError { try editConfig($0) { $0["use_dora"] = true } } }),
            ("not LoRA", "field peft_type", { try loadError { try editConfig($0) { $0["peft_type"] = "IA3" } } }),
            (
                "strength out of range", "environment variable my-adapter",
                { try loadError(environment: ["my-adapter": "1.5"]) { _ in } }
            ),
            ("strength not a number", "\"strong\"", { try loadError(environment: ["my-adapter": "strong"]) { _ in } }),
            (
                "missing weights", "adapter_model.safetensors",
                {
                    try loadError {
                        try FileManager.default.removeItem(at: $0.appendingPathComponent("adapter_model.safetensors"))
                    }
                }
            ),
            (
                "missing config", "adapter_config.json",
                {
                    try loadError {
                        try FileManager.default.removeItem(at: $0.appendingPathComponent("adapter_config.json"))
                    }
                }
            ),
            (
                "rank differs from tensors", "expected [2, inputs]",
                { try loadError { try editConfig($0) { $0["r"] = 2 } } }
            ),
            (
                "unfused modules on a fused model", "unknown module model.layers.0.self_attn.q_proj",
                {
                    try loadError(model: "phi3") { _ in }
                }
            ),
            (
                "fused modules on an unfused model", "unknown module model.layers.0.mlp.gate_up_proj",
                {
                    try loadError("adapters/phi3/phi-fused", model: "llama") { _ in }
                }
            ),
            (
                "shape mismatch", "maps 32 → 64 features but the model's layer maps 64 → 64",
                {
                    try loadError {
                        try writeSafeTensors(
                            $0.appendingPathComponent("adapter_model.safetensors"),
                            [
                                "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": [4, 32],
                                "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": [64, 4],
                            ]
                        )
                    }
                }
            ),
            (
                "half a pair", "has lora_A but not lora_B",
                {
                    try loadError {
                        try writeSafeTensors(
                            $0.appendingPathComponent("adapter_model.safetensors"),
                            [
                                "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": [4, 64]
                            ]
                        )
                    }
                }
            ),
            (
                "embedding LoRA", "lora_embedding_A",
                {
                    try loadError {
                        try writeSafeTensors(
                            $0.appendingPathComponent("adapter_model.safetensors"),
                            [
                                "base_model.model.model.embed_tokens.lora_embedding_A": [4, 256]
                            ]
                        )
                    }
                }
            ),
        ]
        for (label, fragment, run) in cases {
            let error = try run()
            #expect(error != nil, "\(label) must fail")
            #expect(
                error?.code == .invalidAdapter || error?.code == .missingFile,
                "\(label): \(String(describing: error))"
            )
            #expect(
                error?.message.contains("my-adapter") == true,
                "\(label) names the adapter: \(String(describing: error))"
            )
            #expect(error?.message.contains(fragment) == true, "\(label) names the field: \(String(describing: error))")
        }
    }

    @Test func patternsOverrideRankAndAlphaPerModule() throws {
        // alpha_pattern changes the scaling of matching modules only: doubling alpha of o_proj doubles its delta.
        let base = try CausalLM(folder: Self.fixtures.appendingPathComponent("llama").path)
        let plain = try loadLogits(base, edit: { _ in })
        let doubled = try loadLogits(base) { try editConfig($0) { $0["alpha_pattern"] = ["o_proj": 16, "q_proj": 8] } }
        let everywhere = try loadLogits(base) {
            try editConfig($0) {
                $0["lora_alpha"] = 16
                $0["alpha_pattern"] = ["q_proj|v_proj|down_proj": 8]
            }
        }
        #expect(Self.maxError(plain, doubled) > 0.01)
        #expect(Self.maxError(doubled, everywhere) < 1e-5, "the same scalings reached two ways")
    }

    func loadLogits(_ base: CausalLM, edit: (URL) throws -> Void) throws -> [Float] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pattern-\(UUID().uuidString)")
        let adapter = directory.appendingPathComponent("a")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(
            at: Self.fixtures.appendingPathComponent("adapters/llama/alpha-one"),
            to: adapter
        )
        try edit(adapter)
        let model = try base.applying(LoRAAdapter.loadAll(directory: directory.path, environment: [:]))
        var cache = model.makeCache()
        return try model.prefill([1, 17, 42, 99], cache: &cache)
    }
}
