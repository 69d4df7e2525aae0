// This file is part of the W3bstream appchain. SPDX-License-Identifier: Apache-2.0

//! Weights for `pallet_credentials`.
//!
//! Do not edit: run `scripts/benchmark.sh credentials` to regenerate.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_credentials`.
pub trait WeightInfo {
	fn anchor() -> Weight;
	fn set_status() -> Weight;
}

/// Weights for `pallet_credentials` using the W3bstream node and recommended hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn anchor() -> Weight {
		Weight::from_parts(1_000_000_000, 12000)
			.saturating_add(T::DbWeight::get().reads(5_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	fn set_status() -> Weight {
		Weight::from_parts(1_000_000_000, 12000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
}

/// The same weights with RocksDB's reference database weights, for tests and mocks.
impl WeightInfo for () {
	fn anchor() -> Weight {
		Weight::from_parts(1_000_000_000, 12000)
			.saturating_add(RocksDbWeight::get().reads(5_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
	fn set_status() -> Weight {
		Weight::from_parts(1_000_000_000, 12000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
}
