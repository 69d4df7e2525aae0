//! Command line of `w3b-node`.

/// Subcommands besides running the node.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management: generate, inspect and insert keys into the keystore.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification (`--chain dev|local|PATH`), optionally `--raw`.
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export the chain specification of `--chain` as JSON.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks to a file.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks from a file.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain database.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Run runtime benchmarks (`benchmark pallet`); needs `--features runtime-benchmarks`.
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),

	/// Print the versions of the node and of its native runtime.
	ChainInfo(sc_cli::ChainInfoCmd),

	/// Applet developer tools.
	#[command(subcommand)]
	Applet(AppletCmd),

	/// The bridge's EVM side: deploy the `W3bBridge` contract, relay signed batches to it.
	#[command(subcommand)]
	Bridge(w3b_bridge::BridgeCmd),

	/// The node's SSI wallet: its DID, and W3C verifiable credentials it issues, revokes
	/// and verifies.
	Wallet(crate::wallet::WalletCmd),

	/// Governance without sudo: register a validator's session keys, propose, vote on and
	/// close council motions, apply an authorized runtime upgrade.
	Governance(crate::governance::GovernanceCmd),
}

/// `w3b-node applet ...`.
#[derive(Debug, clap::Subcommand)]
pub enum AppletCmd {
	/// Run an applet locally over messages and print each event's result, logs, outputs,
	/// state changes and fuel as JSON.
	Run(AppletRunCmd),
}

/// `w3b-node applet run --wasm FILE --messages FILE.jsonl`.
#[derive(Debug, clap::Args)]
pub struct AppletRunCmd {
	/// The applet's WASM file.
	#[arg(long, value_name = "FILE")]
	pub wasm: std::path::PathBuf,
	/// Messages, one JSON object per line: `{"event_type": "...", "payload": ...}` (a
	/// string payload is taken as UTF-8, any other JSON value as its JSON text) or
	/// `{"payload_hex": "0x..."}`.
	#[arg(long, value_name = "FILE.jsonl")]
	pub messages: std::path::PathBuf,
	/// The exported handler every event goes to.
	#[arg(long, default_value = "start")]
	pub handler: String,
	/// An environment variable for the applet (repeatable).
	#[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
	pub env: Vec<(String, String)>,
	/// Fuel for the whole run.
	#[arg(long, default_value_t = 1_000_000_000)]
	pub fuel: u64,
	/// Give the applet an in-memory SQL database.
	#[arg(long, conflicts_with = "sql_db")]
	pub sql: bool,
	/// Give the applet the SQL database in this file (created if needed).
	#[arg(long, value_name = "FILE")]
	pub sql_db: Option<std::path::PathBuf>,
}

fn parse_env(pair: &str) -> Result<(String, String), String> {
	pair.split_once('=')
		.map(|(k, v)| (k.to_string(), v.to_string()))
		.filter(|(k, _)| !k.is_empty())
		.ok_or_else(|| format!("`{pair}` is not KEY=VALUE"))
}

/// `w3b-node [SUBCOMMAND] [OPTIONS]`.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// A subcommand; without one the node runs.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// Options of the running node (`--chain`, `--validator`, `--rpc-port`, ...).
	#[clap(flatten)]
	pub run: sc_cli::RunCmd,

	/// Device-data ingestion.
	#[clap(flatten)]
	pub ingest: IngestArgs,
}

/// Where devices send data (each endpoint is off unless its option is given).
#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
	/// Serve HTTP ingestion (`POST /v1/projects/{project}/events`) on this port.
	#[arg(long, value_name = "PORT")]
	pub w3b_http_port: Option<u16>,
	/// Serve MQTT ingestion (`w3b/projects/{project}/events`) on this port.
	#[arg(long, value_name = "PORT")]
	pub w3b_mqtt_port: Option<u16>,
	/// Ingest from this external MQTT broker instead of (or as well as) serving MQTT.
	#[arg(long, value_name = "HOST:PORT")]
	pub w3b_mqtt_broker: Option<String>,
	/// Messages per second one device may send (bursts of twice as many).
	#[arg(long, value_name = "N", default_value_t = 100.0)]
	pub w3b_device_rate: f64,
	/// Messages per second one project may receive (bursts of twice as many).
	#[arg(long, value_name = "N", default_value_t = 10_000.0)]
	pub w3b_project_rate: f64,
	/// Messages per second one address may send over HTTP or MQTT, valid or not (bursts
	/// of twice as many): charged before any signature is checked, so a sender of junk
	/// costs the node at most this much work.
	#[arg(long, value_name = "N", default_value_t = 10_000.0)]
	pub w3b_sender_rate: f64,
	/// Serve the identity endpoint on this port: DID resolution in the Universal
	/// Resolver's driver interface (`GET /1.0/identifiers/{did}`) and the node wallet's
	/// status lists (`GET /1.0/status/{issuer}/{revocation|suspension}`).
	#[arg(long, value_name = "PORT")]
	pub w3b_identity_port: Option<u16>,
	/// The URL verifiers reach the identity endpoint at (behind a proxy or a DNS name):
	/// status lists name themselves by it, and `wallet issue --status-base` must be it.
	/// Default: `http://<--w3b-listen>:<--w3b-identity-port>`.
	#[arg(long, value_name = "URL", requires = "w3b_identity_port")]
	pub w3b_identity_url: Option<String>,
	/// Serve the web console on this port: pages for projects, applets, devices, subnets
	/// and proofs, live, talking to this node's JSON-RPC from the browser.
	#[arg(long, value_name = "PORT")]
	pub w3b_console_port: Option<u16>,
	/// The console's files. Default: the `console/` directory of the source tree the
	/// node was built from (run `npm ci` there once).
	#[arg(long, value_name = "DIR", requires = "w3b_console_port")]
	pub w3b_console_dir: Option<std::path::PathBuf>,
	/// Address the console listens on. Loopback by default: its page asks for secret
	/// keys, so serve it to other machines only behind HTTPS (a reverse proxy).
	#[arg(long, value_name = "IP", default_value = "127.0.0.1", requires = "w3b_console_port")]
	pub w3b_console_listen: std::net::IpAddr,
	/// Address the ingestion and identity endpoints listen on.
	#[arg(long, value_name = "IP", default_value_t = crate::ingest::DEFAULT_LISTEN)]
	pub w3b_listen: std::net::IpAddr,
	/// Where acknowledged messages are kept: `embedded` (a log under the base path) or a
	/// PostgreSQL URL (`postgres://USER@HOST:PORT/DB`, or libpq's `host=... dbname=...`).
	#[arg(long, value_name = "STORE", default_value = "embedded")]
	pub w3b_store: String,
	/// Where batch bodies are kept: `fs` (files under the base path) or
	/// `ipfs=http://HOST:5001` (a Kubo RPC API).
	#[arg(long, value_name = "VFS", default_value = "fs")]
	pub w3b_vfs: String,
	/// Run the W3bstream worker: seal, commit, execute and attest for the projects the
	/// node's operator (key type `w3bo`) joined. Default: on for validators.
	#[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
	pub w3b_worker: Option<bool>,
	/// Most messages in one batch (a full batch is sealed at once).
	#[arg(long, value_name = "N", default_value_t = 5_000,
		value_parser = clap::builder::RangedU64ValueParser::<usize>::new()
			.range(1..=u64::from(w3b_primitives::batch::MAX_BATCH_MESSAGES)))]
	pub w3b_max_batch: usize,
	/// How often the messages received are sealed into a batch, in milliseconds. By
	/// default once a block (one slot), just before the block is authored so that the
	/// commitment is in it; a multiple of the slot seals before every so many blocks
	/// (fewer transactions, more latency); less than a slot seals this often and before
	/// every block (more batches, each with its commitment and votes on chain, for no
	/// less latency). A full batch (`--w3b-max-batch`) is sealed at once.
	#[arg(long, value_name = "MS", default_value_t = w3b_runtime::SLOT_DURATION)]
	pub w3b_seal_interval_ms: u64,
	/// How long the worker may spend on one project's work (judging and executing its
	/// batches, voting) from one pass over a new best block to the next, in milliseconds:
	/// after two such intervals in a row over it, or one over twice it, the node refuses
	/// the project's new messages for now (`backlogged`: HTTP 503 with `Retry-After` the
	/// bound in whole seconds; over MQTT not acknowledged and the connection closed) until
	/// an interval is within the bound again. 0 never refuses. By default two slots: a
	/// project whose work per block takes longer than that falls behind the chain, and
	/// what is taken in for it then waits ever longer for a proof.
	#[arg(long, value_name = "MS", default_value_t = 2 * w3b_runtime::SLOT_DURATION)]
	pub w3b_max_pass_ms: u64,
	/// Most bytes in one batch body (kept well below the 32 MiB the chain and peers
	/// accept, so that a body is fetched in one request).
	#[arg(long, value_name = "BYTES", default_value_t = 8 << 20,
		value_parser = clap::value_parser!(u64).range(1..=w3b_primitives::batch::MAX_BATCH_BYTES))]
	pub w3b_max_batch_bytes: u64,
	/// An EVM chain's JSON-RPC endpoint, `CHAIN_ID=URL` (repeat for several chains): the
	/// worker reads there the contract logs its projects subscribed to and votes what it
	/// saw. Without one for a chain, the node does not observe that chain's logs (the
	/// other members of the subnet still can).
	#[arg(long, value_name = "CHAIN_ID=URL", value_parser = parse_evm_endpoint)]
	pub w3b_evm_url: Vec<(u64, String)>,
	/// Test only: misbehave as a byzantine operator, `MODE=PROJECT` (modes: forge,
	/// poison-outputs, hijack, withhold, diverge, wrong-root, lag).
	#[arg(long, hide = true, value_name = "MODE=PROJECT")]
	pub w3b_byzantine: Vec<String>,
}

/// Parses `CHAIN_ID=URL`.
fn parse_evm_endpoint(value: &str) -> Result<(u64, String), String> {
	let (chain, url) =
		value.split_once('=').ok_or_else(|| {
			format!("expected CHAIN_ID=URL (e.g. 4690=https://babel-api.testnet.iotex.io), got {value:?}")
		})?;
	let chain: u64 =
		chain.trim().parse().map_err(|_| format!("{chain:?} is not a chain id (a number)"))?;
	if !(url.starts_with("http://") || url.starts_with("https://")) {
		return Err(format!("{url:?} is not an http(s) URL"));
	}
	Ok((chain, url.to_string()))
}
