//! Types shared by the W3bstream runtime and its node-side crates.
//!
//! This crate is `no_std` so that the runtime (compiled to WASM) and the node's
//! client crates agree on one definition of every id, key and digest.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod api;
pub mod batch;
pub mod bridge;
pub mod code;
pub mod credential;
pub mod device;
pub mod did;
pub mod inbound;
pub mod merkle;
pub mod message;
pub mod operator;
pub mod project;
pub mod proof;
pub mod traits;
pub mod validity;

pub use api::AppletId;
pub use batch::{BatchHeader, Cid, ResultDigest};
pub use device::{DeviceKey, DeviceSignature};
pub use message::Message;
pub use operator::OperatorInfo;
pub use project::{Applet, CodeInfo, DeviceRecord, ProjectConfig, ProjectInfo, ProjectStatus};
pub use proof::{Commitment, Proof, ProofStatus};

/// Id of a project, assigned by `pallets/projects` in creation order.
pub type ProjectId = u64;

/// Id of a device: [`DeviceKey::device_id`], the `blake2_256` of its registered key.
pub type DeviceId = sp_core::H256;

/// Block number of the W3bstream chain.
pub type BlockNumber = u32;

/// Target block time. Aura slots and the timestamp pallet both derive from it.
pub const MILLISECS_PER_BLOCK: u64 = 3_000;
