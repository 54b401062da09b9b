import Dispatch
import EngineServer
import EngineText
import Foundation
import Hummingbird
import HummingbirdTesting
import InferenceEngine
import Synchronization
import Testing

/// The HTTP contract of kaito-serve (issue 5) over the router test harness, on a tiny Llama with the
/// SentencePiece-style test tokenizer and a Phi-3 chat template (`scripts/make_engine_fixtures.py`).
struct ServerTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures/tiny-chat"
    )

    func app(
        ready: Bool = true,
        capacity: Int = 8,
        limits: ServerLimits = ServerLimits()
    ) throws -> some ApplicationProtocol {
        let state = ModelState()
        if ready {
            state.ready(
                GenerationQueue(
                    bundle: try ModelBundle(folder: Self.folder.path, name: "tiny-chat"),
                    capacity: capacity
                )
            )
        }
        return Application(router: KaitoServeRoutes.makeRouter(state: state, limits: limits))
    }

    func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test func healthIs503UntilTheModelIsLoaded() async throws {
        try await app(ready: false).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
        try await app().test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"Healthy"}"#)
            }
        }
    }

    @Test func kaitoChatAnswersWithResult() async throws {
        try await app().test(.router) { client in
            let body = #"{"prompt":"YOUR QUESTION HERE","generate_kwargs":{"max_length":24,"do_sample":false}}"#
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .ok)
                let result = try object(response.body)["Result"] as? String
                #expect(result?.hasPrefix("YOUR QUESTION HERE") == true, "return_full_text defaults to true")
                #expect((result?.count ?? 0) > "YOUR QUESTION HERE".count)
            }
            // The quick starts' exact body, with Kaito's defaults (sampling with top_k 10, max_length 200).
            try await client.execute(
                uri: "/chat",
                method: .post,
                body: ByteBuffer(string: #"{"prompt":"YOUR QUESTION HERE"}"#)
            ) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(string: #"{"generate_kwargs":{}}"#))
            { response in
                #expect(response.status == .badRequest)
                let detail = try object(response.body)["detail"] as? String
                #expect(detail == "Text generation parameter prompt required")
            }
        }
    }

    @Test func badRequestsGetTheirStatus() async throws {
        try await app(
            limits: {
                var l = ServerLimits()
                l.maxBodyBytes = 2048
                return l
            }()
        ).test(.router) { client in
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(string: "{not json")) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(string: #"{"prompt": 12}"#)) {
                response in
                #expect(response.status == .unprocessableContent)
            }
            try await client.execute(
                uri: "/v1/completions",
                method: .post,
                body: ByteBuffer(string: #"{"prompt":"x","max_tokens":-3}"#)
            ) { response in
                #expect(response.status == .unprocessableContent)
            }
            let huge = #"{"prompt":""# + String(repeating: "a", count: 4096) + #""}"#
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(string: huge)) { response in
                #expect(response.status == .contentTooLarge)
            }
            let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
            try await client.execute(
                uri: "/chat",
                method: .post,
                body: ByteBuffer(string: #"{"prompt":"x","extra":"# + deep + "}")
            ) { response in
                #expect(response.status == .unprocessableContent)
            }
            try await client.execute(
                uri: "/chat",
                method: .post,
                body: ByteBuffer(bytes: [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D])
            ) { response in
                #expect(response.status == .badRequest, "invalid UTF-8")
            }
            try await client.execute(
                uri: "/v1/chat/completions",
                method: .post,
                body: ByteBuffer(string: #"{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}"#)
            ) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    /// The prompt pipeline is transformers': a conversation is rendered by the chat template and tokenized without
    /// adding special tokens (`apply_chat_template`); a raw completion prompt gets the tokenizer's BOS.
    @Test func chatPromptsAreTokenizedWithoutAddedSpecialTokens() async throws {
        let bundle = try ModelBundle(folder: Self.folder.path, name: "tiny-chat")
        let rendered = try bundle.prompt(messages: [
            .dict([.init("role", .string("user")), .init("content", .string("Hello"))])
        ])
        let chatIDs = bundle.tokenizer.encode(rendered, addSpecialTokens: false)
        #expect(chatIDs.first != bundle.tokenizer.id(of: "<s>"))
        #expect(bundle.tokenizer.encode("Hello").first == bundle.tokenizer.id(of: "<s>"))
        try await app().test(.router) { client in
            let chat =
                #"{"model":"tiny-chat","messages":[{"role":"user","content":"Hello"}],"max_tokens":1,"temperature":0}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string: chat)) {
                response in
                let usage = try object(response.body)["usage"] as? [String: Any]
                #expect(usage?["prompt_tokens"] as? Int == chatIDs.count)
            }
            let completion = #"{"model":"tiny-chat","prompt":"Hello","max_tokens":1,"temperature":0}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: ByteBuffer(string: completion)) {
                response in
                let usage = try object(response.body)["usage"] as? [String: Any]
                #expect(usage?["prompt_tokens"] as? Int == bundle.tokenizer.encode("Hello").count)
            }
        }
    }

    @Test func openAIRoutes() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let data = try object(response.body)["data"] as? [[String: Any]]
                #expect(data?.first?["id"] as? String == "tiny-chat")
            }
            let chat =
                #"{"model":"tiny-chat","messages":[{"role":"user","content":"Hello"}],"max_tokens":6,"temperature":0}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string: chat)) {
                response in
                #expect(response.status == .ok)
                let body = try object(response.body)
                #expect(body["object"] as? String == "chat.completion")
                let usage = body["usage"] as? [String: Any]
                #expect(usage?["completion_tokens"] as? Int ?? 0 > 0)
            }
            let stream =
                #"{"model":"tiny-chat","messages":[{"role":"user","content":"Hello"}],"max_tokens":6,"temperature":0,"stream":true}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string: stream)) {
                response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let text = String(buffer: response.body)
                #expect(text.hasSuffix("data: [DONE]\n\n"))
                #expect(text.contains("chat.completion.chunk"))
            }
            try await client.execute(
                uri: "/v1/completions",
                method: .post,
                body: ByteBuffer(string: #"{"prompt":"Kaito runs","max_tokens":5,"temperature":0}"#)
            ) { response in
                #expect(response.status == .ok)
                let choices = try object(response.body)["choices"] as? [[String: Any]]
                #expect(choices?.first?["text"] is String)
            }
        }
    }

    @Test func aFullQueueAnswers429() async throws {
        try await app(capacity: 0).test(.router) { client in
            try await client.execute(
                uri: "/v1/completions",
                method: .post,
                body: ByteBuffer(string: #"{"prompt":"x","max_tokens":2}"#)
            ) { response in
                #expect(response.status == .tooManyRequests)
                let error = try object(response.body)["error"] as? [String: Any]
                #expect(error?["code"] as? String == "rate_limit_exceeded")
            }
        }
    }

    @Test func metricsUseVLLMNames() async throws {
        // docs/reference/inference.md section 2 ("Metrics"): KEDA reads vllm:num_requests_waiting, the gateway the
        // running/waiting gauges and kv_cache_usage_perc.
        try await app().test(.router) { client in
            let body = #"{"prompt":"YOUR QUESTION HERE","generate_kwargs":{"max_length":30,"do_sample":false}}"#
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(string: body)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                let text = String(buffer: response.body)
                for line in [
                    #"vllm:num_requests_running{model_name="tiny-chat"} 0.0"#,
                    #"vllm:num_requests_waiting{model_name="tiny-chat"} 0.0"#,
                    #"vllm:request_success_total{finished_reason="length",model_name="tiny-chat"} 1"#,
                    #"vllm:time_to_first_token_seconds_count{model_name="tiny-chat"} 1"#,
                    #"vllm:e2e_request_latency_seconds_count{model_name="tiny-chat"} 1"#,
                    "# TYPE vllm:kv_cache_usage_perc gauge",
                    #"vllm:lora_requests_info{max_lora="0",running_lora_adapters="",waiting_lora_adapters=""}"#,
                ] {
                    #expect(text.contains(line), "missing \(line)")
                }
                let prompt = text.split(separator: "\n").first { $0.hasPrefix("vllm:prompt_tokens_total{") }
                let generated = text.split(separator: "\n").first { $0.hasPrefix("vllm:generation_tokens_total{") }
                let promptTokens = Int(prompt?.split(separator: " ").last ?? "") ?? 0
                #expect(promptTokens > 0)
                #expect(
                    Int(generated?.split(separator: " ").last ?? "") == 30 - promptTokens,
                    "max_length counts the prompt"
                )
            }
        }
    }

    @Test func cancellingARequestStopsItsGeneration() async throws {
        // A client that goes away cancels its handler task; generation stops at the next token and counts as abort.
        // One sequence at a time, so that the second request waits.
        let queue = try GenerationQueue(
            bundle: try ModelBundle(folder: Self.folder.path, name: "tiny-chat"),
            capacity: 4,
            limits: SchedulerLimits(maxSequences: 1)
        )
        let produced = Counter()
        // The third token's callback holds the engine until the test has cancelled, so that the 200 tokens cannot
        // all come out first on a busy machine.
        let gate = DispatchSemaphore(value: 0)
        let task = Task {
            try await queue.generate(prompt: "Hello", maxNewTokens: 200, sampling: .greedy) { _ in
                produced.add()
                if produced.value == 3 { _ = gate.wait(timeout: .now() + 60) }
                return true
            }
        }
        while produced.value < 3 { try await Task.sleep(for: .milliseconds(5)) }
        // Cancelled while waiting behind the running one: never runs.
        let waiting = Task {
            try await queue.generate(prompt: "Hello", maxNewTokens: 5, sampling: .greedy)
        }
        while queue.load.waiting == 0 { try await Task.sleep(for: .milliseconds(1)) }
        waiting.cancel()
        task.cancel()
        gate.signal()
        let output = try await task.value
        #expect(output.finish == .cancelled)
        #expect(output.completionTokens < 200, "stopped early: \(output.completionTokens) tokens")
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(
            queue.metrics.render().contains(
                #"vllm:request_success_total{finished_reason="abort",model_name="tiny-chat"} 2"#
            )
        )
        #expect(queue.load.running == 0 && queue.load.waiting == 0)
    }

    @Test func adaptersChangeTheAnswerAsTheirStrengthsSay() throws {
        // Kaito's contract (docs/reference/inference.md section 1.5): strength 0 serves the base model exactly.
        let directory = Self.folder.deletingLastPathComponent().appendingPathComponent("adapters").path
        func answer(_ environment: [String: String]) throws -> String {
            let adapters = try LoRAAdapter.loadAll(directory: directory, environment: environment)
            let bundle = try ModelBundle(folder: Self.folder.path, name: "tiny-chat", adapters: adapters)
            var cache = bundle.model.makeCache()
            let logits = try bundle.model.prefill(bundle.tokenizer.encode("Hello there"), cache: &cache)
            return logits.prefix(8).map { String(format: "%.4f", $0) }.joined(separator: " ")
        }
        let base = try answer(["tone-adapter": "0", "style-adapter": "0"])
        let bundle = try ModelBundle(folder: Self.folder.path, name: "tiny-chat")
        var cache = bundle.model.makeCache()
        let plain = try bundle.model.prefill(bundle.tokenizer.encode("Hello there"), cache: &cache)
        #expect(base == plain.prefix(8).map { String(format: "%.4f", $0) }.joined(separator: " "))
        #expect(try answer(["tone-adapter": "1", "style-adapter": "0"]) != base)
        let toneOnly = try answer(["tone-adapter": "1", "style-adapter": "0"])
        #expect(try answer(["tone-adapter": "1"]) != toneOnly, "an adapter without its variable has strength 1.0")
    }
}

/// A thread-safe count for callbacks on the generation thread.
final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add() { count.withLock { $0 += 1 } }
}
