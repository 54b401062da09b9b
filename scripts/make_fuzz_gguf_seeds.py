#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz-gguf target (Fuzz/Corpus/fuzz-gguf): tiny complete GGUF models, each a few KB,
so that libFuzzer's mutations start from files that get through the header, the tokenizer metadata, the model
configuration and the weights to a forward pass.

Written with gguf-py (llama.cpp's own GGUF writer, in `.venv-test`), with llama.cpp's tensor and key names:
- seed-llama-spm-f32: llama architecture, SentencePiece-style vocabulary (`llama`: scores, token types, byte tokens),
  F32 weights, untied head.
- seed-qwen2-bpe-f16: qwen2 (attention biases), GPT-2 byte-level BPE vocabulary (`gpt2`: merges, pre-tokenizer
  `qwen2`), F16 weights, head tied to the embeddings.
- seed-phi3-q8_0: phi3 (fused QKV and gate/up), Q8_0 and Q4_0 matrices, long-rope factors.

    .venv-test/bin/python scripts/make_fuzz_gguf_seeds.py Fuzz/Corpus/fuzz-gguf
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter
from gguf.quants import quantize

HIDDEN, HEADS, KV_HEADS, FFN, CONTEXT = 32, 2, 1, 32, 64
HEAD_DIM = HIDDEN // HEADS


def spm_vocabulary(writer):
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(16)] + \
        ["▁", "▁H", "ello", "▁w", "ö", "rld", "1", "2", "3", "4", "5", "▁✓", "e", "l", "o", "H", "w", "r", "d", "rl",
         "ll", "llo", "▁1", "12", "123", "▁12", "▁123"]
    types = [2, 3, 3] + [6] * 16 + [1] * (len(tokens) - 19)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * 19 + [-float(i) for i in range(len(tokens) - 19)])
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_space_prefix(True)
    return len(tokens)


def bpe_vocabulary(writer):
    base = ["H", "e", "l", "o", "Ġ", "w", "Ã", "¶", "r", "d", "1", "2", "3", "Ċ", "ĉ", "âľĵ"]
    merged = ["He", "ll", "Hell", "Hello", "Ġw", "rl", "rld", "12", "123"]
    tokens = base + merged + ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types([1] * (len(base) + len(merged)) + [3, 3, 3])
    writer.add_token_merges(["H e", "l l", "He ll", "Hell o", "Ġ w", "r l", "rl d", "1 2", "12 3"])
    writer.add_eos_token_id(len(tokens) - 1)
    writer.add_bos_token_id(len(tokens) - 3)
    return len(tokens)


def header(writer, arch, vocabulary):
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(1)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(10000.0)
    writer.add_vocab_size(vocabulary)


def weights(rng, rows, columns):
    return (rng.standard_normal((rows, columns)) * 0.2).astype(np.float32)


def add(writer, name, array, kind):
    if kind == "f16":
        writer.add_tensor(name, array.astype(np.float16))
    elif kind in ("q8_0", "q4_0") and array.ndim == 2:
        qtype = GGMLQuantizationType.Q8_0 if kind == "q8_0" else GGMLQuantizationType.Q4_0
        writer.add_tensor(name, quantize(array, qtype), raw_dtype=qtype)
    else:
        writer.add_tensor(name, array)


def model(path, arch, vocabulary_writer, kind, tied=False):
    rng = np.random.default_rng(7)
    writer = GGUFWriter(path, arch)
    vocabulary = vocabulary_writer(writer)
    header(writer, arch, vocabulary)
    kv = KV_HEADS * HEAD_DIM
    norm = np.ones(HIDDEN, dtype=np.float32)
    add(writer, "token_embd.weight", weights(rng, vocabulary, HIDDEN), "f32" if kind != "f16" else "f16")
    add(writer, "blk.0.attn_norm.weight", norm, "f32")
    if arch == "phi3":
        writer.add_rope_scaling_orig_ctx_len(CONTEXT // 2)
        add(writer, "rope_factors_long.weight", np.linspace(1, 4, HEAD_DIM // 2, dtype=np.float32), "f32")
        add(writer, "rope_factors_short.weight", np.ones(HEAD_DIM // 2, dtype=np.float32), "f32")
        add(writer, "blk.0.attn_qkv.weight", weights(rng, HIDDEN + 2 * kv, HIDDEN), kind)
        add(writer, "blk.0.ffn_up.weight", weights(rng, 2 * FFN, HIDDEN), "q4_0")
    else:
        for name, rows in (("attn_q", HIDDEN), ("attn_k", kv), ("attn_v", kv)):
            add(writer, f"blk.0.{name}.weight", weights(rng, rows, HIDDEN), kind)
            if arch == "qwen2":
                add(writer, f"blk.0.{name}.bias", weights(rng, 1, rows)[0], "f32")
        add(writer, "blk.0.ffn_gate.weight", weights(rng, FFN, HIDDEN), kind)
        add(writer, "blk.0.ffn_up.weight", weights(rng, FFN, HIDDEN), kind)
    add(writer, "blk.0.attn_output.weight", weights(rng, HIDDEN, HIDDEN), kind)
    add(writer, "blk.0.ffn_norm.weight", norm, "f32")
    add(writer, "blk.0.ffn_down.weight", weights(rng, HIDDEN, FFN), kind)
    add(writer, "output_norm.weight", norm, "f32")
    if not tied:
        add(writer, "output.weight", weights(rng, vocabulary, HIDDEN), kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    model(os.path.join(out, "seed-llama-spm-f32.gguf"), "llama", spm_vocabulary, "f32")
    model(os.path.join(out, "seed-qwen2-bpe-f16.gguf"), "qwen2", bpe_vocabulary, "f16", tied=True)
    model(os.path.join(out, "seed-phi3-q8_0.gguf"), "phi3", spm_vocabulary, "q8_0")


if __name__ == "__main__":
    main()
