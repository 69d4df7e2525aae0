//! The demo's EVM side: an EVM chain (ganache with IoTeX testnet's chain id), the
//! bridge contract deployed for the validators' set by `w3b-node bridge deploy` and
//! registered by governance (a council motion on the local chain), one receiver contract per project
//! (its `ProjectConfig.bridge`), and `w3b-node bridge relay` delivering the projects'
//! finalized alerts to them. What the receivers recorded is the demo's "delivered".

use std::{
	path::Path,
	process::{Child, Command, Stdio},
	time::Duration,
};

use alloy::{
	network::EthereumWallet,
	providers::{DynProvider, Provider, ProviderBuilder},
	signers::local::PrivateKeySigner,
};
use serde_json::{json, Value};
use sp_core::H160;
use w3b_primitives::{project::BridgeTarget, ProjectId};

use crate::{
	demo::{project_config, ProjectSpec},
	evm::{Ganache, RecordingReceiver, CHAIN_ID, DEPLOYER_KEY, RELAYER_KEY},
	node_binary, wait_for, Result, Rpc,
};

type Receiver = RecordingReceiver::RecordingReceiverInstance<DynProvider>;

/// The EVM chain, the bridge on it, the projects' receivers and the relayer (stopped
/// when dropped).
pub struct EvmSide {
	runtime: tokio::runtime::Runtime,
	deployer: DynProvider,
	/// The bridge contract.
	pub bridge: H160,
	receivers: Vec<Receiver>,
	relayer: Option<Child>,
	// Dropped last: the relayer stops before its chain does.
	ganache: Ganache,
}

impl EvmSide {
	/// Starts the chain, deploys the bridge for the set the node at `node_url` serves,
	/// and has the council register it (a motion of three
	/// of the four validators).
	pub fn start(rpc: &Rpc, node_url: &str) -> Result<Self> {
		let ganache = Ganache::start(&[])?;
		let deployed = Command::new(node_binary())
			.args(["bridge", "deploy", "--node-url", node_url, "--evm-url", &ganache.url])
			.env("W3B_BRIDGE_KEY", DEPLOYER_KEY)
			.output()?;
		if !deployed.status.success() {
			return Err(format!(
				"w3b-node bridge deploy: {}",
				String::from_utf8_lossy(&deployed.stderr)
			)
			.into());
		}
		let deployed: Value = serde_json::from_slice(&deployed.stdout)?;
		let bridge: H160 = serde_json::from_value(deployed["bridge"].clone())?;
		let call = w3b_runtime::RuntimeCall::Bridge(pallet_bridge::Call::set_target {
			chain: CHAIN_ID,
			contract: bridge,
		});
		rpc.pass_motion(call, Duration::from_secs(120))?;
		wait_for("the bridge registered", Duration::from_secs(120), || {
			let targets = rpc.call("w3b_bridgeTargets", json!([]))?;
			Ok(targets.as_array().is_some_and(|t| !t.is_empty()).then_some(()))
		})?;
		let deployer = ProviderBuilder::new()
			.wallet(EthereumWallet::from(DEPLOYER_KEY.parse::<PrivateKeySigner>()?))
			.connect_http(ganache.url.parse()?)
			.erased();
		let runtime = tokio::runtime::Runtime::new()?;
		Ok(EvmSide { runtime, deployer, bridge, receivers: Vec::new(), relayer: None, ganache })
	}

	/// Deploys a receiver for each project and makes it the project's bridge target (its
	/// owner sets the configuration `spec` asked for, plus the target).
	pub fn receive_for(&mut self, rpc: &Rpc, projects: &[(ProjectId, &ProjectSpec)]) -> Result<()> {
		for (project, spec) in projects {
			let receiver = self.runtime.block_on(RecordingReceiver::deploy(
				self.deployer.clone(),
				self.bridge.0.into(),
				alloy::primitives::U256::from(*project),
			))?;
			let mut config = project_config(spec)?;
			config.bridge =
				Some(BridgeTarget { chain_id: CHAIN_ID, receiver: H160(receiver.address().0 .0) });
			rpc.submit(
				spec.owner,
				pallet_projects::Call::set_config { project: *project, config }.into(),
			)?;
			self.receivers.push(receiver);
		}
		for (project, _) in projects {
			wait_for("the receivers configured", Duration::from_secs(120), || {
				let info = rpc.call("w3b_getProject", json!([project]))?;
				Ok((!info["config"]["bridge"].is_null()).then_some(()))
			})?;
		}
		Ok(())
	}

	/// Starts `w3b-node bridge relay` reading the node at `node_url`, with its state and
	/// log in `dir`.
	pub fn start_relayer(&mut self, node_url: &str, dir: &Path) -> Result<()> {
		// A relayer's state belongs to one contract: an earlier run's would refuse this one.
		let state = dir.join("state");
		if state.exists() {
			std::fs::remove_dir_all(&state)?;
		}
		std::fs::create_dir_all(dir)?;
		let log = std::fs::File::create(dir.join("relayer.log"))?;
		let relayer = Command::new(node_binary())
			.args(["bridge", "relay", "--node-url", node_url, "--evm-url", &self.ganache.url])
			.args(["--chain-id", &CHAIN_ID.to_string(), "--poll-ms", "1000"])
			.arg("--state-dir")
			.arg(&state)
			.env("W3B_BRIDGE_KEY", RELAYER_KEY)
			.stdin(Stdio::null())
			.stdout(log.try_clone()?)
			.stderr(log)
			.spawn()?;
		self.relayer = Some(relayer);
		Ok(())
	}

	/// The outputs the receivers recorded so far.
	pub fn delivered(&self) -> Result<u64> {
		self.runtime.block_on(async {
			let mut total = 0;
			for receiver in &self.receivers {
				total += receiver.recordCount().call().await?.to::<u64>();
			}
			Ok(total)
		})
	}

	/// Whether the bridge contract trusts the validator set the appchain at `rpc` signs
	/// with now (`w3b_bridgeSet`): the same set id and the hash of its signers and
	/// threshold. Returns the contract's set id with it.
	pub fn follows_set(&self, rpc: &Rpc) -> Result<(bool, u64)> {
		let set = rpc.call("w3b_bridgeSet", json!([]))?;
		let set_id = set["setId"].as_u64().ok_or("w3b_bridgeSet without a setId")?;
		let signers: Vec<alloy::primitives::Address> =
			serde_json::from_value(set["signers"].clone())?;
		let threshold = set["threshold"].as_u64().ok_or("w3b_bridgeSet without a threshold")?;
		let bridge = w3b_bridge::contract::W3bBridge::new(self.bridge.0.into(), &self.deployer);
		self.runtime.block_on(async {
			let (contract_set, contract_hash) =
				(bridge.setId().call().await?, bridge.setHash().call().await?);
			let hash = bridge
				.validatorSetHash(signers, alloy::primitives::U256::from(threshold))
				.call()
				.await?;
			Ok((contract_set == set_id && contract_hash == hash, contract_set))
		})
	}

	/// The chain's JSON-RPC endpoint.
	pub fn evm_url(&self) -> &str {
		&self.ganache.url
	}

	/// Whether the relayer is still running (it stops on a fault it cannot retry).
	pub fn relayer_running(&mut self) -> bool {
		self.relayer.as_mut().is_some_and(|child| matches!(child.try_wait(), Ok(None)))
	}
}

impl Drop for EvmSide {
	fn drop(&mut self) {
		if let Some(mut relayer) = self.relayer.take() {
			let _ = relayer.kill();
			let _ = relayer.wait();
		}
	}
}
