import os, textwrap
import pathlib
root = str(pathlib.Path(__file__).resolve().parent.parent / 'Tests/KaitoCoreTests/Fixtures/rules')
def ws(name='ws', api='v1beta1', meta_extra='', resource=None, body=None, ns=None):
    if resource is None:
        resource = '''resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: test
'''
    if body is None:
        body = '''inference:
  preset:
    name: phi-4-mini-instruct
'''
    m = f"metadata:\n  name: {name}\n"
    if ns: m += f"  namespace: {ns}\n"
    m += meta_extra
    return f"apiVersion: kaito.sh/{api}\nkind: Workspace\n{m}{resource}{body}"
def res(it='Standard_NC24ads_A100_v4', extra='', labels='      apps: test\n'):
    s = "resource:\n"
    if it is not None: s += f"  instanceType: {it}\n"
    s += extra
    s += "  labelSelector:\n    matchLabels:\n" + labels
    return s
def ann(**kv):
    s = "  annotations:\n"
    for k, v in kv.items(): s += f"    {k.replace('__','/').replace('_','-')}: {v}\n"
    return s
TF = '  annotations:\n    kaito.sh/runtime: transformers\n'
def inf(preset='phi-4-mini-instruct', extra=''):
    return f"inference:\n  preset:\n    name: {preset}\n{extra}"
def tuning(method='qlora', preset='phi-4-mini-instruct', inp=None, out=None, extra=''):
    if inp is None: inp = '  input:\n    urls:\n      - "https://example.com/data/train.parquet"\n'
    if out is None: out = '  output:\n    image: myregistry.azurecr.io/phi-4-tuned:0.0.1\n    imagePushSecret: push-secret\n'
    return f"tuning:\n  preset:\n    name: {preset}\n  method: {method}\n{inp}{out}{extra}"
def cm(name, key, content, ns=None):
    body = textwrap.indent(content, '    ')
    n = f"  namespace: {ns}\n" if ns else ''
    return f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{n}data:\n  {key}: |\n{body}"
cases = {}
H='head'
cases[(H,'KAITO-V1.fail')] = ws(name='Bad_Name')
cases[(H,'KAITO-V1.pass')] = ws(name='good-name')
cases[(H,'KAITO-C1.fail')] = ws(body='')
cases[(H,'KAITO-C1.pass')] = ws()
cases[(H,'KAITO-C2.fail')] = ws(body=inf()+tuning())
cases[(H,'KAITO-C2.pass')] = ws(body=tuning())
cases[(H,'KAITO-C4.fail')] = ws(resource=res(it=None))
cases[(H,'KAITO-C4.pass')] = ws(resource=res())
cases[(H,'KAITO-C5.fail')] = ws(meta_extra='  annotations:\n    kaito.sh/node-image-family: windows\n')
cases[(H,'KAITO-C5.pass')] = ws(meta_extra='  annotations:\n    kaito.sh/node-image-family: AzureLinux\n')
cases[(H,'KAITO-C6.fail')] = ws(meta_extra='  annotations:\n    kaito.sh/performance-mode: fast\n')
cases[(H,'KAITO-C6.pass')] = ws(meta_extra='  annotations:\n    kaito.sh/performance-mode: interactivity\n')
cases[(H,'KAITO-C7.fail')] = ws(meta_extra='  annotations:\n    kaito.sh/use-local-weights: "yes"\n')
cases[(H,'KAITO-C7.pass')] = ws(meta_extra='  annotations:\n    kaito.sh/use-local-weights: "false"\n')
cases[(H,'KAITO-R1.fail')] = ws(body=inf('phi-2'))
cases[(H,'KAITO-R1.pass')] = ws(body=inf('phi-4'))
cases[(H,'KAITO-R2.fail')] = ws(resource='resource:\n  instanceType: Standard_NC24ads_A100_v4\n  labelSelector:\n    matchExpressions:\n      - key: apps\n        operator: NotIn\n        values: [test]\n')
cases[(H,'KAITO-R2.pass')] = ws(resource='resource:\n  instanceType: Standard_NC24ads_A100_v4\n  labelSelector:\n    matchExpressions:\n      - key: apps\n        operator: In\n        values: [test]\n')
cases[(H,'KAITO-R3.fail')] = ws(resource=res(labels='      kaito.sh/workspace: ws\n'))
cases[(H,'KAITO-R3.pass')] = ws(resource=res(labels='      kaito.sh/workspace: ws\n      apps: test\n'))
cases[(H,'KAITO-R4.fail')] = ws(resource=res(extra='  partition:\n    mode: mig\n    profile: 1g.10gb\n'))
cases[(H,'KAITO-R4.pass')] = ws()
cases[(H,'KAITO-R5.fail')] = ws(resource=res(it='Large_GPU_Box'))
cases[(H,'KAITO-R5.pass')] = ws(resource=res(it='standard_nc24ads_a100_v4'))
cases[('aws','KAITO-R5.aws.fail')] = ws(resource=res(it='Standard_NC6s_v3'))
cases[('aws','KAITO-R5.aws.pass')] = ws(resource=res(it='g5.12xlarge'))
cases[(H,'KAITOC-SKU.fail')] = ws(resource=res(it='Standard_NC6s_v3'))
cases[(H,'KAITOC-SKU.pass')] = ws(resource=res(it='Standard_NC40ads_H100_v5'))
cases[(H,'KAITO-R9.fail')] = ws(meta_extra=TF, resource=res(it='Standard_NV36ads_A10_v5'), body=inf('phi-4'))
cases[(H,'KAITO-R9.pass')] = ws(meta_extra=TF, resource=res(it='Standard_NV72ads_A10_v5'), body=inf('phi-4'))
cases[(H,'KAITO-R10.bypass.fail')] = ws(meta_extra='  annotations:\n    kaito.sh/runtime: transformers\n    kaito.sh/bypass-resource-checks: "true"\n', resource=res(it='Standard_NV36ads_A10_v5'), body=inf('phi-4'))
cases[(H,'KAITO-R10.fail')] = ws(meta_extra=TF, resource=res(extra='  count: 2\n'), body=inf('llama-3.3-70b-instruct', '    presetOptions:\n      modelAccessSecret: hf-token\n'))
cases[(H,'KAITO-R10.pass')] = ws(resource=res(extra='  count: 2\n'), body=inf('llama-3.3-70b-instruct', '    presetOptions:\n      modelAccessSecret: hf-token\n'))
cases[(H,'KAITO-I1.fail')] = ws(body='inference:\n  config: ""\n')
cases[(H,'KAITO-I1.pass')] = ws()
cases[(H,'KAITO-I2.fail')] = ws(body=inf(extra='  template:\n    spec:\n      containers:\n        - name: server\n          image: nginx:1.27\n'))
cases[(H,'KAITO-I2.pass')] = ws(body='inference:\n  template:\n    spec:\n      containers:\n        - name: server\n          image: nginx:1.27\n')
cases[(H,'KAITO-I3.fail')] = ws(body=inf('phi-4-mini-instrcut'))
cases[(H,'KAITO-I3.pass')] = ws(body=inf('Microsoft/Phi-4-Mini-Instruct'))
cases[(H,'KAITO-I4.fail')] = ws(body=inf('someorg/some-model-7b'))
cases[(H,'KAITO-I4.pass')] = ws(body=inf('qwen/qwen2.5-coder-7b-instruct'))
cases[(H,'KAITO-I5.fail')] = ws(meta_extra=TF)
cases[(H,'KAITO-I5.pass')] = ws(meta_extra=TF, body=inf('phi-3.5-mini-instruct'))
AD1 = '  adapters:\n    - source:\n        name: adapter-a\n        image: myregistry.azurecr.io/adapter-a:0.0.1\n'
cases[(H,'KAITO-I7.fail')] = ws(body=inf(extra=AD1+'      strength: "0.5"\n'))
cases[(H,'KAITO-I7.pass')] = ws(body=inf(extra=AD1))
many = '  adapters:\n' + ''.join(f'    - source:\n        name: adapter-{i}\n        image: myregistry.azurecr.io/adapter-{i}:0.0.1\n' for i in range(11))
cases[(H,'KAITO-I10.fail')] = ws(body=inf(extra=many))
cases[(H,'KAITO-I10.pass')] = ws(body=inf(extra='  adapters:\n' + ''.join(f'    - source:\n        name: adapter-{i}\n        image: myregistry.azurecr.io/adapter-{i}:0.0.1\n' for i in range(10))))
cases[(H,'KAITO-I11.fail')] = ws(body=inf(extra=AD1+'    - source:\n        name: adapter-a\n        image: myregistry.azurecr.io/adapter-b:0.0.1\n'))
cases[(H,'KAITO-I11.pass')] = ws(body=inf(extra=AD1+'    - source:\n        name: adapter-b\n        image: myregistry.azurecr.io/adapter-b:0.0.1\n'))
cases[(H,'KAITO-A1.fail')] = ws(body=inf(extra='  adapters:\n    - {}\n'))
cases[(H,'KAITO-A1.pass')] = ws(body=inf(extra=AD1))
cases[(H,'KAITO-A2.fail')] = ws(body=inf(extra='  adapters:\n    - source:\n        name: adapter-a\n        image: myregistry.azurecr.io/adapter-a:0.0.1\n        volumeSource:\n          persistentVolumeClaim:\n            claimName: adapters\n'))
cases[(H,'KAITO-A2.pass')] = ws(body=inf(extra='  adapters:\n    - source:\n        name: adapter-a\n        volumeSource:\n          persistentVolumeClaim:\n            claimName: adapters\n'))
cases[(H,'KAITO-A3.fail')] = ws(body=inf(extra='  adapters:\n    - source:\n        name: Adapter_A\n        image: myregistry.azurecr.io/adapter-a:0.0.1\n    - source:\n        image: myregistry.azurecr.io/adapter-b:0.0.1\n'))
cases[(H,'KAITO-A3.pass')] = ws(body=inf(extra='  adapters:\n    - source:\n        name: adapter.a-1\n        image: myregistry.azurecr.io/adapter-a:0.0.1\n'))
cases[(H,'KAITO-A4.fail')] = ws(body=inf(extra='  adapters:\n    - source:\n        name: adapter-a\n'))
cases[(H,'KAITO-A4.pass')] = ws(body=inf(extra=AD1))
cases[(H,'KAITO-A5.fail')] = ws(body=inf(extra='  adapters:\n    - source:\n        name: adapter-a\n        urls:\n          - https://example.com/adapter.safetensors\n'))
cases[(H,'KAITO-A5.pass')] = ws(body=inf(extra=AD1))
cases[(H,'KAITO-A6.fail')] = ws(meta_extra=TF, body=inf('phi-4', AD1+'      strength: "1.5"\n    - source:\n        name: adapter-b\n        image: myregistry.azurecr.io/adapter-b:0.0.1\n      strength: "strong"\n'))
cases[(H,'KAITO-A6.pass')] = ws(meta_extra=TF, body=inf('phi-4', AD1+'      strength: "0.25"\n'))
cases[(H,'KAITOC-IMAGE.fail')] = ws(body=inf(extra='  adapters:\n    - source:\n        name: phi-3-adapter\n        image: "ACR_REPO_HERE.azurecr.io/ADAPTER_HERE:0.0.1"\n'))
cases[(H,'KAITOC-IMAGE.pass')] = ws(body=inf(extra='  adapters:\n    - source:\n        name: phi-3-adapter\n        image: "myregistry.azurecr.io/adapter:0.0.1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"\n'))
CFG = '  config: inference-config\n'
cases[(H,'KAITO-IC1.fail')] = ws(body=inf(extra=CFG))
cases[(H,'KAITO-IC1.pass')] = ws(body=inf(extra=CFG)) + cm('inference-config','inference_config.yaml','vllm:\n  max-model-len: 4096\n')
cases[(H,'KAITO-IC2.fail')] = ws(body=inf(extra=CFG)) + cm('inference-config','config.yaml','vllm:\n  max-model-len: 4096\n')
cases[(H,'KAITO-IC2.pass')] = cases[(H,'KAITO-IC1.pass')]
cases[(H,'KAITO-IC3.fail')] = ws(body=inf(extra=CFG)) + cm('inference-config','inference_config.yaml','vllm: [unclosed\n')
cases[(H,'KAITO-IC3.pass')] = cases[(H,'KAITO-IC1.pass')]
cases[(H,'KAITO-IC4.fail')] = ws(body=inf(extra=CFG)) + cm('inference-config','inference_config.yaml','vllm:\n  max-model-len: lots\n')
cases[(H,'KAITO-IC4.pass')] = cases[(H,'KAITO-IC1.pass')]
cases[(H,'KAITO-IC5.fail')] = ws(body=inf(extra=CFG)) + cm('inference-config','inference_config.yaml','vllm:\n  max-model-len: 200000\n')
cases[(H,'KAITO-IC5.pass')] = ws(body=inf(extra=CFG)) + cm('inference-config','inference_config.yaml','vllm:\n  max-model-len: 131072\n')
cases[(H,'KAITOC-ESTIMATE.fail')] = ws(resource=res(it='Standard_NV36ads_A10_v5'), body=inf('llama-3.3-70b-instruct', CFG)) + cm('inference-config','inference_config.yaml','vllm:\n  max-model-len: 131072\n')
cases[(H,'KAITOC-ESTIMATE.pass')] = ws(resource=res(it='Standard_NV36ads_A10_v5'), body=inf('llama-3.3-70b-instruct', CFG)) + cm('inference-config','inference_config.yaml','vllm:\n  max-model-len: 2048\n')
cases[(H,'KAITOC-DUPLICATE.fail')] = ws() + '---\n' + ws(resource=res(it='Standard_NC40ads_H100_v5'))
cases[(H,'KAITOC-DUPLICATE.pass')] = ws() + '---\n' + ws(ns='other', resource=res(it='Standard_NC40ads_H100_v5'))
big = lambda n: ws(name=n, resource=res(it='Standard_NC96ads_A100_v4'), body=inf('llama-3.3-70b-instruct', '    presetOptions:\n      modelAccessSecret: hf-token\n'))
cases[(H,'KAITOC-QUOTA.fail')] = big('llama-a') + '---\n' + big('llama-b') + '---\n' + big('llama-c')
cases[(H,'KAITOC-QUOTA.pass')] = big('llama-a') + '---\n' + big('llama-b')
cases[(H,'KAITOC-UNKNOWN-FIELD.fail')] = ws(resource='resource:\n  instanceTyp: Standard_NC24ads_A100_v4\n  labelSelector:\n    matchLabels:\n      apps: test\n', body='spec:\n  inference:\n    preset:\n      name: phi-4-mini-instruct\n')
cases[(H,'KAITOC-UNKNOWN-FIELD.pass')] = ws()
cases[(H,'KAITOC-SCHEMA.fail')] = ws(meta_extra=TF, resource=res(extra='  count: two\n'), body=inf('phi-4', AD1+'      strength: 0.5\n'))
cases[(H,'KAITOC-SCHEMA.pass')] = ws(meta_extra=TF, resource=res(extra='  count: 1\n'), body=inf('phi-4', AD1+'      strength: "0.5"\n'))
cases[(H,'KAITOC-YAML.fail')] = ws(resource='resource:\n  instanceType: Standard_NC24ads_A100_v4\n  instanceType: Standard_NC40ads_H100_v5\n  labelSelector:\n    matchLabels:\n      apps: test\n')
cases[(H,'KAITOC-YAML.pass')] = ws()
cases[(H,'KAITOC-SCHEMA.names.fail')] = ws(ns='../../etc', body=inf(extra=CFG)) + cm('../inference-config', 'inference_config.yaml', 'vllm:\n  max-model-len: 4096\n', ns='../../etc')
cases[(H,'KAITOC-SCHEMA.names.pass')] = ws(ns='team-a', body=inf(extra=CFG)) + cm('inference-config', 'inference_config.yaml', 'vllm:\n  max-model-len: 4096\n', ns='team-a')
cases[(H,'KAITOC-RUNTIME.fail')] = ws(meta_extra='  annotations:\n    kaito.sh/runtime: tensorrt\n')
cases[(H,'KAITOC-RUNTIME.pass')] = ws(meta_extra='  annotations:\n    kaito.sh/runtime: vllm\n')
cases[(H,'KAITO-ACCESS-MODE.fail')] = ws(api='v1alpha1', body='inference:\n  preset:\n    name: phi-4-mini-instruct\n    accessMode: private\n')
cases[(H,'KAITO-ACCESS-MODE.pass')] = ws(api='v1alpha1', body='inference:\n  preset:\n    name: phi-4-mini-instruct\n    accessMode: private\n    presetOptions:\n      image: myregistry.azurecr.io/phi-4-mini:0.0.1\n')
# tuning
cases[(H,'KAITO-T1.fail')] = ws(resource=res(extra='  count: 2\n'), body=tuning())
cases[(H,'KAITO-T1.pass')] = ws(resource=res(extra='  count: 1\n'), body=tuning())
cases[(H,'KAITO-T2.fail')] = ws(resource=res(extra='  partition:\n    mode: accelerator\n    count: 1\n'), body=tuning())
cases[(H,'KAITO-T2.pass')] = ws(body=tuning())
cases[(H,'KAITO-T3.fail')] = ws(body=tuning(method='full'))
cases[(H,'KAITO-T3.pass')] = ws(body=tuning(method='LoRA'))
TC = '  config: training-config\n'
def tcm(content): return cm('training-config','training_config.yaml',content)
GOOD_Q = 'training_config:\n  QuantizationConfig:\n    load_in_4bit: true\n  TrainingArguments:\n    output_dir: "/mnt/results"\n'
cases[(H,'KAITO-T4.fail')] = ws(body=tuning(extra=TC))
cases[(H,'KAITO-T4.pass')] = ws(body=tuning(extra=TC)) + tcm(GOOD_Q)
cases[(H,'KAITO-T5.fail')] = ws(body=tuning(extra=TC)) + tcm('training_config:\n  QuantizationConfig:\n    load_in_4bit: true\n  Optimizer:\n    lr: 0.1\n')
cases[(H,'KAITO-T5.pass')] = cases[(H,'KAITO-T4.pass')]
cases[(H,'KAITO-T6.fail')] = ws(body=tuning(extra=TC)) + tcm('training_config:\n  QuantizationConfig:\n    load_in_4bit: "yes please"\n')
cases[(H,'KAITO-T6.pass')] = cases[(H,'KAITO-T4.pass')]
cases[(H,'KAITO-T7.fail')] = ws(body=tuning(extra=TC)) + tcm('training_config:\n  QuantizationConfig:\n    load_in_4bit: true\n    load_in_8bit: true\n')
cases[(H,'KAITO-T7.pass')] = cases[(H,'KAITO-T4.pass')]
cases[(H,'KAITO-T8.fail')] = ws(body=tuning(method='lora', extra=TC)) + tcm(GOOD_Q)
cases[(H,'KAITO-T8.pass')] = ws(body=tuning(method='lora', extra=TC)) + tcm('training_config:\n  QuantizationConfig:\n    load_in_4bit: false\n')
cases[(H,'KAITO-T9.fail')] = ws(body=tuning(extra=TC)) + tcm('training_config:\n  LoraConfig:\n    r: 8\n')
cases[(H,'KAITO-T9.pass')] = cases[(H,'KAITO-T4.pass')]
cases[(H,'KAITO-T10.fail')] = ws(body=tuning(extra=TC)) + tcm('training_config:\n  QuantizationConfig:\n    load_in_8bit: true\n  TrainingArguments:\n    output_dir: "/mnt/../etc"\n')
cases[(H,'KAITO-T10.pass')] = ws(body=tuning(extra=TC)) + tcm('training_config:\n  QuantizationConfig:\n    load_in_8bit: true\n  TrainingArguments:\n    output_dir: "results/run-1"\n')
cases[(H,'KAITO-T11.fail')] = ws(body='tuning:\n  preset:\n    name: phi-4-mini-instruct\n  method: qlora\n')
cases[(H,'KAITO-T11.pass')] = ws(body=tuning())
cases[(H,'KAITO-T12.fail')] = ws(body=tuning(inp='  input:\n    urls:\n      - "https://example.com/data/train.parquet"\n    image: myregistry.azurecr.io/dataset:0.0.1\n'))
cases[(H,'KAITO-T12.pass')] = ws(body=tuning(inp='  input:\n    name: dataset\n    image: myregistry.azurecr.io/dataset:0.0.1\n'))
cases[(H,'KAITO-T13.fail')] = ws(body=tuning(inp='  input:\n    urls:\n      - "http://169.254.169.254/latest/meta-data"\n      - "ftp://example.com/train.parquet"\n      - "https://metadata.google.internal/x"\n      - "http://[::1]:8080/data"\n      - "not a url"\n'))
cases[(H,'KAITO-T13.pass')] = ws(body=tuning(inp='  input:\n    urls:\n      - "https://huggingface.co/datasets/philschmid/dolly-15k-oai-style/resolve/main/data/train-00000-of-00001-54e3756291ca09c6.parquet?download=true"\n      - "http://8.8.8.8/data.parquet"\n'))
cases[(H,'KAITO-T14.fail')] = ws(body=tuning(out='  output:\n    image: "ACR_REPO_HERE.azurecr.io/IMAGE_NAME_HERE:0.0.1" # Tuning Output ACR Path\n    imagePushSecret: ACR_REGISTRY_SECRET_HERE\n', inp='  input:\n    image: "registry.example.com/Data:latest"\n'))
cases[(H,'KAITO-T14.pass')] = ws(body=tuning(out='  output:\n    image: "myregistry.azurecr.io/phi-3-tuned:0.0.1"\n    imagePushSecret: myregistry-push-secret\n', inp='  input:\n    image: "localhost:5000/data/train_set:v1.2-rc.1"\n'))
cases[(H,'KAITO-T15.fail')] = ws(body=tuning(out='  output:\n    image: myregistry.azurecr.io/phi-4-tuned:0.0.1\n'))
cases[(H,'KAITO-T15.pass')] = ws(body=tuning())
cases[(H,'KAITO-T16.fail')] = ws(body=tuning(out='  output:\n    image: myregistry.azurecr.io/phi-4-tuned:0.0.1\n    imagePushSecret: push-secret\n    volumeSource:\n      emptyDir: {}\n'))
cases[(H,'KAITO-T16.pass')] = ws(body=tuning(out='  output:\n    volumeSource:\n      persistentVolumeClaim:\n        claimName: results\n'))
cases[(H,'KAITO-T17.fail')] = ws(body=tuning(preset='llama-3.1-8b-instruct')) + '---\n' + ws(name='ws-no-preset', body='tuning:\n  method: lora\n  input:\n    urls: ["https://example.com/a.parquet"]\n  output:\n    volumeSource:\n      emptyDir: {}\n')
cases[(H,'KAITO-T17.pass')] = ws(body=tuning(preset='qwen2.5-coder-7b-instruct'))
# classic era (v0.4.6, transformers)
C='classic'
CLR = lambda it='Standard_NC6s_v3': res(it=it)
cases[(C,'KAITO-GPU-COUNT.fail')] = ws(api='v1alpha1', resource=CLR(), body=inf('falcon-40b'))
cases[(C,'KAITO-GPU-COUNT.pass')] = ws(api='v1alpha1', resource=CLR('Standard_NC96ads_A100_v4'), body=inf('falcon-40b'))
cases[(C,'KAITO-GPU-MEMORY.fail')] = ws(api='v1alpha1', resource=CLR(), body=inf('test-per-gpu-40gi'))
cases[(C,'KAITO-GPU-MEMORY.pass')] = ws(api='v1alpha1', resource=CLR('Standard_NC48ads_A100_v4'), body=inf('test-per-gpu-40gi'))
cases[(C,'KAITOC-BF16.fail')] = ws(api='v1alpha1', resource=CLR(), body=inf('phi-3-mini-4k-instruct'))
cases[(C,'KAITOC-BF16.pass')] = ws(api='v1alpha1', resource=CLR('Standard_NC24ads_A100_v4'), body=inf('phi-3-mini-4k-instruct'))
cases[(C,'KAITO-I8.fail')] = ws(resource=CLR('Standard_NC24ads_A100_v4'), body=inf('llama-3.1-8b-instruct'))
cases[(C,'KAITO-I8.pass')] = ws(resource=CLR('Standard_NC24ads_A100_v4'), body=inf('llama-3.1-8b-instruct', '    presetOptions:\n      modelAccessSecret: hf-token\n'))
cases[(C,'KAITO-I9.fail')] = ws(resource=CLR('Standard_NC24ads_A100_v4'), body=inf('phi-3-mini-4k-instruct', '    presetOptions:\n      modelAccessSecret: hf-token\n'))
cases[(C,'KAITO-I9.pass')] = ws(resource=CLR('Standard_NC24ads_A100_v4'), body=inf('phi-3-mini-4k-instruct'))
V='v010'
cases[(V,'KAITO-I6.fail')] = ws(body=inf('falcon-7b', AD1))
cases[(V,'KAITO-I6.pass')] = ws(body=inf('falcon-7b'))
cases[(V,'KAITOC-BF16.vllm.fail')] = ws(resource=res(it='Standard_NC4as_T4_v3'), body=inf('test-bf16-vllm'))
cases[(V,'KAITOC-BF16.vllm.pass')] = ws(resource=res(it='Standard_NC4as_T4_v3'), body=inf('test-fp16-vllm'))
B='byo'
BYO = res(it=None)
cases[(B,'KAITO-C3.fail')] = ws(resource=res())
cases[(B,'KAITO-C3.pass')] = ws(resource=BYO)
cases[(B,'KAITO-R11.fail')] = ws(resource=res(it=None, extra='  partition:\n    mode: mig\n    profile: 1g.10gb\n'))
cases[(B,'KAITO-R11.pass')] = ws(resource=BYO)
cases[(B,'KAITO-R15.gate.fail')] = ws(resource=res(it=None, extra='  partition:\n    mode: accelerator\n    count: 1\n'))
cases[(B,'KAITO-R15.gate.pass')] = ws(resource=BYO)
P='byo-partitions'
cases[(P,'KAITO-R12.fail')] = ws(resource=res(it=None, extra='  partition:\n    mode: mig\n    profile: 3g.40gb\n    count: 2\n'))
cases[(P,'KAITO-R12.pass')] = ws(resource=res(it=None, extra='  partition:\n    mode: mig\n    profile: 3g.40gb\n'))
cases[(P,'KAITO-R13.fail')] = ws(resource=res(it=None, extra='  partition:\n    mode: mig\n    profile: half-gpu\n'))
cases[(P,'KAITO-R13.pass')] = cases[(P,'KAITO-R12.pass')]
cases[(P,'KAITO-R14.fail')] = ws(resource=res(it=None, extra='  partition:\n    mode: mig\n    profile: 1g.10gb\n'), body=inf('phi-4'))
cases[(P,'KAITO-R14.pass')] = ws(resource=res(it=None, extra='  partition:\n    mode: mig\n    profile: 4g.40gb\n'), body=inf('phi-4'))
cases[(P,'KAITO-R15.fail')] = ws(resource=res(it=None, extra='  partition:\n    mode: accelerator\n    profile: 1g.10gb\n'))
cases[(P,'KAITO-R15.pass')] = ws(resource=res(it=None, extra='  partition:\n    mode: accelerator\n    count: 2\n'))
K='karpenter'
cases[(K,'KAITO-C8.fail')] = ws(meta_extra='  annotations:\n    kaito.sh/node-class-name: gpu-special\n')
cases[(K,'KAITO-C8.pass')] = ws(meta_extra='  annotations:\n    kaito.sh/node-class-name: image-family-ubuntu\n')
import shutil
shutil.rmtree(root, ignore_errors=True)
for (t, name), content in cases.items():
    d = os.path.join(root, t); os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name + '.yaml'), 'w').write(content)
print(len(cases))
