import EngineText
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import EngineServer

/// Request bodies decode through `Codable` types; a body that does not fit gets FastAPI's 422 shape with the field's
/// path and the expected type, a body that is not JSON a 400.
struct RequestBodyTests {
    func app() throws -> some ApplicationProtocol {
        let state = ModelState()
        state.ready(
            GenerationQueue(bundle: try ModelBundle(folder: ServerTests.folder.path, name: "tiny-chat"), capacity: 4)
        )
        return Application(router: KaitoServeRoutes.makeRouter(state: state))
    }

    @Test(
        arguments: [
            (
                "/chat", #"{"prompt": 12}"#,
                #"{"detail":[{"loc":["body","prompt"],"msg":"Input should be a valid string","type":"string_type"}]}"#
            ),
            (
                "/chat", #"{"prompt":"x","generate_kwargs":{"max_length":"long"}}"#,
                #"{"detail":[{"loc":["body","generate_kwargs","max_length"],"msg":"Input should be a valid integer","type":"int_type"}]}"#
            ),
            (
                "/chat", #"{"prompt":"x","generate_kwargs":{"max_length":0}}"#,
                #"{"detail":[{"loc":["body","generate_kwargs","max_length"],"msg":"Input should be greater than 0","type":"greater_than"}]}"#
            ),
            (
                "/chat", #"{"prompt":"x","generate_kwargs":[1]}"#,
                #"{"detail":[{"loc":["body","generate_kwargs"],"msg":"Input should be a valid dictionary","type":"dict_type"}]}"#
            ),
            (
                "/chat", #"{"prompt":"x","return_full_text":1}"#,
                #"{"detail":[{"loc":["body","return_full_text"],"msg":"Input should be a valid boolean","type":"bool_type"}]}"#
            ),
            (
                "/chat", "[1,2,3]",
                #"{"detail":[{"loc":["body"],"msg":"Input should be a valid dictionary","type":"dict_type"}]}"#
            ),
            (
                "/v1/chat/completions", #"{"messages":[{"role":"user","content":"hi"},"hello"]}"#,
                #"{"detail":[{"loc":["body","messages",1],"msg":"Input should be a valid dictionary","type":"dict_type"}]}"#
            ),
            (
                "/v1/chat/completions", #"{"messages":[]}"#,
                #"{"detail":[{"loc":["body","messages"],"msg":"List should have at least 1 item after validation, not 0","type":"too_short"}]}"#
            ),
            (
                "/v1/chat/completions", #"{"max_tokens":4}"#,
                #"{"detail":[{"loc":["body","messages"],"msg":"Field required","type":"missing"}]}"#
            ),
            (
                "/v1/completions", #"{"prompt":"x","max_tokens":2.5}"#,
                #"{"detail":[{"loc":["body","max_tokens"],"msg":"Input should be a valid integer","type":"int_type"}]}"#
            ),
            (
                "/v1/completions", #"{"prompt":"x","max_tokens":-3}"#,
                #"{"detail":[{"loc":["body","max_tokens"],"msg":"Input should be greater than or equal to 0","type":"greater_than_equal"}]}"#
            ),
            (
                "/v1/completions", #"{"prompt":"x","temperature":true}"#,
                #"{"detail":[{"loc":["body","temperature"],"msg":"Input should be a valid number","type":"float_type"}]}"#
            ),
            (
                "/v1/completions", #"{"prompt":"x","stop":[1]}"#,
                #"{"detail":[{"loc":["body","stop"],"msg":"Input should be a valid string or a list of strings","type":"union_type"}]}"#
            ),
            ("/v1/completions", "{not json", #"{"detail":"Invalid JSON body"}"#),
        ]
    )
    func rejectionNamesTheFieldAndTheType(_ route: String, _ body: String, _ expected: String) async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: route, method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == (expected.contains("Invalid JSON") ? .badRequest : .unprocessableContent))
                #expect(String(buffer: response.body) == expected)
            }
        }
    }

    @Test func wholeNumbersAreIntegersAndNullIsAbsent() throws {
        try KaitoServeRoutes.validateBody(
            Array(#"{"prompt":"x","max_tokens":4.0,"temperature":null,"stop":null,"seed":7}"#.utf8),
            route: "/v1/completions"
        )
    }

    @Test func depthIsCheckedBeforeParsing() {
        let deep = Array((#"{"prompt":"x","extra":"# + String(repeating: "[", count: 5000)).utf8)
        #expect(throws: RequestBodyError(.tooDeep(limit: 32))) {
            try KaitoServeRoutes.validateBody(deep, route: "/chat")
        }
        // Brackets inside strings do not count.
        let quoted = Array((#"{"prompt":""# + String(repeating: "[", count: 100) + #""}"#).utf8)
        #expect(throws: Never.self) { try KaitoServeRoutes.validateBody(quoted, route: "/chat") }
    }

    @Test func messagesKeepTheClientsKeyOrder() throws {
        let body = #"{"messages":[{"content":"hi","role":"user","zeta":1.0,"alpha":[2]}],"max_tokens":1}"#
        let request = try RequestDecoding.decode(CompletionRequest.self, from: Array(body.utf8), maxDepth: 32)
        let message = try #require(request.messages?.first?.value)
        guard case .dict(let pairs) = message else {
            Issue.record("not a dict: \(message)")
            return
        }
        #expect(pairs.map(\.key) == ["content", "role", "zeta", "alpha"])
        #expect(pairs[2].value == .double(1))
    }
}
