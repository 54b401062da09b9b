import EngineText
import Foundation
import InferenceEngine
import Testing

/// JSON Schema → grammar → constrained decoding (issue 11, structured output): the grammar accepts exactly what
/// the schema allows (in property order), unsupported keywords are errors naming them, and decoding that follows the
/// mask always ends in a complete document whatever the logits, within the token budget.
struct GrammarTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var schema: TemplateValue
        var accepted: [String]
        var rejected: [String]
        var testDescription: String { name }
    }

    /// The 20 schemas of `Fixtures/structured/schemas.json` (also served end to end by scripts/serve-tests.sh and
    /// checked there with Python's `jsonschema`).
    static let cases: [Case] = {
        let url = TokenizerTests.fixtures.appendingPathComponent("structured/schemas.json")
        guard let text = try? String(contentsOf: url, encoding: .utf8),
            case .list(let entries)? = try? TemplateValue.parseJSON(text)
        else { return [] }
        return entries.compactMap { entry in
            guard case .dict(let pairs) = entry else { return nil }
            func field(_ key: String) -> TemplateValue? { pairs.first { $0.key == key }?.value }
            func strings(_ key: String) -> [String] {
                guard case .list(let items)? = field(key) else { return [] }
                return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
            }
            guard case .string(let name)? = field("name"), let schema = field("schema") else { return nil }
            return Case(name: name, schema: schema, accepted: strings("accepted"), rejected: strings("rejected"))
        }
    }()

    @Test func twentySchemas() {
        #expect(Self.cases.count == 20)
    }

    @Test(arguments: cases) func acceptsWhatTheSchemaAllows(_ c: Case) throws {
        let grammar = try JSONSchemaGrammar.grammar(for: c.schema)
        for text in c.accepted {
            #expect(accepts(grammar, text), "\(text)")
        }
        for text in c.rejected {
            #expect(!accepts(grammar, text), "\(text)")
        }
    }

    @Test func unsupportedKeywordsAreNamed() throws {
        func error(_ json: String) throws -> JSONSchemaError? {
            let schema = try TemplateValue.parseJSON(json)
            do {
                _ = try JSONSchemaGrammar.grammar(for: schema)
                return nil
            } catch {
                return error
            }
        }
        #expect(
            try error(#"{"type":"object","properties":{"a":{"type":"integer","maximum":3}}}"#)?.pointer
                == "/properties/a/maximum"
        )
        #expect(try error(#"{"type":"string","format":"email"}"#)?.pointer == "/format")
        #expect(try error(#"{"type":"string","pattern":"(?=a)b"}"#)?.message.contains("lookaround") == true)
        #expect(try error(#"{"type":"object","properties":{"a":{}},"required":["b"]}"#)?.pointer == "/required")
        #expect(try error(#"{"$ref":"https://example.com/s.json"}"#)?.pointer == "/$ref")
        #expect(try error(#"{"type":"string","pattern":"(a?)*"}"#)?.message.contains("match nothing") == true)
        #expect(try error(#"{"type":"object","properties":{"a":{"type":"string"}}}"#) == nil)
    }

    @Test func anyObjectGrammar() {
        let grammar = JSONSchemaGrammar.anyObject()
        for text in [#"{}"#, #"{"a": [1, {"b": null}], "c": "d\u00e9"}"#, #"{"x":-1.5e+3}"#] {
            #expect(accepts(grammar, text), "\(text)")
        }
        for text in [#"[]"#, #"{"a"}"#, #"{"a":tru}"#, "{\"a\":\"\u{1}\"}"] {
            #expect(!accepts(grammar, text), "\(text)")
        }
    }

    /// A tokenizer's pieces are the bytes its tokens add mid-text: byte-level BPE maps back to bytes, SentencePiece's
    /// `▁` is a space and `<0xNN>` a byte.
    @Test func piecesOfRealTokenizers() throws {
        let spm = try Tokenizer(
            path: TokenizerTests.fixtures.appendingPathComponent("sentencepiece/tokenizer.json").path
        )
        let bpe = try Tokenizer(path: TokenizerTests.fixtures.appendingPathComponent("bytelevel/tokenizer.json").path)
        for tokenizer in [spm, bpe] {
            let text = "Hello wörld {\"a\": 1}"
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            let joined = ids.flatMap { tokenizer.pieceBytes($0) ?? [] }
            // Mid-text pieces join to the text (SentencePiece adds its leading space, which decoding strips).
            #expect(String(decoding: joined, as: UTF8.self).hasSuffix(text))
            #expect(
                tokenizer.decode(ids) == text || " " + tokenizer.decode(ids) == String(decoding: joined, as: UTF8.self)
            )
        }
    }

    /// Random logits (seeded), greedy over them after the mask, a budget of 160 tokens: every run ends complete,
    /// is a JSON document, and the grammar stays within the budget.
    @Test(arguments: cases) func randomLogitsAlwaysEndComplete(_ c: Case) throws {
        let grammar = try JSONSchemaGrammar.grammar(for: c.schema)
        for file in ["sentencepiece", "bytelevel"] {
            let tokenizer = try Tokenizer(
                path: TokenizerTests.fixtures.appendingPathComponent("\(file)/tokenizer.json").path
            )
            let eos = try #require((0..<tokenizer.vocabularySize).first { tokenizer.isSpecial($0) })
            let vocabulary = TokenVocabulary(tokenizer: tokenizer, endOfSequence: [eos])
            for seed in UInt64(1)...3 {
                var random = SplitMix64(seed: seed &* 7919 &+ UInt64(c.name.utf8.count))
                var constraint = GrammarConstraint(grammar: grammar, vocabulary: vocabulary)
                var bytes: [UInt8] = []
                let budget = 160
                var used = 0
                while used < budget, !constraint.isFinished {
                    var logits = (0..<tokenizer.vocabularySize).map { _ in Float.random(in: -4...4, using: &random) }
                    constraint.mask(&logits, remaining: budget - used)
                    let token = logits.indices.max { logits[$0] < logits[$1] }!
                    #expect(
                        logits[token] > -.infinity,
                        "no token allowed after \(String(decoding: bytes, as: UTF8.self))"
                    )
                    if token == eos { break }
                    let allowed = constraint.allows(token, remaining: budget - used)
                    #expect(allowed)
                    bytes += vocabulary.pieces[token] ?? []
                    constraint.accept(token)
                    used += 1
                }
                let text = String(decoding: bytes, as: UTF8.self)
                let complete = constraint.isComplete
                #expect(complete, "\(file) seed \(seed): \(text)")
                #expect(
                    (try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)) != nil,
                    "\(text)"
                )
            }
        }
    }
}

/// Whether `grammar` accepts the whole of `text`.
func accepts(_ grammar: Grammar, _ text: String) -> Bool {
    let automaton = GrammarAutomaton(grammar)
    return automaton.isComplete(automaton.advance(automaton.start, bytes: Array(text.utf8)))
}
