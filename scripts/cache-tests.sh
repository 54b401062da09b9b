#!/usr/bin/env bash
# End-to-end tests of kaitoc build's cache (docs/build-cache.md): builds of a few hundred generated workspaces are
# killed (SIGKILL) at several moments, with sources edited between them; the next build must give the same out/ as a
# clean build without the cache, leave no temporary file, and a further build must reuse every workspace.
# Usage: scripts/cache-tests.sh PATH/TO/kaitoc [WORKSPACES]
set -uo pipefail
kaitoc=$(realpath "${1:-.build/debug/kaitoc}")
count=${2:-300}
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() { # check NAME COMMAND...
    if "${@:2}"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1"; fi
}

src="$tmp/repo"
python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import bench; bench.generate(sys.argv[2], int(sys.argv[3]), sys.argv[4])' \
    "$repo/scripts" "$src" "$count" "$repo"
git -C "$src" init -q
cache="$src/.git/kaitoc-cache"

# Edits a tenth of the workspaces (their label value), so that the next build has files to change.
edit() { # edit ROUND
    python3 - "$src" "$1" "$count" <<'PY'
import os, sys
root, rnd, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(rnd % 10, n, 10):
    path = os.path.join(root, "workspaces", "aks-prod", f"team-{i % 50}", f"ws-{i:05d}.yaml")
    with open(path) as f:
        lines = f.read().splitlines(keepends=True)
    lines = [f"      apps: app-{i:05d}-r{rnd}\n" if l.startswith("      apps: ") else l for l in lines]
    with open(path, "w") as f:
        f.write("".join(lines))
PY
}

# How long an uninterrupted build takes here, to spread the kills over it.
start=$(date +%s%N)
"$kaitoc" build --repo "$src" >/dev/null 2>&1
full=$((($(date +%s%N) - start) / 1000000))
rm -rf "$src/out" "$cache"
killed=0
for round in 1 2 3 4 5 6 7 8; do
    [[ $round -gt 1 ]] && edit "$round"
    [[ $round -eq 5 ]] && rm -rf "$src/out/aks-prod/team-3"   # some output gone as well
    "$kaitoc" build --repo "$src" >/dev/null 2>&1 &
    pid=$!
    delay=$((full * round / 9))
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [[ $? -eq 137 ]] && killed=$((killed + 1))   # 128 + SIGKILL: it was still running
done
echo "cache-tests: $killed of 8 builds killed mid-way (an uninterrupted build takes ${full} ms)"
check "at least half of the builds were killed mid-way ($killed of 8; a full build takes ${full} ms)" test "$killed" -ge 4

"$kaitoc" build --repo "$src" >"$tmp/after" 2>&1
check "the build after the kills succeeds" test $? -eq 0
"$kaitoc" build --repo "$src" --no-cache --out "$tmp/clean" >/dev/null 2>&1
check "a clean build without the cache succeeds" test $? -eq 0
check "out/ after interrupted builds equals a clean build" diff -r "$src/out" "$tmp/clean"
check "no temporary output files are left" test -z "$(find "$src/out" -name '*.kaitoc-tmp')"
check "no temporary cache files are left" test -z "$(find "$cache" -name '*.tmp.*')"
check "the cache is in the git directory, outside out/" test -n "$(ls "$cache")"

"$kaitoc" build --repo "$src" >"$tmp/again" 2>&1
"$kaitoc" build --repo "$src" >"$tmp/again" 2>&1
check "an unchanged repository reuses every workspace" grep -qF "cache: $count workspaces reused, 0 rendered" "$tmp/again"
check "and writes nothing" grep -qF "files: 0 written" "$tmp/again"
check "out/ still equals a clean build" diff -r "$src/out" "$tmp/clean"

# A cache of another kaitoc build (here: a copy of the binary, so its modification time differs) is not used.
cp "$kaitoc" "$tmp/kaitoc-other"
touch -d '2001-01-01' "$tmp/kaitoc-other"
"$tmp/kaitoc-other" build --repo "$src" >"$tmp/other" 2>&1
check "another kaitoc build renders everything" grep -qF "cache: 0 workspaces reused, $count rendered" "$tmp/other"
check "with the same result" diff -r "$src/out" "$tmp/clean"

echo "cache-tests: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
