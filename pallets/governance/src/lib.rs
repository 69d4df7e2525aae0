//! # Governance Pallet
//!
//! What the W3bstream appchain's validator council may do as `Root`.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s and the [`Event`]s. A call
//! from any other origin than [`Config::RootOrigin`] fails with `BadOrigin`.
//!
//! ## Overview
//!
//! Every chain but `dev` is governed by a council made of its validators
//! (`pallet-collective`, whose members `pallet-validators` keeps equal to the validator
//! set). A motion that gathers at least two thirds of the council dispatches its call
//! with the council's origin, which the W3bstream pallets accept for their governance
//! calls (validator set, bridge targets). A few calls of FRAME's own pallets accept only
//! `Root`: `system.authorizeUpgrade` (forkless runtime upgrades), `system.setStorage`,
//! `balances.forceTransfer`. This pallet closes that gap without a sudo key:
//! [`Pallet::dispatch_as_root`] dispatches a call as `Root` when its origin is
//! [`Config::RootOrigin`], which the runtime sets to "at least 2/3 of the council".
//!
//! So a runtime upgrade on the `local` chain is one motion,
//! `governance.dispatchAsRoot(system.authorizeUpgrade(hash))`, followed by anyone
//! submitting the code with `system.applyAuthorizedUpgrade(code)`; the motion carries
//! only the 32-byte hash, not the megabytes of code.
//!
//! ### Examples
//!
//! The council's origin dispatches a `Root`-only call; a signed origin is refused:
#![doc = docify::embed!("src/tests.rs", council_origin_dispatches_as_root)]
//!
//! ## Low Level / Implementation Details
//!
//! The pallet keeps no storage. The dispatched call's own result is reported in
//! [`Event::DispatchedAsRoot`]; `dispatch_as_root` itself succeeds once its origin is
//! accepted, so that the motion is recorded as executed and the council sees why the
//! inner call failed (as `sudo.sudo` does).

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use pallet::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::boxed::Box;
	use frame_support::{
		dispatch::{GetDispatchInfo, PostDispatchInfo},
		pallet_prelude::*,
	};
	use frame_system::{pallet_prelude::*, RawOrigin};
	use sp_runtime::traits::Dispatchable;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Configuration of the governance pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The calls governance may dispatch.
		type RuntimeCall: Parameter
			+ Dispatchable<RuntimeOrigin = Self::RuntimeOrigin, PostInfo = PostDispatchInfo>
			+ GetDispatchInfo;

		/// Who may dispatch as `Root`: at least two thirds of the validator council.
		type RootOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Events of the governance pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A call was dispatched as `Root` by governance.
		DispatchedAsRoot {
			/// What the call returned.
			result: DispatchResult,
		},
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Dispatch `call` with `Root` origin.
		///
		/// The dispatch origin must be [`Config::RootOrigin`] (a council motion passed by
		/// at least two thirds of the validators). The call's own result is reported in
		/// [`Event::DispatchedAsRoot`]; this call succeeds whenever its origin is accepted.
		///
		/// Emits [`Event::DispatchedAsRoot`].
		///
		/// ## Complexity
		/// O(1) plus the weight of `call`.
		#[pallet::call_index(0)]
		#[pallet::weight({
			let info = call.get_dispatch_info();
			(T::WeightInfo::dispatch_as_root().saturating_add(info.call_weight), info.class)
		})]
		pub fn dispatch_as_root(
			origin: OriginFor<T>,
			call: Box<<T as Config>::RuntimeCall>,
		) -> DispatchResultWithPostInfo {
			T::RootOrigin::ensure_origin(origin)?;
			let result = call.dispatch(RawOrigin::Root.into());
			let actual = result
				.map(|post| post.actual_weight)
				.unwrap_or_else(|error| error.post_info.actual_weight);
			Self::deposit_event(Event::DispatchedAsRoot {
				result: result.map(|_| ()).map_err(|error| error.error),
			});
			Ok(actual.map(|weight| T::WeightInfo::dispatch_as_root().saturating_add(weight)).into())
		}
	}
}
