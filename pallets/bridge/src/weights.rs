// This file is part of the W3bstream appchain. SPDX-License-Identifier: Apache-2.0

//! Weights for `pallet_bridge`.
//!
//! Not measured yet: estimates from the neighbouring pallets' measured costs (a signature
//! check is one secp256k1 recovery, about 0.1 ms in the runtime; sealing hashes two
//! keccak nodes per output). Run `scripts/benchmark.sh bridge` to replace them.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_bridge`.
pub trait WeightInfo {
	fn set_target() -> Weight;
	fn remove_target() -> Weight;
	fn sign_batch() -> Weight;
	fn sign_set_change() -> Weight;
	fn authorize_signature() -> Weight;
	fn seal(o: u32, ) -> Weight;
}

/// Weights for `pallet_bridge` using the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn set_target() -> Weight {
		Weight::from_parts(1_000_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	fn remove_target() -> Weight {
		Weight::from_parts(1_000_000_000, 300_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	fn sign_batch() -> Weight {
		Weight::from_parts(3_000_000_000, 300_000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn sign_set_change() -> Weight {
		Weight::from_parts(3_000_000_000, 8_000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn authorize_signature() -> Weight {
		Weight::from_parts(3_000_000_000, 300_000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
	}
	fn seal(o: u32, ) -> Weight {
		Weight::from_parts(1_000_000_000, 300_000)
			.saturating_add(Weight::from_parts(100_000_000, 0).saturating_mul(o.into()))
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
}

// For tests.
impl WeightInfo for () {
	fn set_target() -> Weight {
		Weight::from_parts(1_000_000_000, 4_000)
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn remove_target() -> Weight {
		Weight::from_parts(1_000_000_000, 300_000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
	fn sign_batch() -> Weight {
		Weight::from_parts(3_000_000_000, 300_000)
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn sign_set_change() -> Weight {
		Weight::from_parts(3_000_000_000, 8_000)
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn authorize_signature() -> Weight {
		Weight::from_parts(3_000_000_000, 300_000)
			.saturating_add(RocksDbWeight::get().reads(4_u64))
	}
	fn seal(o: u32, ) -> Weight {
		Weight::from_parts(1_000_000_000, 300_000)
			.saturating_add(Weight::from_parts(100_000_000, 0).saturating_mul(o.into()))
			.saturating_add(RocksDbWeight::get().reads(4_u64))
			.saturating_add(RocksDbWeight::get().writes(4_u64))
	}
}
