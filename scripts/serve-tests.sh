#!/usr/bin/env bash
# kaito-serve against real clients on loopback: the official `openai` Python client (chat, streaming chat, model
# list) and curl with the quick starts' /chat body. Usage: scripts/serve-tests.sh PATH/TO/kaito-serve PATH/TO/python
set -uo pipefail
serve=$(realpath "$1")
python="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
repo=$(cd "$(dirname "$0")/.." && pwd)
port=$((20000 + RANDOM % 20000))
log=$(mktemp)
"$serve" --model "$repo/Tests/EngineServerTests/Fixtures/tiny-chat" --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$log"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
ko() { failed=$((failed + 1)); echo "FAIL: $1"; }
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/health" | grep -q '"status":"Healthy"' && ok || { ko "health"; cat "$log"; }
curl -s -X POST "http://127.0.0.1:$port/chat" -H "accept: application/json" -H "Content-Type: application/json" \
    -d '{"prompt":"YOUR QUESTION HERE"}' | grep -q '"Result":"YOUR QUESTION HERE' && ok || ko "curl /chat with the quick-start body"
"$python" - "$port" <<'PY' && ok || ko "openai client"
import sys
from openai import OpenAI
client = OpenAI(base_url=f"http://127.0.0.1:{sys.argv[1]}/v1", api_key="unused")
models = [m.id for m in client.models.list()]
assert models == ["tiny-chat"], models
reply = client.chat.completions.create(model="tiny-chat", messages=[{"role": "user", "content": "Hello"}], max_tokens=8, temperature=0)
assert reply.choices[0].message.role == "assistant" and reply.usage.completion_tokens > 0, reply
chunks = list(client.chat.completions.create(model="tiny-chat", messages=[{"role": "user", "content": "Hello"}], max_tokens=8, temperature=0, stream=True))
text = "".join(c.choices[0].delta.content or "" for c in chunks)
assert chunks[-1].choices[0].finish_reason in ("length", "stop"), chunks[-1]
assert text == reply.choices[0].message.content, (text, reply.choices[0].message.content)
print("openai client: models, chat and streaming chat agree")
PY
# Structured output: 20 JSON schemas, each answer validated by jsonschema (issue 11).
"$python" - "$port" <<'PY' && ok || ko "prefix caching"
import re, sys, urllib.request
from openai import OpenAI
port = sys.argv[1]
client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
def hits():
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    found = re.search(r'^vllm:prefix_cache_hits_total\{[^}]*\} (\d+)', text, re.M)
    assert found, "vllm:prefix_cache_hits_total missing"
    return int(found.group(1))
system = {"role": "system", "content": "You answer questions about the platform team's clusters. " * 4}
before = hits()
first = client.chat.completions.create(model="tiny-chat", messages=[system, {"role": "user", "content": "Which nodes?"}], max_tokens=4, temperature=0)
second = client.chat.completions.create(model="tiny-chat", messages=[system, {"role": "user", "content": "Which GPUs?"}], max_tokens=4, temperature=0)
found = hits() - before
assert 16 <= found < second.usage.prompt_tokens, found
# The same chat again: everything but its last token is found (whole blocks, then token by token).
again = hits()
client.chat.completions.create(model="tiny-chat", messages=[system, {"role": "user", "content": "Which GPUs?"}], max_tokens=4, temperature=0)
repeated = hits() - again
assert repeated == second.usage.prompt_tokens - 1, (repeated, second.usage.prompt_tokens)
print(f"prefix caching: the second chat found {found} of its {second.usage.prompt_tokens} prompt tokens cached, "
      f"the same chat again {repeated}")
PY
"$python" "$repo/scripts/serve_structured.py" "$port" && ok || ko "structured output"
# Tool calls through the openai client (issue 11).
"$python" "$repo/scripts/serve_tools.py" "$port" && ok || ko "tool calls"
# Many concurrent streaming clients, a disconnect, hostile requests, memory (issue 5 "Done when").
python3 "$repo/scripts/serve_load.py" "$port" "$pid" --clients 48 --seconds 120 && ok || ko "load and hostile requests"
# SIGTERM: a graceful stop with exit status 0.
kill -TERM $pid
for _ in $(seq 1 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
wait $pid 2>/dev/null; status=$?
[[ $status == 0 ]] && ok || ko "SIGTERM ends kaito-serve with status 0 (got $status)"
echo "serve: $passed passed, $failed failed"
[[ $failed == 0 ]]
