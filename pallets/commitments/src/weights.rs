// This file is part of the W3bstream appchain. SPDX-License-Identifier: Apache-2.0

//! Weights for `pallet_commitments`. Replaced by `scripts/benchmark.sh`.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_commitments`.
pub trait WeightInfo {
	fn commit_batch(p: u32, ) -> Weight;
}

/// Placeholder until `scripts/benchmark.sh` generates the measured weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn commit_batch(_p: u32, ) -> Weight { Weight::zero() }
}

impl WeightInfo for () {
	fn commit_batch(_p: u32, ) -> Weight { Weight::zero() }
}
