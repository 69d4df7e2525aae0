//! Identity for W3bstream: what resolvers, wallets and verifiers make of the `did:w3b`
//! DIDs the chain holds (`pallets/did`).
//!
//! - [`document`]: a DID's W3C DID document and the W3C DID Resolution result for it.
//! - [`credential`]: W3C VC 2.0 credentials secured with VC-JOSE, and Bitstring Status
//!   Lists.
//! - [`verify`]: verifying a credential against the chain (issuer key, anchor, status).

#![deny(missing_docs)]

pub mod credential;
pub mod document;
pub mod verify;

pub use document::{resolution, verification_method_id, Resolution};
