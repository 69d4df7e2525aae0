//! The W3bstream worker inside the node (`--w3b-worker`, on by default for validators).
//!
//! Operators verify, never trust. On every new best block, for each project whose subnet
//! the node's operator joined, the worker:
//! 1. follows the batches it sealed and committed ([`commit`]), resubmitting what a
//!    restart or a dropped transaction left uncommitted;
//! 2. runs every newly committed batch, in order ([`execute`]): with the project's
//!    applets, environment and devices as of the batch's commitment, over the messages
//!    that count (each checked: device, signature, size, time, replay), and attests the
//!    result; it names on chain the committer of a batch holding a message that could
//!    never count. Bodies it lacks are fetched from peers off the loop ([`fetch`]);
//! 3. once a proof is settled in a GRANDPA-final block ([`settle`]), makes the batch's
//!    state final only if it is the state the quorum agreed on (otherwise it discards
//!    its own and runs the batch again, and if it still differs takes the batch's agreed
//!    changes from peers over [`state_protocol`]), or rolls it back on expiry; then lets
//!    go of what the project's retention policy gives up.
//!
//! Sealing runs on the chain's clock: the messages received for an Active project
//! become a batch just before a block is authored (so that the commitment is in it),
//! before every block or every `seal_interval` in whole slots, and at once when a batch
//! is full. On-chain commitments and votes then grow with the data and the blocks, not
//! with a timer.

pub mod byzantine;
mod commit;
mod error;
mod execute;
mod fetch;
mod inbound;
pub mod metrics;
pub mod protocol;
mod settle;
pub mod state_protocol;
mod tx;

use std::{
	collections::{BTreeMap, HashMap},
	path::PathBuf,
	sync::Arc,
	time::{Duration, Instant},
};

use futures::StreamExt;
use sc_client_api::BlockchainEvents;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::{crypto::KeyTypeId, H256};
use sp_keystore::KeystorePtr;
use w3b_executor::{EngineConfig, Executor};
use w3b_ingest::backlog::Backlog;
use w3b_primitives::{
	api::{InboundApi, W3bstreamApi},
	validity::Invalid,
	ProjectId, ProjectStatus,
};
use w3b_runtime::{opaque::Block, BlockNumber};
use w3b_storage::{retention::BatchInfo, MessageStore, Vfs};
use w3b_worker::{sql::ProjectSql, BatchLimits, ProjectState, SealedBatch};

use crate::client::FullClient;
pub use byzantine::Byzantine;
pub use error::WorkerError;
pub use metrics::Metrics;
pub use protocol::{Peers, Withheld};
pub use state_protocol::RecentChanges;
pub use tx::Pool;

type Hash = <Block as sp_runtime::traits::Block>::Hash;

/// Key type of the operator key in the keystore (sr25519): the account that commits
/// and attests. Insert it with `w3b-node key insert --key-type w3bo --scheme sr25519`;
/// dev nodes (`--alice`, ...) get the dev account's key.
pub const OPERATOR_KEY_TYPE: KeyTypeId = KeyTypeId(*b"w3bo");

/// The node's operator key (the first of [`OPERATOR_KEY_TYPE`] in its keystore), once
/// there is one.
pub fn operator_key(keystore: &KeystorePtr) -> Option<sp_core::sr25519::Public> {
	keystore.sr25519_public_keys(OPERATOR_KEY_TYPE).into_iter().next()
}

/// What the worker needs from the node.
pub struct WorkerParams {
	/// The client.
	pub client: Arc<FullClient>,
	/// The transaction pool.
	pub pool: Arc<Pool>,
	/// The keystore with the operator key.
	pub keystore: KeystorePtr,
	/// Where ingested messages are.
	pub store: Arc<dyn MessageStore>,
	/// Where batch bodies are.
	pub vfs: Arc<dyn Vfs>,
	/// Asks peers for bodies and agreed changes.
	pub peers: Peers,
	/// The changes of the batches finalized here last, which the node's `/w3b/state/1`
	/// server serves.
	pub recent_changes: RecentChanges,
	/// Where each project's finalized state is saved.
	pub state_dir: PathBuf,
	/// How large a batch may grow.
	pub limits: BatchLimits,
	/// How often received messages are sealed (rounded to whole slots from one slot up).
	pub seal_interval: Duration,
	/// The chain's slot (block time): received messages are sealed once a slot, just
	/// before the next block is authored.
	pub slot_duration: Duration,
	/// Test only: the attacks this node makes.
	pub byzantine: Byzantine,
	/// Bodies the node's `/w3b/batch/1` server refuses to serve (test only).
	pub withheld: Withheld,
	/// Metrics, if the node has a Prometheus endpoint.
	pub metrics: Option<Metrics>,
	/// The EVM endpoints logs are observed on: chain id and JSON-RPC URL.
	pub evm_endpoints: Vec<(u64, String)>,
	/// Told how long each pass over a block takes: while the worker runs behind, the
	/// node's edge refuses new messages for now.
	pub backlog: Arc<Backlog>,
}

/// The result of a batch run here, until its proof is settled.
#[derive(Clone, Debug)]
struct Outcome {
	/// The batch's Merkle root (a reorg may put another batch under its number).
	merkle_root: H256,
	/// The state root it ran on (the state after the batches before it, as computed
	/// here).
	previous: H256,
	/// The root attested.
	output_root: H256,
	/// The state root behind it.
	state_root: H256,
	/// Messages that counted.
	counted: u64,
	/// The others: index in the batch and why they did not count.
	refused: Vec<(u32, Invalid)>,
	/// The outputs voted with the root.
	outputs: Vec<w3b_primitives::proof::Output>,
	/// Events the wall-clock backstop stopped: the result depends on this machine's
	/// speed, and is not voted.
	wall_clock: usize,
}

/// The worker's view of one project.
struct ProjectWork {
	/// Whether the project was Active at the last best block (only then it seals).
	active: bool,
	/// When it last sealed.
	last_seal: Instant,
	/// The slot before whose block it last sealed.
	sealed_for_slot: Option<u64>,
	/// Whether its last round of seals stopped at its limit with messages left.
	backlog: bool,
	state: ProjectState,
	/// Its SQL database, with the life of `state`.
	sql: ProjectSql,
	/// The next local batch number to seal.
	next_local: u64,
	/// Local batches submitted and not yet seen on chain.
	in_flight: BTreeMap<u64, commit::InFlight>,
	/// The next chain batch to execute.
	next_exec: u64,
	/// Results of executed batches until they are settled.
	results: BTreeMap<u64, Outcome>,
	/// The best block at which `results` were last found to be the batches on the best
	/// chain: while later best blocks only extend it, they still are.
	results_checked_at: Option<Hash>,
	/// Batches whose current result has a vote of this node (submitted, or found on
	/// chain), whose body it voted unavailable, or whose round closed before it could
	/// vote. A batch that runs again leaves it: its new result may need a new vote.
	/// Each with the Merkle root of the batch it was for: after a reorg another batch
	/// may have its number, and that one is not attested.
	attested: BTreeMap<u64, H256>,
	/// Batches from the next one to run whose commitment no body can match (its CID
	/// names none, or names a body here that contradicts it): voted unavailable at once.
	/// Keyed with their Merkle roots, as `attested`.
	unservable: BTreeMap<u64, H256>,
	/// Batches whose finalized state differed from the one computed here, and how many
	/// times.
	diverged: BTreeMap<u64, u32>,
	/// Set when a batch's finalized state still differs from the one computed here after
	/// running it again: the node takes the batch's agreed changes from peers and works
	/// on nothing else of the project (it casts no vote) until it has them.
	syncing: Option<u64>,
	/// This node's local batches the chain included: chain batch -> local batch.
	local_of: BTreeMap<u64, u64>,
	/// Batches run here and still kept (retention has not let them go), by chain
	/// number; `settled` once their proof is in a final block.
	kept: BTreeMap<u64, BatchInfo>,
}

/// The worker.
pub struct Worker {
	client: Arc<FullClient>,
	keystore: KeystorePtr,
	store: Arc<dyn MessageStore>,
	vfs: Arc<dyn Vfs>,
	executor: Arc<Executor>,
	/// Threads that run different projects' batches at once (the machine's cores).
	exec_threads: usize,
	state_dir: PathBuf,
	limits: BatchLimits,
	seal_interval: Duration,
	slot_duration: Duration,
	byzantine: Byzantine,
	withheld: Withheld,
	metrics: Option<Metrics>,
	pool: Arc<Pool>,
	tx: Option<tx::TxSender>,
	/// The signed calls in the pool as of a best block, read once per block.
	pooled: Option<(Hash, Arc<Vec<(w3b_runtime::AccountId, w3b_runtime::RuntimeCall)>>)>,
	projects: HashMap<ProjectId, ProjectWork>,
	fetches: fetch::Fetches,
	changes_fetches: fetch::ChangesFetches,
	logs: inbound::LogObserver,
	recent_changes: RecentChanges,
	/// Roots already copied (byzantine test node only).
	hijacked: std::collections::HashSet<H256>,
	/// Whether "no operator" was already logged.
	told_no_operator: bool,
	backlog: Arc<Backlog>,
	/// The time spent on each project's work since the last pass over a new best block
	/// (that pass, and the passes for bodies fetched since): what the node's edge is told
	/// ([`Worker::report_work`]). Only projects the operator serves.
	worked: HashMap<ProjectId, Duration>,
}

impl Worker {
	/// A worker; fails if the engine cannot start or the state directory is unusable.
	pub fn new(params: WorkerParams) -> Result<Self, WorkerError> {
		std::fs::create_dir_all(&params.state_dir).map_err(WorkerError::State)?;
		let executor = Executor::new(EngineConfig::default())?;
		let logs = inbound::LogObserver::new(&params.evm_endpoints).map_err(WorkerError::Config)?;
		Ok(Worker {
			logs,
			client: params.client,
			keystore: params.keystore,
			store: params.store,
			fetches: fetch::Fetches::new(params.peers.clone(), params.vfs.clone()),
			changes_fetches: fetch::ChangesFetches::new(params.peers),
			recent_changes: params.recent_changes,
			vfs: params.vfs,
			executor: Arc::new(executor),
			exec_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
			state_dir: params.state_dir,
			limits: params.limits,
			seal_interval: params.seal_interval,
			slot_duration: params.slot_duration,
			byzantine: params.byzantine,
			withheld: params.withheld,
			metrics: params.metrics,
			pool: params.pool,
			tx: None,
			pooled: None,
			projects: HashMap::new(),
			hijacked: Default::default(),
			told_no_operator: false,
			backlog: params.backlog,
			worked: HashMap::new(),
		})
	}

	/// Runs until the node stops.
	pub async fn run(mut self) {
		let mut imports = self.client.import_notification_stream();
		let mut tick = tokio::time::interval(Duration::from_millis(250));
		tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
		loop {
			tokio::select! {
				notification = imports.next() => {
					let Some(notification) = notification else { return };
					// While catching up with the network only the head matters: the
					// worker runs what the chain holds once it is there.
					let syncing = notification.origin == sp_consensus::BlockOrigin::NetworkInitialSync;
					// A block a newer best one followed while the worker was busy is
					// passed over: the newer one's notification comes next, and a pass
					// over an older block finds nothing to do (and would tell the edge
					// the node keeps up).
					let still_best = self.client.info().best_hash == notification.hash;
					if notification.is_new_best && !syncing && still_best {
						self.on_best_block(notification.hash, None).await;
					}
				}
				fetched = self.fetches.next() => {
					if let Some(project) = fetched {
						let best = self.client.info().best_hash;
						self.on_best_block(best, Some(project)).await;
					}
				}
				Some((range, read)) = self.logs.next() => {
					self.vote_logs(range, read).await;
				}
				Some((request, changes)) = self.changes_fetches.next() => {
					if self.take_changes(request, changes) {
						let best = self.client.info().best_hash;
						self.on_best_block(best, Some(request.project)).await;
					}
				}
				_ = tick.tick() => {
					self.seal_due().await;
					self.hijack().await;
				}
			}
		}
	}

	/// The operator key, once it is in the keystore.
	fn operator(&mut self) -> Option<&mut tx::TxSender> {
		if self.tx.is_none() {
			let key = operator_key(&self.keystore)?;
			log::info!(
				target: "w3b",
				"👷 W3bstream worker operating as {}",
				w3b_runtime::AccountId::from(key)
			);
			self.tx = Some(tx::TxSender::new(
				self.client.clone(),
				self.pool.clone(),
				self.keystore.clone(),
				key,
				&self.state_dir.join("operator-transactions"),
			));
		}
		self.tx.as_mut()
	}

	/// The signed calls waiting in the pool, decoded once per best block `at` (what this
	/// node sends while working on `at` is in its projects' `attested` sets).
	fn pooled(&mut self, at: Hash) -> Arc<Vec<(w3b_runtime::AccountId, w3b_runtime::RuntimeCall)>> {
		match &self.pooled {
			Some((read_at, calls)) if *read_at == at => calls.clone(),
			_ => {
				let calls = Arc::new(tx::pooled_calls(&self.pool));
				self.pooled = Some((at, calls.clone()));
				calls
			}
		}
	}

	/// The operator's account, once its key is in the keystore.
	fn operator_account(&self) -> Option<w3b_runtime::AccountId> {
		self.tx.as_ref().map(tx::TxSender::account)
	}

	/// Submits `call` signed by the operator on top of block `at`.
	async fn submit(
		&mut self,
		at: Hash,
		call: w3b_runtime::RuntimeCall,
		what: &'static str,
	) -> Result<(), WorkerError> {
		let tx = self
			.operator()
			.ok_or(WorkerError::Submit { what, reason: "no operator key".into() })?;
		tx.submit(at, call).await.map_err(|reason| WorkerError::Submit { what, reason })
	}

	/// Works on every project of the operator's subnets (or on `only`) at best block `at`.
	async fn on_best_block(&mut self, at: Hash, only: Option<ProjectId>) {
		let Ok(Some(number)) = self.client.number(at) else { return };
		// Batches run with the context of blocks read by number from the best chain: `at`
		// must be on it (a later reorg brings its own notification).
		if self.client.hash(number).ok().flatten() != Some(at) {
			return;
		}
		let Some(tx) = self.operator() else { return };
		tx.observe(at, number).await;
		let account = tx.account();
		let info = match self.client.runtime_api().operator(at, account.clone()) {
			Ok(Some(info)) => info,
			Ok(None) => {
				if !self.told_no_operator {
					log::info!(
						target: "w3b",
						"👷 {account} is not a registered operator yet: the worker only ingests"
					);
					self.told_no_operator = true;
				}
				return;
			}
			Err(e) => {
				log::warn!(target: "w3b", "reading operator {account}: {e}");
				return;
			}
		};
		let finalized = self.client.info().finalized_hash;
		let served = info.subnets;
		let mut projects: Vec<ProjectId> =
			served.iter().copied().filter(|p| only.is_none_or(|o| o == *p)).collect();
		// Rounds until every project's committed batches ran (or wait for a body): each
		// round reads a bounded number of batches per project into memory, runs them
		// (projects in parallel), and votes on each project's results as soon as they are
		// there: a slow project does not hold up the votes of those that ran beside it
		// (the next round, and the worker's other work, wait until it ends: fuel and the
		// wall-clock backstop bound that).
		//
		// The time spent on each project's own work (reading and judging its batches,
		// running them, voting; not the rounds it waited on others in) adds up from one
		// pass over a new best block to the next, passes for fetched bodies included;
		// the edge is told at the start of the next such pass ([`Worker::report_work`]).
		if only.is_none() {
			for project in &served {
				let work = self.worked.remove(project).unwrap_or_default();
				self.report_work(*project, number, work, true);
			}
			// Projects no longer served say nothing more, and are not refused.
			self.worked.clear();
			self.backlog.keep_only(&served);
			if let Some(metrics) = &self.metrics {
				metrics.projects_behind.set(self.backlog.projects_behind() as u64);
			}
		}
		while !projects.is_empty() {
			for project in &projects {
				let work = self.worked.get(project).copied().unwrap_or_default();
				self.report_work(*project, number, work, false);
			}
			let mut ready = Vec::new();
			let mut round_bytes = 0u64;
			for project in projects {
				let started = Instant::now();
				match self.prepare(project, at, number, finalized, &mut round_bytes).await {
					Ok(Some(round)) => ready.push(round),
					Ok(None) => {}
					Err(e) => log::warn!(target: "w3b", "project {project}: {e}"),
				}
				*self.worked.entry(project).or_default() += started.elapsed();
			}
			let mut running: Vec<ProjectId> = ready.iter().map(|round| round.project).collect();
			let round_started = Instant::now();
			let (idle, mut finished) = self.start_ready(ready);
			running.retain(|project| idle.iter().all(|round| round.project != *project));
			let mut next = Vec::new();
			for round in idle {
				let project = round.project;
				let started = Instant::now();
				if self.conclude(round, at, number, finalized, Vec::new()).await {
					next.push(project);
				}
				*self.worked.entry(project).or_default() += started.elapsed();
			}
			loop {
				// A long round tells the edge how long it has run so far, every bound, so
				// that a project's state does not lapse while the worker is busiest on it.
				let heartbeat = self.backlog.retry_after();
				let next_job = if heartbeat.is_zero() {
					finished.recv().await
				} else {
					match tokio::time::timeout(heartbeat, finished.recv()).await {
						Ok(next_job) => next_job,
						Err(_) => {
							for project in &running {
								let work = self.worked.get(project).copied().unwrap_or_default();
								let work = work + round_started.elapsed();
								self.report_work(*project, number, work, false);
							}
							continue;
						}
					}
				};
				let Some((job, results, ran)) = next_job else { break };
				let started = Instant::now();
				let execute::RoundJob { work, round } = job;
				let project = round.project;
				running.retain(|p| *p != project);
				self.projects.insert(project, work);
				if self.conclude(round, at, number, finalized, results).await {
					next.push(project);
				}
				*self.worked.entry(project).or_default() += ran + started.elapsed();
			}
			projects = next;
		}
	}

	/// Tells the node's edge how long the worker has spent on `project` since the last
	/// pass over a new best block (`ended`: a pass over the next one, block `number`,
	/// starts), and says when that makes the node fall behind on the project or catch up.
	fn report_work(&self, project: ProjectId, number: BlockNumber, work: Duration, ended: bool) {
		match self.backlog.report(project, work, ended) {
			Some(true) => log::warn!(
				target: "w3b",
				"⏳ the worker runs behind on project {project} ({:.1} s of its work over the block before #{number}): the project's new messages are refused for now (`backlogged`) until it catches up",
				work.as_secs_f64()
			),
			Some(false) => log::info!(
				target: "w3b",
				"the worker caught up on project {project} ({:.1} s of its work over the block before #{number}): taking its new messages again",
				work.as_secs_f64()
			),
			None => {}
		}
	}

	/// Before the project's batches run: follows its commitments, and reads the
	/// batches to run ([`Worker::ready_batches`]) unless the node is taking agreed
	/// changes from peers (then `None`).
	async fn prepare(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
		finalized: Hash,
		round_bytes: &mut u64,
	) -> Result<Option<execute::RoundProject>, WorkerError> {
		let Some(info) = self.client.runtime_api().project(at, project)? else { return Ok(None) };
		let work = self.load_project(project, number)?;
		work.active = info.status == ProjectStatus::Active;
		let syncing = work.syncing;
		self.confirm_commitments(project, at, number).await?;
		if let Some(seq) = syncing {
			self.request_changes(project, seq, finalized)?;
			return Ok(None);
		}
		let (steps, more) = self.ready_batches(project, at, number, round_bytes)?;
		Ok(Some(execute::RoundProject { project, retention: info.config.retention, steps, more }))
	}

	/// After the project's batches ran: takes their results, votes, reads its EVM logs,
	/// settles what is final and applies retention. Whether the project is to have
	/// another round: more batches wait.
	async fn conclude(
		&mut self,
		round: execute::RoundProject,
		at: Hash,
		number: BlockNumber,
		finalized: Hash,
		executed: w3b_worker::execute::JobResults,
	) -> bool {
		let execute::RoundProject { project, retention, steps, more } = round;
		let concluded = async {
			self.conclude_batches(project, at, number, steps, executed).await?;
			if work_active(&self.projects, project) {
				self.observe_logs(project, at, number)?;
			}
			self.settle(project, finalized)?;
			self.apply_retention(project, &retention);
			Ok::<_, WorkerError>(())
		};
		match concluded.await {
			Ok(()) => more,
			Err(e) => {
				log::warn!(target: "w3b", "project {project}: {e}");
				false
			}
		}
	}

	/// Reads the open range of each of the project's subscriptions (again every few
	/// blocks while it stays open: see [`inbound::LogObserver::request`]).
	fn observe_logs(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
	) -> Result<(), WorkerError> {
		if self.operator_account().is_none() {
			return Ok(());
		}
		let subscriptions = self.client.runtime_api().subscriptions(at, project)?;
		for (id, subscription, cursor) in subscriptions {
			self.logs.request(project, id, &subscription, cursor, number);
		}
		Ok(())
	}

	/// Votes what a read of a range found, on top of the best block, unless the chain
	/// holds that vote already or accepted the range meanwhile.
	async fn vote_logs(
		&mut self,
		range: inbound::RangeKey,
		read: Result<Option<w3b_primitives::inbound::Observation>, String>,
	) {
		let (project, id, from) = range;
		let observation = match read {
			Ok(Some(observation)) => observation,
			Ok(None) => return,
			Err(e) => {
				log::warn!(target: "w3b", "project {project}: reading logs of subscription {id} from EVM block {} (log {}): {e}", from.block, from.log_index);
				return;
			}
		};
		let Some(me) = self.operator_account() else { return };
		let info = self.client.info();
		let (best, number) = (info.best_hash, info.best_number);
		let api = self.client.runtime_api();
		let on_chain = api.subscriptions(best, project).and_then(|subscriptions| {
			let open_from = subscriptions
				.into_iter()
				.find(|(subscription, _, _)| *subscription == id)
				.map(|(_, _, cursor)| cursor);
			Ok((open_from, api.observation_vote(best, project, id, me)?))
		});
		let (open_from, voted) = match on_chain {
			Ok(on_chain) => on_chain,
			Err(e) => {
				log::warn!(target: "w3b", "project {project}: reading subscription {id} at the best block: {e}");
				return;
			}
		};
		match inbound::decide(&observation, open_from, voted) {
			inbound::Decision::Closed => return,
			inbound::Decision::Voted => return self.logs.checked(range, number),
			inbound::Decision::Vote => {}
		}
		log::info!(
			target: "w3b",
			"🔭 project {project}: voting EVM blocks {}..={} of subscription {id}: {} logs{}{}",
			from.block,
			observation.to_block,
			observation.logs.len(),
			if observation.partial { " (the block holds more: the next range takes them)" } else { "" },
			if voted.is_some() { " (the endpoint now answers differently: vote changed)" } else { "" },
		);
		let call: w3b_runtime::RuntimeCall =
			pallet_inbound::Call::observe { project, id, observation }.into();
		match self.submit(best, call, "an observation").await {
			Ok(()) => self.logs.checked(range, number),
			Err(e) => log::warn!(target: "w3b", "project {project}: {e}"),
		}
	}

	fn state_path(&self, project: ProjectId) -> PathBuf {
		self.state_dir.join(format!("project-{project}.state"))
	}

	/// Where a project's final SQL database is kept (its working copy beside it).
	fn sql_path(&self, project: ProjectId) -> PathBuf {
		self.state_dir.join(format!("project-{project}.sql"))
	}

	/// The worker's state of a project loaded before (by [`Worker::load_project`]).
	fn work(&mut self, project: ProjectId) -> Result<&mut ProjectWork, WorkerError> {
		self.projects
			.get_mut(&project)
			.ok_or_else(|| WorkerError::Missing(format!("project {project} is not loaded")))
	}
}

/// Whether `project` was Active at the last best block.
fn work_active(projects: &HashMap<ProjectId, ProjectWork>, project: ProjectId) -> bool {
	projects.get(&project).is_some_and(|work| work.active)
}

/// A sealed batch's commitment call.
fn commit_call(sealed: &SealedBatch) -> w3b_runtime::RuntimeCall {
	pallet_commitments::Call::commit_batch {
		project: sealed.project,
		merkle_root: sealed.merkle_root,
		count: sealed.count,
		bytes: sealed.bytes,
		cid: sealed.cid.clone(),
	}
	.into()
}
