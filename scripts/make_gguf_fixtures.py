#!/usr/bin/env python3
"""Generates the GGUF fixtures of the InferenceEngine tests (issue 10): the tiny reference models of
Tests/InferenceEngineTests/Fixtures converted by llama.cpp's own converter (convert_hf_to_gguf.py), so the tests read
files written by the tool users run, not by us.

The converter needs a tokenizer in each model folder; the models have none, so this script trains a tiny
SentencePiece BPE model (120 pieces, fixed corpus and seed; the converter pads the vocabulary to the models' 256
entries). The GGUF tests compare the engine on each file with the same engine on the safetensors folder (and with
transformers' logits in reference.json), so the tokenizer plays no part in them.

Regenerate (needs a CPU build of torch; never the default PyPI wheel, which pulls CUDA), with a llama.cpp source
tree (the llama-cpp-python 0.3.36 source distribution's vendor/llama.cpp; `make third-party` puts one in
.cache/llama.cpp):
    python3 -m venv /tmp/venv-ref && /tmp/venv-ref/bin/pip install "torch==2.13.0+cpu" transformers safetensors \
        sentencepiece numpy
    LLAMA_CPP=.cache/llama.cpp /tmp/venv-ref/bin/python scripts/make_gguf_fixtures.py
"""
import os, random, shutil, subprocess, sys, tempfile

import sentencepiece as spm

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(ROOT, "Tests", "InferenceEngineTests", "Fixtures")
LLAMA_CPP = os.environ.get("LLAMA_CPP", os.path.join(ROOT, ".cache", "llama.cpp"))
# (model folder, converter --outtype, file name): every architecture in F32; the F16 Llama checkpoint in F16 (same
# weights as its safetensors); Llama quantized to Q8_0 by the converter (gguf-py's reference quantizer), which the
# engine's quantization at load must reproduce bit for bit.
OUTPUTS = [("llama", "f32", "llama-f32"), ("llama-f16", "f16", "llama-f16"), ("llama", "q8_0", "llama-q8_0"),
           ("llama3-rope", "f32", "llama3-rope-f32"), ("mistral", "f32", "mistral-f32"), ("qwen2", "f32", "qwen2-f32"),
           ("phi3", "f32", "phi3-f32")]


def tokenizer(folder):
    random.seed(0)
    words = ("the quick brown fox jumps over lazy dog kaito serve model weights tensor gguf llama qwen phi mistral "
             "token text chat hello world").split()
    corpus = os.path.join(folder, "corpus.txt")
    with open(corpus, "w") as f:
        f.write("\n".join(" ".join(random.choice(words) for _ in range(12)) for _ in range(400)))
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=os.path.join(folder, "tokenizer"), vocab_size=120,
                                   model_type="bpe", bos_id=1, eos_id=2, unk_id=0, pad_id=-1,
                                   num_threads=1, minloglevel=2)
    return os.path.join(folder, "tokenizer.model")


def main():
    out = os.path.join(FIXTURES, "gguf")
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.path.join(LLAMA_CPP, "gguf-py"))
    with tempfile.TemporaryDirectory() as tmp:
        model_file = tokenizer(tmp)
        for name, outtype, output in OUTPUTS:
            folder = os.path.join(tmp, name)
            if not os.path.exists(folder):
                shutil.copytree(os.path.join(FIXTURES, name), folder)
                shutil.copy(model_file, os.path.join(folder, "tokenizer.model"))
            target = os.path.join(out, output + ".gguf")
            subprocess.run([sys.executable, os.path.join(LLAMA_CPP, "convert_hf_to_gguf.py"), folder,
                            "--outtype", outtype, "--outfile", target], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            print(target, os.path.getsize(target))


if __name__ == "__main__":
    main()
