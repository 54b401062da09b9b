#!/usr/bin/env python3
"""Renders the chat-template fixtures of the EngineText tests.

1. Tests/EngineTextTests/Fixtures/templates/expected.json: the six small templates committed there, rendered with
   jinja2 as transformers configures it (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
   raise_exception, tojson with ensure_ascii=False).
3. Tests/EngineTextTests/Fixtures/template-semantics/expected.json: one small template per jinja2 behaviour that
   chat templates rely on (whitespace control, loops, scoping, macros, undefined, operators, filters, tests, Python
   methods, errors), rendered by the same transformers environment with a fixed clock.
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


# Small templates, one jinja2 behaviour each, rendered by the same transformers environment (fixed clock).
SEMANTICS_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EngineTextTests", "Fixtures",
                             "template-semantics")
SEMANTICS_CONTEXT = {
    "xs": [3, 1, 2], "d": {"b": 1, "a": 2, "C": 3}, "s": "  Hello, World  ", "n": None, "words": "a,b,,c",
    "msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
             {"role": "user", "content": "bye"}],
    "num": 2.7, "t": True, "text": "line1\nline2\n\nline4", "u": "Zürich ✨", "nested": {"a": {"b": [10, 20]}},
}
SEMANTICS = [
    # whitespace control: trim_blocks, lstrip_blocks, -, +
    ("ws-trim-lstrip", "<ul>\n  {% for x in xs %}\n  <li>{{ x }}</li>\n  {% endfor %}\n</ul>\n"),
    ("ws-minus", "a   {%- if t -%}   b   {%- endif -%}   c"),
    ("ws-variable-minus", "a  {{- 'x' -}}  b {{ 'y' }} c"),
    ("ws-plus", "a\n    {%+ if t %}b{% endif +%}\nc"),
    ("ws-comment", "a\n  {# note #}\nb {#- x -#}   c"),
    ("ws-inline-block", "x {% if t %}y{% endif %}\nz"),
    ("ws-crlf-final-newline", "a\r\nb\r\n"),
    ("raw", "{% raw %}{{ not rendered }}{% endraw %}"),
    # loops
    ("loop-vars", "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
                  "{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}"),
    ("loop-prev-next", "{% for x in xs %}[{{ loop.previtem }}|{{ loop.nextitem }}]{% endfor %}"),
    ("loop-cycle", "{% for x in xs %}{{ loop.cycle('odd', 'even') }} {% endfor %}"),
    ("loop-filter", "{% for m in msgs if m.role == 'user' %}{{ loop.index }}:{{ m.content }}/{{ loop.length }} "
                    "{% endfor %}"),
    ("loop-else", "{% for x in [] %}x{% else %}empty{% endfor %}"),
    ("loop-break-continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}"
                            "{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
    ("loop-dict", "{% for k in d %}{{ k }}{% endfor %}|{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}"),
    ("loop-scope", "{% set v = 0 %}{% for i in xs %}{{ v }}{% set v = i %}{{ v }}{% endfor %}|{{ v }}"),
    ("loop-nested-depth", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.depth }}{{ a }}{{ b }}{{ loop.first }}"
                          " {% endfor %}{{ loop.index }}{% endfor %}"),
    ("loop-recursive", "{% for item in [{'n': 1, 'c': [{'n': 2, 'c': []}]}] recursive %}{{ item.n }}"
                       "({{ loop.depth }}){{ loop(item.c) }}{% endfor %}"),
    ("loop-none", "{% for x in n %}{% endfor %}"),
    ("loop-undefined", "{% for x in missing %}x{% else %}none{% endfor %}"),
    ("loop-unpack", "{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }} {% endfor %}"),
    ("loop-unpack-error", "{% for a, b in [[1, 2, 3]] %}{% endfor %}"),
    # namespaces and scoping
    ("namespace", "{% set ns = namespace(count=0, found=false) %}{% for x in xs %}{% set ns.count = ns.count + x %}"
                  "{% if x == 1 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }}"),
    ("namespace-print", "{% set ns = namespace(a=1, b='x') %}{{ ns }}"),
    ("set-in-if-leaks", "{% if t %}{% set y = 5 %}{% endif %}{{ y }}"),
    ("set-tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = 1, %}{{ c }}"),
    ("set-block", "{% set body %}  Hi {{ xs|length }}  {% endset %}[{{ body }}]"),
    ("set-block-filter", "{% set body | upper | trim %}  hi  {% endset %}[{{ body }}]"),
    ("filter-block", "{% filter upper %}abc {{ 'd' }}{% endfilter %}"),
    ("with-block", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a }}"),
    ("generation-block", "{% for m in msgs %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}"
                         "{% endgeneration %}{% else %}{{ m.content }}{% endif %} {% endfor %}"),
    # macros and call
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} "
              "{{ greet('B', '?') }} {{ greet(punct='.', name='C') }}"),
    ("macro-late-binding", "{% macro m() %}{{ q }}{% endmacro %}{% set q = 5 %}{{ m() }}"),
    ("macro-recursive", "{% macro fact(k) %}{% if k <= 1 %}1{% else %}{{ k * fact(k - 1)|int }}{% endif %}"
                        "{% endmacro %}{{ fact(5) }}"),
    ("macro-varargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }}"),
    ("macro-caller", "{% macro box(title) %}[{{ title }}:{{ caller() }}]{% endmacro %}"
                     "{% call box('t') %}inside {{ xs[0] }}{% endcall %}"),
    ("macro-caller-args", "{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}"
                          "{% call(v) each(xs) %}<{{ v }}>{% endcall %}"),
    ("macro-scope", "{% set x = 1 %}{% macro m() %}{% set x = 2 %}{{ x }}{% endmacro %}{{ m() }}{{ x }}"),
    # undefined
    ("undefined-print", "[{{ missing }}][{{ missing ~ 'x' }}][{{ missing|length }}][{{ missing|default('d') }}]"),
    ("undefined-tests", "{{ missing is defined }}{{ missing is undefined }}{{ missing is none }}"
                        "{{ missing is iterable }}{{ missing is sequence }}{{ n is none }}{{ n is defined }}"),
    ("undefined-attribute-of-undefined", "{{ missing.attr }}"),
    ("undefined-attribute-of-dict", "[{{ d.zzz }}][{{ d.zzz is defined }}][{{ n.x }}]"),
    ("undefined-item-of-undefined", "{{ missing['k'] }}"),
    ("undefined-add", "{{ missing + 1 }}"),
    ("undefined-call", "{{ missing() }}"),
    ("undefined-if", "{% if missing %}yes{% else %}no{% endif %}{% if not missing.x is defined %}{% endif %}"),
    # literals and operators
    ("literals", "{{ 1e3 }} {{ 1.5e-3 }} {{ 10 }} {{ 0.1 + 0.2 }} {{ 1_000 }} {{ 'a' 'b' }} {{ \"q'\" }} {{ true }} "
                 "{{ none }} {{ [1, 'a', none, true, 2.0] }} {{ {'k': (1, 'x')} }} {{ (1,) }}"),
    ("string-escapes", "{{ 'tab\\there' }}|{{ 'nl\\nx' }}|{{ 'back\\\\slash' }}|{{ 'q\\'s' }}|{{ '\\u00e9' }}"
                       "|{{ '\\d+' }}"),
    ("arithmetic", "{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} "
                   "{{ 7.5 // 2 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -xs[0] }} {{ 3 - -1 }}"),
    ("string-ops", "{{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] * 2 }} {{ 'a' ~ 1 ~ none }} {{ 'a' + 'b' }} "
                   "{{ [1] + [2] }}"),
    ("string-percent", "{{ '%s-%d-%r' % ('a', 3, 'q') }} {{ '%5.2f|%x|%03d|%-4s|' % (3.14159, 255, 7, 'ab') }} "
                       "{{ '%(k)s' % {'k': 'v'} }} {{ '100%%' % () }} {{ '%s' % xs }}"),
    ("concat-precedence", "{{ 'a' ~ 1 + 2 }}"),
    ("compare", "{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 < 2 < 3 }} "
                "{{ 3 > 2 > 2 }} {{ 'b' in 'abc' }} {{ 2 in xs }} {{ 'a' in d }} {{ 'z' not in d }} {{ (1, 2) == [1, 2] }}"),
    ("compare-error", "{{ 'a' < 1 }}"),
    ("add-error", "{{ 'a' + 1 }}"),
    ("logic", "{{ 0 or 'x' }} {{ 1 and 'y' }} {{ none or [] }} {{ not 0 }} {{ 'a' if 0 else 'b' }} "
              "[{{ 'a' if 0 }}] {{ not missing is defined }}"),
    ("slices", "{{ xs[::-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[::2] }} {{ 'abcdef'[1:5:2] }} {{ 'abc'[::-1] }} "
               "{{ msgs[-1].content }} {{ xs[5] is defined }} {{ u[0] }}{{ u[-1] }} {{ (1, 2, 3)[1:] }}"),
    ("attribute-and-item", "{{ nested.a.b[1] }} {{ nested['a']['b'][0] }} {{ nested.a.b.0 }} {{ d['a'] }} "
                           "{{ msgs[0]['role'] }}"),
    ("dict-int-keys", "{% set m = {4096: 'a', 1: 'b'} %}{{ m[1] }}{{ m }}{% for k, v in m|dictsort %}{{ k }}{% endfor %}"
                      "{{ m|tojson }}"),
    ("precedence", "{{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ not true == false }} {{ 10 / 4 * 2 }} {{ (1 + 2) ~ 3 }} "
                   "{{ xs|length > 1 and xs is not none }} {{ 'x' ~ [1] }} {{ 1 if true }}"),
    ("floats", "{{ 0.1 * 3 }} {{ 1 / 3 }} {{ 2.0 * 3 }} {{ 10 // 3.0 }} {{ 1e20 }} {{ 123456789.0 * 1000 }} "
               "{{ 1.5e15 }} {{ 1e16 }} {{ 0.0001 }} {{ 0.00001 }} {{ -0.0 }} {{ 3.0|tojson }} {{ 2.5e-7|tojson }}"),
    ("mixed", "{{ '%.2f'|format(3.14159) }} {{ ('a', 'b')|join('-') }} {{ xs[0:2]|join }} {{ 3|string + 'x' }} "
              "{{ 'Hello'[1:3] }} {{ 'a-b_c d'|title }} {{ '%-6s|' % 'ab' }} {{ {'a': 1}.a }} "
              "{% for k, v in d|dictsort(false, 'value') %}{{ k }}{% endfor %} "
              "{% for x in [1, 1, 2] %}{{ loop.changed(x) }}{% endfor %}"),
    # builtins
    ("range", "{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }}"),
    ("strftime", "{{ strftime_now('%Y-%m-%d %H:%M:%S') }}|{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%B %d, %Y') }}"
                 "|{{ strftime_now('%A %a %j %p %I %y %-d %e') }}|{{ strftime_now is defined }}"),
    ("raise", "{{ raise_exception('Only user and assistant roles are supported!') }}"),
    ("dict-global", "{{ dict(a=1, b='x') }}"),
    # filters
    ("filters-text", "[{{ s|trim }}][{{ s|upper }}][{{ s|lower }}][{{ 'hello WORLD-x(y)'|title }}][{{ 'aBC dE'|capitalize }}]"
                     "[{{ s|replace('l', 'L') }}][{{ s|replace('l', 'L', 1) }}][{{ 'x,y'|trim(',x') }}]"),
    ("filters-length", "{{ xs|length }} {{ d|count }} {{ u|length }} {{ ''|length }}"),
    ("filters-first-last", "{{ xs|first }} {{ xs|last }} {{ 'abc'|first }} {{ d|first }} [{{ []|first }}]"),
    ("filters-join", "{{ xs|join(', ') }} {{ xs|join }} {{ msgs|join('|', attribute='role') }}"),
    ("filters-default", "{{ missing|default('x') }} {{ n|default('x') }} {{ ''|default('x', true) }} "
                        "{{ 0|d('zero', boolean=true) }} {{ xs|default('no') }}"),
    ("filters-list-items", "{{ 'ab'|list }} {{ d|list }} {{ d|items|list }} {{ missing|items|list }} "
                           "{{ xs|list }}"),
    ("filters-numbers", "{{ 2.7|int }} {{ '42'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ '3.9'|int }} {{ 7|float }} "
                        "{{ '2.5'|float }} {{ -3|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.567|round(2) }} "
                        "{{ 2.1|round(0, 'ceil') }} {{ 2.9|round(method='floor') }} {{ '0x1A'|int(base=16) }}"),
    ("filters-string", "{{ 1|string }} {{ none|string }} {{ xs|string }} {{ d|string }} {{ true|string }}"),
    ("filters-unique", "{{ ['b', 'A', 'a', 'b']|unique|list }} {{ ['b', 'A', 'a']|unique(case_sensitive=true)|list }}"),
    ("filters-sort", "{{ xs|sort }} {{ xs|sort(reverse=true) }} {{ ['b', 'A', 'c']|sort }} "
                     "{{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ msgs|sort(attribute='content')|map(attribute='content')|list }}"),
    ("filters-dictsort", "{{ d|dictsort }} {{ d|dictsort(true) }} {{ d|dictsort(by='value') }} "
                         "{{ d|dictsort(reverse=true) }}"),
    ("filters-select", "{{ xs|select('odd')|list }} {{ xs|reject('odd')|list }} {{ [0, 1, '', 'a']|select|list }} "
                       "{{ msgs|selectattr('role', 'equalto', 'user')|list|length }} "
                       "{{ msgs|rejectattr('role', 'eq', 'user')|map(attribute='content')|list }} "
                       "{{ msgs|selectattr('missing')|list }} {{ n|selectattr('x')|list }}"),
    ("filters-map", "{{ xs|map('string')|join('-') }} {{ msgs|map(attribute='role')|list }} "
                    "{{ msgs|map(attribute='nope', default='?')|list }} {{ ['a', 'b']|map('upper')|list }}"),
    ("filters-generator-truthy", "{{ 'yes' if [0]|select else 'no' }} {{ 'yes' if []|select else 'no' }}"),
    ("filters-generator-tojson", "{{ xs|map('string')|tojson }}"),
    ("filters-indent", "[{{ text|indent }}][{{ text|indent(2, true) }}][{{ text|indent(2, blank=true) }}]"
                       "[{{ text|indent('> ') }}]"),
    ("filters-misc", "{{ 'a b  c'|wordcount }} {{ xs|batch(2)|list }} {{ xs|batch(2, 0)|list }} {{ xs|reverse|list }} "
                     "{{ 'abc'|reverse }} {{ xs|sum }} {{ xs|max }} {{ xs|min }} {{ ['b', 'A']|max }} {{ 'x'|center(5) }}|"
                     "{{ '<a & b>'|e }} {{ 'x'|safe }} {{ '%s=%s'|format('a', 1) }} {{ nested|attr('a') }}"),
    ("filters-markup-add", "{{ 'a'|safe + '<b>' + '\"c\"'|safe }}"),
    ("filters-unknown-in-branch", "{% if false %}{{ x|from_json }}{% endif %}ok"),
    ("filters-unknown-outside-if", "{{ x|from_json }}"),
    ("filters-unknown-in-loop-in-if", "{% if false %}{% for x in xs %}{{ x|from_json }}{% endfor %}{% endif %}"),
    ("filters-unknown-in-conditional", "{{ (x|from_json) if false else 'ok' }}"),
    ("tests-unknown", "{{ x is frobbed }}"),
    ("filters-length-none", "{{ n|length }}"),
    # tojson (transformers' json.dumps)
    ("tojson", "{{ d|tojson }} {{ u|tojson }} {{ u|tojson(ensure_ascii=true) }} {{ xs|tojson(indent=2) }} "
               "{{ d|tojson(sort_keys=true) }} {{ nested|tojson(separators=(',', ':')) }} {{ [1.0, 2.5, none, true]|tojson }} "
               "{{ 'a\"b\\\\c\\n'|tojson }} {{ (1, 2)|tojson }}"),
    ("tojson-indent-nested", "{{ {'a': [], 'b': {}, 'c': [1, {'d': 'e'}]}|tojson(indent=4) }}"),
    ("tojson-undefined", "{{ missing|tojson }}"),
    # tests
    ("tests", "{{ 'a' is string }}{{ 1 is number }}{{ true is number }}{{ 1.5 is float }}{{ 1 is integer }}"
              "{{ true is integer }}{{ d is mapping }}{{ xs is sequence }}{{ 'a' is sequence }}{{ d is iterable }}"
              "{{ 1 is iterable }}{{ true is boolean }}{{ 1 is true }}{{ true is true }}{{ false is false }}"
              "{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 1 is in xs }}{{ 2 is eq 2 }}{{ 2 is ne 2 }}"
              "{{ 'ab' is lower }}{{ 'AB' is upper }}{{ 1 is lt 2 }}{{ 1 is ge 2 }}{{ none is sameas none }}"
              "{{ raise_exception is callable }}{{ 'tojson' is filter }}{{ 'odd' is test }}{{ xs is not string }}"),
    ("tests-mapping-generator", "{{ xs|select is iterable }}{{ xs|select is sequence }}{{ n is mapping }}"),
    # Python methods
    ("methods-strip", "[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ 'xxhixx'.strip('x') }}]"
                      "[{{ '\\n\\t a \\n'.strip() }}]"),
    ("methods-split", "{{ words.split(',') }} {{ words.split(',', 1) }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} "
                      "{{ words.rsplit(',', 1) }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'a  b c'.split(none, 1) }}"),
    ("methods-case", "{{ 'ab'.upper() }} {{ 'AB'.lower() }} {{ \"it's a title\".title() }} {{ 'aBc'.capitalize() }}"),
    ("methods-find", "{{ s.startswith('  H') }} {{ s.endswith(('x', '  ')) }} {{ s.find('o') }} {{ s.rfind('o') }} "
                     "{{ s.count('l') }} {{ s.replace('l', '') }} {{ s.replace('l', 'L', 2) }} {{ '-'.join(['a', 'b']) }}"),
    ("methods-format", "{{ '{} and {}'.format('a', 1) }} {{ '{1}{0}'.format('x', 'y') }} {{ '{n}!'.format(n='k') }} "
                       "{{ '{{}}{}'.format(2) }}"),
    ("methods-misc", "{{ 'ab'.zfill(5) }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }} "
                     "{{ 'a=b=c'.partition('=') }} {{ 'pre-x'.removeprefix('pre-') }} {{ 'ab'.center(6, '*') }}"),
    ("methods-dict", "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys()|list }} "
                     "{{ d.values()|list }} {{ d.items()|list }} {{ msgs[0].get('content') }}"),
    ("methods-list", "{{ xs.index(1) }} {{ xs.count(3) }}"),
    ("methods-append-unsafe", "{% set l = [] %}{% set _ = l.append(1) %}{{ l }}"),
    ("methods-pop-unsafe", "{{ d.pop('a') }}"),
    # syntax errors
    ("syntax-unclosed-if", "{% if t %}never closed"),
    ("syntax-unknown-tag", "{% frobnicate %}"),
    ("syntax-bad-expression", "{{ 1 + }}"),
    ("syntax-break-outside-loop", "{% if t %}{% break %}{% endif %}"),
]


def semantics():
    import jinja2
    from transformers.utils import chat_template_utils as ctu

    class FixedDatetime(_datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return FIXED_NOW

    ctu.datetime = FixedDatetime
    cases = []
    names = set()
    for name, source in SEMANTICS:
        assert name not in names, name
        names.add(name)
        case = {"name": name, "template": source}
        try:
            case["output"] = ctu._compile_jinja_template(source).render(**SEMANTICS_CONTEXT)
        except Exception as e:  # noqa: BLE001 -- every failure is recorded, with its kind
            case["error"] = str(e)
            case["errorKind"] = "raise_exception" if type(e) is jinja2.exceptions.TemplateError else type(e).__name__
        cases.append(case)
    os.makedirs(SEMANTICS_OUT, exist_ok=True)
    with open(os.path.join(SEMANTICS_OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"now": FIXED_NOW.isoformat(), "context": SEMANTICS_CONTEXT, "cases": cases}, f,
                  ensure_ascii=False, indent=1)
        f.write("\n")
    print(len(cases), "semantics cases,", sum("error" in c for c in cases), "raise")


if __name__ == "__main__":
    main()
    llama_templates()
    semantics()
