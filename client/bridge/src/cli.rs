//! `w3b-node bridge deploy|relay`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy::{
	network::EthereumWallet,
	primitives::Address,
	providers::{Provider, ProviderBuilder},
	signers::local::PrivateKeySigner,
};
use serde_json::json;
use tracing::info;

use crate::{
	contract::W3bBridge,
	evm::{evm_error, SendOptions},
	metrics::Metrics,
	node::NodeClient,
	relayer::{RelayConfig, Relayer},
	state::StateStore,
	Error, Result,
};

/// The environment variable a relayer's key is read from without `--key-file`.
pub const KEY_VARIABLE: &str = "W3B_BRIDGE_KEY";

/// `w3b-node bridge ...`: the EVM side of the bridge.
#[derive(Debug, clap::Subcommand)]
pub enum BridgeCmd {
	/// Deploy `W3bBridge` on an EVM chain for the appchain's genesis and current
	/// validator set, and print its address (then register it on the appchain with
	/// `bridge.setTarget(chain, address)`).
	Deploy(DeployCmd),
	/// Relay the appchain's signed bridge batches for one EVM chain to its contract.
	///
	/// Example (IoTeX testnet):
	/// `W3B_BRIDGE_KEY=0x... w3b-node bridge relay --chain-id 4690
	/// --evm-url https://babel-api.testnet.iotex.io --state-dir ./relayer-4690`
	Relay(RelayCmd),
}

/// Where the appchain and the EVM chain are, and the EVM key.
#[derive(Debug, Clone, clap::Args)]
pub struct Endpoints {
	/// The appchain node's JSON-RPC endpoint.
	#[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9944")]
	pub node_url: String,
	/// The EVM chain's JSON-RPC endpoint.
	#[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
	pub evm_url: String,
	/// A file holding the EVM account's private key (64 hex digits, 0x optional). Without
	/// it the key is read from the environment variable W3B_BRIDGE_KEY (the file wins if
	/// both are given).
	#[arg(long, value_name = "FILE")]
	pub key_file: Option<PathBuf>,
	/// Seconds one request to the EVM endpoint may take. Simulating a large batch
	/// (`eth_estimateGas` runs it, often several times) on a busy development node takes
	/// tens of seconds; a request that takes longer is retried.
	#[arg(long, value_name = "SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
	pub evm_timeout_secs: u64,
}

/// `w3b-node bridge deploy`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployCmd {
	#[command(flatten)]
	pub endpoints: Endpoints,
}

/// `w3b-node bridge relay`.
#[derive(Debug, Clone, clap::Args)]
pub struct RelayCmd {
	#[command(flatten)]
	pub endpoints: Endpoints,
	/// The EVM chain to relay to (IoTeX: 4689, its testnet: 4690).
	#[arg(long, value_name = "ID")]
	pub chain_id: u64,
	/// The contract expected (default: the one the appchain registered for the chain).
	#[arg(long, value_name = "ADDRESS")]
	pub contract: Option<Address>,
	/// The directory where the relayer keeps its progress (`relayer.json`), its record of
	/// failures (`failures.jsonl`) and a lock (one relayer at a time); give each contract
	/// its own.
	#[arg(long, value_name = "DIR")]
	pub state_dir: PathBuf,
	/// The first batch to relay when the state directory is new (a relayer joining late
	/// may start near `nextNonce` of `w3b_bridgeTargets`).
	#[arg(long, value_name = "NONCE", default_value_t = 0)]
	pub from_nonce: u64,
	/// Blocks on top of a transaction's (its own included) before it counts.
	#[arg(long, default_value_t = 1)]
	pub confirmations: u64,
	/// Seconds before a transaction not mined is sent again at a 12.5% higher price.
	#[arg(long, default_value_t = 60)]
	pub bump_after_secs: u64,
	/// The highest gas price paid, in gwei.
	#[arg(long, value_name = "GWEI", default_value_t = 10_000)]
	pub max_gas_price_gwei: u64,
	/// Milliseconds between looks for new batches, receipts and blocks.
	#[arg(long, default_value_t = 2_000)]
	pub poll_ms: u64,
	/// Deliveries tried for an output whose receiver fails before it is recorded as a
	/// failure.
	#[arg(long, default_value_t = 8)]
	pub max_attempts: u32,
	/// Seconds before the first retry of an output; the wait doubles each time, up to an hour.
	#[arg(long, default_value_t = 30)]
	pub retry_after_secs: u64,
	/// Serve Prometheus metrics on 127.0.0.1 at this port.
	#[arg(long, value_name = "PORT")]
	pub prometheus_port: Option<u16>,
}

impl BridgeCmd {
	/// Runs the command to its end (for `relay`: until a permanent error).
	pub fn run(&self) -> Result<()> {
		let runtime = tokio::runtime::Builder::new_multi_thread()
			.worker_threads(2)
			.enable_all()
			.build()
			.map_err(|e| Error::Config(format!("cannot start the async runtime: {e}")))?;
		runtime.block_on(async {
			match self {
				BridgeCmd::Deploy(cmd) => cmd.run().await,
				BridgeCmd::Relay(cmd) => cmd.run().await,
			}
		})
	}
}

impl Endpoints {
	/// How long one request to the EVM endpoint may take.
	fn evm_timeout(&self) -> std::time::Duration {
		std::time::Duration::from_secs(self.evm_timeout_secs)
	}

	/// The EVM key, from the file or the environment.
	fn signer(&self) -> Result<PrivateKeySigner> {
		let (text, from) = match &self.key_file {
			Some(path) => (
				std::fs::read_to_string(path)
					.map_err(|e| Error::Config(format!("key file {}: {e}", path.display())))?,
				path.display().to_string(),
			),
			None => (
				std::env::var(KEY_VARIABLE).map_err(|_| {
					Error::Config(format!("no EVM key: pass --key-file FILE or set {KEY_VARIABLE}"))
				})?,
				KEY_VARIABLE.to_string(),
			),
		};
		text.trim().parse().map_err(|_| {
			Error::Config(format!(
				"{from} does not hold a secp256k1 private key: 64 hex digits, 0x optional"
			))
		})
	}

	/// A provider that signs with the key; nonces, gas and prices are set by the caller.
	fn evm(&self) -> Result<(impl Provider + Clone, Address)> {
		let signer = self.signer()?;
		let from = signer.address();
		let provider = ProviderBuilder::new()
			.disable_recommended_fillers()
			.wallet(EthereumWallet::from(signer))
			.connect_client(crate::rpc_client(&self.evm_url, "--evm-url", self.evm_timeout())?);
		Ok((provider, from))
	}
}

impl DeployCmd {
	async fn run(&self) -> Result<()> {
		let signer = self.endpoints.signer()?;
		let from = signer.address();
		let node = NodeClient::new(&self.endpoints.node_url)?;
		let (genesis, set_id, signers, threshold) = node.deployment().await?;
		// Deployment is one transaction: alloy's usual fillers (nonce, gas, price) do.
		let provider = ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_client(
			crate::rpc_client(&self.endpoints.evm_url, "--evm-url", self.endpoints.evm_timeout())?,
		);
		let chain = provider.get_chain_id().await.map_err(evm_error)?;
		info!(target: "w3b-relayer", chain, set_id, signers = signers.len(), %threshold, "deploying W3bBridge");
		let bridge = W3bBridge::deploy(&provider, genesis, set_id, signers, threshold)
			.await
			.map_err(|e| {
				Error::Evm(format!("deploying W3bBridge from {from}: {}", crate::with_causes(&e)))
			})?;
		let forwarder = bridge.forwarder().call().await.map_err(|e| Error::Evm(e.to_string()))?;
		println!(
			"{}",
			json!({"chain": chain, "bridge": bridge.address(), "forwarder": forwarder, "setId": set_id, "genesisHash": genesis})
		);
		Ok(())
	}
}

impl RelayCmd {
	async fn run(&self) -> Result<()> {
		let registry = self.prometheus_port.map(|_| prometheus_endpoint::Registry::new());
		let metrics = Metrics::new(registry.as_ref())
			.map_err(|e| Error::Config(format!("Prometheus metrics: {e}")))?;
		if let (Some(port), Some(registry)) = (self.prometheus_port, registry) {
			let address = SocketAddr::from(([127, 0, 0, 1], port));
			// Taken now rather than found out by the endpoint's task after the start.
			std::net::TcpListener::bind(address)
				.map_err(|e| Error::Config(format!("--prometheus-port {port}: {e}")))?;
			tokio::spawn(async move {
				if let Err(e) = prometheus_endpoint::init_prometheus(address, registry).await {
					tracing::error!(target: "w3b-relayer", error = %e, "Prometheus endpoint stopped");
				}
			});
		}
		let (provider, from) = self.endpoints.evm()?;
		let node = NodeClient::new(&self.endpoints.node_url)?;
		let config = RelayConfig {
			chain: self.chain_id,
			contract: self.contract,
			from_nonce: self.from_nonce,
			poll: Duration::from_millis(self.poll_ms.max(10)),
			max_attempts: self.max_attempts.max(1),
			retry_after: Duration::from_secs(self.retry_after_secs),
		};
		let options = SendOptions {
			confirmations: self.confirmations.max(1),
			bump_after: Duration::from_secs(self.bump_after_secs.max(1)),
			max_gas_price: u128::from(self.max_gas_price_gwei) * 1_000_000_000,
			poll: config.poll.min(Duration::from_millis(500)),
		};
		let store = StateStore::open(&self.state_dir)?;
		Relayer::new(node, provider, from, config, options, store, metrics).await?.run().await
	}
}
