# kaitoc and kaito-serve: see README.md.
SWIFT        ?= swift
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN  := .build/release
KAITOC       := $(RELEASE_BIN)/kaitoc

.PHONY: all deps build run test bench bench-engine format lint clean third-party

all: build

# System libraries: libyaml and libgit2 headers (Debian packages), installed only when missing.
deps:
	@if [ ! -f /usr/include/yaml.h ] || [ ! -f /usr/include/git2.h ]; then \
		echo "installing libyaml-dev libgit2-dev"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libyaml-dev libgit2-dev pkg-config; \
	fi

build: deps
	$(SWIFT) build -c release --product kaitoc

# The main job: validate workspaces/ against presets/.
run: build
	$(KAITOC) build

VENV         := .venv-test
PYTHON       := $(VENV)/bin/python

# Python tools the tests use as independent referees (schemas, kustomize is kubectl's; transformers' GGUF converter
# and HF tokenizers for scripts/make_tokenizer_vectors.py, without torch).
$(VENV)/.installed: Makefile
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check "kubernetes-validate==1.37.0" "jsonschema>=4" "pyyaml>=6" "pre-commit>=3" "openai>=1"
	$(VENV)/bin/pip install -q --disable-pip-version-check "transformers==5.24.0" "tokenizers==0.23.3" "gguf==0.19.0" \
		"sentencepiece==0.2.3" "protobuf>=5"
	touch $@

# Third-party test material nobody here wrote: llama.cpp's models/ folder (ggml-vocab-*.gguf with .inp/.out
# tokenizer vectors, templates/*.jinja of released models) and its GGUF converter, from the llama-cpp-python source
# distribution on PyPI (fetched once, by pip, into .cache/; tests read .cache/llama.cpp).
LLAMA_CPP_PY := 0.3.36
THIRD_PARTY  := .cache/llama.cpp
$(THIRD_PARTY)/.extracted: Makefile $(VENV)/.installed
	rm -rf .cache/sdist $(THIRD_PARTY)
	mkdir -p .cache/sdist
	$(VENV)/bin/pip install -q --disable-pip-version-check scikit-build-core cmake
	$(VENV)/bin/pip download -q --disable-pip-version-check --no-deps --no-build-isolation \
		--no-binary llama-cpp-python llama-cpp-python==$(LLAMA_CPP_PY) -d .cache/sdist
	tar -xzf .cache/sdist/llama_cpp_python-$(LLAMA_CPP_PY).tar.gz -C .cache/sdist \
		llama_cpp_python-$(LLAMA_CPP_PY)/vendor/llama.cpp/models llama_cpp_python-$(LLAMA_CPP_PY)/vendor/llama.cpp/gguf-py \
		llama_cpp_python-$(LLAMA_CPP_PY)/vendor/llama.cpp/convert_hf_to_gguf.py
	mv .cache/sdist/llama_cpp_python-$(LLAMA_CPP_PY)/vendor/llama.cpp $(THIRD_PARTY)
	rm -rf .cache/sdist
	touch $@

third-party: $(THIRD_PARTY)/.extracted

# Tokenizer test material made from the third-party vocabularies (converted tokenizer.json files and HF's ids for
# llama.cpp's vectors and a corpus; about 150 MB, so generated here rather than committed).
TOKENIZER_VECTORS := .cache/tokenizers/.done
$(TOKENIZER_VECTORS): scripts/make_tokenizer_vectors.py $(VENV)/.installed $(THIRD_PARTY)/.extracted
	rm -rf .cache/tokenizers
	$(PYTHON) scripts/make_tokenizer_vectors.py $(THIRD_PARTY)/models .cache/tokenizers

# One debug build with tests enabled serves both the test runner and the end-to-end scripts.
test: deps $(VENV)/.installed $(THIRD_PARTY)/.extracted $(TOKENIZER_VECTORS)
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	scripts/cli-tests.sh .build/debug/kaitoc
	scripts/render-tests.sh .build/debug/kaitoc $(PYTHON)
	scripts/git-tests.sh .build/debug/kaitoc $(VENV)/bin/pre-commit
	scripts/serve-tests.sh .build/debug/kaito-serve $(PYTHON)
	$(PYTHON) scripts/contract_test.py .build/debug/kaitoc .build/debug

bench: build $(TOKENIZER_VECTORS)
	python3 scripts/bench.py
	$(SWIFT) build -c release --product kaito-tokenizer-bench
	$(RELEASE_BIN)/kaito-tokenizer-bench
	$(SWIFT) build -c release --product kaito-serve-bench
	$(RELEASE_BIN)/kaito-serve-bench --threads 2 --prompt 64 --decode 32

# kaito-serve's engine against llama.cpp on one random Llama-shaped model (not part of make test; builds llama.cpp from
# llama-cpp-python's source distribution in a bench-only venv under .cache/bench-engine, about 15 minutes the first time).
bench-engine: deps
	scripts/bench-engine.sh

format:
	$(SWIFT) format format --parallel --in-place --recursive Sources Tests

lint:
	$(SWIFT) format lint --strict --parallel --recursive Sources Tests

clean:
	rm -rf .build
