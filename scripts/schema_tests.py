#!/usr/bin/env python3
"""Checks of the JSON Schemas `kaitoc schema` writes (docs/schemas.md), with `jsonschema` as the referee.

* The schemas are valid draft-07 schemas, in the CRDs-catalog layout ({group}/{kind}_{version}.json), and the same
  catalog gives byte-identical files.
* Every Workspace in workspaces/, in the render fixtures and in the passing rule fixtures (each passes kaitoc check
  with no error) validates against the schema of its apiVersion, generated from the catalog it is checked with; so do
  the catalog files of presets/ and the test catalog, and an InferenceSet like Kaito's example.
* Known-bad documents are rejected: every failing rule fixture of a rule a schema can express (unknown fields, wrong
  types, webhook rules V1, C1, C2, I3, I10, A1, T11, T17), and hand-made typos of a preset name and an instance type
  (the enums from the catalog). Names are matched in any letter case, as Kaito does; what depends on the target (an
  instance type of another cloud or release, KAITOC-SKU) is left to kaitoc check.

Usage: scripts/schema_tests.py PATH/TO/kaitoc   (run with the test venv's python)
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FIXTURES = os.path.join(REPO, "Tests", "KaitoCoreTests", "Fixtures")

# Failing rule fixtures whose rule a schema expresses; each must be rejected. Rules that need the catalog per target,
# cross-document facts or arithmetic (quotas, estimator, GPU memory, cloud of an instance type) are not schema rules.
SCHEMA_RULES = {
    "KAITOC-UNKNOWN-FIELD", "KAITOC-SCHEMA", "KAITO-V1", "KAITO-C1", "KAITO-C2", "KAITO-I10", "KAITO-A1",
    "KAITO-T11", "KAITO-T17", "KAITO-I3",
}

# Failing fixtures of those rules that fail only for their target, which a target-independent schema cannot know.
TARGET_DEPENDENT = {
    "classic/KAITO-I3.case.fail.yaml": "a preset name in other letter case: Kaito before v0.11 compares names exactly",
}

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {name}" + (f": {detail}" if detail else ""))


def generate(kaitoc, presets, out):
    result = subprocess.run([kaitoc, "schema", out, "--presets", presets], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"kaitoc schema failed: {result.stdout}{result.stderr}")
    validators = {}
    for path in glob.glob(os.path.join(out, "**", "*.json"), recursive=True):
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft7Validator.check_schema(schema)
        validators[os.path.relpath(path, out)] = jsonschema.Draft7Validator(schema)
    return validators


def schema_for(document):
    """The CRDs-catalog path of a Kubernetes document, or the kaitoc/ path of a catalog file."""
    if not isinstance(document, dict):
        return None
    api, kind = document.get("apiVersion"), document.get("kind")
    if api and "/" in api and kind:
        group, version = api.split("/", 1)
        return f"{group}/{kind.lower()}_{version}.json"
    if kind in ("TargetList", "ModelCatalog", "InstanceTypeCatalog", "PriceList") and not api:
        return f"kaitoc/{kind.lower()}.json"
    return None


def documents(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def errors(validators, document):
    key = schema_for(document)
    if key not in validators:
        return None
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validators[key].iter_errors(document)]


def expect_valid(name, validators, files, kinds=("Workspace",)):
    count = 0
    for path in files:
        for document in documents(path):
            if not isinstance(document, dict) or document.get("kind") not in kinds:
                continue
            found = errors(validators, document)
            check(f"{name}: {os.path.relpath(path, REPO)} has a schema", found is not None, schema_for(document))
            if found is not None:
                check(f"{name}: {os.path.relpath(path, REPO)} validates", not found, "; ".join(found[:3]))
                count += 1
    return count


def test_presets(tmp):
    """The catalog of the Swift tests (TestSupport.testPresets): shipped models and SKUs plus the test targets."""
    presets = os.path.join(tmp, "test-presets")
    shutil.copytree(os.path.join(REPO, "presets", "models"), os.path.join(presets, "models"))
    for name in ("skus.yaml", "cpu-skus.yaml"):
        shutil.copy(os.path.join(REPO, "presets", name), presets)
    for name in ("targets.yaml", "extra-models.yaml"):
        shutil.copy(os.path.join(FIXTURES, name), presets)
    return presets


INFERENCE_SET = {
    "apiVersion": "kaito.sh/v1beta1",
    "kind": "InferenceSet",
    "metadata": {"name": "llama-3-1-8b"},
    "spec": {
        "replicas": 2,
        "nodeCountLimit": 10,
        "labelSelector": {"matchLabels": {"apps": "llama-3-1-8b"}},
        "template": {
            "resource": {"instanceType": "Standard_NC24ads_A100_v4"},
            "inference": {
                "preset": {"name": "llama-3.1-8b-instruct", "presetOptions": {"modelAccessSecret": "hf-token"}}
            },
        },
    },
}


def main():
    kaitoc = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/kaitoc")
    tmp = tempfile.mkdtemp()
    try:
        shipped = generate(kaitoc, os.path.join(REPO, "presets"), os.path.join(tmp, "shipped"))
        expected = {
            "kaito.sh/workspace_v1alpha1.json", "kaito.sh/workspace_v1beta1.json",
            "kaito.sh/inferenceset_v1alpha1.json", "kaito.sh/inferenceset_v1beta1.json",
            "kaitoc/targetlist.json", "kaitoc/modelcatalog.json", "kaitoc/instancetypecatalog.json",
            "kaitoc/pricelist.json",
        }
        check("layout", set(shipped) == expected, f"{sorted(shipped)}")
        generate(kaitoc, os.path.join(REPO, "presets"), os.path.join(tmp, "again"))
        same = all(
            open(os.path.join(tmp, "shipped", p), "rb").read() == open(os.path.join(tmp, "again", p), "rb").read()
            for p in expected
        )
        check("deterministic", same)
        with open(os.path.join(tmp, "shipped", "kaito.sh", "workspace_v1beta1.json"), encoding="utf-8") as f:
            beta = json.load(f)
        enum = beta["properties"]["resource"]["properties"]["instanceType"]["anyOf"][0]["enum"]
        check("instance types from the catalog", "Standard_NC24ads_A100_v4" in enum and "Standard_D8s_v5" in enum)
        names = beta["properties"]["inference"]["properties"]["preset"]["properties"]["name"]["anyOf"][0]["enum"]
        check("preset names and aliases from the catalog", "microsoft/phi-4" in names and "phi-4" in names)

        # The example of docs/schemas.md: its modeline names a schema kaitoc schema writes (into schemas/, which is
        # generated and not committed), and it validates.
        with open(os.path.join(REPO, "docs", "schemas.md"), encoding="utf-8") as f:
            example = f.read().split("```yaml\n", 1)[1].split("```", 1)[0]
        modeline = example.splitlines()[0]
        target = modeline.split("$schema=", 1)[1].strip() if "$schema=" in modeline else ""
        prefix = "../../schemas/"
        check("docs example: the modeline names a written schema",
              target.startswith(prefix) and target[len(prefix):] in expected, target)
        found = errors(shipped, yaml.safe_load(example))
        check("docs example validates", found == [], f"{found}")

        # Every workspace and catalog file of the repository.
        repo_files = sorted(glob.glob(os.path.join(REPO, "workspaces", "**", "*.yaml"), recursive=True))
        count = expect_valid("repository", shipped, repo_files)
        check("repository: every workspace validated", count >= 5, f"{count}")
        catalog_files = sorted(glob.glob(os.path.join(REPO, "presets", "**", "*.yaml"), recursive=True))
        count = expect_valid("presets", shipped, catalog_files, kinds=("TargetList", "ModelCatalog", "InstanceTypeCatalog"))
        check("presets: every catalog file validated", count == len(catalog_files), f"{count}")
        # The PriceList example of presets/README.md validates; one without its source does not.
        with open(os.path.join(REPO, "presets", "README.md"), encoding="utf-8") as f:
            prices = yaml.safe_load(f.read().split("## PriceList", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0])
        check("presets/README.md PriceList example validates", errors(shipped, prices) == [], f"{errors(shipped, prices)}")
        unsourced = {k: v for k, v in prices.items() if k != "source"}
        check("a PriceList without its source is rejected", bool(errors(shipped, unsourced)))
        found = errors(shipped, INFERENCE_SET)
        check("an InferenceSet like Kaito's example validates", found == [], f"{found}")
        alpha = dict(INFERENCE_SET, apiVersion="kaito.sh/v1alpha1")
        check("the same InferenceSet in v1alpha1 validates", errors(shipped, alpha) == [])

        # The test fixtures, against schemas of the test catalog.
        test_catalog = generate(kaitoc, test_presets(tmp), os.path.join(tmp, "test"))
        count = expect_valid(
            "test catalog files", test_catalog, [os.path.join(FIXTURES, "targets.yaml"), os.path.join(FIXTURES, "extra-models.yaml")],
            kinds=("TargetList", "ModelCatalog"),
        )
        check("test catalog files validated", count >= 2, f"{count}")
        render_inputs = sorted(glob.glob(os.path.join(FIXTURES, "render", "*", "workspaces", "**", "*.yaml"), recursive=True))
        count = expect_valid("render fixtures", test_catalog, render_inputs)
        check("render fixtures: workspaces validated", count >= 10, f"{count}")
        passing = sorted(glob.glob(os.path.join(FIXTURES, "rules", "*", "*.pass.yaml")))
        count = expect_valid("passing rule fixtures", test_catalog, passing)
        check("passing rule fixtures validated", count >= 80, f"{count}")

        # Known-bad: failing fixtures of schema rules are rejected.
        rejected = 0
        for path in sorted(glob.glob(os.path.join(FIXTURES, "rules", "*", "*.fail.yaml"))):
            code = os.path.basename(path).split(".")[0]
            if code not in SCHEMA_RULES or os.path.relpath(path, os.path.join(FIXTURES, "rules")) in TARGET_DEPENDENT:
                continue
            try:
                docs = documents(path)
            except yaml.YAMLError:
                continue  # not YAML at all (KAITOC-SCHEMA on a broken document): nothing for a schema to read
            results = [errors(test_catalog, d) for d in docs if schema_for(d)]
            bad = any(r for r in results if r)
            check(f"{os.path.relpath(path, REPO)} ({code}) is rejected", bad, f"{results}")
            rejected += bad
        check("known-bad fixtures rejected", rejected >= 10, f"{rejected}")

        base = documents(os.path.join(REPO, "workspaces", "aks-prod", "workspace-phi-4-mini.yaml"))[0]
        def mutated(change):
            document = json.loads(json.dumps(base))
            change(document)
            return errors(shipped, document)
        check("the base workspace validates", errors(shipped, base) == [], f"{errors(shipped, base)}")
        check("a preset name typo is rejected",
              bool(mutated(lambda d: d["inference"]["preset"].update(name="phi-4-mini-instrct"))))
        check("an instance type in other letter case is accepted",
              mutated(lambda d: d["resource"].update(instanceType="standard_nc24ads_a100_v4")) == [])
        check("an instance type typo is rejected",
              bool(mutated(lambda d: d["resource"].update(instanceType="Standard_NC24ads_A100_v9"))))
        check("a Hugging Face id is accepted",
              mutated(lambda d: d["inference"]["preset"].update(name="someorg/some-model")) == [])
        check("a spec: wrapper is rejected", bool(mutated(lambda d: d.update(spec={"resource": d.pop("resource")}))))
        check("a count as text is rejected", bool(mutated(lambda d: d["resource"].update(count="two"))))
        check("a bad runtime annotation is rejected",
              bool(mutated(lambda d: d["metadata"].setdefault("annotations", {}).update({"kaito.sh/runtime": "vlm"}))))
        check("a runtime annotation in capitals is accepted",
              mutated(lambda d: d["metadata"].setdefault("annotations", {}).update({"kaito.sh/runtime": "VLLM"})) == [])
        bad_set = json.loads(json.dumps(INFERENCE_SET))
        bad_set["spec"]["template"]["resource"]["instanceType"] = "Standard_NC24ads_A100"
        check("an InferenceSet with an unknown instance type is rejected", bool(errors(shipped, bad_set)))
        bad_target = documents(os.path.join(REPO, "presets", "targets.yaml"))[0]
        bad_target["targets"][0]["nodeProvisioner"] = "gpu-provisionr"
        check("a target with a bad provisioner is rejected", bool(errors(shipped, bad_target)))

        # A catalog with errors: exit status 1, nothing written.
        broken = os.path.join(tmp, "broken-presets")
        shutil.copytree(os.path.join(REPO, "presets"), broken)
        with open(os.path.join(broken, "targets.yaml"), "a", encoding="utf-8") as f:
            f.write("  - name: extra\n    cloudProvider: mars\n")
        out = os.path.join(tmp, "not-written")
        result = subprocess.run([kaitoc, "schema", out, "--presets", broken], capture_output=True, text=True)
        check("catalog errors: exit 1", result.returncode == 1, result.stdout + result.stderr)
        check("catalog errors: nothing written", not os.path.exists(out))
    finally:
        shutil.rmtree(tmp)
    print(f"schemas: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
