import Foundation
import KaitoCore
import Testing

/// The machine-readable formats of `kaitoc check` (docs/diagnostics.md): SARIF 2.1.0, JUnit XML and their rules.
///
/// Schema validation against the official SARIF schema and a JUnit XSD, and reading the SARIF
/// back with a SARIF library, are in scripts/format_tests.py.
struct DiagnosticFormatTests {
    /// A report with an error carrying notes, a whole-file diagnostic, a line-only one and a warning.
    static func sampleReport() -> CheckReport {
        var report = CheckReport()
        report.checkedFiles = ["workspaces/a/bad.yaml", "workspaces/a/good.yaml", "workspaces/b/odd name.yaml"]
        report.filesChecked = 3
        report.diagnostics = [
            Diagnostic(
                .error,
                code: "KAITO-T14",
                message: "invalid value: Unable to parse output image reference: <bad> & \"quoted\"",
                location: SourceLocation(file: "workspaces/a/bad.yaml", line: 18, column: 12),
                notes: ["a placeholder"]
            ),
            Diagnostic(
                .error,
                code: "KAITOC-QUOTA",
                message: "too many GPUs",
                location: SourceLocation(file: "workspaces/a/bad.yaml", line: 3, column: 0)
            ),
            Diagnostic(
                .warning,
                code: "KAITOC-BF16",
                message: "slow bfloat16",
                location: SourceLocation(file: "workspaces/b/odd name.yaml", line: 9, column: 3)
            ),
            Diagnostic(
                .error,
                code: "KAITOC-TARGET",
                message: "no targets",
                location: SourceLocation(file: "/abs/presets", line: 0, column: 0)
            ),
        ]
        return report
    }

    @Test func sarifHasOneRunWithTheReferencedRulesAndLocatedResults() throws {
        let text = Self.sampleReport().rendered(as: .sarif)
        let log = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(log["version"] as? String == "2.1.0")
        let runs = try #require(log["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        let run = runs[0]
        #expect(run["columnKind"] as? String == "unicodeCodePoints")
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect(driver["name"] as? String == "kaitoc")
        let rules = try #require(driver["rules"] as? [[String: Any]])
        #expect(rules.map { $0["id"] as? String } == ["KAITO-T14", "KAITOC-BF16", "KAITOC-QUOTA", "KAITOC-TARGET"])
        let t14 = rules[0]
        #expect(
            (t14["shortDescription"] as? [String: Any])?["text"] as? String
                == DiagnosticRules.rule(for: "KAITO-T14")?.summary
        )
        #expect(t14["helpUri"] as? String == DiagnosticRules.documentationPage + "#kaito-t14")
        #expect(((t14["help"] as? [String: Any])?["text"] as? String)?.contains("section 1.6") == true)
        #expect((rules[1]["defaultConfiguration"] as? [String: Any])?["level"] as? String == "warning")

        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == 4)
        for result in results {
            let index = try #require(result["ruleIndex"] as? Int)
            #expect(rules[index]["id"] as? String == result["ruleId"] as? String)
        }
        func physical(_ i: Int) -> [String: Any]? {
            ((results[i]["locations"] as? [[String: Any]])?.first)?["physicalLocation"] as? [String: Any]
        }
        let first = try #require(physical(0))
        #expect((first["artifactLocation"] as? [String: Any])?["uri"] as? String == "workspaces/a/bad.yaml")
        #expect((first["artifactLocation"] as? [String: Any])?["uriBaseId"] as? String == "%SRCROOT%")
        #expect((first["region"] as? [String: Any])?["startLine"] as? Int == 18)
        #expect((first["region"] as? [String: Any])?["startColumn"] as? Int == 12)
        #expect(
            (results[0]["message"] as? [String: Any])?["text"] as? String
                == "invalid value: Unable to parse output image reference: <bad> & \"quoted\"\nnote: a placeholder"
        )
        #expect(results[0]["level"] as? String == "error")
        // A line without a column: a region with the line only.
        let region = try #require(physical(1)?["region"] as? [String: Any])
        #expect(region["startLine"] as? Int == 3 && region["startColumn"] == nil)
        // A space in a path is percent-encoded; a warning keeps its level.
        #expect(
            (physical(2)?["artifactLocation"] as? [String: Any])?["uri"] as? String == "workspaces/b/odd%20name.yaml"
        )
        #expect(results[2]["level"] as? String == "warning")
        // An absolute path is a file URI; a whole-file diagnostic has no region.
        #expect((physical(3)?["artifactLocation"] as? [String: Any])?["uri"] as? String == "file:///abs/presets")
        #expect(physical(3)?["region"] == nil)
        let invocation = try #require((run["invocations"] as? [[String: Any]])?.first)
        #expect(invocation["executionSuccessful"] as? Bool == true)
        #expect(invocation["exitCode"] as? Int == 1)
    }

    @Test func sarifOfACleanReportHasNoRulesOrResults() throws {
        var report = CheckReport()
        report.checkedFiles = ["workspaces/a.yaml"]
        let log = try #require(
            try JSONSerialization.jsonObject(with: Data(report.rendered(as: .sarif).utf8)) as? [String: Any]
        )
        let run = try #require((log["runs"] as? [[String: Any]])?.first)
        #expect((run["results"] as? [Any])?.isEmpty == true)
        let driver = (run["tool"] as? [String: Any])?["driver"] as? [String: Any]
        #expect((driver?["rules"] as? [Any])?.isEmpty == true)
        #expect(((run["invocations"] as? [[String: Any]])?.first)?["exitCode"] as? Int == 0)
    }

    @Test func junitHasOneCasePerFileAndOneFailurePerFailingFile() throws {
        let xml = Self.sampleReport().rendered(as: .junit)
        #expect(
            xml.hasPrefix(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"kaitoc\" tests=\"4\" failures=\"2\" errors=\"0\">\n"
            )
        )
        #expect(xml.contains("<testsuite name=\"kaitoc check\" tests=\"4\" failures=\"2\" errors=\"0\" skipped=\"0\">"))
        // Path order: the absolute catalog path first, then the workspace files.
        let names = xml.split(separator: "\n").filter { $0.contains("<testcase ") }.map { line in
            String(line.split(separator: " name=\"")[1].prefix { $0 != "\"" })
        }
        #expect(
            names == ["/abs/presets", "workspaces/a/bad.yaml", "workspaces/a/good.yaml", "workspaces/b/odd name.yaml"]
        )
        #expect(xml.contains("<testcase classname=\"workspaces.a\" name=\"workspaces/a/good.yaml\"/>"))
        // The first error (in diagnostic order) names the failure; every error is in its text, escaped.
        #expect(
            xml.contains(
                "<failure type=\"KAITO-T14\" message=\"workspaces/a/bad.yaml:18:12: invalid value: Unable to parse output image reference: &lt;bad&gt; &amp; &quot;quoted&quot; (and 1 more error)\">"
            )
        )
        #expect(xml.contains("workspaces/a/bad.yaml:3: error: too many GPUs [KAITOC-QUOTA]\n</failure>"))
        #expect(xml.contains("note: a placeholder\n"))
        #expect(
            xml.contains(
                "<system-out>workspaces/b/odd name.yaml:9:3: warning: slow bfloat16 [KAITOC-BF16]\n</system-out>"
            )
        )
        #expect(!xml.contains("time="))
    }

    @Test func junitEscapesWhatXMLCannotCarry() {
        var report = CheckReport()
        report.diagnostics = [
            Diagnostic(
                .error,
                code: "KAITOC-YAML",
                message: "bad \u{1}byte\nline",
                location: SourceLocation(file: "a.yaml", line: 1, column: 1)
            )
        ]
        let xml = report.rendered(as: .junit)
        #expect(xml.contains("message=\"a.yaml:1:1: bad \u{FFFD}byte&#10;line\""))
        #expect(!xml.unicodeScalars.contains("\u{1}"))
    }

    @Test func formatsAreByteIdenticalForTheSameReport() {
        for format in [DiagnosticFormat.sarif, .junit] {
            #expect(Self.sampleReport().rendered(as: format) == Self.sampleReport().rendered(as: format))
        }
    }

    /// Every code a rule fixture raises has a registered rule, so SARIF output always carries help for it.
    @Test func everyCodeTheRuleFixturesRaiseIsRegistered() throws {
        var seen: Set<String> = []
        for rule in RuleCase.all where rule.isFailing {
            let content = try String(contentsOf: rule.source, encoding: .utf8)
            let root = try TestSupport.makeRepository(files: ["workspaces/\(rule.target)/\(rule.fileName)": content])
            defer { try? FileManager.default.removeItem(at: root) }
            let report = Checker.check(
                CheckOptions(repositoryRoot: root.path, presetsDirectory: TestSupport.testPresets.path)
            )
            seen.formUnion(report.diagnostics.map(\.code))
        }
        #expect(seen.count > 40)
        let unregistered = seen.filter { DiagnosticRules.rule(for: $0) == nil }
        #expect(unregistered.isEmpty, "codes without a rule in DiagnosticRules: \(unregistered.sorted())")
    }

    /// Every code in the sources (`DiagnosticCode`, `kaito("…")`, `rule: "…"`, `fail("…")`) is registered.
    @Test func everyCodeInTheSourcesIsRegistered() throws {
        let sources = TestSupport.repositoryRoot.appendingPathComponent("Sources/KaitoCore")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }
        var codes: Set<String> = []
        let patterns = [
            #/static let \w+ = "(KAITOC-[A-Z0-9-]+)"/#, #/kaito\(\s*"([A-Z0-9-]+)"/#, #/rule: "([A-Z0-9-]+)"/#,
            #/fail\("([A-Z0-9-]+)"/#, #/code: "KAITO-([A-Z0-9-]+)"/#,
        ]
        for file in files where file.hasSuffix(".swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for (index, pattern) in patterns.enumerated() {
                for match in text.matches(of: pattern) {
                    let code = String(match.output.1)
                    codes.insert(index == 0 ? code : "KAITO-" + code)
                }
            }
        }
        #expect(codes.count > 60)
        let unregistered = codes.filter { DiagnosticRules.rule(for: $0) == nil }
        #expect(unregistered.isEmpty, "codes without a rule in DiagnosticRules: \(unregistered.sorted())")
    }

    /// Every rule is documented in docs/diagnostics.md under a heading named after its code (the SARIF `helpUri`
    /// anchor), with its summary as the first paragraph.
    @Test func everyRuleIsDocumentedUnderItsOwnHeading() throws {
        let docs = try String(
            contentsOf: TestSupport.repositoryRoot.appendingPathComponent("docs/diagnostics.md"),
            encoding: .utf8
        )
        #expect(Set(DiagnosticRules.all.map(\.id)).count == DiagnosticRules.all.count)
        for rule in DiagnosticRules.all {
            #expect(
                docs.contains("\n#### \(rule.id)\n\n\(rule.summary)\n"),
                "\(rule.id) is not documented as in the registry"
            )
            #expect(rule.helpURI.hasSuffix("/docs/diagnostics.md#\(rule.id.lowercased())"))
        }
    }
}
