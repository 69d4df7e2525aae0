// This file is part of the W3bstream appchain. SPDX-License-Identifier: Apache-2.0

//! Weights for `pallet_projects`. Replaced by `scripts/benchmark.sh`.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_projects`.
pub trait WeightInfo {
	fn create_project() -> Weight;
	fn transfer_project() -> Weight;
	fn set_config() -> Weight;
	fn pause_project() -> Weight;
	fn resume_project() -> Weight;
	fn close_project(a: u32, ) -> Weight;
	fn upload_code(c: u32, ) -> Weight;
	fn remove_code() -> Weight;
	fn register_applet(a: u32, ) -> Weight;
	fn upgrade_applet() -> Weight;
	fn remove_applet() -> Weight;
	fn register_device() -> Weight;
	fn revoke_device() -> Weight;
}

/// Placeholder until `scripts/benchmark.sh` generates the measured weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn create_project() -> Weight { Weight::zero() }
	fn transfer_project() -> Weight { Weight::zero() }
	fn set_config() -> Weight { Weight::zero() }
	fn pause_project() -> Weight { Weight::zero() }
	fn resume_project() -> Weight { Weight::zero() }
	fn close_project(_a: u32, ) -> Weight { Weight::zero() }
	fn upload_code(_c: u32, ) -> Weight { Weight::zero() }
	fn remove_code() -> Weight { Weight::zero() }
	fn register_applet(_a: u32, ) -> Weight { Weight::zero() }
	fn upgrade_applet() -> Weight { Weight::zero() }
	fn remove_applet() -> Weight { Weight::zero() }
	fn register_device() -> Weight { Weight::zero() }
	fn revoke_device() -> Weight { Weight::zero() }
}

impl WeightInfo for () {
	fn create_project() -> Weight { Weight::zero() }
	fn transfer_project() -> Weight { Weight::zero() }
	fn set_config() -> Weight { Weight::zero() }
	fn pause_project() -> Weight { Weight::zero() }
	fn resume_project() -> Weight { Weight::zero() }
	fn close_project(_a: u32, ) -> Weight { Weight::zero() }
	fn upload_code(_c: u32, ) -> Weight { Weight::zero() }
	fn remove_code() -> Weight { Weight::zero() }
	fn register_applet(_a: u32, ) -> Weight { Weight::zero() }
	fn upgrade_applet() -> Weight { Weight::zero() }
	fn remove_applet() -> Weight { Weight::zero() }
	fn register_device() -> Weight { Weight::zero() }
	fn revoke_device() -> Weight { Weight::zero() }
}
