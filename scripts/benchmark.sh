#!/usr/bin/env bash
# Runs the benchmarks of our pallets in the runtime and regenerates their weights.rs:
# all of them, or those named (`scripts/benchmark.sh commitments attestations`).
# Builds w3b-node with the runtime-benchmarks feature (frame-benchmarking-cli and its
# dependencies are only compiled for this).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build -p w3b-node --features runtime-benchmarks --locked
target_dir=${CARGO_TARGET_DIR:-target}
node="$target_dir/debug/w3b-node"
runtime="$target_dir/debug/wbuild/w3b-runtime/w3b_runtime.wasm"
pallets=("$@")
[ ${#pallets[@]} -eq 0 ] && pallets=(validators projects operators commitments attestations bridge inbound did credentials governance)
for pallet in "${pallets[@]}"; do
	echo "[benchmark] pallet_$pallet"
	"$node" benchmark pallet --runtime "$runtime" --genesis-builder runtime \
		--genesis-builder-preset dev --pallet "pallet_$pallet" --extrinsic '*' \
		--steps 50 --repeat 20 --wasm-execution compiled \
		--template scripts/weight-template.hbs --header scripts/weight-header.txt \
		--output "pallets/$pallet/src/weights.rs"
done

# Both builds of the runtime write the same file under wbuild/, so the benchmark
# runtime would now end up in the next plain build of w3b-node. Rebuild the plain
# runtime (FORCE_WASM_BUILD must change on every use).
echo "[benchmark] restoring the runtime without benchmarks"
FORCE_WASM_BUILD=$(date +%s) scripts/build.sh
