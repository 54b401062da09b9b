import Foundation
import KaitoCore

/// Paths and temporary repositories for the compiler's tests.
enum TestSupport {
    /// The repository root, found from this file's path.
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// This test target's fixtures in the source tree (golden files are recorded here).
    static let fixtures = repositoryRoot.appendingPathComponent("Tests/KaitoCoreTests/Fixtures")

    /// Whether golden files are being re-recorded (`RECORD_SNAPSHOTS=1`).
    static let isRecording = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1"

    /// A temporary folder, removed by the caller.
    static func makeTemporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kaitoc-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A catalog folder made of the shipped models and instance types plus the test targets and test presets;
    /// removed when the test process exits.
    static let testPresets: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kaitoc-test-presets-\(UUID().uuidString)"
        )
        let fm = FileManager.default
        try? fm.createDirectory(at: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: TestSupport.testPresets) }
        let shipped = repositoryRoot.appendingPathComponent("presets")
        try? fm.copyItem(at: shipped.appendingPathComponent("models"), to: dir.appendingPathComponent("models"))
        for file in ["skus.yaml", "cpu-skus.yaml"] {
            try? fm.copyItem(at: shipped.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        try? fm.copyItem(
            at: fixtures.appendingPathComponent("targets.yaml"),
            to: dir.appendingPathComponent("targets.yaml")
        )
        try? fm.copyItem(
            at: fixtures.appendingPathComponent("extra-models.yaml"),
            to: dir.appendingPathComponent("extra-models.yaml")
        )
        return dir
    }()

    /// Writes files into a new temporary repository and returns its root.
    static func makeRepository(files: [String: String]) throws -> URL {
        let root = try makeTemporaryDirectory()
        for (path, content) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try Data(content.utf8).write(to: url)
        }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("workspaces"),
            withIntermediateDirectories: true
        )
        return root
    }

    /// Replaces machine-specific temporary paths in rendered output.
    static func normalize(_ text: String, root: URL) -> String {
        text.replacingOccurrences(of: root.path + "/", with: "")
            .replacingOccurrences(of: testPresets.path + "/", with: "presets/")
    }

    /// Compares `actual` with a golden file, or records it when `RECORD_SNAPSHOTS=1` (recording fails the test so it
    /// is never silent).
    static func assertGolden(_ actual: String, at golden: URL) -> String? {
        let expected = try? String(contentsOf: golden, encoding: .utf8)
        if isRecording {
            if expected != actual { try? Data(actual.utf8).write(to: golden) }
            return expected == actual
                ? nil : "recorded \(golden.lastPathComponent); review it and run again without RECORD_SNAPSHOTS"
        }
        guard let expected else {
            return "missing golden file \(golden.path); run with RECORD_SNAPSHOTS=1 to record it"
        }
        return expected == actual
            ? nil : "output differs from \(golden.lastPathComponent):\n--- expected\n\(expected)--- actual\n\(actual)"
    }
}
