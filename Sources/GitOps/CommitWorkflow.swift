internal import Foundation
public import GitStore
public import KaitoCore

/// What `kaitoc commit` does.
public struct CommitOptions: Sendable {
    /// A folder inside the repository (a bare repository works).
    public var repositoryPath: String
    /// The source revision; default `HEAD`.
    public var revision: String
    /// A separate branch for the rendered commits (`rendered/main`); `nil` commits on the source branch.
    public var renderedBranch: String?
    /// Author; default from git configuration, else `kaitoc <kaitoc@localhost>`.
    public var author: Signature?
    /// Committer; default the author.
    public var committer: Signature?
    /// How many times to re-read and re-render when the branch moves under us.
    public var maxAttempts: Int
    /// A remote (name, URL or path) to push the branch to after committing.
    public var pushRemote: String?
    /// How to authenticate the push.
    public var pushCredentials: PushCredentials = PushCredentials()
    /// Sign the rendered commits (`nil`: unsigned); what it leaves open comes from git configuration.
    public var signing: CommitSigning?
    /// With a rendered branch: write Argo CD's source hydrator bookkeeping (``HydratorMetadata``), add its git note,
    /// and honour the dry commit's `Argocd-reference-commit-*` trailers.
    public var hydratorMetadata = true
    /// The repository URL written into `hydrator.metadata`; `nil`: git's `remote.origin.url`, else left out.
    public var repositoryURL: String?
    /// Whether unchanged workspaces are taken from the commit cache (`<git dir>/kaitoc-cache/commit`) instead of
    /// rendered; the commit is the same either way.
    public var cache = true

    /// Creates options.
    public init(
        repositoryPath: String = ".",
        revision: String = "HEAD",
        renderedBranch: String? = nil,
        author: Signature? = nil,
        committer: Signature? = nil,
        maxAttempts: Int = 5
    ) {
        self.repositoryPath = repositoryPath
        self.revision = revision
        self.renderedBranch = renderedBranch
        self.author = author
        self.committer = committer
        self.maxAttempts = maxAttempts
    }
}

/// The outcome of `kaitoc commit`.
///
/// Expected outcomes are values, not errors.
public enum CommitResult: Sendable {
    /// A commit was written and the branch moved to it.
    case committed(commit: ObjectID, branch: String, source: ObjectID)
    /// The rendered `out/` already matches; nothing was written.
    case nothingToCommit(branch: String, source: ObjectID)
    /// The source commit was written by kaitoc itself, or only touched `out/`: rendering it would loop.
    case loopGuard(reason: String, source: ObjectID)
    /// `check` found errors; nothing was written.
    case checkFailed(CheckReport)
}

/// `kaitoc commit`: renders the tree of a git revision (read through libgit2, never the working directory) and
/// writes the result as a commit whose `out/` is the rendered tree.
public enum CommitWorkflow {
    /// The trailer that names the source commit of a rendered commit.
    public static let sourceTrailer = "Kaitoc-Source"

    /// Runs the workflow; with a push remote, pushes the branch after every outcome but a failed check.
    ///
    /// - Throws: ``GitOpsError`` for a missing repository, a detached or unborn `HEAD`, an unknown revision, a
    ///   locked reference, a user's file at a rendered path in `out/`, a failed or rejected push (exit status 1), or a
    ///   branch that kept moving for `maxAttempts` attempts.
    public static func run(_ options: CommitOptions) throws(GitOpsError) -> CommitResult {
        let repository = try Repository.opening(options.repositoryPath)
        let author =
            options.author ?? repository.configuredSignature() ?? Signature(name: "kaitoc", email: "kaitoc@localhost")
        let committer = options.committer ?? author
        var options = options
        if let signing = options.signing { options.signing = try CommitSigner.resolve(signing, in: repository) }
        if options.repositoryURL == nil { options.repositoryURL = repository.configString("remote.origin.url") }
        let targetBranch = try targetBranch(repository, options)
        for _ in 0..<max(options.maxAttempts, 1) {
            let outcome = try attempt(repository, options, branch: targetBranch, author: author, committer: committer)
            if let outcome {
                // A push request makes the remote hold the rendered head, even when this run committed nothing
                // (an earlier push may have failed): fast-forward only, never forced.
                if let remote = options.pushRemote {
                    switch outcome {
                    case .checkFailed:
                        break
                    case .committed, .nothingToCommit, .loopGuard:
                        let head: ObjectID?
                        do throws(GitError) {
                            head = try repository.referenceTarget(targetBranch)
                        } catch {
                            throw GitOpsError("cannot read \(targetBranch): \(error.message)", cause: error)
                        }
                        if let head {
                            // The hydrator's notes travel with the rendered branch (fast-forward only, like it).
                            let notes =
                                options.renderedBranch != nil && options.hydratorMetadata
                                && (try? repository.referenceTarget(HydratorMetadata.notesRef)) != nil
                            try push(
                                repository,
                                branch: targetBranch,
                                commit: head,
                                remote: remote,
                                credentials: options.pushCredentials,
                                alsoPushing: notes ? [HydratorMetadata.notesRef] : []
                            )
                        }
                    }
                }
                return outcome
            }
        }
        throw GitOpsError("\(targetBranch) kept moving; gave up after \(options.maxAttempts) attempts")
    }

    /// The branch the rendered commit goes to.
    static func targetBranch(_ repository: Repository, _ options: CommitOptions) throws(GitOpsError) -> String {
        if let branch = options.renderedBranch {
            return branch.hasPrefix("refs/") ? branch : "refs/heads/\(branch)"
        }
        if options.revision == "HEAD" {
            if repository.isHeadDetached {
                throw GitOpsError("HEAD is detached; name a branch as the revision or pass --branch")
            }
            do {
                return try repository.headBranch()
            } catch {
                throw GitOpsError("cannot read HEAD: \(error.message)", cause: error)
            }
        }
        let candidate = options.revision.hasPrefix("refs/") ? options.revision : "refs/heads/\(options.revision)"
        if (try? repository.referenceTarget(candidate)) != nil { return candidate }
        throw GitOpsError("\(options.revision) is not a branch; pass --branch to render it onto a branch")
    }

    /// One read-render-write round; `nil` when the branch moved and the round must be repeated.
    static func attempt(
        _ repository: Repository,
        _ options: CommitOptions,
        branch: String,
        author: Signature,
        committer: Signature
    ) throws(GitOpsError) -> CommitResult? {
        do {
            let sameBranch = options.renderedBranch == nil
            let branchHead = try repository.referenceTarget(branch)
            let sourceID: ObjectID
            if sameBranch {
                guard let branchHead else {
                    throw GitOpsError("\(branch) has no commit yet (unborn branch); nothing to render")
                }
                sourceID = branchHead
            } else {
                do {
                    sourceID = try repository.resolveCommit(options.revision)
                } catch {
                    if repository.isHeadUnborn, options.revision == "HEAD" {
                        throw GitOpsError("HEAD has no commit yet (unborn branch); nothing to render", cause: error)
                    }
                    throw GitOpsError("unknown revision \(options.revision): \(error.message)", cause: error)
                }
            }
            let source = try repository.commit(sourceID)
            if let reason = try loopReason(repository, source) {
                return .loopGuard(reason: reason, source: sourceID)
            }
            if !sameBranch, let branchHead,
                try repository.commit(branchHead).message.contains("\(sourceTrailer): \(sourceID)")
            {
                return .nothingToCommit(branch: branch, source: sourceID)
            }
            let inputs = try repository.files(inTree: source.tree, under: ["workspaces", "presets"])
            var existing: [String: ObjectID] = [:]
            for (path, id) in try repository.blobIDs(inTree: source.tree, under: "out") {
                existing[String(path.dropFirst("out/".count))] = id
            }
            // Unchanged workspaces are not rendered: the commit cache names their files' blobs, which the repository
            // must still hold (the source's out/ or any earlier commit).
            let cacheFile = options.cache ? repository.gitDirectory.map { $0 + "kaitoc-cache/commit" } : nil
            let rendering: CommitRendering
            do throws(OutputError) {
                rendering = try Builder.renderForCommit(
                    BuildOptions(repositoryRoot: "", tree: MemoryTree(files: inputs)),
                    cacheFile: cacheFile
                ) { path, hex in
                    guard let id = ObjectID(hex: hex) else { return false }
                    return existing[path] == id || repository.hasObject(id)
                }
            } catch {
                throw GitOpsError(error.message)
            }
            let report = rendering.report
            guard report.check.unreadable.isEmpty else {
                throw GitOpsError(report.check.unreadable.joined(separator: "; "))
            }
            if report.check.hasErrors { return .checkFailed(report.check) }

            // The new out/ through the one reconcile `build` uses: a user's file at a rendered path is an error;
            // files in out/ that kaitoc did not write stay; kaitoc's stale files go. Unchanged files keep their blob.
            var reusedIDs: [String: ObjectID] = [:]
            for (path, hex) in rendering.reusedBlobs { reusedIDs[path] = ObjectID(hex: hex) }
            // Rendered files whose blob ids the commit cache already computed are compared by id, not hashed again.
            var renderedIDs: [String: ObjectID] = [:]
            for (path, hex) in rendering.renderedBlobs { renderedIDs[path] = ObjectID(hex: hex) }
            var rendered: [String: [UInt8]] = [:]
            for file in report.targets.flatMap(\.files) { rendered[file.path] = Array(file.contents.utf8) }
            // A reused file's bytes are its blob's: no placeholder bytes are ever written.
            for path in reusedIDs.keys { rendered[path] = [] }
            var gitError: GitError?
            let plan: Reconciliation
            do throws(OutputError) {
                plan = try OutputReconciler.reconcile(
                    rendered: rendered,
                    existing: Set(existing.keys),
                    isUnchanged: { path, bytes in
                        if let id = reusedIDs[path] ?? renderedIDs[path] { return existing[path] == id }
                        do throws(GitError) {
                            return try repository.hashBlob(bytes) == existing[path]
                        } catch {
                            gitError = error
                            return false
                        }
                    },
                    contents: { path in
                        guard let id = existing[path] else { return nil }
                        do throws(GitError) {
                            return try repository.blob(id)
                        } catch {
                            gitError = error
                            return nil
                        }
                    }
                )
            } catch {
                if let gitError { throw gitError }
                throw GitOpsError(error.message)
            }
            if let gitError { throw gitError }
            var out: [String: ObjectID] = [:]
            for path in plan.foreign { out[path] = existing[path] }
            for path in plan.unchanged { out[path] = existing[path] }
            for path in plan.written {
                if let id = reusedIDs[path] {
                    out[path] = id
                } else {
                    out[path] = try repository.writeBlob(rendered[path] ?? [])
                }
            }
            let changedPaths = (plan.written + plan.pruned).map { "out/" + $0 }
            var previousTree: ObjectID?
            if let branchHead { previousTree = try repository.commit(branchHead).tree }
            let hydrator = !sameBranch && options.hydratorMetadata
            let dry = HydratorMetadata.DryCommit(source)
            let repositoryURL = options.repositoryURL ?? ""
            if hydrator {
                try addPathMetadata(
                    to: &out,
                    targets: report.targets.map(\.target.name),
                    previousTree: previousTree,
                    repository: repository,
                    repositoryURL: repositoryURL,
                    drySha: sourceID.description
                )
            }
            let outTree: ObjectID?
            if out.isEmpty {
                outTree = nil
            } else if sameBranch, !existing.isEmpty, let base = try repository.entry("out", inTree: source.tree) {
                // Only the trees on changed paths are written; the source's out/ keeps the rest.
                var upserts: [String: ObjectID] = [:]
                for path in plan.written { upserts[path] = out[path] }
                outTree = try repository.updatingTree(base, upserting: upserts, removing: plan.pruned)
            } else {
                outTree = try repository.writeTree(blobs: out)
            }
            var newRoot = try repository.replacing("out", in: source.tree, with: outTree)
            // The root hydrator.metadata names the dry commit; like Argo CD, it alone is no reason to commit.
            var comparable = previousTree
            if hydrator, let tree = previousTree {
                comparable = try repository.replacing(HydratorMetadata.fileName, in: tree, with: nil)
            }
            if newRoot == (sameBranch ? source.tree : comparable) {
                if hydrator, let branchHead {
                    try repository.addNote(
                        HydratorMetadata.note(drySha: sourceID.description),
                        to: branchHead,
                        notesRef: HydratorMetadata.notesRef,
                        author: committer
                    )
                }
                return .nothingToCommit(branch: branch, source: sourceID)
            }
            if hydrator {
                let metadata = try repository.writeBlob(
                    Array(HydratorMetadata.root(repoURL: repositoryURL, dry: dry).utf8)
                )
                newRoot = try repository.replacing(HydratorMetadata.fileName, in: newRoot, with: metadata, isBlob: true)
            }
            var coAuthors = ""
            if hydrator, let author = dry.reference?.author, !author.isEmpty {
                coAuthors = "Co-authored-by: \(author)\n"
            }
            let message = """
                \(sourceID.short): \(source.subject)

                Rendered by kaitoc from \(sourceID).

                \(sourceTrailer): \(sourceID)
                Kaitoc-Version: \(KaitocVersion.current)
                \(coAuthors)
                """
            let updatesWorkingTree =
                !repository.isBare && !repository.isHeadDetached && (try? repository.headBranch()) == branch
            if updatesWorkingTree, let gitDirectory = repository.gitDirectory,
                !waitForUnlock(gitDirectory + "index.lock")
            {
                throw GitOpsError("the git index is locked (\(gitDirectory)index.lock); nothing was committed")
            }
            let parents = branchHead.map { [$0] } ?? []
            let commitID: ObjectID
            if let signing = options.signing {
                let content = try repository.commitContent(
                    tree: newRoot,
                    parents: parents,
                    message: message,
                    author: author,
                    committer: committer
                )
                let signature = try CommitSigner.sign(content, with: signing)
                commitID = try repository.createCommit(content: content, signature: signature)
            } else {
                commitID = try repository.createCommit(
                    tree: newRoot,
                    parents: parents,
                    message: message,
                    author: author,
                    committer: committer
                )
            }
            if try !moveBranch(repository, branch, to: commitID, expecting: branchHead) { return nil }
            if hydrator {
                try repository.addNote(
                    HydratorMetadata.note(drySha: sourceID.description),
                    to: commitID,
                    notesRef: HydratorMetadata.notesRef,
                    author: committer
                )
            }
            if updatesWorkingTree {
                // Few paths: check out just those; many: the whole folder (pathspec matching is per path).
                try checkoutWithRetry(
                    repository,
                    commitID,
                    paths: changedPaths.count > 1000 ? ["out"] : changedPaths.sorted()
                )
            }
            return .committed(commit: commitID, branch: branch, source: sourceID)
        } catch let error as GitOpsError {
            throw error
        } catch let error as GitError {
            throw GitOpsError(
                error.isLocked ? "a git lock is in the way: \(error.message)" : error.message,
                cause: error
            )
        } catch {
            throw GitOpsError("\(error)")
        }
    }

    /// Pushes the branch; a failure or rejection is an error (exit status 1) that says the commit exists locally and
    /// carries the remote's reason.
    static func push(
        _ repository: Repository,
        branch: String,
        commit: ObjectID,
        remote: String,
        credentials: PushCredentials,
        alsoPushing references: [String] = []
    ) throws(GitOpsError) {
        let rejections: [String]
        do {
            rejections = try repository.push(
                remote: remote,
                refspecs: ([branch] + references).map { "\($0):\($0)" },
                credentials: credentials
            )
        } catch {
            throw GitOpsError(
                "\(commit.short) is on \(branch), but the push to \(remote) failed: \(error.message)",
                cause: error,
                exitStatus: 1
            )
        }
        if !rejections.isEmpty {
            throw GitOpsError(
                "\(commit.short) is on \(branch), but \(remote) rejected the push (\(rejections.joined(separator: "; "))); fetch, then run kaitoc commit again",
                exitStatus: 1
            )
        }
    }

    /// Writes `out/<target>/hydrator.metadata` for each rendered target whose manifests changed since the branch's
    /// previous commit (or that has none yet); an unchanged target keeps its file, as Argo CD's commit server does.
    static func addPathMetadata(
        to out: inout [String: ObjectID],
        targets: [String],
        previousTree: ObjectID?,
        repository: Repository,
        repositoryURL: String,
        drySha: String
    ) throws(GitError) {
        var previous: [String: ObjectID] = [:]
        if let previousTree {
            for (path, id) in try repository.blobIDs(inTree: previousTree, under: "out") {
                previous[String(path.dropFirst("out/".count))] = id
            }
        }
        for target in Set(targets).sorted() {
            let prefix = target + "/"
            let metadataPath = prefix + HydratorMetadata.fileName
            let manifests = out.filter { $0.key.hasPrefix(prefix) && $0.key != metadataPath }
            guard !manifests.isEmpty else { continue }
            let before = previous.filter { $0.key.hasPrefix(prefix) && $0.key != metadataPath }
            if manifests == before, let kept = previous[metadataPath] {
                out[metadataPath] = kept
                continue
            }
            let text = HydratorMetadata.path(
                repoURL: repositoryURL,
                drySha: drySha,
                commands: ["kaitoc build --target \(target)"]
            )
            out[metadataPath] = try repository.writeBlob(Array(text.utf8))
        }
    }

    /// Moves the branch with compare-and-swap; `false` when it moved meanwhile.
    static func moveBranch(
        _ repository: Repository,
        _ branch: String,
        to commit: ObjectID,
        expecting old: ObjectID?
    )
        throws(GitError) -> Bool
    {
        var result: Result<Bool, GitError> = .success(true)
        do throws(GitError) {
            try repository.updateReference(branch, to: commit, expecting: old, log: "kaitoc commit")
        } catch {
            // Another writer holds the reference lock or moved it: re-read and re-render after a short pause.
            if error.isModified || error.isLocked {
                usleep(UInt32.random(in: 20_000...80_000))
                result = .success(false)
            } else {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    /// Waits up to about two seconds for a lock file held by another git process to go away.
    static func waitForUnlock(_ path: String) -> Bool {
        for _ in 0..<40 {
            if !FileManager.default.fileExists(atPath: path) { return true }
            usleep(50_000)
        }
        return false
    }

    /// Updates `out/` in the working tree and index, retrying while another git process holds the index lock.
    static func checkoutWithRetry(_ repository: Repository, _ commit: ObjectID, paths: [String]) throws(GitError) {
        guard !paths.isEmpty else { return }
        var attempts = 0
        while true {
            do throws(GitError) {
                try repository.checkout(paths: paths, from: commit)
                return
            } catch {
                attempts += 1
                guard error.isLocked, attempts < 40 else { throw error }
                usleep(50_000)
            }
        }
    }

    /// Why rendering this commit would loop: it is a kaitoc commit, or it changed only `out/`.
    static func loopReason(_ repository: Repository, _ commit: CommitInfo) throws(GitError) -> String? {
        if commit.message.contains("\n\(sourceTrailer): ") {
            return "\(commit.id.short) was written by kaitoc"
        }
        guard !commit.parents.isEmpty else { return nil }
        let changed = try repository.changedPaths(commit)
        if !changed.isEmpty, changed.allSatisfy({ $0.hasPrefix("out/") }) {
            return "\(commit.id.short) changes only out/"
        }
        return nil
    }
}
