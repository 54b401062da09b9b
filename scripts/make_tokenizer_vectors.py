#!/usr/bin/env python3
"""Tokenizer test material from llama.cpp's vocabularies (issue 12), generated at test time, not committed.

For each vocabulary of llama.cpp's models/ folder that the tests cover (ggml-vocab-<name>.gguf with its .inp/.out
vectors, fetched by `make third-party` into .cache/llama.cpp/models), this script
  1. converts the GGUF vocabulary to tokenizer.json with transformers' own GGUF converter
     (transformers.integrations.gguf: convert_gguf_tokenizer, which AutoTokenizer.from_pretrained(dir,
     gguf_file=...) runs; the metadata is read with the gguf package because transformers' own GGUF reader
     imports torch, which the test venv does not have), then restores the pieces of the original
     model's tokenizer.json that a GGUF file does not carry (FIXUPS below: each is what the model's own
     tokenizer.json on the Hugging Face Hub says, and what llama.cpp selects for the file's tokenizer.ggml.pre);
  2. checks with the `tokenizers` library that the converted tokenizer encodes every .inp case to its .out ids
     (add_special_tokens=False, as llama.cpp's tests/test-tokenizer-0.cpp does) and exits non-zero if not;
  3. writes <out>/<name>/tokenizer.json and <out>/<name>/expected.json: the .inp cases with their .out ids and
     HF's decode, and a corpus of >= 300 chunks (code, many scripts, emoji, whitespace runs, combining marks,
     plus this vocabulary's added tokens) with HF's ids with and without special tokens and HF's decodes.
Extra variants (VARIANTS) reuse a converted vocabulary with other normalizers/pre-tokenizers so that every
component of the HF pipeline is compared with HF on the corpus.

Regenerate (make test does this when the script or the Makefile changes):
  .venv-test/bin/python scripts/make_tokenizer_vectors.py .cache/llama.cpp/models .cache/tokenizers [NAME...]
(names: only those outputs; the .done marker is written only by a full run)
Needs transformers, tokenizers, gguf, sentencepiece, protobuf (no torch).
"""
import json
import os
import random
import sys
import unicodedata

from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from gguf import GGUFReader
from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_TOKENIZER_MAPPING, convert_gguf_tokenizer

VOCABS = [
    "phi-3", "llama-spm", "llama-bpe", "qwen2", "qwen35", "deepseek-llm", "deepseek-coder", "gpt-2", "command-r",
    "gemma-4",
]

SEP = "\n__ggml_vocab_test__\n"

# DeepSeek's split expressions, as in deepseek-ai/deepseek-llm-7b-base and deepseek-coder-6.7b-base tokenizer.json
# (and llama.cpp src/llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM / _CODER).
DEEPSEEK_LLM = [
    "[\r\n]",
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373"
    "\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f"
    "\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77"
    "\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d"
    "\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4"
    "\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139"
    "\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d"
    "\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a"
    "\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2"
    "\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+",
    "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+",
    "\\s+$",
    "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+",
    "\\p{N}+",
]
DEEPSEEK_CODER = ["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+", "\\p{N}"]


def splits(patterns):
    steps = [pre_tokenizers.Split(Regex(p), behavior="isolated", invert=False) for p in patterns]
    steps.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False))
    return pre_tokenizers.Sequence(steps)


def fix_llama_spm(tok):
    # meta-llama/Llama-2-7b-hf tokenizer.json: the prefix space comes from a normalizer, no pre-tokenizer.
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = None


def fix_llama_bpe(tok):
    # meta-llama/Meta-Llama-3-8B tokenizer.json: "ignore_merges": true (llama.cpp: LLAMA_VOCAB_PRE_TYPE_LLAMA3), and a
    # Sequence post-processor (ByteLevel, then TemplateProcessing with <|begin_of_text|>).
    data = json.loads(tok.to_str())
    data["model"]["ignore_merges"] = True
    tok = Tokenizer.from_str(json.dumps(data))
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(
            single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
            special_tokens=[("<|begin_of_text|>", 128000)],
        ),
    ])
    return tok


def fix_command_r(tok):
    # CohereForAI/c4ai-command-r-v01 tokenizer.json: NFC, then Digits(individual) and ByteLevel with the GPT-2 regex.
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )


FIXUPS = {
    "llama-spm": fix_llama_spm,
    "llama-bpe": fix_llama_bpe,
    "deepseek-llm": lambda tok: setattr(tok, "pre_tokenizer", splits(DEEPSEEK_LLM)),
    "deepseek-coder": lambda tok: setattr(tok, "pre_tokenizer", splits(DEEPSEEK_CODER)),
    "command-r": fix_command_r,
}


def metaspace_variant(scheme, split):
    def apply(tok):
        tok.normalizer = None
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=scheme, split=split)
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme=scheme, split=split)
    return apply


def bytelevel_variant(normalizer, pre):
    def apply(tok):
        tok.normalizer = normalizer
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
        )
    return apply


def added_token_options(tok):
    # The added-token options on a real vocabulary: lstrip/rstrip on <|end|>, rstrip on <|user|>, lstrip on
    # <|assistant|>, and a normalized, single-word added token.
    data = json.loads(tok.to_str())
    for token in data["added_tokens"]:
        if token["content"] == "<|end|>":
            token.update(lstrip=True, rstrip=True)
        elif token["content"] == "<|user|>":
            token.update(rstrip=True)
        elif token["content"] == "<|assistant|>":
            token.update(lstrip=True)
    # An entry of the vocabulary made an added token keeps its id, as `add_tokens` does.
    data["added_tokens"].append({"id": data["model"]["vocab"]["world"], "content": "world", "single_word": True,
                                 "lstrip": False, "rstrip": False, "normalized": True, "special": False})
    return Tokenizer.from_str(json.dumps(data))


# name: (base vocabulary, change). Corpus only: these are not real models, they put each HF component under test.
VARIANTS = {
    # What transformers writes for llama-spm: Metaspace with prepend_scheme "first".
    "llama-spm-metaspace-first": ("llama-spm", metaspace_variant("first", False)),
    "llama-spm-metaspace-always-split": ("llama-spm", metaspace_variant("always", True)),
    "llama-spm-metaspace-never": ("llama-spm", metaspace_variant("never", False)),
    "phi-3-added-token-options": ("phi-3", added_token_options),
    "gpt-2-nfkc-lowercase-whitespace": (
        "gpt-2",
        bytelevel_variant(normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()]), pre_tokenizers.Whitespace()),
    ),
    "gpt-2-nfd-strip-punctuation": (
        "gpt-2",
        bytelevel_variant(
            normalizers.Sequence([normalizers.NFD(), normalizers.Strip(left=True, right=True)]),
            pre_tokenizers.Punctuation(behavior="contiguous"),
        ),
    ),
    "gpt-2-nfkd-digits-whitespacesplit": (
        "gpt-2",
        bytelevel_variant(
            normalizers.NFKD(),
            pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=False), pre_tokenizers.WhitespaceSplit()]),
        ),
    ),
    "gpt-2-split-removed": ("gpt-2", bytelevel_variant(None, pre_tokenizers.Split(" ", behavior="removed"))),
    "gpt-2-split-merged-next": (
        "gpt-2",
        bytelevel_variant(None, pre_tokenizers.Split(Regex("\\s+"), behavior="merged_with_next")),
    ),
    "gpt-2-split-contiguous-invert": (
        "gpt-2",
        bytelevel_variant(None, pre_tokenizers.Split(Regex("\\p{L}+"), behavior="contiguous", invert=True)),
    ),
    "gpt-2-split-isolated-punct-replace": (
        "gpt-2",
        bytelevel_variant(
            normalizers.Replace(Regex("[0-9]+"), "#"),
            pre_tokenizers.Split(Regex("[[:punct:]]|\\p{P}"), behavior="merged_with_previous"),
        ),
    ),
}

SEEDS = [
    "Hello world", " Hello world", "Hello, World!", "It's a test. DON'T shout! We'll see, they've gone, I'd say.",
    "The quick brown fox jumps over the lazy dog.", "naïve café résumé coöperate façade Æsop œuvre",
    "Äpfel über Straße — «Grüße» aus Köln", "¿Dónde está la biblioteca? ¡Aquí!", "Cửa Việt, Hà Nội, Thành phố Hồ Chí Minh",
    "Привет, мир! Съешь же ещё этих мягких французских булок.", "Γειά σου Κόσμε· ἀρχὴ ἥμισυ παντός",
    "مرحبا بالعالم، كيف حالك؟", "שלום עולם", "नमस्ते दुनिया, आप कैसे हैं?", "สวัสดีชาวโลก ภาษาไทย",
    "你好，世界！今天天气很好。", "日本語のテキスト、カタカナとひらがな。漢字も", "안녕하세요 세계 한국어 텍스트",
    "ᐊᐃᓐᓂᐊᖅ ᓄᓇᕗᑦ", "ქართული ენა", "Հայերեն լեզու", "አማርኛ ቋንቋ", "ꦗꦮ ᮞᮥᮔ᮪ᮓ",
    "🙂 👨‍👩‍👧‍👦 🏳️‍🌈 👍🏽 🇫🇷🇯🇵 ❤️‍🔥", "🦙.cpp and 🤗 transformers", "emoji🙂without🙂spaces",
    "e\u0301 a\u0300 o\u0308 n\u0303 (decomposed)", " \u0301 space then combining", "\u0301starts with a mark",
    "Z\u0351\u0360\u0353a\u0361\u034al\u0322\u0348g\u0310o", "ﬁ ﬂ ﬃ ① ② ㎏ ℃ Ⅻ ｆｕｌｌｗｉｄｔｈ",
    "\u212b (U+212B) \u00c5 (U+00C5) A\u030a (A+ring) \u2126 \u03a9", "\ufeffBOM at the start", "zero\u200bwidth\u200djoiner\u2060",
    "def add(a, b):\n    return a + b\n", "for (int i = 0; i < n; ++i) {\n\tsum += x[i];\n}",
    "let x: [String: Int] = [\"a\": 1]\nprint(x)", "{\"key\": [1, 2.5, -3e10, null, true]}",
    "#!/bin/sh\nset -eu\nls -la | grep \"^d\" >> out.txt 2>&1", "SELECT * FROM t WHERE id IN (1,2,3);",
    "<div class=\"a\">x &amp; y</div>", "    indented\n        more\n\t\ttabs\n", "a  b   c    d     e",
    "\n", "\n\n\n", " \n \n", "\r\n\r\n", "\t", "   ", "        ", "trailing spaces   ", "   leading",
    "\u00a0non-breaking\u00a0space\u3000ideographic", "3.14159 2,718 1234567890 ½ ¾ ٣٤٥ ४२", "0x1F 0b1010 1e-9 +42 -7",
    "ied 4 ½ months", "w048 7tuijk dsdfhu", "https://example.com/path?q=1&r=two#frag", "user@example.org",
    "I'LL SAY IT'S FINE, YOU'RE RIGHT", "can't won't shouldn't", "''' \"\"\" ``` ~~~", "!!!???...,,,;;;:::",
    "(((nested))) [[[brackets]]] {{{braces}}}", "a" * 40, "ab" * 30, "-" * 25 + "=" * 25, "😀" * 8,
    "underworld worldwide world_ worlds 'world' world", "x\u0000y", "tab\there", "mixed 中文 and English 和 numbers 123", "Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ",
]


def corpus():
    rng = random.Random(12)
    chunks = list(SEEDS)
    seps = [" ", "  ", "\n", "\t", "\n\n", " \n", "   ", ""]
    while len(chunks) < 220:
        parts = rng.sample(SEEDS, rng.randint(2, 4))
        chunks.append("".join(p + rng.choice(seps) for p in parts))
    while len(chunks) < 300:
        text = rng.choice(SEEDS) + rng.choice(seps) + rng.choice(SEEDS)
        start = rng.randint(0, len(text) - 1)
        chunks.append(text[start : start + rng.randint(1, 30)])
    chunks.append(unicodedata.normalize("NFD", " ".join(SEEDS[5:12])))
    chunks.append("\n".join(SEEDS))
    return chunks


def special_chunks(tok, rng):
    added = [t.content for t in tok.get_added_tokens_decoder().values()]
    added = sorted(added)[:40]
    out = []
    for i in range(20 if added else 0):
        a, b = rng.choice(added), rng.choice(added)
        out.append(rng.choice(["", " ", "  "]) + a + rng.choice(["", " ", "\n", "  "]) + rng.choice(SEEDS)
                   + rng.choice(["", " ", " \n"]) + b + rng.choice(["", " x", "Hi", "\n\nok "]))
    return out


def tokenizer_metadata(path):
    """(architecture, the tokenizer.ggml.* values under transformers' names), as convert_gguf_tokenizer takes them."""
    reader = GGUFReader(path)
    values = {key: field.contents() for key, field in reader.fields.items()
              if key.startswith("tokenizer.ggml.") or key == "general.architecture"}
    renames = GGUF_TOKENIZER_MAPPING["tokenizer"]
    return values["general.architecture"], {
        name: values[f"tokenizer.{key}"] for key, name in renames.items() if f"tokenizer.{key}" in values
    }


def convert(models, name):
    arch, tokenizer_dict = tokenizer_metadata(os.path.join(models, f"ggml-vocab-{name}.gguf"))
    tok, _ = convert_gguf_tokenizer(arch, tokenizer_dict)
    fix = FIXUPS.get(name)
    if fix:
        tok = fix(tok) or tok
    return tok


def read_vectors(models, name):
    with open(os.path.join(models, f"ggml-vocab-{name}.gguf.inp"), encoding="utf-8") as f:
        raw = f.read()
    cases = raw.split(SEP)
    if raw.endswith(SEP):
        cases = cases[:-1]
    with open(os.path.join(models, f"ggml-vocab-{name}.gguf.out"), encoding="utf-8") as f:
        outs = [[int(x) for x in line.split()] for line in f.read().splitlines()]
    assert len(cases) == len(outs), name
    return list(zip(cases, outs))


def write(out, name, tok, vectors, chunks):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    tok.save(os.path.join(folder, "tokenizer.json"))
    # Reload what was written: the test reads the file, not this object.
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    failures = 0
    inp = []
    for text, ids in vectors:
        got = tok.encode(text, add_special_tokens=False).ids
        if got != ids:
            failures += 1
            print(f"{name}: HF differs from .out on {text!r}: {got} vs {ids}", file=sys.stderr)
        inp.append({"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
    rng = random.Random(name)
    cases = []
    for text in chunks + special_chunks(tok, rng):
        ids = tok.encode(text, add_special_tokens=False).ids
        cases.append({
            "text": text,
            "ids": ids,
            "idsWithSpecial": tok.encode(text, add_special_tokens=True).ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decodedSkippingSpecial": tok.decode(ids, skip_special_tokens=True),
        })
    with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"vectors": inp, "corpus": cases}, f, ensure_ascii=False)
    print(f"{name}: {len(inp)} vectors, {len(cases)} corpus chunks", file=sys.stderr)
    return failures


def main():
    models, out = sys.argv[1], sys.argv[2]
    only = set(sys.argv[3:])  # while developing: regenerate only these outputs
    chunks = corpus()
    failures = 0
    converted = {}
    for name in VOCABS:
        tok = convert(models, name)
        converted[name] = tok.to_str()
        if not only or name in only:
            failures += write(out, name, tok, read_vectors(models, name), chunks)
    for name, (base, change) in VARIANTS.items():
        if only and name not in only:
            continue
        tok = Tokenizer.from_str(converted[base])
        tok = change(tok) or tok
        failures += write(out, name, tok, [], chunks)
    if failures:
        sys.exit(f"{failures} .inp cases where the converted tokenizer differs from llama.cpp's .out")
    if only:
        return
    with open(os.path.join(out, ".done"), "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main()
