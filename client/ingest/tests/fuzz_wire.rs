//! Property-based fuzzing of the wire decoders every stranger reaches (HTTP bodies and
//! MQTT payloads): on arbitrary bytes, on deeply nested input and on valid messages
//! mutated at random they never panic and never answer more than
//! [`MAX_MESSAGES_PER_REQUEST`] parts; a body with more top-level messages is refused as
//! [`IngestError::TooManyMessages`]; and a message encoded by [`WireMessage::new`] or
//! [`ProtoMessage::new`] decodes back to the same message and signature bytes.

use proptest::{prelude::*, sample::Index, test_runner::Config as ProptestConfig};
use sp_core::H256;
use w3b_ingest::{
	wire::{
		parse_body, parse_one, Parts, ProtoBatch, ProtoMessage, WireMessage,
		MAX_MESSAGES_PER_REQUEST,
	},
	IngestError,
};
use w3b_primitives::Message;

/// `cases` cases, nothing written to disk or to the terminal.
fn config(cases: u32) -> ProptestConfig {
	ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// A message the wire forms can carry: an event type of 1 to 64 bytes of UTF-8 (the
/// JSON and protobuf forms hold it as a string).
fn message() -> impl Strategy<Value = Message> {
	(
		any::<u64>(),
		any::<[u8; 32]>(),
		any::<u64>(),
		any::<u64>(),
		prop::collection::vec(any::<char>(), 1..=16),
		prop::collection::vec(any::<u8>(), 0..96),
		any::<bool>(),
	)
		.prop_map(|(project, device, seq, timestamp_ms, event_type, payload, encrypted)| {
			Message {
				project,
				device: H256(device),
				seq,
				timestamp_ms,
				event_type: String::from_iter(event_type).into_bytes(),
				payload,
				encrypted,
			}
		})
}

/// Signature bytes of any length a device may send (64 and 65 are the real ones).
fn signature() -> impl Strategy<Value = Vec<u8>> {
	prop_oneof![
		prop::collection::vec(any::<u8>(), 64),
		prop::collection::vec(any::<u8>(), 65),
		prop::collection::vec(any::<u8>(), 0..80),
	]
}

fn json(message: &Message, signature: &[u8]) -> Vec<u8> {
	serde_json::to_vec(&WireMessage::new(message, signature)).expect("serializes")
}

fn proto(message: &Message, signature: &[u8]) -> Vec<u8> {
	prost::Message::encode_to_vec(&ProtoMessage::new(message, signature))
}

/// One random change to a byte string.
#[derive(Debug, Clone)]
enum Mutation {
	/// XOR the byte at the index with a non-zero mask.
	Flip(Index, u8),
	/// Set the byte at the index.
	Set(Index, u8),
	/// Insert a byte at the index.
	Insert(Index, u8),
	/// Remove the byte at the index.
	Remove(Index),
	/// Keep only the first bytes, up to the index.
	Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
	prop_oneof![
		(any::<Index>(), 1..=u8::MAX).prop_map(|(at, mask)| Mutation::Flip(at, mask)),
		(any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set(at, byte)),
		(any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
		any::<Index>().prop_map(Mutation::Remove),
		any::<Index>().prop_map(Mutation::Truncate),
	]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
	for mutation in mutations {
		let len = bytes.len();
		match mutation {
			Mutation::Flip(at, mask) if len > 0 => bytes[at.index(len)] ^= mask,
			Mutation::Set(at, byte) if len > 0 => bytes[at.index(len)] = *byte,
			Mutation::Insert(at, byte) => bytes.insert(at.index(len + 1), *byte),
			Mutation::Remove(at) if len > 0 => {
				bytes.remove(at.index(len));
			}
			Mutation::Truncate(at) => bytes.truncate(at.index(len + 1)),
			_ => {}
		}
	}
	bytes
}

/// What a decoded message must be whatever its origin: an event type of 1 to 64 bytes of
/// UTF-8 (the only shape `wire` checks besides the 32-byte device id, which its type
/// guarantees).
fn check_parts(parts: &[Parts]) -> Result<(), TestCaseError> {
	prop_assert!(parts.len() <= MAX_MESSAGES_PER_REQUEST, "{} parts", parts.len());
	for (message, _) in parts.iter().flatten() {
		prop_assert!((1..=64).contains(&message.event_type.len()));
		prop_assert!(std::str::from_utf8(&message.event_type).is_ok());
	}
	Ok(())
}

/// Runs both decoders over `bytes` as an HTTP body (JSON and protobuf) and as an MQTT
/// payload, checking what each answers.
fn decode_everything(bytes: &[u8]) -> Result<(), TestCaseError> {
	for protobuf in [false, true] {
		if let Ok((parts, _)) = parse_body(bytes, protobuf) {
			check_parts(&parts)?;
		}
	}
	let one = parse_one(bytes);
	check_parts(std::slice::from_ref(&one))?;
	// A JSON message the strict MQTT decoder takes is one the HTTP decoder takes too, as
	// the same message.
	if bytes.first() == Some(&b'{') {
		if let Ok(decoded) = one {
			match parse_body(bytes, false) {
				Ok((parts, false)) => prop_assert_eq!(parts, vec![Ok(decoded)]),
				other => prop_assert!(false, "MQTT took it, HTTP answered {:?}", other),
			}
		}
	}
	Ok(())
}

/// Input built to reach deep into the decoders: nested JSON and protobuf groups, long
/// runs of one byte, and long JSON arrays.
fn structured_junk() -> impl Strategy<Value = Vec<u8>> {
	prop_oneof![
		(1usize..100_000, prop::sample::select(vec![&b"["[..], b"{\"a\":", b"[{\"project\":"]))
			.prop_map(|(depth, open)| open.repeat(depth)),
		// Protobuf start-group keys (wire type 3) of field 1 and of another field, and
		// length-delimited keys whose lengths point past the end.
		(1usize..100_000, prop::sample::select(vec![0x0bu8, 0x13, 0x7b, 0x0a, 0x12]))
			.prop_map(|(depth, key)| vec![key; depth]),
		(0usize..5_000, prop::sample::select(vec![&b"{},"[..], b"1,", b"[],", b"\"x\","]))
			.prop_map(|(n, item)| [b"[".as_slice(), &item.repeat(n), b"{}]"].concat()),
	]
}

proptest! {
	#![proptest_config(config(8192))]

	/// Any bytes: no panic, and within bounds.
	#[test]
	fn arbitrary_bytes_decode_within_bounds(
		bytes in prop::collection::vec(any::<u8>(), 0..512),
	) {
		decode_everything(&bytes)?;
	}

	/// Any bytes after a `{` or `[`, so that they reach the JSON decoders' bodies.
	#[test]
	fn arbitrary_json_looking_bytes_decode_within_bounds(
		open in prop::sample::select(vec![b'{', b'['],),
		bytes in prop::collection::vec(any::<u8>(), 0..512),
	) {
		decode_everything(&[&[open][..], &bytes].concat())?;
	}
}

proptest! {
	#![proptest_config(config(256))]

	/// Deep nesting and long runs: no panic (no stack overflow), within bounds.
	#[test]
	fn nested_and_repeated_input_decodes_within_bounds(bytes in structured_junk()) {
		decode_everything(&bytes)?;
	}
}

proptest! {
	#![proptest_config(config(4096))]

	/// Valid JSON and protobuf messages, single and batched, mutated at random: no panic,
	/// within bounds.
	#[test]
	fn mutated_messages_decode_within_bounds(
		messages in prop::collection::vec((message(), signature()), 1..4),
		form in 0u8..4,
		mutations in prop::collection::vec(mutation(), 1..8),
	) {
		let body = match form {
			0 => json(&messages[0].0, &messages[0].1),
			1 => {
				let items: Vec<_> =
					messages.iter().map(|(m, s)| WireMessage::new(m, s)).collect();
				serde_json::to_vec(&items).expect("serializes")
			}
			2 => proto(&messages[0].0, &messages[0].1),
			_ => prost::Message::encode_to_vec(&ProtoBatch {
				messages: messages.iter().map(|(m, s)| ProtoMessage::new(m, s)).collect(),
			}),
		};
		decode_everything(&mutate(body, &mutations))?;
	}

	/// A message in JSON decodes to itself, alone, in a body and in an array.
	#[test]
	fn json_messages_round_trip(
		messages in prop::collection::vec((message(), signature()), 1..6),
	) {
		let expected: Vec<Parts> = messages.iter().map(|(m, s)| Ok((m.clone(), s.clone()))).collect();
		let (message, signature) = &messages[0];
		let body = json(message, signature);
		prop_assert_eq!(&parse_one(&body), &expected[0]);
		prop_assert_eq!(parse_body(&body, false), Ok((vec![expected[0].clone()], false)));
		let items: Vec<_> = messages.iter().map(|(m, s)| WireMessage::new(m, s)).collect();
		let array = serde_json::to_vec(&items).expect("serializes");
		prop_assert_eq!(parse_body(&array, false), Ok((expected, true)));
	}

	/// A message in protobuf decodes to itself, alone and in a batch.
	#[test]
	fn protobuf_messages_round_trip(
		messages in prop::collection::vec((message(), signature()), 0..6),
		first in (message(), signature()),
	) {
		let (message, signature) = &first;
		prop_assert_eq!(parse_one(&proto(message, signature)), Ok((message.clone(), signature.clone())));
		let batch = ProtoBatch {
			messages: messages.iter().map(|(m, s)| ProtoMessage::new(m, s)).collect(),
		};
		let expected: Vec<Parts> = messages.iter().map(|(m, s)| Ok((m.clone(), s.clone()))).collect();
		let is_batch = expected.len() != 1;
		prop_assert_eq!(
			parse_body(&prost::Message::encode_to_vec(&batch), true),
			Ok((expected, is_batch))
		);
	}
}

/// Top-level items of a JSON array: messages, and values that are not messages (each is
/// one item whatever it holds).
fn json_item() -> impl Strategy<Value = Vec<u8>> {
	prop_oneof![
		(message(), signature()).prop_map(|(m, s)| json(&m, &s)),
		prop::sample::select(vec![
			&b"{}"[..],
			b"null",
			b"7",
			b"\"x\"",
			b"[[],[{}]]",
			b"{\"a\":[1,2]}"
		])
		.prop_map(<[u8]>::to_vec),
	]
}

/// Top-level messages of a protobuf `Batch`: messages, empty ones, and fields of
/// another number that do not count.
fn proto_item() -> impl Strategy<Value = (bool, Vec<u8>)> {
	prop_oneof![
		(message(), signature()).prop_map(|(m, s)| {
			let mut field = vec![0x0a];
			prost::encoding::encode_varint(proto(&m, &s).len() as u64, &mut field);
			(true, [field, proto(&m, &s)].concat())
		}),
		Just((true, vec![0x0a, 0x00])),
		// Field 2, varint; field 3, empty bytes: unknown fields prost skips.
		Just((false, vec![0x10, 0x01])),
		Just((false, vec![0x1a, 0x00])),
	]
}

proptest! {
	#![proptest_config(config(64))]

	/// A JSON array of more than the limit of top-level items is refused as too many;
	/// one within it answers one part per item.
	#[test]
	fn json_arrays_over_the_limit_are_too_many(
		extra in -3i64..=3,
		items in prop::collection::vec(json_item(), 1..8),
		whitespace in prop::sample::select(vec!["", " ", "\n\t "]),
	) {
		let n = (MAX_MESSAGES_PER_REQUEST as i64 + extra) as usize;
		let body: Vec<u8> = [whitespace.as_bytes(), b"["]
			.concat()
			.into_iter()
			.chain((0..n).flat_map(|i| {
				let sep: &[u8] = if i == 0 { b"" } else { b"," };
				[sep, &items[i % items.len()]].concat()
			}))
			.chain(*b"]")
			.collect();
		match parse_body(&body, false) {
			Err(IngestError::TooManyMessages { max }) => {
				prop_assert!(n > MAX_MESSAGES_PER_REQUEST);
				prop_assert_eq!(max, MAX_MESSAGES_PER_REQUEST);
			}
			Ok((parts, true)) => prop_assert_eq!(parts.len(), n),
			other => prop_assert!(false, "{} items: {:?}", n, other.map(|(p, b)| (p.len(), b))),
		}
	}

	/// The same for a protobuf `Batch`: messages over the limit are refused as too many
	/// (other fields do not count).
	#[test]
	fn protobuf_batches_over_the_limit_are_too_many(
		extra in -3i64..=3,
		items in prop::collection::vec(proto_item(), 1..8),
	) {
		let wanted = (MAX_MESSAGES_PER_REQUEST as i64 + extra) as usize;
		let (mut body, mut n) = (Vec::new(), 0);
		for (counts, item) in items.iter().cycle() {
			if n == wanted {
				break;
			}
			if !items.iter().any(|(c, _)| *c) {
				break;
			}
			body.extend_from_slice(item);
			n += usize::from(*counts);
		}
		match parse_body(&body, true) {
			Err(IngestError::TooManyMessages { max }) => {
				prop_assert!(n > MAX_MESSAGES_PER_REQUEST);
				prop_assert_eq!(max, MAX_MESSAGES_PER_REQUEST);
			}
			Ok((parts, is_batch)) => {
				prop_assert!(n <= MAX_MESSAGES_PER_REQUEST);
				prop_assert_eq!(parts.len(), n);
				prop_assert_eq!(is_batch, n != 1);
			}
			other => prop_assert!(false, "{} messages: {:?}", n, other.map(|(p, b)| (p.len(), b))),
		}
	}
}

/// A small valid message in JSON, as text.
fn sample_json() -> String {
	let message = Message {
		project: 1,
		device: H256::repeat_byte(1),
		seq: 1,
		timestamp_ms: 1,
		event_type: b"T".to_vec(),
		payload: vec![0x12],
		encrypted: false,
	};
	String::from_utf8(json(&message, &[7; 64])).expect("JSON is UTF-8")
}

/// The same bytes are read alike over HTTP and MQTT: a repeated key is refused by both
/// (`serde_json::Value` alone would keep the last one).
#[test]
fn a_repeated_key_is_decoded_alike_over_http_and_mqtt() {
	let body = sample_json().replacen("\"project\":1", "\"project\":5,\"project\":1", 1);
	let mqtt = parse_one(body.as_bytes());
	let http = parse_body(body.as_bytes(), false).map(|(mut parts, _)| parts.remove(0));
	assert_eq!(http.is_ok(), mqtt.is_ok(), "HTTP {http:?}, MQTT {mqtt:?}");
}

/// Hex fields have one spelling per value: `"0x 12"` (which a lenient decoder read as
/// `[0x01, 0x00]`) is refused or read as written.
#[test]
fn hex_with_whitespace_is_refused_or_decoded_as_written() {
	let body = sample_json().replacen("\"payload\":\"0x12\"", "\"payload\":\"0x 12\"", 1);
	if let Ok((message, _)) = parse_one(body.as_bytes()) {
		assert_eq!(message.payload, [0x12]);
	}
}
