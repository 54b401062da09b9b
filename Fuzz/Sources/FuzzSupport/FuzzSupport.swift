#if canImport(Glibc)
import Glibc
#endif

/// The signature of `LLVMFuzzerTestOneInput`: one input, its length; returns 0.
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
private func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: FuzzCallback
) -> CInt

/// Runs libFuzzer's driver over `callback` with the process's arguments and exits with its status.
///
/// Each target also exports `LLVMFuzzerTestOneInput`, so libFuzzer's own `main` works too when the linker picks it.
///
/// - Parameter callback: The target's `LLVMFuzzerTestOneInput`.
public func runFuzzer(_ callback: FuzzCallback) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(llvmFuzzerRunDriver(&argc, &argv, callback))
}

/// The input as bytes.
///
/// - Parameters:
///   - data: libFuzzer's buffer.
///   - size: Its length.
/// - Returns: A copy of the bytes.
public func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Writes the input to a file private to this process and returns its path (for loaders that read files).
///
/// - Parameters:
///   - bytes: The input.
///   - suffix: The file name's ending (`.json`, `.safetensors`).
/// - Returns: The path, rewritten on every call.
public func scratchFile(_ bytes: [UInt8], suffix: String) -> String {
    let path = "/tmp/kaitoc-fuzz-\(getpid())\(suffix)"
    guard let file = fopen(path, "wb") else { preconditionFailure("cannot write \(path)") }
    _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
    fclose(file)
    return path
}
