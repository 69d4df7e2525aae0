//! Unit tests: sequencing, every error path, the window and retention pruning, and
//! reports of invalid batches for every reason the chain can show.

use crate::{mock::*, *};
use frame_support::{
	assert_noop, assert_ok,
	dispatch::{DispatchResultWithPostInfo, Pays},
};
use sp_core::{ecdsa, ed25519, sr25519, Pair};
use sp_runtime::DispatchError;
use w3b_primitives::{
	did::{DidAction, DidCreation, DidOperation},
	merkle::{merkle_proof, merkle_root, MerkleProof},
	message::signed_message_hash,
	project::RetentionPolicy,
	DeviceKey, DeviceSignature, Message,
};

fn cid() -> Cid {
	let mut cid = vec![1, 0x55, 0x12, 0x20];
	cid.extend_from_slice(&[7; 32]);
	cid.try_into().unwrap()
}

fn root(n: u64) -> H256 {
	H256::from_low_u64_be(n + 1)
}

/// The Merkle root of batch `seq` while it is in the window.
fn batch_root(project: ProjectId, seq: u64) -> Option<H256> {
	Commitments::batch(project, seq).map(|batch| batch.header.merkle_root)
}

/// Commits batch `n` (the batch with Merkle root `root(n)`).
fn commit(who: u64, project: ProjectId, n: u64, bytes: u64) -> DispatchResultWithPostInfo {
	Commitments::commit_batch(RuntimeOrigin::signed(who), project, root(n), 3, bytes, cid())
}

#[test]
fn commit_batch_records_header_root_and_opens_round() {
	new_test_ext().execute_with(|| {
		let p = active_project(Default::default());
		assert_ok!(commit(OPERATORS[1], p, 0, 300));
		let batch = Batches::<Test>::get(p, 0).unwrap();
		let header = BatchHeader {
			project: p,
			seq: 0,
			merkle_root: root(0),
			count: 3,
			bytes: 300,
			cid: cid(),
		};
		assert_eq!(batch.header, header);
		assert_eq!(
			(batch.committer, batch.committed_at, batch.committed_at_ms),
			(OPERATORS[1], 1, 1_000_000)
		);
		assert_eq!(Commitments::next_batch_seq(p), 1);
		assert_eq!(RetainedBytes::<Test>::get(p), 300);
		assert_eq!(opened(), vec![header]);
		System::assert_last_event(
			Event::BatchCommitted {
				project: p,
				seq: 0,
				merkle_root: root(0),
				count: 3,
				bytes: 300,
				cid: cid(),
				committer: OPERATORS[1],
			}
			.into(),
		);
		// Any member may commit the next one.
		assert_ok!(commit(OPERATORS[2], p, 1, 300));
		assert_eq!(Commitments::next_batch_seq(p), 2);
	});
}

#[test]
fn the_chain_numbers_batches_without_gaps_and_refuses_a_root_twice() {
	new_test_ext().execute_with(|| {
		let p = active_project(Default::default());
		// Operators commit in any order; batches are numbered as they are included.
		assert_ok!(commit(OPERATORS[0], p, 7, 10));
		assert_ok!(commit(OPERATORS[1], p, 3, 10));
		assert_eq!((batch_root(p, 0), batch_root(p, 1)), (Some(root(7)), Some(root(3))));
		assert_eq!(
			(
				Commitments::batch_seq_of_root(p, &OPERATORS[0], root(7)),
				Commitments::batch_seq_of_root(p, &OPERATORS[1], root(3))
			),
			(Some(0), Some(1))
		);
		assert_eq!(Commitments::batch_seq_of_root(p, &OPERATORS[0], root(4)), None);
		// Roots are recorded per committer.
		assert_eq!(Commitments::batch_seq_of_root(p, &OPERATORS[1], root(7)), None);
		// The same batch resubmitted by its committer is refused.
		assert_noop!(commit(OPERATORS[0], p, 7, 10), Error::<Test>::BatchAlreadyCommitted);
		assert_noop!(commit(OPERATORS[1], p, 3, 10), Error::<Test>::BatchAlreadyCommitted);
		assert_eq!(Commitments::next_batch_seq(p), 2);
		// Once its proof expired, the committer commits it again under a new number (its
		// messages never counted); settled but finalized, it stays refused.
		expire(p, 0);
		assert_ok!(commit(OPERATORS[0], p, 7, 10));
		assert_eq!(Commitments::batch_seq_of_root(p, &OPERATORS[0], root(7)), Some(2));
		assert_noop!(commit(OPERATORS[0], p, 7, 10), Error::<Test>::BatchAlreadyCommitted);
		settle(p, 1);
		assert_noop!(commit(OPERATORS[1], p, 3, 10), Error::<Test>::BatchAlreadyCommitted);
		// Numbering and roots are per project.
		let q = active_project(Default::default());
		assert_ok!(commit(OPERATORS[0], q, 7, 10));
		assert_eq!(Commitments::batch_seq_of_root(q, &OPERATORS[0], root(7)), Some(0));
	});
}

/// The hijack that roots recorded per committer defeat: a member copies an honest
/// operator's root from the transaction pool and commits it first, with a CID of its
/// own. It only commits a batch of its own; the honest commitment still goes through,
/// under the next number, and each of them can find its own batch by its root.
#[test]
fn a_copied_root_committed_first_does_not_block_its_author() {
	new_test_ext().execute_with(|| {
		let p = active_project(Default::default());
		let (honest, hijacker) = (OPERATORS[0], OPERATORS[2]);
		let mut forged = vec![1, 0x55, 0x12, 0x20];
		forged.extend_from_slice(&[0xee; 32]);
		let forged: Cid = forged.try_into().unwrap();
		assert_ok!(Commitments::commit_batch(
			RuntimeOrigin::signed(hijacker),
			p,
			root(0),
			3,
			300,
			forged.clone()
		));
		assert_ok!(commit(honest, p, 0, 300));
		System::assert_last_event(
			Event::BatchCommitted {
				project: p,
				seq: 1,
				merkle_root: root(0),
				count: 3,
				bytes: 300,
				cid: cid(),
				committer: honest,
			}
			.into(),
		);
		assert_eq!(Commitments::batch_seq_of_root(p, &hijacker, root(0)), Some(0));
		assert_eq!(Commitments::batch_seq_of_root(p, &honest, root(0)), Some(1));
		let (copy, original) =
			(Batches::<Test>::get(p, 0).unwrap(), Batches::<Test>::get(p, 1).unwrap());
		assert_eq!((copy.committer, copy.header.cid), (hijacker, forged));
		assert_eq!((original.committer, original.header.cid), (honest, cid()));
		// Each is refused only its own root again.
		assert_noop!(commit(honest, p, 0, 300), Error::<Test>::BatchAlreadyCommitted);
		assert_noop!(commit(hijacker, p, 0, 300), Error::<Test>::BatchAlreadyCommitted);
	});
}

#[test]
fn only_members_of_active_projects_commit() {
	new_test_ext().execute_with(|| {
		assert_noop!(commit(OPERATORS[0], 9, 0, 10), Error::<Test>::UnknownProject);
		let p = active_project(Default::default());
		assert_noop!(commit(OUTSIDER, p, 0, 10), Error::<Test>::NotSubnetMember);
		assert_noop!(commit(OWNER, p, 0, 10), Error::<Test>::NotSubnetMember);
		assert_ok!(Projects::pause_project(RuntimeOrigin::signed(OWNER), p));
		assert_noop!(commit(OPERATORS[0], p, 0, 10), Error::<Test>::ProjectNotActive);
		assert_ok!(Projects::resume_project(RuntimeOrigin::signed(OWNER), p));
		// Pending again once too few operators remain.
		assert_ok!(Projects::set_config(
			RuntimeOrigin::signed(OWNER),
			p,
			w3b_primitives::project::ProjectConfig { min_operators: 4, ..Default::default() }
		));
		assert_noop!(commit(OPERATORS[0], p, 0, 10), Error::<Test>::ProjectNotActive);
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(OUTSIDER), p));
		assert_ok!(commit(OUTSIDER, p, 0, 10));
		assert_ok!(Projects::close_project(RuntimeOrigin::signed(OWNER), p));
		assert_noop!(commit(OPERATORS[0], p, 1, 10), Error::<Test>::ProjectNotActive);
	});
}

#[test]
fn malformed_batches_are_refused() {
	new_test_ext().execute_with(|| {
		let p = active_project(Default::default());
		let origin = || RuntimeOrigin::signed(OPERATORS[0]);
		assert_noop!(
			Commitments::commit_batch(origin(), p, root(0), 0, 0, cid()),
			Error::<Test>::EmptyBatch
		);
		assert_noop!(
			Commitments::commit_batch(origin(), p, root(0), 0, 10, cid()),
			Error::<Test>::EmptyBatch
		);
		assert_noop!(
			Commitments::commit_batch(origin(), p, root(0), 1, 0, cid()),
			Error::<Test>::EmptyBatch
		);
		// Only a CIDv1 of the raw codec with a sha2-256 digest names a body operators can
		// fetch and check.
		let body_cid = |prefix: &[u8], digest: usize| {
			let mut cid = prefix.to_vec();
			cid.extend(core::iter::repeat_n(7u8, digest));
			cid
		};
		for bad in [
			vec![],
			vec![0x12, 0x20, 1, 2],
			vec![1],
			body_cid(&[1, 0x55, 0x12, 0x20], 31),
			body_cid(&[1, 0x55, 0x12, 0x20], 33),
			body_cid(&[1, 0x70, 0x12, 0x20], 32),
			body_cid(&[1, 0x55, 0x13, 0x20], 32),
			body_cid(&[0, 0x55, 0x12, 0x20], 32),
		] {
			assert_noop!(
				Commitments::commit_batch(origin(), p, root(0), 1, 1, bad.try_into().unwrap()),
				Error::<Test>::InvalidCid
			);
		}
		// The attestations side refusing the round aborts the commitment.
		refuse_rounds(true);
		assert_noop!(commit(OPERATORS[0], p, 0, 10), DispatchError::Other("no room for the round"));
		refuse_rounds(false);
		assert_ok!(commit(OPERATORS[0], p, 0, 10));
	});
}

#[test]
fn commit_batch_refuses_batches_over_the_limits() {
	new_test_ext().execute_with(|| {
		let p = active_project(Default::default());
		let commit = |n, count, bytes| {
			Commitments::commit_batch(
				RuntimeOrigin::signed(OPERATORS[0]),
				p,
				root(n),
				count,
				bytes,
				cid(),
			)
		};
		assert_noop!(commit(0, MAX_BATCH_MESSAGES + 1, 10), Error::<Test>::BatchTooLarge);
		assert_noop!(commit(0, 1, MAX_BATCH_BYTES + 1), Error::<Test>::BatchTooLarge);
		assert_noop!(commit(0, u32::MAX, u64::MAX), Error::<Test>::BatchTooLarge);
		assert_ok!(commit(0, MAX_BATCH_MESSAGES, MAX_BATCH_BYTES));
		assert_eq!(Batches::<Test>::get(p, 0).unwrap().header.count, MAX_BATCH_MESSAGES);
	});
}

#[test]
fn window_prunes_settled_batches_and_all_they_kept() {
	new_test_ext().execute_with(|| {
		let p = active_project(Default::default());
		for seq in 0..WINDOW as u64 {
			assert_ok!(commit(OPERATORS[0], p, seq, 100));
		}
		// Window full, oldest not settled: nothing is pruned.
		assert_ok!(commit(OPERATORS[0], p, 4, 100));
		assert!(Batches::<Test>::contains_key(p, 0));
		assert!(pruned().is_empty());
		for seq in 0..3 {
			settle(p, seq);
		}
		// 6 batches for a window of 4: two go, at most MAX_PRUNE per commitment.
		assert_ok!(commit(OPERATORS[0], p, 5, 100));
		assert_eq!(pruned(), vec![(p, 0), (p, 1)]);
		System::assert_has_event(Event::BatchPruned { project: p, seq: 1 }.into());
		assert!(!Batches::<Test>::contains_key(p, 1) && Batches::<Test>::contains_key(p, 2));
		assert_eq!(OldestRetained::<Test>::get(p), 2);
		assert_eq!(RetainedBytes::<Test>::get(p), 400);
		// Nothing of a pruned batch stays: a root its committer sends again is a new batch.
		assert!(Commitments::batch(p, 0).is_none());
		assert_eq!(Commitments::batch_seq_of_root(p, &OPERATORS[0], root(0)), None);
		assert_eq!(Commitments::batch_seq_of_root(p, &OPERATORS[0], root(2)), Some(2));
		// Batch 3 is not settled: pruning stops at it even when over the window.
		assert_ok!(commit(OPERATORS[0], p, 6, 100));
		assert_eq!(pruned(), vec![(p, 0), (p, 1), (p, 2)]);
		assert_eq!(OldestRetained::<Test>::get(p), 3);
	});
}

#[test]
fn retention_by_age_and_size() {
	new_test_ext().execute_with(|| {
		let by_age = active_project(RetentionPolicy { max_age_secs: 60, max_bytes: 0 });
		let by_size = active_project(RetentionPolicy { max_age_secs: 0, max_bytes: 250 });
		for seq in 0..3 {
			assert_ok!(commit(OPERATORS[0], by_age, seq, 100));
			assert_ok!(commit(OPERATORS[0], by_size, seq, 100));
			settle(by_age, seq);
			settle(by_size, seq);
		}
		// 300 bytes kept for a limit of 250: batch 0 went when batch 2 came.
		assert_eq!(pruned(), vec![(by_size, 0)]);
		assert_eq!(RetainedBytes::<Test>::get(by_size), 200);
		// A minute later everything but the newest batch is too old.
		set_now_ms(1_000_000 + 60_001);
		assert_ok!(commit(OPERATORS[0], by_age, 3, 100));
		assert_eq!(pruned()[1..], [(by_age, 0), (by_age, 1)]);
		settle(by_age, 3);
		assert_ok!(commit(OPERATORS[0], by_age, 4, 100));
		// Batch 3 is young (committed at the new time), batch 2 was old.
		assert_eq!(pruned()[3..], [(by_age, 2)]);
		assert_eq!(OldestRetained::<Test>::get(by_age), 3);
	});
}

// --- report_invalid_batch --------------------------------------------------------------

/// Time of the commitments in the report tests.
const COMMIT_MS: u64 = 1_700_000_000_000;
/// Brings evidence; no role in any project.
const REPORTER: u64 = 30;

/// The test device with seed `seed`.
fn pair(seed: u8) -> ed25519::Pair {
	ed25519::Pair::from_seed(&[seed; 32])
}

fn key(pair: &ed25519::Pair) -> DeviceKey {
	DeviceKey::Ed25519(pair.public().0)
}

fn register(project: ProjectId, key: DeviceKey) {
	assert_ok!(Projects::register_device(RuntimeOrigin::signed(OWNER), project, key, None));
}

/// A message of device `key` in `project`, made a second before [`COMMIT_MS`].
fn message(project: ProjectId, key: &DeviceKey, seq: u64) -> Message {
	Message {
		project,
		device: key.device_id(),
		seq,
		timestamp_ms: COMMIT_MS - 1_000,
		event_type: b"DEFAULT".to_vec(),
		payload: b"{\"celsius\":21}".to_vec(),
		encrypted: false,
	}
}

fn sign(pair: &ed25519::Pair, message: &Message) -> DeviceSignature {
	DeviceSignature::Ed25519(pair.sign(message.hash().as_bytes()).0)
}

/// The Merkle leaf item of `message` committed with `signature`.
fn leaf(message: &Message, signature: &DeviceSignature) -> H256 {
	signed_message_hash(&message.hash(), signature)
}

/// The Merkle leaf item of `message` committed with `pair`'s signature.
fn signed(pair: &ed25519::Pair, message: &Message) -> H256 {
	leaf(message, &sign(pair, message))
}

/// Commits the messages with these hashes as the next batch of `project` (by the first
/// operator, in the current block, at [`COMMIT_MS`]); returns its number.
fn commit_hashes(project: ProjectId, hashes: &[H256]) -> u64 {
	set_now_ms(COMMIT_MS);
	// A report slashed it out of the subnet: it takes a new seat (with a new bond).
	if !Operators::is_member(project, &OPERATORS[0]) {
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(OPERATORS[0]), project));
	}
	let seq = Commitments::next_batch_seq(project);
	assert_ok!(Commitments::commit_batch(
		RuntimeOrigin::signed(OPERATORS[0]),
		project,
		merkle_root(hashes),
		hashes.len() as u32,
		100 * hashes.len() as u64,
		cid()
	));
	seq
}

/// Evidence that `message`, signed `signature`, is leaf `index` of the batch of `hashes`.
fn invalid(
	message: Message,
	signature: DeviceSignature,
	hashes: &[H256],
	index: usize,
) -> Evidence {
	Evidence::Invalid { message, signature, proof: merkle_proof(hashes, index).unwrap() }
}

fn report(project: ProjectId, seq: u64, evidence: Evidence) -> DispatchResultWithPostInfo {
	Commitments::report_invalid_batch(RuntimeOrigin::signed(REPORTER), project, seq, evidence)
}

/// An Active project with device `pair(1)` registered in block 1; the chain is at block 2.
fn project_with_device() -> ProjectId {
	let p = active_project(Default::default());
	register(p, key(&pair(1)));
	System::set_block_number(2);
	p
}

/// Commits a batch of `project` holding a valid message of device `pair(1)`, `message`
/// and another valid one, and reports `message` signed `signature`. Returns the batch
/// number and what the report gave.
fn commit_and_report(
	project: ProjectId,
	message: Message,
	signature: DeviceSignature,
) -> (u64, DispatchResultWithPostInfo) {
	let device = pair(1);
	let base = 1_000 * Commitments::next_batch_seq(project);
	let before = self::message(project, &key(&device), base + 1);
	let after = self::message(project, &key(&device), base + 2);
	let hashes = [signed(&device, &before), leaf(&message, &signature), signed(&device, &after)];
	let seq = commit_hashes(project, &hashes);
	(seq, report(project, seq, invalid(message, signature, &hashes, 1)))
}

/// What a report against a batch of `project` gives, with no other effect when refused.
fn reason_of(
	project: ProjectId,
	message: Message,
	signature: DeviceSignature,
) -> Result<Invalid, DispatchError> {
	let (seq, result) = commit_and_report(project, message, signature);
	match result {
		Ok(post) => {
			assert_eq!(post.pays_fee, Pays::No, "an accepted report is free");
			Ok(Reports::<Test>::get(project, seq).expect("report kept").2)
		}
		Err(e) => {
			assert_eq!(e.post_info.pays_fee, Pays::Yes, "a refused report pays");
			assert!(Reports::<Test>::get(project, seq).is_none());
			Err(e.error)
		}
	}
}

#[test]
fn report_invalid_batch_names_the_committer_and_is_free() {
	new_test_ext().execute_with(|| {
		let p = project_with_device();
		// A device the project never registered.
		let stranger = pair(9);
		let forged = message(p, &key(&stranger), 1);
		let signature = sign(&stranger, &forged);
		let (seq, result) = commit_and_report(p, forged.clone(), signature);
		assert_eq!(result.unwrap().pays_fee, Pays::No);
		assert_eq!(
			Commitments::invalid_batch_report(p, seq),
			Some((REPORTER, forged.hash(), Invalid::UnknownDevice))
		);
		System::assert_last_event(
			Event::InvalidBatchReported {
				project: p,
				batch_seq: seq,
				committer: OPERATORS[0],
				reporter: REPORTER,
				message_hash: forged.hash(),
				reason: Invalid::UnknownDevice,
			}
			.into(),
		);
		// The committer answers with its seat: out of the subnet, its seat bond in the
		// treasury.
		let committer = OPERATORS[0];
		assert!(!Operators::is_member(p, &committer));
		assert!(Operators::seat(p, &committer).is_none());
		System::assert_has_event(
			pallet_operators::Event::SeatSlashed { project: p, operator: committer, amount: 500 }
				.into(),
		);
		assert_eq!(Balances::free_balance(TREASURY), 500);
		// A refused report slashes nobody.
		let honest = OPERATORS[1];
		let seat = Operators::seat(p, &honest).unwrap();
		let valid = message(p, &key(&pair(1)), 50);
		let signature = sign(&pair(1), &valid);
		assert!(reason_of(p, valid, signature).is_err());
		assert_eq!(Operators::seat(p, &honest), Some(seat));
	});
}

#[test]
fn report_invalid_batch_refuses_a_valid_message_on_every_curve() {
	new_test_ext().execute_with(|| {
		let p = project_with_device();
		let sr = sr25519::Pair::from_seed(&[2; 32]);
		let k1 = ecdsa::Pair::from_seed(&[3; 32]);
		register(p, DeviceKey::Sr25519(sr.public().0));
		register(p, DeviceKey::Secp256k1(k1.public().0));
		System::set_block_number(3);
		let ed = message(p, &key(&pair(1)), 1);
		assert_eq!(
			reason_of(p, ed.clone(), sign(&pair(1), &ed)),
			Err(Error::<Test>::MessageValid.into())
		);
		let m = message(p, &DeviceKey::Sr25519(sr.public().0), 1);
		let signature = DeviceSignature::Sr25519(sr.sign(m.hash().as_bytes()).0);
		assert_eq!(reason_of(p, m, signature), Err(Error::<Test>::MessageValid.into()));
		let m = message(p, &DeviceKey::Secp256k1(k1.public().0), 1);
		let signature = DeviceSignature::Secp256k1(k1.sign_prehashed(&m.hash().0).0);
		assert_eq!(reason_of(p, m, signature), Err(Error::<Test>::MessageValid.into()));
	});
}

#[test]
fn report_invalid_batch_counts_devices_registered_from_the_commit_block_on_as_unknown() {
	new_test_ext().execute_with(|| {
		let p = project_with_device();
		// Registered in the commitment's block: after the context.
		let same_block = pair(2);
		register(p, key(&same_block));
		let m = message(p, &key(&same_block), 1);
		assert_eq!(reason_of(p, m.clone(), sign(&same_block, &m)), Ok(Invalid::UnknownDevice));
		// Registered in a block after the commitment.
		let later = pair(3);
		let m = message(p, &key(&later), 1);
		let hashes = [signed(&later, &m)];
		let seq = commit_hashes(p, &hashes);
		System::set_block_number(3);
		register(p, key(&later));
		assert_ok!(report(p, seq, invalid(m.clone(), sign(&later, &m), &hashes, 0)));
		assert_eq!(Reports::<Test>::get(p, seq).unwrap().2, Invalid::UnknownDevice);
		// Registered in an earlier block: it counts.
		System::set_block_number(4);
		let m = message(p, &key(&later), 2);
		assert_eq!(
			reason_of(p, m.clone(), sign(&later, &m)),
			Err(Error::<Test>::MessageValid.into())
		);
	});
}

#[test]
fn report_invalid_batch_never_blames_a_committer_for_a_revocation() {
	// A device revoked between a node's acknowledgement and the commitment's inclusion is
	// the owner's doing, not the committer's: its messages do not count, but nobody is
	// named for them.
	new_test_ext().execute_with(|| {
		let p = active_project(Default::default());
		let device = pair(1);
		register(p, key(&device));
		let (early, late) = (pair(2), pair(3));
		register(p, key(&early));
		register(p, key(&late));
		System::set_block_number(2);
		assert_ok!(Projects::revoke_device(
			RuntimeOrigin::signed(OWNER),
			p,
			key(&early).device_id()
		));
		System::set_block_number(3);
		// Revoked in block 2, batch committed in block 3.
		let m = message(p, &key(&early), 1);
		assert_eq!(
			reason_of(p, m.clone(), sign(&early, &m)),
			Err(Error::<Test>::MessageValid.into())
		);
		// Revoked in the commitment's block or after it: its message counts.
		let before = message(p, &key(&late), 1);
		let before_hashes = [signed(&late, &before)];
		let committed_before = commit_hashes(p, &before_hashes);
		System::set_block_number(4);
		let same = message(p, &key(&late), 2);
		let same_hashes = [signed(&late, &same)];
		let committed_same = commit_hashes(p, &same_hashes);
		assert_ok!(Projects::revoke_device(
			RuntimeOrigin::signed(OWNER),
			p,
			key(&late).device_id()
		));
		System::set_block_number(5);
		assert_noop!(
			report(
				p,
				committed_before,
				invalid(before.clone(), sign(&late, &before), &before_hashes, 0)
			),
			Error::<Test>::MessageValid
		);
		assert_noop!(
			report(p, committed_same, invalid(same.clone(), sign(&late, &same), &same_hashes, 0)),
			Error::<Test>::MessageValid
		);
		// Batches committed after the revocation's block do not count it.
		let m3 = message(p, &key(&late), 3);
		assert_eq!(
			reason_of(p, m3.clone(), sign(&late, &m3)),
			Err(Error::<Test>::MessageValid.into())
		);
	});
}

#[test]
fn report_invalid_batch_shows_a_bad_signature_only_as_committed() {
	// The Merkle leaves bind each message to the signature committed with it: a batch
	// holding a bad signature names its committer, and a good message shown with a
	// made-up signature names nobody.
	new_test_ext().execute_with(|| {
		let p = project_with_device();
		let device = pair(1);
		let m = message(p, &key(&device), 1);
		// Another key's signature.
		assert_eq!(reason_of(p, m.clone(), sign(&pair(9), &m)), Ok(Invalid::BadSignature));
		// The device's signature of another message.
		let m = message(p, &key(&device), 2);
		let other = message(p, &key(&device), 3);
		assert_eq!(reason_of(p, m.clone(), sign(&device, &other)), Ok(Invalid::BadSignature));
		// The right bytes on another curve.
		let m = message(p, &key(&device), 4);
		let DeviceSignature::Ed25519(bytes) = sign(&device, &m) else { unreachable!() };
		assert_eq!(reason_of(p, m, DeviceSignature::Sr25519(bytes)), Ok(Invalid::BadSignature));
		// A message committed with its good signature, shown with another one.
		let m = message(p, &key(&device), 5);
		let hashes = [signed(&device, &m)];
		let seq = commit_hashes(p, &hashes);
		assert_noop!(
			report(p, seq, invalid(m.clone(), sign(&pair(9), &m), &hashes, 0)),
			Error::<Test>::BadEvidence
		);
	});
}

#[test]
fn report_invalid_batch_shows_oversized_messages() {
	new_test_ext().execute_with(|| {
		let p = project_with_device();
		let device = pair(1);
		let with = |seq, change: fn(&mut Message)| {
			let mut m = message(p, &key(&device), seq);
			change(&mut m);
			let signature = sign(&device, &m);
			(m, signature)
		};
		let (m, s) = with(1, |m| m.payload = vec![0; validity::MAX_PAYLOAD + 1]);
		assert_eq!(reason_of(p, m, s), Ok(Invalid::Oversized));
		let (m, s) = with(2, |m| m.event_type.clear());
		assert_eq!(reason_of(p, m, s), Ok(Invalid::Oversized));
		let (m, s) = with(3, |m| m.event_type = vec![b'e'; validity::MAX_EVENT_TYPE + 1]);
		assert_eq!(reason_of(p, m, s), Ok(Invalid::Oversized));
		let (m, s) = with(4, |m| m.payload = vec![0; validity::MAX_PAYLOAD]);
		assert_eq!(reason_of(p, m, s), Err(Error::<Test>::MessageValid.into()));
	});
}

#[test]
fn report_invalid_batch_never_blames_a_committer_for_a_timestamp() {
	// A node down for a day, or clocks a little apart, make an honest node commit messages
	// outside the window: they do not count, and nobody is named.
	new_test_ext().execute_with(|| {
		let p = project_with_device();
		let device = pair(1);
		let at = |seq, timestamp_ms| {
			let mut m = message(p, &key(&device), seq);
			m.timestamp_ms = timestamp_ms;
			let signature = sign(&device, &m);
			(m, signature)
		};
		let (m, s) = at(1, COMMIT_MS - validity::MAX_AGE_MS - 1);
		assert_eq!(reason_of(p, m, s), Err(Error::<Test>::MessageValid.into()));
		let (m, s) = at(2, COMMIT_MS + validity::MAX_AHEAD_MS + 1);
		assert_eq!(reason_of(p, m, s), Err(Error::<Test>::MessageValid.into()));
		let (m, s) = at(3, COMMIT_MS - validity::MAX_AGE_MS);
		assert_eq!(reason_of(p, m, s), Err(Error::<Test>::MessageValid.into()));
		let (m, s) = at(4, COMMIT_MS + validity::MAX_AHEAD_MS);
		assert_eq!(reason_of(p, m, s), Err(Error::<Test>::MessageValid.into()));
		// The time of the report does not matter: a day later the message still counts.
		let (m, s) = at(5, COMMIT_MS);
		let hashes = [leaf(&m, &s)];
		let seq = commit_hashes(p, &hashes);
		set_now_ms(COMMIT_MS + 2 * validity::MAX_AGE_MS);
		assert_noop!(report(p, seq, invalid(m, s, &hashes, 0)), Error::<Test>::MessageValid);
	});
}

#[test]
fn report_invalid_batch_shows_a_message_of_another_project() {
	new_test_ext().execute_with(|| {
		let p = project_with_device();
		let q = active_project(Default::default());
		register(q, key(&pair(1)));
		System::set_block_number(3);
		let device = pair(1);
		let m = message(q, &key(&device), 1);
		assert_eq!(reason_of(p, m.clone(), sign(&device, &m)), Ok(Invalid::WrongProject));
	});
}

#[test]
fn report_invalid_batch_shows_a_duplicate() {
	new_test_ext().execute_with(|| {
		let p = project_with_device();
		let device = pair(1);
		let (a, b) = (message(p, &key(&device), 1), message(p, &key(&device), 2));
		let hashes = [signed(&device, &a), signed(&device, &b), signed(&device, &a)];
		let seq = commit_hashes(p, &hashes);
		let at = |index| (sign(&device, &a), merkle_proof(&hashes, index).unwrap());
		let duplicate = |first, second| Evidence::Duplicate {
			message_hash: a.hash(),
			first: at(first),
			second: at(second),
		};
		// The right positions with another signature than the one committed there.
		let (_, proof) = at(2);
		let unsigned = Evidence::Duplicate {
			message_hash: a.hash(),
			first: at(0),
			second: (sign(&pair(9), &a), proof),
		};
		assert_noop!(report(p, seq, unsigned), Error::<Test>::BadEvidence);
		// The same position twice, or a position holding another message: no evidence.
		assert_noop!(report(p, seq, duplicate(0, 0)), Error::<Test>::BadEvidence);
		assert_noop!(report(p, seq, duplicate(0, 1)), Error::<Test>::BadEvidence);
		assert_noop!(report(p, seq, duplicate(1, 2)), Error::<Test>::BadEvidence);
		let post = report(p, seq, duplicate(2, 0)).unwrap();
		assert_eq!(post.pays_fee, Pays::No);
		System::assert_last_event(
			Event::InvalidBatchReported {
				project: p,
				batch_seq: seq,
				committer: OPERATORS[0],
				reporter: REPORTER,
				message_hash: a.hash(),
				reason: Invalid::Duplicate,
			}
			.into(),
		);
		assert_eq!(Reports::<Test>::get(p, seq), Some((REPORTER, a.hash(), Invalid::Duplicate)));
	});
}

#[test]
fn report_invalid_batch_refuses_evidence_that_does_not_hold() {
	new_test_ext().execute_with(|| {
		let p = project_with_device();
		let stranger = pair(9);
		let forged = message(p, &key(&stranger), 1);
		let signature = sign(&stranger, &forged);
		let other = message(p, &key(&stranger), 2);
		let hashes =
			[signed(&stranger, &other), leaf(&forged, &signature), signed(&stranger, &other)];
		let seq = commit_hashes(p, &hashes);
		let bad = |proof: MerkleProof| Evidence::Invalid {
			message: forged.clone(),
			signature: signature.clone(),
			proof,
		};
		// Another position's proof.
		assert_noop!(
			report(p, seq, bad(merkle_proof(&hashes, 0).unwrap())),
			Error::<Test>::BadEvidence
		);
		// A proof in a batch of another size.
		let longer = [hashes[0], hashes[1], hashes[2], hashes[0]];
		assert_noop!(
			report(p, seq, bad(merkle_proof(&longer, 1).unwrap())),
			Error::<Test>::BadEvidence
		);
		// A message that is not in the batch at all.
		let absent = message(p, &key(&stranger), 3);
		assert_noop!(
			report(p, seq, invalid(absent.clone(), sign(&stranger, &absent), &hashes, 1)),
			Error::<Test>::BadEvidence
		);
		let refused = report(p, seq, bad(merkle_proof(&hashes, 0).unwrap())).unwrap_err();
		assert_eq!(refused.post_info.pays_fee, Pays::Yes);
		assert_ok!(report(p, seq, bad(merkle_proof(&hashes, 1).unwrap())));
	});
}

#[test]
fn report_invalid_batch_needs_a_batch_in_the_window_not_yet_reported() {
	new_test_ext().execute_with(|| {
		let p = project_with_device();
		let stranger = pair(9);
		let forged = message(p, &key(&stranger), 1);
		let other = message(p, &key(&stranger), 2);
		let hashes = [signed(&stranger, &forged), signed(&stranger, &other)];
		let evidence = |i: usize| {
			let m = [&forged, &other][i].clone();
			let signature = sign(&stranger, &m);
			invalid(m, signature, &hashes, i)
		};
		assert_noop!(report(p, 0, evidence(0)), Error::<Test>::UnknownBatch);
		assert_noop!(report(p + 1, 0, evidence(0)), Error::<Test>::UnknownBatch);
		let seq = commit_hashes(p, &hashes);
		assert_ok!(report(p, seq, evidence(0)));
		// One report per batch, whatever it shows.
		assert_noop!(report(p, seq, evidence(0)), Error::<Test>::AlreadyReported);
		assert_noop!(report(p, seq, evidence(1)), Error::<Test>::AlreadyReported);
		// The report goes with the batch when it is pruned; then nothing can be shown.
		for n in 0..WINDOW as u64 + 1 {
			settle(p, n);
			assert_ok!(commit(OPERATORS[1], p, 100 + n, 100));
		}
		assert!(!Batches::<Test>::contains_key(p, seq));
		assert!(Reports::<Test>::get(p, seq).is_none());
		assert_eq!(Commitments::invalid_batch_report(p, seq), None);
		assert_noop!(report(p, seq, evidence(1)), Error::<Test>::UnknownBatch);
	});
}

/// The round's votes are free because the committer paid for them: [`VOTE_FEE`] per
/// member, burnt. A committer that cannot pay commits nothing.
#[test]
fn a_commitment_pays_for_its_round_s_votes() {
	new_test_ext().execute_with(|| {
		use frame_support::traits::fungible::{Inspect, Mutate};
		let p = active_project(Default::default());
		let (before, issuance) = (Balances::balance(&OPERATORS[0]), Balances::total_issuance());
		assert_ok!(commit(OPERATORS[0], p, 0, 100));
		let fee = VOTE_FEE * OPERATORS.len() as u64;
		assert_eq!(Balances::balance(&OPERATORS[0]), before - fee);
		assert_eq!(Balances::total_issuance(), issuance - fee);

		// Just short of the fee (the account must stay alive): refused, nothing kept.
		let existential = Balances::minimum_balance();
		Balances::set_balance(&OPERATORS[1], existential + fee - 1);
		assert_noop!(commit(OPERATORS[1], p, 1, 100), Error::<Test>::CannotPayVotes);
		Balances::set_balance(&OPERATORS[1], existential + fee);
		assert_ok!(commit(OPERATORS[1], p, 1, 100));
	});
}

/// A closed project's batches answer to evidence until its devices' records may go
/// (`DeviceRemovalDelay` after the closing), and not after: a record removed then must
/// not make an honest committer's device look unknown.
#[test]
fn evidence_against_a_closed_project_is_taken_until_its_devices_may_go() {
	new_test_ext().execute_with(|| {
		let p = project_with_device();
		let stranger = pair(9);
		let forged = message(p, &key(&stranger), 1);
		let signature = sign(&stranger, &forged);
		let hashes = [signed(&pair(1), &message(p, &key(&pair(1)), 1)), leaf(&forged, &signature)];
		let seq = commit_hashes(p, &hashes);
		assert_ok!(Projects::close_project(RuntimeOrigin::signed(OWNER), p));
		let delay: u64 = <Test as pallet_projects::Config>::DeviceRemovalDelay::get();
		System::set_block_number(System::block_number() + delay + 1);
		let evidence = || invalid(forged.clone(), signature.clone(), &hashes, 1);
		assert_noop!(report(p, seq, evidence()), Error::<Test>::EvidenceTooLate);
		System::set_block_number(System::block_number() - 1);
		assert_ok!(report(p, seq, evidence()));
	});
}

/// A batch of logs, as `pallets/inbound` makes one.
fn log_batch(project: ProjectId, logs: u64) -> w3b_primitives::inbound::LogBatch {
	use w3b_primitives::inbound::{batch_body, cut_range, Cursor, EvmLog, Subscription};
	let subscription = Subscription {
		chain_id: 4690,
		contract: sp_core::H160::repeat_byte(1),
		topics: Default::default(),
		confirmations: 1,
		blocks_per_range: 10,
		event_type: b"evm:Reading".to_vec().try_into().unwrap(),
	};
	let logs = (0..logs)
		.map(|i| EvmLog {
			block_number: 5,
			block_hash: H256::repeat_byte(5),
			transaction_hash: H256::repeat_byte(6),
			log_index: i as u32,
			topics: Default::default(),
			data: vec![i as u8; 8].try_into().unwrap(),
			data_truncated: false,
		})
		.collect();
	batch_body(project, &subscription, &cut_range(Cursor::at_block(5), 14, logs), 1_000_000)
}

#[test]
fn a_batch_made_on_chain_keeps_its_body_in_the_window_and_pays_no_vote_fee() {
	new_test_ext().execute_with(|| {
		use frame_support::traits::fungible::Inspect;
		let p = active_project(Default::default());
		assert_ok!(commit(OPERATORS[0], p, 0, 100));
		let batch = log_batch(p, 3);
		let before = Balances::balance(&OPERATORS[1]);
		let seq = Commitments::commit_on_chain(
			p,
			OPERATORS[1],
			batch.body.clone(),
			batch.merkle_root,
			batch.count,
		)
		.unwrap();
		assert_eq!(seq, 1);
		assert_eq!(Balances::balance(&OPERATORS[1]), before);
		let header = Commitments::batch(p, 1).unwrap().header;
		let mut cid = BODY_CID_PREFIX.to_vec();
		cid.extend_from_slice(&sp_io::hashing::sha2_256(&batch.body));
		assert_eq!(
			(header.merkle_root, header.count, header.bytes, header.cid.to_vec()),
			(batch.merkle_root, 3, batch.body.len() as u64, cid)
		);
		assert_eq!(opened().last(), Some(&header));
		assert_eq!(Commitments::on_chain_body(p, 1), Some(batch.body));
		assert_eq!(Commitments::on_chain_body(p, 0), None, "an operator's batch");
		// Device batches go on after it.
		assert_ok!(commit(OPERATORS[0], p, 2, 100));
		assert_eq!(Commitments::next_batch_seq(p), 3);
		// Pruned with its header.
		for seq in 0..4 {
			settle(p, seq);
			assert_ok!(commit(OPERATORS[0], p, 3 + seq, 100));
		}
		assert!(Commitments::batch(p, 1).is_none());
		assert_eq!(Commitments::on_chain_body(p, 1), None);
	});
}

#[test]
fn a_batch_made_on_chain_is_refused_when_it_could_not_be_committed() {
	new_test_ext().execute_with(|| {
		let p = active_project(Default::default());
		let batch = log_batch(p, 2);
		let commit_logs = |body: Vec<u8>, count| {
			Commitments::commit_on_chain(p, OPERATORS[0], body, batch.merkle_root, count)
		};
		assert_noop!(commit_logs(vec![], 0), Error::<Test>::EmptyBatch);
		assert_noop!(
			commit_logs(vec![0; MAX_ON_CHAIN_BODY as usize + 1], 2),
			Error::<Test>::OnChainBodyTooLarge
		);
		refuse_rounds(true);
		assert_noop!(
			commit_logs(batch.body.clone(), 2),
			DispatchError::Other("no room for the round")
		);
		refuse_rounds(false);
		assert_noop!(
			Commitments::commit_on_chain(
				99,
				OPERATORS[0],
				batch.body.clone(),
				batch.merkle_root,
				2
			),
			Error::<Test>::UnknownProject
		);
		assert_ok!(Projects::pause_project(RuntimeOrigin::signed(OWNER), p));
		assert_noop!(commit_logs(batch.body.clone(), 2), Error::<Test>::ProjectNotActive);
	});
}

/// The attack: a log's message names no registered device, so as evidence it would show
/// an "unknown device" and slash whoever's transaction made the batch.
#[test]
fn nobody_is_blamed_for_a_batch_made_on_chain() {
	new_test_ext().execute_with(|| {
		let p = active_project(Default::default());
		let batch = log_batch(p, 2);
		Commitments::commit_on_chain(p, OPERATORS[0], batch.body.clone(), batch.merkle_root, 2)
			.unwrap();
		let messages: Vec<(Message, DeviceSignature, u64)> =
			codec::Decode::decode(&mut &batch.body[..]).unwrap();
		let leaves: Vec<_> = messages.iter().map(|(m, s, _)| leaf(m, s)).collect();
		let (message, signature, _) = messages[0].clone();
		let evidence =
			Evidence::Invalid { message, signature, proof: merkle_proof(&leaves, 0).unwrap() };
		assert_noop!(report(p, 0, evidence), Error::<Test>::MadeOnChain);
		assert!(pallet_operators::Pallet::<Test>::is_member(p, &OPERATORS[0]));
	});
}

/// Creates the DID of `pair`'s key (submitted by [`OWNER`]; the genesis hash is
/// [`System::block_hash`] of 0) and registers the device by it in `project`.
fn register_by_did(project: ProjectId, pair: &ed25519::Pair) -> H256 {
	let creation = DidCreation::new(key(pair), OWNER, System::block_number());
	let signature = DeviceSignature::Ed25519(
		pair.sign(creation.signing_hash(&System::block_hash(0)).as_bytes()).0,
	);
	let did = creation.did();
	assert_ok!(DidRegistry::create(RuntimeOrigin::signed(OWNER), creation, signature));
	assert_ok!(Projects::register_device_by_did(RuntimeOrigin::signed(OWNER), project, did));
	did
}

/// Applies `action` to `did`, signed by `pair`, as operation `counter`.
fn did_update(did: H256, pair: &ed25519::Pair, counter: u64, action: DidAction) {
	let operation = DidOperation { did, counter, valid_until: System::block_number(), action };
	let signature = DeviceSignature::Ed25519(
		pair.sign(operation.signing_hash(&System::block_hash(0)).as_bytes()).0,
	);
	assert_ok!(DidRegistry::update(RuntimeOrigin::signed(OWNER), operation, signature));
}

#[test]
fn a_device_registered_by_its_did_is_judged_by_the_key_its_did_had() {
	new_test_ext().execute_with(|| {
		let p = active_project(Default::default());
		let (first, second) = (pair(1), pair(2));
		let did = register_by_did(p, &first);
		let device_message = |seq| Message { device: did, ..message(p, &key(&first), seq) };
		// Long after the DID's key was set (a day, in the mock 10 blocks): a signature
		// that is not its key's is its committer's fault.
		System::set_block_number(20);
		let m = device_message(1);
		assert_eq!(reason_of(p, m.clone(), sign(&pair(9), &m)), Ok(Invalid::BadSignature));
		let m = device_message(2);
		assert_eq!(
			reason_of(p, m.clone(), sign(&first, &m)),
			Err(Error::<Test>::MessageValid.into())
		);
		// The device rotates its key: a message signed by the old key no longer counts,
		// but its committer may have taken it before the rotation: nobody is to blame.
		did_update(did, &first, 1, DidAction::SetAuthenticationKey(key(&second)));
		System::set_block_number(21);
		let m = device_message(3);
		let record = Projects::device(p, did).unwrap();
		assert_eq!(record.key, key(&second));
		let context = Context { project: p, committed_at: 21, committed_at_ms: COMMIT_MS };
		assert_eq!(
			validity::check(&context, &m, &sign(&first, &m), Some(&record)),
			Err(Invalid::BadSignature)
		);
		assert_eq!(
			reason_of(p, m.clone(), sign(&first, &m)),
			Err(Error::<Test>::SignatureNotJudged.into())
		);
		let m = device_message(4);
		assert_eq!(
			reason_of(p, m.clone(), sign(&second, &m)),
			Err(Error::<Test>::MessageValid.into())
		);
		// A day after the rotation, a forged signature is proof again.
		System::set_block_number(31);
		let m = device_message(5);
		assert_eq!(reason_of(p, m.clone(), sign(&first, &m)), Ok(Invalid::BadSignature));
		// A deactivated DID is a revoked device: its messages stop counting, nobody is blamed.
		did_update(did, &second, 2, DidAction::Deactivate);
		System::set_block_number(32);
		let m = device_message(6);
		let record = Projects::device(p, did).unwrap();
		assert_eq!(record.revoked_at, Some(31));
		let context = Context { project: p, committed_at: 32, committed_at_ms: COMMIT_MS };
		assert_eq!(
			validity::check(&context, &m, &sign(&second, &m), Some(&record)),
			Err(Invalid::RevokedDevice)
		);
		assert_eq!(
			reason_of(p, m.clone(), sign(&pair(9), &m)),
			Err(Error::<Test>::MessageValid.into())
		);
	});
}
