internal import Foundation
internal import GitStore

/// How `kaitoc commit --sign` signs its commits: git's two signature formats, made by the same programs git runs.
///
/// The signature goes into the commit's `gpgsig` header, so `git verify-commit` (with `gpg.ssh.allowedSignersFile`
/// for SSH, a keyring for OpenPGP) and forges verify it like a commit made with `git commit -S`.
public struct CommitSigning: Sendable, Equatable {
    /// git's `gpg.format`.
    public enum Format: String, Sendable, CaseIterable {
        /// An SSH signature (`SSHSIG`, namespace `git`) made by `ssh-keygen -Y sign`.
        case ssh
        /// An armored OpenPGP detached signature made by `gpg`.
        case openpgp
    }

    /// The format; `nil`: git's `gpg.format`, else `openpgp` (git's default).
    public var format: Format?
    /// The key, or `nil` for git's `user.signingKey`.
    ///
    /// SSH: a private key file, a public key file whose private key is in the ssh agent, or `key::` followed by a
    /// public key (as git accepts). OpenPGP: a key id, fingerprint or user id; with neither, gpg's default key.
    public var key: String?
    /// The signing program, or `nil` for git's `gpg.ssh.program` / `gpg.openpgp.program` / `gpg.program`, else
    /// `ssh-keygen` / `gpg` from `PATH`.
    public var program: String?

    /// Creates signing options.
    public init(format: Format? = nil, key: String? = nil, program: String? = nil) {
        self.format = format
        self.key = key
        self.program = program
    }
}

/// Signs raw commit contents with `ssh-keygen` or `gpg`, through files in a private temporary folder (no pipes that
/// could fill up and stall).
enum CommitSigner {
    /// Fills what the options leave open from the repository's git configuration, as `git commit -S` does.
    static func resolve(_ options: CommitSigning, in repository: Repository) throws(GitOpsError) -> CommitSigning {
        var resolved = options
        if resolved.format == nil {
            let configured = repository.configString("gpg.format") ?? "openpgp"
            guard let format = CommitSigning.Format(rawValue: configured) else {
                throw GitOpsError("gpg.format \(configured) is not supported for signing; use ssh or openpgp")
            }
            resolved.format = format
        }
        if resolved.key == nil { resolved.key = repository.configString("user.signingKey") }
        if resolved.program == nil {
            switch resolved.format ?? .openpgp {
            case .ssh:
                resolved.program = repository.configString("gpg.ssh.program") ?? "ssh-keygen"
            case .openpgp:
                resolved.program =
                    repository.configString("gpg.openpgp.program") ?? repository.configString("gpg.program") ?? "gpg"
            }
        }
        if resolved.format == .ssh, resolved.key?.isEmpty ?? true {
            throw GitOpsError("SSH signing needs a key: pass --signing-key or set user.signingKey")
        }
        return resolved
    }

    /// The signature of `content` (the commit object's bytes without a `gpgsig` header).
    static func sign(_ content: String, with options: CommitSigning) throws(GitOpsError) -> String {
        let fm = FileManager.default
        let folder = fm.temporaryDirectory.appendingPathComponent("kaitoc-sign-\(UUID().uuidString)")
        do {
            try fm.createDirectory(
                at: folder,
                withIntermediateDirectories: false,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw GitOpsError("cannot create a temporary folder for signing: \(error.localizedDescription)")
        }
        defer { try? fm.removeItem(at: folder) }
        let buffer = folder.appendingPathComponent("commit")
        do {
            try Data(content.utf8).write(to: buffer)
        } catch {
            throw GitOpsError("cannot write the commit to sign: \(error.localizedDescription)")
        }
        switch options.format ?? .openpgp {
        case .ssh:
            return try signSSH(buffer: buffer, folder: folder, options: options)
        case .openpgp:
            return try signOpenPGP(buffer: buffer, folder: folder, options: options)
        }
    }

    /// `ssh-keygen -Y sign -n git -f KEY FILE` writes `FILE.sig`, an armored SSHSIG.
    static func signSSH(buffer: URL, folder: URL, options: CommitSigning) throws(GitOpsError) -> String {
        var key = options.key ?? ""
        if key.hasPrefix("key::") {
            let literal = folder.appendingPathComponent("key.pub")
            do {
                try Data((String(key.dropFirst("key::".count)) + "\n").utf8).write(to: literal)
            } catch {
                throw GitOpsError("cannot write the public key: \(error.localizedDescription)")
            }
            key = literal.path
        } else if key.hasPrefix("~/") {
            key = FileManager.default.homeDirectoryForCurrentUser.path + key.dropFirst(1)
        }
        let program = options.program ?? "ssh-keygen"
        let run = try execute(program, ["-Y", "sign", "-n", "git", "-f", key, buffer.path], folder: folder)
        let signatureFile = URL(fileURLWithPath: buffer.path + ".sig")
        guard run.status == 0, let data = FileManager.default.contents(atPath: signatureFile.path) else {
            throw GitOpsError(
                "\(program) could not sign the commit: \(run.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
        let signature = String(decoding: data, as: UTF8.self)
        guard signature.hasPrefix("-----BEGIN SSH SIGNATURE-----") else {
            throw GitOpsError("\(program) wrote no SSH signature")
        }
        return signature
    }

    /// `gpg --status-fd=2 -bsa [-u KEY]` over the buffer: an armored detached signature on standard output, and
    /// `[GNUPG:] SIG_CREATED` in the status lines (git's own check).
    static func signOpenPGP(buffer: URL, folder: URL, options: CommitSigning) throws(GitOpsError) -> String {
        let program = options.program ?? "gpg"
        var arguments = ["--status-fd=2", "-bsa"]
        if let key = options.key, !key.isEmpty { arguments += ["-u", key] }
        let run = try execute(program, arguments, folder: folder, input: buffer)
        guard run.status == 0, run.stderr.contains("[GNUPG:] SIG_CREATED "),
            run.stdout.hasPrefix("-----BEGIN PGP SIGNATURE-----")
        else {
            let reason = run.stderr.split(separator: "\n").filter { !$0.hasPrefix("[GNUPG:]") }.joined(separator: "; ")
            throw GitOpsError("\(program) could not sign the commit: \(reason)")
        }
        return run.stdout
    }

    /// Runs a program (looked up in `PATH` unless a path), standard input from a file, outputs to files.
    static func execute(
        _ program: String,
        _ arguments: [String],
        folder: URL,
        input: URL? = nil
    ) throws(GitOpsError) -> (status: Int32, stdout: String, stderr: String) {
        let fm = FileManager.default
        let outURL = folder.appendingPathComponent("stdout")
        let errURL = folder.appendingPathComponent("stderr")
        let process = Process()
        do {
            guard fm.createFile(atPath: outURL.path, contents: nil), fm.createFile(atPath: errURL.path, contents: nil)
            else { throw GitOpsError("cannot create output files in \(folder.path)") }
            if program.contains("/") {
                process.executableURL = URL(fileURLWithPath: program)
                process.arguments = arguments
            } else {
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = [program] + arguments
            }
            let stdout = try FileHandle(forWritingTo: outURL)
            let stderr = try FileHandle(forWritingTo: errURL)
            defer {
                try? stdout.close()
                try? stderr.close()
            }
            process.standardOutput = stdout
            process.standardError = stderr
            process.standardInput =
                try input.map { url in try FileHandle(forReadingFrom: url) } ?? FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
        } catch let error as GitOpsError {
            throw error
        } catch {
            throw GitOpsError("cannot run \(program): \(error.localizedDescription)")
        }
        let out = String(decoding: fm.contents(atPath: outURL.path) ?? Data(), as: UTF8.self)
        let err = String(decoding: fm.contents(atPath: errURL.path) ?? Data(), as: UTF8.self)
        return (process.terminationStatus, out, err)
    }
}
