#!/usr/bin/env python3
"""Tool calls end to end (issue 11): the official `openai` client round-trips a tool call with kaito-serve on a
random-weight model. A named `tool_choice` and `"required"` constrain the answer to the functions' parameter schemas
(so even random weights give valid calls); the call goes back to the model as an assistant message with `tool_calls`
and a `tool` message; streaming sends the call as one delta; a function not among the tools is a 400; `"auto"` on a
model whose template writes no tool calls answers with content.

Usage: serve_tools.py PORT"""
import json
import sys

import jsonschema
import openai
from openai import OpenAI

client = OpenAI(base_url=f"http://127.0.0.1:{sys.argv[1]}/v1", api_key="unused")
parameters = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
                                               "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                                               "days": {"type": "integer", "minimum": 0}},
              "required": ["city", "unit"], "additionalProperties": False}
tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                           "parameters": parameters}},
         {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {
             "zone": {"type": "string", "enum": ["UTC", "CET"]}}, "required": ["zone"]}}}]
messages = [{"role": "user", "content": "Weather in Oslo?"}]

reply = client.chat.completions.create(model="tiny-chat", messages=messages, tools=tools, max_tokens=60, seed=1,
                                       tool_choice={"type": "function", "function": {"name": "get_weather"}})
choice = reply.choices[0]
assert choice.finish_reason == "tool_calls", choice
call = choice.message.tool_calls[0]
assert call.type == "function" and call.function.name == "get_weather" and call.id, call
jsonschema.validate(json.loads(call.function.arguments), parameters)

# The call and its result go back to the model.
followup = client.chat.completions.create(model="tiny-chat", max_tokens=8, temperature=0, messages=messages + [
    {"role": "assistant", "content": "", "tool_calls": [call.model_dump()]},
    {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temperature": 3})}])
assert followup.choices[0].message.role == "assistant", followup

required = client.chat.completions.create(model="tiny-chat", messages=messages, tools=tools, max_tokens=80, seed=2,
                                          tool_choice="required")
calls = required.choices[0].message.tool_calls
assert required.choices[0].finish_reason == "tool_calls" and len(calls) >= 1, required
for c in calls:
    schema = {t["function"]["name"]: t["function"]["parameters"] for t in tools}[c.function.name]
    jsonschema.validate(json.loads(c.function.arguments), schema)

chunks = list(client.chat.completions.create(model="tiny-chat", messages=messages, tools=tools, max_tokens=60, seed=3,
                                             stream=True, tool_choice={"type": "function",
                                                                       "function": {"name": "get_time"}}))
deltas = [t for c in chunks if c.choices for t in (c.choices[0].delta.tool_calls or [])]
assert len(deltas) == 1 and deltas[0].function.name == "get_time" and deltas[0].index == 0, chunks
assert json.loads(deltas[0].function.arguments)["zone"] in ("UTC", "CET"), deltas
assert chunks[-1].choices[0].finish_reason == "tool_calls", chunks[-1]

try:
    client.chat.completions.create(model="tiny-chat", messages=messages, tools=tools, max_tokens=8,
                                   tool_choice={"type": "function", "function": {"name": "nope"}})
    raise AssertionError("an unknown function was accepted")
except openai.BadRequestError as error:
    assert "nope" in str(error), error

auto = client.chat.completions.create(model="tiny-chat", messages=messages, tools=tools, max_tokens=8, temperature=0)
assert auto.choices[0].message.tool_calls is None and auto.choices[0].finish_reason in ("length", "stop"), auto
print("tool calls: named, required and streamed calls valid under their schemas; round trip; 400; auto content")
