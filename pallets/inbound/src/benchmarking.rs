//! Benchmarks of the subscription and observation calls, each in its worst case: a full
//! subnet, a full observation, the vote that completes the quorum.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::Mutate;
use frame_system::RawOrigin;
use sp_core::H160;
use sp_runtime::{traits::Saturating, BoundedVec};
use w3b_primitives::{
	inbound::{cut_range, Cursor, EvmLog, MAX_LOG_DATA, MAX_RANGE_LOGS},
	project::ProjectConfig,
};

const SEED: u32 = 0;

fn subscription() -> Subscription {
	Subscription {
		chain_id: 4690,
		contract: H160::repeat_byte(0xc0),
		topics: BoundedVec::truncate_from(alloc::vec![Some(H256::repeat_byte(1)); 4]),
		confirmations: 12,
		blocks_per_range: MAX_RANGE_BLOCKS,
		event_type: BoundedVec::truncate_from([LOG_EVENT_PREFIX, &[b'e'; 60][..]].concat()),
	}
}

/// An Active project of `owner` with `members` operators in its subnet, subscribed.
fn subscribed_project<T: Config>(members: u32) -> (ProjectId, Vec<T::AccountId>) {
	let owner: T::AccountId = account("owner", 0, SEED);
	let funds =
		T::MinBond::get().saturating_add(T::ProjectDeposit::get()).saturating_mul(10u32.into());
	<T as pallet_projects::Config>::Currency::set_balance(&owner, funds);
	let project = pallet_projects::NextProjectId::<T>::get();
	pallet_projects::Pallet::<T>::create_project(
		RawOrigin::Signed(owner.clone()).into(),
		b"bench".to_vec().try_into().unwrap(),
		Default::default(),
		ProjectConfig {
			attestation_deadline: T::MinAttestationDeadline::get(),
			..Default::default()
		},
	)
	.expect("project created");
	let operators: Vec<T::AccountId> = (0..members)
		.map(|i| {
			let operator: T::AccountId = account("operator", i, SEED);
			<T as pallet_projects::Config>::Currency::set_balance(&operator, funds);
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
	Pallet::<T>::subscribe(RawOrigin::Signed(owner).into(), project, subscription(), 0)
		.expect("subscribed");
	(project, operators)
}

/// An observation of the first range holding [`MAX_RANGE_LOGS`] logs of full data, made
/// different by `salt`.
fn full_observation(salt: u8) -> Observation {
	let logs = (0..MAX_RANGE_LOGS)
		.map(|i| EvmLog {
			block_number: u64::from(i),
			block_hash: H256::repeat_byte(salt),
			transaction_hash: H256::repeat_byte(2),
			log_index: i,
			topics: BoundedVec::truncate_from(alloc::vec![H256::repeat_byte(1); 4]),
			data: BoundedVec::truncate_from(alloc::vec![0xab; MAX_LOG_DATA as usize]),
			data_truncated: true,
		})
		.collect();
	cut_range(Cursor::at_block(0), u64::from(MAX_RANGE_BLOCKS) - 1, logs)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// A subscription next to [`MAX_SUBSCRIPTIONS`] - 1 others.
	#[benchmark]
	fn subscribe() {
		let (project, _) = subscribed_project::<T>(1);
		let owner: T::AccountId = account("owner", 0, SEED);
		for _ in 1..MAX_SUBSCRIPTIONS - 1 {
			Pallet::<T>::subscribe(
				RawOrigin::Signed(owner.clone()).into(),
				project,
				subscription(),
				0,
			)
			.expect("subscribed");
		}

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, subscription(), 7);

		assert_eq!(Subscriptions::<T>::iter_prefix(project).count() as u32, MAX_SUBSCRIPTIONS);
	}

	/// Removing a subscription whose open range has a vote and a candidate per member of a
	/// full subnet.
	#[benchmark]
	fn unsubscribe() {
		let members = MaxSubnetSize::get();
		let (project, operators) = subscribed_project::<T>(members);
		for (i, operator) in operators.iter().enumerate() {
			Pallet::<T>::observe(
				RawOrigin::Signed(operator.clone()).into(),
				project,
				0,
				full_observation(i as u8),
			)
			.expect("voted");
		}
		assert_eq!(Candidates::<T>::iter_prefix((project, 0)).count() as u32, members);
		let owner: T::AccountId = account("owner", 0, SEED);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), project, 0);

		assert_eq!(Candidates::<T>::iter_prefix((project, 0)).count(), 0);
	}

	/// The vote completing the quorum of a full subnet on a full observation, the others
	/// split over a candidate each.
	#[benchmark]
	fn observe() {
		let members = MaxSubnetSize::get();
		let (project, operators) = subscribed_project::<T>(members);
		let needed = quorum(members);
		let observation = full_observation(0);
		// Every other member votes a candidate of its own, then `needed - 1` change to the
		// one the last vote completes.
		for (i, operator) in operators.iter().enumerate().skip(1) {
			Pallet::<T>::observe(
				RawOrigin::Signed(operator.clone()).into(),
				project,
				0,
				full_observation(i as u8),
			)
			.expect("voted");
		}
		for operator in operators.iter().skip(1).take(needed as usize - 1) {
			Pallet::<T>::observe(
				RawOrigin::Signed(operator.clone()).into(),
				project,
				0,
				observation.clone(),
			)
			.expect("voted");
		}
		let last = operators[0].clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(last), project, 0, observation);

		assert_eq!(
			Cursors::<T>::get(project, 0),
			Some(Cursor::at_block(u64::from(MAX_RANGE_BLOCKS)))
		);
		assert_eq!(pallet_commitments::Pallet::<T>::next_batch_seq(project), 1);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
