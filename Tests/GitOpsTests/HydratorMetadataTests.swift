import Foundation
import GitStore
import Testing

@testable import GitOps

/// Argo CD source hydrator compatibility (docs/reference/argocd-hydrator.md): the trailers, the JSON Argo CD's commit
/// server writes, and `kaitoc commit --branch` writing them into a real repository.
struct HydratorMetadataTests {
    /// The cases of Argo CD's `Test_GetReferences` (docs/reference/argocd-hydrator.md section 3).
    @Test func trailersAreParsedAsArgoCDParsesThem() {
        var (reference, body) = HydratorMetadata.references(in: "This is a commit message without trailers.")
        #expect(reference == nil && body == "This is a commit message without trailers.\n")

        let invalid = """
            Argocd-reference-commit-repourl: % invalid %
            Argocd-reference-commit-date: invalid-date
            Argocd-reference-commit-sha: xyz123
            Argocd-reference-commit-body: this isn't json
            Argocd-reference-commit-author: % not email %
            Argocd-reference-commit-bogus:
            """
        (reference, body) = HydratorMetadata.references(in: invalid)
        #expect(reference == nil && body == invalid + "\n")

        (reference, body) = HydratorMetadata.references(in: "Argocd-reference-commit-unknown: foobar")
        #expect(reference == nil && body == "Argocd-reference-commit-unknown: foobar\n")

        (reference, body) = HydratorMetadata.references(
            in: """
                Argocd-reference-commit-sha: abc123
                Argocd-reference-commit-repourl: % invalid %
                Argocd-reference-commit-date: invalid-date
                """
        )
        #expect(reference == HydratorMetadata.Reference(sha: "abc123"))
        #expect(body == "Argocd-reference-commit-repourl: % invalid %\nArgocd-reference-commit-date: invalid-date\n")

        (reference, body) = HydratorMetadata.references(
            in: """
                Argocd-reference-commit-repourl: https://github.com/org/repo.git
                Argocd-reference-commit-author: John Doe <john.doe@example.com>
                Argocd-reference-commit-date: 2025-06-09T13:50:18-04:00
                Argocd-reference-commit-subject: Fix bug
                Argocd-reference-commit-body: "Fix bug\\n\\nSome: trailer"
                Argocd-reference-commit-sha: abc123
                """
        )
        #expect(
            reference
                == HydratorMetadata.Reference(
                    author: "\"John Doe\" <john.doe@example.com>",
                    date: "2025-06-09T13:50:18-04:00",
                    subject: "Fix bug",
                    body: "Fix bug\n\nSome: trailer",
                    sha: "abc123",
                    repoURL: "https://github.com/org/repo.git"
                )
        )
        #expect(body == "")

        // A later trailer wins.
        (reference, body) = HydratorMetadata.references(
            in: "Argocd-reference-commit-repourl: https://github.com/org/repo.git\n"
                + "Argocd-reference-commit-repourl: https://github.com/another/repo.git"
        )
        #expect(reference == HydratorMetadata.Reference(repoURL: "https://github.com/another/repo.git") && body == "")
    }

    @Test func datesAndAddressesAreNormalisedAsGoDoes() {
        #expect(HydratorMetadata.normalizedRFC3339("2025-06-09T13:50:18-04:00") == "2025-06-09T13:50:18-04:00")
        #expect(HydratorMetadata.normalizedRFC3339("2025-06-09T13:50:18.123+00:00") == "2025-06-09T13:50:18Z")
        #expect(HydratorMetadata.normalizedRFC3339("2025-02-30T13:50:18Z") == nil)
        #expect(HydratorMetadata.normalizedRFC3339("2025-06-09 13:50:18Z") == nil)
        #expect(HydratorMetadata.rfc3339UTC(seconds: 0) == "1970-01-01T00:00:00Z")
        #expect(HydratorMetadata.rfc3339UTC(seconds: 1_749_491_418) == "2025-06-09T17:50:18Z")
        #expect(MailAddress(parsing: "jane@example.com")?.description == "<jane@example.com>")
        #expect(
            MailAddress(parsing: "\"Doe, Jane\" <jane@example.com>")?.description == "\"Doe, Jane\" <jane@example.com>"
        )
        #expect(MailAddress(parsing: "Zoë <zoe@example.com>")?.description == "=?utf-8?q?Zo=C3=AB?= <zoe@example.com>")
        #expect(MailAddress(parsing: "Jane <not an address>") == nil)
    }

    @Test func jsonIsWhatGoEncodingJSONWrites() {
        #expect(
            HydratorMetadata.path(repoURL: "https://example.com/r.git", drySha: "abc", commands: ["kaitoc build"])
                == "{\n  \"repoURL\": \"https://example.com/r.git\",\n  \"drySha\": \"abc\",\n  \"commands\": [\n    \"kaitoc build\"\n  ]\n}\n"
        )
        // No HTML escaping; control characters, quotes and U+2028 escaped the Go way.
        #expect(GoJSON.quoted("<a&b>\"\\\u{1}\u{8}\u{2028}é") == "\"<a&b>\\\"\\\\\\u0001\\b\\u2028é\"")
        #expect(HydratorMetadata.note(drySha: "abc") == "{\"drySha\":\"abc\"}")
    }

    @Test func commitOnABranchWritesTheHydratorFilesAndNote() throws {
        let repo = try GitFixture()
        try repo.seedQuickStarts()
        try repo.git([
            "commit", "-q", "--allow-empty", "-m", "Bump", "-m", "Body line.",
            "--trailer", "Argocd-reference-commit-author: Jane Doe <jane@example.com>",
            "--trailer", "Argocd-reference-commit-sha: b82add298aa045d3672880802d5305c5a8aaa46e",
            "--trailer", "Signed-off-by: Dev <dev@example.com>",
        ])
        let dry = try repo.git(["rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        var options = CommitOptions(repositoryPath: repo.root.path, renderedBranch: "rendered/main")
        options.repositoryURL = "https://example.com/config.git"
        guard case .committed = try CommitWorkflow.run(options) else {
            Issue.record("expected a commit")
            return
        }
        let root = try repo.git(["show", "rendered/main:hydrator.metadata"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(root.utf8)) as? [String: Any])
        #expect(json["drySha"] as? String == dry)
        #expect(json["repoURL"] as? String == "https://example.com/config.git")
        #expect(json["subject"] as? String == "Bump")
        #expect(json["body"] as? String == "Body line.\n\nSigned-off-by: Dev <dev@example.com>\n")
        #expect(json["author"] as? String == "Dev <dev@example.com>")
        let reference = ((json["references"] as? [[String: Any]])?.first?["commit"]) as? [String: Any]
        #expect(reference?["author"] as? String == "\"Jane Doe\" <jane@example.com>")
        #expect(reference?["sha"] as? String == "b82add298aa045d3672880802d5305c5a8aaa46e")
        let path = try repo.git(["show", "rendered/main:out/quickstart/hydrator.metadata"])
        #expect(
            path
                == HydratorMetadata.path(
                    repoURL: "https://example.com/config.git",
                    drySha: dry,
                    commands: ["kaitoc build --target quickstart"]
                )
        )
        let note = try repo.git(["notes", "--ref", "hydrator.metadata", "show", "rendered/main"])
        #expect(note.trimmingCharacters(in: .whitespacesAndNewlines) == "{\"drySha\":\"\(dry)\"}")
        #expect(
            try repo.git(["log", "-1", "--format=%B", "rendered/main"]).contains(
                "Co-authored-by: \"Jane Doe\" <jane@example.com>"
            )
        )

        // An empty dry commit changes no manifest: no commit, the note moves on (Argo CD's no-op hydration).
        let head = try repo.git(["rev-parse", "rendered/main"])
        try repo.git(["commit", "-q", "--allow-empty", "-m", "Nothing"])
        let second = try repo.git(["rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        guard case .nothingToCommit = try CommitWorkflow.run(options) else {
            Issue.record("expected nothing to commit")
            return
        }
        #expect(try repo.git(["rev-parse", "rendered/main"]) == head)
        let moved = try repo.git(["notes", "--ref", "hydrator.metadata", "show", "rendered/main"])
        #expect(moved.trimmingCharacters(in: .whitespacesAndNewlines) == "{\"drySha\":\"\(second)\"}")

        // A change outside the manifests: a new commit; the target's metadata is kept (its manifests did not change).
        try repo.write("README.md", "docs\n")
        try repo.git(["add", "-A"])
        try repo.git(["commit", "-q", "-m", "Docs"])
        guard case .committed = try CommitWorkflow.run(options) else {
            Issue.record("expected a commit")
            return
        }
        #expect(try repo.git(["show", "rendered/main:out/quickstart/hydrator.metadata"]) == path)
        #expect(try repo.git(["show", "rendered/main:hydrator.metadata"]).contains("\"subject\": \"Docs\""))

        // Off: nothing of the hydrator.
        var off = options
        off.hydratorMetadata = false
        off.renderedBranch = "rendered/plain"
        _ = try CommitWorkflow.run(off)
        let files = try repo.git(["ls-tree", "-r", "--name-only", "rendered/plain"])
        #expect(!files.contains("hydrator.metadata"))
    }
}
