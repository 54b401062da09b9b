import Foundation
import InferenceEngine
import Testing

/// `config.json` decodes through `Codable` in both forms transformers writes, with errors that name the field.
struct ModelConfigTests {
    /// The required fields, as raw JSON values.
    static let base: [String: String] = [
        "architectures": #"["LlamaForCausalLM"]"#, "vocab_size": "32", "hidden_size": "16", "intermediate_size": "32",
        "num_hidden_layers": "1", "num_attention_heads": "4", "max_position_embeddings": "256",
    ]

    /// A `config.json` of `base` with `fields` added or replaced (raw JSON values).
    func config(_ fields: [String: String]) throws(EngineError) -> ModelConfig {
        let merged = Self.base.merging(fields) { _, new in new }
        let text =
            "{" + merged.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        return try ModelConfig(data: Data(text.utf8))
    }

    @Test func transformers4And5FormsAgree() throws {
        let four = try config([
            "rope_theta": "500000.0",
            "rope_scaling":
                #"{"type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":64}"#,
        ])
        let five = try config([
            "rope_parameters":
                #"{"rope_type":"llama3","rope_theta":500000,"factor":8,"low_freq_factor":1,"high_freq_factor":4,"original_max_position_embeddings":64}"#
        ])
        #expect(four == five)
        #expect(four.ropeTheta == 500_000)
        #expect(
            four.ropeScaling
                == .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContext: 64)
        )
    }

    @Test func defaultsAndTokenLists() throws {
        let plain = try config(["eos_token_id": "[2,3]", "bos_token_id": "1"])
        #expect(plain.keyValueHeadCount == 4)
        #expect(plain.headDimension == 4)
        #expect(plain.ropeTheta == 10000)
        #expect(plain.ropeScaling == .none)
        #expect(plain.eosTokenIDs == [2, 3])
        #expect(try config(["eos_token_id": "2"]).eosTokenIDs == [2])
        #expect(try config(["sliding_window": "null"]).slidingWindow == nil)
    }

    @Test(
        arguments: [
            ("hidden_size", #""16""#, "config.json: hidden_size: expected Int"),
            ("eos_token_id", #""x""#, "config.json: eos_token_id: expected Array"),
            ("rope_scaling", #"{"type":"linear","factor":"two"}"#, "config.json: rope_scaling.factor: expected Double"),
            ("rope_scaling", #"{"type":"yarn"}"#, "config.json: unsupported rope scaling yarn"),
        ]
    )
    func errorsNameTheField(_ field: String, _ value: String, _ message: String) {
        #expect {
            try config([field: value])
        } throws: { error in
            (error as? EngineError)?.message.hasPrefix(message) == true
        }
    }

    @Test func missingFieldsAndArchitectures() {
        #expect {
            try ModelConfig(data: Data(#"{"architectures":["LlamaForCausalLM"],"vocab_size":32}"#.utf8))
        } throws: { error in
            (error as? EngineError)?.message == "config.json: missing hidden_size"
        }
        #expect {
            try ModelConfig(data: Data(#"{"architectures":["GPT2LMHeadModel"]}"#.utf8))
        } throws: { error in
            (error as? EngineError)?.code == .unsupportedArchitecture
        }
        #expect {
            try ModelConfig(data: Data("{oops".utf8))
        } throws: { error in
            (error as? EngineError)?.message == "config.json: not valid JSON"
        }
    }
}
