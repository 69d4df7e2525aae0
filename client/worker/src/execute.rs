//! Executing a committed batch: its messages judged ([`crate::verify`]), then the
//! project's applets over those that count, on the state the batch runs on, with the
//! project's context as of the batch's commitment. The result goes into the project's
//! pending state until its proof is final. [`execute_projects`] runs the batches of
//! several projects at once, each project's in order.

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

/// Runs the batches of `projects` with [`execute_batch`]: each project's in order on its
/// own state, different projects at the same time on at most `threads` threads (the
/// projects with the most messages first, so that a long one does not start last).
/// Projects share nothing but the engine, so the results are those of running them one
/// after another.
///
/// Returns, for each project in the order given, the results of its batches in order; a
/// batch that failed ends its project's list with its error (the batches after it build
/// on its state, so they do not run).
pub fn execute_projects(
	executor: &Executor,
	projects: Vec<ProjectRuns<'_>>,
	threads: usize,
) -> Vec<Vec<Result<Executed, ExecutorError>>> {
	let count = projects.len();
	let mut queue: Vec<(usize, ProjectRuns<'_>)> = projects.into_iter().enumerate().collect();
	// Popped from the back: the largest last.
	queue.sort_by_key(|(_, runs)| {
		runs.batches.iter().map(|batch| batch.body.messages.len()).sum::<usize>()
	});
	let queue = Mutex::new(queue);
	let results: Mutex<Vec<Option<Vec<Result<Executed, ExecutorError>>>>> =
		Mutex::new((0..count).map(|_| None).collect());
	let work = || loop {
		let Some((index, runs)) = queue.lock().expect("queue lock").pop() else { return };
		let executed = run_in_order(executor, runs);
		results.lock().expect("results lock")[index] = Some(executed);
	};
	let threads = threads.clamp(1, count.max(1));
	if threads == 1 {
		work();
	} else {
		thread::scope(|scope| {
			for _ in 0..threads {
				scope.spawn(&work);
			}
		});
	}
	results
		.into_inner()
		.expect("results lock")
		.into_iter()
		.map(|executed| executed.expect("every project ran"))
		.collect()
}

/// One project's batches in order, up to the first that fails.
fn run_in_order(
	executor: &Executor,
	runs: ProjectRuns<'_>,
) -> Vec<Result<Executed, ExecutorError>> {
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
