#!/usr/bin/env bash
# Regenerates chain-spec/local.json from the runtime's `local` genesis preset.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
"${CARGO_TARGET_DIR:-target}/debug/w3b-node" build-spec --chain local --disable-default-bootnode \
	>chain-spec/local.json
echo "wrote chain-spec/local.json"
