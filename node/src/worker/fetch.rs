//! What the worker lacks, fetched from peers off the worker's loop: batch bodies
//! ([`Fetches`]) and the agreed changes of a batch this node could not compute
//! ([`ChangesFetches`]). A withheld or slow answer never stalls sealing, execution or the
//! other projects. Each fetch runs as its own task with the protocol's deadline; the
//! worker hears when it ended and tries again on a later block when it brought nothing.

use std::{
	collections::{HashMap, HashSet},
	sync::Arc,
};

use sp_core::H256;
use tokio::sync::mpsc;
use w3b_primitives::{BatchHeader, ProjectId};
use w3b_storage::{Cid, Vfs};
use w3b_worker::state::AgreedChanges;

use super::{protocol::NoAnswer, state_protocol::ChangesRequest, Peers};

/// Fetches of a body in which every peer asked answered without it, before the
/// operator votes it unavailable (each takes up to the protocol's timeout; one is
/// started per block).
const NOT_SERVED_AFTER: u32 = 3;
/// Fetches of a body that ended without it for any reason (a peer did not answer in
/// time or refused), before the operator votes it unavailable. More than
/// [`NOT_SERVED_AFTER`]: under load the committer itself may answer late, and a false
/// unavailability vote next to one dissenter lets an honest batch expire; but bounded,
/// or a peer that never answers would keep every withheld body from being voted
/// unavailable (each would then wait for its deadline, one after the other).
const FAILED_AFTER: u32 = 2 * NOT_SERVED_AFTER;

/// The fetches of one body that ended without it.
#[derive(Clone, Copy, Default)]
struct Failures {
	/// Every peer asked answered, without it.
	not_served: u32,
	/// For any reason.
	all: u32,
}

/// The fetches under way.
pub struct Fetches {
	peers: Peers,
	vfs: Arc<dyn Vfs>,
	in_flight: HashSet<Cid>,
	/// Fetches of a body that ended without it, until it arrives.
	failures: HashMap<Cid, Failures>,
	done_tx: mpsc::UnboundedSender<(ProjectId, Cid, Result<(), NoAnswer>)>,
	done_rx: mpsc::UnboundedReceiver<(ProjectId, Cid, Result<(), NoAnswer>)>,
}

impl Fetches {
	/// No fetch under way yet.
	pub fn new(peers: Peers, vfs: Arc<dyn Vfs>) -> Self {
		let (done_tx, done_rx) = mpsc::unbounded_channel();
		Fetches {
			peers,
			vfs,
			in_flight: HashSet::new(),
			failures: HashMap::new(),
			done_tx,
			done_rx,
		}
	}

	/// Starts fetching the body of `header` unless a fetch of it is under way. The body
	/// lands in the VFS, checked against the commitment and pinned.
	pub fn request(&mut self, header: &BatchHeader) {
		let Ok(cid) = w3b_storage::body::cid_of(header) else { return };
		if !self.in_flight.insert(cid) {
			return;
		}
		let (peers, vfs, done) = (self.peers.clone(), self.vfs.clone(), self.done_tx.clone());
		let header = header.clone();
		tokio::spawn(async move {
			let found = match peers.fetch_body(&header).await {
				Ok(bytes) => match vfs.put(&bytes) {
					Ok(_) => Ok(()),
					Err(e) => {
						// A local fault: counted like a silent peer (only towards FAILED_AFTER).
						log::warn!(target: "w3b", "storing fetched body {cid}: {e}");
						Err(NoAnswer::Unreachable)
					}
				},
				Err(no_answer) => Err(no_answer),
			};
			let _ = done.send((header.project, cid, found));
		});
	}

	/// Waits for a fetch to end; the project whose body arrived, or `None` when it did
	/// not.
	pub async fn next(&mut self) -> Option<ProjectId> {
		let (project, cid, found) = self.done_rx.recv().await?;
		self.in_flight.remove(&cid);
		let Err(no_answer) = found else {
			self.failures.remove(&cid);
			return Some(project);
		};
		let failures = self.failures.entry(cid).or_default();
		failures.all += 1;
		match no_answer {
			NoAnswer::NotServed => {
				failures.not_served += 1;
				log::info!(target: "w3b", "project {project}: no peer served body {cid} yet");
			}
			NoAnswer::Unreachable => {
				log::info!(target: "w3b", "project {project}: not every peer answered for body {cid}");
			}
		}
		None
	}

	/// Whether fetches of `cid` failed often enough to vote the body unavailable:
	/// [`NOT_SERVED_AFTER`] times with every peer answering without it, or
	/// [`FAILED_AFTER`] times in all.
	pub fn given_up(&self, cid: &Cid) -> bool {
		self.failures
			.get(cid)
			.is_some_and(|f| f.not_served >= NOT_SERVED_AFTER || f.all >= FAILED_AFTER)
	}

	/// Forgets `cid`'s failures (its round is over).
	pub fn forget(&mut self, cid: &Cid) {
		self.failures.remove(cid);
	}
}

/// The fetches of agreed changes under way.
pub struct ChangesFetches {
	peers: Peers,
	in_flight: HashSet<ChangesRequest>,
	done_tx: mpsc::UnboundedSender<(ChangesRequest, Option<AgreedChanges>)>,
	done_rx: mpsc::UnboundedReceiver<(ChangesRequest, Option<AgreedChanges>)>,
}

impl ChangesFetches {
	/// No fetch under way yet.
	pub fn new(peers: Peers) -> Self {
		let (done_tx, done_rx) = mpsc::unbounded_channel();
		ChangesFetches { peers, in_flight: HashSet::new(), done_tx, done_rx }
	}

	/// Starts fetching the changes `request` names, which lead from `previous` through
	/// the batch with Merkle root `merkle_root`, unless that fetch is under way.
	pub fn request(&mut self, request: ChangesRequest, previous: H256, merkle_root: H256) {
		if !self.in_flight.insert(request) {
			return;
		}
		let (peers, done) = (self.peers.clone(), self.done_tx.clone());
		tokio::spawn(async move {
			let changes = peers.fetch_changes(request, previous, merkle_root).await;
			let _ = done.send((request, changes));
		});
	}

	/// Waits for a fetch to end: what it asked for, and the changes if a peer had them.
	pub async fn next(&mut self) -> Option<(ChangesRequest, Option<AgreedChanges>)> {
		let (request, changes) = self.done_rx.recv().await?;
		self.in_flight.remove(&request);
		Some((request, changes))
	}
}
