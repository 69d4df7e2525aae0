//! Device messages and their canonical hash.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_io::hashing::blake2_256;

use crate::{DeviceId, DeviceSignature, ProjectId};

/// Domain tag of [`Message::hash`]: a message hash can never equal any other hash the
/// protocol signs or commits to.
const MESSAGE_HASH_TAG: &[u8] = b"w3b/message/v1";
/// Domain tag of [`signed_message_hash`].
const SIGNED_MESSAGE_TAG: &[u8] = b"w3b/signed-message/v1";

/// What a batch's Merkle tree commits to for each message: its hash bound to the
/// signature that came with it, `blake2_256("w3b/signed-message/v1" ++ message hash ++
/// SCALE(signature))`. A committer is held to the signatures it committed: a message
/// committed with a bad signature can be shown to the chain.
pub fn signed_message_hash(message_hash: &H256, signature: &DeviceSignature) -> H256 {
	let mut buf = Vec::with_capacity(SIGNED_MESSAGE_TAG.len() + 32 + signature.encoded_size());
	buf.extend_from_slice(SIGNED_MESSAGE_TAG);
	buf.extend_from_slice(message_hash.as_bytes());
	signature.encode_to(&mut buf);
	H256(blake2_256(&buf))
}

/// One event a device publishes.
///
/// The hash is taken over the SCALE encoding, so every node, the runtime and every SDK
/// that encodes the same fields gets the same hash.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Message {
	/// The project the device belongs to.
	pub project: ProjectId,
	/// The publishing device.
	pub device: DeviceId,
	/// Per-device sequence number; strictly increasing (replay protection).
	pub seq: u64,
	/// Device time of the event, milliseconds since the Unix epoch.
	pub timestamp_ms: u64,
	/// Event type, routed to an applet handler by the project's strategies.
	pub event_type: Vec<u8>,
	/// Payload bytes, opaque to the network (JSON, protobuf, or ciphertext).
	pub payload: Vec<u8>,
	/// Whether `payload` is encrypted for the project (stored as it is).
	pub encrypted: bool,
}

impl Message {
	/// The canonical hash: `blake2_256("w3b/message/v1" ++ SCALE(message))`.
	pub fn hash(&self) -> H256 {
		let mut buf = Vec::with_capacity(MESSAGE_HASH_TAG.len() + self.encoded_size());
		buf.extend_from_slice(MESSAGE_HASH_TAG);
		self.encode_to(&mut buf);
		H256(blake2_256(&buf))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn message() -> Message {
		Message {
			project: 7,
			device: DeviceId::repeat_byte(1),
			seq: 1,
			timestamp_ms: 1_700_000_000_000,
			event_type: b"temperature".to_vec(),
			payload: br#"{"celsius":21.5}"#.to_vec(),
			encrypted: false,
		}
	}

	#[test]
	fn hash_covers_every_field() {
		let base = message().hash();
		let variants: [fn(&mut Message); 7] = [
			|m| m.project += 1,
			|m| m.device = DeviceId::repeat_byte(2),
			|m| m.seq += 1,
			|m| m.timestamp_ms += 1,
			|m| m.event_type.push(b'x'),
			|m| m.payload[0] ^= 1,
			|m| m.encrypted = true,
		];
		for (i, change) in variants.iter().enumerate() {
			let mut m = message();
			change(&mut m);
			assert_ne!(m.hash(), base, "field {i} is not covered by the hash");
		}
	}

	#[test]
	fn hash_is_domain_separated_from_plain_blake2() {
		let m = message();
		assert_ne!(m.hash(), H256(blake2_256(&m.encode())));
	}

	#[test]
	fn encoding_round_trips() {
		let m = message();
		assert_eq!(Message::decode(&mut &m.encode()[..]).unwrap(), m);
	}
}
