#!/bin/sh
# Backs up a w3b-node's secrets and W3bstream data into TARGET_DIR, with a timestamp:
#
#   w3b-keys-<host>-<UTC time>.tar.gz   the keystore(s) and the node key (secret!)
#   w3b-data-<host>-<UTC time>.tar.gz   BASE/w3b: message store, batch bodies (VFS),
#                                       project states and SQL databases, transaction journal
#
# Usage:  backup.sh [--stop-node] TARGET_DIR
#
# The keys are copied whether the node runs or not: keystore files and the node key do
# not change while it runs.
#
# BASE/w3b is consistent only when copied with the node stopped (or from a file-system
# snapshot taken at one instant, which is a crash image the store recovers from). A tar
# that walks the files while the node writes them can pair files from different moments.
# So:
#   - if the node is stopped, BASE/w3b is copied;
#   - if it runs and --stop-node is given, the script stops it (systemctl stop), copies
#     BASE/w3b and starts it again (a minute of downtime is harmless: see
#     docs/operators-guide.md, "Backups");
#   - if it runs without --stop-node, BASE/w3b is NOT copied, the script says so and
#     exits with status 3 (the keys were saved), so that a cron job notices.
#
# The chain database (BASE/chains/<id>/paritydb) is never copied: resync it from peers.
#
# Environment:
#   W3B_BASE_PATH      the node's --base-path (default /var/lib/w3b-node)
#   W3B_SERVICE        its systemd unit (default w3b-node), the one that runs with
#                      W3B_BASE_PATH
#   W3B_NODE_KEY_FILE  the node key, if the node runs with --node-key-file outside the
#                      base path (by default BASE/chains/*/network/secret_ed25519 is saved)
#
# "The node runs" means: the unit is active, or a process has files of this base path
# open (a node holds BASE/chains/<id>/paritydb/full/lock and, with the embedded store,
# BASE/w3b/messages/messages.log), or a w3b-node was started with --base-path BASE (or -d).
# Other w3b-node processes (`bridge relay`, `governance ...`, a node of another base path)
# do not count.
#
# Restore (deploy/README.md, "Backups"): stop the node, move BASE/w3b aside, then
#   tar -xzf w3b-keys-....tar.gz -C BASE chains && tar -xzf w3b-data-....tar.gz -C BASE
# and chown -R w3b:w3b BASE. A W3B_NODE_KEY_FILE is stored under its absolute path without
# the leading / (e.g. etc/w3b-node/node-key): restore it with
#   tar -xzf w3b-keys-....tar.gz -C / etc/w3b-node/node-key
#
# Run as root (the base path is private to the w3b user, and other users' open files are
# visible to root only). The archives are created with mode 0600; keep the keys archive
# as safe as the keys themselves.
set -eu

BASE=${W3B_BASE_PATH:-/var/lib/w3b-node}
SERVICE=${W3B_SERVICE:-w3b-node}
NODE_KEY_FILE=${W3B_NODE_KEY_FILE:-}

usage() {
	echo "usage: $0 [--stop-node] TARGET_DIR" >&2
	echo "  saves the keystore and node key, and (with the node stopped) $BASE/w3b" >&2
	exit 2
}

stop_node=no
if [ "${1:-}" = "--stop-node" ]; then
	stop_node=yes
	shift
fi
[ $# -eq 1 ] || usage
case "$1" in -*) usage ;; esac
target=$1
[ -n "$target" ] || usage
if [ ! -d "$target" ]; then
	echo "backup.sh: $target is not a directory (create it first)" >&2
	exit 2
fi
target=$(cd "$target" && pwd)
if [ ! -d "$BASE" ]; then
	echo "backup.sh: no base path $BASE (set W3B_BASE_PATH)" >&2
	exit 1
fi
# The base path as /proc/PID/fd links name it: absolute, symbolic links resolved.
base_real=$(cd "$BASE" && pwd -P)

umask 077
stamp=$(date -u +%Y%m%dT%H%M%SZ)
host=$(uname -n)
keys_archive="$target/w3b-keys-$host-$stamp.tar.gz"
data_archive="$target/w3b-data-$host-$stamp.tar.gz"
if [ -e "$keys_archive" ] || [ -e "$data_archive" ]; then
	echo "backup.sh: $keys_archive or $data_archive exists already: try again in a second" >&2
	exit 1
fi
tmp=""
restart=no

cleanup() {
	if [ -n "$tmp" ]; then rm -f "$tmp"; fi
	if [ "$restart" = yes ]; then
		restart=no
		if systemctl start "$SERVICE"; then
			echo "started $SERVICE again"
		else
			echo "backup.sh: FAILED to start $SERVICE again: start it by hand" >&2
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Whether a process has a file under BASE/chains or BASE/w3b open: the node of this base
# path, whatever its command line (`ls` only reads the links; nothing is signalled).
base_files_open() {
	# shellcheck disable=SC2012
	ls -l /proc/[0-9]*/fd/ 2>/dev/null |
		grep -q -F -e " -> $base_real/chains/" -e " -> $base_real/w3b/"
}

# Whether a w3b-node runs with --base-path BASE (or -d BASE), as given or resolved.
base_path_argument() {
	command -v pgrep >/dev/null 2>&1 || return 1
	for path in "$BASE" "$base_real"; do
		# BASE as an extended regular expression that matches only itself.
		path_re=$(printf '%s\n' "${path%/}" | sed 's/[][\\.*^$+?(){}|]/\\&/g')
		if pgrep -f -- "w3b-node .*(--base-path[ =]|-d )$path_re/?( |\$)" >/dev/null 2>&1; then
			return 0
		fi
	done
	return 1
}

node_running() {
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$SERVICE" 2>/dev/null; then
		return 0
	fi
	base_files_open || base_path_argument
}

# Prints an archive's name, size, checksum and contents.
report() {
	echo "saved $1 ($(du -h "$1" | cut -f1))"
	if command -v sha256sum >/dev/null 2>&1; then
		echo "  sha256 $(sha256sum "$1" | cut -d' ' -f1)"
	fi
	shift
	for path in "$@"; do echo "  $path"; done
}

# --- keys: keystore(s) and node key, relative to the base path -------------------------
cd "$BASE"
set --
for dir in chains/*/keystore; do
	if [ -d "$dir" ]; then set -- "$@" "$dir"; fi
done
for file in chains/*/network/secret_ed25519; do
	if [ -f "$file" ]; then set -- "$@" "$file"; fi
done
if [ $# -eq 0 ] && [ -z "$NODE_KEY_FILE" ]; then
	echo "backup.sh: no keystore and no node key under $BASE/chains: is W3B_BASE_PATH right?" >&2
	exit 1
fi
extra=""
if [ -n "$NODE_KEY_FILE" ]; then
	if [ ! -f "$NODE_KEY_FILE" ]; then
		echo "backup.sh: W3B_NODE_KEY_FILE $NODE_KEY_FILE is not a file" >&2
		exit 1
	fi
	case "$NODE_KEY_FILE" in
		/*) extra=${NODE_KEY_FILE#/} ;;
		*) echo "backup.sh: W3B_NODE_KEY_FILE must be an absolute path" >&2; exit 1 ;;
	esac
fi
tmp="$keys_archive.partial"
if [ -n "$extra" ]; then
	tar -czf "$tmp" -C "$BASE" "$@" -C / "$extra"
else
	tar -czf "$tmp" -C "$BASE" "$@"
fi
mv "$tmp" "$keys_archive"
tmp=""
if [ -n "$extra" ]; then
	report "$keys_archive" "$@" "/$extra"
else
	report "$keys_archive" "$@"
fi

# --- W3bstream data: BASE/w3b, only with the node stopped ------------------------------
if [ ! -d "$BASE/w3b" ]; then
	echo "no $BASE/w3b: nothing of W3bstream to save (has this node run yet?)"
	exit 0
fi
if node_running; then
	if [ "$stop_node" = no ]; then
		echo "NOT saved: $BASE/w3b (the node is running, or a process has its files open; a copy now would not be consistent)." >&2
		echo "  Run again with --stop-node, or: systemctl stop $SERVICE && $0 $target && systemctl start $SERVICE" >&2
		echo "  (or copy it from a file-system snapshot of $BASE)" >&2
		exit 3
	fi
	if ! command -v systemctl >/dev/null 2>&1 || ! systemctl is-active --quiet "$SERVICE" 2>/dev/null; then
		echo "backup.sh: a process outside the $SERVICE unit uses $BASE (a w3b-node started by hand?): stop it yourself first" >&2
		exit 1
	fi
	echo "stopping $SERVICE for the copy of $BASE/w3b"
	restart=yes
	systemctl stop "$SERVICE"
	if node_running; then
		echo "backup.sh: $BASE is still in use after stopping $SERVICE (another w3b-node on it?)" >&2
		exit 1
	fi
fi
tmp="$data_archive.partial"
tar -czf "$tmp" -C "$BASE" w3b
mv "$tmp" "$data_archive"
tmp=""
cleanup
set --
for entry in "$BASE"/w3b/*; do
	if [ -e "$entry" ]; then set -- "$@" "w3b/${entry##*/}"; fi
done
report "$data_archive" "$@"
if [ ! -d "$BASE/w3b/messages" ]; then
	echo "  (no w3b/messages: with --w3b-store postgres://..., back the messages up with pg_dump)"
fi
