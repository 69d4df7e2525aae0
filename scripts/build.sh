#!/usr/bin/env bash
# Builds the node (`w3b-node`), the demo driver (`w3b-demo`) and the command line
# (`w3b`), debug unless given `--release`. Every script builds through here, with the
# whole workspace selected: cargo unifies features over the packages a command selects,
# so a build of fewer packages compiles much of the node's stack with other features,
# and the tests (`cargo test --workspace`) would then build it all again instead of
# reusing it.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
-h | --help)
	echo "usage: scripts/build.sh [--release] [other cargo build options]"
	echo "Builds w3b-node, w3b-demo and the w3b command line into \${CARGO_TARGET_DIR:-target}/{debug,release}/."
	exit 0
	;;
esac
cargo build --workspace --bin w3b-node --bin w3b-demo --locked "$@"
# The command line is a workspace of its own (client/cli/Cargo.toml says why), built
# into the same target directory, next to w3b-node.
cargo build --manifest-path client/cli/Cargo.toml --target-dir "${CARGO_TARGET_DIR:-target}" --locked "$@"
