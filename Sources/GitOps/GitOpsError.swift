public import GitStore
internal import KaitoCore

/// A problem that stops a git operation of kaitoc before it writes anything: exit status 2 at the command line.
public struct GitOpsError: Error, Sendable, CustomStringConvertible {
    /// One line, for people.
    public var message: String
    /// The libgit2 error underneath, if any.
    public var cause: GitError?
    /// The exit status at the command line: 2 for git errors, 1 for a push the remote refused or could not take.
    public var exitStatus: Int32

    /// Creates an error.
    public init(_ message: String, cause: GitError? = nil, exitStatus: Int32 = 2) {
        self.message = message
        self.cause = cause
        self.exitStatus = exitStatus
    }

    /// One line.
    public var description: String { message }
}

/// The version written into commit trailers.
public enum KaitocVersion {
    /// The kaitoc version.
    public static let current = KaitocBuildInfo.version
}

extension Repository {
    /// The repository containing `path`, or the one error every kaitoc git command gives when there is none.
    static func opening(_ path: String) throws(GitOpsError) -> Repository {
        do {
            return try Repository(discovering: path)
        } catch {
            throw GitOpsError("not a git repository: \(path)", cause: error)
        }
    }
}
