//! Sealing what this node received into batches and seeing their commitments onto the
//! chain: a commitment is recognised as this node's only when the chain holds it under
//! this operator with the same CID, count and size, so a member who copies a root from
//! the pool cannot pass its copy off as ours.

use std::{
	collections::BTreeMap,
	time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use codec::Encode;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::{ed25519, Pair, H256};
use w3b_primitives::{
	api::W3bstreamApi, DeviceKey, DeviceSignature, Message, ProjectId, ProofStatus,
};
use w3b_runtime::{BlockNumber, RuntimeCall};
use w3b_storage::{BatchBody, Cid};
use w3b_worker::{seal_batch, sql::ProjectSql, state::ProjectState, SealedBatch};

use super::{byzantine::Attack, commit_call, Hash, ProjectWork, Worker, WorkerError};

/// Blocks a commitment may wait for inclusion before it is submitted again (the chain
/// refuses the same commitment twice from one operator, so resubmitting is safe).
const RESUBMIT_AFTER_BLOCKS: BlockNumber = 10;
/// Local batches checked for a missing commitment after a restart. A project seals no
/// more while this many of its batches wait for inclusion: a batch sealed further back
/// would not be found again after a restart, and its acknowledged messages would be
/// pruned with the batches around it (they wait in the store, unsealed, instead).
const RECOVERY_WINDOW: u64 = 64;
/// Batches one project seals at once at most (a backlog drains over a few rounds).
const MAX_SEALS_PER_ROUND: usize = 4;
/// How long before a slot starts the messages received are sealed for its block: time
/// for the commitment to reach the author's pool (the worker looks every 250 ms).
pub(super) const SEAL_LEAD: Duration = Duration::from_millis(600);

/// The slot starting within `lead` of `now` (slots of `slot` since the Unix epoch, as
/// Aura counts them), if one does.
fn next_slot(now: SystemTime, slot: Duration, lead: Duration) -> Option<u64> {
	let slot_ms = slot.as_millis().max(1) as u64;
	let now_ms = now.duration_since(UNIX_EPOCH).ok()?.as_millis() as u64;
	let next = now_ms / slot_ms + 1;
	(next * slot_ms - now_ms <= lead.as_millis() as u64).then_some(next)
}

/// A commitment this node submitted, until it is included.
pub struct InFlight {
	sealed: SealedBatch,
	submitted_at: BlockNumber,
}

impl Worker {
	/// The worker's state of `project`, loaded on first use: the finalized state from
	/// disk and the commitments a restart may have left behind for resubmission (the
	/// votes this operator already cast are read from the chain before each vote).
	pub(super) fn load_project(
		&mut self,
		project: ProjectId,
		number: BlockNumber,
	) -> Result<&mut ProjectWork, WorkerError> {
		if !self.projects.contains_key(&project) {
			let mut state =
				ProjectState::load(&self.state_path(project)).map_err(WorkerError::State)?;
			let mut sql = ProjectSql::open(&self.sql_path(project))?;
			// What a crash left between saving the state and updating the database.
			sql.catch_up(&mut state)?;
			let last_sealed = self.store.last_sealed(project)?;
			let next_exec = state.finalized_through().map_or(0, |s| s + 1);
			let mut work = ProjectWork {
				active: false,
				last_seal: Instant::now(),
				sealed_for_slot: None,
				backlog: false,
				state,
				sql,
				next_local: last_sealed.map_or(0, |s| s + 1),
				in_flight: BTreeMap::new(),
				next_exec,
				results: BTreeMap::new(),
				results_checked_at: None,
				attested: BTreeMap::new(),
				unservable: BTreeMap::new(),
				diverged: BTreeMap::new(),
				syncing: None,
				local_of: BTreeMap::new(),
				kept: BTreeMap::new(),
			};
			// Sealed before a restart but maybe never included: submit again what the
			// chain does not know (the submission is marked as old so it goes now).
			if let Some(last) = last_sealed {
				for local in last.saturating_sub(RECOVERY_WINDOW - 1)..=last {
					// Only batches still in the store: sealing a pruned number would
					// make a new batch of the pending messages.
					if self.store.batch(project, local)?.is_none() {
						continue;
					}
					if let Some(sealed) =
						seal_batch(&*self.store, &*self.vfs, project, local, self.limits)?
					{
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
		self.work(project)
	}

	/// Drops included commitments from the in-flight list and resubmits those that
	/// waited too long.
	pub(super) async fn confirm_commitments(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
	) -> Result<(), WorkerError> {
		let Some(me) = self.operator_account() else { return Ok(()) };
		let client = self.client.clone();
		let api = client.runtime_api();
		let work = self.work(project)?;
		let mut resubmit = Vec::new();
		let mut included = Vec::new();
		for (local, in_flight) in &work.in_flight {
			let sealed = &in_flight.sealed;
			let seq = api.batch_seq_of_root(at, project, me.clone(), sealed.merkle_root)?;
			// An expired commitment of ours is one to make again.
			let seq = match seq {
				Some(seq)
					if api
						.proof(at, project, seq)?
						.is_some_and(|p| p.status == ProofStatus::Expired) =>
				{
					None
				}
				seq => seq,
			};
			match seq {
				Some(seq) => {
					// Ours only if it is what we sealed: the chain keys the root by
					// committer, so only a commitment of our own can be found here.
					let header = api.batch(at, project, seq)?.map(|c| c.header);
					if header.is_some_and(|h| {
						(h.cid.as_slice(), h.count, h.bytes)
							== (sealed.cid.as_slice(), sealed.count, sealed.bytes)
					}) {
						included.push((*local, seq));
					} else {
						log::error!(
							target: "w3b",
							"project {project}: batch {seq} has our root {} but not our body",
							sealed.merkle_root
						);
					}
				}
				None if number.saturating_sub(in_flight.submitted_at) > RESUBMIT_AFTER_BLOCKS => {
					resubmit.push(*local)
				}
				None => {}
			}
		}
		drop(api);
		let work = self.work(project)?;
		for (local, seq) in &included {
			work.in_flight.remove(local);
			work.local_of.insert(*seq, *local);
			log::debug!(target: "w3b", "project {project}: local batch {local} is batch {seq}");
		}
		let resubmit: Vec<SealedBatch> = resubmit
			.iter()
			.filter_map(|local| work.in_flight.get(local).map(|f| f.sealed.clone()))
			.collect();
		if let Some(m) = &self.metrics {
			m.batches_committed.inc_by(included.len() as u64);
		}
		for sealed in resubmit {
			log::info!(
				target: "w3b",
				"project {project}: committing local batch {} again ({} messages)",
				sealed.local_seq,
				sealed.count
			);
			self.submit(at, commit_call(&sealed), "a commitment").await?;
			if let Some(in_flight) = self.work(project)?.in_flight.get_mut(&sealed.local_seq) {
				in_flight.submitted_at = number;
			}
		}
		Ok(())
	}

	/// Queues local batch `local`, whose commitment expired, to be committed again.
	pub(super) fn commit_again(
		&mut self,
		project: ProjectId,
		local: u64,
	) -> Result<(), WorkerError> {
		let (store, vfs, limits) = (self.store.clone(), self.vfs.clone(), self.limits);
		// Only a batch still in the store: sealing a pruned number would make a new batch
		// of the pending messages under it.
		if store.batch(project, local)?.is_none() {
			log::error!(target: "w3b", "project {project}: local batch {local} expired but left the store");
			return Ok(());
		}
		let Some(sealed) = seal_batch(&*store, &*vfs, project, local, limits)? else {
			return Ok(());
		};
		log::warn!(
			target: "w3b",
			"project {project}: local batch {local} expired unfinalized: committing its {} messages again",
			sealed.count
		);
		self.work(project)?.in_flight.insert(local, InFlight { sealed, submitted_at: 0 });
		Ok(())
	}

	/// Seals for the Active projects that received messages: when the next block is due
	/// within [`SEAL_LEAD`] (before every block, or every `seal_interval` rounded to
	/// whole slots), when a batch is full, while the last round of seals left a backlog,
	/// and, for an interval shorter than a slot, whenever it passed since the last seal.
	pub(super) async fn seal_due(&mut self) {
		let at = self.client.info().best_hash;
		let Ok(Some(number)) = self.client.number(at) else { return };
		let next_slot = next_slot(SystemTime::now(), self.slot_duration, SEAL_LEAD);
		// An interval of several slots seals before every so many blocks.
		let slots_per_seal =
			(self.seal_interval.as_millis() / self.slot_duration.as_millis().max(1)).max(1) as u64;
		let due: Vec<ProjectId> = self
			.projects
			.iter()
			// A node taking a batch's agreed changes from peers still commits what it
			// acknowledged.
			.filter(|(_, work)| work.active)
			.filter(|(project, work)| {
				let room = (work.in_flight.len() as u64) < RECOVERY_WINDOW;
				if !room {
					log::warn!(
						target: "w3b",
						"project {project}: {RECOVERY_WINDOW} batches wait for inclusion: sealing no more until some are included"
					);
				}
				room
			})
			.filter(|(project, work)| {
				let pending = self.store.pending(**project).map(|m| m.len()).unwrap_or(0);
				let before_block = next_slot.is_some_and(|slot| {
					work.sealed_for_slot.is_none_or(|last| slot >= last + slots_per_seal)
				});
				let interval_passed = self.seal_interval < self.slot_duration
					&& work.last_seal.elapsed() >= self.seal_interval;
				pending >= self.limits.max_messages
					|| (pending > 0 && (before_block || work.backlog || interval_passed))
			})
			.map(|(project, _)| *project)
			.collect();
		for project in due {
			if let Ok(work) = self.work(project) {
				work.sealed_for_slot = next_slot.or(work.sealed_for_slot);
			}
			if let Err(e) = self.seal_and_commit(project, at, number).await {
				log::warn!(target: "w3b", "project {project}: sealing: {e}");
			}
		}
	}

	/// Seals what this node received for `project` and submits the commitments.
	async fn seal_and_commit(
		&mut self,
		project: ProjectId,
		at: Hash,
		number: BlockNumber,
	) -> Result<(), WorkerError> {
		for _ in 0..MAX_SEALS_PER_ROUND {
			let (store, vfs, limits) = (self.store.clone(), self.vfs.clone(), self.limits);
			let work = self.work(project)?;
			if work.in_flight.len() as u64 >= RECOVERY_WINDOW {
				return Ok(());
			}
			work.last_seal = Instant::now();
			let local = work.next_local;
			let Some(sealed) = seal_batch(&*store, &*vfs, project, local, limits)? else {
				work.backlog = false;
				return Ok(());
			};
			work.next_local += 1;
			work.in_flight.insert(local, InFlight { sealed: sealed.clone(), submitted_at: number });
			log::debug!(
				target: "w3b",
				"project {project}: sealed local batch {local} ({} messages, {} bytes, {})",
				sealed.count,
				sealed.bytes,
				sealed.merkle_root
			);
			if self.byzantine.on(project, Attack::Withhold) {
				if let Ok(cid) = Cid::from_bytes(&sealed.cid) {
					self.withheld.write().map_err(|_| poisoned())?.insert(cid);
				}
			}
			self.submit(at, commit_call(&sealed), "a commitment").await?;
			if self.byzantine.on(project, Attack::Forge) {
				self.commit_forgery(&sealed, at).await?;
			}
		}
		// Batches full by bytes (large messages) may leave more than a batch waiting
		// below the message count that seals at once: sealing goes on at the next look.
		self.work(project)?.backlog = true;
		Ok(())
	}

	/// Attack: commits a batch of messages no device sent, beside `genuine`.
	async fn commit_forgery(&mut self, genuine: &SealedBatch, at: Hash) -> Result<(), WorkerError> {
		let mut messages = Vec::new();
		for hash in genuine.messages.iter().take(2) {
			if let Some(stored) = self.store.get(hash)? {
				messages.push(stored);
			}
		}
		let Some(first) = messages.first().cloned() else { return Ok(()) };
		let stranger = ed25519::Pair::from_seed(&H256::random().0);
		let invented = Message {
			device: DeviceKey::Ed25519(stranger.public().0).device_id(),
			seq: 1,
			payload: b"{\"reading\":1000}".to_vec(),
			..first.message.clone()
		};
		let mut tampered = first.clone();
		tampered.message.payload = b"{\"reading\":-1000}".to_vec();
		let mut zeroed = first.clone();
		zeroed.message.seq += 1_000_000;
		zeroed.signature = DeviceSignature::Ed25519([0; 64]);
		messages.push(w3b_storage::StoredMessage {
			signature: DeviceSignature::Ed25519(stranger.sign(invented.hash().as_bytes()).0),
			message: invented,
			received_ms: first.received_ms,
		});
		messages.push(tampered);
		messages.push(zeroed);
		messages.push(first);
		let body = BatchBody { messages };
		let (hashes, root) = (body.hashes(), w3b_primitives::merkle::merkle_root(&body.leaves()));
		let body = body.encode();
		let cid = self.vfs.put(&body).map_err(WorkerError::State)?;
		let forged = SealedBatch {
			project: genuine.project,
			local_seq: u64::MAX,
			merkle_root: root,
			count: hashes.len() as u32,
			bytes: body.len() as u64,
			cid: cid.to_bytes().try_into().unwrap_or_default(),
			messages: hashes,
		};
		log::warn!(target: "w3b", "😈 project {}: committing forged batch {}", forged.project, forged.merkle_root);
		self.submit(at, commit_call(&forged), "a forged commitment").await
	}

	/// Attack: copies every commitment of another operator waiting in the pool: every
	/// other copy with a CID nobody can serve, the rest with the honest CID and one byte
	/// more (a body every operator holds, contradicting the copy).
	pub(super) async fn hijack(&mut self) {
		let targets: Vec<ProjectId> = self.byzantine.projects(Attack::Hijack).collect();
		if targets.is_empty() {
			return;
		}
		let Some(me) = self.operator_account() else { return };
		let mut copies = Vec::new();
		for (signer, call) in super::tx::pooled_calls(&self.pool) {
			if let RuntimeCall::Commitments(pallet_commitments::Call::commit_batch {
				project,
				merkle_root,
				count,
				bytes,
				cid,
			}) = call
			{
				if signer != me && targets.contains(&project) {
					copies.push((project, merkle_root, count, bytes, cid));
				}
			}
		}
		let at = self.client.info().best_hash;
		for (project, merkle_root, count, bytes, cid) in copies {
			if !self.hijacked.insert(merkle_root) {
				continue;
			}
			let (bytes, cid) = if self.hijacked.len() % 2 == 0 {
				(bytes, Cid::of(merkle_root.as_bytes()).to_bytes().try_into().unwrap_or_default())
			} else {
				(bytes + 1, cid)
			};
			let call: RuntimeCall =
				pallet_commitments::Call::commit_batch { project, merkle_root, count, bytes, cid }
					.into();
			log::warn!(target: "w3b", "😈 project {project}: hijacking commitment {merkle_root}");
			if let Err(e) = self.submit(at, call, "a hijacked commitment").await {
				log::warn!(target: "w3b", "project {project}: {e}");
			}
		}
	}
}

fn poisoned() -> WorkerError {
	WorkerError::Missing("the withheld set's lock is poisoned".into())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn messages_are_sealed_once_just_before_each_slot() {
		let slot = Duration::from_secs(3);
		let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
		// Slot 1000 starts at 3,000,000 ms: sealing for it from 2,999,400 ms on.
		assert_eq!(next_slot(at(2_999_399), slot, SEAL_LEAD), None);
		assert_eq!(next_slot(at(2_999_400), slot, SEAL_LEAD), Some(1000));
		assert_eq!(next_slot(at(2_999_999), slot, SEAL_LEAD), Some(1000));
		// At its start the block is being authored: the next window is for slot 1001.
		assert_eq!(next_slot(at(3_000_000), slot, SEAL_LEAD), None);
		assert_eq!(next_slot(at(3_002_500), slot, SEAL_LEAD), Some(1001));
		// The worker looks every 250 ms: its looks hit the window of every slot.
		let looks = (0..12_000u64).step_by(250).filter_map(|ms| next_slot(at(ms), slot, SEAL_LEAD));
		assert_eq!(looks.collect::<std::collections::BTreeSet<_>>().len(), 4);
	}
}
