internal import CGit2

#if canImport(Glibc)
internal import Glibc
#endif

/// A commit's facts.
public struct CommitInfo: Sendable {
    /// Its id.
    public var id: ObjectID
    /// Its root tree.
    public var tree: ObjectID
    /// Its parents.
    public var parents: [ObjectID]
    /// The full message.
    public var message: String
    /// The author's name, email, time (seconds since 1970) and UTC offset (minutes).
    public var author: Stamp = Stamp()

    /// Who made a commit, and when.
    public struct Stamp: Sendable, Hashable {
        /// The name.
        public var name = ""
        /// The email address.
        public var email = ""
        /// Seconds since 1970-01-01 UTC.
        public var time: Int64 = 0
        /// The UTC offset in minutes.
        public var offsetMinutes: Int32 = 0
    }

    /// The first line of the message.
    public var subject: String { String(message.split(separator: "\n", maxSplits: 1).first ?? "") }
}

/// An author or committer.
public struct Signature: Sendable {
    /// The name.
    public var name: String
    /// The email address.
    public var email: String

    /// Creates a signature.
    public init(name: String, email: String) {
        self.name = name
        self.email = email
    }
}

/// A git repository opened through libgit2; the only owner of its `git_repository` handle.
///
/// Not `Sendable`: use it from one task. Every libgit2 call goes through this type.
public final class Repository {
    private let handle: OpaquePointer
    var rawHandle: OpaquePointer { handle }

    /// Opens the repository containing `path` (searching parent folders, like `git` does).
    ///
    /// - Throws: ``GitError`` when no repository is found.
    public init(discovering path: String) throws(GitError) {
        _ = LibGit2.initialized
        var repo: OpaquePointer?
        try LibGit2.check(git_repository_open_ext(&repo, path, 0, nil), "git_repository_open_ext")
        guard let repo else { throw GitError(code: -1, operation: "git_repository_open_ext", message: "no repository") }
        handle = repo
    }

    deinit {
        git_repository_free(handle)
    }

    /// Whether the repository has no working tree.
    public var isBare: Bool { git_repository_is_bare(handle) == 1 }

    /// The working tree folder, ending with `/`, or `nil` for a bare repository.
    public var workingDirectory: String? { git_repository_workdir(handle).map { String(cString: $0) } }

    /// The `.git` folder (the repository itself when bare), ending with `/`.
    public var gitDirectory: String? { git_repository_path(handle).map { String(cString: $0) } }

    /// Whether `HEAD` points to a branch with no commit yet.
    public var isHeadUnborn: Bool { git_repository_head_unborn(handle) == 1 }

    /// Whether `HEAD` is detached.
    public var isHeadDetached: Bool { git_repository_head_detached(handle) == 1 }

    /// The full name of the branch `HEAD` points to (`refs/heads/main`), even when unborn.
    public func headBranch() throws(GitError) -> String {
        var ref: OpaquePointer?
        try LibGit2.check(git_reference_lookup(&ref, handle, "HEAD"), "git_reference_lookup")
        defer { git_reference_free(ref) }
        guard let target = git_reference_symbolic_target(ref) else {
            throw GitError(code: -1, operation: "git_reference_symbolic_target", message: "HEAD is detached")
        }
        return String(cString: target)
    }

    /// Resolves a revision (`HEAD`, a branch, a sha) to a commit.
    ///
    /// - Throws: ``GitError`` with `isNotFound` when the revision does not exist.
    public func resolveCommit(_ revision: String) throws(GitError) -> ObjectID {
        var object: OpaquePointer?
        try LibGit2.check(git_revparse_single(&object, handle, revision), "git_revparse_single")
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        try LibGit2.check(git_object_peel(&commit, object, GIT_OBJECT_COMMIT), "git_object_peel")
        defer { git_object_free(commit) }
        guard let id = git_object_id(commit) else {
            throw GitError(code: -1, operation: "git_object_id", message: "no object id")
        }
        return ObjectID(id.pointee)
    }

    /// The commit a reference points to, or `nil` when the reference does not exist.
    public func referenceTarget(_ name: String) throws(GitError) -> ObjectID? {
        var oid = git_oid()
        let rc = git_reference_name_to_id(&oid, handle, name)
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try LibGit2.check(rc, "git_reference_name_to_id")
        return ObjectID(oid)
    }

    /// Reads a commit.
    public func commit(_ id: ObjectID) throws(GitError) -> CommitInfo {
        var oid = id.raw
        var commit: OpaquePointer?
        try LibGit2.check(git_commit_lookup(&commit, handle, &oid), "git_commit_lookup")
        defer { git_commit_free(commit) }
        guard let treeID = git_commit_tree_id(commit) else {
            throw GitError(code: -1, operation: "git_commit_tree_id", message: "commit without tree")
        }
        var parents: [ObjectID] = []
        for i in 0..<git_commit_parentcount(commit) {
            if let parent = git_commit_parent_id(commit, i) { parents.append(ObjectID(parent.pointee)) }
        }
        let message = git_commit_message(commit).map { String(cString: $0) } ?? ""
        var info = CommitInfo(id: id, tree: ObjectID(treeID.pointee), parents: parents, message: message)
        if let author = git_commit_author(commit) {
            info.author = CommitInfo.Stamp(
                name: author.pointee.name.map { String(cString: $0) } ?? "",
                email: author.pointee.email.map { String(cString: $0) } ?? "",
                time: author.pointee.when.time,
                offsetMinutes: author.pointee.when.offset
            )
        }
        return info
    }

    /// The id of the tree or blob at `path` inside a tree, or `nil`.
    public func entry(_ path: String, inTree tree: ObjectID) throws(GitError) -> ObjectID? {
        var oid = tree.raw
        var treeHandle: OpaquePointer?
        try LibGit2.check(git_tree_lookup(&treeHandle, handle, &oid), "git_tree_lookup")
        defer { git_tree_free(treeHandle) }
        var entry: OpaquePointer?
        let rc = git_tree_entry_bypath(&entry, treeHandle, path)
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try LibGit2.check(rc, "git_tree_entry_bypath")
        defer { git_tree_entry_free(entry) }
        guard let id = git_tree_entry_id(entry) else { return nil }
        return ObjectID(id.pointee)
    }

    /// The id of every blob under a top-level folder of a tree, keyed by path, without reading contents.
    public func blobIDs(inTree tree: ObjectID, under folder: String) throws(GitError) -> [String: ObjectID] {
        var result: [String: ObjectID] = [:]
        guard let subtree = try entry(folder, inTree: tree) else { return result }
        try collectIDs(tree: subtree, prefix: folder, into: &result)
        return result
    }

    private func collectIDs(tree: ObjectID, prefix: String, into result: inout [String: ObjectID]) throws(GitError) {
        var oid = tree.raw
        var treeHandle: OpaquePointer?
        try LibGit2.check(git_tree_lookup(&treeHandle, handle, &oid), "git_tree_lookup")
        defer { git_tree_free(treeHandle) }
        var subtrees: [(String, ObjectID)] = []
        for i in 0..<git_tree_entrycount(treeHandle) {
            guard let entry = git_tree_entry_byindex(treeHandle, i), let name = git_tree_entry_name(entry),
                let id = git_tree_entry_id(entry)
            else { continue }
            let path = "\(prefix)/\(String(cString: name))"
            switch git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE: subtrees.append((path, ObjectID(id.pointee)))
            case GIT_OBJECT_BLOB: result[path] = ObjectID(id.pointee)
            default: break
            }
        }
        for (path, id) in subtrees { try collectIDs(tree: id, prefix: path, into: &result) }
    }

    /// The id a blob with these bytes has, without writing it.
    public func hashBlob(_ bytes: [UInt8]) throws(GitError) -> ObjectID {
        var oid = git_oid()
        let rc = bytes.withUnsafeBytes { buffer in git_odb_hash(&oid, buffer.baseAddress, buffer.count, GIT_OBJECT_BLOB)
        }
        try LibGit2.check(rc, "git_odb_hash")
        return ObjectID(oid)
    }

    /// Whether the object database holds an object with this id (loose or packed); `false` when it cannot be read.
    public func hasObject(_ id: ObjectID) -> Bool {
        var odb: OpaquePointer?
        guard git_repository_odb(&odb, handle) == 0 else { return false }
        defer { git_odb_free(odb) }
        var oid = id.raw
        return git_odb_exists(odb, &oid) == 1
    }

    /// Writes a tree from blob ids (the blobs must exist), creating subtrees as needed.
    public func writeTree(blobs: [String: ObjectID]) throws(GitError) -> ObjectID {
        var direct: [String: ObjectID] = [:]
        var nested: [String: [String: ObjectID]] = [:]
        for (path, id) in blobs {
            if let slash = path.firstIndex(of: "/") {
                nested[String(path[..<slash]), default: [:]][String(path[path.index(after: slash)...])] = id
            } else {
                direct[path] = id
            }
        }
        var builder: OpaquePointer?
        try LibGit2.check(git_treebuilder_new(&builder, handle, nil), "git_treebuilder_new")
        defer { git_treebuilder_free(builder) }
        for (name, id) in direct {
            var oid = id.raw
            try LibGit2.check(
                git_treebuilder_insert(nil, builder, name, &oid, GIT_FILEMODE_BLOB),
                "git_treebuilder_insert"
            )
        }
        for (name, children) in nested {
            var oid = try writeTree(blobs: children).raw
            try LibGit2.check(
                git_treebuilder_insert(nil, builder, name, &oid, GIT_FILEMODE_TREE),
                "git_treebuilder_insert"
            )
        }
        var result = git_oid()
        try LibGit2.check(git_treebuilder_write(&result, builder), "git_treebuilder_write")
        return ObjectID(result)
    }

    /// A copy of `base` with blobs put at some paths and others removed; only the trees on changed paths are written
    /// (a tree left empty disappears), the rest are `base`'s own.
    ///
    /// - Parameters:
    ///   - base: The tree to change.
    ///   - upserting: Blob ids by path (the blobs must exist), added or replacing what is there.
    ///   - removing: Paths of blobs to remove; none may also be upserted.
    /// - Returns: The new tree's id.
    /// - Throws: ``GitError`` when `base` is not a tree or libgit2 cannot write the trees.
    public func updatingTree(
        _ base: ObjectID,
        upserting: [String: ObjectID],
        removing: [String]
    ) throws(GitError) -> ObjectID {
        var baseOID = base.raw
        var baseline: OpaquePointer?
        try LibGit2.check(git_tree_lookup(&baseline, handle, &baseOID), "git_tree_lookup")
        defer { git_tree_free(baseline) }
        // The C strings live until the call returns.
        let changes =
            upserting.sorted { $0.key < $1.key }.map { ($0.key, Optional($0.value)) }
            + removing.sorted().map { ($0, ObjectID?.none) }
        let paths = changes.map { strdup($0.0) }
        defer { for path in paths { free(path) } }
        var updates = changes.enumerated().map { index, change in
            var update = git_tree_update()
            if let id = change.1 {
                update.action = GIT_TREE_UPDATE_UPSERT
                update.id = id.raw
                update.filemode = GIT_FILEMODE_BLOB
            } else {
                update.action = GIT_TREE_UPDATE_REMOVE
            }
            update.path = UnsafePointer(paths[index])
            return update
        }
        var result = git_oid()
        let rc = updates.withUnsafeMutableBufferPointer { buffer in
            git_tree_create_updated(&result, handle, baseline, buffer.count, buffer.baseAddress)
        }
        try LibGit2.check(rc, "git_tree_create_updated")
        return ObjectID(result)
    }

    /// Every blob under the given top-level folders of a tree, with its contents, keyed by path.
    public func files(inTree tree: ObjectID, under folders: [String]) throws(GitError) -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for folder in folders {
            for (path, id) in try blobIDs(inTree: tree, under: folder) { result[path] = try blob(id) }
        }
        return result
    }

    /// The bytes of a blob.
    public func blob(_ id: ObjectID) throws(GitError) -> [UInt8] {
        var oid = id.raw
        var blob: OpaquePointer?
        try LibGit2.check(git_blob_lookup(&blob, handle, &oid), "git_blob_lookup")
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, let raw = git_blob_rawcontent(blob) else { return [] }
        return Array(UnsafeRawBufferPointer(start: raw, count: size))
    }

    /// The staged contents of every file under the given folders (what the next commit will contain).
    ///
    /// - Throws: ``GitError`` (`isLocked`) when the index is locked by another git process.
    public func stagedFiles(under folders: [String]) throws(GitError) -> [String: [UInt8]] {
        var index: OpaquePointer?
        try LibGit2.check(git_repository_index(&index, handle), "git_repository_index")
        defer { git_index_free(index) }
        var result: [String: [UInt8]] = [:]
        for i in 0..<git_index_entrycount(index) {
            guard let entry = git_index_get_byindex(index, i), let rawPath = entry.pointee.path else { continue }
            let path = String(cString: rawPath)
            guard folders.contains(where: { path.hasPrefix($0 + "/") }) else { continue }
            // Stage 0 only: conflicted entries are not committable.
            guard (entry.pointee.flags >> 12) & 0x3 == 0 else { continue }
            result[path] = try blob(ObjectID(entry.pointee.id))
        }
        return result
    }

    /// Paths a commit changes compared with its first parent (all paths for a root commit).
    public func changedPaths(_ commit: CommitInfo) throws(GitError) -> [String] {
        var newOID = commit.tree.raw
        var newTree: OpaquePointer?
        try LibGit2.check(git_tree_lookup(&newTree, handle, &newOID), "git_tree_lookup")
        defer { git_tree_free(newTree) }
        var oldTree: OpaquePointer?
        if let parent = commit.parents.first {
            var parentOID = try self.commit(parent).tree.raw
            try LibGit2.check(git_tree_lookup(&oldTree, handle, &parentOID), "git_tree_lookup")
        }
        defer { if oldTree != nil { git_tree_free(oldTree) } }
        var diff: OpaquePointer?
        try LibGit2.check(git_diff_tree_to_tree(&diff, handle, oldTree, newTree, nil), "git_diff_tree_to_tree")
        defer { git_diff_free(diff) }
        var paths: [String] = []
        for i in 0..<git_diff_num_deltas(diff) {
            guard let delta = git_diff_get_delta(diff, i) else { continue }
            if let path = delta.pointee.new_file.path { paths.append(String(cString: path)) }
            if let path = delta.pointee.old_file.path { paths.append(String(cString: path)) }
        }
        return Array(Set(paths)).sorted()
    }

    // MARK: Writing

    /// Writes a blob.
    public func writeBlob(_ bytes: [UInt8]) throws(GitError) -> ObjectID {
        var oid = git_oid()
        let rc = bytes.withUnsafeBytes { buffer in
            git_blob_create_from_buffer(&oid, handle, buffer.baseAddress, buffer.count)
        }
        try LibGit2.check(rc, "git_blob_create_from_buffer")
        return ObjectID(oid)
    }

    /// A copy of a root tree with the top-level entry `name` replaced by `subtree` (a blob when `isBlob`), or removed
    /// when `nil`.
    public func replacing(
        _ name: String,
        in tree: ObjectID,
        with subtree: ObjectID?,
        isBlob: Bool = false
    ) throws(GitError) -> ObjectID {
        var oid = tree.raw
        var base: OpaquePointer?
        try LibGit2.check(git_tree_lookup(&base, handle, &oid), "git_tree_lookup")
        defer { git_tree_free(base) }
        var builder: OpaquePointer?
        try LibGit2.check(git_treebuilder_new(&builder, handle, base), "git_treebuilder_new")
        defer { git_treebuilder_free(builder) }
        if let subtree {
            var sub = subtree.raw
            try LibGit2.check(
                git_treebuilder_insert(nil, builder, name, &sub, isBlob ? GIT_FILEMODE_BLOB : GIT_FILEMODE_TREE),
                "git_treebuilder_insert"
            )
        } else if git_treebuilder_get(builder, name) != nil {
            try LibGit2.check(git_treebuilder_remove(builder, name), "git_treebuilder_remove")
        }
        var result = git_oid()
        try LibGit2.check(git_treebuilder_write(&result, builder), "git_treebuilder_write")
        return ObjectID(result)
    }

    /// The author/committer from git configuration (`user.name`, `user.email`), or `nil` when unset.
    public func configuredSignature() -> Signature? {
        var signature: UnsafeMutablePointer<git_signature>?
        guard git_signature_default(&signature, handle) == 0, let signature else { return nil }
        defer { git_signature_free(signature) }
        return Signature(name: String(cString: signature.pointee.name), email: String(cString: signature.pointee.email))
    }

    /// Writes a commit object without moving any reference.
    public func createCommit(
        tree: ObjectID,
        parents: [ObjectID],
        message: String,
        author: Signature,
        committer: Signature
    ) throws(GitError) -> ObjectID {
        var result = git_oid()
        try withCommitInputs(tree: tree, parents: parents, author: author, committer: committer) {
            authorSignature,
            committerSignature,
            treeHandle,
            parentHandles throws(GitError) in
            let rc = parentHandles.withUnsafeMutableBufferPointer { buffer in
                git_commit_create(
                    &result,
                    handle,
                    nil,
                    authorSignature,
                    committerSignature,
                    "UTF-8",
                    message,
                    treeHandle,
                    buffer.count,
                    buffer.baseAddress
                )
            }
            try LibGit2.check(rc, "git_commit_create")
        }
        return ObjectID(result)
    }

    /// The raw content of the commit object ``createCommit(tree:parents:message:author:committer:)`` would write,
    /// timestamped now, without writing anything: what a signature is computed over.
    public func commitContent(
        tree: ObjectID,
        parents: [ObjectID],
        message: String,
        author: Signature,
        committer: Signature
    ) throws(GitError) -> String {
        var content = ""
        try withCommitInputs(tree: tree, parents: parents, author: author, committer: committer) {
            authorSignature,
            committerSignature,
            treeHandle,
            parentHandles throws(GitError) in
            var buffer = git_buf()
            defer { git_buf_dispose(&buffer) }
            let rc = parentHandles.withUnsafeMutableBufferPointer { parentsBuffer in
                git_commit_create_buffer(
                    &buffer,
                    handle,
                    authorSignature,
                    committerSignature,
                    "UTF-8",
                    message,
                    treeHandle,
                    parentsBuffer.count,
                    parentsBuffer.baseAddress
                )
            }
            try LibGit2.check(rc, "git_commit_create_buffer")
            if let pointer = buffer.ptr {
                content = String(decoding: UnsafeRawBufferPointer(start: pointer, count: buffer.size), as: UTF8.self)
            }
        }
        return content
    }

    /// Writes a commit object from its raw content (``commitContent(tree:parents:message:author:committer:)``) with
    /// a signature in its `gpgsig` header, as `git commit -S` does for OpenPGP and SSH signatures alike.
    public func createCommit(content: String, signature: String) throws(GitError) -> ObjectID {
        var result = git_oid()
        try LibGit2.check(
            git_commit_create_with_signature(&result, handle, content, signature, nil),
            "git_commit_create_with_signature"
        )
        return ObjectID(result)
    }

    /// Looks up the signatures, tree and parents of a new commit and frees them after `body`.
    private func withCommitInputs(
        tree: ObjectID,
        parents: [ObjectID],
        author: Signature,
        committer: Signature,
        _ body: (
            UnsafeMutablePointer<git_signature>?, UnsafeMutablePointer<git_signature>?, OpaquePointer?,
            inout [OpaquePointer?]
        ) throws(GitError) -> Void
    ) throws(GitError) {
        var authorSignature: UnsafeMutablePointer<git_signature>?
        try LibGit2.check(git_signature_now(&authorSignature, author.name, author.email), "git_signature_now")
        defer { git_signature_free(authorSignature) }
        var committerSignature: UnsafeMutablePointer<git_signature>?
        try LibGit2.check(git_signature_now(&committerSignature, committer.name, committer.email), "git_signature_now")
        defer { git_signature_free(committerSignature) }
        var treeOID = tree.raw
        var treeHandle: OpaquePointer?
        try LibGit2.check(git_tree_lookup(&treeHandle, handle, &treeOID), "git_tree_lookup")
        defer { git_tree_free(treeHandle) }
        var parentHandles: [OpaquePointer?] = []
        defer { for parent in parentHandles { git_commit_free(parent) } }
        for parent in parents {
            var oid = parent.raw
            var commit: OpaquePointer?
            try LibGit2.check(git_commit_lookup(&commit, handle, &oid), "git_commit_lookup")
            parentHandles.append(commit)
        }
        try body(authorSignature, committerSignature, treeHandle, &parentHandles)
    }

    /// Attaches a note to a commit under a notes reference (`refs/notes/…`), replacing an existing one, as
    /// `git notes --ref … add -f` does.
    public func addNote(_ note: String, to commit: ObjectID, notesRef: String, author: Signature) throws(GitError) {
        var signature: UnsafeMutablePointer<git_signature>?
        try LibGit2.check(git_signature_now(&signature, author.name, author.email), "git_signature_now")
        defer { git_signature_free(signature) }
        var target = commit.raw
        var result = git_oid()
        try LibGit2.check(
            git_note_create(&result, handle, notesRef, signature, signature, &target, note, 1),
            "git_note_create"
        )
    }

    /// The note of a commit under a notes reference, or `nil` when it has none.
    public func note(for commit: ObjectID, notesRef: String) throws(GitError) -> String? {
        var target = commit.raw
        var note: OpaquePointer?
        let rc = git_note_read(&note, handle, notesRef, &target)
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try LibGit2.check(rc, "git_note_read")
        defer { git_note_free(note) }
        return git_note_message(note).map { String(cString: $0) }
    }

    /// A string value of the repository's git configuration (all levels: repository, global, system), or `nil`.
    public func configString(_ name: String) -> String? {
        var config: OpaquePointer?
        guard git_repository_config_snapshot(&config, handle) == 0, let config else { return nil }
        defer { git_config_free(config) }
        var value: UnsafePointer<CChar>?
        guard git_config_get_string(&value, config, name) == 0, let value else { return nil }
        return String(cString: value)
    }

    /// Moves a branch to `new` only if it still points to `expected` (compare-and-swap); creates it when `expected`
    /// is `nil` and it does not exist yet.
    ///
    /// - Throws: ``GitError`` with `isModified` when the branch moved meanwhile.
    public func updateReference(
        _ name: String,
        to new: ObjectID,
        expecting expected: ObjectID?,
        log: String
    )
        throws(GitError)
    {
        var newOID = new.raw
        var ref: OpaquePointer?
        if var old = expected?.raw {
            try LibGit2.check(
                git_reference_create_matching(&ref, handle, name, &newOID, 1, &old, log),
                "git_reference_create_matching"
            )
        } else {
            try LibGit2.check(git_reference_create(&ref, handle, name, &newOID, 0, log), "git_reference_create")
        }
        git_reference_free(ref)
    }

    /// Makes the working tree and index match `commit` for the given paths (after moving the checked-out branch).
    public func checkout(paths: [String], from commit: ObjectID) throws(GitError) {
        var oid = commit.raw
        var object: OpaquePointer?
        try LibGit2.check(git_object_lookup(&object, handle, &oid, GIT_OBJECT_COMMIT), "git_object_lookup")
        defer { git_object_free(object) }
        var options = git_checkout_options()
        try LibGit2.check(
            git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION)),
            "git_checkout_options_init"
        )
        options.checkout_strategy = GIT_CHECKOUT_FORCE.rawValue | GIT_CHECKOUT_REMOVE_UNTRACKED.rawValue
        var cStrings = paths.map { strdup($0) }
        defer { for s in cStrings { free(s) } }
        let rc = cStrings.withUnsafeMutableBufferPointer { buffer -> Int32 in
            options.paths = git_strarray(strings: buffer.baseAddress, count: buffer.count)
            return git_checkout_tree(handle, object, &options)
        }
        try LibGit2.check(rc, "git_checkout_tree")
    }
}
