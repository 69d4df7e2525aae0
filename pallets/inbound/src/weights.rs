// This file is part of the W3bstream appchain. SPDX-License-Identifier: Apache-2.0

//! Weights for `pallet_inbound`.
//!
//! Not measured yet: estimates from the neighbouring pallets' measured costs (`observe`
//! on a quorum costs about what `commitments.commit_batch` does, plus hashing and
//! encoding up to 32 logs of 1 KiB). Run `scripts/benchmark.sh inbound` to replace them.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_inbound`.
pub trait WeightInfo {
	fn subscribe() -> Weight;
	fn unsubscribe() -> Weight;
	fn observe() -> Weight;
}

/// Weights for `pallet_inbound` using the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn subscribe() -> Weight {
		Weight::from_parts(1_000_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(11_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	fn unsubscribe() -> Weight {
		Weight::from_parts(1_000_000_000, 2_700_000)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(68_u64))
	}
	fn observe() -> Weight {
		Weight::from_parts(8_000_000_000, 2_800_000)
			.saturating_add(T::DbWeight::get().reads(80_u64))
			.saturating_add(T::DbWeight::get().writes(76_u64))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn subscribe() -> Weight {
		Weight::from_parts(1_000_000_000, 4_000)
			.saturating_add(RocksDbWeight::get().reads(11_u64))
			.saturating_add(RocksDbWeight::get().writes(3_u64))
	}
	fn unsubscribe() -> Weight {
		Weight::from_parts(1_000_000_000, 2_700_000)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(68_u64))
	}
	fn observe() -> Weight {
		Weight::from_parts(8_000_000_000, 2_800_000)
			.saturating_add(RocksDbWeight::get().reads(80_u64))
			.saturating_add(RocksDbWeight::get().writes(76_u64))
	}
}
