#!/usr/bin/env python3
"""kaito-serve's engine against llama.cpp (`make bench-engine`; not part of `make test`).

Makes one random Llama-shaped model (hidden 896, 24 layers, 14 heads / 2 KV heads, vocabulary 32000, MLP 4864) as
BF16 and F16 safetensors (the same weights: F32 draws rounded once to BF16, the F16 file holds those BF16 values),
converts the F16 folder to GGUF F16 and Q8_0 with llama.cpp's convert_hf_to_gguf.py and to Q4_0 with llama-quantize,
then measures, in alternating rounds (every configuration once per round), with medians:

  * kaito-serve's engine (kaito-serve-bench: the same prefill and decode loop as the server, in one process) on the
    BF16 and F16 folders, and with --quantization q8_0 / q4_0 of the F16 folder;
  * llama.cpp (llama-bench) on the F16, Q8_0 and Q4_0 GGUF files;

prefill tok/s (PROMPT tokens), time to first token, decode tok/s (DECODE tokens after the prompt), peak RSS (the
child's ru_maxrss from wait4), and decode as a fraction of the read-bandwidth bound (bytes of weights read per token
over the machine's read bandwidth, measured by scripts/bench_bandwidth.c with the same thread count).

Usage: bench_engine.py --work DIR --llama-bin DIR --llama-src DIR --serve-bench BIN [--threads 2] [--rounds 3]
"""
import argparse, json, os, shutil, statistics, struct, subprocess, sys, time

import numpy as np

SHAPE = dict(hidden=896, layers=24, heads=14, kv_heads=2, vocab=32000, intermediate=4864)


def bf16_bits(values):
    """F32 → BF16 bit patterns, round to nearest even (as torch does)."""
    bits = values.astype(np.float32).view(np.uint32)
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)
    return (rounded >> 16).astype(np.uint16)


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype, shape, bytes-like)."""
    header, offset = {}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, data in tensors:
            f.write(data)


def make_model(work, llama_src, python):
    """The random model as BF16 and F16 folders, with a 32000-token SentencePiece vocabulary (llama.cpp's
    ggml-vocab-llama-spm.gguf, converted to tokenizer.json by transformers) so the GGUF converter accepts it."""
    bf16_dir, f16_dir = os.path.join(work, "model-bf16"), os.path.join(work, "model-f16")
    if os.path.exists(os.path.join(f16_dir, "model.safetensors")):
        return bf16_dir, f16_dir
    s = SHAPE
    hd = s["hidden"] // s["heads"]
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": s["hidden"],
        "intermediate_size": s["intermediate"], "num_hidden_layers": s["layers"],
        "num_attention_heads": s["heads"], "num_key_value_heads": s["kv_heads"], "head_dim": hd,
        "vocab_size": s["vocab"], "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
        "torch_dtype": "float16",
    }
    rng = np.random.default_rng(2026)
    shapes = [("model.embed_tokens.weight", (s["vocab"], s["hidden"]))]
    for i in range(s["layers"]):
        p = f"model.layers.{i}."
        shapes += [
            (p + "input_layernorm.weight", (s["hidden"],)),
            (p + "post_attention_layernorm.weight", (s["hidden"],)),
            (p + "self_attn.q_proj.weight", (s["heads"] * hd, s["hidden"])),
            (p + "self_attn.k_proj.weight", (s["kv_heads"] * hd, s["hidden"])),
            (p + "self_attn.v_proj.weight", (s["kv_heads"] * hd, s["hidden"])),
            (p + "self_attn.o_proj.weight", (s["hidden"], s["heads"] * hd)),
            (p + "mlp.gate_proj.weight", (s["intermediate"], s["hidden"])),
            (p + "mlp.up_proj.weight", (s["intermediate"], s["hidden"])),
            (p + "mlp.down_proj.weight", (s["hidden"], s["intermediate"])),
        ]
    shapes += [("model.norm.weight", (s["hidden"],)), ("lm_head.weight", (s["vocab"], s["hidden"]))]
    bf16, f16 = [], []
    for name, shape in shapes:
        if name.endswith("norm.weight"):
            values = 1 + 0.1 * rng.standard_normal(shape, dtype=np.float32)
        else:
            values = 0.02 * rng.standard_normal(shape, dtype=np.float32)
        bits = bf16_bits(values)
        widened = (bits.astype(np.uint32) << 16).view(np.float32)
        bf16.append((name, "BF16", shape, bits.tobytes()))
        f16.append((name, "F16", shape, widened.astype(np.float16).tobytes()))
    for folder, tensors, dtype in [(bf16_dir, bf16, "bfloat16"), (f16_dir, f16, "float16")]:
        os.makedirs(folder, exist_ok=True)
        write_safetensors(os.path.join(folder, "model.safetensors"), tensors)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(dict(config, torch_dtype=dtype), f, indent=1)
    # The tokenizer: transformers reads the GGUF vocabulary and writes tokenizer.json (+ config).
    vocab_dir = os.path.join(llama_src, "models")
    script = (
        "import sys; from transformers import AutoTokenizer; "
        "t = AutoTokenizer.from_pretrained(sys.argv[1], gguf_file='ggml-vocab-llama-spm.gguf'); "
        "[t.save_pretrained(d) for d in sys.argv[2:]]"
    )
    subprocess.run([python, "-c", script, vocab_dir, bf16_dir, f16_dir], check=True)
    return bf16_dir, f16_dir


def make_phi3_mini(work, llama_src, python):
    """A Phi-3-mini-shaped random model (3.8B parameters: hidden 3072, 32 layers, 32 heads, MLP 8192, vocabulary
    32064, 4k context) as BF16 safetensors in two shards, with a tokenizer and Phi-3.5-mini's chat template from
    llama.cpp's models/ folder, for the load-and-serve check of issue 10."""
    folder = os.path.join(work, "phi3-mini-bf16")
    if os.path.exists(os.path.join(folder, "model.safetensors.index.json")):
        return folder
    os.makedirs(folder, exist_ok=True)
    h, layers, inter, vocab = 3072, 32, 8192, 32064
    config = {
        "architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_size": h, "intermediate_size": inter,
        "num_hidden_layers": layers, "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": vocab,
        "max_position_embeddings": 4096, "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 32000,
        "hidden_act": "silu", "torch_dtype": "bfloat16", "sliding_window": 2047,
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    rng = np.random.default_rng(3)
    shards = [[("model.embed_tokens.weight", (vocab, h))], []]
    for i in range(layers):
        p = f"model.layers.{i}."
        shards[0 if i < layers // 2 else 1] += [
            (p + "input_layernorm.weight", (h,)), (p + "post_attention_layernorm.weight", (h,)),
            (p + "self_attn.qkv_proj.weight", (3 * h, h)), (p + "self_attn.o_proj.weight", (h, h)),
            (p + "mlp.gate_up_proj.weight", (2 * inter, h)), (p + "mlp.down_proj.weight", (h, inter)),
        ]
    shards[1] += [("model.norm.weight", (h,)), ("lm_head.weight", (vocab, h))]
    weight_map = {}
    for index, names in enumerate(shards):
        shard = f"model-{index + 1:05d}-of-00002.safetensors"
        tensors = []
        for name, shape in names:
            if name.endswith("norm.weight"):
                values = np.ones(shape, dtype=np.float32)
            else:
                values = 0.02 * rng.standard_normal(shape, dtype=np.float32)
            tensors.append((name, "BF16", shape, bf16_bits(values).tobytes()))
            weight_map[name] = shard
        write_safetensors(os.path.join(folder, shard), tensors)
        del tensors
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)
    template = open(os.path.join(llama_src, "models", "templates", "microsoft-Phi-3.5-mini-instruct.jinja")).read()
    script = (
        "import sys, json; from transformers import AutoTokenizer; "
        "t = AutoTokenizer.from_pretrained(sys.argv[1], gguf_file='ggml-vocab-llama-spm.gguf'); "
        "t.chat_template = open(sys.argv[3]).read(); t.save_pretrained(sys.argv[2])"
    )
    path = os.path.join(work, "phi3.jinja")
    with open(path, "w") as f:
        f.write(template)
    subprocess.run([python, "-c", script, os.path.join(llama_src, "models"), folder, path], check=True)
    return folder


def serve_phi3(work, llama_src, python, kaito_serve, threads):
    """Starts kaito-serve on the Phi-3-mini-shaped model, asks /chat once, prints load time, answer time and peak
    RSS (VmHWM of the server process)."""
    import urllib.request
    folder = make_phi3_mini(work, llama_src, python)
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if f.endswith(".safetensors"))
    port = 5917
    start = time.time()
    proc = subprocess.Popen([kaito_serve, "--model", folder, "--port", str(port), "--threads", str(threads),
                             "--kv-cache-dtype", "f16", "--max-model-len", "4096"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except Exception:
                pass
            if proc.poll() is not None:
                raise RuntimeError("kaito-serve exited: " + proc.stdout.read()[-2000:])
            time.sleep(0.5)
        loaded = time.time() - start
        body = json.dumps({"prompt": "What is Kaito?", "generate_kwargs": {"max_length": 32}}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/chat", data=body,
                                         headers={"Content-Type": "application/json"})
        asked = time.time()
        with urllib.request.urlopen(request, timeout=600) as r:
            answer = json.loads(r.read())
        answered = time.time() - asked
        status = open(f"/proc/{proc.pid}/status").read()
        hwm = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1]) / 1024 / 1024
        print(f"Phi-3-mini-shaped BF16 ({size / 1e9:.2f} GB in files): ready after {loaded:.1f} s, /chat (max_length 32) "
              f"tokens answered in {answered:.1f} s, peak RSS {hwm:.2f} GiB; answer keys {sorted(answer)}")
    finally:
        proc.terminate()
        proc.wait()


def make_ggufs(work, f16_dir, llama_src, llama_bin, python):
    out = {}
    for outtype in ["f16", "q8_0"]:
        path = os.path.join(work, f"model-{outtype}.gguf")
        if not os.path.exists(path):
            subprocess.run(
                [python, os.path.join(llama_src, "convert_hf_to_gguf.py"), f16_dir, "--outtype", outtype,
                 "--outfile", path], check=True, stdout=subprocess.DEVNULL)
        out[outtype] = path
    q4 = os.path.join(work, "model-q4_0.gguf")
    if not os.path.exists(q4):
        subprocess.run([os.path.join(llama_bin, "llama-quantize"), out["f16"], q4, "Q4_0"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out["q4_0"] = q4
    return out


def run_child(cmd):
    """Runs cmd with stdout captured; returns (stdout text, peak RSS MiB from the child's rusage)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        os.dup2(write_fd, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            os.execv(cmd[0], cmd)
        finally:
            os._exit(127)
    os.close(write_fd)
    chunks = []
    while True:
        data = os.read(read_fd, 65536)
        if not data:
            break
        chunks.append(data)
    os.close(read_fd)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {os.waitstatus_to_exitcode(status)}")
    return b"".join(chunks).decode(), usage.ru_maxrss / 1024


def kaito(bin_, folder, threads, prompt, decode, quantization=None):
    cmd = [bin_, "--model", folder, "--threads", str(threads), "--prompt", str(prompt), "--decode", str(decode),
           "--kv-cache-dtype", "f16", "--json"]
    if quantization:
        cmd += ["--quantization", quantization]
    out, rss = run_child(cmd)
    r = json.loads(out.strip().splitlines()[-1])
    return dict(prefill=r["prefill_tok_s"], ttft=r["ttft_ms"], decode=r["decode_tok_s"], rss=rss,
                weights=r["weight_bytes"])


def llama(bin_dir, gguf, threads, prompt, decode):
    cmd = [os.path.join(bin_dir, "llama-bench"), "-m", gguf, "-t", str(threads), "-p", str(prompt), "-n",
           str(decode), "-r", "1", "-o", "json"]
    out, rss = run_child(cmd)
    rows = json.loads(out)
    pp = next(r for r in rows if r["n_prompt"] > 0 and r["n_gen"] == 0)
    tg = next(r for r in rows if r["n_gen"] > 0)
    return dict(prefill=pp["avg_ts"], ttft=1000 * prompt / pp["avg_ts"], decode=tg["avg_ts"], rss=rss,
                weights=os.path.getsize(gguf))


def bandwidth(work, threads):
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_bandwidth.c")
    exe = os.path.join(work, "bench_bandwidth")
    subprocess.run(["cc", "-O2", "-march=native", "-pthread", src, "-o", exe], check=True)
    out = subprocess.run([exe, str(threads)], check=True, capture_output=True, text=True).stdout
    return float(out.split()[0])  # GB/s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--llama-bin", required=True, help="folder with llama-bench and llama-quantize")
    ap.add_argument("--llama-src", required=True, help="llama.cpp source (convert_hf_to_gguf.py, models/)")
    ap.add_argument("--serve-bench", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--prompt", type=int, default=256)
    ap.add_argument("--decode", type=int, default=64)
    ap.add_argument("--only", default="", help="comma-separated configuration names to run")
    ap.add_argument("--phi3-serve", metavar="KAITO_SERVE", help="instead: serve a Phi-3-mini-shaped model once")
    ap.add_argument("--prepare", action="store_true", help="only write the model and its GGUF files (bench-serve)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    python = sys.executable
    if args.phi3_serve:
        serve_phi3(args.work, args.llama_src, python, args.phi3_serve, args.threads)
        return
    t0 = time.time()
    bf16_dir, f16_dir = make_model(args.work, args.llama_src, python)
    ggufs = make_ggufs(args.work, f16_dir, args.llama_src, args.llama_bin, python)
    print(f"model and GGUF files ready in {time.time() - t0:.0f} s under {args.work}", flush=True)
    if args.prepare:
        return
    gbps = bandwidth(args.work, args.threads)
    print(f"read bandwidth, {args.threads} threads: {gbps:.1f} GB/s", flush=True)
    t, p, d = args.threads, args.prompt, args.decode
    configs = [
        ("kaito-serve BF16 safetensors", lambda: kaito(args.serve_bench, bf16_dir, t, p, d)),
        ("kaito-serve F16 safetensors", lambda: kaito(args.serve_bench, f16_dir, t, p, d)),
        ("llama.cpp F16 GGUF", lambda: llama(args.llama_bin, ggufs["f16"], t, p, d)),
        ("kaito-serve F16 GGUF", lambda: kaito(args.serve_bench, ggufs["f16"], t, p, d)),
        ("kaito-serve --quantization q8_0", lambda: kaito(args.serve_bench, f16_dir, t, p, d, "q8_0")),
        ("llama.cpp Q8_0 GGUF", lambda: llama(args.llama_bin, ggufs["q8_0"], t, p, d)),
        ("kaito-serve Q8_0 GGUF", lambda: kaito(args.serve_bench, ggufs["q8_0"], t, p, d)),
        ("kaito-serve --quantization q4_0", lambda: kaito(args.serve_bench, f16_dir, t, p, d, "q4_0")),
        ("llama.cpp Q4_0 GGUF", lambda: llama(args.llama_bin, ggufs["q4_0"], t, p, d)),
        ("kaito-serve Q4_0 GGUF", lambda: kaito(args.serve_bench, ggufs["q4_0"], t, p, d)),
    ]
    if args.only:
        wanted = args.only.split(",")
        configs = [c for c in configs if any(w in c[0] for w in wanted)]
    results = {name: [] for name, _ in configs}
    for r in range(args.rounds):
        for name, run in configs:
            try:
                result = run()
                results[name].append(result)
                print(f"round {r + 1}: {name}: prefill {result['prefill']:.1f} tok/s, TTFT {result['ttft']:.0f} ms, "
                      f"decode {result['decode']:.1f} tok/s, peak RSS {result['rss']:.0f} MiB", flush=True)
            except Exception as error:  # one failed run is reported, the others still count
                print(f"round {r + 1}: {name}: {error}", flush=True)
        print(f"round {r + 1} of {args.rounds} done", flush=True)
    # Bytes read per decoded token: every weight once except the embedding table (one row).
    s = SHAPE
    embed = s["vocab"] * s["hidden"]
    header = f"{'engine, weights':34} {'prefill tok/s':>13} {'TTFT ms':>8} {'decode tok/s':>12} {'peak RSS MiB':>12} {'% of BW bound':>13}"
    print(f"\n{t} threads, prompt {p} tokens, decode {d} tokens, medians of {args.rounds} alternating rounds")
    print(header)
    print("-" * len(header))
    for name, _ in configs:
        runs = results[name]
        if not runs:
            print(f"{name:34} (no successful run)")
            continue
        med = {k: statistics.median(x[k] for x in runs) for k in ["prefill", "ttft", "decode", "rss"]}
        weights = runs[0]["weights"]
        total_params = embed * 2 + s["layers"] * (
            2 * s["hidden"] * s["hidden"] + 2 * s["hidden"] * (s["kv_heads"] * s["hidden"] // s["heads"])
            + 3 * s["hidden"] * s["intermediate"])
        per_token = weights * (total_params - embed) / total_params
        bound = gbps * 1e9 / per_token
        print(f"{name:34} {med['prefill']:13.1f} {med['ttft']:8.0f} {med['decode']:12.1f} {med['rss']:12.0f} "
              f"{100 * med['decode'] / bound:12.0f}%")


if __name__ == "__main__":
    main()
