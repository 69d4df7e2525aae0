//! # Commitments Pallet
//!
//! Data commitment: the Merkle roots of the batches of device messages each project's
//! operators seal.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s, the [`Event`]s and the
//! [`Error`]s.
//!
//! ## Overview
//!
//! Each block interval an operator of an Active project's subnet seals the messages it
//! received into a batch (stored off chain under a CID) and calls
//! [`Pallet::commit_batch`] with the batch's Merkle root over message hashes, its message
//! count, size and CID. The chain numbers each project's batches from 0 without gaps, in
//! the order it includes them, so that several operators ingesting for one project can
//! commit in the same block without racing for a number. A Merkle root the same operator
//! already committed for the project is refused ([`RootSeqs`]), so an operator that
//! resubmits a batch after a restart never commits it twice; once that batch's proof
//! expired, the operator may commit it again (its messages never counted, and what the
//! operator acknowledged must not be lost). Roots are told apart per
//! committer: a member that copies another's root from the transaction pool and commits
//! it first only commits a batch of its own, it never blocks the honest commitment. A
//! batch holds at most [`MAX_BATCH_MESSAGES`] messages and [`MAX_BATCH_BYTES`] bytes. A
//! commitment opens the batch's attestation round ([`Config::Observer`]), whose votes
//! are free: the committer pays for them up front, [`Config::VoteFee`] per member of
//! the subnet (burnt with the commitment's own fee), so members of a project cannot fill
//! blocks with free votes on junk batches of their own.
//!
//! Anyone can name a committer who sealed a message that could never count
//! ([`Pallet::report_invalid_batch`]): evidence of a message of a batch in the window,
//! with its inclusion proof against the committed root, that the rules of
//! [`w3b_primitives::validity`] refuse as of the commitment for a reason that is the
//! committer's fault (unknown or revoked device, bad signature, oversized, timestamp out
//! of the window, wrong project), or of one message at two positions of the batch. The
//! first accepted report of a batch is kept ([`Reports`]) and is free; a refused report
//! pays its fee. The committer loses its seat in the project and the seat's bond, which
//! goes to the chain's treasury (`pallet_operators::Pallet::slash_seat`).
//!
//! Another pallet may commit a batch whose body it made on chain ([`Pallet::commit_on_chain`]:
//! the EVM logs a quorum of the subnet observed, from `pallets/inbound`). Its body is
//! kept in [`OnChainBodies`] with its header, so every operator reads it from the chain;
//! no operator sealed it, so no report can be made against it.
//!
//! Commitment headers are kept as a window per project: at most
//! [`Config::CommitmentWindow`] batches, fewer when the project's retention policy
//! (maximum age, maximum bytes) says its data may go. Older batches are pruned a few at
//! a time on later commitments ([`Config::MaxPrunePerCommit`]), and only once their
//! proof is settled. Nothing of a pruned batch stays in the state (its header, its
//! entry in [`RootSeqs`], its report, its proof and round), so the chain's state grows
//! with the window, not with its history: a message of a pruned batch is proven against
//! the chain's state at an earlier block (an archive node) or its `BatchCommitted`
//! event.

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

use frame_support::traits::{
	fungible::Mutate,
	tokens::{Fortitude, Precision, Preservation},
	Get, UnixTime,
};
use frame_support::{
	ensure,
	pallet_prelude::{BoundedVec, ConstU32, DispatchError},
};
use pallet_projects::BalanceOf;
use sp_core::H256;
use sp_runtime::traits::Saturating;
use w3b_primitives::{
	batch::{is_body_cid, BODY_CID_PREFIX, MAX_BATCH_BYTES, MAX_BATCH_MESSAGES},
	merkle::verify_proof,
	message::signed_message_hash,
	operator::RemovalReason,
	proof::Commitment,
	traits::{BatchObserver, BatchWindow, ProofInspect, SubnetInspect},
	validity::{self, Context, Evidence, Invalid},
	BatchHeader, Cid, ProjectId,
};

/// Largest body a batch made on chain may have, in bytes.
pub const MAX_ON_CHAIN_BODY: u32 = 128 * 1024;

/// A commitment as this runtime stores it.
pub type CommitmentOf<T> = Commitment<
	<T as frame_system::Config>::AccountId,
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
	pub trait Config:
		frame_system::Config<RuntimeEvent: From<Event<Self>>> + pallet_operators::Config
	{
		/// Wall-clock time of the current block (retention by age).
		type Time: UnixTime;
		/// Most batches whose header is kept per project.
		#[pallet::constant]
		type CommitmentWindow: Get<u32>;
		/// Most old batches pruned by one commitment.
		#[pallet::constant]
		type MaxPrunePerCommit: Get<u32>;
		/// Opens attestation rounds and forgets pruned batches.
		type Observer: BatchObserver;
		/// Tells which batches' proofs are settled (only those are pruned).
		type Proofs: ProofInspect;
		/// Paid by a committer for each voter of its batch's round (the subnet's members):
		/// what a vote would cost in fees, were votes not free. Burnt.
		#[pallet::constant]
		type VoteFee: Get<BalanceOf<Self>>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// The number each project's next batch must have.
	#[pallet::storage]
	pub type NextBatchSeq<T> = StorageMap<_, Blake2_128Concat, ProjectId, u64, ValueQuery>;

	/// The oldest batch of each project whose header is still kept.
	#[pallet::storage]
	pub type OldestRetained<T> = StorageMap<_, Blake2_128Concat, ProjectId, u64, ValueQuery>;

	/// Total size of each project's retained batches, in bytes.
	#[pallet::storage]
	pub type RetainedBytes<T> = StorageMap<_, Blake2_128Concat, ProjectId, u64, ValueQuery>;

	/// Commitments in the window, by project and batch number.
	#[pallet::storage]
	pub type Batches<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, ProjectId, Twox64Concat, u64, CommitmentOf<T>>;

	/// The batch number of each Merkle root in the window, per project and committer: a
	/// batch its committer resubmits after a crash is recognised and refused. Keyed by
	/// committer too, so a root copied by another member never blocks its author. Pruned
	/// with the batch (a batch resubmitted after that long is committed again, and its
	/// messages are replays the devices' replay windows refuse).
	#[pallet::storage]
	pub type RootSeqs<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		ProjectId,
		Blake2_128Concat,
		(T::AccountId, H256),
		u64,
	>;

	/// The bodies of the batches in the window that were made on chain
	/// ([`Pallet::commit_on_chain`]), SCALE encoded as any batch body.
	#[pallet::storage]
	pub type OnChainBodies<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		ProjectId,
		Twox64Concat,
		u64,
		BoundedVec<u8, ConstU32<MAX_ON_CHAIN_BODY>>,
	>;

	/// The accepted report against each batch in the window: reporter, the hash of the
	/// message shown and why it could never count. Set by
	/// [`Pallet::report_invalid_batch`] (one per batch), removed when the batch is pruned.
	#[pallet::storage]
	pub type Reports<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		ProjectId,
		Twox64Concat,
		u64,
		(T::AccountId, H256, Invalid),
	>;

	/// Events of this pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A batch was committed and its attestation round opened.
		BatchCommitted {
			/// The project.
			project: ProjectId,
			/// The batch number.
			seq: u64,
			/// Merkle root over its message hashes.
			merkle_root: H256,
			/// Number of messages.
			count: u32,
			/// Size of the body in bytes.
			bytes: u64,
			/// Where the body is stored.
			cid: Cid,
			/// The operator that committed it.
			committer: T::AccountId,
		},
		/// A batch left the window: nothing of it stays in the state.
		BatchPruned {
			/// The project.
			project: ProjectId,
			/// The batch number.
			seq: u64,
		},
		/// Evidence showed that a committed batch holds a message that could never count.
		InvalidBatchReported {
			/// The project.
			project: ProjectId,
			/// The batch number.
			batch_seq: u64,
			/// The operator that committed the batch.
			committer: T::AccountId,
			/// Who brought the evidence.
			reporter: T::AccountId,
			/// The hash of the message shown.
			message_hash: H256,
			/// Why it could never count.
			reason: Invalid,
		},
	}

	/// Errors of this pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// No project has this id.
		UnknownProject,
		/// The project is not Active (Pending, Paused or Closed).
		ProjectNotActive,
		/// The caller is not in the project's subnet.
		NotSubnetMember,
		/// The caller cannot pay [`Config::VoteFee`] for each voter of the batch's round
		/// (keeping its account alive).
		CannotPayVotes,
		/// The caller already committed a batch with this Merkle root for the project, and
		/// its proof did not expire.
		BatchAlreadyCommitted,
		/// A batch has at least one message and its body at least one byte.
		EmptyBatch,
		/// The batch has more than [`MAX_BATCH_MESSAGES`] messages or more than
		/// [`MAX_BATCH_BYTES`] bytes.
		BatchTooLarge,
		/// The CID is not that of a batch body: a CIDv1 of the raw codec with a sha2-256
		/// digest ([`w3b_primitives::batch::BODY_CID_PREFIX`] and 32 bytes).
		InvalidCid,
		/// No batch in the commitment window has this number.
		UnknownBatch,
		/// The batch was already reported.
		AlreadyReported,
		/// The project was closed more than its pallet's `DeviceRemovalDelay` ago: its
		/// devices' records may be gone, so evidence against its batches is no longer
		/// taken.
		EvidenceTooLate,
		/// The evidence does not hold: an inclusion proof does not verify against the
		/// batch's root and count, or the two positions of a duplicate are the same.
		BadEvidence,
		/// The evidence shows no fault the chain can pin on the committer: the message counts
		/// as of the commitment, or it does not for a reason that is not the committer's
		/// (a revocation or a timestamp window passed before inclusion, a replay), or its
		/// signature is bad (the Merkle leaves do not bind signatures, so a proof holds for
		/// any signature).
		MessageValid,
		/// The message's device is registered by a DID whose authentication key changed
		/// within a day before the commitment or since: a bad signature may be a key the
		/// DID held when the committer took the message, so it proves no fault.
		SignatureNotJudged,
		/// The batch was made on chain from what a quorum of the subnet observed: no
		/// operator sealed it.
		MadeOnChain,
		/// A body made on chain is larger than [`MAX_ON_CHAIN_BODY`] bytes.
		OnChainBodyTooLarge,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Commits the next batch of `project` and opens its attestation round; prunes up to
		/// [`Config::MaxPrunePerCommit`] old settled batches the window or the retention
		/// policy no longer keeps.
		///
		/// - Origin: signed by an operator in the project's subnet.
		/// - `merkle_root`: [`w3b_primitives::merkle::merkle_root`] over the message hashes
		///   in batch order, not committed before for the project by the caller; `count`
		///   messages, from 1 to [`MAX_BATCH_MESSAGES`]; `bytes` the body's size, from 1 to
		///   [`MAX_BATCH_BYTES`]; `cid` its CIDv1 (raw codec, sha2-256: see
		///   [`is_body_cid`]).
		/// - The batch gets the project's next number ([`NextBatchSeq`]), given in the event.
		/// - [`Config::VoteFee`] per member of the subnet is burnt from the caller: the
		///   round's votes are free.
		///
		/// Emits [`Event::BatchCommitted`] and [`Event::BatchPruned`] per pruned batch.
		/// Errors: [`Error::UnknownProject`], [`Error::ProjectNotActive`],
		/// [`Error::NotSubnetMember`], [`Error::BatchAlreadyCommitted`],
		/// [`Error::EmptyBatch`] (no message or no byte), [`Error::BatchTooLarge`],
		/// [`Error::InvalidCid`], [`Error::CannotPayVotes`], or the attestations pallet's
		/// error when the round cannot be opened.
		#[pallet::call_index(0)]
		#[pallet::weight(<T as Config>::WeightInfo::commit_batch(T::MaxPrunePerCommit::get()))]
		pub fn commit_batch(
			origin: OriginFor<T>,
			project: ProjectId,
			merkle_root: H256,
			count: u32,
			bytes: u64,
			cid: Cid,
		) -> DispatchResultWithPostInfo {
			let committer = ensure_signed(origin)?;
			match pallet_projects::Pallet::<T>::status(project) {
				None => return Err(Error::<T>::UnknownProject.into()),
				Some(status) => ensure!(status.is_processing(), Error::<T>::ProjectNotActive),
			}
			ensure!(
				pallet_operators::Pallet::<T>::is_member(project, &committer),
				Error::<T>::NotSubnetMember
			);
			let root_key = (committer.clone(), merkle_root);
			// Once more only when the earlier commitment expired: its messages never
			// counted, and the committer must not lose what it acknowledged.
			if let Some(earlier) = RootSeqs::<T>::get(project, &root_key) {
				ensure!(T::Proofs::is_expired(project, earlier), Error::<T>::BatchAlreadyCommitted);
			}
			ensure!(count > 0 && bytes > 0, Error::<T>::EmptyBatch);
			ensure!(
				count <= MAX_BATCH_MESSAGES && bytes <= MAX_BATCH_BYTES,
				Error::<T>::BatchTooLarge
			);
			ensure!(is_body_cid(&cid), Error::<T>::InvalidCid);

			let seq = NextBatchSeq::<T>::get(project);
			let header = BatchHeader { project, seq, merkle_root, count, bytes, cid };
			T::Observer::batch_committed(&header)?;
			let voters = pallet_operators::Pallet::<T>::subnet_size(project);
			let fee = T::VoteFee::get().saturating_mul(voters.into());
			<T as pallet_projects::Config>::Currency::burn_from(
				&committer,
				fee,
				Preservation::Preserve,
				Precision::Exact,
				Fortitude::Polite,
			)
			.map_err(|_| Error::<T>::CannotPayVotes)?;
			RootSeqs::<T>::insert(project, root_key, seq);
			Self::record(header, committer);
			let pruned = Self::prune(project);
			Ok(Some(<T as Config>::WeightInfo::commit_batch(pruned)).into())
		}

		/// Reports that batch `batch_seq` of `project` holds a message that could never
		/// count, naming its committer. The report is kept in [`Reports`] until the batch
		/// is pruned.
		///
		/// - Origin: signed by anyone. An accepted report is free; a refused one pays.
		/// - `evidence`: either [`Evidence::Invalid`], a message with its signature and the
		///   inclusion proof of both (the leaf is their [`signed_message_hash`]) against
		///   the batch's Merkle root and count, that [`validity::check`] refuses as of the
		///   commitment (its block and time, the device's record in the projects pallet)
		///   for a reason that is the committer's fault ([`Invalid::is_committer_fault`],
		///   a bad signature included); or [`Evidence::Duplicate`], one message hash with
		///   the signatures and inclusion proofs at two different positions of the batch
		///   (reason [`Invalid::Duplicate`]).
		///
		/// The committer's seat in the project is slashed: its bond goes to the chain's
		/// treasury and the committer leaves the subnet (a seat still unbonding is slashed
		/// as well).
		///
		/// Emits [`Event::InvalidBatchReported`] and the operators pallet's
		/// `SeatSlashed`. Errors: [`Error::UnknownBatch`] (not in the window),
		/// [`Error::AlreadyReported`], [`Error::BadEvidence`], [`Error::MessageValid`],
		/// [`Error::SignatureNotJudged`],
		/// [`Error::EvidenceTooLate`] (once a closed project's devices' records may go).
		///
		/// ## Complexity
		/// Hashing the message (at most [`validity::MAX_PAYLOAD`] bytes of payload), one
		/// or two inclusion proofs of at most `log2(MAX_BATCH_MESSAGES)` levels and one
		/// signature check.
		#[pallet::call_index(1)]
		#[pallet::weight(<T as Config>::WeightInfo::report_invalid_batch())]
		pub fn report_invalid_batch(
			origin: OriginFor<T>,
			project: ProjectId,
			batch_seq: u64,
			evidence: Evidence,
		) -> DispatchResultWithPostInfo {
			let reporter = ensure_signed(origin)?;
			if let Some(until) = pallet_projects::Pallet::<T>::devices_kept_until(project) {
				ensure!(
					frame_system::Pallet::<T>::block_number() <= until,
					Error::<T>::EvidenceTooLate
				);
			}
			let batch = Batches::<T>::get(project, batch_seq).ok_or(Error::<T>::UnknownBatch)?;
			ensure!(!Self::made_on_chain(project, batch_seq), Error::<T>::MadeOnChain);
			ensure!(!Reports::<T>::contains_key(project, batch_seq), Error::<T>::AlreadyReported);
			let (root, count) = (batch.header.merkle_root, batch.header.count);
			let (message_hash, reason) = match evidence {
				Evidence::Invalid { message, signature, proof } => {
					let message_hash = message.hash();
					let leaf = signed_message_hash(&message_hash, &signature);
					ensure!(verify_proof(&root, count, &leaf, &proof), Error::<T>::BadEvidence);
					let context = Context {
						project,
						committed_at: batch.committed_at,
						committed_at_ms: batch.committed_at_ms,
					};
					let device = pallet_projects::Pallet::<T>::device(project, message.device);
					let reason = validity::check(&context, &message, &signature, device.as_ref())
						.err()
						.filter(Invalid::is_committer_fault)
						.ok_or(Error::<T>::MessageValid)?;
					ensure!(
						reason != Invalid::BadSignature
							|| device.as_ref().is_some_and(|d| {
								pallet_projects::Pallet::<T>::signature_judged(
									d,
									batch.committed_at,
								)
							}),
						Error::<T>::SignatureNotJudged
					);
					(message_hash, reason)
				}
				Evidence::Duplicate { message_hash, first, second } => {
					let proven = |(signature, proof): &(_, _)| {
						let leaf = signed_message_hash(&message_hash, signature);
						verify_proof(&root, count, &leaf, proof)
					};
					ensure!(
						first.1.leaf_index != second.1.leaf_index
							&& proven(&first) && proven(&second),
						Error::<T>::BadEvidence
					);
					(message_hash, Invalid::Duplicate)
				}
			};
			Reports::<T>::insert(project, batch_seq, (reporter.clone(), message_hash, reason));
			// The committer answers with its seat: out of the subnet, its bond in the
			// treasury.
			pallet_operators::Pallet::<T>::slash_seat(
				project,
				&batch.committer,
				RemovalReason::InvalidBatch,
			);
			Self::deposit_event(Event::InvalidBatchReported {
				project,
				batch_seq,
				committer: batch.committer,
				reporter,
				message_hash,
				reason,
			});
			Ok(Pays::No.into())
		}
	}
}

impl<T: Config> BatchWindow<frame_system::pallet_prelude::BlockNumberFor<T>> for Pallet<T> {
	fn oldest_commitment(
		project: ProjectId,
	) -> Option<frame_system::pallet_prelude::BlockNumberFor<T>> {
		Batches::<T>::get(project, OldestRetained::<T>::get(project)).map(|b| b.committed_at)
	}
}

impl<T: Config> Pallet<T> {
	fn now_ms() -> u64 {
		T::Time::now().as_millis() as u64
	}

	/// Stores the commitment of `header`, numbered `header.seq` (the project's next),
	/// and tells it.
	fn record(header: BatchHeader, committer: T::AccountId) {
		let BatchHeader { project, seq, merkle_root, count, bytes, ref cid } = header;
		let cid = cid.clone();
		Batches::<T>::insert(
			project,
			seq,
			Commitment {
				header,
				committer: committer.clone(),
				committed_at: frame_system::Pallet::<T>::block_number(),
				committed_at_ms: Self::now_ms(),
			},
		);
		NextBatchSeq::<T>::insert(project, seq + 1);
		RetainedBytes::<T>::mutate(project, |total| *total = total.saturating_add(bytes));
		Self::deposit_event(Event::BatchCommitted {
			project,
			seq,
			merkle_root,
			count,
			bytes,
			cid,
			committer,
		});
	}

	/// Commits the next batch of `project` with a body made on chain (SCALE encoded as
	/// any batch body, `count` messages under `merkle_root`), kept in [`OnChainBodies`]
	/// while the batch is in the window, and opens its round. `committer` is the account
	/// the batch is credited to (whose transaction made it); it pays no vote fee: what
	/// made the body (a quorum's votes) was paid for. Prunes old batches as
	/// [`Pallet::commit_batch`] does. Returns the batch's number.
	///
	/// Errors: [`Error::UnknownProject`], [`Error::ProjectNotActive`],
	/// [`Error::EmptyBatch`], [`Error::BatchTooLarge`], [`Error::OnChainBodyTooLarge`], or
	/// the attestations pallet's error when the round cannot be opened. Nothing is
	/// written on an error.
	pub fn commit_on_chain(
		project: ProjectId,
		committer: T::AccountId,
		body: alloc::vec::Vec<u8>,
		merkle_root: H256,
		count: u32,
	) -> Result<u64, DispatchError> {
		match pallet_projects::Pallet::<T>::status(project) {
			None => return Err(Error::<T>::UnknownProject.into()),
			Some(status) => ensure!(status.is_processing(), Error::<T>::ProjectNotActive),
		}
		ensure!(count > 0 && !body.is_empty(), Error::<T>::EmptyBatch);
		ensure!(count <= MAX_BATCH_MESSAGES, Error::<T>::BatchTooLarge);
		let bytes = body.len() as u64;
		let body: BoundedVec<u8, ConstU32<MAX_ON_CHAIN_BODY>> =
			body.try_into().map_err(|_| Error::<T>::OnChainBodyTooLarge)?;
		let mut cid = BODY_CID_PREFIX.to_vec();
		cid.extend_from_slice(&sp_io::hashing::sha2_256(&body));
		let cid: Cid = cid.try_into().map_err(|_| Error::<T>::InvalidCid)?;
		let seq = NextBatchSeq::<T>::get(project);
		let header = BatchHeader { project, seq, merkle_root, count, bytes, cid };
		T::Observer::batch_committed(&header)?;
		OnChainBodies::<T>::insert(project, seq, body);
		Self::record(header, committer);
		Self::prune(project);
		Ok(seq)
	}

	/// Commits batch `seq` of `project`, made on chain, again as the project's next batch:
	/// the same body, Merkle root, count and committer. Its proof expired, and its messages
	/// (contract logs a quorum observed) exist nowhere but in its body, which pruning would
	/// drop; a device batch is sealed again from its committer's store instead.
	///
	/// Errors: [`Error::UnknownBatch`] if no batch made on chain has this number in the
	/// window, or [`Pallet::commit_on_chain`]'s.
	pub fn recommit_on_chain(project: ProjectId, seq: u64) -> Result<u64, DispatchError> {
		let body = OnChainBodies::<T>::get(project, seq).ok_or(Error::<T>::UnknownBatch)?;
		let batch = Batches::<T>::get(project, seq).ok_or(Error::<T>::UnknownBatch)?;
		Self::commit_on_chain(
			project,
			batch.committer,
			body.into_inner(),
			batch.header.merkle_root,
			batch.header.count,
		)
	}

	/// Whether batch `seq` of `project` was made on chain (and is in the window).
	pub fn made_on_chain(project: ProjectId, seq: u64) -> bool {
		OnChainBodies::<T>::contains_key(project, seq)
	}

	/// The body of batch `seq` of `project`, if it was made on chain and is in the window.
	pub fn on_chain_body(project: ProjectId, seq: u64) -> Option<alloc::vec::Vec<u8>> {
		OnChainBodies::<T>::get(project, seq).map(|body| body.into_inner())
	}

	/// Prunes the oldest settled batches of `project` that are outside the window or the
	/// retention policy, at most [`Config::MaxPrunePerCommit`]. Returns how many.
	fn prune(project: ProjectId) -> u32 {
		let retention = pallet_projects::ProjectInfos::<T>::get(project)
			.map(|info| info.config.retention)
			.unwrap_or_default();
		let next = NextBatchSeq::<T>::get(project);
		let now_ms = Self::now_ms();
		let mut oldest = OldestRetained::<T>::get(project);
		let mut bytes = RetainedBytes::<T>::get(project);
		let mut pruned = 0;
		while pruned < T::MaxPrunePerCommit::get() && oldest + 1 < next {
			let Some(batch) = Batches::<T>::get(project, oldest) else {
				oldest += 1;
				continue;
			};
			let over_window = next - oldest > u64::from(T::CommitmentWindow::get());
			let too_old = retention.max_age_secs > 0
				&& now_ms.saturating_sub(batch.committed_at_ms)
					> retention.max_age_secs.saturating_mul(1000);
			let too_big = retention.max_bytes > 0 && bytes > retention.max_bytes;
			if !(over_window || too_old || too_big) || !T::Proofs::is_settled(project, oldest) {
				break;
			}
			Batches::<T>::remove(project, oldest);
			Reports::<T>::remove(project, oldest);
			OnChainBodies::<T>::remove(project, oldest);
			let root_key = (batch.committer.clone(), batch.header.merkle_root);
			// A later commitment of the same root (after this one expired) owns the entry.
			if RootSeqs::<T>::get(project, &root_key) == Some(oldest) {
				RootSeqs::<T>::remove(project, root_key);
			}
			bytes = bytes.saturating_sub(batch.header.bytes);
			T::Observer::batch_pruned(project, oldest);
			Self::deposit_event(Event::BatchPruned { project, seq: oldest });
			oldest += 1;
			pruned += 1;
		}
		OldestRetained::<T>::insert(project, oldest);
		RetainedBytes::<T>::insert(project, bytes);
		pruned
	}

	/// A batch still in the window.
	pub fn batch(project: ProjectId, seq: u64) -> Option<CommitmentOf<T>> {
		Batches::<T>::get(project, seq)
	}

	/// The number of the batch of `project` that `committer` committed with Merkle root
	/// `root`, if any.
	pub fn batch_seq_of_root(
		project: ProjectId,
		committer: &T::AccountId,
		root: H256,
	) -> Option<u64> {
		RootSeqs::<T>::get(project, (committer.clone(), root))
	}

	/// The accepted report against batch `seq` of `project`, while the batch is in the
	/// window: reporter, message hash and reason.
	pub fn invalid_batch_report(
		project: ProjectId,
		seq: u64,
	) -> Option<(T::AccountId, H256, Invalid)> {
		Reports::<T>::get(project, seq)
	}

	/// The number `project`'s next batch will have.
	pub fn next_batch_seq(project: ProjectId) -> u64 {
		NextBatchSeq::<T>::get(project)
	}
}
