//! The JSON form of a signed message, as devices send it over HTTP and MQTT:
//!
//! ```json
//! {"project": 1, "device": "0x<32-byte device id>", "seq": 7,
//!  "timestamp_ms": 1700000000000, "event_type": "TEMPERATURE",
//!  "payload": "0x<bytes>", "encrypted": false, "signature": "0x<bytes>"}
//! ```
//!
//! `device` is the blake2-256 of the device's registered key (its id on chain), and
//! `signature` is over [`Message::hash`]: 64 bytes for ed25519 and sr25519, 65
//! (`r ++ s ++ v`) for secp256k1 (the curve is the registered key's).

use serde::{Deserialize, Serialize};
use sp_core::{bytes::from_hex, H256};
use w3b_primitives::{DeviceKey, DeviceSignature, Message};

use crate::IngestError;

/// A message and its signature bytes as received.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WireMessage {
	/// Project id.
	pub project: u64,
	/// Device id (hex).
	pub device: String,
	/// Per-device sequence number.
	pub seq: u64,
	/// Device time, ms since the epoch.
	pub timestamp_ms: u64,
	/// Event type (routes to an applet handler).
	pub event_type: String,
	/// Payload (hex).
	#[serde(default)]
	pub payload: String,
	/// Whether the payload is encrypted (it is stored as it is).
	#[serde(default)]
	pub encrypted: bool,
	/// Signature over the message hash (hex).
	pub signature: String,
}

fn hex(field: &str, text: &str) -> Result<Vec<u8>, IngestError> {
	if text.is_empty() {
		return Ok(Vec::new());
	}
	from_hex(text).map_err(|_| IngestError::Malformed(format!("{field} is not hex")))
}

impl WireMessage {
	/// The wire form of `message` signed with `signature` (what a device sends).
	pub fn new(message: &Message, signature: &[u8]) -> Self {
		let hex = |bytes: &[u8]| sp_core::bytes::to_hex(bytes, false);
		WireMessage {
			project: message.project,
			device: hex(message.device.as_bytes()),
			seq: message.seq,
			timestamp_ms: message.timestamp_ms,
			event_type: String::from_utf8_lossy(&message.event_type).into_owned(),
			payload: hex(&message.payload),
			encrypted: message.encrypted,
			signature: hex(signature),
		}
	}

	/// The message, and the raw signature bytes.
	pub fn into_parts(self) -> Result<(Message, Vec<u8>), IngestError> {
		let device = hex("device", &self.device)?;
		if device.len() != 32 {
			return Err(IngestError::Malformed("device is not 32 bytes".into()));
		}
		if self.event_type.is_empty() || self.event_type.len() > 64 {
			return Err(IngestError::Malformed("event_type must be 1 to 64 bytes".into()));
		}
		let message = Message {
			project: self.project,
			device: H256::from_slice(&device),
			seq: self.seq,
			timestamp_ms: self.timestamp_ms,
			event_type: self.event_type.into_bytes(),
			payload: hex("payload", &self.payload)?,
			encrypted: self.encrypted,
		};
		Ok((message, hex("signature", &self.signature)?))
	}
}

/// The signature bytes as a signature on `key`'s curve.
pub fn signature_for(key: &DeviceKey, bytes: &[u8]) -> Result<DeviceSignature, IngestError> {
	let wrong = || {
		IngestError::Malformed(format!(
			"a {}-byte signature does not fit the device's key",
			bytes.len()
		))
	};
	Ok(match key {
		DeviceKey::Ed25519(_) => DeviceSignature::Ed25519(bytes.try_into().map_err(|_| wrong())?),
		DeviceKey::Sr25519(_) => DeviceSignature::Sr25519(bytes.try_into().map_err(|_| wrong())?),
		DeviceKey::Secp256k1(_) => {
			DeviceSignature::Secp256k1(bytes.try_into().map_err(|_| wrong())?)
		}
	})
}

/// Parses a request body: one message object or an array of them. Answers the messages
/// (each parsed or why not) and whether the body was an array.
pub fn parse_body(
	body: &[u8],
) -> Result<(Vec<Result<WireMessage, IngestError>>, bool), IngestError> {
	let value: serde_json::Value =
		serde_json::from_slice(body).map_err(|e| IngestError::Malformed(e.to_string()))?;
	if value.get("events").is_some() {
		return Err(IngestError::Malformed(
			"W3bstream publisher-token events are not accepted: sign each message with the device's registered key".into(),
		));
	}
	let parse =
		|item| serde_json::from_value(item).map_err(|e| IngestError::Malformed(e.to_string()));
	Ok(match value {
		serde_json::Value::Array(items) => (items.into_iter().map(parse).collect(), true),
		single => (vec![parse(single)], false),
	})
}
