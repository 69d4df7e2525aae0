//! The IoTeX bridge: the secp256k1 session key validators sign with, and the messages
//! they sign, encoded exactly as `contracts/src/W3bBridge.sol` hashes them.
//!
//! secp256k1 is what the EVM verifies natively (`ecrecover`), so the bridge verifier
//! contract can check validator signatures for a few thousand gas each. The key is a
//! session key like the Aura and GRANDPA keys: it is generated in the validator's
//! keystore, registered on chain with `session.set_keys`, and rotates with the set.
//!
//! Finalized outputs addressed to an EVM chain are gathered into bridge batches. A batch
//! is EIP-712 typed data `BridgeBatch(uint64 setId,uint64 nonce,uint64 blockNumber,bytes32
//! outputsRoot)` in the domain `{name: "W3bstream Bridge", version: "1", chainId,
//! verifyingContract, salt: genesis hash}`; a hand-over to a new validator set is
//! `ValidatorSetChange(uint64 setId,bytes32 setHash,uint64 firstNonce)`. The outputs root
//! is `keccak256(abi.encode(count, merkleRoot))` over leaves
//! `keccak256(abi.encode(tag, chainId, index, projectId, batchSeq, kind, to,
//! keccak256(clientId), keccak256(data)))`, pairs hashed left to right and an odd last
//! node moved up unchanged.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{crypto::KeyTypeId, ConstU32, H160, H256};
use sp_io::hashing::keccak_256;
use sp_runtime::BoundedVec;

/// Key type of the bridge signing key: `w3b_`.
pub const BRIDGE_KEY_TYPE: KeyTypeId = KeyTypeId(*b"w3b_");

mod app {
	use sp_application_crypto::{app_crypto, ecdsa};
	app_crypto!(ecdsa, super::BRIDGE_KEY_TYPE);
}

/// Public secp256k1 key of a validator's bridge signer.
pub type BridgeAuthorityId = app::Public;

/// Signature made by a bridge signer.
pub type BridgeAuthoritySignature = app::Signature;

/// Key pair of a bridge signer (node side only).
#[cfg(feature = "std")]
pub type BridgeAuthorityPair = app::Pair;

/// Most outputs in one bridge batch: the contract's delivered bitmap is one word.
pub const MAX_BATCH_OUTPUTS: u32 = 256;
/// Longest `clientId` an output carries to `IDapp.process`.
pub type MaxClientIdLen = ConstU32<64>;

/// How an output reaches its receiver (`KIND_PROCESS` / `KIND_CALL` in the contract).
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
pub enum OutputKind {
	/// `IDapp(to).process(projectId, batchSeq, clientId, data)`: W3bstream v2's receiver.
	Process,
	/// A call to `to` with `data`, the project id appended as 32 bytes.
	Call,
}

impl OutputKind {
	fn code(self) -> u8 {
		match self {
			OutputKind::Process => 0,
			OutputKind::Call => 1,
		}
	}
}

/// One finalized output on its way to an EVM chain: a leaf of a bridge batch.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct BridgeOutput {
	/// The project whose subnet finalized it.
	pub project: crate::ProjectId,
	/// The project's batch it came from.
	pub batch_seq: u64,
	/// How it is delivered.
	pub kind: OutputKind,
	/// The receiver, or the called address.
	pub to: H160,
	/// Passed to `IDapp.process` (empty for calls).
	pub client_id: BoundedVec<u8, MaxClientIdLen>,
	/// The payload.
	pub data: BoundedVec<u8, crate::proof::MaxOutputLen>,
}

/// A word of Solidity's `abi.encode`: an unsigned integer, big-endian, left-padded.
fn word(value: u64) -> [u8; 32] {
	let mut w = [0u8; 32];
	w[24..].copy_from_slice(&value.to_be_bytes());
	w
}

fn address_word(address: &H160) -> [u8; 32] {
	let mut w = [0u8; 32];
	w[12..].copy_from_slice(address.as_bytes());
	w
}

fn keccak_words(words: &[[u8; 32]]) -> H256 {
	H256(keccak_256(&words.concat()))
}

/// The leaf of output number `index` of a batch for chain `chain_id`.
pub fn output_leaf(chain_id: u64, index: u32, output: &BridgeOutput) -> H256 {
	keccak_words(&[
		keccak_256(b"w3b/bridge-output/v1"),
		word(chain_id),
		word(index.into()),
		word(output.project),
		word(output.batch_seq),
		word(output.kind.code().into()),
		address_word(&output.to),
		keccak_256(&output.client_id),
		keccak_256(&output.data),
	])
}

fn hash_pair(left: &H256, right: &H256) -> H256 {
	let mut buf = [0u8; 64];
	buf[..32].copy_from_slice(left.as_bytes());
	buf[32..].copy_from_slice(right.as_bytes());
	H256(keccak_256(&buf))
}

/// The tree's layers over `leaves`, leaves first, the root's layer last.
fn layers(leaves: Vec<H256>) -> Vec<Vec<H256>> {
	let mut all = alloc::vec![leaves];
	while all.last().map_or(false, |layer| layer.len() > 1) {
		let below = all.last().expect("checked above");
		let mut above: Vec<H256> = below
			.chunks(2)
			.map(|pair| match pair {
				[left, right] => hash_pair(left, right),
				[alone] => *alone,
				_ => unreachable!("chunks of two"),
			})
			.collect();
		above.shrink_to_fit();
		all.push(above);
	}
	all
}

fn leaves(chain_id: u64, outputs: &[BridgeOutput]) -> Vec<H256> {
	outputs.iter().enumerate().map(|(i, o)| output_leaf(chain_id, i as u32, o)).collect()
}

/// The outputs root a bridge batch of `outputs` for chain `chain_id` carries:
/// `keccak256(abi.encode(count, merkleRoot))` (zero Merkle root for no outputs).
pub fn outputs_root(chain_id: u64, outputs: &[BridgeOutput]) -> H256 {
	let top = layers(leaves(chain_id, outputs))
		.last()
		.and_then(|layer| layer.first().copied())
		.unwrap_or_default();
	keccak_words(&[word(outputs.len() as u64), top.0])
}

/// The Merkle path of output `index`: its siblings from the leaf up, none where its node
/// moved up alone (what `W3bBridge.deliverOne` takes). `None` past the end.
pub fn output_proof(chain_id: u64, outputs: &[BridgeOutput], index: u32) -> Option<Vec<H256>> {
	let index = usize::try_from(index).ok().filter(|i| *i < outputs.len())?;
	Some(path(&layers(leaves(chain_id, outputs)), index))
}

/// The Merkle paths of all `outputs`, in order, from one build of the tree.
pub fn output_proofs(chain_id: u64, outputs: &[BridgeOutput]) -> Vec<Vec<H256>> {
	let all = layers(leaves(chain_id, outputs));
	(0..outputs.len()).map(|index| path(&all, index)).collect()
}

/// The siblings of leaf `i` in the tree `all` (leaves first), from the leaf up.
fn path(all: &[Vec<H256>], mut i: usize) -> Vec<H256> {
	let mut siblings = Vec::new();
	for layer in &all[..all.len() - 1] {
		let sibling = if i % 2 == 1 { i - 1 } else { i + 1 };
		if let Some(node) = layer.get(sibling) {
			siblings.push(*node);
		}
		i /= 2;
	}
	siblings
}

/// Where a bridge contract lives: what its EIP-712 domain is made of.
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
pub struct BridgeDomain {
	/// The EVM chain id (IoTeX: 4689, its testnet 4690).
	pub chain_id: u64,
	/// The `W3bBridge` contract's address there.
	pub contract: H160,
	/// This chain's genesis hash.
	pub genesis: H256,
}

impl BridgeDomain {
	/// The EIP-712 domain separator.
	pub fn separator(&self) -> H256 {
		keccak_words(&[
			keccak_256(
				b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)",
			),
			keccak_256(b"W3bstream Bridge"),
			keccak_256(b"1"),
			word(self.chain_id),
			address_word(&self.contract),
			self.genesis.0,
		])
	}

	fn typed(&self, struct_hash: H256) -> H256 {
		let mut buf = [0u8; 66];
		buf[..2].copy_from_slice(b"\x19\x01");
		buf[2..34].copy_from_slice(self.separator().as_bytes());
		buf[34..].copy_from_slice(struct_hash.as_bytes());
		H256(keccak_256(&buf))
	}

	/// The digest validators sign for a bridge batch.
	pub fn batch_digest(
		&self,
		set_id: u64,
		nonce: u64,
		block_number: u64,
		outputs_root: H256,
	) -> H256 {
		self.typed(keccak_words(&[
			keccak_256(
				b"BridgeBatch(uint64 setId,uint64 nonce,uint64 blockNumber,bytes32 outputsRoot)",
			),
			word(set_id),
			word(nonce),
			word(block_number),
			outputs_root.0,
		]))
	}

	/// The digest the current set signs to hand over to set `set_id`, which signs the
	/// nonces from `first_nonce` on.
	pub fn set_change_digest(&self, set_id: u64, set_hash: H256, first_nonce: u64) -> H256 {
		self.typed(keccak_words(&[
			keccak_256(b"ValidatorSetChange(uint64 setId,bytes32 setHash,uint64 firstNonce)"),
			word(set_id),
			set_hash.0,
			word(first_nonce),
		]))
	}
}

/// The hash the contract knows a validator set by: `keccak256(abi.encode(tag, threshold,
/// addresses))`, the addresses ascending.
pub fn set_hash(addresses: &[H160], threshold: u32) -> H256 {
	let mut words = alloc::vec![
		keccak_256(b"w3b/validator-set/v1"),
		word(threshold.into()),
		// The dynamic array's offset (three head words) and its length.
		word(0x60),
		word(addresses.len() as u64),
	];
	words.extend(addresses.iter().map(address_word));
	keccak_words(&words)
}

/// How many of `size` validators must sign: the least count that is at least two thirds.
pub fn threshold(size: u32) -> u32 {
	(size * 2).div_ceil(3)
}

/// The Ethereum address of a bridge key: the last 20 bytes of the keccak hash of its
/// uncompressed point. `None` for bytes that are no point of the curve.
pub fn eth_address(key: &BridgeAuthorityId) -> Option<H160> {
	use k256::elliptic_curve::sec1::ToEncodedPoint;
	let raw: &[u8] = key.as_ref();
	let point = k256::PublicKey::from_sec1_bytes(raw).ok()?.to_encoded_point(false);
	// The uncompressed encoding is 0x04 followed by x and y.
	let hash = keccak_256(&point.as_bytes()[1..]);
	Some(H160::from_slice(&hash[12..]))
}

/// A signature as the contract takes it: `r ++ s ++ v`, `v` 27 or 28, `s` low.
pub type EthSignature = [u8; 65];

/// Half the secp256k1 group order, big-endian: a higher `s` is the malleated twin of a
/// signature with a low one, which the contract refuses.
const HALF_ORDER: [u8; 32] = [
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// Whether `signature` is `key`'s over `digest` in the form the contract accepts.
pub fn verify(key: &BridgeAuthorityId, digest: &H256, signature: &EthSignature) -> bool {
	let v = signature[64];
	if !(v == 27 || v == 28) || signature[32..64] > HALF_ORDER[..] {
		return false;
	}
	let mut recoverable = *signature;
	recoverable[64] = v - 27;
	sp_io::crypto::secp256k1_ecdsa_recover_compressed(&recoverable, &digest.0)
		.is_ok_and(|public| public[..] == AsRef::<[u8]>::as_ref(key)[..])
}

/// A signature from the keystore (`r ++ s ++ recovery id`, `s` low) in the contract's
/// form.
pub fn to_eth_signature(signature: impl Into<[u8; 65]>) -> EthSignature {
	let mut signature = signature.into();
	signature[64] += 27;
	signature
}

/// What an applet asked with `ws_send_tx`, as its output records it (SCALE): W3bstream's
/// `{"to", "value", "data"}` with the value zero (the bridge moves no funds), and the
/// optional `clientId` that `IDapp.process` takes.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct SendTx {
	/// The EVM chain id the applet named.
	pub chain_id: u64,
	/// The contract to call; `None` (absent, empty or the zero address) for the project's
	/// own receiver.
	pub to: Option<H160>,
	/// Passed to `IDapp.process`.
	pub client_id: BoundedVec<u8, MaxClientIdLen>,
	/// The call data, or the data `process` gets.
	pub data: BoundedVec<u8, crate::proof::MaxOutputLen>,
}

/// A message a validator signs for the bridge.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum BridgeMessage {
	/// Batch `nonce` of `chain`.
	Batch {
		/// EVM chain id.
		chain: u64,
		/// The batch.
		nonce: u64,
	},
	/// The hand-over of `chain`'s contract to set `set_id`.
	SetChange {
		/// EVM chain id.
		chain: u64,
		/// The new set.
		set_id: u64,
	},
}

/// A bridge batch as a relayer hands it to `W3bBridge.relay`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct RelayBatch {
	/// The set that signs it.
	pub set_id: u64,
	/// Its nonce.
	pub nonce: u64,
	/// The block that sealed it.
	pub block_number: u64,
	/// The outputs' root.
	pub outputs_root: H256,
	/// The outputs, in leaf order.
	pub outputs: Vec<BridgeOutput>,
	/// The signing set's addresses, ascending.
	pub signers: Vec<H160>,
	/// Signatures the contract needs.
	pub threshold: u32,
	/// The signatures so far, in their signers' order.
	pub signatures: Vec<EthSignature>,
}

/// A hand-over as a relayer hands it to `W3bBridge.changeValidatorSet`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct RelaySetChange {
	/// The new set's id.
	pub set_id: u64,
	/// The first nonce the new set signs.
	pub first_nonce: u64,
	/// The new set's addresses, ascending.
	pub new_signers: Vec<H160>,
	/// The new set's threshold.
	pub new_threshold: u32,
	/// The old (signing) set's addresses, ascending.
	pub signers: Vec<H160>,
	/// Signatures of the old set needed.
	pub threshold: u32,
	/// The old set's signatures so far, in their signers' order.
	pub signatures: Vec<EthSignature>,
}

#[cfg(test)]
mod tests {
	use super::*;

	fn h256(hex: &str) -> H256 {
		hex.parse().unwrap()
	}

	fn domain() -> BridgeDomain {
		BridgeDomain { chain_id: 4690, contract: H160([0xb1; 20]), genesis: H256([1; 32]) }
	}

	fn outputs() -> Vec<BridgeOutput> {
		let output =
			|project, batch_seq, kind, to: u8, client_id: &[u8], data: &[u8]| BridgeOutput {
				project,
				batch_seq,
				kind,
				to: H160([to; 20]),
				client_id: client_id.to_vec().try_into().unwrap(),
				data: data.to_vec().try_into().unwrap(),
			};
		alloc::vec![
			output(7, 3, OutputKind::Call, 0xcc, b"device-1", &[0x40, 0xc1]),
			output(7, 3, OutputKind::Process, 0xdd, b"device-1", b"alert"),
			output(8, 1, OutputKind::Process, 0xdd, b"", b""),
		]
	}

	// The same vectors are checked against the contract and ethers' EIP-712 encoder in
	// `contracts/test/bridge.test.js`.
	#[test]
	fn messages_hash_as_the_contract_hashes_them() {
		assert_eq!(
			domain().batch_digest(3, 7, 1234, H256([0x22; 32])),
			h256("8e13c3317d72fef631aa29c8f2bf7a912ba2cb0a2f62b06c39be492897c30908")
		);
		assert_eq!(
			domain().set_change_digest(4, H256([0x33; 32]), 9),
			h256("ed939f31d1d44ca064cbb02b2f1ca301fe9f691fca079695e48c9617b869500f")
		);
		let addresses = [0x0a, 0x0b, 0x0c, 0x0d].map(|b| H160([b; 20]));
		assert_eq!(
			set_hash(&addresses, 3),
			h256("5bd9080a1ec01df1915c0e9d657b33482a998e5f0d51cb2969ff232a97792985")
		);
		assert_eq!(
			outputs_root(4690, &outputs()),
			h256("33126883d5184272b214c07ca8df0c86f3cb0b8338dab68af5628925b860916c")
		);
		assert_eq!(
			output_proof(4690, &outputs(), 2),
			Some(alloc::vec![h256(
				"59f742f1e2855496fdf75b605089edb17fbfd7c9836d236e3e893567d7395c56"
			)])
		);
		assert_eq!(output_proof(4690, &outputs(), 3), None);
	}

	#[test]
	fn every_output_proof_leads_to_the_root() {
		for count in 1..=9u32 {
			let all: Vec<BridgeOutput> = (0..count)
				.map(|i| {
					let mut o = outputs()[0].clone();
					o.batch_seq = i.into();
					o
				})
				.collect();
			let root = outputs_root(4690, &all);
			for index in 0..count {
				// Walk the path as `W3bBridge.deliverOne` does.
				let mut node = output_leaf(4690, index, &all[index as usize]);
				let mut siblings = output_proof(4690, &all, index).unwrap().into_iter();
				let (mut i, mut n) = (index, count);
				while n > 1 {
					if i % 2 == 1 {
						node = hash_pair(&siblings.next().unwrap(), &node);
					} else if i + 1 < n {
						node = hash_pair(&node, &siblings.next().unwrap());
					}
					i /= 2;
					n = n.div_ceil(2);
				}
				assert!(siblings.next().is_none());
				assert_eq!(keccak_words(&[word(count.into()), node.0]), root, "{index} of {count}");
			}
		}
	}

	#[test]
	fn keys_sign_in_the_contracts_form_and_have_ethereum_addresses() {
		use sp_core::Pair;
		let pair = sp_core::ecdsa::Pair::from_seed(&[1; 32]);
		let key: BridgeAuthorityId = pair.public().into();
		// ethers' address of the private key 0x0101...01.
		assert_eq!(
			eth_address(&key),
			Some("1a642f0E3c3aF545E7AcBD38b07251B3990914F1".parse().unwrap())
		);
		let digest = domain().batch_digest(1, 0, 1, H256([2; 32]));
		let signature = to_eth_signature(pair.sign_prehashed(&digest.0));
		assert!(signature[64] == 27 || signature[64] == 28);
		assert!(verify(&key, &digest, &signature));
		assert!(!verify(&key, &H256([3; 32]), &signature));
		let other: BridgeAuthorityId = sp_core::ecdsa::Pair::from_seed(&[2; 32]).public().into();
		assert!(!verify(&other, &digest, &signature));
		assert_eq!(threshold(4), 3);
		assert_eq!(threshold(3), 2);
		assert_eq!(threshold(6), 4);
		assert_eq!(threshold(1), 1);
	}
}
