import EngineServer
import EngineText
import Foundation
import Hummingbird
import HummingbirdTesting
import InferenceEngine
import Testing

/// What an OpenAI-compatible server is also expected to answer (issue 11, item 6): `stream_options.include_usage`,
/// and vLLM's `/tokenize` and `/detokenize`.
struct OpenAIExtrasTests {
    func app() throws -> some ApplicationProtocol {
        let state = ModelState()
        state.ready(
            GenerationQueue(bundle: try ModelBundle(folder: ServerTests.folder.path, name: "tiny-chat"), capacity: 4)
        )
        return Application(router: KaitoServeRoutes.makeRouter(state: state))
    }

    func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test func streamOptionsIncludeUsageAddsALastChunkWithTheUsage() async throws {
        try await app().test(.router) { client in
            let request = #"{"prompt":"Kaito runs","max_tokens":6,"temperature":0"#
            let whole = try await client.execute(
                uri: "/v1/completions",
                method: .post,
                body: ByteBuffer(string: request + "}")
            ) { try object($0.body)["usage"] as? [String: Int] }
            let streamed = try await client.execute(
                uri: "/v1/completions",
                method: .post,
                body: ByteBuffer(string: request + #","stream":true,"stream_options":{"include_usage":true}}"#)
            ) { String(buffer: $0.body) }
            let events = streamed.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.last == "data: [DONE]")
            let last = try #require(events.dropLast().last)
            let chunk = try #require(
                try JSONSerialization.jsonObject(with: Data(last.dropFirst("data: ".count).utf8)) as? [String: Any]
            )
            #expect((chunk["choices"] as? [Any])?.isEmpty == true)
            #expect(chunk["usage"] as? [String: Int] == whole)
            // Without the option, no usage chunk.
            let plain = try await client.execute(
                uri: "/v1/completions",
                method: .post,
                body: ByteBuffer(string: request + #","stream":true}"#)
            ) { String(buffer: $0.body) }
            #expect(!plain.contains(#""usage""#))
        }
    }

    @Test func nChoicesAreSequencesBatchedTogether() async throws {
        try await app().test(.router) { client in
            let request = #"{"prompt":"Kaito runs","max_tokens":8,"temperature":1.5,"seed":7"#
            func texts(_ body: [String: Any]) -> [String] {
                ((body["choices"] as? [[String: Any]]) ?? []).compactMap { $0["text"] as? String }
            }
            let one = try await client.execute(
                uri: "/v1/completions",
                method: .post,
                body: ByteBuffer(string: request + "}")
            ) { try object($0.body) }
            let three = try await client.execute(
                uri: "/v1/completions",
                method: .post,
                body: ByteBuffer(string: request + #","n":3}"#)
            ) { try object($0.body) }
            let choices = try #require(three["choices"] as? [[String: Any]])
            #expect(choices.map { $0["index"] as? Int } == [0, 1, 2])
            #expect(texts(three).first == texts(one).first, "choice 0 samples with the request's seed")
            #expect(Set(texts(three)).count > 1, "the other choices sample with their own seeds")
            let usage = try #require(three["usage"] as? [String: Int])
            #expect(usage["prompt_tokens"] == (one["usage"] as? [String: Int])?["prompt_tokens"])
            // Streamed: each choice's pieces under its index, one finish chunk per choice, the same texts.
            let streamed = try await client.execute(
                uri: "/v1/completions",
                method: .post,
                body: ByteBuffer(string: request + #","n":3,"stream":true}"#)
            ) { String(buffer: $0.body) }
            var pieces = ["", "", ""]
            var finishes = 0
            for event in streamed.components(separatedBy: "\n\n") where event.hasPrefix("data: {") {
                let chunk = try #require(
                    try JSONSerialization.jsonObject(with: Data(event.dropFirst("data: ".count).utf8))
                        as? [String: Any]
                )
                for choice in (chunk["choices"] as? [[String: Any]]) ?? [] {
                    let index = try #require(choice["index"] as? Int)
                    pieces[index] += choice["text"] as? String ?? ""
                    if choice["finish_reason"] as? String != nil { finishes += 1 }
                }
            }
            #expect(pieces == texts(three))
            #expect(finishes == 3)
            let (status, _) = try await client.execute(
                uri: "/v1/completions",
                method: .post,
                body: ByteBuffer(string: #"{"prompt":"x","n":0}"#)
            ) { ($0.status, 0) }
            #expect(status == .unprocessableContent)
        }
    }

    @Test func logprobsAreTheModelsLogSoftmax() async throws {
        let bundle = try ModelBundle(folder: ServerTests.folder.path, name: "tiny-chat")
        let prompt = bundle.tokenizer.encode("Kaito runs")
        var cache = bundle.model.makeCache()
        let logits = try bundle.model.prefill(prompt, cache: &cache).map(Double.init)
        let maximum = logits.max() ?? 0
        let normalizer = maximum + log(logits.reduce(0) { $0 + exp($1 - maximum) })
        let first = logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) } ?? 0
        try await app().test(.router) { client in
            let completion = try await client.execute(
                uri: "/v1/completions",
                method: .post,
                body: ByteBuffer(string: #"{"prompt":"Kaito runs","max_tokens":5,"temperature":0,"logprobs":2}"#)
            ) { try object($0.body) }
            let choice = try #require((completion["choices"] as? [[String: Any]])?.first)
            let logprobs = try #require(choice["logprobs"] as? [String: Any])
            let values = try #require(logprobs["token_logprobs"] as? [Double])
            let tops = try #require(logprobs["top_logprobs"] as? [[String: Double]])
            let tokens = try #require(logprobs["tokens"] as? [String])
            #expect(values.count == (completion["usage"] as? [String: Int])?["completion_tokens"])
            #expect(abs(values[0] - (logits[first] - normalizer)) < 1e-6, "the first token's log-softmax")
            #expect(tokens[0] == bundle.tokenizer.decode([first]))
            for (value, top) in zip(values, tops) {
                #expect(top.count <= 2 && !top.isEmpty)
                #expect(value == top.values.max(), "greedy picks the most likely token")
            }
            #expect((logprobs["text_offset"] as? [Int])?.first == 0)
            // Chat: a flag and top_logprobs; streamed, the chunks carry the same entries.
            let chat =
                #"{"messages":[{"role":"user","content":"Hi"}],"max_tokens":5,"temperature":0,"logprobs":true,"top_logprobs":3"#
            let whole = try await client.execute(
                uri: "/v1/chat/completions",
                method: .post,
                body: ByteBuffer(string: chat + "}")
            ) { try object($0.body) }
            let content = try #require(
                ((whole["choices"] as? [[String: Any]])?.first?["logprobs"] as? [String: Any])?["content"]
                    as? [[String: Any]]
            )
            #expect(content.count == (whole["usage"] as? [String: Int])?["completion_tokens"])
            #expect(content.allSatisfy { ($0["top_logprobs"] as? [Any])?.count == 3 })
            let streamed = try await client.execute(
                uri: "/v1/chat/completions",
                method: .post,
                body: ByteBuffer(string: chat + #","stream":true}"#)
            ) { String(buffer: $0.body) }
            var streamedContent: [[String: Any]] = []
            for event in streamed.components(separatedBy: "\n\n") where event.hasPrefix("data: {") {
                let chunk = try #require(
                    try JSONSerialization.jsonObject(with: Data(event.dropFirst("data: ".count).utf8))
                        as? [String: Any]
                )
                for choice in (chunk["choices"] as? [[String: Any]]) ?? [] {
                    streamedContent += ((choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]]) ?? []
                }
            }
            #expect(streamedContent.map { $0["token"] as? String } == content.map { $0["token"] as? String })
            #expect(streamedContent.map { $0["logprob"] as? Double } == content.map { $0["logprob"] as? Double })
            for bad in [#""logprobs":true,"top_logprobs":21"#, #""logprobs":-1"#] {
                let status = try await client.execute(
                    uri: "/v1/chat/completions",
                    method: .post,
                    body: ByteBuffer(string: #"{"messages":[{"role":"user","content":"Hi"}],"# + bad + "}")
                ) { $0.status }
                #expect(status == .unprocessableContent, "\(bad)")
            }
            // Without the field, no logprobs key at all.
            let plain = try await client.execute(
                uri: "/v1/completions",
                method: .post,
                body: ByteBuffer(string: #"{"prompt":"Kaito runs","max_tokens":2,"temperature":0}"#)
            ) { String(buffer: $0.body) }
            #expect(!plain.contains("logprobs"))
        }
    }

    @Test func tokenizeAndDetokenizeAsVLLM() async throws {
        let bundle = try ModelBundle(folder: ServerTests.folder.path, name: "tiny-chat")
        let ids = bundle.tokenizer.encode("Hello there")
        let rendered = try bundle.prompt(messages: [
            .dict([.init("role", .string("user")), .init("content", .string("Hello"))])
        ])
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/tokenize",
                method: .post,
                body: ByteBuffer(string: #"{"model":"tiny-chat","prompt":"Hello there"}"#)
            ) { response in
                let body = try object(response.body)
                let length = bundle.model.contextLength
                #expect(body["tokens"] as? [Int] == ids)
                #expect(body["count"] as? Int == ids.count)
                #expect(body["max_model_len"] as? Int == length)
            }
            try await client.execute(
                uri: "/tokenize",
                method: .post,
                body: ByteBuffer(string: #"{"messages":[{"role":"user","content":"Hello"}]}"#)
            ) { response in
                let tokens = try object(response.body)["tokens"] as? [Int]
                #expect(tokens == bundle.tokenizer.encode(rendered, addSpecialTokens: false))
            }
            let plain = bundle.tokenizer.encode("Hello there", addSpecialTokens: false)
            try await client.execute(
                uri: "/detokenize",
                method: .post,
                body: ByteBuffer(string: #"{"tokens":\#(plain)}"#)
            ) { response in
                let prompt = try object(response.body)["prompt"] as? String
                #expect(prompt == "Hello there")
            }
            try await client.execute(
                uri: "/detokenize",
                method: .post,
                body: ByteBuffer(string: #"{"tokens":[1,99999]}"#)
            ) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/detokenize", method: .post, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .unprocessableContent)
            }
            try await client.execute(uri: "/tokenize", method: .post, body: ByteBuffer(string: #"{"model":"x"}"#)) {
                response in
                #expect(response.status == .notFound)
            }
        }
    }
}
