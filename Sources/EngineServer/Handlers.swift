internal import EngineText
internal import Foundation
internal import Hummingbird
internal import InferenceEngine
internal import Synchronization

extension KaitoServeRoutes {
    /// Kaito's `/chat` of the transformers runtime up to v0.8: `prompt` (or `messages`), `return_full_text`
    /// (default true) and `generate_kwargs` with Kaito's defaults (`max_length` 200 counting the prompt,
    /// `do_sample` true, `temperature` 1.0, `top_k` 10, `top_p` 1, `repetition_penalty` 1).
    static func kaitoChat(_ body: [String: Any], _ queue: GenerationQueue) async throws -> Response {
        let prompt = try string(body, "prompt")
        var text: String
        if let prompt {
            text = prompt
        } else if let messages = body["messages"] {
            guard let list = messages as? [[String: Any]] else { throw typeError("messages", "a valid list") }
            text = try queue.bundle.prompt(messages: list.map(templateValue))
        } else {
            throw Rejection(status: .badRequest, body: ["detail": "Text generation parameter prompt required"])
        }
        let fullText = try bool(body, "return_full_text") ?? true
        var kwargs: [String: Any] = [:]
        if let raw = body["generate_kwargs"], !(raw is NSNull) {
            guard let dictionary = raw as? [String: Any] else {
                throw typeError("generate_kwargs", "a valid dictionary")
            }
            kwargs = dictionary
        }
        let maxLength = try int(kwargs, "max_length") ?? 200
        let doSample = try bool(kwargs, "do_sample") ?? true
        var sampling = SamplingParameters(
            temperature: Float(try double(kwargs, "temperature") ?? 1),
            topK: try int(kwargs, "top_k") ?? 10,
            topP: Float(try double(kwargs, "top_p") ?? 1),
            repetitionPenalty: Float(try double(kwargs, "repetition_penalty") ?? 1)
        )
        if let seed = try int(kwargs, "seed") { sampling.seed = UInt64(truncatingIfNeeded: seed) }
        if !doSample { sampling.temperature = 0 }
        guard maxLength > 0 else { throw typeError("max_length", "greater than 0") }
        // A rendered conversation holds its special tokens already (transformers: apply_chat_template, then
        // tokenize without adding them); a raw prompt gets them from the tokenizer, as the pipeline's does.
        let addSpecialTokens = prompt != nil
        let promptTokens = queue.bundle.tokenizer.encode(text, addSpecialTokens: addSpecialTokens).count
        let output = try await queue.generate(
            prompt: text,
            addSpecialTokens: addSpecialTokens,
            maxNewTokens: max(0, maxLength - promptTokens),
            sampling: sampling
        )
        return json(["Result": fullText ? text + output.text : output.text])
    }

    static func templateValue(_ any: Any) -> TemplateValue {
        switch any {
        case let s as String: return .string(s)
        case let n as NSNumber:
            return isBoolean(n)
                ? .bool(n.boolValue) : (Int(exactly: n.doubleValue).map { .int($0) } ?? .double(n.doubleValue))
        case let l as [Any]: return .list(l.map(templateValue))
        case let d as [String: Any]:
            // Keep the conventional order of chat messages; other keys sorted.
            let order = ["role", "content", "name", "tool_calls", "tool_call_id"]
            let keys = d.keys.sorted {
                (order.firstIndex(of: $0) ?? order.count, $0) < (order.firstIndex(of: $1) ?? order.count, $1)
            }
            return .dict(keys.map { TemplateValue.Pair($0, templateValue(d[$0] as Any)) })
        default: return .none
        }
    }

    /// OpenAI `POST /v1/chat/completions` and `POST /v1/completions`, streaming as server-sent events.
    static func openAI(_ body: [String: Any], _ queue: GenerationQueue, chat: Bool) async throws -> Response {
        if let model = try string(body, "model"), model != queue.bundle.name {
            throw Rejection(
                status: .notFound,
                body: [
                    "error": [
                        "message": "The model `\(model)` does not exist.", "type": "NotFoundError", "param": "model",
                        "code": 404,
                    ]
                ]
            )
        }
        let prompt: String
        if chat {
            guard let messages = body["messages"] as? [[String: Any]], !messages.isEmpty else {
                throw typeError("messages", "a non-empty list")
            }
            prompt = try queue.bundle.prompt(messages: messages.map(templateValue))
        } else {
            guard let text = try string(body, "prompt") else { throw typeError("prompt", "a valid string") }
            prompt = text
        }
        let maxTokens = try int(body, "max_tokens") ?? int(body, "max_completion_tokens") ?? 16
        guard maxTokens >= 0 else { throw typeError("max_tokens", "greater than or equal to 0") }
        var sampling = SamplingParameters(
            temperature: Float(try double(body, "temperature") ?? 1),
            topK: try int(body, "top_k") ?? 0,
            topP: Float(try double(body, "top_p") ?? 1),
            minP: Float(try double(body, "min_p") ?? 0),
            repetitionPenalty: Float(try double(body, "repetition_penalty") ?? 1)
        )
        if let seed = try int(body, "seed") { sampling.seed = UInt64(truncatingIfNeeded: seed) }
        var stop: [String] = []
        if let s = body["stop"] as? String { stop = [s] } else if let list = body["stop"] as? [String] { stop = list }
        let stream = try bool(body, "stream") ?? false
        let id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let created = Int(Date().timeIntervalSince1970)
        let model = queue.bundle.name
        let object = chat ? "chat.completion" : "text_completion"
        let choice: @Sendable (String?, FinishReason?, Bool) -> [String: Any] = { text, finish, delta in
            var c: [String: Any] = [
                "index": 0, "finish_reason": finish.map { $0 == .length ? "length" : "stop" } ?? NSNull(),
            ]
            if chat {
                c[delta ? "delta" : "message"] = text.map { ["role": "assistant", "content": $0] } ?? [:]
            } else {
                c["text"] = text ?? ""
            }
            return c
        }
        let frozenSampling = sampling
        let frozenStop = stop
        if !stream {
            let output = try await queue.generate(
                prompt: prompt,
                addSpecialTokens: !chat,
                maxNewTokens: maxTokens,
                sampling: sampling,
                stop: stop
            )
            return json([
                "id": id, "object": object, "created": created, "model": model,
                "choices": [choice(output.text, output.finish, false)],
                "usage": [
                    "prompt_tokens": output.promptTokens, "completion_tokens": output.completionTokens,
                    "total_tokens": output.promptTokens + output.completionTokens,
                ],
            ])
        }
        // The place in the queue is taken now, so that a full queue answers 429 rather than a 200 stream cut short.
        let admission = try queue.admit()
        let (pieces, continuation) = AsyncStream<String>.makeStream()
        let cancelled = CancelFlag()
        let chunkObject = chat ? "chat.completion.chunk" : "text_completion"
        let event: @Sendable ([String: Any]) -> ByteBuffer = { payload in
            let data = (try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])) ?? Data()
            return ByteBuffer(string: "data: " + String(decoding: data, as: UTF8.self) + "\n\n")
        }
        let body = ResponseBody { writer in
            let generation = Task {
                defer { continuation.finish() }
                return try await queue.generate(
                    prompt: prompt,
                    addSpecialTokens: !chat,
                    maxNewTokens: maxTokens,
                    sampling: frozenSampling,
                    stop: frozenStop,
                    admission: admission
                ) { piece in
                    continuation.yield(piece)
                    return !cancelled.isSet
                }
            }
            do {
                for await piece in pieces {
                    try await writer.write(
                        event([
                            "id": id, "object": chunkObject, "created": created, "model": model,
                            "choices": [choice(piece, nil, true)],
                        ])
                    )
                }
                let output = try await generation.value
                try await writer.write(
                    event([
                        "id": id, "object": chunkObject, "created": created, "model": model,
                        "choices": [choice(nil, output.finish, true)],
                    ])
                )
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
}

/// A flag the HTTP side sets when a streaming client disconnects; the generation thread reads it between tokens.
final class CancelFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
