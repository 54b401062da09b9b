public import GGUF

extension GGUFTokenizerMetadata {
    /// The `tokenizer.ggml.*` metadata of a parsed GGUF file.
    ///
    /// - Throws: ``TokenizerError`` when the file has no `tokenizer.ggml.model` or token list, or a list holds
    ///   values of the wrong type.
    public init(gguf file: GGUFFile) throws(TokenizerError) {
        func fail(_ message: String) -> TokenizerError { TokenizerError(message: message, path: file.path) }
        guard let model = file.string("tokenizer.ggml.model") else { throw fail("no tokenizer.ggml.model") }
        guard let list = file.metadata["tokenizer.ggml.tokens"]?.array else { throw fail("no tokenizer.ggml.tokens") }
        var tokens: [[UInt8]] = []
        tokens.reserveCapacity(list.count)
        for value in list {
            guard let bytes = value.bytes else {
                throw fail("tokenizer.ggml.tokens holds a value that is not a string")
            }
            tokens.append(bytes)
        }
        self.init(model: model, pre: file.string("tokenizer.ggml.pre"), tokens: tokens)
        if let values = file.metadata["tokenizer.ggml.scores"]?.array {
            scores = try values.map { (value) throws(TokenizerError) in
                guard let v = value.double else {
                    throw fail("tokenizer.ggml.scores holds a value that is not a number")
                }
                return Float(v)
            }
        }
        if let values = file.metadata["tokenizer.ggml.token_type"]?.array {
            tokenTypes = try values.map { (value) throws(TokenizerError) in
                guard let v = value.integer else { throw fail("tokenizer.ggml.token_type holds a non-integer") }
                return Int32(truncatingIfNeeded: v)
            }
        }
        if let values = file.metadata["tokenizer.ggml.merges"]?.array {
            merges = try values.map { (value) throws(TokenizerError) in
                guard let bytes = value.bytes else {
                    throw fail("tokenizer.ggml.merges holds a value that is not a string")
                }
                return bytes
            }
        }
        bosID = file.integer("tokenizer.ggml.bos_token_id")
        eosID = file.integer("tokenizer.ggml.eos_token_id")
        unknownID = file.integer("tokenizer.ggml.unknown_token_id")
        addBOS = file.bool("tokenizer.ggml.add_bos_token")
        addEOS = file.bool("tokenizer.ggml.add_eos_token")
        addSpacePrefix = file.bool("tokenizer.ggml.add_space_prefix")
    }
}

extension Tokenizer {
    /// The tokenizer stored in a GGUF file's metadata, so a `.gguf` model needs no `tokenizer.json`.
    ///
    /// - Throws: ``TokenizerError`` naming the file when its tokenizer metadata is missing or unsupported.
    public init(gguf file: GGUFFile) throws(TokenizerError) {
        try self.init(gguf: try GGUFTokenizerMetadata(gguf: file))
    }
}
