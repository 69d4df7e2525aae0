//! Executing a committed batch: its messages judged ([`crate::verify`]), then the
//! project's applets over those that count, on the state the batch runs on, with the
//! project's context as of the batch's commitment. The result goes into the project's
//! pending state until its proof is final.

use std::{collections::HashMap, sync::Arc};

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
	Ok(Executed { previous_state_root: prev_state_root, verdicts, result })
}
