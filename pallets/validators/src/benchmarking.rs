//! Benchmarks of the validator set calls.

use super::*;
use codec::Decode;
use frame_benchmarking::v2::*;
use frame_support::traits::{EnsureOrigin, Get};
use sp_runtime::traits::TrailingZeroInput;

const SEED: u32 = 0;

fn validator_id<T: Config>(account: T::AccountId) -> T::ValidatorId {
	T::ValidatorIdOf::convert(account).expect("benchmark accounts have validator ids")
}

/// Fills the set with `count` validators (replacing the genesis set).
fn fill_set<T: Config>(count: u32) {
	let set: Vec<T::ValidatorId> =
		(0..count).map(|i| validator_id::<T>(account("validator", i, SEED))).collect();
	Validators::<T>::put(BoundedVec::truncate_from(set));
}

/// Registers session keys for `account` directly, skipping the ownership proof that
/// `session.set_keys` checks (its cost belongs to pallet-session, not to this pallet).
fn register_keys<T: Config>(account: &T::AccountId) {
	let keys = T::Keys::decode(&mut TrailingZeroInput::zeroes()).expect("zero keys decode");
	pallet_session::NextKeys::<T>::insert(validator_id::<T>(account.clone()), keys);
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// Worst case: the set is one below the maximum, so the duplicate check scans it all.
	#[benchmark]
	fn add_validator(v: Linear<1, { T::MaxValidators::get() - 1 }>) -> Result<(), BenchmarkError> {
		fill_set::<T>(v);
		let candidate: T::AccountId = account("candidate", 0, SEED);
		register_keys::<T>(&candidate);
		let origin =
			T::UpdateOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, candidate.clone());

		assert!(Validators::<T>::get().contains(&validator_id::<T>(candidate)));
		assert!(SetChanged::<T>::get());
		Ok(())
	}

	/// Worst case: the removed validator is the last of a full set.
	#[benchmark]
	fn remove_validator(v: Linear<2, { T::MaxValidators::get() }>) -> Result<(), BenchmarkError> {
		fill_set::<T>(v);
		MinValidators::<T>::put(1);
		let leaving: T::AccountId = account("validator", v - 1, SEED);
		let origin =
			T::UpdateOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, leaving.clone());

		assert!(!Validators::<T>::get().contains(&validator_id::<T>(leaving)));
		assert_eq!(Validators::<T>::get().len() as u32, v - 1);
		Ok(())
	}

	#[benchmark]
	fn set_min_validators() -> Result<(), BenchmarkError> {
		fill_set::<T>(T::MaxValidators::get());
		let origin =
			T::UpdateOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, 2);

		assert_eq!(MinValidators::<T>::get(), 2);
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_bench_ext(), crate::mock::Test);
}
