/// A Kaito release such as `v0.12.0`, compared numerically.
public struct KaitoVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Major, minor and patch numbers.
    public var major: Int, minor: Int, patch: Int

    /// Parses `v0.12.0`, `0.12.0` or `v0.12`; `nil` otherwise.
    public init?(_ text: String) {
        let body = text.hasPrefix("v") ? text.dropFirst() : Substring(text)
        let parts = body.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil }) else { return nil }
        major = parts[0] ?? 0
        minor = parts[1] ?? 0
        patch = parts.count > 2 ? parts[2] ?? 0 : 0
    }

    /// Creates a version from its numbers.
    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// `v<major>.<minor>.<patch>`.
    public var description: String { "v\(major).\(minor).\(patch)" }

    /// Orders by value.
    public static func < (a: KaitoVersion, b: KaitoVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    /// HEAD of the reference (v0.12.0).
    public static let head = KaitoVersion(0, 12, 0)
}
