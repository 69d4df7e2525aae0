//! Executing a committed batch: the project's applets over the batch's messages, on the
//! state the batch runs on, at the batch's time (its commitment's). The result goes
//! into the project's pending state until its proof is final.

use std::sync::Arc;

use w3b_executor::{BatchInput, BatchResult, Executor, ExecutorError};
use w3b_primitives::{project::Applet, AppletId, BatchHeader, Message};

use crate::{seal::BatchBody, state::ProjectState};

/// What execution needs to know of the project (from the chain).
pub struct ProjectContext<'a> {
	/// The project's environment variables.
	pub env: Arc<Vec<(Vec<u8>, Vec<u8>)>>,
	/// Fuel per batch.
	pub fuel_per_batch: u64,
	/// The project's applets (their code loaded in the executor).
	pub applets: &'a [(AppletId, Applet)],
}

/// Runs batch `header`/`body` of a project and records its result in `state`.
pub fn execute_batch(
	executor: &Executor,
	project: &ProjectContext<'_>,
	header: &BatchHeader,
	body: &BatchBody,
	committed_at_ms: u64,
	state: &mut ProjectState,
) -> Result<BatchResult, ExecutorError> {
	let (view, prev_state_root) = state.view_for(header.seq);
	let messages: Vec<Message> = body.messages.iter().map(|m| m.message.clone()).collect();
	let input = BatchInput {
		project: header.project,
		batch_seq: header.seq,
		merkle_root: header.merkle_root,
		timestamp_ms: committed_at_ms,
		fuel: project.fuel_per_batch,
		env: project.env.clone(),
		applets: project.applets,
		messages: &messages,
		prev_state_root,
	};
	let result = executor.run_batch(&input, view, None)?;
	state.record(header.seq, result.writes.clone(), result.state_root);
	Ok(result)
}
