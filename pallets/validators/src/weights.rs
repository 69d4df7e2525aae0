//! Weights for `pallet_validators`.
//!
//! Bootstrap values until `scripts/benchmark.sh` regenerates this file from the
//! pallet's benchmarks (see `benchmarking.rs`).

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_validators`.
pub trait WeightInfo {
	fn add_validator(v: u32, ) -> Weight;
	fn remove_validator(v: u32, ) -> Weight;
	fn set_min_validators() -> Weight;
}

/// Weights for `pallet_validators` measured on the reference machine, using the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn add_validator(v: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 3_000)
			.saturating_add(Weight::from_parts(100_000, 0).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	fn remove_validator(v: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 3_000)
			.saturating_add(Weight::from_parts(100_000, 0).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	fn set_min_validators() -> Weight {
		Weight::from_parts(10_000_000, 1_500)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
}

/// The same weights with RocksDB's reference database weights, for tests and mocks.
impl WeightInfo for () {
	fn add_validator(v: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 3_000)
			.saturating_add(Weight::from_parts(100_000, 0).saturating_mul(v.into()))
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn remove_validator(v: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 3_000)
			.saturating_add(Weight::from_parts(100_000, 0).saturating_mul(v.into()))
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn set_min_validators() -> Weight {
		Weight::from_parts(10_000_000, 1_500)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
}
