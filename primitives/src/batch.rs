//! Batch headers (what `commitments::commit_batch` records) and the result digest
//! operators sign.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{ConstU32, H256};
use sp_io::hashing::blake2_256;
use sp_runtime::BoundedVec;

use crate::ProjectId;

/// Domain tag of [`ResultDigest::hash`].
const RESULT_DIGEST_TAG: &[u8] = b"w3b/result/v1";

/// Largest CID the chain stores (a CIDv1 with a sha2-256 multihash is 36 bytes).
pub type MaxCidLen = ConstU32<64>;

/// Most messages a batch may hold (the chain refuses larger commitments).
pub const MAX_BATCH_MESSAGES: u32 = 20_000;
/// Largest batch body, in bytes (the chain refuses larger commitments, peers serve and
/// accept no larger bodies). Sealing stays well below it.
pub const MAX_BATCH_BYTES: u64 = 32 << 20;

/// How the CID of every batch body begins: CIDv1, raw codec (0x55), sha2-256 (0x12) of
/// 32 bytes (0x20). The 32-byte digest follows.
pub const BODY_CID_PREFIX: [u8; 4] = [0x01, 0x55, 0x12, 0x20];

/// Whether `cid` is the CID of a batch body: [`BODY_CID_PREFIX`] and a 32-byte digest.
/// Anything else names a body no operator could fetch or check.
pub fn is_body_cid(cid: &[u8]) -> bool {
	cid.len() == BODY_CID_PREFIX.len() + 32 && cid.starts_with(&BODY_CID_PREFIX)
}

/// Content identifier of a batch body in the VFS (CIDv1 bytes).
pub type Cid = BoundedVec<u8, MaxCidLen>;

/// The header of a sealed batch: enough to check any message against it, nothing of
/// the data itself.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct BatchHeader {
	/// The project.
	pub project: ProjectId,
	/// Batch number within the project, from 0 without gaps.
	pub seq: u64,
	/// Merkle root over the message hashes, in batch order ([`crate::merkle`]).
	pub merkle_root: H256,
	/// Number of messages.
	pub count: u32,
	/// Total size of the batch body in bytes.
	pub bytes: u64,
	/// Where the body is stored.
	pub cid: Cid,
}

/// What an operator attests: this batch, run by the project's applets, gave this
/// output root.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct ResultDigest {
	/// The project.
	pub project: ProjectId,
	/// The batch number.
	pub batch_seq: u64,
	/// The batch's Merkle root (binds the result to the data, not just the number).
	pub merkle_root: H256,
	/// Root over the applets' outputs and the new state.
	pub output_root: H256,
}

impl ResultDigest {
	/// `blake2_256("w3b/result/v1" ++ SCALE(digest))`: what operators and, for the
	/// bridge, validators sign.
	pub fn hash(&self) -> H256 {
		let mut buf = alloc::vec::Vec::with_capacity(RESULT_DIGEST_TAG.len() + self.encoded_size());
		buf.extend_from_slice(RESULT_DIGEST_TAG);
		self.encode_to(&mut buf);
		H256(blake2_256(&buf))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn result_digest_binds_every_field() {
		let base = ResultDigest {
			project: 1,
			batch_seq: 2,
			merkle_root: H256::repeat_byte(3),
			output_root: H256::repeat_byte(4),
		};
		let changed = [
			ResultDigest { project: 9, ..base.clone() },
			ResultDigest { batch_seq: 9, ..base.clone() },
			ResultDigest { merkle_root: H256::repeat_byte(9), ..base.clone() },
			ResultDigest { output_root: H256::repeat_byte(9), ..base.clone() },
		];
		for other in changed {
			assert_ne!(other.hash(), base.hash());
		}
	}
}
