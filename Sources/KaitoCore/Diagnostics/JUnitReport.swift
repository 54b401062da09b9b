/// A `kaitoc check` run as a JUnit XML report (the Ant/Jenkins format CI systems show as test results).
///
/// One `<testsuite name="kaitoc check">` whose test cases are the files checked, each file once, in path order (plus any
/// other file a diagnostic points at, such as a catalog file). A file with errors fails: one `<failure>` whose `type`
/// is the first error's code, whose `message` is the first error (and how many more), and whose text lists every error
/// in compiler style; warnings and notes go to the case's `<system-out>`. No times or timestamps, so the same input
/// gives the same bytes.
struct JUnitReport {
    var report: CheckReport

    func encoded() -> String {
        let byFile = Dictionary(grouping: report.diagnostics, by: \.location.file)
        let files = Set(report.checkedFiles).union(byFile.keys).sorted()
        var cases = ""
        var failures = 0
        for file in files {
            let diagnostics = byFile[file] ?? []
            let errors = diagnostics.filter { $0.severity == .error }
            let others = diagnostics.filter { $0.severity != .error }
            let classname = Self.classname(file)
            let open = "    <testcase classname=\"\(Self.escape(classname))\" name=\"\(Self.escape(file))\""
            if errors.isEmpty, others.isEmpty {
                cases += open + "/>\n"
                continue
            }
            cases += open + ">\n"
            if let first = errors.first {
                failures += 1
                var message = "\(Self.position(first.location)): \(first.message)"
                if errors.count > 1 {
                    message += " (and \(errors.count - 1) more error\(errors.count == 2 ? "" : "s"))"
                }
                cases += "      <failure type=\"\(Self.escape(first.code))\" message=\"\(Self.escape(message))\">"
                cases += Self.escape(errors.map(Self.line).joined(), attribute: false) + "</failure>\n"
            }
            if !others.isEmpty {
                cases +=
                    "      <system-out>" + Self.escape(others.map(Self.line).joined(), attribute: false)
                    + "</system-out>\n"
            }
            cases += "    </testcase>\n"
        }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let counts = "tests=\"\(files.count)\" failures=\"\(failures)\" errors=\"0\""
        out += "<testsuites name=\"kaitoc\" \(counts)>\n"
        out += "  <testsuite name=\"kaitoc check\" \(counts) skipped=\"0\">\n"
        out += cases
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }

    /// `workspaces/quickstart/a.yaml` → `workspaces.quickstart` (JUnit viewers group cases by class name).
    static func classname(_ file: String) -> String {
        var components = file.split(separator: "/", omittingEmptySubsequences: true)
        if components.count > 1 { components.removeLast() }
        return components.joined(separator: ".")
    }

    static func position(_ location: SourceLocation) -> String {
        var position = location.file
        if location.line > 0 {
            position += ":\(location.line)"
            if location.column > 0 { position += ":\(location.column)" }
        }
        return position
    }

    /// `file:line:col: severity: message [CODE]` and its notes, one per line.
    static func line(_ diagnostic: Diagnostic) -> String {
        var text =
            "\(position(diagnostic.location)): \(diagnostic.severity.rawValue): \(diagnostic.message) [\(diagnostic.code)]\n"
        for note in diagnostic.notes { text += "note: \(note)\n" }
        return text
    }

    /// Escapes text for XML 1.0 content or (`attribute`) attribute values, where line breaks and tabs become
    /// character references so that parsers keep them; characters XML 1.0 cannot carry become U+FFFD.
    static func escape(_ text: String, attribute: Bool = true) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += attribute ? "&#10;" : "\n"
            case "\r": out += "&#13;"
            case "\t": out += attribute ? "&#9;" : "\t"
            default:
                let v = scalar.value
                let allowed = (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD) || v >= 0x10000
                out.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return out
    }
}
