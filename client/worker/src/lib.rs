//! The W3bstream worker's building blocks. So far: sealing a project's stored messages
//! into a batch whose header goes on chain, and loading a committed batch's body back,
//! checked against its commitment ([`seal`]); a project's key-value state that advances
//! only with finalized proofs and rolls back on expiry ([`state`]); executing a batch on
//! that state ([`execute`]). The node will drive them from block imports and attest
//! (issue 6).

#![deny(missing_docs)]

pub mod execute;
pub mod seal;
pub mod state;

pub use seal::{load_body, seal_batch, BatchBody, SealError, SealedBatch};
pub use state::ProjectState;
