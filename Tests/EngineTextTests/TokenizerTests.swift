import EngineText
import Foundation
import Testing

/// Encode and decode are identical to the `tokenizers` library on a corpus of Unicode, emoji, whitespace runs and
/// special tokens (fixtures made by `scripts/make_text_fixtures.py`).
struct TokenizerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    struct Case: Decodable, Sendable {
        var text: String
        var ids: [Int]
        var idsWithoutSpecial: [Int]
        var decoded: String
        var decodedSkippingSpecial: String
    }

    struct Expected: Decodable {
        var cases: [Case]
    }

    @Test(arguments: ["bytelevel", "sentencepiece"])
    func matchesTokenizers(_ family: String) throws {
        let folder = Self.fixtures.appendingPathComponent(family)
        let tokenizer = try Tokenizer(path: folder.appendingPathComponent("tokenizer.json").path)
        let expected = try JSONDecoder().decode(
            Expected.self,
            from: Data(contentsOf: folder.appendingPathComponent("expected.json"))
        )
        for c in expected.cases {
            #expect(tokenizer.encode(c.text) == c.ids, "\(family) encode \(c.text.debugDescription)")
            #expect(
                tokenizer.encode(c.text, addSpecialTokens: false) == c.idsWithoutSpecial,
                "\(family) encode without special \(c.text.debugDescription)"
            )
            #expect(tokenizer.decode(c.ids) == c.decoded, "\(family) decode \(c.text.debugDescription)")
            #expect(
                tokenizer.decode(c.ids, skipSpecialTokens: true) == c.decodedSkippingSpecial,
                "\(family) decode skipping \(c.text.debugDescription)"
            )
        }
    }

    @Test(arguments: ["bytelevel", "sentencepiece"])
    func streamingNeverSplitsACharacter(_ family: String) throws {
        let folder = Self.fixtures.appendingPathComponent(family)
        let tokenizer = try Tokenizer(path: folder.appendingPathComponent("tokenizer.json").path)
        let text = "Emoji 👨‍👩‍👧‍👦 and 中文 and ĳ and 🏳️‍🌈!"
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        var decoder = IncrementalDecoder(tokenizer: tokenizer)
        var streamed = ""
        for id in ids {
            let chunk = decoder.push(id)
            #expect(!chunk.contains("\u{FFFD}"), "a chunk holds half a character")
            streamed += chunk
        }
        streamed += decoder.finish()
        #expect(streamed == tokenizer.decode(ids, skipSpecialTokens: true))
    }
}
