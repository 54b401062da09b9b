import Foundation
import KaitoCore
import Testing

/// Reads every file under a folder as `relative path → contents`.
func readTree(_ root: URL) -> [String: String] {
    var result: [String: String] = [:]
    guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { return result }
    while let entry = enumerator.nextObject() as? String {
        var isDirectory: ObjCBool = false
        let url = root.appendingPathComponent(entry)
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            result[entry] = (try? String(contentsOf: url, encoding: .utf8)) ?? "<binary>"
        }
    }
    return result
}

/// One folder of `Fixtures/render/<case>/` with `workspaces/` inputs and the golden `expected/` output tree.
struct RenderCase: CustomTestStringConvertible, Sendable {
    var name: String
    var testDescription: String { name }
    var folder: URL { TestSupport.fixtures.appendingPathComponent("render/\(name)") }

    static let all: [RenderCase] = {
        let root = TestSupport.fixtures.appendingPathComponent("render")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.sorted().map(RenderCase.init)
    }()
}

/// Golden output trees of `kaitoc build` (docs/reference/kaito.md section 4; each golden was reviewed against it).
struct RenderGoldenTests {
    @Test(arguments: RenderCase.all)
    func buildMatchesGoldenTree(_ renderCase: RenderCase) throws {
        let inputs = readTree(renderCase.folder.appendingPathComponent("workspaces"))
        var files: [String: String] = [:]
        for (path, text) in inputs { files["workspaces/\(path)"] = text }
        let root = try TestSupport.makeRepository(files: files)
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("out")
        let report = try Builder.build(
            BuildOptions(
                repositoryRoot: root.path,
                presetsDirectory: TestSupport.testPresets.path,
                outputDirectory: out.path
            )
        )
        #expect(!report.check.hasErrors, "\(TestSupport.normalize(report.check.rendered(as: .text), root: root))")
        // Only the targets this case uses.
        let used = Set(inputs.keys.compactMap { $0.split(separator: "/").first.map(String.init) })
        let actual = readTree(out).filter { used.contains(String($0.key.split(separator: "/").first ?? "")) }
            .mapValues { TestSupport.normalize($0, root: root) }
        let expectedFolder = renderCase.folder.appendingPathComponent("expected")
        let expected = readTree(expectedFolder)
        if TestSupport.isRecording {
            if actual != expected {
                try? FileManager.default.removeItem(at: expectedFolder)
                for (path, text) in actual {
                    let url = expectedFolder.appendingPathComponent(path)
                    try FileManager.default.createDirectory(
                        at: url.deletingLastPathComponent(),
                        withIntermediateDirectories: true
                    )
                    try Data(text.utf8).write(to: url)
                }
                Issue.record("recorded \(renderCase.name); review it and run again without RECORD_SNAPSHOTS")
            }
            return
        }
        #expect(Set(actual.keys) == Set(expected.keys), "file lists differ")
        for (path, text) in actual where expected[path] != text {
            Issue.record(
                "\(path) differs from the golden file:\n--- expected\n\(expected[path] ?? "<missing>")--- actual\n\(text)"
            )
        }
    }
}

/// The safety properties of `kaitoc build` (issue 3: deterministic, safe, all-or-nothing).
struct BuildSafetyTests {
    let quickstarts: [String: String] = {
        let folder = TestSupport.repositoryRoot.appendingPathComponent("workspaces/quickstart")
        var files: [String: String] = [:]
        for (path, text) in readTree(folder) { files["workspaces/classic/\(path)"] = text }
        return files
    }()

    func build(_ root: URL) throws -> BuildReport {
        try Builder.build(BuildOptions(repositoryRoot: root.path, presetsDirectory: TestSupport.testPresets.path))
    }

    @Test func buildingTwiceIsByteIdenticalAndWritesNothingTheSecondTime() throws {
        let root = try TestSupport.makeRepository(files: quickstarts)
        defer { try? FileManager.default.removeItem(at: root) }
        let first = try build(root)
        #expect(!first.check.hasErrors)
        let tree = readTree(root.appendingPathComponent("out"))
        #expect(tree.count > 5)
        let second = try build(root)
        #expect(second.write?.written == [])
        #expect(second.write?.pruned == [])
        #expect(readTree(root.appendingPathComponent("out")) == tree)
    }

    @Test func handMadeFilesSurviveAndStaleFilesArePruned() throws {
        var files = quickstarts
        files["out/classic/README.yaml"] = "# my notes\nkind: Note\n"
        let root = try TestSupport.makeRepository(files: files)
        defer { try? FileManager.default.removeItem(at: root) }
        _ = try build(root)
        try FileManager.default.removeItem(
            at: root.appendingPathComponent("workspaces/classic/workspace-tuning-phi-3.yaml")
        )
        let report = try build(root)
        let pruned = report.write?.pruned ?? []
        #expect(pruned.contains("classic/default/workspace-tuning-phi-3/job-workspace-tuning-phi-3.yaml"))
        #expect(report.write?.foreign == ["classic/README.yaml"])
        let notes = try String(contentsOf: root.appendingPathComponent("out/classic/README.yaml"), encoding: .utf8)
        #expect(notes == "# my notes\nkind: Note\n")
        #expect(
            !FileManager.default.fileExists(
                atPath: root.appendingPathComponent("out/classic/default/workspace-tuning-phi-3").path
            )
        )
    }

    @Test func failedCheckWritesNothing() throws {
        var files = quickstarts
        files["workspaces/classic/broken.yaml"] =
            "apiVersion: kaito.sh/v1alpha1\nkind: Workspace\nmetadata:\n  name: Broken\n"
        let root = try TestSupport.makeRepository(files: files)
        defer { try? FileManager.default.removeItem(at: root) }
        let report = try build(root)
        #expect(report.check.hasErrors)
        #expect(report.write == nil)
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("out").path))
    }

    @Test func aUserFileInTheWayStopsTheBuildBeforeAnyWrite() throws {
        var files = quickstarts
        files["out/classic/default/workspace-phi-3-mini/service-workspace-phi-3-mini.yaml"] = "kind: Mine\n"
        let root = try TestSupport.makeRepository(files: files)
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(throws: OutputError.self) { _ = try build(root) }
        #expect(
            !FileManager.default.fileExists(atPath: root.appendingPathComponent("out/classic/kustomization.yaml").path)
        )
    }

    @Test(arguments: ["../etc/passwd", "/etc/passwd", "a/../../b", "a//b", ".hidden/x.yaml", "a/./b", ""])
    func unsafeOutputPathsAreRefused(_ path: String) throws {
        let root = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(throws: OutputError.self) {
            try OutputWriter.write(files: [OutputFile(path: path, contents: "x")], to: root.path, ownedFolders: [])
        }
    }
}

/// Parallel rendering and emitting (issue 14): the output never depends on the worker count.
struct ParallelBuildTests {
    @Test func outIsByteIdenticalWith1And2And8Threads() throws {
        // Many workspaces over every shipped target, so each worker gets several, in a different interleaving.
        var files: [String: String] = [:]
        let shipped = TestSupport.repositoryRoot.appendingPathComponent("workspaces")
        for (path, text) in readTree(shipped) where path.hasSuffix(".yaml") {
            files["workspaces/\(path)"] = text
        }
        #expect(files.count > 4)
        var trees: [Int: [String: String]] = [:]
        for threads in [1, 2, 8] {
            let root = try TestSupport.makeRepository(files: files)
            defer { try? FileManager.default.removeItem(at: root) }
            let presets = TestSupport.repositoryRoot.appendingPathComponent("presets")
            var options = BuildOptions(repositoryRoot: root.path, presetsDirectory: presets.path)
            options.threads = threads
            let report = try Builder.build(options)
            #expect(!report.check.hasErrors)
            trees[threads] = readTree(root.appendingPathComponent("out"))
        }
        #expect((trees[1]?.count ?? 0) > 20)
        #expect(trees[2] == trees[1])
        #expect(trees[8] == trees[1])
    }
}

/// Hostile numbers in a workspace are diagnostics, never a crash (the largest `resource.count` multiplied into GPU
/// memory on a classic target used to trap while formatting the quantity).
struct HostileNumberTests {
    @Test func hugeCountIsChecked() throws {
        let workspace = """
            apiVersion: kaito.sh/v1beta1
            kind: Workspace
            metadata:
              name: huge
            resource:
              instanceType: Standard_NC24ads_A100_v4
              count: 9223372036854775807
              labelSelector:
                matchLabels:
                  apps: huge
            inference:
              preset:
                name: phi-3-mini-4k-instruct
            """
        for target in ["classic", "head"] {
            let root = try TestSupport.makeRepository(files: ["workspaces/\(target)/huge.yaml": workspace])
            defer { try? FileManager.default.removeItem(at: root) }
            let report = Checker.check(
                CheckOptions(repositoryRoot: root.path, presetsDirectory: TestSupport.testPresets.path)
            )
            #expect(report.workspacesChecked == 1, "\(target)")
        }
        #expect(Quantity(gibibytes: 8e18).text == "8e+18Gi")
        #expect(Quantity(gibibytes: 80).text == "80Gi")
    }
}
