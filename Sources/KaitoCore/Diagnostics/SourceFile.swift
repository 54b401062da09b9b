/// The text of an input file, kept to print the offending line under a diagnostic.
public struct SourceFile: Sendable {
    /// The path used in diagnostics.
    public var path: String
    /// The raw bytes.
    public var bytes: [UInt8]

    /// Creates a source file.
    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    /// The text of a 1-based line without its line terminator, or `nil` when out of range or not valid UTF-8.
    ///
    /// - Complexity: O(n) in the file size.
    public func line(_ number: Int) -> String? {
        guard number >= 1 else { return nil }
        var current = 1
        var start = 0
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                if current == number { break }
                current += 1
                start = index + 1
            }
            index += 1
        }
        guard current == number, start <= bytes.count else { return nil }
        var end = index
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(validating: bytes[start..<end], as: UTF8.self)
    }
}
