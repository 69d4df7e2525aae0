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

echo "[test] building the upgrade fixture: the runtime as its next spec version, which the"
echo "       runtime-upgrade test enacts through governance (its own WASM file)"
cargo build -p w3b-runtime --features upgrade-fixture --locked

echo "[test] the w3b command line's unit tests (its end-to-end test runs with the others)"
cargo test --manifest-path client/cli/Cargo.toml --target-dir "${CARGO_TARGET_DIR:-target}" --locked
echo "[test] unit, runtime and end-to-end tests"
cargo test --workspace --locked -- --nocapture

echo "[test] pallet benchmarks, run once each as tests"
SKIP_WASM_BUILD=1 cargo test --features runtime-benchmarks --locked \
	-p pallet-validators -p pallet-projects -p pallet-operators -p pallet-commitments \
	-p pallet-attestations -p pallet-bridge -p pallet-inbound -p pallet-did -p pallet-credentials \
	-p pallet-governance

echo "[test] try-runtime: upgrade hooks, storage versions and invariants on a working chain"
SKIP_WASM_BUILD=1 cargo test -p w3b-runtime --features try-runtime --locked -- --nocapture

echo "[test] all tests passed"
