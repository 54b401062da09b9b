import EngineText
import Foundation
import Testing

/// Tool calls read back from model answers in each family's format (issue 11, tool calls), as vLLM's tool parsers
/// read them, and the format chosen from each released chat template in llama.cpp's `models/templates`.
struct ToolCallTests {
    @Test func hermesCalls() {
        let answer = """
            Let me check.
            <tool_call>
            {"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}
            </tool_call>
            <tool_call>
            {"name": "get_time", "arguments": {"zone": "CET"}}
            </tool_call>
            """
        let (content, calls) = ToolCallFormat.hermes.parse(answer)
        #expect(content == "Let me check.\n")
        #expect(
            calls == [
                ToolCall(name: "get_weather", arguments: #"{"city": "Oslo", "days": 2}"#),
                ToolCall(name: "get_time", arguments: #"{"zone": "CET"}"#),
            ]
        )
        // An unterminated last call (cut by max_tokens after its JSON) still reads; broken JSON is content.
        #expect(ToolCallFormat.hermes.parse(#"<tool_call>{"name": "f", "arguments": {}}"#).calls.count == 1)
        #expect(ToolCallFormat.hermes.parse(#"<tool_call>{"name": "f", "argum"#).calls.isEmpty)
        #expect(ToolCallFormat.hermes.parse("no calls").content == "no calls")
    }

    @Test func llama3Calls() {
        let (content, calls) = ToolCallFormat.llama3JSON.parse(
            #"<|python_tag|>{"name": "get_weather", "parameters": {"city": "Oslo"}}; {"name": "f", "arguments": {"x": [1, 2.5]}}"#
        )
        #expect(content == nil)
        #expect(
            calls == [
                ToolCall(name: "get_weather", arguments: #"{"city": "Oslo"}"#),
                ToolCall(name: "f", arguments: #"{"x": [1, 2.5]}"#),
            ]
        )
        #expect(ToolCallFormat.llama3JSON.parse("The weather is fine.").calls.isEmpty)
        #expect(ToolCallFormat.llama3JSON.parse(#"{"city": "Oslo"}"#).calls.isEmpty)  // no name: content
    }

    @Test func mistralCalls() {
        let v3 = ToolCallFormat.mistral.parse(#"[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo"}}]"#)
        #expect(v3.content == nil)
        #expect(v3.calls == [ToolCall(name: "get_weather", arguments: #"{"city": "Oslo"}"#)])
        let v11 = ToolCallFormat.mistral.parse(
            #"[TOOL_CALLS]get_weather[CALL_ID]a1B2c3D4e[ARGS]{"city": "Oslo"}[TOOL_CALLS]get_time[ARGS]{}"#
        )
        #expect(
            v11.calls == [
                ToolCall(name: "get_weather", arguments: #"{"city": "Oslo"}"#, id: "a1B2c3D4e"),
                ToolCall(name: "get_time", arguments: "{}"),
            ]
        )
    }

    @Test func phi4MiniCalls() {
        let (content, calls) = ToolCallFormat.phi4Mini.parse(
            #"functools[{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "celsius"}}]"#
        )
        #expect(content == nil)
        #expect(calls == [ToolCall(name: "get_weather", arguments: #"{"city": "Oslo", "unit": "celsius"}"#)])
    }

    /// Arguments keep the model's key order and come out in Python's `json.dumps` layout (vLLM's).
    @Test func argumentsInPythonLayout() {
        let calls = ToolCallFormat.hermes.parse(
            #"<tool_call>{"name":"f","arguments":{"b":1.0,"a":"é\n","c":null}}</tool_call>"#
        )
        .calls
        #expect(calls.first?.arguments == #"{"b": 1.0, "a": "é\n", "c": null}"#)
    }

    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache/llama.cpp/models/templates")

    /// Released templates of the catalog's families pick their family's format; one without tool calls picks none.
    @Test(arguments: [
        ("Qwen-Qwen2.5-7B-Instruct.jinja", ToolCallFormat.hermes),
        ("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", .hermes),
        ("meta-llama-Llama-3.1-8B-Instruct.jinja", .llama3JSON),
        ("meta-llama-Llama-3.3-70B-Instruct.jinja", .llama3JSON),
        ("mistralai-Mistral-Nemo-Instruct-2407.jinja", .mistral),
        ("Mistral-Small-3.2-24B-Instruct-2506.jinja", .mistral),
    ])
    func formatOfReleasedTemplates(_ name: String, _ format: ToolCallFormat) throws {
        let source = try String(contentsOf: Self.templates.appendingPathComponent(name), encoding: .utf8)
        #expect(ToolCallFormat.detect(template: source) == format)
        // The template renders the tools it is given (they reach the prompt).
        let template = try ChatTemplate(source)
        let tool = try TemplateValue.parseJSON(
            #"{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city", "#
                + #""parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}"#
        )
        let prompt = try template.render([
            "messages": .list([.dict([.init("role", .string("user")), .init("content", .string("Weather in Oslo?"))])]),
            "tools": .list([tool]), "add_generation_prompt": .bool(true), "bos_token": .string("<s>"),
            "eos_token": .string("</s>"),
        ])
        #expect(prompt.contains("get_weather"))
    }

    @Test func templateWithoutToolsHasNoFormat() throws {
        let source = try String(
            contentsOf: Self.templates.appendingPathComponent("microsoft-Phi-3.5-mini-instruct.jinja"),
            encoding: .utf8
        )
        #expect(ToolCallFormat.detect(template: source) == nil)
    }
}
