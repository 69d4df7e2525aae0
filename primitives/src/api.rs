//! `W3bstreamApi`: what the node reads from the runtime for its worker and its `w3b_*`
//! JSON-RPC methods.

use alloc::vec::Vec;
use codec::Codec;
use sp_core::{H160, H256};

use crate::{
	bridge::{BridgeAuthorityId, BridgeMessage, RelayBatch, RelaySetChange},
	credential::{CredentialHash, CredentialRecord, CredentialStatus},
	did::{DidId, DidState},
	inbound::{Cursor, Subscription},
	operator::OperatorInfo,
	project::{Applet, CodeInfo, DeviceRecord, ProjectInfo},
	proof::{Commitment, FinalizedProof, Head, Proof, Vote},
	validity::Invalid,
	DeviceId, ProjectId,
};

/// Index of an applet within its project.
pub type AppletId = u32;

sp_api::decl_runtime_apis! {
	/// Read access to the W3bstream protocol state.
	pub trait W3bstreamApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// A project by id.
		fn project(id: ProjectId) -> Option<ProjectInfo<AccountId, Balance, BlockNumber>>;
		/// A project's id by its name.
		fn project_id(name: Vec<u8>) -> Option<ProjectId>;
		/// A project's applets.
		fn applets(project: ProjectId) -> Vec<(AppletId, Applet)>;
		/// A WASM module by hash.
		fn code(hash: H256) -> Option<Vec<u8>>;
		/// What is known about a WASM module.
		fn code_info(hash: H256) -> Option<CodeInfo<AccountId, Balance>>;
		/// A device of a project.
		fn device(project: ProjectId, device: DeviceId) -> Option<DeviceRecord<BlockNumber>>;
		/// Devices of a project, in the order asked (one call for a whole batch).
		fn devices(project: ProjectId, devices: Vec<DeviceId>) -> Vec<Option<DeviceRecord<BlockNumber>>>;
		/// The operators of a project's subnet.
		fn subnet(project: ProjectId) -> Vec<AccountId>;
		/// An operator.
		fn operator(who: AccountId) -> Option<OperatorInfo<Balance, BlockNumber>>;
		/// The number the project's next batch will get.
		fn next_batch_seq(project: ProjectId) -> u64;
		/// A batch still in the commitment window.
		fn batch(project: ProjectId, seq: u64) -> Option<Commitment<AccountId, BlockNumber>>;
		/// The number of the project's batch that `committer` committed with this Merkle
		/// root, if any.
		fn batch_seq_of_root(project: ProjectId, committer: AccountId, root: H256) -> Option<u64>;
		/// The proof of a batch in the commitment window.
		fn proof(project: ProjectId, seq: u64) -> Option<Proof<BlockNumber>>;
		/// The proofs finalized in this block (its `ProofFinalized` events), in order.
		fn finalized_proofs() -> Vec<FinalizedProof<AccountId>>;
		/// `who`'s vote for batch `seq` in its open round, if it voted.
		fn vote(project: ProjectId, seq: u64, who: AccountId) -> Option<Vote>;
		/// Where the project's settled history ends: the batch that can be finalized
		/// next and the state its votes must have run on.
		fn head(project: ProjectId) -> Head;
		/// For batch `seq` while it is pending: the output root a quorum of its round voted
		/// on the state `previous`, and those voters in the order they voted. Once the
		/// project's head is at `seq` with that state, anyone holding the root's state root
		/// and outputs may finalize it (`finalize`).
		fn quorum_on(project: ProjectId, seq: u64, previous: H256) -> Option<(H256, Vec<AccountId>)>;
		/// The accepted report against batch `seq`, if any: reporter, the message hash
		/// shown and why it could never count.
		fn invalid_batch_report(project: ProjectId, seq: u64) -> Option<(AccountId, H256, Invalid)>;
		/// Whether a bad signature of `device` in a batch committed at `committed_at` would
		/// prove its committer's fault as of this block (not for a device registered by a
		/// DID whose key changed around the commitment).
		fn signature_judged(project: ProjectId, device: DeviceId, committed_at: BlockNumber) -> bool;
	}
}

sp_api::decl_runtime_apis! {
	/// What validators sign for the IoTeX bridge, and what relayers hand to its contract.
	pub trait BridgeApi {
		/// The messages the validator holding `key` has not signed yet (the recent batches
		/// and hand-overs of every target chain whose signing set holds the key), with the
		/// key's index in that set and the EIP-712 digest to sign; at most `limit`.
		fn bridge_to_sign(key: BridgeAuthorityId, limit: u32) -> Vec<(BridgeMessage, u32, H256)>;
		/// Batch `nonce` of EVM chain `chain`, with its signing set and signatures.
		fn bridge_batch(chain: u64, nonce: u64) -> Option<RelayBatch>;
		/// The hand-over of `chain`'s contract to set `set_id`, with the old set's signatures.
		fn bridge_set_change(chain: u64, set_id: u64) -> Option<RelaySetChange>;
		/// Target chains: chain id, contract, the nonce of the next batch, the set the
		/// contract was deployed with.
		fn bridge_targets() -> Vec<(u64, H160, u64, u64)>;
		/// The current validator set: id, addresses (ascending) and threshold.
		fn bridge_set() -> Option<(u64, Vec<H160>, u32)>;
	}
}

sp_api::decl_runtime_apis! {
	/// What operators read to observe EVM logs for their projects, and the bodies of the
	/// batches made on chain.
	pub trait InboundApi<AccountId>
	where
		AccountId: Codec,
	{
		/// A project's subscriptions: id, subscription and cursor (where the open range
		/// starts).
		fn subscriptions(project: ProjectId) -> Vec<(u32, Subscription, Cursor)>;
		/// The hash of the observation `who` voted on the open range of a subscription.
		fn observation_vote(project: ProjectId, subscription: u32, who: AccountId) -> Option<H256>;
		/// The body of batch `seq` if it was made on chain (and is in the window).
		fn on_chain_body(project: ProjectId, seq: u64) -> Option<Vec<u8>>;
	}
}

sp_api::decl_runtime_apis! {
	/// What resolvers read about `did:w3b` DIDs.
	pub trait DidApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// What the chain holds about a DID at this block.
		fn did(id: DidId) -> DidState<AccountId, Balance, BlockNumber>;
	}
}

sp_api::decl_runtime_apis! {
	/// What verifiers read about anchored credentials.
	pub trait CredentialsApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// `issuer`'s anchored credential's record, with its status as verifiers must take it
		/// (revoked once its issuer is deactivated) and the block that status holds from.
		fn credential(
			issuer: DidId,
			hash: CredentialHash,
		) -> Option<(CredentialRecord<AccountId, Balance, BlockNumber>, CredentialStatus, BlockNumber)>;
		/// The credential at `index` of `issuer`'s status lists.
		fn status_entry(issuer: DidId, index: u32) -> Option<CredentialHash>;
		/// The indices of `issuer`'s status lists whose credentials are not active.
		fn status_list(issuer: DidId) -> Vec<(u32, CredentialStatus)>;
	}
}
