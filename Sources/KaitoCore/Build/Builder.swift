internal import Foundation
internal import OrderedCollections
internal import YAML

/// What `kaitoc build` reads and writes.
public struct BuildOptions: Sendable {
    /// The repository root.
    public var repositoryRoot: String
    /// The catalog folder; default `<root>/presets`.
    public var presetsDirectory: String?
    /// The output folder; default `<root>/out`.
    public var outputDirectory: String?
    /// Build only this target.
    public var target: String?
    /// Override every target's output mode.
    public var mode: OutputMode?
    /// Where the repository is read from.
    public var tree: any SourceTree
    /// Worker threads rendering and emitting workspaces (`nil`: every core); the output does not depend on it.
    public var threads: Int?
    /// Whether `build` reuses the renderings of unchanged workspaces (the output does not depend on it).
    public var cache: BuildCacheMode = .disabled
    /// Stands in for the kaitoc build's identity in the cache (tests simulate another kaitoc version with it).
    var cacheIdentity: String?

    /// Creates options.
    public init(
        repositoryRoot: String = ".",
        presetsDirectory: String? = nil,
        outputDirectory: String? = nil,
        target: String? = nil,
        mode: OutputMode? = nil,
        tree: any SourceTree = FileSystemTree()
    ) {
        self.tree = tree
        self.repositoryRoot = repositoryRoot
        self.presetsDirectory = presetsDirectory
        self.outputDirectory = outputDirectory
        self.target = target
        self.mode = mode
    }
}

/// What one target rendered to.
public struct TargetOutput: Sendable {
    /// The target.
    public var target: Target
    /// The mode used.
    public var mode: OutputMode
    /// The objects, in install order, from ``Builder/render(_:)``; empty from `build` with the build cache and from
    /// `commit`, which keep only the emitted files (``files``) so that memory holds each object once.
    public var objects: [RenderedObject]
    /// The files, `kustomization.yaml` included, keyed by path relative to `out/`; with the build cache, only the
    /// rendered ones (see ``reusedFiles``).
    public var files: [OutputFile]
    /// Files of cached workspaces, verified unchanged on disk and not rendered (empty without the build cache).
    public var reusedFiles: [String] = []
    /// All objects of the target, rendered or reused.
    public var objectCount: Int
    /// Workspaces rendered.
    public var workspaces: Int
    /// Nodes and GPUs per instance type.
    public var capacity: [(instanceType: String, nodes: Int, gpus: Int)]
}

/// The outcome of `kaitoc build`.
public struct BuildReport: Sendable {
    /// The check that ran first; when it has errors nothing was written.
    public var check: CheckReport
    /// What each target rendered to (empty when the check failed).
    public var targets: [TargetOutput] = []
    /// What the writer did (`nil` when nothing was written).
    public var write: WriteResult?
    /// What the build cache saved (`nil` without one).
    public var cacheUse: CacheUse?
}

/// How much the build cache saved.
public struct CacheUse: Sendable, Hashable {
    /// Workspaces whose cached rendering was used.
    public var reused = 0
    /// Workspaces rendered (not in the cache, or an output file of theirs was changed or deleted by hand).
    public var rendered = 0
    /// Of the rendered ones, workspaces that were cached but had an output file changed, deleted or unverifiable.
    public var reRendered = 0
}

/// Renders the repository and writes the output tree (`kaitoc build`), or renders without writing (`generate`).
public enum Builder {
    /// Renders every target (or one) of a checked repository into files, without touching the disk.
    ///
    /// - Returns: The report; `targets` is empty when the check found errors or unreadable inputs.
    /// - Throws: ``OutputError`` when the selected target does not exist.
    public static func render(_ options: BuildOptions) throws(OutputError) -> BuildReport {
        var report = BuildReport(check: checked(options))
        let check = report.check
        guard let catalog = try renderable(check, options) else { return report }
        for target in catalog.targets where options.target == nil || options.target == target.name {
            let mode = options.mode ?? target.outputMode
            // In controller mode Kaito's InferenceSet controller creates the InferenceSets' Workspaces.
            let plans = check.plans.filter {
                $0.target.name == target.name && (mode == .expanded || $0.inferenceSet == nil)
            }
            let setPlans = check.inferenceSetPlans.filter { $0.target.name == target.name }
                .sorted(by: { $0.inferenceSet.qualifiedName < $1.inferenceSet.qualifiedName })
            let index = ConfigMapIndex(check.configMapsByTarget[target.name] ?? [], isComplete: true)
            let renderer = Renderer(catalog: catalog, configMaps: index)
            let threads = options.threads ?? ParallelMap.defaultThreads
            let sortedPlans = Builder.sortedPlans(plans, target: target)
            // Rendered across cores, merged in workspace order: the first object of an identity wins, as before.
            let rendered = ParallelMap.map(sortedPlans.count, threads: threads) { i in
                renderer.render(sortedPlans[i], mode: mode)
            }
            var objects: [RenderedObject] = []
            var seen: Set<String> = []
            for renderedObjects in rendered + setPlans.map({ renderer.render($0, mode: mode) }) {
                for object in renderedObjects {
                    let identity = "\(object.kind)/\(object.namespace ?? "")/\(object.name)"
                    if seen.insert(identity).inserted { objects.append(object) }
                }
            }
            // Sorted through indices: comparing moves no object.
            let unsorted = objects
            objects = objects.indices.sorted { RenderedObject.installOrder(unsorted[$0], unsorted[$1]) }
                .map { unsorted[$0] }
            var capacity: OrderedDictionary<String, (Int, Int)> = [:]
            for plan in sortedPlans {
                guard let sku = plan.instanceType, mode == .expanded else { continue }
                let current = capacity[sku.name] ?? (0, 0)
                capacity[sku.name] = (current.0 + plan.nodeCount, current.1 + plan.nodeCount * sku.gpuCount)
            }
            report.targets.append(
                TargetOutput(
                    target: target,
                    mode: mode,
                    objects: objects,
                    files: OutputLayout.files(
                        for: objects,
                        target: target,
                        repositoryRoot: options.repositoryRoot,
                        threads: threads
                    ),
                    objectCount: objects.count,
                    workspaces: plans.count,
                    capacity: capacity.map { ($0.key, $0.value.0, $0.value.1) }
                )
            )
        }
        return report
    }

    /// The repository checked as a build checks it.
    static func checked(_ options: BuildOptions) -> CheckReport {
        var check = CheckOptions(
            repositoryRoot: options.repositoryRoot,
            presetsDirectory: options.presetsDirectory,
            tree: options.tree
        )
        check.threads = options.threads
        return Checker.check(check)
    }

    /// The catalog to render with, or `nil` when the check found errors or unreadable inputs.
    ///
    /// - Throws: ``OutputError`` when the selected target does not exist.
    static func renderable(_ check: CheckReport, _ options: BuildOptions) throws(OutputError) -> Catalog? {
        guard check.unreadable.isEmpty, !check.hasErrors, let catalog = check.catalog else { return nil }
        if let name = options.target, catalog.target(named: name) == nil {
            throw OutputError(
                message: "no target named \(name); targets: \(catalog.targets.map(\.name).joined(separator: ", "))"
            )
        }
        return catalog
    }

    /// The plans of one target, by `namespace/name` (sorted through indices: comparing copies no plan).
    static func sortedPlans(_ plans: [WorkspacePlan], target: Target) -> [WorkspacePlan] {
        let selected = plans.filter { $0.target.name == target.name }
        let names = selected.map(\.workspace.qualifiedName)
        return selected.indices.sorted { names[$0] < names[$1] }.map { selected[$0] }
    }

    /// Renders and writes `out/`; writes nothing when the check finds errors.
    ///
    /// - Throws: ``OutputError`` when a path is unsafe, a user file is in the way, or the file system fails.
    public static func build(_ options: BuildOptions) throws(OutputError) -> BuildReport {
        if let folder = BuildCache.folder(mode: options.cache, repositoryRoot: options.repositoryRoot) {
            return try cachedBuild(options, cacheFolder: folder)
        }
        var report = try render(options)
        guard report.check.unreadable.isEmpty, !report.check.hasErrors, report.check.catalog != nil else {
            return report
        }
        let out = options.outputDirectory ?? Checker.join(options.repositoryRoot, "out")
        var owned = report.targets.map(\.target.name)
        if options.target == nil {
            // Folders of targets that no longer exist are pruned too (only files kaitoc wrote).
            let existing = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            owned += existing.filter { !$0.hasPrefix(".") && RepositoryFiles.isDirectory(Checker.join(out, $0)) }
        }
        report.write = try OutputWriter.write(
            files: report.targets.flatMap(\.files),
            to: out,
            ownedFolders: Array(Set(owned))
        )
        return report
    }
}

/// The layout of `out/`: one object per file, a `kustomization.yaml` per target.
public enum OutputLayout {
    /// The header line of an object's file.
    static func header(source: String?) -> String {
        if let source { return "\(OutputWriter.headerPrefix) from \(source); do not edit.\n" }
        return "\(OutputWriter.headerPrefix); do not edit.\n"
    }

    /// The path of an object's file relative to `out/`.
    public static func path(of object: RenderedObject, target: Target) -> String {
        let file = "\(object.kind.lowercased())-\(object.name).yaml"
        guard let namespace = object.namespace else { return "\(target.name)/_cluster/\(file)" }
        let workspace = object.workspace.map { String($0.split(separator: "/").last ?? "") } ?? "_shared"
        return "\(target.name)/\(namespace)/\(workspace)/\(file)"
    }

    /// The files of one target: every object, then `kustomization.yaml` listing them in install order.
    ///
    /// - Parameters:
    ///   - objects: The objects, in install order.
    ///   - target: Their target.
    ///   - repositoryRoot: The repository root, stripped from the source paths in headers.
    ///   - threads: Worker threads emitting the objects; the files are the same for any count.
    /// - Returns: One file per object, then `kustomization.yaml`.
    public static func files(
        for objects: [RenderedObject],
        target: Target,
        repositoryRoot: String = ".",
        threads: Int = 1
    ) -> [OutputFile] {
        var files = ParallelMap.map(objects.count, threads: threads) { i in
            file(for: objects[i], target: target, repositoryRoot: repositoryRoot)
        }
        files.append(kustomization(listing: files.map(\.path), target: target))
        return files
    }

    /// The file of one object: kaitoc's header naming its source, then the object.
    static func file(for object: RenderedObject, target: Target, repositoryRoot: String) -> OutputFile {
        let prefix = repositoryRoot.hasSuffix("/") ? repositoryRoot : repositoryRoot + "/"
        // The header names the source relative to the repository, wherever kaitoc runs from.
        var source = object.sourceFile
        if let file = source, file.hasPrefix(prefix), repositoryRoot != "." && !repositoryRoot.isEmpty {
            source = String(file.dropFirst(prefix.count))
        }
        if let file = source, file.hasPrefix("./") { source = String(file.dropFirst(2)) }
        // One buffer: the header, then the object emitted as UTF-8 after it.
        var bytes = Array(header(source: source).utf8)
        bytes.reserveCapacity(4096)
        YAMLEmitter.emit(object.body, into: &bytes)
        return OutputFile(path: path(of: object, target: target), contents: String(decoding: bytes, as: UTF8.self))
    }

    /// A target's `kustomization.yaml` listing `paths` (relative to `out/`, in install order).
    static func kustomization(listing paths: [String], target: Target) -> OutputFile {
        let resources = paths.map { String($0.dropFirst(target.name.count + 1)) }
        let kustomization = M.map([
            ("apiVersion", M.str("kustomize.config.k8s.io/v1beta1")),
            ("kind", M.str("Kustomization")),
            ("resources", M.strings(resources)),
        ])
        return OutputFile(
            path: "\(target.name)/kustomization.yaml",
            contents: header(source: nil) + YAMLEmitter.emit(kustomization)
        )
    }

    /// One YAML stream of a target's objects in install order, each document headed by its file path (what
    /// `kaitoc generate` prints).
    public static func stream(_ output: TargetOutput) -> String {
        output.objects.map { object in "---\n" + YAMLEmitter.emit(object.body) }.joined()
    }
}
