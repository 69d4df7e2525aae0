//! Device keys and message signatures.
//!
//! A device signs the canonical hash of each message ([`crate::Message::hash`]) with the
//! key it registered under its project. Three curves are accepted: ed25519, sr25519
//! and secp256k1 (what IoTeX devices and Ethereum tooling use). Verification goes
//! through `sp_io`, so in the runtime it is a host call and on the node it is native.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{ecdsa, ed25519, sr25519, H256};
use sp_io::{crypto, hashing::blake2_256};

use crate::DeviceId;

/// Public key a device registers with.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub enum DeviceKey {
	/// ed25519 public key.
	Ed25519([u8; 32]),
	/// sr25519 (Schnorrkel) public key.
	Sr25519([u8; 32]),
	/// Compressed secp256k1 public key.
	Secp256k1([u8; 33]),
}

/// Signature of a device over a message hash, on the curve of its key.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub enum DeviceSignature {
	/// ed25519 signature of the 32-byte message hash.
	Ed25519([u8; 64]),
	/// sr25519 signature of the 32-byte message hash (signing context `substrate`).
	Sr25519([u8; 64]),
	/// Recoverable secp256k1 signature `r ++ s ++ v` of the 32-byte message hash, used
	/// as the digest itself (no further hashing).
	Secp256k1([u8; 65]),
}

impl DeviceSignature {
	/// The signature's bytes, as the device sent them.
	pub fn as_bytes(&self) -> &[u8] {
		match self {
			DeviceSignature::Ed25519(bytes) | DeviceSignature::Sr25519(bytes) => bytes,
			DeviceSignature::Secp256k1(bytes) => bytes,
		}
	}
}

impl DeviceKey {
	/// The device's id: `blake2_256(SCALE(key))`, so a key and its curve name one device.
	pub fn device_id(&self) -> DeviceId {
		H256(blake2_256(&self.encode()))
	}

	/// Whether `signature` is this key's signature of `message_hash`. A signature on
	/// another curve than the key never verifies.
	pub fn verify(&self, message_hash: &H256, signature: &DeviceSignature) -> bool {
		match (self, signature) {
			(DeviceKey::Ed25519(key), DeviceSignature::Ed25519(sig)) => crypto::ed25519_verify(
				&ed25519::Signature::from_raw(*sig),
				message_hash.as_bytes(),
				&ed25519::Public::from_raw(*key),
			),
			(DeviceKey::Sr25519(key), DeviceSignature::Sr25519(sig)) => crypto::sr25519_verify(
				&sr25519::Signature::from_raw(*sig),
				message_hash.as_bytes(),
				&sr25519::Public::from_raw(*key),
			),
			(DeviceKey::Secp256k1(key), DeviceSignature::Secp256k1(sig)) => {
				let recovered = crypto::secp256k1_ecdsa_recover_compressed(sig, &message_hash.0);
				matches!(recovered, Ok(public) if ecdsa::Public::from_raw(public).0 == *key)
			}
			_ => false,
		}
	}
}

/// Whether each `(key, message hash, signature)` verifies, as [`DeviceKey::verify`] says,
/// faster: ed25519 signatures in one batch (the same ZIP-215 rules as one by one; when
/// the batch fails, one by one to find the bad ones), the others one by one.
#[cfg(feature = "std")]
pub fn verify_many(items: &[(&DeviceKey, H256, &DeviceSignature)]) -> alloc::vec::Vec<bool> {
	let batched = batchable(items);
	let batch_verifies = ed25519_batch_verifies(items, &batched);
	items
		.iter()
		.zip(batched)
		.map(|((key, hash, signature), in_batch)| {
			(in_batch && batch_verifies) || key.verify(hash, signature)
		})
		.collect()
}

/// Which of `items` go into an ed25519 batch: the ed25519 ones, when there are at least
/// two (a batch of one costs more than checking the signature on its own).
#[cfg(feature = "std")]
fn batchable(items: &[(&DeviceKey, H256, &DeviceSignature)]) -> alloc::vec::Vec<bool> {
	let ed25519: alloc::vec::Vec<bool> = items
		.iter()
		.map(|(key, _, signature)| {
			matches!((key, signature), (DeviceKey::Ed25519(_), DeviceSignature::Ed25519(_)))
		})
		.collect();
	if ed25519.iter().filter(|e| **e).count() < 2 {
		return alloc::vec![false; items.len()];
	}
	ed25519
}

/// Whether the `batched` items all verify, as one ed25519 batch (true for none).
#[cfg(feature = "std")]
fn ed25519_batch_verifies(
	items: &[(&DeviceKey, H256, &DeviceSignature)],
	batched: &[bool],
) -> bool {
	let mut batch = ed25519_zebra::batch::Verifier::new();
	let mut queued = false;
	for ((key, hash, signature), _) in items.iter().zip(batched).filter(|(_, b)| **b) {
		if let (DeviceKey::Ed25519(key), DeviceSignature::Ed25519(sig)) = (key, signature) {
			batch.queue((
				ed25519_zebra::VerificationKeyBytes::from(*key),
				ed25519_zebra::Signature::from(*sig),
				hash.as_bytes(),
			));
			queued = true;
		}
	}
	!queued || batch.verify(rand::thread_rng()).is_ok()
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::Pair;

	fn hash() -> H256 {
		H256(blake2_256(b"a message"))
	}

	fn signed_by_each_curve() -> [(DeviceKey, DeviceSignature); 3] {
		let ed = ed25519::Pair::from_seed(&[1; 32]);
		let sr = sr25519::Pair::from_seed(&[2; 32]);
		let k1 = ecdsa::Pair::from_seed(&[3; 32]);
		[
			(
				DeviceKey::Ed25519(ed.public().0),
				DeviceSignature::Ed25519(ed.sign(hash().as_bytes()).0),
			),
			(
				DeviceKey::Sr25519(sr.public().0),
				DeviceSignature::Sr25519(sr.sign(hash().as_bytes()).0),
			),
			(
				DeviceKey::Secp256k1(k1.public().0),
				DeviceSignature::Secp256k1(k1.sign_prehashed(&hash().0).0),
			),
		]
	}

	#[test]
	fn each_curve_verifies_its_own_signature() {
		for (key, signature) in signed_by_each_curve() {
			assert!(key.verify(&hash(), &signature), "{key:?}");
		}
	}

	#[test]
	fn other_message_fails() {
		let other = H256(blake2_256(b"another message"));
		for (key, signature) in signed_by_each_curve() {
			assert!(!key.verify(&other, &signature), "{key:?}");
		}
	}

	#[test]
	fn flipped_signature_byte_fails() {
		for (key, signature) in signed_by_each_curve() {
			let flipped = match signature {
				DeviceSignature::Ed25519(mut s) => {
					s[10] ^= 1;
					DeviceSignature::Ed25519(s)
				}
				DeviceSignature::Sr25519(mut s) => {
					s[10] ^= 1;
					DeviceSignature::Sr25519(s)
				}
				DeviceSignature::Secp256k1(mut s) => {
					s[10] ^= 1;
					DeviceSignature::Secp256k1(s)
				}
			};
			assert!(!key.verify(&hash(), &flipped), "{key:?}");
		}
	}

	#[test]
	fn signature_on_another_curve_or_key_fails() {
		let signed = signed_by_each_curve();
		for (i, (key, _)) in signed.iter().enumerate() {
			for (j, (_, signature)) in signed.iter().enumerate() {
				if i != j {
					assert!(!key.verify(&hash(), signature), "key {i} accepted signature {j}");
				}
			}
		}
		let other = ed25519::Pair::from_seed(&[9; 32]);
		let forged = DeviceSignature::Ed25519(other.sign(hash().as_bytes()).0);
		assert!(!signed[0].0.verify(&hash(), &forged));
	}

	#[test]
	fn verifying_many_agrees_with_one_by_one() {
		let signed = signed_by_each_curve();
		let ed = ed25519::Pair::from_seed(&[4; 32]);
		let good_ed = (
			DeviceKey::Ed25519(ed.public().0),
			DeviceSignature::Ed25519(ed.sign(hash().as_bytes()).0),
		);
		let mut cases: Vec<(DeviceKey, H256, DeviceSignature)> =
			signed.iter().map(|(k, s)| (k.clone(), hash(), s.clone())).collect();
		cases.push((good_ed.0.clone(), hash(), good_ed.1.clone()));
		// A bad ed25519 signature in the batch, and a good one for another message.
		cases.push((good_ed.0.clone(), H256::repeat_byte(7), good_ed.1.clone()));
		cases.push((signed[1].0.clone(), H256::repeat_byte(7), signed[1].1.clone()));
		let items: Vec<_> = cases.iter().map(|(k, h, s)| (k, *h, s)).collect();
		let expected: Vec<bool> = cases.iter().map(|(k, h, s)| k.verify(h, s)).collect();
		assert_eq!(expected, [true, true, true, true, false, false]);
		assert_eq!(verify_many(&items), expected);
		// An all-good ed25519 batch.
		assert_eq!(verify_many(&items[..4]), [true; 4]);
		// Two ed25519 signatures, one bad: the batch fails, each is checked on its own.
		assert_eq!(verify_many(&items[3..5]), [true, false]);
		// A lone ed25519 signature, good or bad, is checked on its own.
		assert_eq!(verify_many(&items[4..5]), [false]);
		assert_eq!(verify_many(&items[3..4]), [true]);
		assert!(verify_many(&[]).is_empty());
	}

	#[test]
	fn device_id_depends_on_curve_and_key() {
		assert_ne!(
			DeviceKey::Ed25519([1; 32]).device_id(),
			DeviceKey::Sr25519([1; 32]).device_id()
		);
		assert_ne!(
			DeviceKey::Ed25519([1; 32]).device_id(),
			DeviceKey::Ed25519([2; 32]).device_id()
		);
	}
}
