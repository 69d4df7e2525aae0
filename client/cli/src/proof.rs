//! `w3b batch ...`, `w3b message prove`, `w3b watch`: batches, proofs, and checking them.

use codec::Decode;
use serde_json::{json, Value};
use sp_core::crypto::AccountId32;
use sp_core::H256;
use w3b_primitives::{
	merkle::{verify_proof, MerkleProof},
	message::signed_message_hash,
	proof::{Commitment, Proof},
	BlockNumber, DeviceSignature,
};

use crate::{
	chain::{rpc_params, within, Chain, Context},
	keys::{parse_h256, parse_hex},
	output::describe,
	project::resolve,
	runtime, CliError,
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
	/// Fetch a message's Merkle inclusion proof and check it here against the batch's
	/// commitment, read with a storage proof from the state of a finalized block (the
	/// node's finalized head, or `--at`); exit code 6 if anything does not verify.
	Prove {
		/// Project id or name.
		project: String,
		/// The batch's sequence number.
		seq: u64,
		/// The message's hash (as `device send` prints it).
		hash: String,
		/// The hash of a finalized block you trust (from your own node, a block
		/// explorer...): then nothing the node says can make a false proof pass.
		/// Default: the node's finalized head, which is the node's word.
		#[arg(long, value_name = "BLOCK_HASH")]
		at: Option<String>,
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
	let MessageCmd::Prove { project, seq, hash, at } = cmd;
	let message_hash = parse_h256(&hash, "the message hash")?;
	let trusted = at.as_deref().map(|at| parse_h256(at, "--at")).transpose()?;
	let chain = context.connect().await?;
	let id = resolve(&chain, &project).await?;
	let block = match trusted {
		Some(block) => block,
		None => parse_h256(&chain.finalized_head().await?, "the node's finalized head")
			.map_err(|e| CliError::Unverified(e.to_string()))?,
	};
	// The batch's commitment and proof record, from the block's state: a storage proof
	// checked against the state root of the header that hashes to `block`.
	let at_block =
		chain.api.at_current_block().await.map_err(|e| CliError::Other(e.to_string()))?;
	let storage_key = |entry: Result<Vec<u8>, subxt::error::StorageError>| {
		entry.map_err(|e| CliError::Other(format!("the storage key: {e}")))
	};
	let storage = at_block.storage();
	let commitment_key = storage_key(
		storage
			.entry(runtime::storage().commitments().batches())
			.and_then(|entry| entry.fetch_key((id, seq))),
	)?;
	let proof_key = storage_key(
		storage
			.entry(runtime::storage().attestations().proofs())
			.and_then(|entry| entry.fetch_key((id, seq))),
	)?;
	let values = chain.proved_storage(block, &[commitment_key, proof_key]).await?;
	let commitment = match &values[0] {
		Some(bytes) => Commitment::<AccountId32, BlockNumber>::decode(&mut &bytes[..])
			.map_err(|e| CliError::Unverified(format!("the commitment does not decode: {e}")))?,
		None => {
			return Err(CliError::NotFound(format!(
				"batch {seq} of project {project} is not in the commitment window at block \
				 {block:?} (not committed yet, or pruned)"
			)))
		}
	};
	let record = values[1]
		.as_ref()
		.map(|bytes| Proof::<BlockNumber>::decode(&mut &bytes[..]))
		.transpose()
		.map_err(|e| CliError::Unverified(format!("the proof record does not decode: {e}")))?;
	let root = commitment.header.merkle_root;
	let leaf_count = commitment.header.count;
	let answer: Value = chain
		.read(
			"w3b_getMessageProof",
			rpc_params(&[id.into(), seq.into(), hash.clone().into(), format!("{block:?}").into()]),
		)
		.await?;
	if answer.is_null() {
		return Err(CliError::NotFound(format!("message {hash} is not in batch {seq}")));
	}
	let leaf_index = verify_inclusion(&root, leaf_count, &message_hash, &answer)?;
	let status = record.as_ref().map(|r| format!("{:?}", r.status));
	let output_root = record.as_ref().and_then(|r| r.output_root).map(|r| format!("{r:?}"));
	let shown = json!({
		"project": id,
		"batchSeq": seq,
		"messageHash": hash,
		"merkleRoot": format!("{root:?}"),
		"leafIndex": leaf_index,
		"leafCount": leaf_count,
		"block": format!("{block:?}"),
		"blockTrusted": trusted.is_some(),
		"included": true,
		"proofStatus": status,
		"outputRoot": output_root,
	});
	context.out.result(&shown, || {
		let whose = if trusted.is_some() {
			"the block you gave".to_string()
		} else {
			"the node's finalized head (pass --at to check against a block you trust)".to_string()
		};
		format!(
			"verified: message {hash} is leaf {leaf_index} of {leaf_count} of batch {seq}, \
			 root {root:?}, committed in the state of block {block:?}, {whose}; batch proof {}",
			status.as_deref().unwrap_or("not recorded (pruned or not attested yet)")
		)
	});
	Ok(())
}

/// Checks here, with the protocol's own hashing, that `proof` (a `w3b_getMessageProof`
/// answer) puts `message_hash` in the tree of `leaf_count` leaves with `root`, both
/// taken from the batch's commitment rather than from the answer; returns the leaf's
/// index.
fn verify_inclusion(
	root: &H256,
	leaf_count: u32,
	message_hash: &H256,
	proof: &Value,
) -> Result<u32, CliError> {
	let bytes = |key: &str| {
		let text = proof[key].as_str().unwrap_or_default();
		parse_hex(text, key).map_err(|e| CliError::Unverified(e.to_string()))
	};
	let signature = DeviceSignature::decode(&mut &bytes("signature")?[..])
		.map_err(|e| CliError::Unverified(format!("the proof's signature does not decode: {e}")))?;
	let merkle = MerkleProof::decode(&mut &bytes("encoded")?[..])
		.map_err(|e| CliError::Unverified(format!("the proof does not decode: {e}")))?;
	// The leaf binds the message to the signature it was committed with.
	let leaf = signed_message_hash(message_hash, &signature);
	if !verify_proof(root, leaf_count, &leaf, &merkle) {
		return Err(CliError::Unverified(format!(
			"the path does not lead from message {message_hash:?} to the committed root {root:?}"
		)));
	}
	Ok(merkle.leaf_index)
}

#[cfg(test)]
mod tests {
	use super::*;
	use codec::Encode;
	use w3b_primitives::merkle::{merkle_proof, merkle_root};

	/// A batch of four signed messages: its leaves, root and the answer a node gives for
	/// leaf `index`.
	fn batch(index: usize) -> (Vec<H256>, H256, H256, Value) {
		let signature = DeviceSignature::Ed25519([7; 64]);
		let hashes: Vec<H256> = (0..4u8).map(H256::repeat_byte).collect();
		let leaves: Vec<H256> = hashes.iter().map(|h| signed_message_hash(h, &signature)).collect();
		let root = merkle_root(&leaves);
		let path = merkle_proof(&leaves, index).expect("a leaf of the batch");
		let answer = json!({
			"signature": format!("0x{}", hex::encode(signature.encode())),
			"encoded": format!("0x{}", hex::encode(path.encode())),
		});
		(leaves, root, hashes[index], answer)
	}

	#[test]
	fn a_message_of_the_batch_verifies() {
		let (_, root, hash, answer) = batch(2);
		assert_eq!(verify_inclusion(&root, 4, &hash, &answer).expect("verifies"), 2);
	}

	#[test]
	fn what_a_lying_node_can_change_does_not_verify() {
		let (_, root, hash, answer) = batch(2);
		// Another root, another count, another message.
		let unverified =
			|result: Result<u32, CliError>| matches!(result, Err(CliError::Unverified(_)));
		assert!(unverified(verify_inclusion(&H256::repeat_byte(9), 4, &hash, &answer)));
		assert!(unverified(verify_inclusion(&root, 5, &hash, &answer)));
		assert!(unverified(verify_inclusion(&root, 4, &H256::repeat_byte(9), &answer)));
		// Another signature than the one committed: another leaf.
		let mut forged = answer.clone();
		forged["signature"] =
			json!(format!("0x{}", hex::encode(DeviceSignature::Ed25519([8; 64]).encode())));
		assert!(unverified(verify_inclusion(&root, 4, &hash, &forged)));
		// A one-leaf tree made of the message itself is not the committed batch.
		let single = json!({
			"signature": answer["signature"],
			"encoded": format!("0x{}", hex::encode(merkle_proof(&[hash], 0).expect("one leaf").encode())),
		});
		assert!(unverified(verify_inclusion(&root, 4, &hash, &single)));
		// Garbage.
		let garbage = json!({"signature": "0x00", "encoded": "zz"});
		assert!(unverified(verify_inclusion(&root, 4, &hash, &garbage)));
	}
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
	if !batch.is_null() && !batch.is_object() {
		return Err(CliError::NodeSaid {
			method: "w3b_getBatch".into(),
			message: format!("an answer of the wrong shape: {batch}"),
		});
	}
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
