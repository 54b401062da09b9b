#!/usr/bin/env bash
# make bench-engine: kaito-serve's engine against llama.cpp on the same random model (see scripts/bench_engine.py).
#
# Everything lives under .cache/bench-engine (never part of make test):
#   venv/       a bench-only virtual environment: numpy, transformers, gguf, sentencepiece, and torch from the PyTorch
#               CPU build (torch==2.13.0+cpu: llama.cpp's converter imports torch; never the default PyPI torch);
#   src/        llama-cpp-python's PyPI source distribution, fetched by pip (it vendors llama.cpp);
#   llama/      llama.cpp built from that tree with cmake and ninja from the venv (GGML_NATIVE, like a pip build
#               with CMAKE_ARGS="-DGGML_NATIVE=ON"): llama-bench and llama-quantize;
#   llama-avx2/ the same restricted to AVX2, FMA and F16C (no AVX-512, no VNNI), built and used instead with
#               LLAMA_ISA=avx2: on a machine with AVX-512 the native build is the reference users get, the AVX2 build
#               says how far apart the kernels are on nearly the same instructions (kaito-serve adds VNNI on 256-bit
#               vectors to its Q8_0/Q4_0 products where the CPU has it);
#   work/       the model (BF16 and F16 safetensors), its GGUF files, the bandwidth probe.
# Variables: THREADS (2), ROUNDS (3), PROMPT (256), DECODE (64), ONLY (subset of configurations, comma-separated),
# LLAMA_ISA (native or avx2);
# MODE=serve (make bench-serve) builds llama-server too and runs scripts/bench_serve.py instead;
# to reuse what exists elsewhere instead of building it: BENCH_PYTHON (a python with the venv's packages),
# LLAMA_SRC (a llama.cpp tree with convert_hf_to_gguf.py and models/), LLAMA_BIN (llama-bench and llama-quantize).
set -euo pipefail
cd "$(dirname "$0")/.."
LLAMA_CPP_PY=0.3.36
DIR=.cache/bench-engine
VENV=$DIR/venv
SRC=$DIR/src/llama_cpp_python-$LLAMA_CPP_PY
LLAMA_ISA=${LLAMA_ISA:-native}
case "$LLAMA_ISA" in
native)
    BUILD=$DIR/llama
    ISA_FLAGS=(-DGGML_NATIVE=ON)
    ;;
avx2)
    BUILD=$DIR/llama-avx2
    ISA_FLAGS=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
        -DGGML_AVX512=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AVX_VNNI=OFF)
    ;;
*)
    echo "LLAMA_ISA must be native or avx2, not $LLAMA_ISA" >&2
    exit 2
    ;;
esac
mkdir -p "$DIR"

PYTHON=${BENCH_PYTHON:-$VENV/bin/python}
if [ -z "${BENCH_PYTHON:-}" ] && [ ! -f "$VENV/.installed" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check scikit-build-core cmake ninja numpy safetensors \
        "transformers>=4.45" gguf sentencepiece protobuf
    "$VENV/bin/pip" install -q --disable-pip-version-check "torch==2.13.0+cpu"
    touch "$VENV/.installed"
fi

LLAMA=${LLAMA_SRC:-$SRC/vendor/llama.cpp}
if [ -z "${LLAMA_SRC:-}" ] && [ ! -f "$SRC/.extracted" ]; then
    rm -rf "$DIR/src"
    mkdir -p "$DIR/src"
    "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --no-build-isolation \
        --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_CPP_PY" -d "$DIR/src"
    tar -xzf "$DIR/src/llama_cpp_python-$LLAMA_CPP_PY.tar.gz" -C "$DIR/src"
    touch "$SRC/.extracted"
fi

BIN=${LLAMA_BIN:-$BUILD/bin}
if [ ! -x "$BIN/llama-bench" ] || [ ! -x "$BIN/llama-quantize" ]; then
    echo "building llama.cpp (llama-bench, llama-quantize) from $LLAMA: about 10 minutes on 2 cores"
    PATH="$PWD/$VENV/bin:$PATH" cmake -S "$LLAMA" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        "${ISA_FLAGS[@]}" -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=OFF -DLLAVA_BUILD=OFF >/dev/null
    PATH="$PWD/$VENV/bin:$PATH" ninja -C "$BUILD" llama-bench llama-quantize >/dev/null
fi

if [ "${MODE:-}" = serve ]; then
    # make bench-serve: llama.cpp's server beside kaito-serve on the same Q8_0 GGUF file (scripts/bench_serve.py).
    if [ ! -x "$BIN/llama-server" ]; then
        echo "building llama-server from $LLAMA"
        PATH="$PWD/$VENV/bin:$PATH" cmake -S "$LLAMA" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
            "${ISA_FLAGS[@]}" -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
            -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAVA_BUILD=OFF >/dev/null
        PATH="$PWD/$VENV/bin:$PATH" ninja -C "$BUILD" llama-server >/dev/null
    fi
    swift build -c release --product kaito-serve
    "$PYTHON" scripts/bench_engine.py --work "$DIR/work" --llama-bin "$BIN" --llama-src "$LLAMA" \
        --serve-bench unused --prepare
    exec "$PYTHON" scripts/bench_serve.py --model "$DIR/work/model-q8_0.gguf" --serve .build/release/kaito-serve \
        --llama-server "$BIN/llama-server" --threads "${THREADS:-2}" --rounds "${ROUNDS:-3}"
fi

swift build -c release --product kaito-serve-bench
echo "reference: llama.cpp built for LLAMA_ISA=$LLAMA_ISA ($BIN)"
"$PYTHON" scripts/bench_engine.py --work "$DIR/work" --llama-bin "$BIN" \
    --llama-src "$LLAMA" --serve-bench .build/release/kaito-serve-bench \
    --threads "${THREADS:-2}" --rounds "${ROUNDS:-3}" --prompt "${PROMPT:-256}" --decode "${DECODE:-64}" \
    --only "${ONLY:-}"
