#!/usr/bin/env python3
"""Generates the LoRA adapter fixtures of the InferenceEngine and contract tests (issue 6).

PEFT adapters (adapter_config.json + adapter_model.safetensors, the format Kaito tuning writes) for the committed tiny
models of `make_engine_fixtures.py`, with random non-zero LoRA weights and fixed seeds, and PEFT's own outputs:
last-position logits for fixed prompts with one adapter at strengths 0, 0.5 and 1, and with two adapters together,
computed by PEFT's own LoRA layers with every adapter active at once and its scaling set to strength * alpha / r
(`LoraLayer.set_scale`): y = W x + sum_i w_i * s_i * B_i (A_i x), the exact weighted sum of the deltas.
The script checks that this equals `add_weighted_adapter(combination_type="cat")` (what Kaito's transformers runtime
calls, with "svd" by default for two or more) on the adapters without rsLoRA; with rsLoRA, PEFT 0.21.2's combined
adapter is over-scaled (the bug noted in docs/reference/inference.md section 1.5), so the reference is the exact sum.

  - llama: unfused modules; adapter `alpha-one` (r 4, alpha 8, q/v/o/down) and `beta-two` (r 2, alpha 4, rsLoRA,
    k/q/gate/up, stored in BF16, as some adapters are).
  - phi3: fused modules; adapter `phi-fused` (r 8, alpha 8, qkv_proj/gate_up_proj/o_proj) and `phi-kaito` (r 8,
    alpha 16, o_proj/down_proj: what Kaito's Phi-3 default target modules select, docs/reference/inference.md section 1.6).
  - tiny-chat (the server tests' model with a real tokenizer): two adapters the contract test serves.

Regenerate (needs a CPU build of torch; never the default PyPI wheel, which pulls CUDA):
    python3 -m venv /tmp/venv-ref && /tmp/venv-ref/bin/pip install "torch==2.13.0+cpu" transformers safetensors peft
    /tmp/venv-ref/bin/python scripts/make_adapter_fixtures.py
"""
import json, os, shutil

import peft
import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from peft.tuners.lora import LoraLayer
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE = os.path.join(HERE, "..", "Tests", "InferenceEngineTests", "Fixtures")
SERVER = os.path.join(HERE, "..", "Tests", "EngineServerTests", "Fixtures")
PROMPTS = [[1, 17, 42, 99, 7, 200, 13], [1] + list(range(30, 70))]


def load_base(folder):
    model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation="eager")
    return model.eval()


def make_adapter(base_folder, out, seed, bf16=False, **lora):
    """Wraps a fresh copy of the base in LoraConfig(**lora), fills A and B with seeded random values (B is zero
    after PEFT's default init, which would make the adapter a no-op) and saves it the way Kaito tuning does."""
    torch.manual_seed(seed)
    model = get_peft_model(load_base(base_folder), LoraConfig(task_type="CAUSAL_LM", lora_dropout=0.0, **lora))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_A" in name or "lora_B" in name:
                p.normal_(0, 0.15)
                if bf16:
                    p.copy_(p.bfloat16().float())  # the reference uses exactly the values stored
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out, safe_serialization=True)
    if bf16:
        path = os.path.join(out, "adapter_model.safetensors")
        save_file({k: v.bfloat16() for k, v in load_file(path).items()}, path)
    config_path = os.path.join(out, "adapter_config.json")
    config = json.load(open(config_path))
    config["base_model_name_or_path"] = os.path.basename(os.path.normpath(base_folder))  # no machine paths
    with open(config_path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    # Kaito's images carry only these two files (docs/reference/inference.md section 1.5).
    for extra in os.listdir(out):
        if extra not in ("adapter_config.json", "adapter_model.safetensors"):
            os.remove(os.path.join(out, extra))


def peft_model(base_folder, adapters):
    model = PeftModel.from_pretrained(load_base(base_folder), adapters[0], adapter_name="a0")
    for i, folder in enumerate(adapters[1:], 1):
        model.load_adapter(folder, adapter_name=f"a{i}")
    return model, [f"a{i}" for i in range(len(adapters))]


def peft_logits(base_folder, adapters, weights, cat=False):
    """Last-position logits of the base with `adapters` (folders) at strengths `weights`: every adapter active with
    its scaling multiplied by its strength, or (cat=True) PEFT's combined adapter."""
    model, names = peft_model(base_folder, adapters)
    if cat:
        model.add_weighted_adapter(names, weights, adapter_name="combined", combination_type="cat")
        model.set_adapter("combined")
    else:
        model.base_model.set_adapter(names)
        for module in model.modules():
            if isinstance(module, LoraLayer):
                for name, weight in zip(names, weights):
                    if name in module.scaling:
                        module.set_scale(name, weight)
    model.eval()
    out = []
    for prompt in PROMPTS:
        with torch.no_grad():
            out.append(model(torch.tensor([prompt])).logits[0, -1].tolist())
    return out


def reference_cases(base_folder, first, second):
    plan = [([first], [0.0]), ([first], [0.5]), ([first], [1.0]), ([second], [1.0]), ([first, second], [0.7, 0.4])]
    cases = []
    for folders, weights in plan:
        logits = peft_logits(base_folder, folders, weights)
        if not any(json.load(open(os.path.join(f, "adapter_config.json")))["use_rslora"] for f in folders):
            cat = peft_logits(base_folder, folders, weights, cat=True)
            error = max(abs(a - b) for x, y in zip(logits, cat) for a, b in zip(x, y))
            assert error < 1e-5, f"cat and the exact sum disagree by {error}"
        cases.append({"adapters": {os.path.basename(f): w for f, w in zip(folders, weights)}, "lastLogits": logits})
    return cases


def main():
    plans = {
        "llama": [
            ("alpha-one", dict(seed=11, r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "o_proj", "down_proj"])),
            ("beta-two", dict(seed=12, bf16=True, r=2, lora_alpha=4, use_rslora=True,
                              target_modules=["k_proj", "q_proj", "gate_proj", "up_proj"])),
        ],
        "phi3": [
            ("phi-fused", dict(seed=21, r=8, lora_alpha=8, target_modules=["qkv_proj", "gate_up_proj", "o_proj"])),
            ("phi-kaito", dict(seed=22, r=8, lora_alpha=16,
                               target_modules=["k_proj", "q_proj", "v_proj", "o_proj", "gate_proj", "down_proj",
                                               "up_proj"])),
        ],
    }
    for model_name, adapters in plans.items():
        base = os.path.join(ENGINE, model_name)
        root = os.path.join(ENGINE, "adapters", model_name)
        folders = []
        for adapter_name, options in adapters:
            folder = os.path.join(root, adapter_name)
            make_adapter(base, folder, **options)
            folders.append(folder)
        reference = {"transformers": transformers.__version__, "torch": torch.__version__, "peft": peft.__version__,
                     "prompts": PROMPTS, "cases": reference_cases(base, *folders)}
        with open(os.path.join(root, "reference.json"), "w") as f:
            json.dump(reference, f)
        print(model_name, "adapters:", [os.path.basename(x) for x in folders])

    # The contract test's adapters, for the server fixture model (a Llama with a real tokenizer).
    base = os.path.join(SERVER, "tiny-chat")
    make_adapter(base, os.path.join(SERVER, "adapters", "tone-adapter"), seed=31, r=8, lora_alpha=16,
                 target_modules=["q_proj", "v_proj", "o_proj", "down_proj", "up_proj", "gate_proj"])
    make_adapter(base, os.path.join(SERVER, "adapters", "style-adapter"), seed=32, r=4, lora_alpha=8,
                 target_modules=["k_proj", "o_proj", "gate_proj"])


if __name__ == "__main__":
    main()
