#!/usr/bin/env bash
# Checks of what `kaitoc build` writes: the committed out/ is exactly what a build produces, every object of out/
# and of the golden render cases validates against real schemas, and `kubectl kustomize` accepts every target folder.
# Usage: scripts/render-tests.sh PATH/TO/kaitoc PATH/TO/python
set -uo pipefail
kaitoc=$(realpath "$1")
python="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$repo"
passed=0
failed=0
ok() { passed=$((passed + 1)); }
ko() { failed=$((failed + 1)); echo "FAIL: $1"; }

"$kaitoc" build --out "$tmp/out" >"$tmp/log" 2>&1 && ok || { ko "kaitoc build"; cat "$tmp/log"; }
if diff -r out "$tmp/out" >"$tmp/diff"; then ok; else ko "out/ is not what kaitoc build writes (run make run and commit out/)"; head -50 "$tmp/diff"; fi

"$python" scripts/validate_manifests.py out Tests/KaitoCoreTests/Fixtures/render/*/expected && ok || ko "schema validation"

if ! command -v kubectl >/dev/null; then
    ko "kubectl is not installed (needed for kubectl kustomize)"
else
    for dir in out/*/ Tests/KaitoCoreTests/Fixtures/render/*/expected/*/; do
        [[ -f "$dir/kustomization.yaml" ]] || continue
        listed=$(grep -c '^- ' "$dir/kustomization.yaml")
        if kubectl kustomize "$dir" >"$tmp/k.yaml" 2>"$tmp/k.err"; then
            built=$(grep -c '^kind: ' "$tmp/k.yaml")
            if [[ "$listed" == "$built" ]]; then ok; else ko "kubectl kustomize $dir: $built objects, kustomization lists $listed"; fi
        else
            ko "kubectl kustomize $dir"; cat "$tmp/k.err"
        fi
    done
fi
echo "render: $passed passed, $failed failed"
[[ $failed == 0 ]]
