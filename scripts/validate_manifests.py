#!/usr/bin/env python3
"""Validates every Kubernetes object kaitoc wrote against real schemas.

Core kinds: the PyPI package kubernetes-validate (offline Kubernetes OpenAPI schemas), strict (unknown fields are
errors), for the pinned Kubernetes version. Custom resources (Karpenter NodeClaim/NodePool/Machine, Kaito Workspace):
the openAPIV3Schema of their CRDs kept in Tests/Schemas/crds/, made strict (unknown fields are errors unless the
schema preserves them), with jsonschema.

Usage: scripts/validate_manifests.py [--kubernetes-version V] DIR_OR_FILE...
Prints one line per failure and a closing "N passed, M failed" line; exit status 1 on any failure.
"""
import argparse, copy, glob, os, sys

import jsonschema
import kubernetes_validate
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CRD_DIR = os.path.join(HERE, "..", "Tests", "Schemas", "crds")


def strict(schema):
    """Rejects unknown fields the way a strict decoder does, honouring x-kubernetes-preserve-unknown-fields."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if not isinstance(node, dict):
            return
        if node.get("type") == "object" and "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node.setdefault("additionalProperties", False)
        for key in ("properties", "patternProperties"):
            for child in node.get(key, {}).values():
                walk(child)
        for key in ("items", "additionalProperties", "not"):
            if isinstance(node.get(key), dict):
                walk(node[key])
        for key in ("allOf", "anyOf", "oneOf"):
            for child in node.get(key, []):
                walk(child)

    walk(schema)
    return schema


def load_crds():
    crds = {}
    for path in sorted(glob.glob(os.path.join(CRD_DIR, "*.yaml"))):
        for doc in yaml.safe_load_all(open(path)):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec["versions"]:
                schema = strict(version["schema"]["openAPIV3Schema"])
                # metadata is validated by the API server's ObjectMeta rules, not the CRD schema.
                schema.get("properties", {}).pop("metadata", None)
                key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                crds[key] = (schema, spec["scope"])
    return crds


def files_under(paths):
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        for root, _, names in os.walk(path):
            for name in sorted(names):
                if name.endswith((".yaml", ".yml")) and name != "kustomization.yaml":
                    yield os.path.join(root, name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubernetes-version", default="1.32.0")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    crds = load_crds()
    passed = failed = 0
    for path in files_under(args.paths):
        for index, obj in enumerate(yaml.safe_load_all(open(path))):
            if obj is None:
                continue
            where = f"{path}#{index} {obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
            key = (obj.get("apiVersion"), obj.get("kind"))
            try:
                if key in crds:
                    schema, scope = crds[key]
                    body = {k: v for k, v in obj.items() if k != "metadata"}
                    jsonschema.validate(body, schema)
                    meta = obj.get("metadata") or {}
                    if not isinstance(meta.get("name"), str) or not meta["name"]:
                        raise ValueError("metadata.name is missing")
                    if scope == "Cluster" and "namespace" in meta:
                        raise ValueError("a cluster-scoped object has metadata.namespace")
                    if scope == "Namespaced" and "namespace" not in meta:
                        raise ValueError("a namespaced object has no metadata.namespace")
                else:
                    kubernetes_validate.validate(obj, args.kubernetes_version, strict=True)
                passed += 1
            except (jsonschema.ValidationError, kubernetes_validate.ValidationError, ValueError) as error:
                failed += 1
                message = getattr(error, "message", str(error))
                path_info = "/".join(str(p) for p in getattr(error, "absolute_path", []))
                print(f"FAIL {where}: {message} {('at ' + path_info) if path_info else ''}".rstrip())
            except kubernetes_validate.utils.SchemaNotFoundError as error:
                failed += 1
                print(f"FAIL {where}: no schema for {key}: {error}")
    print(f"schemas: {passed} passed, {failed} failed")
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()
