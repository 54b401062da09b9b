#!/usr/bin/env python3
"""kaitoc benchmarks (`make bench`): generates a repository of N workspaces and prints figures.

Measures, with the release binary:
  * `kaitoc build` at 1k / 10k / 50k workspaces (--sizes), cold (empty out/) and with nothing changed, with the
    build cache and with --no-cache, each beside its floor measured in the same alternating rounds: libyaml
    parse + re-emit of every output file (scripts/yaml_floor.c) for a build with nothing changed, `cp -r` of out/ for
    a cold one, and at 1k `kubectl kustomize` of the output; medians, ratios, peak RSS;
  * `kaitoc check` over the whole generated repository: wall time and peak RSS;
  * `kaitoc check FILE` on one workspace file: wall time including process start (median of runs);
  * `kaitoc commit` for a one-workspace change.
Usage: scripts/bench.py [--sizes 1000,10000,50000] [--rounds 3] [--workspaces N] [--kaitoc PATH]
"""
import argparse, os, resource, shutil, statistics, subprocess, sys, tempfile, time

PRESETS = [
    ("phi-4-mini-instruct", "Standard_NC24ads_A100_v4"),
    ("phi-4", "Standard_NC48ads_A100_v4"),
    ("qwen2.5-coder-7b-instruct", "Standard_NV36ads_A10_v5"),
    ("llama-3.1-8b-instruct", "Standard_NC40ads_H100_v5"),
    ("gpt-oss-20b", "Standard_NC24ads_A100_v4"),
    ("mistral-7b-instruct", "Standard_NC24ads_A100_v4"),
]

def workspace(i):
    preset, sku = PRESETS[i % len(PRESETS)]
    ns = f"team-{i % 50}"
    secret = "    presetOptions:\n      modelAccessSecret: hf-token\n" if preset.startswith("llama") else ""
    return f"""apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: ws-{i:05d}
  namespace: {ns}
  annotations:
    kaito.sh/performance-mode: throughput
resource:
  instanceType: {sku}
  labelSelector:
    matchLabels:
      apps: app-{i:05d}
inference:
  preset:
    name: {preset}
{secret}"""

def generate(root, n, repo):
    os.makedirs(os.path.join(root, "workspaces", "aks-prod"))
    shutil.copytree(os.path.join(repo, "presets", "models"), os.path.join(root, "presets", "models"))
    shutil.copy(os.path.join(repo, "presets", "skus.yaml"), os.path.join(root, "presets", "skus.yaml"))
    with open(os.path.join(root, "presets", "targets.yaml"), "w") as f:
        f.write("kind: TargetList\ntargets:\n  - name: aks-prod\n    default: true\n    kaitoVersion: v0.12.0\n")
    for i in range(n):
        d = os.path.join(root, "workspaces", "aks-prod", f"team-{i % 50}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"ws-{i:05d}.yaml"), "w") as f:
            f.write(workspace(i))

def run(cmd, cwd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    return proc, wall

def peak_rss_mib(cmd, cwd):
    """Peak RSS of a command via GNU time (the children rusage of this process mixes runs)."""
    proc = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    return int(proc.stderr.strip().splitlines()[-1]) / 1024

def timed(cmd, cwd):
    """Wall time and peak RSS (MiB, via GNU time) of one run; exits on failure. Dirty pages of earlier runs are
    flushed first (untimed), so that no run pays for the write-back of the one before."""
    os.sync()
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "RSS %M"] + cmd, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    rss = [l for l in proc.stderr.splitlines() if l.startswith("RSS ")]
    return wall, int(rss[-1].split()[1]) / 1024, proc.stdout


def yaml_floor_binary(repo, tmp):
    """Compiles scripts/yaml_floor.c (libyaml parse + re-emit of every output file), or None without a compiler."""
    binary = os.path.join(tmp, "yaml_floor")
    proc = subprocess.run(["cc", "-O2", "-o", binary, os.path.join(repo, "scripts", "yaml_floor.c"), "-lyaml"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return binary if proc.returncode == 0 else None


def bench_build(kaitoc, root, n, rounds, floor, kustomize, before=None):
    """`kaitoc build` cold (empty out/) and with nothing changed, with and without the build cache, each beside
    its floor measured in the same rounds (rounds alternate the commands; medians)."""
    out = os.path.join(root, "out")
    cache = os.path.join(root, ".kaitoc-cache")
    copy = os.path.join(root, "copy")
    # Trees are moved aside, not deleted, between timed runs: ext4 avoids reusing inodes freed in the last minute
    # (`recently_deleted` in its inode allocator), so every file created after deleting tens of thousands costs a
    # scan; perf showed 80 % of a cold build in `__ext4_new_inode` after an `rm -rf out/`, more the more had been
    # deleted, which made whichever command ran later in a round look slower. Trash and repositories are deleted
    # when every figure has been taken.
    trash = os.path.join(root, ".bench-trash")
    moved = [0]
    def discard(path):
        if os.path.exists(path):
            moved[0] += 1
            os.makedirs(trash, exist_ok=True)
            os.rename(path, os.path.join(trash, str(moved[0])))
    def reset():
        discard(out)
        discard(cache)
    reset()
    timed([kaitoc, "build"], root)
    # Warm: files written less than 2 s before the cache was saved are verified once by content (racily clean,
    # docs/build-cache.md); after this build the cache is in the steady state a build with nothing changed sees.
    time.sleep(2.1)
    timed([kaitoc, "build"], root)
    files = sum(len(names) for _, _, names in os.walk(out))
    keys = ["cold-nocache", "cold-cache", "same-nocache", "same-cache", "cp", "yaml", "same-before", "cold-before"]
    results = {k: [] for k in keys}
    rss = {k: 0.0 for k in results}
    def record(key, wall_rss):
        results[key].append(wall_rss[0])
        rss[key] = max(rss[key], wall_rss[1])
    for _ in range(rounds):
        record("same-cache", timed([kaitoc, "build"], root))
        record("same-nocache", timed([kaitoc, "build", "--no-cache"], root))
        if floor:
            record("yaml", timed([floor, out], root))
        discard(copy)
        record("cp", timed(["cp", "-r", out, copy], root))
        discard(copy)
        reset()
        record("cold-nocache", timed([kaitoc, "build", "--no-cache"], root))
        reset()
        record("cold-cache", timed([kaitoc, "build"], root))
        if before:
            record("same-before", timed([before, "build"], root))
            reset()
            record("cold-before", timed([before, "build"], root))
            timed([kaitoc, "build"], root)
        time.sleep(2.1)
        timed([kaitoc, "build"], root)  # back to the warm state for the next round
    med = {k: statistics.median(v) for k, v in results.items() if v}
    print(f"build, {n} workspaces ({files} files), {rounds} alternating rounds, medians, peak RSS:")
    def line(label, key, floor_key, floor_label):
        ratio = f"{med[key] / med[floor_key]:.2f}x {floor_label}" if floor_key in med else "no floor"
        print(f"  {label:<32} {med[key]:7.2f} s  {rss[key]:6.0f} MiB   {ratio}")
    if "yaml" in med:
        print(f"  {'floor: libyaml parse+emit':<32} {med['yaml']:7.2f} s  {rss['yaml']:6.0f} MiB")
    print(f"  {'floor: cp -r out/':<32} {med['cp']:7.2f} s")
    line("nothing changed, cache", "same-cache", "yaml", "libyaml floor")
    line("nothing changed, --no-cache", "same-nocache", "yaml", "libyaml floor")
    line("empty out/, cache", "cold-cache", "cp", "cp -r")
    line("empty out/, --no-cache", "cold-nocache", "cp", "cp -r")
    if "same-before" in med:
        line("before (--before): nothing changed", "same-before", "yaml", "libyaml floor")
        line("before (--before): empty out/", "cold-before", "cp", "cp -r")
    print(f"  {'empty out/ minus cp -r':<32} {med['cold-cache'] - med['cp']:7.2f} s (cache), "
          f"{med['cold-nocache'] - med['cp']:.2f} s (--no-cache)")
    if kustomize and shutil.which("kubectl"):
        start = time.perf_counter()
        proc = subprocess.run(["kubectl", "kustomize", os.path.join(out, "aks-prod")], cwd=root,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        k = time.perf_counter() - start
        objects = proc.stdout.count("\nkind: ") + proc.stdout.startswith("kind: ")
        print(f"  {'floor: kubectl kustomize (1 run)':<32} {k:7.2f} s  ({objects} objects): "
              f"build with nothing changed is {k / med['same-cache']:.0f}x faster with the cache, "
              f"{k / med['same-nocache']:.0f}x without")
    elif kustomize:
        print("  kubectl not installed: no kustomize comparison")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspaces", type=int, default=10000, help="size for check, check FILE and commit")
    ap.add_argument("--sizes", default="1000,10000,50000", help="sizes for the build figures")
    ap.add_argument("--kaitoc", default=".build/release/kaitoc")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before", help="an older kaitoc (no build cache) measured beside, up to 10,000 workspaces")
    args = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    kaitoc = os.path.abspath(args.kaitoc)
    tools = tempfile.mkdtemp(prefix="kaitoc-bench-tools-")
    floor = yaml_floor_binary(repo, tools)
    if floor is None:
        print("no C compiler or libyaml headers: the libyaml floor is left out")
    print(f"{os.cpu_count()} CPUs; a shared machine may slow any figure")
    repositories = [tools]
    try:
        for n in [int(x) for x in args.sizes.split(",") if x]:
            tmp = tempfile.mkdtemp(prefix="kaitoc-bench-")
            repositories.append(tmp)
            generate(tmp, n, repo)
            before = os.path.abspath(args.before) if args.before and n <= 10000 else None
            bench_build(kaitoc, tmp, n, args.rounds, floor, kustomize=(n == 1000), before=before)
        bench_check_and_commit(kaitoc, repo, args.workspaces, args.runs)
    finally:
        # Deleted last (see bench_build: deleting many files slows the file creations that follow).
        for path in repositories:
            shutil.rmtree(path, ignore_errors=True)


def bench_check_and_commit(kaitoc, repo, n, runs):
    tmp = tempfile.mkdtemp(prefix="kaitoc-bench-")
    try:
        t0 = time.perf_counter()
        generate(tmp, n, repo)
        print(f"generated {n} workspaces in {time.perf_counter() - t0:.1f} s ({tmp})")
        cpus = os.cpu_count()
        proc, wall = run([kaitoc, "check"], tmp)
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:])
            sys.exit("kaitoc check failed on the generated repository")
        walls = [wall] + [run([kaitoc, "check"], tmp)[1] for _ in range(2)]
        rss = peak_rss_mib([kaitoc, "check"], tmp)
        print(f"kaitoc check, whole repo ({n} workspaces, {cpus} CPUs): "
              f"wall {statistics.median(walls):.2f} s (median of {len(walls)}), peak RSS {rss:.0f} MiB")
        one = os.path.join("workspaces", "aks-prod", "team-7", "ws-00007.yaml")
        singles = []
        for _ in range(runs):
            proc, wall = run([kaitoc, "check", one], tmp)
            if proc.returncode != 0:
                sys.exit("kaitoc check FILE failed: " + proc.stdout + proc.stderr)
            singles.append(wall)
        rss1 = peak_rss_mib([kaitoc, "check", one], tmp)
        print(f"kaitoc check FILE (one workspace, process start included): "
              f"wall {statistics.median(singles) * 1000:.0f} ms (median of {runs}), peak RSS {rss1:.0f} MiB")
        bench_commit(kaitoc, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_commit(kaitoc, tmp):
    """`kaitoc commit` for a one-workspace change on the generated repository (a real git repository)."""
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
    git = lambda *a: subprocess.run(["git", *a], cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(os.path.join(tmp, "out"), ignore_errors=True)
    shutil.rmtree(os.path.join(tmp, ".kaitoc-cache"), ignore_errors=True)
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "workspaces")
    proc, first = run([kaitoc, "commit", "--author-name", "bench"], tmp)
    if proc.returncode != 0:
        sys.exit("kaitoc commit failed: " + proc.stdout[-2000:] + proc.stderr[-2000:])
    path = os.path.join(tmp, "workspaces", "aks-prod", "team-7", "ws-00007.yaml")
    modes = ("throughput", "interactivity")
    times = {"cache": [], "no-cache": []}
    last = ""
    # Alternating rounds: each a one-workspace change committed with the commit cache, then another without it.
    for i in range(6):
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("kaito.sh/performance-mode: " + modes[i % 2],
                                 "kaito.sh/performance-mode: " + modes[(i + 1) % 2]))
        git("commit", "-q", "-am", "one workspace %d" % i)
        kind = "cache" if i % 2 == 0 else "no-cache"
        proc, wall = run([kaitoc, "commit", "--author-name", "bench"] + (["--no-cache"] if kind == "no-cache" else []),
                         tmp)
        if proc.returncode != 0:
            sys.exit("kaitoc commit failed: " + proc.stdout[-2000:] + proc.stderr[-2000:])
        times[kind].append(wall)
        last = proc.stdout.strip()
    cached, full = statistics.median(times["cache"]), statistics.median(times["no-cache"])
    print(f"kaitoc commit on the same repo: first rendering {first:.2f} s; one-workspace change "
          f"{cached:.2f} s with the commit cache, {full:.2f} s with --no-cache (medians of 3, alternating; "
          f"{full / cached:.1f}x) ({last})")

if __name__ == "__main__":
    main()
