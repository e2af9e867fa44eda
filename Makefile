# Thin wrappers around the npm scripts.
.PHONY: all build test test-unit test-e2e run check clean

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

run: build
	node dist/ugate.js run $(if $(CONFIG),-c $(CONFIG))

clean:
	rm -rf dist
