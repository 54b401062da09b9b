#!/usr/bin/env python3
"""Load and hostile-request test of a running kaito-serve on loopback (issue 5), standard library only.

    python3 scripts/serve_load.py PORT PID [--clients 48] [--seconds 120]

- `--clients` concurrent streaming chat clients (server-sent events) start at once; each must end with a complete
  stream (200, `data: [DONE]`) or a 429 with Kaito's body, within the time bound; some must be served and, when
  the clients outnumber the server's waiting room, some refused.
- A streaming client that disconnects after its first event cancels its generation: the server counts it as
  `vllm:request_success_total{finished_reason="abort"}` and is idle again soon after.
- Hostile requests on real sockets: a body over the limit (413), deep JSON (422), invalid UTF-8 (400), negative
  max_tokens (422), an unknown model (404), a non-object body (422); the server stays healthy.
- Memory: the server's resident set (from /proc) after the load is within a bound of what it was before.
Prints one line per check and exits non-zero when one fails.
"""
import argparse, http.client, json, socket, sys, threading, time

failures = []


def check(condition, label):
    print(("ok   " if condition else "FAIL ") + label)
    if not condition:
        failures.append(label)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def request(port, method, path, body=None, headers=None, timeout=60):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request(method, path, body=body, headers=headers or {"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def metric(port, name):
    _, text = request(port, "GET", "/metrics")
    for line in text.decode().splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    return None


def streaming_client(port, deadline, results, index):
    body = json.dumps({"model": "tiny-chat", "messages": [{"role": "user", "content": f"Hello {index}"}],
                       "max_tokens": 12, "temperature": 0, "stream": True})
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=max(1, deadline - time.time()))
        connection.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read().decode("utf-8")
        connection.close()
        if response.status == 200:
            results[index] = "served" if data.endswith("data: [DONE]\n\n") else "truncated"
        elif response.status == 429:
            error = json.loads(data).get("error", {})
            results[index] = "refused" if error.get("code") == "rate_limit_exceeded" else "bad 429 body"
        else:
            results[index] = f"status {response.status}"
    except Exception as error:  # a reset, a timeout: recorded, the check below fails
        results[index] = f"error {type(error).__name__}: {error}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("pid", type=int)
    parser.add_argument("--clients", type=int, default=48)
    parser.add_argument("--seconds", type=float, default=120)
    args = parser.parse_args()
    port = args.port

    before = rss_mib(args.pid)
    start = time.time()
    deadline = start + args.seconds
    results = [None] * args.clients
    threads = [threading.Thread(target=streaming_client, args=(port, deadline, results, i)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, deadline - time.time()))
    elapsed = time.time() - start
    served, refused = results.count("served"), results.count("refused")
    others = [r for r in results if r not in ("served", "refused")]
    check(not others, f"{args.clients} concurrent streaming clients: {served} served, {refused} refused (429) "
                      f"in {elapsed:.1f} s; other outcomes: {others[:3]}")
    check(served > 0, "some streams were served")
    peak = rss_mib(args.pid)
    check(peak - before < 256, f"resident memory {before:.0f} MiB before, {peak:.0f} MiB after the load")

    # A client that goes away mid-stream cancels its generation.
    aborted = metric(port, 'vllm:request_success_total{finished_reason="abort"') or 0
    sock = socket.create_connection(("127.0.0.1", port))
    body = json.dumps({"prompt": "Once upon a time", "max_tokens": 4000, "temperature": 0, "stream": True}).encode()
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    sock.recv(4096)
    sock.close()
    for _ in range(200):
        if (metric(port, 'vllm:request_success_total{finished_reason="abort"') or 0) > aborted \
                and metric(port, "vllm:num_requests_running") == 0:
            break
        time.sleep(0.05)
    check((metric(port, 'vllm:request_success_total{finished_reason="abort"') or 0) > aborted,
          "a disconnected stream is aborted (vllm:request_success_total{finished_reason=\"abort\"})")
    check(metric(port, "vllm:num_requests_running") == 0, "the server is idle again after the disconnect")

    hostile = [
        ("body over the limit", "/chat", b'{"prompt":"' + b"a" * (2 << 20) + b'"}', 413),
        ("deep JSON", "/chat", b'{"prompt":"x","extra":' + b"[" * 200 + b"]" * 200 + b"}", 422),
        ("invalid UTF-8", "/chat", b'{"\xc3\x28":1}', 400),
        ("malformed JSON", "/v1/chat/completions", b"{not json", 400),
        ("negative max_tokens", "/v1/completions", b'{"prompt":"x","max_tokens":-3}', 422),
        ("unknown model", "/v1/chat/completions", b'{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}', 404),
        ("not an object", "/chat", b"[1,2,3]", 422),
    ]
    for label, path, body, expected in hostile:
        try:
            status, data = request(port, "POST", path, body)
            is_json = isinstance(json.loads(data), dict)
        except Exception as error:
            status, is_json = f"error {error}", False
        check(status == expected and is_json, f"{label}: {status} with a JSON body (expected {expected})")
    status, data = request(port, "GET", "/health")
    check(status == 200 and json.loads(data) == {"status": "Healthy"}, "healthy after the load and hostile requests")
    print(f"load: {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
