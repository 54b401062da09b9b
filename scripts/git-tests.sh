#!/usr/bin/env bash
# End-to-end git tests of the kaitoc binary: the pre-commit hook under a real `git commit`, two `kaitoc commit`
# processes racing on one repository, `kaitoc generate` against what `build` writes, and the pre-commit framework
# running this repository as a hook repository.
# Usage: scripts/git-tests.sh PATH/TO/kaitoc [PATH/TO/pre-commit]
set -uo pipefail
kaitoc=$(realpath "$1")
precommit=""
[[ -n "${2:-}" ]] && precommit="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=Dev GIT_AUTHOR_EMAIL=dev@example.com GIT_COMMITTER_NAME=Dev GIT_COMMITTER_EMAIL=dev@example.com
passed=0
failed=0
ok() { passed=$((passed + 1)); }
ko() { failed=$((failed + 1)); echo "FAIL: $1"; }
seed() { # seed DIR
    git init -q -b main "$1" && cp -r "$repo/presets" "$1/presets" && mkdir -p "$1/workspaces" &&
        cp -r "$repo/workspaces/quickstart" "$1/workspaces/quickstart" && git -C "$1" add -A && git -C "$1" commit -q -m "Quick starts"
}

# 1. The installed pre-commit hook under real `git commit`.
seed "$tmp/hook"
cd "$tmp/hook"
"$kaitoc" hook install >/dev/null && ok || ko "hook install"
ws=workspaces/quickstart/workspace-phi-3-mini.yaml
sed -i 's/phi-3-mini-4k-instruct/phi-3-mini-4k-instrct/' "$ws" && git add "$ws"
if git commit -q -m "typo" >"$tmp/out" 2>&1; then ko "a bad workspace must be refused"; else ok; fi
grep -q "workspace-phi-3-mini.yaml:13:11: error: invalid value: Unsupported inference preset name phi-3-mini-4k-instrct" "$tmp/out" && ok || { ko "the hook prints the diagnostic"; cat "$tmp/out"; }
git checkout -q -- "$ws" 2>/dev/null; git reset -q "$ws"; git checkout -q -- "$ws"
# A partially staged fix: the staged content is good, the working tree is broken: the commit passes.
sed -i 's/apps: phi-3$/apps: phi-3-gpu/' "$ws" && git add "$ws"
sed -i 's/phi-3-mini-4k-instruct/nope/' "$ws"
git commit -q -m "relabel" >"$tmp/out" 2>&1 && ok || { ko "a good staged version passes"; cat "$tmp/out"; }
git show HEAD:"$ws" | grep -q "phi-3-gpu" && ok || ko "the staged content was committed"
echo "#!/bin/sh" >.git/hooks/pre-commit
"$kaitoc" hook install >"$tmp/out" 2>&1 && ko "a foreign hook must not be replaced" || ok
"$kaitoc" hook install --force >/dev/null && ok || ko "hook install --force"

# 2. Two kaitoc commit processes racing on one repository: both source changes rendered, no commit lost.
seed "$tmp/race"
cd "$tmp/race"
cp "$ws" workspaces/quickstart/second.yaml && sed -i 's/name: workspace-phi-3-mini$/name: workspace-second/' workspaces/quickstart/second.yaml
git add -A && git commit -q -m "Second workspace"
for round in 1 2 3; do
    "$kaitoc" commit >"$tmp/race1" 2>&1 &
    first=$!
    "$kaitoc" commit >"$tmp/race2" 2>&1 &
    second=$!
    wait $first && wait $second && ok || { ko "racing kaitoc commit processes both succeed"; cat "$tmp/race1" "$tmp/race2"; }
    git log --format=%s >"$tmp/log"
    grep -q "^Second workspace" "$tmp/log" && grep -q "^Quick starts" "$tmp/log" && ok || ko "no source commit lost"
    git show HEAD:out/quickstart/default/workspace-second/deployment-workspace-second.yaml >/dev/null 2>&1 && ok || ko "the last source change is rendered"
    [[ $(grep -c ": Second workspace" "$tmp/log") -le 1 ]] || ko "one rendered commit per source commit"
    echo "round $round" >>README.md && git add -A && git commit -q -m "Docs $round"
done

# 2b. Bad inputs: one line on stderr, exit status 2, nothing written.
mkdir -p "$tmp/notrepo"
"$kaitoc" commit --repo "$tmp/notrepo" >"$tmp/out" 2>&1; [[ $? == 2 && $(wc -l <"$tmp/out") == 1 ]] && ok || { ko "not a git repository → exit 2, one line"; cat "$tmp/out"; }
git init -q -b main "$tmp/unborn"
"$kaitoc" commit --repo "$tmp/unborn" >"$tmp/out" 2>&1; [[ $? == 2 ]] && grep -q unborn "$tmp/out" && ok || { ko "unborn branch → exit 2"; cat "$tmp/out"; }
cd "$tmp/race"
head_before=$(git rev-parse HEAD)
"$kaitoc" commit no-such-revision --branch rendered/x >"$tmp/out" 2>&1; [[ $? == 2 ]] && grep -q "unknown revision" "$tmp/out" && ok || { ko "unknown revision → exit 2"; cat "$tmp/out"; }
git checkout -q --detach && "$kaitoc" commit >"$tmp/out" 2>&1; [[ $? == 2 ]] && grep -q detached "$tmp/out" && ok || { ko "detached HEAD → exit 2"; cat "$tmp/out"; }
git checkout -q main
echo "x" >>README.md && git commit -q -am "more docs" && head_before=$(git rev-parse HEAD)
sed -i 's/apps: phi-3$/apps: phi-3-locked/' "$ws" && git commit -q -am "relabel" && head_before=$(git rev-parse HEAD)
touch .git/index.lock
"$kaitoc" commit >"$tmp/out" 2>&1; [[ $? == 2 ]] && grep -q locked "$tmp/out" && ok || { ko "locked index → exit 2"; cat "$tmp/out"; }
[[ $(git rev-parse HEAD) == "$head_before" ]] && ok || ko "nothing written while the index is locked"
rm -f .git/index.lock
"$kaitoc" check --staged --repo "$tmp/notrepo" >"$tmp/out" 2>&1; [[ $? == 2 ]] && ok || ko "check --staged outside a repository → exit 2"

# 2c. A failed push: exit 1 with the remote's reason; a rerun pushes the rendered head; a user's file is refused.
seed "$tmp/pushsrc"
git init -q --bare -b main "$tmp/remote.git"
cd "$tmp/pushsrc" && git push -q "$tmp/remote.git" main
touch "$tmp/remote.git/refs/heads/main.lock"
"$kaitoc" commit --push "$tmp/remote.git" >"$tmp/out" 2>&1; [[ $? == 1 ]] && grep -q "rejected the push" "$tmp/out" && ok || { ko "failed push → exit 1 with the reason"; cat "$tmp/out"; }
rm -f "$tmp/remote.git/refs/heads/main.lock"
"$kaitoc" commit --push "$tmp/remote.git" >"$tmp/out" 2>&1 && [[ $(git -C "$tmp/remote.git" rev-parse main) == $(git rev-parse HEAD) ]] && ok || { ko "rerun pushes the rendered head"; cat "$tmp/out"; }
count=$(git rev-list --count HEAD)
"$kaitoc" commit --push "$tmp/remote.git" >/dev/null 2>&1 && [[ $(git rev-list --count HEAD) == "$count" ]] && ok || ko "a bare rerun commits nothing"
echo "# mine" >out/quickstart/kustomization.yaml && echo docs >README.md && git add -A && git commit -q -m "mine"
for command in build diff commit; do
    "$kaitoc" $command >"$tmp/out" 2>&1; status=$?
    [[ $status != 0 ]] && grep -q "out/quickstart/kustomization.yaml exists and was not written by kaitoc" "$tmp/out" && ok || { ko "$command refuses a user's file at a rendered path"; cat "$tmp/out"; }
done
[[ $(git show HEAD:out/quickstart/kustomization.yaml) == "# mine" ]] && ok || ko "the user's file is never overwritten"

# 2d. Signed rendered commits: git verify-commit accepts them with the right key and rejects a tampered commit or a
# signer that is not allowed.
seed "$tmp/signed"
cd "$tmp/signed"
ssh-keygen -q -t ed25519 -N "" -C kaitoc-test -f "$tmp/signer" && ssh-keygen -q -t ed25519 -N "" -f "$tmp/other"
echo "dev@example.com namespaces=\"git\" $(cat "$tmp/signer.pub")" >"$tmp/allowed"
echo "dev@example.com namespaces=\"git\" $(cat "$tmp/other.pub")" >"$tmp/allowed-other"
git config gpg.ssh.allowedSignersFile "$tmp/allowed"
"$kaitoc" commit --branch rendered/main --sign --signing-format ssh --signing-key "$tmp/signer" >"$tmp/out" 2>&1 && ok || { ko "commit --sign (ssh)"; cat "$tmp/out"; }
git cat-file commit rendered/main | grep -q "^gpgsig -----BEGIN SSH SIGNATURE-----" && ok || ko "the commit carries an SSH signature"
git verify-commit rendered/main >"$tmp/out" 2>&1 && grep -q 'Good "git" signature for dev@example.com' "$tmp/out" && ok || { ko "git verify-commit accepts the SSH-signed commit"; cat "$tmp/out"; }
git -c gpg.ssh.allowedSignersFile="$tmp/allowed-other" verify-commit rendered/main >"$tmp/out" 2>&1 && { ko "a signer that is not allowed must fail"; cat "$tmp/out"; } || ok
tampered=$(git cat-file commit rendered/main | sed 's/^Rendered by kaitoc/Rendered by someone/' | git hash-object -t commit -w --stdin)
git verify-commit "$tampered" >"$tmp/out" 2>&1 && { ko "a tampered commit must fail verification"; cat "$tmp/out"; } || ok
[[ $(git rev-parse rendered/main^{tree}) == $(git rev-parse "$tampered^{tree}") ]] && ok || ko "the tampered commit differs only in its message"
# Key and format from git configuration, as git commit -S reads them; a second source commit, a second signed commit.
git config gpg.format ssh && git config user.signingKey "$tmp/signer"
echo "more" >>README.md && git add -A && git commit -q -m "More docs"
sed -i 's/apps: phi-3$/apps: phi-3-signed/' "$ws" && git commit -q -am "relabel"
"$kaitoc" commit --branch rendered/main --sign >"$tmp/out" 2>&1 && git verify-commit rendered/main >/dev/null 2>&1 && ok || { ko "commit --sign with git config (ssh)"; cat "$tmp/out"; }
git config --unset user.signingKey
head_before=$(git rev-parse rendered/main)
sed -i 's/apps: phi-3-signed$/apps: phi-3-unsigned/' "$ws" && git commit -q -am "relabel again"
"$kaitoc" commit --branch rendered/main --sign >"$tmp/out" 2>&1; [[ $? == 2 ]] && grep -q "needs a key" "$tmp/out" && ok || { ko "ssh signing without a key → exit 2"; cat "$tmp/out"; }
"$kaitoc" commit --branch rendered/main --sign --signing-key "$tmp/nokey" >"$tmp/out" 2>&1; [[ $? == 2 ]] && grep -q "could not sign" "$tmp/out" && ok || { ko "a missing key → exit 2"; cat "$tmp/out"; }
[[ $(git rev-parse rendered/main) == "$head_before" ]] && ok || ko "nothing committed when signing fails"
if command -v gpg >/dev/null; then
    export GNUPGHOME="$tmp/gnupg" && mkdir -m 700 "$GNUPGHOME"
    gpg --batch -q --passphrase "" --quick-gen-key "Dev <dev@example.com>" ed25519 sign never 2>/dev/null
    fingerprint=$(gpg --batch --with-colons --list-keys dev@example.com 2>/dev/null | awk -F: '/^fpr/{print $10; exit}')
    "$kaitoc" commit --branch rendered/main --sign --signing-format openpgp --signing-key "$fingerprint" >"$tmp/out" 2>&1 && ok || { ko "commit --sign (openpgp)"; cat "$tmp/out"; }
    git cat-file commit rendered/main | grep -q "^gpgsig -----BEGIN PGP SIGNATURE-----" && ok || ko "the commit carries an OpenPGP signature"
    git verify-commit rendered/main >"$tmp/out" 2>&1 && grep -q "Good signature from" "$tmp/out" && ok || { ko "git verify-commit accepts the OpenPGP-signed commit"; cat "$tmp/out"; }
    tampered=$(git cat-file commit rendered/main | sed 's/^Rendered by kaitoc/Rendered by someone/' | git hash-object -t commit -w --stdin)
    git verify-commit "$tampered" >/dev/null 2>&1 && ko "a tampered OpenPGP-signed commit must fail" || ok
    unset GNUPGHOME
fi
git config --unset gpg.format

# 2e. Argo CD source hydrator compatibility: commit --branch writes hydrator.metadata in the hydrator's format (the
# documented fields, Go's JSON layout), honours Argocd-reference-commit-* trailers, and pushes the hydrator's note.
seed "$tmp/hydrate"
git init -q --bare -b main "$tmp/hydrate-remote.git"
cd "$tmp/hydrate"
git remote add origin "$tmp/hydrate-remote.git"
git commit -q --allow-empty -m "Bump image" -m "Why." --trailer "Argocd-reference-commit-author: Jane Doe <jane@example.com>" \
    --trailer "Argocd-reference-commit-sha: b82add298aa045d3672880802d5305c5a8aaa46e" \
    --trailer 'Argocd-reference-commit-body: "Fix it\n\nSigned-off-by: Jane Doe <jane@example.com>"' \
    --trailer "Argocd-reference-commit-date: 2025-06-09T13:50:18-04:00" --trailer "Argocd-reference-commit-subject: Fix it" \
    --trailer "Argocd-reference-commit-repourl: https://git.example.com/owner/app"
dry=$(git rev-parse HEAD)
"$kaitoc" commit --branch environments/prod --push origin >"$tmp/out" 2>&1 && ok || { ko "commit --branch --push (hydrator)"; cat "$tmp/out"; }
git show environments/prod:hydrator.metadata >"$tmp/root.json" && git show environments/prod:out/quickstart/hydrator.metadata >"$tmp/path.json" && ok || ko "hydrator.metadata at the root and beside the manifests"
python3 - "$tmp/root.json" "$tmp/path.json" "$dry" "$tmp/hydrate-remote.git" <<'PY' && ok || ko "hydrator.metadata has the hydrator's fields and layout"
import json, sys
root_text, path_text = open(sys.argv[1]).read(), open(sys.argv[2]).read()
root, path = json.loads(root_text), json.loads(path_text)
assert set(root) <= {"repoURL", "drySha", "commands", "author", "date", "subject", "body", "references"}, root
assert root["drySha"] == sys.argv[3] and root["repoURL"] == sys.argv[4], root
assert root["subject"] == "Bump image" and root["body"] == "Why.\n\n", root  # the blank line before the trailers stays
commit = root["references"][0]["commit"]
assert commit == {"author": '"Jane Doe" <jane@example.com>', "date": "2025-06-09T13:50:18-04:00", "subject": "Fix it",
                  "body": "Fix it\n\nSigned-off-by: Jane Doe <jane@example.com>",
                  "sha": "b82add298aa045d3672880802d5305c5a8aaa46e", "repoUrl": "https://git.example.com/owner/app"}, commit
assert list(path) == ["repoURL", "drySha", "commands"] and path["commands"] == ["kaitoc build --target quickstart"], path
# Go's encoding/json with SetIndent("", "  "), HTML escaping off, a final newline.
assert root_text == json.dumps(root, indent=2, ensure_ascii=False).replace('": ', '": ') + "\n", root_text
assert path_text.startswith('{\n  "repoURL": ') and path_text.endswith("\n}\n"), path_text
PY
[[ $(git --git-dir="$tmp/hydrate-remote.git" notes --ref hydrator.metadata show environments/prod 2>&1) == "{\"drySha\":\"$dry\"}" ]] && ok || ko "the hydrator's note is pushed with the branch"
git log -1 --format=%B environments/prod | grep -q '^Co-authored-by: "Jane Doe" <jane@example.com>$' && ok || ko "the reference author is a co-author"
"$kaitoc" commit --branch environments/plain --no-hydrator-metadata >/dev/null 2>&1 && ! git ls-tree -r --name-only environments/plain | grep -q hydrator.metadata && ok || ko "--no-hydrator-metadata writes none"

# 3. generate prints what build writes; kubectl kustomize of out/<target> yields the same objects.
cd "$repo"
"$kaitoc" generate --target quickstart >"$tmp/stream.yaml" && ok || ko "kaitoc generate"
expected=$(awk '/^- /{print $2}' out/quickstart/kustomization.yaml | while read -r f; do echo "---"; grep -v '^# Generated by kaitoc' "out/quickstart/$f"; done)
[[ "$expected" == "$(cat "$tmp/stream.yaml")" ]] && ok || ko "generate equals the concatenation of the files build writes"
if command -v kubectl >/dev/null; then
    kubectl kustomize out/quickstart | grep -E '^(kind|  name):' | sort >"$tmp/k1"
    grep -E '^(kind|  name):' "$tmp/stream.yaml" | sort >"$tmp/k2"
    diff -q "$tmp/k1" "$tmp/k2" >/dev/null && ok || ko "kustomize and generate give the same objects"
fi
mkdir -p "$tmp/empty/workspaces" && cp -r presets "$tmp/empty/presets"
"$kaitoc" generate --repo "$tmp/empty" >"$tmp/out" 2>&1 && ko "generate refuses an empty stream" || ok

# 4. The pre-commit framework (a real client) runs this repository as a hook repository.
if [[ -n "$precommit" ]]; then
    seed "$tmp/framework"
    cd "$tmp/framework"
    cat >.pre-commit-config.yaml <<YAML
repos:
- repo: local
  hooks:
  - id: kaitoc-check
    name: kaitoc check
    entry: $kaitoc check --staged
    language: system
    files: ^(workspaces|presets)/.*\.ya?ml$
    pass_filenames: false
YAML
    # The hook definitions must be the ones this repository publishes.
    python3 -c "import yaml,sys; hooks=yaml.safe_load(open('$repo/.pre-commit-hooks.yaml')); assert {h['id'] for h in hooks} == {'kaitoc-check','kaitoc-check-system'}" && ok || ko ".pre-commit-hooks.yaml"
    git add -A && git commit -q -m "pre-commit config"
    PRE_COMMIT_HOME="$tmp/pc-home" "$precommit" run --all-files >"$tmp/out" 2>&1 && ok || { ko "pre-commit run --all-files passes"; cat "$tmp/out"; }
    sed -i 's/phi-3-mini-4k-instruct/phi-3-mini-4k-instrct/' "$ws" && git add "$ws"
    PRE_COMMIT_HOME="$tmp/pc-home" "$precommit" run --all-files >"$tmp/out" 2>&1 && ko "pre-commit must fail on a bad workspace" || ok
    grep -q "KAITO-I3" "$tmp/out" && ok || ko "pre-commit shows the diagnostic"
fi
echo "git: $passed passed, $failed failed"
[[ $failed == 0 ]]
