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
//! Merkle root, the state root it computed and the outputs (bridge requests) the applets
//! produced. The pallet computes the vote's output root itself
//! ([`w3b_primitives::proof::output_root`]`(state_root, outputs)`) and counts votes by it,
//! so a root commits to its outputs: a voter sending other outputs than the honest
//! voters votes another root and is a dissenter, never blocks them. The Merkle root ties
//! a vote to the batch its voter executed: a vote for batch number `n` cast against a
//! batch that a reorganisation numbered differently is refused ([`Error::WrongBatch`]).
//!
//! - As soon as [`quorum`]`(voters)` votes (at least 2/3, rounded up) name one root,
//!   the proof is **finalized**: [`Event::ProofFinalized`] with the voters that named
//!   another root (the dissenters), the output root, state root and outputs stored on
//!   chain, and each agreeing voter
//!   paid its share of the project's reward. With a quorum of 2/3, a minority can never
//!   finalize a result and a single operator only finalizes a subnet of one.
//! - Votes arriving after finalization but before the deadline still count: agreeing
//!   ones are paid, dissenting ones are recorded ([`Event::LateAttestation`]).
//! - When the deadline passes without a quorum, the proof **expires**
//!   ([`Event::ProofExpired`]); operators roll the project's state back to its last
//!   finalized batch.
//!
//! Operators that leave the subnet during a round still vote in it; operators that join
//! vote from the next batch on. Accepted attestations are free (operators only pay for
//! the ones that fail).

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
	dispatch::{DispatchResultWithPostInfo, Pays},
	ensure,
	traits::Get,
	BoundedVec,
};
use sp_core::H256;
use sp_runtime::{traits::Saturating, DispatchResult};
use w3b_primitives::{
	operator::MaxSubnetSize,
	proof::{output_root, quorum, unavailable_root, Outputs, Proof, ProofStatus},
	traits::{BatchObserver, ProofInspect, SubnetInspect},
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
	/// Votes so far: voter and the output root computed from its state root and outputs.
	pub votes: BoundedVec<(AccountId, H256), MaxSubnetSize>,
}

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
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Proofs of the batches in the commitment window.
	#[pallet::storage]
	pub type Proofs<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, ProjectId, Twox64Concat, u64, ProofOf<T>>;

	/// Open rounds (until their deadline).
	#[pallet::storage]
	pub type Rounds<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, ProjectId, Twox64Concat, u64, Round<T::AccountId>>;

	/// Rounds that close at the start of each block (the block after their deadline).
	#[pallet::storage]
	pub type Closing<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<(ProjectId, u64), T::MaxRoundsPerBlock>,
		ValueQuery,
	>;

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
		/// Too many rounds already close in the block this one would.
		TooManyRounds,
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
			<T as Config>::WeightInfo::close_rounds(closing.len() as u32)
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Attests that batch `batch_seq` of `project`, whose Merkle root is `merkle_root`,
		/// run by the project's applets, leaves the project's state at `state_root` and
		/// produces `outputs`. The vote is for `output_root(state_root, outputs)`
		/// ([`w3b_primitives::proof::output_root`]), computed here. Finalizes the proof when
		/// this vote completes a quorum, storing the output root, `state_root` and
		/// `outputs`.
		///
		/// - Origin: signed by an operator that was in the subnet when the batch was
		///   committed; one vote per batch, before the deadline.
		/// - `merkle_root`: the root of the batch the operator executed; must be the root
		///   committed as batch `batch_seq`.
		///
		/// Emits [`Event::Attested`], and [`Event::ProofFinalized`] (with the operators
		/// pallet's reward events) or [`Event::LateAttestation`]. Errors:
		/// [`Error::UnknownBatch`], [`Error::WrongBatch`], [`Error::ProofExpired`],
		/// [`Error::AttestationClosed`], [`Error::NotEligible`], [`Error::AlreadyAttested`].
		#[pallet::call_index(0)]
		#[pallet::weight(<T as Config>::WeightInfo::attest(<MaxSubnetSize as Get<u32>>::get()))]
		pub fn attest(
			origin: OriginFor<T>,
			project: ProjectId,
			batch_seq: u64,
			merkle_root: H256,
			state_root: H256,
			outputs: Outputs,
		) -> DispatchResultWithPostInfo {
			let operator = ensure_signed(origin)?;
			Self::record_vote(
				operator,
				project,
				batch_seq,
				merkle_root,
				Verdict::Ran { state_root, outputs },
			)
		}

		/// Attests that the operator could not get the body of batch `batch_seq` of
		/// `project` (whose Merkle root is `merkle_root`) from anyone: a vote for
		/// [`unavailable_root`]. When a quorum says so the batch expires at once
		/// ([`Event::BodyUnavailable`]), so that a batch nobody serves holds up the
		/// project's later batches for a few blocks, not for its whole round; its messages
		/// never count, and an honest committer commits them again.
		///
		/// Same origin and rules as [`Pallet::attest`] (one vote per batch: a body that
		/// arrives later does not let the operator vote again), and weighs no more. Emits
		/// [`Event::Attested`], and [`Event::BodyUnavailable`] or
		/// [`Event::LateAttestation`]. Errors: those of [`Pallet::attest`].
		#[pallet::call_index(1)]
		#[pallet::weight(<T as Config>::WeightInfo::attest(<MaxSubnetSize as Get<u32>>::get()))]
		pub fn attest_unavailable(
			origin: OriginFor<T>,
			project: ProjectId,
			batch_seq: u64,
			merkle_root: H256,
		) -> DispatchResultWithPostInfo {
			let operator = ensure_signed(origin)?;
			Self::record_vote(operator, project, batch_seq, merkle_root, Verdict::Unavailable)
		}
	}
}

/// What an operator found running a batch.
enum Verdict {
	/// It ran it: the state it left and its outputs.
	Ran {
		/// The project's state root after the batch.
		state_root: H256,
		/// The batch's outputs.
		outputs: Outputs,
	},
	/// It could not get the body.
	Unavailable,
}

impl<T: Config> Pallet<T> {
	/// Records `operator`'s vote for batch `batch_seq` and settles the proof when the vote
	/// completes a quorum.
	fn record_vote(
		operator: T::AccountId,
		project: ProjectId,
		batch_seq: u64,
		merkle_root: H256,
		verdict: Verdict,
	) -> DispatchResultWithPostInfo {
		let mut proof = Proofs::<T>::get(project, batch_seq).ok_or(Error::<T>::UnknownBatch)?;
		ensure!(proof.merkle_root == merkle_root, Error::<T>::WrongBatch);
		ensure!(proof.status != ProofStatus::Expired, Error::<T>::ProofExpired);
		let mut round =
			Rounds::<T>::get(project, batch_seq).ok_or(Error::<T>::AttestationClosed)?;
		ensure!(round.voters.contains(&operator), Error::<T>::NotEligible);
		ensure!(
			!round.votes.iter().any(|(voter, _)| voter == &operator),
			Error::<T>::AlreadyAttested
		);
		let voted_root = match &verdict {
			Verdict::Ran { state_root, outputs } => output_root(state_root, outputs),
			Verdict::Unavailable => unavailable_root(),
		};
		// Cannot exceed its bound: only voters vote, once each.
		round
			.votes
			.try_push((operator.clone(), voted_root))
			.map_err(|_| Error::<T>::NotEligible)?;
		Self::deposit_event(Event::Attested {
			project,
			batch_seq,
			operator: operator.clone(),
			output_root: voted_root,
		});

		let voters = round.voters.len() as u32;
		let weight = <T as Config>::WeightInfo::attest(voters);
		if proof.status == ProofStatus::Pending {
			let agreeing: Vec<T::AccountId> = round
				.votes
				.iter()
				.filter(|(_, root)| root == &voted_root)
				.map(|(voter, _)| voter.clone())
				.collect();
			if (agreeing.len() as u32) < quorum(proof.subnet_size) {
				Proofs::<T>::insert(project, batch_seq, proof);
				Rounds::<T>::insert(project, batch_seq, round);
				return Ok((Some(weight), Pays::No).into());
			}
			let now = frame_system::Pallet::<T>::block_number();
			proof.settled_at = Some(now);
			match verdict {
				Verdict::Unavailable => {
					proof.status = ProofStatus::Expired;
					Self::deposit_event(Event::BodyUnavailable {
						project,
						batch_seq,
						votes: round.votes.len() as u32,
					});
					// The round is over: no vote counts any more.
					Proofs::<T>::insert(project, batch_seq, proof);
					Rounds::<T>::remove(project, batch_seq);
					return Ok((Some(weight), Pays::No).into());
				}
				Verdict::Ran { state_root, outputs } => {
					proof.status = ProofStatus::Finalized;
					proof.output_root = Some(voted_root);
					proof.state_root = Some(state_root);
					proof.outputs = outputs;
					proof.agreed = agreeing.len() as u32;
					let dissenters = round
						.votes
						.iter()
						.filter(|(_, root)| root != &voted_root)
						.map(|(voter, _)| voter.clone())
						.collect();
					Self::deposit_event(Event::ProofFinalized {
						project,
						batch_seq,
						output_root: voted_root,
						agreed: proof.agreed,
						dissenters,
					});
					pallet_operators::Pallet::<T>::pay_rewards(
						project,
						batch_seq,
						&agreeing,
						proof.subnet_size,
					);
				}
			}
		} else {
			// Finalized (expired proofs were refused above): a late vote.
			let agreed = proof.output_root == Some(voted_root);
			if agreed {
				proof.agreed += 1;
				pallet_operators::Pallet::<T>::pay_rewards(
					project,
					batch_seq,
					core::slice::from_ref(&operator),
					proof.subnet_size,
				);
			}
			Self::deposit_event(Event::LateAttestation { project, batch_seq, operator, agreed });
		}
		Proofs::<T>::insert(project, batch_seq, proof);
		Rounds::<T>::insert(project, batch_seq, round);
		Ok((Some(weight), Pays::No).into())
	}
}

impl<T: Config> Pallet<T> {
	/// Opens the round of a just-committed batch.
	fn open_round(header: &BatchHeader) -> DispatchResult {
		let project = header.project;
		let deadline = pallet_projects::ProjectInfos::<T>::get(project)
			.map(|info| info.config.attestation_deadline)
			.unwrap_or_default();
		let now = frame_system::Pallet::<T>::block_number();
		let deadline = now.saturating_add(deadline);
		Closing::<T>::try_mutate(deadline.saturating_add(1u32.into()), |closing| {
			closing.try_push((project, header.seq)).map_err(|_| Error::<T>::TooManyRounds)
		})?;
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
		let Some(round) = Rounds::<T>::take(project, batch_seq) else { return };
		Proofs::<T>::mutate(project, batch_seq, |proof| {
			if let Some(proof) = proof.as_mut().filter(|p| p.status == ProofStatus::Pending) {
				proof.status = ProofStatus::Expired;
				proof.settled_at = Some(now);
				Self::deposit_event(Event::ProofExpired {
					project,
					batch_seq,
					votes: round.votes.len() as u32,
				});
			}
		});
	}

	/// The proof of a batch in the window.
	pub fn proof(project: ProjectId, batch_seq: u64) -> Option<ProofOf<T>> {
		Proofs::<T>::get(project, batch_seq)
	}

	/// The output root `who` voted for batch `batch_seq` of `project`, while its round is
	/// open; `None` if it has not voted or the round is closed.
	pub fn vote(project: ProjectId, batch_seq: u64, who: &T::AccountId) -> Option<H256> {
		Rounds::<T>::get(project, batch_seq)?
			.votes
			.into_iter()
			.find_map(|(voter, root)| (&voter == who).then_some(root))
	}
}

impl<T: Config> BatchObserver for Pallet<T> {
	fn batch_committed(header: &BatchHeader) -> DispatchResult {
		Self::open_round(header)
	}

	fn batch_pruned(project: ProjectId, seq: u64) {
		Proofs::<T>::remove(project, seq);
		Rounds::<T>::remove(project, seq);
	}
}

impl<T: Config> ProofInspect for Pallet<T> {
	fn is_settled(project: ProjectId, seq: u64) -> bool {
		Proofs::<T>::get(project, seq).is_some_and(|p| p.status != ProofStatus::Pending)
			&& !Rounds::<T>::contains_key(project, seq)
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
				subnet_size: 1,
				agreed: 1,
				deadline: Default::default(),
				settled_at: Some(Default::default()),
			},
		);
	}
}
