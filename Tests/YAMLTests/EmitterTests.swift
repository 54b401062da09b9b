import Foundation
import Testing

@testable import YAML

struct EmitterTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures/corpus"
    )

    static let corpus: [String] = {
        ((try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []).filter { $0.hasSuffix(".yaml") }
            .sorted()
    }()

    @Test(arguments: corpus)
    func corpusRoundTrips(_ name: String) throws {
        let text = try String(contentsOf: Self.fixtures.appendingPathComponent(name), encoding: .utf8)
        let documents = try YAMLParser.parse(text).compactMap(\.root)
        #expect(!documents.isEmpty)
        for document in documents {
            let emitted = YAMLEmitter.emit(document)
            let reparsed = try #require(try YAMLParser.parse(emitted).first?.root, "\(emitted)")
            #expect(document.hasSameContent(as: reparsed), "round trip changed the tree:\n\(emitted)")
            #expect(YAMLEmitter.emit(reparsed) == emitted, "emitting is not idempotent")
        }
    }

    /// Strings that must come back as the same strings, not as booleans, numbers or null.
    static let trickyStrings = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "Y", "NO", "null", "Null", "~", "", "1", "-1", "+1", "1.0",
        "0.0.1", "0123", "1e3", "1E-3", ".5", ".inf", "-.Inf", ".nan", "0x1F", "0o17", "0b101", "1_000", "12:30",
        "190:20:30.15", "*star", "&amp", "!bang", "%pct", "@at", "`tick", "- dash", "-", "?", "? q", ": colon", "a: b",
        "a #b", "#hash", "trailing:", " leading", "trailing ", "tab\there", "line\nbreak", "multi\nline\n",
        "keep\n\n", "[x]", "{x}", "a,b", "'single'", "\"double\"", "back\\slash", "é ✓ 日本 🙂", "\u{7}bell",
        "\u{FEFF}bom", "---", "...", "v1.2.3", "1.2.3.4", "2024-01-01", "~/home", "=", "<<",
    ]

    @Test(arguments: trickyStrings)
    func stringsStayStrings(_ value: String) throws {
        let node = Node.mapping([("key", Node.string(value)), (value.isEmpty ? "empty" : value, Node.string("v"))])
        let emitted = YAMLEmitter.emit(node)
        let reparsed = try #require(try YAMLParser.parse(emitted).first?.root, "\(emitted)")
        let pairs = try #require(reparsed.mapping)
        #expect(pairs[0].value.scalar == value, "\(emitted)")
        #expect(pairs[0].value.resolvedType == .string, "\(emitted)")
        #expect(pairs[1].key.scalar == (value.isEmpty ? "empty" : value), "\(emitted)")
    }

    @Test func typedScalarsStayPlain() {
        let node = Node.mapping([
            ("port", .scalar("80")), ("ratio", .scalar("0.5")), ("enabled", .scalar("true")),
            ("nothing", .scalar("null")),
            ("name", Node.string("web")), ("version", Node.string("1.10")),
        ])
        #expect(
            YAMLEmitter.emit(node) == """
                port: 80
                ratio: 0.5
                enabled: true
                nothing: null
                name: web
                version: "1.10"

                """
        )
    }

    @Test func blockStyleMatchesKubectl() {
        let node = Node.mapping([
            ("metadata", .mapping([("name", Node.string("x")), ("labels", .mapping([]))])),
            (
                "spec",
                .mapping([
                    (
                        "containers",
                        .sequence([.mapping([("name", Node.string("a")), ("args", .sequence([Node.string("--x")]))])])
                    ),
                    ("items", .sequence([])),
                    ("script", Node.string("set -e\necho hi\n")),
                ])
            ),
        ])
        #expect(
            YAMLEmitter.emit(node) == """
                metadata:
                  name: x
                  labels: {}
                spec:
                  containers:
                  - name: a
                    args:
                    - --x
                  items: []
                  script: |
                    set -e
                    echo hi

                """
        )
    }
}
