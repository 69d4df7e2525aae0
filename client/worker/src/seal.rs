//! Sealing: the messages of a project received so far, in arrival order, become a batch:
//! their Merkle root (over message hashes), the body (the stored messages, SCALE
//! encoded) pinned in the VFS under its CID, and the batch recorded in the message store
//! under a local number so that a restart neither loses nor re-seals it. The chain gives
//! the batch its project-wide number when it includes the commitment.

use codec::{Decode, Encode};
use sp_core::H256;
use w3b_primitives::{merkle::merkle_root, BatchHeader, ProjectId};
use w3b_storage::{Cid, MessageStore, StoreError, StoredMessage, Vfs};

/// A batch body: the messages in batch order.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BatchBody {
	/// The messages, with their signatures (anyone can re-verify them).
	pub messages: Vec<StoredMessage>,
}

/// A sealed batch, ready for `commitments.commit_batch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBatch {
	/// The project.
	pub project: ProjectId,
	/// Its number in this node's message store (not the chain's batch number).
	pub local_seq: u64,
	/// Merkle root over the message hashes in batch order.
	pub merkle_root: H256,
	/// Number of messages.
	pub count: u32,
	/// Size of the body in bytes.
	pub bytes: u64,
	/// CIDv1 of the body.
	pub cid: w3b_primitives::Cid,
	/// The message hashes in batch order.
	pub messages: Vec<H256>,
}

impl SealedBatch {
	/// Its header once the chain numbered it `seq`.
	pub fn header(&self, seq: u64) -> BatchHeader {
		BatchHeader {
			project: self.project,
			seq,
			merkle_root: self.merkle_root,
			count: self.count,
			bytes: self.bytes,
			cid: self.cid.clone(),
		}
	}
}

/// Why sealing or loading a batch failed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
	/// The message store failed.
	#[error(transparent)]
	Store(#[from] StoreError),
	/// The VFS failed.
	#[error("VFS: {0}")]
	Vfs(#[from] std::io::Error),
	/// A pending message vanished from the store.
	#[error("message {0:?} is pending but not stored")]
	Missing(H256),
	/// The body does not match what was committed.
	#[error("batch body does not match its commitment: {0}")]
	Mismatch(&'static str),
}

/// Seals local batch `local_seq` of `project` from at most `max_messages` pending
/// messages. If it is already sealed (a crash after sealing, before the commitment was
/// included), returns that batch again instead of sealing another. `None` when nothing
/// is pending.
pub fn seal_batch(
	store: &dyn MessageStore,
	vfs: &dyn Vfs,
	project: ProjectId,
	local_seq: u64,
	max_messages: usize,
) -> Result<Option<SealedBatch>, SealError> {
	let (hashes, fresh) = match store.batch(project, local_seq)? {
		Some(sealed) => (sealed, false),
		None => {
			let mut pending = store.pending(project)?;
			if pending.is_empty() {
				return Ok(None);
			}
			pending.truncate(max_messages);
			(pending, true)
		}
	};
	// Body first: a crash before the seal leaves an unreferenced blob, never a sealed
	// batch without its body.
	let body = encode_body(store, &hashes)?;
	let cid = vfs.put(&body)?;
	vfs.pin(&cid)?;
	if fresh {
		store.seal(project, local_seq, hashes.clone())?;
	}
	Ok(Some(SealedBatch {
		project,
		local_seq,
		merkle_root: merkle_root(&hashes),
		count: hashes.len() as u32,
		bytes: body.len() as u64,
		cid: cid.to_bytes().try_into().expect("a CIDv1 is 36 bytes"),
		messages: hashes,
	}))
}

fn encode_body(store: &dyn MessageStore, hashes: &[H256]) -> Result<Vec<u8>, SealError> {
	let messages = hashes
		.iter()
		.map(|h| store.get(h)?.ok_or(SealError::Missing(*h)))
		.collect::<Result<Vec<_>, _>>()?;
	Ok(BatchBody { messages }.encode())
}

/// Loads the body of a committed batch from the VFS and checks it against the
/// commitment: CID, size, count and Merkle root. `None` when the VFS does not have it.
pub fn load_body(vfs: &dyn Vfs, header: &BatchHeader) -> Result<Option<BatchBody>, SealError> {
	let cid = Cid::from_bytes(&header.cid).map_err(|_| SealError::Mismatch("unsupported CID"))?;
	let Some(bytes) = vfs.get(&cid)? else { return Ok(None) };
	check_body(header, &bytes).map(Some)
}

/// Decodes a batch body and checks it against the commitment: size, count, Merkle root
/// and project (the caller checks the CID of bytes from an untrusted source).
pub fn check_body(header: &BatchHeader, bytes: &[u8]) -> Result<BatchBody, SealError> {
	if bytes.len() as u64 != header.bytes {
		return Err(SealError::Mismatch("size"));
	}
	let body =
		BatchBody::decode(&mut &*bytes).map_err(|_| SealError::Mismatch("not a batch body"))?;
	let hashes: Vec<H256> = body.messages.iter().map(|m| m.message.hash()).collect();
	if hashes.len() as u32 != header.count {
		return Err(SealError::Mismatch("message count"));
	}
	if merkle_root(&hashes) != header.merkle_root {
		return Err(SealError::Mismatch("Merkle root"));
	}
	if body.messages.iter().any(|m| m.message.project != header.project) {
		return Err(SealError::Mismatch("a message of another project"));
	}
	Ok(body)
}

#[cfg(test)]
mod tests {
	use super::*;
	use w3b_primitives::{merkle, DeviceSignature, Message};
	use w3b_storage::{EmbeddedStore, FsVfs};

	fn stored(seq: u64) -> StoredMessage {
		StoredMessage {
			message: Message {
				project: 1,
				device: H256::repeat_byte(1),
				seq,
				timestamp_ms: seq,
				event_type: b"DEFAULT".to_vec(),
				payload: seq.to_le_bytes().to_vec(),
				encrypted: false,
			},
			signature: DeviceSignature::Ed25519([1; 64]),
			received_ms: 0,
		}
	}

	#[test]
	fn sealing_is_ordered_bounded_provable_and_restart_safe() {
		let dir = tempfile::tempdir().unwrap();
		let store = EmbeddedStore::open(&dir.path().join("store")).unwrap();
		let vfs = FsVfs::open(&dir.path().join("vfs")).unwrap();
		assert!(seal_batch(&store, &vfs, 1, 0, 10).unwrap().is_none(), "nothing pending");
		store.append((1..=5).map(stored).collect()).unwrap();
		let sealed = seal_batch(&store, &vfs, 1, 0, 3).unwrap().unwrap();
		assert_eq!(sealed.count, 3);
		assert_eq!(sealed.messages, store.batch(1, 0).unwrap().unwrap());
		assert_eq!(store.pending(1).unwrap().len(), 2);
		// Every message is provable against the root.
		for (i, hash) in sealed.messages.iter().enumerate() {
			let proof = merkle::merkle_proof(&sealed.messages, i).unwrap();
			assert!(merkle::verify_proof(&sealed.merkle_root, 3, hash, &proof));
		}
		// Sealing the same seq again (after a crash) gives the same batch, not a new one.
		drop(store);
		let store = EmbeddedStore::open(&dir.path().join("store")).unwrap();
		assert_eq!(seal_batch(&store, &vfs, 1, 0, 3).unwrap().unwrap(), sealed);
		assert_eq!(store.pending(1).unwrap().len(), 2);
		// The body loads back and matches; the next batch takes the rest.
		let body = load_body(&vfs, &sealed.header(0)).unwrap().unwrap();
		assert_eq!(body.messages.iter().map(|m| m.message.seq).collect::<Vec<_>>(), [1, 2, 3]);
		let next = seal_batch(&store, &vfs, 1, 1, 10).unwrap().unwrap();
		assert_eq!(next.count, 2);
	}

	#[test]
	fn bodies_that_do_not_match_their_commitment_are_refused() {
		let dir = tempfile::tempdir().unwrap();
		let store = EmbeddedStore::open(&dir.path().join("store")).unwrap();
		let vfs = FsVfs::open(&dir.path().join("vfs")).unwrap();
		store.append((1..=3).map(stored).collect()).unwrap();
		let sealed = seal_batch(&store, &vfs, 1, 0, 10).unwrap().unwrap();
		let wrong = |f: fn(&mut BatchHeader)| {
			let mut header = sealed.header(0);
			f(&mut header);
			load_body(&vfs, &header)
		};
		assert!(matches!(
			wrong(|h| h.merkle_root = H256::zero()),
			Err(SealError::Mismatch("Merkle root"))
		));
		assert!(matches!(wrong(|h| h.count = 2), Err(SealError::Mismatch("message count"))));
		assert!(matches!(wrong(|h| h.bytes += 1), Err(SealError::Mismatch("size"))));
		assert!(matches!(
			wrong(|h| h.project = 2),
			Err(SealError::Mismatch("a message of another project"))
		));
		// A body the VFS does not have is not an error: fetch it from a peer.
		let other = Cid::of(b"elsewhere").to_bytes().try_into().unwrap();
		assert!(wrong_cid(&vfs, &sealed.header(0), other).unwrap().is_none());
	}

	fn wrong_cid(
		vfs: &dyn Vfs,
		header: &BatchHeader,
		cid: w3b_primitives::Cid,
	) -> Result<Option<BatchBody>, SealError> {
		load_body(vfs, &BatchHeader { cid, ..header.clone() })
	}
}
