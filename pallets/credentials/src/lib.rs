//! # Credentials Pallet
//!
//! The credential registry: issuers anchor the verifiable credentials they issue (the
//! credential's hash, type, subject and status-list index), and revoke or suspend them.
//! The runtime checks a credential here without parsing it (a project that requires its
//! devices to hold a manufacturer's credential, a subnet that admits operators by
//! credential), and verifiers read a credential's status here or from the issuer's
//! Bitstring Status Lists, which nodes build from these records.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s, the [`Event`]s and the
//! [`Error`]s. The types are in [`w3b_primitives::credential`].
//!
//! ## Overview
//!
//! - [`Pallet::anchor`] records a credential. The anchor is signed by the issuer DID's
//!   assertion key (the key a W3C verifier accepts for the credentials a DID issues):
//!   no one anchors in an issuer's name. It names the account that submits it, which
//!   pays [`Config::CredentialDeposit`], and the last block it may be included in. The
//!   status index must be free in the issuer's lists: an index names one credential for
//!   good, so a revoked credential's bit is never cleared by another's.
//! - [`Pallet::set_status`] suspends, reinstates or revokes a credential, signed by its
//!   issuer's current assertion key over the record's next revision: each signed change
//!   applies once, and an old one cannot undo a newer one. Revocation is final.
//! - A credential whose issuer DID is deactivated counts as revoked from then on
//!   ([`CredentialsInspect::held`], [`Pallet::effective_status`]).
//!
//! Records stay for good, with their deposits: a status list must keep a revoked
//! credential's bit set as long as anyone may hold the credential.

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
use frame_support::traits::{
	fungible::{Inspect, Mutate, MutateHold},
	Get,
};
use sp_core::H256;
use sp_runtime::traits::{Saturating, Zero};
use w3b_primitives::{
	credential::{
		CredentialAnchor, CredentialHash, CredentialRecord, CredentialStatus, CredentialType,
		CredentialsInspect, StatusChange, STATUS_LIST_LENGTH,
	},
	did::DidId,
	traits::DidKeys,
	DeviceSignature,
};

/// Balance type of the currency deposits are held in.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// An anchor as this runtime takes it.
pub type CredentialAnchorOf<T> = CredentialAnchor<
	<T as frame_system::Config>::AccountId,
	frame_system::pallet_prelude::BlockNumberFor<T>,
>;
/// A status change as this runtime takes it.
pub type StatusChangeOf<T> = StatusChange<frame_system::pallet_prelude::BlockNumberFor<T>>;
/// A credential's record as this runtime stores it.
pub type CredentialRecordOf<T> = CredentialRecord<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	frame_system::pallet_prelude::BlockNumberFor<T>,
>;

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
		/// The issuers' DIDs.
		type Dids: DidKeys<BlockNumberFor<Self>>;
		/// Held from the submitter of an anchor for good: it pays for the record and its
		/// status-list entry.
		#[pallet::constant]
		type CredentialDeposit: Get<BalanceOf<Self>>;
		/// Most blocks between an anchor's or a change's inclusion and the last block it
		/// names.
		#[pallet::constant]
		type MaxOperationValidity: Get<BlockNumberFor<Self>>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Deposit of an anchored credential.
		#[codec(index = 0)]
		CredentialDeposit,
	}

	/// Anchored credentials, by issuer: a record is its issuer's, so another DID
	/// anchoring a credential's hash first blocks nothing.
	#[pallet::storage]
	pub type Credentials<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		DidId,
		Blake2_128Concat,
		CredentialHash,
		CredentialRecordOf<T>,
	>;

	/// The credential at each used index of each issuer's status lists.
	#[pallet::storage]
	pub type StatusIndices<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, DidId, Twox64Concat, u32, CredentialHash>;

	/// The credential of each type each issuer anchored last about each subject: what
	/// the runtime checks a subject holds.
	#[pallet::storage]
	pub type Held<T: Config> = StorageNMap<
		_,
		(
			NMapKey<Blake2_128Concat, DidId>,
			NMapKey<Blake2_128Concat, CredentialType>,
			NMapKey<Blake2_128Concat, DidId>,
		),
		CredentialHash,
	>;

	/// Events of this pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A credential was anchored.
		CredentialAnchored {
			/// The credential.
			hash: CredentialHash,
			/// Its issuer.
			issuer: DidId,
			/// Its type.
			credential_type: CredentialType,
			/// Its subject, if a `did:w3b` DID.
			subject: Option<DidId>,
			/// Its status-list index.
			status_index: u32,
		},
		/// A credential's issuer changed its status.
		CredentialStatusChanged {
			/// The credential.
			hash: CredentialHash,
			/// Its new status.
			status: CredentialStatus,
			/// Its record's revision.
			revision: u32,
		},
	}

	/// Errors of this pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// An anchor can only be submitted by the account it names.
		WrongSubmitter,
		/// The last block the anchor or change could be included in has passed.
		Expired,
		/// The anchor or change names a last block further ahead than
		/// [`Config::MaxOperationValidity`].
		ValidityTooLong,
		/// The issuer is not an active DID with an assertion key.
		NoAssertionKey,
		/// The signature is not the issuer's assertion key's over this request on this
		/// chain.
		BadSignature,
		/// The issuer anchored this credential already.
		AlreadyAnchored,
		/// The status index is not below the status lists' length.
		StatusIndexOutOfRange,
		/// The issuer's status lists use this index for another credential.
		StatusIndexTaken,
		/// No credential with this hash is anchored.
		NotFound,
		/// The change's revision is not the record's next one: it was applied already,
		/// another was, or it skips ahead.
		WrongRevision,
		/// The credential was revoked: its status never changes again.
		Revoked,
		/// The credential has this status already.
		StatusUnchanged,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Anchors the credential `anchor` describes.
		///
		/// - Origin: signed, the account `anchor.submitter`; [`Config::CredentialDeposit`]
		///   is held from it for good.
		/// - `signature`: by the issuer's assertion key over
		///   `anchor.signing_hash(genesis)`.
		///
		/// Emits [`Event::CredentialAnchored`]. Errors: [`Error::WrongSubmitter`],
		/// [`Error::Expired`], [`Error::ValidityTooLong`], [`Error::NoAssertionKey`],
		/// [`Error::BadSignature`], [`Error::AlreadyAnchored`],
		/// [`Error::StatusIndexOutOfRange`], [`Error::StatusIndexTaken`], and the
		/// currency's error when the deposit cannot be held.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::anchor())]
		pub fn anchor(
			origin: OriginFor<T>,
			anchor: CredentialAnchorOf<T>,
			signature: DeviceSignature,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(anchor.submitter == who, Error::<T>::WrongSubmitter);
			Self::ensure_in_validity(anchor.valid_until)?;
			let key = T::Dids::assertion_key(&anchor.issuer).ok_or(Error::<T>::NoAssertionKey)?;
			ensure!(
				key.verify(&anchor.signing_hash(&Self::genesis()), &signature),
				Error::<T>::BadSignature
			);
			ensure!(
				!Credentials::<T>::contains_key(anchor.issuer, anchor.hash),
				Error::<T>::AlreadyAnchored
			);
			ensure!(anchor.status_index < STATUS_LIST_LENGTH, Error::<T>::StatusIndexOutOfRange);
			ensure!(
				!StatusIndices::<T>::contains_key(anchor.issuer, anchor.status_index),
				Error::<T>::StatusIndexTaken
			);
			let deposit = T::CredentialDeposit::get();
			T::Currency::hold(&HoldReason::CredentialDeposit.into(), &who, deposit)?;
			let now = frame_system::Pallet::<T>::block_number();
			Credentials::<T>::insert(
				anchor.issuer,
				anchor.hash,
				CredentialRecord {
					issuer: anchor.issuer,
					credential_type: anchor.credential_type,
					subject: anchor.subject,
					status_index: anchor.status_index,
					status: CredentialStatus::Active,
					status_since: now,
					anchored_at: now,
					revision: 0,
					depositor: who,
					deposit,
				},
			);
			StatusIndices::<T>::insert(anchor.issuer, anchor.status_index, anchor.hash);
			if let Some(subject) = anchor.subject {
				Held::<T>::insert((subject, anchor.credential_type, anchor.issuer), anchor.hash);
			}
			Self::deposit_event(Event::CredentialAnchored {
				hash: anchor.hash,
				issuer: anchor.issuer,
				credential_type: anchor.credential_type,
				subject: anchor.subject,
				status_index: anchor.status_index,
			});
			Ok(())
		}

		/// Sets the status of the credential `change` names.
		///
		/// - Origin: signed, any account (it pays the fee; the signature authorizes).
		/// - `signature`: by the issuer's current assertion key over
		///   `change.signing_hash(genesis)`.
		///
		/// Emits [`Event::CredentialStatusChanged`]. Errors: [`Error::Expired`],
		/// [`Error::ValidityTooLong`], [`Error::NotFound`], [`Error::WrongRevision`],
		/// [`Error::NoAssertionKey`], [`Error::BadSignature`], [`Error::Revoked`],
		/// [`Error::StatusUnchanged`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::set_status())]
		pub fn set_status(
			origin: OriginFor<T>,
			change: StatusChangeOf<T>,
			signature: DeviceSignature,
		) -> DispatchResult {
			ensure_signed(origin)?;
			Self::ensure_in_validity(change.valid_until)?;
			let mut record =
				Credentials::<T>::get(change.issuer, change.hash).ok_or(Error::<T>::NotFound)?;
			let next = record.revision.checked_add(1);
			// A revocation may skip revisions: a signed change that leaked and was never
			// applied cannot hold it off.
			ensure!(
				Some(change.revision) == next
					|| (change.status == CredentialStatus::Revoked
						&& change.revision > record.revision),
				Error::<T>::WrongRevision
			);
			let key = T::Dids::assertion_key(&record.issuer).ok_or(Error::<T>::NoAssertionKey)?;
			ensure!(
				key.verify(&change.signing_hash(&Self::genesis()), &signature),
				Error::<T>::BadSignature
			);
			ensure!(record.status != CredentialStatus::Revoked, Error::<T>::Revoked);
			ensure!(record.status != change.status, Error::<T>::StatusUnchanged);
			record.status = change.status;
			record.status_since = frame_system::Pallet::<T>::block_number();
			record.revision = change.revision;
			Credentials::<T>::insert(change.issuer, change.hash, record);
			Self::deposit_event(Event::CredentialStatusChanged {
				hash: change.hash,
				status: change.status,
				revision: change.revision,
			});
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

	/// `record`'s status as verifiers must take it, and the block it holds from: revoked
	/// from its issuer's deactivation on, whatever the record says.
	pub fn effective_status(
		record: &CredentialRecordOf<T>,
	) -> (CredentialStatus, frame_system::pallet_prelude::BlockNumberFor<T>) {
		match T::Dids::deactivated_at(&record.issuer) {
			Some(at) if record.status != CredentialStatus::Revoked => {
				(CredentialStatus::Revoked, at)
			}
			_ => (record.status, record.status_since),
		}
	}

	/// The indices of `issuer`'s status lists whose credentials are not active, with
	/// their status: the set bits of its revocation and suspension lists. Every index
	/// counts as revoked once the issuer is deactivated (verifiers learn it from its
	/// DID).
	pub fn status_list(issuer: DidId) -> Vec<(u32, CredentialStatus)> {
		StatusIndices::<T>::iter_prefix(issuer)
			.filter_map(|(index, hash)| {
				let record = Credentials::<T>::get(issuer, hash)?;
				let (status, _) = Self::effective_status(&record);
				(status != CredentialStatus::Active).then_some((index, status))
			})
			.collect()
	}
}

impl<T: Config> CredentialsInspect<frame_system::pallet_prelude::BlockNumberFor<T>> for Pallet<T> {
	fn held(
		subject: &DidId,
		credential_type: &CredentialType,
		issuer: &DidId,
	) -> Option<(CredentialHash, CredentialStatus, frame_system::pallet_prelude::BlockNumberFor<T>)>
	{
		let hash = Held::<T>::get((subject, credential_type, issuer))?;
		let (status, since) = Self::status(issuer, &hash)?;
		Some((hash, status, since))
	}

	fn status(
		issuer: &DidId,
		hash: &CredentialHash,
	) -> Option<(CredentialStatus, frame_system::pallet_prelude::BlockNumberFor<T>)> {
		Credentials::<T>::get(issuer, hash).map(|record| Self::effective_status(&record))
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_credential(
		issuer: DidId,
		subject: DidId,
		credential_type: CredentialType,
	) -> CredentialHash {
		use codec::Encode;
		let hash = H256(sp_io::hashing::blake2_256(&(issuer, subject, credential_type).encode()));
		let now = frame_system::Pallet::<T>::block_number();
		let status_index = StatusIndices::<T>::iter_prefix(issuer).count() as u32;
		Credentials::<T>::insert(
			issuer,
			hash,
			CredentialRecord {
				issuer,
				credential_type,
				subject: Some(subject),
				status_index,
				status: CredentialStatus::Active,
				status_since: now,
				anchored_at: now,
				revision: 0,
				depositor: frame_benchmarking::whitelisted_caller(),
				deposit: Zero::zero(),
			},
		);
		StatusIndices::<T>::insert(issuer, status_index, hash);
		Held::<T>::insert((subject, credential_type, issuer), hash);
		hash
	}
}
