internal import Foundation
internal import InferenceEngine

/// The facts of a model folder's `tokenizer_config.json` the server needs.
struct TokenizerConfig: Decodable, Sendable {
    /// A special token: a string, or transformers' `AddedToken` object with its `content`.
    struct Token: Decodable, Sendable {
        var content: String

        enum CodingKeys: String, CodingKey { case content }

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                content = text
            } else {
                content = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .content)
            }
        }
    }

    var bosToken: String?
    var eosToken: String?
    /// The chat template (transformers also allows a list of named templates; only the single string form is used).
    var chatTemplate: String?

    enum CodingKeys: String, CodingKey {
        case bosToken = "bos_token"
        case eosToken = "eos_token"
        case chatTemplate = "chat_template"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // Lenient, as transformers is: a token of another shape (or a list of named templates) is absent here.
        bosToken = (try? c.decodeIfPresent(Token.self, forKey: .bosToken))?.content
        eosToken = (try? c.decodeIfPresent(Token.self, forKey: .eosToken))?.content
        chatTemplate = (try? c.decodeIfPresent(String.self, forKey: .chatTemplate))
    }

    init() {}

    /// Reads the file; an absent file is an empty configuration.
    ///
    /// - Throws: ``EngineError`` naming the file, the field and the expected type when the file does not decode.
    static func load(_ path: String) throws(EngineError) -> TokenizerConfig {
        guard let data = FileManager.default.contents(atPath: path) else { return TokenizerConfig() }
        return try decodeConfig(TokenizerConfig.self, from: data, path: path)
    }
}

/// The facts of a model folder's `generation_config.json` the server needs.
struct GenerationConfig: Decodable, Sendable {
    /// `eos_token_id`: one token or several.
    var eosTokenIDs: [Int]

    enum CodingKeys: String, CodingKey { case eosTokenID = "eos_token_id" }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let one = try? c.decodeIfPresent(Int.self, forKey: .eosTokenID) {
            eosTokenIDs = [one]
        } else {
            eosTokenIDs = try c.decodeIfPresent([Int].self, forKey: .eosTokenID) ?? []
        }
    }

    /// Reads the file, or returns `nil` when it is absent.
    ///
    /// - Throws: ``EngineError`` naming the file, the field and the expected type when the file does not decode.
    static func load(_ path: String) throws(EngineError) -> GenerationConfig? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try decodeConfig(GenerationConfig.self, from: data, path: path)
    }
}

/// Decodes a JSON configuration file, turning a decoding error into an ``EngineError`` with the field path.
private func decodeConfig<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws(EngineError) -> T {
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch {
        throw EngineError(.invalidFile, "\(path): \(ModelConfig.describe(error))")
    }
}
