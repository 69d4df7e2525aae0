//! Benchmarks of the governance calls.

use super::*;
use alloc::boxed::Box;
use frame_benchmarking::v2::*;
use frame_support::traits::EnsureOrigin;

#[benchmarks(where <T as Config>::RuntimeCall: From<frame_system::Call<T>>)]
mod benchmarks {
	use super::*;

	/// The overhead of checking the origin and reporting the result; the dispatched
	/// call (`system.remark`, which does nothing) adds its own weight at dispatch.
	#[benchmark]
	fn dispatch_as_root() -> Result<(), BenchmarkError> {
		let origin =
			T::RootOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		let call: <T as Config>::RuntimeCall =
			frame_system::Call::<T>::remark { remark: alloc::vec![] }.into();

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, Box::new(call));

		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
