# weft — the two commands a newcomer types: `make run` and `make test`.
# Each target first runs scripts/bootstrap, which installs missing Debian
# packages (or prints the command to do it).
JOBS   ?= $(shell nproc)
PREFIX ?= /usr/local
BUILD  ?= build

.PHONY: all run test bench install bootstrap build clean

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The showcase: every module on built-in data, per seed concept.
run: build
	./$(BUILD)/weft tour

# The whole suite three times: normal, ThreadSanitizer, AddressSanitizer+UBSan.
test: bootstrap
	@scripts/test-all

# Benchmarks: weft and its peers (oneTBB, OpenMP, Python) side by side.
bench: build
	./$(BUILD)/weft bench pool

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build build-tsan build-asan
