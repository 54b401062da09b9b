#!/usr/bin/env python3
"""End-to-end checks of kaitoc's machine-readable outputs against independent referees (docs/diagnostics.md).

* SARIF: `kaitoc check --format sarif` and `--output-sarif FILE` validate against the official OASIS SARIF 2.1.0
  JSON schema (Tests/Schemas/sarif/, errata 01) with `jsonschema`, and `sarif-tools` (a SARIF consumer) reads every
  result back with its rule, file, line and severity.
* JUnit: `--format junit` and `--output-junit FILE` validate against the Jenkins xUnit plugin's junit-10.xsd
  (Tests/Schemas/junit/) with `xmlschema`.
* Several formats in one run write byte-identical reports to what each format prints alone.
Each referee is also shown to reject a broken document, so that a pass means something.

Usage: scripts/format_tests.py PATH/TO/kaitoc   (run with the test venv's python)
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import jsonschema
import xmlschema
from sarif import loader as sarif_loader

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SARIF_SCHEMA = os.path.join(REPO, "Tests", "Schemas", "sarif", "sarif-schema-2.1.0.json")
JUNIT_XSD = os.path.join(REPO, "Tests", "Schemas", "junit", "junit-10.xsd")

BAD_WORKSPACE = """\
apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: bad-one
resource:
  instanceType: "Standard_NC6s_v3"
  labelSelector:
    matchLabels:
      app: bad-one
tuning:
  preset:
    name: phi-3-mini-128k-instruct
  method: qlora
  input:
    urls:
      - "https://example.com/train.parquet"
  output:
    image: "ACR_REPO_HERE.azurecr.io/IMAGE_NAME_HERE:0.0.1"
    imagePushSecret: ACR_REGISTRY_SECRET_HERE
"""

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {name}" + (f": {detail}" if detail else ""))


def run(kaitoc, cwd, *args):
    return subprocess.run([kaitoc, "check", *args], cwd=cwd, capture_output=True, text=True)


def sarif_errors(validator, document):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def check_sarif(name, path, validator, expected_codes, expected_files):
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    errors = sarif_errors(validator, document)
    check(f"{name}: SARIF schema", not errors, "; ".join(errors[:5]))
    check(f"{name}: one run", len(document.get("runs", [])) == 1)
    # Read back by sarif-tools, a SARIF consumer.
    sarif_file = sarif_loader.load_sarif_file(path)
    check(f"{name}: sarif-tools tool name", sarif_file.get_distinct_tool_names() == ["kaitoc"])
    records = sarif_file.get_records()
    check(f"{name}: sarif-tools reads every result", len(records) == len(document["runs"][0]["results"]))
    codes = {r["Code"] for r in records}
    check(f"{name}: rule ids read back", expected_codes <= codes, f"{sorted(codes)}")
    files = {r["Location"] for r in records}
    check(f"{name}: files read back", expected_files <= files, f"{sorted(files)}")
    for code in codes:
        rules = sarif_file.get_rules_by_id(code)
        check(f"{name}: rule {code} with help", len(rules) == 1 and rules[0].get("helpUri", "").endswith(
            "docs/diagnostics.md#" + code.lower()), f"{rules}")
    return document, records


def check_junit(name, path, schema, expected_failures):
    errors = list(schema.iter_errors(path))
    check(f"{name}: JUnit XSD", not errors, "; ".join(str(e.reason) for e in errors[:5]))
    root = ET.parse(path).getroot()
    check(f"{name}: root is testsuites", root.tag == "testsuites", root.tag)
    failures = [case.get("name") for case in root.iter("testcase") if case.find("failure") is not None]
    check(f"{name}: failing files", failures == expected_failures, f"{failures}")
    return root


def main():
    kaitoc = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/kaitoc")
    with open(SARIF_SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    junit_schema = xmlschema.XMLSchema(JUNIT_XSD)

    tmp = tempfile.mkdtemp()
    try:
        # The shipped repository: clean, with bfloat16 warnings.
        sarif_path = os.path.join(tmp, "shipped.sarif")
        junit_path = os.path.join(tmp, "shipped.xml")
        result = run(kaitoc, REPO, "--output-sarif", sarif_path, "--output-junit", junit_path)
        check("shipped: exit 0", result.returncode == 0, result.stderr)
        check("shipped: text on stdout", "0 errors" in result.stdout)
        document, records = check_sarif("shipped", sarif_path, validator, {"KAITOC-BF16"}, set())
        check("shipped: warnings only", {r["Severity"] for r in records} == {"warning"}, f"{records[:3]}")
        root = check_junit("shipped", junit_path, junit_schema, [])
        workspace_files = sum(len(files) for _, _, files in os.walk(os.path.join(REPO, "workspaces")))
        check("shipped: a case per file", len(list(root.iter("testcase"))) == workspace_files)

        # A repository with an error: both formats on stdout and as extra outputs of a text run.
        repo = os.path.join(tmp, "repo")
        os.makedirs(os.path.join(repo, "workspaces", "quickstart"))
        shutil.copytree(os.path.join(REPO, "presets"), os.path.join(repo, "presets"))
        with open(os.path.join(repo, "workspaces", "quickstart", "bad.yaml"), "w", encoding="utf-8") as f:
            f.write(BAD_WORKSPACE)
        sarif_path = os.path.join(tmp, "bad.sarif")
        junit_path = os.path.join(tmp, "bad.xml")
        result = run(kaitoc, repo, "--format", "text", "--output-sarif", sarif_path, "--output-junit", junit_path)
        check("bad: exit 1 with reports", result.returncode == 1, result.stderr)
        check("bad: text on stdout", "[KAITO-T14]" in result.stdout and "1 error" in result.stdout)
        document, records = check_sarif(
            "bad", sarif_path, validator, {"KAITO-T14"}, {"workspaces/quickstart/bad.yaml"}
        )
        t14 = [r for r in records if r["Code"] == "KAITO-T14"]
        check("bad: T14 line and severity", len(t14) == 1 and t14[0]["Line"] == 18 and t14[0]["Severity"] == "error",
              f"{t14}")
        t14_result = next(r for r in document["runs"][0]["results"] if r["ruleId"] == "KAITO-T14")
        region = t14_result["locations"][0]["physicalLocation"]["region"]
        check("bad: region", region == {"startLine": 18, "startColumn": 12}, f"{region}")
        check_junit("bad", junit_path, junit_schema, ["workspaces/quickstart/bad.yaml"])

        stdout_sarif = run(kaitoc, repo, "--format", "sarif")
        check("bad: --format sarif exit", stdout_sarif.returncode == 1)
        with open(sarif_path, encoding="utf-8") as f:
            check("bad: --output-sarif equals --format sarif", f.read() == stdout_sarif.stdout)
        stdout_junit = run(kaitoc, repo, "--format", "junit")
        with open(junit_path, encoding="utf-8") as f:
            check("bad: --output-junit equals --format junit", f.read() == stdout_junit.stdout)
        check("bad: deterministic", run(kaitoc, repo, "--format", "sarif").stdout == stdout_sarif.stdout)

        result = run(kaitoc, repo, "--output-sarif", os.path.join(tmp, "missing", "x.sarif"))
        check("unwritable report is exit 2", result.returncode == 2, result.stderr)
        result = run(kaitoc, repo, "--output-sarif", sarif_path, "--output-junit", sarif_path)
        check("same file twice is exit 2", result.returncode == 2, result.stderr)

        # The referees reject broken documents.
        broken = copy.deepcopy(document)
        broken["runs"][0]["results"][0]["level"] = "fatal"
        check("schema rejects a bad level", bool(sarif_errors(validator, broken)))
        broken = copy.deepcopy(document)
        del broken["runs"][0]["tool"]["driver"]["name"]
        check("schema rejects a driver without name", bool(sarif_errors(validator, broken)))
        broken = copy.deepcopy(document)
        broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
        check("schema rejects line 0", bool(sarif_errors(validator, broken)))
        with open(junit_path, encoding="utf-8") as f:
            bad_xml = f.read().replace('<testcase classname="workspaces.quickstart" name=', "<testcase label=")
        broken_path = os.path.join(tmp, "broken.xml")
        with open(broken_path, "w", encoding="utf-8") as f:
            f.write(bad_xml)
        check("XSD rejects a testcase without name", not junit_schema.is_valid(broken_path))
    finally:
        shutil.rmtree(tmp)
    print(f"formats: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
