//! Content identifiers: CIDv1, raw codec, sha2-256 multihash: the CIDs
//! `ipfs add --raw-leaves --cid-version 1` gives a blob that fits one block.

use std::{fmt, str::FromStr};

use sha2::{Digest, Sha256};

/// CIDv1 prefix: version 1, raw codec (0x55), sha2-256 (0x12), 32-byte digest.
const PREFIX: [u8; 4] = [0x01, 0x55, 0x12, 0x20];

/// A CIDv1 (raw, sha2-256). Its text form is multibase base32 (`b...`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid([u8; 32]);

impl Cid {
	/// The CID of `data`.
	pub fn of(data: &[u8]) -> Self {
		Cid(Sha256::digest(data).into())
	}

	/// The sha2-256 digest.
	pub fn digest(&self) -> &[u8; 32] {
		&self.0
	}

	/// The binary CID (36 bytes), as the chain stores it.
	pub fn to_bytes(&self) -> Vec<u8> {
		[&PREFIX[..], &self.0].concat()
	}

	/// Parses a binary CIDv1 raw sha2-256.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, CidError> {
		match bytes.strip_prefix(&PREFIX[..]) {
			Some(digest) if digest.len() == 32 => {
				Ok(Cid(digest.try_into().expect("checked length")))
			}
			_ => Err(CidError::Unsupported),
		}
	}
}

/// Why a CID was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidError {
	/// Not a CIDv1 with the raw codec and a sha2-256 multihash.
	#[error("not a CIDv1 raw sha2-256")]
	Unsupported,
	/// Not multibase base32 (`b` followed by lower-case RFC 4648 base32).
	#[error("not a base32 CID string")]
	BadText,
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

impl fmt::Display for Cid {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		let bytes = self.to_bytes();
		let mut text = String::with_capacity(1 + bytes.len() * 8 / 5 + 1);
		text.push('b');
		let (mut acc, mut bits) = (0u32, 0u32);
		for byte in bytes {
			acc = (acc << 8) | u32::from(byte);
			bits += 8;
			while bits >= 5 {
				bits -= 5;
				text.push(BASE32[((acc >> bits) & 31) as usize] as char);
			}
		}
		if bits > 0 {
			text.push(BASE32[((acc << (5 - bits)) & 31) as usize] as char);
		}
		f.write_str(&text)
	}
}

impl fmt::Debug for Cid {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		fmt::Display::fmt(self, f)
	}
}

impl FromStr for Cid {
	type Err = CidError;

	fn from_str(text: &str) -> Result<Self, CidError> {
		let body = text.strip_prefix('b').ok_or(CidError::BadText)?;
		let mut bytes = Vec::with_capacity(body.len() * 5 / 8);
		let (mut acc, mut bits) = (0u32, 0u32);
		for c in body.bytes() {
			let v = BASE32.iter().position(|b| *b == c).ok_or(CidError::BadText)? as u32;
			acc = (acc << 5) | v;
			bits += 5;
			if bits >= 8 {
				bits -= 8;
				bytes.push((acc >> bits) as u8);
			}
		}
		Cid::from_bytes(&bytes)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn matches_ipfs_for_known_blobs() {
		// `echo -n hello | ipfs add --raw-leaves --cid-version 1 -Q`
		assert_eq!(
			Cid::of(b"hello").to_string(),
			"bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"
		);
		// The empty blob.
		assert_eq!(
			Cid::of(b"").to_string(),
			"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
		);
	}

	#[test]
	fn text_and_bytes_round_trip_and_bad_input_is_refused() {
		let cid = Cid::of(b"w3bstream");
		assert_eq!(cid.to_string().parse::<Cid>(), Ok(cid));
		assert_eq!(Cid::from_bytes(&cid.to_bytes()), Ok(cid));
		assert_eq!("Qmabc".parse::<Cid>(), Err(CidError::BadText));
		assert_eq!("b!!".parse::<Cid>(), Err(CidError::BadText));
		assert_eq!("baaaa".parse::<Cid>(), Err(CidError::Unsupported));
		let mut dag_pb = cid.to_bytes();
		dag_pb[1] = 0x70;
		assert_eq!(Cid::from_bytes(&dag_pb), Err(CidError::Unsupported));
	}
}
