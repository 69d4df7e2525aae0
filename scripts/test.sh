#!/usr/bin/env bash
# Sets up the machine and runs every test: pallet unit tests, the pallet benchmarks as
# tests, runtime tests, and the end-to-end tests that start real nodes on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "[test] the README's known-answer vectors, computed independently"
python3 scripts/vectors.py --check README.md

echo "[test] bridge contracts: compiled with solc, tested against ganache"
(cd contracts && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "[test] the independent VC-JOSE implementation the credential test runs against"
(cd tests/vc-interop && npm ci --no-audit --no-fund --loglevel=error)

echo "[test] the web console's libraries and its browser test's driver (puppeteer-core)"
(cd console && npm ci --no-audit --no-fund --loglevel=error)
echo "[test] building w3b-node (the end-to-end tests run it)"
scripts/build.sh

# The builds below with other features select more packages than they build: cargo
# unifies a dependency's features over the packages a command selects, so a command that
# selects only the runtime or the pallets resolves most of the node's stack with other
# features than scripts/build.sh did and compiles it again (cargo's unit graph: 258,
# 298 and 260 units), while selecting the node beside them (`--lib`: its binary is not
# built) leaves only what the feature itself changes (4, 43 and 45 units).
echo "[test] building the upgrade fixture: the runtime as its next spec version, which the"
echo "       runtime-upgrade test enacts through governance (its own WASM file)"
cargo build --workspace --lib --features w3b-runtime/upgrade-fixture --locked

echo "[test] the w3b command line's unit tests (its end-to-end test runs with the others)"
cargo test --manifest-path client/cli/Cargo.toml --target-dir "${CARGO_TARGET_DIR:-target}" --locked
echo "[test] unit, runtime and end-to-end tests"
cargo test --workspace --locked -- --nocapture

echo "[test] pallet benchmarks, run once each as tests"
pallets="validators projects operators commitments attestations bridge inbound did credentials governance"
SKIP_WASM_BUILD=1 cargo test --locked --lib -p w3b-node \
	$(for pallet in $pallets; do echo "-p pallet-$pallet --features pallet-$pallet/runtime-benchmarks"; done)

echo "[test] try-runtime: upgrade hooks, storage versions and invariants on a working chain"
SKIP_WASM_BUILD=1 cargo test --locked --lib -p w3b-node -p w3b-runtime --features w3b-runtime/try-runtime -- --nocapture

echo "[test] all tests passed"
