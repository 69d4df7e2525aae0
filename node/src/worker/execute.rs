//! Running committed batches: in order, each with the project's context as of its
//! commitment (the state of the block before the one that included it: applets, their
//! code, environment, fuel and devices), so that operators at different heights, before
//! or after an owner's update, compute the same result. Every message is judged before
//! the applets see it; a batch holding a message that could never count has its
//! committer named on chain. Operators run ahead of settlement, but the chain settles a
//! project's batches in order and counts a vote only on the agreed state: a result
//! computed on a state the chain has left behind is run again before it is voted.

use std::{collections::HashMap, sync::Arc, time::Duration};

use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::H256;
use w3b_executor::{ExecutorError, LoadedCode};
use w3b_primitives::{
	api::{InboundApi, W3bstreamApi},
	project::{Applet, DeviceRecord, RetentionPolicy},
	proof::Outputs,
	validity::{Context, Invalid},
	AppletId, BatchHeader, DeviceId, ProjectId, ProofStatus,
};
use w3b_runtime::{BlockNumber, RuntimeCall};
use w3b_storage::{load_body, BatchBody, Cid, LoadError};
use w3b_worker::execute::{
	execute_projects, BatchRun, Executed, JobResults, ProjectContext, ProjectJob, ProjectRuns,
};

use super::{byzantine::Attack, Hash, Outcome, ProjectWork, Worker, WorkerError};

/// Blocks a batch waits before a lagging (byzantine test) node runs it.
const LAG_BLOCKS: BlockNumber = 3;
/// Batches after the next one to run whose bodies are fetched ahead.
pub(super) const LOOK_AHEAD: u64 = 32;
/// Most batches one node finalizes in one go (quorums reached while a batch ahead of
/// them was open).
const FINALIZE_RUN: u64 = 32;
/// Most batches of one project read into memory to run in one round (a node catching up
/// runs its backlog over several rounds).
const MAX_READY_BATCHES: usize = 32;
/// Most bytes of batch bodies of one project read into memory to run in one round (at
/// least one batch).
const MAX_READY_BYTES: u64 = 64 << 20;
/// Most bytes of batch bodies and compiled code of all projects read into memory in one
/// round: past it, the projects not yet read wait for the next round (the first always
/// reads a batch). The code a round's batches run stays loaded until they ran, whatever
/// the engine's bound on compiled code: this bounds it instead.
const MAX_ROUND_BYTES: u64 = 128 << 20;

/// A committed batch whose body is here, with the project's context as of its
/// commitment.
pub(super) struct ReadyBatch {
	header: BatchHeader,
	body: BatchBody,
	context: Context<BlockNumber>,
	committer: w3b_runtime::AccountId,
	/// Made on chain from EVM logs a quorum observed: its messages all count.
	made_on_chain: bool,
	env: Arc<Vec<(Vec<u8>, Vec<u8>)>>,
	fuel_per_batch: u64,
	applets: Vec<(AppletId, Applet)>,
	/// The applets' code, held so that the engine keeps it until the batch ran.
	code: Vec<LoadedCode>,
	devices: HashMap<DeviceId, DeviceRecord<BlockNumber>>,
}

/// The next batch of a project to run, or (`ready` empty) to pass over: pruned before it
/// ran here, or expired.
pub(super) struct Step {
	seq: u64,
	ready: Option<Box<ReadyBatch>>,
}

/// A project prepared for a round: its batches to run (or pass over), the retention to
/// apply after, and whether more batches wait for the next round.
pub(super) struct RoundProject {
	pub(super) project: ProjectId,
	pub(super) retention: RetentionPolicy,
	pub(super) steps: Vec<Step>,
	pub(super) more: bool,
}

/// A project's batches running on a thread of [`execute_projects`], with the project's
/// work (its state and SQL database) taken along.
pub(super) struct RoundJob {
	pub(super) work: ProjectWork,
	pub(super) round: RoundProject,
}

impl ProjectJob for RoundJob {
	fn messages(&self) -> usize {
		self.round
			.steps
			.iter()
			.filter_map(|step| step.ready.as_ref())
			.map(|r| r.body.messages.len())
			.sum()
	}

	fn runs(&mut self) -> ProjectRuns<'_> {
		let batches = self
			.round
			.steps
			.iter()
			.filter_map(|step| step.ready.as_deref())
			.map(|ready| BatchRun {
				context: ProjectContext {
					commitment: ready.context,
					env: ready.env.clone(),
					fuel_per_batch: ready.fuel_per_batch,
					applets: &ready.applets,
					devices: &ready.devices,
					made_on_chain: ready.made_on_chain,
				},
				header: &ready.header,
				body: &ready.body,
			})
			.collect();
		ProjectRuns { state: &mut self.work.state, sql: Some(&mut self.work.sql), batches }
	}
}

/// An operator's votes that may still land, about one project.
#[derive(Default)]
struct Waiting {
	/// Votes: the batch (number and Merkle root: a reorg may put another batch under
	/// the number) and the state they ran on (`None`: the body was unavailable).
	votes: Vec<(u64, H256, Option<H256>)>,
}

impl Worker {
	/// Reads the project's batches committed since the last run, in order, up to the
	/// first whose body is not here yet (a fetch is under way), at most
	/// [`MAX_READY_BATCHES`] or [`MAX_READY_BYTES`] of them, and none once the round
	/// read [`MAX_ROUND_BYTES`] (`round_bytes` so far): each ready to run with the
	/// project's context as of its commitment, or marked as not to be run (pruned before
	/// it ran here, or expired). Whether more batches wait than it read is returned too.
	pub(super) fn ready_batches(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
		round_bytes: &mut u64,
	) -> Result<(Vec<Step>, bool), WorkerError> {
		self.follow_reorg(project, at)?;
		let mut steps = Vec::new();
		let more = match self.read_steps(project, at, number, &mut steps, round_bytes) {
			Ok(more) => more,
			// The batches before the one that failed run now; it fails again first on the
			// next block.
			Err(e) if steps.is_empty() => return Err(e),
			Err(e) => {
				log::warn!(target: "w3b", "project {project}: {e}");
				false
			}
		};
		Ok((steps, more))
	}

	fn read_steps(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
		steps: &mut Vec<Step>,
		round_bytes: &mut u64,
	) -> Result<bool, WorkerError> {
		let next_batch = self.client.runtime_api().next_batch_seq(at, project)?;
		let mut seq = self.work(project)?.next_exec;
		let mut bytes = 0u64;
		while seq < next_batch {
			if steps.len() >= MAX_READY_BATCHES
				|| bytes >= MAX_READY_BYTES
				|| *round_bytes >= MAX_ROUND_BYTES
			{
				return Ok(true);
			}
			// The runtime API handle is not `Send`: one per read, none across an `await`.
			let (commitment, proof) = {
				let api = self.client.runtime_api();
				(api.batch(at, project, seq)?, api.proof(at, project, seq)?)
			};
			let Some(commitment) = commitment else {
				// Pruned before this node ran it: its effect on the state is lost here.
				log::warn!(target: "w3b", "project {project}: batch {seq} was pruned unrun");
				steps.push(Step { seq, ready: None });
				seq += 1;
				continue;
			};
			let status = proof.as_ref().map(|p| p.status);
			if status == Some(ProofStatus::Expired) {
				// What fetches of its body found out is of no use any more (and the peers
				// it names must not pile up).
				if let Ok(cid) = Cid::from_bytes(&commitment.header.cid) {
					self.fetches.forget(&cid);
				}
				steps.push(Step { seq, ready: None });
				seq += 1;
				continue;
			}
			if self.byzantine.on(project, Attack::Lag)
				&& number < commitment.committed_at + LAG_BLOCKS
			{
				break;
			}
			let header = commitment.header;
			let made_on_chain = self.body_from_chain(at, &header)?;
			let body = match load_body(&*self.vfs, &header) {
				Ok(Some(body)) => body,
				Ok(None) if made_on_chain => {
					return Err(WorkerError::Missing(format!(
						"the body of batch {seq}, made on chain, does not match its commitment"
					)))
				}
				Ok(None) => {
					log::debug!(
						target: "w3b",
						"project {project}: fetching the body of batch {seq} ({} bytes)",
						header.bytes
					);
					self.fetches.request(&header);
					break;
				}
				// The body its CID names contradicts the commitment (a copy of another
				// operator's commitment with another size or count), or the CID names no
				// body: no body can ever match it. It is voted unavailable (`look_ahead`)
				// and expires; the batches after it wait for that, as for a withheld one.
				Err(LoadError::Body(e)) => {
					let unservable = &mut self.work(project)?.unservable;
					if unservable.insert(seq, header.merkle_root).is_none() {
						log::warn!(
							target: "w3b",
							"project {project}: batch {seq} committed by {} can never be served: {e}",
							commitment.committer
						);
					}
					break;
				}
				Err(e) => return Err(e.into()),
			};
			let context = Context {
				project,
				committed_at: commitment.committed_at,
				committed_at_ms: commitment.committed_at_ms,
			};
			let ready =
				self.ready_batch(header, body, context, commitment.committer, made_on_chain)?;
			// Code counts once per project and round: its batches run the same code unless
			// an update came between them.
			let new_code: u64 = ready
				.code
				.iter()
				.filter(|code| {
					!steps
						.iter()
						.filter_map(|step| step.ready.as_ref())
						.any(|earlier| earlier.code.iter().any(|held| held.hash() == code.hash()))
				})
				.map(|code| code.bytes() as u64)
				.sum();
			bytes += ready.header.bytes;
			*round_bytes += ready.header.bytes + new_code;
			steps.push(Step { seq, ready: Some(Box::new(ready)) });
			seq += 1;
		}
		Ok(false)
	}

	/// Starts the ready batches of every project in `ready` with the engine: each
	/// project's in order, different projects in parallel on up to
	/// [`Worker::exec_threads`] threads. A project leaves `self.projects` while its
	/// batches run and comes back with its results on the channel returned, as soon as
	/// they are there, with how long they ran. Projects without a batch to run are returned as they are.
	pub(super) fn start_ready(
		&mut self,
		ready: Vec<RoundProject>,
	) -> (Vec<RoundProject>, tokio::sync::mpsc::UnboundedReceiver<(RoundJob, JobResults, Duration)>)
	{
		let (sender, finished) = tokio::sync::mpsc::unbounded_channel();
		let mut idle = Vec::new();
		let mut jobs = Vec::new();
		for round in ready {
			let runs = round.steps.iter().any(|step| step.ready.is_some());
			match runs.then(|| self.projects.remove(&round.project)).flatten() {
				Some(work) => jobs.push(RoundJob { work, round }),
				None => idle.push(round),
			}
		}
		let (executor, threads) = (self.executor.clone(), self.exec_threads);
		// Returns once the threads started; should the system refuse every thread, the
		// batches run on this one, which must not then hold up the runtime's other tasks.
		tokio::task::block_in_place(|| {
			execute_projects(executor, jobs, threads, move |job, results, ran| {
				let _ = sender.send((job, results, ran));
			})
		});
		(idle, finished)
	}

	/// Takes the results of the project's `steps` (run by [`Worker::start_ready`]) as this
	/// node's, reports the committer of a batch holding an invalid message, and votes for
	/// every result whose round is open.
	pub(super) async fn conclude_batches(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
		steps: Vec<Step>,
		executed: Vec<Result<Executed, ExecutorError>>,
	) -> Result<(), WorkerError> {
		let mut executed = executed.into_iter();
		let mut failed = None;
		for step in steps {
			let Some(ready) = step.ready else {
				self.work(project)?.next_exec = step.seq + 1;
				continue;
			};
			let outcome = match executed.next() {
				Some(Ok(done)) => self.outcome(&ready, done)?,
				Some(Err(e)) => {
					failed = Some(e);
					break;
				}
				None => break,
			};
			let ReadyBatch { header, body, context, committer, .. } = *ready;
			let seq = header.seq;
			let work = self.work(project)?;
			work.next_exec = seq + 1;
			if let Ok(cid) = Cid::from_bytes(&header.cid) {
				work.kept.entry(seq).or_insert(w3b_storage::retention::BatchInfo {
					seq,
					committed_at_ms: context.committed_at_ms,
					bytes: header.bytes,
					cid,
					settled: false,
				});
			}
			work.results.insert(seq, outcome.clone());
			let committed = (&committer, context.committed_at);
			if let Err(e) = self.report(at, &header, &body, committed, &outcome).await {
				log::warn!(target: "w3b", "project {project}: batch {seq}: {e}");
			}
		}
		let work = self.work(project)?;
		let next_exec = work.next_exec;
		work.unservable.retain(|seq, _| *seq >= next_exec);
		if let Some(e) = failed {
			return Err(e.into());
		}
		let next_batch = self.client.runtime_api().next_batch_seq(at, project)?;
		self.look_ahead(project, at, next_batch).await?;
		self.vote(project, at, number).await?;
		self.finalize_ready(project, at, number).await
	}

	/// Fetches the bodies of the next batches ahead of running them, and votes a body
	/// unavailable once its fetches gave up ([`super::fetch::Fetches::given_up`]): whether a
	/// body can be had does not depend on the state, so a batch nobody serves expires
	/// within a few blocks (within a minute if a peer stays silent) without waiting for
	/// the batches before it.
	async fn look_ahead(
		&mut self,
		project: ProjectId,
		at: Hash,
		next_batch: u64,
	) -> Result<(), WorkerError> {
		let first = self.work(project)?.next_exec;
		for seq in first..next_batch.min(first + LOOK_AHEAD) {
			if self.work(project)?.attested.contains_key(&seq) {
				continue;
			}
			let (commitment, proof) = {
				let api = self.client.runtime_api();
				(api.batch(at, project, seq)?, api.proof(at, project, seq)?)
			};
			let (Some(commitment), Some(proof)) = (commitment, proof) else { continue };
			let cid = Cid::from_bytes(&commitment.header.cid).ok();
			if proof.status != ProofStatus::Pending {
				if let Some(cid) = &cid {
					self.fetches.forget(cid);
				}
				continue;
			}
			// No body can match a CID that names none, or a commitment its body contradicts.
			match cid {
				Some(cid) if !self.work(project)?.unservable.contains_key(&seq) => {
					if self.vfs.is_pinned(&cid).map_err(WorkerError::State)?
						|| self.body_from_chain(at, &commitment.header)?
					{
						continue;
					}
					if !self.fetches.given_up(&cid) {
						self.fetches.request(&commitment.header);
						continue;
					}
					self.fetches.forget(&cid);
				}
				_ => {}
			}
			// A body made on chain is in every node's state: the chain refuses to hear it
			// is unavailable. One that cannot be run here expires at its deadline.
			if self.client.runtime_api().on_chain_body(at, project, seq)?.is_some() {
				continue;
			}
			// One vote per batch: not if this node voted already (before it ran again).
			let voted = match self.operator_account() {
				Some(me) => self.client.runtime_api().vote(at, project, seq, me)?.is_some(),
				None => false,
			};
			let root = commitment.header.merkle_root;
			if voted || self.waiting(project, at).votes.contains(&(seq, root, None)) {
				self.work(project)?.attested.insert(seq, root);
				continue;
			}
			log::warn!(
				target: "w3b",
				"project {project}: nobody served the body of batch {seq} (committed by {}): voting it unavailable",
				commitment.committer
			);
			let call: RuntimeCall = pallet_attestations::Call::attest_unavailable {
				project,
				batch_seq: seq,
				merkle_root: commitment.header.merkle_root,
			}
			.into();
			self.submit(at, call, "an unavailability vote").await?;
			self.work(project)?.attested.insert(seq, root);
		}
		Ok(())
	}

	/// Votes for each result run here whose round is open and holds no vote of this
	/// operator for it. A result computed on a state the chain has since left behind is
	/// not voted (settling runs it again); an earlier vote of this operator on such a
	/// state is replaced once the chain knows it void. A vote that could not be submitted
	/// is tried again on the next block.
	async fn vote(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
	) -> Result<(), WorkerError> {
		let Some(me) = self.operator_account() else { return Ok(()) };
		let work = self.work(project)?;
		let unvoted: Vec<(u64, Outcome)> = work
			.results
			.iter()
			.filter(|(seq, _)| !work.attested.contains_key(seq))
			.map(|(seq, outcome)| (*seq, outcome.clone()))
			.collect();
		if unvoted.is_empty() {
			return Ok(());
		}
		let head = self.client.runtime_api().head(at, project)?;
		let waiting = self.waiting(project, at);
		// A batch run here that expired on the best chain: the results after it ran on its
		// state and are void (settling runs them again once the expiry is final).
		let mut void_after = None;
		let ran: Vec<u64> =
			self.work(project)?.results.range(head.next..).map(|(s, _)| *s).collect();
		for seq in ran {
			let proof = self.client.runtime_api().proof(at, project, seq)?;
			if proof.is_some_and(|p| p.status == ProofStatus::Expired) {
				void_after = Some(seq);
				break;
			}
		}
		for (seq, outcome) in unvoted {
			if void_after.is_some_and(|expired| expired < seq) {
				continue;
			}
			if outcome.wall_clock > 0 {
				// Another operator may have run those events to the end: voting this result
				// could make an honest node a dissenter. Not voting is absence, what a node
				// that cannot keep up with the project's applets should show.
				log::warn!(
					target: "w3b",
					"project {project}: batch {seq}: {} events hit the wall-clock backstop: not voting its result",
					outcome.wall_clock
				);
				self.work(project)?.attested.insert(seq, outcome.merkle_root);
				continue;
			}
			let (open, cast) = {
				let api = self.client.runtime_api();
				// Votes count until the deadline (a vote sent now lands in the next block),
				// and for a pending round behind an unsettled batch also after it: it
				// closes only once it is the head, after its grace.
				let open = api.proof(at, project, seq)?.is_some_and(|p| {
					(p.status != ProofStatus::Expired && number < p.deadline)
						|| (p.status == ProofStatus::Pending && seq > head.next)
				});
				// After a restart or a reorg our vote may be on the best chain already.
				(open, api.vote(at, project, seq, me.clone())?)
			};
			// The agreed state the batch must run on, known once every batch before it
			// settled.
			let base = (head.next == seq).then_some(head.state_root);
			let current = base.is_none_or(|base| base == outcome.previous);
			let submit = match cast {
				None => open && current,
				// For this result, or the body was unavailable: one vote is all.
				Some(vote) if vote.previous.is_none_or(|p| p == outcome.previous) => false,
				// On a state that differs from this result's: the chain takes a second
				// vote once it knows the first one void and this result current.
				Some(_) if base.is_some() && current => open,
				Some(_) => continue,
			};
			if !submit && open && !current {
				// Run on a state the chain has left behind: settling runs it again.
				continue;
			}
			let abstain = self.byzantine.on(project, Attack::Abstain) && seq % 16 == 1;
			let vote = (seq, outcome.merkle_root, Some(outcome.previous));
			if submit && !abstain && !waiting.votes.contains(&vote) {
				self.attest(at, project, seq, &outcome).await?;
			}
			self.work(project)?.attested.insert(seq, outcome.merkle_root);
		}
		Ok(())
	}

	/// Finalizes the batches from the project's head on whose quorums, reached before the
	/// batches ahead of them settled, voted this node's results, each on the state the
	/// one before left (with those votes in, nobody votes again): up to
	/// [`FINALIZE_RUN`] `finalize` calls in one go, applied in order in one block. The
	/// head's agreeing voters take turns, one per block from the block the batch ahead
	/// settled in, starting with the first; another voter's turn comes if they do not
	/// land.
	async fn finalize_ready(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
	) -> Result<(), WorkerError> {
		let Some(me) = self.operator_account() else { return Ok(()) };
		let head = self.client.runtime_api().head(at, project)?;
		// Nothing to do unless the batch at the head ran here (the common case: it is
		// being voted, or was finalized by the vote completing its quorum).
		if !self.work(project)?.results.contains_key(&head.next) {
			return Ok(());
		}
		let results: Vec<(u64, Outcome)> = self
			.work(project)?
			.results
			.range(head.next..head.next + FINALIZE_RUN)
			.map(|(seq, outcome)| (*seq, outcome.clone()))
			.collect();
		let (mut calls, mut turns, mut previous) = (Vec::new(), Vec::new(), head.state_root);
		for (seq, outcome) in results {
			if seq != head.next + calls.len() as u64 || outcome.previous != previous {
				break;
			}
			let quorum = self.client.runtime_api().quorum_on(at, project, seq, previous)?;
			let Some((_, agreeing)) = quorum.filter(|(root, _)| *root == outcome.output_root)
			else {
				break;
			};
			if calls.is_empty() {
				turns = agreeing;
			}
			previous = outcome.state_root;
			calls.push(pallet_attestations::Call::finalize {
				project,
				batch_seq: seq,
				state_root: outcome.state_root,
				outputs: Outputs::truncate_from(outcome.outputs),
			});
		}
		if calls.is_empty() {
			return Ok(());
		}
		let (ahead, open) = {
			let api = self.client.runtime_api();
			let ahead = match head.next.checked_sub(1) {
				Some(seq) => api.proof(at, project, seq)?,
				None => None,
			};
			(ahead, api.proof(at, project, head.next)?.is_some_and(|p| number < p.deadline))
		};
		// A finalization sent now lands in the next block: not after the round closed,
		// nor twice (a copy anyone put in the pool finalizes as well).
		let pooled = self.pooled(at).iter().any(|(_, call)| {
			matches!(
				call,
				RuntimeCall::Attestations(pallet_attestations::Call::finalize {
					project: p, batch_seq, ..
				}) if *p == project && *batch_seq == head.next
			)
		});
		if !open || pooled {
			return Ok(());
		}
		// Every voter reads the block the batch ahead settled in alike (or, if it was
		// pruned, takes turns by block number).
		let since = ahead.and_then(|p| p.settled_at).unwrap_or(0);
		let turn = number.saturating_sub(since) as usize % turns.len().max(1);
		if turns.get(turn) != Some(&me) {
			return Ok(());
		}
		log::info!(
			target: "w3b",
			"project {project}: batches {}..{} have quorums on the agreed state now that the batches before them settled: finalizing them",
			head.next,
			head.next + calls.len() as u64
		);
		for call in calls {
			self.submit(at, call.into(), "a finalization").await?;
		}
		Ok(())
	}

	/// This operator's votes about `project` that may still land on top of best block
	/// `at`: sent and not in a block of the best chain yet (in the pool, or taken out of
	/// the best chain by a reorganisation while the batches run again). They are not sent
	/// twice.
	fn waiting(&mut self, project: ProjectId, at: Hash) -> Waiting {
		let mut waiting = Waiting::default();
		let Some(tx) = self.tx.as_ref() else { return waiting };
		let (me, unconfirmed) = (tx.account(), tx.unconfirmed(at));
		let pooled = self.pooled(at);
		let own_pooled = pooled.iter().filter(|(signer, _)| *signer == me).map(|(_, call)| call);
		for call in own_pooled.chain(unconfirmed.iter()) {
			let RuntimeCall::Attestations(call) = call else { continue };
			match *call {
				pallet_attestations::Call::attest {
					project: p,
					batch_seq,
					merkle_root,
					previous_state_root,
					..
				} if p == project => waiting.votes.push((batch_seq, merkle_root, Some(previous_state_root))),
				pallet_attestations::Call::attest_unavailable {
					project: p,
					batch_seq,
					merkle_root,
				} if p == project => waiting.votes.push((batch_seq, merkle_root, None)),
				_ => {}
			}
		}
		waiting
	}

	/// After a reorg the best chain may number other batches than those run here: from
	/// the first pending result whose batch is not the one at its number on the new best
	/// chain, everything runs again (and is voted for again: the old votes were for
	/// other batches).
	fn follow_reorg(&mut self, project: ProjectId, at: Hash) -> Result<(), WorkerError> {
		let client = self.client.clone();
		let work = self.work(project)?;
		// Without a block retracted since the last check, every batch run here is still
		// on the best chain: no need to read them all again on every block.
		let extended = work.results_checked_at.is_some_and(|checked| {
			checked == at
				|| sp_blockchain::tree_route(&*client, checked, at)
					.is_ok_and(|route| route.retracted().is_empty())
		});
		if extended {
			work.results_checked_at = Some(at);
			return Ok(());
		}
		let api = client.runtime_api();
		let root_at = |seq: u64| -> Result<Option<H256>, WorkerError> {
			Ok(api.batch(at, project, seq)?.map(|c| c.header.merkle_root))
		};
		let mut retracted = None;
		for (seq, outcome) in &work.results {
			if root_at(*seq)? != Some(outcome.merkle_root) {
				retracted = Some(*seq);
				break;
			}
		}
		// A vote, or a verdict that no body can match, holds for the batch it was about:
		// where the best chain now has another batch at that number (one not run here yet
		// included), that batch still needs its own.
		let mut moved = Vec::new();
		for (seq, root) in work.attested.iter().chain(&work.unservable) {
			if root_at(*seq)? != Some(*root) {
				moved.push(*seq);
			}
		}
		for seq in moved {
			work.attested.remove(&seq);
			work.unservable.remove(&seq);
		}
		work.results_checked_at = Some(at);
		let Some(seq) = retracted else { return Ok(()) };
		work.state.discard_from(seq);
		work.results.split_off(&seq);
		work.attested.split_off(&seq);
		work.unservable.split_off(&seq);
		work.next_exec = work.next_exec.min(seq);
		log::info!(target: "w3b", "project {project}: the best chain changed under batch {seq}: running from it again");
		Ok(())
	}

	/// Whether batch `header` was made on chain (from the EVM logs a quorum of the subnet
	/// observed): then its body, read from the chain as of `at`, is put in the VFS unless
	/// it is there, so that it is run, served and kept like any other.
	pub(super) fn body_from_chain(
		&self,
		at: Hash,
		header: &BatchHeader,
	) -> Result<bool, WorkerError> {
		let Some(body) = self.client.runtime_api().on_chain_body(at, header.project, header.seq)?
		else {
			return Ok(false);
		};
		let cid = Cid::from_bytes(&header.cid).map_err(|e| {
			WorkerError::Missing(format!("batch {} has an unreadable CID: {e}", header.seq))
		})?;
		if !self.vfs.is_pinned(&cid).map_err(WorkerError::State)? {
			self.vfs.put(&body).map_err(WorkerError::State)?;
		}
		Ok(true)
	}

	/// Reads what running batch `header` needs: the project's context as of its commitment
	/// (the state of the block before the one that included it), and loads the applets'
	/// code into the engine.
	fn ready_batch(
		&self,
		header: BatchHeader,
		body: BatchBody,
		context: Context<BlockNumber>,
		committer: w3b_runtime::AccountId,
		made_on_chain: bool,
	) -> Result<ReadyBatch, WorkerError> {
		let project = header.project;
		let before = context.committed_at.saturating_sub(1);
		let context_hash = self
			.client
			.hash(before)?
			.ok_or_else(|| WorkerError::Missing(format!("block {before} is not known")))?;
		let (info, applets, devices) = {
			let api = self.client.runtime_api();
			let info = api.project(context_hash, project)?.ok_or_else(|| {
				WorkerError::Missing(format!("project {project} did not exist at block {before}"))
			})?;
			let mut ids: Vec<_> = body.messages.iter().map(|m| m.message.device).collect();
			ids.sort();
			ids.dedup();
			let records = api.devices(context_hash, project, ids.clone())?;
			let devices: HashMap<_, _> = ids
				.into_iter()
				.zip(records)
				.filter_map(|(id, record)| Some((id, record?)))
				.collect();
			(info, api.applets(context_hash, project)?, devices)
		};
		let code = self.load_code(context_hash, &applets)?;
		let env = info.config.env.iter().map(|v| (v.key.to_vec(), v.value.to_vec())).collect();
		Ok(ReadyBatch {
			header,
			body,
			context,
			committer,
			made_on_chain,
			env: Arc::new(env),
			fuel_per_batch: info.config.fuel_per_batch,
			applets,
			code,
			devices,
		})
	}

	/// This node's outcome of batch `ready`, run to `executed` (a byzantine test node
	/// bends it here).
	fn outcome(&mut self, ready: &ReadyBatch, executed: Executed) -> Result<Outcome, WorkerError> {
		let (project, seq) = (ready.header.project, ready.header.seq);
		let diverge = self.byzantine.on(project, Attack::Diverge);
		let work = self.work(project)?;
		let mut result = executed.result;
		if diverge && ((seq % 8 == 0 && !work.diverged.contains_key(&seq)) || seq % 8 == 3) {
			// A faulty node: its state after this batch is not what it should be.
			result.state_root.0[0] ^= 0xff;
			result.output_root =
				w3b_primitives::proof::output_root(&result.state_root, &result.outputs);
			if let Some(mut changes) = work.state.changes(seq).cloned() {
				changes.state_root = result.state_root;
				work.state.record(seq, changes);
			}
		}
		let failed = result.events.iter().filter(|e| !e.succeeded()).count();
		let verdicts = &executed.verdicts;
		log::info!(
			target: "w3b",
			"⚙️  project {project}: batch {seq} ran {} events ({failed} failed) over {} of {} messages in {:?}: {}",
			result.events.len(),
			verdicts.counted.len(),
			ready.body.messages.len(),
			executed.elapsed,
			result.output_root
		);
		if !verdicts.refused.is_empty() {
			let reasons: Vec<_> =
				verdicts.refused.iter().map(|(i, r)| format!("{i}:{}", r.code())).collect();
			log::info!(target: "w3b", "project {project}: batch {seq} refused {}", reasons.join(" "));
		}
		if let Some(m) = &self.metrics {
			m.batches_executed.inc();
			m.execution_seconds.observe(executed.elapsed.as_secs_f64());
		}
		Ok(Outcome {
			previous: executed.previous_state_root,
			merkle_root: ready.header.merkle_root,
			output_root: result.output_root,
			state_root: result.state_root,
			counted: verdicts.counted.len() as u64,
			refused: verdicts.refused.clone(),
			outputs: result.outputs,
			wall_clock: result.events.iter().filter(|e| e.hit_wall_clock()).count(),
		})
	}

	/// Votes for batch `seq`'s result.
	async fn attest(
		&mut self,
		at: Hash,
		project: ProjectId,
		seq: u64,
		outcome: &Outcome,
	) -> Result<(), WorkerError> {
		let mut state_root = outcome.state_root;
		let mut outputs = Outputs::truncate_from(outcome.outputs.clone());
		if self.byzantine.on(project, Attack::WrongRoot) {
			state_root.0[0] ^= 0xff;
		}
		if self.byzantine.on(project, Attack::PoisonOutputs) {
			outputs =
				Outputs::truncate_from(vec![b"poison".to_vec().try_into().unwrap_or_default()]);
		}
		let call: RuntimeCall = pallet_attestations::Call::attest {
			project,
			batch_seq: seq,
			merkle_root: outcome.merkle_root,
			previous_state_root: outcome.previous,
			state_root,
			outputs,
		}
		.into();
		self.submit(at, call, "an attestation").await?;
		if let Some(m) = &self.metrics {
			m.attestations_sent.inc();
		}
		Ok(())
	}

	/// Names on chain the committer of a batch holding a message that could never count,
	/// unless the chain already has a report or the committer is this node.
	async fn report(
		&mut self,
		at: Hash,
		header: &BatchHeader,
		body: &BatchBody,
		(committer, committed_at): (&w3b_runtime::AccountId, BlockNumber),
		outcome: &Outcome,
	) -> Result<(), WorkerError> {
		let client = self.client.clone();
		let judged = |index: u32, reason: Invalid| {
			reason != Invalid::BadSignature
				|| body.messages.get(index as usize).is_some_and(|stored| {
					let device = stored.message.device;
					client
						.runtime_api()
						.signature_judged(at, header.project, device, committed_at)
						.unwrap_or(false)
				})
		};
		let Some((index, reason)) = w3b_worker::verify::first_fault(&outcome.refused, judged)
		else {
			return Ok(());
		};
		let me = self.operator_account();
		if me.as_ref() == Some(committer) {
			return Ok(());
		}
		if self.client.runtime_api().invalid_batch_report(at, header.project, header.seq)?.is_some()
		{
			return Ok(());
		}
		let Some(evidence) = w3b_worker::verify::evidence(body, index, reason) else {
			return Ok(());
		};
		log::warn!(
			target: "w3b",
			"🚨 project {}: batch {} committed by {committer} holds message {index} ({}): reporting",
			header.project,
			header.seq,
			reason.code()
		);
		let call: RuntimeCall = pallet_commitments::Call::report_invalid_batch {
			project: header.project,
			batch_seq: header.seq,
			evidence,
		}
		.into();
		self.submit(at, call, "a report").await
	}

	/// Loads the applets' code, as of block `at`, into the engine (compiled once per code
	/// hash, read from the chain only when the engine does not have it or has not refused
	/// it).
	fn load_code(
		&self,
		at: Hash,
		applets: &[(AppletId, Applet)],
	) -> Result<Vec<LoadedCode>, WorkerError> {
		let mut loaded = Vec::with_capacity(applets.len());
		for (_, applet) in applets {
			if let Some(code) = self.executor.loaded(&applet.code_hash) {
				loaded.push(code);
				continue;
			}
			// Refused before: neither read from the chain nor compiled again.
			if let Some(reason) = self.executor.refused(&applet.code_hash) {
				let hash = applet.code_hash;
				return Err(ExecutorError::InvalidCode { hash, reason }.into());
			}
			let code = self.client.runtime_api().code(at, applet.code_hash)?.ok_or_else(|| {
				WorkerError::Missing(format!("code {} is not on chain", applet.code_hash))
			})?;
			// Compiling takes up to seconds (the chain bounds it): off the async threads.
			let load = || self.executor.load(applet.code_hash, &code);
			loaded.push(tokio::task::block_in_place(load)?);
		}
		Ok(loaded)
	}
}
