//! `w3b-node`: the W3bstream appchain node.
//!
//! A Substrate node that authors blocks with Aura and finalizes them with GRANDPA, for
//! the proof-of-authority validator set kept by `pallet-validators`.

#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
