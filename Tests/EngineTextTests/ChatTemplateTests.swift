import EngineText
import Foundation
import Testing

/// Real-looking chat templates of several families, rendered exactly as jinja2 renders them with transformers'
/// options (fixtures made by `scripts/make_template_fixtures.py`).
struct ChatTemplateTests {
    static let folder = TokenizerTests.fixtures.appendingPathComponent("templates")

    static func field(_ value: TemplateValue, _ key: String) -> TemplateValue {
        guard case .dict(let pairs) = value else { return .undefined }
        return pairs.first { $0.key == key }?.value ?? .undefined
    }

    @Test func rendersLikeJinja2() throws {
        let expected = try TemplateValue.parseJSON(
            String(contentsOf: Self.folder.appendingPathComponent("expected.json"), encoding: .utf8)
        )
        guard case .list(let cases) = Self.field(expected, "cases") else {
            Issue.record("no cases")
            return
        }
        #expect(cases.count > 50)
        var templates: [String: ChatTemplate] = [:]
        for c in cases {
            guard case .string(let name) = Self.field(c, "template") else { continue }
            if templates[name] == nil {
                templates[name] = try ChatTemplate(
                    String(contentsOf: Self.folder.appendingPathComponent("\(name).jinja"), encoding: .utf8)
                )
            }
            let template = try #require(templates[name])
            var context: [String: TemplateValue] = [
                "messages": Self.field(c, "messages"),
                "add_generation_prompt": Self.field(c, "addGenerationPrompt"),
                "bos_token": .string("<s>"),
                "eos_token": .string("</s>"),
            ]
            if case .list = Self.field(c, "tools") { context["tools"] = Self.field(c, "tools") }
            let label =
                "\(name)/\(Self.field(c, "conversation").rendered)/\(Self.field(c, "addGenerationPrompt").rendered)"
            switch Self.field(c, "output") {
            case .string(let output):
                #expect(try template.render(context) == output, "\(label)")
            default:
                let message = Self.field(c, "error").rendered
                #expect(label.isEmpty == false)
                #expect { try template.render(context) } throws: { ($0 as? TemplateError)?.message == message }
            }
        }
    }

    @Test func syntaxErrorsNameTheLine() {
        #expect { try ChatTemplate("line one\n{% if x %}\nno end") } throws: {
            ($0 as? TemplateError)?.message.contains("endif") == true
        }
        #expect { try ChatTemplate("a\n{{ 'unterminated }}") } throws: { error in
            guard let message = (error as? TemplateError)?.message else { return false }
            return message.contains("line 2")
        }
    }
}
