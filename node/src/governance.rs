//! `w3b-node governance ...`: what a validator does to join the set and to govern the
//! chain without sudo, talking to a node over JSON-RPC.
//!
//! - `set-keys`: the candidate's node makes new session keys (Aura, GRANDPA, bridge) and
//!   their ownership proof for the candidate's account, and the account registers them
//!   (`session.setKeys`).
//! - `propose`: a council member proposes a motion (add or remove a validator, authorize
//!   a runtime upgrade, or any call) at the two-thirds threshold, and votes aye on it.
//! - `vote`, `close`, `motions`: the rest of a motion's life; `close` says what the
//!   motion did.
//! - `apply-upgrade`: anyone submits the code of an upgrade the council authorized.
//!
//! Accounts sign with a secret URI (`--signer //Alice` on development chains, a mnemonic
//! or a `0x` seed otherwise). Every action waits for its effect on the chain, with
//! progress on stderr, and prints JSON on stdout.

use std::path::PathBuf;

use codec::{Decode, Encode};
use frame_support::dispatch::GetDispatchInfo;
use serde_json::{json, Value};
use sp_core::{crypto::Ss58Codec, Pair, H256};
use sp_runtime::traits::{BlakeTwo256, Hash as _};
use w3b_runtime::{configs::CouncilCollective, AccountId, Runtime, RuntimeCall, RuntimeEvent};

use crate::chain_rpc::{signer_pair, ChainRpc, ChainRpcError, EventRecord};

/// `w3b-node governance ACTION ...`.
#[derive(Debug, clap::Args)]
pub struct GovernanceCmd {
	/// What to do.
	#[command(subcommand)]
	pub action: GovernanceAction,
}

/// The node to talk to and the account that signs.
#[derive(Debug, clap::Args)]
pub struct SignerOptions {
	/// The node's JSON-RPC endpoint (HTTP).
	#[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9944")]
	pub rpc_url: String,
	/// The signing account's secret URI (`//Alice` on development chains); without it,
	/// the environment variable `W3B_SIGNER` (which keeps a real secret out of the
	/// process list and the shell's history).
	#[arg(long, value_name = "SURI")]
	pub signer: Option<String>,
}

impl SignerOptions {
	/// The node, after a warning if its runtime is not the one this binary encodes for.
	fn chain(&self) -> Result<ChainRpc, GovernanceError> {
		let chain = ChainRpc::new(&self.rpc_url);
		let info = chain.info()?;
		if info.spec_version != w3b_runtime::VERSION.spec_version {
			eprintln!(
				"[governance] warning: the chain runs spec version {}, this w3b-node was built \
				 for {}: calls and events are encoded as this binary knows them",
				info.spec_version,
				w3b_runtime::VERSION.spec_version
			);
		}
		Ok(chain)
	}

	/// The signing account.
	fn signer(&self) -> Result<sp_core::sr25519::Pair, GovernanceError> {
		let suri = match &self.signer {
			Some(suri) => suri.clone(),
			None => std::env::var("W3B_SIGNER").map_err(|_| {
				GovernanceError::Argument("give --signer SURI or set W3B_SIGNER".into())
			})?,
		};
		Ok(signer_pair("--signer", &suri)?)
	}
}

/// A governance action.
#[derive(Debug, clap::Subcommand)]
pub enum GovernanceAction {
	/// Makes new session keys in the keystore of the node at `--rpc-url` (which must be
	/// the candidate's own node, serving unsafe RPC on localhost) and registers them for
	/// the `--signer` account with their ownership proof.
	///
	/// Example: `w3b-node governance set-keys --rpc-url http://127.0.0.1:9945 --signer //Eve`
	SetKeys {
		/// Ask a node that is not on this machine (127.0.0.1, localhost, [::1]): only
		/// over a channel you trust, since a node that lies hands you keys it holds.
		#[arg(long)]
		allow_remote: bool,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: SignerOptions,
	},
	/// Proposes a council motion at the two-thirds threshold and votes aye on it; prints
	/// the motion's hash for the other members' `vote`. Exactly one of the motion
	/// options.
	///
	/// Example: `w3b-node governance propose --add-validator 5HGj... --signer //Alice`
	Propose {
		/// Admit this account (SS58) as a validator; it must have run `set-keys`.
		#[arg(long, value_name = "ACCOUNT")]
		add_validator: Option<String>,
		/// Remove this validator (SS58).
		#[arg(long, value_name = "ACCOUNT")]
		remove_validator: Option<String>,
		/// Authorize a runtime upgrade to this WASM file (as Root, through
		/// `governance.dispatchAsRoot`); anyone then runs `apply-upgrade` with the file.
		#[arg(long, value_name = "FILE")]
		authorize_upgrade: Option<PathBuf>,
		/// Any call, SCALE-encoded as 0x hex (as polkadot.js shows "encoded call data").
		#[arg(long, value_name = "HEX")]
		call: Option<String>,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: SignerOptions,
	},
	/// Votes on an open motion: aye unless `--nay`.
	Vote {
		/// The motion's hash, as `propose` or `motions` print it.
		motion: H256,
		/// Vote against.
		#[arg(long)]
		nay: bool,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: SignerOptions,
	},
	/// Closes a motion that has enough ayes (or can no longer get them) and prints what
	/// it did: `executed` with the call's result, or `disapproved`.
	Close {
		/// The motion's hash.
		motion: H256,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: SignerOptions,
	},
	/// Lists the council's members and its open motions with their votes.
	Motions {
		/// The node's JSON-RPC endpoint (HTTP).
		#[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9944")]
		rpc_url: String,
	},
	/// Submits the code of an upgrade the council authorized (`propose
	/// --authorize-upgrade FILE`); any account may, and the chain checks it against the
	/// authorized hash.
	ApplyUpgrade {
		/// The runtime's WASM file, the one the motion named.
		file: PathBuf,
		#[allow(missing_docs)]
		#[clap(flatten)]
		options: SignerOptions,
	},
}

/// Why a governance action failed.
#[derive(Debug, thiserror::Error)]
pub enum GovernanceError {
	/// The node could not be reached or refused a call.
	#[error(transparent)]
	Chain(#[from] ChainRpcError),
	/// An argument is wrong.
	#[error("{0}")]
	Argument(String),
	/// The motion was closed without doing what it proposed.
	#[error("the motion {0:?} {1}")]
	Motion(H256, String),
}

type CouncilCall = pallet_collective::Call<Runtime, CouncilCollective>;

/// `Votes { index, threshold, ayes, nays, end }` of pallet-collective (its fields are
/// private; the encoding is its interface).
#[derive(Decode)]
struct Votes {
	index: u32,
	threshold: u32,
	ayes: Vec<AccountId>,
	nays: Vec<AccountId>,
	end: u32,
}

impl GovernanceCmd {
	/// Runs the action.
	pub fn run(&self) -> Result<(), GovernanceError> {
		match &self.action {
			GovernanceAction::SetKeys { allow_remote, options } => set_keys(options, *allow_remote),
			GovernanceAction::Propose {
				add_validator,
				remove_validator,
				authorize_upgrade,
				call,
				options,
			} => {
				let call = match (add_validator, remove_validator, authorize_upgrade, call) {
					(Some(who), None, None, None) => {
						RuntimeCall::Validators(pallet_validators::Call::add_validator {
							who: account(who)?,
						})
					}
					(None, Some(who), None, None) => {
						RuntimeCall::Validators(pallet_validators::Call::remove_validator {
							who: account(who)?,
						})
					}
					(None, None, Some(file), None) => {
						let code_hash = BlakeTwo256::hash(&upgrade_code(file)?);
						let authorize = frame_system::Call::authorize_upgrade { code_hash };
						RuntimeCall::Governance(pallet_governance::Call::dispatch_as_root {
							call: Box::new(authorize.into()),
						})
					}
					(None, None, None, Some(hex)) => {
						let bytes = sp_core::bytes::from_hex(hex).map_err(|e| {
							GovernanceError::Argument(format!("--call is not 0x hex: {e}"))
						})?;
						RuntimeCall::decode(&mut &bytes[..]).map_err(|e| {
							GovernanceError::Argument(format!(
								"--call is not a call of this runtime: {e}"
							))
						})?
					}
					_ => {
						return Err(GovernanceError::Argument(
							"give exactly one of --add-validator, --remove-validator, \
						 --authorize-upgrade, --call"
								.into(),
						))
					}
				};
				propose(options, call)
			}
			GovernanceAction::Vote { motion, nay, options } => vote(options, *motion, !nay),
			GovernanceAction::Close { motion, options } => close(options, *motion),
			GovernanceAction::Motions { rpc_url } => {
				println!("{}", motions(&ChainRpc::new(rpc_url))?);
				Ok(())
			}
			GovernanceAction::ApplyUpgrade { file, options } => apply_upgrade(options, file),
		}
	}
}

fn account(ss58: &str) -> Result<AccountId, GovernanceError> {
	AccountId::from_ss58check(ss58)
		.map_err(|e| GovernanceError::Argument(format!("{ss58:?} is not an SS58 account: {e:?}")))
}

/// The runtime in `file`, compressed as the chain takes code (zstd, as `set_code` and
/// `apply_authorized_upgrade` accept it): the same bytes for the motion's hash and for
/// the upgrade.
fn upgrade_code(file: &PathBuf) -> Result<Vec<u8>, GovernanceError> {
	let code = std::fs::read(file)
		.map_err(|e| GovernanceError::Argument(format!("{}: {e}", file.display())))?;
	if code.starts_with(b"\0asm") {
		sp_maybe_compressed_blob::compress_strongly(
			&code,
			sp_maybe_compressed_blob::CODE_BLOB_BOMB_LIMIT,
		)
		.ok_or_else(|| GovernanceError::Argument(format!("{} is too large", file.display())))
	} else if sp_maybe_compressed_blob::decompress(
		&code,
		sp_maybe_compressed_blob::CODE_BLOB_BOMB_LIMIT,
	)
	.is_ok_and(|wasm| wasm.starts_with(b"\0asm"))
	{
		Ok(code)
	} else {
		Err(GovernanceError::Argument(format!("{} is no runtime WASM", file.display())))
	}
}

fn voting(chain: &ChainRpc, motion: H256) -> Result<Option<Votes>, GovernanceError> {
	Ok(chain.storage(
		&pallet_collective::Voting::<Runtime, CouncilCollective>::hashed_key_for(motion),
		None,
	)?)
}

fn members(chain: &ChainRpc) -> Result<Vec<AccountId>, GovernanceError> {
	Ok(chain
		.storage(&pallet_collective::Members::<Runtime, CouncilCollective>::hashed_key(), None)?
		.unwrap_or_default())
}

fn set_keys(options: &SignerOptions, allow_remote: bool) -> Result<(), GovernanceError> {
	let local = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
		.iter()
		.any(|prefix| options.rpc_url.starts_with(prefix));
	if !local && !allow_remote {
		return Err(GovernanceError::Argument(format!(
			"{} is not this machine: the node that makes the keys holds them, so ask your own \
			 node (through an SSH tunnel from elsewhere), or pass --allow-remote",
			options.rpc_url
		)));
	}
	let chain = options.chain()?;
	let signer = options.signer()?;
	let owner: AccountId = signer.public().into();
	let generated = chain.call(
		"author_rotateKeysWithOwner",
		json!([sp_core::bytes::to_hex(&owner.encode(), false)]),
	)?;
	let field = |name: &'static str| -> Result<Vec<u8>, GovernanceError> {
		let hex = generated[name].as_str().ok_or(ChainRpcError::Answer(name))?;
		Ok(sp_core::bytes::from_hex(hex).map_err(|_| ChainRpcError::Answer(name))?)
	};
	let keys = w3b_runtime::SessionKeys::decode(&mut &field("keys")?[..])
		.map_err(|_| ChainRpcError::Answer("session keys of this runtime"))?;
	let proof = field("proof")?;
	chain.submit_included(
		"governance",
		&signer,
		pallet_session::Call::<Runtime>::set_keys { keys: keys.clone(), proof }.into(),
	)?;
	println!(
		"{}",
		json!({
			"account": owner.to_ss58check(),
			"keys": sp_core::bytes::to_hex(&keys.encode(), false),
			"next": "a council member proposes: w3b-node governance propose --add-validator ACCOUNT",
		})
	);
	Ok(())
}

fn propose(options: &SignerOptions, call: RuntimeCall) -> Result<(), GovernanceError> {
	let chain = options.chain()?;
	let signer = options.signer()?;
	let proposer: AccountId = signer.public().into();
	let members = members(&chain)?;
	if !members.contains(&proposer) {
		return Err(not_a_member(&proposer, &members));
	}
	// More than two thirds: the only threshold the chain lets a motion open with.
	let threshold = w3b_runtime::configs::council_threshold(members.len() as u32);
	let motion = BlakeTwo256::hash_of(&call);
	let length_bound = call.encoded_size() as u32;
	let (_, events) = chain.submit_included(
		"governance",
		&signer,
		CouncilCall::propose { threshold, proposal: Box::new(call), length_bound }.into(),
	)?;
	if threshold < 2 {
		// A council of one: the collective executes the call at once, no motion opens.
		return report_executed(motion, &events)
			.unwrap_or(Err(GovernanceError::Motion(motion, "was not executed".into())));
	}
	vote_included(&chain, &signer, motion, true)?;
	println!("{}", json!({"motion": motion, "threshold": threshold, "members": members.len()}));
	Ok(())
}

fn not_a_member(who: &AccountId, members: &[AccountId]) -> GovernanceError {
	GovernanceError::Argument(format!(
		"{} is not a council member (the council is the validator set: {} members; \
		 `w3b-node governance motions` lists them)",
		who.to_ss58check(),
		members.len()
	))
}

fn vote(options: &SignerOptions, motion: H256, approve: bool) -> Result<(), GovernanceError> {
	let chain = options.chain()?;
	let signer = options.signer()?;
	let voter: AccountId = signer.public().into();
	let members = members(&chain)?;
	if !members.contains(&voter) {
		return Err(not_a_member(&voter, &members));
	}
	let votes = vote_included(&chain, &signer, motion, approve)?;
	println!(
		"{}",
		json!({"motion": motion, "ayes": votes.ayes.len(), "nays": votes.nays.len(), "threshold": votes.threshold})
	);
	Ok(())
}

/// Votes and returns the motion's votes once the vote is in a block (or the votes it was
/// closed with, if this vote closed nothing but the motion is gone).
fn vote_included(
	chain: &ChainRpc,
	signer: &sp_core::sr25519::Pair,
	motion: H256,
	approve: bool,
) -> Result<Votes, GovernanceError> {
	let votes = voting(chain, motion)?
		.ok_or_else(|| GovernanceError::Motion(motion, "is not open".into()))?;
	let vote = CouncilCall::vote { proposal: motion, index: votes.index, approve };
	chain.submit_included("governance", signer, vote.into())?;
	Ok(voting(chain, motion)?.unwrap_or(votes))
}

/// What an executed motion did, from the events of its block: `None` if it is not there.
/// A motion dispatched as Root succeeds whatever its inner call did: the inner result is
/// `governance.DispatchedAsRoot`'s, in the same block.
fn report_executed(motion: H256, events: &[EventRecord]) -> Option<Result<(), GovernanceError>> {
	events.iter().find_map(|record| match &record.event {
		RuntimeEvent::Council(pallet_collective::Event::Executed { proposal_hash, result })
			if *proposal_hash == motion =>
		{
			// The transaction that executed the motion dispatched it: its events only.
			let as_root = events.iter().filter(|r| r.phase == record.phase).find_map(|r| match &r.event {
				RuntimeEvent::Governance(pallet_governance::Event::DispatchedAsRoot { result }) => {
					Some(*result)
				},
				_ => None,
			});
			let outcome = result.and(as_root.unwrap_or(Ok(())));
			println!(
				"{}",
				json!({"motion": motion, "executed": true, "ok": outcome.is_ok(), "result": format!("{outcome:?}")})
			);
			Some(outcome.map_err(|e| {
				GovernanceError::Motion(motion, format!("was executed, but its call failed: {e:?}"))
			}))
		},
		RuntimeEvent::Council(pallet_collective::Event::Disapproved { proposal_hash })
			if *proposal_hash == motion =>
		{
			println!(
				"{}",
				json!({"motion": motion, "executed": false, "ok": false, "result": "disapproved"})
			);
			Some(Err(GovernanceError::Motion(motion, "was disapproved".into())))
		},
		_ => None,
	})
}

fn close(options: &SignerOptions, motion: H256) -> Result<(), GovernanceError> {
	let chain = options.chain()?;
	let signer = options.signer()?;
	let votes = voting(&chain, motion)?
		.ok_or_else(|| GovernanceError::Motion(motion, "is not open".into()))?;
	let members = members(&chain)?.len() as u32;
	if votes.threshold < w3b_runtime::configs::council_threshold(members) {
		return Err(GovernanceError::Motion(
			motion,
			format!(
				"cannot pass any more: it needs {} ayes, and the council, now {members} \
				 members, more than two thirds; propose it again",
				votes.threshold
			),
		));
	}
	let best = chain.best()?;
	let decided = votes.ayes.len() as u32 >= votes.threshold
		|| votes.nays.len() as u32 > members.saturating_sub(votes.threshold);
	if !decided && best < votes.end {
		return Err(GovernanceError::Motion(
			motion,
			format!(
				"cannot close yet: {} ayes and {} nays of {members} members, {} ayes needed; \
				 it closes once enough members voted, or after block #{} (now #{best})",
				votes.ayes.len(),
				votes.nays.len(),
				votes.threshold,
				votes.end
			),
		));
	}
	let proposal: RuntimeCall = chain
		.storage(
			&pallet_collective::ProposalOf::<Runtime, CouncilCollective>::hashed_key_for(motion),
			None,
		)?
		.ok_or_else(|| GovernanceError::Motion(motion, "has no proposal on chain".into()))?;
	let close = CouncilCall::close {
		proposal_hash: motion,
		index: votes.index,
		proposal_weight_bound: proposal.get_dispatch_info().call_weight,
		length_bound: proposal.encoded_size() as u32,
	};
	let (_, events) = chain.submit_included("governance", &signer, close.into())?;
	report_executed(motion, &events).unwrap_or_else(|| {
		Err(GovernanceError::Motion(motion, "was closed, but its block says nothing of it".into()))
	})
}

fn motions(chain: &ChainRpc) -> Result<Value, GovernanceError> {
	let members = members(chain)?;
	let open: Vec<H256> = chain
		.storage(&pallet_collective::Proposals::<Runtime, CouncilCollective>::hashed_key(), None)?
		.unwrap_or_default();
	let mut listed = Vec::new();
	for motion in open {
		let Some(votes) = voting(chain, motion)? else { continue };
		let proposal: Option<RuntimeCall> = chain.storage(
			&pallet_collective::ProposalOf::<Runtime, CouncilCollective>::hashed_key_for(motion),
			None,
		)?;
		// A node could answer another call than the one voted on: check its hash.
		let call = proposal.map(|call| {
			if BlakeTwo256::hash_of(&call) == motion {
				format!("{call:?}")
			} else {
				"the node's answer does not match the motion's hash".to_string()
			}
		});
		listed.push(json!({
			"motion": motion,
			"call": call,
			"threshold": votes.threshold,
			"ayes": votes.ayes.iter().map(|a| a.to_ss58check()).collect::<Vec<_>>(),
			"nays": votes.nays.iter().map(|a| a.to_ss58check()).collect::<Vec<_>>(),
			"endsAt": votes.end,
		}));
	}
	Ok(json!({
		"members": members.iter().map(|a| a.to_ss58check()).collect::<Vec<_>>(),
		"motions": listed,
	}))
}

fn apply_upgrade(options: &SignerOptions, file: &PathBuf) -> Result<(), GovernanceError> {
	let chain = options.chain()?;
	let signer = options.signer()?;
	let code = upgrade_code(file)?;
	let code_hash = BlakeTwo256::hash(&code);
	// `System::AuthorizedUpgrade`: `{ code_hash, check_version }`.
	let mut key = sp_io::hashing::twox_128(b"System").to_vec();
	key.extend(sp_io::hashing::twox_128(b"AuthorizedUpgrade"));
	let authorized: Option<(H256, bool)> = chain.storage(&key, None)?;
	match authorized {
		None => return Err(GovernanceError::Argument(
			"no upgrade is authorized: the council passes `propose --authorize-upgrade FILE` first"
				.into(),
		)),
		Some((hash, _)) if hash != code_hash => {
			return Err(GovernanceError::Argument(format!(
				"{} hashes to {code_hash:?}, the council authorized {hash:?}",
				file.display()
			)))
		}
		Some(_) => {}
	}
	let before = chain.call("state_getRuntimeVersion", json!([]))?["specVersion"].clone();
	chain.submit_included(
		"governance",
		&signer,
		frame_system::Call::<Runtime>::apply_authorized_upgrade { code }.into(),
	)?;
	let mut after = Value::Null;
	chain.wait("governance", "the new runtime", || {
		after = chain.call("state_getRuntimeVersion", json!([]))?["specVersion"].clone();
		Ok::<_, GovernanceError>(after != before)
	})?;
	println!("{}", json!({"specVersion": after, "was": before}));
	Ok(())
}
