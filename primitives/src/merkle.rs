//! A binary Merkle tree over a batch's signed message hashes
//! ([`crate::message::signed_message_hash`]: each message hash bound to the signature
//! committed with it), with inclusion proofs.
//!
//! The node that seals a batch computes the root; the runtime stores it in the batch
//! commitment; a dApp or device checks that its message is in a committed batch with
//! [`verify_proof`], on or off chain, with nothing but this module and the message's
//! signature.
//!
//! Construction:
//! - a leaf is `blake2_256(0x00 ++ signed_message_hash)` and an inner node is
//!   `blake2_256(0x01 ++ left ++ right)`, so a leaf can never be passed off as an inner
//!   node (second-preimage attacks on the tree);
//! - a level with an odd number of nodes promotes its last node unchanged to the next
//!   level instead of pairing it with itself, so two different leaf lists never share a
//!   root (duplicating the last node, as Bitcoin does, lets `[a, b, c]` and
//!   `[a, b, c, c]` collide);
//! - the root of an empty batch is [`EMPTY_ROOT`].

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_io::hashing::blake2_256;

/// Root of a tree with no leaves.
pub const EMPTY_ROOT: H256 = H256::zero();

const LEAF_TAG: u8 = 0x00;
const NODE_TAG: u8 = 0x01;

/// Hash of a leaf holding `item` (a signed message hash).
pub fn leaf_hash(item: &H256) -> H256 {
	let mut buf = [0u8; 33];
	buf[0] = LEAF_TAG;
	buf[1..].copy_from_slice(item.as_bytes());
	H256(blake2_256(&buf))
}

/// Hash of an inner node.
pub fn node_hash(left: &H256, right: &H256) -> H256 {
	let mut buf = [0u8; 65];
	buf[0] = NODE_TAG;
	buf[1..33].copy_from_slice(left.as_bytes());
	buf[33..].copy_from_slice(right.as_bytes());
	H256(blake2_256(&buf))
}

/// Root of the tree over `items` (message hashes, in batch order).
pub fn merkle_root(items: &[H256]) -> H256 {
	if items.is_empty() {
		return EMPTY_ROOT;
	}
	let mut level: Vec<H256> = items.iter().map(leaf_hash).collect();
	while level.len() > 1 {
		level = next_level(&level);
	}
	level[0]
}

fn next_level(level: &[H256]) -> Vec<H256> {
	level
		.chunks(2)
		.map(|pair| match pair {
			[left, right] => node_hash(left, right),
			[promoted] => *promoted,
			_ => unreachable!("chunks(2) yields one or two items"),
		})
		.collect()
}

/// Proof that the leaf at `leaf_index` is in a tree of `leaf_count` leaves.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct MerkleProof {
	/// Position of the leaf in the batch (0-based).
	pub leaf_index: u32,
	/// Number of leaves in the batch.
	pub leaf_count: u32,
	/// Sibling hashes from the leaf's level up to the root's children; levels where
	/// the path node was promoted have no sibling.
	pub siblings: BoundedSiblings,
}

/// At most 32 siblings: a batch never holds more than `u32::MAX` messages.
pub type BoundedSiblings = sp_runtime::BoundedVec<H256, sp_core::ConstU32<32>>;

/// Builds the inclusion proof of `items[index]`, or `None` when `index` is out of range.
pub fn merkle_proof(items: &[H256], index: usize) -> Option<MerkleProof> {
	if index >= items.len() {
		return None;
	}
	let mut siblings = Vec::new();
	let mut level: Vec<H256> = items.iter().map(leaf_hash).collect();
	let mut position = index;
	while level.len() > 1 {
		let sibling = position ^ 1;
		if sibling < level.len() {
			siblings.push(level[sibling]);
		}
		level = next_level(&level);
		position /= 2;
	}
	Some(MerkleProof {
		leaf_index: index as u32,
		leaf_count: items.len() as u32,
		siblings: BoundedSiblings::truncate_from(siblings),
	})
}

/// Checks that `item` is the leaf at `proof.leaf_index` of the tree of `leaf_count`
/// leaves with `root`. `root` and `leaf_count` come from the batch commitment: the root
/// alone does not fix the number of leaves.
pub fn verify_proof(root: &H256, leaf_count: u32, item: &H256, proof: &MerkleProof) -> bool {
	if proof.leaf_count != leaf_count || proof.leaf_index >= proof.leaf_count {
		return false;
	}
	let mut hash = leaf_hash(item);
	let mut position = proof.leaf_index as u64;
	let mut width = proof.leaf_count as u64;
	let mut siblings = proof.siblings.iter();
	while width > 1 {
		let sibling = position ^ 1;
		if sibling < width {
			let Some(other) = siblings.next() else { return false };
			hash = if position.is_multiple_of(2) {
				node_hash(&hash, other)
			} else {
				node_hash(other, &hash)
			};
		}
		position /= 2;
		width = width.div_ceil(2);
	}
	siblings.next().is_none() && &hash == root
}

#[cfg(test)]
mod tests {
	use super::*;
	use proptest::prelude::*;

	fn items(n: usize) -> Vec<H256> {
		(0..n as u64).map(|i| H256(blake2_256(&i.to_le_bytes()))).collect()
	}

	#[test]
	fn empty_and_single_leaf_roots() {
		assert_eq!(merkle_root(&[]), EMPTY_ROOT);
		let one = items(1);
		assert_eq!(merkle_root(&one), leaf_hash(&one[0]));
		let proof = merkle_proof(&one, 0).unwrap();
		assert!(proof.siblings.is_empty());
		assert!(verify_proof(&merkle_root(&one), 1, &one[0], &proof));
	}

	#[test]
	fn odd_level_promotes_instead_of_duplicating() {
		let three = items(3);
		let mut four = three.clone();
		four.push(three[2]);
		assert_ne!(merkle_root(&three), merkle_root(&four));
		let expected = node_hash(
			&node_hash(&leaf_hash(&three[0]), &leaf_hash(&three[1])),
			&leaf_hash(&three[2]),
		);
		assert_eq!(merkle_root(&three), expected);
	}

	#[test]
	fn out_of_range_index_has_no_proof() {
		assert!(merkle_proof(&items(4), 4).is_none());
		assert!(merkle_proof(&[], 0).is_none());
	}

	#[test]
	fn proof_with_index_beyond_count_fails() {
		let leaves = items(4);
		let mut proof = merkle_proof(&leaves, 1).unwrap();
		proof.leaf_index = 4;
		assert!(!verify_proof(&merkle_root(&leaves), 4, &leaves[1], &proof));
		let proof = merkle_proof(&leaves, 1).unwrap();
		assert!(!verify_proof(&merkle_root(&leaves), 5, &leaves[1], &proof), "wrong count");
	}

	proptest! {
		#[test]
		fn every_leaf_proof_verifies(n in 1usize..300) {
			let leaves = items(n);
			let root = merkle_root(&leaves);
			for (i, leaf) in leaves.iter().enumerate() {
				let proof = merkle_proof(&leaves, i).unwrap();
				prop_assert!(verify_proof(&root, n as u32, leaf, &proof), "leaf {} of {}", i, n);
			}
		}

		#[test]
		fn any_changed_byte_fails(
			n in 1usize..200,
			index in any::<prop::sample::Index>(),
			byte in 0usize..32,
			flip in 1u8..=255,
			target in 0u8..5,
		) {
			let leaves = items(n);
			let i = index.index(n);
			let root = merkle_root(&leaves);
			let proof = merkle_proof(&leaves, i).unwrap();
			let (mut root_x, mut leaf_x, mut proof_x) = (root, leaves[i], proof);
			match target {
				0 => root_x.0[byte] ^= flip,
				1 => leaf_x.0[byte] ^= flip,
				2 if !proof_x.siblings.is_empty() => {
					let s = byte % proof_x.siblings.len();
					proof_x.siblings[s].0[byte] ^= flip;
				},
				3 if n > 1 => proof_x.leaf_index = (proof_x.leaf_index + 1) % n as u32,
				4 => proof_x.leaf_count += 1,
				_ => root_x.0[byte] ^= flip,
			}
			prop_assert!(
				!verify_proof(&root_x, n as u32, &leaf_x, &proof_x),
				"tampered target {} accepted", target
			);
		}

		#[test]
		fn roots_differ_for_different_leaf_lists(n in 1usize..100, m in 1usize..100) {
			prop_assume!(n != m);
			prop_assert_ne!(merkle_root(&items(n)), merkle_root(&items(m)));
		}
	}
}
