//! `w3b-node`: the W3bstream appchain node.
//!
//! A Substrate node that authors blocks with Aura and finalizes them with GRANDPA, for
//! the proof-of-authority validator set kept by `pallet-validators`.

#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
// sc-cli's and sc-service's error types are large by design; every command returns them.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
mod ingest;
mod rpc;
mod service;
mod worker;

fn main() -> sc_cli::Result<()> {
	command::run()
}
