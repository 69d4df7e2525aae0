//! # DID Pallet
//!
//! The `did:w3b` DID method: decentralized identifiers for devices, operators, projects
//! and issuers, whose documents live on this chain.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s, the [`Event`]s and the
//! [`Error`]s. The types are in [`w3b_primitives::did`]; the method's specification is
//! `docs/did-w3b.md`.
//!
//! ## Overview
//!
//! - [`Pallet::create`] records a DID's document: an authentication key (ed25519,
//!   sr25519 or secp256k1), optional assertion and capability-delegation keys, X25519
//!   key-agreement keys, services and a controller. The creation is signed by the
//!   authentication key, which proves the creator controls it and names the DID
//!   ([`w3b_primitives::did::did_id_of`]); it also names the account that submits it,
//!   which pays [`Config::DidDeposit`], held until the DID is deactivated.
//! - [`Pallet::update`] applies one [`DidAction`] signed by the DID's authentication key
//!   or by its controller's. The signature, not the account, authorizes it: anyone may
//!   submit an operation a device or an off-chain wallet signed. An operation carries a
//!   counter above the DID's last one and the last block it may be included in (at most
//!   [`Config::MaxOperationValidity`] ahead), and its signature covers the chain's
//!   genesis hash, so it is applied once, soon, and on this chain only.
//! - A key that gives up a purpose (rotated or removed) is kept with the blocks it held
//!   it in ([`RetiredKeys`], the last [`MaxRetiredKeys`]), so that a signature it made
//!   back then still verifies: "was this key the DID's authentication key at block b" is
//!   [`Pallet::key_at`].
//! - Deactivation removes the document and its retired keys, releases the deposit, and
//!   leaves a tombstone ([`Tombstones`]): the identifier resolves as deactivated for good
//!   and can never be created again.

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
	traits::{
		fungible::{Inspect, Mutate, MutateHold},
		tokens::Precision,
		Get,
	},
	weights::Weight,
};
use sp_core::H256;
use sp_runtime::traits::{Saturating, Zero};
use w3b_primitives::{
	did::{
		DidAction, DidCreation, DidDocument, DidId, DidOperation, DidState, KeyEntry, KeyPurpose,
		MaxRetiredKeys, RetiredKey, Service,
	},
	DeviceKey, DeviceSignature,
};

/// Balance type of the currency deposits are held in.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// A DID document as this runtime stores it.
pub type DidDocumentOf<T> = DidDocument<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	frame_system::pallet_prelude::BlockNumberFor<T>,
>;
/// A creation request as this runtime takes it.
pub type DidCreationOf<T> = DidCreation<
	<T as frame_system::Config>::AccountId,
	frame_system::pallet_prelude::BlockNumberFor<T>,
>;
/// An operation as this runtime takes it.
pub type DidOperationOf<T> = DidOperation<frame_system::pallet_prelude::BlockNumberFor<T>>;
/// A retired key as this runtime stores it.
pub type RetiredKeyOf<T> = RetiredKey<frame_system::pallet_prelude::BlockNumberFor<T>>;

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

	/// Configuration of the pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency deposits are held in.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons, of which [`HoldReason`] is part.
		type RuntimeHoldReason: From<HoldReason>;
		/// Held from the submitter of a creation until the DID is deactivated: it pays for
		/// the largest document and its retired keys.
		#[pallet::constant]
		type DidDeposit: Get<BalanceOf<Self>>;
		/// Most blocks between an operation's inclusion and the last block it names.
		#[pallet::constant]
		type MaxOperationValidity: Get<BlockNumberFor<Self>>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Deposit of a DID's document.
		#[codec(index = 0)]
		DidDeposit,
	}

	/// Documents of the active DIDs.
	#[pallet::storage]
	pub type Dids<T: Config> = StorageMap<_, Blake2_128Concat, DidId, DidDocumentOf<T>>;

	/// Keys each active DID gave up, oldest first (at most [`MaxRetiredKeys`]: the
	/// oldest goes first).
	#[pallet::storage]
	pub type RetiredKeys<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		DidId,
		BoundedVec<RetiredKeyOf<T>, MaxRetiredKeys>,
		ValueQuery,
	>;

	/// Deactivated DIDs, with the block of their deactivation: never created again.
	#[pallet::storage]
	pub type Tombstones<T: Config> = StorageMap<_, Blake2_128Concat, DidId, BlockNumberFor<T>>;

	/// Events of this pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A DID was created.
		DidCreated {
			/// The DID.
			did: DidId,
			/// Who paid its deposit.
			depositor: T::AccountId,
		},
		/// An operation changed a DID's document.
		DidUpdated {
			/// The DID.
			did: DidId,
			/// The operation's counter.
			counter: u64,
		},
		/// A DID was deactivated for good and its deposit released.
		DidDeactivated {
			/// The DID.
			did: DidId,
		},
	}

	/// Errors of this pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// A creation can only be submitted by the account it names.
		WrongSubmitter,
		/// The last block the creation or operation could be included in has passed.
		Expired,
		/// The creation or operation names a last block further ahead than
		/// [`Config::MaxOperationValidity`].
		ValidityTooLong,
		/// A DID with this identifier exists.
		AlreadyExists,
		/// The DID was deactivated: it can neither change nor be created again.
		Deactivated,
		/// No DID with this identifier.
		NotFound,
		/// The signature is not the authentication key's (or, for an operation, the
		/// controller's authentication key's) over this request on this chain.
		BadSignature,
		/// The operation's counter is not the DID's next one (its last one plus one): it
		/// was applied already, another was, or it skips ahead (a counter far ahead would
		/// lock out every operation signed in the meantime, the controller's included).
		WrongCounter,
		/// While the DID has an active controller, only the controller changes or removes
		/// it: a thief of the DID's own key cannot lock the controller out.
		ControllerOnly,
		/// A service's id, type or endpoint is empty or has characters it may not have.
		BadService,
		/// The DID has a service with this id.
		ServiceExists,
		/// The DID has no service with this id.
		ServiceNotFound,
		/// The DID has as many services as it may have.
		TooManyServices,
		/// The DID has this key-agreement key.
		KeyAgreementExists,
		/// The DID has no such key-agreement key.
		KeyAgreementNotFound,
		/// The DID has as many key-agreement keys as it may have.
		TooManyKeyAgreements,
		/// The controller named is not an active DID.
		ControllerNotFound,
		/// A DID cannot be its own controller.
		SelfControl,
		/// The key already holds that purpose: the operation would change nothing.
		KeyUnchanged,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Creates the DID of `creation.authentication` with the document `creation`
		/// describes.
		///
		/// - Origin: signed, the account `creation.submitter`; [`Config::DidDeposit`] is
		///   held from it.
		/// - `signature`: by the authentication key over `creation.signing_hash(genesis)`.
		///
		/// Emits [`Event::DidCreated`]. Errors: [`Error::WrongSubmitter`],
		/// [`Error::Expired`], [`Error::ValidityTooLong`], [`Error::Deactivated`] (the
		/// identifier is a tombstone), [`Error::AlreadyExists`], [`Error::BadSignature`],
		/// [`Error::BadService`], [`Error::ServiceExists`] (two services with one id),
		/// [`Error::KeyAgreementExists`] (a key twice), [`Error::SelfControl`],
		/// [`Error::ControllerNotFound`], and the currency's error when the deposit
		/// cannot be held.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create())]
		pub fn create(
			origin: OriginFor<T>,
			creation: DidCreationOf<T>,
			signature: DeviceSignature,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(creation.submitter == who, Error::<T>::WrongSubmitter);
			Self::ensure_in_validity(creation.valid_until)?;
			let did = creation.did();
			ensure!(!Tombstones::<T>::contains_key(did), Error::<T>::Deactivated);
			ensure!(!Dids::<T>::contains_key(did), Error::<T>::AlreadyExists);
			ensure!(
				creation
					.authentication
					.verify(&creation.signing_hash(&Self::genesis()), &signature),
				Error::<T>::BadSignature
			);
			for (i, service) in creation.services.iter().enumerate() {
				ensure!(service.is_well_formed(), Error::<T>::BadService);
				ensure!(
					creation.services[..i].iter().all(|other| other.id != service.id),
					Error::<T>::ServiceExists
				);
			}
			for (i, key) in creation.key_agreement.iter().enumerate() {
				ensure!(!creation.key_agreement[..i].contains(key), Error::<T>::KeyAgreementExists);
			}
			if let Some(controller) = creation.controller {
				Self::ensure_controller(did, controller)?;
			}
			let deposit = T::DidDeposit::get();
			T::Currency::hold(&HoldReason::DidDeposit.into(), &who, deposit)?;
			let now = frame_system::Pallet::<T>::block_number();
			let entry = |key: DeviceKey| KeyEntry { key, since: now };
			Dids::<T>::insert(
				did,
				DidDocument {
					authentication: entry(creation.authentication),
					assertion: creation.assertion.map(entry),
					delegation: creation.delegation.map(entry),
					key_agreement: creation.key_agreement,
					services: creation.services,
					controller: creation.controller,
					counter: 0,
					depositor: who.clone(),
					deposit,
					created_at: now,
					updated_at: now,
				},
			);
			Self::deposit_event(Event::DidCreated { did, depositor: who });
			Ok(())
		}

		/// Applies `operation` to its DID.
		///
		/// - Origin: signed, any account (it pays the fee; the signature authorizes).
		/// - `signature`: by the DID's authentication key, or its controller's, over
		///   `operation.signing_hash(genesis)`.
		///
		/// Emits [`Event::DidUpdated`], or [`Event::DidDeactivated`] for
		/// [`DidAction::Deactivate`]. Errors: [`Error::Expired`],
		/// [`Error::ValidityTooLong`], [`Error::Deactivated`], [`Error::NotFound`],
		/// [`Error::WrongCounter`], [`Error::BadSignature`], [`Error::ControllerOnly`], and
		/// the action's own:
		/// [`Error::KeyUnchanged`], [`Error::BadService`], [`Error::ServiceExists`],
		/// [`Error::ServiceNotFound`], [`Error::TooManyServices`],
		/// [`Error::KeyAgreementExists`], [`Error::KeyAgreementNotFound`],
		/// [`Error::TooManyKeyAgreements`], [`Error::SelfControl`],
		/// [`Error::ControllerNotFound`].
		#[pallet::call_index(1)]
		#[pallet::weight(Pallet::<T>::update_weight(&operation.action))]
		pub fn update(
			origin: OriginFor<T>,
			operation: DidOperationOf<T>,
			signature: DeviceSignature,
		) -> DispatchResult {
			ensure_signed(origin)?;
			Self::ensure_in_validity(operation.valid_until)?;
			let did = operation.did;
			ensure!(!Tombstones::<T>::contains_key(did), Error::<T>::Deactivated);
			let mut document = Dids::<T>::get(did).ok_or(Error::<T>::NotFound)?;
			ensure!(
				Some(operation.counter) == document.counter.checked_add(1),
				Error::<T>::WrongCounter
			);
			let hash = operation.signing_hash(&Self::genesis());
			let by_controller = || {
				document.controller.and_then(Dids::<T>::get).is_some_and(|controller| {
					controller.authentication.key.verify(&hash, &signature)
				})
			};
			let by_subject = document.authentication.key.verify(&hash, &signature);
			let by_controller = !by_subject && by_controller();
			ensure!(by_subject || by_controller, Error::<T>::BadSignature);
			// A controller no longer active controls nothing: the DID's own key may then
			// replace it.
			ensure!(
				!matches!(operation.action, DidAction::SetController(_))
					|| document.controller.is_none_or(|c| !Dids::<T>::contains_key(c))
					|| by_controller,
				Error::<T>::ControllerOnly
			);
			let now = frame_system::Pallet::<T>::block_number();
			if operation.action == DidAction::Deactivate {
				Dids::<T>::remove(did);
				RetiredKeys::<T>::remove(did);
				Tombstones::<T>::insert(did, now);
				T::Currency::release(
					&HoldReason::DidDeposit.into(),
					&document.depositor,
					document.deposit,
					Precision::BestEffort,
				)?;
				Self::deposit_event(Event::DidDeactivated { did });
				return Ok(());
			}
			let mut retired = Vec::new();
			Self::apply(did, &mut document, operation.action, now, &mut retired)?;
			document.counter = operation.counter;
			document.updated_at = now;
			Dids::<T>::insert(did, document);
			if !retired.is_empty() {
				RetiredKeys::<T>::mutate(did, |keys| {
					for key in retired {
						if keys.is_full() {
							keys.remove(0);
						}
						// Cannot fail: a place was made.
						let _ = keys.try_push(key);
					}
				});
			}
			Self::deposit_event(Event::DidUpdated { did, counter: operation.counter });
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	/// The chain's genesis hash, which every signature covers.
	fn genesis() -> H256 {
		let hash = frame_system::Pallet::<T>::block_hash(
			frame_system::pallet_prelude::BlockNumberFor::<T>::zero(),
		);
		H256::from_slice(hash.as_ref())
	}

	/// Whether `valid_until` is neither past nor too far ahead.
	fn ensure_in_validity(
		valid_until: frame_system::pallet_prelude::BlockNumberFor<T>,
	) -> Result<(), Error<T>> {
		let now = frame_system::Pallet::<T>::block_number();
		frame_support::ensure!(valid_until >= now, Error::<T>::Expired);
		frame_support::ensure!(
			valid_until <= now.saturating_add(T::MaxOperationValidity::get()),
			Error::<T>::ValidityTooLong
		);
		Ok(())
	}

	/// Whether `controller` may control `did`.
	fn ensure_controller(did: DidId, controller: DidId) -> Result<(), Error<T>> {
		frame_support::ensure!(controller != did, Error::<T>::SelfControl);
		frame_support::ensure!(Dids::<T>::contains_key(controller), Error::<T>::ControllerNotFound);
		Ok(())
	}

	/// Changes `document` as `action` says (anything but deactivation); the keys it
	/// gives up go to `retired`.
	fn apply(
		did: DidId,
		document: &mut DidDocumentOf<T>,
		action: DidAction,
		now: frame_system::pallet_prelude::BlockNumberFor<T>,
		retired: &mut Vec<RetiredKeyOf<T>>,
	) -> Result<(), Error<T>> {
		let mut replace = |purpose: KeyPurpose,
		                   slot: &mut Option<KeyEntry<_>>,
		                   key: Option<DeviceKey>|
		 -> Result<(), Error<T>> {
			frame_support::ensure!(
				slot.as_ref().map(|entry| &entry.key) != key.as_ref(),
				Error::<T>::KeyUnchanged
			);
			if let Some(old) = slot.take() {
				retired.push(RetiredKey { purpose, key: old.key, since: old.since, until: now });
			}
			*slot = key.map(|key| KeyEntry { key, since: now });
			Ok(())
		};
		match action {
			DidAction::SetAuthenticationKey(key) => {
				let mut slot = Some(document.authentication.clone());
				replace(KeyPurpose::Authentication, &mut slot, Some(key))?;
				document.authentication = slot.expect("set to a key just above");
			}
			DidAction::SetAssertionKey(key) => {
				replace(KeyPurpose::AssertionMethod, &mut document.assertion, key)?
			}
			DidAction::SetDelegationKey(key) => {
				replace(KeyPurpose::CapabilityDelegation, &mut document.delegation, key)?
			}
			DidAction::AddKeyAgreement(key) => {
				frame_support::ensure!(
					!document.key_agreement.contains(&key),
					Error::<T>::KeyAgreementExists
				);
				document
					.key_agreement
					.try_push(key)
					.map_err(|_| Error::<T>::TooManyKeyAgreements)?;
			}
			DidAction::RemoveKeyAgreement(key) => {
				let position = document
					.key_agreement
					.iter()
					.position(|k| *k == key)
					.ok_or(Error::<T>::KeyAgreementNotFound)?;
				document.key_agreement.remove(position);
			}
			DidAction::AddService(service) => Self::add_service(document, service)?,
			DidAction::RemoveService(id) => {
				let position = document
					.services
					.iter()
					.position(|s| s.id == id)
					.ok_or(Error::<T>::ServiceNotFound)?;
				document.services.remove(position);
			}
			DidAction::SetController(controller) => {
				if let Some(controller) = controller {
					Self::ensure_controller(did, controller)?;
				}
				document.controller = controller;
			}
			DidAction::Deactivate => unreachable!("handled by the caller"),
		}
		Ok(())
	}

	/// Adds `service` to `document`.
	fn add_service(document: &mut DidDocumentOf<T>, service: Service) -> Result<(), Error<T>> {
		frame_support::ensure!(service.is_well_formed(), Error::<T>::BadService);
		frame_support::ensure!(
			document.services.iter().all(|s| s.id != service.id),
			Error::<T>::ServiceExists
		);
		document.services.try_push(service).map_err(|_| Error::<T>::TooManyServices)
	}

	/// The weight of an update doing `action`.
	pub fn update_weight(action: &DidAction) -> Weight {
		match action {
			DidAction::SetAuthenticationKey(_)
			| DidAction::SetAssertionKey(_)
			| DidAction::SetDelegationKey(_) => T::WeightInfo::update_key(),
			DidAction::Deactivate => T::WeightInfo::deactivate(),
			DidAction::AddKeyAgreement(_)
			| DidAction::RemoveKeyAgreement(_)
			| DidAction::AddService(_)
			| DidAction::RemoveService(_)
			| DidAction::SetController(_) => T::WeightInfo::update_document(),
		}
	}

	/// What the chain holds about `did`, for resolvers.
	pub fn state(
		did: DidId,
	) -> DidState<T::AccountId, BalanceOf<T>, frame_system::pallet_prelude::BlockNumberFor<T>> {
		if let Some(at) = Tombstones::<T>::get(did) {
			return DidState::Deactivated(at);
		}
		match Dids::<T>::get(did) {
			Some(document) => {
				DidState::Active { document, retired: RetiredKeys::<T>::get(did).into_inner() }
			}
			None => DidState::Unknown,
		}
	}

	/// The key that held `purpose` for `did` at block `at`: the current one if it was
	/// set by then, else the retired one whose period covers `at` (among the last
	/// [`MaxRetiredKeys`]). `None` for a deactivated DID, a block before its creation, or
	/// one older than the retired keys kept.
	pub fn key_at(
		did: DidId,
		purpose: KeyPurpose,
		at: frame_system::pallet_prelude::BlockNumberFor<T>,
	) -> Option<DeviceKey> {
		Self::state(did).key_at(purpose, Some(at))
	}
}

impl<T: Config> w3b_primitives::traits::DidKeys<frame_system::pallet_prelude::BlockNumberFor<T>>
	for Pallet<T>
{
	fn authentication_key(
		did: &DidId,
	) -> Option<(DeviceKey, frame_system::pallet_prelude::BlockNumberFor<T>)> {
		Dids::<T>::get(did)
			.map(|document| (document.authentication.key, document.authentication.since))
	}

	fn assertion_key(did: &DidId) -> Option<DeviceKey> {
		Dids::<T>::get(did).and_then(|document| document.assertion).map(|entry| entry.key)
	}

	fn deactivated_at(did: &DidId) -> Option<frame_system::pallet_prelude::BlockNumberFor<T>> {
		Tombstones::<T>::get(did)
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_did(key: DeviceKey) -> DidId {
		let did = w3b_primitives::did::did_id_of(&key);
		let now = frame_system::Pallet::<T>::block_number();
		let depositor: T::AccountId = frame_benchmarking::whitelisted_caller();
		Dids::<T>::insert(
			did,
			DidDocument {
				authentication: KeyEntry { key: key.clone(), since: now },
				assertion: Some(KeyEntry { key, since: now }),
				delegation: None,
				key_agreement: Default::default(),
				services: Default::default(),
				controller: None,
				counter: 0,
				depositor,
				deposit: Zero::zero(),
				created_at: now,
				updated_at: now,
			},
		);
		did
	}
}
