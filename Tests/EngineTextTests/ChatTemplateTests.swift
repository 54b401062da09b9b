import EngineText
import Foundation
import Testing

/// Chat templates rendered exactly as transformers renders them (jinja2 3.1.6 in transformers' sandboxed
/// environment). Expected outputs are made by `scripts/make_template_fixtures.py`:
/// - `Fixtures/templates`: six small templates of several families (jinja2 with transformers' options);
/// - `Fixtures/llama-templates`: llama.cpp's 70 chat templates of released models (read from `.cache/llama.cpp`,
///   fetched by `make third-party`) × four conversations, rendered by transformers' `render_jinja_template`;
/// - `Fixtures/template-semantics`: one small template per jinja2 behaviour.
struct ChatTemplateTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let folder = fixtures.appendingPathComponent("templates")

    /// The clock the fixtures were rendered with: 2026-03-07 14:05:09 local time (transformers' `strftime_now`
    /// formats the naive local `datetime.now()`).
    static let fixedNow: Date = {
        var components = DateComponents()
        (components.year, components.month, components.day) = (2026, 3, 7)
        (components.hour, components.minute, components.second) = (14, 5, 9)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .current
        return calendar.date(from: components) ?? Date(timeIntervalSince1970: 0)
    }()

    static func field(_ value: TemplateValue, _ key: String) -> TemplateValue {
        guard case .dict(let pairs) = value else { return .undefined }
        return pairs.first { $0.key == key }?.value ?? .undefined
    }

    static func load(_ path: String) throws -> TemplateValue {
        try TemplateValue.parseJSON(String(contentsOf: fixtures.appendingPathComponent(path), encoding: .utf8))
    }

    /// The error kind jinja2/Python reported, as ours classifies it.
    static func kind(_ pythonKind: String) -> TemplateError.Kind {
        switch pythonKind {
        case "raise_exception": return .raised
        case "UndefinedError": return .undefined
        case "SecurityError": return .security
        case "TemplateSyntaxError", "TemplateAssertionError", "SyntaxError": return .syntax
        default: return .type
        }
    }

    /// Checks one expected outcome and returns whether it matched.
    ///
    /// The same text, or an error of the same kind with the same message (syntax errors: the same kind).
    @discardableResult
    static func check(_ label: String, _ expected: TemplateValue, _ render: () throws -> String) -> Bool {
        if case .string(let output) = field(expected, "output") {
            do {
                let got = try render()
                #expect(got == output, "\(label)")
                return got == output
            } catch {
                Issue.record("\(label): raised \(error), transformers rendered \(output.debugDescription)")
                return false
            }
        }
        let kind = kind(field(expected, "errorKind").rendered)
        let message = field(expected, "error").rendered
        do {
            let got = try render()
            Issue.record("\(label): rendered \(got.debugDescription), transformers raised \(message)")
            return false
        } catch let error as TemplateError {
            // Python's own message, except for syntax errors (whose wording is the parser's).
            #expect(error.kind == kind, "\(label): \(error)")
            if kind != .syntax { #expect(error.message == message, "\(label)") }
            return error.kind == kind && (kind == .syntax || error.message == message)
        } catch {
            Issue.record("\(label): unexpected error \(error)")
            return false
        }
    }

    @Test func rendersLikeJinja2() throws {
        let expected = try Self.load("templates/expected.json")
        guard case .list(let cases) = Self.field(expected, "cases") else {
            Issue.record("no cases")
            return
        }
        #expect(cases.count == 62)
        var templates: [String: ChatTemplate] = [:]
        for c in cases {
            let name = Self.field(c, "template").rendered
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
            var c = c
            if case .dict(var pairs) = c, Self.field(c, "output") == .none {
                // This older fixture records raise_exception messages only; its errors are all raised by templates.
                pairs.append(TemplateValue.Pair("errorKind", .string("raise_exception")))
                c = .dict(pairs)
            }
            Self.check(label, c) { try template.render(context, now: Self.fixedNow) }
        }
    }

    /// All 70 templates of llama.cpp's `models/templates` × four conversations, byte for byte as transformers.
    @Test func llamaCppTemplatesRenderLikeTransformers() throws {
        let templates = Self.repositoryRoot.appendingPathComponent(".cache/llama.cpp/models/templates")
        guard FileManager.default.fileExists(atPath: templates.path) else {
            Issue.record("\(templates.path) is missing: run `make third-party` (make test does)")
            return
        }
        let expected = try Self.load("llama-templates/expected.json")
        guard case .list(let conversations) = Self.field(expected, "conversations"),
            case .list(let cases) = Self.field(expected, "cases")
        else {
            Issue.record("malformed fixture")
            return
        }
        #expect(cases.count == 280)
        let bos = Self.field(expected, "bos_token").rendered
        let eos = Self.field(expected, "eos_token").rendered
        var identical = 0
        for c in cases {
            let name = Self.field(c, "template").rendered
            let conversationName = Self.field(c, "conversation")
            let conversation = try #require(conversations.first { Self.field($0, "name") == conversationName })
            let source = try String(contentsOf: templates.appendingPathComponent("\(name).jinja"), encoding: .utf8)
            guard case .list(let messages) = Self.field(conversation, "messages") else { continue }
            var tools: [TemplateValue]?
            if case .list(let list) = Self.field(conversation, "tools") { tools = list }
            let matched = Self.check("\(name)/\(conversationName.rendered)", c) {
                try ChatTemplate(source).render(
                    messages: messages,
                    tools: tools,
                    addGenerationPrompt: Self.field(conversation, "addGenerationPrompt") == .bool(true),
                    bosToken: bos,
                    eosToken: eos,
                    now: Self.fixedNow
                )
            }
            if matched { identical += 1 }
        }
        #expect(identical == 280, "identical renders: \(identical) of 280")
    }

    /// One small template per jinja2 behaviour chat templates rely on.
    @Test func jinjaSemanticsLikeTransformers() throws {
        let expected = try Self.load("template-semantics/expected.json")
        guard case .list(let cases) = Self.field(expected, "cases"),
            case .dict(let variables) = Self.field(expected, "context")
        else {
            Issue.record("malformed fixture")
            return
        }
        #expect(cases.count >= 100)
        let context = Dictionary(variables.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        for c in cases {
            let source = Self.field(c, "template").rendered
            Self.check(Self.field(c, "name").rendered, c) {
                try ChatTemplate(source).render(context, now: Self.fixedNow)
            }
        }
    }

    @Test func strftimeNowReadsTheInjectedClock() throws {
        let template = try ChatTemplate("{{ strftime_now('%Y-%m-%d %H:%M') }}")
        #expect(try template.render([:], now: Self.fixedNow) == "2026-03-07 14:05")
        var components = DateComponents()
        (components.year, components.month, components.day, components.hour, components.minute) = (1999, 12, 31, 23, 59)
        let other = try #require(Calendar(identifier: .gregorian).date(from: components))
        #expect(try template.render([:], now: other) == "1999-12-31 23:59")
    }

    /// transformers passes `tools` and `documents` as `None` when absent, and aliases reasoning fields
    /// (`_alias_reasoning_fields` in transformers/utils/chat_template_utils.py, v5.24.0).
    @Test func conversationRenderPassesWhatTransformersPasses() throws {
        let template = try ChatTemplate(
            "{{ tools is none }}{{ documents is none }}{{ add_generation_prompt }}{{ bos_token }}{{ eos_token }}"
                + "{{ messages[0]|tojson }}{{ extra }}"
        )
        let message = TemplateValue.dict([
            .init("role", .string("assistant")), .init("content", .string("4")), .init("reasoning", .string("r")),
        ])
        let out = try template.render(
            messages: [message],
            addGenerationPrompt: false,
            bosToken: "<s>",
            eosToken: "</s>",
            extra: ["extra": .int(1)]
        )
        #expect(
            out == "TrueTrueFalse<s></s>"
                + #"{"thinking": "r", "role": "assistant", "content": "4", "reasoning": "r", "reasoning_content": "r"}1"#
        )
        let withTools = try ChatTemplate("{{ tools|length }}").render(
            messages: [],
            tools: [.dict([])],
            addGenerationPrompt: true,
            bosToken: "",
            eosToken: ""
        )
        #expect(withTools == "1")
    }

    @Test func errorsNameTheLine() {
        #expect { try ChatTemplate("line one\n{% if x %}\nno end") } throws: {
            ($0 as? TemplateError)?.kind == .syntax && ($0 as? TemplateError)?.message.contains("endif") == true
        }
        #expect { try ChatTemplate("a\n{{ 'unterminated }}") } throws: { error in
            (error as? TemplateError)?.line == 2
        }
        #expect { try ChatTemplate("a\nb\n{{ x.y.z }}").render([:]) } throws: { error in
            guard let e = error as? TemplateError else { return false }
            return e.kind == .undefined && e.line == 3 && e.description.hasPrefix("line 3: ")
        }
    }
}
