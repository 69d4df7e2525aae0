//! Batch commitments, applet outputs and proofs: what `pallets/commitments` and
//! `pallets/attestations` record.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{ConstU32, H256};
use sp_io::hashing::blake2_256;
use sp_runtime::BoundedVec;

use crate::BatchHeader;

/// Domain tag of [`outputs_hash`].
const OUTPUTS_TAG: &[u8] = b"w3b/outputs/v1";
/// Domain tag of [`output_root`].
const OUTPUT_ROOT_TAG: &[u8] = b"w3b/output-root/v1";

/// Most outputs (bridge requests from `ws_send_tx`) one batch may produce on chain.
pub type MaxOutputs = ConstU32<16>;
/// Largest single output, in bytes.
pub type MaxOutputLen = ConstU32<1024>;
/// One output: the payload an applet handed to `ws_send_tx`.
pub type Output = BoundedVec<u8, MaxOutputLen>;
/// The outputs of one batch, in execution order.
pub type Outputs = BoundedVec<Output, MaxOutputs>;

/// `blake2_256("w3b/outputs/v1" ++ SCALE(outputs))`.
pub fn outputs_hash(outputs: &[Output]) -> H256 {
	let mut buf = alloc::vec::Vec::with_capacity(OUTPUTS_TAG.len() + outputs.encoded_size());
	buf.extend_from_slice(OUTPUTS_TAG);
	outputs.encode_to(&mut buf);
	H256(blake2_256(&buf))
}

/// The root operators attest for a batch: `blake2_256("w3b/output-root/v1" ++
/// state_root ++ outputs_hash(outputs))`, binding the applets' outputs and the project
/// state they leave behind.
pub fn output_root(state_root: &H256, outputs: &[Output]) -> H256 {
	let mut buf = [0u8; OUTPUT_ROOT_TAG.len() + 64];
	buf[..OUTPUT_ROOT_TAG.len()].copy_from_slice(OUTPUT_ROOT_TAG);
	buf[OUTPUT_ROOT_TAG.len()..OUTPUT_ROOT_TAG.len() + 32].copy_from_slice(state_root.as_bytes());
	buf[OUTPUT_ROOT_TAG.len() + 32..].copy_from_slice(outputs_hash(outputs).as_bytes());
	H256(blake2_256(&buf))
}

/// The root a vote names when the voter could not get the batch's body: a constant no
/// [`output_root`] can equal (no hash with that function's domain tag).
pub fn unavailable_root() -> H256 {
	H256(blake2_256(b"w3b/unavailable/v1"))
}

/// A committed batch.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Commitment<AccountId, BlockNumber> {
	/// What was committed.
	pub header: BatchHeader,
	/// The operator that sealed and committed it.
	pub committer: AccountId,
	/// Block it was committed in.
	pub committed_at: BlockNumber,
	/// Time of that block, in milliseconds since the Unix epoch (drives retention).
	pub committed_at_ms: u64,
}

/// A proof finalized in a block, as its `ProofFinalized` event tells it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub struct FinalizedProof<AccountId> {
	/// The project.
	pub project: crate::ProjectId,
	/// The batch.
	pub batch_seq: u64,
	/// The agreed output root.
	pub output_root: H256,
	/// Votes for it when it was finalized.
	pub agreed: u32,
	/// Operators that had voted another root.
	pub dissenters: alloc::vec::Vec<AccountId>,
}

/// Where the attestation of a batch stands.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum ProofStatus {
	/// Attestations are being collected.
	Pending,
	/// At least 2/3 of the subnet agreed on one output root.
	Finalized,
	/// The deadline passed without a quorum.
	Expired,
}

/// The proof of a batch's result.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Proof<BlockNumber> {
	/// The batch's Merkle root.
	pub merkle_root: H256,
	/// Pending, finalized or expired.
	pub status: ProofStatus,
	/// The agreed output root, once finalized.
	pub output_root: Option<H256>,
	/// The agreed state root behind it (`output_root = output_root(state_root,
	/// outputs)`), once finalized: operators check their state against it.
	pub state_root: Option<H256>,
	/// The agreed outputs, once finalized.
	pub outputs: Outputs,
	/// The state the agreed result ran on, once finalized: the state root of the
	/// project's previous finalized batch (zero before its first). Finalized proofs chain:
	/// each one's `previous_state_root` is the `state_root` of the one before it.
	pub previous_state_root: Option<H256>,
	/// Operators in the subnet when the batch was committed: the quorum's base.
	pub subnet_size: u32,
	/// Operators that attested the agreed root (grows with late agreeing votes).
	pub agreed: u32,
	/// Last block in which attestations are accepted.
	pub deadline: BlockNumber,
	/// Block in which it was finalized or expired.
	pub settled_at: Option<BlockNumber>,
}

/// One operator's vote in a batch's round.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Vote {
	/// The state root the voter ran the batch on: the state after the project's batches
	/// before it, as the voter computed them. `None` for a vote that the body could not
	/// be had, which does not depend on any state.
	pub previous: Option<H256>,
	/// The [`output_root`] the voter computed, or [`unavailable_root`].
	pub output_root: H256,
}

/// Where a project's settled history ends: every batch numbered below `next` is
/// finalized or expired, and `state_root` is the state after the last finalized one
/// (zero before the first). Only batch `next` can be finalized, and only by votes that
/// ran it on `state_root`.
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Head {
	/// The first batch not settled yet.
	pub next: u64,
	/// The project's agreed state root.
	pub state_root: H256,
}

/// Votes needed out of `subnet_size` for a quorum: the smallest `v` with
/// `3 v >= 2 subnet_size`, and never fewer than one.
pub fn quorum(subnet_size: u32) -> u32 {
	(subnet_size.saturating_mul(2).div_ceil(3)).max(1)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn quorum_is_two_thirds_rounded_up() {
		let expected = [(0, 1), (1, 1), (2, 2), (3, 2), (4, 3), (5, 4), (6, 4), (7, 5), (9, 6)];
		for (size, votes) in expected {
			assert_eq!(quorum(size), votes, "subnet of {size}");
			if size > 0 {
				assert!(3 * votes >= 2 * size && 3 * (votes - 1) < 2 * size);
			}
		}
	}

	#[test]
	fn output_root_binds_state_and_every_output() {
		let out = |b: &[u8]| Output::try_from(b.to_vec()).unwrap();
		let root = output_root(&H256::zero(), &[out(b"a"), out(b"b")]);
		assert_ne!(root, output_root(&H256::repeat_byte(1), &[out(b"a"), out(b"b")]));
		assert_ne!(root, output_root(&H256::zero(), &[out(b"b"), out(b"a")]));
		assert_ne!(root, output_root(&H256::zero(), &[out(b"ab")]));
		assert_ne!(root, output_root(&H256::zero(), &[]));
	}
}
