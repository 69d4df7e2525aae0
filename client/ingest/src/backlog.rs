//! Whether the node keeps up with what it takes in, project by project. Its worker, which
//! judges and executes every batch of the projects the node serves, reports how long its
//! work on each project took in each pass over a block ([`Backlog::report`]); while it
//! runs behind on a project, the edge refuses that project's new messages for now
//! ([`IngestError::Backlogged`](crate::IngestError::Backlogged): unacknowledged, so the
//! device sends them again later or to another node).
//!
//! Accepting what the operators cannot execute in time ends worse: batches expire without
//! a quorum, every later batch runs again, and proofs stall (README, the 900 s runs of
//! 2026-12-05). Refused at the edge, the excess waits on the devices instead.
//!
//! Per project, because what makes the work long is largely the project's own: its
//! applet's cost, its load, its subnet's expiries. One project's slow applet must not
//! make the node refuse every other project's devices.
//!
//! Only time the worker spent on a project's batches counts, never batches it waits for: a
//! committer that withholds a body holds back its project's later batches, and counting
//! those would let it make every node refuse messages. One pass somewhat over the bound
//! (code compiled for the first time) is not enough: two in a row over it are, or one
//! past twice the bound (a catch-up that long, after a withheld batch expired, refuses
//! the project's messages until it is done). And the state lapses when the worker stops
//! saying so ([`STALE_AFTER_PASSES`]; a long round tells every bound): a worker that
//! stopped reporting (the chain stalled) must not leave the project refused for good.

use std::{
	collections::HashMap,
	sync::{
		atomic::{AtomicUsize, Ordering},
		Mutex,
	},
	time::{Duration, Instant},
};

use w3b_primitives::ProjectId;

/// A project found behind stays so for this many bounds after the last report that kept
/// it behind: more than a pass over the bound and the block that starts the next one.
pub const STALE_AFTER_PASSES: u32 = 4;

/// What the worker last said about a project whose passes ran over the bound.
#[derive(Debug, Clone, Copy)]
struct Lag {
	/// Whether the last pass that ended ran over the bound.
	last_over: bool,
	/// When the project was last found behind (`None`: it is not).
	behind_since: Option<Instant>,
}

/// The worker's word on whether the node keeps up with each project.
#[derive(Debug)]
pub struct Backlog {
	max_pass: Duration,
	/// Only projects whose last pass ran over the bound: bounded by the projects the
	/// node's operator serves, and empty while the node keeps up.
	lags: Mutex<HashMap<ProjectId, Lag>>,
	/// How many of `lags` are behind: lets the edge skip the lock while none is.
	behind: AtomicUsize,
}

impl Backlog {
	/// Behind when passes run over `max_pass`; never behind with `Duration::ZERO`.
	pub fn new(max_pass: Duration) -> Self {
		Backlog { max_pass, lags: Mutex::new(HashMap::new()), behind: AtomicUsize::new(0) }
	}

	/// The worker's current pass over a block has spent `work` on `project` (`ended`: the
	/// pass is over). Returns the project's new state when it changed: true when the node
	/// falls behind on it, false when it caught up.
	pub fn report(&self, project: ProjectId, work: Duration, ended: bool) -> Option<bool> {
		self.report_at(project, work, ended, Instant::now())
	}

	fn report_at(
		&self,
		project: ProjectId,
		work: Duration,
		ended: bool,
		now: Instant,
	) -> Option<bool> {
		if self.max_pass.is_zero() {
			return None;
		}
		let over = work > self.max_pass;
		let far_over = work > 2 * self.max_pass;
		let mut lags = self.lags.lock().expect("no panics while the lock is held");
		let lag = lags.get(&project).copied();
		let was_behind = lag.is_some_and(|lag| self.holds(lag, now));
		let last_over = lag.is_some_and(|lag| lag.last_over);
		let behind = if ended {
			// A pass within the bound ends it; one over it keeps what the passes found.
			over && (last_over || far_over || was_behind)
		} else if far_over || (over && last_over) {
			true
		} else {
			// A pass still under way says nothing yet about the passes before it.
			return None;
		};
		let kept = Lag {
			last_over: if ended { over } else { last_over },
			behind_since: behind.then_some(now),
		};
		if kept.last_over || behind {
			lags.insert(project, kept);
		} else {
			lags.remove(&project);
		}
		self.count_behind(&lags);
		(was_behind != behind).then_some(behind)
	}

	/// Whether the node runs behind on `project`: its new messages are refused for now.
	pub fn is_behind(&self, project: ProjectId) -> bool {
		self.is_behind_at(project, Instant::now())
	}

	fn is_behind_at(&self, project: ProjectId, now: Instant) -> bool {
		if self.behind.load(Ordering::Relaxed) == 0 {
			return false;
		}
		let lags = self.lags.lock().expect("no panics while the lock is held");
		lags.get(&project).is_some_and(|lag| self.holds(*lag, now))
	}

	/// Forgets every project but `served` (the worker works on no other).
	pub fn keep_only(&self, served: &[ProjectId]) {
		let mut lags = self.lags.lock().expect("no panics while the lock is held");
		lags.retain(|project, _| served.contains(project));
		self.count_behind(&lags);
	}

	fn count_behind(&self, lags: &HashMap<ProjectId, Lag>) {
		let count = lags.values().filter(|lag| lag.behind_since.is_some()).count();
		self.behind.store(count, Ordering::Relaxed);
	}

	/// How many projects the node is behind on.
	pub fn projects_behind(&self) -> usize {
		let now = Instant::now();
		let lags = self.lags.lock().expect("no panics while the lock is held");
		lags.values().filter(|lag| self.holds(**lag, now)).count()
	}

	/// Whether `lag` still says behind at `now`, or has lapsed.
	fn holds(&self, lag: Lag, now: Instant) -> bool {
		lag.behind_since.is_some_and(|since| {
			now.saturating_duration_since(since) <= STALE_AFTER_PASSES * self.max_pass
		})
	}

	/// How long a refused device should wait before it sends again, and how often a
	/// long pass tells how long it has run: the bound.
	pub fn retry_after(&self) -> Duration {
		self.max_pass
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const MAX: Duration = Duration::from_secs(6);
	const QUICK: Duration = Duration::from_secs(1);
	const SLOW: Duration = Duration::from_secs(7);
	const SLOW_PROJECT: ProjectId = 1;
	const OTHER_PROJECT: ProjectId = 2;

	#[test]
	fn one_long_pass_is_not_behind_two_in_a_row_are() {
		let backlog = Backlog::new(MAX);
		let p = SLOW_PROJECT;
		assert_eq!(backlog.report(p, SLOW, false), None, "running over the bound once");
		assert_eq!(backlog.report(p, SLOW, true), None, "one long pass (a compile, say)");
		assert!(!backlog.is_behind(p));
		assert_eq!(backlog.report(p, QUICK, true), None);
		assert_eq!(backlog.report(p, SLOW, true), None);
		// The second long pass in a row: behind while it still runs.
		assert_eq!(backlog.report(p, SLOW, false), Some(true));
		assert!(backlog.is_behind(p));
		assert_eq!(backlog.report(p, SLOW, true), None, "and after it ends");
		assert!(backlog.is_behind(p));
		assert_eq!(backlog.report(p, SLOW, true), None);
		// A pass within the bound: caught up.
		assert_eq!(backlog.report(p, QUICK, true), Some(false));
		assert!(!backlog.is_behind(p));
		assert!(
			backlog.lags.lock().unwrap().is_empty(),
			"nothing kept for a project that keeps up"
		);
	}

	#[test]
	fn a_pass_past_twice_the_bound_is_behind_at_once() {
		let far = 2 * MAX + QUICK;
		let backlog = Backlog::new(MAX);
		assert_eq!(backlog.report(SLOW_PROJECT, far, false), Some(true), "while it runs");
		assert!(backlog.is_behind(SLOW_PROJECT));
		assert_eq!(backlog.report(SLOW_PROJECT, far, true), None);
		assert!(backlog.is_behind(SLOW_PROJECT), "until a pass within the bound");
		assert_eq!(backlog.report(SLOW_PROJECT, QUICK, true), Some(false));

		// One that is only seen when it ended (a single round: no report while it ran).
		let backlog = Backlog::new(MAX);
		assert_eq!(backlog.report(SLOW_PROJECT, far, true), Some(true));
		assert!(backlog.is_behind(SLOW_PROJECT));
	}

	#[test]
	fn only_the_slow_project_is_behind() {
		let backlog = Backlog::new(MAX);
		for _ in 0..2 {
			backlog.report(SLOW_PROJECT, SLOW, true);
			backlog.report(OTHER_PROJECT, QUICK, true);
		}
		assert!(backlog.is_behind(SLOW_PROJECT));
		assert!(!backlog.is_behind(OTHER_PROJECT), "another project's devices are still taken");
		// The other project's quick passes neither clear the slow one nor break its run.
		backlog.report(SLOW_PROJECT, QUICK, true);
		backlog.report(SLOW_PROJECT, SLOW, true);
		backlog.report(OTHER_PROJECT, QUICK, true);
		assert_eq!(backlog.report(SLOW_PROJECT, SLOW, true), Some(true));
	}

	#[test]
	fn behind_lapses_when_the_worker_stops_saying_so() {
		let backlog = Backlog::new(MAX);
		let start = Instant::now();
		backlog.report_at(SLOW_PROJECT, SLOW, true, start);
		assert_eq!(backlog.report_at(SLOW_PROJECT, SLOW, true, start), Some(true));
		let lapse = STALE_AFTER_PASSES * MAX;
		assert!(backlog.is_behind_at(SLOW_PROJECT, start + lapse), "within the lapse");
		assert!(
			!backlog.is_behind_at(SLOW_PROJECT, start + lapse + QUICK),
			"no report since: the worker stopped (left its subnets, the chain stalled)"
		);
		// A report that keeps it behind renews it.
		let later = start + lapse + QUICK;
		assert_eq!(backlog.report_at(SLOW_PROJECT, SLOW, true, later), Some(true));
		assert!(backlog.is_behind_at(SLOW_PROJECT, later + lapse));
	}

	#[test]
	fn a_project_no_longer_served_is_forgotten() {
		let backlog = Backlog::new(MAX);
		backlog.report(SLOW_PROJECT, 3 * MAX, true);
		assert!(backlog.is_behind(SLOW_PROJECT));
		backlog.keep_only(&[OTHER_PROJECT]);
		assert!(!backlog.is_behind(SLOW_PROJECT));
		assert_eq!(backlog.behind.load(Ordering::Relaxed), 0, "the edge takes no lock again");
	}

	#[test]
	fn a_zero_bound_is_never_behind() {
		let backlog = Backlog::new(Duration::ZERO);
		for _ in 0..3 {
			assert_eq!(backlog.report(SLOW_PROJECT, Duration::from_secs(600), true), None);
		}
		assert!(!backlog.is_behind(SLOW_PROJECT));
	}
}
