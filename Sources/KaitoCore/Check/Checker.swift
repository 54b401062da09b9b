internal import Foundation
internal import OrderedCollections
internal import YAML

/// What `kaitoc check` reads.
public struct CheckOptions: Sendable {
    /// The repository root (holding `workspaces/` and `presets/`).
    public var repositoryRoot: String
    /// Files or folders to check; empty means the whole `workspaces/` tree (and enables cross-workspace rules).
    public var paths: [String]
    /// The catalog folder; default `<root>/presets`.
    public var presetsDirectory: String?
    /// Where files are read from.
    public var tree: any SourceTree
    /// Worker threads reading, parsing and validating files (`nil`: every core); the report does not depend on it.
    public var threads: Int?

    /// Creates options.
    public init(
        repositoryRoot: String = ".",
        paths: [String] = [],
        presetsDirectory: String? = nil,
        tree: any SourceTree = FileSystemTree()
    ) {
        self.repositoryRoot = repositoryRoot
        self.paths = paths
        self.presetsDirectory = presetsDirectory
        self.tree = tree
    }
}

/// The outcome of a check.
public struct CheckReport: Sendable {
    /// Every problem, sorted by file, line and column.
    public var diagnostics: [Diagnostic] = []
    /// The files read, to quote lines.
    public var sources: [String: SourceFile] = [:]
    /// The decoded inputs, per file in order.
    public var inputs: [InputObject] = []
    /// The resolved facts of every workspace that could be validated, the Workspaces of InferenceSets included.
    public var plans: [WorkspacePlan] = []
    /// The resolved InferenceSets.
    public var inferenceSetPlans: [InferenceSetPlan] = []
    /// The catalog.
    public var catalog: Catalog?
    /// Workspace files read.
    public var filesChecked = 0
    /// The workspace files checked, in the order read.
    public var checkedFiles: [String] = []
    /// Workspaces found.
    public var workspacesChecked = 0
    /// InferenceSets found.
    public var inferenceSetsChecked = 0
    /// Whether the whole repository was checked.
    public var isWholeRepository = true
    /// The catalog files read, sorted (what the build cache keys on besides the workspace files).
    public var catalogFiles: [String] = []
    /// The ConfigMaps of each target, by target name.
    public var configMapsByTarget: [String: [ConfigMapObject]] = [:]
    /// Inputs that could not be read at all (missing path, unreadable file, no catalog): exit status 2.
    public var unreadable: [String] = []

    /// Creates an empty report (a check fills it; tests and tools build their own).
    public init() {}

    /// Whether any error was found.
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    /// The number of diagnostics of a severity.
    public func count(_ severity: Severity) -> Int { diagnostics.filter { $0.severity == severity }.count }
}

/// Runs `kaitoc check`: reads the catalog and the workspace files, decodes, validates and applies the rules that
/// span workspaces.
public enum Checker {
    /// Checks the repository or some of its files.
    ///
    /// - Parameter options: What to read.
    /// - Returns: The report; it never throws: unreadable inputs are listed in ``CheckReport/unreadable``.
    public static func check(_ options: CheckOptions) -> CheckReport {
        var report = CheckReport()
        let root = options.repositoryRoot
        let tree = options.tree
        let presets = options.presetsDirectory ?? join(root, "presets")
        guard tree.isDirectory(presets) else {
            report.unreadable.append("no catalog folder at \(presets)")
            return report
        }
        let (catalog, catalogDiagnostics, catalogSources) = CatalogLoader.load(directory: presets, tree: tree)
        report.catalog = catalog
        report.diagnostics += catalogDiagnostics
        report.sources.merge(catalogSources) { a, _ in a }
        report.catalogFiles = catalogSources.keys.sorted()
        if catalog.targets.isEmpty {
            report.diagnostics.append(
                Diagnostic(
                    .error,
                    code: DiagnosticCode.target,
                    message: "no targets defined: add presets/targets.yaml (see presets/README.md)",
                    location: SourceLocation(file: presets, line: 0, column: 0)
                )
            )
        }

        let workspacesRoot = join(root, "workspaces")
        var files: [String] = []
        if options.paths.isEmpty {
            guard tree.isDirectory(workspacesRoot) else {
                report.unreadable.append("no workspaces/ folder in \(root)")
                return report
            }
            files = tree.yamlFiles(under: workspacesRoot)
        } else {
            report.isWholeRepository = false
            for path in options.paths {
                let found = tree.yamlFiles(under: path)
                if found.isEmpty, !tree.isDirectory(path) {
                    report.unreadable.append("no such file: \(path)")
                }
                files += found
            }
        }
        report.filesChecked = files.count
        report.checkedFiles = files

        // Read, parse and decode every file across cores (each file on its own), then take the results in file
        // order: the report is the same for any thread count.
        let canonicalRoot = tree.canonical(workspacesRoot)
        let paths = files
        let loaded = ParallelMap.map(paths.count, threads: options.threads ?? ParallelMap.defaultThreads) { i in
            LoadedFile.load(paths[i], tree: tree)
        }
        var workspaces: [(Workspace, Target?)] = []
        var configMaps: [(ConfigMapObject, Target?)] = []
        var inferenceSets: [(InferenceSet, Target?)] = []
        for file in loaded {
            guard let source = file.source else {
                report.unreadable.append("cannot read \(file.path)")
                continue
            }
            report.sources[file.path] = source
            let target = assignTarget(
                file: file.path,
                canonicalFile: file.canonical,
                workspacesRoot: workspacesRoot,
                canonicalRoot: canonicalRoot,
                catalog: catalog,
                tree: tree,
                report: &report
            )
            if let error = file.parseError {
                report.diagnostics.append(error)
                continue
            }
            for (object, diagnostics) in file.objects {
                report.diagnostics += diagnostics
                guard let object else { continue }
                report.inputs.append(object)
                switch object {
                case .workspace(let w): workspaces.append((w, target))
                case .configMap(let c): configMaps.append((c, target))
                case .inferenceSet(let i): inferenceSets.append((i, target))
                case .other: break
                }
            }
        }
        report.workspacesChecked = workspaces.count
        report.inferenceSetsChecked = inferenceSets.count
        for (configMap, target) in configMaps {
            guard let target else { continue }
            report.configMapsByTarget[target.name, default: []].append(configMap)
        }

        // Validate each workspace against its target.
        for target in catalog.targets {
            let index = ConfigMapIndex(
                configMaps.filter { $0.1?.name == target.name }.map(\.0),
                isComplete: report.isWholeRepository
            )
            let validator = WorkspaceValidator(catalog: catalog, target: target, configMaps: index)
            // Each workspace is validated on its own (across cores); the cross-workspace rules come after.
            let owned = workspaces.filter { $0.1?.name == target.name }.map(\.0)
            let validated = ParallelMap.map(owned.count, threads: options.threads ?? ParallelMap.defaultThreads) {
                validator.validate(owned[$0])
            }
            for (plan, diagnostics) in validated {
                report.diagnostics += diagnostics
                report.plans.append(plan)
            }
            let setValidator = InferenceSetValidator(catalog: catalog, target: target, configMaps: index)
            for (set, owner) in inferenceSets where owner?.name == target.name {
                let (plan, diagnostics) = setValidator.validate(set)
                report.diagnostics += diagnostics
                guard let plan else { continue }
                report.inferenceSetPlans.append(plan)
                report.plans += plan.children
            }
            if report.isWholeRepository {
                let targetWorkspaces = workspaces.filter { $0.1?.name == target.name }.map(\.0)
                report.diagnostics += CrossWorkspaceRules.duplicates(
                    workspaces: targetWorkspaces,
                    configMaps: configMaps.filter { $0.1?.name == target.name }.map(\.0),
                    target: target
                )
                report.diagnostics += CrossWorkspaceRules.duplicates(
                    inferenceSets: inferenceSets.filter { $0.1?.name == target.name }.map(\.0),
                    target: target
                )
                report.diagnostics += CrossWorkspaceRules.quotas(
                    plans: report.plans.filter { $0.target.name == target.name },
                    target: target
                )
            }
        }
        report.diagnostics.sort(by: Diagnostic.sortOrder)
        return report
    }

    /// The target a workspace file belongs to: `workspaces/<target>/…`, else the default target (or the only one).
    static func assignTarget(
        file: String,
        canonicalFile: String? = nil,
        workspacesRoot: String,
        canonicalRoot: String? = nil,
        catalog: Catalog,
        tree: any SourceTree,
        report: inout CheckReport
    ) -> Target? {
        let absoluteFile = canonicalFile ?? tree.canonical(file)
        let absoluteRoot = canonicalRoot ?? tree.canonical(workspacesRoot)
        if absoluteFile.hasPrefix(absoluteRoot + "/") {
            let relative = absoluteFile.dropFirst(absoluteRoot.count + 1)
            let components = relative.split(separator: "/")
            if components.count > 1, let target = catalog.target(named: String(components[0])) {
                return target
            }
        } else {
            report.diagnostics.append(
                Diagnostic(
                    .warning,
                    code: DiagnosticCode.target,
                    message: "\(file) is outside workspaces/; it is checked against the default target",
                    location: SourceLocation(file: file, line: 0, column: 0)
                )
            )
        }
        if let fallback = catalog.targets.first(where: \.isDefault)
            ?? (catalog.targets.count == 1 ? catalog.targets.first : nil)
        {
            return fallback
        }
        if !catalog.targets.isEmpty {
            report.diagnostics.append(
                Diagnostic(
                    .error,
                    code: DiagnosticCode.target,
                    message:
                        "\(file) belongs to no target: put it under workspaces/<target>/ (targets: \(catalog.targets.map(\.name).joined(separator: ", "))) or mark one target default: true",
                    location: SourceLocation(file: file, line: 0, column: 0)
                )
            )
        }
        return nil
    }

    static func join(_ a: String, _ b: String) -> String {
        if a == "." || a.isEmpty { return b }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        // Already standard (no `.` or `..` component, no doubled or trailing slash): as is, without building a URL.
        let components = full.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        if !full.hasSuffix("/"),
            !components.contains(where: { $0.isEmpty || $0.elementsEqual(".".utf8) || $0.elementsEqual("..".utf8) })
        {
            return full
        }
        return URL(fileURLWithPath: full).standardizedFileURL.path
    }
}

/// One workspace file read, parsed and decoded (what `check` does to each file on its own).
private struct LoadedFile: Sendable {
    var path: String
    /// `nil` when the file cannot be read.
    var source: SourceFile?
    var canonical: String = ""
    /// The YAML error that stopped parsing, if any.
    var parseError: Diagnostic?
    /// Each document's decoded object (if any) with its diagnostics.
    var objects: [(InputObject?, [Diagnostic])] = []

    static func load(_ path: String, tree: any SourceTree) -> LoadedFile {
        var file = LoadedFile(path: path)
        guard let bytes = tree.read(path) else { return file }
        file.source = SourceFile(path: path, bytes: bytes)
        file.canonical = tree.canonical(path)
        do {
            for (index, document) in try YAMLParser.parse(bytes).enumerated() {
                guard let root = document.root else { continue }
                file.objects.append(InputDecoder.decode(root, file: path, index: index))
            }
        } catch {
            file.parseError = Diagnostic(
                .error,
                code: DiagnosticCode.yaml,
                message: error.message,
                location: SourceLocation(file: path, mark: error.mark)
            )
        }
        return file
    }
}
