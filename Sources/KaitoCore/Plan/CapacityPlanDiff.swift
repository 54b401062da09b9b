/// The capacity and cost change between two plans (`kaitoc plan --diff REV`): what a pull request adds, removes or
/// resizes, per workspace and per target.
public struct CapacityPlanDiff: Sendable, Hashable, Codable {
    /// The revision compared against.
    public var base: String
    /// Workspaces added, removed or changed (instance type, nodes, GPUs, preset, runtime or cost), sorted by target
    /// and name.
    public var workspaces: [WorkspaceChange]
    /// Targets whose nodes, GPUs or cost change.
    public var targets: [TargetChange]

    /// What one workspace occupies, for comparison.
    public struct Footprint: Sendable, Hashable, Codable {
        /// The preset.
        public var preset: String?
        /// The runtime.
        public var runtime: String?
        /// The instance type.
        public var instanceType: String?
        /// All nodes (replicas included).
        public var nodes: Int
        /// All GPUs.
        public var gpus: Int
        /// The hourly cost, when priced.
        public var hourlyCost: Double?
        /// Its currency.
        public var currency: String?

        init(_ row: WorkspaceCapacity) {
            preset = row.preset
            runtime = row.runtime
            instanceType = row.instanceType
            nodes = row.totalNodes
            gpus = row.totalGPUs
            hourlyCost = row.hourlyCost
            currency = row.price?.currency
        }
    }

    /// One workspace's change.
    public struct WorkspaceChange: Sendable, Hashable, Codable {
        /// `added`, `removed` or `changed`.
        public var change: String
        /// The target.
        public var target: String
        /// `Workspace` or `InferenceSet`.
        public var kind: String
        /// `namespace/name`.
        public var name: String
        /// Before, when it existed.
        public var before: Footprint?
        /// After, when it still exists.
        public var after: Footprint?
    }

    /// One target's totals before and after.
    public struct TargetChange: Sendable, Hashable, Codable {
        /// The target.
        public var name: String
        /// Nodes before and after.
        public var nodesBefore: Int, nodesAfter: Int
        /// GPUs before and after.
        public var gpusBefore: Int, gpusAfter: Int
        /// The priced hourly cost before and after, when known.
        public var hourlyCostBefore: Double?, hourlyCostAfter: Double?
        /// The currency.
        public var currency: String?
    }

    /// Whether nothing changes.
    public var isEmpty: Bool { workspaces.isEmpty && targets.isEmpty }
}

extension CapacityPlan {
    /// The change from `base` (the plan at an earlier revision) to this plan.
    public func diff(from base: CapacityPlan, baseName: String) -> CapacityPlanDiff {
        let key = { (row: WorkspaceCapacity) in "\(row.target)\u{0}\(row.name)\u{0}\(row.kind)" }
        var before: [String: WorkspaceCapacity] = [:]
        for row in base.workspaces { before[key(row)] = row }
        var after: [String: WorkspaceCapacity] = [:]
        for row in workspaces { after[key(row)] = row }
        var changes: [CapacityPlanDiff.WorkspaceChange] = []
        for k in Set(before.keys).union(after.keys).sorted() {
            let old = before[k].map(CapacityPlanDiff.Footprint.init)
            let new = after[k].map(CapacityPlanDiff.Footprint.init)
            guard old != new, let row = after[k] ?? before[k] else { continue }
            changes.append(
                CapacityPlanDiff.WorkspaceChange(
                    change: old == nil ? "added" : new == nil ? "removed" : "changed",
                    target: row.target,
                    kind: row.kind,
                    name: row.name,
                    before: old,
                    after: new
                )
            )
        }
        var targetChanges: [CapacityPlanDiff.TargetChange] = []
        let names = Set(base.targets.map(\.name)).union(targets.map(\.name)).sorted()
        for name in names {
            let old = base.targets.first { $0.name == name }
            let new = targets.first { $0.name == name }
            let change = CapacityPlanDiff.TargetChange(
                name: name,
                nodesBefore: old?.instanceTypes.reduce(0) { $0 + $1.nodes } ?? 0,
                nodesAfter: new?.instanceTypes.reduce(0) { $0 + $1.nodes } ?? 0,
                gpusBefore: old?.instanceTypes.reduce(0) { $0 + $1.gpus } ?? 0,
                gpusAfter: new?.instanceTypes.reduce(0) { $0 + $1.gpus } ?? 0,
                hourlyCostBefore: old?.hourlyCost,
                hourlyCostAfter: new?.hourlyCost,
                currency: new?.currency ?? old?.currency
            )
            if change.nodesBefore != change.nodesAfter || change.gpusBefore != change.gpusAfter
                || change.hourlyCostBefore != change.hourlyCostAfter
            {
                targetChanges.append(change)
            }
        }
        return CapacityPlanDiff(base: baseName, workspaces: changes, targets: targetChanges)
    }
}

extension CapacityPlanDiff {
    /// The diff in a format: text, JSON, or Markdown for a pull request comment.
    public func rendered(as format: PlanFormat) -> String {
        if format == .json { return PlanText.json(self) }
        let markdown = format == .markdown
        let text = PlanText(markdown: markdown)
        if isEmpty {
            return markdown
                ? "No capacity or cost change against `\(base)`.\n" : "no capacity or cost change against \(base)\n"
        }
        var out = markdown ? "## Capacity change against `\(base)`\n\n" : "capacity change against \(base)\n"
        let rows = workspaces.map { change in
            [
                change.change, change.target,
                (change.kind == "InferenceSet" ? "InferenceSet " : "") + change.name,
                change.before.map { footprint($0, text) } ?? "—",
                change.after.map { footprint($0, text) } ?? "—",
            ]
        }
        out += text.table(header: ["change", "target", "workspace", "before", "after"], rows: rows, indent: "  ")
        if !targets.isEmpty {
            out += markdown ? "\n" : "totals\n"
            let totals = targets.map { t in
                [
                    t.name,
                    "\(t.nodesBefore) → \(t.nodesAfter) (\(signed(t.nodesAfter - t.nodesBefore)))",
                    "\(t.gpusBefore) → \(t.gpusAfter) (\(signed(t.gpusAfter - t.gpusBefore)))",
                    cost(t, text),
                ]
            }
            out += text.table(header: ["target", "nodes", "GPUs", "cost/h"], rows: totals, indent: "  ")
        }
        return out
    }

    private func footprint(_ f: Footprint, _ text: PlanText) -> String {
        var parts = ["\(f.nodes) × \(f.instanceType ?? "?")", "\(f.gpus) GPU\(f.gpus == 1 ? "" : "s")"]
        if let cost = f.hourlyCost { parts.append("\(text.money(cost)) \(f.currency ?? "")/h") }
        if let preset = f.preset { parts.append(preset + (f.runtime.map { " on \($0)" } ?? "")) }
        return parts.joined(separator: ", ")
    }

    private func cost(_ t: TargetChange, _ text: PlanText) -> String {
        guard let before = t.hourlyCostBefore, let after = t.hourlyCostAfter else {
            let known = t.hourlyCostAfter ?? t.hourlyCostBefore
            return known == nil ? "no prices" : "partly priced"
        }
        let delta = after - before
        return
            "\(text.money(before)) → \(text.money(after)) \(t.currency ?? "") (\(delta >= 0 ? "+" : "")\(text.money(delta)))"
    }

    private func signed(_ n: Int) -> String { n >= 0 ? "+\(n)" : "\(n)" }
}
