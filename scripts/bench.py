#!/usr/bin/env python3
"""kaitoc benchmarks (`make bench`): generates a repository of N workspaces and prints figures.

Measures, with the release binary:
  * `kaitoc check` over the whole generated repository: wall time and peak RSS;
  * `kaitoc check FILE` on one workspace file: wall time including process start (median of runs);
  * `kaitoc build` over the whole repository, cold (empty out/) and again with nothing changed: wall time, peak RSS;
  * for comparison, on a 1,000-workspace repository: `kaitoc build` and `kubectl kustomize` of the tree it wrote.
Usage: scripts/bench.py [--workspaces N] [--kaitoc PATH]
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

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspaces", type=int, default=10000)
    ap.add_argument("--kaitoc", default=".build/release/kaitoc")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    kaitoc = os.path.abspath(args.kaitoc)
    tmp = tempfile.mkdtemp(prefix="kaitoc-bench-")
    try:
        t0 = time.perf_counter()
        generate(tmp, args.workspaces, repo)
        print(f"generated {args.workspaces} workspaces in {time.perf_counter() - t0:.1f} s ({tmp})")
        cpus = os.cpu_count()
        proc, wall = run([kaitoc, "check"], tmp)
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:])
            sys.exit("kaitoc check failed on the generated repository")
        walls = [wall] + [run([kaitoc, "check"], tmp)[1] for _ in range(2)]
        rss = peak_rss_mib([kaitoc, "check"], tmp)
        print(f"kaitoc check, whole repo ({args.workspaces} workspaces, {cpus} CPUs): "
              f"wall {statistics.median(walls):.2f} s (median of {len(walls)}), peak RSS {rss:.0f} MiB")
        one = os.path.join("workspaces", "aks-prod", "team-7", "ws-00007.yaml")
        singles = []
        for _ in range(args.runs):
            proc, wall = run([kaitoc, "check", one], tmp)
            if proc.returncode != 0:
                sys.exit("kaitoc check FILE failed: " + proc.stdout + proc.stderr)
            singles.append(wall)
        rss1 = peak_rss_mib([kaitoc, "check", one], tmp)
        print(f"kaitoc check FILE (one workspace, process start included): "
              f"wall {statistics.median(singles) * 1000:.0f} ms (median of {args.runs}), peak RSS {rss1:.0f} MiB")
        out = os.path.join(tmp, "out")
        proc, cold = run([kaitoc, "build"], tmp)
        if proc.returncode != 0:
            sys.exit("kaitoc build failed: " + proc.stdout[-2000:] + proc.stderr[-2000:])
        files = sum(len(names) for _, _, names in os.walk(out))
        proc, warm = run([kaitoc, "build"], tmp)
        rss_warm = peak_rss_mib([kaitoc, "build"], tmp)
        shutil.rmtree(out)
        rss_cold = peak_rss_mib([kaitoc, "build"], tmp)
        print(f"kaitoc build, whole repo ({args.workspaces} workspaces, {files} files): "
              f"cold {cold:.2f} s (peak RSS {rss_cold:.0f} MiB), nothing changed {warm:.2f} s (peak RSS {rss_warm:.0f} MiB)")
        bench_commit(kaitoc, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    compare_with_kustomize(kaitoc, repo, 1000)


def bench_commit(kaitoc, tmp):
    """`kaitoc commit` for a one-workspace change on the generated repository (a real git repository)."""
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
    git = lambda *a: subprocess.run(["git", *a], cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(os.path.join(tmp, "out"), ignore_errors=True)
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "workspaces")
    proc, first = run([kaitoc, "commit", "--author-name", "bench"], tmp)
    if proc.returncode != 0:
        sys.exit("kaitoc commit failed: " + proc.stdout[-2000:] + proc.stderr[-2000:])
    path = os.path.join(tmp, "workspaces", "aks-prod", "team-7", "ws-00007.yaml")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("kaito.sh/performance-mode: throughput", "kaito.sh/performance-mode: interactivity"))
    git("commit", "-q", "-am", "one workspace")
    proc, one = run([kaitoc, "commit", "--author-name", "bench"], tmp)
    if proc.returncode != 0:
        sys.exit("kaitoc commit failed: " + proc.stdout[-2000:] + proc.stderr[-2000:])
    print(f"kaitoc commit on the same repo: first rendering {first:.2f} s; one-workspace change {one:.2f} s "
          f"({proc.stdout.strip()})")


def compare_with_kustomize(kaitoc, repo, n):
    tmp = tempfile.mkdtemp(prefix="kaitoc-bench-small-")
    try:
        generate(tmp, n, repo)
        proc, build = run([kaitoc, "build"], tmp)
        if proc.returncode != 0:
            sys.exit("kaitoc build failed: " + proc.stderr[-2000:])
        target = os.path.join(tmp, "out", "aks-prod")
        if shutil.which("kubectl") is None:
            print(f"kaitoc build, {n} workspaces: {build:.2f} s (kubectl not installed: no kustomize comparison)")
            return
        proc, kustomize = run(["kubectl", "kustomize", target], tmp)
        objects = proc.stdout.count("\nkind: ") + proc.stdout.startswith("kind: ")
        print(f"comparison, {n} workspaces: kaitoc build {build:.2f} s; "
              f"kubectl kustomize of its output ({objects} objects) {kustomize:.2f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

if __name__ == "__main__":
    main()
