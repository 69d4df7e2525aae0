//! What the relayer reads from the appchain: its bridge targets, batches and set
//! hand-overs, with their signatures, from any node's `w3b_bridge*` JSON-RPC methods
//! (which answer at the finalized block).

use std::future::Future;

use alloy::{
	primitives::{Address, Bytes, B256, U256},
	rpc::client::RpcClient,
};
use serde::Deserialize;
use serde_json::Value;

use crate::{
	contract::{Batch, Output},
	Error, Result,
};

/// An EVM chain the appchain bridges to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
	/// The `W3bBridge` contract registered for it.
	pub contract: Address,
	/// How many batches the appchain has sealed for it (the next batch's nonce).
	pub next_nonce: u64,
	/// The validator set current when it was registered: hand-overs exist to the sets
	/// after it only.
	pub first_set: u64,
}

/// A bridge batch with what `W3bBridge.relay` needs besides the batch.
#[derive(Clone, Debug)]
pub struct SignedBatch {
	pub batch: Batch,
	pub outputs: Vec<Output>,
	/// The signing set's addresses, ascending, and its threshold.
	pub signers: Vec<Address>,
	pub threshold: U256,
	/// The signatures gathered so far (65 bytes each, in their signers' order), joined.
	pub signatures: Bytes,
	/// Whether there are `threshold` signatures.
	pub complete: bool,
}

/// A hand-over of the contract to a new validator set, as `changeValidatorSet` takes it.
#[derive(Clone, Debug)]
pub struct SignedSetChange {
	pub set_id: u64,
	pub new_signers: Vec<Address>,
	pub new_threshold: U256,
	pub first_nonce: u64,
	/// The old set, which signs the hand-over.
	pub signers: Vec<Address>,
	pub threshold: U256,
	pub signatures: Bytes,
	pub complete: bool,
}

/// Where signed batches come from: an appchain node ([`NodeClient`]), or anything that
/// answers the same questions. The answers after a `target` are read from the same
/// state as it (one block of one node), so that "sealed but not there" means pruned,
/// never "asked a node that is behind".
pub trait BatchSource: Send + Sync {
	/// The target registered for `chain`, if any.
	fn target(&self, chain: u64) -> impl Future<Output = Result<Option<Target>>> + Send;
	/// Batch `nonce` for `chain` (`None`: not sealed yet, or pruned).
	fn batch(
		&self,
		chain: u64,
		nonce: u64,
	) -> impl Future<Output = Result<Option<SignedBatch>>> + Send;
	/// The hand-over of `chain`'s contract to set `set_id`.
	fn set_change(
		&self,
		chain: u64,
		set_id: u64,
	) -> impl Future<Output = Result<Option<SignedSetChange>>> + Send;
	/// The appchain's genesis hash (the contract's EIP-712 salt).
	fn genesis_hash(&self) -> impl Future<Output = Result<B256>> + Send;
}

/// An appchain node's JSON-RPC endpoint (`http://` or `https://`). `target` reads the
/// node's finalized head; the batches and hand-overs asked for after it are read at
/// that block.
pub struct NodeClient {
	client: RpcClient,
	url: String,
	pinned: std::sync::Mutex<Option<B256>>,
}

impl NodeClient {
	/// A client of the node at `url`.
	pub fn new(url: &str) -> Result<Self> {
		Ok(NodeClient {
			client: crate::rpc_client(url, "--node-url", crate::REQUEST_TIMEOUT)?,
			url: url.to_string(),
			pinned: Default::default(),
		})
	}

	async fn call<P>(&self, method: &'static str, params: P) -> Result<Value>
	where
		P: serde::Serialize + Clone + Send + Sync + std::fmt::Debug + Unpin + 'static,
	{
		self.client.request::<P, Value>(method, params).await.map_err(|e| {
			Error::Node(format!(
				"{method} at {} (--node-url): {}",
				self.url,
				crate::with_causes(&e)
			))
		})
	}

	/// The block reads are pinned to.
	fn pinned(&self) -> Option<B256> {
		*self.pinned.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
	}

	/// The appchain's genesis hash and current validator set (`set id, signers,
	/// threshold`): what a new contract is deployed with.
	pub async fn deployment(&self) -> Result<(B256, u64, Vec<Address>, U256)> {
		let genesis = self.genesis_hash().await?;
		let set: Option<SetJson> = parse("bridge set", self.call("w3b_bridgeSet", ()).await?)?;
		let set = set
			.ok_or_else(|| Error::Config("the appchain has no bridge validator set yet".into()))?;
		Ok((genesis, set.set_id, set.signers, U256::from(set.threshold)))
	}
}

fn parse<T: for<'de> Deserialize<'de>>(what: &'static str, value: Value) -> Result<T> {
	serde_json::from_value(value).map_err(|e| Error::NodeAnswer { what, reason: e.to_string() })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetJson {
	chain: u64,
	contract: Address,
	next_nonce: u64,
	first_set: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OutputJson {
	project_id: u64,
	batch_seq: u64,
	kind: String,
	to: Address,
	client_id: Bytes,
	data: Bytes,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchJson {
	set_id: u64,
	nonce: u64,
	block_number: u64,
	outputs_root: B256,
	outputs: Vec<OutputJson>,
	signers: Vec<Address>,
	threshold: u64,
	signatures: Vec<Bytes>,
	complete: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetChangeJson {
	set_id: u64,
	first_nonce: u64,
	new_signers: Vec<Address>,
	new_threshold: u64,
	signers: Vec<Address>,
	threshold: u64,
	signatures: Vec<Bytes>,
	complete: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetJson {
	set_id: u64,
	signers: Vec<Address>,
	threshold: u64,
}

/// The signatures joined into the one `bytes` the contract takes, each checked to be 65
/// bytes long (the contract would refuse the whole bundle otherwise).
fn join_signatures(signatures: Vec<Bytes>) -> Result<Bytes> {
	if let Some(bad) = signatures.iter().find(|s| s.len() != 65) {
		return Err(Error::NodeAnswer {
			what: "signature",
			reason: format!("{} bytes, not 65", bad.len()),
		});
	}
	Ok(signatures.concat().into())
}

impl TryFrom<OutputJson> for Output {
	type Error = Error;

	fn try_from(o: OutputJson) -> Result<Self> {
		let kind = match o.kind.as_str() {
			"process" => 0,
			"call" => 1,
			other => return Err(Error::NodeAnswer { what: "output kind", reason: other.into() }),
		};
		// The leaf is over the client id's bytes; the contract takes it as a string, which
		// the appchain only ever fills from a JSON string (UTF-8).
		let client_id = String::from_utf8(o.client_id.to_vec())
			.map_err(|e| Error::NodeAnswer { what: "client id", reason: e.to_string() })?;
		Ok(Output {
			projectId: o.project_id,
			batchSeq: o.batch_seq,
			kind,
			to: o.to,
			clientId: client_id,
			data: o.data,
		})
	}
}

impl BatchSource for NodeClient {
	async fn target(&self, chain: u64) -> Result<Option<Target>> {
		let head: B256 = parse("finalized head", self.call("chain_getFinalizedHead", ()).await?)?;
		*self.pinned.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(head);
		let targets: Vec<TargetJson> =
			parse("bridge targets", self.call("w3b_bridgeTargets", (head,)).await?)?;
		Ok(targets.into_iter().find(|t| t.chain == chain).map(|t| Target {
			contract: t.contract,
			next_nonce: t.next_nonce,
			first_set: t.first_set,
		}))
	}

	async fn batch(&self, chain: u64, nonce: u64) -> Result<Option<SignedBatch>> {
		let value = self.call("w3b_bridgeBatch", (chain, nonce, self.pinned())).await?;
		let Some(b) = parse::<Option<BatchJson>>("bridge batch", value)? else { return Ok(None) };
		if b.nonce != nonce {
			return Err(Error::NodeAnswer {
				what: "bridge batch",
				reason: format!("nonce {} for {nonce}", b.nonce),
			});
		}
		Ok(Some(SignedBatch {
			batch: Batch {
				setId: b.set_id,
				nonce: b.nonce,
				blockNumber: b.block_number,
				outputsRoot: b.outputs_root,
			},
			outputs: b.outputs.into_iter().map(Output::try_from).collect::<Result<_>>()?,
			signers: b.signers,
			threshold: U256::from(b.threshold),
			signatures: join_signatures(b.signatures)?,
			complete: b.complete,
		}))
	}

	async fn genesis_hash(&self) -> Result<B256> {
		parse("genesis hash", self.call("chain_getBlockHash", (0u64,)).await?)
	}

	async fn set_change(&self, chain: u64, set_id: u64) -> Result<Option<SignedSetChange>> {
		let value = self.call("w3b_bridgeSetChange", (chain, set_id, self.pinned())).await?;
		let Some(c) = parse::<Option<SetChangeJson>>("set change", value)? else { return Ok(None) };
		Ok(Some(SignedSetChange {
			set_id: c.set_id,
			new_signers: c.new_signers,
			new_threshold: U256::from(c.new_threshold),
			first_nonce: c.first_nonce,
			signers: c.signers,
			threshold: U256::from(c.threshold),
			signatures: join_signatures(c.signatures)?,
			complete: c.complete,
		}))
	}
}
