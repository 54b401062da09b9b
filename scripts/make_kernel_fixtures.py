#!/usr/bin/env python3
"""Generates the fixtures of the CKernels tests (Tests/InferenceEngineTests/KernelTests.swift; issue 10, item 4).

Referees, none of them ours:
  - dequantization: gguf-py's `gguf.quants.dequantize` (llama.cpp's Python package) for F16, BF16, Q4_0, Q8_0, Q4_K,
    Q6_K. gguf-py has no Q8_K (an activation-only format), so Q8_K's dequantization and quantization are checked
    against ggml's own C reference, `dequantize_row_q8_K` and `quantize_row_q8_K_ref` in ggml/src/ggml-quants.c.
  - quantization: `gguf.quants.quantize` for F16, BF16, Q4_0, Q8_0 (the types gguf-py quantizes among ours, and
    the issue's `--quantization q8_0|q4_0`); ggml's `quantize_row_q8_K_ref` for Q8_K.
ggml-quants.c is compiled at generation time from a llama.cpp source tree (llama-cpp-python 0.3.36's sdist:
vendor/llama.cpp) into a temporary shared library and called through ctypes; nothing of it is committed.

Files, per type T (little-endian, no header):
  T.blocks    random blocks (edge blocks first: zero scale, largest F16 scale, subnormal scale, negative scale)
  T.dequant   their dequantization, F32
  T.input     F32 rows to quantize (edge blocks first: all zero, huge, tiny, exact .5 ties, an outlier,
              F16/BF16 rounding ties)
  T.quant     the referee's quantization of T.input

Regenerate (fixed seed; output is byte-identical), with numpy, a C compiler, and the llama-cpp-python 0.3.36 source
distribution extracted (`pip download --no-deps --no-binary llama-cpp-python llama-cpp-python==0.3.36`):
    LLAMA=<sdist>/vendor/llama.cpp
    PYTHONPATH=$LLAMA/gguf-py python3 scripts/make_kernel_fixtures.py --llama-cpp $LLAMA
"""
import argparse, ctypes, os, subprocess, sys, tempfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "InferenceEngineTests", "Fixtures",
                    "kernels")
QK_K = 256


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--llama-cpp", required=True, help="llama.cpp source tree (has ggml/src/ggml-quants.c)")
    return p.parse_args()


def ggml_library(src: str) -> ctypes.CDLL:
    ggml = os.path.join(src, "ggml")
    out = os.path.join(tempfile.mkdtemp(), "ggmlquants.so")
    subprocess.check_call(["cc", "-shared", "-fPIC", "-O1", "-w", "-I", os.path.join(ggml, "include"), "-I",
                           os.path.join(ggml, "src"), os.path.join(ggml, "src", "ggml-quants.c"), "-o", out])
    return ctypes.CDLL(out, mode=os.RTLD_LAZY)


def f16_scales(rng, count, edge):
    """Random finite F16 scales (as uint16 bits); with `edge`, the first four are 0, 65504, a subnormal, negative."""
    d = (rng.standard_normal(count) * 0.05).astype(np.float16)
    if edge:
        d[:4] = np.array([0.0, 65504.0, 2.0 ** -24 * 37, -0.75], dtype=np.float16)
    return d.view(np.uint16)


def random_blocks(rng, name, nblocks):
    """Random bytes in each block, with the F16/F32 scale fields made finite."""
    if name in ("F16", "BF16"):
        v = (rng.standard_normal(nblocks) * 3).astype(np.float32)
        v[:6] = [0.0, -0.0, 65504.0, 1e-7, -3.0e38, 1.5e-40]
        if name == "F16":
            return v.astype(np.float16).view(np.uint8)
        return (v.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
    size = {"Q4_0": 18, "Q8_0": 34, "Q4_K": 144, "Q6_K": 210, "Q8_K": 292}[name]
    raw = rng.integers(0, 256, size=(nblocks, size), dtype=np.uint8)
    if name in ("Q4_0", "Q8_0"):
        raw[:, 0:2] = f16_scales(rng, nblocks, True).view(np.uint8).reshape(nblocks, 2)
    elif name == "Q4_K":
        raw[:, 0:2] = f16_scales(rng, nblocks, True).view(np.uint8).reshape(nblocks, 2)
        raw[:, 2:4] = f16_scales(rng, nblocks, False).view(np.uint8).reshape(nblocks, 2)
    elif name == "Q6_K":
        raw[:, 208:210] = f16_scales(rng, nblocks, True).view(np.uint8).reshape(nblocks, 2)
    elif name == "Q8_K":
        d = (rng.standard_normal(nblocks) * 0.01).astype(np.float32)
        d[:2] = [0.0, -1e30]
        raw[:, 0:4] = d.view(np.uint8).reshape(nblocks, 4)
    return raw.reshape(-1)


def quant_input(rng, block, nblocks):
    """F32 rows: edge blocks, then Gaussian blocks with some outliers."""
    x = (rng.standard_normal((nblocks, block)) * rng.uniform(0.01, 10, size=(nblocks, 1))).astype(np.float32)
    x[0] = 0.0  # all zero
    x[1] *= 1e30  # huge
    x[2] *= 1e-30  # tiny (subnormal F16 scale)
    # exact ties after scaling: the block max 127 (Q8_0: d = 1) or -8 (Q4_0: d = 1), then k + 0.5 values
    ties = np.arange(block, dtype=np.float32) % 16 - 7.5
    x[3] = ties
    x[3, 0] = 127.0
    x[4] = ties / 2
    x[4, 5] = -8.0
    x[5, 7] = 1e4  # one outlier
    # F16 and BF16 rounding ties (to even): halfway between neighbours in [1, 2), and between F16 subnormals
    odd = (2 * np.arange(block) + 1).astype(np.float32)
    x[6] = 1 + odd % 64 * (2.0 ** -11 if block == 32 else 2.0 ** -8)
    x[7] = odd % 64 * 2.0 ** -25
    return x.reshape(-1)


def main():
    args = parse()
    from gguf import GGMLQuantizationType as T
    from gguf import quants

    lib = ggml_library(args.llama_cpp)
    rng = np.random.default_rng(20261203)
    os.makedirs(ROOT, exist_ok=True)

    for name, nblocks, block in [("F16", 1024, 1), ("BF16", 1024, 1), ("Q4_0", 64, 32), ("Q8_0", 64, 32),
                                 ("Q4_K", 16, QK_K), ("Q6_K", 16, QK_K), ("Q8_K", 16, QK_K)]:
        raw = random_blocks(rng, name, nblocks)
        n = nblocks * block
        if name == "Q8_K":
            out = np.zeros(n, dtype=np.float32)
            lib.dequantize_row_q8_K(raw.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p),
                                    ctypes.c_int64(n))
        else:
            qtype = getattr(T, name)
            out = quants.dequantize(raw.reshape(1, -1), qtype).reshape(-1).astype(np.float32)
        raw.tofile(os.path.join(ROOT, f"{name}.blocks"))
        out.tofile(os.path.join(ROOT, f"{name}.dequant"))

    for name, nblocks, block in [("F16", 64, 32), ("BF16", 64, 32), ("Q4_0", 64, 32), ("Q8_0", 64, 32),
                                 ("Q8_K", 16, QK_K)]:
        x = quant_input(rng, block, nblocks)
        if name == "Q8_K":
            q = np.zeros(nblocks * 292, dtype=np.uint8)
            lib.quantize_row_q8_K_ref(x.ctypes.data_as(ctypes.c_void_p), q.ctypes.data_as(ctypes.c_void_p),
                                      ctypes.c_int64(x.size))
        else:
            q = quants.quantize(x.reshape(1, -1), getattr(T, name)).view(np.uint8).reshape(-1)
        x.tofile(os.path.join(ROOT, f"{name}.input"))
        q.tofile(os.path.join(ROOT, f"{name}.quant"))

    total = sum(os.path.getsize(os.path.join(ROOT, f)) for f in os.listdir(ROOT))
    print(f"wrote {ROOT} ({total} bytes)")


if __name__ == "__main__":
    sys.exit(main())
