import EngineText
import FuzzSupport
import GGUF
import InferenceEngine

// A GGUF file end to end: header, metadata and tensor directory; the tokenizer in its metadata, encoding and decoding a
// fixed text; the model configuration and weights; and, when all of that loads, a three-token prefill.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = scratchFile(bytes(data, size), suffix: ".gguf")
    guard let file = try? GGUFFile(path: path) else { return 0 }
    if let tokenizer = try? Tokenizer(gguf: file) {
        _ = tokenizer.decode(tokenizer.encode("Hello <s> wörld 12345 \n\t ✓ "))
    }
    guard let model = try? CausalLM(gguf: path) else { return 0 }
    let limited = model.limitingContext(to: 8)
    var cache = limited.makeCache()
    let vocabulary = limited.config.vocabularySize
    _ = try? limited.prefill([1, 2, 3].map { $0 % vocabulary }, cache: &cache)
    return 0
}

runFuzzer(fuzzOne)
