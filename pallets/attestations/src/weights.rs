// This file is part of the W3bstream appchain. SPDX-License-Identifier: Apache-2.0

//! Weights for `pallet_attestations`. Replaced by `scripts/benchmark.sh`.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_attestations`.
pub trait WeightInfo {
	fn attest(s: u32, ) -> Weight;
	fn close_rounds(r: u32, ) -> Weight;
}

/// Placeholder until `scripts/benchmark.sh` generates the measured weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn attest(_s: u32, ) -> Weight { Weight::zero() }
	fn close_rounds(_r: u32, ) -> Weight { Weight::zero() }
}

impl WeightInfo for () {
	fn attest(_s: u32, ) -> Weight { Weight::zero() }
	fn close_rounds(_r: u32, ) -> Weight { Weight::zero() }
}
