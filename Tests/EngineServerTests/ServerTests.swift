import EngineServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The HTTP contract of kaito-serve (issue 5) over the router test harness, on a tiny Llama with the
/// SentencePiece-style test tokenizer and a Phi-3 chat template (`scripts/make_engine_fixtures.py`).
struct ServerTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tiny-chat")

    func app(ready: Bool = true, capacity: Int = 8, limits: ServerLimits = ServerLimits()) throws -> some ApplicationProtocol {
        let state = ModelState()
        if ready { state.ready(GenerationQueue(bundle: try ModelBundle(folder: Self.folder.path, name: "tiny-chat"), capacity: capacity)) }
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
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(string: #"{"prompt":"YOUR QUESTION HERE"}"#)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(string: #"{"generate_kwargs":{}}"#)) { response in
                #expect(response.status == .badRequest)
                let detail = try object(response.body)["detail"] as? String
                #expect(detail == "Text generation parameter prompt required")
            }
        }
    }

    @Test func badRequestsGetTheirStatus() async throws {
        try await app(limits: { var l = ServerLimits(); l.maxBodyBytes = 2048; return l }()).test(.router) { client in
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(string: "{not json")) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(string: #"{"prompt": 12}"#)) { response in
                #expect(response.status == .unprocessableContent)
            }
            try await client.execute(uri: "/v1/completions", method: .post, body: ByteBuffer(string: #"{"prompt":"x","max_tokens":-3}"#)) { response in
                #expect(response.status == .unprocessableContent)
            }
            let huge = #"{"prompt":""# + String(repeating: "a", count: 4096) + #""}"#
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(string: huge)) { response in
                #expect(response.status == .contentTooLarge)
            }
            let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(string: #"{"prompt":"x","extra":"# + deep + "}")) { response in
                #expect(response.status == .unprocessableContent)
            }
            try await client.execute(uri: "/chat", method: .post, body: ByteBuffer(bytes: [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D])) { response in
                #expect(response.status == .badRequest, "invalid UTF-8")
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string: #"{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}"#)) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func openAIRoutes() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let data = try object(response.body)["data"] as? [[String: Any]]
                #expect(data?.first?["id"] as? String == "tiny-chat")
            }
            let chat = #"{"model":"tiny-chat","messages":[{"role":"user","content":"Hello"}],"max_tokens":6,"temperature":0}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string: chat)) { response in
                #expect(response.status == .ok)
                let body = try object(response.body)
                #expect(body["object"] as? String == "chat.completion")
                let usage = body["usage"] as? [String: Any]
                #expect(usage?["completion_tokens"] as? Int ?? 0 > 0)
            }
            let stream = #"{"model":"tiny-chat","messages":[{"role":"user","content":"Hello"}],"max_tokens":6,"temperature":0,"stream":true}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: ByteBuffer(string: stream)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let text = String(buffer: response.body)
                #expect(text.hasSuffix("data: [DONE]\n\n"))
                #expect(text.contains("chat.completion.chunk"))
            }
            try await client.execute(uri: "/v1/completions", method: .post, body: ByteBuffer(string: #"{"prompt":"Kaito runs","max_tokens":5,"temperature":0}"#)) { response in
                #expect(response.status == .ok)
                let choices = try object(response.body)["choices"] as? [[String: Any]]
                #expect(choices?.first?["text"] is String)
            }
        }
    }

    @Test func aFullQueueAnswers429() async throws {
        try await app(capacity: 0).test(.router) { client in
            try await client.execute(uri: "/v1/completions", method: .post, body: ByteBuffer(string: #"{"prompt":"x","max_tokens":2}"#)) { response in
                #expect(response.status == .tooManyRequests)
                let error = try object(response.body)["error"] as? [String: Any]
                #expect(error?["code"] as? String == "rate_limit_exceeded")
            }
        }
    }
}
