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

use sc_network::PeerId;

use super::{protocol::NoAnswer, state_protocol::ChangesRequest, Peers};

/// Fetches of a body, at least, before the operator votes it unavailable (each takes up
/// to the protocol's timeout; one is started per block).
const FETCHES_BEFORE_GIVING_UP: u32 = 3;
/// Times a peer may leave a request for a body unanswered (timed out, or refused by a
/// full inbound queue) before it counts as not serving it: under load the committer
/// itself may answer late, but a peer that never answers must not keep a withheld body
/// from being voted unavailable.
const PEER_FAILURES: u32 = 3;

/// What the fetches of one body that ended without it found out.
#[derive(Default)]
struct Tally {
	fetches: u32,
	/// The peers connected at the last fetch.
	connected: Vec<PeerId>,
	/// Peers that answered without it.
	without: HashSet<PeerId>,
	/// Requests each peer left unanswered.
	failures: HashMap<PeerId, u32>,
}

impl Tally {
	fn record(&mut self, no_answer: NoAnswer) {
		self.fetches += 1;
		self.connected = no_answer.connected;
		self.without.extend(no_answer.without);
		for peer in no_answer.failed {
			*self.failures.entry(peer).or_default() += 1;
		}
	}

	/// Whether every peer connected now was asked and does not serve the body: so whether
	/// it can be had does not depend on which few peers a fetch happened to ask (a crowd
	/// of peers answering "not here" at once cannot make an honest node give up on a body
	/// its committer serves). No peer at all is no evidence either.
	fn covered(&self) -> bool {
		self.fetches >= FETCHES_BEFORE_GIVING_UP
			&& !self.connected.is_empty()
			&& self.connected.iter().all(|peer| {
				self.without.contains(peer)
					|| self.failures.get(peer).is_some_and(|n| *n >= PEER_FAILURES)
			})
	}
}

/// How a fetch ended.
enum Fetched {
	/// The body is in the VFS.
	Stored,
	/// No peer brought it.
	NoAnswer(NoAnswer),
	/// A peer brought it but it could not be stored here: no evidence about the body.
	LocalFault,
}

/// The fetches under way.
pub struct Fetches {
	peers: Peers,
	vfs: Arc<dyn Vfs>,
	in_flight: HashSet<Cid>,
	/// What the fetches of a body that ended without it found out, until it arrives.
	tallies: HashMap<Cid, Tally>,
	done_tx: mpsc::UnboundedSender<(ProjectId, Cid, Fetched)>,
	done_rx: mpsc::UnboundedReceiver<(ProjectId, Cid, Fetched)>,
}

impl Fetches {
	/// No fetch under way yet.
	pub fn new(peers: Peers, vfs: Arc<dyn Vfs>) -> Self {
		let (done_tx, done_rx) = mpsc::unbounded_channel();
		Fetches { peers, vfs, in_flight: HashSet::new(), tallies: HashMap::new(), done_tx, done_rx }
	}

	/// Starts fetching the body of `header` unless a fetch of it is under way. The body
	/// lands in the VFS (what its CID names, whichever commitment it matches: each is
	/// checked against it when loaded).
	pub fn request(&mut self, header: &BatchHeader) {
		let Ok(cid) = w3b_storage::body::cid_of(header) else { return };
		if !self.in_flight.insert(cid) {
			return;
		}
		let (peers, vfs, done) = (self.peers.clone(), self.vfs.clone(), self.done_tx.clone());
		let header = header.clone();
		tokio::spawn(async move {
			let fetched = match peers.fetch_body(&header).await {
				Ok(bytes) => match vfs.put(&bytes) {
					Ok(_) => Fetched::Stored,
					Err(e) => {
						log::warn!(target: "w3b", "storing fetched body {cid}: {e}");
						Fetched::LocalFault
					}
				},
				Err(no_answer) => Fetched::NoAnswer(no_answer),
			};
			let _ = done.send((header.project, cid, fetched));
		});
	}

	/// Waits for a fetch to end; the project whose body arrived, or `None` when it did
	/// not.
	pub async fn next(&mut self) -> Option<ProjectId> {
		let (project, cid, fetched) = self.done_rx.recv().await?;
		self.in_flight.remove(&cid);
		match fetched {
			Fetched::Stored => {
				self.tallies.remove(&cid);
				return Some(project);
			}
			Fetched::NoAnswer(no_answer) => {
				let (without, failed) = (no_answer.without.len(), no_answer.failed.len());
				self.tallies.entry(cid).or_default().record(no_answer);
				log::info!(
					target: "w3b",
					"project {project}: body {cid} not fetched yet ({without} peers without it, {failed} silent)"
				);
			}
			Fetched::LocalFault => {}
		}
		None
	}

	/// Whether fetches of `cid` found that no connected peer serves it, often enough to
	/// vote the body unavailable ([`Tally::covered`]).
	pub fn given_up(&self, cid: &Cid) -> bool {
		self.tallies.get(cid).is_some_and(Tally::covered)
	}

	/// Forgets what the fetches of `cid` found (its round is over).
	pub fn forget(&mut self, cid: &Cid) {
		self.tallies.remove(cid);
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

#[cfg(test)]
mod tests {
	use super::*;

	fn no_answer(connected: &[PeerId], without: &[PeerId], failed: &[PeerId]) -> NoAnswer {
		NoAnswer {
			connected: connected.to_vec(),
			without: without.to_vec(),
			failed: failed.to_vec(),
		}
	}

	/// The attack: peers crowd around an honest node and answer "not here" at once, so that
	/// the few it asks per fetch never include the committer. It gives up only once the
	/// committer itself was asked.
	#[test]
	fn a_crowd_answering_not_here_does_not_make_a_node_give_up() {
		let committer = PeerId::random();
		let crowd: Vec<PeerId> = (0..12).map(|_| PeerId::random()).collect();
		let connected: Vec<PeerId> = crowd.iter().copied().chain([committer]).collect();
		let mut tally = Tally::default();
		for few in crowd.chunks(4) {
			tally.record(no_answer(&connected, few, &[]));
		}
		assert_eq!(tally.fetches, 3);
		assert!(!tally.covered(), "the committer was never asked");
		tally.record(no_answer(&connected, &[committer], &[]));
		assert!(tally.covered(), "every connected peer answered without it");
	}

	#[test]
	fn a_silent_peer_counts_after_three_unanswered_requests() {
		let (silent, other) = (PeerId::random(), PeerId::random());
		let connected = [silent, other];
		let mut tally = Tally::default();
		tally.record(no_answer(&connected, &[other], &[silent]));
		tally.record(no_answer(&connected, &[], &[silent]));
		tally.record(no_answer(&connected, &[], &[]));
		assert!(!tally.covered(), "two unanswered requests may be a busy committer");
		tally.record(no_answer(&connected, &[], &[silent]));
		assert!(tally.covered());
	}

	#[test]
	fn no_peer_and_few_fetches_are_no_evidence() {
		let mut tally = Tally::default();
		for _ in 0..10 {
			tally.record(no_answer(&[], &[], &[]));
		}
		assert!(!tally.covered(), "nobody was asked");
		let peer = PeerId::random();
		let mut tally = Tally::default();
		tally.record(no_answer(&[peer], &[peer], &[]));
		tally.record(no_answer(&[peer], &[peer], &[]));
		assert!(!tally.covered(), "fewer than three fetches");
		// A peer connected since is asked too.
		let newcomer = PeerId::random();
		tally.record(no_answer(&[peer, newcomer], &[peer], &[]));
		assert!(!tally.covered());
	}
}
