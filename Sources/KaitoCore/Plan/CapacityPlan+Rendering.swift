internal import Foundation

/// The formats `kaitoc plan` writes.
public enum PlanFormat: String, Sendable, CaseIterable {
    /// Readable tables.
    case text
    /// The ``CapacityPlan`` as JSON (sorted keys).
    case json
    /// GitHub-flavoured Markdown, for pull request comments.
    case markdown
}

extension CapacityPlan {
    /// The plan in a format.
    public func rendered(as format: PlanFormat) -> String {
        switch format {
        case .json: return PlanText.json(self)
        case .text: return PlanText(markdown: false).render(self)
        case .markdown: return PlanText(markdown: true).render(self)
        }
    }
}

/// Text and Markdown renderings of a plan; one code path, two table syntaxes.
struct PlanText {
    var markdown: Bool

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    func render(_ plan: CapacityPlan) -> String {
        var out = ""
        if plan.workspaces.isEmpty {
            return markdown ? "_No workspaces._\n" : "no workspaces\n"
        }
        for row in plan.workspaces {
            out += workspace(row)
            out += "\n"
        }
        return out + plan.targets.map(summary).joined(separator: markdown ? "" : "\n")
    }

    // MARK: - Workspaces

    func workspace(_ row: WorkspaceCapacity) -> String {
        var out = ""
        let title = "\(row.kind == "InferenceSet" ? "InferenceSet " : "")\(row.name) (target \(row.target))"
        out += markdown ? "### \(title)\n\n" : "\(title) — \(row.file):\(row.line)\n"
        var facts: [String] = []
        let what = row.preset.map { "\(row.workload == "tuning" ? "tuning " : "")preset \(code($0))" } ?? row.workload
        facts.append(
            what + (row.runtime.map { " on \($0)" } ?? "") + (markdown ? " (\(code("\(row.file):\(row.line)")))" : "")
        )
        if let sku = row.instanceType {
            let gpus = row.gpusPerNode > 0 ? "\(row.totalGPUs) × \(row.gpuModel ?? "GPU")" : "no GPU"
            let replicas = row.replicas > 1 ? "\(row.replicas) replicas × " : ""
            facts.append(
                "\(replicas)\(row.nodes) × \(code(sku)) = \(row.totalNodes) node\(row.totalNodes == 1 ? "" : "s"), \(gpus); nodes from \(row.sizing)"
            )
        } else {
            facts.append("no instance type from the catalog; nodes from \(row.sizing)")
        }
        if let range = row.autoscaling {
            let most = range.max * row.nodes
            facts.append(
                "autoscaled by KEDA between \(range.min) and \(range.max) replicas: up to \(most) node\(most == 1 ? "" : "s"), \(most * row.gpusPerNode) GPUs"
                    + (row.price.map { " and \(money($0.perHour * Double(most))) \($0.currency)/h" } ?? "")
            )
        }
        if let layout = row.layout {
            facts.append(
                "vLLM layout: tensor-parallel \(layout.tensor), pipeline-parallel \(layout.pipeline), data-parallel \(layout.data)"
            )
        }
        if let memory = row.memory { facts.append(self.memory(memory)) }
        if let price = row.price, let cost = row.hourlyCost {
            facts.append(
                "cost: \(money(cost)) \(price.currency)/h (\(money(price.perHour)) a node; \(citation(price)))"
            )
        } else if row.instanceType != nil, !row.ownNodes {
            facts.append("cost: no price for \(row.instanceType ?? "") in the catalog")
        }
        out += facts.map { markdown ? "- \($0)\n" : "  \($0)\n" }.joined()
        if !row.options.isEmpty { out += options(row.options) }
        if let note = row.optionsNote { out += markdown ? "\n_\(note)_\n" : "  \(note)\n" }
        if !row.cpuOptions.isEmpty { out += cpuOptions(row.cpuOptions, chosen: row.runtime == "kaito-serve") }
        return out
    }

    func memory(_ m: MemoryBreakdown) -> String {
        switch m.scope {
        case "gpu":
            return
                "memory per GPU (estimator): \(gi(m.capacityGiB)), \(gi(m.usableGiB)) usable (0.84) = weights \(gi(m.weightsGiB)) (\(m.weightsFormat)) + KV cache \(gi(m.kvCacheGiB)) (\(m.contextLength) tokens) + runtime reserve \(gi(m.runtimeReserveGiB)) + margins \(gi(m.marginGiB)) + headroom \(gi(m.headroomGiB))"
        case "pod":
            return
                "pod memory (kaito-serve): \(gi(m.usableGiB)) limit of \(gi(m.capacityGiB)) RAM = weights \(gi(m.weightsGiB)) (\(m.weightsFormat)) + F32 KV cache \(gi(m.kvCacheGiB)) (\(m.contextLength) tokens) + process \(gi(m.runtimeReserveGiB)) + 10 % \(gi(m.marginGiB)) + headroom \(gi(m.headroomGiB))"
        default:
            return
                "GPU memory of the nodes: \(gi(m.capacityGiB)) = weights \(gi(m.weightsGiB)) (\(m.weightsFormat)) + \(gi(m.headroomGiB)) for the KV cache and runtime (Kaito estimates them only for vLLM from v0.11)"
        }
    }

    func options(_ options: [InstanceOption]) -> String {
        let fits = options.filter(\.fits)
        var out = markdown ? "\nInstance types that fit:\n\n" : "  instance types that fit:\n"
        if fits.isEmpty {
            out += markdown ? "_none_\n" : "    none\n"
        } else {
            let currency = fits.compactMap(\.price?.currency).first
            let header = [
                "instance type", "GPUs a node", "nodes", "GPUs", "headroom/GPU",
                currency.map { "\($0)/h" } ?? "price/h",
            ]
            let rows = fits.map { o in
                [
                    o.instanceType + marks(o),
                    "\(o.gpusPerNode) × \(gi(o.gpuMemoryGiB)) \(o.gpuModel)",
                    "\(o.nodes ?? 0)",
                    "\(o.gpus ?? 0)",
                    o.headroomPerGPUGiB.map(gi) ?? "—",
                    o.hourlyCost.map(money) ?? "no price",
                ]
            }
            out += table(header: header, rows: rows, indent: "    ")
            if !fits.contains(where: { $0.price != nil }) {
                out +=
                    markdown
                    ? "\n_No prices in the catalog: add a `PriceList` to presets/ (presets/README.md) to mark the cheapest fit._\n"
                    : "    no prices in the catalog: add a PriceList to presets/ (presets/README.md) to mark the cheapest fit\n"
            }
        }
        let misfits = options.filter { !$0.fits }
        if !misfits.isEmpty {
            let list = misfits.map {
                "\($0.instanceType)\($0.chosen ? " (chosen)" : "") (\($0.reason ?? "does not fit"))"
            }
            out +=
                markdown
                ? "\nDo not fit: \(list.joined(separator: "; "))\n" : "  do not fit: \(list.joined(separator: "; "))\n"
        }
        return out
    }

    func marks(_ o: InstanceOption) -> String {
        var marks: [String] = []
        if o.chosen { marks.append("chosen") }
        if o.cheapest { marks.append("cheapest") }
        if o.smallest { marks.append("fewest GPUs") }
        return marks.isEmpty ? "" : " (\(marks.joined(separator: ", ")))"
    }

    func cpuOptions(_ options: [CPUOption], chosen: Bool) -> String {
        var out =
            chosen
            ? (markdown ? "\nCPU instance types for kaito-serve:\n\n" : "  CPU instance types for kaito-serve:\n")
            : (markdown
                ? "\nOr on CPUs with kaito-serve (annotation `kaito.sh/runtime: kaito-serve`):\n\n"
                : "  or on CPUs with kaito-serve (annotation kaito.sh/runtime: kaito-serve):\n")
        let rows = options.map { o in
            [
                o.weights, gi(o.neededGiB), o.instanceType, "\(o.vcpus)", gi(o.memoryGiB),
                o.price.map { "\(money($0.perHour)) \($0.currency)" } ?? "no price",
            ]
        }
        out += table(
            header: ["weights", "memory needed", "smallest instance type", "vCPUs", "RAM", "price/h"],
            rows: rows,
            indent: "    "
        )
        return out
    }

    // MARK: - Targets

    func summary(_ target: TargetCapacity) -> String {
        var out = markdown ? "## Target \(target.name)\n\n" : "target \(target.name)\n"
        if target.instanceTypes.isEmpty {
            out += markdown ? "_No instance type in use._\n\n" : "  no instance type in use\n"
        } else {
            let rows = target.instanceTypes.map { u in
                [
                    u.instanceType, "\(u.workspaces)", "\(u.nodes)", "\(u.gpus)",
                    u.price.map { "\(money($0.perHour * Double(u.nodes))) \($0.currency)" } ?? "no price",
                ]
            }
            out += table(header: ["instance type", "workspaces", "nodes", "GPUs", "cost/h"], rows: rows, indent: "  ")
        }
        var lines: [String] = []
        for quota in target.quotas {
            var parts: [String] = []
            if let max = quota.maxNodes { parts.append("\(quota.nodes) of \(max) nodes (\(max - quota.nodes) left)") }
            if let max = quota.maxGPUs { parts.append("\(quota.gpus) of \(max) GPUs (\(max - quota.gpus) left)") }
            lines.append("quota on \(quota.subject): \(parts.joined(separator: ", "))")
        }
        if let cost = target.hourlyCost, let currency = target.currency {
            lines.append(
                "hourly cost: \(money(cost)) \(currency)"
                    + (target.unpriced.isEmpty ? "" : " plus the unpriced \(target.unpriced.joined(separator: ", "))")
            )
        } else if !target.instanceTypes.isEmpty {
            lines.append(
                "hourly cost: unknown (no prices in the catalog for \(target.unpriced.joined(separator: ", ")))"
            )
        }
        out += (markdown ? "\n" : "") + lines.map { markdown ? "- \($0)\n" : "  \($0)\n" }.joined()
        return out + (markdown ? "\n" : "")
    }

    // MARK: - Pieces

    func table(header: [String], rows: [[String]], indent: String) -> String {
        if markdown {
            let escaped = { (cell: String) in cell.replacingOccurrences(of: "|", with: "\\|") }
            var out = "| " + header.map(escaped).joined(separator: " | ") + " |\n"
            out += "|" + header.map { _ in "---|" }.joined() + "\n"
            for row in rows { out += "| " + row.map(escaped).joined(separator: " | ") + " |\n" }
            return out
        }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        let line = { (cells: [String]) -> String in
            let padded = cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }
            var text = indent + padded.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text + "\n"
        }
        return line(header) + rows.map(line).joined()
    }

    func code(_ text: String) -> String { markdown ? "`\(text)`" : text }

    func citation(_ price: PriceQuote) -> String { "\(price.region), \(price.source), \(price.date)" }

    func gi(_ value: Double) -> String { fixed(value) + "Gi" }

    func money(_ value: Double) -> String { fixed(value) }

    /// Two decimals; values beyond what an `Int` holds (hostile catalog numbers) print as Swift writes them.
    func fixed(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return "\(value)" }
        return Quantity.formatFixed(value, decimals: 2)
    }
}
