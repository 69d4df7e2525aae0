//! The W3bstream worker inside the node (`--w3b-worker`, on by default for validators).
//!
//! On every new best block, for each project whose subnet the node's operator joined:
//! 1. follow the batches it sealed and committed (`commitments.commit_batch`),
//!    resubmitting what a restart or a dropped transaction left uncommitted;
//! 2. run every newly committed batch, in order, with the project's applets (fetching
//!    bodies it lacks from peers over [`protocol::PROTOCOL`]) and attest the result
//!    (`attestations.attest`);
//! 3. once a proof is settled in a GRANDPA-final block, make the batch's state final or
//!    roll it back, saving the finalized state so that a restart resumes from it; then
//!    let the settled batches the project's retention policy gives up go (messages
//!    from the store, bodies from the VFS).
//!
//! Sealing runs on its own clock: every `seal_interval` (and at once when a batch is
//! full) the messages received for an Active project become a batch, so that a message
//! rarely misses the next block.

pub mod metrics;
pub mod protocol;
mod tx;

use std::{
	collections::{BTreeMap, BTreeSet, HashMap},
	path::PathBuf,
	sync::Arc,
	time::{Duration, Instant},
};

use codec::Decode;
use futures::StreamExt;
use sc_client_api::{BlockchainEvents, StorageProvider};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::{crypto::KeyTypeId, H256};
use sp_keystore::KeystorePtr;
use w3b_executor::{EngineConfig, Executor};
use w3b_primitives::{
	api::W3bstreamApi, project::RetentionPolicy, proof::Outputs, AppletId, ProjectId,
	ProjectStatus, ProofStatus,
};
use w3b_runtime::{opaque::Block, BlockNumber, RuntimeCall};
use w3b_storage::{retention::BatchInfo, Cid, MessageStore, Vfs};
use w3b_worker::{
	execute::{execute_batch, ProjectContext},
	seal_batch, BatchBody, ProjectState, SealedBatch,
};

use crate::service::FullClient;
pub use metrics::Metrics;
pub use protocol::BatchFetcher;
pub use tx::Pool;

type Hash = <Block as sp_runtime::traits::Block>::Hash;

/// Key type of the operator key in the keystore (sr25519): the account that commits
/// and attests. Insert it with `w3b-node key insert --key-type w3bo --scheme sr25519`;
/// dev nodes (`--alice`, ...) get the dev account's key.
pub const OPERATOR_KEY_TYPE: KeyTypeId = KeyTypeId(*b"w3bo");

/// Blocks a commitment may wait for inclusion before it is submitted again (the chain
/// refuses a batch committed twice, so resubmitting is safe).
const RESUBMIT_AFTER_BLOCKS: BlockNumber = 10;
/// Local batches checked for a missing commitment after a restart.
const RECOVERY_WINDOW: u64 = 64;
/// Batches one project seals at once at most (a backlog drains over a few rounds).
const MAX_SEALS_PER_ROUND: usize = 4;
/// A project's state is loaded before anything works on it.
const NOT_LOADED: &str = "the project's worker state is not loaded";

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
	/// Fetches bodies from peers.
	pub fetcher: BatchFetcher,
	/// Where each project's finalized state is saved.
	pub state_dir: PathBuf,
	/// Most messages in one batch.
	pub max_batch: usize,
	/// How often received messages are sealed.
	pub seal_interval: Duration,
	/// Test-only: attest a corrupted result (a byzantine operator).
	pub corrupt_results: bool,
	/// Metrics, if the node has a Prometheus endpoint.
	pub metrics: Option<Metrics>,
}

/// A commitment this node submitted, until it is included.
struct InFlight {
	sealed: SealedBatch,
	submitted_at: BlockNumber,
}

/// The worker's view of one project.
struct ProjectWork {
	/// Whether the project was Active at the last best block (only then it seals).
	active: bool,
	/// When it last sealed.
	last_seal: Instant,
	state: ProjectState,
	/// The next local batch number to seal.
	next_local: u64,
	/// Local batches submitted and not yet seen on chain.
	in_flight: BTreeMap<u64, InFlight>,
	/// The next chain batch to execute.
	next_exec: u64,
	/// Output roots of executed batches until they are settled.
	results: BTreeMap<u64, H256>,
	/// Batches attested (one vote per batch, even if a batch runs again).
	attested: BTreeSet<u64>,
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
	fetcher: BatchFetcher,
	executor: Arc<Executor>,
	state_dir: PathBuf,
	max_batch: usize,
	seal_interval: Duration,
	corrupt_results: bool,
	metrics: Option<Metrics>,
	pool: Arc<Pool>,
	tx: Option<tx::TxSender>,
	projects: HashMap<ProjectId, ProjectWork>,
	/// Whether "no operator" was already logged.
	told_no_operator: bool,
}

impl Worker {
	/// A worker; fails if the engine cannot start or the state directory is unusable.
	pub fn new(params: WorkerParams) -> Result<Self, String> {
		std::fs::create_dir_all(&params.state_dir)
			.map_err(|e| format!("creating {}: {e}", params.state_dir.display()))?;
		let executor = Executor::new(EngineConfig::default())
			.map_err(|e| format!("starting the applet engine: {e}"))?;
		Ok(Worker {
			client: params.client,
			keystore: params.keystore,
			store: params.store,
			vfs: params.vfs,
			fetcher: params.fetcher,
			executor: Arc::new(executor),
			state_dir: params.state_dir,
			max_batch: params.max_batch,
			seal_interval: params.seal_interval,
			corrupt_results: params.corrupt_results,
			metrics: params.metrics,
			pool: params.pool,
			tx: None,
			projects: HashMap::new(),
			told_no_operator: false,
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
					if notification.is_new_best && !syncing {
						self.on_best_block(notification.hash).await;
					}
				}
				_ = tick.tick() => self.seal_due().await,
			}
		}
	}

	/// The operator key, once it is in the keystore.
	fn operator(&mut self) -> Option<&mut tx::TxSender> {
		if self.tx.is_none() {
			let key = self.keystore.sr25519_public_keys(OPERATOR_KEY_TYPE).into_iter().next()?;
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
			));
		}
		self.tx.as_mut()
	}

	async fn on_best_block(&mut self, at: Hash) {
		let Ok(Some(number)) = self.client.number(at) else { return };
		let Some(tx) = self.operator() else { return };
		tx.observe(at, number);
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
		for project in info.subnets {
			if let Err(e) = self.work_on(project, at, number, finalized).await {
				log::warn!(target: "w3b", "project {project}: {e}");
			}
		}
	}

	/// Seals for the Active projects whose seal interval passed or whose batch is full.
	async fn seal_due(&mut self) {
		let at = self.client.info().best_hash;
		let Ok(Some(number)) = self.client.number(at) else { return };
		let due: Vec<ProjectId> = self
			.projects
			.iter()
			.filter(|(_, work)| work.active)
			.filter(|(project, work)| {
				let pending = self.store.pending(**project).map(|m| m.len()).unwrap_or(0);
				pending >= self.max_batch
					|| (pending > 0 && work.last_seal.elapsed() >= self.seal_interval)
			})
			.map(|(project, _)| *project)
			.collect();
		for project in due {
			if let Err(e) = self.seal_and_commit(project, at, number).await {
				log::warn!(target: "w3b", "project {project}: sealing: {e}");
			}
		}
	}

	/// Loads the worker's state of `project` on first use, and lists the commitments a
	/// restart may have left behind for resubmission.
	fn load_project(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
	) -> Result<(), String> {
		if !self.projects.contains_key(&project) {
			let state = ProjectState::load(&self.state_path(project))
				.map_err(|e| format!("loading the finalized state: {e}"))?;
			let last_sealed = self.store.last_sealed(project).map_err(|e| e.to_string())?;
			let next_exec = state.finalized_through().map_or(0, |s| s + 1);
			let mut work = ProjectWork {
				active: false,
				last_seal: Instant::now(),
				state,
				next_local: last_sealed.map_or(0, |s| s + 1),
				in_flight: BTreeMap::new(),
				next_exec,
				results: BTreeMap::new(),
				attested: self.votes_since(project, next_exec, at)?,
				local_of: BTreeMap::new(),
				kept: BTreeMap::new(),
			};
			// Sealed before a restart but maybe never included: submit again what the
			// chain does not know (the submission is marked as old so it goes now).
			if let Some(last) = last_sealed {
				for local in last.saturating_sub(RECOVERY_WINDOW - 1)..=last {
					// Only batches still in the store: sealing a pruned number would
					// make a new batch of the pending messages.
					if self.store.batch(project, local).map_err(|e| e.to_string())?.is_none() {
						continue;
					}
					let sealed = seal_batch(&*self.store, &*self.vfs, project, local, usize::MAX)
						.map_err(|e| e.to_string())?;
					if let Some(sealed) = sealed {
						let submitted_at = number.saturating_sub(RESUBMIT_AFTER_BLOCKS + 1);
						work.in_flight.insert(local, InFlight { sealed, submitted_at });
					}
				}
			}
			log::info!(
				target: "w3b",
				"👷 project {project}: resuming at batch {next_exec}, {} sealed batches to check",
				work.in_flight.len()
			);
			self.projects.insert(project, work);
		}
		Ok(())
	}

	fn state_path(&self, project: ProjectId) -> PathBuf {
		self.state_dir.join(format!("project-{project}.state"))
	}

	async fn work_on(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
		finalized: Hash,
	) -> Result<(), String> {
		let info = self.client.runtime_api().project(at, project).map_err(|e| e.to_string())?;
		let Some(info) = info else { return Ok(()) };
		self.load_project(project, at, number)?;
		self.projects.get_mut(&project).ok_or(NOT_LOADED)?.active =
			info.status == ProjectStatus::Active;
		self.confirm_commitments(project, at, number).await?;
		self.execute_committed(project, at).await?;
		self.settle(project, finalized)?;
		self.apply_retention(project, &info.config.retention);
		Ok(())
	}

	/// Drops included commitments from the in-flight list and resubmits those that
	/// waited too long.
	async fn confirm_commitments(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
	) -> Result<(), String> {
		let work = self.projects.get_mut(&project).ok_or(NOT_LOADED)?;
		let mut resubmit = Vec::new();
		let mut included = Vec::new();
		for (local, in_flight) in &work.in_flight {
			let seq = self
				.client
				.runtime_api()
				.batch_seq_of_root(at, project, in_flight.sealed.merkle_root)
				.map_err(|e| e.to_string())?;
			match seq {
				Some(seq) => included.push((*local, seq)),
				None if number.saturating_sub(in_flight.submitted_at) > RESUBMIT_AFTER_BLOCKS => {
					resubmit.push(*local)
				}
				None => {}
			}
		}
		for (local, seq) in included {
			work.in_flight.remove(&local);
			work.local_of.insert(seq, local);
			log::debug!(target: "w3b", "project {project}: local batch {local} is batch {seq}");
			if let Some(m) = &self.metrics {
				m.batches_committed.inc();
			}
		}
		let resubmit: Vec<SealedBatch> = resubmit
			.iter()
			.filter_map(|local| work.in_flight.get(local).map(|f| f.sealed.clone()))
			.collect();
		for sealed in resubmit {
			log::info!(
				target: "w3b",
				"project {project}: committing local batch {} again ({} messages)",
				sealed.local_seq,
				sealed.count
			);
			self.commit(&sealed, at).await?;
			let work = self.projects.get_mut(&project).ok_or(NOT_LOADED)?;
			if let Some(in_flight) = work.in_flight.get_mut(&sealed.local_seq) {
				in_flight.submitted_at = number;
			}
		}
		Ok(())
	}

	/// Seals what this node received for `project` and submits the commitments.
	async fn seal_and_commit(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
	) -> Result<(), String> {
		for _ in 0..MAX_SEALS_PER_ROUND {
			let Some(work) = self.projects.get_mut(&project) else { return Ok(()) };
			work.last_seal = Instant::now();
			let local = work.next_local;
			let Some(sealed) = seal_batch(&*self.store, &*self.vfs, project, local, self.max_batch)
				.map_err(|e| e.to_string())?
			else {
				return Ok(());
			};
			work.next_local += 1;
			work.in_flight.insert(local, InFlight { sealed: sealed.clone(), submitted_at: number });
			log::debug!(
				target: "w3b",
				"project {project}: sealed local batch {local} ({} messages, {})",
				sealed.count,
				sealed.merkle_root
			);
			self.commit(&sealed, at).await?;
		}
		Ok(())
	}

	async fn commit(&mut self, sealed: &SealedBatch, at: Hash) -> Result<(), String> {
		let call: RuntimeCall = pallet_commitments::Call::commit_batch {
			project: sealed.project,
			merkle_root: sealed.merkle_root,
			count: sealed.count,
			bytes: sealed.bytes,
			cid: sealed.cid.clone(),
		}
		.into();
		let tx = self.operator().ok_or("no operator key")?;
		tx.submit(at, call).await.map_err(|e| format!("submitting a commitment: {e}"))
	}

	/// Runs the project's batches committed since the last run, in order, and attests
	/// each whose round is open.
	async fn execute_committed(&mut self, project: ProjectId, at: Hash) -> Result<(), String> {
		let next_batch =
			self.client.runtime_api().next_batch_seq(at, project).map_err(|e| e.to_string())?;
		loop {
			let work = self.projects.get_mut(&project).ok_or(NOT_LOADED)?;
			let seq = work.next_exec;
			if seq >= next_batch {
				return Ok(());
			}
			// The runtime API handle is not `Send`: one per read, none across an `await`.
			let commitment =
				self.client.runtime_api().batch(at, project, seq).map_err(|e| e.to_string())?;
			let Some(commitment) = commitment else {
				// Pruned before this node ran it: its effect on the state is lost here.
				log::warn!(target: "w3b", "project {project}: batch {seq} was pruned unrun");
				work.next_exec += 1;
				continue;
			};
			let proof =
				self.client.runtime_api().proof(at, project, seq).map_err(|e| e.to_string())?;
			let status = proof.as_ref().map(|p| p.status);
			if status == Some(ProofStatus::Expired) {
				work.next_exec += 1;
				continue;
			}
			let Some(body) = self.body(&commitment.header).await? else {
				log::info!(
					target: "w3b",
					"project {project}: waiting for the body of batch {seq} ({} bytes)",
					commitment.header.bytes
				);
				return Ok(());
			};
			let (info, applets) = {
				let api = self.client.runtime_api();
				let info = api.project(at, project).map_err(|e| e.to_string())?;
				(
					info.ok_or("the project vanished")?,
					api.applets(at, project).map_err(|e| e.to_string())?,
				)
			};
			self.load_code(at, &applets)?;
			let env = info
				.config
				.env
				.iter()
				.map(|var| (var.key.to_vec(), var.value.to_vec()))
				.collect::<Vec<_>>();
			let context = ProjectContext {
				env: Arc::new(env),
				fuel_per_batch: info.config.fuel_per_batch,
				applets: &applets,
			};
			let executor = self.executor.clone();
			let work = self.projects.get_mut(&project).ok_or(NOT_LOADED)?;
			let started = Instant::now();
			let result = tokio::task::block_in_place(|| {
				execute_batch(
					&executor,
					&context,
					&commitment.header,
					&body,
					commitment.committed_at_ms,
					&mut work.state,
				)
			})
			.map_err(|e| format!("executing batch {seq}: {e}"))?;
			work.next_exec += 1;
			work.results.insert(seq, result.output_root);
			if let Ok(cid) = Cid::from_bytes(&commitment.header.cid) {
				work.kept.entry(seq).or_insert(BatchInfo {
					seq,
					committed_at_ms: commitment.committed_at_ms,
					bytes: commitment.header.bytes,
					cid,
					settled: false,
				});
			}
			let failed = result.events.iter().filter(|e| !e.succeeded()).count();
			log::info!(
				target: "w3b",
				"⚙️  project {project}: batch {seq} ran {} events ({failed} failed) in {:?}: {}",
				result.events.len(),
				started.elapsed(),
				result.output_root
			);
			if let Some(m) = &self.metrics {
				m.batches_executed.inc();
				m.execution_seconds.observe(started.elapsed().as_secs_f64());
			}
			if status == Some(ProofStatus::Pending) && work.attested.insert(seq) {
				let mut output_root = result.output_root;
				if self.corrupt_results {
					output_root.0[0] ^= 0xff;
				}
				let outputs = Outputs::truncate_from(result.outputs);
				let call: RuntimeCall = pallet_attestations::Call::attest {
					project,
					batch_seq: seq,
					output_root,
					outputs,
				}
				.into();
				let tx = self.operator().ok_or("no operator key")?;
				tx.submit(at, call).await.map_err(|e| format!("attesting batch {seq}: {e}"))?;
				if let Some(m) = &self.metrics {
					m.attestations_sent.inc();
				}
			}
		}
	}

	/// The batches from `first` on whose open round at block `at` holds this node's vote:
	/// a worker restarted before their rounds closed runs them again, and a second vote
	/// would only be refused, for a fee.
	fn votes_since(
		&self,
		project: ProjectId,
		first: u64,
		at: Hash,
	) -> Result<BTreeSet<u64>, String> {
		let Some(me) = self.tx.as_ref().map(tx::TxSender::account) else {
			return Ok(BTreeSet::new());
		};
		let next_batch =
			self.client.runtime_api().next_batch_seq(at, project).map_err(|e| e.to_string())?;
		let mut voted = BTreeSet::new();
		for seq in first..next_batch {
			let round_key = sp_core::storage::StorageKey(pallet_attestations::Rounds::<
				w3b_runtime::Runtime,
			>::hashed_key_for(project, seq));
			let Some(raw) = self.client.storage(at, &round_key).map_err(|e| e.to_string())? else {
				continue;
			};
			let round =
				pallet_attestations::Round::<w3b_runtime::AccountId>::decode(&mut &raw.0[..])
					.map_err(|e| format!("decoding the round of batch {seq}: {e}"))?;
			if round.votes.iter().any(|(voter, _)| *voter == me) {
				voted.insert(seq);
			}
		}
		Ok(voted)
	}

	/// The body of a committed batch: from the VFS, else from a peer (then kept).
	async fn body(
		&self,
		header: &w3b_primitives::BatchHeader,
	) -> Result<Option<BatchBody>, String> {
		if let Some(body) = w3b_worker::load_body(&*self.vfs, header).map_err(|e| e.to_string())? {
			return Ok(Some(body));
		}
		let cid = Cid::from_bytes(&header.cid).map_err(|e| e.to_string())?;
		let Some(bytes) = self.fetcher.fetch(&cid).await else { return Ok(None) };
		let body = w3b_worker::seal::check_body(header, &bytes).map_err(|e| e.to_string())?;
		self.vfs.put(&bytes).map_err(|e| e.to_string())?;
		self.vfs.pin(&cid).map_err(|e| e.to_string())?;
		Ok(Some(body))
	}

	/// Loads the applets' code into the engine (compiled once per code hash).
	fn load_code(
		&self,
		at: Hash,
		applets: &[(AppletId, w3b_primitives::project::Applet)],
	) -> Result<(), String> {
		for (_, applet) in applets {
			if self.executor.is_loaded(&applet.code_hash) {
				continue;
			}
			let code = self
				.client
				.runtime_api()
				.code(at, applet.code_hash)
				.map_err(|e| e.to_string())?
				.ok_or_else(|| format!("code {} is not on chain", applet.code_hash))?;
			self.executor
				.load(applet.code_hash, &code)
				.map_err(|e| format!("compiling {}: {e}", applet.code_hash))?;
		}
		Ok(())
	}

	/// Applies the proofs settled in the GRANDPA-final block `finalized`, in batch
	/// order: a finalized proof makes its batch's state final (saved to disk), an
	/// expired one rolls it back with every later batch, which run again.
	fn settle(&mut self, project: ProjectId, finalized: Hash) -> Result<(), String> {
		let api = self.client.runtime_api();
		let path = self.state_path(project);
		let work = self.projects.get_mut(&project).ok_or(NOT_LOADED)?;
		while let Some((&seq, &mine)) = work.results.first_key_value() {
			let Some(proof) = api.proof(finalized, project, seq).map_err(|e| e.to_string())? else {
				return Ok(());
			};
			match proof.status {
				ProofStatus::Pending => return Ok(()),
				ProofStatus::Finalized => {
					work.results.remove(&seq);
					if let Some(kept) = work.kept.get_mut(&seq) {
						kept.settled = true;
					}
					if proof.output_root != Some(mine) {
						log::warn!(
							target: "w3b",
							"project {project}: batch {seq} finalized as {:?}, this node computed {mine}",
							proof.output_root
						);
					}
					work.state.finalize(seq);
					work.state.save(&path).map_err(|e| format!("saving the state: {e}"))?;
					log::info!(
						target: "w3b",
						"✅ project {project}: batch {seq} final ({} of {} agreed)",
						proof.agreed,
						proof.subnet_size
					);
					if let Some(m) = &self.metrics {
						m.proofs_finalized.inc();
					}
				}
				ProofStatus::Expired => {
					work.results.remove(&seq);
					if let Some(kept) = work.kept.get_mut(&seq) {
						kept.settled = true;
					}
					let rerun = work.state.expire(seq);
					if let Some(first) = rerun.first() {
						work.next_exec = work.next_exec.min(*first);
						for later in &rerun {
							work.results.remove(later);
						}
					}
					log::warn!(
						target: "w3b",
						"⌛ project {project}: batch {seq} expired without a quorum; {} later batches run again",
						rerun.len()
					);
					if let Some(m) = &self.metrics {
						m.proofs_expired.inc();
					}
				}
			}
		}
		Ok(())
	}

	/// Lets go of the settled batches `policy` gives up, oldest first: their bodies leave
	/// the VFS and, for the batches this node sealed, their messages leave the store.
	/// The chain keeps their roots, so their messages stay provable by anyone who kept
	/// them.
	fn apply_retention(&mut self, project: ProjectId, policy: &RetentionPolicy) {
		let Some(work) = self.projects.get_mut(&project) else { return };
		let kept: Vec<BatchInfo> = work.kept.values().cloned().collect();
		let count = w3b_storage::retention::prunable(policy, &kept, w3b_ingest::now_ms());
		if count == 0 {
			return;
		}
		for batch in &kept[..count] {
			work.kept.remove(&batch.seq);
			if let Err(e) = self.vfs.unpin(&batch.cid) {
				log::warn!(target: "w3b", "project {project}: unpinning batch {}: {e}", batch.seq);
			}
		}
		let through = kept[count - 1].seq;
		// Never a local batch still waiting for inclusion: a resubmission re-reads its
		// messages from the store.
		let local_through =
			work.local_of.range(..=through).map(|(_, local)| *local).max().and_then(|local| {
				match work.in_flight.keys().next() {
					Some(&waiting) if waiting <= local => waiting.checked_sub(1),
					_ => Some(local),
				}
			});
		work.local_of = work.local_of.split_off(&(through + 1));
		work.attested = work.attested.split_off(&(through + 1));
		if let Some(local) = local_through {
			if let Err(e) = self.store.prune(project, local) {
				log::warn!(target: "w3b", "project {project}: pruning the message store: {e}");
			}
		}
		if let Err(e) = self.vfs.collect() {
			log::warn!(target: "w3b", "project {project}: collecting unpinned bodies: {e}");
		}
		log::debug!(target: "w3b", "project {project}: retention let go of batches through {through}");
	}
}
