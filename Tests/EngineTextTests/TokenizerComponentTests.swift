import Testing

@testable import EngineText

/// The parts of the tokenizer on their own: the regex matcher, the byte-keyed vocabulary, added tokens and
/// Metaspace's prepend scheme, and the errors' locations.
struct TokenizerComponentTests {
    static func pieces(_ pattern: String, _ text: String) throws -> [String] {
        let regex = try TokenRegex(pattern)
        let scalars = Array(text.unicodeScalars)
        return scalars.withUnsafeBufferPointer { buffer in
            regex.matches(in: buffer).map { String(String.UnicodeScalarView(scalars[$0])) }
        }
    }

    @Test func gpt2SplitMatchesTheReferenceSplit() throws {
        #expect(
            try Self.pieces(PreTokenizer.gpt2Pattern, "Hello world's  123 !!")
                == ["Hello", " world", "'s", " ", " 123", " !!"]
        )
    }

    @Test func quantifiersAndGroups() throws {
        #expect(try Self.pieces("\\p{N}{1,3}", "12345") == ["123", "45"])
        #expect(try Self.pieces("a+?", "aaa") == ["a", "a", "a"])
        #expect(try Self.pieces("a++b", "aaab") == ["aaab"])
        // Possessive and atomic forms give nothing back, so these cannot match.
        #expect(try Self.pieces("a++a", "aaa") == [])
        #expect(try Self.pieces("(?>a|ab)c", "abc") == [])
        #expect(try Self.pieces("(?:a|ab)c", "abc") == ["abc"])
        #expect(try Self.pieces("\\s+(?!\\S)", "a   b") == ["  "])
        #expect(try Self.pieces("\\s+(?=b)", "a   b") == ["   "])
        #expect(try Self.pieces("(?i:'s|'ll)", "IT'S WE'LL") == ["'S", "'LL"])
        #expect(try Self.pieces("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+", "¡Hola señor") == ["¡Hola", " señor"])
        #expect(try Self.pieces("\\s+$", "ab  \ncd  ") == ["  ", "  "])
        #expect(try Self.pieces("[一-龥]+", "中文abc") == ["中文"])
        #expect(try Self.pieces("[[:punct:]]", "a$b,c") == ["$", ","])
        #expect(try Self.pieces("\\x{1F642}|\\u00e9", "é🙂") == ["é", "🙂"])
    }

    @Test func badPatternsSayWhere() {
        #expect(throws: TokenizerError.self) { try TokenRegex("[z-a]") }
        #expect(throws: TokenizerError.self) { try TokenRegex("(abc") }
        #expect(throws: TokenizerError.self) { try TokenRegex("\\p{Nope}") }
        do {
            _ = try TokenRegex("ab)")
            Issue.record("an unbalanced ')' compiled")
        } catch {
            #expect(error.offset == 2)
            #expect(error.message.contains("ab)"))
        }
    }

    @Test func jsonErrorsCarryTheirOffset() {
        do {
            _ = try JSONValue.parse(Array(#"{"a": [1, 2,]}"#.utf8), path: "t.json")
            Issue.record("invalid JSON parsed")
        } catch {
            #expect(error.path == "t.json")
            #expect(error.offset == 12)
            #expect(error.description.hasPrefix("t.json:12:"))
        }
    }

    static func tokenizer(_ json: String) throws -> Tokenizer {
        try Tokenizer(json: try JSONValue.parse(Array(json.utf8), path: "inline"))
    }

    /// Canonically equivalent entries (precomposed é and e + U+0301) are different tokens, and a leading U+FEFF is
    /// part of its token, as in `tokenizers`.
    @Test func vocabularyIsKeyedByBytes() throws {
        let tokenizer = try Self.tokenizer(
            #"""
            {"model": {"type": "BPE", "vocab": {"\u00e9": 0, "e\u0301": 1, "\ufeffa": 2, "e": 3, "\u0301": 4, "a": 5,
             "\ufeff": 6}, "merges": [["e", "\u0301"], ["\ufeff", "a"]]}}
            """#
        )
        #expect(tokenizer.encode("\u{E9}") == [0])
        #expect(tokenizer.encode("e\u{301}") == [1])
        #expect(tokenizer.encode("\u{FEFF}a") == [2])
        #expect(tokenizer.decode([2]).unicodeScalars.first == "\u{FEFF}")
        #expect(tokenizer.decode([1]).unicodeScalars.elementsEqual("e\u{301}".unicodeScalars))
        #expect(tokenizer.id(of: "e\u{301}") == 1)
        #expect(tokenizer.id(of: "\u{E9}") == 0)
    }

    /// Metaspace "first" prepends ▁ only to text at the start of the input, not to text after a special token
    /// (Mistral v0.3 / Llama 2 chat prompts); "always" prepends everywhere.
    @Test(arguments: ["first", "always"])
    func metaspacePrependScheme(_ scheme: String) throws {
        let tokenizer = try Self.tokenizer(
            """
            {"added_tokens": [{"id": 0, "content": "<s>", "special": true, "normalized": false}],
             "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "\(scheme)", "split": false},
             "model": {"type": "BPE", "vocab": {"<s>": 0, "▁": 1, "a": 2, "▁a": 3}, "merges": [["▁", "a"]]}}
            """
        )
        #expect(tokenizer.encode("a") == [3])
        #expect(tokenizer.encode("<s>a") == (scheme == "first" ? [0, 2] : [0, 3]))
    }

    /// Added tokens: `lstrip`/`rstrip` take the whitespace around them, `single_word` only matches a whole word.
    @Test func addedTokenOptions() throws {
        let tokenizer = try Self.tokenizer(
            """
            {"added_tokens": [
              {"id": 0, "content": "<m>", "special": true, "normalized": false, "lstrip": true, "rstrip": true},
              {"id": 1, "content": "go", "special": false, "normalized": true, "single_word": true}],
             "pre_tokenizer": {"type": "WhitespaceSplit"},
             "model": {"type": "BPE", "vocab": {"<m>": 0, "go": 1, "g": 2, "o": 3, "x": 4}, "merges": []}}
            """
        )
        #expect(tokenizer.encode("x  <m>  x") == [4, 0, 4])
        #expect(tokenizer.encode("go x") == [1, 4])
        #expect(tokenizer.encode("gox") == [2, 3, 4])
    }

    /// SentencePiece-style merging stays fast on a long word (the old loop took seconds for 16,000 characters);
    /// the result is the greedy merge of the whole run.
    @Test func longWordsMerge() throws {
        let tokenizer = try Self.tokenizer(
            """
            {"model": {"type": "BPE", "vocab": {"a": 0, "aa": 1, "aaaa": 2}, "merges": [["a", "a"], ["aa", "aa"]]}}
            """
        )
        #expect(tokenizer.encode(String(repeating: "a", count: 16_000)) == Array(repeating: 2, count: 4_000))
        #expect(tokenizer.encode("aaaaaa") == [2, 1])
    }
}
