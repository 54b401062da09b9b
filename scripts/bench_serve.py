#!/usr/bin/env python3
"""make bench-serve: kaito-serve against llama.cpp's server on the same GGUF file, 1, 4 and 16 concurrent streaming
clients (issue 11). Prints, for each engine and client count, aggregate generated tokens/s, time to first token
(p50/p99) and inter-token latency (p50/p99), medians over alternating rounds, and the ratios.

Both servers get the same threads and the same /v1/completions requests (a fixed ~128-token prompt, `max_tokens`
tokens, greedy, streamed): llama-server with `--parallel 16 --cont-batching`, kaito-serve with `--max-num-seqs 16`.

Usage: bench_serve.py --model FILE.gguf --serve kaito-serve --llama-server llama-server [--threads 2] [--rounds 3]
                      [--clients 1,4,16] [--max-tokens 48]
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

PROMPT = ("Kaito compiles workspaces into Kubernetes objects; the engine serves the model on CPU nodes. " * 8).strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, process, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server not ready")


def one_request(port, max_tokens, out):
    """Streams one completion; appends (ttft, [gaps], tokens) to out."""
    body = json.dumps({"prompt": PROMPT, "max_tokens": max_tokens, "temperature": 0, "stream": True,
                       "ignore_eos": True})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.perf_counter()
    c.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    response = c.getresponse()
    first = None
    last = None
    gaps = []
    tokens = 0
    for raw in response:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[5:])
        choices = chunk.get("choices") or []
        if not choices or not choices[0].get("text"):
            continue
        now = time.perf_counter()
        tokens += 1
        if first is None:
            first = now - start
        else:
            gaps.append(now - last)
        last = now
    out.append((first if first is not None else float("nan"), gaps, tokens))


def run_round(port, clients, max_tokens):
    results = []
    threads = [threading.Thread(target=one_request, args=(port, max_tokens, results)) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    tokens = sum(r[2] for r in results)
    ttfts = sorted(r[0] for r in results)
    gaps = sorted(g for r in results for g in r[1]) or [float("nan")]

    def pct(values, p):
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

    return {"tok_s": tokens / wall, "ttft50": pct(ttfts, 50), "ttft99": pct(ttfts, 99), "itl50": pct(gaps, 50),
            "itl99": pct(gaps, 99), "tokens": tokens}


def start(engine, args, port):
    if engine == "kaito-serve":
        command = [args.serve, "--model", args.model, "--host", "127.0.0.1", "--port", str(port), "--threads",
                   str(args.threads), "--max-num-seqs", "16", "--max-waiting", "64"]
    else:
        command = [args.llama_server, "-m", args.model, "--host", "127.0.0.1", "--port", str(port), "-t",
                   str(args.threads), "--parallel", "16", "--cont-batching", "-c", str(16 * 256), "--no-warmup"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, process)
    return process


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--serve", required=True)
    parser.add_argument("--llama-server", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--max-tokens", type=int, default=48)
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    engines = ["kaito-serve", "llama-server"]
    figures = {(e, c): [] for e in engines for c in counts}
    servers = {}
    try:
        for engine in engines:
            port = free_port()
            servers[engine] = (start(engine, args, port), port)
            run_round(port, 1, 4)  # warm-up
        for _ in range(args.rounds):
            for clients in counts:
                for engine in engines:  # alternating rounds
                    figures[(engine, clients)].append(run_round(servers[engine][1], clients, args.max_tokens))
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait()
    print(f"model {os.path.basename(args.model)}, {args.threads} threads, prompt ~128 tokens, {args.max_tokens} "
          f"tokens per request, medians of {args.rounds} alternating rounds")
    print(f"{'engine':<13} {'clients':>7} {'tok/s':>8} {'TTFT p50':>9} {'TTFT p99':>9} {'ITL p50':>8} {'ITL p99':>8}")
    medians = {}
    for clients in counts:
        for engine in engines:
            rows = figures[(engine, clients)]
            m = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            medians[(engine, clients)] = m
            print(f"{engine:<13} {clients:>7} {m['tok_s']:>8.1f} {m['ttft50'] * 1000:>7.0f}ms {m['ttft99'] * 1000:>7.0f}ms "
                  f"{m['itl50'] * 1000:>6.0f}ms {m['itl99'] * 1000:>6.0f}ms")
    for clients in counts:
        k, l = medians[("kaito-serve", clients)], medians[("llama-server", clients)]
        print(f"{clients:>3} clients: kaito-serve/llama-server throughput {k['tok_s'] / l['tok_s']:.2f}x, "
              f"TTFT p99 {k['ttft99'] / l['ttft99']:.2f}x")
    if 1 in counts and 16 in counts:
        print(f"kaito-serve aggregate at 16 clients / single client: "
              f"{medians[('kaito-serve', 16)]['tok_s'] / medians[('kaito-serve', 1)]['tok_s']:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
