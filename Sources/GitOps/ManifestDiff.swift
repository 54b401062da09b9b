internal import GitStore
public import KaitoCore
internal import YAML

/// One object file that `build` would add, change or prune.
public struct ObjectChange: Sendable {
    /// What happens to the file.
    public enum Kind: String, Sendable {
        case added
        case changed
        case pruned
    }

    /// The kind of change.
    public var kind: Kind
    /// The path under `out/`.
    public var path: String
    /// A unified diff of the file (empty for unchanged contents).
    public var diff: String
    /// Changes a sync will not apply cleanly, with what will happen and what to do.
    public var warnings: [String]
}

/// `kaitoc diff`: what `build` would change against the `out/` committed in a revision, and which of those changes
/// a sync will not apply as a simple patch.
public enum ManifestDiff {
    /// Compares the rendering of the working tree with `out/` in `revision`.
    ///
    /// - Returns: The changes (empty when `out/` is up to date), or the check report when it has errors.
    /// - Throws: ``GitOpsError`` for a missing repository or an unknown revision.
    public static func run(
        repositoryPath: String,
        revision: String = "HEAD"
    ) throws(GitOpsError) -> Result<[ObjectChange], CheckReportBox> {
        let repository = try Repository.opening(repositoryPath)
        guard let workingDirectory = repository.workingDirectory else {
            throw GitOpsError("kaitoc diff compares the working tree; this repository is bare")
        }
        let committed: [String: [UInt8]]
        do {
            let commit = try repository.commit(try repository.resolveCommit(revision))
            committed = try repository.files(inTree: commit.tree, under: ["out"])
        } catch {
            throw GitOpsError("unknown revision \(revision): \(error.message)", cause: error)
        }
        let report: BuildReport
        do throws(OutputError) {
            report = try Builder.render(BuildOptions(repositoryRoot: String(workingDirectory.dropLast())))
        } catch {
            throw GitOpsError(error.message)
        }
        guard report.check.unreadable.isEmpty else {
            throw GitOpsError(report.check.unreadable.joined(separator: "; "))
        }
        if report.check.hasErrors { return .failure(CheckReportBox(report: report.check)) }
        // The one reconcile `build` uses, against the committed out/ and against the working tree's: a user's file
        // at a rendered path is the same error as in `build` and `commit`.
        let files = report.targets.flatMap(\.files)
        var renderedBytes: [String: [UInt8]] = [:]
        for file in files { renderedBytes[file.path] = Array(file.contents.utf8) }
        var committedOut: [String: [UInt8]] = [:]
        for (path, bytes) in committed { committedOut[String(path.dropFirst("out/".count))] = bytes }
        let plan: Reconciliation
        do throws(OutputError) {
            _ = try OutputWriter.reconcile(files: files, in: workingDirectory + "out", ownedFolders: [])
            plan = try OutputReconciler.reconcile(
                rendered: renderedBytes,
                existing: Set(committedOut.keys),
                isUnchanged: { path, bytes in committedOut[path] == bytes },
                contents: { path in committedOut[path] }
            )
        } catch {
            throw GitOpsError(error.message)
        }
        var changes: [ObjectChange] = []
        for path in (plan.written + plan.pruned).sorted() {
            let old = committedOut[path].map { String(decoding: $0, as: UTF8.self) }
            let new = renderedBytes[path].map { String(decoding: $0, as: UTF8.self) }
            let path = "out/" + path
            switch (old, new) {
            case (nil, let new?):
                changes.append(
                    ObjectChange(
                        kind: .added,
                        path: path,
                        diff: UnifiedDiff.make(old: "", new: new, path: path),
                        warnings: []
                    )
                )
            case (let old?, nil):
                changes.append(ObjectChange(kind: .pruned, path: path, diff: "", warnings: pruneWarnings(old)))
            case (let old?, let new?) where old != new:
                changes.append(
                    ObjectChange(
                        kind: .changed,
                        path: path,
                        diff: UnifiedDiff.make(old: old, new: new, path: path),
                        warnings: SyncHazards.warnings(old: old, new: new)
                    )
                )
            default:
                break
            }
        }
        return .success(changes)
    }

    static func pruneWarnings(_ old: String) -> [String] {
        guard let node = try? YAMLParser.parse(old).first?.root, let kind = node["kind"]?.scalar else { return [] }
        if kind == "NodeClaim" || kind == "NodePool" || kind == "Machine" {
            return ["pruning this \(kind) deprovisions its GPU node; workloads on it stop"]
        }
        return []
    }
}

/// A check report carried as a failure value.
public struct CheckReportBox: Error, Sendable {
    /// The report.
    public var report: CheckReport
}

/// Changes Kubernetes will not apply as a patch (reference: immutable fields of StatefulSet, Job and NodeClaim).
enum SyncHazards {
    static func warnings(old: String, new: String) -> [String] {
        guard let a = try? YAMLParser.parse(old).first?.root, let b = try? YAMLParser.parse(new).first?.root,
            let kind = b["kind"]?.scalar
        else { return [] }
        func changed(_ path: [String]) -> Bool {
            var x: Node? = a
            var y: Node? = b
            for key in path {
                x = x?[key]
                y = y?[key]
            }
            switch (x, y) {
            case (nil, nil): return false
            case (let x?, let y?): return !x.hasSameContent(as: y)
            default: return true
            }
        }
        var warnings: [String] = []
        switch kind {
        case "StatefulSet":
            let immutable = ["selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy"].filter {
                changed(["spec", $0])
            }
            if !immutable.isEmpty {
                warnings.append(
                    "StatefulSet spec.\(immutable.joined(separator: ", spec.")) cannot be updated in place: the sync fails with \"Forbidden: updates to statefulset spec for fields other than ...\"; delete the StatefulSet first (kubectl delete statefulset --cascade=orphan) or let the sync replace it (Argo CD Replace=true, Flux force: true)"
                )
            }
        case "Deployment":
            if changed(["spec", "selector"]) {
                warnings.append(
                    "Deployment spec.selector is immutable: delete the Deployment or let the sync replace it"
                )
            }
        case "Job":
            if changed(["spec", "template"]) {
                warnings.append(
                    "Job spec.template is immutable: the sync fails unless the Job is deleted and recreated (Argo CD Replace=true, Flux force: true); the tuning run starts over"
                )
            }
        case "NodeClaim", "Machine":
            if changed(["spec"]) {
                warnings.append(
                    "\(kind) spec is not patched but replaced: the GPU node is deprovisioned and a new one provisioned"
                )
            }
        case "NodePool":
            if changed(["spec", "template", "spec", "requirements"]) {
                warnings.append("NodePool requirements changed: Karpenter drifts and replaces its nodes")
            }
        default:
            break
        }
        let oldType = instanceType(a)
        let newType = instanceType(b)
        if let oldType, let newType, oldType != newType {
            warnings.append(
                "instance type changes from \(oldType) to \(newType): new GPU nodes are provisioned and the old ones removed; expect downtime"
            )
        }
        return warnings
    }

    static func instanceType(_ node: Node) -> String? {
        let requirements =
            node["spec"]?["requirements"]?.sequence ?? node["spec"]?["template"]?["spec"]?["requirements"]?.sequence
        return requirements?.first { $0["key"]?.scalar == "node.kubernetes.io/instance-type" }?["values"]?.sequence?
            .first?.scalar
    }
}

/// A unified diff of two texts (longest common subsequence of lines, three lines of context).
enum UnifiedDiff {
    static func make(old: String, new: String, path: String) -> String {
        let a =
            old.isEmpty
            ? []
            : old.split(separator: "\n", omittingEmptySubsequences: false).dropLast(old.hasSuffix("\n") ? 1 : 0).map(
                String.init
            )
        let b =
            new.isEmpty
            ? []
            : new.split(separator: "\n", omittingEmptySubsequences: false).dropLast(new.hasSuffix("\n") ? 1 : 0).map(
                String.init
            )
        // LCS table (files are small: one object each).
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        enum Op { case same(String), delete(String), insert(String) }
        var ops: [Op] = []
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                ops.append(.same(a[i]))
                i += 1
                j += 1
            } else if j < b.count, i == a.count || lcs[i][j + 1] >= lcs[i + 1][j] {
                ops.append(.insert(b[j]))
                j += 1
            } else {
                ops.append(.delete(a[i]))
                i += 1
            }
        }
        var out = "--- a/\(path)\n+++ b/\(path)\n"
        var index = 0
        var oldLine = 1
        var newLine = 1
        while index < ops.count {
            // Find the next change.
            guard
                let start = ops[index...].firstIndex(where: {
                    if case .same = $0 { return false }
                    return true
                })
            else { break }
            let hunkStart = max(index, start - 3)
            for k in index..<hunkStart {
                if case .same = ops[k] {
                    oldLine += 1
                    newLine += 1
                }
            }
            var end = start
            var lastChange = start
            while end < ops.count {
                if case .same = ops[end] {
                    if end - lastChange > 6 { break }
                } else {
                    lastChange = end
                }
                end += 1
            }
            let hunkEnd = min(ops.count, lastChange + 4)
            var body = ""
            var oldCount = 0
            var newCount = 0
            for op in ops[hunkStart..<hunkEnd] {
                switch op {
                case .same(let line):
                    body += " \(line)\n"
                    oldCount += 1
                    newCount += 1
                case .delete(let line):
                    body += "-\(line)\n"
                    oldCount += 1
                case .insert(let line):
                    body += "+\(line)\n"
                    newCount += 1
                }
            }
            out +=
                "@@ -\(oldCount == 0 ? oldLine - 1 : oldLine),\(oldCount) +\(newCount == 0 ? newLine - 1 : newLine),\(newCount) @@\n"
                + body
            oldLine += oldCount
            newLine += newCount
            index = hunkEnd
        }
        return out
    }
}
