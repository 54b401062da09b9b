import ArgumentParser
import KaitoCore

import Foundation

@main
struct Kaitoc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kaitoc",
        abstract: "Compile Kaito Workspaces into the Kubernetes objects Kaito's controllers would create.",
        subcommands: [Check.self]
    )

    /// Runs the command; usage errors exit with status 2 (not ArgumentParser's 64) as `check` documents.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                printError(fullMessage(for: error))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate workspaces offline, like Kaito's admission webhook and more.",
        discussion: """
            With no paths, checks every file under workspaces/ and also applies the rules that span workspaces \
            (GPU quotas, duplicate names, missing ConfigMaps). Exit status: 0 clean (warnings allowed), 1 errors, \
            2 bad usage or unreadable input.
            """
    )

    @Argument(help: "Workspace files or folders to check (default: the whole repository).")
    var paths: [String] = []

    @Option(help: "Output format: text, json or github.")
    var format: String = "text"

    @Option(name: .customLong("repo"), help: "The repository root.")
    var repository: String = "."

    @Option(help: "The catalog folder (default: <repo>/presets).")
    var presets: String?

    func validate() throws {
        guard DiagnosticFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be text, json or github")
        }
    }

    func run() async throws {
        let report = Checker.check(CheckOptions(repositoryRoot: repository, paths: paths, presetsDirectory: presets))
        if !report.unreadable.isEmpty {
            for problem in report.unreadable { printError("kaitoc: error: \(problem)") }
            throw ExitCode(2)
        }
        print(report.rendered(as: DiagnosticFormat(rawValue: format) ?? .text), terminator: "")
        if report.hasErrors { throw ExitCode.failure }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
