//! `w3b`: the command line of W3bstream project owners, operators and device makers.
//!
//! It talks to any node over JSON-RPC: transactions are built with subxt, typed from the
//! runtime's metadata (`metadata/w3b.scale`), and signed with a key from a dev URI, a
//! file, an environment variable or a node's keystore; reads use the node's `w3b_*`
//! methods. Every command that changes the chain waits until its transaction is in a
//! finalized block and reports what the chain said.

mod amount;
mod applet;
mod chain;
mod device;
mod error;
mod keys;
mod operator;
mod output;
mod project;
mod proof;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

pub use error::CliError;

/// The runtime's calls, storage and events, generated from its metadata. The
/// non-generic types the runtime shares with `w3b-primitives` are that crate's own,
/// SCALE-encoded as they are.
#[subxt::subxt(
	runtime_metadata_path = "metadata/w3b.scale",
	derive_for_type(
		path = "w3b_primitives::project::ProjectConfig",
		derive = "::subxt::ext::codec::Decode",
		recursive
	),
	substitute_type(
		path = "w3b_primitives::device::DeviceKey",
		with = "::subxt::utils::Static<::w3b_primitives::DeviceKey>"
	),
	substitute_type(
		path = "w3b_primitives::project::Strategy",
		with = "::subxt::utils::Static<::w3b_primitives::project::Strategy>"
	)
)]
pub mod runtime {}

/// `w3b [OPTIONS] <COMMAND>`
#[derive(Debug, Parser)]
#[command(
	name = "w3b",
	version,
	about = "Manage W3bstream projects, applets, devices and operators, and check proofs.",
	after_help = "Examples (the signing key in W3B_SURI keeps it out of `ps` and the shell's history):
  export W3B_SURI='//Alice'
  w3b project create thermo --file project.toml
  w3b applet deploy thermo counter.wasm --name counter --strategy DEFAULT=handle
  w3b device keygen --out sensor.key && w3b device register thermo --device-key sensor.key
  w3b device send thermo --device-key sensor.key --http http://127.0.0.1:8080 --count 10
  w3b watch thermo
  w3b message prove thermo 3 0x5f1c... --at 0x<a finalized block hash you trust>

Exit codes: 0 done, 1 other failure, 2 bad argument, 3 node unreachable,
4 refused (a transaction by the chain, a reading by the node), 5 not found,
6 a proof did not verify, 7 timed out."
)]
pub struct Cli {
	/// The node's JSON-RPC endpoint (WebSocket).
	#[arg(long, global = true, env = "W3B_URL", default_value = "ws://127.0.0.1:9944")]
	pub url: String,

	/// Print results as JSON on stdout (progress still goes to stderr).
	#[arg(long, global = true)]
	pub json: bool,

	/// Longest wait, in seconds, for a transaction to be final or for a read to answer.
	#[arg(long, global = true, default_value_t = 120)]
	pub timeout: u64,

	#[command(flatten)]
	pub key: keys::KeyOptions,

	#[command(subcommand)]
	pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
	/// Create, inspect, configure, pause, resume, close and fund projects.
	#[command(subcommand)]
	Project(project::ProjectCmd),
	/// Deploy applets (upload and register or upgrade in one step), list them, run one
	/// locally.
	#[command(subcommand)]
	Applet(applet::AppletCmd),
	/// Device keys, registration, and a device simulator that signs and sends readings.
	#[command(subcommand)]
	Device(device::DeviceCmd),
	/// Operators: register with a bond, join and leave subnets, status and rewards.
	#[command(subcommand)]
	Operator(operator::OperatorCmd),
	/// Committed batches and their proofs.
	#[command(subcommand)]
	Batch(proof::BatchCmd),
	/// A message's inclusion proof, verified offline against the finalized batch root.
	#[command(subcommand)]
	Message(proof::MessageCmd),
	/// Print a project's proofs as they are finalized, with their latency.
	Watch(proof::WatchArgs),
	/// Print a completion script for a shell (`w3b completions bash > ~/.w3b.bash`).
	Completions {
		/// The shell.
		shell: clap_complete::Shell,
	},
}

fn main() -> ExitCode {
	let cli = Cli::parse();
	let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
		Ok(runtime) => runtime,
		Err(e) => {
			eprintln!("error: cannot start the async runtime: {e}");
			return ExitCode::FAILURE;
		}
	};
	let result = runtime.block_on(run(cli));
	// A request still blocked on a stalled node must not hold the process open.
	runtime.shutdown_timeout(std::time::Duration::from_secs(1));
	match result {
		Ok(()) => ExitCode::SUCCESS,
		Err(e) => {
			eprintln!("error: {e}");
			if let Some(hint) = e.hint() {
				eprintln!("hint: {hint}");
			}
			ExitCode::from(e.exit_code())
		}
	}
}

async fn run(cli: Cli) -> Result<(), CliError> {
	let out = output::Output { json: cli.json };
	let context = chain::Context { url: cli.url, timeout: cli.timeout, key: cli.key, out };
	match cli.command {
		Command::Project(cmd) => project::run(cmd, &context).await,
		Command::Applet(cmd) => applet::run(cmd, &context).await,
		Command::Device(cmd) => device::run(cmd, &context).await,
		Command::Operator(cmd) => operator::run(cmd, &context).await,
		Command::Batch(cmd) => proof::run_batch(cmd, &context).await,
		Command::Message(cmd) => proof::run_message(cmd, &context).await,
		Command::Watch(args) => proof::watch(args, &context).await,
		Command::Completions { shell } => {
			clap_complete::generate(shell, &mut Cli::command(), "w3b", &mut std::io::stdout());
			Ok(())
		}
	}
}
