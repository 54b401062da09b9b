#!/usr/bin/env bash
# End-to-end tests of the kaitoc command line: exit statuses, formats, and the shipped repository.
# Usage: scripts/cli-tests.sh PATH/TO/kaitoc
set -uo pipefail
kaitoc=$(realpath "${1:-.build/debug/kaitoc}")
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

expect() { # expect NAME EXPECTED_STATUS ACTUAL_STATUS
    if [[ "$2" == "$3" ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1 (exit $3, expected $2)"; fi
}
contains() { # contains NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1: '$3' not in output:"; cat "$2"; fi
}

cd "$repo"
"$kaitoc" check >"$tmp/out" 2>&1; expect "shipped workspaces pass" 0 $?
contains "bf16 warning on the V100 quick starts" "$tmp/out" "warning: preset phi-3-mini-4k-instruct loads its weights as bfloat16"
contains "summary" "$tmp/out" "0 errors"

mkdir -p "$tmp/repo/workspaces/quickstart"
cp -r presets "$tmp/repo/presets"
cat >"$tmp/repo/workspaces/quickstart/bad.yaml" <<'YAML'
apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: workspace-tuning-phi-3
resource:
  instanceType: "Standard_NC6s_v3"
  labelSelector:
    matchLabels:
      app: tuning-phi-3
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
YAML
cd "$tmp/repo"
"$kaitoc" check >"$tmp/out" 2>&1; expect "placeholder image fails" 1 $?
contains "compiler-style line" "$tmp/out" "workspaces/quickstart/bad.yaml:18:12: error: invalid value: Unable to parse output image reference: invalid reference format: repository name (IMAGE_NAME_HERE) must be lowercase: tuning.output.image [KAITO-T14]"
contains "caret" "$tmp/out" "           ^"
contains "placeholder hint" "$tmp/out" "note: ACR_REPO_HERE.azurecr.io/IMAGE_NAME_HERE:0.0.1 is a placeholder"

"$kaitoc" check --format github >"$tmp/out" 2>&1; expect "github format exit" 1 $?
contains "github annotation" "$tmp/out" "::error file=workspaces/quickstart/bad.yaml,line=18,col=12,title=KAITO-T14::invalid value: Unable to parse output image reference"

"$kaitoc" check --format json >"$tmp/out" 2>&1; expect "json format exit" 1 $?
python3 -c "import json,sys; d=json.load(open('$tmp/out')); assert d['summary']['errors']==1, d; assert any(x['code']=='KAITO-T14' and x['severity']=='error' for x in d['diagnostics'])" \
    && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: json output"; cat "$tmp/out"; }

"$kaitoc" check workspaces/quickstart/bad.yaml >"$tmp/out" 2>&1; expect "single file" 1 $?
contains "skipped note" "$tmp/out" "rules that span workspaces (quotas, duplicate names, missing ConfigMaps) were skipped"

"$kaitoc" check workspaces/nope.yaml >"$tmp/out" 2>&1; expect "missing path is exit 2" 2 $?
contains "missing path message" "$tmp/out" "kaitoc: error: no such file: workspaces/nope.yaml"
"$kaitoc" check --format xml >"$tmp/out" 2>&1; expect "bad format is exit 2" 2 $?
"$kaitoc" check --presets /nonexistent >"$tmp/out" 2>&1; expect "no catalog is exit 2" 2 $?
rm -rf "$tmp/empty" && mkdir -p "$tmp/empty" && cd "$tmp/empty"
"$kaitoc" check --presets "$repo/presets" >"$tmp/out" 2>&1; expect "no workspaces folder is exit 2" 2 $?

# kaitoc plan (docs/plan.md): the shipped repository, its formats, and --diff against a committed revision.
cd "$repo"
"$kaitoc" plan >"$tmp/out" 2>&1; expect "plan of the shipped repository" 0 $?
contains "plan estimator" "$tmp/out" "2 × Standard_NC24ads_A100_v4 = 2 nodes, 2 × NVIDIA A100; nodes from estimator (docs/reference/kaito.md section 2.5)"
contains "plan layout" "$tmp/out" "vLLM layout: tensor-parallel 1, pipeline-parallel 2, data-parallel 1"
contains "plan quota" "$tmp/out" "quota on instance type Standard_NC6s_v3: 3 of 4 nodes (1 left)"
"$kaitoc" plan --format json >"$tmp/out" 2>&1; expect "plan json" 0 $?
python3 -c "import json; d=json.load(open('$tmp/out')); assert {t['name'] for t in d['targets']} == {'aks-prod', 'quickstart'}, d['targets']" \
    && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: plan json"; head -50 "$tmp/out"; }
(cd "$tmp/repo" && "$kaitoc" plan >"$tmp/out" 2>"$tmp/err"); expect "plan with check errors is exit 1" 1 $?
contains "plan printed despite errors" "$tmp/out" "target quickstart"
contains "plan diagnostics on stderr" "$tmp/err" "[KAITO-T14]"
"$kaitoc" plan --format yaml >"$tmp/out" 2>&1; expect "plan bad format is exit 2" 2 $?
"$kaitoc" plan --target nope >"$tmp/out" 2>&1; expect "plan unknown target is exit 2" 2 $?
rm -rf "$tmp/plan" && mkdir -p "$tmp/plan/workspaces" && cd "$tmp/plan"
cp -r "$repo/presets" presets && cp -r "$repo/workspaces/aks-prod" workspaces/aks-prod
git init -q -b main . && git add -A && git -c user.name=t -c user.email=t@example.com commit -qm init
"$kaitoc" plan --diff HEAD >"$tmp/out" 2>&1; expect "plan diff, nothing changed" 0 $?
contains "plan diff empty" "$tmp/out" "no capacity or cost change against HEAD"
sed -i 's/instanceType: Standard_NC24ads_A100_v4/instanceType: Standard_NC96ads_A100_v4/' workspaces/aks-prod/workspace-qwen-coder-32b.yaml
"$kaitoc" plan --diff HEAD --format markdown >"$tmp/out" 2>&1; expect "plan diff" 0 $?
contains "plan diff row" "$tmp/out" "| changed | aks-prod | coding/workspace-qwen-coder-32b | 2 × Standard_NC24ads_A100_v4, 2 GPUs"
contains "plan diff totals" "$tmp/out" "| aks-prod | 5 → 4 (-1) | 5 → 7 (+2) | no prices |"
"$kaitoc" plan --diff no-such-revision >"$tmp/out" 2>&1; expect "plan unknown revision is exit 2" 2 $?
contains "plan unknown revision message" "$tmp/out" "kaitoc: error: unknown revision no-such-revision"

echo "cli: $passed passed, $failed failed"
[[ $failed == 0 ]]
