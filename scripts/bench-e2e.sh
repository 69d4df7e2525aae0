#!/usr/bin/env bash
# End-to-end benchmark: runs scripts/demo.sh (four validators with workers, devices over
# MQTT and HTTP) at RATE messages per second for DURATION seconds and prints, besides
# the demo's summary (sustained rate through the whole pipeline, publish -> final proof
# latency p50/p99), every validator's resident memory and the disk its W3bstream data
# takes (message log, batch bodies, project state; the demo keeps data 120 s) sampled
# every 30 seconds, so that growth over the run shows.
#
# Environment: RATE (default 2000), DURATION (default 900), DEVICES (default 40),
# W3B_PROFILE (default release: the first run builds an optimised node, which takes a
# while), and what scripts/demo.sh takes.
set -euo pipefail
cd "$(dirname "$0")/.."

# Figures are for the optimised node unless W3B_PROFILE=debug says otherwise.
# 15 minutes: at 2,000 msg/s ParityDB applies its first 64 MiB log after about 14, and
# the memory that log held in the meantime is let go.
export RATE=${RATE:-2000} DURATION=${DURATION:-900} DEVICES=${DEVICES:-40}
export W3B_PROFILE=${W3B_PROFILE:-release}
# A 64 MiB state cache instead of the default 1 GiB, so that a validator's memory has
# a ceiling this machine reaches within the run.
export W3B_NODE_ARGS=${W3B_NODE_ARGS:---trie-cache-size 67108864}
net_dir=${W3B_NET_DIR:-/tmp/w3b-local-net}
rss_log="$net_dir.rss"
: >"$rss_log"
echo "[bench] ${RATE} msgs/s from ${DEVICES} devices for ${DURATION}s; RSS and disk samples in $rss_log"

scripts/demo.sh &
demo_pid=$!
sample() {
	local pids line
	pids=$(grep -o 'started [a-z]* (pid [0-9]*' "$net_dir.out" 2>/dev/null | awk '{print $2 "=" $4}' || true)
	[ -z "$pids" ] && return
	line="$(date +%T)"
	for entry in $pids; do
		local name=${entry%=*} pid=${entry#*=} rss
		# Resident total and its anonymous part (heap): the rest is mapped files (the
		# database's memory-mapped index, the page cache of the VFS), which the kernel
		# reclaims under pressure.
		rss=$(awk '/VmRSS/ {t=$2} /RssAnon/ {a=$2} END {print t "kB(anon " a "kB)"}' \
			"/proc/$pid/status" 2>/dev/null || echo "-")
		disk=$(du -sk "$net_dir/$name/w3b" 2>/dev/null | cut -f1 || echo "-")
		line+=" $name=$rss,disk=${disk}kB"
	done
	echo "$line" >>"$rss_log"
}
while kill -0 "$demo_pid" 2>/dev/null; do
	sample
	for _ in $(seq 1 30); do
		kill -0 "$demo_pid" 2>/dev/null || break
		sleep 1
	done
done
status=0
wait "$demo_pid" || status=$?
echo "[bench] validator RSS and W3bstream disk over the run (first, middle, last sample):"
lines=$(wc -l <"$rss_log")
if [ "$lines" -gt 0 ]; then
	sed -n "1p;$(((lines + 1) / 2))p;${lines}p" "$rss_log" | sed 's/^/[bench]   /'
fi
exit "$status"
