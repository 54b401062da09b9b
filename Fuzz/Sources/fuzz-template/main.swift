import EngineText
import FuzzSupport

// The chat template parser (Jinja subset), then a render with a two-message conversation.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let template = try? ChatTemplate(String(decoding: bytes(data, size), as: UTF8.self)) else { return 0 }
    let message: (String, String) -> TemplateValue = { role, content in
        .dict([TemplateValue.Pair("role", .string(role)), TemplateValue.Pair("content", .string(content))])
    }
    _ = try? template.render([
        "messages": .list([message("system", "Be brief."), message("user", "Hello")]),
        "add_generation_prompt": .bool(true), "bos_token": .string("<s>"), "eos_token": .string("</s>"),
    ])
    return 0
}

runFuzzer(fuzzOne)
