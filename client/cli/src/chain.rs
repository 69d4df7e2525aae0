//! The connection to a node: transactions signed and followed to finality, the node's
//! `w3b_*` reads, amounts in the chain's token.

use std::{future::Future, time::Duration};

use codec::Encode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sp_core::H256;
use subxt::{
	config::{substrate::SubstrateHeader, DefaultExtrinsicParamsBuilder},
	error::{DispatchError, TransactionEventsError, TransactionStatusError},
	extrinsics::ExtrinsicEvents,
	rpcs::{client::RpcParams, RpcClient},
	tx::{Payload, TransactionStatus},
	OnlineClient, SubstrateConfig,
};

use crate::{
	amount::Token,
	keys::{hex_0x, parse_hex, AccountSigner, KeyOptions},
	output::Output,
	CliError,
};

/// What every command gets: where the node is, how long to wait, the signing key and
/// how to print.
pub struct Context {
	pub url: String,
	pub timeout: u64,
	pub key: KeyOptions,
	pub out: Output,
}

impl Context {
	/// Connects to the node.
	pub async fn connect(&self) -> Result<Chain, CliError> {
		let unreachable = |reason: String| CliError::Unreachable { url: self.url.clone(), reason };
		let connecting = async {
			let rpc = RpcClient::from_insecure_url(&self.url)
				.await
				.map_err(|e| unreachable(e.to_string()))?;
			let api = OnlineClient::<SubstrateConfig>::from_rpc_client(rpc.clone())
				.await
				.map_err(|e| unreachable(e.to_string()))?;
			let properties: Value = rpc
				.request("system_properties", RpcParams::new())
				.await
				.map_err(|e| unreachable(e.to_string()))?;
			Ok::<_, CliError>(Chain {
				api,
				rpc,
				token: Token::from_properties(&properties),
				timeout: self.timeout,
			})
		};
		within(self.timeout, "the node to answer", connecting).await
	}

	/// The key that signs this command's transactions.
	pub fn signer(&self) -> Result<AccountSigner, CliError> {
		AccountSigner::from_options(&self.key)
	}
}

/// A connected node.
pub struct Chain {
	pub api: OnlineClient<SubstrateConfig>,
	pub rpc: RpcClient,
	pub token: Token,
	timeout: u64,
}

impl Chain {
	/// Signs `call` with `signer`, submits it and follows it until it is in a finalized
	/// block, reporting progress on stderr; returns its events, or the chain's reason
	/// for refusing it. `what` names the action in messages ("create project thermo").
	pub async fn submit<Call: Payload>(
		&self,
		what: &str,
		call: &Call,
		signer: &AccountSigner,
	) -> Result<ExtrinsicEvents<SubstrateConfig>, CliError> {
		let refused = |reason: String, hint: Option<String>| CliError::Refused {
			by: "the chain",
			what: what.to_string(),
			reason,
			hint,
		};
		let follow = async {
			// The next nonce counting the account's transactions already in the pool, so
			// that commands run back to back (or side by side) do not collide.
			let nonce: u64 = self
				.read("system_accountNextIndex", rpc_params(&[Value::from(signer.ss58())]))
				.await?;
			let params =
				DefaultExtrinsicParamsBuilder::<SubstrateConfig>::new().nonce(nonce).build();
			let mut transactions = self.api.tx().await.map_err(|e| self.unreachable(e))?;
			let mut progress = transactions
				.sign_and_submit_then_watch(call, signer, params)
				.await
				.map_err(|e| {
					let text = e.to_string();
					let hint = refusal_hint(&text);
					refused(text, hint)
				})?;
			eprintln!("{what}: submitted {:?}", progress.extrinsic_hash());
			while let Some(status) = progress.next().await {
				let status = status.map_err(|e| self.unreachable(e))?;
				match status {
					TransactionStatus::InBestBlock(block) => {
						eprintln!("{what}: in block {:?}, waiting for finality", block.block_hash())
					}
					TransactionStatus::InFinalizedBlock(block) => {
						return match block.wait_for_success().await {
							Ok(events) => {
								eprintln!("{what}: final in block {:?}", block.block_hash());
								Ok(events)
							}
							Err(TransactionEventsError::ExtrinsicFailed(error)) => {
								let (reason, hint) = dispatch_error(&error);
								Err(refused(reason, hint))
							}
							Err(e) => Err(self.unreachable(e)),
						};
					}
					TransactionStatus::Invalid { message }
					| TransactionStatus::Dropped { message }
					| TransactionStatus::Error { message } => {
						let hint = refusal_hint(&message);
						return Err(refused(message, hint));
					}
					_ => {}
				}
			}
			Err(refused(
				TransactionStatusError::Error("the node stopped reporting on it".into())
					.to_string(),
				None,
			))
		};
		within(self.timeout, &format!("{what} to be final"), follow).await
	}

	/// Calls the node's method `method` (a `w3b_*` read or a standard one).
	pub async fn read<T: DeserializeOwned>(
		&self,
		method: &str,
		params: RpcParams,
	) -> Result<T, CliError> {
		within(self.timeout, &format!("{method} to answer"), async {
			self.rpc.request(method, params).await.map_err(|e| match e {
				subxt::rpcs::Error::User(e) => {
					CliError::NodeSaid { method: method.to_string(), message: e.message }
				}
				subxt::rpcs::Error::Deserialization(e) => CliError::NodeSaid {
					method: method.to_string(),
					message: format!("an answer of the wrong shape ({e})"),
				},
				e => CliError::Unreachable {
					url: "the node".to_string(),
					reason: format!("{method}: {e}"),
				},
			})
		})
		.await
	}

	/// The values of storage `keys` in the state of block `block`, checked here: the
	/// header the node gives must hash to `block`, and the node's storage proof must
	/// lead to that header's state root. A node can withhold them but not forge them.
	pub async fn proved_storage(
		&self,
		block: H256,
		keys: &[Vec<u8>],
	) -> Result<Vec<Option<Vec<u8>>>, CliError> {
		let at = format!("{block:?}");
		let header: Option<SubstrateHeader<H256>> =
			self.read("chain_getHeader", rpc_params(&[at.clone().into()])).await?;
		let header = header
			.ok_or_else(|| CliError::NotFound(format!("the node does not know block {at}")))?;
		if H256(sp_crypto_hashing::blake2_256(&header.encode())) != block {
			return Err(CliError::Unverified(format!(
				"the node's header of block {at} does not hash to it"
			)));
		}
		let hex_keys: Vec<Value> = keys.iter().map(|key| hex_0x(key).into()).collect();
		let read: Value = self
			.read("state_getReadProof", rpc_params(&[Value::Array(hex_keys), at.clone().into()]))
			.await?;
		let nodes = read["proof"]
			.as_array()
			.ok_or_else(|| CliError::Unverified(format!("the node's storage proof is {read}")))?
			.iter()
			.map(|node| parse_hex(node.as_str().unwrap_or_default(), "a proof node"))
			.collect::<Result<Vec<_>, _>>()
			.map_err(|e| CliError::Unverified(e.to_string()))?;
		let values = sp_state_machine::read_proof_check::<sp_core::Blake2Hasher, _>(
			header.state_root,
			sp_state_machine::StorageProof::new(nodes),
			keys,
		)
		.map_err(|e| {
			CliError::Unverified(format!("the node's storage proof does not check: {e}"))
		})?;
		Ok(keys.iter().map(|key| values.get(key).cloned().flatten()).collect())
	}

	/// The hash of the latest finalized block.
	pub async fn finalized_head(&self) -> Result<String, CliError> {
		self.read("chain_getFinalizedHead", RpcParams::new()).await
	}

	fn unreachable(&self, e: impl std::fmt::Display) -> CliError {
		CliError::Unreachable { url: "the node".into(), reason: e.to_string() }
	}
}

/// JSON-RPC positional parameters.
pub fn rpc_params(values: &[Value]) -> RpcParams {
	let mut params = RpcParams::new();
	for value in values {
		params.push(value).expect("a JSON value serializes");
	}
	params
}

/// Runs `work` for at most `secs` seconds.
pub async fn within<T>(
	secs: u64,
	what: &str,
	work: impl Future<Output = Result<T, CliError>>,
) -> Result<T, CliError> {
	tokio::time::timeout(Duration::from_secs(secs), work)
		.await
		.unwrap_or_else(|_| Err(CliError::TimedOut { what: what.to_string(), secs }))
}

/// The chain's reason for failing a transaction, with the error's documentation, and
/// what to do when there is an obvious answer.
fn dispatch_error(error: &DispatchError) -> (String, Option<String>) {
	match error {
		DispatchError::Module(module) => match module.details() {
			Ok(details) => {
				let name = format!("{}.{}", details.pallet.name(), details.variant.name);
				let docs = details.variant.docs.join(" ");
				let reason = if docs.is_empty() { name.clone() } else { format!("{name}: {docs}") };
				(reason, module_hint(&name))
			}
			Err(_) => (module.details_string(), None),
		},
		DispatchError::Token(token) => {
			let hint = Some("fund the signing account (it pays fees and deposits)".to_string());
			(format!("token error: {token}"), hint)
		}
		other => (other.to_string(), None),
	}
}

/// What to do after a pallet error, for the errors users meet most.
fn module_hint(name: &str) -> Option<String> {
	let hint = match name {
		"Projects.NotOwner" | "Operators.NotProjectOwner" => {
			"sign with the project owner's key (--suri, --key-file or --keystore)"
		}
		"Projects.NameTaken" => "choose another name, or `w3b project show NAME` to see it",
		"Projects.UnknownProject" => "`w3b project list` shows the projects",
		"Projects.UnknownHandler" => {
			"a --strategy names a function the module does not export; `w3b applet run` lists them"
		}
		"Projects.DeviceExists" => {
			"the key is registered already (a revoked key stays until `device remove`)"
		}
		"Operators.NotOperator" => "register first: `w3b operator register --bond AMOUNT`",
		"Operators.BelowMinBond" => "bond at least the chain's minimum (100 W3B on dev chains)",
		"Operators.AlreadyRegistered" => "this account is an operator already",
		_ => return None,
	};
	Some(hint.to_string())
}

/// What to do after the node refused a transaction before it reached a block.
fn refusal_hint(message: &str) -> Option<String> {
	let lower = message.to_lowercase();
	if lower.contains("pay") || lower.contains("balance") {
		Some("the signing account cannot pay the fee: fund it first".into())
	} else if lower.contains("stale") || lower.contains("future") || lower.contains("priority") {
		Some("another transaction of this account is pending; try again in a block".into())
	} else {
		None
	}
}
