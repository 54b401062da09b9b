import Foundation

/// A temporary git repository driven by the `git` command line, the independent reader of what kaitoc wrote.
final class GitFixture {
    let root: URL
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    init(bare: Bool = false) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("kaitoc-git-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try git(bare ? ["init", "-q", "--bare", "-b", "main"] : ["init", "-q", "-b", "main"])
        if !bare {
            try git(["config", "user.name", "Dev"])
            try git(["config", "user.email", "dev@example.com"])
        }
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }

    /// Runs git in the repository and returns its standard output.
    @discardableResult
    func git(_ arguments: [String], allowFailure: Bool = false) throws -> String {
        try Self.run("/usr/bin/git", arguments, in: root, allowFailure: allowFailure)
    }

    static func run(
        _ executable: String,
        _ arguments: [String],
        in folder: URL,
        allowFailure: Bool = false
    ) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = folder
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus != 0, !allowFailure {
            throw NSError(
                domain: "git",
                code: Int(process.terminationStatus),
                userInfo: [NSLocalizedDescriptionKey: "\(arguments) failed: \(String(decoding: errors, as: UTF8.self))"]
            )
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes a file (relative path).
    func write(_ path: String, _ content: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(content.utf8).write(to: url)
    }

    /// Copies the shipped catalog and the quick-start workspaces in, and commits them.
    func seedQuickStarts(message: String = "Add quick starts") throws {
        let fm = FileManager.default
        try fm.copyItem(
            at: Self.repositoryRoot.appendingPathComponent("presets"),
            to: root.appendingPathComponent("presets")
        )
        try fm.createDirectory(at: root.appendingPathComponent("workspaces"), withIntermediateDirectories: true)
        try fm.copyItem(
            at: Self.repositoryRoot.appendingPathComponent("workspaces/quickstart"),
            to: root.appendingPathComponent("workspaces/quickstart")
        )
        try git(["add", "-A"])
        try git(["commit", "-q", "-m", message])
    }
}
