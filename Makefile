# kaitoc and kaito-serve: see README.md.
SWIFT        ?= swift
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN  := .build/release
KAITOC       := $(RELEASE_BIN)/kaitoc

.PHONY: all deps build run test bench bench-engine bench-serve format lint sanitize fuzz clean third-party

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

# Python tools the tests use as independent referees (schemas, kustomize is kubectl's; sarif-tools reads SARIF back,
# xmlschema checks JUnit XML against an XSD; transformers' GGUF converter and HF tokenizers for
# scripts/make_tokenizer_vectors.py, without torch).
$(VENV)/.installed: Makefile
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check "kubernetes-validate==1.37.0" "jsonschema>=4" "pyyaml>=6" "pre-commit>=3" "openai>=1"
	$(VENV)/bin/pip install -q --disable-pip-version-check "sarif-tools==3.0.5" "xmlschema==4.3.2"
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
		llama_cpp_python-$(LLAMA_CPP_PY)/vendor/llama.cpp/convert_hf_to_gguf.py llama_cpp_python-$(LLAMA_CPP_PY)/vendor/llama.cpp/conversion
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

# One debug build with tests enabled serves both the test runner and the end-to-end scripts. A crash prints the
# crashed thread's frames last (CI keeps only the tail of the log), without registers or the image list.
CRASH_REPORT := SWIFT_BACKTRACE=enable=yes,interactive=no,color=no,threads=crashed,registers=none,images=none
test: deps $(VENV)/.installed $(THIRD_PARTY)/.extracted $(TOKENIZER_VECTORS)
	$(SWIFT) build --build-tests
	$(CRASH_REPORT) $(SWIFT) test --skip-build
	scripts/cli-tests.sh .build/debug/kaitoc
	$(PYTHON) scripts/format_tests.py .build/debug/kaitoc
	$(PYTHON) scripts/schema_tests.py .build/debug/kaitoc
	scripts/cache-tests.sh .build/debug/kaitoc
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

# kaito-serve's server against llama.cpp's (llama-server --parallel 16 --cont-batching) on the same Q8_0 GGUF file:
# 1, 4 and 16 concurrent streaming clients, aggregate tokens/s, TTFT and inter-token latency (not part of make test).
bench-serve: deps
	MODE=serve scripts/bench-engine.sh

format:
	$(SWIFT) format format --parallel --in-place --recursive Sources Tests Fuzz/Package.swift Fuzz/Sources

# The style gate (CI runs it before the tests): any swift-format finding fails, and so does a target importing a module
# Package.swift does not declare for it. Release builds of our own targets also treat warnings as errors (Package.swift).
lint:
	$(SWIFT) format lint --strict --parallel --recursive Sources Tests Fuzz/Package.swift Fuzz/Sources
	python3 scripts/check_target_imports.py $(SWIFT)

# The Swift test suites under AddressSanitizer and ThreadSanitizer, each in its own build folder.
sanitize: deps $(VENV)/.installed $(THIRD_PARTY)/.extracted
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	LSAN_OPTIONS="suppressions=$(CURDIR)/scripts/lsan-suppressions.txt $(LSAN_OPTIONS)" \
		$(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS="halt_on_error=1 $(TSAN_OPTIONS)" $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan

# libFuzzer targets (Fuzz/, a separate package over this one): each runs FUZZ_SECONDS from the committed seeds and
# crash regressions (Fuzz/Corpus/<target>) plus a working corpus in .build-fuzz/corpus/<target>. A crashing input
# lands in Fuzz/Crashers/<target>/; once fixed, move it to Fuzz/Corpus/<target>/, which `make test` replays.
# Leak detection is off: FoundationEssentials' FileManager.contents(atPath:) leaks its buffer on an empty file, which
# would end every run of the file-reading targets (Swift's own memory is reference-counted); ASAN_OPTIONS turns off
# the same check at exit, which would otherwise report that leak as a finding of a run that found nothing.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= fuzz-yaml fuzz-tokenizer fuzz-template fuzz-safetensors fuzz-gguf fuzz-request
FUZZ_BUILD   := .build-fuzz
fuzz: deps
	cd Fuzz && $(SWIFT) build -c debug -Xswiftc -sanitize=fuzzer,address --scratch-path ../$(FUZZ_BUILD)
	@set -e; for target in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$target Fuzz/Crashers/$$target; \
		echo "== $$target: $(FUZZ_SECONDS) s"; \
		ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no $(FUZZ_BUILD)/debug/$$target -max_total_time=$(FUZZ_SECONDS) -timeout=10 -detect_leaks=0 \
			-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix=Fuzz/Crashers/$$target/ \
			$(FUZZ_BUILD)/corpus/$$target Fuzz/Corpus/$$target; \
	done

clean:
	rm -rf .build .build-asan .build-tsan .build-fuzz
