internal import Foundation

extension CheckReport {
    /// The one-line summary printed after the diagnostics.
    public var summary: String {
        let errors = count(.error)
        let warnings = count(.warning)
        let sets =
            inferenceSetsChecked == 0
            ? "" : " and \(inferenceSetsChecked) InferenceSet\(inferenceSetsChecked == 1 ? "" : "s")"
        var line =
            "checked \(workspacesChecked) workspace\(workspacesChecked == 1 ? "" : "s")\(sets) in \(filesChecked) file\(filesChecked == 1 ? "" : "s"): \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
        if !isWholeRepository {
            line +=
                "\nnote: rules that span workspaces (quotas, duplicate names, missing ConfigMaps) were skipped because only some files were checked; run kaitoc check with no paths to apply them"
        }
        return line
    }

    /// Renders every diagnostic and the summary.
    ///
    /// - Parameter format: `text` for people, `json` for tools, `github` for GitHub Actions annotations, `sarif` for
    ///   code scanning, `junit` for CI test reports.
    /// - Returns: What to print on standard output (or write to a report file).
    public func rendered(as format: DiagnosticFormat) -> String {
        let renderer = DiagnosticRenderer(sources: sources)
        switch format {
        case .text:
            return diagnostics.map(renderer.text).joined() + summary + "\n"
        case .github:
            return diagnostics.map(renderer.github).joined() + summary + "\n"
        case .sarif:
            return SARIFLog(report: self).encoded()
        case .junit:
            return JUnitReport(report: self).encoded()
        case .json:
            struct Output: Encodable {
                var diagnostics: [Diagnostic]
                var summary: Summary
            }
            struct Summary: Encodable {
                var files: Int
                var workspaces: Int
                var errors: Int
                var warnings: Int
                var wholeRepository: Bool
            }
            let output = Output(
                diagnostics: diagnostics,
                summary: Summary(
                    files: filesChecked,
                    workspaces: workspacesChecked,
                    errors: count(.error),
                    warnings: count(.warning),
                    wholeRepository: isWholeRepository
                )
            )
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            guard let data = try? encoder.encode(output) else { return "{}\n" }
            return String(decoding: data, as: UTF8.self) + "\n"
        }
    }
}
