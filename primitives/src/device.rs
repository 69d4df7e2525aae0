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
