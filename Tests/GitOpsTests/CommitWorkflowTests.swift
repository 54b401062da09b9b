import Foundation
import GitOps
import GitStore
import KaitoCore
import Testing

/// `kaitoc commit` against real temporary repositories, checked with the `git` command line (issue 4).
struct CommitWorkflowTests {
    @Test func commitsOnTheSameBranchWithTrailersAndParent() throws {
        let repo = try GitFixture()
        try repo.seedQuickStarts()
        let source = try repo.git(["rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let result = try CommitWorkflow.run(CommitOptions(repositoryPath: repo.root.path))
        guard case .committed(let commit, let branch, _) = result else {
            Issue.record("expected a commit, got \(result)")
            return
        }
        #expect(branch == "refs/heads/main")
        #expect(try repo.git(["rev-parse", "HEAD"]).hasPrefix(commit.description))
        #expect(try repo.git(["log", "-1", "--format=%P"]).trimmingCharacters(in: .whitespacesAndNewlines) == source)
        #expect(try repo.git(["log", "-1", "--format=%s"]).hasPrefix("\(source.prefix(7)): Add quick starts"))
        let trailer = try repo.git(["log", "-1", "--format=%(trailers:key=Kaitoc-Source,valueonly)"])
        #expect(trailer.trimmingCharacters(in: .whitespacesAndNewlines) == source)
        let files = try repo.git(["ls-tree", "-r", "--name-only", "HEAD", "out/"]).split(separator: "\n")
        #expect(files.contains("out/quickstart/kustomization.yaml"))
        #expect(files.contains("out/quickstart/default/workspace-tuning-phi-3/job-workspace-tuning-phi-3.yaml"))
        // The checked-out working tree follows the branch.
        #expect(try repo.git(["status", "--porcelain"]).isEmpty)
    }

    @Test func noCommitWhenNothingChangedAndNoLoops() throws {
        let repo = try GitFixture()
        try repo.seedQuickStarts()
        _ = try CommitWorkflow.run(CommitOptions(repositoryPath: repo.root.path))
        let head = try repo.git(["rev-parse", "HEAD"])
        // Its own commit: the loop guard.
        guard case .loopGuard = try CommitWorkflow.run(CommitOptions(repositoryPath: repo.root.path)) else {
            Issue.record("expected the loop guard")
            return
        }
        // A commit that only touches out/ (a hand-made note): also a loop.
        try repo.write("out/NOTES.md", "hand-made\n")
        try repo.git(["add", "-A"])
        try repo.git(["commit", "-q", "-m", "Notes in out"])
        guard case .loopGuard = try CommitWorkflow.run(CommitOptions(repositoryPath: repo.root.path)) else {
            Issue.record("expected the loop guard for an out/-only commit")
            return
        }
        // A change outside workspaces/: nothing to render, no commit.
        try repo.write("README.md", "docs\n")
        try repo.git(["add", "-A"])
        try repo.git(["commit", "-q", "-m", "Docs"])
        let before = try repo.git(["rev-parse", "HEAD"])
        guard case .nothingToCommit = try CommitWorkflow.run(CommitOptions(repositoryPath: repo.root.path)) else {
            Issue.record("expected nothing to commit")
            return
        }
        #expect(try repo.git(["rev-parse", "HEAD"]) == before)
        #expect(head != before)
        // The hand-made file in out/ survives re-rendering.
        try repo.write(
            "workspaces/quickstart/workspace-phi-3-mini.yaml",
            try String(
                contentsOf: repo.root.appendingPathComponent("workspaces/quickstart/workspace-phi-3-mini.yaml"),
                encoding: .utf8
            ).replacingOccurrences(of: "apps: phi-3", with: "apps: phi-3-v2")
        )
        try repo.git(["commit", "-q", "-am", "Relabel"])
        guard case .committed = try CommitWorkflow.run(CommitOptions(repositoryPath: repo.root.path)) else {
            Issue.record("expected a commit")
            return
        }
        #expect(try repo.git(["show", "HEAD:out/NOTES.md"]) == "hand-made\n")
        #expect(
            try repo.git([
                "show", "HEAD:out/quickstart/default/workspace-phi-3-mini/deployment-workspace-phi-3-mini.yaml",
            ]).contains("phi-3-v2")
        )
    }

    @Test func rendersOntoASeparateBranchOneCommitPerSource() throws {
        let repo = try GitFixture(bare: false)
        try repo.seedQuickStarts()
        let first = try repo.git(["rev-parse", "--short=7", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try CommitWorkflow.run(CommitOptions(repositoryPath: repo.root.path, renderedBranch: "rendered/main"))
        try repo.write(
            "workspaces/quickstart/extra.yaml",
            try String(
                contentsOf: repo.root.appendingPathComponent("workspaces/quickstart/workspace-phi-3-mini.yaml"),
                encoding: .utf8
            ).replacingOccurrences(of: "name: workspace-phi-3-mini", with: "name: workspace-phi-3-mini-2")
        )
        try repo.git(["add", "-A"])
        try repo.git(["commit", "-q", "-m", "Second"])
        _ = try CommitWorkflow.run(CommitOptions(repositoryPath: repo.root.path, renderedBranch: "rendered/main"))
        guard
            case .nothingToCommit = try CommitWorkflow.run(
                CommitOptions(repositoryPath: repo.root.path, renderedBranch: "rendered/main")
            )
        else {
            Issue.record("a second run for the same source commits nothing")
            return
        }
        let log = try repo.git(["log", "--format=%s", "rendered/main"]).split(separator: "\n")
        #expect(log.count == 2)
        #expect(log.last?.hasPrefix("\(first): Add quick starts") == true)
        #expect(log.first?.hasSuffix(": Second") == true)
        // The source branch is untouched.
        #expect(try repo.git(["log", "--format=%s", "main"]).split(separator: "\n").first == "Second")
        #expect(
            try repo.git(["ls-tree", "-r", "--name-only", "rendered/main", "out/"]).contains("workspace-phi-3-mini-2")
        )
    }

    @Test func worksInABareRepository() throws {
        let work = try GitFixture()
        try work.seedQuickStarts()
        let bare = try GitFixture(bare: true)
        try work.git(["push", "-q", bare.root.path, "main"])
        let result = try CommitWorkflow.run(
            CommitOptions(repositoryPath: bare.root.path, author: Signature(name: "Bot", email: "bot@example.com"))
        )
        guard case .committed = result else {
            Issue.record("expected a commit in the bare repository, got \(result)")
            return
        }
        #expect(
            try bare.git(["log", "-1", "--format=%an <%ae>"]).trimmingCharacters(in: .whitespacesAndNewlines)
                == "Bot <bot@example.com>"
        )
    }

    @Test func checkErrorsCommitNothing() throws {
        let repo = try GitFixture()
        try repo.seedQuickStarts()
        try repo.write(
            "workspaces/quickstart/bad.yaml",
            "apiVersion: kaito.sh/v1alpha1\nkind: Workspace\nmetadata:\n  name: Bad_Name\n"
        )
        try repo.git(["add", "-A"])
        try repo.git(["commit", "-q", "-m", "Bad"])
        let head = try repo.git(["rev-parse", "HEAD"])
        guard case .checkFailed(let report) = try CommitWorkflow.run(CommitOptions(repositoryPath: repo.root.path))
        else {
            Issue.record("expected check errors")
            return
        }
        #expect(
            report.diagnostics.contains {
                $0.code == "KAITO-V1" && $0.location.file == "workspaces/quickstart/bad.yaml"
            }
        )
        #expect(try repo.git(["rev-parse", "HEAD"]) == head)
    }

    @Test func badInputsAreOneLineErrors() throws {
        let notRepo = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kaitoc-norepo-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: notRepo, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: notRepo) }
        #expect(throws: GitOpsError.self) { _ = try CommitWorkflow.run(CommitOptions(repositoryPath: notRepo.path)) }

        let unborn = try GitFixture()
        #expect { _ = try CommitWorkflow.run(CommitOptions(repositoryPath: unborn.root.path)) } throws: { error in
            (error as? GitOpsError)?.message.contains("unborn") == true
        }

        let repo = try GitFixture()
        try repo.seedQuickStarts()
        #expect {
            _ = try CommitWorkflow.run(
                CommitOptions(
                    repositoryPath: repo.root.path,
                    revision: "no-such-branch",
                    renderedBranch: "rendered/main"
                )
            )
        } throws: { error in
            (error as? GitOpsError)?.message.contains("unknown revision") == true
        }
        try repo.git(["checkout", "-q", "--detach"])
        #expect { _ = try CommitWorkflow.run(CommitOptions(repositoryPath: repo.root.path)) } throws: { error in
            (error as? GitOpsError)?.message.contains("detached") == true
        }
        try repo.git(["checkout", "-q", "main"])
        try repo.write(".git/index.lock", "")
        let head = try repo.git(["rev-parse", "HEAD"])
        #expect { _ = try CommitWorkflow.run(CommitOptions(repositoryPath: repo.root.path)) } throws: { error in
            (error as? GitOpsError)?.message.contains("locked") == true
        }
        #expect(try repo.git(["rev-parse", "HEAD"]) == head)
        // No workspaces/ folder at all.
        let empty = try GitFixture()
        try empty.write("README.md", "x\n")
        try empty.git(["add", "-A"])
        try empty.git(["commit", "-q", "-m", "Init"])
        #expect(throws: GitOpsError.self) { _ = try CommitWorkflow.run(CommitOptions(repositoryPath: empty.root.path)) }
    }

    @Test func stagedCheckJudgesTheIndexNotTheWorkingTree() throws {
        let repo = try GitFixture()
        try repo.seedQuickStarts()
        let path = "workspaces/quickstart/workspace-phi-3-mini.yaml"
        let good = try String(contentsOf: repo.root.appendingPathComponent(path), encoding: .utf8)
        try repo.write(path, good.replacingOccurrences(of: "phi-3-mini-4k-instruct", with: "phi-3-mini-4k-instrct"))
        try repo.git(["add", path])
        try repo.write(path, good)  // fixed in the working tree, but not staged
        let bad = try StagedCheck.run(repositoryPath: repo.root.path)
        #expect(bad.diagnostics.contains { $0.code == "KAITO-I3" && $0.location.file == path })
        try repo.git(["add", path])
        #expect(try !StagedCheck.run(repositoryPath: repo.root.path).hasErrors)
    }
}

struct PushTests {
    @Test func pushesToABareRemoteAndReportsARejection() throws {
        let remote = try GitFixture(bare: true)
        let repo = try GitFixture()
        try repo.seedQuickStarts()
        try repo.git(["push", "-q", remote.root.path, "main"])
        var options = CommitOptions(repositoryPath: repo.root.path)
        options.pushRemote = remote.root.path
        guard case .committed(let commit, _, _) = try CommitWorkflow.run(options) else {
            Issue.record("expected a commit")
            return
        }
        #expect(try remote.git(["rev-parse", "main"]).hasPrefix(commit.description))

        // Someone else pushes first: our next push is not a fast-forward and is rejected, clearly.
        let other = try GitFixture()
        try other.git(["pull", "-q", remote.root.path, "main"])
        try other.write("README.md", "other\n")
        try other.git(["add", "-A"])
        try other.git(["commit", "-q", "-m", "Other"])
        try other.git(["push", "-q", remote.root.path, "main"])
        try repo.write(
            "workspaces/quickstart/workspace-phi-3-mini.yaml",
            try String(
                contentsOf: repo.root.appendingPathComponent("workspaces/quickstart/workspace-phi-3-mini.yaml"),
                encoding: .utf8
            ).replacingOccurrences(of: "apps: phi-3", with: "apps: phi-3-b")
        )
        try repo.git(["commit", "-q", "-am", "Change"])
        #expect { _ = try CommitWorkflow.run(options) } throws: { error in
            guard let error = error as? GitOpsError else { return false }
            return error.message.contains("push")
                && (error.message.contains("rejected") || error.message.contains("failed"))
        }
        #expect(
            try remote.git(["log", "-1", "--format=%s", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
                == "Other"
        )
    }
}

struct DiffTests {
    @Test func reportsChangesAndWhatASyncCannotPatch() throws {
        let repo = try GitFixture()
        try repo.seedQuickStarts()
        try FileManager.default.createDirectory(
            at: repo.root.appendingPathComponent("workspaces/aks-prod"),
            withIntermediateDirectories: true
        )
        let source = GitFixture.repositoryRoot.appendingPathComponent("workspaces/aks-prod/workspace-phi-4-mini.yaml")
        let text = try String(contentsOf: source, encoding: .utf8)
        try repo.write("workspaces/aks-prod/workspace-phi-4-mini.yaml", text)
        try repo.git(["add", "-A"])
        try repo.git(["commit", "-q", "-m", "Phi-4 mini"])
        _ = try CommitWorkflow.run(CommitOptions(repositoryPath: repo.root.path))
        guard case .success(let none) = try ManifestDiff.run(repositoryPath: repo.root.path) else {
            Issue.record("expected no check errors")
            return
        }
        #expect(none.isEmpty)
        // A10 nodes have no local NVMe: the weights move from a PVC template to an emptyDir.
        try repo.write(
            "workspaces/aks-prod/workspace-phi-4-mini.yaml",
            text.replacingOccurrences(of: "Standard_NC24ads_A100_v4", with: "Standard_NV72ads_A10_v5")
        )
        guard case .success(let changes) = try ManifestDiff.run(repositoryPath: repo.root.path) else {
            Issue.record("expected no check errors")
            return
        }
        let statefulSet = try #require(changes.first { $0.path.hasSuffix("statefulset-workspace-phi-4-mini.yaml") })
        #expect(statefulSet.kind == .changed)
        #expect(statefulSet.warnings.contains { $0.contains("spec.volumeClaimTemplates cannot be updated in place") })
        #expect(statefulSet.diff.contains("-  volumeClaimTemplates:"))
        #expect(
            statefulSet.diff.contains("+        - --gpu-memory-utilization=0.82")
                || statefulSet.diff.contains("gpu-memory-utilization=0.82")
        )
        let claim = try #require(changes.first { $0.path.contains("/_cluster/nodeclaim-") })
        #expect(
            claim.warnings.contains {
                $0.contains("instance type changes from Standard_NC24ads_A100_v4 to Standard_NV72ads_A10_v5")
            }
        )
        // A removed workspace prunes its objects.
        try FileManager.default.removeItem(
            at: repo.root.appendingPathComponent("workspaces/aks-prod/workspace-phi-4-mini.yaml")
        )
        guard case .success(let pruned) = try ManifestDiff.run(repositoryPath: repo.root.path) else {
            Issue.record("expected no check errors")
            return
        }
        #expect(
            pruned.contains {
                $0.kind == .pruned && $0.path.contains("nodeclaim-")
                    && $0.warnings.first?.contains("deprovisions") == true
            }
        )
    }
}
