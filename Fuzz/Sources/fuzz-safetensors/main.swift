import FuzzSupport
import InferenceEngine

// The safetensors header (8-byte length, JSON, offsets against the file's length), then every tensor it lists.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = scratchFile(bytes(data, size), suffix: ".safetensors")
    guard let file = try? SafeTensorsFile(path: path) else { return 0 }
    for name in file.entries.keys { _ = file.floats(name) }
    return 0
}

runFuzzer(fuzzOne)
