//! An EVM chain for the bridge's tests: ganache (from `contracts/`'s npm packages, which
//! `scripts/test.sh` installs) with IoTeX testnet's chain id on a loopback port.

use std::{
	process::{Child, Command, Stdio},
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc,
	},
	time::{Duration, Instant},
};

use alloy::providers::{Provider, ProviderBuilder};

use crate::{free_port, repository_root, Result};

alloy::sol!(
	/// The test receiver of `contracts/test/Receivers.sol`: records `process` outputs,
	/// and calls from the bridge's forwarder (`note`, or any other data) with the project
	/// id appended.
	#[sol(rpc, all_derives)]
	RecordingReceiver,
	"../contracts/artifacts/RecordingReceiver.json"
);
alloy::sol!(
	/// A receiver that fails until it is told to work.
	#[sol(rpc, all_derives)]
	FlakyReceiver,
	"../contracts/artifacts/FlakyReceiver.json"
);

alloy::sol!(
	/// A contract whose `Reading` logs a project subscribes to.
	#[sol(rpc, all_derives)]
	LogEmitter,
	"../contracts/artifacts/LogEmitter.json"
);

/// IoTeX testnet's chain id, the bridge's test target.
pub const CHAIN_ID: u64 = 4690;
/// A relayer's key, funded in every ganache started here.
pub const RELAYER_KEY: &str = "0x8d4b2ccf4d6bb1de09fd2d5ae9c14e6d4e8d5c0ce8c2c2ec1b9e9d2bf67d5a01";
/// A deployer's key, funded too (each key has one nonce manager: the relayer's is never
/// used by anything else).
pub const DEPLOYER_KEY: &str = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";

/// A ganache process, killed when dropped.
pub struct Ganache {
	child: Child,
	/// Its JSON-RPC endpoint.
	pub url: String,
}

impl Ganache {
	/// Starts ganache (Shanghai, a 60M gas block limit, the two keys above funded with
	/// 1,000 ETH each) with `extra` options, and waits until it listens.
	pub fn start(extra: &[&str]) -> Result<Self> {
		// alloy's HTTP client needs rustls's crypto provider chosen first.
		w3b_bridge::install_tls_provider();
		let bin = repository_root().join("contracts/node_modules/.bin/ganache");
		if !bin.exists() {
			return Err(format!(
				"{} is missing: run `npm ci` in contracts/ (scripts/test.sh does)",
				bin.display()
			)
			.into());
		}
		let port = free_port();
		let funded = |key: &str| format!("{key},0x3635C9ADC5DEA00000");
		let log = tempfile::NamedTempFile::new()?;
		let mut child = Command::new(bin)
			.args(["--chain.chainId", &CHAIN_ID.to_string(), "--chain.hardfork", "shanghai"])
			.args(["--miner.blockGasLimit", "60000000", "--logging.quiet"])
			.args(["--server.host", "127.0.0.1", "--server.port", &port.to_string()])
			.args([
				"--wallet.accounts",
				&funded(RELAYER_KEY),
				"--wallet.accounts",
				&funded(DEPLOYER_KEY),
			])
			.args(extra)
			.stdout(Stdio::null())
			.stderr(log.reopen()?)
			.spawn()?;
		let url = format!("http://127.0.0.1:{port}");
		// Ready when it answers JSON-RPC (an open port alone is not enough: ganache has
		// been seen to accept a connection and then refuse the next ones while starting).
		let deadline = Instant::now() + Duration::from_secs(90);
		loop {
			let answer = ureq::post(&url).send_json(
				serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}),
			);
			if answer.is_ok() {
				break;
			}
			if let Some(status) = child.try_wait()? {
				let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
				return Err(format!(
					"ganache exited ({status}) before answering on {port}: {stderr}"
				)
				.into());
			}
			if Instant::now() > deadline {
				let _ = child.kill();
				return Err(format!("ganache did not answer on {port} in 90 s").into());
			}
			std::thread::sleep(Duration::from_millis(200));
		}
		Ok(Ganache { child, url })
	}

	/// Mines `blocks` empty blocks now; returns the number of the last.
	pub fn mine(&self, blocks: u32) -> Result<u64> {
		let request = |method: &str| {
			ureq::post(&self.url)
				.send_json(
					serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}),
				)
				.map_err(|e| format!("ganache {method}: {e}"))?
				.into_json::<serde_json::Value>()
				.map_err(|e| format!("ganache {method}: {e}"))
		};
		for _ in 0..blocks {
			request("evm_mine")?;
		}
		let head = request("eth_blockNumber")?;
		let head = head["result"].as_str().ok_or("eth_blockNumber: no result")?;
		Ok(u64::from_str_radix(head.trim_start_matches("0x"), 16)?)
	}

	/// Mines a block every 100 ms while `mining` is set, for a chain started with an
	/// interval (`--miner.blockTime 3600`) that never comes (ganache's `miner_stop` does
	/// not stop its instant mining once blocks were mined).
	pub fn produce_blocks(&self, mining: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
		let provider = ProviderBuilder::new().connect_http(self.url.parse().expect("a URL"));
		tokio::spawn(async move {
			loop {
				if mining.load(Ordering::SeqCst) {
					let _: serde_json::Value =
						provider.raw_request("evm_mine".into(), ()).await.expect("ganache mines");
				}
				tokio::time::sleep(Duration::from_millis(100)).await;
			}
		})
	}
}

impl Drop for Ganache {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}
