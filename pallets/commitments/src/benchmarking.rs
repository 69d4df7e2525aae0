//! Benchmarks of the commitment call.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::Mutate;
use frame_system::RawOrigin;
use sp_runtime::traits::Saturating;
use w3b_primitives::project::ProjectConfig;

const SEED: u32 = 0;

/// An Active project whose subnet is `operator` alone.
fn active_project<T: Config>(operator: &T::AccountId) -> ProjectId {
	let owner: T::AccountId = account("owner", 0, SEED);
	let funds =
		T::MinBond::get().saturating_add(T::ProjectDeposit::get()).saturating_mul(10u32.into());
	<T as pallet_projects::Config>::Currency::set_balance(&owner, funds);
	<T as pallet_projects::Config>::Currency::set_balance(operator, funds);
	let project = pallet_projects::NextProjectId::<T>::get();
	pallet_projects::Pallet::<T>::create_project(
		RawOrigin::Signed(owner).into(),
		b"bench".to_vec().try_into().unwrap(),
		Default::default(),
		ProjectConfig {
			attestation_deadline: T::MinAttestationDeadline::get(),
			..Default::default()
		},
	)
	.expect("project created");
	pallet_operators::Pallet::<T>::register_operator(
		RawOrigin::Signed(operator.clone()).into(),
		T::MinBond::get(),
		Default::default(),
		None,
	)
	.expect("registered");
	pallet_operators::Pallet::<T>::join_subnet(RawOrigin::Signed(operator.clone()).into(), project)
		.expect("joined");
	project
}

fn cid() -> Cid {
	let mut cid = alloc::vec![1u8, 0x55, 0x12, 0x20];
	cid.extend_from_slice(&[7; 32]);
	cid.try_into().expect("36 bytes")
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// Committing with `p` settled batches beyond the window to prune.
	#[benchmark]
	fn commit_batch(p: Linear<0, { T::MaxPrunePerCommit::get() }>) {
		let operator: T::AccountId = account("operator", 0, SEED);
		let project = active_project::<T>(&operator);
		let existing = u64::from(T::CommitmentWindow::get()) - 1 + u64::from(p);
		for seq in 0..existing {
			let header = BatchHeader {
				project,
				seq,
				merkle_root: H256::repeat_byte(1),
				count: 1,
				bytes: 1,
				cid: cid(),
			};
			Batches::<T>::insert(
				project,
				seq,
				Commitment {
					header,
					committer: operator.clone(),
					committed_at: Default::default(),
					committed_at_ms: 0,
				},
			);
			T::Proofs::settle(project, seq);
		}
		NextBatchSeq::<T>::insert(project, existing);

		#[extrinsic_call]
		_(RawOrigin::Signed(operator), project, H256::repeat_byte(2), 1000, 100_000, cid());

		assert_eq!(NextBatchSeq::<T>::get(project), existing + 1);
		assert_eq!(OldestRetained::<T>::get(project), u64::from(p));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
