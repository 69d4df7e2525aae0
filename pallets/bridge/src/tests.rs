use crate::{
	mock::*, Batches, CurrentSetId, DropReason, Error, Event, GenesisHash, NextNonces, Pending,
	SetChanges, Sets, Targets,
};
use codec::Encode;
use frame_support::{
	assert_noop, assert_ok,
	pallet_prelude::{Authorize, InvalidTransaction, TransactionSource, TransactionValidityError},
};
use sp_core::{Pair, H160, H256};
use sp_runtime::BuildStorage;
use sp_runtime::DispatchError;
use w3b_primitives::{
	bridge::{outputs_root, BridgeDomain, BridgeOutput, OutputKind, SendTx},
	proof::Output,
	traits::{BridgeSetObserver, FinalizedOutputs},
};

const PROJECT: u64 = 7;
const RECEIVER: H160 = H160([0xdd; 20]);

fn send_tx(chain_id: u64, to: Option<H160>, data: &[u8]) -> Output {
	SendTx {
		chain_id,
		to,
		client_id: b"device-1".to_vec().try_into().unwrap(),
		data: data.to_vec().try_into().unwrap(),
	}
	.encode()
	.try_into()
	.unwrap()
}

fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Bridge(e) => Some(e),
			_ => None,
		})
		.collect()
}

/// Finalizes `outputs` of `PROJECT`'s batch `seq`, then starts the next block (which
/// seals them).
fn finalize_and_seal(seq: u64, outputs: &[Output]) {
	Bridge::outputs_finalized(PROJECT, seq, outputs);
	run_to(System::block_number() + 1);
}

fn signed_by(i: u8, nonce: u64) -> (u32, [u8; 65]) {
	let (digest, batch, _) = Bridge::batch_digest(CHAIN, nonce).unwrap();
	let set = Sets::<Test>::get(batch.set_id).unwrap();
	let key: w3b_primitives::bridge::BridgeAuthorityId = validator(i).public().into();
	let index = set.keys.iter().position(|k| *k == key).unwrap() as u32;
	(index, sign(&validator(i), digest))
}

#[test]
fn the_genesis_hash_is_the_parent_of_block_one() {
	new_test_ext().execute_with(|| {
		assert_eq!(GenesisHash::<Test>::get(), Some(H256([1; 32])));
		let domain = Bridge::domain(CHAIN, CONTRACT).unwrap();
		assert_eq!(domain.genesis, H256([1; 32]));
	});
}

#[test]
fn outputs_are_routed_as_calls_or_to_the_projects_receiver_and_sealed_next_block() {
	new_test_ext().execute_with(|| {
		set_receiver(PROJECT, CHAIN, RECEIVER);
		let called = H160([0xcc; 20]);
		Bridge::outputs_finalized(
			PROJECT,
			3,
			&[send_tx(CHAIN, Some(called), b"\x40\xc1"), send_tx(CHAIN, None, b"alert")],
		);
		// Waiting until the next block starts.
		assert_eq!(Pending::<Test>::get(CHAIN).len(), 2);
		assert!(Batches::<Test>::get(CHAIN, 0).is_none());
		run_to(2);
		let batch = Batches::<Test>::get(CHAIN, 0).unwrap();
		let expected = vec![
			BridgeOutput {
				project: PROJECT,
				batch_seq: 3,
				kind: OutputKind::Call,
				to: called,
				client_id: b"device-1".to_vec().try_into().unwrap(),
				data: b"\x40\xc1".to_vec().try_into().unwrap(),
			},
			BridgeOutput {
				project: PROJECT,
				batch_seq: 3,
				kind: OutputKind::Process,
				to: RECEIVER,
				client_id: b"device-1".to_vec().try_into().unwrap(),
				data: b"alert".to_vec().try_into().unwrap(),
			},
		];
		assert_eq!(batch.outputs.to_vec(), expected);
		assert_eq!(batch.outputs_root, outputs_root(CHAIN, &expected));
		assert_eq!((batch.set_id, batch.block_number), (1, 2));
		assert!(Pending::<Test>::get(CHAIN).is_empty());
		assert_eq!(
			events(),
			vec![Event::BatchSealed {
				chain: CHAIN,
				nonce: 0,
				set_id: 1,
				outputs: 2,
				outputs_root: batch.outputs_root
			}]
		);
		assert_eq!(NextNonces::<Test>::get(CHAIN), 1);
		// A block with nothing waiting seals nothing.
		run_to(3);
		assert!(Batches::<Test>::get(CHAIN, 1).is_none());
	});
}

#[test]
fn outputs_that_cannot_be_delivered_are_dropped_with_their_reason() {
	new_test_ext().execute_with(|| {
		// The project's receiver is on another chain.
		set_receiver(PROJECT, 4689, RECEIVER);
		let malformed: Output = b"{\"to\":\"0x\"}".to_vec().try_into().unwrap();
		let not_utf8: Output = SendTx {
			chain_id: CHAIN,
			to: Some(RECEIVER),
			client_id: vec![0xff, 0xfe].try_into().unwrap(),
			data: b"z".to_vec().try_into().unwrap(),
		}
		.encode()
		.try_into()
		.unwrap();
		Bridge::outputs_finalized(
			PROJECT,
			1,
			&[malformed, send_tx(4689, Some(RECEIVER), b"x"), send_tx(CHAIN, None, b"y"), not_utf8],
		);
		let dropped =
			|index, reason| Event::OutputDropped { project: PROJECT, batch_seq: 1, index, reason };
		assert_eq!(
			events(),
			vec![
				dropped(0, DropReason::Malformed),
				dropped(1, DropReason::UnknownChain),
				dropped(2, DropReason::NoReceiver),
				dropped(3, DropReason::ClientIdNotUtf8),
			]
		);
		run_to(2);
		assert!(Batches::<Test>::get(CHAIN, 0).is_none());
	});
}

#[test]
fn a_full_batch_is_sealed_at_once_and_old_batches_are_pruned() {
	new_test_ext().execute_with(|| {
		let to = Some(H160([0xcc; 20]));
		let outputs: Vec<Output> =
			(0..MAX_BATCH_OUTPUTS + 1).map(|i| send_tx(CHAIN, to, &[i as u8])).collect();
		Bridge::outputs_finalized(PROJECT, 1, &outputs);
		// The first four made a batch when the fifth came; the fifth waits.
		assert_eq!(Batches::<Test>::get(CHAIN, 0).unwrap().outputs.len() as u32, MAX_BATCH_OUTPUTS);
		assert_eq!(Pending::<Test>::get(CHAIN).len(), 1);
		run_to(2);
		assert_eq!(Batches::<Test>::get(CHAIN, 1).unwrap().outputs.len(), 1);
		for seq in 2..=KEPT_BATCHES + 1 {
			finalize_and_seal(seq, &[send_tx(CHAIN, to, b"z")]);
		}
		// Nonces 0..=KEPT_BATCHES+1 were sealed; the oldest ones beyond KEPT_BATCHES left.
		let last = KEPT_BATCHES + 1;
		assert!(Batches::<Test>::get(CHAIN, last).is_some());
		assert!(Batches::<Test>::get(CHAIN, last - KEPT_BATCHES + 1).is_some());
		assert!(Batches::<Test>::get(CHAIN, last - KEPT_BATCHES).is_none());
		assert!(Batches::<Test>::get(CHAIN, 0).is_none());
	});
}

#[test]
fn validators_sign_batches_until_the_contract_has_enough() {
	new_test_ext().execute_with(|| {
		finalize_and_seal(1, &[send_tx(CHAIN, Some(RECEIVER), b"x")]);
		for (n, i) in [0u8, 2, 3].into_iter().enumerate() {
			let (signer, signature) = signed_by(i, 0);
			assert_ok!(Bridge::sign_batch(authorized(), CHAIN, 0, signer, signature));
			assert_eq!(
				events().last(),
				Some(&Event::BatchSigned {
					chain: CHAIN,
					nonce: 0,
					signer,
					signatures: n as u32 + 1,
					complete: n == 2,
				})
			);
		}
		assert_eq!(Batches::<Test>::get(CHAIN, 0).unwrap().signatures.len(), 3);
		// Twice by the same validator.
		let (signer, signature) = signed_by(2, 0);
		assert_noop!(
			Bridge::sign_batch(authorized(), CHAIN, 0, signer, signature),
			Error::<Test>::AlreadySigned
		);
	});
}

#[test]
fn a_signature_that_is_not_the_signers_over_this_batch_is_refused() {
	new_test_ext().execute_with(|| {
		finalize_and_seal(1, &[send_tx(CHAIN, Some(RECEIVER), b"x")]);
		finalize_and_seal(2, &[send_tx(CHAIN, Some(RECEIVER), b"y")]);
		let (signer, signature) = signed_by(1, 0);
		let sign_batch = |nonce, signer, signature| {
			Bridge::sign_batch(authorized(), CHAIN, nonce, signer, signature)
		};
		// Another member's index, another batch, an unknown batch or index.
		assert_noop!(sign_batch(0, (signer + 1) % 4, signature), Error::<Test>::BadSignature);
		assert_noop!(sign_batch(1, signer, signature), Error::<Test>::BadSignature);
		assert_noop!(sign_batch(9, signer, signature), Error::<Test>::UnknownBatch);
		assert_noop!(sign_batch(0, 4, signature), Error::<Test>::UnknownSigner);
		// Someone outside the set, signing as a member.
		let digest = Bridge::batch_digest(CHAIN, 0).unwrap().0;
		assert_noop!(
			sign_batch(0, signer, sign(&validator(9), digest)),
			Error::<Test>::BadSignature
		);
		// The malleated twin (high s, v flipped), and v as a recovery id (0 or 1).
		let mut twin = signature;
		twin[32..64].copy_from_slice(&order_minus(&signature[32..64]));
		twin[64] = if signature[64] == 27 { 28 } else { 27 };
		assert_noop!(sign_batch(0, signer, twin), Error::<Test>::BadSignature);
		let mut raw_v = signature;
		raw_v[64] -= 27;
		assert_noop!(sign_batch(0, signer, raw_v), Error::<Test>::BadSignature);
		// Only as an authorized (general) transaction: not from an account.
		assert_noop!(
			Bridge::sign_batch(RuntimeOrigin::signed(1), CHAIN, 0, signer, signature),
			DispatchError::BadOrigin
		);
		assert_ok!(sign_batch(0, signer, signature));
	});
}

/// The secp256k1 group order minus `s` (both big-endian): the other `s` of a signature.
fn order_minus(s: &[u8]) -> [u8; 32] {
	let order = sp_core::U256::from_str_radix(
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
		16,
	)
	.unwrap();
	(order - sp_core::U256::from_big_endian(s)).to_big_endian()
}

#[test]
fn the_pool_takes_a_signature_only_if_it_verifies_and_once_per_signer() {
	new_test_ext().execute_with(|| {
		finalize_and_seal(1, &[send_tx(CHAIN, Some(RECEIVER), b"x")]);
		let (signer, signature) = signed_by(0, 0);
		let call = crate::Call::<Test>::sign_batch { chain: CHAIN, nonce: 0, signer, signature };
		let (valid, _) = call.authorize(TransactionSource::External).unwrap().unwrap();
		assert_eq!(valid.provides.len(), 1);
		let other = signed_by(1, 0);
		let other_call = crate::Call::<Test>::sign_batch {
			chain: CHAIN,
			nonce: 0,
			signer: other.0,
			signature: other.1,
		};
		let (other_valid, _) = other_call.authorize(TransactionSource::External).unwrap().unwrap();
		assert_ne!(valid.provides, other_valid.provides, "signers do not replace each other");
		let forged =
			crate::Call::<Test>::sign_batch { chain: CHAIN, nonce: 0, signer: other.0, signature };
		assert_eq!(
			forged.authorize(TransactionSource::External).unwrap(),
			Err(TransactionValidityError::Invalid(InvalidTransaction::BadProof))
		);
		// Once in the chain, the same signature is no longer valid in the pool.
		assert_ok!(Bridge::sign_batch(authorized(), CHAIN, 0, signer, signature));
		assert!(call.authorize(TransactionSource::External).unwrap().is_err());
	});
}

#[test]
fn a_new_set_signs_later_batches_and_the_old_set_hands_over_each_contract() {
	new_test_ext().execute_with(|| {
		finalize_and_seal(1, &[send_tx(CHAIN, Some(RECEIVER), b"x")]);
		// The same keys again (a session without change): no new set.
		Bridge::bridge_set_changed(&keys(0..4));
		assert_eq!(CurrentSetId::<Test>::get(), 1);
		// Validator 0 leaves, 4 and 5 join.
		Bridge::bridge_set_changed(&keys(1..6));
		assert_eq!(CurrentSetId::<Test>::get(), 2);
		let set = Sets::<Test>::get(2).unwrap();
		assert_eq!((set.keys.len(), set.threshold), (5, 4));
		assert!(set.addresses.windows(2).all(|w| w[0] < w[1]), "addresses ascending");
		let change = SetChanges::<Test>::get(CHAIN, 2).unwrap();
		assert_eq!((change.first_nonce, change.set_hash), (1, set.hash));
		// Batches sealed from now on are the new set's; nonce 0 stays the old set's.
		finalize_and_seal(2, &[send_tx(CHAIN, Some(RECEIVER), b"y")]);
		assert_eq!(Batches::<Test>::get(CHAIN, 1).unwrap().set_id, 2);
		assert_eq!(Batches::<Test>::get(CHAIN, 0).unwrap().set_id, 1);
		// The old set signs the hand-over: validator 0 (gone now) can, validator 5 (new)
		// cannot.
		let (digest, _, needed) = Bridge::set_change_digest(CHAIN, 2).unwrap();
		assert_eq!(needed, 3);
		let old = Sets::<Test>::get(1).unwrap();
		let index_in = |set: &crate::ValidatorSet<_>, i: u8| {
			let key: w3b_primitives::bridge::BridgeAuthorityId = validator(i).public().into();
			set.keys.iter().position(|k| *k == key)
		};
		assert_eq!(index_in(&old, 5), None);
		for (n, i) in [0u8, 1, 3].into_iter().enumerate() {
			let signer = index_in(&old, i).unwrap() as u32;
			assert_ok!(Bridge::sign_set_change(
				authorized(),
				CHAIN,
				2,
				signer,
				sign(&validator(i), digest)
			));
			assert_eq!(
				events().last(),
				Some(&Event::SetChangeSigned {
					chain: CHAIN,
					set_id: 2,
					signer,
					signatures: n as u32 + 1,
					complete: n == 2
				})
			);
		}
		// Validator 5 signing in the place of validator 2, who has not signed.
		let place_of_2 = index_in(&old, 2).unwrap() as u32;
		assert_noop!(
			Bridge::sign_set_change(
				authorized(),
				CHAIN,
				2,
				place_of_2,
				sign(&validator(5), digest)
			),
			Error::<Test>::BadSignature
		);
		assert_noop!(
			Bridge::sign_set_change(authorized(), CHAIN, 3, 0, sign(&validator(1), digest)),
			Error::<Test>::UnknownSetChange
		);
		// New members sign the new set's batches.
		let (signer, signature) = signed_by(5, 1);
		assert_ok!(Bridge::sign_batch(authorized(), CHAIN, 1, signer, signature));
	});
}

#[test]
fn targets_are_governance_s_to_set_and_remove() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Bridge::set_target(RuntimeOrigin::signed(1), 4689, CONTRACT),
			DispatchError::BadOrigin
		);
		assert_ok!(Bridge::set_target(RuntimeOrigin::root(), 4689, CONTRACT));
		assert_noop!(
			Bridge::set_target(RuntimeOrigin::root(), 1, CONTRACT),
			Error::<Test>::TooManyTargets
		);
		// Moving a target keeps its nonces.
		finalize_and_seal(1, &[send_tx(CHAIN, Some(RECEIVER), b"x")]);
		let moved = H160([0xb2; 20]);
		assert_ok!(Bridge::set_target(RuntimeOrigin::root(), CHAIN, moved));
		let target = Targets::<Test>::get(CHAIN).unwrap();
		assert_eq!(
			(target.contract, NextNonces::<Test>::get(CHAIN), target.first_set),
			(moved, 1, 1)
		);
		// The batch sealed before the move is still the old contract's, and its signatures
		// verify against it; the next one is the new contract's.
		let (old_digest, old_batch, _) = Bridge::batch_digest(CHAIN, 0).unwrap();
		assert_eq!(old_batch.contract, CONTRACT);
		assert_eq!(
			old_digest,
			BridgeDomain { chain_id: CHAIN, contract: CONTRACT, genesis: H256([1; 32]) }
				.batch_digest(1, 0, 2, old_batch.outputs_root)
		);
		let (signer, signature) = signed_by(0, 0);
		assert_ok!(Bridge::sign_batch(authorized(), CHAIN, 0, signer, signature));
		finalize_and_seal(3, &[send_tx(CHAIN, Some(RECEIVER), b"w")]);
		assert_eq!(Batches::<Test>::get(CHAIN, 1).unwrap().contract, moved);
		// Removing one drops what waits for it.
		Bridge::outputs_finalized(PROJECT, 2, &[send_tx(CHAIN, Some(RECEIVER), b"y")]);
		assert_noop!(
			Bridge::remove_target(RuntimeOrigin::signed(1), CHAIN),
			DispatchError::BadOrigin
		);
		assert_ok!(Bridge::remove_target(RuntimeOrigin::root(), CHAIN));
		assert!(Pending::<Test>::get(CHAIN).is_empty());
		run_to(System::block_number() + 1);
		assert!(Batches::<Test>::get(CHAIN, 2).is_none());
		assert_noop!(
			Bridge::remove_target(RuntimeOrigin::root(), CHAIN),
			Error::<Test>::UnknownTarget
		);
		// Registered again: nonces go on, none is used twice.
		assert_ok!(Bridge::set_target(RuntimeOrigin::root(), CHAIN, CONTRACT));
		finalize_and_seal(4, &[send_tx(CHAIN, Some(RECEIVER), b"v")]);
		assert_eq!(Batches::<Test>::get(CHAIN, 2).unwrap().contract, CONTRACT);
		assert_eq!(Batches::<Test>::get(CHAIN, 1).unwrap().contract, moved);
	});
}

#[test]
fn a_target_needs_the_genesis_hash_and_a_validator_set() {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	sp_io::TestExternalities::new(storage).execute_with(|| {
		assert_noop!(
			Bridge::set_target(RuntimeOrigin::root(), CHAIN, CONTRACT),
			Error::<Test>::NoGenesisHash
		);
		run_to(1);
		assert_noop!(
			Bridge::set_target(RuntimeOrigin::root(), CHAIN, CONTRACT),
			Error::<Test>::NoValidatorSet
		);
	});
}
