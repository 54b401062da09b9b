internal import EngineText
internal import Foundation
internal import GGUF
public import InferenceEngine

extension ModelBundle {
    /// Loads a `.gguf` file alone: the model from its metadata and tensors, the tokenizer from `tokenizer.ggml.*`,
    /// the chat template from `tokenizer.chat_template`, and BOS/EOS from the token ids the file names.
    ///
    /// LoRA adapters are PEFT folders in Hugging Face row order; llama.cpp's converter permutes the query and key
    /// rows of `llama` models, so an adapter on `q_proj`/`k_proj` of such a file is refused rather than applied to
    /// the wrong rows.
    ///
    /// - Parameters:
    ///   - path: The `.gguf` file.
    ///   - name: The served model name (default: the file name without `.gguf`).
    ///   - adapters: LoRA adapters, each with its strength.
    ///   - maxModelLength: The longest sequence served (default and at most the model's context).
    ///   - options: Threads, quantization at load and KV cache type.
    /// - Throws: ``EngineError``, ``TokenizerError`` or ``TemplateError`` naming what is wrong.
    public convenience init(
        gguf path: String,
        name: String? = nil,
        adapters: [LoRAAdapter] = [],
        maxModelLength: Int? = nil,
        options: LoadOptions = LoadOptions()
    ) throws {
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch {
            throw EngineError(.invalidFile, error.description)
        }
        let source = GGUFSource(file: file)
        if source.rotaryLayout == .interleaved {
            for adapter in adapters
            where adapter.modules.contains(where: { $0.hasSuffix("q_proj") || $0.hasSuffix("k_proj") }) {
                throw EngineError(
                    .invalidAdapter,
                    "adapter \"\(adapter.name)\" targets q_proj/k_proj, whose rows llama.cpp's converter permuted in "
                        + "\(path); serve the safetensors checkpoint for this adapter"
                )
            }
        }
        var model = try CausalLM(config: try ModelConfig(gguf: file), source: source, options: options)
            .applying(adapters)
        if let maxModelLength { model = model.limitingContext(to: maxModelLength) }
        let tokenizer = try Tokenizer(gguf: file)
        let tokens = file.metadata["tokenizer.ggml.tokens"]?.array ?? []
        func token(_ key: String) -> String {
            guard let id = file.integer(key), tokens.indices.contains(id) else { return "" }
            return tokens[id].string ?? ""
        }
        self.init(
            name: name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent,
            model: model,
            tokenizer: tokenizer,
            template: try file.string("tokenizer.chat_template").map { try ChatTemplate($0) },
            toolCallFormat: file.string("tokenizer.chat_template").flatMap(ToolCallFormat.detect(template:)),
            bosToken: token("tokenizer.ggml.bos_token_id"),
            eosToken: token("tokenizer.ggml.eos_token_id"),
            eosIDs: model.config.eosTokenIDs,
            adapters: adapters.map { ($0.name, $0.strength) }
        )
    }
}
