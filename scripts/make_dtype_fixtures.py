#!/usr/bin/env python3
"""Generates the half-precision fixtures of the InferenceEngine tests (issue 5: the F16/BF16 tolerance).

The committed tiny Llama of `make_engine_fixtures.py`, saved in BF16 and in F16, with two references each:
  - `lastLogits`: transformers in F32 on the rounded weights. kaito-serve widens F16/BF16 weights to F32 and
    computes in F32, so it must match this within the F32 tolerance (1e-4).
  - `lastLogitsNative`: transformers computing in the checkpoint's own dtype, as a GPU runtime serving it would. The
    gap to this is the rounding of activations in 16 bits, not an engine error; the tests state and bound it.

Regenerate (a CPU build of torch; never the default PyPI wheel):
    /tmp/venv-ref/bin/python scripts/make_dtype_fixtures.py
"""
import json, os, shutil

import torch
import transformers
from transformers import AutoModelForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "InferenceEngineTests", "Fixtures")
PROMPTS = [[1, 17, 42, 99, 7, 200, 13], [1] + list(range(30, 70))]


def main():
    for name, dtype in (("llama-bf16", torch.bfloat16), ("llama-f16", torch.float16)):
        model = AutoModelForCausalLM.from_pretrained(os.path.join(ROOT, "llama"), torch_dtype=dtype,
                                                     attn_implementation="eager").eval()
        out = os.path.join(ROOT, name)
        shutil.rmtree(out, ignore_errors=True)
        model.save_pretrained(out, safe_serialization=True)
        widened = AutoModelForCausalLM.from_pretrained(out, torch_dtype=torch.float32,
                                                       attn_implementation="eager").eval()
        cases = []
        for prompt in PROMPTS:
            ids = torch.tensor([prompt])
            with torch.no_grad():
                cases.append({"prompt": prompt, "lastLogits": widened(ids).logits[0, -1].tolist(),
                              "lastLogitsNative": model(ids).logits[0, -1].float().tolist()})
        with open(os.path.join(out, "reference.json"), "w") as f:
            json.dump({"transformers": transformers.__version__, "torch": torch.__version__, "cases": cases}, f)
        print(name, os.path.getsize(os.path.join(out, "model.safetensors")), "bytes")


if __name__ == "__main__":
    main()
