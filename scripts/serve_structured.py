#!/usr/bin/env python3
"""Structured output end to end (issue 11): kaito-serve on a random-weight model answers each of the 20 schemas of
Tests/EngineTextTests/Fixtures/structured/schemas.json with JSON that Python's `jsonschema` (with its format checker)
validates, through the official `openai` client, sampled (temperature 1, three seeds) and streamed; `json_object`
gives an object; an unsupported keyword and a `max_tokens` below the shortest answer are 400s naming the cause.

Usage: serve_structured.py PORT"""
import json
import os
import sys

import jsonschema
import openai
from openai import OpenAI

port = sys.argv[1]
repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
cases = json.load(open(os.path.join(repo, "Tests/EngineTextTests/Fixtures/structured/schemas.json")))
client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
messages = [{"role": "user", "content": "Answer in JSON."}]
checked = 0
for case in cases:
    fmt = {"type": "json_schema", "json_schema": {"name": case["name"], "schema": case["schema"], "strict": True}}
    for seed in (1, 2, 3):
        reply = client.chat.completions.create(model="tiny-chat", messages=messages, max_tokens=160, temperature=1,
                                               seed=seed, response_format=fmt)
        text = reply.choices[0].message.content
        jsonschema.validate(json.loads(text), case["schema"], format_checker=jsonschema.FormatChecker())
        checked += 1
    chunks = client.chat.completions.create(model="tiny-chat", messages=messages, max_tokens=160, temperature=1,
                                            seed=4, response_format=fmt, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    jsonschema.validate(json.loads(text), case["schema"], format_checker=jsonschema.FormatChecker())
    checked += 1
reply = client.chat.completions.create(model="tiny-chat", messages=messages, max_tokens=60, temperature=1, seed=5,
                                       response_format={"type": "json_object"})
assert isinstance(json.loads(reply.choices[0].message.content), dict), reply
for schema, needle in (({"type": "integer", "maximum": 3}, "/maximum"), ({"type": "string", "format": "email"}, "format")):
    try:
        client.chat.completions.create(model="tiny-chat", messages=messages, max_tokens=20, response_format={
            "type": "json_schema", "json_schema": {"name": "x", "schema": schema}})
        raise AssertionError(f"{schema} was accepted")
    except openai.BadRequestError as error:
        assert needle in str(error), error
try:
    client.chat.completions.create(model="tiny-chat", messages=messages, max_tokens=3, response_format={
        "type": "json_schema", "json_schema": {"name": "x", "schema": cases[0]["schema"]}})
    raise AssertionError("max_tokens 3 was accepted")
except openai.BadRequestError as error:
    assert "shortest answer" in str(error), error
print(f"structured output: {checked} answers valid under their schemas, json_object, and 3 refusals")
