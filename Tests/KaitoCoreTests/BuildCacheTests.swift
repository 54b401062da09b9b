import Foundation
import Testing

@testable import KaitoCore

#if canImport(Glibc)
import Glibc
#endif

/// The build cache (issue 14 item 2; docs/build-cache.md): the output never depends on it, and nothing it holds is
/// trusted once the kaitoc build, the catalog, the target or an output file changed.
struct BuildCacheTests {
    /// Workspaces of the bench's shape on the `head` test target (Kaito v0.12 catalog).
    static func workspace(_ i: Int) -> String {
        let presets = ["phi-4-mini-instruct", "phi-4", "mistral-7b-instruct"]
        return """
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: ws-\(i)
              namespace: team-\(i % 2)
            resource:
              instanceType: Standard_NC24ads_A100_v4
              labelSelector:
                matchLabels:
                  apps: app-\(i)
            inference:
              preset:
                name: \(presets[i % presets.count])

            """
    }

    /// A repository with its own copy of the test catalog (so a test can edit it) and `count` workspaces.
    static func makeRepository(count: Int = 6) throws -> URL {
        var files: [String: String] = [:]
        for i in 0..<count { files["workspaces/head/team-\(i % 2)/ws-\(i).yaml"] = workspace(i) }
        let root = try TestSupport.makeRepository(files: files)
        try FileManager.default.copyItem(at: TestSupport.testPresets, to: root.appendingPathComponent("presets"))
        return root
    }

    static func options(
        _ root: URL,
        cache: BuildCacheMode,
        identity: String? = nil,
        threads: Int? = nil
    )
        -> BuildOptions
    {
        var options = BuildOptions(repositoryRoot: root.path)
        options.cache = cache
        options.cacheIdentity = identity
        options.threads = threads
        return options
    }

    static func cacheFolder(_ root: URL) -> String { root.appendingPathComponent("cache").path }

    @discardableResult
    static func build(_ root: URL, identity: String? = nil, threads: Int? = nil) throws -> BuildReport {
        let report = try Builder.build(
            options(root, cache: .directory(cacheFolder(root)), identity: identity, threads: threads)
        )
        #expect(!report.check.hasErrors, "\(report.check.rendered(as: .text))")
        return report
    }

    /// What a build without any cache writes for the repository as it is now (into another folder).
    static func cleanTree(_ root: URL) throws -> [String: String] {
        let out = root.appendingPathComponent("clean-out")
        defer { try? FileManager.default.removeItem(at: out) }
        var clean = options(root, cache: .disabled)
        clean.outputDirectory = out.path
        _ = try Builder.build(clean)
        return readTree(out)
    }

    static func outTree(_ root: URL) -> [String: String] { readTree(root.appendingPathComponent("out")) }

    /// The paths at which two trees differ (missing on one side or with other bytes), for short failure messages.
    static func differences(_ a: [String: String], _ b: [String: String]) -> [String] {
        Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
    }

    /// The first Deployment file of `out/`, relative to it.
    static func deploymentPath(_ root: URL) throws -> String {
        try #require(outTree(root).keys.sorted().first { $0.contains("/deployment-") || $0.contains("/statefulset-") })
    }

    /// Replaces an output file with other bytes (still kaitoc's) and makes the cache vouch for them, as a cache left
    /// by another kaitoc build, or before a catalog or target edit, would: records consistent in every way, so
    /// only the cache key can tell that they no longer apply.
    static func forgeStaleFile(_ root: URL, path: String, identity: String) throws -> String {
        let url = root.appendingPathComponent("out/\(path)")
        let stale = try String(contentsOf: url, encoding: .utf8) + "# rendered by another kaitoc\n"
        try Data(stale.utf8).write(to: url)
        let file = BuildCache.file(in: cacheFolder(root), outputDirectory: root.appendingPathComponent("out").path)
        var cache = BuildCache.load(from: file, identity: identity)
        let digest = Digest.of(Array(stale.utf8))
        let stat = try #require(FileStat.of(path: url.path))
        let record = try #require(cache.files[path])
        cache.files[path] = FileRecord(stat: stat, hash: digest)
        var vouched = 0
        for (key, objects) in cache.workspaces {
            cache.workspaces[key] = objects.map { object in
                guard object.path == path, object.hash == record.hash else { return object }
                vouched += 1
                var copy = object
                copy.hash = digest
                return copy
            }
        }
        #expect(vouched == 1)
        cache.save(to: file, identity: identity)
        return stale
    }

    /// Edits the test catalog: the v0.12 base image goes from 0.5.0 to 0.5.1, which every workspace's images use.
    static func bumpBaseImage(_ root: URL) throws {
        let models = root.appendingPathComponent("presets/models/v0.12.yaml")
        let text = try String(contentsOf: models, encoding: .utf8)
        let edited = text.replacingOccurrences(
            of: "baseImage: {name: kaito-base, tag: \"0.5.0\"}",
            with: "baseImage: {name: kaito-base, tag: \"0.5.1\"}"
        )
        #expect(edited != text)
        try Data(edited.utf8).write(to: models)
    }

    @Test func outIsByteIdenticalWith1And2And8ThreadsWithAndWithoutCache() throws {
        var files: [String: String] = [:]
        let shipped = TestSupport.repositoryRoot.appendingPathComponent("workspaces")
        for (path, text) in readTree(shipped) where path.hasSuffix(".yaml") { files["workspaces/\(path)"] = text }
        let presets = TestSupport.repositoryRoot.appendingPathComponent("presets")
        var reference: [String: String]?
        for threads in [1, 2, 8] {
            for useCache in [false, true] {
                let root = try TestSupport.makeRepository(files: files)
                defer { try? FileManager.default.removeItem(at: root) }
                var options = BuildOptions(repositoryRoot: root.path, presetsDirectory: presets.path)
                options.threads = threads
                options.cache = useCache ? .automatic : .disabled
                let first = try Builder.build(options)
                #expect(!first.check.hasErrors)
                let tree = readTree(root.appendingPathComponent("out"))
                if reference == nil { reference = tree }
                #expect((reference?.count ?? 0) > 20)
                #expect(Self.differences(tree, reference ?? [:]) == [], "threads \(threads), cache \(useCache)")
                // Again: with the cache every workspace is reused, nothing is rendered or written.
                let second = try Builder.build(options)
                #expect(second.write?.written == [])
                #expect(Self.differences(readTree(root.appendingPathComponent("out")), reference ?? [:]) == [])
                if useCache {
                    #expect(second.cacheUse?.rendered == 0)
                    #expect(second.cacheUse?.reused == second.targets.map(\.workspaces).reduce(0, +))
                    // Outside a git repository the cache sits beside out/, never in it.
                    #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(".kaitoc-cache").path))
                } else {
                    #expect(second.cacheUse == nil)
                }
            }
        }
    }

    /// `check` reads, parses and validates files across cores; its report is the same with 1 and 8 threads, errors
    /// included (a YAML error, a bad field, an unknown preset, a duplicate).
    @Test func theCheckReportIsTheSameWith1And8Threads() throws {
        let root = try Self.makeRepository(count: 12)
        defer { try? FileManager.default.removeItem(at: root) }
        try Data("metadata: [unclosed\n".utf8).write(to: root.appendingPathComponent("workspaces/head/bad.yaml"))
        let two = root.appendingPathComponent("workspaces/head/team-0/ws-2.yaml")
        let text = try String(contentsOf: two, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "name: phi-4\n", with: "name: phi-5\n").utf8).write(to: two)
        try Data((text + "---\n" + text + "bogus: 1\n").utf8).write(
            to: root.appendingPathComponent("workspaces/head/team-1/more.yaml")
        )
        var reports: [CheckReport] = []
        for threads in [1, 8] {
            var options = CheckOptions(repositoryRoot: root.path)
            options.threads = threads
            reports.append(Checker.check(options))
        }
        let (one, eight) = (reports[0], reports[1])
        #expect(one.count(.error) >= 4, "\(one.rendered(as: .text))")
        #expect(one.diagnostics == eight.diagnostics)
        #expect(one.inputs == eight.inputs)
        #expect(one.plans.map(\.workspace.qualifiedName) == eight.plans.map(\.workspace.qualifiedName))
        #expect(one.checkedFiles == eight.checkedFiles && one.unreadable == eight.unreadable)
    }

    @Test func aCacheOfAnotherKaitocVersionIsNotTrusted() throws {
        let root = try Self.makeRepository()
        defer { try? FileManager.default.removeItem(at: root) }
        let older = "kaitoc 0.0.9 (an older build)"
        try Self.build(root, identity: older)
        let path = try Self.deploymentPath(root)
        let stale = try Self.forgeStaleFile(root, path: path, identity: older)
        // Control: the same kaitoc build trusts its own records (so the forged file would survive)...
        let control = try Self.build(root, identity: older)
        #expect(control.cacheUse?.rendered == 0)
        #expect(Self.outTree(root)[path] == stale)
        // ...another one re-renders everything.
        let report = try Self.build(root)
        #expect(report.cacheUse?.reused == 0)
        #expect(Self.differences(Self.outTree(root), try Self.cleanTree(root)) == [])
    }

    @Test func aCatalogEditReRendersTheWorkspacesItAffects() throws {
        let root = try Self.makeRepository()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.build(root)
        let identity = BuildCache.toolIdentity
        let path = try Self.deploymentPath(root)
        let stale = try Self.forgeStaleFile(root, path: path, identity: identity)
        #expect(try Self.build(root).cacheUse?.rendered == 0)
        #expect(Self.outTree(root)[path] == stale)
        // The base image of the v0.12 catalog changes: every workspace's images change.
        try Self.bumpBaseImage(root)
        let report = try Self.build(root)
        #expect(report.cacheUse?.reused == 0)
        let clean = try Self.cleanTree(root)
        #expect(clean[path]?.contains("kaito-base:0.5.1") == true)
        #expect(Self.differences(Self.outTree(root), clean) == [])
    }

    @Test func aTargetEditReRendersItsWorkspaces() throws {
        let root = try Self.makeRepository()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.build(root)
        let path = try Self.deploymentPath(root)
        let stale = try Self.forgeStaleFile(root, path: path, identity: BuildCache.toolIdentity)
        #expect(try Self.build(root).cacheUse?.rendered == 0)
        #expect(Self.outTree(root)[path] == stale)
        let targets = root.appendingPathComponent("presets/targets.yaml")
        let text = try String(contentsOf: targets, encoding: .utf8)
        let edited = text.replacingOccurrences(
            of: "  - name: head\n    default: true\n",
            with: "  - name: head\n    default: true\n    presetRegistry: registry.example.com/kaito\n"
        )
        #expect(edited != text)
        try Data(edited.utf8).write(to: targets)
        let report = try Self.build(root)
        #expect(report.cacheUse?.reused == 0)
        let clean = try Self.cleanTree(root)
        #expect(clean[path]?.contains("registry.example.com/kaito") == true)
        #expect(Self.differences(Self.outTree(root), clean) == [])
    }

    @Test func aHandEditedOutputFileIsRestoredEvenWithItsSizeAndMtimeKept() throws {
        let root = try Self.makeRepository()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.build(root)
        // Past the racy window, so that the next build trusts the recorded file states without reading.
        Thread.sleep(forTimeInterval: Double(BuildCache.racyWindow) + 1.2)
        try Self.build(root)
        let expected = Self.outTree(root)
        #expect(try Self.build(root).cacheUse?.rendered == 0)
        let path = try Self.deploymentPath(root)
        let url = root.appendingPathComponent("out/\(path)")
        let before = try #require(FileStat.of(path: url.path))
        // Same size, and the modification time put back as it was (what `cp -p` or `rsync -t` may leave).
        let original = try String(contentsOf: url, encoding: .utf8)
        let edited = original.replacingOccurrences(of: "replicas: 1", with: "replicas: 9")
        #expect(edited != original && edited.utf8.count == original.utf8.count)
        let handle = open(url.path, O_WRONLY)
        #expect(handle >= 0)
        _ = Array(edited.utf8).withUnsafeBytes { pwrite(handle, $0.baseAddress, $0.count, 0) }
        var times = [
            timespec(tv_sec: Int(before.mtimeSeconds), tv_nsec: Int(before.mtimeNanoseconds)),
            timespec(tv_sec: Int(before.mtimeSeconds), tv_nsec: Int(before.mtimeNanoseconds)),
        ]
        #expect(futimens(handle, &times) == 0)
        close(handle)
        let after = try #require(FileStat.of(path: url.path))
        #expect(after.size == before.size && after.mtimeSeconds == before.mtimeSeconds)
        #expect(after.mtimeNanoseconds == before.mtimeNanoseconds)
        let report = try Self.build(root)
        #expect(report.cacheUse?.reRendered == 1)
        #expect(report.write?.changed == [path])
        #expect(Self.differences(Self.outTree(root), expected) == [])
    }

    @Test func aDeletedOutputFileIsWrittenAgain() throws {
        let root = try Self.makeRepository()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.build(root)
        try Self.build(root)
        let expected = Self.outTree(root)
        let path = try Self.deploymentPath(root)
        try FileManager.default.removeItem(at: root.appendingPathComponent("out/\(path)"))
        let report = try Self.build(root)
        #expect(report.cacheUse?.reRendered == 1)
        #expect(report.write?.added == [path])
        #expect(Self.differences(Self.outTree(root), expected) == [])
    }

    @Test func aRemovedWorkspaceIsPrunedAndAnEditedOneReRendered() throws {
        let root = try Self.makeRepository()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.build(root)
        try FileManager.default.removeItem(at: root.appendingPathComponent("workspaces/head/team-1/ws-1.yaml"))
        let edited = root.appendingPathComponent("workspaces/head/team-0/ws-2.yaml")
        try Data(Self.workspace(2).replacingOccurrences(of: "app-2", with: "app-two").utf8).write(to: edited)
        let report = try Self.build(root)
        #expect(report.cacheUse?.rendered == 1)
        #expect(report.cacheUse?.reused == 4)
        #expect(report.write?.pruned.contains { $0.contains("/ws-1/") } == true)
        #expect(Self.differences(Self.outTree(root), try Self.cleanTree(root)) == [])
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("out/head/team-1/ws-1").path))
    }

    @Test func aDamagedCacheIsIgnored() throws {
        let root = try Self.makeRepository()
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.build(root)
        let expected = Self.outTree(root)
        let file = BuildCache.file(in: Self.cacheFolder(root), outputDirectory: root.appendingPathComponent("out").path)
        let bytes = try #require(RepositoryFiles.read(file))
        let identity = BuildCache.toolIdentity
        let intact = BuildCache.load(from: file, identity: identity)
        #expect(!intact.workspaces.isEmpty && !intact.files.isEmpty)
        // One flipped byte inside each record: every damaged record is left out, never read as something else.
        var damaged = bytes
        var offset = BuildCache.magic.count
        var records = 0
        while offset + 5 <= damaged.count {
            let length = Int(damaged[offset]) | Int(damaged[offset + 1]) << 8 | Int(damaged[offset + 2]) << 16
            if records > 0 { damaged[offset + 5 + length / 2] ^= 0x20 }
            offset += 5 + length + 8
            records += 1
        }
        try Data(damaged).write(to: URL(fileURLWithPath: file))
        let loaded = BuildCache.load(from: file, identity: identity)
        #expect(loaded.workspaces.isEmpty && loaded.files.isEmpty)
        let report = try Self.build(root)
        #expect(report.cacheUse?.reused == 0)
        #expect(Self.differences(Self.outTree(root), expected) == [])
        // A truncated cache, and one that is not a cache at all.
        for garbage in [Array(bytes.prefix(bytes.count / 2)), Array("not a cache".utf8)] {
            try Data(garbage).write(to: URL(fileURLWithPath: file))
            try Self.build(root)
            #expect(Self.differences(Self.outTree(root), expected) == [])
        }
    }

    @Test func aGitRepositoryKeepsTheCacheInItsGitDirectory() throws {
        let root = try Self.makeRepository()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent(".git"),
            withIntermediateDirectories: true
        )
        #expect(BuildCache.folder(mode: .automatic, repositoryRoot: root.path) == root.path + "/.git/kaitoc-cache")
        // A worktree's .git file names its git directory.
        let worktree = root.appendingPathComponent("wt")
        try FileManager.default.createDirectory(at: worktree, withIntermediateDirectories: true)
        try Data("gitdir: /elsewhere/.git/worktrees/wt\n".utf8).write(to: worktree.appendingPathComponent(".git"))
        #expect(
            BuildCache.folder(mode: .automatic, repositoryRoot: worktree.path)
                == "/elsewhere/.git/worktrees/wt/kaitoc-cache"
        )
        #expect(BuildCache.folder(mode: .disabled, repositoryRoot: root.path) == nil)
    }
}

/// InferenceSets through the cached build: controller mode writes the sets and their ScaledObjects, never the child
/// Workspaces, exactly as the uncached build and the golden tree do, on the first build and on a reusing one.
struct BuildCacheInferenceSetTests {
    @Test func controllerModeMatchesTheGoldenTreeWithTheCache() throws {
        let fixture = TestSupport.repositoryRoot.appendingPathComponent(
            "Tests/KaitoCoreTests/Fixtures/render/inferenceset-controller"
        )
        var files: [String: String] = [:]
        for (path, text) in readTree(fixture.appendingPathComponent("workspaces")) {
            files["workspaces/\(path)"] = text
        }
        let root = try TestSupport.makeRepository(files: files)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(at: TestSupport.testPresets, to: root.appendingPathComponent("presets"))
        let expected = readTree(fixture.appendingPathComponent("expected"))
        let targets = Set(expected.keys.compactMap { $0.split(separator: "/").first })
        for round in 0..<2 {
            try BuildCacheTests.build(root)
            let out = BuildCacheTests.outTree(root).filter { entry in
                entry.key.split(separator: "/").first.map(targets.contains) ?? false
            }
            #expect(Set(out.keys) == Set(expected.keys), "round \(round)")
            #expect(BuildCacheTests.differences(out, expected).isEmpty, "round \(round)")
        }
    }
}
