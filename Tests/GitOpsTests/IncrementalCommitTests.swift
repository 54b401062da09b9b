import Foundation
import GitOps
import GitStore
import KaitoCore
import Testing

/// `kaitoc commit` with its cache (issue 14 item 3; docs/build-cache.md): unchanged workspaces are not rendered, and
/// every commit has the `out/` tree a full rendering gives, checked with the `git` command line.
struct IncrementalCommitTests {
    /// A repository with the shipped catalog and every shipped workspace (both targets, an InferenceSet, ConfigMaps).
    static func seededRepository() throws -> GitFixture {
        let repo = try GitFixture()
        for folder in ["presets", "workspaces"] {
            try FileManager.default.copyItem(
                at: GitFixture.repositoryRoot.appendingPathComponent(folder),
                to: repo.root.appendingPathComponent(folder)
            )
        }
        try repo.git(["add", "-A"])
        try repo.git(["commit", "-q", "-m", "Workspaces"])
        return repo
    }

    static func commit(_ repo: GitFixture, cache: Bool) throws {
        var options = CommitOptions(repositoryPath: repo.root.path)
        options.cache = cache
        guard case .committed = try CommitWorkflow.run(options) else {
            Issue.record("expected a commit")
            return
        }
    }

    static func edit(_ repo: GitFixture, _ path: String, _ old: String, _ new: String, message: String) throws {
        let text = try String(contentsOf: repo.root.appendingPathComponent(path), encoding: .utf8)
        #expect(text.contains(old))
        try repo.write(path, text.replacingOccurrences(of: old, with: new))
        try repo.git(["commit", "-q", "-am", message])
    }

    static func outTree(_ repo: GitFixture) throws -> String {
        try repo.git(["rev-parse", "HEAD:out"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let deployment = "out/quickstart/default/workspace-phi-3-mini/deployment-workspace-phi-3-mini.yaml"

    @Test func cachedCommitsHaveTheTreesOfFullRenderings() throws {
        let cached = try Self.seededRepository()
        let full = try Self.seededRepository()
        for (repo, cache) in [(cached, true), (full, false)] {
            try Self.commit(repo, cache: cache)
            try Self.edit(
                repo,
                "workspaces/quickstart/workspace-phi-3-mini.yaml",
                "apps: phi-3",
                "apps: phi-3-v2",
                message: "Relabel"
            )
            try Self.commit(repo, cache: cache)
            try Self.edit(
                repo,
                "workspaces/aks-prod/workspace-phi-4-mini.yaml",
                "apps: phi-4",
                "apps: phi-4-b",
                message: "Relabel phi-4"
            )
            try Self.commit(repo, cache: cache)
            // A removed workspace: its files are pruned and its folder goes with them.
            try repo.git(["rm", "-q", "workspaces/aks-prod/workspace-qwen-coder-32b.yaml"])
            try repo.git(["commit", "-q", "-m", "Remove qwen"])
            try Self.commit(repo, cache: cache)
            #expect(try repo.git(["status", "--porcelain"]).isEmpty)
            #expect(!(try repo.git(["ls-tree", "-r", "-t", "--name-only", "HEAD:out"])).contains("qwen-coder"))
        }
        // Trees are content-addressed: the same id is the same out/, byte for byte.
        #expect(try Self.outTree(cached) == (try Self.outTree(full)))
        #expect(try cached.git(["show", "HEAD:\(Self.deployment)"]).contains("phi-3-v2"))
        let cacheFile = ".git/kaitoc-cache/commit"
        #expect(FileManager.default.fileExists(atPath: cached.root.appendingPathComponent(cacheFile).path))
        #expect(!FileManager.default.fileExists(atPath: full.root.appendingPathComponent(cacheFile).path))
    }

    @Test func aHandEditedOutputFileOfAnUnchangedWorkspaceIsRestored() throws {
        let repo = try Self.seededRepository()
        try Self.commit(repo, cache: true)
        let rendered = try repo.git(["show", "HEAD:\(Self.deployment)"])
        // A hand edit of an output file (kaitoc's header kept), committed with an unrelated workspace change.
        try repo.write(Self.deployment, rendered.replacingOccurrences(of: "replicas: 1", with: "replicas: 3"))
        try Self.edit(
            repo,
            "workspaces/aks-prod/workspace-phi-4-mini.yaml",
            "apps: phi-4",
            "apps: phi-4-b",
            message: "Relabel phi-4, and a hand edit"
        )
        #expect(try repo.git(["show", "HEAD:\(Self.deployment)"]) != rendered)
        try Self.commit(repo, cache: true)
        #expect(try repo.git(["show", "HEAD:\(Self.deployment)"]) == rendered)
        #expect(try repo.git(["status", "--porcelain"]).isEmpty)
    }

    @Test func aTreeUpdateEqualsWritingTheWholeTree() throws {
        let repo = try GitFixture()
        let repository = try Repository(discovering: repo.root.path)
        var blobs: [String: ObjectID] = [:]
        for (i, path) in [
            "a/kustomization.yaml", "a/ns/one/x.yaml", "a/ns/one/y.yaml", "a/ns/two/x.yaml", "a/_cluster/n.yaml",
            "b/kustomization.yaml", "b/ns/three/z.yaml", "NOTES.md",
        ].enumerated() {
            blobs[path] = try repository.writeBlob(Array("file \(i)\n".utf8))
        }
        let base = try repository.writeTree(blobs: blobs)
        let replaced = try repository.writeBlob(Array("replaced\n".utf8))
        let upserts = ["a/ns/one/x.yaml": replaced, "a/ns/four/w.yaml": replaced, "c/kustomization.yaml": replaced]
        // b/ns/three and b/ns lose their only file: they go, b stays with its kustomization.yaml.
        let removals = ["a/ns/two/x.yaml", "b/ns/three/z.yaml", "a/_cluster/n.yaml"]
        var expected = blobs
        for (path, id) in upserts { expected[path] = id }
        for path in removals { expected[path] = nil }
        let updated = try repository.updatingTree(base, upserting: upserts, removing: removals)
        #expect(updated == (try repository.writeTree(blobs: expected)))
        #expect(try repository.blobIDs(inTree: updated, under: "a") == expected.filter { $0.key.hasPrefix("a/") })
    }

    @Test func theRepositoryKnowsWhichObjectsItHolds() throws {
        let repo = try Self.seededRepository()
        let repository = try Repository(discovering: repo.root.path)
        let head = try repo.git(["rev-parse", "HEAD^{tree}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let tree = try #require(ObjectID(hex: head))
        #expect(repository.hasObject(tree))
        #expect(!repository.hasObject(try #require(ObjectID(hex: String(repeating: "ab", count: 20)))))
        // Ids as the commit cache names them: 40 hex digits, either case, nothing else.
        #expect(ObjectID(hex: head.uppercased()) == tree)
        #expect(tree.description == head)
        for bad in [String(head.dropLast()), head + "0", "g" + head.dropFirst(), "+" + head.dropFirst(), ""] {
            #expect(ObjectID(hex: bad) == nil, "\(bad)")
        }
    }
}
