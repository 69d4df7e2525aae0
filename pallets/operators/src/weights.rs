// This file is part of the W3bstream appchain. SPDX-License-Identifier: Apache-2.0

//! Weights for `pallet_operators`. Replaced by `scripts/benchmark.sh`.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_operators`.
pub trait WeightInfo {
	fn register_operator() -> Weight;
	fn update_operator() -> Weight;
	fn bond_extra() -> Weight;
	fn unbond() -> Weight;
	fn withdraw_unbonded() -> Weight;
	fn join_subnet() -> Weight;
	fn leave_subnet() -> Weight;
	fn fund_reward_pool() -> Weight;
	fn withdraw_reward_pool() -> Weight;
}

/// Placeholder until `scripts/benchmark.sh` generates the measured weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register_operator() -> Weight { Weight::zero() }
	fn update_operator() -> Weight { Weight::zero() }
	fn bond_extra() -> Weight { Weight::zero() }
	fn unbond() -> Weight { Weight::zero() }
	fn withdraw_unbonded() -> Weight { Weight::zero() }
	fn join_subnet() -> Weight { Weight::zero() }
	fn leave_subnet() -> Weight { Weight::zero() }
	fn fund_reward_pool() -> Weight { Weight::zero() }
	fn withdraw_reward_pool() -> Weight { Weight::zero() }
}

impl WeightInfo for () {
	fn register_operator() -> Weight { Weight::zero() }
	fn update_operator() -> Weight { Weight::zero() }
	fn bond_extra() -> Weight { Weight::zero() }
	fn unbond() -> Weight { Weight::zero() }
	fn withdraw_unbonded() -> Weight { Weight::zero() }
	fn join_subnet() -> Weight { Weight::zero() }
	fn leave_subnet() -> Weight { Weight::zero() }
	fn fund_reward_pool() -> Weight { Weight::zero() }
	fn withdraw_reward_pool() -> Weight { Weight::zero() }
}
