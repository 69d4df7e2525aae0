//! `/w3b/state/1`: the libp2p request-response protocol through which an operator that
//! cannot compute a batch the way the network did takes the batch's agreed changes from
//! peers instead of stopping work on the project.
//!
//! A request is SCALE `(project, batch, state root)`; the response is the batch's
//! [`AgreedChanges`] (SCALE) when the peer finalized the batch with that root and still
//! has them, nothing otherwise. The state root commits to the changes: the requester
//! takes an answer only if, applied to the agreed state before the batch, it leads to
//! the root the quorum finalized, so a peer can waste its time but never change its
//! state. Each node keeps the changes of the batches it finalized last
//! ([`RecentChanges`], bounded by count and bytes) and serves them from memory.

use std::{
	collections::{HashMap, VecDeque},
	sync::{Arc, Mutex},
};

use codec::{Decode, Encode};
use sc_network::{
	request_responses::{IncomingRequest, OutgoingResponse},
	NetworkBackend, ReputationChange,
};
use sp_core::H256;
use w3b_primitives::ProjectId;
use w3b_runtime::opaque::Block;
use w3b_worker::state::AgreedChanges;

use super::{
	protocol::{over_budget, request_response_config, AnswersInFlight, Peers, ServeBudget},
	Hash,
};

/// The protocol's name.
pub const PROTOCOL: &str = "/w3b/state/1";
/// Largest answer served or accepted: a batch's writes and SQL statements (16 MiB each
/// at most, `w3b_executor::MAX_BATCH_WRITE_BYTES`, `MAX_BATCH_SQL_BYTES`), its refused
/// messages and their encoding.
pub const MAX_CHANGES: u64 = 40 << 20;
/// Batches whose changes a node keeps to serve, over all projects.
const KEPT_BATCHES: usize = 1_024;
/// Bytes of changes a node keeps to serve, over all projects.
const KEPT_BYTES: usize = 128 << 20;

/// What a request names: the batch and the state root it was finalized with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub struct ChangesRequest {
	/// The project.
	pub project: ProjectId,
	/// The batch.
	pub seq: u64,
	/// The state root the batch was finalized with.
	pub state_root: H256,
}

/// The protocol's network configuration and the queue its requests arrive on.
pub fn config<N: NetworkBackend<Block, Hash>>(
) -> (N::RequestResponseProtocolConfig, async_channel::Receiver<IncomingRequest>) {
	let request = ChangesRequest { project: 0, seq: 0, state_root: H256::zero() };
	request_response_config::<N>(PROTOCOL, request.encoded_size() as u64, MAX_CHANGES)
}

/// The changes of the batches this node finalized last, encoded, by batch and root.
/// Past [`KEPT_BATCHES`] or [`KEPT_BYTES`], the oldest changes of the project that keeps
/// the most bytes go first: a project with huge writes pushes out its own changes, not
/// the others'.
#[derive(Clone, Default)]
pub struct RecentChanges(Arc<Mutex<Kept>>);

#[derive(Default)]
struct Kept {
	by_request: HashMap<ChangesRequest, Arc<Vec<u8>>>,
	/// Each project's kept requests, oldest first, and their bytes.
	by_project: HashMap<ProjectId, (VecDeque<ChangesRequest>, usize)>,
	batches: usize,
	bytes: usize,
}

impl Kept {
	fn insert(&mut self, request: ChangesRequest, encoded: Vec<u8>) {
		let len = encoded.len();
		if let Some(old) = self.by_request.insert(request, Arc::new(encoded)) {
			self.bytes -= old.len();
			self.by_project.entry(request.project).or_default().1 -= old.len();
		} else {
			self.batches += 1;
			self.by_project.entry(request.project).or_default().0.push_back(request);
		}
		self.bytes += len;
		self.by_project.entry(request.project).or_default().1 += len;
		while self.batches > KEPT_BATCHES || self.bytes > KEPT_BYTES {
			let Some((&largest, _)) = self.by_project.iter().max_by_key(|(_, (_, bytes))| *bytes)
			else {
				break;
			};
			self.evict_oldest(largest);
		}
	}

	fn evict_oldest(&mut self, project: ProjectId) {
		let Some((order, bytes)) = self.by_project.get_mut(&project) else { return };
		if let Some(oldest) = order.pop_front() {
			if let Some(old) = self.by_request.remove(&oldest) {
				*bytes -= old.len();
				self.bytes -= old.len();
			}
			self.batches -= 1;
		}
		if order.is_empty() {
			self.by_project.remove(&project);
		}
	}
}

impl RecentChanges {
	/// Keeps the changes of batch `seq` of `project`, finalized with `state_root`,
	/// encoded as [`AgreedChanges`].
	pub fn keep(&self, project: ProjectId, seq: u64, state_root: H256, encoded: Vec<u8>) {
		if encoded.len() as u64 > MAX_CHANGES {
			log::warn!(
				target: "w3b",
				"project {project}: batch {seq}: its changes ({} bytes) are too large to serve to peers",
				encoded.len()
			);
			return;
		}
		let Ok(mut kept) = self.0.lock() else { return };
		kept.insert(ChangesRequest { project, seq, state_root }, encoded);
	}

	/// The encoded changes `request` names, if kept.
	fn get(&self, request: &ChangesRequest) -> Option<Arc<Vec<u8>>> {
		self.0.lock().ok()?.by_request.get(request).cloned()
	}
}

/// Answers requests from the changes kept in `recent` until the network stops.
pub async fn serve(
	requests: async_channel::Receiver<IncomingRequest>,
	recent: RecentChanges,
	in_flight: AnswersInFlight,
) {
	let mut budget = ServeBudget::default();
	while let Ok(request) = requests.recv().await {
		if !budget.allows(&request.peer) {
			over_budget(request);
			continue;
		}
		let asked = ChangesRequest::decode(&mut &request.payload[..]);
		let (result, reputation_changes, sent_feedback) = match asked {
			Ok(asked) => {
				let kept = recent.get(&asked);
				let size = kept.as_ref().map_or(0, |c| c.len());
				let Some(sent) = in_flight.hold(size) else {
					over_budget(request);
					continue;
				};
				// Copying up to 40 MiB: off the async runtime.
				let changes = match kept {
					Some(kept) => {
						tokio::task::spawn_blocking(move || kept.to_vec()).await.unwrap_or_default()
					}
					None => Vec::new(),
				};
				budget.record(request.peer, changes.len());
				(Ok(changes), Vec::new(), Some(sent))
			}
			Err(_) => (
				Err(()),
				vec![ReputationChange::new(-(1 << 10), "w3b: malformed state request")],
				None,
			),
		};
		let _ = request.pending_response.send(OutgoingResponse {
			result,
			reputation_changes,
			sent_feedback,
		});
	}
}

impl Peers {
	/// The agreed changes of batch `request.seq` (Merkle root `merkle_root`) from the
	/// first connected peer whose answer leads from `previous`, the state root before the
	/// batch, to `request.state_root`.
	pub async fn fetch_changes(
		&self,
		request: ChangesRequest,
		previous: H256,
		merkle_root: H256,
	) -> Option<AgreedChanges> {
		self.first_valid(PROTOCOL, request.encode(), |bytes| async move {
			// Decoding and hashing up to 32 MiB: off the async runtime.
			tokio::task::spawn_blocking(move || {
				let changes = AgreedChanges::decode(&mut &bytes[..])
					.map_err(|e| format!("undecodable changes: {e}"))?;
				let root = changes.state_root(&previous, &merkle_root);
				if root != request.state_root {
					return Err(format!(
						"changes leading to {root:?}, not to the finalized {:?}",
						request.state_root
					));
				}
				Ok(changes)
			})
			.await
			.map_err(|e| e.to_string())?
		})
		.await
		.ok()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn changes(bytes: usize) -> AgreedChanges {
		AgreedChanges {
			writes: [(b"k".to_vec(), vec![7; bytes])].into_iter().collect(),
			..Default::default()
		}
	}

	#[test]
	fn kept_changes_are_found_by_batch_and_root_only() {
		let recent = RecentChanges::default();
		let root = H256::repeat_byte(1);
		recent.keep(3, 10, root, changes(5).encode());
		let asked = ChangesRequest { project: 3, seq: 10, state_root: root };
		assert_eq!(recent.get(&asked).map(|c| c.to_vec()), Some(changes(5).encode()));
		for other in [
			ChangesRequest { state_root: H256::repeat_byte(2), ..asked },
			ChangesRequest { seq: 11, ..asked },
			ChangesRequest { project: 4, ..asked },
		] {
			assert!(recent.get(&other).is_none(), "{other:?}");
		}
	}

	#[test]
	fn the_oldest_changes_go_first_past_the_count_and_byte_bounds() {
		let recent = RecentChanges::default();
		let root = H256::zero();
		for seq in 0..(KEPT_BATCHES as u64 + 10) {
			recent.keep(1, seq, root, changes(1).encode());
		}
		let request = |project, seq| ChangesRequest { project, seq, state_root: root };
		assert!(recent.get(&request(1, 9)).is_none());
		assert!(recent.get(&request(1, 10)).is_some());
		// Changes over the answer bound are not kept at all.
		recent.keep(1, 3_000, root, changes(MAX_CHANGES as usize).encode());
		assert!(recent.get(&request(1, 3_000)).is_none());
		let kept = recent.0.lock().unwrap();
		assert_eq!((kept.batches, kept.by_request.len()), (KEPT_BATCHES, KEPT_BATCHES));
	}

	#[test]
	fn a_project_with_huge_changes_pushes_out_its_own_not_the_others() {
		let recent = RecentChanges::default();
		let root = H256::zero();
		let request = |project, seq| ChangesRequest { project, seq, state_root: root };
		for seq in 0..10 {
			recent.keep(1, seq, root, changes(1_000).encode());
		}
		// Project 2 writes near the answer bound in every batch.
		let large = KEPT_BYTES / 5;
		for seq in 0..20 {
			recent.keep(2, seq, root, changes(large).encode());
		}
		assert!((0..10).all(|seq| recent.get(&request(1, seq)).is_some()), "project 1 kept");
		assert!(recent.get(&request(2, 19)).is_some());
		assert!(recent.get(&request(2, 0)).is_none());
		let kept = recent.0.lock().unwrap();
		assert!(kept.bytes <= KEPT_BYTES, "{} bytes kept", kept.bytes);
		let total: usize = kept.by_request.values().map(|c| c.len()).sum();
		assert_eq!(total, kept.bytes);
		assert_eq!(kept.by_project.values().map(|(_, b)| b).sum::<usize>(), kept.bytes);
		assert_eq!(kept.batches, kept.by_request.len());
	}
}
