import Foundation
import KaitoCore
import Testing

/// One fixture of `Fixtures/rules/<target>/<CODE>[.variant].(fail|pass).yaml`.
struct RuleCase: CustomTestStringConvertible, Sendable {
    var target: String
    var fileName: String

    var testDescription: String { "\(target)/\(fileName)" }
    /// The rule code the fixture is about, for example `KAITO-R9`.
    var code: String { String(fileName.split(separator: ".").first ?? "") }
    var isFailing: Bool { fileName.hasSuffix(".fail.yaml") }
    var source: URL { TestSupport.fixtures.appendingPathComponent("rules/\(target)/\(fileName)") }
    var golden: URL { source.deletingPathExtension().appendingPathExtension("expected") }

    static let all: [RuleCase] = {
        let rules = TestSupport.fixtures.appendingPathComponent("rules")
        let targets = (try? FileManager.default.contentsOfDirectory(atPath: rules.path)) ?? []
        return targets.sorted().flatMap { target in
            let files =
                (try? FileManager.default.contentsOfDirectory(atPath: rules.appendingPathComponent(target).path)) ?? []
            return files.filter { $0.hasSuffix(".yaml") }.sorted().map { RuleCase(target: target, fileName: $0) }
        }
    }()
}

/// Every rule has failing and passing fixtures; the full rendered output of `kaitoc check` is compared with a
/// golden file (docs/reference/kaito.md section 1.6 and 1.7 for the `KAITO-*` rules).
struct RuleTests {
    @Test(arguments: RuleCase.all)
    func fixtureRendersExpectedDiagnostics(_ rule: RuleCase) throws {
        let content = try String(contentsOf: rule.source, encoding: .utf8)
        let root = try TestSupport.makeRepository(files: ["workspaces/\(rule.target)/\(rule.fileName)": content])
        defer { try? FileManager.default.removeItem(at: root) }
        let report = Checker.check(
            CheckOptions(repositoryRoot: root.path, presetsDirectory: TestSupport.testPresets.path)
        )
        #expect(report.unreadable.isEmpty)
        let output = TestSupport.normalize(report.rendered(as: .text), root: root)
        if let problem = TestSupport.assertGolden(output, at: rule.golden) {
            Issue.record(Comment(rawValue: problem))
        }
        let codes = codes(report)
        if rule.isFailing {
            #expect(codes.contains(rule.code), "a failing fixture must raise \(rule.code)")
        } else {
            let errors = report.diagnostics.filter { $0.severity == .error }
            #expect(!errors.contains { $0.code == rule.code }, "a passing fixture must not raise \(rule.code)")
            #expect(errors.isEmpty, "a passing fixture has no errors: \(errors.map(\.message))")
        }
    }

    func codes(_ report: CheckReport) -> Set<String> { Set(report.diagnostics.map(\.code)) }

    @Test func everyRuleHasFailingAndPassingFixtures() {
        let failing = Set(RuleCase.all.filter(\.isFailing).map(\.code))
        let passing = Set(RuleCase.all.filter { !$0.isFailing }.map(\.code))
        #expect(failing == passing)
        let webhookRules =
            ["V1"] + (1...8).map { "C\($0)" } + [1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15].map { "R\($0)" }
            + (1...11).map { "I\($0)" } + (1...6).map { "A\($0)" } + (1...5).map { "IC\($0)" }
            + (1...17).map { "T\($0)" }
        for rule in webhookRules {
            #expect(failing.contains("KAITO-\(rule)"), "no failing fixture for KAITO-\(rule)")
        }
    }
}
