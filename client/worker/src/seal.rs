//! Sealing: the messages of a project received so far, in arrival order, become a batch:
//! their Merkle root (over message hashes), the body (the stored messages, SCALE
//! encoded) pinned in the VFS under its CID, and the batch recorded in the message store
//! under a local number so that a restart neither loses nor re-seals it. The chain gives
//! the batch its project-wide number when it includes the commitment.

use codec::{Compact, Encode};
use sp_core::H256;
use w3b_primitives::{merkle::merkle_root, BatchHeader, ProjectId};
use w3b_storage::{BatchBody, MessageStore, StoreError, Vfs};

/// A sealed batch, ready for `commitments.commit_batch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBatch {
	/// The project.
	pub project: ProjectId,
	/// Its number in this node's message store (not the chain's batch number).
	pub local_seq: u64,
	/// Merkle root over the signed message hashes in batch order.
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

/// Why sealing a batch failed.
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
}

/// How large a freshly sealed batch may grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
	/// Most messages.
	pub max_messages: usize,
	/// Most bytes of body (a single message larger than this still makes a batch).
	pub max_bytes: u64,
}

/// Seals local batch `local_seq` of `project` from the oldest pending messages, within
/// `limits`. If it is already sealed (a crash after sealing, before the commitment was
/// included), returns that batch again instead of sealing another. `None` when nothing
/// is pending.
pub fn seal_batch(
	store: &dyn MessageStore,
	vfs: &dyn Vfs,
	project: ProjectId,
	local_seq: u64,
	limits: BatchLimits,
) -> Result<Option<SealedBatch>, SealError> {
	let (hashes, body, fresh) = match store.batch(project, local_seq)? {
		Some(sealed) => {
			let body = sealed_body(store, &sealed)?;
			(sealed, body, false)
		}
		None => {
			let pending = store.pending(project)?;
			if pending.is_empty() {
				return Ok(None);
			}
			let body = fresh_body(store, &pending, limits)?;
			(pending[..body.messages.len()].to_vec(), body, true)
		}
	};
	// Body first: a crash before the seal leaves an unreferenced blob, never a sealed
	// batch without its body.
	let root = merkle_root(&body.leaves());
	let body = body.encode();
	let cid = vfs.put(&body)?;
	if fresh {
		store.seal(project, local_seq, hashes.clone())?;
	}
	Ok(Some(SealedBatch {
		project,
		local_seq,
		merkle_root: root,
		count: hashes.len() as u32,
		bytes: body.len() as u64,
		cid: cid.to_bytes().try_into().expect("a CIDv1 is 36 bytes"),
		messages: hashes,
	}))
}

fn sealed_body(store: &dyn MessageStore, hashes: &[H256]) -> Result<BatchBody, SealError> {
	let messages = hashes
		.iter()
		.map(|h| store.get(h)?.ok_or(SealError::Missing(*h)))
		.collect::<Result<Vec<_>, _>>()?;
	Ok(BatchBody { messages })
}

/// The oldest of `pending` that fit `limits` (at least one).
fn fresh_body(
	store: &dyn MessageStore,
	pending: &[H256],
	limits: BatchLimits,
) -> Result<BatchBody, SealError> {
	let mut messages = Vec::new();
	// The body's encoding: the compact length prefix, then each message.
	let mut bytes = Compact(pending.len().min(limits.max_messages) as u32).encoded_size() as u64;
	for hash in pending.iter().take(limits.max_messages.max(1)) {
		let message = store.get(hash)?.ok_or(SealError::Missing(*hash))?;
		bytes += message.encoded_size() as u64;
		if bytes > limits.max_bytes && !messages.is_empty() {
			break;
		}
		messages.push(message);
	}
	Ok(BatchBody { messages })
}

#[cfg(test)]
mod tests {
	use super::*;
	use w3b_primitives::{merkle, DeviceSignature, Message};
	use w3b_storage::{load_body, BodyError, Cid, EmbeddedStore, FsVfs, StoredMessage};

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

	fn count(max_messages: usize) -> BatchLimits {
		BatchLimits { max_messages, max_bytes: u64::MAX }
	}

	#[test]
	fn sealing_is_ordered_bounded_provable_and_restart_safe() {
		let dir = tempfile::tempdir().unwrap();
		let store = EmbeddedStore::open(&dir.path().join("store")).unwrap();
		let vfs = FsVfs::open(&dir.path().join("vfs")).unwrap();
		assert!(seal_batch(&store, &vfs, 1, 0, count(10)).unwrap().is_none(), "nothing pending");
		store.append((1..=5).map(stored).collect()).unwrap();
		let sealed = seal_batch(&store, &vfs, 1, 0, count(3)).unwrap().unwrap();
		assert_eq!(sealed.count, 3);
		assert_eq!(sealed.messages, store.batch(1, 0).unwrap().unwrap());
		assert_eq!(store.pending(1).unwrap().len(), 2);
		// Every message, with its signature, is provable against the root.
		let leaves: Vec<H256> = sealed
			.messages
			.iter()
			.map(|hash| store.get(hash).unwrap().unwrap().signed_hash())
			.collect();
		for (i, leaf) in leaves.iter().enumerate() {
			let proof = merkle::merkle_proof(&leaves, i).unwrap();
			assert!(merkle::verify_proof(&sealed.merkle_root, 3, leaf, &proof));
		}
		// Sealing the same seq again (after a crash) gives the same batch, not a new one.
		drop(store);
		let store = EmbeddedStore::open(&dir.path().join("store")).unwrap();
		assert_eq!(seal_batch(&store, &vfs, 1, 0, count(3)).unwrap().unwrap(), sealed);
		assert_eq!(store.pending(1).unwrap().len(), 2);
		// The body loads back and matches; the next batch takes the rest.
		let body = load_body(&vfs, &sealed.header(0)).unwrap().unwrap();
		assert_eq!(body.messages.iter().map(|m| m.message.seq).collect::<Vec<_>>(), [1, 2, 3]);
		let next = seal_batch(&store, &vfs, 1, 1, count(10)).unwrap().unwrap();
		assert_eq!(next.count, 2);
	}

	#[test]
	fn sealing_caps_a_batch_by_bytes() {
		let dir = tempfile::tempdir().unwrap();
		let store = EmbeddedStore::open(&dir.path().join("store")).unwrap();
		let vfs = FsVfs::open(&dir.path().join("vfs")).unwrap();
		store.append((1..=10).map(stored).collect()).unwrap();
		let one = stored(1).encoded_size() as u64;
		let limits = BatchLimits { max_messages: 100, max_bytes: 1 + 3 * one };
		let sealed = seal_batch(&store, &vfs, 1, 0, limits).unwrap().unwrap();
		assert_eq!(sealed.count, 3);
		assert!(sealed.bytes <= limits.max_bytes, "{} > {}", sealed.bytes, limits.max_bytes);
		// A message larger than the cap still makes a batch of its own.
		let tiny = BatchLimits { max_messages: 100, max_bytes: 1 };
		assert_eq!(seal_batch(&store, &vfs, 1, 1, tiny).unwrap().unwrap().count, 1);
	}

	#[test]
	fn bodies_that_do_not_match_their_commitment_are_refused() {
		let dir = tempfile::tempdir().unwrap();
		let store = EmbeddedStore::open(&dir.path().join("store")).unwrap();
		let vfs = FsVfs::open(&dir.path().join("vfs")).unwrap();
		store.append((1..=3).map(stored).collect()).unwrap();
		let sealed = seal_batch(&store, &vfs, 1, 0, count(10)).unwrap().unwrap();
		let wrong = |f: fn(&mut BatchHeader)| {
			let mut header = sealed.header(0);
			f(&mut header);
			load_body(&vfs, &header).map_err(|e| match e {
				w3b_storage::LoadError::Body(e) => e,
				other => panic!("{other}"),
			})
		};
		assert_eq!(wrong(|h| h.merkle_root = H256::zero()), Err(BodyError::MerkleRoot));
		assert_eq!(wrong(|h| h.count = 2), Err(BodyError::Count { actual: 3, committed: 2 }));
		assert!(matches!(wrong(|h| h.bytes += 1), Err(BodyError::Size { .. })));
		// A body the VFS does not have is not an error: fetch it from a peer.
		let mut elsewhere = sealed.header(0);
		elsewhere.cid = Cid::of(b"elsewhere").to_bytes().try_into().unwrap();
		assert!(load_body(&vfs, &elsewhere).unwrap().is_none());
		// Bytes that do not hash to the CID are refused whatever else they match.
		let bytes = vfs.get(&Cid::from_bytes(&sealed.cid).unwrap()).unwrap().unwrap();
		assert_eq!(w3b_storage::check_body(&elsewhere, &bytes), Err(BodyError::Cid));
	}
}
