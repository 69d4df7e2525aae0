//! `w3b batch ...`, `w3b message prove`, `w3b watch`: batches, proofs, and checking them.

use codec::Decode;
use serde_json::{json, Value};
use sp_core::H256;
use w3b_primitives::{
	merkle::{verify_proof, MerkleProof},
	message::signed_message_hash,
	DeviceSignature,
};

use crate::{
	chain::{rpc_params, within, Chain, Context},
	keys::{parse_h256, parse_hex},
	output::describe,
	project::resolve,
	CliError,
};

/// `w3b batch ...`
#[derive(Debug, clap::Subcommand)]
pub enum BatchCmd {
	/// A committed batch: header, committer, proof status; `--messages` lists its
	/// messages (when the node has the body).
	Show {
		/// Project id or name.
		project: String,
		/// The batch's sequence number.
		seq: u64,
		/// List the batch's messages.
		#[arg(long)]
		messages: bool,
	},
	/// A batch's proof at the finalized head: status, agreed output root and outputs,
	/// votes.
	Proof {
		/// Project id or name.
		project: String,
		/// The batch's sequence number.
		seq: u64,
	},
}

/// `w3b message ...`
#[derive(Debug, clap::Subcommand)]
pub enum MessageCmd {
	/// Fetch a message's Merkle inclusion proof and verify it here against the batch
	/// root committed in a finalized block; exit code 6 if it does not verify.
	Prove {
		/// Project id or name.
		project: String,
		/// The batch's sequence number.
		seq: u64,
		/// The message's hash (as `device send` prints it).
		hash: String,
	},
}

/// `w3b watch ...`
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
	/// Project id or name.
	project: String,
	/// Stop after this many proofs (then `--timeout` bounds the whole wait).
	#[arg(long)]
	count: Option<u64>,
}

pub async fn run_batch(cmd: BatchCmd, context: &Context) -> Result<(), CliError> {
	let chain = context.connect().await?;
	match cmd {
		BatchCmd::Show { project, seq, messages } => {
			let id = resolve(&chain, &project).await?;
			let mut batch = batch_at(&chain, id, seq, None).await?;
			let proof: Value =
				chain.read("w3b_getProof", rpc_params(&[id.into(), seq.into()])).await?;
			if !messages {
				if let Some(list) = batch.as_object_mut().and_then(|b| b.remove("messages")) {
					batch["bodyMessages"] = list.as_array().map(Vec::len).into();
				}
			}
			batch["proofStatus"] = proof["status"].clone();
			context.out.result(&batch, || describe(&batch));
		}
		BatchCmd::Proof { project, seq } => {
			let id = resolve(&chain, &project).await?;
			let head = chain.finalized_head().await?;
			let proof: Value = chain
				.read("w3b_getProof", rpc_params(&[id.into(), seq.into(), head.into()]))
				.await?;
			if proof.is_null() {
				return Err(CliError::NotFound(format!(
					"no proof of batch {seq} of project {project} at the finalized head"
				)));
			}
			context.out.result(&proof, || describe(&proof));
		}
	}
	Ok(())
}

pub async fn run_message(cmd: MessageCmd, context: &Context) -> Result<(), CliError> {
	let MessageCmd::Prove { project, seq, hash } = cmd;
	let message_hash = parse_h256(&hash, "the message hash")?;
	let chain = context.connect().await?;
	let id = resolve(&chain, &project).await?;
	let head = chain.finalized_head().await?;
	let batch = batch_at(&chain, id, seq, Some(&head)).await?;
	let root = parse_h256(batch["merkleRoot"].as_str().unwrap_or_default(), "the batch root")?;
	let leaf_count = batch["count"]
		.as_u64()
		.and_then(|count| u32::try_from(count).ok())
		.ok_or_else(|| CliError::Other(format!("the node's batch has no count: {batch}")))?;
	let proof: Value = chain
		.read(
			"w3b_getMessageProof",
			rpc_params(&[id.into(), seq.into(), hash.clone().into(), head.clone().into()]),
		)
		.await?;
	if proof.is_null() {
		return Err(CliError::NotFound(format!("message {hash} is not in batch {seq}")));
	}
	verify_inclusion(&root, leaf_count, &message_hash, &proof)?;
	let status: Value = chain
		.read("w3b_getProof", rpc_params(&[id.into(), seq.into(), head.clone().into()]))
		.await?;
	let shown = json!({
		"project": id,
		"batchSeq": seq,
		"messageHash": hash,
		"merkleRoot": batch["merkleRoot"],
		"leafIndex": proof["leafIndex"],
		"leafCount": leaf_count,
		"finalizedBlock": head,
		"included": true,
		"proofStatus": status["status"],
		"outputRoot": status["outputRoot"],
	});
	context.out.result(&shown, || {
		format!(
			"verified: message {hash} is leaf {} of {leaf_count} of batch {seq}, root {} (finalized block {head}); batch proof {}",
			proof["leafIndex"],
			batch["merkleRoot"].as_str().unwrap_or("?"),
			status["status"].as_str().unwrap_or("not yet attested")
		)
	});
	Ok(())
}

/// Checks here, with the protocol's own hashing, that `proof` (a `w3b_getMessageProof`
/// answer) puts `message_hash` in the tree of `leaf_count` leaves with `root`, both
/// taken from the batch's commitment rather than from the proof.
fn verify_inclusion(
	root: &H256,
	leaf_count: u32,
	message_hash: &H256,
	proof: &Value,
) -> Result<(), CliError> {
	let field = |key: &str| proof[key].as_str().unwrap_or_default().to_string();
	let signature = DeviceSignature::decode(&mut &parse_hex(&field("signature"), "signature")?[..])
		.map_err(|e| CliError::Unverified(format!("the proof's signature does not decode: {e}")))?;
	let merkle = MerkleProof::decode(&mut &parse_hex(&field("encoded"), "encoded")?[..])
		.map_err(|e| CliError::Unverified(format!("the proof does not decode: {e}")))?;
	// The leaf binds the message to the signature it was committed with.
	let leaf = signed_message_hash(message_hash, &signature);
	if !verify_proof(root, leaf_count, &leaf, &merkle) {
		return Err(CliError::Unverified(format!(
			"the path does not lead from message {message_hash:?} to the committed root {root:?}"
		)));
	}
	Ok(())
}

/// Batch `seq` of `project` at block `at` (the best block if none).
async fn batch_at(
	chain: &Chain,
	project: u64,
	seq: u64,
	at: Option<&str>,
) -> Result<Value, CliError> {
	let mut params = vec![project.into(), seq.into()];
	if let Some(at) = at {
		params.push(at.into());
	}
	let batch: Value = chain.read("w3b_getBatch", rpc_params(&params)).await?;
	if batch.is_null() {
		let final_ = if at.is_some() { " in a finalized block" } else { "" };
		return Err(CliError::NotFound(format!(
			"batch {seq} of project {project} is not committed{final_}"
		)));
	}
	if batch["pruned"] == true {
		return Err(CliError::NotFound(format!(
			"batch {seq} of project {project} is pruned from this node's state: ask an archive node"
		)));
	}
	Ok(batch)
}

pub async fn watch(args: WatchArgs, context: &Context) -> Result<(), CliError> {
	let chain = context.connect().await?;
	let id = resolve(&chain, &args.project).await?;
	let mut proofs = chain
		.rpc
		.subscribe::<Value>(
			"w3b_subscribeFinalizedProofs",
			rpc_params(&[]),
			"w3b_unsubscribeFinalizedProofs",
		)
		.await
		.map_err(|e| CliError::Unreachable { url: context.url.clone(), reason: e.to_string() })?;
	eprintln!("watching project {} for finalized proofs", args.project);
	let follow = async {
		let mut seen = 0u64;
		while args.count.is_none_or(|count| seen < count) {
			let Some(proof) = proofs.next().await else {
				return Err(CliError::Unreachable {
					url: context.url.clone(),
					reason: "the node ended the subscription".into(),
				});
			};
			let mut proof = proof.map_err(|e| CliError::Unreachable {
				url: context.url.clone(),
				reason: e.to_string(),
			})?;
			if proof["project"].as_u64() != Some(id) {
				continue;
			}
			seen += 1;
			let seq = proof["batchSeq"].as_u64().unwrap_or_default();
			// Latency from the batch's commitment (block time) to now, when its proof's
			// block is final.
			let batch = batch_at(&chain, id, seq, None).await.unwrap_or(Value::Null);
			if let Some(committed_ms) = batch["committedAtMs"].as_u64() {
				let now = std::time::SystemTime::now()
					.duration_since(std::time::UNIX_EPOCH)
					.map(|d| d.as_millis() as u64)
					.unwrap_or_default();
				proof["commitToFinalMs"] = now.saturating_sub(committed_ms).into();
			}
			proof["messages"] = batch["count"].clone();
			context.out.result(&proof, || {
				format!(
					"batch {seq}: {} messages, output root {}, {} operators agreed, final in block {}, {} ms after commitment",
					proof["messages"],
					proof["outputRoot"].as_str().unwrap_or("?"),
					proof["agreed"],
					proof["blockNumber"],
					proof["commitToFinalMs"],
				)
			});
		}
		Ok(())
	};
	match args.count {
		Some(_) => within(context.timeout, "the proofs", follow).await,
		None => follow.await,
	}
}
