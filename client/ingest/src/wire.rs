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
//!
//! The same message in protobuf, for constrained devices ([`ProtoMessage`]; an HTTP body
//! with `Content-Type: application/x-protobuf` is a [`ProtoBatch`]):
//!
//! ```proto
//! message Message {
//!   uint64 project = 1; bytes device = 2; uint64 seq = 3; uint64 timestamp_ms = 4;
//!   string event_type = 5; bytes payload = 6; bool encrypted = 7; bytes signature = 8;
//! }
//! message Batch { repeated Message messages = 1; }
//! ```

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use sp_core::H256;
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

/// Hex with an optional `0x`, strictly: an even number of hex digits and nothing else,
/// so that one value has one spelling.
fn hex(field: &str, text: &str) -> Result<Vec<u8>, IngestError> {
	let digits = text.strip_prefix("0x").unwrap_or(text);
	hex::decode(digits).map_err(|_| IngestError::Malformed(format!("{field} is not hex")))
}

/// Builds a message from its decoded fields, checking their shape.
fn message(
	project: u64,
	device: &[u8],
	seq: u64,
	timestamp_ms: u64,
	event_type: String,
	payload: Vec<u8>,
	encrypted: bool,
) -> Result<Message, IngestError> {
	if device.len() != 32 {
		return Err(IngestError::Malformed("device is not 32 bytes".into()));
	}
	if event_type.is_empty() || event_type.len() > 64 {
		return Err(IngestError::Malformed("event_type must be 1 to 64 bytes".into()));
	}
	if event_type.as_bytes().starts_with(w3b_primitives::inbound::LOG_EVENT_PREFIX) {
		return Err(IngestError::Malformed(
			"event types starting with \"evm:\" are reserved for contract logs".into(),
		));
	}
	Ok(Message {
		project,
		device: H256::from_slice(device),
		seq,
		timestamp_ms,
		event_type: event_type.into_bytes(),
		payload,
		encrypted,
	})
}

/// A signed message in protobuf.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoMessage {
	/// Project id.
	#[prost(uint64, tag = "1")]
	pub project: u64,
	/// Device id (32 bytes).
	#[prost(bytes = "vec", tag = "2")]
	pub device: Vec<u8>,
	/// Per-device sequence number.
	#[prost(uint64, tag = "3")]
	pub seq: u64,
	/// Device time, ms since the epoch.
	#[prost(uint64, tag = "4")]
	pub timestamp_ms: u64,
	/// Event type.
	#[prost(string, tag = "5")]
	pub event_type: String,
	/// Payload.
	#[prost(bytes = "vec", tag = "6")]
	pub payload: Vec<u8>,
	/// Whether the payload is encrypted.
	#[prost(bool, tag = "7")]
	pub encrypted: bool,
	/// Signature over the message hash.
	#[prost(bytes = "vec", tag = "8")]
	pub signature: Vec<u8>,
}

/// Several signed messages in protobuf.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoBatch {
	/// The messages.
	#[prost(message, repeated, tag = "1")]
	pub messages: Vec<ProtoMessage>,
}

impl ProtoMessage {
	/// The protobuf form of `message` signed with `signature`.
	pub fn new(message: &Message, signature: &[u8]) -> Self {
		ProtoMessage {
			project: message.project,
			device: message.device.as_bytes().to_vec(),
			seq: message.seq,
			timestamp_ms: message.timestamp_ms,
			event_type: String::from_utf8_lossy(&message.event_type).into_owned(),
			payload: message.payload.clone(),
			encrypted: message.encrypted,
			signature: signature.to_vec(),
		}
	}

	/// The message, and the raw signature bytes.
	pub fn into_parts(self) -> Result<(Message, Vec<u8>), IngestError> {
		let m = message(
			self.project,
			&self.device,
			self.seq,
			self.timestamp_ms,
			self.event_type,
			self.payload,
			self.encrypted,
		)?;
		Ok((m, self.signature))
	}
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
		let payload = hex("payload", &self.payload)?;
		let m = message(
			self.project,
			&device,
			self.seq,
			self.timestamp_ms,
			self.event_type,
			payload,
			self.encrypted,
		)?;
		Ok((m, hex("signature", &self.signature)?))
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

/// A message and its signature bytes, or why it could not be decoded.
pub type Parts = Result<(Message, Vec<u8>), IngestError>;

/// Most messages one request may carry. Counted before anything is decoded: a 4 MiB body
/// of empty messages would otherwise decode into millions.
pub const MAX_MESSAGES_PER_REQUEST: usize = 1_000;

/// Refuses a protobuf `Batch` of more than [`MAX_MESSAGES_PER_REQUEST`] messages by
/// walking its top-level fields, without decoding them.
fn count_proto_messages(mut body: &[u8]) -> Result<(), IngestError> {
	use prost::encoding::{decode_key, skip_field, DecodeContext};
	let malformed =
		|e: prost::DecodeError| IngestError::Malformed(format!("not a protobuf Batch: {e}"));
	let mut count = 0;
	while !body.is_empty() {
		let (tag, wire_type) = decode_key(&mut body).map_err(malformed)?;
		if tag == 1 {
			count += 1;
			if count > MAX_MESSAGES_PER_REQUEST {
				return Err(IngestError::TooManyMessages { max: MAX_MESSAGES_PER_REQUEST });
			}
		}
		skip_field(wire_type, tag, &mut body, DecodeContext::default()).map_err(malformed)?;
	}
	Ok(())
}

/// Most JSON values (scalars, arrays, objects) a request may hold: sixteen per message
/// (a message has eight fields). Counted as they are read, so that a body of nested empty
/// arrays never becomes tens of times its size in memory.
const MAX_JSON_VALUES: usize = 16 * MAX_MESSAGES_PER_REQUEST;

/// A JSON array of at most [`MAX_MESSAGES_PER_REQUEST`] values, refused at the first one
/// past it (before the rest is parsed).
struct BoundedArray<'b>(&'b Cell<usize>);

impl<'de> serde::de::DeserializeSeed<'de> for BoundedArray<'_> {
	type Value = Vec<serde_json::Value>;

	fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
		d.deserialize_seq(self)
	}
}

impl<'de> serde::de::Visitor<'de> for BoundedArray<'_> {
	type Value = Vec<serde_json::Value>;

	fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
		write!(f, "an array of at most {MAX_MESSAGES_PER_REQUEST} messages")
	}

	fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
		let mut items = Vec::new();
		while let Some(item) = seq.next_element_seed(Unique(self.0))? {
			if items.len() == MAX_MESSAGES_PER_REQUEST {
				return Err(serde::de::Error::custom(TOO_MANY));
			}
			items.push(item);
		}
		Ok(items)
	}
}

/// Reads a JSON value none of whose objects repeats a key, within the request's budget
/// of values. `serde_json::Value` keeps the last of repeated keys, while decoding a
/// [`WireMessage`] directly (MQTT) refuses them: both endpoints must read the same bytes
/// the same way.
#[derive(Clone, Copy)]
struct Unique<'b>(&'b Cell<usize>);

impl<'de> serde::de::DeserializeSeed<'de> for Unique<'_> {
	type Value = serde_json::Value;

	fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
		match self.0.get().checked_sub(1) {
			Some(left) => self.0.set(left),
			None => return Err(serde::de::Error::custom(TOO_MANY)),
		}
		d.deserialize_any(self)
	}
}

impl<'de> serde::de::Visitor<'de> for Unique<'_> {
	type Value = serde_json::Value;

	fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
		f.write_str("a JSON value")
	}

	fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
		Ok(v.into())
	}

	fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
		Ok(v.into())
	}

	fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
		Ok(v.into())
	}

	fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
		Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
	}

	fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
		Ok(v.into())
	}

	fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
		Ok(v.into())
	}

	fn visit_unit<E>(self) -> Result<Self::Value, E> {
		Ok(serde_json::Value::Null)
	}

	fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
		let mut items = Vec::new();
		while let Some(item) = seq.next_element_seed(self)? {
			items.push(item);
		}
		Ok(items.into())
	}

	fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
		let mut object = serde_json::Map::new();
		while let Some(key) = map.next_key::<String>()? {
			if object.contains_key(&key) {
				return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
			}
			let value = map.next_value_seed(self)?;
			object.insert(key, value);
		}
		Ok(object.into())
	}
}

/// The error [`BoundedArray`] stops with.
const TOO_MANY: &str = "too many messages";

/// Parses a request body: JSON (one message object or an array of them) or, when
/// `protobuf`, a [`ProtoBatch`]. Answers the messages and whether the body was a batch.
pub fn parse_body(body: &[u8], protobuf: bool) -> Result<(Vec<Parts>, bool), IngestError> {
	if protobuf {
		count_proto_messages(body)?;
		let batch = <ProtoBatch as prost::Message>::decode(body)
			.map_err(|e| IngestError::Malformed(format!("not a protobuf Batch: {e}")))?;
		let is_batch = batch.messages.len() != 1;
		return Ok((batch.messages.into_iter().map(ProtoMessage::into_parts).collect(), is_batch));
	}
	let malformed = |e: serde_json::Error| IngestError::Malformed(e.to_string());
	let budget = Cell::new(MAX_JSON_VALUES);
	let too_many = |e: serde_json::Error| match e.to_string().starts_with(TOO_MANY) {
		true => IngestError::TooManyMessages { max: MAX_MESSAGES_PER_REQUEST },
		false => malformed(e),
	};
	let mut json = serde_json::Deserializer::from_slice(body);
	if body.trim_ascii_start().first() == Some(&b'[') {
		let items = serde::de::DeserializeSeed::deserialize(BoundedArray(&budget), &mut json)
			.and_then(|items| json.end().map(|()| items))
			.map_err(too_many)?;
		return Ok((items.into_iter().map(parse_wire).collect(), true));
	}
	let value = serde::de::DeserializeSeed::deserialize(Unique(&budget), &mut json)
		.and_then(|value| json.end().map(|()| value))
		.map_err(too_many)?;
	if value.get("events").is_some() {
		return Err(IngestError::Malformed(
			"W3bstream publisher-token events are not accepted: sign each message with the device's registered key".into(),
		));
	}
	Ok((vec![parse_wire(value)], false))
}

/// A JSON message in its [`WireMessage`] form.
fn parse_wire(item: serde_json::Value) -> Parts {
	serde_json::from_value::<WireMessage>(item)
		.map_err(|e| IngestError::Malformed(e.to_string()))
		.and_then(WireMessage::into_parts)
}

/// Decodes one message sent alone (an MQTT payload): JSON when it starts with `{`,
/// protobuf otherwise.
pub fn parse_one(payload: &[u8]) -> Parts {
	if payload.first() == Some(&b'{') {
		serde_json::from_slice::<WireMessage>(payload)
			.map_err(|e| IngestError::Malformed(e.to_string()))?
			.into_parts()
	} else {
		<ProtoMessage as prost::Message>::decode(payload)
			.map_err(|_| IngestError::Malformed("neither a JSON nor a protobuf message".into()))?
			.into_parts()
	}
}
