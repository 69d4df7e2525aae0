//! # Bridge Pallet
//!
//! Carries what a project's subnet finalized to EVM chains (IoTeX first), exactly as the
//! quorum agreed it and nothing a minority wrote.
//!
//! ## Pallet API
//!
//! See the [`pallet`] module for the [`Config`], the [`Call`]s, the [`Event`]s and the
//! [`Error`]s.
//!
//! ## Overview
//!
//! - **Targets**: governance registers, per EVM chain, the address of its `W3bBridge`
//!   contract ([`Pallet::set_target`]); the contract is deployed with the validator set
//!   current at that time ([`CurrentSetId`]).
//! - **Outputs**: when a proof is finalized, `pallets/attestations` hands its agreed
//!   outputs here ([`FinalizedOutputs`]). Each is what an applet asked with `ws_send_tx`
//!   ([`SendTx`]): an output naming an address becomes a call to it
//!   ([`OutputKind::Call`]); one naming none goes to the project's own receiver with
//!   `IDapp.process` ([`OutputKind::Process`]), if the project set one on that chain.
//!   Outputs for a chain without a target, or without a receiver, are dropped with an
//!   event.
//! - **Batches**: at the start of each block, the outputs waiting for a chain are sealed
//!   into a bridge batch ([`Batches`]): the next nonce of the chain, the current validator
//!   set, and the outputs root the contract recomputes
//!   ([`w3b_primitives::bridge::outputs_root`]).
//! - **Signatures**: each validator's node signs every batch of a finalized block with its
//!   secp256k1 `w3b_` session key (the EIP-712 digest of
//!   [`w3b_primitives::bridge::BridgeDomain::batch_digest`]) and sends the signature in a
//!   general transaction ([`Pallet::sign_batch`], authorized by the signature itself: no
//!   account, no fee). The chain keeps them beside the batch, so a relayer needs nothing
//!   but this chain's RPC; the contract checks them again.
//! - **Set changes**: when the validators' bridge keys change ([`BridgeSetObserver`]),
//!   the new set gets the next set id, and each target gets a hand-over message that the
//!   old set signs ([`SetChanges`], [`Pallet::sign_set_change`]): the contract then trusts
//!   the new set for the nonces from the hand-over on, and the old one for the nonces
//!   before, for a day.
//!
//! ## Low Level / Implementation Details
//!
//! Signatures are kept as the contract takes them: 65 bytes `r ++ s ++ v` with `v` 27 or
//! 28 and a low `s`. The domain's salt is this chain's genesis hash, read from the parent
//! hash of block 1 ([`GenesisHash`]). Batches older than [`Config::KeptBatches`] of a chain
//! are pruned (a relayer keeps what it relays); sets older than [`KEPT_SETS`] too.

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
use codec::{Decode, DecodeAll, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	pallet_prelude::{
		InvalidTransaction, TransactionSource, TransactionValidityError, ValidTransaction,
	},
	traits::Get,
	weights::Weight,
	BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;
use sp_core::{H160, H256};
use w3b_primitives::{
	bridge::{
		eth_address, outputs_root, set_hash, threshold, BridgeAuthorityId, BridgeDomain,
		BridgeMessage, BridgeOutput, EthSignature, OutputKind, RelayBatch, RelaySetChange, SendTx,
	},
	proof::Output,
	traits::{BridgeSetObserver, BridgeTargets, FinalizedOutputs},
	ProjectId,
};

/// Sets kept for the signatures of recent batches and hand-overs.
pub const KEPT_SETS: u64 = 8;

/// A validator set as the contract knows it.
#[derive(
	CloneNoBound,
	DebugNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxAuthorities))]
#[codec(mel_bound())]
pub struct ValidatorSet<MaxAuthorities: Get<u32>> {
	/// Bridge keys, in ascending order of their Ethereum addresses.
	pub keys: BoundedVec<BridgeAuthorityId, MaxAuthorities>,
	/// Their addresses, ascending (what the contract's set hash is over).
	pub addresses: BoundedVec<H160, MaxAuthorities>,
	/// Signatures a message needs: the least count that is at least two thirds.
	pub threshold: u32,
	/// `set_hash(addresses, threshold)`.
	pub hash: H256,
}

/// An EVM chain the bridge delivers to.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Target {
	/// The `W3bBridge` contract.
	pub contract: H160,
	/// The set the contract was deployed with.
	pub first_set: u64,
}

/// A bridge batch, with the signatures gathered so far.
#[derive(
	CloneNoBound,
	DebugNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxOutputs, MaxAuthorities))]
#[codec(mel_bound(BlockNumber: MaxEncodedLen))]
pub struct Batch<
	BlockNumber: Clone + core::fmt::Debug + PartialEq + Eq,
	MaxOutputs: Get<u32>,
	MaxAuthorities: Get<u32>,
> {
	/// The contract it is for (a moved target's earlier batches stay its old contract's).
	pub contract: H160,
	/// The set that signs it.
	pub set_id: u64,
	/// The block that sealed it.
	pub block_number: BlockNumber,
	/// The root the signatures are over.
	pub outputs_root: H256,
	/// The outputs, in leaf order.
	pub outputs: BoundedVec<BridgeOutput, MaxOutputs>,
	/// `(index of the signer in the set, signature)`, in arrival order.
	pub signatures: BoundedVec<(u32, EthSignature), MaxAuthorities>,
}

/// The hand-over of a target's contract to a new set, signed by the set before it.
#[derive(
	CloneNoBound,
	DebugNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxAuthorities))]
#[codec(mel_bound())]
pub struct SetChange<MaxAuthorities: Get<u32>> {
	/// The contract it is for.
	pub contract: H160,
	/// The first nonce the new set signs.
	pub first_nonce: u64,
	/// The new set's hash.
	pub set_hash: H256,
	/// `(index of the signer in the old set, signature)`, in arrival order.
	pub signatures: BoundedVec<(u32, EthSignature), MaxAuthorities>,
}

/// Why an output was not bridged.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum DropReason {
	/// It is not a [`SendTx`] (an output of an older format).
	Malformed,
	/// No contract is registered for its chain.
	UnknownChain,
	/// It names no address and the project has no receiver on its chain.
	NoReceiver,
	/// Its client id is not UTF-8: the contract takes it as a Solidity `string`, and no
	/// relayer could hand it over (a quorum finalizing such an output could otherwise
	/// hold up every later batch for the chain).
	ClientIdNotUtf8,
}

/// A batch as this runtime stores it.
pub type BatchOf<T> = Batch<
	frame_system::pallet_prelude::BlockNumberFor<T>,
	<T as Config>::MaxBatchOutputs,
	<T as Config>::MaxAuthorities,
>;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Configuration of the pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Who registers and removes target chains (governance).
		type TargetOrigin: EnsureOrigin<Self::RuntimeOrigin>;
		/// Where each project's outputs go (`pallets/projects`).
		type Projects: BridgeTargets;
		/// Most target chains.
		#[pallet::constant]
		type MaxTargets: Get<u32>;
		/// Most outputs in a batch (at most the contract's 256).
		#[pallet::constant]
		type MaxBatchOutputs: Get<u32>;
		/// Most validators in a set.
		#[pallet::constant]
		type MaxAuthorities: Get<u32>;
		/// Batches of each chain kept for relayers; older ones are pruned.
		#[pallet::constant]
		type KeptBatches: Get<u64>;
		/// Priority of the validators' signature transactions in the pool.
		#[pallet::constant]
		type SignaturePriority: Get<TransactionPriority>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// This chain's genesis hash (the EIP-712 domain's salt), read in block 1.
	#[pallet::storage]
	pub type GenesisHash<T: Config> = StorageValue<_, H256, OptionQuery>;

	/// The id of the current validator set (0 before the first).
	#[pallet::storage]
	pub type CurrentSetId<T: Config> = StorageValue<_, u64, ValueQuery>;

	/// The recent validator sets, by id.
	#[pallet::storage]
	pub type Sets<T: Config> =
		StorageMap<_, Twox64Concat, u64, ValidatorSet<T::MaxAuthorities>, OptionQuery>;

	/// Target chains, by EVM chain id.
	#[pallet::storage]
	pub type Targets<T: Config> = CountedStorageMap<_, Twox64Concat, u64, Target, OptionQuery>;

	/// The nonce of each chain's next batch; kept when a target is removed or moved, so
	/// that no nonce is ever used twice.
	#[pallet::storage]
	pub type NextNonces<T: Config> = StorageMap<_, Twox64Concat, u64, u64, ValueQuery>;

	/// Outputs waiting for the next batch of each chain.
	#[pallet::storage]
	pub type Pending<T: Config> =
		StorageMap<_, Twox64Concat, u64, BoundedVec<BridgeOutput, T::MaxBatchOutputs>, ValueQuery>;

	/// The chains with outputs waiting (what the next block seals).
	#[pallet::storage]
	pub type PendingChains<T: Config> = StorageValue<_, BoundedVec<u64, T::MaxTargets>, ValueQuery>;

	/// Bridge batches, by chain and nonce.
	#[pallet::storage]
	pub type Batches<T: Config> =
		StorageDoubleMap<_, Twox64Concat, u64, Twox64Concat, u64, BatchOf<T>, OptionQuery>;

	/// Hand-overs to a new set, by chain and the new set's id.
	#[pallet::storage]
	pub type SetChanges<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		u64,
		Twox64Concat,
		u64,
		SetChange<T::MaxAuthorities>,
		OptionQuery,
	>;

	/// Events of the pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// `chain`'s outputs go to the `W3bBridge` at `contract`, deployed with set
		/// `set_id`.
		TargetSet {
			/// EVM chain id.
			chain: u64,
			/// The contract.
			contract: H160,
			/// The set it trusts first.
			set_id: u64,
		},
		/// `chain` is no longer bridged to (its waiting outputs are dropped).
		TargetRemoved {
			/// EVM chain id.
			chain: u64,
		},
		/// An output of a finalized proof was not bridged.
		OutputDropped {
			/// Its project.
			project: ProjectId,
			/// Its batch.
			batch_seq: u64,
			/// Its place among the batch's outputs.
			index: u32,
			/// Why.
			reason: DropReason,
		},
		/// A bridge batch was sealed: validators sign it once its block is final.
		BatchSealed {
			/// EVM chain id.
			chain: u64,
			/// Its nonce.
			nonce: u64,
			/// The set that signs it.
			set_id: u64,
			/// How many outputs it holds.
			outputs: u32,
			/// Their root.
			outputs_root: H256,
		},
		/// A validator signed a batch.
		BatchSigned {
			/// EVM chain id.
			chain: u64,
			/// The batch.
			nonce: u64,
			/// The signer's index in the set.
			signer: u32,
			/// Signatures now.
			signatures: u32,
			/// Whether they are enough for the contract.
			complete: bool,
		},
		/// The validators' bridge keys changed: set `set_id` signs from now on.
		NewSet {
			/// Its id.
			set_id: u64,
			/// Its hash.
			set_hash: H256,
			/// How many validators.
			size: u32,
		},
		/// A validator of the old set signed a hand-over to set `set_id`.
		SetChangeSigned {
			/// EVM chain id.
			chain: u64,
			/// The new set.
			set_id: u64,
			/// The signer's index in the old set.
			signer: u32,
			/// Signatures now.
			signatures: u32,
			/// Whether they are enough for the contract.
			complete: bool,
		},
	}

	/// Errors of the pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// No contract is registered for this chain.
		UnknownTarget,
		/// As many chains as [`Config::MaxTargets`] are registered.
		TooManyTargets,
		/// Targets need the genesis hash, known from block 1 on.
		NoGenesisHash,
		/// No validator set has bridge keys yet.
		NoValidatorSet,
		/// No such batch (never sealed, or pruned).
		UnknownBatch,
		/// No such hand-over.
		UnknownSetChange,
		/// The signer index is not in the set that signs.
		UnknownSigner,
		/// This signer already signed it.
		AlreadySigned,
		/// The signature is not the signer's over this message (or has a high `s`, or `v`
		/// other than 27 or 28).
		BadSignature,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(n: BlockNumberFor<T>) -> Weight {
			let mut weight = T::DbWeight::get().reads(1);
			if n == 1u32.into() {
				GenesisHash::<T>::put(H256::from_slice(
					frame_system::Pallet::<T>::parent_hash().as_ref(),
				));
				weight.saturating_accrue(T::DbWeight::get().writes(1));
			}
			let chains = PendingChains::<T>::take();
			for chain in &chains {
				weight.saturating_accrue(T::WeightInfo::seal(T::MaxBatchOutputs::get()));
				Self::seal(*chain);
			}
			weight
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Registers (or moves) the `W3bBridge` contract of EVM chain `chain`. The contract
		/// must have been deployed with the current validator set ([`CurrentSetId`]) and
		/// this chain's genesis hash. Nonces go on where they were: batches sealed before a
		/// move stay the old contract's.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::set_target())]
		pub fn set_target(origin: OriginFor<T>, chain: u64, contract: H160) -> DispatchResult {
			T::TargetOrigin::ensure_origin(origin)?;
			ensure!(GenesisHash::<T>::exists(), Error::<T>::NoGenesisHash);
			let set_id = CurrentSetId::<T>::get();
			ensure!(set_id > 0, Error::<T>::NoValidatorSet);
			if !Targets::<T>::contains_key(chain) {
				ensure!(Targets::<T>::count() < T::MaxTargets::get(), Error::<T>::TooManyTargets);
			}
			Targets::<T>::insert(chain, Target { contract, first_set: set_id });
			Self::deposit_event(Event::TargetSet { chain, contract, set_id });
			Ok(())
		}

		/// Stops bridging to `chain`: its waiting outputs are dropped, its batches stay
		/// until pruned, its nonces are kept for a later target.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::remove_target())]
		pub fn remove_target(origin: OriginFor<T>, chain: u64) -> DispatchResult {
			T::TargetOrigin::ensure_origin(origin)?;
			ensure!(Targets::<T>::contains_key(chain), Error::<T>::UnknownTarget);
			Targets::<T>::remove(chain);
			Pending::<T>::remove(chain);
			PendingChains::<T>::mutate(|chains| chains.retain(|c| *c != chain));
			Self::deposit_event(Event::TargetRemoved { chain });
			Ok(())
		}

		/// Adds validator `signer`'s signature (index in the batch's set) of batch `nonce`
		/// of `chain`. Sent by the validator's node as a general transaction: the signature
		/// authorizes it.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::sign_batch())]
		#[pallet::authorize(Self::authorize_sign_batch)]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_signature())]
		pub fn sign_batch(
			origin: OriginFor<T>,
			chain: u64,
			nonce: u64,
			signer: u32,
			signature: EthSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			let (mut batch, threshold) =
				Self::check_batch_signature(chain, nonce, signer, &signature)?;
			batch
				.signatures
				.try_push((signer, signature))
				.map_err(|_| Error::<T>::AlreadySigned)?;
			let signatures = batch.signatures.len() as u32;
			Batches::<T>::insert(chain, nonce, batch);
			Self::deposit_event(Event::BatchSigned {
				chain,
				nonce,
				signer,
				signatures,
				complete: signatures >= threshold,
			});
			Ok(())
		}

		/// Adds old-set validator `signer`'s signature of the hand-over of `chain`'s
		/// contract to set `set_id`.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::sign_set_change())]
		#[pallet::authorize(Self::authorize_sign_set_change)]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_signature())]
		pub fn sign_set_change(
			origin: OriginFor<T>,
			chain: u64,
			set_id: u64,
			signer: u32,
			signature: EthSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			let (mut change, threshold) =
				Self::check_set_change_signature(chain, set_id, signer, &signature)?;
			change
				.signatures
				.try_push((signer, signature))
				.map_err(|_| Error::<T>::AlreadySigned)?;
			let signatures = change.signatures.len() as u32;
			SetChanges::<T>::insert(chain, set_id, change);
			Self::deposit_event(Event::SetChangeSigned {
				chain,
				set_id,
				signer,
				signatures,
				complete: signatures >= threshold,
			});
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	/// The EIP-712 domain of `contract` on `chain`.
	pub fn domain(chain: u64, contract: H160) -> Option<BridgeDomain> {
		Some(BridgeDomain { chain_id: chain, contract, genesis: GenesisHash::<T>::get()? })
	}

	/// The digest of batch `nonce` of `chain`, the batch, and how many signatures it needs.
	pub fn batch_digest(chain: u64, nonce: u64) -> Option<(H256, BatchOf<T>, u32)> {
		Self::signed_batch(chain, nonce).map(|(digest, batch, set)| (digest, batch, set.threshold))
	}

	/// The digest of batch `nonce` of `chain`, the batch, and the set that signs it.
	fn signed_batch(
		chain: u64,
		nonce: u64,
	) -> Option<(H256, BatchOf<T>, ValidatorSet<T::MaxAuthorities>)> {
		let batch = Batches::<T>::get(chain, nonce)?;
		let set = Sets::<T>::get(batch.set_id)?;
		let block: u64 = sp_runtime::SaturatedConversion::saturated_into(batch.block_number);
		let digest = Self::domain(chain, batch.contract)?.batch_digest(
			batch.set_id,
			nonce,
			block,
			batch.outputs_root,
		);
		Some((digest, batch, set))
	}

	/// The digest of the hand-over of `chain` to set `set_id`, the hand-over, and how many
	/// signatures of the set before it needs.
	pub fn set_change_digest(
		chain: u64,
		set_id: u64,
	) -> Option<(H256, SetChange<T::MaxAuthorities>, u32)> {
		Self::signed_set_change(chain, set_id)
			.map(|(digest, change, old)| (digest, change, old.threshold))
	}

	/// The digest of the hand-over of `chain` to set `set_id`, the hand-over, and the set
	/// before it (which signs it).
	fn signed_set_change(
		chain: u64,
		set_id: u64,
	) -> Option<(H256, SetChange<T::MaxAuthorities>, ValidatorSet<T::MaxAuthorities>)> {
		let change = SetChanges::<T>::get(chain, set_id)?;
		let old = Sets::<T>::get(set_id.checked_sub(1)?)?;
		let digest = Self::domain(chain, change.contract)?.set_change_digest(
			set_id,
			change.set_hash,
			change.first_nonce,
		);
		Some((digest, change, old))
	}

	fn check_batch_signature(
		chain: u64,
		nonce: u64,
		signer: u32,
		signature: &EthSignature,
	) -> Result<(BatchOf<T>, u32), Error<T>> {
		let (digest, batch, set) =
			Self::signed_batch(chain, nonce).ok_or(Error::<T>::UnknownBatch)?;
		Self::check_signature(&set, signer, &batch.signatures, digest, signature)?;
		Ok((batch, set.threshold))
	}

	fn check_set_change_signature(
		chain: u64,
		set_id: u64,
		signer: u32,
		signature: &EthSignature,
	) -> Result<(SetChange<T::MaxAuthorities>, u32), Error<T>> {
		let (digest, change, old) =
			Self::signed_set_change(chain, set_id).ok_or(Error::<T>::UnknownSetChange)?;
		Self::check_signature(&old, signer, &change.signatures, digest, signature)?;
		Ok((change, old.threshold))
	}

	/// `signature` is `set`'s member `signer`'s over `digest`, and new among `so_far`.
	fn check_signature(
		set: &ValidatorSet<T::MaxAuthorities>,
		signer: u32,
		so_far: &[(u32, EthSignature)],
		digest: H256,
		signature: &EthSignature,
	) -> Result<(), Error<T>> {
		let key = set.keys.get(signer as usize).ok_or(Error::<T>::UnknownSigner)?;
		if so_far.iter().any(|(who, _)| *who == signer) {
			return Err(Error::<T>::AlreadySigned);
		}
		w3b_primitives::bridge::verify(key, &digest, signature)
			.then_some(())
			.ok_or(Error::<T>::BadSignature)
	}

	fn authorize_sign_batch(
		_source: TransactionSource,
		chain: &u64,
		nonce: &u64,
		signer: &u32,
		signature: &EthSignature,
	) -> frame_support::pallet_prelude::TransactionValidityWithRefund {
		Self::check_batch_signature(*chain, *nonce, *signer, signature)
			.map_err(|_| TransactionValidityError::Invalid(InvalidTransaction::BadProof))?;
		Ok((Self::signature_validity((b"batch", chain, nonce, signer)), Weight::zero()))
	}

	fn authorize_sign_set_change(
		_source: TransactionSource,
		chain: &u64,
		set_id: &u64,
		signer: &u32,
		signature: &EthSignature,
	) -> frame_support::pallet_prelude::TransactionValidityWithRefund {
		Self::check_set_change_signature(*chain, *set_id, *signer, signature)
			.map_err(|_| TransactionValidityError::Invalid(InvalidTransaction::BadProof))?;
		Ok((Self::signature_validity((b"set", chain, set_id, signer)), Weight::zero()))
	}

	/// A signature transaction provides its (message, signer) pair: a second one for the
	/// same pair is a duplicate in the pool.
	fn signature_validity(tag: impl Encode) -> ValidTransaction {
		ValidTransaction::with_tag_prefix("W3bBridge")
			.priority(T::SignaturePriority::get())
			.and_provides(tag)
			.longevity(64)
			.propagate(true)
			.build()
			.unwrap_or_default()
	}

	/// Seals the outputs waiting for `chain` into its next batch.
	fn seal(chain: u64) {
		let outputs = Pending::<T>::take(chain);
		let Some(target) = Targets::<T>::get(chain) else { return };
		if outputs.is_empty() {
			return;
		}
		let nonce = NextNonces::<T>::get(chain);
		NextNonces::<T>::insert(chain, nonce + 1);
		let set_id = CurrentSetId::<T>::get();
		let outputs_root = outputs_root(chain, &outputs);
		let count = outputs.len() as u32;
		Batches::<T>::insert(
			chain,
			nonce,
			Batch {
				contract: target.contract,
				set_id,
				block_number: frame_system::Pallet::<T>::block_number(),
				outputs_root,
				outputs,
				signatures: BoundedVec::new(),
			},
		);
		if let Some(old) = nonce.checked_sub(T::KeptBatches::get()) {
			Batches::<T>::remove(chain, old);
		}
		Self::deposit_event(Event::BatchSealed {
			chain,
			nonce,
			set_id,
			outputs: count,
			outputs_root,
		});
	}

	/// Queues `outputs` for `chain` (reading and writing its waiting outputs once),
	/// sealing each batch that fills up.
	fn queue(chain: u64, outputs: impl IntoIterator<Item = BridgeOutput>) {
		let mut pending = Pending::<T>::get(chain);
		for output in outputs {
			if pending.is_full() {
				Pending::<T>::insert(chain, core::mem::take(&mut pending));
				Self::seal(chain);
			}
			// Not full: sealed above.
			let _ = pending.try_push(output);
		}
		if pending.is_empty() {
			return;
		}
		// Bounded by MaxTargets: only registered chains get here.
		PendingChains::<T>::mutate(|chains| {
			if !chains.contains(&chain) {
				let _ = chains.try_push(chain);
			}
		});
		Pending::<T>::insert(chain, pending);
	}

	/// Where `tx`, an output of `project`, goes: its chain, kind and address.
	fn route(project: ProjectId, tx: &SendTx) -> Result<(OutputKind, H160), DropReason> {
		if !Targets::<T>::contains_key(tx.chain_id) {
			return Err(DropReason::UnknownChain);
		}
		if core::str::from_utf8(&tx.client_id).is_err() {
			return Err(DropReason::ClientIdNotUtf8);
		}
		match tx.to {
			Some(to) => Ok((OutputKind::Call, to)),
			None => match T::Projects::bridge_target(project) {
				Some(target) if target.chain_id == tx.chain_id => {
					Ok((OutputKind::Process, target.receiver))
				}
				_ => Err(DropReason::NoReceiver),
			},
		}
	}
}

impl<T: Config> FinalizedOutputs for Pallet<T> {
	fn outputs_finalized(project: ProjectId, batch_seq: u64, outputs: &[Output]) {
		let mut by_chain: alloc::collections::BTreeMap<u64, Vec<BridgeOutput>> = Default::default();
		for (index, raw) in outputs.iter().enumerate() {
			let routed = SendTx::decode_all(&mut &raw[..])
				.map_err(|_| DropReason::Malformed)
				.and_then(|tx| Self::route(project, &tx).map(|route| (tx, route)));
			match routed {
				Ok((tx, (kind, to))) => {
					by_chain.entry(tx.chain_id).or_default().push(BridgeOutput {
						project,
						batch_seq,
						kind,
						to,
						client_id: tx.client_id,
						data: tx.data,
					})
				}
				Err(reason) => Self::deposit_event(Event::OutputDropped {
					project,
					batch_seq,
					index: index as u32,
					reason,
				}),
			}
		}
		for (chain, outputs) in by_chain {
			Self::queue(chain, outputs);
		}
	}
}

impl<T: Config> BridgeSetObserver for Pallet<T> {
	fn bridge_set_changed(keys: &[BridgeAuthorityId]) {
		let mut members: Vec<(H160, BridgeAuthorityId)> =
			keys.iter().filter_map(|key| Some((eth_address(key)?, key.clone()))).collect();
		members.sort_by(|a, b| a.0.cmp(&b.0));
		members.dedup_by(|a, b| a.0 == b.0);
		members.truncate(T::MaxAuthorities::get() as usize);
		if members.is_empty() {
			return;
		}
		let addresses: Vec<H160> = members.iter().map(|(address, _)| *address).collect();
		let threshold = threshold(addresses.len() as u32);
		let hash = set_hash(&addresses, threshold);
		let current = CurrentSetId::<T>::get();
		if Sets::<T>::get(current).is_some_and(|set| set.hash == hash) {
			return;
		}
		let set_id = current + 1;
		let size = addresses.len() as u32;
		Sets::<T>::insert(
			set_id,
			ValidatorSet {
				keys: BoundedVec::truncate_from(members.into_iter().map(|(_, key)| key).collect()),
				addresses: BoundedVec::truncate_from(addresses),
				threshold,
				hash,
			},
		);
		CurrentSetId::<T>::put(set_id);
		if let Some(old) = set_id.checked_sub(KEPT_SETS) {
			Sets::<T>::remove(old);
		}
		// Every contract trusts the old set until it is handed over.
		for (chain, target) in Targets::<T>::iter() {
			SetChanges::<T>::insert(
				chain,
				set_id,
				SetChange {
					contract: target.contract,
					first_nonce: NextNonces::<T>::get(chain),
					set_hash: hash,
					signatures: BoundedVec::new(),
				},
			);
		}
		Self::deposit_event(Event::NewSet { set_id, set_hash: hash, size });
	}
}

/// Batches back from a chain's newest that [`Pallet::to_sign`] looks at.
pub const SIGNING_WINDOW: u64 = 64;

impl<T: Config> Pallet<T> {
	/// What the validator holding `key` has to sign: the batches of the last
	/// [`SIGNING_WINDOW`] nonces of each chain and the hand-overs whose signing set holds
	/// the key and lacks its signature, each with the key's index in that set and the
	/// digest; at most `limit`.
	pub fn to_sign(key: &BridgeAuthorityId, limit: u32) -> Vec<(BridgeMessage, u32, H256)> {
		let index_in = |set: &ValidatorSet<T::MaxAuthorities>| {
			set.keys.iter().position(|k| k == key).map(|i| i as u32)
		};
		let current = CurrentSetId::<T>::get();
		let mut found = Vec::new();
		for chain in Targets::<T>::iter_keys() {
			for set_id in current.saturating_sub(1).max(1)..=current {
				let Some((digest, change, old)) = Self::signed_set_change(chain, set_id) else {
					continue;
				};
				let Some(signer) = index_in(&old) else { continue };
				if change.signatures.iter().all(|(who, _)| *who != signer) {
					found.push((BridgeMessage::SetChange { chain, set_id }, signer, digest));
				}
			}
			let next = NextNonces::<T>::get(chain);
			for nonce in next.saturating_sub(SIGNING_WINDOW)..next {
				if found.len() >= limit as usize {
					return found;
				}
				let Some((digest, batch, set)) = Self::signed_batch(chain, nonce) else { continue };
				let Some(signer) = index_in(&set) else { continue };
				if batch.signatures.iter().all(|(who, _)| *who != signer) {
					found.push((BridgeMessage::Batch { chain, nonce }, signer, digest));
				}
			}
		}
		found.truncate(limit as usize);
		found
	}

	/// Batch `nonce` of `chain` as a relayer hands it to the contract: signatures ordered
	/// by signer (the set's order: ascending addresses).
	pub fn relay_batch(chain: u64, nonce: u64) -> Option<RelayBatch> {
		let (_, batch, set) = Self::signed_batch(chain, nonce)?;
		Some(RelayBatch {
			set_id: batch.set_id,
			nonce,
			block_number: sp_runtime::SaturatedConversion::saturated_into(batch.block_number),
			outputs_root: batch.outputs_root,
			outputs: batch.outputs.into_inner(),
			signers: set.addresses.into_inner(),
			threshold: set.threshold,
			signatures: ordered(batch.signatures.into_inner()),
		})
	}

	/// The hand-over of `chain`'s contract to set `set_id` as a relayer hands it over.
	pub fn relay_set_change(chain: u64, set_id: u64) -> Option<RelaySetChange> {
		let (_, change, old) = Self::signed_set_change(chain, set_id)?;
		let new = Sets::<T>::get(set_id)?;
		Some(RelaySetChange {
			set_id,
			first_nonce: change.first_nonce,
			new_signers: new.addresses.into_inner(),
			new_threshold: new.threshold,
			signers: old.addresses.into_inner(),
			threshold: old.threshold,
			signatures: ordered(change.signatures.into_inner()),
		})
	}
}

/// Signatures in their signers' order in the set.
fn ordered(mut signatures: Vec<(u32, EthSignature)>) -> Vec<EthSignature> {
	signatures.sort_by_key(|(signer, _)| *signer);
	signatures.into_iter().map(|(_, signature)| signature).collect()
}
