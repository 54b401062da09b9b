public import EngineText
internal import Foundation
public import InferenceEngine
internal import Synchronization

/// A model folder loaded for serving: weights, tokenizer, chat template and generation defaults.
public final class ModelBundle: Sendable {
    /// The name clients use (`--served-model-name`, default the folder name).
    public let name: String
    /// The model.
    public let model: CausalLM
    /// The tokenizer.
    public let tokenizer: Tokenizer
    /// The chat template, if the model has one.
    public let template: ChatTemplate?
    /// How the model writes tool calls, from its chat template's markers (vLLM's tool parser names).
    public let toolCallFormat: ToolCallFormat?
    let bosToken: String
    let eosToken: String
    let eosIDs: [Int]

    /// The adapters applied, with their strengths.
    public let adapters: [(name: String, strength: Float)]

    private let vocabularyCache = Mutex<TokenVocabulary?>(nil)

    /// The tokenizer's pieces in a trie, for structured output (built on first use).
    var vocabulary: TokenVocabulary {
        vocabularyCache.withLock { cached in
            if let cached { return cached }
            let built = TokenVocabulary(tokenizer: tokenizer, endOfSequence: Set(eosIDs))
            cached = built
            return built
        }
    }

    /// Loads `config.json`, the safetensors weights, `tokenizer.json`, `tokenizer_config.json` and
    /// `generation_config.json` from a folder, and applies `adapters`.
    ///
    /// - Parameters:
    ///   - folder: The model folder.
    ///   - name: The served model name (default: the folder's last component).
    ///   - adapters: LoRA adapters, each with its strength.
    ///   - maxModelLength: The longest sequence served (default and at most the model's context).
    ///   - options: Threads, quantization at load and KV cache type.
    /// - Throws: ``EngineError`` or ``TokenizerError``/``TemplateError`` naming the file that is wrong.
    public init(
        folder: String,
        name: String? = nil,
        adapters: [LoRAAdapter] = [],
        maxModelLength: Int? = nil,
        options: LoadOptions = LoadOptions()
    ) throws {
        var model = try CausalLM(folder: folder, options: options).applying(adapters)
        if let maxModelLength { model = model.limitingContext(to: maxModelLength) }
        self.model = model
        self.adapters = adapters.map { ($0.name, $0.strength) }
        tokenizer = try Tokenizer(path: folder + "/tokenizer.json")
        self.name = name ?? URL(fileURLWithPath: folder).lastPathComponent
        let config = try TokenizerConfig.load(folder + "/tokenizer_config.json")
        bosToken = config.bosToken ?? ""
        eosToken = config.eosToken ?? ""
        template = try config.chatTemplate.map { try ChatTemplate($0) }
        toolCallFormat = config.chatTemplate.flatMap(ToolCallFormat.detect(template:))
        var eos = model.config.eosTokenIDs
        if let generation = try GenerationConfig.load(folder + "/generation_config.json"),
            !generation.eosTokenIDs.isEmpty
        {
            eos = generation.eosTokenIDs
        }
        if let id = tokenizer.encode(eosToken, addSpecialTokens: false).first, eos.isEmpty { eos = [id] }
        eosIDs = eos
    }

    /// A bundle from its parts (the GGUF loader builds one from a single file).
    init(
        name: String,
        model: CausalLM,
        tokenizer: Tokenizer,
        template: ChatTemplate?,
        toolCallFormat: ToolCallFormat?,
        bosToken: String,
        eosToken: String,
        eosIDs: [Int],
        adapters: [(name: String, strength: Float)]
    ) {
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.toolCallFormat = toolCallFormat
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.eosIDs = eosIDs
        self.adapters = adapters
    }

    /// Renders a conversation with the model's chat template (or a plain `role: content` layout without one).
    public func prompt(messages: [TemplateValue], tools: [TemplateValue]? = nil) throws -> String {
        guard let template else {
            return messages.map { m in
                if case .dict(let pairs) = m {
                    let role = pairs.first { $0.key == "role" }?.value.rendered ?? ""
                    let content = pairs.first { $0.key == "content" }?.value.rendered ?? ""
                    return "\(role): \(content)"
                }
                return m.rendered
            }.joined(separator: "\n") + "\nassistant:"
        }
        // As transformers' apply_chat_template: tools and documents passed as None, reasoning fields aliased.
        return try template.render(
            messages: messages,
            tools: tools,
            addGenerationPrompt: true,
            bosToken: bosToken,
            eosToken: eosToken
        )
    }
}
