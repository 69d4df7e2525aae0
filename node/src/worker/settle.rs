//! Settling: a proof in a GRANDPA-final block makes its batch's state final here only
//! if this node computed the state the quorum agreed on. A node that computed another
//! never keeps it: it discards its own and runs the batch again from the last agreed
//! state; if it still differs it takes the batch's agreed changes from peers
//! (`/w3b/state/1`, checked against the finalized root) and votes again only once it has
//! them. An expired proof rolls the batch back with every later one. Then retention lets
//! go of what the project's policy gives up.

use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::H256;
use w3b_primitives::{api::W3bstreamApi, project::RetentionPolicy, ProjectId, ProofStatus};
use w3b_storage::retention::BatchInfo;
use w3b_worker::state::AgreedChanges;

use super::{state_protocol::ChangesRequest, Hash, Worker, WorkerError};

/// Runs of one batch that may end on another state than the agreed one before the node
/// takes the batch's agreed changes from peers.
const MAX_RUNS_DIVERGING: u32 = 2;

impl Worker {
	/// Applies the proofs settled in the GRANDPA-final block `finalized`, in batch order.
	pub(super) fn settle(
		&mut self,
		project: ProjectId,
		finalized: Hash,
	) -> Result<(), WorkerError> {
		let mut recommit = Vec::new();
		let settled = self
			.settle_proofs(project, finalized, &mut recommit)
			.and_then(|()| self.settle_unrun(project, finalized, &mut recommit));
		for local in recommit {
			// One failure must not keep the others from going again; a restart retries
			// it (recovery resubmits expired local batches).
			if let Err(e) = self.commit_again(project, local) {
				log::error!(target: "w3b", "project {project}: local batch {local}: {e}");
			}
		}
		settled
	}

	fn settle_proofs(
		&mut self,
		project: ProjectId,
		finalized: Hash,
		recommit: &mut Vec<u64>,
	) -> Result<(), WorkerError> {
		let path = self.state_path(project);
		// A byzantine test node that withholds its bodies does not try again.
		let withholding = self.byzantine.on(project, super::byzantine::Attack::Withhold);
		loop {
			let work = self.work(project)?;
			let Some((&seq, mine)) = work.results.first_key_value() else { return Ok(()) };
			let mine = mine.clone();
			let Some(proof) = self.client.runtime_api().proof(finalized, project, seq)? else {
				return Ok(());
			};
			let (metrics, recent_changes) = (self.metrics.clone(), self.recent_changes.clone());
			let work = self.work(project)?;
			match proof.status {
				ProofStatus::Pending => return Ok(()),
				ProofStatus::Finalized
					if proof.state_root == Some(mine.state_root)
						&& proof.output_root == Some(mine.output_root) =>
				{
					work.results.remove(&seq);
					if let Some(kept) = work.kept.get_mut(&seq) {
						kept.settled = true;
					}
					// Served to peers that could not compute it.
					if let Some(changes) = work.state.changes(seq) {
						recent_changes.keep(project, seq, mine.state_root, changes.encode_agreed());
					}
					work.state.finalize(seq);
					work.state.save(&path).map_err(WorkerError::State)?;
					// Saved first: the statements are replayed from the state after a crash.
					work.sql.catch_up(&mut work.state)?;
					log::info!(
						target: "w3b",
						"✅ project {project}: batch {seq} final ({} of {} agreed)",
						proof.agreed,
						proof.subnet_size
					);
					if let Some(m) = &metrics {
						m.batch_final(project, mine.counted, &mine.refused);
					}
				}
				ProofStatus::Finalized => {
					// The network agreed on another state: ours is not kept.
					let runs = work.diverged.entry(seq).or_insert(0);
					*runs += 1;
					let runs = *runs;
					// Every later result ran on top of ours: all of them run again, and
					// their votes, cast on our state, are void: they are cast again.
					work.state.discard_from(seq);
					work.results.clear();
					work.attested.retain(|voted, _| *voted <= seq);
					work.next_exec = work.next_exec.min(seq);
					if let Some(m) = &metrics {
						m.state_divergences.inc();
					}
					if runs >= MAX_RUNS_DIVERGING {
						work.syncing = Some(seq);
						log::error!(
							target: "w3b",
							"🛑 project {project}: batch {seq} finalized as state {:?}; this node computed {} again: it takes the batch's agreed changes from peers and votes on nothing of the project until it has them",
							proof.state_root,
							mine.state_root
						);
						return self.request_changes(project, seq, finalized);
					}
					log::warn!(
						target: "w3b",
						"⚠️  project {project}: batch {seq} finalized as state {:?}, this node computed {}: running it again from the last agreed state",
						proof.state_root,
						mine.state_root
					);
					return Ok(());
				}
				ProofStatus::Expired => {
					work.results.remove(&seq);
					if let Some(kept) = work.kept.get_mut(&seq) {
						kept.settled = true;
					}
					// Ours: its messages never counted. Commit them again (the chain
					// takes an expired root once more) rather than lose what this node
					// acknowledged; retention keeps them meanwhile.
					if let Some(local) = work.local_of.remove(&seq) {
						work.kept.remove(&seq);
						if !withholding {
							recommit.push(local);
						}
					}
					let rerun = work.state.expire(seq);
					if let Some(first) = rerun.first() {
						work.next_exec = work.next_exec.min(*first);
						// They ran on the expired batch's state: their votes are void.
						for later in &rerun {
							work.results.remove(later);
							work.attested.remove(later);
						}
					}
					log::warn!(
						target: "w3b",
						"⌛ project {project}: batch {seq} expired without a quorum; {} later batches run again",
						rerun.len()
					);
					if let Some(m) = &metrics {
						m.proofs_expired.inc();
					}
				}
			}
		}
	}

	/// Settles the batches behind the execution point for which this node holds no
	/// result: those whose result it dropped when it took a batch's agreed changes, and
	/// those that expired before it ran them. Retention may let go of them once settled,
	/// and this node's own expired ones are committed again.
	fn settle_unrun(
		&mut self,
		project: ProjectId,
		finalized: Hash,
		recommit: &mut Vec<u64>,
	) -> Result<(), WorkerError> {
		let withholding = self.byzantine.on(project, super::byzantine::Attack::Withhold);
		let work = self.work(project)?;
		let unsettled = work.kept.iter().filter(|(_, b)| !b.settled).map(|(seq, _)| *seq);
		let unrun_own = work.local_of.keys().copied().filter(|seq| !work.kept.contains_key(seq));
		let unrun: Vec<u64> = unsettled
			.chain(unrun_own)
			.filter(|seq| *seq < work.next_exec && !work.results.contains_key(seq))
			.collect();
		for seq in unrun {
			let Some(proof) = self.client.runtime_api().proof(finalized, project, seq)? else {
				continue;
			};
			let work = self.work(project)?;
			match proof.status {
				ProofStatus::Pending => {}
				ProofStatus::Finalized => {
					if let Some(kept) = work.kept.get_mut(&seq) {
						kept.settled = true;
					}
				}
				ProofStatus::Expired => {
					if let Some(local) = work.local_of.remove(&seq) {
						work.kept.remove(&seq);
						if !withholding {
							log::warn!(target: "w3b", "⌛ project {project}: batch {seq} (ours) expired before it ran here");
							recommit.push(local);
						}
					} else if let Some(kept) = work.kept.get_mut(&seq) {
						kept.settled = true;
					}
				}
			}
		}
		Ok(())
	}

	/// Asks peers for the agreed changes of batch `seq`, finalized as of block
	/// `finalized`, unless that request is under way.
	pub(super) fn request_changes(
		&mut self,
		project: ProjectId,
		seq: u64,
		finalized: Hash,
	) -> Result<(), WorkerError> {
		let (proof, commitment) = {
			let api = self.client.runtime_api();
			(api.proof(finalized, project, seq)?, api.batch(finalized, project, seq)?)
		};
		let (Some(proof), Some(commitment)) = (proof, commitment) else {
			return Err(WorkerError::Missing(format!("batch {seq} has no final proof")));
		};
		let (Some(state_root), Some(previous)) = (proof.state_root, proof.previous_state_root)
		else {
			return Err(WorkerError::Missing(format!("batch {seq} was not finalized")));
		};
		// Changes lead from the state the batch ran on: useless unless it is the one here.
		let here = self.work(project)?.state.finalized_root();
		if here != previous {
			return Err(WorkerError::Missing(format!(
				"batch {seq} ran on state {previous:?}, this node holds {here:?}: it cannot take the batch's changes"
			)));
		}
		self.changes_fetches.request(
			ChangesRequest { project, seq, state_root },
			previous,
			commitment.header.merkle_root,
		);
		Ok(())
	}

	/// A fetch of agreed changes ended: takes them over if they are still wanted and lead
	/// from the state here to the finalized root. Returns whether the project can go on.
	pub(super) fn take_changes(
		&mut self,
		request: ChangesRequest,
		changes: Option<AgreedChanges>,
	) -> bool {
		let ChangesRequest { project, seq, state_root } = request;
		if self.projects.get(&project).is_none_or(|work| work.syncing != Some(seq)) {
			return false;
		}
		let Some(changes) = changes else {
			log::warn!(
				target: "w3b",
				"project {project}: no peer served the agreed changes of batch {seq} yet; asking again on the next block"
			);
			return false;
		};
		match self.adopt(project, seq, state_root, changes) {
			Ok(counted) => {
				log::info!(
					target: "w3b",
					"✅ project {project}: batch {seq} final: took the agreed changes from a peer ({counted} messages counted); working on the project again"
				);
				true
			}
			Err(e) => {
				log::error!(target: "w3b", "project {project}: taking the agreed changes of batch {seq}: {e}");
				false
			}
		}
	}

	/// Makes `changes` the final state of batch `seq` here. Returns how many of its
	/// messages counted.
	fn adopt(
		&mut self,
		project: ProjectId,
		seq: u64,
		state_root: H256,
		changes: AgreedChanges,
	) -> Result<u64, WorkerError> {
		let finalized = self.client.info().finalized_hash;
		let commitment = self
			.client
			.runtime_api()
			.batch(finalized, project, seq)?
			.ok_or_else(|| WorkerError::Missing(format!("batch {seq} is not on chain")))?;
		let made_on_chain = self.body_from_chain(finalized, &commitment.header)?;
		let body = w3b_storage::load_body(&*self.vfs, &commitment.header)?
			.ok_or_else(|| WorkerError::Missing(format!("the body of batch {seq}")))?;
		let (encoded, refused) = (codec::Encode::encode(&changes), changes.refused.clone());
		let path = self.state_path(project);
		let work = self.work(project)?;
		// Saved before it replaces the state here: a failed save changes nothing.
		let mut state = work.state.clone();
		state.adopt(
			seq,
			&commitment.header.merkle_root,
			&body,
			changes,
			state_root,
			made_on_chain,
		)?;
		state.save(&path).map_err(WorkerError::State)?;
		work.state = state;
		work.sql.catch_up(&mut work.state)?;
		work.syncing = None;
		work.diverged.remove(&seq);
		work.results.clear();
		work.attested.retain(|voted, _| *voted <= seq);
		work.next_exec = seq + 1;
		if let Some(kept) = work.kept.get_mut(&seq) {
			kept.settled = true;
		}
		let counted = body.messages.len().saturating_sub(refused.len()) as u64;
		self.recent_changes.keep(project, seq, state_root, encoded);
		if let Some(m) = &self.metrics {
			m.state_syncs.inc();
			m.batch_final(project, counted, &refused);
		}
		Ok(counted)
	}

	/// Lets go of the settled batches `policy` gives up, oldest first: their bodies leave
	/// the VFS and, for the batches this node sealed, their messages leave the store.
	/// The chain keeps their roots, so their messages stay provable by anyone who kept
	/// them.
	pub(super) fn apply_retention(&mut self, project: ProjectId, policy: &RetentionPolicy) {
		let Some(work) = self.projects.get_mut(&project) else { return };
		let kept: Vec<BatchInfo> = work.kept.values().cloned().collect();
		let count = w3b_storage::retention::prunable(policy, &kept, w3b_ingest::now_ms());
		if count == 0 {
			return;
		}
		let released = &kept[..count];
		for batch in released {
			work.kept.remove(&batch.seq);
		}
		let through = released[released.len() - 1].seq;
		// Never a local batch still waiting for inclusion, nor one committed again under a
		// later chain number and not settled yet: a resubmission re-reads its messages
		// from the store.
		let first_unsettled_local = work
			.in_flight
			.keys()
			.copied()
			.chain(work.local_of.range(through + 1..).map(|(_, local)| *local))
			.min();
		let local_through =
			work.local_of.range(..=through).map(|(_, local)| *local).max().and_then(|local| {
				match first_unsettled_local {
					Some(unsettled) if unsettled <= local => unsettled.checked_sub(1),
					_ => Some(local),
				}
			});
		work.local_of = work.local_of.split_off(&(through + 1));
		work.attested = work.attested.split_off(&(through + 1));
		w3b_storage::retention::release(&*self.store, &*self.vfs, project, released, local_through);
		log::debug!(target: "w3b", "project {project}: retention let go of batches through {through}");
	}
}
