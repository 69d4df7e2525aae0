//! Retention: which batches of a project may go, and letting them go.
//!
//! A project's retention policy (on chain: maximum age, maximum bytes) decides
//! ([`prunable`]); only batches whose proof is settled (finalized or expired) are ever
//! pruned, oldest first, and never the newest batch. Letting go ([`release`]) unpins the
//! batches' bodies in the VFS and drops the messages of the batches this node sealed from
//! the message store; their commitments (Merkle roots) stay on chain. The worker decides
//! which of its local batches may go (never one still waiting to be committed).

use w3b_primitives::{project::RetentionPolicy, ProjectId};

use crate::{cid::Cid, store::MessageStore, vfs::Vfs};

/// What retention knows of one committed batch.
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

/// Lets go of `batches` of `project`: unpins their bodies, drops this node's sealed
/// local batches up to `local_through` (with their messages) from `store`, and collects
/// the unpinned bodies. Failures are logged: what was not let go is tried again later.
pub fn release(
	store: &dyn MessageStore,
	vfs: &dyn Vfs,
	project: ProjectId,
	batches: &[BatchInfo],
	local_through: Option<u64>,
) {
	for batch in batches {
		if let Err(e) = vfs.unpin(&batch.cid) {
			tracing::warn!(target: "w3b::storage", project, seq = batch.seq, error = %e, "unpinning failed");
		}
	}
	if let Some(local) = local_through {
		if let Err(e) = store.prune(project, local) {
			tracing::warn!(target: "w3b::storage", project, error = %e, "pruning the message store failed");
		}
	}
	if let Err(e) = vfs.collect() {
		tracing::warn!(target: "w3b::storage", project, error = %e, "collecting unpinned bodies failed");
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
