//! # Inbound Pallet
//!
//! Blockchain events as applet input: the logs of EVM contracts become events of a
//! project once a quorum of its subnet observed them.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s, the [`Event`]s and the
//! [`Error`]s.
//!
//! ## Overview
//!
//! A project's owner subscribes the project to the logs of one contract on one EVM chain
//! ([`Pallet::subscribe`]: chain id, contract, topic filter, confirmation depth, blocks
//! per range, the event type the logs get), from a given EVM block on. The chain keeps
//! a cursor per subscription ([`Cursors`]): the first EVM block not fully observed yet
//! and the first log index in it still to observe.
//!
//! Each operator of the subnet whose node watches that chain reads the logs of the range
//! starting at the cursor once all of it is `confirmations` deep, and votes what it saw
//! ([`Pallet::observe`]): the range's end and every matching log with its block hash,
//! transaction, index, topics and data ([`Observation`], cut by
//! [`w3b_primitives::inbound::cut_range`] when it holds more logs than one batch may:
//! to whole blocks, or inside a block holding more, whose rest the next range takes).
//! As soon as [`quorum`]`(subnet size)` members (at least 2/3) voted the same
//! observation, it is accepted: its logs become a batch of the project made on chain
//! (`pallet_commitments::Pallet::commit_on_chain`), numbered among the project's
//! batches, which every operator executes like any other; the cursor moves past the
//! range; the votes and the candidates are dropped.
//!
//! So every operator executes the same logs in the same place of the project's history,
//! whatever its own EVM endpoint returns; a minority of the subnet whose endpoints lie
//! can neither add a log (its observation never reaches a quorum) nor hide one (the
//! honest quorum's observation holds it). A log that a deeper reorg than the
//! confirmations moved makes honest operators disagree until their endpoints agree
//! again: an operator may change its vote while the range is open.
//!
//! Votes pay their transaction fee. A vote for a range already accepted (a member whose
//! vote arrived after the quorum) does nothing and succeeds, so an honest node's late
//! vote is never an error.

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

use frame_support::{
	ensure,
	traits::{Get, UnixTime},
};
use sp_core::H256;
use w3b_primitives::{
	inbound::{
		batch_body, Cursor, Observation, Subscription, LOG_EVENT_PREFIX, MAX_CONFIRMATIONS,
		MAX_RANGE_BLOCKS, MAX_SUBSCRIPTIONS,
	},
	operator::MaxSubnetSize,
	proof::quorum,
	traits::SubnetInspect,
	ProjectId,
};

/// Index of a subscription within its project.
pub type SubscriptionId = u32;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the pallet.
	#[pallet::config]
	pub trait Config:
		frame_system::Config<RuntimeEvent: From<Event<Self>>> + pallet_commitments::Config
	{
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Each project's subscriptions, by id.
	#[pallet::storage]
	pub type Subscriptions<T> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		ProjectId,
		Twox64Concat,
		SubscriptionId,
		Subscription,
	>;

	/// The id the project's next subscription gets (ids are never reused, so a vote for
	/// a removed subscription never counts for a new one).
	#[pallet::storage]
	pub type NextSubscriptionId<T> =
		StorageMap<_, Blake2_128Concat, ProjectId, SubscriptionId, ValueQuery>;

	/// Each subscription's cursor, where the open range starts: the first EVM block not
	/// fully observed yet and the first log index in it still to observe.
	#[pallet::storage]
	pub type Cursors<T> =
		StorageDoubleMap<_, Blake2_128Concat, ProjectId, Twox64Concat, SubscriptionId, Cursor>;

	/// The votes on each subscription's open range: voter and the hash of the observation
	/// it voted, in the order they voted (one per voter; a new vote replaces the voter's
	/// earlier one).
	#[pallet::storage]
	pub type Votes<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		(ProjectId, SubscriptionId),
		BoundedVec<(T::AccountId, H256), MaxSubnetSize>,
		ValueQuery,
	>;

	/// The observations voted on each subscription's open range, by hash.
	#[pallet::storage]
	pub type Candidates<T> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		(ProjectId, SubscriptionId),
		Identity,
		H256,
		Observation,
	>;

	/// Events of this pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// The project now takes the logs its subscription names, from `from_block` on.
		Subscribed {
			/// The project.
			project: ProjectId,
			/// The subscription's id.
			id: SubscriptionId,
			/// The first EVM block observed.
			from_block: u64,
		},
		/// A subscription was removed, with the votes on its open range.
		Unsubscribed {
			/// The project.
			project: ProjectId,
			/// The subscription's id.
			id: SubscriptionId,
		},
		/// A member voted what it saw in a subscription's open range.
		Observed {
			/// The project.
			project: ProjectId,
			/// The subscription.
			id: SubscriptionId,
			/// The voter.
			who: T::AccountId,
			/// The hash of the observation it voted.
			observation: H256,
		},
		/// A quorum of the subnet agreed on a range: its logs are a batch of the project.
		RangeAccepted {
			/// The project.
			project: ProjectId,
			/// The subscription.
			id: SubscriptionId,
			/// Where the range started.
			from: Cursor,
			/// Last EVM block of the range.
			to_block: u64,
			/// Logs taken.
			logs: u32,
			/// Where the next range starts: inside `to_block` when it held more logs than
			/// an observation does.
			next: Cursor,
			/// The batch they became (`None` for a range without logs).
			batch_seq: Option<u64>,
		},
	}

	/// Errors of this pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// No project has this id.
		UnknownProject,
		/// Only the project's owner may change its subscriptions.
		NotOwner,
		/// The project is closed.
		ProjectClosed,
		/// The project has [`MAX_SUBSCRIPTIONS`] subscriptions already.
		TooManySubscriptions,
		/// A chain id of 0, the zero contract address, an event type that is not `evm:`
		/// and a name ([`LOG_EVENT_PREFIX`]), 0 or more than
		/// [`MAX_RANGE_BLOCKS`] blocks per range, or more than [`MAX_CONFIRMATIONS`]
		/// confirmations.
		InvalidSubscription,
		/// The project has no subscription with this id.
		UnknownSubscription,
		/// The caller is not in the project's subnet.
		NotSubnetMember,
		/// The project is not Active: its logs would not run.
		ProjectNotActive,
		/// The observation does not start at the subscription's cursor, or is not well
		/// formed: it ends before it starts or past the range, holds logs outside it or out
		/// of (block, index) order or before the cursor, or is `partial` without a full
		/// observation's worth of logs all in its last block.
		MalformedObservation,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Subscribes `project` to the logs `subscription` names, from EVM block
		/// `from_block` on.
		///
		/// - Origin: signed by the project's owner; the project not closed.
		/// - `subscription`: chain id not 0, contract not the zero address, event type
		///   `evm:` and a name (no device may send such an event type), 1 to [`MAX_RANGE_BLOCKS`] blocks per range, at most
		///   [`MAX_CONFIRMATIONS`] confirmations; at most [`MAX_SUBSCRIPTIONS`] per project.
		///
		/// Emits [`Event::Subscribed`] with the new id. Errors: [`Error::UnknownProject`],
		/// [`Error::NotOwner`], [`Error::ProjectClosed`], [`Error::InvalidSubscription`],
		/// [`Error::TooManySubscriptions`].
		#[pallet::call_index(0)]
		#[pallet::weight(<T as Config>::WeightInfo::subscribe())]
		pub fn subscribe(
			origin: OriginFor<T>,
			project: ProjectId,
			subscription: Subscription,
			from_block: u64,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_owner(project, &who)?;
			ensure!(
				subscription.chain_id != 0
					&& !subscription.contract.is_zero()
					&& subscription.event_type.len() > LOG_EVENT_PREFIX.len()
					&& subscription.event_type.starts_with(LOG_EVENT_PREFIX)
					&& (1..=MAX_RANGE_BLOCKS).contains(&subscription.blocks_per_range)
					&& subscription.confirmations <= MAX_CONFIRMATIONS,
				Error::<T>::InvalidSubscription
			);
			ensure!(
				(Subscriptions::<T>::iter_prefix(project).count() as u32) < MAX_SUBSCRIPTIONS,
				Error::<T>::TooManySubscriptions
			);
			let id = NextSubscriptionId::<T>::get(project);
			NextSubscriptionId::<T>::insert(project, id + 1);
			Subscriptions::<T>::insert(project, id, subscription);
			Cursors::<T>::insert(project, id, Cursor::at_block(from_block));
			Self::deposit_event(Event::Subscribed { project, id, from_block });
			Ok(())
		}

		/// Removes subscription `id` of `project`, with the votes on its open range.
		///
		/// - Origin: signed by the project's owner (closed projects included).
		///
		/// Emits [`Event::Unsubscribed`]. Errors: [`Error::UnknownProject`],
		/// [`Error::NotOwner`], [`Error::UnknownSubscription`].
		#[pallet::call_index(1)]
		#[pallet::weight(<T as Config>::WeightInfo::unsubscribe())]
		pub fn unsubscribe(
			origin: OriginFor<T>,
			project: ProjectId,
			id: SubscriptionId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let info = pallet_projects::ProjectInfos::<T>::get(project)
				.ok_or(Error::<T>::UnknownProject)?;
			ensure!(info.owner == who, Error::<T>::NotOwner);
			ensure!(Subscriptions::<T>::contains_key(project, id), Error::<T>::UnknownSubscription);
			Subscriptions::<T>::remove(project, id);
			Cursors::<T>::remove(project, id);
			Self::close_range(project, id);
			Self::deposit_event(Event::Unsubscribed { project, id });
			Ok(())
		}

		/// Votes `observation` for the open range of subscription `id` of `project`; when
		/// it completes a quorum of the subnet, accepts it: its logs become the project's
		/// next batch (made on chain, credited to the caller) and the cursor moves past
		/// the range.
		///
		/// - Origin: signed by a member of the project's subnet; the project Active.
		/// - `observation`: starts at the cursor, well formed
		///   ([`Observation::is_well_formed`]). One starting before the cursor (a range
		///   accepted meanwhile) is taken as a late vote: nothing happens and the call
		///   succeeds.
		/// - A member's second vote on the range replaces its first.
		///
		/// Emits [`Event::Observed`], and [`Event::RangeAccepted`] (with the commitments
		/// pallet's `BatchCommitted` when the range has logs) on a quorum. Errors:
		/// [`Error::UnknownProject`], [`Error::ProjectNotActive`],
		/// [`Error::UnknownSubscription`], [`Error::NotSubnetMember`],
		/// [`Error::MalformedObservation`], or the commitments pallet's error when the
		/// batch cannot be committed (the vote is then not recorded either).
		///
		/// ## Complexity
		/// Hashing the observation (at most [`w3b_primitives::inbound::MAX_RANGE_LOGS`]
		/// logs of at most 1 KiB of data) and a pass over the range's votes (at most the
		/// subnet's 64 members); on a quorum, building the batch's body and Merkle tree.
		#[pallet::call_index(2)]
		#[pallet::weight(<T as Config>::WeightInfo::observe())]
		pub fn observe(
			origin: OriginFor<T>,
			project: ProjectId,
			id: SubscriptionId,
			observation: Observation,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			match pallet_projects::Pallet::<T>::status(project) {
				None => return Err(Error::<T>::UnknownProject.into()),
				Some(status) => ensure!(status.is_processing(), Error::<T>::ProjectNotActive),
			}
			let subscription =
				Subscriptions::<T>::get(project, id).ok_or(Error::<T>::UnknownSubscription)?;
			ensure!(
				pallet_operators::Pallet::<T>::is_member(project, &who),
				Error::<T>::NotSubnetMember
			);
			let cursor = Cursors::<T>::get(project, id).unwrap_or_default();
			if observation.from < cursor {
				return Ok(());
			}
			ensure!(
				observation.is_well_formed(cursor, subscription.blocks_per_range),
				Error::<T>::MalformedObservation
			);
			let hash = observation.hash();
			let key = (project, id);
			let mut votes = Votes::<T>::get(key);
			// Votes of those who left the subnet no longer count, and make room.
			votes.retain(|(voter, _)| {
				*voter != who && pallet_operators::Pallet::<T>::is_member(project, voter)
			});
			votes.try_push((who.clone(), hash)).map_err(|_| Error::<T>::NotSubnetMember)?;
			Self::deposit_event(Event::Observed {
				project,
				id,
				who: who.clone(),
				observation: hash,
			});
			let agreeing = votes.iter().filter(|(_, voted)| *voted == hash).count() as u32;
			let subnet_size = pallet_operators::Pallet::<T>::subnet_size(project);
			if agreeing >= quorum(subnet_size) {
				return Self::accept(project, id, &subscription, observation, who);
			}
			// Candidates nobody votes for any more go.
			let orphans: alloc::vec::Vec<H256> = Candidates::<T>::iter_key_prefix(key)
				.filter(|candidate| !votes.iter().any(|(_, voted)| voted == candidate))
				.collect();
			for candidate in orphans {
				Candidates::<T>::remove(key, candidate);
			}
			if !Candidates::<T>::contains_key(key, hash) {
				Candidates::<T>::insert(key, hash, observation);
			}
			Votes::<T>::insert(key, votes);
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	fn ensure_owner(project: ProjectId, who: &T::AccountId) -> Result<(), Error<T>> {
		let info =
			pallet_projects::ProjectInfos::<T>::get(project).ok_or(Error::<T>::UnknownProject)?;
		ensure!(info.owner == *who, Error::<T>::NotOwner);
		ensure!(info.status != w3b_primitives::ProjectStatus::Closed, Error::<T>::ProjectClosed);
		Ok(())
	}

	/// Accepts `observation` for subscription `id` of `project`, by `who`'s vote.
	fn accept(
		project: ProjectId,
		id: SubscriptionId,
		subscription: &Subscription,
		observation: Observation,
		who: T::AccountId,
	) -> frame_support::dispatch::DispatchResult {
		let batch_seq = if observation.logs.is_empty() {
			None
		} else {
			let accepted_ms = <T as pallet_commitments::Config>::Time::now().as_millis() as u64;
			let batch = batch_body(project, subscription, &observation, accepted_ms);
			Some(pallet_commitments::Pallet::<T>::commit_on_chain(
				project,
				who,
				batch.body,
				batch.merkle_root,
				batch.count,
			)?)
		};
		let next = observation.next_cursor();
		Cursors::<T>::insert(project, id, next);
		Self::close_range(project, id);
		Self::deposit_event(Event::RangeAccepted {
			project,
			id,
			from: observation.from,
			to_block: observation.to_block,
			logs: observation.logs.len() as u32,
			next,
			batch_seq,
		});
		Ok(())
	}

	/// Drops the votes and candidates of the open range of subscription `id`.
	fn close_range(project: ProjectId, id: SubscriptionId) {
		Votes::<T>::remove((project, id));
		let _ = Candidates::<T>::clear_prefix((project, id), MaxSubnetSize::get(), None);
	}

	/// The subscriptions of `project` with their cursors.
	pub fn subscriptions(
		project: ProjectId,
	) -> alloc::vec::Vec<(SubscriptionId, Subscription, Cursor)> {
		Subscriptions::<T>::iter_prefix(project)
			.map(|(id, subscription)| {
				(id, subscription, Cursors::<T>::get(project, id).unwrap_or_default())
			})
			.collect()
	}

	/// The hash of the observation `who` voted on the open range of subscription `id`.
	pub fn vote_of(project: ProjectId, id: SubscriptionId, who: &T::AccountId) -> Option<H256> {
		Votes::<T>::get((project, id)).into_iter().find(|(voter, _)| voter == who).map(|(_, h)| h)
	}
}
