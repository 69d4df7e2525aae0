//! Identity for W3bstream: what resolvers, wallets and verifiers make of the `did:w3b`
//! DIDs the chain holds (`pallets/did`).
//!
//! - [`document`]: a DID's W3C DID document and the W3C DID Resolution result for it.

#![deny(missing_docs)]

pub mod document;

pub use document::{resolution, verification_method_id, Resolution};
