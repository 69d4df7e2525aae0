//! Content identifiers: CIDv1, raw codec, sha2-256 multihash: the CIDs
//! `ipfs add --raw-leaves --cid-version 1` gives a blob that fits one block. Encoding and
//! parsing go through the `cid` and `multihash` crates (IPFS's own implementation, the
//! one libp2p already brings); this type only narrows them to what the VFS stores.

use std::{fmt, str::FromStr};

use sha2::{Digest, Sha256};

/// The raw-bytes codec of the multicodec table.
const RAW: u64 = 0x55;
/// sha2-256 in the multihash table.
const SHA2_256: u64 = 0x12;

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

	fn to_cid(self) -> cid::Cid {
		let hash = cid::multihash::Multihash::<64>::wrap(SHA2_256, &self.0)
			.expect("a 32-byte digest fits a 64-byte multihash");
		cid::Cid::new_v1(RAW, hash)
	}

	fn from_cid(cid: cid::Cid) -> Result<Self, CidError> {
		let hash = cid.hash();
		if cid.version() != cid::Version::V1 || cid.codec() != RAW || hash.code() != SHA2_256 {
			return Err(CidError::Unsupported);
		}
		Ok(Cid(hash.digest().try_into().map_err(|_| CidError::Unsupported)?))
	}

	/// The binary CID (36 bytes), as the chain stores it.
	pub fn to_bytes(&self) -> Vec<u8> {
		self.to_cid().to_bytes()
	}

	/// Parses a binary CIDv1 raw sha2-256 (nothing may follow it).
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, CidError> {
		let cid = cid::Cid::try_from(bytes).map_err(|_| CidError::Unsupported)?;
		if cid.encoded_len() != bytes.len() {
			return Err(CidError::Unsupported);
		}
		Self::from_cid(cid)
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

impl fmt::Display for Cid {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		// A CIDv1's default text form is lower-case base32 with the `b` prefix.
		fmt::Display::fmt(&self.to_cid(), f)
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
		match cid::multibase::decode(text) {
			Ok((cid::multibase::Base::Base32Lower, bytes)) => Cid::from_bytes(&bytes),
			_ => Err(CidError::BadText),
		}
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
