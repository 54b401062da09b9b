internal import GitStore
public import KaitoCore

/// `kaitoc plan --diff REV`: the workspaces and catalog committed in a revision, checked and planned as `plan` does
/// with the working tree, so a pull request's capacity and cost change can be shown before it merges.
public enum PlanAtRevision {
    /// Checks `workspaces/` and `presets/` as committed in `revision`.
    ///
    /// - Parameters:
    ///   - path: A folder inside the repository.
    ///   - revision: A revision libgit2 resolves (`main`, `HEAD~1`, a sha, `origin/main`).
    /// - Returns: The check report of that revision; its file paths are relative to the repository root.
    /// - Throws: ``GitOpsError`` when there is no repository or the revision is unknown.
    public static func check(repositoryPath path: String, revision: String) throws(GitOpsError) -> CheckReport {
        let repository = try Repository.opening(path)
        let files: [String: [UInt8]]
        do {
            let commit = try repository.commit(try repository.resolveCommit(revision))
            files = try repository.files(inTree: commit.tree, under: ["workspaces", "presets"])
        } catch {
            throw GitOpsError("unknown revision \(revision): \(error.message)", cause: error)
        }
        return Checker.check(CheckOptions(repositoryRoot: "", paths: [], tree: MemoryTree(files: files)))
    }
}
