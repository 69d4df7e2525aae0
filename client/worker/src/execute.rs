//! Executing a committed batch: its messages judged ([`crate::verify`]), then the
//! project's applets over those that count, on the state the batch runs on, with the
//! project's context as of the batch's commitment. The result goes into the project's
//! pending state until its proof is final. [`execute_projects`] runs the batches of
//! several projects at once, each project's in order, and hands each project's results
//! back as soon as they are there.

use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
	thread,
	time::{Duration, Instant},
};

use sp_core::H256;
use w3b_executor::{BatchInput, BatchResult, Executor, ExecutorError};
use w3b_primitives::{
	project::{Applet, DeviceRecord},
	validity::Context,
	AppletId, BatchHeader, BlockNumber, DeviceId, Message,
};
use w3b_storage::BatchBody;

use crate::{
	sql::ProjectSql,
	state::{BatchChanges, ProjectState},
	verify::{judge, Verdicts},
};

/// The chain as of a batch's commitment: what execution needs to know of the project.
pub struct ProjectContext<'a> {
	/// The commitment: project, block and time.
	pub commitment: Context<BlockNumber>,
	/// The project's environment variables.
	pub env: Arc<Vec<(Vec<u8>, Vec<u8>)>>,
	/// Fuel per batch.
	pub fuel_per_batch: u64,
	/// The project's applets (their code loaded in the executor).
	pub applets: &'a [(AppletId, Applet)],
	/// The records of the batch's devices the chain has.
	pub devices: &'a HashMap<DeviceId, DeviceRecord<BlockNumber>>,
	/// Whether the chain made the batch (from EVM logs a quorum of the subnet observed):
	/// its messages all count, no device signed them.
	pub made_on_chain: bool,
}

/// A batch executed.
pub struct Executed {
	/// The state root the batch ran on.
	pub previous_state_root: H256,
	/// Which messages counted.
	pub verdicts: Verdicts,
	/// What the applets did with them.
	pub result: BatchResult,
	/// How long judging and running it took.
	pub elapsed: Duration,
}

/// Judges and runs batch `header`/`body` of a project and records its result in `state`;
/// the applets' SQL goes to the project's database `sql` (without one, SQL calls answer
/// that there is no database).
pub fn execute_batch(
	executor: &Executor,
	project: &ProjectContext<'_>,
	header: &BatchHeader,
	body: &BatchBody,
	state: &mut ProjectState,
	sql: Option<&mut ProjectSql>,
) -> Result<Executed, ExecutorError> {
	let started = Instant::now();
	let verdicts = if project.made_on_chain {
		Verdicts::all_count(body)
	} else {
		judge(&project.commitment, body, project.devices, |d| state.window_for(header.seq, d))
	};
	let (view, prev_state_root) = state.view_for(header.seq);
	let messages: Vec<Message> =
		verdicts.counted.iter().map(|i| body.messages[*i].message.clone()).collect();
	let input = BatchInput {
		project: header.project,
		batch_seq: header.seq,
		merkle_root: header.merkle_root,
		timestamp_ms: project.commitment.committed_at_ms,
		fuel: project.fuel_per_batch,
		env: project.env.clone(),
		applets: project.applets,
		messages: &messages,
		verdicts: verdicts.digest(),
		prev_state_root,
	};
	let result = match sql {
		None => executor.run_batch(&input, view, None)?,
		Some(sql) => {
			let db = sql.for_batch(state, header.seq)?;
			match executor.run_batch(&input, view, Some(db.clone())) {
				Ok(result) => {
					// The next batch builds on this one's changes (if keeping them fails,
					// the working copy is made again before the next batch).
					if let Err(e) = db.lock().expect("SQL lock").commit_batch() {
						sql.invalidate();
						return Err(e.into());
					}
					sql.executed(state, header.seq);
					result
				}
				Err(e) => {
					sql.invalidate();
					return Err(e);
				}
			}
		}
	};
	state.record(
		header.seq,
		BatchChanges {
			writes: result.writes.clone(),
			windows: verdicts.windows.clone(),
			state_root: result.state_root,
			refused: verdicts.refused.clone(),
			sql: result.sql_statements.clone(),
		},
	);
	Ok(Executed {
		previous_state_root: prev_state_root,
		verdicts,
		result,
		elapsed: started.elapsed(),
	})
}

/// One committed batch to run, with the project's context as of its commitment.
pub struct BatchRun<'a> {
	/// The chain as of the batch's commitment.
	pub context: ProjectContext<'a>,
	/// Its header, as committed.
	pub header: &'a BatchHeader,
	/// Its messages.
	pub body: &'a BatchBody,
}

/// A project's committed batches to run, in order, on its state and SQL database.
pub struct ProjectRuns<'a> {
	/// The project's state (pending batches layered over the finalized state).
	pub state: &'a mut ProjectState,
	/// Its SQL database, if the node keeps one.
	pub sql: Option<&'a mut ProjectSql>,
	/// The batches, in the order of their numbers.
	pub batches: Vec<BatchRun<'a>>,
}

/// A project's batches to run on another thread: owns what they borrow while they run.
pub trait ProjectJob: Send + 'static {
	/// The messages in its batches (the largest jobs start first, so that a long one
	/// does not start last).
	fn messages(&self) -> usize;
	/// Its batches, in order, on its state and SQL database.
	fn runs(&mut self) -> ProjectRuns<'_>;
}

/// The results of a job's batches in order; a batch that failed ends the list with its
/// error (the batches after it build on its state, so they do not run).
pub type JobResults = Vec<Result<Executed, ExecutorError>>;

/// Starts the batches of `jobs` with [`execute_batch`] on at most `threads` threads of
/// their own and returns at once: each job's batches in order on its own state,
/// different jobs at the same time. `finished` gets each job back with its results as
/// soon as that job is done, on the thread that ran it, and how long it ran (not counting
/// the time it waited for a thread), so that a caller can take up a project's results
/// (vote) while slower projects still run, and knows what each cost. Jobs share nothing but the
/// engine, so the results are those of running them one after another.
///
/// The caller's thread must be able to block: if the system refuses every thread, the
/// jobs run there. A panic in a batch ends its thread and drops its job without a call
/// (in the node, whose panic handler ends the process, it ends the node); once every job
/// is done or dropped the threads end, and `finished` with them.
pub fn execute_projects<J: ProjectJob>(
	executor: Arc<Executor>,
	mut jobs: Vec<J>,
	threads: usize,
	finished: impl Fn(J, JobResults, Duration) + Send + Sync + 'static,
) {
	if jobs.is_empty() {
		return;
	}
	// Popped from the back: the largest last.
	jobs.sort_by_key(|job| job.messages());
	let threads = threads.clamp(1, jobs.len());
	let queue = Arc::new(Mutex::new(jobs));
	let finished = Arc::new(finished);
	let work = move || loop {
		let Some(mut job) = queue.lock().expect("queue lock").pop() else { return };
		let started = Instant::now();
		let results = run_in_order(&executor, job.runs());
		finished(job, results, started.elapsed());
	};
	let mut started = 0;
	for _ in 0..threads {
		match thread::Builder::new().name("w3b-exec".into()).spawn(work.clone()) {
			Ok(_) => started += 1,
			// The threads that started take every job.
			Err(e) => {
				tracing::warn!(target: "w3b::worker", "no thread to run batches on: {e}");
				break;
			}
		}
	}
	if started == 0 {
		work();
	}
}

/// One project's batches in order, up to the first that fails.
fn run_in_order(executor: &Executor, runs: ProjectRuns<'_>) -> JobResults {
	let ProjectRuns { state, mut sql, batches } = runs;
	let mut executed = Vec::with_capacity(batches.len());
	for batch in batches {
		let result = execute_batch(
			executor,
			&batch.context,
			batch.header,
			batch.body,
			state,
			sql.as_deref_mut(),
		);
		let failed = result.is_err();
		executed.push(result);
		if failed {
			break;
		}
	}
	executed
}
