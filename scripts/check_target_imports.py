#!/usr/bin/env python3
"""Every target imports only what Package.swift declares for it (issue 15: explicit target dependencies).

SwiftPM builds every module into one folder, so a target can import a sibling module it reaches only through another
target's dependencies (GitOps importing YAML through KaitoCore); `--explicit-target-dependency-import-check` does not
flag such transitive imports. This script compares each target's `import` lines with its declared dependencies.
Usage: scripts/check_target_imports.py [SWIFT]   (exit status 1 with one line per undeclared import)
"""
import json
import os
import re
import subprocess
import sys

# Modules of the toolchain and the system, not targets.
SYSTEM = {
    "Foundation", "FoundationEssentials", "FoundationInternationalization", "FoundationNetworking", "Glibc", "Musl",
    "Darwin", "Dispatch", "Synchronization", "Testing", "XCTest", "_Concurrency", "RegexBuilder", "Observation",
}
IMPORT = re.compile(
    r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:public |internal |package |private |fileprivate )?import\s+"
    r"(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?(\w+)",
    re.M,
)


def main():
    swift = sys.argv[1] if len(sys.argv) > 1 else "swift"
    manifest = json.loads(subprocess.run([swift, "package", "dump-package"], capture_output=True, check=True).stdout)
    problems = []
    for target in manifest["targets"]:
        if target["type"] == "system":
            continue
        declared = set()
        for dependency in target["dependencies"]:
            kind, value = next(iter(dependency.items()))
            declared.add(value[0])
        folder = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", target["name"])
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                if not name.endswith(".swift"):
                    continue
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                for module in sorted(set(IMPORT.findall(text))):
                    if module not in declared and module not in SYSTEM and module != target["name"]:
                        problems.append(f"{path}: imports {module}, which target {target['name']} does not declare")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


sys.exit(main())
