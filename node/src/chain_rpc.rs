//! What the command-line tools (`wallet`, `governance`) need from a running node: JSON-RPC
//! calls over HTTP, transactions signed by an account given as a secret URI, and waiting
//! with progress for their effect.

use std::time::{Duration, Instant};

use codec::{Decode, Encode};
use serde_json::{json, Value};
use sp_core::{sr25519, Pair, H256};
use sp_runtime::traits::{BlakeTwo256, Hash as _};
use w3b_runtime::{RuntimeCall, RuntimeError, RuntimeEvent};

/// An event with where it happened in its block.
pub type EventRecord = frame_system::EventRecord<RuntimeEvent, H256>;

/// How long a tool waits for a transaction's effect on the chain.
const INCLUSION_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a call to the node failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainRpcError {
	/// A JSON-RPC call failed.
	#[error("JSON-RPC {method} at {url}: {message}")]
	Rpc {
		/// The method.
		method: String,
		/// The endpoint.
		url: String,
		/// What went wrong.
		message: String,
	},
	/// The node's answer is not what the tool expected.
	#[error("the node answered no {0}")]
	Answer(&'static str),
	/// The signer is not a secret URI.
	#[error("{0} is not a secret URI (e.g. //Alice, a mnemonic or a 0x seed): {1}")]
	Signer(&'static str, String),
	/// The chain did not show the transaction's effect in time.
	#[error("{0} did not happen within {1:?}: see the node's log for why the transaction failed")]
	Timeout(&'static str, Duration),
	/// The transaction was included and failed.
	#[error("the transaction failed in block #{0}: {1}")]
	Failed(u32, String),
}

/// A node's JSON-RPC endpoint.
pub struct ChainRpc {
	url: String,
}

/// What signing a transaction needs from the chain.
pub struct ChainInfo {
	/// The genesis hash.
	pub genesis: H256,
	/// The best block's number.
	pub best: u32,
	/// The runtime's spec version.
	pub spec_version: u32,
	/// The runtime's transaction version.
	pub tx_version: u32,
}

impl ChainRpc {
	/// The endpoint at `url` (HTTP).
	pub fn new(url: &str) -> Self {
		ChainRpc { url: url.to_string() }
	}

	/// Calls `method` with `params`.
	pub fn call(&self, method: &str, params: Value) -> Result<Value, ChainRpcError> {
		let error = |message: String| ChainRpcError::Rpc {
			method: method.to_string(),
			url: self.url.clone(),
			message,
		};
		let response = ureq::post(&self.url)
			.timeout(Duration::from_secs(30))
			.send_json(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
			.map_err(|e| error(e.to_string()))?;
		let mut body: Value = response.into_json().map_err(|e| error(e.to_string()))?;
		if let Some(e) = body.get("error") {
			return Err(error(e.to_string()));
		}
		Ok(body["result"].take())
	}

	/// The best block's number.
	pub fn best(&self) -> Result<u32, ChainRpcError> {
		let header = self.call("chain_getHeader", json!([]))?;
		header["number"]
			.as_str()
			.and_then(|n| u32::from_str_radix(n.trim_start_matches("0x"), 16).ok())
			.ok_or(ChainRpcError::Answer("best block"))
	}

	/// The chain's genesis, best block and runtime versions.
	pub fn info(&self) -> Result<ChainInfo, ChainRpcError> {
		let genesis = self.call("chain_getBlockHash", json!([0]))?;
		let genesis: H256 =
			serde_json::from_value(genesis).map_err(|_| ChainRpcError::Answer("genesis hash"))?;
		let best = self.best()?;
		let version = self.call("state_getRuntimeVersion", json!([]))?;
		let number = |field: &'static str| {
			version[field].as_u64().map(|n| n as u32).ok_or(ChainRpcError::Answer(field))
		};
		Ok(ChainInfo {
			genesis,
			best,
			spec_version: number("specVersion")?,
			tx_version: number("transactionVersion")?,
		})
	}

	/// Signs `call` as `payer` and submits it; returns the transaction's hash.
	pub fn submit(
		&self,
		payer: &sr25519::Pair,
		chain: &ChainInfo,
		call: RuntimeCall,
	) -> Result<H256, ChainRpcError> {
		let account: w3b_runtime::AccountId = payer.public().into();
		let nonce = self.call("system_accountNextIndex", json!([account.to_string()]))?;
		let nonce: u32 =
			serde_json::from_value(nonce).map_err(|_| ChainRpcError::Answer("nonce"))?;
		let payload = w3b_runtime::immortal_signed_payload(
			call,
			nonce,
			chain.spec_version,
			chain.tx_version,
			chain.genesis,
		);
		let signature = payload.using_encoded(|bytes| payer.sign(bytes));
		let transaction = w3b_runtime::signed_transaction(
			payload,
			account,
			sp_runtime::MultiSignature::Sr25519(signature),
		);
		let encoded = sp_core::bytes::to_hex(&transaction.encode(), false);
		let hash = self.call("author_submitExtrinsic", json!([encoded]))?;
		serde_json::from_value(hash).map_err(|_| ChainRpcError::Answer("transaction hash"))
	}

	/// Signs `call` as `payer`, submits it and waits until a best block includes it;
	/// returns that block's number and events, or the error the call failed with.
	pub fn submit_included(
		&self,
		tool: &str,
		payer: &sr25519::Pair,
		call: RuntimeCall,
	) -> Result<(u32, Vec<EventRecord>), ChainRpcError> {
		let chain = self.info()?;
		let transaction = self.submit(payer, &chain, call)?;
		let mut next = chain.best + 1;
		let mut included = None;
		self.wait(tool, "the transaction in a block", || {
			let best = self.best()?;
			while next <= best && included.is_none() {
				let hash = self.call("chain_getBlockHash", json!([next]))?;
				let block = self.call("chain_getBlock", json!([hash]))?;
				let extrinsics =
					block["block"]["extrinsics"].as_array().cloned().unwrap_or_default();
				included = extrinsics
					.iter()
					.position(|xt| {
						xt.as_str()
							.and_then(|hex| sp_core::bytes::from_hex(hex).ok())
							.is_some_and(|bytes| BlakeTwo256::hash(&bytes) == transaction)
					})
					.map(|index| (next, index as u32));
				next += 1;
			}
			Ok::<_, ChainRpcError>(included.is_some())
		})?;
		let (number, index) = included.expect("the wait ends once the block is found");
		let events = self.events_at(number)?;
		for record in &events {
			if record.phase != frame_system::Phase::ApplyExtrinsic(index) {
				continue;
			}
			if let RuntimeEvent::System(frame_system::Event::ExtrinsicFailed {
				dispatch_error,
				..
			}) = &record.event
			{
				let error = RuntimeError::from_dispatch_error(*dispatch_error)
					.map(|e| format!("{e:?}"))
					.unwrap_or_else(|| format!("{dispatch_error:?}"));
				return Err(ChainRpcError::Failed(number, error));
			}
		}
		Ok((number, events))
	}

	/// The value under storage `key`, SCALE-decoded: at the best block, or at block `at`.
	pub fn storage<T: Decode>(
		&self,
		key: &[u8],
		at: Option<Value>,
	) -> Result<Option<T>, ChainRpcError> {
		let key = sp_core::bytes::to_hex(key, false);
		let value = match at {
			Some(at) => self.call("state_getStorage", json!([key, at]))?,
			None => self.call("state_getStorage", json!([key]))?,
		};
		let Some(hex) = value.as_str() else { return Ok(None) };
		let bytes =
			sp_core::bytes::from_hex(hex).map_err(|_| ChainRpcError::Answer("storage hex"))?;
		T::decode(&mut &bytes[..]).map(Some).map_err(|_| ChainRpcError::Answer("storage value"))
	}

	/// The events of block `number`.
	pub fn events_at(&self, number: u32) -> Result<Vec<EventRecord>, ChainRpcError> {
		let hash = self.call("chain_getBlockHash", json!([number]))?;
		// `System::Events` (its storage type is private).
		let key =
			[sp_io::hashing::twox_128(b"System"), sp_io::hashing::twox_128(b"Events")].concat();
		Ok(self.storage(&key, Some(hash))?.unwrap_or_default())
	}

	/// Polls `done` until it holds, printing progress on stderr as `[tool] waiting for
	/// what....`.
	pub fn wait<E: From<ChainRpcError>>(
		&self,
		tool: &str,
		what: &'static str,
		mut done: impl FnMut() -> Result<bool, E>,
	) -> Result<(), E> {
		let start = Instant::now();
		eprint!("[{tool}] waiting for {what}");
		while start.elapsed() < INCLUSION_TIMEOUT {
			if done()? {
				eprintln!(" done ({:.1} s)", start.elapsed().as_secs_f64());
				return Ok(());
			}
			eprint!(".");
			std::thread::sleep(Duration::from_millis(500));
		}
		eprintln!();
		Err(ChainRpcError::Timeout(what, INCLUSION_TIMEOUT).into())
	}
}

/// The sr25519 pair of the secret URI `suri`, given as option `option`.
pub fn signer_pair(option: &'static str, suri: &str) -> Result<sr25519::Pair, ChainRpcError> {
	sr25519::Pair::from_string(suri, None)
		.map_err(|e| ChainRpcError::Signer(option, format!("{e:?}")))
}
