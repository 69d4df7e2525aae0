//! # Operators Pallet
//!
//! The community nodes of W3bstream: their bonds, the subnets they serve and their
//! rewards.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s, the [`Event`]s and the
//! [`Error`]s.
//!
//! ## Overview
//!
//! - [`Pallet::register_operator`] holds a bond of at least [`Config::MinBond`] from the
//!   caller and records where devices and peers reach it (MQTT and HTTP endpoints) and,
//!   optionally, its DID. [`Pallet::bond_extra`] adds to the bond.
//! - [`Pallet::join_subnet`] and [`Pallet::leave_subnet`] put an operator in and out of
//!   a project's subnet: the operators that ingest, execute and attest its data. Every
//!   change is reported to the projects pallet, which activates a project once its
//!   subnet has `min_operators` members.
//! - **Seats cost bonds.** Each seat in a subnet holds its own bond (the project's
//!   `bond_per_seat`, at least [`Config::MinSeatBond`]), so an identity that wants k
//!   seats locks k bonds: cheap identities cannot fill a subnet's quorum. The owner
//!   chooses the [`AdmissionPolicy`] with [`Pallet::set_admission_policy`]: `Open`
//!   (any operator that holds the seat bond joins) or `Approved` (operators apply,
//!   holding the seat bond, and the owner admits them with [`Pallet::admit_operator`]).
//!   The owner removes a member or turns an application down with
//!   [`Pallet::remove_operator`].
//! - A seat given up (left, removed by the owner, or removed for absence by the
//!   attestations pallet) keeps its bond held for [`Config::UnbondingPeriod`] blocks, so
//!   that what the operator did as a member can still be slashed; then
//!   [`Pallet::withdraw_seat`] releases it. A committer of a batch the chain proves
//!   invalid loses its seat and the seat's bond, which goes to the project's reward
//!   pool ([`Pallet::slash_seat`], called by the commitments pallet).
//! - [`Pallet::unbond`] starts releasing part or all of the bond; the funds stay held
//!   for [`Config::UnbondingPeriod`] blocks (so a misbehaving operator cannot walk away
//!   with them at once) and are released by [`Pallet::withdraw_unbonded`]. An operator
//!   fully unbonded and withdrawn is deregistered; it must leave its subnets first.
//! - Each project has a reward pool, an account derived from [`Config::PalletId`] and
//!   the project id, funded (and drained) by the project owner. When a batch's proof is
//!   finalized the attestations pallet calls [`Pallet::pay_rewards`]: each operator that
//!   attested the agreed result gets `reward_per_batch / subnet size` from the pool.

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
use codec::Encode;
use frame_support::{
	traits::{
		fungible::{Inspect, Mutate, MutateHold},
		tokens::{Fortitude, Precision, Preservation, Restriction},
		Get,
	},
	PalletId,
};
use pallet_projects::BalanceOf;
use sp_core::H256;
use sp_runtime::traits::{AccountIdConversion, Saturating, Zero};
use w3b_primitives::{
	credential::CredentialPolicy,
	did::DidId,
	operator::{
		AdmissionPolicy, Endpoints, OperatorInfo, RemovalReason, Seat, SeatStatus, UnlockChunk,
	},
	project::{Did, ProjectStatus},
	traits::DidKeys,
	traits::{SubnetInspect, SubnetObserver},
	DeviceSignature, ProjectId,
};

/// Most blocks a signed DID link may name ahead of its inclusion (an hour at 3 s blocks).
pub const MAX_LINK_VALIDITY: u32 = 1_200;

/// What a DID's authentication key signs to link the DID to `operator` on the chain whose
/// genesis hash is `genesis`, until block `valid_until`.
pub fn did_link_signing_hash<AccountId: Encode, BlockNumber: Encode>(
	genesis: &H256,
	operator: &AccountId,
	did: &DidId,
	valid_until: &BlockNumber,
) -> H256 {
	H256(sp_io::hashing::blake2_256(
		&(b"w3b/operator/did".as_slice(), genesis, operator, did, valid_until).encode(),
	))
}

/// The currency bonds and rewards are in: the one the projects pallet holds deposits in.
type CurrencyOf<T> = <T as pallet_projects::Config>::Currency;
/// An operator as this runtime stores it.
pub type OperatorOf<T> =
	OperatorInfo<BalanceOf<T>, frame_system::pallet_prelude::BlockNumberFor<T>>;
/// A seat as this runtime stores it.
pub type SeatOf<T> = Seat<BalanceOf<T>, frame_system::pallet_prelude::BlockNumberFor<T>>;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use w3b_primitives::operator::MaxSubnetSize;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the pallet. The currency and the runtime's hold reasons are those
	/// of the projects pallet.
	#[pallet::config]
	pub trait Config:
		frame_system::Config<RuntimeEvent: From<Event<Self>>>
		+ pallet_projects::Config<RuntimeHoldReason: From<HoldReason>>
	{
		/// Smallest bond of an operator.
		#[pallet::constant]
		type MinBond: Get<BalanceOf<Self>>;
		/// Smallest bond of one seat in a subnet (and the seat bond of a project whose
		/// owner set no admission policy).
		#[pallet::constant]
		type MinSeatBond: Get<BalanceOf<Self>>;
		/// Blocks an unbonded amount (or a given-up seat's bond) stays held.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;
		/// Derives the projects' reward pool accounts.
		#[pallet::constant]
		type PalletId: Get<PalletId>;
		/// Where slashed seat bonds go: an account no project owner controls (see
		/// [`Pallet::slash_seat`]).
		#[pallet::constant]
		type Treasury: Get<Self::AccountId>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// An operator's bond (active or unbonding).
		#[codec(index = 0)]
		OperatorBond,
		/// The bond of a seat in a subnet (applied, member, or given up and unbonding).
		#[codec(index = 1)]
		SeatBond,
	}

	/// Registered operators.
	#[pallet::storage]
	pub type OperatorInfos<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, OperatorOf<T>>;

	/// The members of each project's subnet, in joining order.
	#[pallet::storage]
	pub type Subnets<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		ProjectId,
		BoundedVec<T::AccountId, MaxSubnetSize>,
		ValueQuery,
	>;

	/// Each project's admission policy, when its owner set one; otherwise the project is
	/// open at [`Config::MinSeatBond`] per seat.
	#[pallet::storage]
	pub type Admissions<T: Config> =
		StorageMap<_, Blake2_128Concat, ProjectId, AdmissionPolicy<BalanceOf<T>>>;

	/// The `did:w3b` DID each operator linked (proving control of it): what a project
	/// admitting by credential checks.
	#[pallet::storage]
	pub type OperatorDids<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, DidId>;

	/// The operator each linked DID belongs to: a DID is linked to one operator at a
	/// time, so one credential does not seat many accounts.
	#[pallet::storage]
	pub type DidOperators<T: Config> = StorageMap<_, Blake2_128Concat, DidId, T::AccountId>;

	/// Every seat that holds a bond: applications, members and given-up seats still
	/// unbonding, by project and operator.
	#[pallet::storage]
	pub type Seats<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, ProjectId, Blake2_128Concat, T::AccountId, SeatOf<T>>;

	/// Events of this pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An operator registered.
		OperatorRegistered {
			/// The operator.
			operator: T::AccountId,
			/// Its bond.
			bond: BalanceOf<T>,
		},
		/// An operator changed its endpoints or DID.
		OperatorUpdated {
			/// The operator.
			operator: T::AccountId,
		},
		/// An operator's active bond changed.
		BondChanged {
			/// The operator.
			operator: T::AccountId,
			/// Its active bond now.
			bond: BalanceOf<T>,
		},
		/// Unbonded funds were released.
		Withdrawn {
			/// The operator.
			operator: T::AccountId,
			/// Amount released.
			amount: BalanceOf<T>,
		},
		/// An operator withdrew its whole bond and is no longer registered.
		OperatorDeregistered {
			/// The operator.
			operator: T::AccountId,
		},
		/// An operator joined a project's subnet.
		SubnetJoined {
			/// The project.
			project: ProjectId,
			/// The operator.
			operator: T::AccountId,
			/// Members now.
			size: u32,
		},
		/// An operator left a project's subnet.
		SubnetLeft {
			/// The project.
			project: ProjectId,
			/// The operator.
			operator: T::AccountId,
			/// Members now.
			size: u32,
		},
		/// A project's owner set who may take a seat in its subnet.
		AdmissionPolicySet {
			/// The project.
			project: ProjectId,
			/// The policy.
			policy: AdmissionPolicy<BalanceOf<T>>,
		},
		/// An operator applied to a project that admits by approval, holding the seat bond.
		SubnetApplied {
			/// The project.
			project: ProjectId,
			/// The operator.
			operator: T::AccountId,
			/// The seat bond held.
			bond: BalanceOf<T>,
		},
		/// An operator linked its DID.
		DidLinked {
			/// The operator.
			operator: T::AccountId,
			/// The DID.
			did: DidId,
		},
		/// An operator lost its seat (or application) without giving it up.
		OperatorRemoved {
			/// The project.
			project: ProjectId,
			/// The operator.
			operator: T::AccountId,
			/// Why.
			reason: RemovalReason,
		},
		/// A seat's bond was taken into the treasury ([`Config::Treasury`]).
		SeatSlashed {
			/// The project.
			project: ProjectId,
			/// The operator.
			operator: T::AccountId,
			/// Amount taken.
			amount: BalanceOf<T>,
		},
		/// A seat's bond was released to its operator.
		SeatWithdrawn {
			/// The project.
			project: ProjectId,
			/// The operator.
			operator: T::AccountId,
			/// Amount released.
			amount: BalanceOf<T>,
		},
		/// A project's reward pool was funded.
		RewardPoolFunded {
			/// The project.
			project: ProjectId,
			/// Amount added.
			amount: BalanceOf<T>,
		},
		/// The owner took funds out of a project's reward pool.
		RewardPoolWithdrawn {
			/// The project.
			project: ProjectId,
			/// Amount taken.
			amount: BalanceOf<T>,
		},
		/// Operators were rewarded for a finalized batch.
		RewardsPaid {
			/// The project.
			project: ProjectId,
			/// The batch.
			batch_seq: u64,
			/// How many operators were paid.
			operators: u32,
			/// What each received.
			amount_each: BalanceOf<T>,
		},
		/// The reward pool could not pay an operator its share.
		RewardPoolExhausted {
			/// The project.
			project: ProjectId,
			/// The batch.
			batch_seq: u64,
			/// The operator left unpaid.
			operator: T::AccountId,
		},
	}

	/// Errors of this pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// The caller is already an operator.
		AlreadyRegistered,
		/// The project admits operators by credential: link a DID that holds an active
		/// credential its policy accepts ([`Pallet::link_did`]).
		CredentialRequired,
		/// The operator's credential still holds: it keeps its seat.
		CredentialHolds,
		/// The DID is not an active `did:w3b` DID.
		UnknownDid,
		/// The DID is linked to another operator.
		DidTaken,
		/// The operator linked a DID already: a link lasts until the operator deregisters
		/// (re-linking would free the DID to seat another account with one credential).
		DidAlreadyLinked,
		/// The link's signature is not the DID's authentication key's over this link on
		/// this chain.
		BadDidSignature,
		/// The link's last valid block has passed, or is more than
		/// [`MAX_LINK_VALIDITY`] blocks ahead.
		LinkNotValidNow,
		/// The caller is not an operator.
		NotOperator,
		/// The bond would be below [`Config::MinBond`] (and not zero).
		BelowMinBond,
		/// The amount is zero or more than the active bond.
		InvalidAmount,
		/// The operator has [`MaxUnlockChunks`](w3b_primitives::operator::MaxUnlockChunks)
		/// pending unbondings: withdraw first.
		TooManyUnlockChunks,
		/// An operator cannot unbond everything while it serves subnets.
		StillInSubnets,
		/// Nothing is ready to withdraw.
		NothingToWithdraw,
		/// No project has this id.
		UnknownProject,
		/// The project is closed.
		ProjectClosed,
		/// The operator's bond is being withdrawn entirely.
		NotBonded,
		/// The operator is already in this subnet.
		AlreadyMember,
		/// The operator is not in this subnet.
		NotMember,
		/// The subnet is full.
		SubnetFull,
		/// The operator serves as many subnets as it may.
		TooManySubnets,
		/// Only the project owner manages its reward pool, admission policy and members.
		NotProjectOwner,
		/// A seat bond below [`Config::MinSeatBond`].
		SeatBondTooLow,
		/// The operator gave up its seat in this subnet and the seat's bond is still
		/// unbonding: withdraw it ([`Pallet::withdraw_seat`]) before joining again.
		SeatUnbonding,
		/// The operator has no pending application to this subnet.
		NotApplicant,
		/// The operator has no seat in this subnet.
		NoSeat,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Registers the caller as an operator, holding `bond`.
		///
		/// - Origin: signed.
		/// - `bond` >= [`Config::MinBond`], held from the caller's free balance.
		/// - `endpoints`: where devices (MQTT, HTTP) and peers reach it.
		///
		/// Emits [`Event::OperatorRegistered`]. Errors: [`Error::AlreadyRegistered`],
		/// [`Error::BelowMinBond`], or the currency's error when the bond cannot be held.
		#[pallet::call_index(0)]
		#[pallet::weight(<T as Config>::WeightInfo::register_operator())]
		pub fn register_operator(
			origin: OriginFor<T>,
			bond: BalanceOf<T>,
			endpoints: Endpoints,
			did: Option<Did>,
		) -> DispatchResult {
			let operator = ensure_signed(origin)?;
			ensure!(!OperatorInfos::<T>::contains_key(&operator), Error::<T>::AlreadyRegistered);
			ensure!(bond >= T::MinBond::get(), Error::<T>::BelowMinBond);
			CurrencyOf::<T>::hold(&HoldReason::OperatorBond.into(), &operator, bond)?;
			OperatorInfos::<T>::insert(
				&operator,
				OperatorInfo {
					bond,
					unlocking: BoundedVec::new(),
					endpoints,
					did,
					subnets: BoundedVec::new(),
					registered_at: frame_system::Pallet::<T>::block_number(),
				},
			);
			Self::deposit_event(Event::OperatorRegistered { operator, bond });
			Ok(())
		}

		/// Replaces the caller's endpoints and DID.
		///
		/// - Origin: signed by an operator.
		///
		/// Emits [`Event::OperatorUpdated`]. Errors: [`Error::NotOperator`].
		#[pallet::call_index(1)]
		#[pallet::weight(<T as Config>::WeightInfo::update_operator())]
		pub fn update_operator(
			origin: OriginFor<T>,
			endpoints: Endpoints,
			did: Option<Did>,
		) -> DispatchResult {
			let operator = ensure_signed(origin)?;
			Self::mutate_operator(&operator, |info| {
				info.endpoints = endpoints;
				info.did = did;
				Ok(())
			})?;
			Self::deposit_event(Event::OperatorUpdated { operator });
			Ok(())
		}

		/// Adds `amount` to the caller's active bond.
		///
		/// - Origin: signed by an operator.
		///
		/// Emits [`Event::BondChanged`]. Errors: [`Error::NotOperator`],
		/// [`Error::InvalidAmount`] (zero), [`Error::BelowMinBond`] (the result would
		/// still be below the minimum), or the currency's error.
		#[pallet::call_index(2)]
		#[pallet::weight(<T as Config>::WeightInfo::bond_extra())]
		pub fn bond_extra(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
			let operator = ensure_signed(origin)?;
			ensure!(!amount.is_zero(), Error::<T>::InvalidAmount);
			let bond = Self::mutate_operator(&operator, |info| {
				info.bond = info.bond.saturating_add(amount);
				ensure!(info.bond >= T::MinBond::get(), Error::<T>::BelowMinBond);
				CurrencyOf::<T>::hold(&HoldReason::OperatorBond.into(), &operator, amount)?;
				Ok(info.bond)
			})?;
			Self::deposit_event(Event::BondChanged { operator, bond });
			Ok(())
		}

		/// Moves `amount` of the active bond to unbonding; it is released by
		/// [`Pallet::withdraw_unbonded`] after [`Config::UnbondingPeriod`] blocks.
		///
		/// - Origin: signed by an operator.
		/// - The active bond left must be zero or at least [`Config::MinBond`]; zero only
		///   when the operator is in no subnet.
		///
		/// Emits [`Event::BondChanged`]. Errors: [`Error::NotOperator`],
		/// [`Error::InvalidAmount`], [`Error::BelowMinBond`], [`Error::StillInSubnets`],
		/// [`Error::TooManyUnlockChunks`].
		#[pallet::call_index(3)]
		#[pallet::weight(<T as Config>::WeightInfo::unbond())]
		pub fn unbond(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
			let operator = ensure_signed(origin)?;
			let bond = Self::mutate_operator(&operator, |info| {
				ensure!(!amount.is_zero() && amount <= info.bond, Error::<T>::InvalidAmount);
				info.bond = info.bond.saturating_sub(amount);
				if info.bond.is_zero() {
					ensure!(info.subnets.is_empty(), Error::<T>::StillInSubnets);
				} else {
					ensure!(info.bond >= T::MinBond::get(), Error::<T>::BelowMinBond);
				}
				let unlock_at = frame_system::Pallet::<T>::block_number()
					.saturating_add(T::UnbondingPeriod::get());
				info.unlocking
					.try_push(UnlockChunk { amount, unlock_at })
					.map_err(|_| Error::<T>::TooManyUnlockChunks)?;
				Ok(info.bond)
			})?;
			Self::deposit_event(Event::BondChanged { operator, bond });
			Ok(())
		}

		/// Releases the caller's unbonded funds whose period is over. An operator left with
		/// no bond at all is deregistered.
		///
		/// - Origin: signed by an operator.
		///
		/// Emits [`Event::Withdrawn`] and possibly [`Event::OperatorDeregistered`].
		/// Errors: [`Error::NotOperator`], [`Error::NothingToWithdraw`].
		#[pallet::call_index(4)]
		#[pallet::weight(<T as Config>::WeightInfo::withdraw_unbonded())]
		pub fn withdraw_unbonded(origin: OriginFor<T>) -> DispatchResult {
			let operator = ensure_signed(origin)?;
			let mut info = OperatorInfos::<T>::get(&operator).ok_or(Error::<T>::NotOperator)?;
			let now = frame_system::Pallet::<T>::block_number();
			let mut amount = BalanceOf::<T>::zero();
			info.unlocking.retain(|chunk| {
				let ready = chunk.unlock_at <= now;
				if ready {
					amount = amount.saturating_add(chunk.amount);
				}
				!ready
			});
			ensure!(!amount.is_zero(), Error::<T>::NothingToWithdraw);
			CurrencyOf::<T>::release(
				&HoldReason::OperatorBond.into(),
				&operator,
				amount,
				Precision::BestEffort,
			)?;
			Self::deposit_event(Event::Withdrawn { operator: operator.clone(), amount });
			if info.bond.is_zero() && info.unlocking.is_empty() {
				OperatorInfos::<T>::remove(&operator);
				if let Some(did) = OperatorDids::<T>::take(&operator) {
					DidOperators::<T>::remove(did);
				}
				Self::deposit_event(Event::OperatorDeregistered { operator });
			} else {
				OperatorInfos::<T>::insert(&operator, info);
			}
			Ok(())
		}

		/// Puts the caller in `project`'s subnet, or, when the project admits by approval,
		/// records its application. Either way the seat holds the project's seat bond
		/// ([`Pallet::admission_policy`]) from the caller's free balance.
		///
		/// - Origin: signed by an operator whose active bond is not zero.
		/// - The project exists and is not closed; the caller has no seat in it (a seat
		///   given up must be withdrawn first).
		///
		/// Emits [`Event::SubnetJoined`] (and the projects pallet's status event when this
		/// completes the project's quorum base) or [`Event::SubnetApplied`]. Errors:
		/// [`Error::NotOperator`], [`Error::NotBonded`], [`Error::UnknownProject`],
		/// [`Error::ProjectClosed`], [`Error::AlreadyMember`] (member or applicant),
		/// [`Error::SeatUnbonding`], [`Error::SubnetFull`], [`Error::TooManySubnets`], or
		/// the currency's error when the seat bond cannot be held.
		#[pallet::call_index(5)]
		#[pallet::weight(<T as Config>::WeightInfo::join_subnet())]
		pub fn join_subnet(origin: OriginFor<T>, project: ProjectId) -> DispatchResult {
			let operator = ensure_signed(origin)?;
			match pallet_projects::Pallet::<T>::status(project) {
				None => return Err(Error::<T>::UnknownProject.into()),
				Some(ProjectStatus::Closed) => return Err(Error::<T>::ProjectClosed.into()),
				Some(_) => {}
			}
			let info = OperatorInfos::<T>::get(&operator).ok_or(Error::<T>::NotOperator)?;
			ensure!(!info.bond.is_zero(), Error::<T>::NotBonded);
			if let Some(seat) = Seats::<T>::get(project, &operator) {
				let unbonding = matches!(seat.status, SeatStatus::Leaving { .. });
				ensure!(!unbonding, Error::<T>::SeatUnbonding);
				return Err(Error::<T>::AlreadyMember.into());
			}
			let policy = Self::admission_policy(project);
			if let AdmissionPolicy::Credential { credential, .. } = &policy {
				ensure!(
					Self::holds_credential(&operator, credential),
					Error::<T>::CredentialRequired
				);
			}
			let bond = policy.bond_per_seat();
			CurrencyOf::<T>::hold(&HoldReason::SeatBond.into(), &operator, bond)?;
			let status = match policy {
				AdmissionPolicy::Open { .. } | AdmissionPolicy::Credential { .. } => {
					SeatStatus::Member
				}
				AdmissionPolicy::Approved { .. } => SeatStatus::Applied,
			};
			let since = frame_system::Pallet::<T>::block_number();
			Seats::<T>::insert(project, &operator, Seat { bond, since, status });
			match status {
				SeatStatus::Member => Self::add_member(project, operator)?,
				_ => Self::deposit_event(Event::SubnetApplied { project, operator, bond }),
			}
			Ok(())
		}

		/// Gives up the caller's seat in `project`'s subnet. A member leaves the subnet and
		/// its seat bond stays held for [`Config::UnbondingPeriod`] blocks (then
		/// [`Pallet::withdraw_seat`]); attestation rounds already open keep counting it
		/// (their quorum base is the subnet at commitment time). An applicant's bond is
		/// released at once.
		///
		/// - Origin: signed by a member or applicant of the subnet.
		///
		/// Emits [`Event::SubnetLeft`] (and the projects pallet's status event when the
		/// project drops below its quorum base) or, for an application,
		/// [`Event::SeatWithdrawn`]. Errors: [`Error::NotMember`].
		#[pallet::call_index(6)]
		#[pallet::weight(<T as Config>::WeightInfo::leave_subnet())]
		pub fn leave_subnet(origin: OriginFor<T>, project: ProjectId) -> DispatchResult {
			let operator = ensure_signed(origin)?;
			if let Some(size) = Self::vacate(project, &operator)? {
				Self::deposit_event(Event::SubnetLeft { project, operator, size });
			}
			Ok(())
		}

		/// Moves `amount` from the caller into `project`'s reward pool.
		///
		/// - Origin: signed by the project owner.
		///
		/// Emits [`Event::RewardPoolFunded`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotProjectOwner`], or the currency's error (for instance when the pool
		/// would hold less than the existential deposit).
		#[pallet::call_index(7)]
		#[pallet::weight(<T as Config>::WeightInfo::fund_reward_pool())]
		pub fn fund_reward_pool(
			origin: OriginFor<T>,
			project: ProjectId,
			amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_project_owner(project, &who)?;
			CurrencyOf::<T>::transfer(
				&who,
				&Self::reward_pool(project),
				amount,
				Preservation::Preserve,
			)?;
			Self::deposit_event(Event::RewardPoolFunded { project, amount });
			Ok(())
		}

		/// Moves `amount` from `project`'s reward pool back to the caller.
		///
		/// - Origin: signed by the project owner.
		///
		/// Emits [`Event::RewardPoolWithdrawn`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotProjectOwner`], or the currency's error when the pool holds less.
		#[pallet::call_index(8)]
		#[pallet::weight(<T as Config>::WeightInfo::withdraw_reward_pool())]
		pub fn withdraw_reward_pool(
			origin: OriginFor<T>,
			project: ProjectId,
			amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_project_owner(project, &who)?;
			CurrencyOf::<T>::transfer(
				&Self::reward_pool(project),
				&who,
				amount,
				Preservation::Expendable,
			)?;
			Self::deposit_event(Event::RewardPoolWithdrawn { project, amount });
			Ok(())
		}

		/// Sets who may take a seat in `project`'s subnet from now on. Seats taken before
		/// keep the bond they hold; pending applications stay pending under `Open` until
		/// the owner admits them or their operators withdraw.
		///
		/// - Origin: signed by the project owner.
		/// - `policy`'s `bond_per_seat` >= [`Config::MinSeatBond`].
		///
		/// Emits [`Event::AdmissionPolicySet`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotProjectOwner`], [`Error::SeatBondTooLow`].
		#[pallet::call_index(9)]
		#[pallet::weight(<T as Config>::WeightInfo::set_admission_policy())]
		pub fn set_admission_policy(
			origin: OriginFor<T>,
			project: ProjectId,
			policy: AdmissionPolicy<BalanceOf<T>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_project_owner(project, &who)?;
			ensure!(policy.bond_per_seat() >= T::MinSeatBond::get(), Error::<T>::SeatBondTooLow);
			Admissions::<T>::insert(project, policy.clone());
			Self::deposit_event(Event::AdmissionPolicySet { project, policy });
			Ok(())
		}

		/// Admits `operator`, which applied to `project`, into its subnet.
		///
		/// - Origin: signed by the project owner.
		/// - `operator` has a pending application and is still a bonded operator.
		///
		/// Emits [`Event::SubnetJoined`] (and the projects pallet's status event when this
		/// completes the project's quorum base). Errors: [`Error::UnknownProject`],
		/// [`Error::NotProjectOwner`], [`Error::NotApplicant`], [`Error::NotOperator`],
		/// [`Error::NotBonded`], [`Error::SubnetFull`], [`Error::TooManySubnets`].
		#[pallet::call_index(10)]
		#[pallet::weight(<T as Config>::WeightInfo::admit_operator())]
		pub fn admit_operator(
			origin: OriginFor<T>,
			project: ProjectId,
			operator: T::AccountId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_project_owner(project, &who)?;
			let mut seat = Seats::<T>::get(project, &operator)
				.filter(|seat| seat.status == SeatStatus::Applied)
				.ok_or(Error::<T>::NotApplicant)?;
			let info = OperatorInfos::<T>::get(&operator).ok_or(Error::<T>::NotOperator)?;
			ensure!(!info.bond.is_zero(), Error::<T>::NotBonded);
			seat.status = SeatStatus::Member;
			seat.since = frame_system::Pallet::<T>::block_number();
			Seats::<T>::insert(project, &operator, seat);
			Self::add_member(project, operator)
		}

		/// Takes `operator` out of `project`'s subnet, or turns its application down. A
		/// member's seat bond stays held for [`Config::UnbondingPeriod`] blocks, like a
		/// member's that left; an applicant's is released at once.
		///
		/// - Origin: signed by the project owner.
		///
		/// Emits [`Event::OperatorRemoved`] (reason `Owner`), and [`Event::SeatWithdrawn`]
		/// for an application. Errors: [`Error::UnknownProject`],
		/// [`Error::NotProjectOwner`], [`Error::NotMember`] (neither member nor
		/// applicant).
		#[pallet::call_index(11)]
		#[pallet::weight(<T as Config>::WeightInfo::remove_operator())]
		pub fn remove_operator(
			origin: OriginFor<T>,
			project: ProjectId,
			operator: T::AccountId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_project_owner(project, &who)?;
			Self::remove(project, &operator, RemovalReason::Owner)?;
			Ok(())
		}

		/// Links the caller, an operator, to `did`, a `did:w3b` DID whose authentication key
		/// signed the link: projects that admit by credential check the credentials that
		/// DID holds. Once only: the link lasts until the operator deregisters (a DID that
		/// could move between accounts would seat them all with one credential).
		///
		/// - Origin: signed by an operator.
		/// - `signature`: by the DID's authentication key over
		///   [`did_link_signing_hash`]`(genesis, caller, did, valid_until)`.
		///
		/// Emits [`Event::DidLinked`]. Errors: [`Error::NotOperator`],
		/// [`Error::DidAlreadyLinked`], [`Error::LinkNotValidNow`], [`Error::UnknownDid`],
		/// [`Error::BadDidSignature`], [`Error::DidTaken`].
		#[pallet::call_index(13)]
		#[pallet::weight(<T as Config>::WeightInfo::link_did())]
		pub fn link_did(
			origin: OriginFor<T>,
			did: DidId,
			valid_until: BlockNumberFor<T>,
			signature: DeviceSignature,
		) -> DispatchResult {
			let operator = ensure_signed(origin)?;
			ensure!(OperatorInfos::<T>::contains_key(&operator), Error::<T>::NotOperator);
			ensure!(!OperatorDids::<T>::contains_key(&operator), Error::<T>::DidAlreadyLinked);
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(
				valid_until >= now && valid_until <= now.saturating_add(MAX_LINK_VALIDITY.into()),
				Error::<T>::LinkNotValidNow
			);
			let (key, _) = <T as pallet_projects::Config>::Dids::authentication_key(&did)
				.ok_or(Error::<T>::UnknownDid)?;
			let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
			let hash = did_link_signing_hash(
				&H256::from_slice(genesis.as_ref()),
				&operator,
				&did,
				&valid_until,
			);
			ensure!(key.verify(&hash, &signature), Error::<T>::BadDidSignature);
			ensure!(!DidOperators::<T>::contains_key(did), Error::<T>::DidTaken);
			OperatorDids::<T>::insert(&operator, did);
			DidOperators::<T>::insert(did, &operator);
			Self::deposit_event(Event::DidLinked { operator, did });
			Ok(())
		}

		/// Takes `operator` out of `project`'s subnet (its seat bond unbonding, as when the
		/// owner removes it) when the project admits by credential and the operator's no
		/// longer holds (revoked, suspended, its issuer or the operator's DID deactivated,
		/// or its DID unlinked). Anyone may call it.
		///
		/// - Origin: signed, any account.
		///
		/// Emits [`Event::OperatorRemoved`] (reason `CredentialLost`). Errors:
		/// [`Error::CredentialHolds`] (also for a project that does not admit by
		/// credential), [`Error::NotMember`].
		#[pallet::call_index(14)]
		#[pallet::weight(<T as Config>::WeightInfo::remove_uncredentialed())]
		pub fn remove_uncredentialed(
			origin: OriginFor<T>,
			project: ProjectId,
			operator: T::AccountId,
		) -> DispatchResult {
			ensure_signed(origin)?;
			let AdmissionPolicy::Credential { credential, .. } = Self::admission_policy(project)
			else {
				return Err(Error::<T>::CredentialHolds.into());
			};
			ensure!(!Self::holds_credential(&operator, &credential), Error::<T>::CredentialHolds);
			Self::remove(project, &operator, RemovalReason::CredentialLost)?;
			Ok(())
		}

		/// Releases the bond of the caller's seat in `project` given up at least
		/// [`Config::UnbondingPeriod`] blocks ago.
		///
		/// - Origin: signed by the seat's operator.
		///
		/// Emits [`Event::SeatWithdrawn`]. Errors: [`Error::NoSeat`] (no seat given up in
		/// this subnet), [`Error::NothingToWithdraw`] (still unbonding).
		#[pallet::call_index(12)]
		#[pallet::weight(<T as Config>::WeightInfo::withdraw_seat())]
		pub fn withdraw_seat(origin: OriginFor<T>, project: ProjectId) -> DispatchResult {
			let operator = ensure_signed(origin)?;
			let seat = Seats::<T>::get(project, &operator).ok_or(Error::<T>::NoSeat)?;
			let SeatStatus::Leaving { unlock_at } = seat.status else {
				return Err(Error::<T>::NoSeat.into());
			};
			ensure!(
				unlock_at <= frame_system::Pallet::<T>::block_number(),
				Error::<T>::NothingToWithdraw
			);
			Self::release_seat(project, operator, seat);
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	/// Whether `operator` linked an active DID that holds an active credential `policy`
	/// accepts.
	pub fn holds_credential(operator: &T::AccountId, policy: &CredentialPolicy) -> bool {
		OperatorDids::<T>::get(operator).is_some_and(|did| {
			<T as pallet_projects::Config>::Dids::authentication_key(&did).is_some()
				&& policy
					.active_credential::<_, <T as pallet_projects::Config>::Credentials>(&did)
					.is_some()
		})
	}

	/// Who may take a seat in `project`'s subnet: the owner's policy, or open at
	/// [`Config::MinSeatBond`] per seat.
	pub fn admission_policy(project: ProjectId) -> AdmissionPolicy<BalanceOf<T>> {
		Admissions::<T>::get(project)
			.unwrap_or(AdmissionPolicy::Open { bond_per_seat: T::MinSeatBond::get() })
	}

	/// `operator`'s seat in `project`'s subnet, if it holds one.
	pub fn seat(project: ProjectId, operator: &T::AccountId) -> Option<SeatOf<T>> {
		Seats::<T>::get(project, operator)
	}

	/// Takes `operator` out of `project`'s subnet (or turns its application down) for
	/// `reason`, keeping a member's seat bond held for the unbonding period. Emits
	/// [`Event::OperatorRemoved`].
	pub fn remove(
		project: ProjectId,
		operator: &T::AccountId,
		reason: RemovalReason,
	) -> Result<(), Error<T>> {
		Self::vacate(project, operator)?;
		Self::deposit_event(Event::OperatorRemoved { project, operator: operator.clone(), reason });
		Ok(())
	}

	/// Takes member `operator` out of `project`'s subnet, its seat bond unbonding
	/// (`Some` subnet size), or releases an applicant's bond at once (`None`).
	fn vacate(project: ProjectId, operator: &T::AccountId) -> Result<Option<u32>, Error<T>> {
		let seat = Seats::<T>::get(project, operator).ok_or(Error::<T>::NotMember)?;
		match seat.status {
			SeatStatus::Member => Ok(Some(Self::give_up_seat(project, operator, seat))),
			SeatStatus::Applied => {
				Self::release_seat(project, operator.clone(), seat);
				Ok(None)
			}
			SeatStatus::Leaving { .. } => Err(Error::<T>::NotMember),
		}
	}

	/// Takes the bond of `operator`'s seat in `project` (member, applicant or still
	/// unbonding) into the chain's [`Config::Treasury`] and the seat away; a member leaves
	/// the subnet for `reason`. Not into the project's reward pool: its owner may withdraw
	/// that, and a slash must never pay whoever can provoke it (an owner controls its
	/// applets, a committer the bodies it serves). Returns the amount taken (zero when it
	/// holds no seat).
	pub fn slash_seat(
		project: ProjectId,
		operator: &T::AccountId,
		reason: RemovalReason,
	) -> BalanceOf<T> {
		let Some(seat) = Seats::<T>::take(project, operator) else { return Zero::zero() };
		if seat.status == SeatStatus::Member {
			Self::leave(project, operator);
			Self::deposit_event(Event::OperatorRemoved {
				project,
				operator: operator.clone(),
				reason,
			});
		}
		let amount = CurrencyOf::<T>::transfer_on_hold(
			&HoldReason::SeatBond.into(),
			operator,
			&T::Treasury::get(),
			seat.bond,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Force,
		)
		// The treasury cannot take less than the existential deposit: the bond is burnt
		// rather than left with the operator.
		.or_else(|_| {
			CurrencyOf::<T>::burn_held(
				&HoldReason::SeatBond.into(),
				operator,
				seat.bond,
				Precision::BestEffort,
				Fortitude::Force,
			)
		})
		.unwrap_or_default();
		Self::deposit_event(Event::SeatSlashed { project, operator: operator.clone(), amount });
		amount
	}

	/// Puts `operator` (whose seat is already a member's) in `project`'s subnet.
	fn add_member(project: ProjectId, operator: T::AccountId) -> sp_runtime::DispatchResult {
		Self::mutate_operator(&operator, |info| {
			info.subnets.try_push(project).map_err(|_| Error::<T>::TooManySubnets)?;
			Ok(())
		})?;
		let size = Subnets::<T>::try_mutate(project, |members| {
			members.try_push(operator.clone()).map_err(|_| Error::<T>::SubnetFull)?;
			Ok::<_, Error<T>>(members.len() as u32)
		})?;
		Self::deposit_event(Event::SubnetJoined { project, operator, size });
		pallet_projects::Pallet::<T>::subnet_changed(project, size);
		Ok(())
	}

	/// Takes member `operator` out of `project`'s subnet; returns the subnet's size.
	fn leave(project: ProjectId, operator: &T::AccountId) -> u32 {
		OperatorInfos::<T>::mutate(operator, |info| {
			if let Some(info) = info {
				info.subnets.retain(|p| *p != project);
			}
		});
		let size = Subnets::<T>::mutate(project, |members| {
			members.retain(|m| m != operator);
			members.len() as u32
		});
		pallet_projects::Pallet::<T>::subnet_changed(project, size);
		size
	}

	/// Member `operator` gives up its seat: out of the subnet, the bond unbonding.
	/// Returns the subnet's size.
	fn give_up_seat(project: ProjectId, operator: &T::AccountId, mut seat: SeatOf<T>) -> u32 {
		let unlock_at =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		seat.status = SeatStatus::Leaving { unlock_at };
		Seats::<T>::insert(project, operator, seat);
		Self::leave(project, operator)
	}

	/// Releases a seat's bond and forgets the seat.
	fn release_seat(project: ProjectId, operator: T::AccountId, seat: SeatOf<T>) {
		Seats::<T>::remove(project, &operator);
		let amount = CurrencyOf::<T>::release(
			&HoldReason::SeatBond.into(),
			&operator,
			seat.bond,
			Precision::BestEffort,
		)
		.unwrap_or_default();
		Self::deposit_event(Event::SeatWithdrawn { project, operator, amount });
	}

	/// The account holding `project`'s reward pool.
	pub fn reward_pool(project: ProjectId) -> T::AccountId {
		T::PalletId::get().into_sub_account_truncating(project)
	}

	/// Pays each of `operators` its share of `project`'s reward for batch `batch_seq`:
	/// `reward_per_batch / subnet_size`, the subnet being the one the batch was
	/// committed to. An operator the pool cannot pay is reported with
	/// [`Event::RewardPoolExhausted`]; payment never fails the caller.
	pub fn pay_rewards(
		project: ProjectId,
		batch_seq: u64,
		operators: &[T::AccountId],
		subnet_size: u32,
	) {
		let Some(info) = pallet_projects::ProjectInfos::<T>::get(project) else { return };
		let share = info.config.reward_per_batch / BalanceOf::<T>::from(subnet_size.max(1));
		if share.is_zero() || operators.is_empty() {
			return;
		}
		let pool = Self::reward_pool(project);
		let mut paid = 0u32;
		for operator in operators {
			match CurrencyOf::<T>::transfer(&pool, operator, share, Preservation::Expendable) {
				Ok(_) => paid += 1,
				Err(_) => Self::deposit_event(Event::RewardPoolExhausted {
					project,
					batch_seq,
					operator: operator.clone(),
				}),
			}
		}
		if paid > 0 {
			Self::deposit_event(Event::RewardsPaid {
				project,
				batch_seq,
				operators: paid,
				amount_each: share,
			});
		}
	}

	/// What `project`'s reward pool can pay out.
	pub fn reward_pool_balance(project: ProjectId) -> BalanceOf<T> {
		CurrencyOf::<T>::reducible_balance(
			&Self::reward_pool(project),
			Preservation::Expendable,
			Fortitude::Polite,
		)
	}

	fn ensure_project_owner(project: ProjectId, who: &T::AccountId) -> Result<(), Error<T>> {
		let info =
			pallet_projects::ProjectInfos::<T>::get(project).ok_or(Error::<T>::UnknownProject)?;
		frame_support::ensure!(&info.owner == who, Error::<T>::NotProjectOwner);
		Ok(())
	}

	fn mutate_operator<R>(
		operator: &T::AccountId,
		f: impl FnOnce(&mut OperatorOf<T>) -> Result<R, sp_runtime::DispatchError>,
	) -> Result<R, sp_runtime::DispatchError> {
		OperatorInfos::<T>::try_mutate(operator, |info| {
			f(info.as_mut().ok_or(Error::<T>::NotOperator)?)
		})
	}
}

impl<T: Config> SubnetInspect<T::AccountId> for Pallet<T> {
	fn subnet_size(project: ProjectId) -> u32 {
		Subnets::<T>::decode_len(project).unwrap_or(0) as u32
	}
	fn is_member(project: ProjectId, who: &T::AccountId) -> bool {
		Subnets::<T>::get(project).contains(who)
	}
	fn members(project: ProjectId) -> Vec<T::AccountId> {
		Subnets::<T>::get(project).into_inner()
	}
}
