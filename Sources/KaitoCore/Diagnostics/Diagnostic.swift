public import YAML

/// How serious a ``Diagnostic`` is.
public enum Severity: String, Sendable, Hashable, Comparable, Codable {
    case note
    case warning
    case error

    private var rank: Int {
        switch self {
        case .note: 0
        case .warning: 1
        case .error: 2
        }
    }

    /// Orders by value.
    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// A point in an input file that a diagnostic refers to.
public struct SourceLocation: Sendable, Hashable, Comparable, Codable {
    /// The file path as the user gave it (relative to the working directory when possible).
    public var file: String
    /// The 1-based line, or 0 when the problem concerns the whole file.
    public var line: Int
    /// The 1-based column, or 0 when the problem concerns the whole line or file.
    public var column: Int

    /// Creates a location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// Creates a location from a YAML mark in a file.
    public init(file: String, mark: Mark) {
        self.init(file: file, line: mark.line, column: mark.column)
    }

    /// Orders by value.
    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

/// One problem found in the inputs: where, how serious, what, and which rule found it.
public struct Diagnostic: Sendable, Hashable, Codable {
    /// How serious the problem is.
    public var severity: Severity
    /// The stable rule code, for example `KAITO-R9` for a Kaito webhook rule or `KAITOC-QUOTA` for a compiler rule.
    public var code: String
    /// The message; for Kaito's webhook rules it is the webhook's own error text.
    public var message: String
    /// Where the problem is.
    public var location: SourceLocation
    /// Extra lines of explanation (a hint, the other files involved), printed after the snippet.
    public var notes: [String]

    /// Creates a diagnostic.
    public init(
        _ severity: Severity,
        code: String,
        message: String,
        location: SourceLocation,
        notes: [String] = []
    ) {
        self.severity = severity
        self.code = code
        self.message = message
        self.location = location
        self.notes = notes
    }

    /// Orders diagnostics by file, line, column, then code, so output is stable.
    public static func sortOrder(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        if a.location != b.location { return a.location < b.location }
        if a.code != b.code { return a.code < b.code }
        return a.message < b.message
    }
}
