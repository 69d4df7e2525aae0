//! `w3b operator ...`: register with a bond, join and leave subnets, status and rewards.

use codec::Encode;
use serde_json::{json, Value};
use sp_core::crypto::Ss58Codec;
use subxt::utils::AccountId32;

use crate::{
	chain::{rpc_params, Chain, Context},
	keys::parse_account,
	output::describe,
	project::resolve,
	runtime::{self, runtime_types::bounded_collections::bounded_vec::BoundedVec},
	CliError,
};

/// `w3b operator ...`
#[derive(Debug, clap::Subcommand)]
pub enum OperatorCmd {
	/// Register the signing account as an operator, holding `--bond` from its balance.
	Register {
		/// The bond, in the chain's token (at least the chain's minimum).
		#[arg(long)]
		bond: String,
		/// The MQTT URL devices publish to at this operator's node.
		#[arg(long, default_value = "")]
		mqtt_endpoint: String,
		/// The HTTP ingestion URL of this operator's node.
		#[arg(long, default_value = "")]
		http_endpoint: String,
	},
	/// Join a project's subnet (its node then seals, executes and attests for it).
	Join {
		/// Project id or name.
		project: String,
	},
	/// Leave a project's subnet.
	Leave {
		/// Project id or name.
		project: String,
	},
	/// An operator's bond, endpoints, subnets and balance (default: the signer's).
	Status {
		/// The operator's account (SS58).
		account: Option<String>,
	},
	/// What an operator earns: its balance and, for each subnet, the reward per batch
	/// and what is left in the project's reward pool (default: the signer's).
	Rewards {
		/// The operator's account (SS58).
		account: Option<String>,
	},
}

pub async fn run(cmd: OperatorCmd, context: &Context) -> Result<(), CliError> {
	let chain = context.connect().await?;
	let out = context.out;
	match cmd {
		OperatorCmd::Register { bond, mqtt_endpoint, http_endpoint } => {
			let signer = context.signer()?;
			let bond = chain.token.parse(&bond)?;
			crate::project::announce(&chain, bond);
			let endpoints = runtime::runtime_types::w3b_primitives::operator::Endpoints {
				mqtt: BoundedVec(mqtt_endpoint.into_bytes()),
				http: BoundedVec(http_endpoint.into_bytes()),
			};
			let call = runtime::tx().operators().register_operator(bond, endpoints, None);
			chain.submit("register operator", &call, &signer).await?;
			let shown = json!({"operator": signer.ss58(), "bond": bond.to_string()});
			out.result(&shown, || {
				format!(
					"{} registered as an operator, bond {}",
					signer.ss58(),
					chain.token.format(bond)
				)
			});
		}
		OperatorCmd::Join { project } => {
			let call = |id| runtime::tx().operators().join_subnet(id);
			membership(&chain, context, &project, "join", "joined", call).await?;
		}
		OperatorCmd::Leave { project } => {
			let call = |id| runtime::tx().operators().leave_subnet(id);
			membership(&chain, context, &project, "leave", "left", call).await?;
		}
		OperatorCmd::Status { account } => {
			let account = account_or_signer(account, context)?;
			let info = operator_info(&chain, &account).await?;
			let mut shown = json!({"operator": ss58(&account), "free": free_balance(&chain, &account).await?.to_string()});
			if let (Some(shown), Value::Object(info)) = (shown.as_object_mut(), info) {
				shown.extend(info);
			}
			out.result(&shown, || describe(&shown));
		}
		OperatorCmd::Rewards { account } => {
			let account = account_or_signer(account, context)?;
			let info = operator_info(&chain, &account).await?;
			let mut subnets = Vec::new();
			for project in info["subnets"].as_array().into_iter().flatten() {
				let Some(id) = project.as_u64() else { continue };
				let project: Value = chain.read("w3b_getProject", rpc_params(&[id.into()])).await?;
				let pool = free_balance(&chain, &reward_pool(&chain, id).await?).await?;
				subnets.push(json!({
					"project": id,
					"name": project["name"],
					"rewardPerBatch": project["config"]["rewardPerBatch"],
					"rewardPool": pool.to_string(),
				}));
			}
			let free = free_balance(&chain, &account).await?;
			let shown =
				json!({"operator": ss58(&account), "free": free.to_string(), "subnets": subnets});
			out.result(&shown, || {
				let mut lines =
					vec![format!("{}: balance {}", ss58(&account), chain.token.format(free))];
				for subnet in &subnets {
					let amount = |key: &str| {
						subnet[key]
							.as_str()
							.and_then(|a| a.parse().ok())
							.map(|a| chain.token.format(a))
					};
					lines.push(format!(
						"  project {} ({}): {} per finalized batch, shared by the operators who agreed; pool {}",
						subnet["project"],
						crate::output::printable(subnet["name"].as_str().unwrap_or("?")),
						amount("rewardPerBatch").unwrap_or_default(),
						amount("rewardPool").unwrap_or_default(),
					));
				}
				lines.join("\n")
			});
		}
	}
	Ok(())
}

/// Signs and submits the signer's `call` on `project`'s subnet (`verb` it, and it has
/// `done` so), and reports it.
async fn membership<Call: subxt::tx::Payload>(
	chain: &Chain,
	context: &Context,
	project: &str,
	verb: &str,
	done: &str,
	call: impl FnOnce(u64) -> Call,
) -> Result<(), CliError> {
	let signer = context.signer()?;
	let id = resolve(chain, project).await?;
	chain.submit(&format!("{verb} project {project}'s subnet"), &call(id), &signer).await?;
	let shown = json!({"operator": signer.ss58(), "project": id, "done": done});
	context.out.result(&shown, || format!("{} {done} project {project}'s subnet", signer.ss58()));
	Ok(())
}

fn account_or_signer(account: Option<String>, context: &Context) -> Result<AccountId32, CliError> {
	match account {
		Some(account) => parse_account(&account),
		None => context.signer().map(|signer| signer.account()).map_err(|_| {
			CliError::bad(
				"name the operator's account, or give its key (--suri, --key-file, --keystore)",
			)
		}),
	}
}

fn ss58(account: &AccountId32) -> String {
	sp_core::crypto::AccountId32::new(account.0).to_ss58check()
}

async fn operator_info(chain: &Chain, account: &AccountId32) -> Result<Value, CliError> {
	let info: Value = chain.read("w3b_getOperator", rpc_params(&[ss58(account).into()])).await?;
	if info.is_null() {
		return Err(CliError::NotFound(format!(
			"{} is not an operator (`w3b operator register --bond AMOUNT`)",
			ss58(account)
		)));
	}
	Ok(info)
}

/// `account`'s free balance at the finalized head.
async fn free_balance(chain: &Chain, account: &AccountId32) -> Result<u128, CliError> {
	let other = |e: subxt::Error| CliError::Other(e.to_string());
	let at = chain.api.at_current_block().await.map_err(|e| other(e.into()))?;
	let entry = at
		.storage()
		.try_fetch(runtime::storage().system().account(), (account.clone(),))
		.await
		.map_err(|e| other(e.into()))?;
	match entry {
		Some(entry) => Ok(entry.decode().map_err(|e| other(e.into()))?.data.free),
		None => Ok(0),
	}
}

/// The account of `project`'s reward pool: the operators pallet's sub-account for it,
/// as FRAME derives one (`PalletId::into_sub_account_truncating`): SCALE of
/// (`b"modl"`, pallet id, project) padded with zeros to 32 bytes.
async fn reward_pool(chain: &Chain, project: u64) -> Result<AccountId32, CliError> {
	let at = chain.api.at_current_block().await.map_err(|e| CliError::Other(e.to_string()))?;
	let pallet_id = at
		.constants()
		.entry(runtime::constants().operators().pallet_id())
		.map_err(|e| CliError::Other(e.to_string()))?;
	let mut account = [0u8; 32];
	let seed = (*b"modl", pallet_id.0, project).encode();
	account[..seed.len()].copy_from_slice(&seed);
	Ok(AccountId32(account))
}
