#!/usr/bin/env bash
# Sets up the machine, builds w3b-node, and starts a four-validator local network
# (Alice, Bob, Charlie, Dave) on 127.0.0.1, printing best and finalized blocks and
# peer counts every block until Ctrl-C.
#
#   Alice:   RPC 9944, p2p 30333, Prometheus 9615, web console http://127.0.0.1:8090
#   Bob:     RPC 9945, p2p 30334, Prometheus 9616   (and so on)
#
# Environment:
#   W3B_NET_DIR   where the nodes keep their databases and logs (default /tmp/w3b-local-net;
#                 wiped at start, so every run is a fresh chain)
#   DURATION      stop after this many seconds (default: run until Ctrl-C)
#   W3B_PROFILE   debug (default) or release: which build of w3b-node runs
#   W3B_NODE_ARGS more arguments for every node (split on spaces)
#   W3B_SKIP_SETUP  set when the caller already ran setup.sh and built w3b-node
#
# `scripts/local-net.sh --ports-free` only checks that no local network runs (exit 1,
# saying so, if one does): demo.sh asks before it builds or writes anything.
set -euo pipefail
cd "$(dirname "$0")/.."

# One local network per machine: its ports are fixed, and a running one's directory must
# not be wiped under it (bench-e2e.sh and demo.sh run one too).
ports_free() {
	for port in 9944 9945 9946 9947 30333 30334 30335 30336; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "[local-net] 127.0.0.1:$port is in use: is another local network (scripts/demo.sh, scripts/bench-e2e.sh) running? Stop it first." >&2
			return 1
		fi
	done
}
if [ "${1:-}" = --ports-free ]; then
	ports_free
	exit
fi

profile=${W3B_PROFILE:-debug}
if [ -z "${W3B_SKIP_SETUP:-}" ]; then
	scripts/setup.sh
	echo "[local-net] building w3b-node and w3b ($profile)"
	scripts/build.sh $([ "$profile" = release ] && echo --release)
	if [ ! -f console/vendor/polkadot.js ]; then
		echo "[local-net] installing the web console's libraries"
		(cd console && npm ci --no-audit --no-fund --loglevel=error)
	fi
fi
target_dir=${CARGO_TARGET_DIR:-target}
node="$target_dir/$profile/w3b-node"

ports_free
net_dir=${W3B_NET_DIR:-/tmp/w3b-local-net}
rm -rf "$net_dir"
mkdir -p "$net_dir"

validators=(alice bob charlie dave)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	echo "[local-net] stopped; logs are in $net_dir"
}
trap cleanup EXIT
# Stopped by a signal: clean up and end quietly (no more status lines).
trap 'exit 0' INT TERM

# Validators need a persistent libp2p key; these are fixed (0x..01 for Alice, 0x..02
# for Bob, ...) so that Alice's peer id, the others' bootnode, is known in advance.
node_key() { printf '%064x' "$(($1 + 1))"; }
node_key 0 >"$net_dir/alice.key"
alice_peer=$("$node" key inspect-node-key --file "$net_dir/alice.key")

for i in "${!validators[@]}"; do
	name=${validators[$i]}
	args=(--"$name" --chain local --base-path "$net_dir/$name"
		--rpc-port $((9944 + i)) --prometheus-port $((9615 + i))
		--w3b-http-port $((8080 + i)) --w3b-mqtt-port $((1883 + i))
		--listen-addr "/ip4/127.0.0.1/tcp/$((30333 + i))"
		--node-key "$(node_key "$i")" --no-mdns --no-telemetry)
	# shellcheck disable=SC2206 # split on purpose
	args+=(${W3B_NODE_ARGS:-})
	if [ "$name" != alice ]; then
		args+=(--bootnodes "/ip4/127.0.0.1/tcp/30333/p2p/$alice_peer")
	elif [ -f console/vendor/polkadot.js ]; then
		args+=(--w3b-console-port 8090)
	fi
	"$node" "${args[@]}" >"$net_dir/$name.log" 2>&1 &
	pids+=($!)
	echo "[local-net] started $name (pid $!, rpc 127.0.0.1:$((9944 + i)), log $net_dir/$name.log)"
done

rpc() { # port method [params]
	curl -s -m 2 -H 'Content-Type: application/json' \
		-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":${3:-[]}}" \
		"http://127.0.0.1:$1" || true
}
block_number() { # JSON header -> decimal number
	local hex
	hex=$(sed -n 's/.*"number":"0x\([0-9a-fA-F]*\)".*/\1/p' <<<"$1")
	[ -n "$hex" ] && echo $((16#$hex)) || echo "-"
}

start=$(date +%s)
echo "[local-net] waiting for the nodes to start (the first start compiles the runtime)..."
while :; do
	line="[local-net] $(date +%T)"
	for i in "${!validators[@]}"; do
		port=$((9944 + i))
		best=$(block_number "$(rpc $port chain_getHeader)")
		fin_hash=$(sed -n 's/.*"result":"\(0x[0-9a-f]*\)".*/\1/p' <<<"$(rpc $port chain_getFinalizedHead)")
		fin="-"
		[ -n "$fin_hash" ] && fin=$(block_number "$(rpc $port chain_getHeader "[\"$fin_hash\"]")")
		peers=$(sed -n 's/.*"peers":\([0-9]*\).*/\1/p' <<<"$(rpc $port system_health)")
		line+=" | ${validators[$i]} best #$best fin #$fin peers ${peers:--}"
	done
	echo "$line"
	for pid in "${pids[@]}"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "[local-net] a node exited; see the logs in $net_dir" >&2
			exit 1
		fi
	done
	if [ -n "${DURATION:-}" ] && [ $(($(date +%s) - start)) -ge "$DURATION" ]; then
		exit 0
	fi
	sleep 3
done
