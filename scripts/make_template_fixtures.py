#!/usr/bin/env python3
"""Renders the chat-template fixtures of the EngineText tests with jinja2, exactly as transformers does
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, raise_exception, tojson with ensure_ascii=False).

Regenerate: pip install jinja2, then python3 scripts/make_template_fixtures.py
"""
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


if __name__ == "__main__":
    main()
