import ArgumentParser
import Foundation
import GitOps
import GitStore
import KaitoCore

@main
struct Kaitoc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kaitoc",
        abstract: "Compile Kaito Workspaces into the Kubernetes objects Kaito's controllers would create.",
        subcommands: [
            Check.self, Build.self, Generate.self, Diff.self, Commit.self, Hook.self, Schema.self, Plan.self,
        ]
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

    @Option(help: "Output format: text, json, github, sarif (SARIF 2.1.0) or junit (JUnit XML).")
    var format: String = "text"

    @Option(help: ArgumentHelp("Also write a SARIF 2.1.0 log of the run to this file.", valueName: "file"))
    var outputSarif: String?

    @Option(help: ArgumentHelp("Also write a JUnit XML report of the run to this file.", valueName: "file"))
    var outputJunit: String?

    @OptionGroup var source: RepositoryOptions

    @Flag(help: "Check the files as staged in the git index (what the next commit will contain), read through libgit2.")
    var staged = false

    func validate() throws {
        guard DiagnosticFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be text, json, github, sarif or junit")
        }
        if let outputSarif, outputSarif == outputJunit {
            throw ValidationError("--output-sarif and --output-junit name the same file")
        }
    }

    func run() async throws {
        let report: CheckReport
        if staged {
            do {
                report = try StagedCheck.run(repositoryPath: source.repository, files: paths)
            } catch {
                printError("kaitoc: error: \(error.message)")
                throw ExitCode(2)
            }
        } else {
            report = Checker.check(
                CheckOptions(repositoryRoot: source.repository, paths: paths, presetsDirectory: source.presets)
            )
        }
        if !report.unreadable.isEmpty {
            for problem in report.unreadable { printError("kaitoc: error: \(problem)") }
            throw ExitCode(2)
        }
        for (path, reportFormat) in [(outputSarif, DiagnosticFormat.sarif), (outputJunit, .junit)] {
            guard let path else { continue }
            do {
                try Data(report.rendered(as: reportFormat).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                printError("kaitoc: error: cannot write \(path): \(error.localizedDescription)")
                throw ExitCode(2)
            }
        }
        print(report.rendered(as: DiagnosticFormat(rawValue: format) ?? .text), terminator: "")
        if report.hasErrors { throw ExitCode.failure }
    }
}

struct Build: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render every object Kaito's controllers would create into out/.",
        discussion: """
            Runs check first and writes nothing when it finds errors. Files are written atomically and only when \
            they change; files kaitoc wrote that no longer belong to the output are pruned; files it did not write \
            are never touched. A workspace whose inputs and output files are unchanged since the last build is \
            reused from the build cache (<git dir>/kaitoc-cache, else .kaitoc-cache; see docs/build-cache.md). \
            Exit status: 0 built, 1 check errors, 2 bad usage, unreadable input or a write failure.
            """
    )

    @Option(help: "Build only this target.")
    var target: String?

    @Option(help: "The output folder (default: <repo>/out).")
    var out: String?

    @Option(help: "expanded (every object) or controller (only normalised Workspaces); default: the target's.")
    var mode: String?

    @Option(help: "Worker threads rendering and emitting (default: every core); the output does not depend on it.")
    var jobs: Int?

    @Flag(
        help:
            "Ignore the build cache: render every workspace and compare every output file (an audit); the cache is neither read nor written."
    )
    var noCache = false

    @OptionGroup var source: RepositoryOptions

    func validate() throws {
        if let mode, OutputMode(rawValue: mode) == nil {
            throw ValidationError("--mode must be expanded or controller")
        }
        if let jobs, jobs < 1 {
            throw ValidationError("--jobs must be at least 1")
        }
    }

    func run() async throws {
        var options = BuildOptions(
            repositoryRoot: source.repository,
            presetsDirectory: source.presets,
            outputDirectory: out,
            target: target,
            mode: mode.flatMap(OutputMode.init(rawValue:))
        )
        options.threads = jobs
        options.cache = noCache ? .disabled : .automatic
        let report: BuildReport
        do {
            report = try Builder.build(options)
        } catch {
            printError("kaitoc: error: \(error)")
            throw ExitCode(2)
        }
        if !report.check.unreadable.isEmpty {
            for problem in report.check.unreadable { printError("kaitoc: error: \(problem)") }
            throw ExitCode(2)
        }
        if report.check.hasErrors {
            print(report.check.rendered(as: .text), terminator: "")
            printError("kaitoc: error: check failed; nothing was written")
            throw ExitCode.failure
        }
        let warnings = report.check.diagnostics.filter { $0.severity == .warning }
        if !warnings.isEmpty {
            let renderer = DiagnosticRenderer(sources: report.check.sources)
            print(warnings.map(renderer.text).joined(), terminator: "")
        }
        print(report.summary, terminator: "")
    }
}

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print one target's rendered manifests as a YAML stream (an Argo CD config management plugin).",
        discussion: """
            Never prints an empty stream for a repository that has workspaces: a failed check exits non-zero so \
            that a sync tool does not prune everything.
            """
    )

    @Option(help: "The target (default: the default target).")
    var target: String?

    @Option(help: "expanded or controller; default: the target's.")
    var mode: String?

    @OptionGroup var source: RepositoryOptions

    func run() async throws {
        let report: BuildReport
        do {
            report = try Builder.render(
                BuildOptions(
                    repositoryRoot: source.repository,
                    presetsDirectory: source.presets,
                    target: target,
                    mode: mode.flatMap(OutputMode.init(rawValue:))
                )
            )
        } catch {
            printError("kaitoc: error: \(error)")
            throw ExitCode(2)
        }
        guard report.check.unreadable.isEmpty, !report.check.hasErrors else {
            printError(report.check.rendered(as: .text))
            throw ExitCode.failure
        }
        let selected =
            target.flatMap { name in report.targets.first { $0.target.name == name } }
            ?? report.targets.first { $0.target.isDefault } ?? report.targets.first
        guard let selected, !selected.objects.isEmpty else {
            printError("kaitoc: error: the target has no objects to generate; refusing to print an empty stream")
            throw ExitCode.failure
        }
        print(OutputLayout.stream(selected), terminator: "")
    }
}

struct Commit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a git revision and commit the result, through libgit2.",
        discussion: """
            Reads the tree of REVISION (not the working directory, so it works in a bare repository), renders it, and \
            commits out/ either on the same branch (a child of the source commit) or on --branch. No commit when \
            nothing changed; none for a commit kaitoc wrote itself or one that changed only out/. The branch moves \
            with compare-and-swap; when it moves meanwhile, kaitoc re-reads and re-renders. Exit status: 0 committed \
            or nothing to do, 1 check errors (nothing written) or a failed push, 2 git errors. With --push, the \
            branch is pushed (fast-forward only) even when nothing new was committed.
            """
    )

    @Argument(help: "The source revision.")
    var revision: String = "HEAD"

    @Option(help: "Commit onto this branch (e.g. rendered/main) instead of the source branch.")
    var branch: String?

    @Option(name: .customLong("repo"), help: "A folder inside the repository.")
    var repository: String = "."

    @Option(help: "Author name (default: git config user.name, else kaitoc).")
    var authorName: String?

    @Option(help: "Author email (default: git config user.email).")
    var authorEmail: String?

    @Option(
        help:
            "Push the branch to this remote (name, URL or path) after committing. Credentials: the ssh agent, or a token in KAITOC_GIT_TOKEN for HTTPS."
    )
    var push: String?

    @Flag(
        help:
            "Sign the rendered commit like git commit -S: an SSH signature (ssh-keygen) or an OpenPGP one (gpg), verifiable with git verify-commit."
    )
    var sign = false

    @Option(
        help: ArgumentHelp(
            "With --sign: the key (SSH: a key file or key::<public key>; OpenPGP: a key id). Default: git config user.signingKey.",
            valueName: "key"
        )
    )
    var signingKey: String?

    @Option(help: "With --sign: ssh or openpgp (default: git config gpg.format, else openpgp).")
    var signingFormat: String?

    @Flag(
        inversion: .prefixedNo,
        help:
            "With --branch: write Argo CD source hydrator metadata (hydrator.metadata, the refs/notes/hydrator.metadata note) and honour Argocd-reference-commit-* trailers."
    )
    var hydratorMetadata = true

    @Option(
        name: .customLong("repo-url"),
        help: "The repoURL written into hydrator.metadata (default: git config remote.origin.url)."
    )
    var repositoryURL: String?

    @Flag(
        help:
            "Render every workspace instead of taking unchanged ones from the commit cache (an audit); the cache is neither read nor written."
    )
    var noCache = false

    func validate() throws {
        if let signingFormat, CommitSigning.Format(rawValue: signingFormat) == nil {
            throw ValidationError("--signing-format must be ssh or openpgp")
        }
        if !sign, signingKey != nil || signingFormat != nil {
            throw ValidationError("--signing-key and --signing-format need --sign")
        }
    }

    func run() async throws {
        var author: Signature?
        if let authorName { author = Signature(name: authorName, email: authorEmail ?? "kaitoc@localhost") }
        let result: CommitResult
        do {
            var options = CommitOptions(
                repositoryPath: repository,
                revision: revision,
                renderedBranch: branch,
                author: author
            )
            options.pushRemote = push
            options.hydratorMetadata = hydratorMetadata
            options.repositoryURL = repositoryURL
            options.cache = !noCache
            if sign {
                options.signing = CommitSigning(
                    format: signingFormat.flatMap(CommitSigning.Format.init(rawValue:)),
                    key: signingKey
                )
            }
            options.pushCredentials = PushCredentials(token: ProcessInfo.processInfo.environment["KAITOC_GIT_TOKEN"])
            result = try CommitWorkflow.run(options)
        } catch {
            printError("kaitoc: error: \(error.message)")
            throw ExitCode(error.exitStatus)
        }
        switch result {
        case .committed(let commit, let branch, let source):
            print(
                "committed \(commit.short) on \(branch) (rendered from \(source.short))"
                    + (push.map { ", pushed to \($0)" } ?? "")
            )
        case .nothingToCommit(let branch, let source):
            print(
                "nothing to commit: out/ on \(branch) is up to date with \(source.short)"
                    + (push.map { "; \(branch) pushed to \($0)" } ?? "")
            )
        case .loopGuard(let reason, _):
            print("nothing to do: \(reason)" + (push.map { "; branch pushed to \($0)" } ?? ""))
        case .checkFailed(let report):
            print(report.rendered(as: .text), terminator: "")
            printError("kaitoc: error: check failed; nothing was committed")
            throw ExitCode.failure
        }
    }
}

struct Diff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Show what build would change against the out/ committed in a revision, and what a sync will not patch.",
        discussion: "Exit status: 0 (changes or not), 1 check errors, 2 git errors."
    )

    @Argument(help: "The revision whose committed out/ is compared.")
    var revision: String = "HEAD"

    @Option(name: .customLong("repo"), help: "A folder inside the repository.")
    var repository: String = "."

    func run() async throws {
        let result: Result<[ObjectChange], CheckReportBox>
        do {
            result = try ManifestDiff.run(repositoryPath: repository, revision: revision)
        } catch {
            printError("kaitoc: error: \(error.message)")
            throw ExitCode(2)
        }
        switch result {
        case .failure(let box):
            print(box.report.rendered(as: .text), terminator: "")
            throw ExitCode.failure
        case .success(let changes):
            if changes.isEmpty {
                print("out/ is up to date with \(revision)")
                return
            }
            for change in changes {
                print("\(change.kind.rawValue): \(change.path)")
                for warning in change.warnings { print("warning: \(warning)") }
                if !change.diff.isEmpty { print(change.diff, terminator: "") }
            }
            let counts = Dictionary(grouping: changes, by: \.kind).mapValues(\.count)
            print(
                "\(counts[.added] ?? 0) added, \(counts[.changed] ?? 0) changed, \(counts[.pruned] ?? 0) pruned; \(changes.flatMap(\.warnings).count) warning(s)"
            )
        }
    }
}

struct Schema: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write JSON Schemas for Workspace, InferenceSet and the catalog files, with the catalog's names.",
        discussion: """
            Writes kaito.sh/workspace_v1alpha1.json, workspace_v1beta1.json, inferenceset_v1alpha1.json and \
            inferenceset_v1beta1.json in the CRDs-catalog layout kubeconform reads ({group}/{kind}_{version}.json), \
            and kaitoc/targetlist.json, modelcatalog.json, instancetypecatalog.json and pricelist.json for presets/. Preset names \
            and instance types of the catalog are enums, for yaml-language-server completion (docs/schemas.md). \
            Exit status: 0 written, 1 catalog errors (nothing written), 2 bad usage or a write failure.
            """
    )

    @Argument(help: "The output folder.")
    var directory: String = "schemas"

    @OptionGroup var source: RepositoryOptions

    func run() async throws {
        let presets = source.presets ?? (source.repository == "." ? "presets" : source.repository + "/presets")
        guard FileSystemTree().isDirectory(presets) else {
            printError("kaitoc: error: no catalog folder at \(presets)")
            throw ExitCode(2)
        }
        let (catalog, diagnostics, sources) = CatalogLoader.load(directory: presets, tree: FileSystemTree())
        let errors = diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty {
            let renderer = DiagnosticRenderer(sources: sources)
            print(errors.map(renderer.text).joined(), terminator: "")
            printError("kaitoc: error: the catalog has errors; no schema was written")
            throw ExitCode.failure
        }
        let files = JSONSchemas.generate(catalog: catalog)
        let root = URL(fileURLWithPath: directory)
        do {
            for file in files {
                let url = root.appendingPathComponent(file.path)
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(),
                    withIntermediateDirectories: true
                )
                try Data(file.contents.utf8).write(to: url, options: .atomic)
            }
        } catch {
            printError("kaitoc: error: cannot write schemas to \(directory): \(error.localizedDescription)")
            throw ExitCode(2)
        }
        print("wrote \(files.count) schemas to \(directory)")
    }
}

struct Hook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the git pre-commit hook.",
        subcommands: [Install.self]
    )

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write .git/hooks/pre-commit running kaitoc check --staged."
        )

        @Option(name: .customLong("repo"), help: "A folder inside the repository.")
        var repository: String = "."

        @Flag(help: "Replace a pre-commit hook that kaitoc did not write.")
        var force = false

        func run() async throws {
            let executable =
                CommandLine.arguments.first.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "kaitoc"
            do {
                let path = try HookInstaller.install(repositoryPath: repository, kaitoc: executable, force: force)
                print("installed \(path)")
            } catch {
                printError("kaitoc: error: \(error.message)")
                throw ExitCode(2)
            }
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what each workspace occupies and costs, and which instance types would fit it.",
        discussion: """
            For each workspace: the estimator's memory breakdown, the nodes, GPUs and vLLM layout chosen, every \
            instance type of the target's catalog that fits (the cheapest priced one and the one with the fewest GPUs \
            marked), and kaito-serve's CPU option; then per target the nodes and GPUs per instance type, quota \
            headroom and hourly cost. Prices come only from PriceList files in presets/ (presets/README.md). With \
            --diff REV, the change from the workspaces and catalog committed in REV instead (for pull request \
            comments; docs/plan.md). Exit status: 0 planned, 1 check errors (the plan is still printed), 2 bad usage, \
            unreadable input or an unknown revision.
            """
    )

    @Argument(help: "Workspace files or folders to plan (default: the whole repository).")
    var paths: [String] = []

    @Option(help: "Plan only this target.")
    var target: String?

    @Option(help: "Output format: text, json or markdown.")
    var format: String = "text"

    @Option(help: ArgumentHelp("Show the change against the workspaces committed in this revision.", valueName: "rev"))
    var diff: String?

    @OptionGroup var source: RepositoryOptions

    func validate() throws {
        guard PlanFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be text, json or markdown")
        }
    }

    func run() async throws {
        // A diff compares whole repositories (target totals included) and then shows the rows of the paths.
        let report = Checker.check(
            CheckOptions(
                repositoryRoot: source.repository,
                paths: diff == nil ? paths : [],
                presetsDirectory: source.presets
            )
        )
        if !report.unreadable.isEmpty {
            for problem in report.unreadable { printError("kaitoc: error: \(problem)") }
            throw ExitCode(2)
        }
        if let target, report.catalog?.target(named: target) == nil {
            printError("kaitoc: error: no target named \(target) in the catalog")
            throw ExitCode(2)
        }
        let outputFormat = PlanFormat(rawValue: format) ?? .text
        let plan = selected(CapacityPlanner.plan(report))
        if let diff {
            let base: CheckReport
            do {
                base = try PlanAtRevision.check(repositoryPath: source.repository, revision: diff)
            } catch {
                printError("kaitoc: error: \(error.message)")
                throw ExitCode(2)
            }
            let change = plan.diff(from: selected(CapacityPlanner.plan(base)), baseName: diff)
            print(change.rendered(as: outputFormat), terminator: "")
        } else {
            print(plan.rendered(as: outputFormat), terminator: "")
        }
        if report.hasErrors {
            printError(report.rendered(as: .text))
            throw ExitCode.failure
        }
    }

    /// The rows and summaries of the chosen target and paths.
    func selected(_ plan: CapacityPlan) -> CapacityPlan {
        var plan = plan
        if let target {
            plan.workspaces.removeAll { $0.target != target }
            plan.targets.removeAll { $0.name != target }
        }
        let prefixes = paths.map { path in
            var p = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
            while p.hasSuffix("/") { p.removeLast() }
            return p
        }
        if !prefixes.isEmpty {
            plan.workspaces.removeAll { row in
                !prefixes.contains { row.file == $0 || row.file.hasPrefix($0 + "/") || row.file.hasSuffix("/" + $0) }
            }
        }
        return plan
    }
}

/// The repository and catalog that `check`, `build` and `generate` read.
struct RepositoryOptions: ParsableArguments {
    @Option(name: .customLong("repo"), help: "The repository root.")
    var repository: String = "."

    @Option(help: "The catalog folder (default: <repo>/presets).")
    var presets: String?
}
