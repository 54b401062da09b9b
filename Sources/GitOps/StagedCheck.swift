internal import GitStore
public import KaitoCore

/// `kaitoc check --staged`: validates the files as they are in the git index, so a partially staged file is judged
/// by what will be committed.
public enum StagedCheck {
    /// Checks the index of the repository containing `path`.
    ///
    /// - Parameters:
    ///   - path: A folder inside the repository.
    ///   - files: Repository-relative files to check (a pre-commit hook's list); empty means every staged workspace,
    ///     with the rules that span workspaces.
    /// - Returns: The report; file paths in it are relative to the repository root.
    /// - Throws: ``GitOpsError`` when there is no repository or the index cannot be read (for example while locked).
    public static func run(repositoryPath path: String, files: [String] = []) throws(GitOpsError) -> CheckReport {
        let repository = try Repository.opening(path)
        let staged: [String: [UInt8]]
        do {
            staged = try repository.stagedFiles(under: ["workspaces", "presets"])
        } catch {
            throw GitOpsError(
                error.isLocked
                    ? "the git index is locked (another git process is running?): \(error.message)"
                    : "cannot read the git index: \(error.message)",
                cause: error
            )
        }
        let relevant = files.filter { $0.hasPrefix("workspaces/") }
        return Checker.check(
            CheckOptions(repositoryRoot: "", paths: relevant, tree: MemoryTree(files: staged))
        )
    }
}
