import Foundation
import Testing

@testable import KaitoCore

/// The commit cache (issue 14 item 3; docs/build-cache.md): `kaitoc commit` renders only the workspaces whose inputs
/// changed and takes the others' files as the git blobs they were, and the result is always the full rendering.
struct CommitCacheTests {
    /// Every file of a commit rendering by path, as git blob ids: rendered files hashed here, reused ones as named.
    static func blobs(_ rendering: CommitRendering) -> [String: String] {
        var result = rendering.reusedBlobs
        for file in rendering.report.targets.flatMap(\.files) {
            result[file.path] = Digest.gitBlob(of: file.contents).gitHex
        }
        return result
    }

    static func cacheFile(_ root: URL) -> String { root.appendingPathComponent("cache/commit").path }

    /// Renders as `commit` does; `missing` are paths whose blobs the repository no longer holds.
    static func render(
        _ root: URL,
        cached: Bool = true,
        identity: String? = nil,
        missing: Set<String> = []
    ) throws -> CommitRendering {
        var options = BuildOptions(repositoryRoot: root.path)
        options.cacheIdentity = identity
        let rendering = try Builder.renderForCommit(options, cacheFile: cached ? cacheFile(root) : nil) { path, _ in
            !missing.contains(path)
        }
        #expect(!rendering.report.check.hasErrors, "\(rendering.report.check.rendered(as: .text))")
        return rendering
    }

    /// What rendering everything gives for the repository as it is now.
    static func full(_ root: URL) throws -> [String: String] { blobs(try render(root, cached: false)) }

    @Test func blobIDsAreTheOnesGitComputes() {
        // `printf 'hello\n' | git hash-object --stdin` and `git hash-object /dev/null`.
        #expect(Digest.gitBlob(of: "hello\n").gitHex == "ce013625030ba8dba906f756967f9e9ca394464a")
        #expect(Digest.gitBlob(of: "").gitHex == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
        #expect(Digest.gitBlob(of: "é\n").gitHex == "c6003325155f475bd7c87731607525dce73be9cf")
    }

    @Test func theCommitCacheNamesTheKaitocBuildByContent() {
        // The SHA-256 of the running executable (first 128 bits), not its inode or times.
        let identity = BuildCache.contentIdentity
        let hex = identity.split(separator: " ").last.map(String.init) ?? ""
        #expect(identity.hasPrefix("kaitoc \(KaitocBuildInfo.version) cache "))
        #expect(identity.contains(" exe-sha256 "))
        #expect(hex.count == 32 && hex.allSatisfy(\.isHexDigit))
        #expect(!identity.contains(" exe "))
    }

    @Test func onlyChangedWorkspacesAreRenderedAndTheResultIsTheFullRendering() throws {
        let root = try BuildCacheTests.makeRepository(count: 6)
        defer { try? FileManager.default.removeItem(at: root) }
        let cold = try Self.render(root)
        #expect(cold.report.cacheUse == CacheUse(reused: 0, rendered: 6, reRendered: 0))
        #expect(cold.reusedBlobs.isEmpty)
        #expect(Self.blobs(cold) == (try Self.full(root)))
        // The rendered workspace files come with their blob ids (the reconcile compares them instead of hashing);
        // only files outside workspaces lack one.
        let workspaceFiles = cold.report.targets.flatMap(\.files).filter { !$0.path.hasSuffix("/kustomization.yaml") }
        for file in workspaceFiles {
            #expect(cold.renderedBlobs[file.path] == Digest.gitBlob(of: file.contents).gitHex, "\(file.path)")
        }
        #expect(cold.renderedBlobs.count == workspaceFiles.count && !workspaceFiles.isEmpty)

        // Nothing changed: nothing rendered; only kustomization.yaml is written out as a file.
        let warm = try Self.render(root)
        #expect(warm.report.cacheUse == CacheUse(reused: 6, rendered: 0, reRendered: 0))
        #expect(warm.report.targets.flatMap(\.files).allSatisfy { $0.path.hasSuffix("/kustomization.yaml") })
        #expect(Self.blobs(warm) == Self.blobs(cold))

        // One workspace edited: it alone is rendered.
        let edited = root.appendingPathComponent("workspaces/head/team-1/ws-3.yaml")
        let text = try String(contentsOf: edited, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "apps: app-3", with: "apps: app-3b").utf8).write(to: edited)
        let one = try Self.render(root)
        #expect(one.report.cacheUse == CacheUse(reused: 5, rendered: 1, reRendered: 0))
        #expect(Self.blobs(one) == (try Self.full(root)))
        #expect(Self.blobs(one) != Self.blobs(cold))

        // One removed: its files leave the rendering and kustomization.yaml, nothing is rendered.
        try FileManager.default.removeItem(at: root.appendingPathComponent("workspaces/head/team-0/ws-4.yaml"))
        let removed = try Self.render(root)
        #expect(removed.report.cacheUse == CacheUse(reused: 5, rendered: 0, reRendered: 0))
        #expect(Self.blobs(removed) == (try Self.full(root)))
        #expect(!Self.blobs(removed).keys.contains { $0.contains("/ws-4/") })
    }

    @Test func aBlobTheRepositoryLostIsRenderedAgain() throws {
        let root = try BuildCacheTests.makeRepository(count: 4)
        defer { try? FileManager.default.removeItem(at: root) }
        let expected = Self.blobs(try Self.render(root))
        let path = try #require(expected.keys.sorted().first { $0.contains("/statefulset-") })
        // Pruned by `git gc`, say: the workspace is rendered again, the others still reused.
        let rendering = try Self.render(root, missing: [path])
        #expect(rendering.report.cacheUse == CacheUse(reused: 3, rendered: 1, reRendered: 1))
        #expect(rendering.reusedBlobs[path] == nil)
        #expect(Self.blobs(rendering) == expected)
    }

    @Test func anotherKaitocBuildOrACatalogEditTrustsNoEntry() throws {
        let root = try BuildCacheTests.makeRepository(count: 4)
        defer { try? FileManager.default.removeItem(at: root) }
        _ = try Self.render(root, identity: "kaitoc 0.0.9 (an older build)")
        #expect(try Self.render(root, identity: "kaitoc 0.0.9 (an older build)").report.cacheUse?.rendered == 0)
        #expect(try Self.render(root).report.cacheUse?.reused == 0)
        // `build`'s cache file is not a commit cache, nor the other way round (other digests, other identity).
        var options = BuildOptions(repositoryRoot: root.path)
        options.cache = .directory(root.appendingPathComponent("cache").path)
        options.outputDirectory = root.appendingPathComponent("out").path
        _ = try Builder.build(options)
        let buildFile = BuildCache.file(
            in: root.appendingPathComponent("cache").path,
            outputDirectory: root.appendingPathComponent("out").path
        )
        try FileManager.default.removeItem(atPath: Self.cacheFile(root))
        try FileManager.default.copyItem(atPath: buildFile, toPath: Self.cacheFile(root))
        #expect(try Self.render(root).report.cacheUse?.reused == 0)

        // The base image of the v0.12 catalog changes: every workspace is rendered with it.
        #expect(try Self.render(root).report.cacheUse?.rendered == 0)
        try BuildCacheTests.bumpBaseImage(root)
        let rendering = try Self.render(root)
        #expect(rendering.report.cacheUse?.reused == 0)
        #expect(Self.blobs(rendering) == (try Self.full(root)))
        #expect(rendering.report.targets.flatMap(\.files).contains { $0.contents.contains("kaito-base:0.5.1") })
    }

    @Test func aDamagedCacheIsIgnored() throws {
        let root = try BuildCacheTests.makeRepository(count: 4)
        defer { try? FileManager.default.removeItem(at: root) }
        let expected = Self.blobs(try Self.render(root))
        let bytes = try #require(RepositoryFiles.read(Self.cacheFile(root)))
        for garbage in [Array(bytes.prefix(bytes.count / 2)), Array("not a cache".utf8), bytes.map { $0 ^ 0x5a }] {
            try Data(garbage).write(to: URL(fileURLWithPath: Self.cacheFile(root)))
            let rendering = try Self.render(root)
            #expect(Self.blobs(rendering) == expected)
            #expect(rendering.report.cacheUse?.rendered ?? 0 > 0)
        }
    }
}
