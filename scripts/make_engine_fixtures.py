#!/usr/bin/env python3
"""Generates the reference fixtures of the InferenceEngine tests (issue 5).

Tiny random-weight models of each architecture kaito-serve runs, built from configs in code with fixed seeds (nothing
is downloaded), saved as Hugging Face folders (config.json, generation_config.json, model.safetensors in F32), and
transformers' own outputs for fixed prompts: last-position logits and greedy continuations.

Regenerate (needs a CPU build of torch; never the default PyPI wheel, which pulls CUDA):
    python3 -m venv /tmp/venv-ref && /tmp/venv-ref/bin/pip install "torch==2.13.0+cpu" transformers safetensors
    /tmp/venv-ref/bin/python scripts/make_engine_fixtures.py
"""
import json, os, shutil

import torch
import transformers
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Phi3Config,
                          Phi3ForCausalLM, Qwen2Config, Qwen2ForCausalLM)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "InferenceEngineTests", "Fixtures")
COMMON = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2, pad_token_id=0)
PROMPTS = [[1, 17, 42, 99, 7, 200, 13], [1] + list(range(30, 70)), [1] + list(range(100, 124))]  # the second is longer than the sliding window
                                                                    # and Phi-3's original context


def models():
    yield "llama", LlamaForCausalLM, LlamaConfig(**COMMON, max_position_embeddings=128, rope_theta=10000.0,
                                                 tie_word_embeddings=False)
    yield "llama3-rope", LlamaForCausalLM, LlamaConfig(
        **COMMON, max_position_embeddings=256, rope_theta=500000.0, tie_word_embeddings=True,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 32})
    yield "mistral", MistralForCausalLM, MistralConfig(**COMMON, max_position_embeddings=128, sliding_window=8,
                                                       rope_theta=1000000.0, tie_word_embeddings=False)
    yield "qwen2", Qwen2ForCausalLM, Qwen2Config(**COMMON, max_position_embeddings=128, rope_theta=1000000.0,
                                                 tie_word_embeddings=True, use_sliding_window=False)
    head_dim = COMMON["hidden_size"] // COMMON["num_attention_heads"]
    g = torch.Generator().manual_seed(7)
    short = (1.0 + torch.rand(head_dim // 2, generator=g)).tolist()
    long = (1.0 + 4.0 * torch.rand(head_dim // 2, generator=g)).tolist()
    phi = dict(COMMON)
    phi["num_key_value_heads"] = 4
    yield "phi3", Phi3ForCausalLM, Phi3Config(
        **phi, max_position_embeddings=128, original_max_position_embeddings=32, rope_theta=10000.0,
        tie_word_embeddings=False, sliding_window=None,
        rope_scaling={"type": "longrope", "short_factor": short, "long_factor": long})


def main():
    torch.manual_seed(0)
    for name, cls, config in models():
        torch.manual_seed(1234)
        config._attn_implementation = "eager"
        model = cls(config).eval()
        # Random init of transformers is tiny; spread the weights so logits are not all alike.
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() > 1:
                    p.normal_(0, 0.08)
            for n, p in model.named_parameters():
                if n.endswith("norm.weight") or n.endswith("layernorm.weight"):
                    p.uniform_(0.8, 1.2)
                if n.endswith("bias"):
                    p.normal_(0, 0.05)
        out = os.path.join(ROOT, name)
        shutil.rmtree(out, ignore_errors=True)
        model.save_pretrained(out, safe_serialization=True)
        reference = {"transformers": transformers.__version__, "torch": torch.__version__, "cases": []}
        for prompt in PROMPTS:
            ids = torch.tensor([prompt])
            with torch.no_grad():
                logits = model(ids).logits[0, -1].tolist()
                generated = model.generate(ids, max_new_tokens=12, do_sample=False, eos_token_id=None,
                                           pad_token_id=0, min_new_tokens=12)[0, len(prompt):].tolist()
            reference["cases"].append({"prompt": prompt, "lastLogits": logits, "greedy": generated})
        with open(os.path.join(out, "reference.json"), "w") as f:
            json.dump(reference, f)
        print(name, sum(os.path.getsize(os.path.join(out, x)) for x in os.listdir(out)), "bytes")


def chat_fixture():
    """A tiny Llama whose vocabulary is the SentencePiece-style test tokenizer's, with a chat template: the model
    folder the server tests start kaito-serve on."""
    text = os.path.join(ROOT, "..", "..", "EngineTextTests", "Fixtures")
    tokenizer = json.load(open(os.path.join(text, "sentencepiece", "tokenizer.json")))
    vocab = max(max(tokenizer["model"]["vocab"].values()), max(t["id"] for t in tokenizer["added_tokens"])) + 1
    torch.manual_seed(99)
    config = LlamaConfig(**dict(COMMON, vocab_size=vocab, bos_token_id=1, eos_token_id=2), max_position_embeddings=256,
                         tie_word_embeddings=True)
    config._attn_implementation = "eager"
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.08)
    out = os.path.join(ROOT, "..", "..", "EngineServerTests", "Fixtures", "tiny-chat")
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out, safe_serialization=True)
    shutil.copy(os.path.join(text, "sentencepiece", "tokenizer.json"), os.path.join(out, "tokenizer.json"))
    template = open(os.path.join(text, "templates", "phi3.jinja")).read()
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "chat_template": template, "model_max_length": 256}, f, indent=1)


if __name__ == "__main__":
    main()
    chat_fixture()
