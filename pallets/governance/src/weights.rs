// This file is part of the W3bstream appchain. SPDX-License-Identifier: Apache-2.0

//! Weights for `pallet_governance`.
//!
//! Do not edit: run `scripts/benchmark.sh governance` to regenerate.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_governance`.
pub trait WeightInfo {
	fn dispatch_as_root() -> Weight;
}

/// Weights for `pallet_governance` measured on the reference machine, using the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn dispatch_as_root() -> Weight {
		Weight::from_parts(20_000_000, 0)
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn dispatch_as_root() -> Weight {
		Weight::from_parts(20_000_000, 0)
	}
}
