internal import CKernels
internal import Foundation

/// A causal language model (Llama, Mistral, Qwen2, Phi-3) run on the CPU: weights in their stored format (memory
/// mapped, or quantized at load), a persistent worker pool, a preallocated KV cache per sequence.
public final class CausalLM: Sendable {
    /// The configuration.
    public let config: ModelConfig
    /// The longest sequence served: the model's `max_position_embeddings`, or less (``limitingContext(to:)``).
    public let contextLength: Int
    /// How the model was loaded.
    public let options: LoadOptions
    let embeddings: TensorView
    let layers: [DecoderLayer]
    let finalNorm: [Float]
    let head: Linear
    let rotary: Rotary
    let pool: WorkerPool
    let groups: [LayerGroups]
    let headGroup: ProductGroup
    /// The LoRA adapters attached (``applying(_:)``), in the order their deltas index them; each token of a forward
    /// pass applies them at its own strengths, by default these.
    public let adapters: [AttachedAdapter]

    init(
        config: ModelConfig,
        embeddings: TensorView,
        layers: [DecoderLayer],
        finalNorm: [Float],
        head: Linear,
        contextLength: Int,
        rotary: Rotary,
        pool: WorkerPool,
        options: LoadOptions,
        adapters: [AttachedAdapter] = []
    ) {
        self.config = config
        self.adapters = adapters
        self.contextLength = contextLength
        self.options = options
        self.embeddings = embeddings
        self.layers = layers
        self.finalNorm = finalNorm
        self.head = head
        self.rotary = rotary
        self.pool = pool
        groups = layers.map(\.groups)
        headGroup = ProductGroup([head])
    }

    /// Loads `config.json` and the safetensors weights (single file or sharded with an index) of a folder.
    ///
    /// - Throws: ``EngineError`` for a missing file, unsupported architecture or dtype, wrong shape, truncated file.
    public convenience init(folder: String, options: LoadOptions = LoadOptions()) throws(EngineError) {
        let configPath = folder + "/config.json"
        guard let configData = FileManager.default.contents(atPath: configPath) else {
            throw EngineError(.missingFile, "missing \(configPath)")
        }
        guard let json = try? JSONSerialization.jsonObject(with: configData) as? [String: Any] else {
            throw EngineError(.invalidFile, "\(configPath) is not a JSON object")
        }
        let config = try ModelConfig(json: json)
        try self.init(config: config, source: try SafeTensorsFolder(folder: folder), options: options)
    }

    /// Builds the model from any source of tensors in Hugging Face naming (a safetensors folder, a GGUF file).
    ///
    /// Tensors stay where the source keeps them unless `options.quantization` converts float weights, one tensor at
    /// a time, releasing each source tensor's pages once converted.
    ///
    /// - Throws: ``EngineError`` (`shapeMismatch`) naming a missing tensor or one of the wrong shape.
    public convenience init(
        config: ModelConfig,
        source: some TensorSource,
        options: LoadOptions = LoadOptions()
    ) throws(EngineError) {
        let pool = WorkerPool(threads: options.threads)
        let target: TensorType? =
            switch options.quantization {
            case .q8_0: .q8_0
            case .q4_0: .q4_0
            case nil: nil
            }
        func tensor(_ name: String, _ shape: [Int]) throws(EngineError) -> TensorView {
            guard let view = try source.tensor(name) else {
                throw EngineError(.shapeMismatch, "tensor \(name) is missing")
            }
            guard view.shape == shape else {
                throw EngineError(.shapeMismatch, "tensor \(name) has shape \(view.shape), expected \(shape)")
            }
            return view
        }
        func floats(_ name: String, _ shape: [Int]) throws(EngineError) -> [Float] { try tensor(name, shape).floats() }
        // Weights quantized to `type` if given, and a product's weights in the interleaved layout of their type
        // (Q8_0, Q4_0; not the embeddings, whose rows are looked up); the source's pages released once converted.
        func converted(_ name: String, _ view: TensorView, to type: TensorType?, product: Bool) -> TensorView {
            guard let result = LoadQuantizer.convert(view, to: type, interleave: product, pool: pool) else {
                return view
            }
            source.release(name)
            return result
        }
        func linear(_ name: String, _ outputs: Int, _ inputs: Int, bias: Bool = false) throws(EngineError) -> Linear {
            let weight = try tensor(name + ".weight", [outputs, inputs])
            return Linear(
                weight: converted(name + ".weight", weight, to: target, product: true),
                bias: bias ? try floats(name + ".bias", [outputs]) : nil
            )
        }
        let h = config.hiddenSize
        let qSize = config.headCount * config.headDimension
        let kvSize = config.keyValueHeadCount * config.headDimension
        let vocabulary = config.vocabularySize
        var layers: [DecoderLayer] = []
        for i in 0..<config.layerCount {
            let p = "model.layers.\(i)."
            var layer = DecoderLayer(
                inputNorm: try floats(p + "input_layernorm.weight", [h]),
                postAttentionNorm: try floats(p + "post_attention_layernorm.weight", [h]),
                output: try linear(p + "self_attn.o_proj", h, qSize),
                down: try linear(p + "mlp.down_proj", h, config.intermediateSize)
            )
            if config.architecture == .phi3 {
                layer.fusedQKV = try linear(p + "self_attn.qkv_proj", qSize + 2 * kvSize, h)
                layer.fusedGateUp = try linear(p + "mlp.gate_up_proj", 2 * config.intermediateSize, h)
            } else {
                let bias = config.architecture == .qwen2
                layer.query = try linear(p + "self_attn.q_proj", qSize, h, bias: bias)
                layer.key = try linear(p + "self_attn.k_proj", kvSize, h, bias: bias)
                layer.value = try linear(p + "self_attn.v_proj", kvSize, h, bias: bias)
                layer.gate = try linear(p + "mlp.gate_proj", config.intermediateSize, h)
                layer.up = try linear(p + "mlp.up_proj", config.intermediateSize, h)
            }
            layers.append(layer)
        }
        // The head keeps 8 bits under 4-bit quantization (its error reaches every logit directly).
        let headType: TensorType? = target == nil ? nil : .q8_0
        var embeddings = try tensor("model.embed_tokens.weight", [vocabulary, h])
        let head: Linear
        let untiedHead = try source.tensor("lm_head.weight")
        if config.tieWordEmbeddings || untiedHead == nil {
            embeddings = converted("model.embed_tokens.weight", embeddings, to: headType, product: false)
            head = Linear(weight: embeddings, bias: nil)
        } else {
            let name = "lm_head.weight"
            head = Linear(weight: converted(name, try tensor(name, [vocabulary, h]), to: headType, product: true))
        }
        self.init(
            config: config,
            embeddings: embeddings,
            layers: layers,
            finalNorm: try floats("model.norm.weight", [h]),
            head: head,
            contextLength: config.maxPositionEmbeddings,
            rotary: Rotary(config: config, layout: source.rotaryLayout),
            pool: pool,
            options: options
        )
    }

    /// A model of the given configuration with seeded random F32 weights (for benchmarks: realistic shapes, no
    /// download); the head is tied to the embeddings.
    public convenience init(randomWeights config: ModelConfig, seed: UInt64 = 1, options: LoadOptions = LoadOptions()) {
        var random = SplitMix64(seed: seed)
        var tensors: [String: TensorView] = [:]
        func add(_ name: String, _ shape: [Int], ones: Bool = false) {
            let count = shape.reduce(1, *)
            let storage = OwnedBytes(count: count * 4)
            let values = storage.bytes.bindMemory(to: Float.self, capacity: count)
            for i in 0..<count {
                values[i] = ones ? 1 : (Float(random.next() >> 40) / Float(1 << 24) - 0.5) * 0.04
            }
            tensors[name] = TensorView(
                unchecked: .f32,
                shape: shape,
                bytes: UnsafeRawPointer(storage.bytes),
                owner: storage
            )
        }
        let h = config.hiddenSize
        let qSize = config.headCount * config.headDimension
        let kvSize = config.keyValueHeadCount * config.headDimension
        let i = config.intermediateSize
        add("model.embed_tokens.weight", [config.vocabularySize, h])
        add("model.norm.weight", [h], ones: true)
        for l in 0..<config.layerCount {
            let p = "model.layers.\(l)."
            add(p + "input_layernorm.weight", [h], ones: true)
            add(p + "post_attention_layernorm.weight", [h], ones: true)
            add(p + "self_attn.o_proj.weight", [h, qSize])
            add(p + "mlp.down_proj.weight", [h, i])
            if config.architecture == .phi3 {
                add(p + "self_attn.qkv_proj.weight", [qSize + 2 * kvSize, h])
                add(p + "mlp.gate_up_proj.weight", [2 * i, h])
            } else {
                for (name, rows) in [("q_proj", qSize), ("k_proj", kvSize), ("v_proj", kvSize)] {
                    add(p + "self_attn.\(name).weight", [rows, h])
                    if config.architecture == .qwen2 { add(p + "self_attn.\(name).bias", [rows]) }
                }
                add(p + "mlp.gate_proj.weight", [i, h])
                add(p + "mlp.up_proj.weight", [i, h])
            }
        }
        var tied = config
        tied.tieWordEmbeddings = true
        // Every tensor above exists with the shape the loader asks for.
        // swift-format-ignore: NeverUseForceTry
        try! self.init(config: tied, source: GeneratedTensors(tensors: tensors), options: options)
    }

    /// This model serving at most `tokens` positions (`--max-model-len`); never more than the model's own context.
    public func limitingContext(to tokens: Int) -> CausalLM {
        rebuilt(
            layers: layers,
            head: head,
            contextLength: max(1, min(tokens, config.maxPositionEmbeddings)),
            adapters: adapters
        )
    }

    /// The same weights with other layers, head, context or adapters.
    func rebuilt(layers: [DecoderLayer], head: Linear, contextLength: Int, adapters: [AttachedAdapter]) -> CausalLM {
        CausalLM(
            config: config,
            embeddings: embeddings,
            layers: layers,
            finalNorm: finalNorm,
            head: head,
            contextLength: contextLength,
            rotary: rotary,
            pool: pool,
            options: options,
            adapters: adapters
        )
    }

    /// A cache for a new sequence, with room for ``contextLength`` positions (address space; pages become resident
    /// as positions are written).
    public func makeCache() -> KVCache { KVCache(state: SequenceState(shape: sequenceShape)) }

    /// The default strengths of the attached adapters, in their order.
    public var defaultStrengths: [Float] { adapters.map(\.strength) }

    var sequenceShape: SequenceShape {
        let c = config
        let qSize = c.headCount * c.headDimension
        let kvSize = c.keyValueHeadCount * c.headDimension
        let allGroups = groups.flatMap(\.all) + [headGroup]
        return SequenceShape(
            layers: c.layerCount,
            keyValueHeads: c.keyValueHeadCount,
            headDimension: c.headDimension,
            capacity: contextLength,
            cacheType: options.kvCacheType,
            chunk: Self.prefillChunk,
            hidden: c.hiddenSize,
            queryWidth: qSize,
            qkvWidth: qSize + 2 * kvSize,
            intermediate: c.intermediateSize,
            gateUpWidth: 2 * c.intermediateSize,
            vocabulary: c.vocabularySize,
            widestInput: max(c.hiddenSize, qSize, c.intermediateSize),
            loraWidth: allGroups.map(\.loraWidth).max() ?? 0,
            logitRows: 1
        )
    }

    /// Bytes of weights the model holds (mapped or its own).
    public var weightBytes: Int {
        var total = embeddings.byteCount
        for group in groups.flatMap(\.all) {
            for member in group.members { total += member.linear.weight.byteCount }
        }
        if head.weight.bytes != embeddings.bytes { total += head.weight.byteCount }
        return total
    }

    /// Runs one token at the next position of `cache` and returns the logits of the next token.
    ///
    /// - Parameters:
    ///   - token: The token id.
    ///   - cache: The sequence so far.
    ///   - sequenceLength: The length that selects Phi-3's long-context factors, as transformers does for a
    ///     whole prompt at once; default the position plus one.
    /// - Returns: The logits of the next token.
    public func forward(token: Int, cache: inout KVCache, sequenceLength: Int? = nil) -> [Float] {
        forward(tokens: [token], cache: &cache, sequenceLength: sequenceLength)
    }

    /// Runs consecutive tokens at the next positions of `cache` and returns the logits after the last.
    ///
    /// Tokens go through in chunks of ``prefillChunk``: each weight row is read once per chunk, which is what makes
    /// prefill faster than token-by-token decoding; every product, norm and attention of a token computes the same
    /// bits whatever the chunk (the kernels' contract), so the results equal token-by-token decoding exactly.
    ///
    /// - Parameters:
    ///   - tokens: The token ids, at least one; the cache must have room for them (``contextLength``).
    ///   - cache: The sequence so far; the tokens are appended.
    ///   - sequenceLength: As for ``forward(token:cache:sequenceLength:)``; default the last position plus one.
    /// - Returns: The logits of the token after the last.
    public func forward(tokens: [Int], cache: inout KVCache, sequenceLength: Int? = nil) -> [Float] {
        precondition(!tokens.isEmpty, "forward needs at least one token")
        precondition(cache.state.shape.chunk > 0, "a cache of a BatchRunner runs through that runner")
        precondition(
            cache.count + tokens.count <= cache.state.shape.capacity,
            "the cache holds \(cache.state.shape.capacity) positions"
        )
        let length = max(sequenceLength ?? 0, cache.count + tokens.count)
        let state = cache.prepareWrite()
        let strengths = defaultStrengths
        var index = 0
        while index < tokens.count {
            let end = min(tokens.count, index + state.shape.chunk)
            var batch = PassBatch(adapterCount: strengths.count)
            batch.append(
                tokens: tokens[index..<end],
                start: cache.count,
                sequenceLength: length,
                state: state,
                strengths: strengths,
                logits: end == tokens.count
            )
            pass(batch, scratch: state)
            cache.advance(by: end - index)
            index = end
        }
        return Array(UnsafeBufferPointer(start: state.logits, count: config.vocabularySize))
    }

    /// The number of prompt tokens run as one chunk: enough to reuse each weight row many times, small enough to
    /// keep a chunk's activations in cache.
    public static let prefillChunk = 32

    /// Runs a prompt and returns the logits after its last token.
    ///
    /// - Throws: ``EngineError`` (`promptTooLong`) when the prompt does not fit in the context.
    public func prefill(_ tokens: [Int], cache: inout KVCache) throws(EngineError) -> [Float] {
        guard cache.count + tokens.count <= contextLength, cache.count + tokens.count <= cache.state.shape.capacity
        else {
            throw EngineError(
                .promptTooLong,
                "the prompt has \(tokens.count) tokens; with \(cache.count) cached the context of \(contextLength) is exceeded"
            )
        }
        guard !tokens.isEmpty else { return [] }
        return forward(tokens: tokens, cache: &cache, sequenceLength: cache.count + tokens.count)
    }
}

/// Tensors made in memory (random weights for benchmarks).
struct GeneratedTensors: TensorSource {
    var tensors: [String: TensorView]
    var tensorNames: [String] { tensors.keys.sorted() }
    func tensor(_ name: String) throws(EngineError) -> TensorView? { tensors[name] }
}
