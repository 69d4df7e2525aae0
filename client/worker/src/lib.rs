//! The W3bstream worker's building blocks. So far: sealing a project's stored messages
//! into a batch whose header goes on chain, and loading a committed batch's body back,
//! checked against its commitment ([`seal`]). The node will drive them from block
//! imports, run the engine over loaded bodies and attest (issue 6).

#![deny(missing_docs)]

pub mod seal;

pub use seal::{load_body, seal_batch, BatchBody, SealError, SealedBatch};
