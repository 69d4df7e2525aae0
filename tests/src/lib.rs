//! Harness for end-to-end tests: starts real `w3b-node` processes on loopback, talks to
//! them over JSON-RPC, and signs transactions with the development keys.
//!
//! Every process is killed when its [`Node`] is dropped, and the kernel kills it if the
//! test process itself dies (`PR_SET_PDEATHSIG`), so a failing or aborted test never
//! leaves validators behind.

#![deny(missing_docs)]

use std::{
	fs::File,
	io::{BufRead, BufReader},
	net::TcpListener,
	os::unix::process::CommandExt,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	sync::atomic::{AtomicU32, Ordering},
	thread,
	time::{Duration, Instant},
};

use codec::{Decode, Encode};
use serde_json::{json, Value};
use sp_core::{sr25519, Pair, H256};
use sp_keyring::Sr25519Keyring;
use sp_runtime::MultiSignature;
use w3b_runtime::{AccountId, Header, RuntimeCall, UncheckedExtrinsic};

pub mod demo;
pub mod demo_bridge;
pub mod evm;
pub mod hostile;
pub mod network;

/// Error type of the harness; tests unwrap it with context.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result type of the harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The `w3b-node` binary under test: `$W3B_NODE`, or `debug/w3b-node` in the cargo
/// target directory (`$CARGO_TARGET_DIR` or the workspace's `target/`).
pub fn node_binary() -> PathBuf {
	built_binary("w3b-node", "W3B_NODE")
}

/// The `w3b` command line under test: `$W3B_CLI`, or `debug/w3b` in the cargo target
/// directory (`scripts/build.sh` builds it).
pub fn cli_binary() -> PathBuf {
	built_binary("w3b", "W3B_CLI")
}

fn built_binary(name: &str, variable: &str) -> PathBuf {
	if let Some(path) = std::env::var_os(variable) {
		return PathBuf::from(path);
	}
	let target = std::env::var_os("CARGO_TARGET_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| repository_root().join("target"));
	let binary = target.join("debug").join(name);
	assert!(
		binary.exists(),
		"{} does not exist: build it first (`scripts/build.sh`) or set {variable}",
		binary.display()
	);
	binary
}

/// The repository's root, from the package directory cargo gives the running test (not
/// the one it was compiled in: a target directory shared between checkouts may hold a
/// test binary built in another).
pub fn repository_root() -> PathBuf {
	let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
	manifest_dir.parent().map(Path::to_path_buf).unwrap_or(manifest_dir)
}

/// A fresh directory for a test's nodes, removed when dropped, unless
/// `W3B_KEEP_TEST_DIRS` is set: then it stays (databases and `node.log` of every node)
/// and its path is printed, for reading the logs of a failed run.
pub fn test_dir() -> tempfile::TempDir {
	let mut dir = tempfile::Builder::new().prefix("w3b-test-").tempdir().expect("temp dir");
	if std::env::var_os("W3B_KEEP_TEST_DIRS").is_some() {
		dir.disable_cleanup(true);
		eprintln!("test directory kept: {}", dir.path().display());
	}
	dir
}

/// A free TCP port on 127.0.0.1 for a node to listen on.
///
/// Ports come from below the kernel's ephemeral range: a port the kernel handed out for
/// `bind(:0)` and released can be taken again by any outgoing connection before the node
/// binds it, while a port below the range is only ever taken by an explicit bind. Each
/// test process walks the range from its own offset (by process id), so parallel test
/// binaries rarely even try the same port, and a port is only returned if it binds now.
pub fn free_port() -> u16 {
	const LOWEST: u32 = 10_000;
	static NEXT: AtomicU32 = AtomicU32::new(0);
	let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
		.ok()
		.and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
		.filter(|start| *start > LOWEST + 1_000)
		.unwrap_or(32_768);
	let span = ephemeral_start - LOWEST;
	let offset = std::process::id().wrapping_mul(7_919) % span;
	for _ in 0..span {
		let port = LOWEST + (offset + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
		let port = u16::try_from(port).expect("ports below the ephemeral range fit in u16");
		if TcpListener::bind(("127.0.0.1", port)).is_ok() {
			return port;
		}
	}
	panic!("no free port on loopback between {LOWEST} and {ephemeral_start}")
}

/// The fixed libp2p secret key (hex) of development node `index`: `0x..01` for Alice,
/// `0x..02` for Bob, and so on, so that peer ids are known before the nodes start.
pub fn dev_node_key(index: u8) -> String {
	format!("{index:064x}")
}

/// How to start one node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
	/// Development identity: `alice`, `bob`, ... (sets name, validator role and keys).
	pub identity: &'static str,
	/// `--chain` argument.
	pub chain: String,
	/// Fixed libp2p secret key (hex), so that its peer id is known before it starts.
	pub node_key: String,
	/// Bootnode multiaddresses.
	pub bootnodes: Vec<String>,
	/// More command-line arguments.
	pub extra_args: Vec<String>,
}

/// A running `w3b-node` process.
pub struct Node {
	/// Development identity (`alice`, ...).
	pub identity: &'static str,
	/// JSON-RPC port on 127.0.0.1.
	pub rpc_port: u16,
	/// libp2p port on 127.0.0.1.
	pub p2p_port: u16,
	/// Prometheus port on 127.0.0.1.
	pub prometheus_port: u16,
	/// libp2p peer id.
	pub peer_id: String,
	config: NodeConfig,
	base_path: PathBuf,
	log_path: PathBuf,
	child: Option<Child>,
}

impl Node {
	/// Starts a node with its database and log under `dir`.
	pub fn start(config: NodeConfig, dir: &Path) -> Result<Node> {
		let base_path = dir.join(config.identity);
		std::fs::create_dir_all(&base_path)?;
		let peer_id = peer_id_of(&config.node_key, &base_path)?;
		let mut node = Node {
			identity: config.identity,
			rpc_port: free_port(),
			p2p_port: free_port(),
			prometheus_port: free_port(),
			peer_id,
			log_path: base_path.join("node.log"),
			base_path,
			config,
			child: None,
		};
		node.spawn()?;
		Ok(node)
	}

	fn spawn(&mut self) -> Result<()> {
		let log = File::options().create(true).append(true).open(&self.log_path)?;
		let mut command = Command::new(node_binary());
		command
			.arg(format!("--{}", self.identity))
			.args(["--chain", &self.config.chain])
			.arg("--base-path")
			.arg(&self.base_path)
			.args(["--node-key", &self.config.node_key])
			.args(["--listen-addr", &format!("/ip4/127.0.0.1/tcp/{}", self.p2p_port)])
			.args(["--rpc-port", &self.rpc_port.to_string()])
			.args(["--prometheus-port", &self.prometheus_port.to_string()])
			.args(["--no-telemetry", "--no-mdns"])
			.args(["--log", "info"])
			// Debug nodes, four or five to a 2-core machine, pass over a block many times
			// slower than a release node: the default bound (two slots) would have them
			// refuse the tests' messages as `backlogged` whenever the machine is busy.
			.args(["--w3b-max-pass-ms", "60000"])
			.args(&self.config.extra_args);
		for bootnode in &self.config.bootnodes {
			command.args(["--bootnodes", bootnode]);
		}
		command.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
		// SAFETY: `prctl` is async-signal-safe and touches no memory of the parent.
		unsafe {
			command.pre_exec(|| {
				if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
					return Err(std::io::Error::last_os_error());
				}
				Ok(())
			});
		}
		self.child = Some(command.spawn()?);
		Ok(())
	}

	/// The node's base path (its database and keystore).
	pub fn base_path(&self) -> &Path {
		&self.base_path
	}

	/// The multiaddress other nodes use to reach this one.
	pub fn multiaddr(&self) -> String {
		format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", self.p2p_port, self.peer_id)
	}

	/// JSON-RPC client of this node.
	pub fn rpc(&self) -> Rpc {
		Rpc::new(self.rpc_port)
	}

	/// Kills the process (SIGKILL) and waits for it; the database stays.
	pub fn kill(&mut self) {
		if let Some(mut child) = self.child.take() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}

	/// Starts the process again after [`Node::kill`], with the same ports and data.
	pub fn restart(&mut self) -> Result<()> {
		self.kill();
		self.spawn()
	}

	/// Starts the process again after [`Node::kill`] with `args` added to its command
	/// line, for good.
	pub fn restart_with(&mut self, args: &[&str]) -> Result<()> {
		self.config.extra_args.extend(args.iter().map(|a| a.to_string()));
		self.restart()
	}

	/// Starts the process again after [`Node::kill`] with command-line argument `old`
	/// replaced by `new`, for good.
	pub fn restart_replacing(&mut self, old: &str, new: &str) -> Result<()> {
		let arg = self.config.extra_args.iter_mut().find(|arg| *arg == old);
		*arg.ok_or_else(|| format!("{} was not started with {old}", self.identity))? = new.into();
		self.restart()
	}

	/// Whether the process is running.
	pub fn is_running(&mut self) -> bool {
		self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
	}

	/// Where the node keeps its W3bstream data (`BASE_PATH/w3b`).
	pub fn w3b_dir(&self) -> PathBuf {
		self.base_path.join("w3b")
	}

	/// The peak resident memory of the running process (`VmHWM`), in bytes.
	pub fn peak_rss(&self) -> Result<u64> {
		let pid = self.child.as_ref().ok_or("the node is not running")?.id();
		let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
		let kib = status
			.lines()
			.find_map(|l| l.strip_prefix("VmHWM:"))
			.and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
			.ok_or("no VmHWM in /proc/PID/status")?;
		Ok(kib << 10)
	}

	/// The last `lines` lines of the node's log, for failure messages.
	pub fn log_tail(&self, lines: usize) -> String {
		let Ok(file) = File::open(&self.log_path) else { return String::new() };
		let all: Vec<String> = BufReader::new(file).lines().map_while(|l| l.ok()).collect();
		all[all.len().saturating_sub(lines)..].join("\n")
	}

	/// The node's log lines holding any of `needles`.
	pub fn log_lines(&self, needles: &[&str]) -> String {
		let Ok(file) = File::open(&self.log_path) else { return String::new() };
		BufReader::new(file)
			.lines()
			.map_while(|l| l.ok())
			.filter(|line| needles.iter().any(|needle| line.contains(needle)))
			.collect::<Vec<_>>()
			.join("\n")
	}

	/// Waits until the node answers JSON-RPC.
	pub fn wait_rpc_ready(&mut self, timeout: Duration) -> Result<()> {
		let deadline = Instant::now() + timeout;
		loop {
			if !self.is_running() {
				return Err(format!(
					"{} exited during start-up; log:\n{}",
					self.identity,
					self.log_tail(40)
				)
				.into());
			}
			if self.rpc().call("system_health", json!([])).is_ok() {
				return Ok(());
			}
			if Instant::now() > deadline {
				return Err(
					format!("{} did not serve RPC within {timeout:?}", self.identity).into()
				);
			}
			thread::sleep(Duration::from_millis(250));
		}
	}

	/// Waits until this node's finalized block reaches `target`; returns the finalized
	/// number then.
	pub fn wait_finalized(&self, target: u32, timeout: Duration) -> Result<u32> {
		let rpc = self.rpc();
		wait_for(&format!("{} to finalize block #{target}", self.identity), timeout, || {
			let finalized = rpc.finalized_number()?;
			Ok((finalized >= target).then_some(finalized))
		})
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		self.kill();
	}
}

/// Peer id of a libp2p secret key, as the node computes it (`key inspect-node-key`).
fn peer_id_of(node_key: &str, dir: &Path) -> Result<String> {
	let key_file = dir.join("node-key");
	std::fs::write(&key_file, node_key)?;
	let output = Command::new(node_binary())
		.args(["key", "inspect-node-key", "--file"])
		.arg(&key_file)
		.output()?;
	if !output.status.success() {
		return Err(format!(
			"key inspect-node-key failed: {}",
			String::from_utf8_lossy(&output.stderr)
		)
		.into());
	}
	Ok(String::from_utf8(output.stdout)?.trim().to_string())
}

/// A minimal JSON-RPC 2.0 client over HTTP.
#[derive(Clone)]
pub struct Rpc {
	url: String,
}

impl Rpc {
	/// A client of the node whose RPC listens on 127.0.0.1:`port`.
	pub fn new(port: u16) -> Self {
		Rpc { url: format!("http://127.0.0.1:{port}") }
	}

	/// Calls `method` with `params` and returns its `result`.
	pub fn call(&self, method: &str, params: Value) -> Result<Value> {
		let response: Value = ureq::post(&self.url)
			.timeout(Duration::from_secs(10))
			.send_json(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))?
			.into_json()?;
		if let Some(error) = response.get("error") {
			return Err(format!("{method}: {error}").into());
		}
		Ok(response["result"].clone())
	}

	/// Header of the best block.
	pub fn best_header(&self) -> Result<Header> {
		Ok(serde_json::from_value(self.call("chain_getHeader", json!([]))?)?)
	}

	/// Number of the best block.
	pub fn best_number(&self) -> Result<u32> {
		Ok(self.best_header()?.number)
	}

	/// Number of the latest finalized block.
	pub fn finalized_number(&self) -> Result<u32> {
		let hash = self.call("chain_getFinalizedHead", json!([]))?;
		let header: Header = serde_json::from_value(self.call("chain_getHeader", json!([hash]))?)?;
		Ok(header.number)
	}

	/// Number of connected peers.
	pub fn peers(&self) -> Result<u64> {
		self.call("system_health", json!([]))?["peers"]
			.as_u64()
			.ok_or_else(|| "system_health has no peers field".into())
	}

	/// Hash of block `number`.
	pub fn block_hash(&self, number: u32) -> Result<H256> {
		Ok(serde_json::from_value(self.call("chain_getBlockHash", json!([number]))?)?)
	}

	/// Raw storage value at `key` in the best block.
	pub fn storage(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
		let value = self.call("state_getStorage", json!([hex_0x(key)]))?;
		value.as_str().map(decode_hex).transpose()
	}

	/// Raw storage value at `key` in block `at`.
	pub fn storage_at(&self, key: &[u8], at: H256) -> Result<Option<Vec<u8>>> {
		let value = self.call("state_getStorage", json!([hex_0x(key), at]))?;
		value.as_str().map(decode_hex).transpose()
	}

	/// The events of block `at`.
	pub fn events_at(&self, at: H256) -> Result<Vec<w3b_runtime::RuntimeEvent>> {
		Ok(self.event_records_at(at)?.into_iter().map(|r| r.event).collect())
	}

	/// The events of block `at` with the phase each was deposited in.
	pub fn event_records_at(
		&self,
		at: H256,
	) -> Result<Vec<frame_system::EventRecord<w3b_runtime::RuntimeEvent, w3b_runtime::Hash>>> {
		let key = frame_support::storage::storage_prefix(b"System", b"Events");
		let Some(raw) = self.storage_at(&key, at)? else { return Ok(Vec::new()) };
		Ok(Vec::decode(&mut &raw[..])?)
	}

	/// Decoded storage value at `key`, if present.
	pub fn storage_decoded<T: Decode>(&self, key: &[u8]) -> Result<Option<T>> {
		self.storage(key)?.map(|raw| T::decode(&mut &raw[..]).map_err(Into::into)).transpose()
	}

	/// Calls runtime API function `method` (e.g. `AuraApi_authorities`) at the best block.
	pub fn runtime_call<T: Decode>(&self, method: &str, args: &[u8]) -> Result<T> {
		let raw = self.call("state_call", json!([method, hex_0x(args)]))?;
		let bytes = decode_hex(raw.as_str().ok_or("state_call returned no string")?)?;
		Ok(T::decode(&mut &bytes[..])?)
	}

	/// The signed transactions in the node's pool: signer, nonce and call.
	pub fn pending_transactions(&self) -> Result<Vec<(AccountId, u32, RuntimeCall)>> {
		let pending = self.call("author_pendingExtrinsics", json!([]))?;
		Ok(pending.as_array().into_iter().flatten().filter_map(signed_transaction).collect())
	}

	/// The signed transactions of block `number` of the best chain: signer, nonce and
	/// call.
	pub fn block_transactions(&self, number: u32) -> Result<Vec<(AccountId, u32, RuntimeCall)>> {
		let block = self.call("chain_getBlock", json!([self.block_hash(number)?]))?;
		let extrinsics = block["block"]["extrinsics"].as_array().cloned().unwrap_or_default();
		Ok(extrinsics.iter().filter_map(signed_transaction).collect())
	}

	/// Signs `call` as `signer` and submits it; returns the transaction hash.
	pub fn submit(&self, signer: Sr25519Keyring, call: RuntimeCall) -> Result<H256> {
		// A validator's worker signs with its dev account too: when it took the nonce
		// just read, the pool refuses ours (same nonce, lower priority or stale); read
		// the nonce again.
		let mut attempts = 0;
		loop {
			match self.submit_once(signer, call.clone()) {
				Err(e) if attempts < 40 && nonce_taken(&e.to_string()) => {
					attempts += 1;
					thread::sleep(Duration::from_millis(500));
				}
				result => return result,
			}
		}
	}

	/// Governance on the local chain: Alice proposes `call` to the validator council,
	/// Alice, Bob and Charlie (three of the four validators: more than two thirds) vote aye, and
	/// Alice closes the motion. Returns once it executed; an error if it was disapproved
	/// or the call failed. Votes are signed here, so a validator whose node is down still
	/// votes.
	pub fn pass_motion(&self, call: RuntimeCall, timeout: Duration) -> Result<()> {
		use sp_runtime::traits::{BlakeTwo256, Hash as _};
		type Council = pallet_collective::Call<w3b_runtime::Runtime, CouncilCollective>;
		type CouncilCollective = w3b_runtime::configs::CouncilCollective;
		let hash = BlakeTwo256::hash_of(&call);
		let length_bound = call.encoded_size() as u32;
		let voting_key =
			pallet_collective::Voting::<w3b_runtime::Runtime, CouncilCollective>::hashed_key_for(
				hash,
			);
		// `Votes { index, threshold, ayes, nays, end }` (its fields are private).
		type Votes = (u32, u32, Vec<AccountId>, Vec<AccountId>, u32);
		let voters = [Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Charlie];
		self.submit(
			Sr25519Keyring::Alice,
			Council::propose {
				threshold: w3b_runtime::configs::council_threshold(4),
				proposal: Box::new(call),
				length_bound,
			}
			.into(),
		)?;
		let (index, ..) = wait_for("the motion proposed", timeout, || {
			self.storage_decoded::<Votes>(&voting_key)
		})?;
		for voter in voters {
			self.submit(voter, Council::vote { proposal: hash, index, approve: true }.into())?;
		}
		wait_for("three ayes on the motion", timeout, || {
			Ok(self.storage_decoded::<Votes>(&voting_key)?.filter(|v| v.2.len() >= 3))
		})?;
		let closed_from = self.best_number()?;
		self.submit(
			Sr25519Keyring::Alice,
			Council::close {
				proposal_hash: hash,
				index,
				proposal_weight_bound: w3b_runtime::configs::MaxMotionWeight::get(),
				length_bound,
			}
			.into(),
		)?;
		wait_for("the motion closed", timeout, || {
			Ok(self.storage(&voting_key)?.is_none().then_some(()))
		})?;
		for number in closed_from..=self.best_number()? {
			let events = self.events_at(self.block_hash(number)?)?;
			// A motion dispatched as Root executes whatever its call did: the call's own
			// result is `governance.DispatchedAsRoot`'s.
			let as_root = events.iter().find_map(|event| match event {
				w3b_runtime::RuntimeEvent::Governance(
					pallet_governance::Event::DispatchedAsRoot { result },
				) => Some(*result),
				_ => None,
			});
			for event in &events {
				match event {
					w3b_runtime::RuntimeEvent::Council(pallet_collective::Event::Executed {
						proposal_hash,
						result,
					}) if *proposal_hash == hash => {
						return result
							.and(as_root.unwrap_or(Ok(())))
							.map_err(|e| format!("the motion's call failed: {e:?}").into())
					}
					w3b_runtime::RuntimeEvent::Council(pallet_collective::Event::Disapproved {
						proposal_hash,
					}) if *proposal_hash == hash => return Err("the motion was disapproved".into()),
					_ => {}
				}
			}
		}
		Err("the motion closed but no block since says how".into())
	}

	fn submit_once(&self, signer: Sr25519Keyring, call: RuntimeCall) -> Result<H256> {
		let account: AccountId = signer.to_account_id();
		let nonce: u32 = serde_json::from_value(
			self.call("system_accountNextIndex", json!([account.to_string()]))?,
		)?;
		self.submit_with_nonce(signer, call, nonce)
	}

	/// Signs `call` as `signer` with `nonce`, whatever the pool holds, and submits it;
	/// returns the transaction hash.
	pub fn submit_with_nonce(
		&self,
		signer: Sr25519Keyring,
		call: RuntimeCall,
		nonce: u32,
	) -> Result<H256> {
		let version = self.call("state_getRuntimeVersion", json!([]))?;
		let spec_version = version["specVersion"].as_u64().ok_or("no specVersion")? as u32;
		let tx_version =
			version["transactionVersion"].as_u64().ok_or("no transactionVersion")? as u32;
		let genesis = self.block_hash(0)?;
		let xt = signed_extrinsic(&signer.pair(), call, nonce, spec_version, tx_version, genesis);
		Ok(serde_json::from_value(
			self.call("author_submitExtrinsic", json!([hex_0x(&xt.encode())]))?,
		)?)
	}
}

/// The signer, nonce and call of the encoded transaction `hex`, if it is a signed one.
fn signed_transaction(hex: &Value) -> Option<(AccountId, u32, RuntimeCall)> {
	let raw = decode_hex(hex.as_str()?).ok()?;
	w3b_runtime::signed_parts(UncheckedExtrinsic::decode(&mut &raw[..]).ok()?)
}

/// Whether a refused submission says its nonce was taken by another transaction.
fn nonce_taken(error: &str) -> bool {
	error.contains("Priority is too low") || error.contains("Transaction is outdated")
}

/// Builds an immortal signed transaction with no tip.
pub fn signed_extrinsic(
	signer: &sr25519::Pair,
	call: RuntimeCall,
	nonce: u32,
	spec_version: u32,
	tx_version: u32,
	genesis: H256,
) -> UncheckedExtrinsic {
	let payload =
		w3b_runtime::immortal_signed_payload(call, nonce, spec_version, tx_version, genesis);
	let signature = payload.using_encoded(|bytes| signer.sign(bytes));
	w3b_runtime::signed_transaction(
		payload,
		signer.public().into(),
		MultiSignature::Sr25519(signature),
	)
}

/// `0x`-prefixed lowercase hex.
pub fn hex_0x(bytes: &[u8]) -> String {
	format!("0x{}", hex::encode(bytes))
}

fn decode_hex(s: &str) -> Result<Vec<u8>> {
	Ok(hex::decode(s.trim_start_matches("0x"))?)
}

/// Polls the JSON-RPC `method` until `done` holds for its answer (panics after
/// `timeout`).
pub fn wait_rpc(
	rpc: &Rpc,
	method: &str,
	params: Value,
	timeout: Duration,
	done: impl Fn(&Value) -> bool,
) -> Value {
	wait_for(method, timeout, || {
		let answer = rpc.call(method, params.clone())?;
		Ok(done(&answer).then_some(answer))
	})
	.unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `check` every 500 ms until it returns `Some`, or fails after `timeout` with
/// `what` in the message.
pub fn wait_for<T>(
	what: &str,
	timeout: Duration,
	mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
	let deadline = Instant::now() + timeout;
	let mut last_error = None;
	loop {
		match check() {
			Ok(Some(value)) => return Ok(value),
			Ok(None) => {}
			Err(e) => last_error = Some(e.to_string()),
		}
		if Instant::now() > deadline {
			return Err(format!(
				"timed out after {timeout:?} waiting for {what}{}",
				last_error.map(|e| format!(" (last error: {e})")).unwrap_or_default()
			)
			.into());
		}
		thread::sleep(Duration::from_millis(500));
	}
}

/// `device`'s message `seq` for `project`, signed, in the JSON devices send.
pub fn signed_message(
	device: &sp_core::ed25519::Pair,
	project: u64,
	seq: u64,
	payload: &[u8],
) -> String {
	signed_message_with_hash(device, project, seq, payload).1
}

/// [`signed_message`] and the message's hash.
pub fn signed_message_with_hash(
	device: &sp_core::ed25519::Pair,
	project: u64,
	seq: u64,
	payload: &[u8],
) -> (H256, String) {
	use sp_core::Pair;
	let id = w3b_primitives::DeviceKey::Ed25519(device.public().0).device_id();
	signed_message_as(device, id, project, seq, payload)
}

/// A message of the device whose id is `id` (its DID's identifier, for a device
/// registered by its DID) signed by `device`'s key, and its hash.
pub fn signed_message_as(
	device: &sp_core::ed25519::Pair,
	id: w3b_primitives::DeviceId,
	project: u64,
	seq: u64,
	payload: &[u8],
) -> (H256, String) {
	use sp_core::Pair;
	let message = w3b_primitives::Message {
		project,
		device: id,
		seq,
		timestamp_ms: std::time::SystemTime::now()
			.duration_since(std::time::UNIX_EPOCH)
			.expect("clock after 1970")
			.as_millis() as u64,
		event_type: b"TEMPERATURE".to_vec(),
		payload: payload.to_vec(),
		encrypted: false,
	};
	let hash = message.hash();
	let signature = device.sign(hash.as_bytes());
	let json = serde_json::to_string(&w3b_ingest::wire::WireMessage::new(&message, &signature.0))
		.expect("JSON");
	(hash, json)
}

/// On a dev chain: Alice creates project `name` and registers `device` in it, `operator`
/// (registered as one if it is not yet) joins its subnet; returns the project once it is
/// Active and the device's registration final. A dev node (`--dev`) operates as Alice:
/// it takes messages only for projects she operates.
pub fn active_project_with_device(
	rpc: &Rpc,
	name: &str,
	operator: sp_keyring::Sr25519Keyring,
	device: &sp_core::ed25519::Pair,
	timeout: Duration,
) -> w3b_primitives::ProjectId {
	use sp_core::Pair;
	use sp_keyring::Sr25519Keyring::Alice;
	let key = w3b_primitives::DeviceKey::Ed25519(device.public().0);
	let submit = |who, call: RuntimeCall| rpc.submit(who, call).expect("transaction accepted");
	submit(
		Alice,
		pallet_projects::Call::create_project {
			name: name.as_bytes().to_vec().try_into().expect("short"),
			metadata: Default::default(),
			config: Default::default(),
		}
		.into(),
	);
	let project = wait_rpc(rpc, "w3b_getProjectId", json!([name]), timeout, |v| !v.is_null());
	let project: w3b_primitives::ProjectId = serde_json::from_value(project).expect("an id");
	submit(
		Alice,
		pallet_projects::Call::register_device { project, key: key.clone(), did: None }.into(),
	);
	let account = operator.to_account_id().to_string();
	if rpc.call("w3b_getOperator", json!([account])).expect("RPC answers").is_null() {
		submit(
			operator,
			pallet_operators::Call::register_operator {
				bond: 100 * w3b_runtime::UNIT,
				endpoints: Default::default(),
				did: None,
			}
			.into(),
		);
		wait_rpc(rpc, "w3b_getOperator", json!([account]), timeout, |v| !v.is_null());
	}
	submit(operator, pallet_operators::Call::join_subnet { project }.into());
	wait_rpc(rpc, "w3b_getProject", json!([project]), timeout, |v| v["status"] == "Active");
	wait_device_final(rpc, project, key.device_id(), timeout);
	project
}

/// Waits until device `device` of `project` is registered in a finalized block (nodes
/// take its messages from then on) and returns its record.
pub fn wait_device_final(
	rpc: &Rpc,
	project: w3b_primitives::ProjectId,
	device: w3b_primitives::DeviceId,
	timeout: Duration,
) -> Value {
	wait_for("the device's registration to be final", timeout, || {
		let head = rpc.call("chain_getFinalizedHead", json!([]))?;
		let record = rpc.call("w3b_getDevice", json!([project, device, head]))?;
		Ok((!record.is_null()).then_some(record))
	})
	.unwrap_or_else(|e| panic!("{e}"))
}

/// The sum of the series of metric `name` on the Prometheus endpoint at `port` whose
/// labels include every one of `labels` (the node adds its own labels, such as the
/// chain's).
pub fn metric(port: u16, name: &str, labels: &[&str]) -> f64 {
	let text = ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
		.call()
		.expect("metrics served")
		.into_string()
		.expect("text");
	text.lines()
		.filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
		.filter(|l| labels.iter().all(|label| l.contains(label)))
		.filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
		.sum()
}
