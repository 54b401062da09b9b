internal import CGit2

#if canImport(Glibc)
internal import Glibc
#endif

/// How to authenticate a push.
public struct PushCredentials: Sendable {
    /// A token for HTTPS remotes (sent as the password of `x-access-token`), for example from `KAITOC_GIT_TOKEN`.
    public var token: String?
    /// Use the ssh agent for ssh remotes.
    public var useSSHAgent: Bool

    /// Creates credentials.
    public init(token: String? = nil, useSSHAgent: Bool = true) {
        self.token = token
        self.useSSHAgent = useSSHAgent
    }
}

/// State shared with libgit2's push callbacks through their `void *` payload.
private final class PushState {
    let credentials: PushCredentials
    var rejections: [String] = []
    var credentialAttempts = 0

    init(credentials: PushCredentials) {
        self.credentials = credentials
    }
}

extension Repository {
    /// Pushes refspecs (`refs/heads/main:refs/heads/main`) to a remote name or URL/path.
    ///
    /// Never forces.
    ///
    /// Wraps `git_remote_push`.
    /// - Returns: The references the remote rejected, with its reason (empty when all were accepted).
    /// - Throws: ``GitError`` when the remote cannot be reached or authentication fails.
    public func push(remote: String, refspecs: [String], credentials: PushCredentials) throws(GitError) -> [String] {
        var remoteHandle: OpaquePointer?
        if git_remote_lookup(&remoteHandle, rawHandle, remote) != 0 {
            try LibGit2.check(
                git_remote_create_anonymous(&remoteHandle, rawHandle, remote),
                "git_remote_create_anonymous"
            )
        }
        defer { git_remote_free(remoteHandle) }
        var options = git_push_options()
        try LibGit2.check(git_push_options_init(&options, UInt32(GIT_PUSH_OPTIONS_VERSION)), "git_push_options_init")
        let state = PushState(credentials: credentials)
        let payload = Unmanaged.passRetained(state)
        defer { payload.release() }
        options.callbacks.payload = payload.toOpaque()
        options.callbacks.push_update_reference = { refname, status, data in
            guard let data, let status else { return 0 }
            let state = Unmanaged<PushState>.fromOpaque(data).takeUnretainedValue()
            state.rejections.append("\(refname.map { String(cString: $0) } ?? "?"): \(String(cString: status))")
            return 0
        }
        options.callbacks.credentials = { out, _, username, allowed, data in
            guard let data else { return GIT_PASSTHROUGH.rawValue }
            let state = Unmanaged<PushState>.fromOpaque(data).takeUnretainedValue()
            state.credentialAttempts += 1
            if state.credentialAttempts > 3 { return GIT_EAUTH.rawValue }
            if allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0, state.credentials.useSSHAgent {
                if let username { return git_credential_ssh_key_from_agent(out, username) }
                return git_credential_ssh_key_from_agent(out, "git")
            }
            if allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0, let token = state.credentials.token {
                return git_credential_userpass_plaintext_new(out, "x-access-token", token)
            }
            return GIT_PASSTHROUGH.rawValue
        }
        var cStrings = refspecs.map { strdup($0) }
        defer { for s in cStrings { free(s) } }
        let rc = cStrings.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var array = git_strarray(strings: buffer.baseAddress, count: buffer.count)
            return git_remote_push(remoteHandle, &array, &options)
        }
        try LibGit2.check(rc, "git_remote_push")
        return state.rejections
    }
}
