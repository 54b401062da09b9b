#!/usr/bin/env python3
"""Renders the chat-template fixtures of the EngineText tests.

1. Tests/EngineTextTests/Fixtures/templates/expected.json: the six small templates committed there, rendered with
   jinja2 as transformers configures it (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
   raise_exception, tojson with ensure_ascii=False).
2. Tests/EngineTextTests/Fixtures/llama-templates/expected.json: every chat template of llama.cpp's
   models/templates/ folder (llama-cpp-python 0.3.36 source distribution, fetched by `make third-party` into
   .cache/llama.cpp), rendered on four conversations by transformers' own renderer
   (transformers.utils.chat_template_utils.render_jinja_template), with `strftime_now` pinned to FIXED_NOW.
   The templates themselves are not committed: the tests read them from .cache/llama.cpp at test time.

Regenerate: make third-party, then, with a Python that has transformers 5.x and jinja2 3.1.6 installed
(the reference environment used here: transformers 5.24.0, jinja2 3.1.6):
    python3 scripts/make_template_fixtures.py
"""
import datetime as _datetime
import json, os

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EngineTextTests", "Fixtures", "templates")


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


CONVERSATIONS = {
    "single": [{"role": "user", "content": "Hello!"}],
    "system": [{"role": "system", "content": "  You are terse.  "}, {"role": "user", "content": "What is Kaito?"}],
    "multi": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello, how can I help?"},
              {"role": "user", "content": "Tell me about GPUs. ✨"}],
    "bad-order": [{"role": "assistant", "content": "I speak first"}, {"role": "user", "content": "Hi"}],
    "thinking": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "<think>easy</think>4"},
                 {"role": "user", "content": "and 3+3?"}],
}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
TOOL_CONVERSATION = [
    {"role": "user", "content": "Weather in Zürich?"},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Zürich"}}}]},
    {"role": "tool", "content": "{\"temperature\": 21}"},
    {"role": "user", "content": "Thanks"},
]


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    cases = []
    for name in sorted(f[:-6] for f in os.listdir(ROOT) if f.endswith(".jinja")):
        template = env.from_string(open(os.path.join(ROOT, name + ".jinja")).read())
        runs = [(k, v, None) for k, v in CONVERSATIONS.items()]
        if name == "qwen2":
            runs.append(("tools", TOOL_CONVERSATION, TOOLS))
        for conversation, messages, tools in runs:
            for generation in (True, False):
                context = dict(messages=messages, add_generation_prompt=generation, bos_token="<s>", eos_token="</s>")
                if tools:
                    context["tools"] = tools
                try:
                    output, error = template.render(**context), None
                except TemplateError as e:
                    output, error = None, str(e)
                cases.append({"template": name, "conversation": conversation, "addGenerationPrompt": generation,
                              "tools": tools, "messages": messages, "output": output, "error": error})
    with open(os.path.join(ROOT, "expected.json"), "w") as f:
        json.dump({"cases": cases}, f, ensure_ascii=False, indent=1)
    print(len(cases), "cases")


# The llama.cpp template set: fixed special tokens for every template (their tokenizer configs are not part of the
# source distribution), a fixed clock, and four conversations.
LLAMA_TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache", "llama.cpp", "models",
                               "templates")
LLAMA_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EngineTextTests", "Fixtures",
                         "llama-templates")
FIXED_NOW = _datetime.datetime(2026, 3, 7, 14, 5, 9)
BOS, EOS = "<s>", "</s>"
LLAMA_TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name, e.g. Zürich"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}]
LLAMA_CONVERSATIONS = [
    ("system", True, None, [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "What is Kaito?"}]),
    ("multi-turn", True, None, [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Name a GPU. ✨"}]),
    ("tools", True, LLAMA_TOOLS, [
        {"role": "user", "content": "Weather in Zürich?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call12345", "type": "function", "function": {
            "name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius"}}}]},
        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather",
         "content": "{\"temperature\": 21, \"unit\": \"celsius\"}"}]),
    ("no-generation-prompt", False, None, [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"}]),
]


def llama_templates():
    import jinja2
    import transformers
    from transformers.utils import chat_template_utils as ctu

    class FixedDatetime(_datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return FIXED_NOW

    ctu.datetime = FixedDatetime  # transformers' strftime_now calls datetime.now() from this module
    names = sorted(f[:-6] for f in os.listdir(LLAMA_TEMPLATES) if f.endswith(".jinja"))
    cases = []
    for name in names:
        source = open(os.path.join(LLAMA_TEMPLATES, name + ".jinja"), encoding="utf-8").read()
        for conversation, generation, tools, messages in LLAMA_CONVERSATIONS:
            case = {"template": name, "conversation": conversation}
            try:
                case["output"] = ctu.render_jinja_template(
                    conversations=[messages], tools=tools, chat_template=source,
                    add_generation_prompt=generation, bos_token=BOS, eos_token=EOS)[0][0]
            except Exception as e:  # noqa: BLE001 -- every failure is recorded, with its kind
                case["error"] = str(e)
                case["errorKind"] = "raise_exception" if type(e) is jinja2.exceptions.TemplateError else type(e).__name__
            cases.append(case)
    os.makedirs(LLAMA_OUT, exist_ok=True)
    document = {
        "source": "llama-cpp-python 0.3.36 sdist, vendor/llama.cpp/models/templates (read from .cache/llama.cpp)",
        "renderer": f"transformers {transformers.__version__} render_jinja_template, jinja2 {jinja2.__version__}",
        "now": FIXED_NOW.isoformat(), "bos_token": BOS, "eos_token": EOS,
        "conversations": [{"name": c, "addGenerationPrompt": g, "tools": t, "messages": m}
                          for c, g, t, m in LLAMA_CONVERSATIONS],
        "cases": cases,
    }
    with open(os.path.join(LLAMA_OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(len(cases), "llama.cpp template cases,", sum("error" in c for c in cases), "raise")


if __name__ == "__main__":
    main()
    llama_templates()
