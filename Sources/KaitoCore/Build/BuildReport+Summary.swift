extension BuildReport {
    /// The short summary `kaitoc build` prints: per target, workspaces, objects and capacity; then file counts.
    public var summary: String {
        var lines: [String] = []
        for output in targets {
            lines.append(
                "target \(output.target.name) (\(output.mode.rawValue)): \(output.workspaces) workspace\(output.workspaces == 1 ? "" : "s"), \(output.objectCount) object\(output.objectCount == 1 ? "" : "s")"
            )
            for entry in output.capacity {
                lines.append(
                    "  \(entry.instanceType): \(entry.nodes) node\(entry.nodes == 1 ? "" : "s"), \(entry.gpus) GPU\(entry.gpus == 1 ? "" : "s")"
                )
            }
            if output.workspaces == 0 {
                lines.append(
                    "  warning: no workspaces; its kustomization lists nothing, so a sync with prune removes what it deployed"
                )
            }
        }
        if let cacheUse {
            lines.append(
                "cache: \(cacheUse.reused) workspace\(cacheUse.reused == 1 ? "" : "s") reused, \(cacheUse.rendered) rendered"
                    + (cacheUse.reRendered > 0 ? " (\(cacheUse.reRendered) because an output file changed)" : "")
            )
        }
        if let write {
            lines.append(
                "files: \(write.written.count) written, \(write.unchanged.count) unchanged, \(write.pruned.count) pruned"
            )
            for path in write.foreign {
                lines.append(
                    "warning: out/\(path) was not written by kaitoc; left as is (a directory sync would apply it)"
                )
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
