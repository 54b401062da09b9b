import FuzzSupport
import KaitoCore
import YAML

// The YAML layer (libyaml events to located nodes, limits, merge keys) and the strict workspace decoder over what it
// parses: every input gives documents or a located YAMLError, and every document an object or diagnostics.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let documents = try? YAMLParser.parse(bytes(data, size)) else { return 0 }
    for (index, document) in documents.enumerated() {
        guard let root = document.root else { continue }
        _ = InputDecoder.decode(root, file: "fuzz.yaml", index: index)
    }
    return 0
}

runFuzzer(fuzzOne)
