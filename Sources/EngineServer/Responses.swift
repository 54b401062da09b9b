internal import Foundation
internal import Hummingbird

/// `{"detail": …}`: FastAPI's error body, a message or a list of validation errors.
struct DetailBody: Encodable, Sendable {
    /// One pydantic validation error.
    struct Item: Encodable, Sendable {
        /// `"body"` then the path of keys and indexes to the value.
        var loc: [LocationComponent]
        var msg: String
        var type: String
    }

    /// A key (JSON string) or an index (JSON number) of `loc`.
    enum LocationComponent: Encodable, Sendable {
        case key(String)
        case index(Int)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .key(let key): try container.encode(key)
            case .index(let index): try container.encode(index)
            }
        }
    }

    enum Detail: Sendable {
        case message(String)
        case items([Item])
    }

    var detail: Detail

    enum CodingKeys: String, CodingKey { case detail }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch detail {
        case .message(let message): try container.encode(message, forKey: .detail)
        case .items(let items): try container.encode(items, forKey: .detail)
        }
    }

    /// A message body.
    init(_ message: String) { detail = .message(message) }

    /// The validation error of a request body that does not decode.
    init(invalid expected: RequestBodyError.Expectation, at path: [RequestBodyError.PathComponent]) {
        let loc =
            [LocationComponent.key("body")]
            + path.map { component in
                switch component {
                case .key(let key): .key(key)
                case .index(let index): .index(index)
                }
            }
        detail = .items([Item(loc: loc, msg: expected.message, type: expected.type)])
    }
}

/// OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`.
struct OpenAIErrorBody: Encodable, Sendable {
    /// OpenAI's `code`: a number or a string.
    enum Code: Encodable, Sendable {
        case number(Int)
        case text(String)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .number(let number): try container.encode(number)
            case .text(let text): try container.encode(text)
            }
        }
    }

    struct Content: Encodable, Sendable {
        var message: String
        var type: String
        var param: String?
        var code: Code

        enum CodingKeys: String, CodingKey { case message, type, param, code }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(message, forKey: .message)
            try container.encode(type, forKey: .type)
            try container.encode(param, forKey: .param)  // `null` when absent, as OpenAI writes it
            try container.encode(code, forKey: .code)
        }
    }

    var error: Content
}

/// `{"status": "Healthy"}`, `{"message": …}`, `{"Result": …}`: one string under one key.
struct StringBody: Encodable, Sendable {
    var key: String
    var value: String

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(value, forKey: AnyKey(stringValue: key))
    }
}

/// `GET /v1/models`.
struct ModelList: Encodable, Sendable {
    struct Model: Encodable, Sendable {
        var id: String
        var object = "model"
        var created = 0
        var ownedBy = "kaito"
        var root: String
        var parent: String?
        var maxModelLength: Int

        enum CodingKeys: String, CodingKey {
            case id, object, created, root, parent
            case ownedBy = "owned_by"
            case maxModelLength = "max_model_len"
        }
    }

    var object = "list"
    var data: [Model]
}

/// vLLM's answer to `POST /tokenize`.
struct TokenizeBody: Encodable, Sendable {
    var count: Int
    var maxModelLength: Int
    var tokens: [Int]

    enum CodingKeys: String, CodingKey {
        case count, tokens
        case maxModelLength = "max_model_len"
    }
}

/// vLLM's answer to `POST /detokenize`.
struct DetokenizeBody: Encodable, Sendable {
    var prompt: String
}

/// An OpenAI completion, chat completion or streamed chunk of either.
struct CompletionBody: Encodable, Sendable {
    /// The text of a choice: a chat message (`message`, or `delta` when streaming) or a completion's `text`.
    enum ChoiceText: Sendable {
        case message(String?)
        case delta(String?)
        case text(String?)
    }

    struct Choice: Encodable, Sendable {
        var index = 0
        var text: ChoiceText
        /// `"stop"`, `"length"`, or `null` until the last chunk.
        var finishReason: String?
        /// The tokens' log-probabilities, when asked for.
        var logprobs: Logprobs?
        /// The function calls of a chat answer (its content then holds the text before them, or `null`).
        var toolCalls: [ToolCallBody]?

        enum CodingKeys: String, CodingKey {
            case index, message, delta, text, logprobs
            case finishReason = "finish_reason"
        }

        struct Message: Encodable, Sendable {
            var role = "assistant"
            var content: String?
            var toolCalls: [ToolCallBody]?

            enum CodingKeys: String, CodingKey {
                case role, content
                case toolCalls = "tool_calls"
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(role, forKey: .role)
                try container.encode(content, forKey: .content)  // `null` beside tool calls
                if let toolCalls { try container.encode(toolCalls, forKey: .toolCalls) }
            }
        }

        /// One function call: OpenAI's `{"id", "type": "function", "function": {"name", "arguments"}}` (`index` in
        /// streamed deltas).
        struct ToolCallBody: Encodable, Sendable {
            struct Function: Encodable, Sendable {
                var name: String
                var arguments: String
            }

            var index: Int?
            var id: String
            var type = "function"
            var function: Function
        }

        struct Empty: Encodable, Sendable {}

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(index, forKey: .index)
            try container.encode(finishReason, forKey: .finishReason)  // `null` until the end
            if let logprobs { try container.encode(logprobs, forKey: .logprobs) }
            switch text {
            case .message(let content):
                if content != nil || toolCalls != nil {
                    try container.encode(Message(content: content, toolCalls: toolCalls), forKey: .message)
                } else {
                    try container.encode(Empty(), forKey: .message)
                }
            case .delta(let content):
                if content != nil || toolCalls != nil {
                    try container.encode(Message(content: content, toolCalls: toolCalls), forKey: .delta)
                } else {
                    try container.encode(Empty(), forKey: .delta)
                }
            case .text(let text):
                try container.encode(text ?? "", forKey: .text)
            }
        }
    }

    /// Log-probabilities of a choice's tokens: a chat's `{"content": [...]}` or a completion's parallel lists.
    enum Logprobs: Encodable, Sendable {
        struct Alternative: Encodable, Sendable {
            var token: String
            var logprob: Double
            var bytes: [UInt8]
        }

        struct Entry: Encodable, Sendable {
            var token: String
            var logprob: Double
            var bytes: [UInt8]
            var topLogprobs: [Alternative]

            enum CodingKeys: String, CodingKey {
                case token, logprob, bytes
                case topLogprobs = "top_logprobs"
            }
        }

        case chat([Entry])
        case completion(tokens: [String], logprobs: [Double], top: [[String: Double]], offsets: [Int])

        enum CodingKeys: String, CodingKey {
            case content, tokens
            case tokenLogprobs = "token_logprobs"
            case topLogprobs = "top_logprobs"
            case textOffset = "text_offset"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .chat(let entries):
                try container.encode(entries, forKey: .content)
            case .completion(let tokens, let logprobs, let top, let offsets):
                try container.encode(tokens, forKey: .tokens)
                try container.encode(logprobs, forKey: .tokenLogprobs)
                try container.encode(top, forKey: .topLogprobs)
                try container.encode(offsets, forKey: .textOffset)
            }
        }
    }

    struct Usage: Encodable, Sendable {
        var promptTokens: Int
        var completionTokens: Int
        var totalTokens: Int { promptTokens + completionTokens }

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(promptTokens, forKey: .promptTokens)
            try container.encode(completionTokens, forKey: .completionTokens)
            try container.encode(totalTokens, forKey: .totalTokens)
        }
    }

    var id: String
    var object: String
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
}

extension KaitoServeRoutes {
    /// The JSON encoding of every response: sorted keys, slashes unescaped.
    static func encodeJSON(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these value types cannot fail: no floats, no non-string keys.
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: encodeJSON(value)))
        )
    }

    /// `{"detail": message}`.
    static func detail(_ message: String, status: HTTPResponse.Status) -> Response {
        json(DetailBody(message), status: status)
    }
}
