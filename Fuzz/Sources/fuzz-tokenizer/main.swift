import EngineText
import FuzzSupport

// tokenizer.json loading, then encoding and decoding a fixed text with whatever loaded.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = scratchFile(bytes(data, size), suffix: "-tokenizer.json")
    guard let tokenizer = try? Tokenizer(path: path) else { return 0 }
    let ids = tokenizer.encode("Hello <|user|> wörld 12345 \n\t ✓ ")
    _ = tokenizer.decode(ids)
    return 0
}

runFuzzer(fuzzOne)
