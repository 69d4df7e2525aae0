//! Batch bodies: the messages of a sealed batch, SCALE encoded and stored in the VFS
//! under their CID, and how a body from any source is checked against its commitment
//! before anything reads it.

use codec::{Decode, DecodeAll, Encode};
use sp_core::H256;
use w3b_primitives::{merkle::merkle_root, BatchHeader};

use crate::{Cid, StoredMessage, Vfs};

/// A batch body: the messages in batch order.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BatchBody {
	/// The messages, with their signatures (anyone can re-verify them).
	pub messages: Vec<StoredMessage>,
}

impl BatchBody {
	/// The message hashes in batch order.
	pub fn hashes(&self) -> Vec<H256> {
		self.messages.iter().map(|m| m.message.hash()).collect()
	}

	/// The signed message hashes in batch order: the items of the batch's Merkle tree.
	pub fn leaves(&self) -> Vec<H256> {
		self.messages.iter().map(StoredMessage::signed_hash).collect()
	}
}

/// Why a body does not match its commitment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
	/// The commitment's CID is not one this node can fetch.
	#[error("the commitment's CID is not a CIDv1 raw sha2-256")]
	UnsupportedCid,
	/// The bytes do not hash to the commitment's CID.
	#[error("the body does not hash to its CID")]
	Cid,
	/// Not as many bytes as committed.
	#[error("the body is {actual} bytes, {committed} committed")]
	Size {
		/// Bytes received.
		actual: u64,
		/// Bytes committed.
		committed: u64,
	},
	/// The bytes are not a SCALE [`BatchBody`].
	#[error("not a batch body")]
	Undecodable,
	/// Not as many messages as committed.
	#[error("the body holds {actual} messages, {committed} committed")]
	Count {
		/// Messages in the body.
		actual: u64,
		/// Messages committed.
		committed: u32,
	},
	/// The message hashes do not have the committed Merkle root.
	#[error("the messages do not have the committed Merkle root")]
	MerkleRoot,
}

/// The commitment's CID as the VFS names it.
pub fn cid_of(header: &BatchHeader) -> Result<Cid, BodyError> {
	Cid::from_bytes(&header.cid).map_err(|_| BodyError::UnsupportedCid)
}

/// Decodes body `bytes` and checks them against the commitment: CID, size, count and
/// Merkle root. What each message says is not checked here: a committed body may hold
/// messages that do not count, and every operator must see the same body to drop them.
pub fn check_body(header: &BatchHeader, bytes: &[u8]) -> Result<BatchBody, BodyError> {
	if bytes.len() as u64 != header.bytes {
		return Err(BodyError::Size { actual: bytes.len() as u64, committed: header.bytes });
	}
	if Cid::of(bytes) != cid_of(header)? {
		return Err(BodyError::Cid);
	}
	// The whole of it: bytes left after the body would make another encoding of it.
	let body = BatchBody::decode_all(&mut &*bytes).map_err(|_| BodyError::Undecodable)?;
	if body.messages.len() as u64 != u64::from(header.count) {
		return Err(BodyError::Count {
			actual: body.messages.len() as u64,
			committed: header.count,
		});
	}
	if merkle_root(&body.leaves()) != header.merkle_root {
		return Err(BodyError::MerkleRoot);
	}
	Ok(body)
}

/// Why a body could not be loaded from the VFS.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
	/// The VFS failed.
	#[error("VFS: {0}")]
	Vfs(#[from] std::io::Error),
	/// What the VFS holds under the CID does not match the commitment.
	#[error(transparent)]
	Body(#[from] BodyError),
}

/// The body of a committed batch from the VFS, checked against its commitment; `None`
/// when the VFS does not have it.
pub fn load_body(vfs: &dyn Vfs, header: &BatchHeader) -> Result<Option<BatchBody>, LoadError> {
	let Some(bytes) = vfs.get(&cid_of(header)?)? else { return Ok(None) };
	Ok(Some(check_body(header, &bytes)?))
}
