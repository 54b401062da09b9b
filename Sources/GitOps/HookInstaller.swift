internal import Foundation
internal import GitStore

/// `kaitoc hook install`: writes `.git/hooks/pre-commit` calling `kaitoc check --staged`.
public enum HookInstaller {
    /// The marker line that identifies our hook.
    public static let marker = "# kaitoc pre-commit hook"

    /// The hook script.
    public static func script(kaitoc: String) -> String {
        """
        #!/bin/sh
        \(marker): validates the staged workspaces (kaitoc check --staged).
        # Reinstall with `kaitoc hook install --force`; bypass once with `git commit --no-verify`.
        exec "\(kaitoc)" check --staged

        """
    }

    /// Installs the hook.
    ///
    /// - Parameters:
    ///   - repositoryPath: A folder inside the repository.
    ///   - kaitoc: The command the hook runs.
    ///   - force: Overwrite a hook that kaitoc did not write.
    /// - Returns: The path of the hook.
    /// - Throws: ``GitOpsError`` when there is no repository (or it is bare), or a foreign hook is in the way.
    public static func install(repositoryPath: String, kaitoc: String, force: Bool) throws(GitOpsError) -> String {
        let repository = try Repository.opening(repositoryPath)
        guard let gitDirectory = repository.gitDirectory, !repository.isBare else {
            throw GitOpsError("a bare repository has no pre-commit hook; use a post-receive hook (docs/gitops.md)")
        }
        let hooks = URL(fileURLWithPath: gitDirectory).appendingPathComponent("hooks")
        let hook = hooks.appendingPathComponent("pre-commit")
        if let existing = FileManager.default.contents(atPath: hook.path),
            !String(decoding: existing, as: UTF8.self).contains(marker), !force
        {
            throw GitOpsError("\(hook.path) exists and was not written by kaitoc; pass --force to replace it")
        }
        do {
            try FileManager.default.createDirectory(at: hooks, withIntermediateDirectories: true)
            try Data(script(kaitoc: kaitoc).utf8).write(to: hook)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook.path)
        } catch {
            throw GitOpsError("cannot write \(hook.path): \(error.localizedDescription)")
        }
        return hook.path
    }
}
