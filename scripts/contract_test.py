#!/usr/bin/env python3
"""Contract test between kaitoc's manifests and kaito-serve (issue 6): run the engine exactly as the rendered
workload would run it.

    python3 scripts/contract_test.py KAITOC KAITO_SERVE_DIR

1. `kaitoc build` compiles a copy of this repository's workspaces/ and presets/ into a temporary out/.
2. The test picks the rendered workload that runs the kaito-serve image with adapters, and takes from it the main
   container's command, args, env, ports and probes, and the Service that exposes it.
3. Each volume mount path of the container is mapped to a temporary folder: the weights folder gets the fixture
   model (a tiny Llama with a real tokenizer), the adapters folder gets one fixture adapter per rendered adapter
   name. Paths in args are rewritten through that map, nothing else changes.
4. kaito-serve starts with that command line and environment; the test polls the startup probe as Kubernetes would
   (period, failure threshold), then checks the readiness and liveness probes, then calls Kaito's `/chat` on the
   container port the Service's targetPort names.
5. The answer with the rendered strengths must differ from the adapter-free one, and with every strength variable
   set to 0 it must equal it (docs/reference/inference.md section 1.5: strength multiplies each adapter's delta).
"""
import json, os, shutil, signal, subprocess, sys, tempfile, time, urllib.request

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FIXTURES = os.path.join(REPO, "Tests", "EngineServerTests", "Fixtures")
failures = []


def check(condition, label):
    print(("ok   " if condition else "FAIL ") + label)
    if not condition:
        failures.append(label)
    return condition


def rendered_objects(kaitoc, work):
    for name in ("workspaces", "presets"):
        shutil.copytree(os.path.join(REPO, name), os.path.join(work, name))
    result = subprocess.run([kaitoc, "build", "--repo", work], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"kaitoc build failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    objects = []
    for root, _, files in os.walk(os.path.join(work, "out")):
        for file in sorted(files):
            if file.endswith((".yaml", ".yml")):
                with open(os.path.join(root, file)) as f:
                    objects += [o for o in yaml.safe_load_all(f) if o]
    return objects


def serving_workload(objects):
    for o in objects:
        if o["kind"] not in ("Deployment", "StatefulSet"):
            continue
        spec = o["spec"]["template"]["spec"]
        for container in spec["containers"]:
            image = container.get("image", "")
            names = [e["name"] for e in container.get("env", [])]
            if "/kaito-serve:" in image and any(a.startswith("--adapters-dir") for a in container.get("args", [])):
                return o, spec, container, names
    sys.exit("no rendered workload runs the kaito-serve image with adapters")


def service_for(objects, workload, container):
    labels = workload["spec"]["selector"]["matchLabels"]
    for o in objects:
        if o["kind"] == "Service" and o["metadata"]["namespace"] == workload["metadata"]["namespace"] \
                and o["spec"].get("selector") and all(labels.get(k) == v for k, v in o["spec"]["selector"].items()) \
                and o["spec"].get("clusterIP") != "None":
            port = next(p for p in o["spec"]["ports"] if p.get("name", "http") == "http" or p["port"] == 80)
            target = port.get("targetPort", port["port"])
            if isinstance(target, str):
                target = next(p["containerPort"] for p in container["ports"] if p.get("name") == target)
            return o, port["port"], target
    sys.exit("no Service selects the kaito-serve workload")


def get(port, path, timeout=5):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def chat(port, prompt):
    body = json.dumps({"prompt": prompt, "generate_kwargs": {"do_sample": False, "max_length": 48}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/chat", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["Result"]


def probe_port(probe, container):
    port = probe["httpGet"]["port"]
    if isinstance(port, str):
        port = next(p["containerPort"] for p in container["ports"] if p.get("name") == port)
    return port


def rewrite(arg, mounts):
    """`--flag=/mount/path/x` or `/mount/path/x` with the mount path replaced by its local folder."""
    flag, eq, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
    for path, local in sorted(mounts.items(), key=lambda item: -len(item[0])):
        if value == path or value.startswith(path + "/"):
            return flag + eq + local + value[len(path):]
    return arg


def run(serve_dir, container, mounts, environment, chat_port):
    """Starts kaito-serve as the container would, waits for its startup probe, checks the others, asks /chat."""
    args = [rewrite(a, mounts) for a in container["command"] + container.get("args", [])]
    env = dict(os.environ, PATH=serve_dir + os.pathsep + os.environ.get("PATH", ""))
    env.update(environment)
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        startup = container["startupProbe"]
        port = probe_port(startup, container)
        budget = startup.get("initialDelaySeconds", 0) + startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
        deadline = time.time() + budget
        while time.time() < deadline and process.poll() is None and get(port, startup["httpGet"]["path"]) != 200:
            time.sleep(0.2)
        if not check(get(port, startup["httpGet"]["path"]) == 200,
                     f"startup probe GET {startup['httpGet']['path']} on {port} succeeds within {budget} s"):
            process.kill()
            print(process.communicate()[0])
            return None
        for kind in ("readinessProbe", "livenessProbe"):
            probe = container[kind]
            check(get(probe_port(probe, container), probe["httpGet"]["path"]) == 200,
                  f"{kind} GET {probe['httpGet']['path']} on {probe_port(probe, container)}")
        return chat(chat_port, "YOUR QUESTION HERE")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                check(process.wait(timeout=10) == 0, "SIGTERM stops kaito-serve gracefully")
            except subprocess.TimeoutExpired:
                process.kill()
                check(False, "SIGTERM stops kaito-serve gracefully")


def main():
    kaitoc, serve_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory() as work:
        objects = rendered_objects(kaitoc, os.path.join(work, "repo"))
        workload, pod, container, env_names = serving_workload(objects)
        name = workload["metadata"]["name"]
        print(f"workload {workload['kind']} {workload['metadata']['namespace']}/{name}: "
              f"{' '.join(container['command'] + container.get('args', []))}")
        service, service_port, service_target = service_for(objects, workload, container)
        print(f"service {service['metadata']['name']}: port {service_port} -> {service_target}")
        check(container.get("resources", {}).get("limits", {}).get("nvidia.com/gpu") is None, "no GPU limit")
        adapters_dir = next(a.split("=", 1)[1] for a in container["args"] if a.startswith("--adapters-dir="))
        # Adapters as docs/reference/kaito.md section 4.7 delivers them: an init container `puller-<name>` per image adapter, a volume at
        # <adapters dir>/<name> per volume adapter; strength in the variable <name> when set (default 1.0).
        adapter_names = sorted(
            [c["name"][len("puller-"):] for c in pod.get("initContainers", []) if c["name"].startswith("puller-")]
            + [m["mountPath"][len(adapters_dir) + 1:] for m in container.get("volumeMounts", [])
               if m["mountPath"].startswith(adapters_dir + "/")])
        check(len(adapter_names) >= 2, f"two or more adapters: {adapter_names}")
        # Every mount path of the main container becomes the same path under a temporary root.
        root = os.path.join(work, "root")
        mounts = {m["mountPath"]: root + m["mountPath"] for m in container.get("volumeMounts", [])}
        for local in mounts.values():
            os.makedirs(local, exist_ok=True)
        model_arg = next(a.split("=", 1)[1] for a in container["args"] if a.startswith("--model="))
        check(any(model_arg == p or model_arg.startswith(p + "/") for p in mounts), f"--model={model_arg} is a mounted path")
        check(any(adapters_dir == p or adapters_dir.startswith(p + "/") for p in mounts),
              f"--adapters-dir={adapters_dir} is a mounted path")
        shutil.rmtree(root + model_arg, ignore_errors=True)
        shutil.copytree(os.path.join(FIXTURES, "tiny-chat"), root + model_arg)
        fixtures = sorted(os.listdir(os.path.join(FIXTURES, "adapters")))
        for i, adapter in enumerate(adapter_names):
            shutil.rmtree(root + adapters_dir + "/" + adapter, ignore_errors=True)
            shutil.copytree(os.path.join(FIXTURES, "adapters", fixtures[i % len(fixtures)]),
                            root + adapters_dir + "/" + adapter)
        rendered_env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
        strengths = {a: float(rendered_env.get(a, "1.0")) for a in adapter_names}
        print(f"adapters {strengths}")

        adapted = run(serve_dir, container, mounts, rendered_env, service_target)
        muted = run(serve_dir, container, mounts, dict(rendered_env, **{a: "0" for a in adapter_names}), service_target)
        plain_container = dict(container, args=[a for a in container["args"] if not a.startswith("--adapters-dir")])
        plain = run(serve_dir, plain_container, mounts, rendered_env, service_target)
        if None not in (adapted, muted, plain):
            check(muted == plain, "every strength 0: the answer of the adapter-free model")
            check((adapted != plain) == any(s > 0 for s in strengths.values()),
                  f"rendered strengths {strengths}: the answer differs from the adapter-free one")
            print(f"adapter-free: {plain!r}\nadapted:      {adapted!r}")
    print(f"contract: {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
