internal import EngineText
internal import Foundation
internal import Hummingbird
internal import InferenceEngine
internal import Synchronization

extension KaitoServeRoutes {
    /// Kaito's `/chat` of the transformers runtime up to v0.8: `prompt` (or `messages`), `return_full_text`
    /// (default true) and `generate_kwargs` with Kaito's defaults (`max_length` 200 counting the prompt,
    /// `do_sample` true, `temperature` 1.0, `top_k` 10, `top_p` 1, `repetition_penalty` 1).
    static func kaitoChat(_ body: KaitoChatRequest, _ queue: GenerationQueue) async throws -> Response {
        var text: String
        if let prompt = body.prompt {
            text = prompt
        } else if let messages = body.messages {
            text = try queue.bundle.prompt(messages: messages.map(\.value))
        } else {
            throw Rejection(.badRequest, DetailBody("Text generation parameter prompt required"))
        }
        let fullText = body.returnFullText ?? true
        let kwargs = body.generateArguments
        let maxLength = kwargs?.maxLength ?? 200
        let doSample = kwargs?.doSample ?? true
        var sampling = SamplingParameters(
            temperature: Float(kwargs?.temperature ?? 1),
            topK: kwargs?.topK ?? 10,
            topP: Float(kwargs?.topP ?? 1),
            repetitionPenalty: Float(kwargs?.repetitionPenalty ?? 1)
        )
        if let seed = kwargs?.seed { sampling.seed = UInt64(truncatingIfNeeded: seed) }
        if !doSample { sampling.temperature = 0 }
        // A rendered conversation holds its special tokens already (transformers: apply_chat_template, then
        // tokenize without adding them); a raw prompt gets them from the tokenizer, as the pipeline's does.
        let addSpecialTokens = body.prompt != nil
        let promptTokens = queue.bundle.tokenizer.encode(text, addSpecialTokens: addSpecialTokens).count
        let output = try await queue.generate(
            prompt: text,
            addSpecialTokens: addSpecialTokens,
            maxNewTokens: max(0, maxLength - promptTokens),
            sampling: sampling
        )
        return json(StringBody(key: "Result", value: fullText ? text + output.text : output.text))
    }

    /// The grammar a `response_format` asks for: `nil` for text; a 400 naming the schema keyword that is not
    /// supported, or saying how many tokens the shortest valid answer needs when `max_tokens` is fewer.
    static func structuredOutput(_ format: ResponseFormat?, maxTokens: Int) throws -> Grammar? {
        let grammar: Grammar
        switch format?.kind {
        case nil, .text?: return nil
        case .jsonObject?: grammar = JSONSchemaGrammar.anyObject()
        case .jsonSchema?:
            do {
                grammar = try JSONSchemaGrammar.grammar(for: format?.schema ?? .dict([]))
            } catch {
                throw Rejection(badRequest: "response_format.json_schema.schema\(error.pointer): \(error.message)")
            }
        }
        let automaton = GrammarAutomaton(grammar)
        let shortest = automaton.shortestCompletion(automaton.start)
        guard shortest <= maxTokens else {
            throw Rejection(
                badRequest: "max_tokens is \(maxTokens); the shortest answer valid under response_format needs up to "
                    + "\(shortest) tokens"
            )
        }
        return grammar
    }

    /// OpenAI `POST /v1/chat/completions` and `POST /v1/completions`, streaming as server-sent events.
    static func openAI(_ body: CompletionRequest, _ queue: GenerationQueue, chat: Bool) async throws -> Response {
        let strengths = try adapterStrengths(queue.bundle, model: body.model, lora: body.lora)
        let tooling = chat ? try ToolPlan.make(body, format: queue.bundle.toolCallFormat) : nil
        let prompt: String
        if chat {
            guard let messages = body.messages else { throw Rejection(invalid: .required, at: [.key("messages")]) }
            guard !messages.isEmpty else { throw Rejection(invalid: .nonEmptyList, at: [.key("messages")]) }
            prompt = try queue.bundle.prompt(messages: messages.map(\.value), tools: tooling?.tools)
        } else {
            guard let text = body.prompt else { throw Rejection(invalid: .required, at: [.key("prompt")]) }
            prompt = text
        }
        let maxTokens = body.maxTokens ?? 16
        let grammar = try tooling?.grammar ?? structuredOutput(body.responseFormat, maxTokens: maxTokens)
        let keepSpecialTokens = tooling?.keepsSpecialTokens ?? false
        var sampling = SamplingParameters(
            temperature: Float(body.temperature ?? 1),
            topK: body.topK ?? 0,
            topP: Float(body.topP ?? 1),
            minP: Float(body.minP ?? 0),
            repetitionPenalty: Float(body.repetitionPenalty ?? 1)
        )
        if let seed = body.seed { sampling.seed = UInt64(truncatingIfNeeded: seed) }
        let stop = body.stop
        let stream = body.stream ?? false
        let includeUsage = body.includeUsage
        let id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let created = Int(Date().timeIntervalSince1970)
        let model = body.model ?? queue.bundle.name
        let object = chat ? "chat.completion" : "text_completion"
        let choice: @Sendable (String?, FinishReason?, Bool) -> CompletionBody.Choice = { text, finish, delta in
            CompletionBody.Choice(
                text: chat ? (delta ? .delta(text) : .message(text)) : .text(text),
                finishReason: finish.map { $0 == .length ? "length" : "stop" }
            )
        }
        // `n` choices are `n` sequences batched together; choice 0 samples with the request's seed (so it is the
        // answer of `n = 1`), choice i with that seed plus i.
        let n = body.n ?? 1
        let samplings = (0..<n).map { i in
            var choiceSampling = sampling
            if i > 0 { choiceSampling.seed = (sampling.seed ?? Sampler.defaultSeed) &+ UInt64(i) }
            return choiceSampling
        }
        let frozenStop = stop
        let logprobs = body.logprobs
        let tokenizer = queue.bundle.tokenizer
        // Choice i of the request, generated with its admission.
        let generate:
            @Sendable (
                Int, GenerationQueue.Admission, @escaping @Sendable (String) -> Bool,
                (@Sendable (TokenLogprob) -> Void)?
            ) async throws -> GenerationQueue.Output = { i, admission, onText, onLogprob in
                try await queue.generate(
                    prompt: prompt,
                    addSpecialTokens: !chat,
                    maxNewTokens: maxTokens,
                    sampling: samplings[i],
                    stop: frozenStop,
                    strengths: strengths,
                    logprobs: logprobs,
                    grammar: grammar,
                    keepSpecialTokens: keepSpecialTokens,
                    admission: admission,
                    onText: onText,
                    onLogprob: onLogprob
                )
            }
        if !stream {
            let admissions = try (0..<n).map { _ in try queue.admit() }
            let outputs = try await withThrowingTaskGroup(of: (Int, GenerationQueue.Output).self) { group in
                for i in 0..<n {
                    group.addTask { (i, try await generate(i, admissions[i], { _ in true }, nil)) }
                }
                var outputs: [GenerationQueue.Output?] = Array(repeating: nil, count: n)
                for try await (i, output) in group { outputs[i] = output }
                return outputs.compactMap { $0 }
            }
            return json(
                CompletionBody(
                    id: id,
                    object: object,
                    created: created,
                    model: model,
                    choices: outputs.enumerated().map { i, output in
                        var c = choice(output.text, output.finish, false)
                        if let tooling {
                            let (content, calls) = tooling.read(output.text)
                            if !calls.isEmpty {
                                c = CompletionBody.Choice(
                                    text: .message(content),
                                    finishReason: "tool_calls",
                                    toolCalls: ToolPlan.bodies(calls, indexed: false)
                                )
                            }
                        }
                        c.index = i
                        if let entries = output.logprobs {
                            c.logprobs = choiceLogprobs(entries, chat: chat, tokenizer: tokenizer, offset: 0).body
                        }
                        return c
                    },
                    usage: .init(
                        promptTokens: outputs.first?.promptTokens ?? 0,
                        completionTokens: outputs.reduce(0) { $0 + $1.completionTokens }
                    )
                )
            )
        }
        // The places in the queue are taken now, so that a full queue answers 429 rather than a 200 stream cut short.
        let admissions = try (0..<n).map { _ in try queue.admit() }
        let (events, continuation) = AsyncStream<StreamEvent>.makeStream()
        let cancelled = CancelFlag()
        let chunkObject = chat ? "chat.completion.chunk" : "text_completion"
        let event: @Sendable (Int, CompletionBody.Choice) -> ByteBuffer = { index, choice in
            var choice = choice
            choice.index = index
            let chunk = CompletionBody(id: id, object: chunkObject, created: created, model: model, choices: [choice])
            return ByteBuffer(string: "data: " + String(decoding: encodeJSON(chunk), as: UTF8.self) + "\n\n")
        }
        let body = ResponseBody { writer in
            let generation = Task {
                defer { continuation.finish() }
                return try await withThrowingTaskGroup(of: (Int, GenerationQueue.Output).self) { group in
                    for i in 0..<n {
                        group.addTask {
                            let output = try await generate(
                                i,
                                admissions[i],
                                { piece in
                                    continuation.yield(.piece(i, piece))
                                    return !cancelled.isSet
                                },
                                { continuation.yield(.logprob(i, $0)) }
                            )
                            continuation.yield(.finish(i, output.finish))
                            return (i, output)
                        }
                    }
                    var outputs: [GenerationQueue.Output] = []
                    for try await (_, output) in group { outputs.append(output) }
                    return outputs
                }
            }
            do {
                // Each chunk carries the log-probabilities of the tokens since the previous one of its choice.
                var pending: [[TokenLogprob]] = Array(repeating: [], count: n)
                // With tools, each choice's text is held back and sent at its end as content or as tool calls.
                var held = Array(repeating: "", count: n)
                var offsets = Array(repeating: 0, count: n)
                func attach(_ i: Int, _ c: CompletionBody.Choice) -> CompletionBody.Choice {
                    guard logprobs != nil, !pending[i].isEmpty else { return c }
                    var c = c
                    let (body, offset) = choiceLogprobs(
                        pending[i],
                        chat: chat,
                        tokenizer: tokenizer,
                        offset: offsets[i]
                    )
                    c.logprobs = body
                    offsets[i] = offset
                    pending[i] = []
                    return c
                }
                for await item in events {
                    switch item {
                    case .logprob(let i, let entry): pending[i].append(entry)
                    case .piece(let i, let piece):
                        if tooling != nil {
                            held[i] += piece
                        } else {
                            try await writer.write(event(i, attach(i, choice(piece, nil, true))))
                        }
                    case .finish(let i, let finish):
                        var last = choice(nil, finish, true)
                        if let tooling {
                            let (content, calls) = tooling.read(held[i])
                            if calls.isEmpty {
                                if !held[i].isEmpty {
                                    try await writer.write(event(i, attach(i, choice(held[i], nil, true))))
                                }
                            } else {
                                var delta = CompletionBody.Choice(text: .delta(content))
                                delta.toolCalls = ToolPlan.bodies(calls, indexed: true)
                                try await writer.write(event(i, attach(i, delta)))
                                last.finishReason = "tool_calls"
                            }
                        }
                        try await writer.write(event(i, attach(i, last)))
                    }
                }
                let outputs = try await generation.value
                if includeUsage {
                    // OpenAI's `stream_options.include_usage`: one more chunk, no choices, the usage.
                    let usage = CompletionBody(
                        id: id,
                        object: chunkObject,
                        created: created,
                        model: model,
                        choices: [],
                        usage: .init(
                            promptTokens: outputs.first?.promptTokens ?? 0,
                            completionTokens: outputs.reduce(0) { $0 + $1.completionTokens }
                        )
                    )
                    try await writer.write(
                        ByteBuffer(string: "data: " + String(decoding: encodeJSON(usage), as: UTF8.self) + "\n\n")
                    )
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            } catch {
                // The client went away: stop generating.
                cancelled.set()
                _ = try? await generation.value
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: body
        )
    }

    /// What the generations of a streamed answer send to its writer.
    enum StreamEvent: Sendable {
        case piece(Int, String)
        case logprob(Int, TokenLogprob)
        case finish(Int, FinishReason)
    }

    /// A choice's `logprobs` for `entries` (each token's text is its own decoding), and the completion text offset
    /// after them (completions count offsets in the choice's text from `offset`).
    static func choiceLogprobs(
        _ entries: [TokenLogprob],
        chat: Bool,
        tokenizer: Tokenizer,
        offset: Int
    ) -> (body: CompletionBody.Logprobs, offset: Int) {
        func text(_ id: Int) -> String { tokenizer.decode([id]) }
        if chat {
            return (
                .chat(
                    entries.map { entry in
                        let token = text(entry.token)
                        return .init(
                            token: token,
                            logprob: entry.logprob,
                            bytes: Array(token.utf8),
                            topLogprobs: entry.top.map {
                                let alternative = text($0.token)
                                return .init(token: alternative, logprob: $0.logprob, bytes: Array(alternative.utf8))
                            }
                        )
                    }
                ),
                offset
            )
        }
        var offsets: [Int] = []
        var at = offset
        for entry in entries {
            offsets.append(at)
            at += text(entry.token).unicodeScalars.count
        }
        let top = entries.map { entry in
            Dictionary(entry.top.map { (text($0.token), $0.logprob) }, uniquingKeysWith: { first, _ in first })
        }
        return (
            .completion(
                tokens: entries.map { text($0.token) },
                logprobs: entries.map(\.logprob),
                top: top,
                offsets: offsets
            ),
            at
        )
    }
}

extension KaitoServeRoutes {
    /// vLLM's `POST /tokenize`: the token ids of a prompt (with the tokenizer's special tokens unless
    /// `add_special_tokens` is false) or of chat messages rendered by the chat template (without, unless true).
    static func tokenize(_ body: TokenizeRequest, _ queue: GenerationQueue) throws -> Response {
        _ = try adapterStrengths(queue.bundle, model: body.model, lora: nil)
        let text: String
        let special: Bool
        if let messages = body.messages {
            text = try queue.bundle.prompt(messages: messages.map(\.value))
            special = body.addSpecialTokens ?? false
        } else if let prompt = body.prompt {
            text = prompt
            special = body.addSpecialTokens ?? true
        } else {
            throw Rejection(invalid: .required, at: [.key("prompt")])
        }
        let tokens = queue.bundle.tokenizer.encode(text, addSpecialTokens: special)
        return json(TokenizeBody(count: tokens.count, maxModelLength: queue.bundle.model.contextLength, tokens: tokens))
    }

    /// vLLM's `POST /detokenize`: the text of token ids (special tokens included, as vLLM).
    static func detokenize(_ body: DetokenizeRequest, _ queue: GenerationQueue) throws -> Response {
        _ = try adapterStrengths(queue.bundle, model: body.model, lora: nil)
        let size = queue.bundle.tokenizer.vocabularySize
        if let bad = body.tokens.first(where: { !(0..<size).contains($0) }) {
            throw Rejection(
                .badRequest,
                OpenAIErrorBody(
                    error: .init(
                        message: "Token id \(bad) is out of vocabulary (0..<\(size)).",
                        type: "BadRequestError",
                        param: "tokens",
                        code: .number(400)
                    )
                )
            )
        }
        return json(DetokenizeBody(prompt: queue.bundle.tokenizer.decode(body.tokens)))
    }

    /// The adapter strengths a request asks for (docs/kaito-serve.md, "Adapters per request"); `nil`: the defaults.
    ///
    /// `model` names the base model (or is absent): every adapter at its default strength, Kaito's contract (the
    /// strength from the environment variable named after the adapter). `model` names an adapter: that adapter alone
    /// at its default strength, as vLLM serves an adapter by name. `lora` (llama.cpp's per-request form) sets the
    /// strengths itself: every adapter listed gets its scale, every other 0.
    ///
    /// - Throws: ``Rejection``: 404 for an unknown model, 400 for an unknown adapter id or a scale that is not finite.
    static func adapterStrengths(_ bundle: ModelBundle, model: String?, lora: [LoRAScale]?) throws -> [Float]? {
        let adapters = bundle.model.adapters
        var strengths: [Float]?
        if let model, model != bundle.name {
            guard let index = adapters.firstIndex(where: { $0.name == model }) else {
                throw Rejection(
                    .notFound,
                    OpenAIErrorBody(
                        error: .init(
                            message: "The model `\(model)` does not exist.",
                            type: "NotFoundError",
                            param: "model",
                            code: .number(404)
                        )
                    )
                )
            }
            var selected = [Float](repeating: 0, count: adapters.count)
            selected[index] = adapters[index].strength
            strengths = selected
        }
        guard let lora else { return strengths }
        func bad(_ message: String) -> Rejection {
            Rejection(
                .badRequest,
                OpenAIErrorBody(
                    error: .init(message: message, type: "BadRequestError", param: "lora", code: .number(400))
                )
            )
        }
        var listed = [Float](repeating: 0, count: adapters.count)
        for entry in lora {
            let index: Int
            switch entry.id {
            case .index(let i):
                guard adapters.indices.contains(i) else {
                    throw bad(
                        "Invalid adapter id \(i): the server has \(adapters.count) adapters (0..<\(adapters.count))."
                    )
                }
                index = i
            case .name(let name):
                guard let i = adapters.firstIndex(where: { $0.name == name }) else {
                    throw bad("Invalid adapter id \"\(name)\": no adapter of that name.")
                }
                index = i
            }
            guard entry.scale.isFinite else { throw bad("The scale of adapter \(index) must be a finite number.") }
            listed[index] = Float(entry.scale)
        }
        return listed
    }
}

/// A flag the HTTP side sets when a streaming client disconnects; the generation thread reads it between tokens.
final class CancelFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
