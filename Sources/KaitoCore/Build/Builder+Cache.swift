internal import Foundation
internal import OrderedCollections
internal import YAML

/// One rendered object's file, with what the cache keeps of the object: the object's body is not kept once its file
/// is emitted, so a build holds each object's bytes once, not its node tree as well.
private struct RenderedFile: Sendable {
    var cached: CachedObject
    var file: OutputFile

    init(object: RenderedObject, file: OutputFile, hash: Digest) {
        cached = CachedObject(
            kind: object.kind,
            namespace: object.namespace,
            name: object.name,
            path: file.path,
            hash: hash
        )
        self.file = file
    }
}

extension Builder {
    /// `build` with the build cache (see docs/build-cache.md).
    ///
    /// A workspace whose cache key (its source file's bytes, the catalog, its target's ConfigMaps, the mode and the
    /// kaitoc build) is in the cache, and whose output files are as kaitoc last left them, is neither rendered nor
    /// compared.
    static func cachedBuild(_ options: BuildOptions, cacheFolder: String) throws(OutputError) -> BuildReport {
        var report = BuildReport(check: Builder.checked(options))
        let check = report.check
        guard let catalog = try Builder.renderable(check, options) else { return report }
        let out = options.outputDirectory ?? Checker.join(options.repositoryRoot, "out")
        let outRoot = out.hasSuffix("/") ? String(out.dropLast()) : out
        let identity = options.cacheIdentity ?? BuildCache.toolIdentity
        let cacheFile = BuildCache.file(in: cacheFolder, outputDirectory: out)
        let cache = BuildCache.load(from: cacheFile, identity: identity)
        let threads = options.threads ?? ParallelMap.defaultThreads

        // A cached workspace's files must be as kaitoc left them (same inode, size and times; racily clean files
        // read back); otherwise the workspace is rendered.
        let rendering = renderReusing(
            options,
            check: check,
            catalog: catalog,
            cached: cache.workspaces,
            identity: identity,
            fileDigest: { Digest.of($0) },
            verify: { objects in
                ParallelMap.map(objects.count, threads: threads) { j -> FileRecord? in
                    let object = objects[j]
                    guard let record = cache.files[object.path], record.hash == object.hash,
                        let stat = FileStat.of(path: outRoot + "/" + object.path), stat == record.stat
                    else { return nil }
                    if cache.isRacy(record) {
                        guard let bytes = RepositoryFiles.read(outRoot + "/" + object.path),
                            Digest.of(bytes) == record.hash
                        else { return nil }
                    }
                    return record
                }
            }
        )
        report.targets = rendering.targets
        let use = rendering.use
        let reused = rendering.reused
        var newCache = BuildCache()
        newCache.workspaces = rendering.workspaces

        var owned = report.targets.map(\.target.name)
        if options.target == nil {
            // Folders of targets that no longer exist are pruned too (only files kaitoc wrote).
            let existing = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            owned += existing.filter { !$0.hasPrefix(".") && RepositoryFiles.isDirectory(Checker.join(out, $0)) }
        }
        let outcome = try OutputWriter.write(
            files: report.targets.flatMap(\.files),
            reused: reused,
            to: out,
            ownedFolders: Array(Set(owned)),
            cache: cache
        )
        report.write = outcome.result
        report.cacheUse = use

        newCache.files = outcome.records
        if options.target != nil {
            // A build of one target keeps what the cache knows of the others.
            newCache.workspaces.merge(cache.workspaces) { new, _ in new }
            let built = Set(report.targets.map(\.target.name))
            for (path, record) in cache.files where !built.contains(String(path.prefix { $0 != "/" })) {
                newCache.files[path] = newCache.files[path] ?? record
            }
        }
        // Saved only when it changes: a build that reused everything and found no racily clean file has nothing new.
        let changed =
            use.rendered > 0 || newCache.workspaces.count != cache.workspaces.count
            || newCache.files.count != cache.files.count
            || newCache.files.contains { path, record in cache.files[path] != record || cache.isRacy(record) }
        if changed { newCache.save(to: cacheFile, identity: identity) }
        return report
    }
}

/// What rendering with cached workspaces produced.
struct CachedRendering<Witness: Sendable> {
    /// The targets: rendered files, and the paths of reused ones.
    var targets: [TargetOutput] = []
    /// The cache entries of every workspace of the rendered targets.
    var workspaces: [Digest: [CachedObject]] = [:]
    /// The reused files, each with what confirmed it.
    var reused: [String: Witness] = [:]
    /// How much was reused.
    var use = CacheUse()
}

extension Builder {
    /// Renders the targets of a checked repository, reusing the cached objects of workspaces whose key is in `cached`
    /// and whose files `verify` confirms; the files of every other workspace are rendered.
    ///
    /// - Parameters:
    ///   - options: What to render.
    ///   - check: The repository's check (no errors).
    ///   - catalog: Its catalog.
    ///   - cached: Earlier renderings by workspace key.
    ///   - identity: The kaitoc build's identity (part of every key).
    ///   - fileDigest: The digest recorded for a rendered file's contents (``CachedObject/hash``).
    ///   - verify: For cached objects, what confirms that each file is present as recorded (`nil`: it is not, and
    ///     its workspace is rendered).
    /// - Returns: The targets, the new entries, the reused files with their witnesses, and the counts.
    static func renderReusing<Witness: Sendable>(
        _ options: BuildOptions,
        check: CheckReport,
        catalog: Catalog,
        cached: [Digest: [CachedObject]],
        identity: String,
        fileDigest: @escaping @Sendable (String) -> Digest,
        verify: ([CachedObject]) -> [Witness?]
    ) -> CachedRendering<Witness> {
        let threads = options.threads ?? ParallelMap.defaultThreads
        var catalogHasher = KeyHasher()
        for path in check.catalogFiles {
            catalogHasher.add(path)
            catalogHasher.add(Digest.of(check.sources[path]?.bytes ?? []))
        }
        let catalogDigest = catalogHasher.finalize()
        let sourcePaths = Array(Set(check.plans.map(\.workspace.source.file))).sorted()
        let sourceDigests = ParallelMap.map(sourcePaths.count, threads: threads) { i in
            Digest.of(check.sources[sourcePaths[i]]?.bytes ?? [])
        }
        let sourceDigest = Dictionary(uniqueKeysWithValues: zip(sourcePaths, sourceDigests))

        var result = CachedRendering<Witness>()
        for target in catalog.targets where options.target == nil || options.target == target.name {
            let mode = options.mode ?? target.outputMode
            // In controller mode Kaito's InferenceSet controller creates the InferenceSets' Workspaces.
            let plans = Builder.sortedPlans(
                check.plans.filter { mode == .expanded || $0.inferenceSet == nil },
                target: target
            )
            // The InferenceSets' own objects (the set, its ScaledObject, gateway objects) are rendered every time,
            // after the workspaces' (as ``render(_:)`` merges them): few, and keyed by no single workspace file.
            let setPlans = check.inferenceSetPlans.filter { $0.target.name == target.name }
                .sorted(by: { $0.inferenceSet.qualifiedName < $1.inferenceSet.qualifiedName })
            let configMaps = check.configMapsByTarget[target.name] ?? []
            let renderer = Renderer(catalog: catalog, configMaps: ConfigMapIndex(configMaps, isComplete: true))

            // Everything a workspace's rendering depends on besides its own file.
            var base = KeyHasher()
            base.add(identity)
            base.add(catalogDigest)
            base.add(target.name)
            base.add(mode.rawValue)
            base.add(options.repositoryRoot)
            base.add(UInt64(configMaps.count))
            for configMap in configMaps {
                base.add(configMap.metadata.name)
                base.add(optional: configMap.metadata.namespace)
                for (dictionary, tag) in [
                    (configMap.metadata.labels, "labels"), (configMap.metadata.annotations, "annotations"),
                    (configMap.data, "data"),
                ] {
                    base.add(tag)
                    base.add(UInt64(dictionary.count))
                    for (key, value) in dictionary {
                        base.add(key)
                        base.add(value)
                    }
                }
            }
            let baseDigest = base.finalize()
            let keys = ParallelMap.map(plans.count, threads: threads) { i in
                let workspace = plans[i].workspace
                var hasher = KeyHasher()
                hasher.add(baseDigest)
                hasher.add(workspace.source.file)
                hasher.add(sourceDigest[workspace.source.file] ?? Digest.of([]))
                hasher.add(UInt64(workspace.source.documentIndex))
                hasher.add(workspace.qualifiedName)
                return hasher.finalize()
            }
            let renderOne = { @Sendable (i: Int) -> [RenderedFile] in
                renderer.render(plans[i], mode: mode).map { object in
                    let file = OutputLayout.file(for: object, target: target, repositoryRoot: options.repositoryRoot)
                    return RenderedFile(object: object, file: file, hash: fileDigest(file.contents))
                }
            }

            // Render what the cache does not have.
            let misses = (0..<plans.count).filter { cached[keys[$0]] == nil }
            var rendered: [Int: [RenderedFile]] = [:]
            for (i, files) in zip(misses, ParallelMap.map(misses.count, threads: threads) { renderOne(misses[$0]) }) {
                rendered[i] = files
            }
            for (k, setPlan) in setPlans.enumerated() {
                rendered[plans.count + k] = renderer.render(setPlan, mode: mode).map { object in
                    let file = OutputLayout.file(for: object, target: target, repositoryRoot: options.repositoryRoot)
                    return RenderedFile(object: object, file: file, hash: fileDigest(file.contents))
                }
            }
            let workspaceRendered = { rendered.keys.filter { $0 < plans.count }.count }

            // Merge in workspace order (the first object of an identity wins), then install order.
            var merged: [(object: CachedObject, workspace: Int)] = []
            var seen: Set<String> = []
            for i in 0..<(plans.count + setPlans.count) {
                let objects = rendered[i]?.map(\.cached) ?? (i < plans.count ? cached[keys[i]] : nil) ?? []
                for object in objects where seen.insert(object.identity).inserted {
                    merged.append((object, i))
                }
            }
            // Sorted through indices: comparing moves no object.
            let sortKeys = merged.map { entry in
                (
                    RenderedObject.installRank(entry.object.kind), entry.object.kind, entry.object.namespace ?? "",
                    entry.object.name
                )
            }
            let order = merged.indices.sorted { sortKeys[$0] < sortKeys[$1] }
            let winners = order.map { merged[$0] }

            // A cached workspace's files must be confirmed; otherwise the workspace is rendered.
            let cachedWinners = winners.indices.filter { rendered[winners[$0].workspace] == nil }
            let verified = verify(cachedWinners.map { winners[$0].object })
            var stale: Set<Int> = []
            var reused: [String: Witness] = [:]
            for (j, witness) in zip(cachedWinners, verified) {
                if let witness {
                    reused[winners[j].object.path] = witness
                } else {
                    stale.insert(winners[j].workspace)
                }
            }
            let staleList = stale.sorted()
            for (i, files) in zip(
                staleList,
                ParallelMap.map(staleList.count, threads: threads) { renderOne(staleList[$0]) }
            ) {
                rendered[i] = files
            }
            for j in cachedWinners where stale.contains(winners[j].workspace) {
                reused[winners[j].object.path] = nil
            }
            result.reused.merge(reused) { _, new in new }
            result.use.rendered += workspaceRendered()
            result.use.reRendered += stale.count
            result.use.reused += plans.count - workspaceRendered()

            for i in plans.indices {
                result.workspaces[keys[i]] = rendered[i]?.map(\.cached) ?? cached[keys[i]]
            }
            var files: [OutputFile] = []
            var reusedFiles: [String] = []
            for (object, i) in winners {
                if let renderedFiles = rendered[i],
                    let match = renderedFiles.first(where: { $0.file.path == object.path })
                {
                    files.append(match.file)
                } else {
                    reusedFiles.append(object.path)
                }
            }
            files.append(OutputLayout.kustomization(listing: winners.map(\.object.path), target: target))
            var capacity: OrderedDictionary<String, (Int, Int)> = [:]
            for plan in plans {
                guard let sku = plan.instanceType, mode == .expanded else { continue }
                let current = capacity[sku.name] ?? (0, 0)
                capacity[sku.name] = (current.0 + plan.nodeCount, current.1 + plan.nodeCount * sku.gpuCount)
            }
            var output = TargetOutput(
                target: target,
                mode: mode,
                objects: [],
                files: files,
                objectCount: winners.count,
                workspaces: plans.count,
                capacity: capacity.map { ($0.key, $0.value.0, $0.value.1) }
            )
            output.reusedFiles = reusedFiles
            result.targets.append(output)
        }
        return result
    }
}
