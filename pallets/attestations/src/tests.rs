//! Unit tests: finalization, the quorum edge cases (exactly 2/3, ties, late votes,
//! votes after expiry, operators leaving mid-batch), rewards and every error path.

use crate::{mock::*, *};
use frame_support::{
	assert_noop, assert_ok, dispatch::Pays, pallet_prelude::DispatchResultWithPostInfo,
	traits::fungible::Inspect,
};
use w3b_primitives::proof::{output_root, Output};

/// The state root honest operators compute (they also produce one output, `tx`).
const GOOD: H256 = H256::repeat_byte(0xaa);
/// The state root a wrong operator computes (with no outputs).
const BAD: H256 = H256::repeat_byte(0xbb);

fn outputs(data: &[&[u8]]) -> Outputs {
	data.iter()
		.map(|d| Output::try_from(d.to_vec()).unwrap())
		.collect::<Vec<_>>()
		.try_into()
		.unwrap()
}

/// The outputs that go with a state root in these tests.
fn outputs_of(state: H256) -> Outputs {
	if state == GOOD {
		outputs(&[b"tx"])
	} else {
		outputs(&[])
	}
}

/// The output root of a vote for `state` with its outputs.
fn root_of(state: H256) -> H256 {
	output_root(&state, &outputs_of(state))
}

/// The Merkle root [`commit`] gives batch `seq`.
fn merkle(seq: u64) -> H256 {
	H256::from_low_u64_be(seq + 1)
}

/// `who` votes state root `state` (with its outputs) for batch `seq`, having run it on
/// the project's agreed state.
fn vote(who: u64, project: ProjectId, seq: u64, state: H256) -> DispatchResultWithPostInfo {
	vote_on(who, project, seq, Attestations::head(project).state_root, state)
}

/// `who` votes state root `state` (with its outputs) for batch `seq`, having run it on
/// the state `previous`.
fn vote_on(
	who: u64,
	project: ProjectId,
	seq: u64,
	previous: H256,
	state: H256,
) -> DispatchResultWithPostInfo {
	Attestations::attest(
		RuntimeOrigin::signed(who),
		project,
		seq,
		merkle(seq),
		previous,
		state,
		outputs_of(state),
	)
}

/// Anyone (here account 99) finalizes batch `seq` with state root `state`.
fn finalize(
	project: ProjectId,
	seq: u64,
	state: H256,
) -> Result<frame_support::dispatch::PostDispatchInfo, sp_runtime::DispatchError> {
	let call =
		Attestations::finalize(RuntimeOrigin::signed(99), project, seq, state, outputs_of(state));
	call.map_err(|refused| {
		// A refused call costs its reads, far less than one that finalizes.
		let cost = refused.post_info.actual_weight.expect("refusals say their weight");
		assert!(cost.ref_time() < Attestations::vote_weight().ref_time() / 2, "{cost:?}");
		refused.error
	})
}

/// The output root `who` voted for batch `seq`, while the round is open.
fn voted(project: ProjectId, seq: u64, who: u64) -> Option<H256> {
	Attestations::vote(project, seq, &who).map(|vote| vote.output_root)
}

fn proof(project: ProjectId, seq: u64) -> ProofOf<Test> {
	Attestations::proof(project, seq).unwrap()
}

fn balance(who: u64) -> u64 {
	Balances::balance(&who)
}

#[test]
fn commitment_opens_a_round_over_the_current_subnet() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let seq = commit(p);
		let proof = proof(p, seq);
		assert_eq!(proof.status, ProofStatus::Pending);
		assert_eq!((proof.subnet_size, proof.deadline), (4, 1 + DEADLINE));
		assert_eq!(proof.merkle_root, H256::from_low_u64_be(1));
		assert_eq!(Rounds::<Test>::get(p, seq).unwrap().voters.into_inner(), OPERATORS[..4]);
		assert_eq!(Closing::<Test>::get(2 + DEADLINE).into_inner(), vec![(p, seq)]);
	});
}

/// The weight a vote was charged.
fn charged(result: DispatchResultWithPostInfo) -> Weight {
	result.expect("vote counted").actual_weight.expect("votes say their weight")
}

#[test]
fn votes_that_settle_nothing_weigh_what_recording_costs() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let seq = commit(p);
		let counted = Attestations::counted_vote_weight_for(4);
		let finalizing = Attestations::vote_weight_for(4);
		assert!(counted.ref_time() < finalizing.ref_time(), "{counted:?} {finalizing:?}");
		assert_eq!(charged(vote(OPERATORS[0], p, seq, GOOD)), counted);
		assert_eq!(charged(vote(OPERATORS[1], p, seq, BAD)), counted);
		assert_eq!(charged(vote(OPERATORS[2], p, seq, GOOD)), counted);
		assert_eq!(proof(p, seq).status, ProofStatus::Pending);
		// The vote that completes the quorum pays the voters: it weighs the whole vote.
		assert_eq!(charged(vote(OPERATORS[3], p, seq, GOOD)), finalizing);
		assert_eq!(proof(p, seq).status, ProofStatus::Finalized);
		assert!(finalizing.all_lte(Attestations::vote_weight()));

		// Saying a body is unavailable, short of a quorum, is recorded as cheaply; the
		// vote that expires the batch weighs the whole vote.
		let seq = commit(p);
		for operator in &OPERATORS[..2] {
			assert_eq!(charged(unavailable(*operator, p, seq)), counted);
		}
		assert_eq!(charged(unavailable(OPERATORS[2], p, seq)), finalizing);
		assert_eq!(proof(p, seq).status, ProofStatus::Expired);
	});
}

#[test]
fn four_operators_one_dissenter_finalize_and_get_paid() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let seq = commit(p);
		let before: Vec<u64> = OPERATORS[..4].iter().map(|o| balance(*o)).collect();
		assert_ok!(vote(OPERATORS[0], p, seq, GOOD));
		assert_ok!(vote(OPERATORS[1], p, seq, BAD));
		assert_ok!(vote(OPERATORS[2], p, seq, GOOD));
		assert_eq!(proof(p, seq).status, ProofStatus::Pending);
		System::assert_last_event(
			Event::Attested {
				project: p,
				batch_seq: seq,
				operator: OPERATORS[2],
				output_root: root_of(GOOD),
			}
			.into(),
		);
		assert_ok!(vote(OPERATORS[3], p, seq, GOOD));
		System::assert_has_event(
			Event::ProofFinalized {
				project: p,
				batch_seq: seq,
				output_root: root_of(GOOD),
				agreed: 3,
				dissenters: vec![OPERATORS[1]],
			}
			.into(),
		);
		System::assert_last_event(
			pallet_operators::Event::RewardsPaid {
				project: p,
				batch_seq: seq,
				operators: 3,
				amount_each: REWARD / 4,
			}
			.into(),
		);
		let proof = proof(p, seq);
		assert_eq!(proof.status, ProofStatus::Finalized);
		assert_eq!(
			(proof.output_root, proof.state_root, proof.outputs, proof.agreed),
			(Some(root_of(GOOD)), Some(GOOD), outputs(&[b"tx"]), 3)
		);
		assert_eq!(proof.settled_at, Some(1));
		let paid: Vec<u64> =
			OPERATORS[..4].iter().zip(&before).map(|(o, b)| balance(*o) - b).collect();
		assert_eq!(paid, [REWARD / 4, 0, REWARD / 4, REWARD / 4]);
	});
}

#[test]
fn exactly_two_thirds_finalizes_and_one_less_does_not() {
	new_test_ext().execute_with(|| {
		for (size, needed) in [(3usize, 2usize), (6, 4)] {
			let p = project_with(&OPERATORS[..size]);
			let seq = commit(p);
			for op in &OPERATORS[..needed - 1] {
				assert_ok!(vote(*op, p, seq, GOOD));
			}
			// The others dissent: still no quorum for anyone.
			for op in &OPERATORS[needed..size] {
				assert_ok!(vote(*op, p, seq, BAD));
			}
			assert_eq!(proof(p, seq).status, ProofStatus::Pending, "subnet of {size}");
			assert_ok!(vote(OPERATORS[needed - 1], p, seq, GOOD));
			assert_eq!(proof(p, seq).status, ProofStatus::Finalized, "subnet of {size}");
			assert!(3 * needed >= 2 * size && 3 * (needed - 1) < 2 * size);
		}
	});
}

#[test]
fn a_tie_expires_at_the_deadline_and_later_votes_are_refused() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let seq = commit(p);
		assert_ok!(vote(OPERATORS[0], p, seq, GOOD));
		assert_ok!(vote(OPERATORS[1], p, seq, GOOD));
		assert_ok!(vote(OPERATORS[2], p, seq, BAD));
		assert_ok!(vote(OPERATORS[3], p, seq, BAD));
		run_to_block(1 + DEADLINE);
		assert_eq!(proof(p, seq).status, ProofStatus::Pending);
		assert!(!Attestations::is_settled(p, seq));
		run_to_block(2 + DEADLINE);
		System::assert_last_event(
			Event::ProofExpired { project: p, batch_seq: seq, votes: 4 }.into(),
		);
		let proof = proof(p, seq);
		assert_eq!(
			(proof.status, proof.settled_at, proof.output_root, proof.state_root),
			(ProofStatus::Expired, Some(2 + DEADLINE), None, None)
		);
		assert!(Attestations::is_settled(p, seq));
		assert!(Rounds::<Test>::get(p, seq).is_none());
		// Nobody was paid.
		assert_eq!(Operators::reward_pool_balance(p), 100 * REWARD);
	});
}

#[test]
fn votes_after_expiry_are_refused() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let seq = commit(p);
		assert_ok!(vote(OPERATORS[0], p, seq, GOOD));
		run_to_block(2 + DEADLINE);
		System::assert_last_event(
			Event::ProofExpired { project: p, batch_seq: seq, votes: 1 }.into(),
		);
		assert_noop!(vote(OPERATORS[1], p, seq, GOOD), Error::<Test>::ProofExpired);
	});
}

#[test]
fn late_votes_count_until_the_deadline() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..5]);
		let seq = commit(p);
		for op in &OPERATORS[..4] {
			assert_ok!(vote(*op, p, seq, GOOD));
		}
		assert_eq!(proof(p, seq).agreed, 4);
		// Already finalized with 4 of 5 (quorum 4): a late dissent (on the state the batch
		// was finalized on) is recorded, not paid.
		let before = balance(OPERATORS[4]);
		assert_ok!(vote_on(OPERATORS[4], p, seq, H256::zero(), BAD));
		System::assert_last_event(
			Event::LateAttestation {
				project: p,
				batch_seq: seq,
				operator: OPERATORS[4],
				agreed: false,
			}
			.into(),
		);
		assert_eq!(balance(OPERATORS[4]), before);
		assert_eq!(proof(p, seq).output_root, Some(root_of(GOOD)));

		let seq = commit(p);
		for op in &OPERATORS[..4] {
			assert_ok!(vote(*op, p, seq, GOOD));
		}
		run_to_block(1 + DEADLINE);
		// On the deadline block a late agreeing vote is still paid its share.
		assert_ok!(vote(OPERATORS[4], p, seq, GOOD));
		System::assert_has_event(
			Event::LateAttestation {
				project: p,
				batch_seq: seq,
				operator: OPERATORS[4],
				agreed: true,
			}
			.into(),
		);
		assert_eq!(balance(OPERATORS[4]), before + REWARD / 5);
		assert_eq!(proof(p, seq).agreed, 5);
		// After it the round is closed; the proof stays finalized.
		let seq = commit(p);
		for op in &OPERATORS[..4] {
			assert_ok!(vote(*op, p, seq, GOOD));
		}
		run_to_block(System::block_number() + DEADLINE + 1);
		assert_noop!(vote(OPERATORS[4], p, seq, GOOD), Error::<Test>::AttestationClosed);
		assert_eq!(proof(p, seq).status, ProofStatus::Finalized);
		assert!(Attestations::is_settled(p, seq));
	});
}

#[test]
fn a_lying_minority_never_finalizes() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let seq = commit(p);
		// The liar votes first; one honest vote does not make a quorum with it either.
		assert_ok!(vote(OPERATORS[3], p, seq, BAD));
		assert_ok!(vote(OPERATORS[0], p, seq, GOOD));
		assert_ok!(vote(OPERATORS[1], p, seq, GOOD));
		assert_eq!(proof(p, seq).status, ProofStatus::Pending);
		assert_ok!(vote(OPERATORS[2], p, seq, GOOD));
		System::assert_has_event(
			Event::ProofFinalized {
				project: p,
				batch_seq: seq,
				output_root: root_of(GOOD),
				agreed: 3,
				dissenters: vec![OPERATORS[3]],
			}
			.into(),
		);
	});
}

#[test]
fn one_operator_finalizes_only_a_subnet_of_one() {
	new_test_ext().execute_with(|| {
		let alone = project_with(&OPERATORS[..1]);
		let seq = commit(alone);
		assert_ok!(vote(OPERATORS[0], alone, seq, GOOD));
		assert_eq!(proof(alone, seq).status, ProofStatus::Finalized);
		assert_eq!(Operators::reward_pool_balance(alone), 99 * REWARD);

		let pair = project_with(&OPERATORS[..2]);
		let seq = commit(pair);
		assert_ok!(vote(OPERATORS[0], pair, seq, GOOD));
		assert_eq!(proof(pair, seq).status, ProofStatus::Pending);
		assert_ok!(vote(OPERATORS[1], pair, seq, GOOD));
		assert_eq!(proof(pair, seq).status, ProofStatus::Finalized);
	});
}

#[test]
fn operators_leaving_mid_batch_still_vote_and_newcomers_wait() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let seq = commit(p);
		assert_ok!(Operators::leave_subnet(RuntimeOrigin::signed(OPERATORS[3]), p));
		assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(OPERATORS[4]), p));
		assert_noop!(vote(OPERATORS[4], p, seq, GOOD), Error::<Test>::NotEligible);
		assert_ok!(vote(OPERATORS[0], p, seq, GOOD));
		assert_ok!(vote(OPERATORS[1], p, seq, GOOD));
		// The quorum base is still 4: two votes are not enough.
		assert_eq!(proof(p, seq).status, ProofStatus::Pending);
		assert_ok!(vote(OPERATORS[3], p, seq, GOOD));
		assert_eq!(proof(p, seq).status, ProofStatus::Finalized);
		// The next batch is voted by the new subnet.
		let next = commit(p);
		assert_eq!(proof(p, next).subnet_size, 4);
		assert_noop!(vote(OPERATORS[3], p, next, GOOD), Error::<Test>::NotEligible);
		assert_ok!(vote(OPERATORS[4], p, next, GOOD));
	});
}

#[test]
fn attest_errors_and_fees() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		assert_noop!(vote(OPERATORS[0], p, 0, GOOD), Error::<Test>::UnknownBatch);
		let seq = commit(p);
		assert_noop!(vote(OPERATORS[7], p, seq, GOOD), Error::<Test>::NotEligible);
		assert_noop!(vote(OWNER, p, seq, GOOD), Error::<Test>::NotEligible);
		let post = vote(OPERATORS[0], p, seq, GOOD).unwrap();
		assert_eq!(post.pays_fee, Pays::No);
		assert_noop!(vote(OPERATORS[0], p, seq, GOOD), Error::<Test>::AlreadyAttested);
		assert_noop!(vote(OPERATORS[0], p, seq, BAD), Error::<Test>::AlreadyAttested);
	});
}

/// The attack outputs bound to the root defeat: a voter that names the honest state
/// root first, with garbage outputs, only votes another output root. The honest quorum
/// still finalizes with its outputs, and the poisoner is a dissenter.
#[test]
fn garbage_outputs_voted_first_do_not_block_the_honest_quorum() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let seq = commit(p);
		let garbage = outputs(&[b"garbage"]);
		let poisoned = output_root(&GOOD, &garbage);
		assert_ok!(Attestations::attest(
			RuntimeOrigin::signed(OPERATORS[0]),
			p,
			seq,
			merkle(seq),
			H256::zero(),
			GOOD,
			garbage
		));
		System::assert_last_event(
			Event::Attested {
				project: p,
				batch_seq: seq,
				operator: OPERATORS[0],
				output_root: poisoned,
			}
			.into(),
		);
		assert_ne!(poisoned, root_of(GOOD));
		for op in &OPERATORS[1..4] {
			assert_ok!(vote(*op, p, seq, GOOD));
		}
		System::assert_has_event(
			Event::ProofFinalized {
				project: p,
				batch_seq: seq,
				output_root: root_of(GOOD),
				agreed: 3,
				dissenters: vec![OPERATORS[0]],
			}
			.into(),
		);
		let proof = proof(p, seq);
		assert_eq!(
			(proof.status, proof.output_root, proof.state_root, proof.outputs),
			(ProofStatus::Finalized, Some(root_of(GOOD)), Some(GOOD), outputs(&[b"tx"]))
		);
	});
}

#[test]
fn attest_refuses_another_batch_s_merkle_root() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let first = commit(p);
		let second = commit(p);
		let attest = |who, seq, merkle_root| {
			Attestations::attest(
				RuntimeOrigin::signed(who),
				p,
				seq,
				merkle_root,
				H256::zero(),
				GOOD,
				outputs_of(GOOD),
			)
		};
		assert_noop!(attest(OPERATORS[0], first, H256::zero()), Error::<Test>::WrongBatch);
		assert_noop!(attest(OPERATORS[0], first, merkle(second)), Error::<Test>::WrongBatch);
		assert_noop!(attest(OPERATORS[0], second, merkle(first)), Error::<Test>::WrongBatch);
		assert_ok!(attest(OPERATORS[0], first, merkle(first)));
		assert_eq!(voted(p, first, OPERATORS[0]), Some(root_of(GOOD)));
		assert_eq!(Attestations::vote(p, second, &OPERATORS[0]), None);
	});
}

/// After a reorganisation the batch an operator executed as number `n` may be number
/// `n + 1` on the chain it votes on: its vote for `n` is refused rather than counted for
/// another batch, and its vote for the batch's new number counts.
#[test]
fn a_vote_never_lands_on_a_renumbered_batch() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..1]);
		let executed = H256::repeat_byte(0x42);
		let commit_root = |merkle_root| {
			let mut cid = vec![1, 0x55, 0x12, 0x20];
			cid.extend_from_slice(&[9; 32]);
			assert_ok!(Commitments::commit_batch(
				RuntimeOrigin::signed(OPERATORS[0]),
				p,
				merkle_root,
				10,
				1_000,
				cid.try_into().unwrap()
			));
		};
		// On this fork another batch got number 0 and the executed one number 1.
		commit_root(H256::repeat_byte(0x41));
		commit_root(executed);
		let attest = |seq| {
			Attestations::attest(
				RuntimeOrigin::signed(OPERATORS[0]),
				p,
				seq,
				executed,
				H256::zero(),
				GOOD,
				outputs_of(GOOD),
			)
		};
		assert_noop!(attest(0), Error::<Test>::WrongBatch);
		assert_eq!(proof(p, 0).status, ProofStatus::Pending);
		assert_ok!(attest(1));
		assert_eq!(voted(p, 1, OPERATORS[0]), Some(root_of(GOOD)));
	});
}

#[test]
fn vote_reads_the_open_round() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let seq = commit(p);
		assert_eq!(Attestations::vote(p, seq, &OPERATORS[0]), None);
		assert_ok!(vote(OPERATORS[0], p, seq, GOOD));
		assert_ok!(vote(OPERATORS[1], p, seq, BAD));
		assert_eq!(voted(p, seq, OPERATORS[0]), Some(root_of(GOOD)));
		assert_eq!(voted(p, seq, OPERATORS[1]), Some(root_of(BAD)));
		assert_eq!(Attestations::vote(p, seq, &OPERATORS[2]), None);
		assert_eq!(Attestations::vote(p, seq + 1, &OPERATORS[0]), None);
		// Closed rounds are forgotten.
		run_to_block(2 + DEADLINE);
		assert_eq!(Attestations::vote(p, seq, &OPERATORS[0]), None);
	});
}

/// A commitment of `project` by its first member with Merkle root `root`.
fn commit_root(project: ProjectId, root: u64) -> DispatchResultWithPostInfo {
	let mut cid = vec![1, 0x55, 0x12, 0x20];
	cid.extend_from_slice(&[0; 32]);
	Commitments::commit_batch(
		RuntimeOrigin::signed(Operators::members(project)[0]),
		project,
		H256::from_low_u64_be(root),
		1,
		1,
		cid.try_into().unwrap(),
	)
}

/// Rounds closing in one block are bounded; a round whose deadline block is full closes
/// after one of the next blocks instead, and only when all of those are full too is a
/// commitment refused.
#[test]
fn rounds_closing_in_one_block_are_bounded() {
	new_test_ext().execute_with(|| {
		let per_project = 3;
		let blocks = MAX_HEAD_STEPS;
		let projects: Vec<ProjectId> = (0..blocks)
			.map(|i| project_with(&OPERATORS[i as usize % OPERATORS.len()..][..1]))
			.collect();
		let first_deadline = 1 + DEADLINE;
		for p in &projects {
			for _ in 0..per_project {
				let seq = commit(*p);
				let deadline = Proofs::<Test>::get(p, seq).unwrap().deadline;
				assert!((first_deadline..first_deadline + u64::from(blocks)).contains(&deadline));
			}
		}
		for later in 0..u64::from(blocks) {
			let closes = first_deadline + later + 1;
			assert_eq!(Closing::<Test>::get(closes).len() as u32, MAX_ROUNDS_PER_BLOCK);
		}
		let last = projects[0];
		assert_noop!(commit_root(last, 1_000), Error::<Test>::TooManyRounds);
		run_to_block(2);
		commit(last);
	});
}

/// The junk-commitment flood: one project's operators commit without end. Its unsettled
/// batches are capped, so it cannot take the closings of other projects, whose
/// commitments go on.
#[test]
fn one_project_cannot_hold_more_than_its_open_rounds() {
	new_test_ext().execute_with(|| {
		let (flooder, honest) = (project_with(&OPERATORS[..1]), project_with(&OPERATORS[1..2]));
		for _ in 0..MAX_OPEN_ROUNDS {
			commit(flooder);
		}
		assert_noop!(commit_root(flooder, 1_000), Error::<Test>::TooManyOpenRounds);
		let seq = commit(honest);
		assert_ok!(vote(OPERATORS[1], honest, seq, GOOD));
		// Settling its first batch makes room for one more.
		assert_ok!(vote(OPERATORS[0], flooder, 0, GOOD));
		assert_ok!(commit_root(flooder, 1_000));
		assert_noop!(commit_root(flooder, 1_001), Error::<Test>::TooManyOpenRounds);
	});
}

#[test]
fn settled_batches_are_pruned_with_their_proofs() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..1]);
		// Window of 8: the 9th and 10th commitments prune batches 0 and 1 once settled.
		for _ in 0..8 {
			let seq = commit(p);
			assert_ok!(vote(OPERATORS[0], p, seq, GOOD));
			run_to_block(System::block_number() + 1);
		}
		run_to_block(System::block_number() + DEADLINE + 1);
		commit(p);
		commit(p);
		assert!(Attestations::proof(p, 0).is_none() && Attestations::proof(p, 1).is_none());
		assert!(Attestations::proof(p, 2).is_some());
		assert_noop!(vote(OPERATORS[0], p, 0, GOOD), Error::<Test>::UnknownBatch);
	});
}

/// Every way 1 to 6 voters can split between two roots or abstain, in every order the
/// pattern gives: a root is finalized if and only if at least 2/3 voted it, and never
/// two.
#[test]
fn quorum_holds_for_every_vote_pattern() {
	new_test_ext().execute_with(|| {
		for size in 1..=6usize {
			let p = project_with(&OPERATORS[..size]);
			for pattern in 0..3usize.pow(size as u32) {
				// Only the quorum is under test: nobody loses its seat for dissent here.
				let _ = Dissents::<Test>::clear(u32::MAX, None);
				let seq = commit(p);
				// Everyone ran it on the same state (votes after the quorum are late).
				let previous = Attestations::head(p).state_root;
				let mut counts = [0u32; 2];
				let mut code = pattern;
				for op in &OPERATORS[..size] {
					let choice = code % 3;
					code /= 3;
					if choice < 2 {
						counts[choice] += 1;
						assert_ok!(vote_on(*op, p, seq, previous, [GOOD, BAD][choice]));
					}
				}
				let q = quorum(size as u32);
				let proof = proof(p, seq);
				match proof.output_root {
					Some(root) => {
						let i = if root == root_of(GOOD) { 0 } else { 1 };
						assert!(counts[i] >= q && 3 * counts[i] >= 2 * size as u32);
					}
					None => assert!(counts.iter().all(|c| *c < q), "{size}: {counts:?}"),
				}
				assert!(counts.iter().filter(|c| **c >= q).count() <= 1);
				// Settle it (batches settle in order) and keep the closing queue short.
				run_to_block(System::block_number() + DEADLINE + 1);
			}
		}
	});
}

/// `who` says it could not get batch `seq`'s body.
fn unavailable(who: u64, project: ProjectId, seq: u64) -> DispatchResultWithPostInfo {
	Attestations::attest_unavailable(RuntimeOrigin::signed(who), project, seq, merkle(seq))
}

#[test]
fn a_body_a_quorum_cannot_get_expires_at_once() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let withheld = commit(p);
		let next = commit(p);
		// Two honest operators cannot fetch it: not a quorum yet.
		assert_ok!(unavailable(OPERATORS[0], p, withheld));
		assert_ok!(unavailable(OPERATORS[1], p, withheld));
		assert_eq!(proof(p, withheld).status, ProofStatus::Pending);
		// Its committer (operator 3) says nothing; the third honest one completes it.
		assert_ok!(unavailable(OPERATORS[2], p, withheld));
		System::assert_last_event(
			Event::BodyUnavailable { project: p, batch_seq: withheld, votes: 3 }.into(),
		);
		let settled = proof(p, withheld);
		assert_eq!(
			(settled.status, settled.settled_at, settled.output_root),
			(ProofStatus::Expired, Some(1), None)
		);
		assert!(Rounds::<Test>::get(p, withheld).is_none(), "the round is over");
		assert_noop!(vote(OPERATORS[3], p, withheld, GOOD), Error::<Test>::ProofExpired);
		// The next batch is not affected, and nobody was paid for the expired one.
		let before = balance(OPERATORS[0]);
		for o in &OPERATORS[..3] {
			assert_ok!(vote(*o, p, next, GOOD));
		}
		assert_eq!(proof(p, next).status, ProofStatus::Finalized);
		assert_eq!(balance(OPERATORS[0]) - before, REWARD / 4);
	});
}

#[test]
fn a_minority_saying_unavailable_changes_nothing() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let seq = commit(p);
		// A lying operator claims it could not get a body everyone has: a dissent.
		assert_ok!(unavailable(OPERATORS[3], p, seq));
		for o in &OPERATORS[..3] {
			assert_ok!(vote(*o, p, seq, GOOD));
		}
		System::assert_has_event(
			Event::ProofFinalized {
				project: p,
				batch_seq: seq,
				output_root: root_of(GOOD),
				agreed: 3,
				dissenters: vec![OPERATORS[3]],
			}
			.into(),
		);
		// One vote per operator, whatever its kind; a late "unavailable" is a dissent.
		assert_noop!(unavailable(OPERATORS[0], p, seq), Error::<Test>::AlreadyAttested);
		assert_noop!(
			Attestations::attest_unavailable(
				RuntimeOrigin::signed(OPERATORS[0]),
				p,
				seq,
				merkle(9)
			),
			Error::<Test>::WrongBatch
		);
		assert_noop!(unavailable(OPERATORS[5], p, seq), Error::<Test>::NotEligible);
		assert_ne!(unavailable_root(), root_of(GOOD));
	});
}

/// The state root honest operators compute for a second batch, on top of [`GOOD`].
const NEXT: H256 = H256::repeat_byte(0xcc);

#[test]
fn a_batch_finalizes_only_after_the_ones_before_it() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let first = commit(p);
		let second = commit(p);
		// The operators run ahead: a quorum for the second batch on the first's result.
		for o in &OPERATORS[..3] {
			assert_ok!(vote_on(*o, p, second, GOOD, NEXT));
		}
		assert_eq!(proof(p, second).status, ProofStatus::Pending);
		assert_eq!(Attestations::quorum_on(p, second, Attestations::head(p).state_root), None);
		assert_noop!(finalize(p, second, NEXT), Error::<Test>::EarlierBatchOpen);
		assert_eq!(Attestations::head(p), Head { next: first, state_root: H256::zero() });

		for o in &OPERATORS[..3] {
			assert_ok!(vote(*o, p, first, GOOD));
		}
		assert_eq!(proof(p, first).previous_state_root, Some(H256::zero()));
		assert_eq!(Attestations::head(p), Head { next: second, state_root: GOOD });
		assert_eq!(
			Attestations::quorum_on(p, second, Attestations::head(p).state_root),
			Some((root_of(NEXT), OPERATORS[..3].to_vec()))
		);
		// Anyone finalizes it, but only with the result the quorum voted.
		assert_noop!(finalize(p, second, BAD), Error::<Test>::NoQuorum);
		let before = balance(OPERATORS[0]);
		let result = finalize(p, second, NEXT).unwrap();
		assert_eq!(result.pays_fee, Pays::No);
		System::assert_has_event(
			Event::ProofFinalized {
				project: p,
				batch_seq: second,
				output_root: root_of(NEXT),
				agreed: 3,
				dissenters: vec![],
			}
			.into(),
		);
		let settled = proof(p, second);
		assert_eq!(
			(settled.status, settled.state_root, settled.previous_state_root),
			(ProofStatus::Finalized, Some(NEXT), Some(GOOD))
		);
		assert_eq!(balance(OPERATORS[0]) - before, REWARD / 4);
		assert_eq!(Attestations::head(p), Head { next: second + 1, state_root: NEXT });
		assert_noop!(finalize(p, second, NEXT), Error::<Test>::AlreadyFinalized);
		assert_noop!(finalize(p, second + 1, NEXT), Error::<Test>::UnknownBatch);
		// The fourth operator's vote on the same state is a late agreeing one.
		assert_ok!(vote_on(OPERATORS[3], p, second, GOOD, NEXT));
		System::assert_last_event(
			Event::LateAttestation {
				project: p,
				batch_seq: second,
				operator: OPERATORS[3],
				agreed: true,
			}
			.into(),
		);
	});
}

/// The attack: the operators run the second batch on the first one's pending result and
/// reach a quorum on it; then the first expires. Its messages never counted, so a
/// finalized second batch would hold them. The votes on the void state count for
/// nothing; the operators run the batch again on the agreed state and vote once more.
#[test]
fn an_expired_batch_voids_the_votes_cast_on_top_of_it() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let first = commit(p);
		let second = commit(p);
		for o in &OPERATORS[..3] {
			assert_ok!(vote_on(*o, p, second, GOOD, NEXT));
		}
		for o in &OPERATORS[..3] {
			assert_ok!(unavailable(*o, p, first));
		}
		assert_eq!(proof(p, first).status, ProofStatus::Expired);
		assert_eq!(Attestations::head(p), Head { next: second, state_root: H256::zero() });
		assert_ne!(proof(p, second).status, ProofStatus::Finalized, "finalized on a void state");
		assert_eq!(Attestations::quorum_on(p, second, Attestations::head(p).state_root), None);
		assert_noop!(finalize(p, second, NEXT), Error::<Test>::NoQuorum);
		// A vote on the void state is refused now that it is known void.
		assert_noop!(vote_on(OPERATORS[3], p, second, GOOD, NEXT), Error::<Test>::StaleState);
		// Each operator votes again on the agreed state; the third completes the quorum.
		assert_ok!(vote_on(OPERATORS[0], p, second, H256::zero(), GOOD));
		// A vote on the agreed state is not replaced.
		assert_noop!(
			vote_on(OPERATORS[0], p, second, H256::zero(), BAD),
			Error::<Test>::AlreadyAttested
		);
		assert_ok!(vote_on(OPERATORS[1], p, second, H256::zero(), GOOD));
		assert_eq!(proof(p, second).status, ProofStatus::Pending);
		assert_ok!(vote_on(OPERATORS[2], p, second, H256::zero(), GOOD));
		let settled = proof(p, second);
		assert_eq!(
			(settled.status, settled.state_root, settled.previous_state_root, settled.agreed),
			(ProofStatus::Finalized, Some(GOOD), Some(H256::zero()), 3)
		);
	});
}

/// One operator computed another result for the first batch and ran the second on it.
/// Once the first finalizes on the honest state, that operator's vote for the second is
/// void, and it may vote once more.
#[test]
fn a_vote_on_a_losing_state_may_be_cast_again() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let first = commit(p);
		let second = commit(p);
		assert_ok!(vote(OPERATORS[3], p, first, BAD));
		assert_ok!(vote_on(OPERATORS[3], p, second, BAD, NEXT));
		// Before the first settles nobody knows which state is void: no second vote.
		assert_noop!(vote_on(OPERATORS[3], p, second, GOOD, NEXT), Error::<Test>::AlreadyAttested);
		for o in &OPERATORS[..2] {
			assert_ok!(vote(*o, p, first, GOOD));
			assert_ok!(vote_on(*o, p, second, GOOD, NEXT));
		}
		// Two honest votes and the diverged one: no quorum on the agreed state yet.
		assert_ok!(vote(OPERATORS[2], p, first, GOOD));
		assert_eq!(Attestations::quorum_on(p, second, Attestations::head(p).state_root), None);
		assert_ok!(vote_on(OPERATORS[3], p, second, GOOD, NEXT));
		let settled = proof(p, second);
		assert_eq!((settled.status, settled.agreed), (ProofStatus::Finalized, 3));
	});
}

#[test]
fn the_head_walks_past_batches_that_expired_out_of_order() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let first = commit(p);
		let withheld = commit(p);
		let third = commit(p);
		// Nobody gets the second batch's body: it expires while the first is open.
		for o in &OPERATORS[..3] {
			assert_ok!(unavailable(*o, p, withheld));
		}
		assert_eq!(Attestations::head(p).next, first);
		// Batches already settled but not passed by the head stay in the window.
		assert!(!<Attestations as ProofInspect>::is_settled(p, withheld));
		for o in &OPERATORS[..3] {
			assert_ok!(vote_on(*o, p, third, GOOD, NEXT));
		}
		for o in &OPERATORS[..3] {
			assert_ok!(vote(*o, p, first, GOOD));
		}
		assert_eq!(Attestations::head(p), Head { next: third, state_root: GOOD });
		assert_ok!(finalize(p, third, NEXT));
		assert_eq!(Attestations::head(p), Head { next: third + 1, state_root: NEXT });
		// A round that expires at its deadline moves the head too.
		run_to_block(2);
		let fourth = commit(p);
		run_to_block(3 + DEADLINE);
		assert_eq!(proof(p, fourth).status, ProofStatus::Expired);
		assert_eq!(Attestations::head(p), Head { next: fourth + 1, state_root: NEXT });
	});
}

/// A batch committed with the one before it would close with it: once its predecessor
/// expires it keeps [`SETTLE_GRACE`] blocks for the votes on the agreed state.
#[test]
fn a_batch_keeps_a_grace_after_the_ones_before_it_settle() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let first = commit(p);
		let second = commit(p);
		for o in &OPERATORS[..3] {
			assert_ok!(vote_on(*o, p, second, GOOD, NEXT));
		}
		assert_eq!(proof(p, second).deadline, 1 + DEADLINE);
		// The first gets no quorum and expires when both would close.
		run_to_block(2 + DEADLINE);
		assert_eq!(proof(p, first).status, ProofStatus::Expired);
		let waiting = proof(p, second);
		assert_eq!(
			(waiting.status, waiting.deadline),
			(ProofStatus::Pending, 2 + DEADLINE + SETTLE_GRACE)
		);
		assert!(Rounds::<Test>::get(p, second).is_some(), "its round is still open");
		// The operators vote again on the agreed state and finalize it.
		for o in &OPERATORS[..3] {
			assert_ok!(vote_on(*o, p, second, H256::zero(), NEXT));
		}
		assert_eq!(proof(p, second).status, ProofStatus::Finalized);
		// Its round takes late votes until its new deadline, not after.
		run_to_block(2 + DEADLINE + SETTLE_GRACE);
		assert!(!Attestations::is_settled(p, second));
		run_to_block(3 + DEADLINE + SETTLE_GRACE);
		assert!(Attestations::is_settled(p, second));
		assert_noop!(
			vote_on(OPERATORS[3], p, second, H256::zero(), NEXT),
			Error::<Test>::AttestationClosed
		);
	});
}

#[test]
fn a_batch_without_votes_on_the_agreed_state_expires_after_its_grace() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let first = commit(p);
		let second = commit(p);
		run_to_block(2 + DEADLINE);
		assert_eq!(proof(p, first).status, ProofStatus::Expired);
		run_to_block(2 + DEADLINE + SETTLE_GRACE);
		assert_eq!(proof(p, second).status, ProofStatus::Pending);
		run_to_block(3 + DEADLINE + SETTLE_GRACE);
		assert_eq!(proof(p, second).status, ProofStatus::Expired);
		assert_eq!(Attestations::head(p).next, second + 1);
	});
}

/// The batches behind an unsettled one do not expire at their deadline (their votes may
/// be void): each gets its grace once it is the head.
#[test]
fn a_batch_behind_an_open_one_waits_to_be_the_head() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let [first, second, third] = [commit(p), commit(p), commit(p)];
		for o in &OPERATORS[..3] {
			assert_ok!(vote_on(*o, p, third, NEXT, NEXT));
		}
		run_to_block(2 + DEADLINE);
		assert_eq!(proof(p, first).status, ProofStatus::Expired);
		assert_eq!(proof(p, second).deadline, 2 + DEADLINE + SETTLE_GRACE);
		assert_eq!(proof(p, third).status, ProofStatus::Pending, "closed behind the head");
		run_to_block(3 + DEADLINE + SETTLE_GRACE);
		assert_eq!(proof(p, second).status, ProofStatus::Expired);
		let head_now = System::block_number();
		assert_eq!(Attestations::head(p), Head { next: third, state_root: H256::zero() });
		assert_eq!(proof(p, third).deadline, head_now + SETTLE_GRACE);
		// Its votes ran on the second batch's state: they are void, and cast again.
		assert_eq!(Attestations::quorum_on(p, third, Attestations::head(p).state_root), None);
		for o in &OPERATORS[..3] {
			assert_ok!(vote(*o, p, third, GOOD));
		}
		assert_eq!(proof(p, third).status, ProofStatus::Finalized);
	});
}

/// Settles batch `seq` of `project` by its deadline (expired, unless a quorum voted).
fn settle_by_deadline(project: ProjectId, seq: u64) -> ProofStatus {
	let deadline = Proofs::<Test>::get(project, seq).unwrap().deadline;
	run_to_block(deadline + SETTLE_GRACE + 2);
	Proofs::<Test>::get(project, seq).unwrap().status
}

/// The silent-minority liveness attack: with 3 honest members, 2 that never vote make
/// the quorum (4 of 5) unreachable and every proof expires. Once they have been silent
/// for [`ABSENCE_LIMIT`] settled batches over [`ABSENCE_PERIOD`] blocks, anyone removes
/// them, and the next batches finalize with the honest votes.
#[test]
fn silent_members_are_removed_and_the_subnet_finalizes_again() {
	new_test_ext().execute_with(|| {
		let (honest, silent) = (&OPERATORS[..3], &OPERATORS[3..5]);
		let members: Vec<u64> = honest.iter().chain(silent).copied().collect();
		let p = project_with(&members);
		let remove = |who| Attestations::remove_absent(RuntimeOrigin::signed(OWNER), p, who);
		// Before enough batches settled nobody is absent.
		assert_noop!(remove(silent[0]), Error::<Test>::NotAbsent);
		// Batches committed in the block they joined in do not count (they may have been
		// committed before the joining).
		run_to_block(2);
		let mut seq = 0;
		while System::block_number() < ABSENCE_PERIOD || seq < u64::from(ABSENCE_LIMIT) {
			let batch = commit(p);
			for &who in honest {
				assert_ok!(vote(who, p, batch, GOOD));
			}
			assert_eq!(settle_by_deadline(p, batch), ProofStatus::Expired, "no quorum");
			seq = batch + 1;
		}
		// The honest members voted: they stay.
		for &who in honest {
			assert_noop!(remove(who), Error::<Test>::NotAbsent);
		}
		assert_noop!(remove(OPERATORS[6]), Error::<Test>::NotMember);
		for &who in silent {
			assert_ok!(remove(who));
			System::assert_has_event(
				pallet_operators::Event::OperatorRemoved {
					project: p,
					operator: who,
					reason: w3b_primitives::operator::RemovalReason::Absent,
				}
				.into(),
			);
			assert_noop!(remove(who), Error::<Test>::NotMember);
		}
		assert_eq!(Operators::members(p), honest);
		// The next batch has the honest members as its voters, and finalizes.
		let batch = commit(p);
		assert_eq!(Rounds::<Test>::get(p, batch).unwrap().voters.into_inner(), honest);
		for &who in &honest[..2] {
			assert_ok!(vote(who, p, batch, GOOD));
		}
		assert_eq!(Proofs::<Test>::get(p, batch).unwrap().status, ProofStatus::Finalized);
	});
}

#[test]
fn absence_is_counted_from_a_member_s_last_vote_and_its_joining() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..3]);
		let remove = |who| Attestations::remove_absent(RuntimeOrigin::signed(OWNER), p, who);
		let (steady, once, late) = (OPERATORS[0], OPERATORS[1], OPERATORS[3]);
		for round in 0..ABSENCE_LIMIT + 1 {
			let batch = commit(p);
			assert_ok!(vote(steady, p, batch, GOOD));
			assert_ok!(vote(OPERATORS[2], p, batch, GOOD));
			// Votes on the last batch only: absent for no batch before it counts.
			if round == ABSENCE_LIMIT {
				assert_ok!(vote(once, p, batch, GOOD));
			}
			if round == 0 {
				// Joins after the first batch: it was no voter of that one.
				assert_ok!(Operators::join_subnet(RuntimeOrigin::signed(late), p));
			}
			run_to_block(System::block_number() + 1);
		}
		// Every batch settles (expired without the late member's vote, or finalized), and
		// the period passes.
		run_to_block(System::block_number() + ABSENCE_PERIOD + 4 * (DEADLINE + SETTLE_GRACE));
		assert_eq!(Attestations::head(p).next, u64::from(ABSENCE_LIMIT) + 1);
		assert_noop!(remove(once), Error::<Test>::NotAbsent);
		assert_noop!(remove(steady), Error::<Test>::NotAbsent);
		// The late member missed the last ABSENCE_LIMIT batches, all committed after it
		// joined.
		assert_ok!(remove(late));
		assert!(!Operators::is_member(p, &late));
	});
}

/// The framing attack: a committer withholds its bodies from one member while the others
/// (its own seats among them) vote them unavailable at once. Those rounds close before
/// the slow member could vote: they do not make it absent. Rounds open until their
/// deadline do.
#[test]
fn rounds_closed_early_by_unavailability_do_not_count_as_absence() {
	new_test_ext().execute_with(|| {
		let (fast, slow) = (&OPERATORS[..2], OPERATORS[2]);
		let p = project_with(&[fast[0], fast[1], slow]);
		run_to_block(2);
		let unavailable = |who, seq| {
			Attestations::attest_unavailable(RuntimeOrigin::signed(who), p, seq, merkle(seq))
		};
		for _ in 0..2 * ABSENCE_LIMIT {
			let batch = commit(p);
			for &who in fast {
				assert_ok!(unavailable(who, batch));
			}
			assert_eq!(Proofs::<Test>::get(p, batch).unwrap().status, ProofStatus::Expired);
			run_to_block(System::block_number() + 1);
		}
		run_to_block(System::block_number() + ABSENCE_PERIOD);
		let remove = |who| Attestations::remove_absent(RuntimeOrigin::signed(OWNER), p, who);
		assert_noop!(remove(slow), Error::<Test>::NotAbsent);
		// Rounds that finalize stay open for late votes until their deadline: missing
		// those counts.
		for _ in 0..ABSENCE_LIMIT {
			let batch = commit(p);
			for &who in fast {
				assert_ok!(vote(who, p, batch, GOOD));
			}
			assert_eq!(Proofs::<Test>::get(p, batch).unwrap().status, ProofStatus::Finalized);
			run_to_block(System::block_number() + 1);
		}
		run_to_block(System::block_number() + ABSENCE_PERIOD);
		assert_ok!(remove(slow));
	});
}

/// The repeated liar: a member voting another root than the finalized one
/// [`DISSENT_LIMIT`] rounds more than it agrees loses its seat, and its seat bond goes to
/// the treasury.
#[test]
fn voting_against_finalized_rounds_in_a_row_slashes_the_seat() {
	new_test_ext().execute_with(|| {
		let (honest, liar) = (&OPERATORS[..3], OPERATORS[3]);
		let p = project_with(&OPERATORS[..4]);
		let pool = Operators::reward_pool_balance(p);
		for round in 1..=DISSENT_LIMIT {
			let seq = commit(p);
			assert_ok!(vote(liar, p, seq, BAD));
			for &who in honest {
				assert_ok!(vote(who, p, seq, GOOD));
			}
			assert_eq!(proof(p, seq).status, ProofStatus::Finalized);
			assert_eq!(Operators::is_member(p, &liar), round < DISSENT_LIMIT, "round {round}");
		}
		System::assert_has_event(
			pallet_operators::Event::SeatSlashed { project: p, operator: liar, amount: 500 }.into(),
		);
		System::assert_has_event(
			pallet_operators::Event::OperatorRemoved {
				project: p,
				operator: liar,
				reason: w3b_primitives::operator::RemovalReason::Dissent,
			}
			.into(),
		);
		// Each finalization paid the quorum (3 of 4, a quarter of the reward each); the
		// slashed bond went to the treasury, not to the pool its owner may withdraw.
		let paid = u64::from(DISSENT_LIMIT) * 3 * (REWARD / 4);
		assert_eq!(Operators::reward_pool_balance(p), pool - paid);
		assert_eq!(Balances::balance(&TREASURY), 500);
		assert_eq!(Dissents::<Test>::get(p, liar), 0);
		// The subnet goes on without it.
		let seq = commit(p);
		assert_eq!(Rounds::<Test>::get(p, seq).unwrap().voters.into_inner(), honest);
	});
}

/// What counts against a voter: another root on the agreed state, in time or late. Not
/// a vote that the body was unavailable, nor one cast ahead on a state that turned out
/// not to be the agreed one (nobody knew it then). Each agreeing vote takes one away. A
/// late vote on another state is refused (by then the voter knows the agreed state).
#[test]
fn only_votes_against_the_agreed_result_count() {
	new_test_ext().execute_with(|| {
		let (honest, dave) = (&OPERATORS[..3], OPERATORS[3]);
		let p = project_with(&OPERATORS[..4]);
		let quorum_votes = |seq| {
			for &who in honest {
				assert_ok!(vote(who, p, seq, GOOD));
			}
			assert_eq!(proof(p, seq).status, ProofStatus::Finalized);
		};
		let dissents = || Dissents::<Test>::get(p, dave);
		let seq = commit(p);
		assert_ok!(vote(dave, p, seq, BAD));
		quorum_votes(seq);
		assert_eq!(dissents(), 1);
		// Unavailable while a quorum ran it: not judged (the committer may have kept the
		// body from Dave alone).
		let seq = commit(p);
		assert_ok!(unavailable(dave, p, seq));
		quorum_votes(seq);
		assert_eq!(dissents(), 1);
		for (dave_votes, after) in [(GOOD, 0), (BAD, 1), (BAD, 2), (GOOD, 1)] {
			let seq = commit(p);
			assert_ok!(vote(dave, p, seq, dave_votes));
			quorum_votes(seq);
			assert_eq!(dissents(), after);
		}

		// Dave runs the next batch ahead, on a state the batch before it does not leave:
		// void, not judged.
		let (first, second) = (commit(p), commit(p));
		assert_ok!(vote_on(dave, p, second, BAD, BAD));
		quorum_votes(first);
		quorum_votes(second);
		assert_eq!(dissents(), 1);

		// Late, on another state: refused; on the agreed state against it: counted.
		let seq = commit(p);
		quorum_votes(seq);
		assert_noop!(vote_on(dave, p, seq, BAD, BAD), Error::<Test>::StaleState);
		assert_ok!(vote(dave, p, seq, BAD));
		assert_eq!(dissents(), 2);
		let seq = commit(p);
		quorum_votes(seq);
		assert_ok!(vote(dave, p, seq, BAD));
		// Three (DISSENT_LIMIT) more against than for: slashed out.
		assert!(!Operators::is_member(p, &dave));
		assert_eq!(dissents(), 0);
	});
}

/// A member that says "unavailable" on every batch runs nothing: it does not count as
/// present, and is removed for absence like a silent one.
#[test]
fn unavailability_votes_are_no_presence() {
	new_test_ext().execute_with(|| {
		let (honest, squatter) = (&OPERATORS[..3], OPERATORS[3]);
		let p = project_with(&OPERATORS[..4]);
		run_to_block(2);
		for _ in 0..ABSENCE_LIMIT {
			let seq = commit(p);
			assert_ok!(unavailable(squatter, p, seq));
			for &who in honest {
				assert_ok!(vote(who, p, seq, GOOD));
			}
			run_to_block(System::block_number() + 1);
		}
		run_to_block(System::block_number() + ABSENCE_PERIOD + DEADLINE);
		assert_ok!(Attestations::remove_absent(RuntimeOrigin::signed(OWNER), p, squatter));
		assert!(!Operators::is_member(p, &squatter));
	});
}

/// A round finalized frees its closing slot at once (another round takes it), and still
/// takes late votes until its deadline; after it, none, and the batch counts as settled.
#[test]
fn a_finalized_round_frees_its_closing_slot() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..1]);
		let seq = commit(p);
		let deadline = proof(p, seq).deadline;
		assert!(Closing::<Test>::get(deadline + 1).contains(&(p, seq)));
		assert_ok!(vote(OPERATORS[0], p, seq, GOOD));
		assert!(Closing::<Test>::get(deadline + 1).is_empty());
		// Three times as many rounds as one block closes, all with one deadline, once
		// each finalizes before the next is committed.
		for _ in 0..3 * MAX_ROUNDS_PER_BLOCK {
			let seq = commit(p);
			assert_eq!(proof(p, seq).deadline, deadline);
			assert_ok!(vote(OPERATORS[0], p, seq, GOOD));
		}

		let q = project_with(&OPERATORS[..4]);
		let seq = commit(q);
		for &who in &OPERATORS[..3] {
			assert_ok!(vote(who, q, seq, GOOD));
		}
		let deadline = proof(q, seq).deadline;
		run_to_block(deadline);
		assert!(!Attestations::is_settled(q, seq), "late votes are still taken");
		run_to_block(deadline + 1);
		assert!(Attestations::is_settled(q, seq));
		assert_noop!(vote(OPERATORS[3], q, seq, GOOD), Error::<Test>::AttestationClosed);
	});
}

/// Batch `batch_seq` of `project` queued to be committed again for the first time.
fn queued(project: ProjectId, batch_seq: u64) -> Recommit {
	Recommit { project, batch_seq, generation: 0, tries: 0 }
}

/// A project whose batch made on chain expires while four batches (of a project since
/// closed) are ahead of it in the queue, so that it waits a block: the project, the
/// batch and its deadline, the block run to being the one after it.
fn expire_behind_four_queued() -> (ProjectId, u64, u64) {
	let p = project_with(&OPERATORS[..4]);
	let logs = commit_made_on_chain(p, b"two logs");
	let deadline = proof(p, logs).deadline;
	run_to_block(deadline);
	let ahead = (1_000..1_004).map(|seq| queued(99, seq)).collect::<Vec<_>>();
	Recommits::<Test>::put(BoundedVec::truncate_from(ahead));
	run_to_block(deadline + 1);
	(p, logs, deadline)
}

/// Commits the project's next batch with a body made on chain (as `pallets/inbound` does
/// with logs a quorum observed); returns its number.
fn commit_made_on_chain(project: ProjectId, body: &[u8]) -> u64 {
	let committer = Operators::members(project)[0];
	pallet_commitments::Pallet::<Test>::commit_on_chain(
		project,
		committer,
		body.to_vec(),
		H256::repeat_byte(7),
		2,
	)
	.unwrap()
}

#[test]
fn a_batch_made_on_chain_whose_proof_expires_is_committed_again() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let device_batch = commit(p);
		let logs = commit_made_on_chain(p, b"two logs");
		// Not a quorum: both proofs expire (a third of the subnet withholding its votes).
		assert_ok!(vote(OPERATORS[0], p, device_batch, GOOD));
		// The logs' batch gets its grace once the device batch ahead of it expired.
		run_to_block(3 + DEADLINE + SETTLE_GRACE);
		assert_eq!(proof(p, logs).status, ProofStatus::Expired);
		// The logs exist nowhere but on chain: they come back as the next batch, with the
		// same body and root, credited to the same operator. A device batch does not (its
		// messages are still in its committer's store, sealed again from there).
		let again = logs + 1;
		System::assert_has_event(
			Event::Recommitted { project: p, batch_seq: logs, as_seq: again }.into(),
		);
		assert_eq!(Commitments::next_batch_seq(p), again + 1);
		assert_eq!(
			pallet_commitments::Pallet::<Test>::on_chain_body(p, again),
			Some(b"two logs".to_vec())
		);
		let (old, new) =
			(Commitments::batch(p, logs).unwrap(), Commitments::batch(p, again).unwrap());
		assert_eq!(
			(new.header.merkle_root, new.header.count, new.header.cid, new.committer),
			(old.header.merkle_root, old.header.count, old.header.cid, old.committer)
		);
		assert_eq!(proof(p, again).status, ProofStatus::Pending);
		// Its round runs like any other: the quorum finalizes it this time.
		let previous = Attestations::head(p).state_root;
		for operator in &OPERATORS[..3] {
			assert_ok!(Attestations::attest(
				RuntimeOrigin::signed(*operator),
				p,
				again,
				H256::repeat_byte(7),
				previous,
				GOOD,
				outputs_of(GOOD),
			));
		}
		assert_eq!(proof(p, again).status, ProofStatus::Finalized);
	});
}

#[test]
fn a_batch_made_on_chain_is_not_committed_again_while_its_project_is_paused() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let logs = commit_made_on_chain(p, b"two logs");
		assert_ok!(Projects::pause_project(RuntimeOrigin::signed(OWNER), p));
		run_to_block(2 + DEADLINE);
		assert_eq!(proof(p, logs).status, ProofStatus::Expired);
		System::assert_has_event(
			Event::RecommitFailed {
				project: p,
				batch_seq: logs,
				error: pallet_commitments::Error::<Test>::ProjectNotActive.into(),
			}
			.into(),
		);
		// Nothing half done: no batch, no round, and the queue is empty again.
		assert_eq!(Commitments::next_batch_seq(p), logs + 1);
		assert!(Recommits::<Test>::get().is_empty());
	});
}

#[test]
fn a_batch_made_on_chain_cannot_be_voted_unavailable() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let logs = commit_made_on_chain(p, b"two logs");
		// Its body is in the chain's state, which every node has: "unavailable" is a lie,
		// and a free one that would expire the batch at once, to be committed again,
		// without end, taking the recommit queue from every other project.
		for &who in &OPERATORS[..3] {
			assert_noop!(
				Attestations::attest_unavailable(
					RuntimeOrigin::signed(who),
					p,
					logs,
					H256::repeat_byte(7)
				),
				Error::<Test>::BodyOnChain
			);
		}
	});
}

#[test]
fn one_project_cannot_take_the_recommit_queue_from_the_others() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let q = project_with(&OPERATORS[4..]);
		let (p_logs, q_logs) =
			(commit_made_on_chain(p, b"p's logs"), commit_made_on_chain(q, b"q's logs"));
		// p's batches made on chain expired by the dozen (its own operators withholding
		// their votes): they hold its share of the queue.
		let first = p_logs + 100;
		let held = (first..first + u64::from(MAX_RECOMMITS_PER_PROJECT)).map(|seq| queued(p, seq));
		Recommits::<Test>::put(BoundedVec::truncate_from(held.collect::<Vec<_>>()));

		Attestations::queue_recommit(p, p_logs);
		System::assert_last_event(
			Event::RecommitFailed {
				project: p,
				batch_seq: p_logs,
				error: Error::<Test>::TooManyRecommits.into(),
			}
			.into(),
		);
		Attestations::queue_recommit(q, q_logs);
		let queue = Recommits::<Test>::get();
		assert_eq!(queue.last(), Some(&queued(q, q_logs)), "another project still gets a place");
		assert_eq!(queue.len() as u32, MAX_RECOMMITS_PER_PROJECT + 1);
	});
}

#[test]
fn a_queued_batch_made_on_chain_is_neither_pruned_nor_dropped_while_it_waits() {
	new_test_ext().execute_with(|| {
		let (p, logs, deadline) = expire_behind_four_queued();
		assert_eq!(proof(p, logs).status, ProofStatus::Expired);
		assert_eq!(Recommits::<Test>::get().into_inner(), vec![queued(p, logs)]);
		// Expired, but not settled for pruning: its body is all there is of its logs.
		assert!(!Attestations::is_settled(p, logs));

		// Meanwhile the project's operators fill its open rounds: committing it again
		// fails for now, and it stays in the queue rather than being lost.
		while Commitments::next_batch_seq(p) <= logs + u64::from(MAX_OPEN_ROUNDS) {
			commit(p);
		}
		run_to_block(deadline + 2);
		let waited = Recommit { tries: 1, ..queued(p, logs) };
		assert_eq!(Recommits::<Test>::get().into_inner(), vec![waited]);
		assert!(!System::events().iter().any(|record| matches!(
			record.event,
			RuntimeEvent::Attestations(Event::RecommitFailed { project, .. }) if project == p
		)));

		// Once one of them settles, it is committed again.
		let settled = logs + 1;
		for &who in &OPERATORS[..3] {
			assert_ok!(vote(who, p, settled, GOOD));
		}
		assert_eq!(proof(p, settled).status, ProofStatus::Finalized);
		let again = Commitments::next_batch_seq(p);
		run_to_block(deadline + 3);
		System::assert_has_event(
			Event::Recommitted { project: p, batch_seq: logs, as_seq: again }.into(),
		);
		assert!(Recommits::<Test>::get().is_empty());
		assert!(Attestations::is_settled(p, logs), "now its body lives on in the new batch");
	});
}

#[test]
fn a_body_is_committed_again_a_bounded_number_of_times() {
	new_test_ext().execute_with(|| {
		let p = project_with(&OPERATORS[..4]);
		let mut logs = commit_made_on_chain(p, b"logs nobody runs");
		// Its operators never vote: each batch of the body expires, and comes back.
		for generation in 1..=MAX_RECOMMIT_GENERATIONS {
			let deadline = proof(p, logs).deadline;
			run_to_block(deadline + 1);
			let again = Commitments::next_batch_seq(p) - 1;
			System::assert_has_event(
				Event::Recommitted { project: p, batch_seq: logs, as_seq: again }.into(),
			);
			assert_eq!(RecommitGenerations::<Test>::get(p, again), Some(generation));
			logs = again;
		}
		// The last one expires for good: dropped, and settled for pruning.
		run_to_block(proof(p, logs).deadline + 1);
		System::assert_has_event(
			Event::RecommitFailed {
				project: p,
				batch_seq: logs,
				error: Error::<Test>::RecommitsExhausted.into(),
			}
			.into(),
		);
		assert!(Recommits::<Test>::get().is_empty());
		assert!(Attestations::is_settled(p, logs));
	});
}

#[test]
fn a_batch_that_never_finds_room_is_dropped_after_its_tries() {
	new_test_ext().execute_with(|| {
		// It waits behind four others a block, during which its project fills its rounds
		// and keeps them full: it goes back to the end of the queue each block.
		let (p, logs, deadline) = expire_behind_four_queued();
		// Each block its operators finalize the two oldest batches and commit two more,
		// so the rounds are full whenever the queue looks.
		let keep_full = || {
			for _ in 0..2 {
				let head = Attestations::head(p).next;
				if head < Commitments::next_batch_seq(p) {
					for &who in &OPERATORS[..3] {
						assert_ok!(vote(who, p, head, GOOD));
					}
				}
			}
			while Commitments::next_batch_seq(p)
				< Attestations::head(p).next + u64::from(MAX_OPEN_ROUNDS)
			{
				commit(p);
			}
		};
		keep_full();
		let first_try = deadline + 2;
		while System::block_number() < first_try + u64::from(MAX_RECOMMIT_TRIES) - 2 {
			run_to_block(System::block_number() + 1);
			keep_full();
		}
		assert!(!Attestations::is_settled(p, logs), "still waiting for room");
		run_to_block(first_try + u64::from(MAX_RECOMMIT_TRIES) - 1);
		System::assert_has_event(
			Event::RecommitFailed {
				project: p,
				batch_seq: logs,
				error: Error::<Test>::RecommitsExhausted.into(),
			}
			.into(),
		);
		assert!(Recommits::<Test>::get().is_empty());
		assert!(Attestations::is_settled(p, logs), "pruning may go on");
	});
}
