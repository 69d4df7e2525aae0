//! # Validators Pallet
//!
//! The proof-of-authority validator set of the W3bstream appchain.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s, the [`Event`]s and the
//! [`Error`]s.
//!
//! ## Overview
//!
//! The chain is secured by a small set of known validators that author blocks with Aura
//! and finalize them with GRANDPA. This pallet owns that set:
//!
//! - [`Pallet::add_validator`] and [`Pallet::remove_validator`] change it. They are
//!   governance calls: the origin is [`Config::UpdateOrigin`], which the runtime sets to
//!   a motion of at least two thirds of the validator council (or `Root`, through sudo
//!   on the dev chain only).
//! - The council is the validator set: every change is handed to [`Config::Council`]
//!   (pallet-collective's members) at once, so governance is always in the hands of the
//!   validators it admitted and a removed validator loses its vote with its seat.
//! - A candidate must have registered its session keys (`session.set_keys`: Aura,
//!   GRANDPA and the secp256k1 bridge key) before it can be added, so that a new set never
//!   names a validator that cannot author or vote.
//! - The set never shrinks below [`MinValidators`] (set at genesis, changed with
//!   [`Pallet::set_min_validators`]; GRANDPA needs more than 2/3 of the set online, so
//!   four validators tolerate one fault) and never grows beyond [`Config::MaxValidators`].
//!
//! Changes are applied through `pallet-session`, for which this pallet is the
//! `SessionManager`: a change made during session `n` is queued at the end of session `n`
//! and the new set authors from session `n + 2` on (pallet-session always queues one
//! session ahead so that every node learns the next authorities before they act).
//!
//! The pallet is also the session handler of the bridge key: it keeps the secp256k1 keys
//! of the active validators in [`BridgeAuthorities`], the set whose signatures the IoTeX
//! verifier contract accepts.
//!
//! ### Examples
//!
//! Adding a validator that has registered its keys, then letting the session rotate:
#![doc = docify::embed!("src/tests.rs", add_validator_takes_effect_two_sessions_later)]
//!
//! ## Low Level / Implementation Details
//!
//! [`Validators`] is the set the next queued session will use. [`SetChanged`] records
//! that it differs from what pallet-session last queued; `new_session` hands the set to
//! pallet-session only then, so an unchanged set costs one storage read per session.

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

use alloc::vec::Vec;
use frame_support::{
	traits::{ChangeMembers, OneSessionHandler},
	BoundedVec,
};
use sp_runtime::{traits::Convert, BoundToRuntimeAppPublic};
use sp_staking::SessionIndex;
use w3b_primitives::{bridge::BridgeAuthorityId, traits::BridgeSetObserver};

const LOG_TARGET: &str = "runtime::validators";

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the validator set.
	#[pallet::config]
	pub trait Config:
		frame_system::Config<RuntimeEvent: From<Event<Self>>>
		+ pallet_session::Config<ValidatorId: Ord>
	{
		/// Who may add and remove validators: governance (two thirds of the council, or
		/// `Root` through sudo on the dev chain).
		type UpdateOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// The validator council: told the new set whenever a call or the genesis changes
		/// it, so that the council is always exactly the validators governance admitted.
		type Council: ChangeMembers<Self::ValidatorId>;

		/// The set never grows beyond this many validators; bounds [`Validators`] and
		/// [`BridgeAuthorities`].
		#[pallet::constant]
		type MaxValidators: Get<u32>;

		/// Told the active validators' bridge keys whenever they change (the bridge).
		type BridgeSets: BridgeSetObserver;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// The validator set that the next queued session will use.
	///
	/// Written by the calls, read by pallet-session at each session boundary through
	/// [`pallet_session::SessionManager`].
	#[pallet::storage]
	pub type Validators<T: Config> =
		StorageValue<_, BoundedVec<T::ValidatorId, T::MaxValidators>, ValueQuery>;

	/// The set never shrinks below this many validators.
	///
	/// Set at genesis; changed by [`Pallet::set_min_validators`].
	#[pallet::storage]
	pub type MinValidators<T: Config> = StorageValue<_, u32, ValueQuery>;

	/// Whether [`Validators`] changed since it was last handed to pallet-session.
	///
	/// Set by the calls, cleared when the next session is queued.
	#[pallet::storage]
	pub type SetChanged<T: Config> = StorageValue<_, bool, ValueQuery>;

	/// Bridge (secp256k1) keys of the active validators, in session order.
	///
	/// Replaced at every session change in which the set or the keys changed.
	#[pallet::storage]
	pub type BridgeAuthorities<T: Config> =
		StorageValue<_, BoundedVec<BridgeAuthorityId, T::MaxValidators>, ValueQuery>;

	/// Genesis configuration: the initial validators.
	///
	/// With no initial validators the pallet leaves the genesis set to pallet-session's
	/// `keys`, and only takes over once governance adds a validator.
	#[pallet::genesis_config]
	pub struct GenesisConfig<T: Config> {
		/// Accounts of the initial validators. Each must also have session keys in
		/// pallet-session's genesis.
		pub initial_validators: Vec<T::AccountId>,
		/// The smallest set the calls may leave behind (at least 1).
		pub min_validators: u32,
	}

	impl<T: Config> Default for GenesisConfig<T> {
		fn default() -> Self {
			Self { initial_validators: Vec::new(), min_validators: 1 }
		}
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			assert!(self.min_validators >= 1, "genesis min_validators must be at least 1");
			MinValidators::<T>::put(self.min_validators);
			if self.initial_validators.is_empty() {
				return;
			}
			assert!(
				self.initial_validators.len() >= self.min_validators as usize,
				"genesis has fewer validators than min_validators"
			);
			let mut set = Vec::with_capacity(self.initial_validators.len());
			for account in &self.initial_validators {
				let id = T::ValidatorIdOf::convert(account.clone())
					.expect("genesis validator has a validator id");
				assert!(!set.contains(&id), "genesis validators contain a duplicate");
				set.push(id);
			}
			let set: BoundedVec<_, T::MaxValidators> =
				set.try_into().expect("genesis has more validators than MaxValidators");
			Pallet::<T>::update_council(&[], &set);
			Validators::<T>::put(set);
		}
	}

	/// Events of the validator set.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A validator was added; it authors from the session after next.
		ValidatorAdded {
			/// The validator added.
			validator: T::ValidatorId,
		},
		/// A validator was removed; it stops authoring from the session after next.
		ValidatorRemoved {
			/// The validator removed.
			validator: T::ValidatorId,
		},
		/// The minimum size of the validator set was changed.
		MinValidatorsSet {
			/// The new minimum.
			min_validators: u32,
		},
		/// A changed validator set was handed to pallet-session for a coming session.
		ValidatorSetQueued {
			/// The session in which the set becomes active.
			session_index: SessionIndex,
			/// The number of validators in the set.
			validators: u32,
		},
	}

	/// Errors of the validator set.
	#[pallet::error]
	pub enum Error<T> {
		/// The account has no validator id (`ValidatorIdOf` rejected it).
		NoValidatorId,
		/// The account is already in the validator set.
		AlreadyValidator,
		/// The account is not in the validator set.
		NotValidator,
		/// The account has not registered session keys with `session.set_keys`.
		NoSessionKeys,
		/// Removing would leave fewer than `MinValidators` validators.
		TooFewValidators,
		/// The minimum must be at least 1 and at most the current number of validators.
		InvalidMinValidators,
		/// Adding would make more than `MaxValidators` validators.
		TooManyValidators,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxValidators::get() >= 1, "MaxValidators must be at least 1");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Add `who` to the validator set.
		///
		/// The dispatch origin must be [`Config::UpdateOrigin`] (a council motion, or
		/// `Root` on the dev chain). `who` must have registered its session keys. The new validator
		/// authors from the session after next.
		///
		/// Emits [`Event::ValidatorAdded`].
		///
		/// Errors: [`Error::NoValidatorId`], [`Error::AlreadyValidator`],
		/// [`Error::NoSessionKeys`], [`Error::TooManyValidators`].
		///
		/// ## Complexity
		/// O(V) in the number of validators V (duplicate check).
		#[pallet::call_index(0)]
		#[pallet::weight(<T as Config>::WeightInfo::add_validator(T::MaxValidators::get()))]
		pub fn add_validator(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::UpdateOrigin::ensure_origin(origin)?;
			let validator = T::ValidatorIdOf::convert(who).ok_or(Error::<T>::NoValidatorId)?;
			let mut set = Validators::<T>::get();
			ensure!(!set.contains(&validator), Error::<T>::AlreadyValidator);
			ensure!(
				pallet_session::NextKeys::<T>::contains_key(&validator),
				Error::<T>::NoSessionKeys
			);
			let old = set.clone();
			set.try_push(validator.clone()).map_err(|_| Error::<T>::TooManyValidators)?;
			Self::update_council(&old, &set);
			Validators::<T>::put(set);
			SetChanged::<T>::put(true);
			Self::deposit_event(Event::ValidatorAdded { validator });
			Ok(())
		}

		/// Remove `who` from the validator set.
		///
		/// The dispatch origin must be [`Config::UpdateOrigin`] (a council motion, or
		/// `Root` on the dev chain). The validator stops authoring from the session after next; its session
		/// keys stay registered.
		///
		/// Emits [`Event::ValidatorRemoved`].
		///
		/// Errors: [`Error::NoValidatorId`], [`Error::NotValidator`],
		/// [`Error::TooFewValidators`].
		///
		/// ## Complexity
		/// O(V) in the number of validators V.
		#[pallet::call_index(1)]
		#[pallet::weight(<T as Config>::WeightInfo::remove_validator(T::MaxValidators::get()))]
		pub fn remove_validator(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::UpdateOrigin::ensure_origin(origin)?;
			let validator = T::ValidatorIdOf::convert(who).ok_or(Error::<T>::NoValidatorId)?;
			let mut set = Validators::<T>::get();
			let position =
				set.iter().position(|v| v == &validator).ok_or(Error::<T>::NotValidator)?;
			ensure!(set.len() > MinValidators::<T>::get() as usize, Error::<T>::TooFewValidators);
			let old = set.clone();
			set.remove(position);
			Self::update_council(&old, &set);
			Validators::<T>::put(set);
			SetChanged::<T>::put(true);
			Self::deposit_event(Event::ValidatorRemoved { validator });
			Ok(())
		}

		/// Set the smallest validator set that [`Pallet::remove_validator`] may leave.
		///
		/// The dispatch origin must be [`Config::UpdateOrigin`] (a council motion, or
		/// `Root` on the dev chain). `min_validators` must be at least 1 and at most the current set size.
		///
		/// Emits [`Event::MinValidatorsSet`].
		///
		/// Errors: [`Error::InvalidMinValidators`].
		///
		/// ## Complexity
		/// O(1).
		#[pallet::call_index(2)]
		#[pallet::weight(<T as Config>::WeightInfo::set_min_validators())]
		pub fn set_min_validators(origin: OriginFor<T>, min_validators: u32) -> DispatchResult {
			T::UpdateOrigin::ensure_origin(origin)?;
			ensure!(
				min_validators >= 1
					&& min_validators as usize <= Validators::<T>::decode_len().unwrap_or(0),
				Error::<T>::InvalidMinValidators
			);
			MinValidators::<T>::put(min_validators);
			Self::deposit_event(Event::MinValidatorsSet { min_validators });
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	/// Makes the council's members `new` (the validator set was `old`).
	///
	/// The council changes at once, not with the session: a validator governance removed
	/// for misbehaving votes on no further motion, and a new one votes from its admission.
	fn update_council(old: &[T::ValidatorId], new: &[T::ValidatorId]) {
		let mut old = old.to_vec();
		let mut new = new.to_vec();
		old.sort();
		new.sort();
		T::Council::set_members_sorted(&new, &old);
	}

	/// Invariants: the set is within its bounds and holds no duplicates.
	#[cfg(any(feature = "try-runtime", test))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let set = Validators::<T>::get();
		frame_support::ensure!(
			set.len() >= MinValidators::<T>::get() as usize,
			"validator set below MinValidators"
		);
		// At most MaxValidators entries, so the quadratic scan is cheap.
		let unique = set.iter().enumerate().all(|(i, v)| !set[..i].contains(v));
		frame_support::ensure!(unique, "validator set holds a duplicate");
		Ok(())
	}
}

impl<T: Config> pallet_session::SessionManager<T::ValidatorId> for Pallet<T> {
	fn new_session(new_index: SessionIndex) -> Option<Vec<T::ValidatorId>> {
		if !SetChanged::<T>::take() {
			return None;
		}
		let set = Validators::<T>::get().into_inner();
		log::info!(
			target: LOG_TARGET,
			"queueing {} validators for session {}",
			set.len(),
			new_index
		);
		Self::deposit_event(Event::ValidatorSetQueued {
			session_index: new_index,
			validators: set.len() as u32,
		});
		Some(set)
	}

	fn new_session_genesis(_new_index: SessionIndex) -> Option<Vec<T::ValidatorId>> {
		let set = Validators::<T>::get();
		(!set.is_empty()).then(|| set.into_inner())
	}

	fn end_session(_end_index: SessionIndex) {}

	fn start_session(_start_index: SessionIndex) {}
}

impl<T: Config> BoundToRuntimeAppPublic for Pallet<T> {
	type Public = BridgeAuthorityId;
}

impl<T: Config> OneSessionHandler<T::ValidatorId> for Pallet<T> {
	type Key = BridgeAuthorityId;

	fn on_genesis_session<'a, I>(validators: I)
	where
		I: Iterator<Item = (&'a T::ValidatorId, Self::Key)> + 'a,
	{
		Self::store_bridge_authorities(validators.map(|(_, key)| key));
	}

	fn on_new_session<'a, I>(changed: bool, validators: I, _queued_validators: I)
	where
		I: Iterator<Item = (&'a T::ValidatorId, Self::Key)> + 'a,
	{
		if changed {
			Self::store_bridge_authorities(validators.map(|(_, key)| key));
		}
	}

	fn on_disabled(_validator_index: u32) {}
}

impl<T: Config> Pallet<T> {
	fn store_bridge_authorities(keys: impl Iterator<Item = BridgeAuthorityId>) {
		// pallet-session never hands over more validators than the SessionManager (this
		// pallet) queued, and that set is bounded by MaxValidators.
		let keys: BoundedVec<_, T::MaxValidators> = BoundedVec::truncate_from(keys.collect());
		T::BridgeSets::bridge_set_changed(&keys);
		BridgeAuthorities::<T>::put(keys);
	}
}
