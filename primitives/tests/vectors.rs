//! Known-answer vectors: the message encoding and hash, the device id, an ed25519 device
//! signature, the signed-message leaf and the batch Merkle tree, against values
//! computed independently of this crate (`scripts/vectors.py`: Python's blake2b and
//! its own SCALE encoder) and published in the README for device and dApp authors.
//! A change to a domain tag, a field order, the leaf or node prefix or the odd-node
//! rule turns these red, which tests that compare the code with itself cannot.

use codec::Encode;
use sp_core::{ed25519, Pair, H256};
use w3b_primitives::{
	merkle::{leaf_hash, merkle_proof, merkle_root, node_hash, verify_proof},
	message::signed_message_hash,
	DeviceKey, DeviceSignature, Message,
};

fn bytes(hex: &str) -> Vec<u8> {
	sp_core::bytes::from_hex(hex).expect("a hex vector")
}

fn h256(hex: &str) -> H256 {
	H256::from_slice(&bytes(hex))
}

const DEVICE_SEED: &str = "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const DEVICE_PUBLIC: &str = "0x03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
const DEVICE_ID: &str = "0x160179a1565ea7cff27ead23f54cc7f50893bf58155cd7285156e57afa31c3ac";
const MESSAGE_SCALE: &str = "0x0700000000000000160179a1565ea7cff27ead23f54cc7f50893bf58155cd7285156e57afa31c3ac01000000000000000068e5cf8b0100002c74656d7065726174757265407b2263656c73697573223a32312e357d00";
const MESSAGE_HASH: &str = "0x857b833efd2fd7998876106701ab7588a8cc6d5c241e3f06df8d6edec76334eb";
const SIGNATURE: &str = "0x9343c87df68c2bda11cc1708659be66860bd44f9d1d21a8f044f7bb546a5c389df8898de9a91aa33cd6fca21b5de5c80bb31295d2b196b4670744128e3e0470c";
const SIGNED_MESSAGE_HASH: &str =
	"0x9ffc9f0dd1982651f02752c0d28bfa9f07b955dab0578888121a7731ab0f1d56";
const LEAF_0: &str = "0x83c2570d0502725866fd9531934c3e2d5987ed0825768184aec4ba75b2a590d5";
const NODE_0_1: &str = "0xc82eed9a5e9e9ff6e588e4c86bf4e525784dd5ff3238b12f240561d35d06224c";
const ROOTS: [(usize, &str); 4] = [
	(1, "0x83c2570d0502725866fd9531934c3e2d5987ed0825768184aec4ba75b2a590d5"),
	(2, "0xc82eed9a5e9e9ff6e588e4c86bf4e525784dd5ff3238b12f240561d35d06224c"),
	(3, "0xde1d1ab9ecd4b4cf07e1049d4c7239559aab85165d0b5c0b8642e518d6d4e798"),
	(5, "0xd44c662be9d50b009b54138a2dff4cbd440f7ba5a276bd6b57b5f7ae503a7282"),
];
const PROOF_5_2: [&str; 3] = [
	"0xd2122172b5b61e754779e217e8cb450d1445794bc67405ccb771c8225c099911",
	"0xc82eed9a5e9e9ff6e588e4c86bf4e525784dd5ff3238b12f240561d35d06224c",
	"0x310b91f079bd6ceba92bbf2e13e58de602eaa0bedc3681a5427a160f9eec0f80",
];

/// The tree's items: `blake2_256(u32 LE i)`.
fn items(n: u32) -> Vec<H256> {
	(0..n).map(|i| H256(sp_io::hashing::blake2_256(&i.to_le_bytes()))).collect()
}

#[test]
fn a_device_message_hashes_signs_and_binds_as_published() {
	let seed: [u8; 32] = bytes(DEVICE_SEED).try_into().unwrap();
	let device = ed25519::Pair::from_seed(&seed);
	assert_eq!(device.public().0.to_vec(), bytes(DEVICE_PUBLIC));
	let device_id = DeviceKey::Ed25519(device.public().0).device_id();
	assert_eq!(device_id, h256(DEVICE_ID));

	let message = Message {
		project: 7,
		device: device_id,
		seq: 1,
		timestamp_ms: 1_700_000_000_000,
		event_type: b"temperature".to_vec(),
		payload: br#"{"celsius":21.5}"#.to_vec(),
		encrypted: false,
	};
	assert_eq!(message.encode(), bytes(MESSAGE_SCALE));
	assert_eq!(message.hash(), h256(MESSAGE_HASH));

	let signature = device.sign(message.hash().as_bytes());
	assert_eq!(signature.0.to_vec(), bytes(SIGNATURE));
	let signature = DeviceSignature::Ed25519(signature.0);
	assert!(DeviceKey::Ed25519(device.public().0).verify(&message.hash(), &signature));
	assert_eq!(signed_message_hash(&message.hash(), &signature), h256(SIGNED_MESSAGE_HASH));
}

#[test]
fn the_batch_tree_hashes_as_published() {
	let items = items(5);
	assert_eq!(leaf_hash(&items[0]), h256(LEAF_0));
	assert_eq!(node_hash(&leaf_hash(&items[0]), &leaf_hash(&items[1])), h256(NODE_0_1));
	for (n, root) in ROOTS {
		assert_eq!(merkle_root(&items[..n]), h256(root), "root of {n} items");
	}
	let proof = merkle_proof(&items, 2).unwrap();
	let expected: Vec<H256> = PROOF_5_2.iter().map(|s| h256(s)).collect();
	assert_eq!(proof.siblings.to_vec(), expected);
	assert!(verify_proof(&h256(ROOTS[3].1), 5, &items[2], &proof));
}

const DID_ID: &str = "0xce6f9fe22ea55fb0314e0c75e2e26d1b145376965d3f16956ccef534cd57c378";
const DID_STRING: &str = "did:w3b:Etqi1XPVX4foC32fUn249x73pQcSq4A9A221DUPMmQf1";
const DID_CREATION_SCALE: &str = "0x0003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b80000000000222222222222222222222222222222222222222222222222222222222222222264000000";
const DID_CREATION_HASH: &str =
	"0x5d2e5abee50bd0b4ac2efd1832feb4d51e929100a4054c078de1405ced4df223";
const DID_CREATION_SIGNATURE: &str = "0x9b5217f20dc55059a78711cf7afe20365699b9e2b2c45292a05ed53e8c0654fbf774977c68b77d094694bf745a002c44dfda202d8855057be3cded827e8fc900";
const DID_ROTATION_SCALE: &str = "0xce6f9fe22ea55fb0314e0c75e2e26d1b145376965d3f16956ccef534cd57c37801000000000000006400000000003333333333333333333333333333333333333333333333333333333333333333";
const DID_ROTATION_HASH: &str =
	"0x986a7935da8ec820f6cbc4b5ede5c2bfbd2dead17e4a457f2ee8c4dba25fc82a";
const DID_ROTATION_SIGNATURE: &str = "0xc0086632a66f3d31561048532a8b65852d105d3124cae88e0210e2b2eee775d20d0cae4996fa15258f456179be9fcc2d091b69983d9b6ae5947398d31defd401";

#[test]
fn a_did_its_creation_and_a_rotation_hash_and_sign_as_published() {
	use w3b_primitives::did::{format_did, DidAction, DidCreation, DidOperation};
	let seed: [u8; 32] = bytes(DEVICE_SEED).try_into().unwrap();
	let device = ed25519::Pair::from_seed(&seed);
	let key = DeviceKey::Ed25519(device.public().0);
	let genesis = H256::repeat_byte(0x11);
	let creation = DidCreation::<[u8; 32], u32>::new(key, [0x22; 32], 100);
	assert_eq!(creation.did(), h256(DID_ID));
	assert_eq!(format_did(&creation.did()), DID_STRING);
	assert_eq!(creation.encode(), bytes(DID_CREATION_SCALE));
	let hash = creation.signing_hash(&genesis);
	assert_eq!(hash, h256(DID_CREATION_HASH));
	assert_eq!(device.sign(hash.as_bytes()).0.to_vec(), bytes(DID_CREATION_SIGNATURE));
	let rotation = DidOperation::<u32> {
		did: creation.did(),
		counter: 1,
		valid_until: 100,
		action: DidAction::SetAuthenticationKey(DeviceKey::Ed25519([0x33; 32])),
	};
	assert_eq!(rotation.encode(), bytes(DID_ROTATION_SCALE));
	let hash = rotation.signing_hash(&genesis);
	assert_eq!(hash, h256(DID_ROTATION_HASH));
	assert_eq!(device.sign(hash.as_bytes()).0.to_vec(), bytes(DID_ROTATION_SIGNATURE));
}
