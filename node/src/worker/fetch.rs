//! Bodies the worker lacks, fetched from peers off the worker's loop: a withheld or slow
//! body never stalls sealing, execution or the other projects. Each fetch runs as its own
//! task with the protocol's deadline; the worker hears when a body arrived and tries
//! again on a later block when none did.

use std::{
	collections::{HashMap, HashSet},
	sync::Arc,
};

use tokio::sync::mpsc;
use w3b_primitives::{BatchHeader, ProjectId};
use w3b_storage::{Cid, Vfs};

use super::BatchFetcher;

/// The fetches under way.
pub struct Fetches {
	fetcher: BatchFetcher,
	vfs: Arc<dyn Vfs>,
	in_flight: HashSet<Cid>,
	/// Fetches of a body that ended without it, until it arrives.
	failures: HashMap<Cid, u32>,
	done_tx: mpsc::UnboundedSender<(ProjectId, Cid, bool)>,
	done_rx: mpsc::UnboundedReceiver<(ProjectId, Cid, bool)>,
}

impl Fetches {
	/// No fetch under way yet.
	pub fn new(fetcher: BatchFetcher, vfs: Arc<dyn Vfs>) -> Self {
		let (done_tx, done_rx) = mpsc::unbounded_channel();
		Fetches {
			fetcher,
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
		let (fetcher, vfs, done) = (self.fetcher.clone(), self.vfs.clone(), self.done_tx.clone());
		let header = header.clone();
		tokio::spawn(async move {
			let found = match fetcher.fetch(&header).await {
				Some(bytes) => match vfs.put(&bytes).and_then(|_| vfs.pin(&cid)) {
					Ok(()) => true,
					Err(e) => {
						log::warn!(target: "w3b", "storing fetched body {cid}: {e}");
						false
					}
				},
				None => false,
			};
			let _ = done.send((header.project, cid, found));
		});
	}

	/// Waits for a fetch to end; the project whose body arrived, or `None` when it did
	/// not.
	pub async fn next(&mut self) -> Option<ProjectId> {
		let (project, cid, found) = self.done_rx.recv().await?;
		self.in_flight.remove(&cid);
		if found {
			self.failures.remove(&cid);
		} else {
			*self.failures.entry(cid).or_default() += 1;
			log::info!(target: "w3b", "project {project}: no peer served body {cid} yet");
		}
		found.then_some(project)
	}

	/// How many fetches of `cid` ended without the body.
	pub fn failures(&self, cid: &Cid) -> u32 {
		self.failures.get(cid).copied().unwrap_or(0)
	}

	/// Forgets `cid`'s failures (its round is over).
	pub fn forget(&mut self, cid: &Cid) {
		self.failures.remove(cid);
	}
}
