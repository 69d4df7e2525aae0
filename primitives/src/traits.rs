//! How the W3bstream pallets reach each other where a direct dependency would be
//! circular: projects need their subnet's size, commitments open and settle attestation
//! rounds. The runtime wires each trait to the pallet that implements it.

use alloc::vec::Vec;
use sp_runtime::DispatchResult;

use crate::{BatchHeader, ProjectId};

/// Read access to projects' subnets (implemented by `pallets/operators`).
pub trait SubnetInspect<AccountId> {
	/// Operators currently in `project`'s subnet.
	fn subnet_size(project: ProjectId) -> u32;
	/// Whether `who` is in `project`'s subnet.
	fn is_member(project: ProjectId, who: &AccountId) -> bool;
	/// The members of `project`'s subnet, in joining order.
	fn members(project: ProjectId) -> Vec<AccountId>;
}

/// Told when a subnet changes size (implemented by `pallets/projects`, which moves
/// projects between Pending and Active).
pub trait SubnetObserver {
	/// `project`'s subnet now has `size` operators.
	fn subnet_changed(project: ProjectId, size: u32);
}

impl SubnetObserver for () {
	fn subnet_changed(_: ProjectId, _: u32) {}
}

/// Told about batches entering and leaving the commitment window (implemented by
/// `pallets/attestations`).
pub trait BatchObserver {
	/// `header` was committed: open its attestation round. An error aborts the
	/// commitment.
	fn batch_committed(header: &BatchHeader) -> DispatchResult;
	/// The batch left the commitment window: forget what is kept about it.
	fn batch_pruned(project: ProjectId, seq: u64);
}

impl BatchObserver for () {
	fn batch_committed(_: &BatchHeader) -> DispatchResult {
		Ok(())
	}
	fn batch_pruned(_: ProjectId, _: u64) {}
}

/// The commitment window of each project (implemented by `pallets/commitments`).
pub trait BatchWindow<BlockNumber> {
	/// The block that included the oldest batch of `project` still in the window, `None`
	/// when it has none.
	fn oldest_commitment(project: ProjectId) -> Option<BlockNumber>;
}

impl<BlockNumber> BatchWindow<BlockNumber> for () {
	fn oldest_commitment(_: ProjectId) -> Option<BlockNumber> {
		None
	}
}

/// Whether a batch's proof is settled (implemented by `pallets/attestations`); only
/// settled batches are pruned.
pub trait ProofInspect {
	/// The batch's proof is finalized or expired and its attestation window closed.
	fn is_settled(project: ProjectId, seq: u64) -> bool;
	/// The batch's proof expired (its messages never counted).
	fn is_expired(project: ProjectId, seq: u64) -> bool;
	/// Makes the batch's proof settled, so benchmarks can measure pruning.
	#[cfg(feature = "runtime-benchmarks")]
	fn settle(project: ProjectId, seq: u64);
}

impl ProofInspect for () {
	fn is_settled(_: ProjectId, _: u64) -> bool {
		true
	}
	fn is_expired(_: ProjectId, _: u64) -> bool {
		false
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn settle(_: ProjectId, _: u64) {}
}

/// Where each project's outputs are delivered by default (implemented by
/// `pallets/projects`).
pub trait BridgeTargets {
	/// The receiver `project` set for its outputs, if any.
	fn bridge_target(project: ProjectId) -> Option<crate::project::BridgeTarget>;
}

impl BridgeTargets for () {
	fn bridge_target(_: ProjectId) -> Option<crate::project::BridgeTarget> {
		None
	}
}

/// Told the agreed outputs of each proof finalized (implemented by `pallets/bridge`).
pub trait FinalizedOutputs {
	/// Batch `batch_seq` of `project` was finalized with `outputs`.
	fn outputs_finalized(project: ProjectId, batch_seq: u64, outputs: &[crate::proof::Output]);
}

impl FinalizedOutputs for () {
	fn outputs_finalized(_: ProjectId, _: u64, _: &[crate::proof::Output]) {}
}

/// Told when the validators' bridge keys change (implemented by `pallets/bridge`).
pub trait BridgeSetObserver {
	/// From now on the validators sign with `keys`.
	fn bridge_set_changed(keys: &[crate::bridge::BridgeAuthorityId]);
}

impl BridgeSetObserver for () {
	fn bridge_set_changed(_: &[crate::bridge::BridgeAuthorityId]) {}
}

/// What other pallets read about `did:w3b` DIDs (implemented by `pallets/did`).
pub trait DidKeys<BlockNumber> {
	/// The DID's authentication key and the block it was set in, while the DID is
	/// active.
	fn authentication_key(did: &crate::did::DidId) -> Option<(crate::DeviceKey, BlockNumber)>;
	/// The DID's assertion key (the one that signs credentials it issues), while the DID
	/// is active and has one.
	fn assertion_key(did: &crate::did::DidId) -> Option<crate::DeviceKey>;
	/// The block the DID was deactivated in, if it was.
	fn deactivated_at(did: &crate::did::DidId) -> Option<BlockNumber>;
	/// Makes an active DID whose authentication and assertion key is `key`, for other
	/// pallets' benchmarks.
	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_did(key: crate::DeviceKey) -> crate::did::DidId;
}

/// No DIDs (a runtime without the DID pallet).
impl<BlockNumber> DidKeys<BlockNumber> for () {
	fn authentication_key(_: &crate::did::DidId) -> Option<(crate::DeviceKey, BlockNumber)> {
		None
	}
	fn assertion_key(_: &crate::did::DidId) -> Option<crate::DeviceKey> {
		None
	}
	fn deactivated_at(_: &crate::did::DidId) -> Option<BlockNumber> {
		None
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_did(_: crate::DeviceKey) -> crate::did::DidId {
		unimplemented!("a runtime without DIDs benchmarks no DID call")
	}
}
