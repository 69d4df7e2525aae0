//! The W3bstream worker's building blocks, free of the node: sealing a project's stored
//! messages into a batch whose header goes on chain ([`seal`]); judging which messages
//! of a committed batch count ([`verify`]); a project's state that advances only with
//! finalized proofs and rolls back on expiry ([`state`]), and its SQL database with the
//! same life ([`sql`]); executing a batch on that state ([`execute`]); files a crash leaves whole
//! ([`durable`]). The node drives them from block imports (`node/src/worker`).

#![deny(missing_docs)]

pub mod durable;
pub mod execute;
pub mod seal;
pub mod sql;
pub mod state;
pub mod verify;

pub use seal::{seal_batch, BatchLimits, SealError, SealedBatch};
pub use state::ProjectState;
