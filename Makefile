# Thin wrappers around the npm scripts, plus the C splice shim's native and cross builds.
.PHONY: all build test test-unit test-e2e run check clean bench native native-test native-cross packages

all: build

node_modules: package.json package-lock.json
	npm ci
	@touch node_modules

build: node_modules
	npm run build

test: node_modules
	npm test

test-unit: node_modules
	npm run test:unit

test-e2e: node_modules
	npm run test:e2e

bench: node_modules
	npm run bench

run: build
	node dist/ugate.js run $(if $(CONFIG),-c $(CONFIG))

# ---- OpenWrt packages without the SDK (openwrt/package.mjs) ----
# TJS_DIR/<arch>/tjs: txiki.js for each router arch; APK: apk-tools 3 (for apk mkpkg).
TJS_DIR ?=
APK ?= apk
packages: build
	@[ -n "$(TJS_DIR)" ] || { echo "make packages: set TJS_DIR=<dir> (<dir>/<arch>/tjs for each arch)" >&2; exit 2; }
	node openwrt/package.mjs --tjs-dir "$(TJS_DIR)" --apk "$(APK)" $(foreach a,$(ARCH),--arch $(a))

# ---- the splice shim (src/native) ----
# Warnings are errors on every libc and architecture we ship for.
CC ?= cc
NATIVE_CFLAGS = -std=c11 -O2 -Wall -Wextra -Werror -pthread
SHIM = src/native/ugate_splice.c
SHIM_DEPS = $(SHIM) src/native/ugate_splice.h
SHIM_TEST = test/native/splice_test.c
OUT = build/native
# C test arguments: MiB moved each way in the bulk test, pairs in the many-pairs test
TEST_ARGS ?= 64 500

native: dist/libugate_splice.so

dist/libugate_splice.so: $(SHIM_DEPS)
	@mkdir -p dist
	$(CC) $(NATIVE_CFLAGS) -fPIC -shared -o $@ $(SHIM)

# Host: glibc, and musl when musl-gcc is installed (OpenWRT's libc).
native-test: $(SHIM_DEPS) $(SHIM_TEST)
	@mkdir -p $(OUT)/host
	$(CC) $(NATIVE_CFLAGS) -o $(OUT)/host/splice_test $(SHIM_TEST) $(SHIM)
	$(OUT)/host/splice_test $(TEST_ARGS)
	@if command -v musl-gcc >/dev/null; then \
	  set -e; mkdir -p $(OUT)/musl; \
	  echo "musl-gcc $(NATIVE_CFLAGS) -static ..."; \
	  musl-gcc $(NATIVE_CFLAGS) -fPIC -shared -o $(OUT)/musl/libugate_splice.so $(SHIM); \
	  musl-gcc $(NATIVE_CFLAGS) -static -o $(OUT)/musl/splice_test $(SHIM_TEST) $(SHIM); \
	  $(OUT)/musl/splice_test $(TEST_ARGS); \
	else echo "musl-gcc not installed: musl build skipped"; fi

# Router architectures: Debian cross compiler triplet and qemu-user binary for each.
CROSS = mipsel:mipsel-linux-gnu mips:mips-linux-gnu arm:arm-linux-gnueabihf aarch64:aarch64-linux-gnu

# Builds the shared library and the static C test for each, and runs the test under qemu-user.
native-cross: $(SHIM_DEPS) $(SHIM_TEST)
	@set -e; for pair in $(CROSS); do \
	  arch=$${pair%%:*}; triplet=$${pair#*:}; dir=$(OUT)/$$arch; mkdir -p $$dir; \
	  echo "== $$arch ($$triplet-gcc, qemu-$$arch)"; \
	  $$triplet-gcc $(NATIVE_CFLAGS) -fPIC -shared -o $$dir/libugate_splice.so $(SHIM); \
	  $$triplet-gcc $(NATIVE_CFLAGS) -static -o $$dir/splice_test $(SHIM_TEST) $(SHIM); \
	  qemu-$$arch $$dir/splice_test $(TEST_ARGS); \
	done

clean:
	rm -rf dist build
