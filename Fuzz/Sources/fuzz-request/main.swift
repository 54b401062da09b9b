import EngineServer
import FuzzSupport

// HTTP request bodies as kaito-serve's three POST routes decode them: typed bodies or a located RequestBodyError.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = bytes(data, size)
    for route in ["/chat", "/v1/chat/completions", "/v1/completions"] {
        _ = try? KaitoServeRoutes.validateBody(body, route: route)
    }
    return 0
}

runFuzzer(fuzzOne)
