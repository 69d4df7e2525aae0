//! `w3b_bridge*` JSON-RPC methods: what a relayer hands to the `W3bBridge` contract on an
//! EVM chain, read from the runtime's `BridgeApi` at the finalized block (or at `at`):
//! a relayer never delivers what a reorganisation could take back.

use std::{marker::PhantomData, sync::Arc};

use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use serde_json::{json, Value};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::H256;
use sp_runtime::traits::Block as BlockT;
use w3b_primitives::{
	api::BridgeApi,
	bridge::{output_leaf, output_proofs, BridgeOutput, OutputKind, RelayBatch, RelaySetChange},
};

use crate::{hex, runtime_error};

/// The `w3b_bridge*` methods.
#[rpc(server)]
pub trait W3bBridgeApi<BlockHash> {
	/// The EVM chains bridged to: `[{chain, contract, nextNonce, firstSet}]`.
	#[method(name = "w3b_bridgeTargets")]
	fn targets(&self, at: Option<BlockHash>) -> RpcResult<Vec<Value>>;

	/// The current validator set: `{setId, signers, threshold}` (`null` before any).
	#[method(name = "w3b_bridgeSet")]
	fn set(&self, at: Option<BlockHash>) -> RpcResult<Option<Value>>;

	/// Batch `nonce` of `chain` as `W3bBridge.relay` takes it: `{setId, nonce,
	/// blockNumber, outputsRoot, outputs: [{projectId, batchSeq, kind, to, clientId, data,
	/// leaf, proof}], signers, threshold, signatures, complete}`; `clientId` and `data` as
	/// hex (the bytes the leaf is over), signatures in their signers' order, `complete`
	/// once there are `threshold` of them.
	#[method(name = "w3b_bridgeBatch")]
	fn batch(&self, chain: u64, nonce: u64, at: Option<BlockHash>) -> RpcResult<Option<Value>>;

	/// The hand-over of `chain`'s contract to set `setId` as
	/// `W3bBridge.changeValidatorSet` takes it.
	#[method(name = "w3b_bridgeSetChange")]
	fn set_change(
		&self,
		chain: u64,
		set_id: u64,
		at: Option<BlockHash>,
	) -> RpcResult<Option<Value>>;
}

/// Serves [`W3bBridgeApiServer`] from `C`'s runtime API.
pub struct W3bBridge<C, Block> {
	client: Arc<C>,
	_block: PhantomData<Block>,
}

impl<C, Block> W3bBridge<C, Block> {
	/// The methods over `client`.
	pub fn new(client: Arc<C>) -> Self {
		W3bBridge { client, _block: PhantomData }
	}
}

fn output_json(chain: u64, index: usize, o: &BridgeOutput, proof: Vec<H256>) -> Value {
	json!({
		"projectId": o.project,
		"batchSeq": o.batch_seq,
		"kind": match o.kind { OutputKind::Process => "process", OutputKind::Call => "call" },
		"to": o.to,
		"clientId": hex(&o.client_id),
		"data": hex(&o.data),
		"leaf": output_leaf(chain, index as u32, o),
		"proof": proof,
	})
}

fn batch_json(chain: u64, b: RelayBatch) -> Value {
	json!({
		"chain": chain,
		"setId": b.set_id,
		"nonce": b.nonce,
		"blockNumber": b.block_number,
		"outputsRoot": b.outputs_root,
		"outputs": b.outputs.iter().zip(output_proofs(chain, &b.outputs)).enumerate()
			.map(|(i, (o, proof))| output_json(chain, i, o, proof))
			.collect::<Vec<_>>(),
		"signers": b.signers,
		"threshold": b.threshold,
		"complete": b.signatures.len() >= b.threshold as usize,
		"signatures": b.signatures.iter().map(|s| hex(s)).collect::<Vec<_>>(),
	})
}

fn set_change_json(chain: u64, c: RelaySetChange) -> Value {
	json!({
		"chain": chain,
		"setId": c.set_id,
		"firstNonce": c.first_nonce,
		"newSigners": c.new_signers,
		"newThreshold": c.new_threshold,
		"signers": c.signers,
		"threshold": c.threshold,
		"complete": c.signatures.len() >= c.threshold as usize,
		"signatures": c.signatures.iter().map(|s| hex(s)).collect::<Vec<_>>(),
	})
}

impl<C, Block> W3bBridge<C, Block>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block>,
	C::Api: BridgeApi<Block>,
{
	fn read<R>(
		&self,
		at: Option<Block::Hash>,
		f: impl FnOnce(&sp_api::ApiRef<'_, C::Api>, Block::Hash) -> Result<R, sp_api::ApiError>,
	) -> RpcResult<R> {
		let at = at.unwrap_or_else(|| self.client.info().finalized_hash);
		f(&self.client.runtime_api(), at).map_err(runtime_error)
	}
}

impl<C, Block> W3bBridgeApiServer<Block::Hash> for W3bBridge<C, Block>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: BridgeApi<Block>,
{
	fn targets(&self, at: Option<Block::Hash>) -> RpcResult<Vec<Value>> {
		let targets = self.read(at, |api, at| api.bridge_targets(at))?;
		Ok(targets
			.into_iter()
			.map(|(chain, contract, next_nonce, first_set)| {
				json!({"chain": chain, "contract": contract, "nextNonce": next_nonce, "firstSet": first_set})
			})
			.collect())
	}

	fn set(&self, at: Option<Block::Hash>) -> RpcResult<Option<Value>> {
		let set = self.read(at, |api, at| api.bridge_set(at))?;
		Ok(set.map(
			|(id, signers, threshold)| json!({"setId": id, "signers": signers, "threshold": threshold}),
		))
	}

	fn batch(&self, chain: u64, nonce: u64, at: Option<Block::Hash>) -> RpcResult<Option<Value>> {
		Ok(self
			.read(at, |api, at| api.bridge_batch(at, chain, nonce))?
			.map(|b| batch_json(chain, b)))
	}

	fn set_change(
		&self,
		chain: u64,
		set_id: u64,
		at: Option<Block::Hash>,
	) -> RpcResult<Option<Value>> {
		Ok(self
			.read(at, |api, at| api.bridge_set_change(at, chain, set_id))?
			.map(|c| set_change_json(chain, c)))
	}
}
