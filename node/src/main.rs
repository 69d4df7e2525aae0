//! `w3b-node`: the W3bstream appchain node.
//!
//! A Substrate node that authors blocks with Aura and finalizes them with GRANDPA, for
//! the proof-of-authority validator set kept by `pallet-validators`.

#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
// sc-cli's and sc-service's error types are large by design; every command returns them.
#![allow(clippy::result_large_err)]

mod bridge;
mod chain_rpc;
mod chain_spec;
mod cli;
mod client;
mod command;
mod console;
mod governance;
mod identity;
mod ingest;
mod rpc;
mod service;
mod wallet;
mod worker;

// The upgrade fixture is the runtime's next spec version for the upgrade test (built on
// its own with `--features upgrade-fixture`); a node embedding it would start every new
// chain on a version it never released.
const _: () = assert!(
	!w3b_runtime::UPGRADE_FIXTURE,
	"w3b-node was built with w3b-runtime's upgrade-fixture feature (--all-features?)"
);

// jemalloc instead of glibc's malloc: a validator's many threads (network, import,
// ingestion, the worker, wasmtime) each get a glibc arena that keeps freed memory, so
// its resident size kept rising under load with a live heap that did not (measured in
// scripts/bench-e2e.sh: 65 MB less resident after 5 minutes at 2,000 msg/s).
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> sc_cli::Result<()> {
	command::run()
}
