//! Dispatch of `w3b-node`'s subcommands.

use crate::{
	chain_spec,
	cli::{Cli, Subcommand},
	service,
};
use sc_cli::SubstrateCli;
use sc_service::PartialComponents;
use w3b_runtime::opaque::Block;

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"W3bstream Appchain Node".into()
	}

	fn impl_version() -> String {
		env!("SUBSTRATE_CLI_IMPL_VERSION").into()
	}

	fn description() -> String {
		env!("CARGO_PKG_DESCRIPTION").into()
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://github.com/w3bstream/w3b-appchain/issues".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
		Ok(match id {
			"dev" => Box::new(chain_spec::development_chain_spec()?),
			"" | "local" => Box::new(chain_spec::local_chain_spec()?),
			path => {
				Box::new(chain_spec::ChainSpec::from_json_file(std::path::PathBuf::from(path))?)
			}
		})
	}
}

/// Whether the operator chose the RPC method set on the command line.
fn rpc_methods_given() -> bool {
	std::env::args_os().any(|arg| {
		arg.to_str().is_some_and(|a| a == "--rpc-methods" || a.starts_with("--rpc-methods="))
	})
}

/// Blocks whose state a node keeps by default: more than the longest attestation round
/// (600 blocks), so a worker that fell behind still finds every open batch's context.
const STATE_KEPT_BLOCKS: u32 = 1024;

/// Parses the command line and runs the node or the subcommand.
pub fn run() -> sc_cli::Result<()> {
	let mut cli = Cli::from_args();
	// Substrate's default (`auto`) exposes unsafe methods such as `author_rotateKeys`
	// whenever RPC listens on localhost. A validator should only serve them when its
	// operator asks for them, so the default here is `safe`.
	if !rpc_methods_given() {
		cli.run.rpc_params.rpc_methods = sc_cli::RpcMethods::Safe;
	}
	// The worker runs each batch with the project's context as of its commitment, which
	// it reads from the state of that block: keep the state of more blocks than the
	// longest attestation round (Substrate's default keeps 256).
	let pruning = &mut cli.run.import_params.pruning_params.state_pruning;
	if pruning.is_none() {
		*pruning = Some(sc_cli::DatabasePruningMode::Custom(STATE_KEPT_BLOCKS));
	}

	match &cli.subcommand {
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		Some(Subcommand::BuildSpec(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.chain_spec, config.network))
		}
		Some(Subcommand::ExportChainSpec(cmd)) => {
			let chain_spec = cli.load_spec(&cmd.chain)?;
			cmd.run(chain_spec)
		}
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		}
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		}
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		}
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config)?;
				let aux_revert = Box::new(|client, _, blocks| {
					sc_consensus_grandpa::revert(client, blocks)?;
					Ok(())
				});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		}
		#[cfg(feature = "runtime-benchmarks")]
		Some(Subcommand::Benchmark(cmd)) => {
			use frame_benchmarking_cli::BenchmarkCmd;
			use sp_runtime::traits::HashingFor;

			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| match cmd {
				BenchmarkCmd::Pallet(cmd) => {
					cmd.run_with_spec::<HashingFor<Block>, ()>(Some(config.chain_spec))
				}
				_ => Err("w3b-node supports `benchmark pallet` only".into()),
			})
		}
		Some(Subcommand::Applet(crate::cli::AppletCmd::Run(cmd))) => {
			let run = w3b_executor::local::LocalRun {
				wasm: cmd.wasm.clone(),
				messages: cmd.messages.clone(),
				handler: cmd.handler.clone(),
				env: cmd.env.clone(),
				fuel: cmd.fuel,
				sql: if cmd.sql { Some(None) } else { cmd.sql_db.clone().map(Some) },
			};
			match w3b_executor::local::run_local(&run) {
				Ok(report) => {
					println!("{report:#}");
					Ok(())
				}
				Err(message) => {
					eprintln!("error: {message}");
					std::process::exit(1);
				}
			}
		}
		Some(Subcommand::Governance(cmd)) => {
			if let Err(error) = cmd.run() {
				eprintln!("error: {error}");
				std::process::exit(1);
			}
			Ok(())
		}
		Some(Subcommand::Wallet(cmd)) => {
			if let Err(error) = cmd.run(&cli) {
				eprintln!("error: {error}");
				std::process::exit(1);
			}
			Ok(())
		}
		Some(Subcommand::Bridge(cmd)) => {
			sc_cli::LoggerBuilder::new("").init()?;
			if let Err(error) = cmd.run() {
				eprintln!("error: {error}");
				std::process::exit(1);
			}
			Ok(())
		}
		Some(Subcommand::ChainInfo(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run::<Block>(&config))
		}
		None => {
			let runner = cli.create_runner(&cli.run)?;
			let ingest = cli.ingest.clone();
			runner.run_node_until_exit(|config| async move {
				type Hash = <Block as sp_runtime::traits::Block>::Hash;
				match config.network.network_backend {
					sc_network::config::NetworkBackendType::Libp2p => {
						service::new_full::<sc_network::NetworkWorker<Block, Hash>>(config, ingest)
					}
					sc_network::config::NetworkBackendType::Litep2p => {
						service::new_full::<sc_network::Litep2pNetworkBackend>(config, ingest)
					}
				}
				.map_err(sc_cli::Error::Service)
			})
		}
	}
}
