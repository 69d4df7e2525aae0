//! Property-based fuzzing of batch bodies as they arrive from peers, IPFS or the VFS:
//! SCALE decoding of [`BatchBody`] and [`check_body`] never panic on arbitrary or mutated
//! bytes, a committed body checks against its header and decodes to exactly what was
//! committed, no other bytes pass that header, and a header that differs in any field
//! refuses the committed body for that field's reason.

use codec::{Decode, DecodeAll, Encode};
use proptest::{prelude::*, sample::Index, test_runner::Config as ProptestConfig};
use sp_core::H256;
use w3b_primitives::{merkle::merkle_root, BatchHeader, DeviceSignature, Message};
use w3b_storage::{check_body, BatchBody, BodyError, Cid, StoredMessage};

/// `cases` cases, nothing written to disk or to the terminal.
fn config(cases: u32) -> ProptestConfig {
	ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn signature() -> impl Strategy<Value = DeviceSignature> {
	prop_oneof![
		any::<[u8; 64]>().prop_map(DeviceSignature::Ed25519),
		any::<[u8; 64]>().prop_map(DeviceSignature::Sr25519),
		(any::<[u8; 32]>(), any::<[u8; 33]>()).prop_map(|(a, b)| {
			let mut rsv = [0u8; 65];
			rsv[..32].copy_from_slice(&a);
			rsv[32..].copy_from_slice(&b);
			DeviceSignature::Secp256k1(rsv)
		}),
	]
}

fn stored_message() -> impl Strategy<Value = StoredMessage> {
	(
		(any::<u64>(), any::<[u8; 32]>(), any::<u64>(), any::<u64>()),
		prop::collection::vec(any::<u8>(), 0..16),
		prop::collection::vec(any::<u8>(), 0..80),
		any::<bool>(),
		signature(),
		any::<u64>(),
	)
		.prop_map(
			|(
				(project, device, seq, timestamp_ms),
				event_type,
				payload,
				encrypted,
				signature,
				received_ms,
			)| StoredMessage {
				message: Message {
					project,
					device: H256(device),
					seq,
					timestamp_ms,
					event_type,
					payload,
					encrypted,
				},
				signature,
				received_ms,
			},
		)
}

fn body() -> impl Strategy<Value = BatchBody> {
	prop::collection::vec(stored_message(), 0..8).prop_map(|messages| BatchBody { messages })
}

/// The header an honest sealer commits for body `bytes` holding `messages`.
fn header_for(bytes: &[u8], messages: &BatchBody) -> BatchHeader {
	BatchHeader {
		project: 1,
		seq: 0,
		merkle_root: merkle_root(&messages.leaves()),
		count: messages.messages.len() as u32,
		bytes: bytes.len() as u64,
		cid: Cid::of(bytes).to_bytes().try_into().expect("a CID is 36 bytes"),
	}
}

/// One random change to a byte string.
#[derive(Debug, Clone)]
enum Mutation {
	Flip(Index, u8),
	Insert(Index, u8),
	Remove(Index),
	Truncate(Index),
	Append(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
	prop_oneof![
		(any::<Index>(), 1..=u8::MAX).prop_map(|(at, mask)| Mutation::Flip(at, mask)),
		(any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
		any::<Index>().prop_map(Mutation::Remove),
		any::<Index>().prop_map(Mutation::Truncate),
		prop::collection::vec(any::<u8>(), 1..8).prop_map(Mutation::Append),
	]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
	for mutation in mutations {
		let len = bytes.len();
		match mutation {
			Mutation::Flip(at, mask) if len > 0 => bytes[at.index(len)] ^= mask,
			Mutation::Insert(at, byte) => bytes.insert(at.index(len + 1), *byte),
			Mutation::Remove(at) if len > 0 => {
				bytes.remove(at.index(len));
			}
			Mutation::Truncate(at) => bytes.truncate(at.index(len + 1)),
			Mutation::Append(tail) => bytes.extend_from_slice(tail),
			_ => {}
		}
	}
	bytes
}

/// A field of a header changed.
#[derive(Debug, Clone)]
enum HeaderChange {
	Count(u32),
	Root(Index, u8),
	Bytes(u64),
	/// A CID byte flipped (the CID may then not parse).
	CidByte(Index, u8),
	/// The CID of other bytes.
	CidOf(Vec<u8>),
}

fn header_change() -> impl Strategy<Value = HeaderChange> {
	prop_oneof![
		(1..=u32::MAX).prop_map(HeaderChange::Count),
		(any::<Index>(), 1..=u8::MAX).prop_map(|(at, mask)| HeaderChange::Root(at, mask)),
		(1..=u64::MAX).prop_map(HeaderChange::Bytes),
		(any::<Index>(), 1..=u8::MAX).prop_map(|(at, mask)| HeaderChange::CidByte(at, mask)),
		prop::collection::vec(any::<u8>(), 0..64).prop_map(HeaderChange::CidOf),
	]
}

proptest! {
	#![proptest_config(config(4096))]

	/// Arbitrary bytes: decoding and checking never panic, against a random header or one
	/// committed to these very bytes; a CID in a header parses only in its one encoding.
	#[test]
	fn arbitrary_bytes_never_panic(
		bytes in prop::collection::vec(any::<u8>(), 0..1024),
		cid in prop::collection::vec(any::<u8>(), 0..=64),
		count in any::<u32>(),
		root in any::<[u8; 32]>(),
	) {
		let decoded = BatchBody::decode_all(&mut &bytes[..]);
		let random = BatchHeader {
			project: 1,
			seq: 0,
			merkle_root: H256(root),
			count,
			bytes: bytes.len() as u64,
			cid: cid.clone().try_into().expect("at most 64 bytes"),
		};
		let _ = check_body(&random, &bytes);
		if let Ok(parsed) = Cid::from_bytes(&cid) {
			prop_assert_eq!(parsed.to_bytes(), cid);
		}
		// Committed to these bytes: accepted exactly when they decode, to the end.
		let committed = header_for(&bytes, decoded.as_ref().unwrap_or(&BatchBody { messages: vec![] }));
		match (check_body(&committed, &bytes), decoded) {
			(Ok(body), Ok(decoded)) => prop_assert_eq!(body, decoded),
			(Err(BodyError::Undecodable), Err(_)) => {}
			(checked, decoded) => prop_assert!(false, "checked {:?}, decoded {:?}", checked, decoded),
		}
	}

	/// A committed body passes its header as exactly the committed messages; the same
	/// bytes mutated never do (unless the mutations cancel out), and decoding them never
	/// panics.
	#[test]
	fn only_the_committed_bytes_pass_their_header(
		body in body(),
		mutations in prop::collection::vec(mutation(), 1..6),
	) {
		let bytes = body.encode();
		let header = header_for(&bytes, &body);
		prop_assert_eq!(check_body(&header, &bytes), Ok(body.clone()));
		let mutated = mutate(bytes.clone(), &mutations);
		let _ = BatchBody::decode(&mut &mutated[..]);
		match check_body(&header, &mutated) {
			Ok(passed) => {
				prop_assert_eq!(&mutated, &bytes, "other bytes passed the header");
				prop_assert_eq!(passed, body);
			}
			Err(e) if mutated.len() != bytes.len() => {
				prop_assert!(matches!(e, BodyError::Size { .. }), "{:?}", e);
			}
			Err(e) => prop_assert_eq!(e, BodyError::Cid),
		}
	}

	/// A header that differs from the committed one in one field refuses the body, for
	/// that field's reason.
	#[test]
	fn a_changed_header_refuses_the_body(body in body(), change in header_change()) {
		let bytes = body.encode();
		let mut header = header_for(&bytes, &body);
		let expected = match change {
			HeaderChange::Count(delta) => {
				header.count = header.count.wrapping_add(delta);
				BodyError::Count { actual: body.messages.len() as u64, committed: header.count }
			}
			HeaderChange::Root(at, mask) => {
				header.merkle_root.0[at.index(32)] ^= mask;
				BodyError::MerkleRoot
			}
			HeaderChange::Bytes(delta) => {
				header.bytes = header.bytes.wrapping_add(delta);
				BodyError::Size { actual: bytes.len() as u64, committed: header.bytes }
			}
			HeaderChange::CidByte(at, mask) => {
				let mut cid = header.cid.to_vec();
				let at = at.index(cid.len());
				cid[at] ^= mask;
				let parses = match Cid::from_bytes(&cid) {
					Ok(parsed) => {
						prop_assert_eq!(parsed.to_bytes(), cid.clone(), "a CID parsed from another encoding");
						true
					}
					Err(_) => false,
				};
				header.cid = cid.try_into().expect("36 bytes");
				if parses { BodyError::Cid } else { BodyError::UnsupportedCid }
			}
			HeaderChange::CidOf(other) => {
				prop_assume!(other != bytes);
				header.cid = Cid::of(&other).to_bytes().try_into().expect("36 bytes");
				BodyError::Cid
			}
		};
		prop_assert_eq!(check_body(&header, &bytes), Err(expected));
	}
}

proptest! {
	#![proptest_config(config(1024))]

	/// Bodies followed by other bytes, under the header an honest sealer would compute
	/// for all the bytes: what passes is exactly a body's canonical encoding, so a body
	/// with anything after it never does.
	#[test]
	fn a_checked_body_is_what_its_bytes_decode_to(
		body in body(),
		tail in prop::collection::vec(any::<u8>(), 0..4),
	) {
		let bytes = [body.encode(), tail.clone()].concat();
		let header = header_for(&bytes, &body);
		match check_body(&header, &bytes) {
			Ok(passed) => {
				prop_assert_eq!(passed.encode(), bytes);
				prop_assert_eq!(passed, body);
			}
			Err(BodyError::Undecodable) => prop_assert!(!tail.is_empty()),
			Err(e) => prop_assert!(false, "{:?}", e),
		}
	}
}

/// The committed bytes are the canonical encoding of what they hold: a body with a
/// trailing byte is refused.
#[test]
fn a_checked_body_is_its_canonical_encoding() {
	let body = BatchBody { messages: vec![] };
	let bytes = [body.encode(), vec![0xff]].concat();
	let header = header_for(&bytes, &body);
	assert!(check_body(&header, &bytes).is_err(), "a body with a trailing byte passed");
}
