internal import CGit2

/// A failed libgit2 call, with libgit2's own message.
public struct GitError: Error, Sendable, CustomStringConvertible {
    /// libgit2's return code (`GIT_ENOTFOUND`, `GIT_EMODIFIED`, …).
    public var code: Int32
    /// The operation that failed, for example `git_repository_open_ext`.
    public var operation: String
    /// libgit2's message.
    public var message: String

    /// One line.
    public var description: String { "\(message) (\(operation))" }

    /// The reference changed under us (compare-and-swap lost).
    public var isModified: Bool { code == GIT_EMODIFIED.rawValue || code == GIT_EEXISTS.rawValue }
    /// A lock file is in the way (for example `index.lock`).
    public var isLocked: Bool { code == GIT_ELOCKED.rawValue || message.contains(".lock") }
    /// The object or reference does not exist.
    public var isNotFound: Bool { code == GIT_ENOTFOUND.rawValue }
}

/// Initialises libgit2 once per process.
enum LibGit2 {
    static let initialized: Bool = git_libgit2_init() >= 0

    /// Converts a libgit2 return code into a typed error, reading libgit2's last error right away.
    static func check(_ rc: Int32, _ operation: String) throws(GitError) {
        guard rc < 0 else { return }
        var message = "libgit2 error \(rc)"
        if let error = git_error_last(), let text = error.pointee.message {
            message = String(cString: text)
        }
        throw GitError(code: rc, operation: operation, message: message)
    }
}
