//! The project's key-value state as the applets see it through `ws_get_db` /
//! `ws_set_db`: a read-only base (the state after the last finalized batch) with the
//! batch's writes layered on top.

use std::collections::{BTreeMap, HashMap};

use codec::Encode;
use sp_core::H256;

/// Domain tag of the state root.
const STATE_ROOT_TAG: &[u8] = b"w3b/state/v2";

/// The state a batch starts from.
pub trait StateView: Send + Sync {
	/// The value under `key`.
	fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
}

impl StateView for HashMap<Vec<u8>, Vec<u8>> {
	fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
		HashMap::get(self, key).cloned()
	}
}

impl StateView for BTreeMap<Vec<u8>, Vec<u8>> {
	fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
		BTreeMap::get(self, key).cloned()
	}
}

/// Writes of a batch (or of one event), in key order so that they hash the same on every
/// operator.
pub type Writes = BTreeMap<Vec<u8>, Vec<u8>>;

/// What a batch did to its project's state, as the state root commits to it.
pub struct Transition<'a> {
	/// The root before the batch.
	pub previous: &'a H256,
	/// The batch's Merkle root: the data it ran on.
	pub merkle_root: &'a H256,
	/// Which of its messages counted ([`w3b_primitives::validity::verdicts_digest`]):
	/// the devices' replay windows follow from them.
	pub verdicts: &'a H256,
	/// The key-value writes of its successful events.
	pub writes: &'a Writes,
	/// The digest of the SQL statements they executed.
	pub sql_digest: &'a H256,
}

/// The root after a batch: `blake2_256("w3b/state/v2" ++ previous root ++ Merkle root ++
/// verdicts ++ SCALE(writes in key order) ++ SQL log digest)`.
///
/// It commits to the whole history of the project's state (every operator that agrees on
/// the previous root, runs the same data, counts the same messages and applies the same
/// writes agrees on the next), without having to hash the whole state each batch. A node
/// that holds the previous root checks a peer's writes for a batch against the agreed
/// root with it.
pub fn state_root(transition: &Transition<'_>) -> H256 {
	let Transition { previous, merkle_root, verdicts, writes, sql_digest } = transition;
	let mut buf = Vec::with_capacity(STATE_ROOT_TAG.len() + 128 + writes.encoded_size());
	buf.extend_from_slice(STATE_ROOT_TAG);
	buf.extend_from_slice(previous.as_bytes());
	buf.extend_from_slice(merkle_root.as_bytes());
	buf.extend_from_slice(verdicts.as_bytes());
	let pairs: Vec<(&Vec<u8>, &Vec<u8>)> = writes.iter().collect();
	pairs.encode_to(&mut buf);
	buf.extend_from_slice(sql_digest.as_bytes());
	H256(sp_crypto_hashing::blake2_256(&buf))
}
