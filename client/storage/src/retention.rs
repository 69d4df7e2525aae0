//! Retention: which batches of a project may go, and a pruner that lets them go.
//!
//! A project's retention policy (on chain: maximum age, maximum bytes) decides; only
//! batches whose proof is settled (finalized or expired) are ever pruned, oldest first,
//! and never the newest batch. Pruning drops the batch's messages from the message store
//! and unpins its body in the VFS; its commitment (Merkle root) stays on chain.

use std::{
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc,
	},
	thread,
	time::Duration,
};

use w3b_primitives::{project::RetentionPolicy, ProjectId};

use crate::{cid::Cid, store::MessageStore, vfs::Vfs};

/// What the pruner knows of one committed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
	/// Batch number.
	pub seq: u64,
	/// When it was committed, ms since the epoch.
	pub committed_at_ms: u64,
	/// Size of its body.
	pub bytes: u64,
	/// Where its body is.
	pub cid: Cid,
	/// Its proof is finalized or expired.
	pub settled: bool,
}

/// Where the pruner learns projects, policies and batches (the node reads the chain).
pub trait RetentionView: Send + Sync {
	/// Every project with its policy.
	fn projects(&self) -> Vec<(ProjectId, RetentionPolicy)>;
	/// The project's batches not pruned yet, oldest first.
	fn batches(&self, project: ProjectId) -> Vec<BatchInfo>;
}

/// How many of the oldest `batches` (oldest first) `policy` lets go at `now_ms`: those
/// too old or beyond the size limit, stopping at the first unsettled batch and always
/// keeping the newest.
pub fn prunable(policy: &RetentionPolicy, batches: &[BatchInfo], now_ms: u64) -> usize {
	let mut retained: u64 = batches.iter().map(|b| b.bytes).sum();
	let mut count = 0;
	for batch in batches.iter().take(batches.len().saturating_sub(1)) {
		let too_old = policy.max_age_secs > 0
			&& now_ms.saturating_sub(batch.committed_at_ms)
				> policy.max_age_secs.saturating_mul(1000);
		let too_big = policy.max_bytes > 0 && retained > policy.max_bytes;
		if !batch.settled || !(too_old || too_big) {
			break;
		}
		retained -= batch.bytes;
		count += 1;
	}
	count
}

/// One pass over every project: prunes what [`prunable`] allows, unpins the bodies and
/// collects unpinned blobs. Returns the batches pruned.
pub fn prune_once(
	view: &dyn RetentionView,
	store: &dyn MessageStore,
	vfs: &dyn Vfs,
	now_ms: u64,
) -> usize {
	let mut pruned = 0;
	for (project, policy) in view.projects() {
		let batches = view.batches(project);
		let n = prunable(&policy, &batches, now_ms);
		let Some(last) = batches[..n].last() else { continue };
		if let Err(e) = store.prune(project, last.seq) {
			tracing::warn!(target: "w3b::storage", project, error = %e, "pruning failed");
			continue;
		}
		for batch in &batches[..n] {
			if let Err(e) = vfs.unpin(&batch.cid) {
				tracing::warn!(target: "w3b::storage", project, cid = %batch.cid, error = %e, "unpinning failed");
			}
		}
		tracing::info!(target: "w3b::storage", project, batches = n, through = last.seq, "pruned");
		pruned += n;
	}
	if pruned > 0 {
		if let Err(e) = vfs.collect() {
			tracing::warn!(target: "w3b::storage", error = %e, "collecting blobs failed");
		}
	}
	pruned
}

/// Runs [`prune_once`] every `interval` in a background thread until dropped.
pub struct Pruner {
	stop: Arc<AtomicBool>,
	thread: Option<thread::JoinHandle<()>>,
}

impl Pruner {
	/// Starts pruning.
	pub fn start(
		view: Arc<dyn RetentionView>,
		store: Arc<dyn MessageStore>,
		vfs: Arc<dyn Vfs>,
		interval: Duration,
		now_ms: fn() -> u64,
	) -> Self {
		let stop = Arc::new(AtomicBool::new(false));
		let flag = stop.clone();
		let thread = thread::Builder::new()
			.name("w3b-pruner".into())
			.spawn(move || {
				while !flag.load(Ordering::Relaxed) {
					prune_once(&*view, &*store, &*vfs, now_ms());
					let mut waited = Duration::ZERO;
					while waited < interval && !flag.load(Ordering::Relaxed) {
						thread::sleep(Duration::from_millis(50));
						waited += Duration::from_millis(50);
					}
				}
			})
			.expect("spawning the pruner");
		Pruner { stop, thread: Some(thread) }
	}
}

impl Drop for Pruner {
	fn drop(&mut self) {
		self.stop.store(true, Ordering::Relaxed);
		if let Some(thread) = self.thread.take() {
			let _ = thread.join();
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn batch(seq: u64, age_secs: u64, bytes: u64, settled: bool) -> BatchInfo {
		BatchInfo {
			seq,
			committed_at_ms: 1_000_000_000 - age_secs * 1000,
			bytes,
			cid: Cid::of(&seq.to_le_bytes()),
			settled,
		}
	}

	#[test]
	fn age_size_settlement_and_the_newest_batch() {
		let now = 1_000_000_000;
		let batches = [
			batch(0, 100, 10, true),
			batch(1, 90, 10, true),
			batch(2, 10, 10, true),
			batch(3, 5, 10, true),
		];
		let by_age = RetentionPolicy { max_age_secs: 60, max_bytes: 0 };
		assert_eq!(prunable(&by_age, &batches, now), 2);
		let by_size = RetentionPolicy { max_age_secs: 0, max_bytes: 25 };
		assert_eq!(prunable(&by_size, &batches, now), 2);
		assert_eq!(prunable(&RetentionPolicy::default(), &batches, now), 0, "no limit");
		// An unsettled batch stops pruning, even when older ones follow it.
		let unsettled = [
			batch(0, 100, 10, true),
			batch(1, 90, 10, false),
			batch(2, 80, 10, true),
			batch(3, 1, 1, true),
		];
		assert_eq!(prunable(&by_age, &unsettled, now), 1);
		// The newest batch is kept whatever the policy says.
		let everything = RetentionPolicy { max_age_secs: 1, max_bytes: 1 };
		assert_eq!(prunable(&everything, &batches, now), 3);
		assert_eq!(prunable(&everything, &batches[..1], now), 0);
	}
}
