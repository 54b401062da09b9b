internal import Foundation

/// A SARIF 2.1.0 log of one `kaitoc check` run (OASIS "Static Analysis Results Interchange Format", the format code
/// scanning services and IDEs read).
///
/// One run per invocation; every result names a rule of ``DiagnosticRules`` by `ruleId` and `ruleIndex` into the
/// run's `tool.driver.rules`, which lists exactly the rules the results refer to, sorted by id. Locations are the
/// diagnostics' paths as URI references (relative ones against `%SRCROOT%`, the checkout root for code scanning) with
/// a region of 1-based line and column, columns counted in Unicode code points as the YAML parser counts them.
struct SARIFLog: Encodable {
    static let schemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    static let projectPage = "https://example.com/your-org/kaitoc"

    var schema = SARIFLog.schemaURI
    var version = "2.1.0"
    var runs: [Run]

    enum CodingKeys: String, CodingKey {
        case schema = "$schema"
        case version
        case runs
    }

    struct Run: Encodable {
        var tool: Tool
        var invocations: [Invocation]
        var columnKind = "unicodeCodePoints"
        var results: [Result]
    }

    struct Tool: Encodable {
        var driver: Driver
    }

    struct Driver: Encodable {
        var name = "kaitoc"
        var informationUri = SARIFLog.projectPage
        var rules: [Rule]
    }

    struct Rule: Encodable {
        var id: String
        var shortDescription: Text?
        var fullDescription: Text?
        var help: Text?
        var helpUri: String?
        var defaultConfiguration: Configuration?
        var properties: Properties?
    }

    struct Text: Encodable {
        var text: String
    }

    struct Configuration: Encodable {
        var level: String
    }

    struct Properties: Encodable {
        var tags: [String]
    }

    struct Invocation: Encodable {
        var executionSuccessful: Bool
        var exitCode: Int
    }

    struct Result: Encodable {
        var ruleId: String
        var ruleIndex: Int
        var level: String
        var message: Text
        var locations: [Location]
    }

    struct Location: Encodable {
        var physicalLocation: PhysicalLocation
    }

    struct PhysicalLocation: Encodable {
        var artifactLocation: ArtifactLocation
        var region: Region?
    }

    struct ArtifactLocation: Encodable {
        var uri: String
        var uriBaseId: String?
    }

    struct Region: Encodable {
        var startLine: Int
        var startColumn: Int?
    }

    /// The log of a report's diagnostics.
    init(report: CheckReport) {
        let codes = Set(report.diagnostics.map(\.code)).sorted()
        let rules = codes.map(Self.rule)
        let index = Dictionary(uniqueKeysWithValues: codes.enumerated().map { ($1, $0) })
        let results = report.diagnostics.map { diagnostic in
            var text = diagnostic.message
            for note in diagnostic.notes { text += "\nnote: " + note }
            return Result(
                ruleId: diagnostic.code,
                ruleIndex: index[diagnostic.code] ?? 0,
                level: Self.level(diagnostic.severity),
                message: Text(text: text),
                locations: [Location(physicalLocation: Self.physicalLocation(diagnostic.location))]
            )
        }
        let run = Run(
            tool: Tool(driver: Driver(rules: rules)),
            invocations: [Invocation(executionSuccessful: true, exitCode: report.hasErrors ? 1 : 0)],
            results: results
        )
        self.runs = [run]
    }

    static func level(_ severity: Severity) -> String {
        switch severity {
        case .error: "error"
        case .warning: "warning"
        case .note: "note"
        }
    }

    static func rule(_ code: String) -> Rule {
        guard let rule = DiagnosticRules.rule(for: code) else { return Rule(id: code) }
        return Rule(
            id: rule.id,
            shortDescription: Text(text: rule.summary),
            fullDescription: Text(text: rule.help),
            help: Text(text: rule.help + " See " + rule.helpURI),
            helpUri: rule.helpURI,
            defaultConfiguration: Configuration(level: level(rule.level)),
            properties: Properties(tags: [rule.origin == .kaitoc ? "kaitoc" : "kaito-webhook"])
        )
    }

    /// An absolute path becomes a `file://` URI; a relative one a relative reference against `%SRCROOT%`.
    static func physicalLocation(_ location: SourceLocation) -> PhysicalLocation {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: ";:")  // a colon in a first segment would read as a scheme
        let encoded = location.file.addingPercentEncoding(withAllowedCharacters: allowed) ?? location.file
        let artifact =
            location.file.hasPrefix("/")
            ? ArtifactLocation(uri: "file://" + encoded, uriBaseId: nil)
            : ArtifactLocation(uri: encoded, uriBaseId: "%SRCROOT%")
        guard location.line > 0 else { return PhysicalLocation(artifactLocation: artifact, region: nil) }
        return PhysicalLocation(
            artifactLocation: artifact,
            region: Region(startLine: location.line, startColumn: location.column > 0 ? location.column : nil)
        )
    }

    /// The log as pretty-printed JSON with sorted keys (byte-identical for the same report).
    func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
