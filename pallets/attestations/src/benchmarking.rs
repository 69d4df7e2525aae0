//! Benchmarks of attestation and of closing rounds.

use super::*;
use alloc::vec;
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Hooks};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use w3b_primitives::{
	project::ProjectConfig,
	proof::{MaxOutputLen, MaxOutputs, Output},
};

const SEED: u32 = 0;
/// The Merkle root of the batch [`committed_batch`] commits.
const MERKLE_ROOT: H256 = H256::repeat_byte(1);

fn fund<T: Config>(who: &T::AccountId) {
	let funds =
		T::MinBond::get().saturating_add(T::ProjectDeposit::get()).saturating_mul(1000u32.into());
	<T as pallet_projects::Config>::Currency::set_balance(who, funds);
}

/// An Active project paying rewards, with `size` operators in its subnet, and one batch
/// committed. Returns the project and its operators.
fn committed_batch<T: Config>(size: u32) -> (ProjectId, Vec<T::AccountId>) {
	let owner: T::AccountId = account("owner", 0, SEED);
	fund::<T>(&owner);
	let project = pallet_projects::NextProjectId::<T>::get();
	pallet_projects::Pallet::<T>::create_project(
		RawOrigin::Signed(owner.clone()).into(),
		b"bench".to_vec().try_into().unwrap(),
		Default::default(),
		ProjectConfig {
			attestation_deadline: T::MinAttestationDeadline::get(),
			reward_per_batch: T::MinBond::get(),
			..Default::default()
		},
	)
	.expect("project created");
	pallet_operators::Pallet::<T>::fund_reward_pool(
		RawOrigin::Signed(owner).into(),
		project,
		T::MinBond::get().saturating_mul(10u32.into()),
	)
	.expect("pool funded");
	let operators: Vec<T::AccountId> = (0..size)
		.map(|i| {
			let operator: T::AccountId = account("operator", i, SEED);
			fund::<T>(&operator);
			pallet_operators::Pallet::<T>::register_operator(
				RawOrigin::Signed(operator.clone()).into(),
				T::MinBond::get(),
				Default::default(),
				None,
			)
			.expect("registered");
			pallet_operators::Pallet::<T>::join_subnet(
				RawOrigin::Signed(operator.clone()).into(),
				project,
			)
			.expect("joined");
			operator
		})
		.collect();
	let mut cid = vec![1u8, 0x55, 0x12, 0x20];
	cid.extend_from_slice(&[7; 32]);
	pallet_commitments::Pallet::<T>::commit_batch(
		RawOrigin::Signed(operators[0].clone()).into(),
		project,
		MERKLE_ROOT,
		1000,
		100_000,
		cid.try_into().unwrap(),
	)
	.expect("committed");
	(project, operators)
}

/// The most outputs, each as large as allowed.
fn full_outputs() -> Outputs {
	let output = Output::truncate_from(vec![0xab; <MaxOutputLen as Get<u32>>::get() as usize]);
	Outputs::truncate_from(vec![output; <MaxOutputs as Get<u32>>::get() as usize])
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// The vote that finalizes a round of `s` voters: everyone else has voted, just short
	/// of a quorum for the root, the rest dissenting, each for the last time before its
	/// seat is slashed; the quorum is paid. The outputs are the most allowed, each as large
	/// as allowed (the output root is hashed over them). The round's closing slot is
	/// taken out of a full block's.
	#[benchmark]
	fn attest(s: Linear<1, { <MaxSubnetSize as Get<u32>>::get() }>) {
		let (project, operators) = committed_batch::<T>(s);
		let good = H256::repeat_byte(0xaa);
		let agreeing = quorum(s) - 1;
		for (i, operator) in operators[..s as usize - 1].iter().enumerate() {
			let (state_root, outputs) = if (i as u32) < agreeing {
				(good, full_outputs())
			} else {
				Dissents::<T>::insert(project, operator, T::DissentLimit::get() - 1);
				(H256::repeat_byte(i as u8), Outputs::default())
			};
			Pallet::<T>::attest(
				RawOrigin::Signed(operator.clone()).into(),
				project,
				0,
				MERKLE_ROOT,
				H256::zero(),
				state_root,
				outputs,
			)
			.expect("voted");
		}
		let last = operators[s as usize - 1].clone();
		let closes = Proofs::<T>::get(project, 0).unwrap().deadline + 1u32.into();
		Closing::<T>::mutate(closes, |closing| {
			// Other projects' rounds, ours last.
			while closing.len() < T::MaxRoundsPerBlock::get() as usize {
				let other = (project + 1, closing.len() as u64);
				closing.try_insert(0, other).expect("below MaxRoundsPerBlock");
			}
		});

		#[extrinsic_call]
		_(RawOrigin::Signed(last), project, 0, MERKLE_ROOT, H256::zero(), good, full_outputs());

		let proof = Proofs::<T>::get(project, 0).unwrap();
		assert_eq!(
			(proof.status, proof.output_root),
			(ProofStatus::Finalized, Some(output_root(&good, &full_outputs())))
		);
		for dissenter in &operators[agreeing as usize..s as usize - 1] {
			assert!(!pallet_operators::Pallet::<T>::is_member(project, dissenter));
		}
	}

	/// A vote that settles nothing, in the fullest round of `s` voters: every other voter
	/// has voted, each for another root, so the round stays open after it. The outputs are
	/// the most allowed, each as large as allowed (the output root is hashed over them).
	#[benchmark]
	fn attest_counted(s: Linear<2, { <MaxSubnetSize as Get<u32>>::get() }>) {
		let (project, operators) = committed_batch::<T>(s);
		for (i, operator) in operators[..s as usize - 1].iter().enumerate() {
			Pallet::<T>::attest(
				RawOrigin::Signed(operator.clone()).into(),
				project,
				0,
				MERKLE_ROOT,
				H256::zero(),
				H256::repeat_byte(i as u8),
				Outputs::default(),
			)
			.expect("voted");
		}
		let last = operators[s as usize - 1].clone();
		let root = H256::repeat_byte(0xaa);

		#[extrinsic_call]
		attest(
			RawOrigin::Signed(last),
			project,
			0,
			MERKLE_ROOT,
			H256::zero(),
			root,
			full_outputs(),
		);

		assert_eq!(Proofs::<T>::get(project, 0).unwrap().status, ProofStatus::Pending);
		assert_eq!(Rounds::<T>::get(project, 0).unwrap().votes.len(), s as usize);
	}

	/// Closing `r` rounds of full subnets that all expire, each its project's head.
	#[benchmark]
	fn close_rounds(r: Linear<0, { T::MaxRoundsPerBlock::get() }>) {
		let voters: Vec<T::AccountId> =
			(0..<MaxSubnetSize as Get<u32>>::get()).map(|i| account("operator", i, SEED)).collect();
		let vote = Vote { previous: Some(H256::zero()), output_root: H256::zero() };
		let votes = voters.iter().map(|v| (v.clone(), vote)).collect();
		let round = Round {
			voters: BoundedVec::truncate_from(voters),
			votes: BoundedVec::truncate_from(votes),
		};
		let now: BlockNumberFor<T> = 10u32.into();
		let mut closing = BoundedVec::new();
		// Each round the head of its own project: each closes (and walks its head).
		for project in 0..u64::from(r) {
			Rounds::<T>::insert(project, 0, round.clone());
			Proofs::<T>::insert(
				project,
				0,
				Proof {
					merkle_root: H256::zero(),
					status: ProofStatus::Pending,
					output_root: None,
					state_root: None,
					outputs: Default::default(),
					previous_state_root: None,
					subnet_size: round.voters.len() as u32,
					agreed: 0,
					deadline: 9u32.into(),
					settled_at: None,
				},
			);
			closing.try_push((project, 0)).expect("within MaxRoundsPerBlock");
		}
		Closing::<T>::insert(now, closing);

		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}

		for project in 0..u64::from(r) {
			assert_eq!(Proofs::<T>::get(project, 0).unwrap().status, ProofStatus::Expired);
		}
	}

	/// Removing a silent member from a full subnet, the longest check: of the last
	/// [`absence_scan`] settled batches, all committed after it joined, the older ones
	/// closed early (a quorum voted their bodies unavailable: they do not count) and the
	/// last [`Config::AbsenceLimit`] stayed open until their deadline.
	#[benchmark]
	fn remove_absent() {
		frame_system::Pallet::<T>::set_block_number(1u32.into());
		let (project, operators) = committed_batch::<T>(<MaxSubnetSize as Get<u32>>::get());
		let silent = operators[operators.len() - 1].clone();
		pallet_operators::Seats::<T>::mutate(project, &silent, |seat| {
			seat.as_mut().expect("a member").since = 0u32.into()
		});
		let scan = absence_scan::<T>();
		let counted_from = scan - u64::from(T::AbsenceLimit::get());
		let batch = pallet_commitments::Batches::<T>::get(project, 0).expect("committed");
		let proof = Proofs::<T>::get(project, 0).expect("round opened");
		for seq in 0..scan {
			let mut batch = batch.clone();
			batch.header.seq = seq;
			pallet_commitments::Batches::<T>::insert(project, seq, batch);
			let settled_at =
				if seq < counted_from { proof.deadline } else { proof.deadline + 1u32.into() };
			let proof = Proof {
				status: ProofStatus::Expired,
				settled_at: Some(settled_at),
				..proof.clone()
			};
			Proofs::<T>::insert(project, seq, proof);
		}
		pallet_commitments::NextBatchSeq::<T>::insert(project, scan);
		Heads::<T>::insert(project, Head { next: scan, state_root: H256::zero() });
		frame_system::Pallet::<T>::set_block_number(
			T::AbsencePeriod::get().saturating_add(2u32.into()),
		);
		let caller: T::AccountId = account("caller", 0, SEED);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), project, silent.clone());

		assert!(!pallet_operators::Pallet::<T>::is_member(project, &silent));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
