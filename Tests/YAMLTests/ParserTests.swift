import Foundation
import Testing

@testable import YAML

struct ParserTests {
    @Test func marksTagsAndStylesAreKept() throws {
        let text = "a: 1\nb: 'two'\nc: !!str 3\nd:\n  - \"x\"\n  - |\n    block\n"
        let documents = try YAMLParser.parse(text)
        let root = try #require(documents.first?.root)
        #expect(root["a"]?.mark == Mark(line: 1, column: 4))
        #expect(root["a"]?.resolvedType == .int)
        #expect(root["b"]?.scalarStyle == .singleQuoted)
        #expect(root["c"]?.tag == "tag:yaml.org,2002:str")
        #expect(root["c"]?.resolvedType == .string)
        let items = try #require(root["d"]?.sequence)
        #expect(items[0].mark == Mark(line: 5, column: 5))
        #expect(items[1].scalarStyle == .literal)
        #expect(items[1].scalar == "block\n")
    }

    @Test func multipleAndEmptyDocuments() throws {
        #expect(try YAMLParser.parse("").isEmpty)
        #expect(try YAMLParser.parse("# only a comment\n").isEmpty)
        let documents = try YAMLParser.parse("a: 1\n---\n---\nb: 2\n")
        #expect(documents.count == 3)
        #expect(documents[1].root == nil)
        #expect(documents[2].root?["b"]?.scalar == "2")
        #expect(documents[2].mark.line == 3)
    }

    @Test func aliasesAndMergeKeysAreExpanded() throws {
        let text = "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b]\n"
        let root = try #require(try YAMLParser.parse(text).first?.root)
        #expect(root["other"]?.mapping?.map { $0.key.scalar } == ["y", "x"])
        #expect(root["other"]?["y"]?.scalar == "3")
        #expect(root["list"]?.sequence?.first?["x"]?.scalar == "1")
    }

    // MARK: Hostile input: each fails with its own code and position, quickly and in bounded memory.

    @Test func billionLaughsIsStopped() throws {
        var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            let refs = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
            text += "a\(level): &a\(level) [\(refs)]\n"
        }
        #expect {
            try YAMLParser.parse(text)
        } throws: { error in
            guard let error = error as? YAMLError else { return false }
            return error.code == .aliasExpansion && error.mark.line >= 5
        }
    }

    @Test func deepFlowNestingIsStopped() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect {
            try YAMLParser.parse(text)
        } throws: { error in
            guard let error = error as? YAMLError else { return false }
            return error.code == .tooDeep && error.mark == Mark(line: 1, column: 101)
        }
    }

    @Test func deepBlockNestingIsStopped() {
        var text = ""
        for depth in 0..<200 { text += String(repeating: " ", count: depth) + "k:\n" }
        #expect {
            try YAMLParser.parse(text)
        } throws: { error in
            guard let error = error as? YAMLError else { return false }
            return error.code == .tooDeep && error.mark == Mark(line: 101, column: 101)
        }
    }

    @Test func invalidUTF8IsLocated() {
        let bytes: [UInt8] = Array("a: ok\nb: x".utf8) + [0xC3, 0x28] + Array("\n".utf8)
        #expect {
            try YAMLParser.parse(bytes)
        } throws: { error in
            guard let error = error as? YAMLError else { return false }
            return error.code == .invalidUTF8 && error.mark == Mark(line: 2, column: 5)
        }
    }

    @Test func oversizedInputIsRefusedBeforeParsing() {
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 2_000)
        #expect {
            try YAMLParser.parse(bytes, limits: ParseLimits(maxBytes: 1_000))
        } throws: { error in
            (error as? YAMLError)?.code == .tooLarge
        }
    }

    @Test func duplicateKeysAreRejected() {
        #expect {
            try YAMLParser.parse("metadata:\n  name: a\n  labels: {}\n  name: b\n")
        } throws: { error in
            guard let error = error as? YAMLError else { return false }
            return error.code == .duplicateKey && error.mark == Mark(line: 4, column: 3)
                && error.message == "duplicate key \"name\" (first defined at line 2)"
        }
    }

    @Test func tabIndentationIsNamed() {
        #expect {
            try YAMLParser.parse("a:\n\tb: 1\n")
        } throws: { error in
            guard let error = error as? YAMLError else { return false }
            return error.code == .tabIndentation && error.mark == Mark(line: 2, column: 1)
        }
    }

    @Test func undefinedAliasAndUnterminatedQuote() {
        #expect(throws: YAMLError.self) { try YAMLParser.parse("a: *nowhere\n") }
        #expect {
            try YAMLParser.parse("a: \"open\nb: 2\n")
        } throws: { error in
            (error as? YAMLError)?.code == .syntax
        }
    }
}
