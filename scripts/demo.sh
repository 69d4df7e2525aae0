#!/usr/bin/env bash
# The W3bstream demo: sets up the machine, builds w3b-node, starts the four-validator
# local network (scripts/local-net.sh) with workers, then runs w3b-demo against it:
# a project with the JSON threshold-alert applet, Alice, Bob, Charlie and Dave as its
# operators, simulated devices publishing signed readings over MQTT (to Alice and
# Charlie) and HTTP (to Bob and Dave), and a live line of messages in, batches
# committed, proofs finalized and latency, until DURATION seconds of publishing and the
# last proofs are final. The alerts then go on to an EVM chain: ganache (IoTeX
# testnet's chain id 4690) with the bridge contract deployed by `w3b-node bridge
# deploy`, a receiver contract per project and `w3b-node bridge relay` delivering to
# them; the live line counts the deliveries. Prints a summary; everything stops at the
# end.
#
# Environment:
#   DURATION  seconds of publishing (default 60)
#   RATE      messages per second, all devices together (default 100)
#   DEVICES   simulated devices (default 20)
#   PROJECTS  projects (default 1); more than one makes it a load test of the chain:
#             each project has one operator (the validators in turn), its devices
#             publish to that node, and the summary says how full blocks were. With
#             W3B_NODE_ARGS="--w3b-seal-interval-ms 3000" each busy project commits once
#             a block per operator.
#   W3B_NET_DIR  where the nodes keep their data and logs (default /tmp/w3b-local-net)
#   W3B_PROFILE  debug (default) or release: which build of w3b-node runs
#   BRIDGE    on (default) or off: the EVM side (ganache, bridge, relayer)
set -euo pipefail
cd "$(dirname "$0")/.."
# Before anything is built or written: a second demo beside a running one would
# overwrite its status file and say it stopped a network it never started.
scripts/local-net.sh --ports-free

scripts/setup.sh
target_dir=${CARGO_TARGET_DIR:-target}
profile=${W3B_PROFILE:-debug}
export W3B_PROFILE=$profile
echo "[demo] building w3b-node ($profile), w3b-demo and the example applet"
scripts/build.sh $([ "$profile" = release ] && echo --release)
# From sdk/, whose .cargo/config.toml gives applets their stack size.
applets_target=$(realpath -m "$target_dir/applets")
(cd sdk && cargo build --release --locked --target wasm32-unknown-unknown -p applet-alert \
	--target-dir "$applets_target")
applet="$target_dir/applets/wasm32-unknown-unknown/release/applet_alert.wasm"
# The EVM side runs ganache from the contracts' npm packages.
bridge=${BRIDGE:-on}
if [ "$bridge" = on ]; then
	(cd contracts && npm ci --no-audit --no-fund --loglevel=error)
fi
# w3b-demo runs `w3b-node bridge deploy|relay` with the build just made.
export W3B_NODE="$target_dir/$profile/w3b-node"

net_dir=${W3B_NET_DIR:-/tmp/w3b-local-net}
export W3B_NET_DIR=$net_dir
# local-net.sh wipes its directory, so its own output goes next to it.
net_out="$net_dir.out"
DURATION= W3B_SKIP_SETUP=1 scripts/local-net.sh >"$net_out" 2>&1 &
net_pid=$!
cleanup() {
	kill "$net_pid" 2>/dev/null || true
	wait "$net_pid" 2>/dev/null || true
	echo "[demo] network stopped; node logs are in $net_dir, its status lines in $net_out"
}
trap cleanup EXIT INT TERM

echo "[demo] starting the local network (logs in $net_dir), waiting for finality..."
# A loaded machine may take minutes to start four debug nodes; past 5 minutes, stop
# and say so rather than run the demo against a network that is not there.
ready=no
for _ in $(seq 1 300); do
	if ! kill -0 "$net_pid" 2>/dev/null; then
		cat "$net_out" >&2
		echo "[demo] the local network failed to start" >&2
		exit 1
	fi
	line=$(tail -n 1 "$net_out")
	# Every validator reports a finalized block above #1.
	if [ "$(grep -o 'fin #[0-9]*' <<<"$line" | awk '{sub("#","",$2); if ($2 > 1) n++} END {print n+0}')" = 4 ]; then
		ready=yes
		break
	fi
	sleep 1
done
tail -n 1 "$net_out"
if [ "$ready" != yes ]; then
	echo "[demo] the validators did not all finalize a block within 5 minutes; their logs are in $net_dir" >&2
	exit 1
fi

"$target_dir/$profile/w3b-demo" --applet "$applet" --rpc 9944 \
	--mqtt 1883,1885 --http 8081,8083 \
	--devices "${DEVICES:-20}" --rate "${RATE:-100}" --duration "${DURATION:-60}" \
	--projects "${PROJECTS:-1}" --bridge "$bridge" --bridge-dir "$net_dir.bridge"
