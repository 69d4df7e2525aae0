//! `w3b project ...`: a project's life, and the project file that configures it.

use std::{
	collections::BTreeMap,
	path::{Path, PathBuf},
};

use codec::{Decode, Encode};
use serde::Deserialize;
use serde_json::{json, Value};
use w3b_primitives::{
	project::{BridgeTarget, EnvVar, ProjectConfig, RetentionPolicy},
	ProjectId,
};

use crate::{
	amount::Token,
	applet::{self, AppletSpec},
	chain::{rpc_params, Chain, Context},
	keys::parse_hex,
	output::{describe, printable},
	runtime::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			w3b_primitives::project::ProjectConfig as GeneratedConfig,
		},
	},
	CliError,
};

/// `w3b project ...`
#[derive(Debug, clap::Subcommand)]
pub enum ProjectCmd {
	/// Create a project (you pay its deposit and own it), configured from a project file
	/// if given, and deploy the applets the file lists.
	#[command(
		after_help = "Example: w3b project create thermo --file project.toml --suri //Alice"
	)]
	Create {
		/// A unique name.
		name: String,
		/// The project file (TOML: description, min_operators, attestation_deadline,
		/// fuel_per_batch, reward_per_batch, [retention], [bridge], [env], [[applet]]).
		#[arg(long)]
		file: Option<PathBuf>,
	},
	/// Show a project: owner, status, configuration, applets, subnet.
	Show {
		/// Project id or name.
		project: String,
	},
	/// List the projects on chain.
	List {
		/// Include closed projects.
		#[arg(long)]
		all: bool,
	},
	/// Replace a project's configuration with the project file's, and deploy the applets
	/// it lists (new ones registered, changed ones upgraded).
	Config {
		/// Project id or name.
		project: String,
		/// The project file.
		#[arg(long)]
		file: PathBuf,
	},
	/// Stop processing a project's messages (devices are refused) until resumed.
	Pause {
		/// Project id or name.
		project: String,
	},
	/// Resume a paused project.
	Resume {
		/// Project id or name.
		project: String,
	},
	/// Close a project for good: its applets are removed and its deposit returned.
	Close {
		/// Project id or name.
		project: String,
	},
	/// Move tokens into the project's reward pool (operators who agree on a batch are
	/// paid from it).
	Fund {
		/// Project id or name.
		project: String,
		/// The amount, in the chain's token (`100`, `0.5`).
		amount: String,
	},
}

/// A project file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
	/// Free-form description (project metadata on chain).
	#[serde(default)]
	pub description: String,
	/// Operators needed in the subnet before the project is Active.
	pub min_operators: Option<u32>,
	/// Blocks after a commitment during which operators may attest.
	pub attestation_deadline: Option<u32>,
	/// Fuel the applets get for one batch.
	pub fuel_per_batch: Option<u64>,
	/// Paid from the reward pool for each finalized batch, in the chain's token.
	pub reward_per_batch: Option<String>,
	/// How long raw data is kept.
	pub retention: Option<RetentionFile>,
	/// Where outputs are bridged to.
	pub bridge: Option<BridgeFile>,
	/// The applets' environment.
	#[serde(default)]
	pub env: BTreeMap<String, String>,
	/// Applets to deploy.
	#[serde(default, rename = "applet")]
	pub applets: Vec<AppletFile>,
}

/// `[retention]` of a project file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionFile {
	/// Batches older than this may be pruned (0: no limit).
	#[serde(default)]
	pub max_age_secs: u64,
	/// Oldest batches are pruned above this many bytes (0: no limit).
	#[serde(default)]
	pub max_bytes: u64,
}

/// `[bridge]` of a project file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeFile {
	/// EVM chain id (IoTeX testnet 4690).
	pub chain_id: u64,
	/// Receiver contract address.
	pub receiver: String,
}

/// `[[applet]]` of a project file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppletFile {
	/// The applet's name in the project.
	pub name: String,
	/// Its WASM module, relative to the project file.
	pub wasm: PathBuf,
	/// Event type (or `DEFAULT`) to exported handler.
	pub strategies: BTreeMap<String, String>,
}

impl ProjectFile {
	/// Reads and checks the project file at `path`.
	pub fn load(path: &Path) -> Result<Self, CliError> {
		let text = std::fs::read_to_string(path)
			.map_err(|e| CliError::bad(format!("cannot read {}: {e}", path.display())))?;
		toml::from_str(&text).map_err(|e| {
			CliError::bad(format!("{} is not a valid project file: {e}", path.display()))
		})
	}

	/// The on-chain configuration this file asks for (the chain's defaults for the rest).
	pub fn config(&self, token: &Token) -> Result<ProjectConfig<u128, u32>, CliError> {
		let mut config = ProjectConfig::<u128, u32>::default();
		let mut env = Vec::new();
		for (key, value) in &self.env {
			env.push(EnvVar {
				key: bounded(key.as_bytes(), &format!("env key {key:?}"))?,
				value: bounded(value.as_bytes(), &format!("the value of env {key:?}"))?,
			});
		}
		config.env =
			env.try_into().map_err(|_| CliError::bad("too many [env] variables for the chain"))?;
		if let Some(min) = self.min_operators {
			config.min_operators = min;
		}
		if let Some(deadline) = self.attestation_deadline {
			config.attestation_deadline = deadline;
		}
		if let Some(fuel) = self.fuel_per_batch {
			config.fuel_per_batch = fuel;
		}
		if let Some(reward) = &self.reward_per_batch {
			config.reward_per_batch = token.parse(reward)?;
		}
		if let Some(retention) = &self.retention {
			config.retention = RetentionPolicy {
				max_age_secs: retention.max_age_secs,
				max_bytes: retention.max_bytes,
			};
		}
		if let Some(bridge) = &self.bridge {
			let receiver = parse_hex(&bridge.receiver, "bridge.receiver")?;
			if receiver.len() != 20 {
				return Err(CliError::bad("bridge.receiver must be a 20-byte EVM address"));
			}
			config.bridge = Some(BridgeTarget {
				chain_id: bridge.chain_id,
				receiver: sp_core::H160::from_slice(&receiver),
			});
		}
		Ok(config)
	}

	/// The applets to deploy, their modules read (paths relative to `base`, the file's
	/// directory).
	pub fn applets(&self, base: &Path) -> Result<Vec<AppletSpec>, CliError> {
		self.applets
			.iter()
			.map(|applet| {
				AppletSpec::new(
					&applet.name,
					&base.join(&applet.wasm),
					applet.strategies.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
				)
			})
			.collect()
	}
}

/// A bounded byte string of the chain's, checked against its bound.
fn bounded<S: sp_core::Get<u32>>(
	bytes: &[u8],
	what: &str,
) -> Result<sp_core::bounded::BoundedVec<u8, S>, CliError> {
	bytes.to_vec().try_into().map_err(|_| {
		CliError::bad(format!("{what} is longer than the chain allows ({} bytes)", S::get()))
	})
}

/// The project `reference` names: an id, or the name of an open project.
pub async fn resolve(chain: &Chain, reference: &str) -> Result<ProjectId, CliError> {
	if let Ok(id) = reference.parse::<ProjectId>() {
		let project: Value = chain.read("w3b_getProject", rpc_params(&[id.into()])).await?;
		if project.is_null() {
			return Err(CliError::NotFound(format!("no project {id}")));
		}
		return Ok(id);
	}
	let id: Option<ProjectId> =
		chain.read("w3b_getProjectId", rpc_params(&[reference.into()])).await?;
	id.ok_or_else(|| CliError::NotFound(format!("no open project named {reference:?}")))
}

pub async fn run(cmd: ProjectCmd, context: &Context) -> Result<(), CliError> {
	let chain = context.connect().await?;
	let out = context.out;
	match cmd {
		ProjectCmd::Create { name, file } => {
			// Commands take a project by id or by name: a name of digits would be taken
			// for another project's id.
			if name.chars().all(|c| c.is_ascii_digit()) {
				return Err(CliError::bad(format!(
					"{name:?}: a project name needs a character that is not a digit \
					 (commands would take it for a project id)"
				)));
			}
			let signer = context.signer()?;
			let (project_file, base) = match &file {
				Some(path) => (ProjectFile::load(path)?, parent(path)),
				None => (ProjectFile::default(), PathBuf::from(".")),
			};
			let config = project_file.config(&chain.token)?;
			let applets = project_file.applets(&base)?;
			let call = runtime::tx().projects().create_project(
				BoundedVec(name.as_bytes().to_vec()),
				BoundedVec(project_file.description.as_bytes().to_vec()),
				generated(&config)?,
			);
			let events = chain.submit(&format!("create project {name}"), &call, &signer).await?;
			let created = events
				.find_first::<runtime::projects::events::ProjectCreated>()
				.and_then(Result::ok)
				.ok_or_else(|| {
					CliError::Other("the chain did not report the new project".into())
				})?;
			for spec in &applets {
				applet::deploy(&chain, created.project, spec, &signer).await?;
			}
			out.result(&json!({"project": created.project, "name": name}), || {
				format!("project {name} created: id {}", created.project)
			});
		}
		ProjectCmd::Show { project } => {
			let id = resolve(&chain, &project).await?;
			let info: Value = chain.read("w3b_getProject", rpc_params(&[id.into()])).await?;
			let applets: Value = chain.read("w3b_getApplets", rpc_params(&[id.into()])).await?;
			let subnet: Value = chain.read("w3b_getSubnet", rpc_params(&[id.into()])).await?;
			let mut shown = json!({"id": id});
			merge(&mut shown, info);
			shown["applets"] = applets;
			shown["subnet"] = subnet;
			out.result(&shown, || describe(&shown));
		}
		ProjectCmd::List { all } => {
			let next = chain
				.api
				.at_current_block()
				.await
				.map_err(|e| CliError::Unreachable {
					url: context.url.clone(),
					reason: e.to_string(),
				})?
				.storage()
				.fetch(runtime::storage().projects().next_project_id(), ())
				.await
				.map_err(|e| CliError::Other(e.to_string()))?
				.decode()
				.map_err(|e| CliError::Other(e.to_string()))?;
			let mut projects = Vec::new();
			for id in 0..next {
				let info: Value = chain.read("w3b_getProject", rpc_params(&[id.into()])).await?;
				if info.is_null() || (!all && info["status"] == "Closed") {
					continue;
				}
				projects.push(json!({
					"id": id,
					"name": info["name"],
					"status": info["status"],
					"owner": info["owner"],
				}));
			}
			let list = Value::Array(projects);
			out.result(&list, || {
				let rows = list.as_array().expect("an array");
				if rows.is_empty() {
					return "no projects".into();
				}
				rows.iter()
					.map(|p| {
						format!(
							"{:>4}  {:<24} {:<8} {}",
							p["id"],
							printable(p["name"].as_str().unwrap_or("?")),
							p["status"].as_str().unwrap_or("?"),
							p["owner"].as_str().unwrap_or("?")
						)
					})
					.collect::<Vec<_>>()
					.join("\n")
			});
		}
		ProjectCmd::Config { project, file } => {
			let signer = context.signer()?;
			let id = resolve(&chain, &project).await?;
			let project_file = ProjectFile::load(&file)?;
			let config = project_file.config(&chain.token)?;
			let applets = project_file.applets(&parent(&file))?;
			let call = runtime::tx().projects().set_config(id, generated(&config)?);
			chain.submit(&format!("configure project {project}"), &call, &signer).await?;
			for spec in &applets {
				applet::deploy(&chain, id, spec, &signer).await?;
			}
			out.result(&json!({"project": id, "configured": true}), || {
				format!("project {project} configured")
			});
		}
		ProjectCmd::Pause { project } => {
			let call = |id| runtime::tx().projects().pause_project(id);
			lifecycle(&chain, context, &project, "pause", "paused", call).await?;
		}
		ProjectCmd::Resume { project } => {
			let call = |id| runtime::tx().projects().resume_project(id);
			lifecycle(&chain, context, &project, "resume", "resumed", call).await?;
		}
		ProjectCmd::Close { project } => {
			let call = |id| runtime::tx().projects().close_project(id);
			lifecycle(&chain, context, &project, "close", "closed", call).await?;
		}
		ProjectCmd::Fund { project, amount } => {
			let signer = context.signer()?;
			let id = resolve(&chain, &project).await?;
			let plancks = chain.token.parse(&amount)?;
			announce(&chain, plancks);
			let call = runtime::tx().operators().fund_reward_pool(id, plancks);
			chain.submit(&format!("fund project {project}'s reward pool"), &call, &signer).await?;
			out.result(&json!({"project": id, "funded": plancks.to_string()}), || {
				format!(
					"{} moved into project {project}'s reward pool",
					chain.token.format(plancks)
				)
			});
		}
	}
	Ok(())
}

/// `config` as the generated type of the call: the two encode to the same bytes (a
/// generic type cannot be substituted into subxt's generated code).
fn generated(config: &ProjectConfig<u128, u32>) -> Result<GeneratedConfig<u128, u32>, CliError> {
	GeneratedConfig::<u128, u32>::decode(&mut &config.encode()[..])
		.map_err(|e| CliError::Other(format!("the runtime's ProjectConfig changed shape: {e}")))
}

/// Says, before signing, what an amount is in plancks: the token's decimals are the
/// node's word.
pub fn announce(chain: &Chain, plancks: u128) {
	eprintln!(
		"amount: {} = {plancks} plancks ({} decimals, as the node says)",
		chain.token.format(plancks),
		chain.token.decimals
	);
}

/// Signs and submits the owner's call `call` on `project` (`verb` it, and it is
/// `done`), and reports it.
async fn lifecycle<Call: subxt::tx::Payload>(
	chain: &Chain,
	context: &Context,
	project: &str,
	verb: &str,
	done: &str,
	call: impl FnOnce(ProjectId) -> Call,
) -> Result<(), CliError> {
	let signer = context.signer()?;
	let id = resolve(chain, project).await?;
	chain.submit(&format!("{verb} project {project}"), &call(id), &signer).await?;
	context
		.out
		.result(&json!({"project": id, "done": done}), || format!("project {project} {done}"));
	Ok(())
}

/// The directory of `file` (relative paths in it are relative to that).
fn parent(file: &Path) -> PathBuf {
	file.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// `extra`'s fields added to object `into`.
fn merge(into: &mut Value, extra: Value) {
	if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
		into.extend(extra);
	}
}
