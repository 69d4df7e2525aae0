//! Whether the node keeps up with what it takes in. Its worker, which judges and executes
//! every batch of the projects the node serves, reports how long each of its passes over
//! a block takes ([`Backlog::report`]); while it runs behind, the edge refuses new
//! messages for now ([`IngestError::Backlogged`](crate::IngestError::Backlogged):
//! unacknowledged, so the device sends them again later or to another node).
//!
//! Accepting what the operators cannot execute in time ends worse: batches expire without
//! a quorum, every later batch runs again, and proofs stall (README, the 900 s runs of
//! 2026-12-05). Refused at the edge, the excess waits on the devices instead.
//!
//! Only work the worker did counts, never batches it waits for: a committer that
//! withholds a body holds back its project's later batches, and counting those would let
//! it make every node refuse messages. One long pass (code compiled for the first time, a
//! catch-up after a withheld batch expired) is not enough either: two passes in a row
//! over the bound are, or one running past twice the bound.

use std::{
	sync::atomic::{AtomicBool, Ordering},
	time::Duration,
};

/// The worker's word on whether the node keeps up.
#[derive(Debug)]
pub struct Backlog {
	max_pass: Duration,
	/// Whether the last pass that ended ran over `max_pass`.
	last_over: AtomicBool,
	behind: AtomicBool,
}

impl Backlog {
	/// Behind when passes run over `max_pass`; never behind with `Duration::ZERO`.
	pub fn new(max_pass: Duration) -> Self {
		Backlog { max_pass, last_over: AtomicBool::new(false), behind: AtomicBool::new(false) }
	}

	/// The worker's current pass over a block has run for `elapsed` (`ended`: it is
	/// over). Returns the new state when it changed: true when the node falls behind,
	/// false when it caught up.
	pub fn report(&self, elapsed: Duration, ended: bool) -> Option<bool> {
		if self.max_pass.is_zero() {
			return None;
		}
		let over = elapsed > self.max_pass;
		let behind = if ended {
			let twice = self.last_over.swap(over, Ordering::Relaxed) && over;
			// A pass within the bound ends it; one over it keeps what the pass found.
			over && (twice || self.behind.load(Ordering::Relaxed))
		} else if elapsed > 2 * self.max_pass || (over && self.last_over.load(Ordering::Relaxed)) {
			true
		} else {
			return None;
		};
		let was = self.behind.swap(behind, Ordering::Relaxed);
		(was != behind).then_some(behind)
	}

	/// Whether the node runs behind: new messages are refused for now.
	pub fn is_behind(&self) -> bool {
		self.behind.load(Ordering::Relaxed)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const MAX: Duration = Duration::from_secs(6);
	const QUICK: Duration = Duration::from_secs(1);
	const SLOW: Duration = Duration::from_secs(7);

	#[test]
	fn one_long_pass_is_not_behind_two_in_a_row_are() {
		let backlog = Backlog::new(MAX);
		assert_eq!(backlog.report(SLOW, false), None, "running over the bound once");
		assert_eq!(backlog.report(SLOW, true), None, "one long pass (a compile, say)");
		assert!(!backlog.is_behind());
		assert_eq!(backlog.report(QUICK, true), None);
		assert_eq!(backlog.report(SLOW, true), None);
		// The second long pass in a row: behind while it still runs.
		assert_eq!(backlog.report(SLOW, false), Some(true));
		assert!(backlog.is_behind());
		assert_eq!(backlog.report(SLOW, true), None, "and after it ends");
		assert!(backlog.is_behind());
		assert_eq!(backlog.report(SLOW, true), None);
		// A pass within the bound: caught up.
		assert_eq!(backlog.report(QUICK, true), Some(false));
		assert!(!backlog.is_behind());
	}

	#[test]
	fn a_pass_running_past_twice_the_bound_is_behind_at_once() {
		let backlog = Backlog::new(MAX);
		assert_eq!(backlog.report(2 * MAX + QUICK, false), Some(true));
		assert!(backlog.is_behind());
		// It ended over the bound: still behind until a pass within it.
		assert_eq!(backlog.report(2 * MAX + QUICK, true), None);
		assert!(backlog.is_behind());
		assert_eq!(backlog.report(QUICK, true), Some(false));
	}

	#[test]
	fn a_zero_bound_is_never_behind() {
		let backlog = Backlog::new(Duration::ZERO);
		for _ in 0..3 {
			assert_eq!(backlog.report(Duration::from_secs(600), true), None);
		}
		assert!(!backlog.is_behind());
	}
}
