//! Unit tests: sequencing, every error path, the window and retention pruning.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, dispatch::DispatchResultWithPostInfo};
use sp_runtime::DispatchError;
use w3b_primitives::project::RetentionPolicy;

fn cid() -> Cid {
	let mut cid = vec![1, 0x55, 0x12, 0x20];
	cid.extend_from_slice(&[7; 32]);
	cid.try_into().unwrap()
}

fn root(n: u64) -> H256 {
	H256::from_low_u64_be(n + 1)
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
		assert_eq!(Commitments::batch_root(p, 0), Some(root(0)));
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
		assert_eq!(
			(Commitments::batch_root(p, 0), Commitments::batch_root(p, 1)),
			(Some(root(7)), Some(root(3)))
		);
		assert_eq!(
			(
				Commitments::batch_seq_of_root(p, root(7)),
				Commitments::batch_seq_of_root(p, root(3))
			),
			(Some(0), Some(1))
		);
		assert_eq!(Commitments::batch_seq_of_root(p, root(4)), None);
		// The same batch resubmitted, by anyone, is refused.
		assert_noop!(commit(OPERATORS[0], p, 7, 10), Error::<Test>::BatchAlreadyCommitted);
		assert_noop!(commit(OPERATORS[2], p, 3, 10), Error::<Test>::BatchAlreadyCommitted);
		assert_eq!(Commitments::next_batch_seq(p), 2);
		// Numbering and roots are per project.
		let q = active_project(Default::default());
		assert_ok!(commit(OPERATORS[0], q, 7, 10));
		assert_eq!(Commitments::batch_seq_of_root(q, root(7)), Some(0));
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
		for bad in [vec![], vec![0x12, 0x20, 1, 2]] {
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
fn window_prunes_settled_batches_and_keeps_their_roots() {
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
		assert_eq!(Commitments::batch_root(p, 0), Some(root(0)));
		assert!(Commitments::batch(p, 0).is_none());
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
