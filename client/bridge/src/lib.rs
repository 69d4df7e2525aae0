//! The bridge's EVM side: deploying `W3bBridge` and relaying what the appchain's
//! validators signed to it; and, inbound, reading the contract logs operators observe
//! for their projects ([`logs`]).
//!
//! The appchain gathers finalized outputs addressed to an EVM chain into bridge batches
//! and its validators sign them (`pallets/bridge`, `node/src/bridge.rs`); the node serves
//! them, signatures included, over `w3b_bridgeBatch`. The relayer here reads them from
//! any node and hands them to the contract. It is permissionless: the contract checks
//! every signature and every Merkle path, so a relayer can delay a delivery but never
//! forge, alter or repeat one. What the relayer owes is liveness and economy:
//!
//! - **Idempotent.** Before every transaction it reads what the contract already has
//!   (a verified batch, the delivered bitmap) and asks the EVM node to simulate the call
//!   (`eth_estimateGas`); "already verified" and "already delivered" are success. After
//!   a transaction it reads the contract again: the bitmap, not the receipt, says what
//!   was delivered.
//! - **Restart-safe.** Its only state ([`state`]) is the next batch to relay and the
//!   outputs waiting for a retry, written after the contract confirmed them; on start it
//!   waits out its own transactions still pending. A restart at any point neither loses
//!   a batch (the cursor moves only past confirmed work) nor repeats one (the contract's
//!   state is read first).
//! - **One nonce manager per key, fee bumping, confirmations** ([`evm`]): transactions
//!   are signed with explicit nonces; one not mined in time is sent again with the same
//!   nonce and a higher gas price, up to a cap; a receipt counts after the configured
//!   number of confirmations.
//! - **Retries for transient errors only** (a node or EVM endpoint down, a timeout:
//!   backoff up to a minute); a batch the contract refuses, a batch pruned before it was
//!   relayed and an output whose receiver kept failing are written to a record of
//!   permanent failures (`failures.jsonl`) and skipped.
//! - **Prometheus metrics** ([`metrics`]).

pub mod cli;
pub mod contract;
pub mod evm;
pub mod logs;
pub mod metrics;
pub mod node;
pub mod relayer;
pub mod state;

pub use cli::BridgeCmd;

/// What can go wrong talking to the appchain node, the EVM chain or the disk.
#[derive(Debug, thiserror::Error)]
pub enum Error {
	/// The appchain node could not be reached or answered with an error.
	#[error("appchain node: {0}")]
	Node(String),
	/// The appchain node answered something the relayer cannot read (retried: another
	/// answer, or another node behind the same address, may do).
	#[error("appchain node answered an unreadable {what}: {reason}")]
	NodeAnswer { what: &'static str, reason: String },
	/// The EVM endpoint could not be reached, timed out or answered with a server error.
	#[error("EVM endpoint: {0}")]
	Evm(String),
	/// The contract refuses the call (its custom error, decoded where it is known).
	#[error("the contract refuses {call}: {reason}")]
	Refused { call: &'static str, reason: String },
	/// The relayer's key cannot pay for its transactions.
	#[error("the relayer's account {0} cannot pay for gas: fund it")]
	InsufficientFunds(String),
	/// A transaction was not mined even at the highest gas price allowed.
	#[error("transaction with nonce {nonce} not mined at the highest gas price allowed ({gas_price} wei)")]
	NotMined { nonce: u64, gas_price: u128 },
	/// The relayer's state or failure record could not be read or written.
	#[error("relayer state {path}: {reason}")]
	State { path: String, reason: String },
	/// A setting or key is unusable.
	#[error("{0}")]
	Config(String),
}

impl Error {
	/// Whether waiting and trying again may help (an endpoint down, a fee spike, an
	/// account to top up), as opposed to a refusal that will not change.
	pub fn is_transient(&self) -> bool {
		matches!(
			self,
			Error::Node(_)
				| Error::NodeAnswer { .. }
				| Error::Evm(_)
				| Error::InsufficientFunds(_)
				| Error::NotMined { .. }
		)
	}
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How long one JSON-RPC request may take unless told otherwise (a node that accepts and
/// never answers must not hang the relayer).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A JSON-RPC client of `url` (given with the command-line flag `flag`) whose requests
/// time out after `timeout`.
pub fn rpc_client(
	url: &str,
	flag: &str,
	timeout: std::time::Duration,
) -> Result<alloy::rpc::client::RpcClient> {
	let parsed = url.parse().map_err(|e| Error::Config(format!("{flag} {url}: {e}")))?;
	install_tls_provider();
	let http = reqwest::Client::builder()
		.timeout(timeout)
		.build()
		.map_err(|e| Error::Config(format!("HTTP client for {flag}: {}", with_causes(&e))))?;
	Ok(alloy::rpc::client::RpcClient::new_http_with_client(http, parsed))
}

/// `error` with the errors that caused it (`error sending request: connection refused`),
/// which their own messages leave out.
pub fn with_causes(error: &dyn std::error::Error) -> String {
	let mut text = error.to_string();
	let mut source = error.source();
	while let Some(cause) = source {
		let cause_text = cause.to_string();
		if !text.contains(&cause_text) {
			text.push_str(": ");
			text.push_str(&cause_text);
		}
		source = cause.source();
	}
	text
}

/// Makes rustls use ring (already in the tree) for TLS to `https://` endpoints such as
/// IoTeX's; called before each client is built. Calling it again does nothing.
pub fn install_tls_provider() {
	let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
	use super::*;

	/// An endpoint that accepts the connection and never answers fails the request after
	/// the timeout given, instead of holding the relayer.
	#[tokio::test]
	async fn a_silent_endpoint_times_out() {
		let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
		let url = format!("http://{}", listener.local_addr().unwrap());
		let (done, finished) = std::sync::mpsc::channel::<()>();
		let silent = std::thread::spawn(move || {
			let (socket, _) = listener.accept().unwrap();
			// Holds the connection until the test is over (or 10 s).
			let _ = finished.recv_timeout(std::time::Duration::from_secs(10));
			drop(socket);
		});
		let client = rpc_client(&url, "--evm-url", std::time::Duration::from_millis(300)).unwrap();
		let started = std::time::Instant::now();
		let answer: Result<String, _> = client.request_noparams("eth_blockNumber").await;
		assert!(answer.is_err(), "a silent endpoint answered: {answer:?}");
		assert!(
			started.elapsed() < std::time::Duration::from_secs(4),
			"the request waited for the endpoint to hang up, not for the timeout"
		);
		done.send(()).unwrap();
		silent.join().unwrap();
	}
}
