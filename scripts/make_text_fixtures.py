#!/usr/bin/env python3
"""Generates the tokenizer fixtures of the EngineText tests (issue 5).

Trains two real tokenizer.json files with the `tokenizers` library on Tests/EngineTextTests/Fixtures/corpus.txt:
  * bytelevel/: byte-level BPE in the style of Qwen2 / Llama 3 (Split pre-tokenizer with their regex, ByteLevel),
    with special tokens;
  * sentencepiece/: SentencePiece-style BPE with byte fallback in the style of Llama 2 / Mistral / Phi-3 (Prepend
    and Replace normalizer, <0xNN> byte tokens, Replace/ByteFallback/Fuse/Strip decoder), with special tokens;
and writes expected.json: the ids of each test string with and without special tokens, and the decodes.

Regenerate: pip install tokenizers (no torch needed), then python3 scripts/make_text_fixtures.py
"""
import json, os

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EngineTextTests", "Fixtures")
CORPUS = os.path.join(ROOT, "corpus.txt")
QWEN_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
TESTS = [
    "Hello, world!", "", " ", "   leading and trailing   ", "It's a test. DON'T shout!", "12345 and 3.14",
    "naïve café résumé", "中文：你好，世界！", "🙂 👨‍👩‍👧‍👦 🏳️‍🌈", "tab\there\nnew line\n\n  indented",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", "zzzzqqqq unseen wörds ĳ ǅ",
    "https://example.com/a?b=c&d=e", "Привет мир", "a" * 50, "x  y   z    w",
]


def bytelevel():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, min_frequency=1, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok.train([CORPUS], trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def sentencepiece():
    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>", fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=1500, min_frequency=2, show_progress=False, limit_alphabet=200,
                                  special_tokens=["<unk>", "<s>", "</s>"] + byte_tokens)
    tok.train([CORPUS], trainer)
    # In Llama-style files the byte tokens are ordinary vocabulary entries, not added tokens.
    data = json.loads(tok.to_str())
    data["added_tokens"] = [t for t in data["added_tokens"] if not t["content"].startswith("<0x")]
    tok = Tokenizer.from_str(json.dumps(data))
    tok.add_special_tokens([AddedToken("<|user|>", special=True), AddedToken("<|assistant|>", special=True),
                            AddedToken("<|end|>", special=True, rstrip=True)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


def main():
    for name, tok in [("bytelevel", bytelevel()), ("sentencepiece", sentencepiece())]:
        out = os.path.join(ROOT, name)
        os.makedirs(out, exist_ok=True)
        tok.save(os.path.join(out, "tokenizer.json"))
        tests = TESTS + (["<|user|>\nHello<|end|>\n<|assistant|>"] if name == "sentencepiece" else [])
        cases = []
        for text in tests:
            with_special = tok.encode(text, add_special_tokens=True).ids
            without = tok.encode(text, add_special_tokens=False).ids
            cases.append({"text": text, "ids": with_special, "idsWithoutSpecial": without,
                          "decoded": tok.decode(with_special, skip_special_tokens=False),
                          "decodedSkippingSpecial": tok.decode(with_special, skip_special_tokens=True)})
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump({"cases": cases}, f, ensure_ascii=False, indent=1)
        print(name, tok.get_vocab_size(), os.path.getsize(os.path.join(out, "tokenizer.json")))


if __name__ == "__main__":
    main()
