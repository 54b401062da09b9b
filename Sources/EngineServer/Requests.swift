internal import EngineText
internal import Foundation

/// Why a request body did not decode: where, and what was expected there.
///
/// The HTTP layer answers these with pydantic's (FastAPI's) validation error shape, as Kaito's runtimes do:
/// `{"detail": [{"loc": ["body", "generate_kwargs", "max_length"], "msg": "Input should be a valid integer",
/// "type": "int_type"}]}`.
public struct RequestBodyError: Error, Sendable, Hashable {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// The body is not JSON (or not UTF-8).
        case invalidJSON
        /// The body nests arrays and objects deeper than the limit.
        case tooDeep(limit: Int)
        /// A value has the wrong type or is out of range; `expected` is the requirement.
        case invalid(expected: Expectation)
    }

    /// What a field must be.
    public enum Expectation: Sendable, Hashable {
        case required
        case integer
        case number
        case boolean
        case string
        case list
        case dictionary
        case stringOrList
        case stringOrDictionary
        case nonEmptyList
        case greaterThan(Int)
        case greaterThanOrEqual(Int)
        case oneOf([String])
        case lessThanOrEqual(Int)

        /// pydantic's message: "Input should be …".
        public var message: String {
            switch self {
            case .required: "Field required"
            case .integer: "Input should be a valid integer"
            case .number: "Input should be a valid number"
            case .boolean: "Input should be a valid boolean"
            case .string: "Input should be a valid string"
            case .list: "Input should be a valid list"
            case .dictionary: "Input should be a valid dictionary"
            case .stringOrList: "Input should be a valid string or a list of strings"
            case .stringOrDictionary: "Input should be a valid string or a valid dictionary"
            case .nonEmptyList: "List should have at least 1 item after validation, not 0"
            case .greaterThan(let bound): "Input should be greater than \(bound)"
            case .greaterThanOrEqual(let bound): "Input should be greater than or equal to \(bound)"
            case .oneOf(let values):
                "Input should be " + values.dropLast().map { "'\($0)'" }.joined(separator: ", ")
                    + " or '\(values.last ?? "")'"
            case .lessThanOrEqual(let bound): "Input should be less than or equal to \(bound)"
            }
        }

        /// pydantic's error type (`int_type`, `greater_than`, …).
        public var type: String {
            switch self {
            case .required: "missing"
            case .integer: "int_type"
            case .number: "float_type"
            case .boolean: "bool_type"
            case .string: "string_type"
            case .list: "list_type"
            case .dictionary: "dict_type"
            case .stringOrList, .stringOrDictionary: "union_type"
            case .nonEmptyList: "too_short"
            case .greaterThan: "greater_than"
            case .greaterThanOrEqual: "greater_than_equal"
            case .oneOf: "enum"
            case .lessThanOrEqual: "less_than_equal"
            }
        }
    }

    /// One step of the path to the offending value: an object key or an array index.
    public enum PathComponent: Sendable, Hashable, CustomStringConvertible {
        case key(String)
        case index(Int)

        /// The key, or the index in decimal.
        public var description: String {
            switch self {
            case .key(let key): key
            case .index(let index): String(index)
            }
        }
    }

    /// What went wrong.
    public var kind: Kind
    /// The path from the body's root to the value (empty for the body itself).
    public var path: [PathComponent]

    /// Creates an error at `path`.
    public init(_ kind: Kind, at path: [PathComponent] = []) {
        self.kind = kind
        self.path = path
    }
}

/// A JSON request body decoded into `Body` with located, typed errors.
enum RequestDecoding {
    /// Decodes `bytes` as JSON into `Body`.
    ///
    /// - Parameters:
    ///   - body: The type of the body.
    ///   - bytes: The raw request body.
    ///   - maxDepth: The deepest nesting of arrays and objects accepted.
    /// - Returns: The decoded body.
    /// - Throws: ``RequestBodyError``: `.tooDeep` past `maxDepth` (checked before parsing, so parsing is bounded),
    ///   `.invalidJSON` for bytes that are not JSON, `.invalid` with the path and requirement of the first field that
    ///   does not fit.
    static func decode<Body: Decodable>(
        _ body: Body.Type,
        from bytes: some Collection<UInt8>,
        maxDepth: Int
    ) throws(RequestBodyError) -> Body {
        let data = Data(bytes)
        guard nestingDepth(of: data) <= maxDepth else { throw RequestBodyError(.tooDeep(limit: maxDepth)) }
        do {
            let decoded = try JSONDecoder().decode(Body.self, from: data)
            // Chat messages keep the client's key order, as transformers does (a template's `tojson` or `items()`
            // shows it): the order-preserving parser reads them again from the JSON the decoder just accepted.
            guard var ordered = decoded as? any KeepsKeyOrder, ordered.hasOrderedValues,
                let tree = try? TemplateValue.parseJSON(String(decoding: data, as: UTF8.self))
            else { return decoded }
            ordered.restoreKeyOrder(from: tree)
            return ordered as? Body ?? decoded
        } catch let error as RequestBodyError {
            throw error
        } catch let error as DecodingError {
            throw RequestBodyError(decoding: error)
        } catch {
            throw RequestBodyError(.invalidJSON)
        }
    }

    /// The deepest nesting of `[` and `{` outside strings (a linear scan that never recurses).
    ///
    /// - Complexity: O(n) in the length of `data`.
    static func nestingDepth(of data: Data) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in data {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }
}

extension RequestBodyError {
    /// Translates Foundation's decoding error: the coding path becomes the field path, the Swift type the requirement.
    init(decoding error: DecodingError) {
        func path(_ context: DecodingError.Context) -> [PathComponent] {
            context.codingPath.map { key in key.intValue.map(PathComponent.index) ?? .key(key.stringValue) }
        }
        switch error {
        case .typeMismatch(let type, let context):
            self.init(.invalid(expected: Expectation(type)), at: path(context))
        case .valueNotFound(let type, let context):
            self.init(.invalid(expected: Expectation(type)), at: path(context))
        case .keyNotFound(let key, let context):
            self.init(.invalid(expected: .required), at: path(context) + [.key(key.stringValue)])
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            self.init(.invalidJSON)
        case .dataCorrupted(let context):
            // A number that does not fit the field's type (3.5 for an integer).
            self.init(.invalid(expected: .integer), at: path(context))
        @unknown default:
            self.init(.invalidJSON)
        }
    }
}

extension RequestBodyError.Expectation {
    /// The requirement a Swift type stands for.
    init(_ type: Any.Type) {
        switch type {
        case is Int.Type, is Int64.Type, is UInt64.Type: self = .integer
        case is Double.Type, is Float.Type: self = .number
        case is Bool.Type: self = .boolean
        case is String.Type: self = .string
        case is [Any].Type: self = .list
        default: self = .dictionary
        }
    }
}

extension KeyedDecodingContainer {
    /// Decodes an optional field (absent or `null` is `nil`), reporting a wrong value at the field's path with the
    /// field's requirement.
    ///
    /// - Throws: ``RequestBodyError`` naming the field when its value does not decode as `T`.
    func field<T: Decodable>(_ type: T.Type, _ key: Key, expected: RequestBodyError.Expectation) throws -> T? {
        do {
            return try decodeIfPresent(T.self, forKey: key)
        } catch let error as RequestBodyError {
            throw error
        } catch {
            // Foundation reports a number that does not fit the type (2.5 for an integer) with an error that is not
            // always a DecodingError: whatever it is, the field's value is what is wrong.
            let inner =
                (error as? DecodingError).map(RequestBodyError.init(decoding:)) ?? RequestBodyError(.invalidJSON)
            let here = (codingPath + [key]).map { key in
                key.intValue.map(RequestBodyError.PathComponent.index) ?? .key(key.stringValue)
            }
            // A nested value's own error is more precise than the field's requirement.
            if inner.path.count > here.count { throw inner }
            throw RequestBodyError(.invalid(expected: expected), at: here)
        }
    }
}

/// A JSON key that is any string.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Any JSON value, as a chat template value: what a chat message or a tool definition holds.
struct JSONValue: Decodable, Sendable {
    /// The value (objects with `role`, `content`, `name`, `tool_calls`, `tool_call_id` first, other keys sorted: JSON
    /// decoding does not keep the client's key order; ``KeepsKeyOrder`` restores it for messages).
    var value: TemplateValue

    init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            let order = ["role", "content", "name", "tool_calls", "tool_call_id"]
            let keys = object.allKeys.map(\.stringValue).sorted {
                (order.firstIndex(of: $0) ?? order.count, $0) < (order.firstIndex(of: $1) ?? order.count, $1)
            }
            value = .dict(
                try keys.map { key in
                    TemplateValue.Pair(key, try object.decode(JSONValue.self, forKey: AnyKey(stringValue: key)).value)
                }
            )
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var items: [TemplateValue] = []
            while !array.isAtEnd { items.append(try array.decode(JSONValue.self).value) }
            value = .list(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            value = .none
        } else if let bool = try? single.decode(Bool.self) {
            value = .bool(bool)
        } else if let int = try? single.decode(Int.self) {
            value = .int(int)
        } else if let double = try? single.decode(Double.self) {
            value = Int(exactly: double).map(TemplateValue.int) ?? .double(double)
        } else {
            value = .string(try single.decode(String.self))
        }
    }
}

/// A request whose JSON objects are handed to chat templates, which see their keys in the client's order.
protocol KeepsKeyOrder {
    /// Whether the request holds such objects.
    var hasOrderedValues: Bool { get }
    /// Takes the objects, keys in document order, from the whole body parsed by `TemplateValue.parseJSON`.
    mutating func restoreKeyOrder(from body: TemplateValue)
}

extension [ChatMessage] {
    /// The messages of `body["messages"]` in document order, when they are the same messages.
    mutating func restoreKeyOrder(from body: TemplateValue) {
        guard case .dict(let pairs) = body, case .list(let items)? = pairs.last(where: { $0.key == "messages" })?.value,
            items.count == count
        else { return }
        for (index, item) in items.enumerated() {
            if case .dict = item { self[index].value = item }
        }
    }
}

/// A chat message: a JSON object.
struct ChatMessage: Decodable, Sendable {
    /// The message as a template value.
    var value: TemplateValue

    init(from decoder: any Decoder) throws {
        guard (try? decoder.container(keyedBy: AnyKey.self)) != nil else {
            throw RequestBodyError(
                .invalid(expected: .dictionary),
                at: decoder.codingPath.map { key in
                    key.intValue.map(RequestBodyError.PathComponent.index) ?? .key(key.stringValue)
                }
            )
        }
        value = try JSONValue(from: decoder).value
    }
}

/// `stop`: one string or a list of strings.
struct StopSequences: Decodable, Sendable {
    var sequences: [String]

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let one = try? single.decode(String.self) {
            sequences = [one]
        } else if let list = try? single.decode([String].self) {
            sequences = list
        } else {
            throw RequestBodyError(
                .invalid(expected: .stringOrList),
                at: decoder.codingPath.map { key in
                    key.intValue.map(RequestBodyError.PathComponent.index) ?? .key(key.stringValue)
                }
            )
        }
    }
}

/// The body of vLLM's `POST /tokenize`: a `prompt`, or chat `messages` rendered by the chat template.
struct TokenizeRequest: Decodable, Sendable, KeepsKeyOrder {
    var model: String?
    var prompt: String?
    var messages: [ChatMessage]?
    /// Default: `true` for a prompt, `false` for messages (the template writes them), as vLLM.
    var addSpecialTokens: Bool?

    enum CodingKeys: String, CodingKey {
        case model, prompt, messages
        case addSpecialTokens = "add_special_tokens"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.field(String.self, .model, expected: .string)
        prompt = try c.field(String.self, .prompt, expected: .string)
        messages = try c.field([ChatMessage].self, .messages, expected: .list)
        addSpecialTokens = try c.field(Bool.self, .addSpecialTokens, expected: .boolean)
    }

    var hasOrderedValues: Bool { messages != nil }

    mutating func restoreKeyOrder(from body: TemplateValue) { messages?.restoreKeyOrder(from: body) }
}

/// The body of vLLM's `POST /detokenize`.
struct DetokenizeRequest: Decodable, Sendable {
    var model: String?
    var tokens: [Int]

    enum CodingKeys: String, CodingKey {
        case model, tokens
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.field(String.self, .model, expected: .string)
        guard let tokens = try c.field([Int].self, .tokens, expected: .list) else {
            throw RequestBodyError(.invalid(expected: .required), at: [.key(CodingKeys.tokens.rawValue)])
        }
        self.tokens = tokens
    }
}

/// One entry of llama.cpp's per-request `lora` list: `{"id": 0, "scale": 0.5}`; `id` is the adapter's index in
/// `/v1/models`' adapter order (llama.cpp's `/lora-adapters` index) or, ours, its name.
struct LoRAScale: Decodable, Sendable, Hashable {
    enum Identifier: Sendable, Hashable {
        case index(Int)
        case name(String)
    }

    var id: Identifier
    var scale: Double

    enum CodingKeys: String, CodingKey {
        case id, scale
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let index = try? c.decode(Int.self, forKey: .id) {
            id = .index(index)
        } else if let name = try? c.decode(String.self, forKey: .id) {
            id = .name(name)
        } else {
            let path = (decoder.codingPath + [CodingKeys.id]).map { key in
                key.intValue.map(RequestBodyError.PathComponent.index) ?? .key(key.stringValue)
            }
            throw RequestBodyError(.invalid(expected: c.contains(.id) ? .integer : .required), at: path)
        }
        guard let scale = try c.field(Double.self, .scale, expected: .number) else {
            let path = (decoder.codingPath + [CodingKeys.scale]).map { key in
                key.intValue.map(RequestBodyError.PathComponent.index) ?? .key(key.stringValue)
            }
            throw RequestBodyError(.invalid(expected: .required), at: path)
        }
        self.scale = scale
    }
}

/// The body of Kaito's `/chat` (the transformers runtime up to v0.8).
struct KaitoChatRequest: Decodable, Sendable, KeepsKeyOrder {
    /// Kaito's `generate_kwargs`, with the runtime's defaults applied by the handler.
    struct GenerateArguments: Decodable, Sendable {
        var maxLength: Int?
        var doSample: Bool?
        var temperature: Double?
        var topK: Int?
        var topP: Double?
        var repetitionPenalty: Double?
        var seed: Int?

        enum CodingKeys: String, CodingKey {
            case maxLength = "max_length"
            case doSample = "do_sample"
            case temperature
            case topK = "top_k"
            case topP = "top_p"
            case repetitionPenalty = "repetition_penalty"
            case seed
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            maxLength = try c.field(Int.self, .maxLength, expected: .integer)
            doSample = try c.field(Bool.self, .doSample, expected: .boolean)
            temperature = try c.field(Double.self, .temperature, expected: .number)
            topK = try c.field(Int.self, .topK, expected: .integer)
            topP = try c.field(Double.self, .topP, expected: .number)
            repetitionPenalty = try c.field(Double.self, .repetitionPenalty, expected: .number)
            seed = try c.field(Int.self, .seed, expected: .integer)
            if let maxLength, maxLength <= 0 {
                throw RequestBodyError(
                    .invalid(expected: .greaterThan(0)),
                    at: [.key("generate_kwargs"), .key("max_length")]
                )
            }
        }
    }

    var prompt: String?
    var messages: [ChatMessage]?
    var returnFullText: Bool?
    var generateArguments: GenerateArguments?

    enum CodingKeys: String, CodingKey {
        case prompt
        case messages
        case returnFullText = "return_full_text"
        case generateArguments = "generate_kwargs"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        prompt = try c.field(String.self, .prompt, expected: .string)
        messages = try c.field([ChatMessage].self, .messages, expected: .list)
        returnFullText = try c.field(Bool.self, .returnFullText, expected: .boolean)
        generateArguments = try c.field(GenerateArguments.self, .generateArguments, expected: .dictionary)
    }

    var hasOrderedValues: Bool { messages != nil }

    mutating func restoreKeyOrder(from body: TemplateValue) { messages?.restoreKeyOrder(from: body) }
}

/// The body of OpenAI's `/v1/chat/completions` (`messages`) and `/v1/completions` (`prompt`).
struct CompletionRequest: Decodable, Sendable, KeepsKeyOrder {
    var model: String?
    var messages: [ChatMessage]?
    var prompt: String?
    var maxTokens: Int?
    var temperature: Double?
    var topK: Int?
    var topP: Double?
    var minP: Double?
    var repetitionPenalty: Double?
    var seed: Int?
    var stop: [String]
    var stream: Bool?
    var responseFormat: ResponseFormat?
    /// OpenAI's `tools` (function definitions handed to the chat template), keys in the client's order.
    var tools: [TemplateValue]?
    /// OpenAI's `tool_choice`: `none`, `auto` (the default with tools), `required`, or one function by name.
    var toolChoice: ToolChoice?
    /// llama.cpp's per-request adapter strengths.
    var lora: [LoRAScale]?
    /// Choices to generate (default 1).
    var n: Int?
    /// Chat: `logprobs: true` with `top_logprobs` alternatives; completions: `logprobs: <alternatives>`.
    var logprobs: Int?
    /// OpenAI's `stream_options.include_usage`: a last chunk with the usage.
    var includeUsage: Bool

    /// OpenAI's `stream_options`.
    struct StreamOptions: Decodable, Sendable {
        var includeUsage: Bool?

        enum CodingKeys: String, CodingKey {
            case includeUsage = "include_usage"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            includeUsage = try c.field(Bool.self, .includeUsage, expected: .boolean)
        }
    }

    enum CodingKeys: String, CodingKey {
        case lora, n, logprobs
        case topLogprobs = "top_logprobs"
        case streamOptions = "stream_options"
        case model
        case messages
        case prompt
        case responseFormat = "response_format"
        case tools
        case toolChoice = "tool_choice"
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case temperature
        case topK = "top_k"
        case topP = "top_p"
        case minP = "min_p"
        case repetitionPenalty = "repetition_penalty"
        case seed
        case stop
        case stream
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.field(String.self, .model, expected: .string)
        messages = try c.field([ChatMessage].self, .messages, expected: .list)
        prompt = try c.field(String.self, .prompt, expected: .string)
        let maxTokens = try c.field(Int.self, .maxTokens, expected: .integer)
        let maxCompletionTokens = try c.field(Int.self, .maxCompletionTokens, expected: .integer)
        self.maxTokens = maxTokens ?? maxCompletionTokens
        if let value = self.maxTokens, value < 0 {
            let key = maxTokens == nil ? CodingKeys.maxCompletionTokens : .maxTokens
            throw RequestBodyError(.invalid(expected: .greaterThanOrEqual(0)), at: [.key(key.rawValue)])
        }
        temperature = try c.field(Double.self, .temperature, expected: .number)
        topK = try c.field(Int.self, .topK, expected: .integer)
        topP = try c.field(Double.self, .topP, expected: .number)
        minP = try c.field(Double.self, .minP, expected: .number)
        repetitionPenalty = try c.field(Double.self, .repetitionPenalty, expected: .number)
        seed = try c.field(Int.self, .seed, expected: .integer)
        stop = try c.field(StopSequences.self, .stop, expected: .stringOrList)?.sequences ?? []
        stream = try c.field(Bool.self, .stream, expected: .boolean)
        responseFormat = try c.field(ResponseFormat.self, .responseFormat, expected: .dictionary)
        tools = try c.field([JSONValue].self, .tools, expected: .list)?.map(\.value)
        toolChoice = try c.field(ToolChoice.self, .toolChoice, expected: .stringOrDictionary)
        lora = try c.field([LoRAScale].self, .lora, expected: .list)
        n = try c.field(Int.self, .n, expected: .integer)
        // OpenAI's two spellings: a flag with `top_logprobs` (chat), or the number of alternatives (completions).
        let top = try c.field(Int.self, .topLogprobs, expected: .integer)
        if let flag = try? c.decodeIfPresent(Bool.self, forKey: .logprobs) {
            logprobs = flag ? (top ?? 0) : nil
        } else {
            logprobs = try c.field(Int.self, .logprobs, expected: .integer)
        }
        for (key, value) in [(CodingKeys.logprobs, logprobs), (.topLogprobs, top)] {
            guard let value else { continue }
            if value < 0 {
                throw RequestBodyError(.invalid(expected: .greaterThanOrEqual(0)), at: [.key(key.rawValue)])
            }
            if value > 20 { throw RequestBodyError(.invalid(expected: .lessThanOrEqual(20)), at: [.key(key.rawValue)]) }
        }
        if let n, n < 1 { throw RequestBodyError(.invalid(expected: .greaterThanOrEqual(1)), at: [.key("n")]) }
        includeUsage =
            try c.field(StreamOptions.self, .streamOptions, expected: .dictionary)?.includeUsage ?? false
    }

    var hasOrderedValues: Bool { messages != nil || responseFormat?.schema != nil || tools != nil }

    mutating func restoreKeyOrder(from body: TemplateValue) {
        messages?.restoreKeyOrder(from: body)
        responseFormat?.restoreKeyOrder(from: body)
        if case .dict(let pairs) = body, case .list(let items)? = pairs.last(where: { $0.key == "tools" })?.value,
            items.count == tools?.count
        {
            tools = items
        }
    }
}

/// OpenAI's `tool_choice`.
enum ToolChoice: Decodable, Sendable, Equatable {
    case none
    case auto
    case required
    case function(String)

    init(from decoder: any Decoder) throws {
        let here = decoder.codingPath.map { key in
            key.intValue.map(RequestBodyError.PathComponent.index) ?? .key(key.stringValue)
        }
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            switch text {
            case "none": self = .none
            case "auto": self = .auto
            case "required": self = .required
            default:
                throw RequestBodyError(.invalid(expected: .oneOf(["none", "auto", "required"])), at: here)
            }
            return
        }
        // {"type": "function", "function": {"name": …}}
        guard case .dict(let pairs) = try decoder.singleValueContainer().decode(JSONValue.self).value,
            case .dict(let function)? = pairs.first(where: { $0.key == "function" })?.value,
            case .string(let name)? = function.first(where: { $0.key == "name" })?.value
        else { throw RequestBodyError(.invalid(expected: .required), at: here + [.key("function"), .key("name")]) }
        self = .function(name)
    }
}

/// OpenAI's `response_format`: `{"type": "text"}`, `{"type": "json_object"}` or
/// `{"type": "json_schema", "json_schema": {"name": …, "schema": {…}, "strict": …}}`.
struct ResponseFormat: Decodable, Sendable {
    enum Kind: String, Sendable {
        case text
        case jsonObject = "json_object"
        case jsonSchema = "json_schema"
    }

    var kind: Kind
    /// The schema, keys in the client's order once ``restoreKeyOrder(from:)`` ran (properties are written in it).
    var schema: TemplateValue?

    enum CodingKeys: String, CodingKey {
        case type
        case jsonSchema = "json_schema"
    }

    enum SchemaKeys: String, CodingKey {
        case schema
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let here = decoder.codingPath.map { key in
            key.intValue.map(RequestBodyError.PathComponent.index) ?? .key(key.stringValue)
        }
        guard let type = try c.field(String.self, .type, expected: .string) else {
            throw RequestBodyError(.invalid(expected: .required), at: here + [.key("type")])
        }
        guard let kind = Kind(rawValue: type) else {
            let expected = RequestBodyError.Expectation.oneOf(["text", "json_object", "json_schema"])
            throw RequestBodyError(.invalid(expected: expected), at: here + [.key("type")])
        }
        self.kind = kind
        guard kind == .jsonSchema else { return }
        guard c.contains(.jsonSchema) else {
            throw RequestBodyError(.invalid(expected: .required), at: here + [.key("json_schema")])
        }
        let inner = try c.nestedContainer(keyedBy: SchemaKeys.self, forKey: .jsonSchema)
        schema = try inner.field(JSONValue.self, .schema, expected: .dictionary)?.value ?? .dict([])
    }

    /// Takes the schema in document order from the whole body.
    mutating func restoreKeyOrder(from body: TemplateValue) {
        guard case .dict(let pairs) = body,
            case .dict(let format)? = pairs.last(where: { $0.key == "response_format" })?.value,
            case .dict(let inner)? = format.last(where: { $0.key == "json_schema" })?.value,
            let ordered = inner.last(where: { $0.key == "schema" })?.value
        else { return }
        schema = ordered
    }
}

extension KaitoServeRoutes {
    /// Decodes a POST body as the route at `route` does, without running the request (for tools and fuzzing).
    ///
    /// - Parameters:
    ///   - bytes: The request body.
    ///   - route: `/chat`, `/v1/chat/completions` or `/v1/completions`; any other route accepts nothing.
    ///   - limits: The server's limits (the JSON depth applies).
    /// - Throws: ``RequestBodyError`` as the route would answer it (400 for `.invalidJSON`, 422 otherwise).
    public static func validateBody(
        _ bytes: [UInt8],
        route: String,
        limits: ServerLimits = ServerLimits()
    ) throws(RequestBodyError) {
        switch route {
        case "/chat":
            _ = try RequestDecoding.decode(KaitoChatRequest.self, from: bytes, maxDepth: limits.maxJSONDepth)
        case "/v1/chat/completions", "/v1/completions":
            _ = try RequestDecoding.decode(CompletionRequest.self, from: bytes, maxDepth: limits.maxJSONDepth)
        case "/tokenize":
            _ = try RequestDecoding.decode(TokenizeRequest.self, from: bytes, maxDepth: limits.maxJSONDepth)
        case "/detokenize":
            _ = try RequestDecoding.decode(DetokenizeRequest.self, from: bytes, maxDepth: limits.maxJSONDepth)
        default:
            throw RequestBodyError(.invalid(expected: .required))
        }
    }
}
