public import GitStore

/// A problem that stops a git operation of kaitoc before it writes anything: exit status 2 at the command line.
public struct GitOpsError: Error, Sendable, CustomStringConvertible {
    /// One line, for people.
    public var message: String
    /// The libgit2 error underneath, if any.
    public var cause: GitError?

    /// Creates an error.
    public init(_ message: String, cause: GitError? = nil) {
        self.message = message
        self.cause = cause
    }

    /// One line.
    public var description: String { message }
}

/// The version written into commit trailers.
public enum KaitocVersion {
    /// The kaitoc version.
    public static let current = "0.1.0"
}
