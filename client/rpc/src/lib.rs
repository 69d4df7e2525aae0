//! `w3b_*` JSON-RPC methods: what dApps, devices and operators ask the chain about the
//! W3bstream protocol. Each read method reads the runtime's `W3bstreamApi` at the best
//! block, or at `at` when given, and answers `null` for what does not exist. With the
//! node's data ([`NodeData`]) the methods also submit device messages
//! (`w3b_submitEvent`), list a batch's messages (`w3b_getBatch`), prove a message's
//! inclusion (`w3b_getMessageProof`) and stream finalized proofs
//! (`w3b_subscribeFinalizedProofs`).
//!
//! Answers are JSON objects with camelCase fields. Names, event types and handlers are
//! UTF-8 strings; other bytes are `0x` hex; balances are decimal strings (they exceed
//! JSON's safe integers); accounts are in the runtime's JSON form (SS58 for the
//! W3bstream runtime).

#![deny(missing_docs)]

mod bridge;
mod did;
pub use bridge::{W3bBridge, W3bBridgeApiServer};
pub use did::{status_name, ChainAt, W3bDid, W3bDidApiServer};

use std::{marker::PhantomData, sync::Arc};

use codec::{Codec, Encode};
use jsonrpsee::{
	core::RpcResult,
	proc_macros::rpc,
	types::{error::ErrorObject, ErrorObjectOwned},
	PendingSubscriptionSink, SubscriptionMessage,
};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{json, Value};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::{Bytes, H256};
use sp_runtime::traits::Block as BlockT;
use w3b_ingest::{wire::WireMessage, IngestError, Ingestor};
use w3b_primitives::{
	api::{InboundApi, W3bstreamApi},
	operator::OperatorInfo,
	project::{Applet, CodeInfo, DeviceRecord, ProjectInfo},
	proof::{Commitment, Proof},
	AppletId, BatchHeader, DeviceId, ProjectId,
};
use w3b_storage::Vfs;

/// Error code of a failed runtime API call.
pub const RUNTIME_ERROR: i32 = 1;
/// Error code of a refused message (`data.code` is the ingestion error code).
pub const MESSAGE_REFUSED: i32 = 2;
/// Error code of a method this node cannot serve (it keeps no W3bstream data).
pub const UNAVAILABLE: i32 = 3;

/// Finalized proofs, one JSON object each, from the block they were finalized in once
/// GRANDPA finalized that block: read once by the node and sent to every subscriber.
pub type ProofBroadcast = tokio::sync::broadcast::Sender<Value>;

/// Data calls (bodies read and hashed, messages stored) running at once; past this a
/// call is refused with [`UNAVAILABLE`] rather than queued on the node's threads.
pub const MAX_DATA_CALLS: usize = 32;

/// What the data methods need from the node.
#[derive(Clone)]
pub struct NodeData {
	/// Checks and stores submitted messages.
	pub ingestor: Arc<Ingestor>,
	/// Batch bodies.
	pub vfs: Arc<dyn Vfs>,
	/// Finalized proofs, as the node reads them.
	pub finalized_proofs: ProofBroadcast,
	/// Slots for data calls running at once ([`MAX_DATA_CALLS`]).
	pub data_calls: Arc<tokio::sync::Semaphore>,
}

impl NodeData {
	/// Data for the methods: `ingestor`, `vfs` and the node's `finalized_proofs`.
	pub fn new(
		ingestor: Arc<Ingestor>,
		vfs: Arc<dyn Vfs>,
		finalized_proofs: ProofBroadcast,
	) -> Self {
		NodeData {
			ingestor,
			vfs,
			finalized_proofs,
			data_calls: Arc::new(tokio::sync::Semaphore::new(MAX_DATA_CALLS)),
		}
	}

	/// A slot for a data call, or why there is none now.
	fn slot(&self) -> RpcResult<tokio::sync::OwnedSemaphorePermit> {
		self.data_calls.clone().try_acquire_owned().map_err(|_| {
			ErrorObject::owned(
				UNAVAILABLE,
				format!("{MAX_DATA_CALLS} data calls are running; try again"),
				None::<()>,
			)
		})
	}
}

/// The `w3b_*` read methods.
#[rpc(server)]
pub trait W3bApi<BlockHash, AccountId> {
	/// A project by id: owner, name, metadata, status, configuration, deposit.
	#[method(name = "w3b_getProject")]
	fn project(&self, project: ProjectId, at: Option<BlockHash>) -> RpcResult<Option<Value>>;

	/// The id of the open project with this name.
	#[method(name = "w3b_getProjectId")]
	fn project_id(&self, name: String, at: Option<BlockHash>) -> RpcResult<Option<ProjectId>>;

	/// A project's applets, in registration order.
	#[method(name = "w3b_getApplets")]
	fn applets(&self, project: ProjectId, at: Option<BlockHash>) -> RpcResult<Vec<Value>>;

	/// A WASM module by hash.
	#[method(name = "w3b_getCode")]
	fn code(&self, hash: H256, at: Option<BlockHash>) -> RpcResult<Option<Bytes>>;

	/// Facts about a WASM module: owner, deposit, size, references, exported functions.
	#[method(name = "w3b_getCodeInfo")]
	fn code_info(&self, hash: H256, at: Option<BlockHash>) -> RpcResult<Option<Value>>;

	/// A device of a project by id.
	#[method(name = "w3b_getDevice")]
	fn device(
		&self,
		project: ProjectId,
		device: DeviceId,
		at: Option<BlockHash>,
	) -> RpcResult<Option<Value>>;

	/// The operators of a project's subnet, in joining order.
	#[method(name = "w3b_getSubnet")]
	fn subnet(&self, project: ProjectId, at: Option<BlockHash>) -> RpcResult<Vec<AccountId>>;

	/// An operator: bond, unlocking, endpoints, DID, subnets.
	#[method(name = "w3b_getOperator")]
	fn operator(&self, operator: AccountId, at: Option<BlockHash>) -> RpcResult<Option<Value>>;

	/// A committed batch: its header and committer while in the commitment window, and
	/// `madeOnChain` (the chain made it from EVM logs a quorum of the subnet observed;
	/// its committer is the member whose vote completed the quorum), `"pruned": true`
	/// alone once pruned (ask an archive node at an earlier block); with
	/// `"messages"` (in batch order, each as devices send it plus its `hash`) when this
	/// node has the body.
	#[method(name = "w3b_getBatch", blocking)]
	fn batch(
		&self,
		project: ProjectId,
		batch_seq: u64,
		at: Option<BlockHash>,
	) -> RpcResult<Option<Value>>;

	/// The number the project's next batch will have.
	#[method(name = "w3b_getNextBatchSeq")]
	fn next_batch_seq(&self, project: ProjectId, at: Option<BlockHash>) -> RpcResult<u64>;

	/// The proof of a batch: status, agreed output root and outputs, votes, deadline.
	#[method(name = "w3b_getProof")]
	fn proof(
		&self,
		project: ProjectId,
		batch_seq: u64,
		at: Option<BlockHash>,
	) -> RpcResult<Option<Value>>;

	/// Checks and stores a device message (the JSON object devices send over HTTP);
	/// answers its hash once durably stored, or error [`MESSAGE_REFUSED`] with the
	/// ingestion error code in `data.code`. All callers share one sender budget
	/// (`--w3b-sender-rate`, [`w3b_ingest::connections::RPC_SENDER`]), charged before
	/// anything is checked.
	#[method(name = "w3b_submitEvent", blocking)]
	fn submit_event(&self, project: ProjectId, message: Value) -> RpcResult<H256>;

	/// The Merkle inclusion proof of message `hash` in batch `batch_seq` of `project`:
	/// `{merkleRoot, messageHash, signature, leaf, leafIndex, leafCount, siblings,
	/// encoded}` where `leaf` is the message hash bound to the committed `signature`
	/// (SCALE `DeviceSignature`; `w3b_primitives::message::signed_message_hash`) and
	/// `encoded` the SCALE `w3b_primitives::merkle::MerkleProof`, verifiable offline with
	/// `w3b_primitives::merkle::verify_proof` against the committed root; `null` if the
	/// message is not in the batch.
	#[method(name = "w3b_getMessageProof", blocking)]
	fn message_proof(
		&self,
		project: ProjectId,
		batch_seq: u64,
		hash: H256,
		at: Option<BlockHash>,
	) -> RpcResult<Option<Value>>;

	/// Every proof finalized from now on, once its block is GRANDPA-final:
	/// `{project, batchSeq, outputRoot, stateRoot, previousStateRoot, agreed, dissenters,
	/// blockNumber, blockHash}`.
	#[subscription(
		name = "w3b_subscribeFinalizedProofs" => "w3b_finalizedProof",
		unsubscribe = "w3b_unsubscribeFinalizedProofs",
		item = Value
	)]
	fn subscribe_finalized_proofs(&self);
}

/// Implements [`W3bApiServer`] over a client of a runtime with `W3bstreamApi`.
pub struct W3b<C, Block, AccountId, Balance, BlockNumber> {
	client: Arc<C>,
	data: Option<NodeData>,
	_marker: PhantomData<(Block, AccountId, Balance, BlockNumber)>,
}

impl<C, Block, AccountId, Balance, BlockNumber> W3b<C, Block, AccountId, Balance, BlockNumber> {
	/// Methods reading through `client`; the data methods answer [`UNAVAILABLE`].
	pub fn new(client: Arc<C>) -> Self {
		W3b { client, data: None, _marker: PhantomData }
	}

	/// Serves the data methods from `data` too.
	pub fn with_data(mut self, data: NodeData) -> Self {
		self.data = Some(data);
		self
	}

	fn data(&self) -> RpcResult<&NodeData> {
		self.data.as_ref().ok_or_else(|| {
			ErrorObject::owned(UNAVAILABLE, "this node keeps no W3bstream data", None::<()>)
		})
	}
}

/// The body of a committed batch if this node has it, or why no body can match the
/// commitment (its CID names none, or the body under it contradicts it: a copy of
/// another operator's commitment with another size or count).
fn body_of(
	vfs: &dyn Vfs,
	header: &BatchHeader,
) -> RpcResult<Result<Option<w3b_storage::BatchBody>, w3b_storage::BodyError>> {
	match w3b_storage::load_body(vfs, header) {
		Ok(body) => Ok(Ok(body)),
		Err(w3b_storage::LoadError::Body(e)) => Ok(Err(e)),
		Err(e) => Err(ErrorObject::owned(
			RUNTIME_ERROR,
			format!("reading the batch body: {e}"),
			None::<()>,
		)),
	}
}

fn message_json(stored: &w3b_storage::StoredMessage) -> Value {
	let mut json =
		serde_json::to_value(WireMessage::new(&stored.message, stored.signature.as_bytes()))
			.unwrap_or(Value::Null);
	json["hash"] = json!(stored.message.hash());
	json
}

fn runtime_error(error: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObject::owned(RUNTIME_ERROR, format!("runtime API call failed: {error}"), None::<()>)
}

fn invalid_params(message: String) -> ErrorObjectOwned {
	ErrorObject::owned(jsonrpsee::types::error::INVALID_PARAMS_CODE, message, None::<()>)
}

fn text(bytes: &[u8]) -> String {
	String::from_utf8_lossy(bytes).into_owned()
}

fn hex(bytes: &[u8]) -> String {
	sp_core::bytes::to_hex(bytes, false)
}

fn project_json<A: Serialize, B: ToString, N: Serialize>(
	id: ProjectId,
	p: ProjectInfo<A, B, N>,
) -> Value {
	let c = p.config;
	json!({
		"id": id,
		"owner": p.owner,
		"name": text(&p.name),
		"metadata": text(&p.metadata),
		"status": p.status,
		"config": {
			"env": c.env.iter().map(|v| json!({"key": text(&v.key), "value": text(&v.value)})).collect::<Vec<_>>(),
			"retention": {
				"maxAgeSecs": c.retention.max_age_secs,
				"maxBytes": c.retention.max_bytes,
			},
			"fuelPerBatch": c.fuel_per_batch,
			"minOperators": c.min_operators,
			"attestationDeadline": c.attestation_deadline,
			"rewardPerBatch": c.reward_per_batch.to_string(),
			"bridge": c.bridge.map(|b| json!({"chainId": b.chain_id, "receiver": b.receiver})),
		},
		"depositor": p.depositor,
		"deposit": p.deposit.to_string(),
		"createdAt": p.created_at,
	})
}

fn applet_json(id: AppletId, a: Applet) -> Value {
	json!({
		"id": id,
		"name": text(&a.name),
		"codeHash": a.code_hash,
		"version": a.version,
		"strategies": a.strategies.iter()
			.map(|s| json!({"eventType": text(&s.event_type), "handler": text(&s.handler)}))
			.collect::<Vec<_>>(),
	})
}

fn code_info_json<A: Serialize, B: ToString>(c: CodeInfo<A, B>) -> Value {
	json!({
		"owner": c.owner,
		"deposit": c.deposit.to_string(),
		"len": c.len,
		"refs": c.refs,
		"exports": c.exports.iter().map(|e| text(e)).collect::<Vec<_>>(),
	})
}

fn device_json<N: Serialize>(id: DeviceId, d: DeviceRecord<N>) -> Value {
	use w3b_primitives::DeviceKey;
	let (curve, key) = match &d.key {
		DeviceKey::Ed25519(k) => ("ed25519", hex(k)),
		DeviceKey::Sr25519(k) => ("sr25519", hex(k)),
		DeviceKey::Secp256k1(k) => ("secp256k1", hex(k)),
	};
	json!({
		"id": id,
		"curve": curve,
		"publicKey": key,
		"did": d.did.as_deref().map(|did| text(did)),
		"byDid": d.by_did.as_ref().map(w3b_primitives::did::format_did),
		"status": d.status,
		"registeredAt": d.registered_at,
		"revokedAt": d.revoked_at,
	})
}

fn operator_json<B: ToString, N: Serialize>(o: OperatorInfo<B, N>) -> Value {
	json!({
		"bond": o.bond.to_string(),
		"unlocking": o.unlocking.iter()
			.map(|c| json!({"amount": c.amount.to_string(), "unlockAt": c.unlock_at}))
			.collect::<Vec<_>>(),
		"endpoints": {"mqtt": text(&o.endpoints.mqtt), "http": text(&o.endpoints.http)},
		"did": o.did.as_deref().map(|did| text(did)),
		"subnets": o.subnets.into_inner(),
		"registeredAt": o.registered_at,
	})
}

fn batch_json<A: Serialize, N: Serialize>(c: Commitment<A, N>) -> Value {
	let h = c.header;
	json!({
		"project": h.project,
		"seq": h.seq,
		"merkleRoot": h.merkle_root,
		"count": h.count,
		"bytes": h.bytes,
		"cid": hex(&h.cid),
		"committer": c.committer,
		"committedAt": c.committed_at,
		"committedAtMs": c.committed_at_ms,
		"pruned": false,
	})
}

fn proof_json<N: Serialize>(p: Proof<N>) -> Value {
	json!({
		"merkleRoot": p.merkle_root,
		"status": p.status,
		"outputRoot": p.output_root,
		"stateRoot": p.state_root,
		"previousStateRoot": p.previous_state_root,
		"outputs": p.outputs.iter().map(|o| hex(o)).collect::<Vec<_>>(),
		"subnetSize": p.subnet_size,
		"agreed": p.agreed,
		"deadline": p.deadline,
		"settledAt": p.settled_at,
	})
}

impl<C, Block, AccountId, Balance, BlockNumber> W3b<C, Block, AccountId, Balance, BlockNumber>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: W3bstreamApi<Block, AccountId, Balance, BlockNumber> + InboundApi<Block, AccountId>,
	AccountId: Codec,
	Balance: Codec,
	BlockNumber: Codec,
{
	/// Calls `f` on the runtime API at `at` or the best block.
	fn read<R>(
		&self,
		at: Option<Block::Hash>,
		f: impl FnOnce(&sp_api::ApiRef<'_, C::Api>, Block::Hash) -> Result<R, sp_api::ApiError>,
	) -> RpcResult<R> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		f(&self.client.runtime_api(), at).map_err(runtime_error)
	}
}

impl<C, Block, AccountId, Balance, BlockNumber> W3bApiServer<Block::Hash, AccountId>
	for W3b<C, Block, AccountId, Balance, BlockNumber>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: W3bstreamApi<Block, AccountId, Balance, BlockNumber> + InboundApi<Block, AccountId>,
	AccountId: Codec + Serialize + DeserializeOwned + Send + Sync + 'static,
	Balance: Codec + ToString + Send + Sync + 'static,
	BlockNumber: Codec + Serialize + Send + Sync + 'static,
{
	fn project(&self, project: ProjectId, at: Option<Block::Hash>) -> RpcResult<Option<Value>> {
		let info = self.read(at, |api, at| api.project(at, project))?;
		Ok(info.map(|p| project_json(project, p)))
	}

	fn project_id(&self, name: String, at: Option<Block::Hash>) -> RpcResult<Option<ProjectId>> {
		self.read(at, |api, at| api.project_id(at, name.into_bytes()))
	}

	fn applets(&self, project: ProjectId, at: Option<Block::Hash>) -> RpcResult<Vec<Value>> {
		let applets = self.read(at, |api, at| api.applets(at, project))?;
		Ok(applets.into_iter().map(|(id, a)| applet_json(id, a)).collect())
	}

	fn code(&self, hash: H256, at: Option<Block::Hash>) -> RpcResult<Option<Bytes>> {
		Ok(self.read(at, |api, at| api.code(at, hash))?.map(Bytes))
	}

	fn code_info(&self, hash: H256, at: Option<Block::Hash>) -> RpcResult<Option<Value>> {
		Ok(self.read(at, |api, at| api.code_info(at, hash))?.map(code_info_json))
	}

	fn device(
		&self,
		project: ProjectId,
		device: DeviceId,
		at: Option<Block::Hash>,
	) -> RpcResult<Option<Value>> {
		let record = self.read(at, |api, at| api.device(at, project, device))?;
		Ok(record.map(|d| device_json(device, d)))
	}

	fn subnet(&self, project: ProjectId, at: Option<Block::Hash>) -> RpcResult<Vec<AccountId>> {
		self.read(at, |api, at| api.subnet(at, project))
	}

	fn operator(&self, operator: AccountId, at: Option<Block::Hash>) -> RpcResult<Option<Value>> {
		Ok(self.read(at, |api, at| api.operator(at, operator))?.map(operator_json))
	}

	fn batch(
		&self,
		project: ProjectId,
		batch_seq: u64,
		at: Option<Block::Hash>,
	) -> RpcResult<Option<Value>> {
		let (batch, next, made_on_chain) = self.read(at, |api, at| {
			Ok((
				api.batch(at, project, batch_seq)?,
				api.next_batch_seq(at, project)?,
				api.on_chain_body(at, project, batch_seq)?.is_some(),
			))
		})?;
		Ok(match batch {
			Some(batch) => {
				// The slot is held until the answer is built: its JSON is a few times the
				// body's size.
				let (_slot, body) = match &self.data {
					Some(data) => {
						let slot = data.slot()?;
						(Some(slot), body_of(&*data.vfs, &batch.header)?)
					}
					None => (None, Ok(None)),
				};
				let mut json = batch_json(batch);
				json["madeOnChain"] = json!(made_on_chain);
				match body {
					Ok(Some(body)) => {
						json["messages"] = body.messages.iter().map(message_json).collect()
					}
					Ok(None) => {}
					Err(unservable) => json["unservable"] = json!(unservable.to_string()),
				}
				Some(json)
			}
			None if batch_seq < next => {
				Some(json!({"project": project, "seq": batch_seq, "pruned": true}))
			}
			None => None,
		})
	}

	fn next_batch_seq(&self, project: ProjectId, at: Option<Block::Hash>) -> RpcResult<u64> {
		self.read(at, |api, at| api.next_batch_seq(at, project))
	}

	fn proof(
		&self,
		project: ProjectId,
		batch_seq: u64,
		at: Option<Block::Hash>,
	) -> RpcResult<Option<Value>> {
		Ok(self.read(at, |api, at| api.proof(at, project, batch_seq))?.map(proof_json))
	}

	fn submit_event(&self, project: ProjectId, message: Value) -> RpcResult<H256> {
		let data = self.data()?;
		let _slot = data.slot()?;
		let refused = |e: IngestError| {
			ErrorObject::owned(MESSAGE_REFUSED, e.to_string(), Some(json!({"code": e.code()})))
		};
		let wire: WireMessage = serde_json::from_value(message)
			.map_err(|e| refused(IngestError::Malformed(e.to_string())))?;
		let parts = wire.into_parts().map_err(refused)?;
		let sender = w3b_ingest::connections::RPC_SENDER;
		let result = data.ingestor.ingest_from(sender, project, vec![parts], w3b_ingest::now_ms());
		result
			.into_iter()
			.next()
			.unwrap_or(Err(IngestError::Storage("no answer".into())))
			.map_err(refused)
	}

	fn message_proof(
		&self,
		project: ProjectId,
		batch_seq: u64,
		hash: H256,
		at: Option<Block::Hash>,
	) -> RpcResult<Option<Value>> {
		let data = self.data()?;
		let _slot = data.slot()?;
		let Some(batch) = self.read(at, |api, at| api.batch(at, project, batch_seq))? else {
			return Ok(None);
		};
		let body = match body_of(&*data.vfs, &batch.header)? {
			Ok(Some(body)) => body,
			Ok(None) => {
				return Err(ErrorObject::owned(
					UNAVAILABLE,
					format!("this node does not have the body of batch {batch_seq}"),
					None::<()>,
				))
			}
			Err(unservable) => {
				return Err(ErrorObject::owned(
					UNAVAILABLE,
					format!("no body can match batch {batch_seq}: {unservable}"),
					None::<()>,
				))
			}
		};
		let Some(index) = body.messages.iter().position(|m| m.message.hash() == hash) else {
			return Ok(None);
		};
		let Some(proof) = w3b_primitives::merkle::merkle_proof(&body.leaves(), index) else {
			return Ok(None);
		};
		let signature = &body.messages[index].signature;
		Ok(Some(json!({
			"project": project,
			"batchSeq": batch_seq,
			"merkleRoot": batch.header.merkle_root,
			"messageHash": hash,
			"signature": hex(&signature.encode()),
			"leaf": body.messages[index].signed_hash(),
			"leafIndex": proof.leaf_index,
			"leafCount": proof.leaf_count,
			"siblings": proof.siblings.iter().collect::<Vec<_>>(),
			"encoded": hex(&proof.encode()),
		})))
	}

	fn subscribe_finalized_proofs(&self, pending: PendingSubscriptionSink) {
		let proofs = self.data.as_ref().map(|data| data.finalized_proofs.subscribe());
		tokio::spawn(async move {
			let Some(mut proofs) = proofs else {
				pending
					.reject(ErrorObject::owned(
						UNAVAILABLE,
						"this node keeps no W3bstream data",
						None::<()>,
					))
					.await;
				return;
			};
			let Ok(sink) = pending.accept().await else { return };
			loop {
				tokio::select! {
					proof = proofs.recv() => {
						// A subscriber too slow to keep up is dropped (it catches up with
						// `w3b_getProof` and subscribes again) rather than buffered for.
						let Ok(proof) = proof else { return };
						let Ok(message) = SubscriptionMessage::from_json(&proof) else { return };
						if sink.send(message).await.is_err() {
							return;
						}
					}
					_ = sink.closed() => return,
				}
			}
		});
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn past_the_data_call_slots_a_call_is_refused_not_queued() {
		let dir = tempfile::tempdir().unwrap();
		let store = Arc::new(w3b_storage::EmbeddedStore::open(&dir.path().join("m")).unwrap());
		let vfs = Arc::new(w3b_storage::FsVfs::open(&dir.path().join("v")).unwrap());
		let chain = Arc::new(w3b_ingest::MemoryChain::default());
		let ingestor = Arc::new(Ingestor::new(store, chain, w3b_ingest::Limits::default()));
		let (proofs, _) = tokio::sync::broadcast::channel(1);
		let data = NodeData::new(ingestor, vfs, proofs);
		let running: Vec<_> = (0..MAX_DATA_CALLS).map(|_| data.slot().unwrap()).collect();
		let refused = data.slot().expect_err("one call too many");
		assert_eq!(refused.code(), UNAVAILABLE);
		assert!(refused.message().contains("try again"), "{}", refused.message());
		drop(running);
		assert!(data.slot().is_ok(), "slots come back when calls end");
	}
	use w3b_primitives::{
		project::{DeviceStatus, ProjectConfig, ProjectStatus},
		DeviceKey,
	};

	#[test]
	fn project_json_is_readable() {
		let info = ProjectInfo::<u64, u128, u32> {
			owner: 7,
			name: b"weather".to_vec().try_into().unwrap(),
			metadata: b"{}".to_vec().try_into().unwrap(),
			status: ProjectStatus::Active,
			config: ProjectConfig { reward_per_batch: u128::MAX, ..Default::default() },
			depositor: 7,
			deposit: 10,
			created_at: 3,
		};
		let json = project_json(2, info);
		assert_eq!(json["name"], "weather");
		assert_eq!(json["status"], "Active");
		assert_eq!(json["config"]["rewardPerBatch"], u128::MAX.to_string());
		assert_eq!(json["config"]["minOperators"], 1);
		assert_eq!(json["config"]["retention"]["maxAgeSecs"], 0);
		assert_eq!(json["config"]["bridge"], Value::Null);
	}

	#[test]
	fn device_json_names_the_curve() {
		let record = DeviceRecord::<u32> {
			key: DeviceKey::Secp256k1([2; 33]),
			did: Some(b"did:io:0x1".to_vec().try_into().unwrap()),
			by_did: Some(H256::repeat_byte(1)),
			status: DeviceStatus::Revoked,
			registered_at: 1,
			revoked_at: Some(1),
		};
		let json = device_json(H256::zero(), record);
		assert_eq!(json["curve"], "secp256k1");
		assert_eq!(json["byDid"], w3b_primitives::did::format_did(&H256::repeat_byte(1)));
		assert_eq!(json["publicKey"], format!("0x{}", "02".repeat(33)));
		assert_eq!(json["did"], "did:io:0x1");
		assert_eq!(json["status"], "Revoked");
	}
}
