internal import Foundation
internal import YAML

/// Loads `presets/` at run time: every `*.yaml` file is read and dispatched by its `kind` (`ModelCatalog`,
/// `InstanceTypeCatalog`, `TargetList`), so users add models, instance types and targets by adding YAML.
public enum CatalogLoader {
    /// Loads a catalog folder.
    ///
    /// - Parameters:
    ///   - directory: The `presets/` folder.
    ///   - tree: Where files are read from.
    /// - Returns: The catalog, the problems found (each located in its file), and the source files read.
    public static func load(
        directory: String,
        tree: any SourceTree = FileSystemTree()
    ) -> (Catalog, [Diagnostic], [String: SourceFile]) {
        var diagnostics: [Diagnostic] = []
        var sources: [String: SourceFile] = [:]
        var modelCatalogs: [KaitoVersion: ModelCatalog] = [:]
        var instanceTypes: [InstanceType] = []
        var targets: [Target] = []
        var prices: [InstancePrice] = []
        let files = tree.yamlFiles(under: directory)
        if files.isEmpty {
            diagnostics.append(
                Diagnostic(
                    .error,
                    code: DiagnosticCode.catalog,
                    message: "no catalog found: \(directory) has no YAML files",
                    location: SourceLocation(file: directory, line: 0, column: 0)
                )
            )
        }
        // Each file read, parsed and decoded on its own (across cores), then merged in path order.
        let decodedFiles = ParallelMap.map(files.count, threads: ParallelMap.defaultThreads) { i in
            decodeFile(files[i], tree: tree)
        }
        for file in decodedFiles {
            if let source = file.source { sources[file.path] = source }
            diagnostics += file.diagnostics
            for document in file.documents {
                switch document {
                case .models(let catalog):
                    if var existing = modelCatalogs[catalog.kaitoVersion] {
                        let context = DecodeContext(file: file.path)
                        // Files merge in path order: a file that adds models without `baseImage` must not blank
                        // the release's base image, whichever is read first.
                        if existing.baseImageTag.isEmpty {
                            existing.baseImageName = catalog.baseImageName
                            existing.baseImageTag = catalog.baseImageTag
                        }
                        existing.deprecated += catalog.deprecated.filter { !existing.deprecated.contains($0) }
                        for model in catalog.models { addModel(model, to: &existing, context: context) }
                        modelCatalogs[catalog.kaitoVersion] = existing
                        diagnostics += catalogDiagnostics(context)
                    } else {
                        modelCatalogs[catalog.kaitoVersion] = catalog
                    }
                case .instanceTypes(let types): instanceTypes += types
                case .targets(let list): targets += list
                case .prices(let list): prices += list
                }
            }
        }
        var seenInstanceTypes: [String: InstanceType] = [:]
        for instanceType in instanceTypes {
            let key = "\(instanceType.cloud)/\(instanceType.name.lowercased())"
            if let first = seenInstanceTypes[key] {
                diagnostics.append(
                    Diagnostic(
                        .error,
                        code: DiagnosticCode.catalog,
                        message: "instance type \(instanceType.name) is defined twice for cloud \(instanceType.cloud)",
                        location: instanceType.location,
                        notes: ["first defined at \(first.location.file):\(first.location.line)"]
                    )
                )
            }
            seenInstanceTypes[key] = instanceType
        }
        var seenPrices: [String: InstancePrice] = [:]
        for price in prices {
            let key = "\(price.cloud)/\(price.instanceType.lowercased())"
            if let first = seenPrices[key] {
                diagnostics.append(
                    Diagnostic(
                        .error,
                        code: DiagnosticCode.catalog,
                        message: "instance type \(price.instanceType) has two prices for cloud \(price.cloud)",
                        location: price.location,
                        notes: ["first priced at \(first.location.file):\(first.location.line)"]
                    )
                )
            }
            seenPrices[key] = price
        }
        let catalog = Catalog(
            modelCatalogs: Array(modelCatalogs.values),
            instanceTypes: instanceTypes,
            targets: targets,
            prices: prices
        )
        for target in targets where catalog.modelCatalog(for: target.kaitoVersion) == nil {
            diagnostics.append(
                Diagnostic(
                    .error,
                    code: DiagnosticCode.catalog,
                    message:
                        "target \(target.name) uses Kaito \(target.kaitoVersion) but presets/models has no catalog for that release or an older one",
                    location: target.location
                )
            )
        }
        diagnostics += validateTargetSet(targets)
        return (catalog, diagnostics, sources)
    }

    /// One document of a catalog file, decoded.
    private enum DecodedDocument: Sendable {
        case models(ModelCatalog)
        case instanceTypes([InstanceType])
        case targets([Target])
        case prices([InstancePrice])
    }

    /// One catalog file read, parsed and decoded.
    private struct DecodedFile: Sendable {
        var path: String
        var source: SourceFile?
        var documents: [DecodedDocument] = []
        var diagnostics: [Diagnostic] = []
    }

    private static func decodeFile(_ path: String, tree: any SourceTree) -> DecodedFile {
        var file = DecodedFile(path: path)
        guard let bytes = tree.read(path) else {
            file.diagnostics.append(
                Diagnostic(
                    .error,
                    code: DiagnosticCode.io,
                    message: "cannot read \(path)",
                    location: SourceLocation(file: path, line: 0, column: 0)
                )
            )
            return file
        }
        file.source = SourceFile(path: path, bytes: bytes)
        let documents: [Document]
        do {
            documents = try YAMLParser.parse(bytes)
        } catch {
            file.diagnostics.append(
                Diagnostic(
                    .error,
                    code: DiagnosticCode.yaml,
                    message: error.message,
                    location: SourceLocation(file: path, mark: error.mark)
                )
            )
            return file
        }
        for document in documents {
            guard let root = document.root else { continue }
            let context = DecodeContext(file: path)
            switch root["kind"]?.scalar {
            case "ModelCatalog":
                if let catalog = decodeModelCatalog(root, context: context) {
                    file.documents.append(.models(catalog))
                }
            case "InstanceTypeCatalog":
                file.documents.append(.instanceTypes(decodeInstanceTypes(root, context: context)))
            case "TargetList":
                file.documents.append(.targets(decodeTargets(root, context: context)))
            case "PriceList":
                file.documents.append(.prices(decodePrices(root, context: context)))
            default:
                context.error(
                    DiagnosticCode.catalog,
                    "unknown catalog document; kind must be ModelCatalog, InstanceTypeCatalog, TargetList or PriceList",
                    at: root.mark
                )
            }
            file.diagnostics += catalogDiagnostics(context)
        }
        return file
    }

    /// A context's diagnostics, with schema and field findings reported as catalog errors.
    private static func catalogDiagnostics(_ context: DecodeContext) -> [Diagnostic] {
        context.diagnostics.map { diagnostic in
            var d = diagnostic
            if d.code == DiagnosticCode.schema || d.code == DiagnosticCode.unknownField {
                d.code = DiagnosticCode.catalog
            }
            return d
        }
    }

    private static func addModel(_ model: ModelPreset, to catalog: inout ModelCatalog, context: DecodeContext) {
        if let clash = catalog.add(model) {
            context.error(
                DiagnosticCode.catalog,
                "preset \(model.name) clashes with \(clash.name) (names and aliases are case-insensitive)",
                at: Mark(line: model.location.line, column: model.location.column),
                notes: ["\(clash.name) is defined at \(clash.location.file):\(clash.location.line)"]
            )
        }
    }

    private static func validateTargetSet(_ targets: [Target]) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var names: [String: Target] = [:]
        for target in targets {
            if let first = names[target.name] {
                diagnostics.append(
                    Diagnostic(
                        .error,
                        code: DiagnosticCode.target,
                        message: "target \(target.name) is defined twice",
                        location: target.location,
                        notes: ["first defined at \(first.location.file):\(first.location.line)"]
                    )
                )
            }
            names[target.name] = target
        }
        let defaults = targets.filter(\.isDefault)
        if defaults.count > 1 {
            diagnostics.append(
                Diagnostic(
                    .error,
                    code: DiagnosticCode.target,
                    message: "more than one default target: \(defaults.map(\.name).joined(separator: ", "))",
                    location: defaults[1].location
                )
            )
        }
        return diagnostics
    }

    // MARK: - Decoding

    private static func quantity(_ r: inout MappingReader, _ key: String) -> Quantity? {
        guard let node = r.value(key) else { return nil }
        guard let text = node.scalar, let q = Quantity(text) else {
            r.context.error(DiagnosticCode.catalog, "\(r.childPath(key)): not a Kubernetes quantity", at: node.mark)
            return nil
        }
        return q
    }

    private static func double(_ r: inout MappingReader, _ key: String) -> Double? {
        guard let node = r.value(key) else { return nil }
        guard let text = node.scalar, node.resolvedType == .int || node.resolvedType == .float, let v = Double(text)
        else {
            r.context.typeMismatch(r.childPath(key), expected: "a number", found: node)
            return nil
        }
        return v
    }

    private static func version(_ r: inout MappingReader, _ key: String) -> KaitoVersion? {
        guard let node = r.value(key) else { return nil }
        guard let text = node.scalar, let v = KaitoVersion(text) else {
            r.context.error(DiagnosticCode.catalog, "\(r.childPath(key)): not a version like v0.12.0", at: node.mark)
            return nil
        }
        return v
    }

    static func decodeModelCatalog(_ root: Node, context: DecodeContext) -> ModelCatalog? {
        guard var r = MappingReader(root, path: "", context: context) else { return nil }
        _ = r.value("kind")
        let kaitoVersion = version(&r, "kaitoVersion")
        var baseName = "kaito-base"
        var baseTag = ""
        if let base = r.value("baseImage"), var b = MappingReader(base, path: "baseImage", context: context) {
            baseName = b.string("name") ?? baseName
            baseTag = b.string("tag") ?? ""
            b.finish()
        }
        let deprecated = r.stringList("deprecated") ?? []
        var catalog: ModelCatalog?
        if let kaitoVersion {
            catalog = ModelCatalog(
                kaitoVersion: kaitoVersion,
                baseImageName: baseName,
                baseImageTag: baseTag,
                deprecated: deprecated
            )
        } else if r.keyMark("kaitoVersion") == nil {
            context.error(DiagnosticCode.catalog, "ModelCatalog needs kaitoVersion", at: root.mark)
        }
        if let models = r.value("models") {
            for (i, item) in (models.sequence ?? []).enumerated() {
                if let preset = decodePreset(item, path: "models[\(i)]", context: context), var current = catalog {
                    addModel(preset, to: &current, context: context)
                    catalog = current
                }
            }
        }
        r.finish()
        return catalog
    }

    private static func decodePreset(_ node: Node, path: String, context: DecodeContext) -> ModelPreset? {
        guard var r = MappingReader(node, path: path, context: context) else { return nil }
        guard let name = r.string("name") else {
            context.error(DiagnosticCode.catalog, "\(path): a preset needs a name", at: node.mark)
            r.finish()
            return nil
        }
        var p = ModelPreset(
            name: name,
            servedModelName: name.split(separator: "/").last.map { $0.lowercased() } ?? name,
            location: SourceLocation(file: context.file, mark: node.mark)
        )
        p.aliases = r.stringList("aliases") ?? []
        if let served = r.string("servedModelName") { p.servedModelName = served }
        p.family = r.string("family")
        p.modelFileSize = quantity(&r, "modelFileSize")
        p.diskStorageRequirement = quantity(&r, "diskStorageRequirement")
        p.modelTokenLimit = r.int("modelTokenLimit")
        p.bytesPerToken = r.int("bytesPerToken")
        p.attention = r.string("attention")
        p.architectures = r.stringList("architectures") ?? []
        p.quantization = r.string("quantization")
        p.readinessTimeoutMinutes = double(&r, "readinessTimeoutMinutes")
        p.supportDistributedInference = r.bool("supportDistributedInference") ?? false
        p.downloadAtRuntime = r.bool("downloadAtRuntime") ?? false
        p.downloadAuthRequired = r.bool("downloadAuthRequired") ?? false
        p.tag = r.string("tag")
        p.accessMode = r.string("accessMode")
        p.gpuCountRequirement = r.int("gpuCountRequirement")
        p.totalGPUMemoryRequirement = quantity(&r, "totalGPUMemoryRequirement")
        p.perGPUMemoryRequirement = quantity(&r, "perGPUMemoryRequirement")
        p.worldSize = r.int("worldSize")
        if let vllm = r.value("vllm"), var v = MappingReader(vllm, path: "\(path).vllm", context: context) {
            var params = VLLMParameters()
            params.dtype = v.string("dtype")
            params.loadFormat = v.string("loadFormat") ?? "auto"
            params.configFormat = v.string("configFormat") ?? "auto"
            params.tokenizerMode = v.string("tokenizerMode") ?? "auto"
            params.toolCallParser = v.string("toolCallParser")
            params.reasoningParser = v.string("reasoningParser")
            params.chatTemplate = v.string("chatTemplate")
            params.extraFlags = v.stringList("extraFlags") ?? []
            params.disableKVCacheOffload = v.bool("disableKVCacheOffload") ?? false
            params.deepGEMM = v.bool("deepGEMM") ?? false
            params.cudaToolkit = v.bool("cudaToolkit") ?? false
            params.disallowLoRA = v.bool("disallowLoRA") ?? false
            params.disableTensorParallelism = v.bool("disableTensorParallelism") ?? false
            v.finish()
            p.vllm = params
        }
        if let tf = r.value("transformers"), var t = MappingReader(tf, path: "\(path).transformers", context: context) {
            p.transformers = TransformersParameters(runParams: t.stringList("runParams") ?? [])
            t.finish()
        }
        if let serve = r.value("kaitoServe"), var k = MappingReader(serve, path: "\(path).kaitoServe", context: context)
        {
            let billions = double(&k, "billionParameters")
            let layers = k.int("layers")
            let kvHeads = k.int("keyValueHeads")
            let headDimension = k.int("headDimension")
            let maxModelLength = k.int("maxModelLength")
            let weightsPath = k.string("weightsPath")
            k.finish()
            if let billions, let layers, let kvHeads, let headDimension, let maxModelLength {
                var params = KaitoServeParameters(
                    billionParameters: billions,
                    layers: layers,
                    keyValueHeads: kvHeads,
                    headDimension: headDimension,
                    maxModelLength: maxModelLength
                )
                if let weightsPath { params.weightsPath = weightsPath }
                p.kaitoServe = params
            } else {
                context.error(
                    DiagnosticCode.catalog,
                    "\(path).kaitoServe: needs billionParameters, layers, keyValueHeads, headDimension and maxModelLength",
                    at: serve.mark
                )
            }
        }
        if let tuning = r.value("tuning"), var t = MappingReader(tuning, path: "\(path).tuning", context: context) {
            p.tuning = TuningParameters(
                diskStorageRequirement: quantity(&t, "diskStorageRequirement"),
                totalSafeTensorFileSize: quantity(&t, "totalSafeTensorFileSize"),
                readinessTimeoutMinutes: double(&t, "readinessTimeoutMinutes"),
                gpuCountRequirement: t.int("gpuCountRequirement"),
                totalGPUMemoryRequirement: quantity(&t, "totalGPUMemoryRequirement"),
                perGPUMemoryRequirement: quantity(&t, "perGPUMemoryRequirement")
            )
            t.finish()
        }
        r.finish()
        return p
    }

    static func decodeInstanceTypes(_ root: Node, context: DecodeContext) -> [InstanceType] {
        guard var r = MappingReader(root, path: "", context: context) else { return [] }
        _ = r.value("kind")
        var result: [InstanceType] = []
        for (i, item) in (r.value("instanceTypes")?.sequence ?? []).enumerated() {
            let path = "instanceTypes[\(i)]"
            guard var s = MappingReader(item, path: path, context: context) else { continue }
            let name = s.string("name")
            let cloud = s.string("cloud")
            let gpuCount = s.int("gpuCount")
            var gpuMemory = quantity(&s, "gpuMemory")
            var gpuModel = s.string("gpuModel")
            let vcpus = s.int("vcpus")
            let memory = quantity(&s, "memory")
            let computeCapability = s.string("computeCapability")
            let nvme = s.bool("nvme") ?? false
            let mig = s.bool("mig") ?? false
            let addedIn = version(&s, "addedIn")
            let removedIn = version(&s, "removedIn")
            s.finish()
            if gpuCount == 0 {
                // A CPU-only instance type (kaito-serve): no GPU facts, but cores and memory.
                guard vcpus != nil, memory != nil else {
                    context.error(
                        DiagnosticCode.catalog,
                        "\(path): a CPU-only instance type (gpuCount: 0) needs vcpus and memory",
                        at: item.mark
                    )
                    continue
                }
                gpuMemory = gpuMemory ?? Quantity(gibibytes: 0)
                gpuModel = gpuModel ?? "none"
            }
            guard let name, let cloud, let gpuCount, let gpuMemory, let gpuModel else {
                context.error(
                    DiagnosticCode.catalog,
                    "\(path): an instance type needs name, cloud, gpuCount, gpuMemory and gpuModel",
                    at: item.mark
                )
                continue
            }
            if !["azure", "aws", "arc"].contains(cloud) {
                context.error(DiagnosticCode.catalog, "\(path).cloud: must be azure, aws or arc", at: item.mark)
            }
            result.append(
                InstanceType(
                    name: name,
                    cloud: cloud,
                    gpuCount: gpuCount,
                    gpuMemory: gpuMemory,
                    gpuModel: gpuModel,
                    computeCapability: computeCapability,
                    nvme: nvme,
                    mig: mig,
                    addedIn: addedIn,
                    removedIn: removedIn,
                    vcpus: vcpus,
                    memory: memory,
                    location: SourceLocation(file: context.file, mark: item.mark)
                )
            )
        }
        r.finish()
        return result
    }

    /// A `PriceList`: hourly prices with the source, date, currency and region they were read for (presets/README.md).
    static func decodePrices(_ root: Node, context: DecodeContext) -> [InstancePrice] {
        guard var r = MappingReader(root, path: "", context: context) else { return [] }
        _ = r.value("kind")
        let source = r.string("source")
        let date = r.string("date")
        let currency = r.string("currency")
        let region = r.string("region")
        let cloud = r.string("cloud")
        let items = r.value("prices")?.sequence ?? []
        r.finish()
        guard let source, !source.isEmpty, let date, let currency, let region, let cloud else {
            context.error(
                DiagnosticCode.catalog,
                "a PriceList needs source, date, currency, region and cloud: a price is shown with where and when it was read",
                at: root.mark
            )
            return []
        }
        if date.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}/) == nil {
            context.error(DiagnosticCode.catalog, "date: must be YYYY-MM-DD, got \(date)", at: root.mark)
        }
        var result: [InstancePrice] = []
        for (i, item) in items.enumerated() {
            let path = "prices[\(i)]"
            guard var p = MappingReader(item, path: path, context: context) else { continue }
            let name = p.string("instanceType")
            let perHour = double(&p, "perHour")
            p.finish()
            guard let name, let perHour, perHour.isFinite, perHour >= 0 else {
                context.error(
                    DiagnosticCode.catalog,
                    "\(path): a price needs instanceType and a non-negative perHour",
                    at: item.mark
                )
                continue
            }
            result.append(
                InstancePrice(
                    instanceType: name,
                    cloud: cloud,
                    perHour: perHour,
                    currency: currency,
                    region: region,
                    source: source,
                    date: date,
                    location: SourceLocation(file: context.file, mark: item.mark)
                )
            )
        }
        return result
    }

    static func decodeTargets(_ root: Node, context: DecodeContext) -> [Target] {
        guard var r = MappingReader(root, path: "", context: context) else { return [] }
        _ = r.value("kind")
        var result: [Target] = []
        for (i, item) in (r.value("targets")?.sequence ?? []).enumerated() {
            let path = "targets[\(i)]"
            guard var t = MappingReader(item, path: path, context: context) else { continue }
            let location = SourceLocation(file: context.file, mark: item.mark)
            let name = t.string("name")
            let isDefault = t.bool("default") ?? false
            let description = t.string("description")
            let kaitoVersion = version(&t, "kaitoVersion") ?? .head
            let cloud = t.string("cloudProvider") ?? "azure"
            var provisioner = NodeProvisioner.gpuProvisioner
            if let node = t.value("nodeProvisioner") {
                if let text = node.scalar, let p = NodeProvisioner(rawValue: text) {
                    provisioner = p
                } else {
                    context.error(
                        DiagnosticCode.target,
                        "\(path).nodeProvisioner: must be one of gpu-provisioner, karpenter, byo",
                        at: node.mark
                    )
                }
            }
            let registry = t.string("presetRegistry") ?? "mcr.microsoft.com/aks/kaito"
            let baseImageTag = t.string("baseImageTag")
            let nvme = t.bool("localNVMeStorageClass") ?? true
            var gates = Target.defaultFeatureGates.merging(ReleaseShape(kaitoVersion).featureGateDefaults) { $1 }
            if let gatesNode = t.value("featureGates") {
                for pair in gatesNode.mapping ?? [] {
                    guard let key = pair.key.scalar else { continue }
                    if Target.defaultFeatureGates[key] == nil {
                        let hint = Suggestion.closest(to: key, in: Array(Target.defaultFeatureGates.keys).sorted())
                        context.error(
                            DiagnosticCode.target,
                            "unknown feature gate \"\(key)\"" + (hint.map { "; did you mean \"\($0)\"?" } ?? ""),
                            at: pair.key.mark
                        )
                    } else if pair.value.resolvedType == .bool, let s = pair.value.scalar {
                        gates[key] = ["true", "True", "TRUE"].contains(s)
                    } else {
                        context.typeMismatch("\(path).featureGates.\(key)", expected: "a boolean", found: pair.value)
                    }
                }
            }
            let releaseNamespace = t.string("releaseNamespace") ?? "kaito-workspace"
            var kaitoServeRegistry: String?
            var kaitoServeTag = Target.defaultKaitoServeTag
            if let serve = t.value("kaitoServe"),
                var k = MappingReader(serve, path: "\(path).kaitoServe", context: context)
            {
                kaitoServeRegistry = k.string("registry")
                kaitoServeTag = k.string("tag") ?? kaitoServeTag
                k.finish()
            }
            let nodeClasses =
                t.stringList("karpenterNodeClasses") ?? ["image-family-ubuntu", "image-family-azure-linux"]
            let imageFamily = t.string("defaultNodeImageFamily") ?? "ubuntu"
            let kedaNamespace = t.string("kedaNamespace") ?? "kaito-workspace"
            let scalerVersions = [KedaKaitoScaler.version, KedaKaitoScaler.V06.version]
            var kedaKaitoScaler = KedaKaitoScaler.version
            if let node = t.value("kedaKaitoScaler") {
                if let text = node.scalar, scalerVersions.contains(text) {
                    kedaKaitoScaler = text
                } else {
                    context.error(
                        DiagnosticCode.target,
                        "\(path).kedaKaitoScaler: must be one of \(scalerVersions.joined(separator: ", "))",
                        at: node.mark
                    )
                }
            }
            var outputMode = OutputMode.expanded
            if let node = t.value("outputMode") {
                if let text = node.scalar, let m = OutputMode(rawValue: text) {
                    outputMode = m
                } else {
                    context.error(
                        DiagnosticCode.target,
                        "\(path).outputMode: must be expanded or controller",
                        at: node.mark
                    )
                }
            }
            var nodePools: [NodePoolFacts] = []
            for (j, poolNode) in (t.value("nodePools")?.sequence ?? []).enumerated() {
                let poolPath = "\(path).nodePools[\(j)]"
                guard var p = MappingReader(poolNode, path: poolPath, context: context) else { continue }
                let poolName = p.string("name") ?? "nodePools[\(j)]"
                var labels: [String: String] = [:]
                for entry in p.stringMap("labels") ?? [] { labels[entry.key] = entry.value }
                let nodes = p.int("nodes") ?? 1
                var product: String?
                var count: Int?
                var memory: Int?
                var capability: String?
                var mig = false
                if let gpuNode = p.value("gpu"),
                    var g = MappingReader(gpuNode, path: "\(poolPath).gpu", context: context)
                {
                    product = g.string("product")
                    count = g.int("count")
                    memory = g.int("memoryMiB")
                    capability = g.string("computeCapability")
                    mig = g.bool("mig") ?? false
                    g.finish()
                }
                p.finish()
                guard let product, let count, let memory, count > 0, memory > 0, nodes > 0 else {
                    context.error(
                        DiagnosticCode.target,
                        "\(poolPath): a node pool needs nodes > 0 and gpu.product, gpu.count > 0 and gpu.memoryMiB > 0 (the nvidia.com/gpu.* node labels)",
                        at: poolNode.mark
                    )
                    continue
                }
                nodePools.append(
                    NodePoolFacts(
                        name: poolName,
                        labels: labels,
                        nodes: nodes,
                        gpuProduct: product,
                        gpuCount: count,
                        gpuMemoryMiB: memory,
                        computeCapability: capability,
                        mig: mig,
                        location: SourceLocation(file: context.file, mark: poolNode.mark)
                    )
                )
            }
            var quotas: [Quota] = []
            for (j, q) in (t.value("quotas")?.sequence ?? []).enumerated() {
                guard var qr = MappingReader(q, path: "\(path).quotas[\(j)]", context: context) else { continue }
                let quota = Quota(
                    instanceType: qr.string("instanceType"),
                    gpuModel: qr.string("gpuModel"),
                    maxNodes: qr.int("maxNodes"),
                    maxGPUs: qr.int("maxGPUs"),
                    location: SourceLocation(file: context.file, mark: q.mark)
                )
                qr.finish()
                if (quota.instanceType == nil) == (quota.gpuModel == nil)
                    || (quota.maxNodes == nil && quota.maxGPUs == nil)
                {
                    context.error(
                        DiagnosticCode.target,
                        "a quota names exactly one of instanceType or gpuModel, and sets maxNodes or maxGPUs",
                        at: q.mark
                    )
                } else {
                    quotas.append(quota)
                }
            }
            t.finish()
            guard let name else {
                context.error(DiagnosticCode.target, "\(path): a target needs a name", at: item.mark)
                continue
            }
            if !["azure", "aws", "arc"].contains(cloud) {
                context.error(DiagnosticCode.target, "\(path).cloudProvider: must be azure, aws or arc", at: item.mark)
            }
            result.append(
                Target(
                    name: name,
                    isDefault: isDefault,
                    description: description,
                    kaitoVersion: kaitoVersion,
                    cloudProvider: cloud,
                    nodeProvisioner: provisioner,
                    presetRegistry: registry,
                    baseImageTag: baseImageTag,
                    localNVMeStorageClass: nvme,
                    featureGates: gates,
                    releaseNamespace: releaseNamespace,
                    karpenterNodeClasses: nodeClasses,
                    defaultNodeImageFamily: imageFamily,
                    outputMode: outputMode,
                    quotas: quotas,
                    kaitoServeRegistry: kaitoServeRegistry,
                    kaitoServeTag: kaitoServeTag,
                    nodePools: nodePools,
                    kedaKaitoScaler: kedaKaitoScaler,
                    kedaNamespace: kedaNamespace,
                    location: location
                )
            )
        }
        r.finish()
        return result
    }
}
