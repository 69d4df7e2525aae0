#!/usr/bin/env bash
# Builds the node (`w3b-node`) and the demo driver (`w3b-demo`), debug unless given
# `--release`. Every script builds through here, with the whole workspace selected:
# cargo unifies features over the packages a command selects, so a build of fewer
# packages compiles much of the node's stack with other features, and the tests
# (`cargo test --workspace`) would then build it all again instead of reusing it.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
-h | --help)
	echo "usage: scripts/build.sh [--release] [other cargo build options]"
	echo "Builds w3b-node and w3b-demo into \${CARGO_TARGET_DIR:-target}/{debug,release}/."
	exit 0
	;;
esac
exec cargo build --workspace --bin w3b-node --bin w3b-demo --locked "$@"
