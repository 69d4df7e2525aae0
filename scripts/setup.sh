#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test the W3bstream appchain, and
# nothing else. Safe to run again: every step checks first.
set -euo pipefail

log() { printf '[setup] %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		echo "[setup] need root to run: $*" >&2
		exit 1
	fi
}

# Debian packages: protoc (libp2p's build), clang + mold (the linker set in
# .cargo/config.toml; clang++ also compiles binaryen's C++, faster than g++), curl
# (scripts talk JSON-RPC with it), Node.js + npm (the engine's tests compile
# AssemblyScript applets with W3bstream's npm SDK).
missing=()
command -v protoc >/dev/null || missing+=(protobuf-compiler)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# mosquitto: the external MQTT broker the ingestion tests and benchmark run against.
command -v mosquitto >/dev/null || missing+=(mosquitto)
# PostgreSQL: the message store's relational backend, tested against a real server.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v clang >/dev/null || missing+=(clang)
command -v mold >/dev/null || missing+=(mold)
command -v curl >/dev/null || missing+=(curl)
# OpenSSL's headers: libp2p's WebRTC transport links the system's OpenSSL
# (.cargo/config.toml sets OPENSSL_NO_VENDOR) rather than building it from source.
command -v pkg-config >/dev/null || missing+=(pkg-config)
[ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
# Chromium: the web console's tests drive it headless.
command -v chromium >/dev/null || missing+=(chromium)
# Python's cryptography: scripts/vectors.py computes the README's ed25519 vectors with it.
python3 -c 'import cryptography' 2>/dev/null || missing+=(python3-cryptography)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v rustup >/dev/null; then
	echo "[setup] rustup is required: see https://rustup.rs" >&2
	exit 1
fi

# The runtime is compiled to WASM for wasm32v1-none (rust-src lets the WASM builder
# build core and alloc for it); applets for wasm32-unknown-unknown and wasm32-wasip1.
installed_targets=$(rustup target list --installed)
for target in wasm32v1-none wasm32-unknown-unknown wasm32-wasip1; do
	if ! grep -qx "$target" <<<"$installed_targets"; then
		log "adding rust target $target"
		rustup target add "$target" >/dev/null
	fi
done
if ! rustup component list --installed | grep -q '^rust-src'; then
	log "adding rust-src"
	rustup component add rust-src >/dev/null
fi
log "ready"
