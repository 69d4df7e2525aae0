//! # Attestations Pallet
//!
//! Proof attestation: the operators of a project's subnet vote on the result of each
//! committed batch, and a result at least two thirds of them agree on becomes the
//! batch's proof.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s, the [`Event`]s and the
//! [`Error`]s.
//!
//! ## Overview
//!
//! When a batch is committed, this pallet opens its round (it is the commitments
//! pallet's [`BatchObserver`]): the voters are the members of the subnet at that moment,
//! and votes are accepted until `attestation_deadline` blocks later. Each voter runs the
//! project's applets over the batch and calls [`Pallet::attest`] once with the batch's
//! Merkle root, the state root it ran the batch on, the state root it computed and the
//! outputs (bridge requests) the applets produced. The pallet computes the vote's output root itself
//! ([`w3b_primitives::proof::output_root`]`(state_root, outputs)`) and counts votes by it,
//! so a root commits to its outputs: a voter sending other outputs than the honest
//! voters votes another root and is a dissenter, never blocks them. The Merkle root ties
//! a vote to the batch its voter executed: a vote for batch number `n` cast against a
//! batch that a reorganisation numbered differently is refused ([`Error::WrongBatch`]).
//!
//! Batches settle in order. A batch runs on the state its predecessors left, so its
//! result means nothing until they are settled: were one of them to expire, its messages
//! would never count, yet a result computed on top of it would include them. The pallet
//! keeps each project's [`Head`]: the first batch not settled and the state root of the
//! last finalized one. Only that batch can be finalized, and only by votes that ran it on
//! that state. Votes for later batches are recorded as they come (operators run ahead);
//! when the batches before one settle, its quorum, if it has one, is finalized by anyone
//! with [`Pallet::finalize`]. A vote that ran on a state the project has since left
//! behind (an earlier batch expired, or finalized on another state than its voter's)
//! counts for nothing, and its voter may vote once more on the agreed state.
//!
//! - As soon as [`quorum`]`(voters)` votes (at least 2/3, rounded up) name one root on
//!   the project's agreed state, the proof is **finalized**: [`Event::ProofFinalized`] with the voters that named
//!   another root (the dissenters), the output root, state root and outputs stored on
//!   chain, and each agreeing voter
//!   paid its share of the project's reward. With a quorum of 2/3, a minority can never
//!   finalize a result and a single operator only finalizes a subnet of one.
//! - Votes arriving after finalization but before the deadline still count: agreeing
//!   ones are paid, dissenting ones are recorded ([`Event::LateAttestation`]).
//! - When the deadline passes without a finalization, the proof **expires**
//!   ([`Event::ProofExpired`]); operators roll the project's state back to its last
//!   finalized batch and run the later ones again on it.
//!
//! Operators that leave the subnet during a round still vote in it; operators that join
//! vote from the next batch on. A member that votes on none of the last
//! [`Config::AbsenceLimit`] rounds open until their deadline (over at least
//! [`Config::AbsencePeriod`] blocks) may be removed from the subnet by anyone
//! ([`Pallet::remove_absent`]): silent members count in every quorum base, and more than
//! a third of them would make every proof expire. A voter whose votes against the
//! finalized results of a project's rounds outnumber its votes for them by
//! [`Config::DissentLimit`] loses its seat and the seat's bond (see [`Dissents`]).
//! Accepted attestations are free (operators only pay for the ones that fail; the
//! committer paid for the round's votes).

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
	dispatch::{DispatchResultWithPostInfo, Pays, WithPostDispatchInfo},
	ensure,
	traits::Get,
	weights::Weight,
	BoundedVec,
};
use sp_core::H256;
use sp_runtime::{traits::Saturating, DispatchError, DispatchResult};
use w3b_primitives::{
	operator::{MaxSubnetSize, RemovalReason, SeatStatus},
	proof::{output_root, quorum, unavailable_root, Head, Outputs, Proof, ProofStatus, Vote},
	traits::{BatchObserver, FinalizedOutputs, ProofInspect, SubnetInspect},
	BatchHeader, ProjectId,
};

/// A proof as this runtime stores it.
pub type ProofOf<T> = Proof<frame_system::pallet_prelude::BlockNumberFor<T>>;

/// An open attestation round.
#[derive(
	Clone,
	Debug,
	PartialEq,
	Eq,
	codec::Encode,
	codec::Decode,
	codec::DecodeWithMemTracking,
	scale_info::TypeInfo,
	codec::MaxEncodedLen,
)]
pub struct Round<AccountId> {
	/// Who may vote: the subnet when the batch was committed.
	pub voters: BoundedVec<AccountId, MaxSubnetSize>,
	/// Votes so far, in the order they came.
	pub votes: BoundedVec<(AccountId, Vote), MaxSubnetSize>,
}

/// Most settled batches one call walks the head of a project past. Batches settle out of
/// order only by expiring, so the walk rarely takes more than one step; a longer run of
/// expired batches is walked by the next calls.
pub const MAX_HEAD_STEPS: u32 = 16;

/// Most batches made on chain whose proofs expired that wait to be committed again
/// ([`Recommits`]); one expiring beyond is lost ([`Event::RecommitFailed`]).
pub const MAX_RECOMMIT_QUEUE: u32 = 256;

/// Most of them of one project: a project whose own operators let its batches expire
/// loses its logs past this, and leaves the rest of the queue to the others.
pub const MAX_RECOMMITS_PER_PROJECT: u32 = 16;

/// Times one body is committed again: a body whose batches keep expiring (a quorum that
/// never forms, logs no applet can run) is dropped after this, rather than going round
/// the queue for ever.
pub const MAX_RECOMMIT_GENERATIONS: u8 = 3;

/// Times a queued batch waits its turn again for room (its project's open rounds, or
/// the closing slots, full): past it the batch is dropped, so that a project kept at
/// its cap cannot hold the place, nor stop its own pruning, for ever.
pub const MAX_RECOMMIT_TRIES: u8 = 64;

/// A batch made on chain waiting in [`Recommits`] to be committed again.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	codec::Encode,
	codec::Decode,
	codec::DecodeWithMemTracking,
	scale_info::TypeInfo,
	codec::MaxEncodedLen,
)]
pub struct Recommit {
	/// The project.
	pub project: ProjectId,
	/// The expired batch.
	pub batch_seq: u64,
	/// Times its body was committed again before this expiry.
	pub generation: u8,
	/// Times committing it found no room.
	pub tries: u8,
}

/// Most of them committed again at the start of one block: each costs a commitment, so
/// a burst of expiries spreads over the next blocks rather than overfilling one.
pub const MAX_RECOMMITS_PER_BLOCK: u32 = 4;

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
		frame_system::Config<RuntimeEvent: From<Event<Self>>> + pallet_commitments::Config
	{
		/// Most rounds that may close in one block (bounds the work of `on_initialize`).
		#[pallet::constant]
		type MaxRoundsPerBlock: Get<u32>;
		/// Most batches of one project not settled at once: a commitment beyond is refused
		/// ([`Error::TooManyOpenRounds`]).
		#[pallet::constant]
		type MaxOpenRounds: Get<u32>;
		/// Blocks a batch keeps for votes once the batches ahead of it settled: its
		/// deadline moves to at least this many blocks after, so that operators whose
		/// votes ran on a state that turned out void can run it again and vote, rather
		/// than the batch expiring with its predecessor.
		#[pallet::constant]
		type SettleGrace: Get<BlockNumberFor<Self>>;
		/// Settled batches in a row a member may leave without a vote before anyone may
		/// remove it from the subnet ([`Pallet::remove_absent`]).
		#[pallet::constant]
		type AbsenceLimit: Get<u32>;
		/// Blocks those batches must span at least (from the commitment of the first),
		/// so that a busy project does not remove an operator restarting its node.
		#[pallet::constant]
		type AbsencePeriod: Get<BlockNumberFor<Self>>;
		/// How many more finalized rounds a voter may vote against (another result than
		/// the one finalized) than for before its seat is slashed and it leaves the
		/// subnet.
		#[pallet::constant]
		type DissentLimit: Get<u32>;
		/// Told the agreed outputs of each finalized proof (the bridge).
		type Outputs: FinalizedOutputs;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// The last batch each operator voted on having run it (an unavailability vote is no
	/// presence), per project: what [`Pallet::remove_absent`] checks.
	#[pallet::storage]
	pub type LastVotes<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, ProjectId, Blake2_128Concat, T::AccountId, u64>;

	/// How many more finalized rounds each operator voted against than for, per project
	/// (never below zero): at [`Config::DissentLimit`] its seat is slashed (see
	/// `judge`).
	#[pallet::storage]
	pub type Dissents<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		ProjectId,
		Blake2_128Concat,
		T::AccountId,
		u32,
		ValueQuery,
	>;

	/// Proofs of the batches in the commitment window.
	#[pallet::storage]
	pub type Proofs<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, ProjectId, Twox64Concat, u64, ProofOf<T>>;

	/// Open rounds (until their deadline).
	#[pallet::storage]
	pub type Rounds<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, ProjectId, Twox64Concat, u64, Round<T::AccountId>>;

	/// Where each project's settled history ends.
	#[pallet::storage]
	pub type Heads<T: Config> = StorageMap<_, Blake2_128Concat, ProjectId, Head, ValueQuery>;

	/// Rounds that close at the start of each block (the block after their deadline).
	#[pallet::storage]
	pub type Closing<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<(ProjectId, u64), T::MaxRoundsPerBlock>,
		ValueQuery,
	>;

	/// Batches made on chain whose proofs expired, oldest first, each to be committed again
	/// as its project's next batch ([`MAX_RECOMMITS_PER_BLOCK`] a block). One that cannot
	/// be for now (its project's open rounds, or the closing slots, are full) goes back to
	/// the end. While queued a batch is not settled: pruning leaves its body alone.
	#[pallet::storage]
	pub type Recommits<T: Config> =
		StorageValue<_, BoundedVec<Recommit, ConstU32<MAX_RECOMMIT_QUEUE>>, ValueQuery>;

	/// How many times the body of each batch committed again was committed again before
	/// (1 for the first recommit), until the batch is pruned.
	#[pallet::storage]
	pub type RecommitGenerations<T: Config> =
		StorageDoubleMap<_, Twox64Concat, ProjectId, Twox64Concat, u64, u8, OptionQuery>;

	/// Events of this pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An operator attested a batch's result.
		Attested {
			/// The project.
			project: ProjectId,
			/// The batch.
			batch_seq: u64,
			/// The operator.
			operator: T::AccountId,
			/// The root it computed.
			output_root: H256,
		},
		/// At least 2/3 of the subnet agreed: the batch's result is final.
		ProofFinalized {
			/// The project.
			project: ProjectId,
			/// The batch.
			batch_seq: u64,
			/// The agreed root.
			output_root: H256,
			/// Votes for it.
			agreed: u32,
			/// Operators that voted another root.
			dissenters: Vec<T::AccountId>,
		},
		/// A vote arrived after finalization, before the deadline.
		LateAttestation {
			/// The project.
			project: ProjectId,
			/// The batch.
			batch_seq: u64,
			/// The operator.
			operator: T::AccountId,
			/// Whether it named the finalized root (and was paid).
			agreed: bool,
		},
		/// A quorum of the subnet could not get the batch's body: it expires at once.
		BodyUnavailable {
			/// The project.
			project: ProjectId,
			/// The batch.
			batch_seq: u64,
			/// Votes received.
			votes: u32,
		},
		/// The deadline passed without a quorum.
		ProofExpired {
			/// The project.
			project: ProjectId,
			/// The batch.
			batch_seq: u64,
			/// Votes received.
			votes: u32,
		},
		/// A batch made on chain whose proof expired was committed again, with the same
		/// body, as the project's next batch: its messages exist nowhere else.
		Recommitted {
			/// The project.
			project: ProjectId,
			/// The expired batch.
			batch_seq: u64,
			/// The batch it was committed again as.
			as_seq: u64,
		},
		/// A batch made on chain whose proof expired could not be committed again: its
		/// messages are lost to the project (its owner subscribes to the range again).
		RecommitFailed {
			/// The project.
			project: ProjectId,
			/// The expired batch.
			batch_seq: u64,
			/// Why: the project is no longer active, too many wait already, in all or of
			/// this project ([`Error::TooManyRecommits`]), or the body was committed again
			/// or waited for room too often ([`Error::RecommitsExhausted`]).
			error: DispatchError,
		},
	}

	/// Errors of this pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// No committed batch in the window has this number.
		UnknownBatch,
		/// The batch's proof expired: no more votes.
		ProofExpired,
		/// The batch's attestation window is closed.
		AttestationClosed,
		/// The caller was not in the subnet when the batch was committed.
		NotEligible,
		/// The caller already attested this batch.
		AlreadyAttested,
		/// The Merkle root is not the one of the batch with this number.
		WrongBatch,
		/// Too many rounds already close in the block this one would and in each of the
		/// next ones, [`MAX_HEAD_STEPS`] blocks in all.
		TooManyRounds,
		/// The project has [`Config::MaxOpenRounds`] batches not settled yet: its
		/// operators settle them before committing more.
		TooManyOpenRounds,
		/// The vote ran the batch on another state than the project's agreed one (the
		/// state after its last finalized batch): it could never count.
		StaleState,
		/// A batch before this one is not settled yet: it cannot be finalized.
		EarlierBatchOpen,
		/// The batch is finalized already.
		AlreadyFinalized,
		/// Fewer than a quorum of the subnet voted this result on the agreed state.
		NoQuorum,
		/// The operator is not in the project's subnet.
		NotMember,
		/// The operator voted on one of the project's last [`Config::AbsenceLimit`] rounds
		/// that stayed open until their deadline, was not a member when one of them was
		/// committed, or they span fewer than [`Config::AbsencePeriod`] blocks (or are not
		/// among the last [`absence_scan`] settled batches, or out of the commitment
		/// window).
		NotAbsent,
		/// [`MAX_RECOMMIT_QUEUE`] batches made on chain wait to be committed again already,
		/// or [`MAX_RECOMMITS_PER_PROJECT`] of the project.
		TooManyRecommits,
		/// The batch was made on chain: its body is in the chain's state, available to
		/// every node, and cannot be voted unavailable.
		BodyOnChain,
		/// A batch made on chain was committed again [`MAX_RECOMMIT_GENERATIONS`] times
		/// already, or found no room [`MAX_RECOMMIT_TRIES`] times.
		RecommitsExhausted,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Closes the rounds whose deadline was the previous block: expires those without
		/// a quorum.
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let closing = Closing::<T>::take(now);
			for (project, batch_seq) in &closing {
				Self::close_round(*project, *batch_seq, now);
			}
			let recommitted = Self::recommit_expired();
			// Each closed round may walk its project's head and queue its batch.
			<T as Config>::WeightInfo::close_rounds(closing.len() as u32)
				.saturating_add(Self::head_weight().saturating_mul(closing.len() as u64))
				.saturating_add(T::DbWeight::get().reads_writes(1, 1))
				.saturating_add(Self::recommit_weight().saturating_mul(u64::from(recommitted)))
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Attests that batch `batch_seq` of `project`, whose Merkle root is `merkle_root`,
		/// run by the project's applets on the state `previous_state_root`, leaves the
		/// project's state at `state_root` and produces `outputs`. The vote is for
		/// `output_root(state_root, outputs)` ([`w3b_primitives::proof::output_root`]),
		/// computed here, on `previous_state_root`. Finalizes the proof when this vote
		/// completes a quorum on the project's agreed state (the batches before it all
		/// settled), storing the output root, `state_root` and `outputs`.
		///
		/// - Origin: signed by an operator that was in the subnet when the batch was
		///   committed; one vote per batch, before the deadline. A vote that ran on a state
		///   the project has since left behind may be replaced by one on the agreed state.
		/// - `merkle_root`: the root of the batch the operator executed; must be the root
		///   committed as batch `batch_seq`.
		/// - `previous_state_root`: the state after the project's earlier batches as the
		///   operator computed them; once they are settled, it must be the agreed one.
		///
		/// Emits [`Event::Attested`], and [`Event::ProofFinalized`] (with the operators
		/// pallet's reward events) or [`Event::LateAttestation`]. Errors:
		/// [`Error::UnknownBatch`], [`Error::WrongBatch`], [`Error::ProofExpired`],
		/// [`Error::AttestationClosed`], [`Error::NotEligible`], [`Error::AlreadyAttested`],
		/// [`Error::StaleState`].
		#[pallet::call_index(0)]
		#[pallet::weight(Pallet::<T>::vote_weight())]
		pub fn attest(
			origin: OriginFor<T>,
			project: ProjectId,
			batch_seq: u64,
			merkle_root: H256,
			previous_state_root: H256,
			state_root: H256,
			outputs: Outputs,
		) -> DispatchResultWithPostInfo {
			let operator = ensure_signed(origin)?;
			let vote = Vote {
				previous: Some(previous_state_root),
				output_root: output_root(&state_root, &outputs),
			};
			Self::record_vote(
				operator,
				project,
				batch_seq,
				merkle_root,
				vote,
				(state_root, outputs),
			)
		}

		/// Attests that the operator could not get the body of batch `batch_seq` of
		/// `project` (whose Merkle root is `merkle_root`) from anyone: a vote for
		/// [`unavailable_root`], on no state (whether a body can be had does not depend on
		/// one). When a quorum says so the batch expires at once
		/// ([`Event::BodyUnavailable`]), even before the batches ahead of it settle, so
		/// that a batch nobody serves holds up the project's later batches for a few
		/// blocks, not for its whole round; its messages never count, and an honest
		/// committer commits them again.
		///
		/// Same origin and rules as [`Pallet::attest`] (one vote per batch: a body that
		/// arrives later does not let the operator vote again), and weighs no more. Emits
		/// [`Event::Attested`], and [`Event::BodyUnavailable`] or
		/// [`Event::LateAttestation`]. Errors: those of [`Pallet::attest`], and
		/// [`Error::BodyOnChain`] for a batch made on chain.
		#[pallet::call_index(1)]
		#[pallet::weight(Pallet::<T>::vote_weight())]
		pub fn attest_unavailable(
			origin: OriginFor<T>,
			project: ProjectId,
			batch_seq: u64,
			merkle_root: H256,
		) -> DispatchResultWithPostInfo {
			let operator = ensure_signed(origin)?;
			ensure!(
				!pallet_commitments::Pallet::<T>::made_on_chain(project, batch_seq),
				Error::<T>::BodyOnChain
			);
			let vote = Vote { previous: None, output_root: unavailable_root() };
			Self::record_vote(operator, project, batch_seq, merkle_root, vote, Default::default())
		}

		/// Finalizes batch `batch_seq` of `project`, whose quorum was reached before the
		/// batches ahead of it settled: at least a quorum of its round voted
		/// `output_root(state_root, outputs)` on the project's agreed state, and every
		/// earlier batch is now settled. Stores the output root, `state_root` and
		/// `outputs` and pays the agreeing voters, as a vote completing the quorum would.
		///
		/// - Origin: any signed account (voters hold `state_root` and `outputs`); free when
		///   it finalizes. When more batches ahead of it expired since the head last moved
		///   than one call walks past ([`MAX_HEAD_STEPS`]), it only walks the head on, for
		///   a fee.
		///
		/// Emits [`Event::ProofFinalized`] with the operators pallet's reward events.
		/// Errors: [`Error::UnknownBatch`], [`Error::ProofExpired`],
		/// [`Error::AlreadyFinalized`], [`Error::AttestationClosed`],
		/// [`Error::EarlierBatchOpen`], [`Error::NoQuorum`].
		#[pallet::call_index(2)]
		#[pallet::weight(Pallet::<T>::vote_weight())]
		pub fn finalize(
			origin: OriginFor<T>,
			project: ProjectId,
			batch_seq: u64,
			state_root: H256,
			outputs: Outputs,
		) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			// A refused call costs its reads, not the whole call: a caller that lost the
			// race to finalize (or was overtaken by a copy of its call) pays little.
			let refused = |error: Error<T>| {
				error.with_weight(T::DbWeight::get().reads(2).saturating_add(Self::head_weight()))
			};
			let before = Heads::<T>::get(project);
			let head = Self::advance_head(project);
			let proof = Proofs::<T>::get(project, batch_seq)
				.ok_or_else(|| refused(Error::<T>::UnknownBatch))?;
			ensure!(proof.status != ProofStatus::Expired, refused(Error::<T>::ProofExpired));
			ensure!(proof.status == ProofStatus::Pending, refused(Error::<T>::AlreadyFinalized));
			let round = Rounds::<T>::get(project, batch_seq)
				.ok_or_else(|| refused(Error::<T>::AttestationClosed))?;
			if head.next != batch_seq {
				// More batches ahead expired than one call walks past: the walk is kept
				// (for a fee) and the next call goes on from it.
				ensure!(head != before, refused(Error::<T>::EarlierBatchOpen));
				let weight = <T as Config>::WeightInfo::attest(round.voters.len() as u32);
				return Ok((Some(weight.saturating_add(Self::head_weight())), Pays::Yes).into());
			}
			let root = output_root(&state_root, &outputs);
			let agreeing = Self::agreeing(&round, Some(head.state_root), root);
			ensure!(
				agreeing.len() as u32 >= quorum(proof.subnet_size),
				refused(Error::<T>::NoQuorum)
			);
			let weight = <T as Config>::WeightInfo::attest(round.voters.len() as u32);
			Self::finalize_proof(
				project,
				batch_seq,
				proof,
				&round,
				agreeing,
				head.state_root,
				root,
				(state_root, outputs),
			);
			Ok((Some(weight.saturating_add(Self::head_weight())), Pays::No).into())
		}

		/// Removes `operator` from `project`'s subnet for absence: it ran none of the
		/// project's last [`Config::AbsenceLimit`] rounds (no vote on a state; saying the
		/// body is unavailable is no work) that stayed open for votes until
		/// their deadline (finalized, or expired at the deadline; a round a quorum closed
		/// early by voting the body unavailable does not count, so withholding bodies from
		/// a slow member cannot make it look absent), all committed while it was a member
		/// (so it was a voter of each), the oldest at least [`Config::AbsencePeriod`]
		/// blocks ago. A silent member keeps counting in every round's quorum base; once
		/// silent members are more than a third, every proof expires. Removed, they stop
		/// counting from the next commitment on. Their seat bonds unbond as for a member
		/// that left (absence is not slashed: a crashed honest node is absent too).
		///
		/// - Origin: any signed account (it pays the fee: the check reads up to
		///   [`absence_scan`] batches).
		///
		/// Emits the operators pallet's `OperatorRemoved` (reason `Absent`). Errors:
		/// [`Error::NotMember`], [`Error::NotAbsent`].
		#[pallet::call_index(3)]
		#[pallet::weight(<T as Config>::WeightInfo::remove_absent().saturating_add(Pallet::<T>::head_weight()))]
		pub fn remove_absent(
			origin: OriginFor<T>,
			project: ProjectId,
			operator: T::AccountId,
		) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			Self::ensure_absent(project, &operator)?;
			pallet_operators::Pallet::<T>::remove(project, &operator, RemovalReason::Absent)
				.map_err(|_| Error::<T>::NotMember)?;
			// Its dissents stay: leaving by absence does not wipe them.
			LastVotes::<T>::remove(project, &operator);
			Ok(().into())
		}
	}
}

/// Most settled batches [`Pallet::remove_absent`] reads back from the head to find
/// [`Config::AbsenceLimit`] rounds that stayed open until their deadline.
pub fn absence_scan<T: Config>() -> u64 {
	4 * u64::from(T::AbsenceLimit::get())
}

impl<T: Config> Pallet<T> {
	/// Whether member `operator` of `project` is absent (see [`Pallet::remove_absent`]).
	fn ensure_absent(project: ProjectId, operator: &T::AccountId) -> Result<(), Error<T>> {
		let seat = pallet_operators::Pallet::<T>::seat(project, operator)
			.filter(|seat| seat.status == SeatStatus::Member)
			.ok_or(Error::<T>::NotMember)?;
		let head = Self::advance_head(project);
		let last_vote = LastVotes::<T>::get(project, operator);
		let floor = head.next.saturating_sub(absence_scan::<T>());
		let (mut seq, mut counted, mut oldest) = (head.next, 0, None);
		while counted < T::AbsenceLimit::get() {
			ensure!(seq > floor, Error::<T>::NotAbsent);
			seq -= 1;
			ensure!(last_vote.is_none_or(|last| last < seq), Error::<T>::NotAbsent);
			// Pruned: too old to judge by.
			let batch = pallet_commitments::Pallet::<T>::batch(project, seq)
				.ok_or(Error::<T>::NotAbsent)?;
			// Committed before it became a member (or in that block): it was no voter.
			ensure!(batch.committed_at > seat.since, Error::<T>::NotAbsent);
			let proof = Proofs::<T>::get(project, seq).ok_or(Error::<T>::NotAbsent)?;
			let open_to_deadline = match proof.status {
				ProofStatus::Finalized => true,
				ProofStatus::Expired => proof.settled_at.is_some_and(|at| at > proof.deadline),
				ProofStatus::Pending => false,
			};
			if open_to_deadline {
				counted += 1;
				oldest = Some(batch.committed_at);
			}
		}
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(
			oldest.is_some_and(|at| at.saturating_add(T::AbsencePeriod::get()) <= now),
			Error::<T>::NotAbsent
		);
		Ok(())
	}

	/// Records `operator`'s vote for batch `batch_seq` and settles the proof when the vote
	/// completes a quorum. `result` is the state root and outputs behind a vote on a
	/// state.
	fn record_vote(
		operator: T::AccountId,
		project: ProjectId,
		batch_seq: u64,
		merkle_root: H256,
		vote: Vote,
		result: (H256, Outputs),
	) -> DispatchResultWithPostInfo {
		// The agreed state this batch must run on, once every batch before it settled
		// (walked first: the walk may settle this very batch).
		let head = Self::advance_head(project);
		let mut proof = Proofs::<T>::get(project, batch_seq).ok_or(Error::<T>::UnknownBatch)?;
		ensure!(proof.merkle_root == merkle_root, Error::<T>::WrongBatch);
		ensure!(proof.status != ProofStatus::Expired, Error::<T>::ProofExpired);
		let mut round =
			Rounds::<T>::get(project, batch_seq).ok_or(Error::<T>::AttestationClosed)?;
		ensure!(round.voters.contains(&operator), Error::<T>::NotEligible);
		let base = (head.next == batch_seq).then_some(head.state_root);
		if let (Some(base), Some(previous)) = (base, vote.previous) {
			ensure!(previous == base, Error::<T>::StaleState);
		}
		if proof.status == ProofStatus::Finalized {
			// A late vote, until the deadline (the round no longer holds a closing slot),
			// and only on the state it was finalized on: its voter knows that state now.
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(now <= proof.deadline, Error::<T>::AttestationClosed);
			ensure!(
				vote.previous.is_none_or(|p| Some(p) == proof.previous_state_root),
				Error::<T>::StaleState
			);
		}
		match round.votes.iter().position(|(voter, _)| voter == &operator) {
			Some(index) => {
				// Only a vote that ran on a state the project left behind is cast again:
				// it could never count, and its voter ran the batch again on the agreed
				// state.
				let stale = matches!(
					(base, round.votes[index].1.previous),
					(Some(base), Some(previous)) if previous != base
				);
				ensure!(stale, Error::<T>::AlreadyAttested);
				round.votes[index].1 = vote;
			}
			// Cannot exceed its bound: only voters vote, once each.
			None => round
				.votes
				.try_push((operator.clone(), vote))
				.map_err(|_| Error::<T>::NotEligible)?,
		}
		// Presence is running the batch: a member saying "unavailable" on every batch
		// does no work and must not stay in every quorum base for it.
		if vote.previous.is_some() {
			LastVotes::<T>::mutate(project, &operator, |last| {
				*last = Some(last.map_or(batch_seq, |last| last.max(batch_seq)))
			});
		}
		Self::deposit_event(Event::Attested {
			project,
			batch_seq,
			operator: operator.clone(),
			output_root: vote.output_root,
		});

		let voters = round.voters.len() as u32;
		let weight = Self::vote_weight_for(voters);
		// Most votes settle nothing: they weigh what recording them costs, so that a
		// block's weight grows with the work its votes do, not with the worst case of each.
		let counted = Self::counted_vote_weight_for(voters);
		match proof.status {
			ProofStatus::Pending if vote.previous.is_none() => {
				let agreeing = Self::agreeing(&round, None, vote.output_root);
				if (agreeing.len() as u32) < quorum(proof.subnet_size) {
					Rounds::<T>::insert(project, batch_seq, round);
					return Ok((Some(counted), Pays::No).into());
				}
				// A quorum could not get the body: it expires at once, whatever the batches
				// before it.
				proof.status = ProofStatus::Expired;
				proof.settled_at = Some(frame_system::Pallet::<T>::block_number());
				Self::deposit_event(Event::BodyUnavailable {
					project,
					batch_seq,
					votes: round.votes.len() as u32,
				});
				Self::free_closing_slot(project, batch_seq, proof.deadline);
				Proofs::<T>::insert(project, batch_seq, proof);
				Self::queue_recommit(project, batch_seq);
				// The round is over: no vote counts any more.
				Rounds::<T>::remove(project, batch_seq);
				Self::advance_head(project);
			}
			ProofStatus::Pending => {
				// Only the head finalizes, on the agreed state.
				let quorum_reached =
					base.map(|base| (base, Self::agreeing(&round, Some(base), vote.output_root)));
				match quorum_reached {
					Some((base, agreeing))
						if agreeing.len() as u32 >= quorum(proof.subnet_size) =>
					{
						let root = vote.output_root;
						Self::finalize_proof(
							project, batch_seq, proof, &round, agreeing, base, root, result,
						);
						Rounds::<T>::insert(project, batch_seq, round);
					}
					_ => {
						Rounds::<T>::insert(project, batch_seq, round);
						return Ok((Some(counted), Pays::No).into());
					}
				}
			}
			_ => {
				// Finalized (expired proofs were refused above): a late vote (checked above).
				let agreed = proof.output_root == Some(vote.output_root)
					&& proof.previous_state_root == vote.previous;
				if let (Some(previous), Some(root)) = (proof.previous_state_root, proof.output_root)
				{
					Self::judge(project, &operator, &vote, (previous, root));
				}
				if agreed {
					proof.agreed += 1;
					pallet_operators::Pallet::<T>::pay_rewards(
						project,
						batch_seq,
						core::slice::from_ref(&operator),
						proof.subnet_size,
					);
				}
				Self::deposit_event(Event::LateAttestation {
					project,
					batch_seq,
					operator,
					agreed,
				});
				Proofs::<T>::insert(project, batch_seq, proof);
				Rounds::<T>::insert(project, batch_seq, round);
			}
		}
		Ok((Some(weight), Pays::No).into())
	}

	/// The voters of `round` that voted `root` on the state `previous`, in the order they
	/// voted.
	fn agreeing(
		round: &Round<T::AccountId>,
		previous: Option<H256>,
		root: H256,
	) -> Vec<T::AccountId> {
		round
			.votes
			.iter()
			.filter(|(_, vote)| vote.output_root == root && vote.previous == previous)
			.map(|(voter, _)| voter.clone())
			.collect()
	}

	/// Finalizes a proof whose round has a quorum (`agreeing`) for `root` on the agreed
	/// state `previous`, pays the agreeing voters and moves the project's head past it.
	#[allow(clippy::too_many_arguments)]
	fn finalize_proof(
		project: ProjectId,
		batch_seq: u64,
		mut proof: ProofOf<T>,
		round: &Round<T::AccountId>,
		agreeing: Vec<T::AccountId>,
		previous: H256,
		root: H256,
		(state_root, outputs): (H256, Outputs),
	) {
		proof.status = ProofStatus::Finalized;
		proof.settled_at = Some(frame_system::Pallet::<T>::block_number());
		proof.output_root = Some(root);
		proof.state_root = Some(state_root);
		proof.previous_state_root = Some(previous);
		proof.outputs = outputs;
		proof.agreed = agreeing.len() as u32;
		let dissenters = round
			.votes
			.iter()
			.filter(|(voter, _)| !agreeing.contains(voter))
			.map(|(voter, _)| voter.clone())
			.collect();
		Self::deposit_event(Event::ProofFinalized {
			project,
			batch_seq,
			output_root: root,
			agreed: proof.agreed,
			dissenters,
		});
		pallet_operators::Pallet::<T>::pay_rewards(
			project,
			batch_seq,
			&agreeing,
			proof.subnet_size,
		);
		for (voter, vote) in &round.votes {
			Self::judge(project, voter, vote, (previous, root));
		}
		// Late votes are still taken until the deadline, but the round no longer needs to
		// close: its slot goes to another round.
		Self::free_closing_slot(project, batch_seq, proof.deadline);
		T::Outputs::outputs_finalized(project, batch_seq, &proof.outputs);
		Proofs::<T>::insert(project, batch_seq, proof);
		Self::advance_head(project);
	}

	/// Counts `voter`'s `vote` on a round of `project` finalized as `root` on the agreed
	/// state `previous`, if it ran on that state: for `root` it takes one from the voter's
	/// [`Dissents`], against it (another root) it adds one, and at
	/// [`Config::DissentLimit`] the voter's seat is slashed. Not judged: a vote that the
	/// body is unavailable (whether a peer served it is not the voter's to prove, and a
	/// committer can withhold it from one voter), and a vote on another state (cast before
	/// the batches ahead settled, when nobody knew the agreed state: it never counts).
	fn judge(
		project: ProjectId,
		voter: &T::AccountId,
		vote: &Vote,
		(previous, root): (H256, H256),
	) {
		if vote.previous != Some(previous) {
			return;
		}
		if vote.output_root == root {
			Dissents::<T>::mutate_exists(project, voter, |n| {
				*n = n.and_then(|n| n.checked_sub(1)).filter(|n| *n > 0)
			});
			return;
		}
		let dissents = Dissents::<T>::mutate(project, voter, |n| {
			*n = n.saturating_add(1);
			*n
		});
		if dissents >= T::DissentLimit::get() {
			Dissents::<T>::remove(project, voter);
			LastVotes::<T>::remove(project, voter);
			pallet_operators::Pallet::<T>::slash_seat(project, voter, RemovalReason::Dissent);
		}
	}

	/// Takes batch `batch_seq` of `project` out of the rounds closing after `deadline`.
	fn free_closing_slot(
		project: ProjectId,
		batch_seq: u64,
		deadline: frame_system::pallet_prelude::BlockNumberFor<T>,
	) {
		Closing::<T>::mutate(deadline.saturating_add(1u32.into()), |closing| {
			closing.retain(|entry| *entry != (project, batch_seq))
		});
	}

	/// `project`'s head walked past the batches settled at its front, at most `steps` of
	/// them. A batch pruned from the window was settled (only settled batches are
	/// pruned), and a finalized one was the head when it was finalized: only expired ones
	/// are passed without reading their state.
	fn walk_head(project: ProjectId, steps: u64) -> Head {
		let mut head = Heads::<T>::get(project);
		let next_batch = pallet_commitments::Pallet::<T>::next_batch_seq(project);
		let start = head.next;
		while head.next < next_batch && head.next - start < steps {
			match Proofs::<T>::get(project, head.next) {
				Some(proof) if proof.status == ProofStatus::Pending => break,
				Some(proof) if proof.status == ProofStatus::Finalized => {
					head.state_root = proof.state_root.unwrap_or(head.state_root);
				}
				_ => {}
			}
			head.next += 1;
		}
		head
	}

	/// Moves `project`'s head past the batches settled at its front (at most
	/// [`MAX_HEAD_STEPS`] of them; later calls walk on) and returns it; a new head gets
	/// its grace.
	fn advance_head(project: ProjectId) -> Head {
		let head = Self::walk_head(project, u64::from(MAX_HEAD_STEPS));
		if head != Heads::<T>::get(project) {
			Heads::<T>::insert(project, head);
			Self::give_grace(project, head.next);
		}
		head
	}

	/// Batch `batch_seq` of `project` just became the head: if it is pending, its round
	/// stays open at least [`Config::SettleGrace`] blocks more. Should every block it
	/// could then close in be full, it expires now rather than never close.
	fn give_grace(project: ProjectId, batch_seq: u64) {
		let Some(mut proof) = Proofs::<T>::get(project, batch_seq) else { return };
		let now = frame_system::Pallet::<T>::block_number();
		let wanted = now.saturating_add(T::SettleGrace::get());
		if proof.status != ProofStatus::Pending || proof.deadline >= wanted {
			return;
		}
		match Self::schedule_close(project, batch_seq, wanted) {
			Some(deadline) => {
				Self::free_closing_slot(project, batch_seq, proof.deadline);
				proof.deadline = deadline;
				Proofs::<T>::insert(project, batch_seq, proof);
			}
			None => {
				Proofs::<T>::insert(project, batch_seq, proof);
				Self::expire(project, batch_seq, now);
			}
		}
	}

	/// Schedules the round of batch `batch_seq` of `project` to close after block
	/// `wanted`, or after one of the blocks following it when that one's closings are
	/// full ([`MAX_HEAD_STEPS`] blocks tried in all); returns the deadline it got, `None`
	/// if all were full. So one project's rounds filling a block's closings delay other
	/// projects' deadlines by a block or a few, and never refuse their commitments.
	fn schedule_close(
		project: ProjectId,
		batch_seq: u64,
		wanted: frame_system::pallet_prelude::BlockNumberFor<T>,
	) -> Option<frame_system::pallet_prelude::BlockNumberFor<T>> {
		(0..MAX_HEAD_STEPS).map(|later| wanted.saturating_add(later.into())).find(|deadline| {
			let closes = deadline.saturating_add(1u32.into());
			Closing::<T>::try_mutate(closes, |c| c.try_push((project, batch_seq))).is_ok()
		})
	}

	/// The most walking a project's head costs, with the grace of its new head (a call
	/// walks it at most twice).
	fn head_weight() -> Weight {
		let steps = u64::from(MAX_HEAD_STEPS);
		let once =
			T::DbWeight::get().reads_writes(2 * steps + 4, 3).saturating_add(Weight::from_parts(
				0,
				(steps + 2) * <ProofOf<T> as codec::MaxEncodedLen>::max_encoded_len() as u64,
			));
		once.saturating_mul(2)
	}

	/// The weight of a vote in a round of `voters` that settles its batch (or is late):
	/// the most a vote in such a round is charged.
	pub fn vote_weight_for(voters: u32) -> Weight {
		<T as Config>::WeightInfo::attest(voters).saturating_add(Self::head_weight())
	}

	/// The weight of a vote in a round of `voters` that settles nothing: recorded, the
	/// round still open.
	pub fn counted_vote_weight_for(voters: u32) -> Weight {
		<T as Config>::WeightInfo::attest_counted(voters).saturating_add(Self::head_weight())
	}

	/// The most a vote weighs.
	pub(crate) fn vote_weight() -> Weight {
		Self::vote_weight_for(<MaxSubnetSize as Get<u32>>::get())
	}
}

impl<T: Config> Pallet<T> {
	/// Opens the round of a just-committed batch.
	fn open_round(header: &BatchHeader) -> DispatchResult {
		let project = header.project;
		let deadline = pallet_projects::ProjectInfos::<T>::get(project)
			.map(|info| info.config.attestation_deadline)
			.unwrap_or_default();
		// A project's unsettled batches are bounded: one project's junk commitments cannot
		// take every closing slot from the others.
		// The stored head (votes walk it): at most an overestimate, without reading the
		// proofs ahead of it on every commitment.
		let unsettled = header.seq.saturating_sub(Heads::<T>::get(project).next);
		ensure!(unsettled < u64::from(T::MaxOpenRounds::get()), Error::<T>::TooManyOpenRounds);
		let now = frame_system::Pallet::<T>::block_number();
		let deadline = Self::schedule_close(project, header.seq, now.saturating_add(deadline))
			.ok_or(Error::<T>::TooManyRounds)?;
		let voters = BoundedVec::truncate_from(pallet_operators::Pallet::<T>::members(project));
		Proofs::<T>::insert(
			project,
			header.seq,
			Proof {
				merkle_root: header.merkle_root,
				status: ProofStatus::Pending,
				output_root: None,
				state_root: None,
				outputs: Default::default(),
				previous_state_root: None,
				subnet_size: voters.len() as u32,
				agreed: 0,
				deadline,
				settled_at: None,
			},
		);
		Rounds::<T>::insert(project, header.seq, Round { voters, votes: Default::default() });
		Ok(())
	}

	/// Closes a round at block `now`, expiring its proof if it has no quorum.
	fn close_round(
		project: ProjectId,
		batch_seq: u64,
		now: frame_system::pallet_prelude::BlockNumberFor<T>,
	) {
		let proof = Proofs::<T>::get(project, batch_seq);
		if proof.as_ref().is_some_and(|p| p.deadline.saturating_add(1u32.into()) > now) {
			// Its deadline moved (grace after the batches ahead settled): it closes later.
			return;
		}
		let head = Self::advance_head(project);
		// The walk may have made it the head and given it its grace.
		let proof = Proofs::<T>::get(project, batch_seq);
		if proof.as_ref().is_some_and(|p| p.deadline.saturating_add(1u32.into()) > now) {
			return;
		}
		let pending = proof.is_some_and(|p| p.status == ProofStatus::Pending);
		if pending && batch_seq > head.next {
			// Behind a batch not settled yet, its votes may turn out void: it gets its
			// grace, and closes after it, once it is the head.
			return;
		}
		Self::expire(project, batch_seq, now);
		Self::advance_head(project);
	}

	/// Ends the round of batch `batch_seq` of `project`, expiring its proof if it is
	/// pending.
	fn expire(
		project: ProjectId,
		batch_seq: u64,
		now: frame_system::pallet_prelude::BlockNumberFor<T>,
	) {
		let votes = Rounds::<T>::take(project, batch_seq).map_or(0, |r| r.votes.len() as u32);
		let expired = Proofs::<T>::mutate(project, batch_seq, |proof| {
			let proof = proof.as_mut().filter(|p| p.status == ProofStatus::Pending)?;
			proof.status = ProofStatus::Expired;
			proof.settled_at = Some(now);
			Self::deposit_event(Event::ProofExpired { project, batch_seq, votes });
			Some(())
		});
		if expired.is_some() {
			Self::queue_recommit(project, batch_seq);
		}
	}

	/// Queues batch `batch_seq` of `project`, whose proof just expired, to be committed
	/// again if it was made on chain.
	fn queue_recommit(project: ProjectId, batch_seq: u64) {
		if !pallet_commitments::Pallet::<T>::made_on_chain(project, batch_seq) {
			return;
		}
		let generation = RecommitGenerations::<T>::get(project, batch_seq).unwrap_or(0);
		if generation >= MAX_RECOMMIT_GENERATIONS {
			let error = Error::<T>::RecommitsExhausted.into();
			Self::deposit_event(Event::RecommitFailed { project, batch_seq, error });
			return;
		}
		let queued = Recommits::<T>::mutate(|queue| {
			let of_project = queue.iter().filter(|r| r.project == project).count() as u32;
			if of_project >= MAX_RECOMMITS_PER_PROJECT {
				return Err(());
			}
			queue.try_push(Recommit { project, batch_seq, generation, tries: 0 }).map_err(|_| ())
		});
		if queued.is_err() {
			Self::deposit_event(Event::RecommitFailed {
				project,
				batch_seq,
				error: Error::<T>::TooManyRecommits.into(),
			});
		}
	}

	/// Commits again up to [`MAX_RECOMMITS_PER_BLOCK`] queued batches; returns how many
	/// it tried.
	fn recommit_expired() -> u32 {
		let mut queue = Recommits::<T>::get();
		if queue.is_empty() {
			return 0;
		}
		let taken = queue.len().min(MAX_RECOMMITS_PER_BLOCK as usize);
		let tried: Vec<_> = queue.drain(..taken).collect();
		// Full rounds free up as batches settle: what they refuse waits its turn again.
		let for_now: [DispatchError; 2] =
			[Error::<T>::TooManyOpenRounds.into(), Error::<T>::TooManyRounds.into()];
		for recommit in tried {
			let Recommit { project, batch_seq, generation, tries } = recommit;
			match pallet_commitments::Pallet::<T>::recommit_on_chain(project, batch_seq) {
				Ok(as_seq) => {
					RecommitGenerations::<T>::insert(project, as_seq, generation + 1);
					Self::deposit_event(Event::Recommitted { project, batch_seq, as_seq })
				}
				// Cannot overflow: it was taken out just now.
				Err(error) if for_now.contains(&error) && tries + 1 < MAX_RECOMMIT_TRIES => {
					let _ = queue.try_push(Recommit { tries: tries + 1, ..recommit });
				}
				Err(error) => {
					let error = if for_now.contains(&error) {
						Error::<T>::RecommitsExhausted.into()
					} else {
						error
					};
					Self::deposit_event(Event::RecommitFailed { project, batch_seq, error })
				}
			}
		}
		Recommits::<T>::put(queue);
		taken as u32
	}

	/// The most committing a batch made on chain again costs: reading its body and
	/// header, and a commitment that prunes as much as one may.
	fn recommit_weight() -> Weight {
		let prune = <T as pallet_commitments::Config>::MaxPrunePerCommit::get();
		<<T as pallet_commitments::Config>::WeightInfo as pallet_commitments::WeightInfo>::commit_batch(
			prune,
		)
			.saturating_add(T::DbWeight::get().reads_writes(2, 1))
			.saturating_add(Weight::from_parts(
				0,
				2 * u64::from(pallet_commitments::MAX_ON_CHAIN_BODY),
			))
	}

	/// The proof of a batch in the window.
	pub fn proof(project: ProjectId, batch_seq: u64) -> Option<ProofOf<T>> {
		Proofs::<T>::get(project, batch_seq)
	}

	/// `who`'s vote for batch `batch_seq` of `project`, while its round is kept (an
	/// expired round is dropped at once, a finalized one when its batch is pruned);
	/// `None` if it has not voted or the round is gone.
	pub fn vote(project: ProjectId, batch_seq: u64, who: &T::AccountId) -> Option<Vote> {
		Rounds::<T>::get(project, batch_seq)?
			.votes
			.into_iter()
			.find_map(|(voter, vote)| (&voter == who).then_some(vote))
	}

	/// Where `project`'s settled history ends, as the next call will find it (walked past
	/// the batches settled at its front that the last calls did not get to, as far as one
	/// call walks).
	pub fn head(project: ProjectId) -> Head {
		Self::walk_head(project, u64::from(MAX_HEAD_STEPS))
	}

	/// For batch `batch_seq` of `project` while it is pending: the output root a quorum of
	/// its round voted on the state `previous`, and those voters in the order they voted.
	/// Once every batch before it settled on `previous` (the [`Pallet::head`] is there),
	/// [`Pallet::finalize`] finalizes it; a batch behind it whose quorum is on its state
	/// may be finalized right after, in the same block.
	pub fn quorum_on(
		project: ProjectId,
		batch_seq: u64,
		previous: H256,
	) -> Option<(H256, Vec<T::AccountId>)> {
		let proof = Proofs::<T>::get(project, batch_seq)?;
		if proof.status != ProofStatus::Pending {
			return None;
		}
		let round = Rounds::<T>::get(project, batch_seq)?;
		let on_previous = round.votes.iter().filter(|(_, vote)| vote.previous == Some(previous));
		on_previous.map(|(_, vote)| vote.output_root).find_map(|root| {
			let agreeing = Self::agreeing(&round, Some(previous), root);
			(agreeing.len() as u32 >= quorum(proof.subnet_size)).then_some((root, agreeing))
		})
	}
}

impl<T: Config> BatchObserver for Pallet<T> {
	fn batch_committed(header: &BatchHeader) -> DispatchResult {
		Self::open_round(header)
	}

	fn batch_pruned(project: ProjectId, seq: u64) {
		Proofs::<T>::remove(project, seq);
		Rounds::<T>::remove(project, seq);
		RecommitGenerations::<T>::remove(project, seq);
	}
}

impl<T: Config> ProofInspect for Pallet<T> {
	fn is_settled(project: ProjectId, seq: u64) -> bool {
		// A finalized round takes late votes until its deadline; an expired one none.
		// Behind the head too: pruning never takes a batch the head has not passed.
		let now = frame_system::Pallet::<T>::block_number();
		// An expired batch made on chain waiting to be committed again is not settled:
		// its body is all there is of its messages.
		Proofs::<T>::get(project, seq).is_some_and(|p| match p.status {
			ProofStatus::Pending => false,
			ProofStatus::Finalized => p.deadline < now,
			ProofStatus::Expired => {
				!Recommits::<T>::get().iter().any(|r| (r.project, r.batch_seq) == (project, seq))
			}
		}) && seq < Heads::<T>::get(project).next
	}

	fn is_expired(project: ProjectId, seq: u64) -> bool {
		Proofs::<T>::get(project, seq).is_some_and(|p| p.status == ProofStatus::Expired)
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn settle(project: ProjectId, seq: u64) {
		Proofs::<T>::insert(
			project,
			seq,
			Proof {
				merkle_root: H256::zero(),
				status: ProofStatus::Finalized,
				output_root: Some(H256::zero()),
				state_root: Some(H256::zero()),
				outputs: Default::default(),
				previous_state_root: Some(H256::zero()),
				subnet_size: 1,
				agreed: 1,
				deadline: Default::default(),
				settled_at: Some(Default::default()),
			},
		);
		// Settled in order: the head is past it.
		Heads::<T>::mutate(project, |head| head.next = head.next.max(seq + 1));
	}
}
