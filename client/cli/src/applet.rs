//! `w3b applet ...`: deploy (upload + register or upgrade in one step), list, run locally.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sp_core::H256;
use subxt::utils::Static;
use w3b_primitives::{project::Strategy, ProjectId};

use crate::{
	chain::{rpc_params, Chain, Context},
	keys::{hex_0x, AccountSigner},
	output::describe,
	project::resolve,
	runtime::{self, runtime_types::bounded_collections::bounded_vec::BoundedVec},
	CliError,
};

/// `w3b applet ...`
#[derive(Debug, clap::Subcommand)]
pub enum AppletCmd {
	/// Deploy a WASM module as a project's applet: upload it unless the chain has it,
	/// then register the applet, or upgrade it if the project has one of that name.
	#[command(
		after_help = "Example: w3b applet deploy thermo counter.wasm --name counter --strategy DEFAULT=handle"
	)]
	Deploy {
		/// Project id or name.
		project: String,
		/// The applet's WASM module.
		wasm: PathBuf,
		/// The applet's name in the project (default: the file's stem).
		#[arg(long)]
		name: Option<String>,
		/// A route `EVENT_TYPE=handler` (`DEFAULT=handler` for every other event);
		/// repeatable, at least one.
		#[arg(long = "strategy", required = true, value_name = "EVENT=HANDLER")]
		strategies: Vec<String>,
	},
	/// List a project's applets: version, code, routes.
	List {
		/// Project id or name.
		project: String,
	},
	/// Run an applet locally over messages (runs `w3b-node applet run`; see its --help).
	Run {
		/// Arguments for `w3b-node applet run` (`--wasm FILE --messages FILE.jsonl ...`).
		#[arg(trailing_var_arg = true, allow_hyphen_values = true)]
		args: Vec<String>,
	},
}

/// An applet to deploy: its name, module and routes.
#[derive(Debug)]
pub struct AppletSpec {
	pub name: String,
	pub code: Vec<u8>,
	pub code_hash: H256,
	pub strategies: Vec<(String, String)>,
}

impl AppletSpec {
	/// The applet `name` running the module at `wasm` with `strategies` (event type,
	/// handler).
	pub fn new(
		name: &str,
		wasm: &Path,
		strategies: Vec<(String, String)>,
	) -> Result<Self, CliError> {
		let code = std::fs::read(wasm)
			.map_err(|e| CliError::bad(format!("cannot read applet {}: {e}", wasm.display())))?;
		if !code.starts_with(b"\0asm") {
			return Err(CliError::bad(format!("{} is not a WASM module", wasm.display())));
		}
		if strategies.is_empty() {
			return Err(CliError::bad(format!("applet {name} needs at least one strategy")));
		}
		let code_hash = H256(sp_crypto_hashing::blake2_256(&code));
		Ok(AppletSpec { name: name.to_string(), code, code_hash, strategies })
	}

	fn strategies(&self) -> Result<BoundedVec<Static<Strategy>>, CliError> {
		let too_long =
			|what: &str| CliError::bad(format!("{what} is longer than the chain allows"));
		self.strategies
			.iter()
			.map(|(event_type, handler)| {
				Ok(Static(Strategy {
					event_type: event_type
						.as_bytes()
						.to_vec()
						.try_into()
						.map_err(|_| too_long(&format!("event type {event_type:?}")))?,
					handler: handler
						.as_bytes()
						.to_vec()
						.try_into()
						.map_err(|_| too_long(&format!("handler {handler:?}")))?,
				}))
			})
			.collect::<Result<Vec<_>, CliError>>()
			.map(BoundedVec)
	}

	fn same_strategies(&self, applet: &Value) -> bool {
		let on_chain: Vec<(String, String)> = applet["strategies"]
			.as_array()
			.map(|list| {
				list.iter()
					.map(|s| {
						let text = |key: &str| s[key].as_str().unwrap_or_default().to_string();
						(text("eventType"), text("handler"))
					})
					.collect()
			})
			.unwrap_or_default();
		on_chain == self.strategies
	}
}

/// Deploys `spec` to `project`: uploads the module unless the chain has it, registers
/// the applet, or upgrades it when the project has an applet of that name with other
/// code or routes. Returns what was done, as JSON.
pub async fn deploy(
	chain: &Chain,
	project: ProjectId,
	spec: &AppletSpec,
	signer: &AccountSigner,
) -> Result<Value, CliError> {
	let hash = hex_0x(spec.code_hash.as_bytes());
	let info: Value = chain.read("w3b_getCodeInfo", rpc_params(&[hash.clone().into()])).await?;
	let uploaded = info.is_null();
	if uploaded {
		eprintln!("applet {}: uploading {} bytes ({hash})", spec.name, spec.code.len());
		let call = runtime::tx().projects().upload_code(spec.code.clone());
		chain.submit(&format!("upload {}", spec.name), &call, signer).await?;
	} else {
		eprintln!("applet {}: the chain has its code already ({hash})", spec.name);
	}
	let applets: Vec<Value> = chain.read("w3b_getApplets", rpc_params(&[project.into()])).await?;
	let existing = applets.iter().find(|a| a["name"] == spec.name.as_str());
	let action = match existing {
		Some(applet) if applet["codeHash"] == hash.as_str() && spec.same_strategies(applet) => {
			"unchanged"
		}
		Some(applet) => {
			let id = applet["id"]
				.as_u64()
				.and_then(|id| u32::try_from(id).ok())
				.ok_or_else(|| CliError::Other("the node listed an applet without an id".into()))?;
			let call = runtime::tx().projects().upgrade_applet(
				project,
				id,
				spec.code_hash,
				spec.strategies()?,
			);
			chain.submit(&format!("upgrade applet {}", spec.name), &call, signer).await?;
			"upgraded"
		}
		None => {
			let call = runtime::tx().projects().register_applet(
				project,
				BoundedVec(spec.name.as_bytes().to_vec()),
				spec.code_hash,
				spec.strategies()?,
			);
			chain.submit(&format!("register applet {}", spec.name), &call, signer).await?;
			"registered"
		}
	};
	Ok(json!({"applet": spec.name, "codeHash": hash, "uploaded": uploaded, "action": action}))
}

/// Parses `EVENT=handler`.
fn strategy(text: &str) -> Result<(String, String), CliError> {
	match text.split_once('=') {
		Some((event, handler)) if !event.is_empty() && !handler.is_empty() => {
			Ok((event.to_string(), handler.to_string()))
		}
		_ => Err(CliError::bad(format!(
			"--strategy {text:?}: write EVENT_TYPE=handler (DEFAULT=handler for any event)"
		))),
	}
}

pub async fn run(cmd: AppletCmd, context: &Context) -> Result<(), CliError> {
	match cmd {
		AppletCmd::Deploy { project, wasm, name, strategies } => {
			let strategies =
				strategies.iter().map(|s| strategy(s)).collect::<Result<Vec<_>, _>>()?;
			let name = match name {
				Some(name) => name,
				None => wasm
					.file_stem()
					.map(|stem| stem.to_string_lossy().into_owned())
					.ok_or_else(|| CliError::bad("give the applet a --name"))?,
			};
			let spec = AppletSpec::new(&name, &wasm, strategies)?;
			let signer = context.signer()?;
			let chain = context.connect().await?;
			let id = resolve(&chain, &project).await?;
			let done = deploy(&chain, id, &spec, &signer).await?;
			context.out.result(&done, || {
				format!(
					"applet {name} {} in project {project}",
					done["action"].as_str().unwrap_or("")
				)
			});
		}
		AppletCmd::List { project } => {
			let chain = context.connect().await?;
			let id = resolve(&chain, &project).await?;
			let applets: Value = chain.read("w3b_getApplets", rpc_params(&[id.into()])).await?;
			context.out.result(&applets, || {
				if applets.as_array().is_some_and(Vec::is_empty) {
					"no applets".into()
				} else {
					describe(&applets)
				}
			});
		}
		AppletCmd::Run { args } => {
			let node = node_binary();
			let status = std::process::Command::new(&node)
				.arg("applet")
				.arg("run")
				.args(&args)
				.status()
				.map_err(|e| {
					CliError::Other(format!(
						"cannot run {} ({e}): `w3b applet run` runs the node's applet runner; \
						 build it with scripts/build.sh or put w3b-node on PATH",
						node.display()
					))
				})?;
			if !status.success() {
				return Err(CliError::Other(format!("w3b-node applet run failed ({status})")));
			}
		}
	}
	Ok(())
}

/// `w3b-node` next to this binary (a build puts both in one directory), else on PATH.
fn node_binary() -> PathBuf {
	std::env::current_exe()
		.ok()
		.and_then(|exe| exe.parent().map(|dir| dir.join("w3b-node")))
		.filter(|path| path.exists())
		.unwrap_or_else(|| PathBuf::from("w3b-node"))
}
