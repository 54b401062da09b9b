/// The output formats of `kaitoc check`.
public enum DiagnosticFormat: String, Sendable, CaseIterable {
    /// `file:line:col: severity: message [CODE]`, the source line and a caret.
    case text
    /// One JSON document with every diagnostic and a summary.
    case json
    /// GitHub Actions workflow commands (`::error file=…,line=…,col=…,title=…::message`).
    case github
    /// A SARIF 2.1.0 log (one run) for code scanning and IDEs.
    case sarif
    /// A JUnit XML report (one test case per checked file) for CI test-result views.
    case junit
}

/// Renders diagnostics for people and machines.
public struct DiagnosticRenderer: Sendable {
    /// The source files by path, to print snippets.
    public var sources: [String: SourceFile]

    /// Creates a renderer that can quote lines from the given files.
    public init(sources: [String: SourceFile]) {
        self.sources = sources
    }

    /// Renders one diagnostic in compiler style, with the source line and a caret when the line is known.
    ///
    /// ```
    /// workspaces/a.yaml:9:11: error: invalid value: Unsupported inference preset name foo: inference.presetName [KAITO-I3]
    ///       name: foo
    ///             ^
    /// ```
    public func text(_ diagnostic: Diagnostic) -> String {
        let loc = diagnostic.location
        var position = loc.file
        if loc.line > 0 {
            position += ":\(loc.line)"
            if loc.column > 0 { position += ":\(loc.column)" }
        }
        var out = "\(position): \(diagnostic.severity.rawValue): \(diagnostic.message) [\(diagnostic.code)]\n"
        if loc.line > 0, let line = sources[loc.file]?.line(loc.line) {
            out += line + "\n"
            if loc.column > 0 {
                // Keep tabs so the caret lines up in a terminal.
                let prefix = line.unicodeScalars.prefix(loc.column - 1).map { $0 == "\t" ? "\t" : " " }.joined()
                out += prefix + "^\n"
            }
        }
        for note in diagnostic.notes {
            out += "note: \(note)\n"
        }
        return out
    }

    /// Renders one diagnostic as a GitHub Actions workflow command.
    public func github(_ diagnostic: Diagnostic) -> String {
        let command: String
        switch diagnostic.severity {
        case .error: command = "error"
        case .warning: command = "warning"
        case .note: command = "notice"
        }
        var properties = ["file=\(Self.escapeProperty(diagnostic.location.file))"]
        if diagnostic.location.line > 0 { properties.append("line=\(diagnostic.location.line)") }
        if diagnostic.location.column > 0 { properties.append("col=\(diagnostic.location.column)") }
        properties.append("title=\(Self.escapeProperty(diagnostic.code))")
        var message = diagnostic.message
        for note in diagnostic.notes { message += "\n" + note }
        return "::\(command) \(properties.joined(separator: ","))::\(Self.escapeData(message))\n"
    }

    /// Escapes workflow-command data (`%`, CR, LF), as the actions toolkit does.
    static func escapeData(_ s: String) -> String {
        s.replacing("%", with: "%25").replacing("\r", with: "%0D").replacing("\n", with: "%0A")
    }

    /// Escapes a workflow-command property value (data escapes plus `:` and `,`).
    static func escapeProperty(_ s: String) -> String {
        escapeData(s).replacing(":", with: "%3A").replacing(",", with: "%2C")
    }
}
