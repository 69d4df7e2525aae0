//! A project's SQL database as the worker keeps it, with the life of the key-value state
//! ([`crate::state`]): the **final** database on disk holds what finalized batches did;
//! a **working** copy holds that plus what the pending batches did, and is what the next
//! batch runs on. A batch's SQL result is its list of statements (the state root commits
//! to their digest), so:
//!
//! - when batches are finalized, their statements are replayed into the final database
//!   in one transaction that also records the last batch it holds
//!   ([`w3b_executor::SqlDb::replay`]); the state file lists the statements not yet
//!   replayed and is saved first, so a crash in between loses nothing and replays
//!   nothing twice;
//! - when pending results are thrown away (an expired proof, a divergence, a
//!   reorganisation, changes taken from a peer), the working copy is made again from
//!   the final database and the pending batches that remain.

use std::{
	path::{Path, PathBuf},
	sync::{Arc, Mutex},
};

use w3b_executor::{SqlDb, SqlError};

use crate::state::ProjectState;

/// One project's final and working SQL databases.
pub struct ProjectSql {
	final_db: SqlDb,
	final_path: PathBuf,
	working_path: PathBuf,
	working: Arc<Mutex<SqlDb>>,
	/// What the working copy was built for: the state's generation and the last batch
	/// whose statements it holds.
	built: Option<(u64, Option<u64>)>,
}

impl ProjectSql {
	/// Opens the project's final database at `path` (created if needed); the working
	/// copy goes beside it (`path` with extension `work`).
	pub fn open(path: &Path) -> Result<Self, SqlError> {
		let working_path = path.with_extension("work");
		Ok(ProjectSql {
			final_db: SqlDb::open(path)?,
			final_path: path.to_path_buf(),
			working: Arc::new(Mutex::new(SqlDb::in_memory()?)),
			working_path,
			built: None,
		})
	}

	/// The database batch `seq` runs on: the final database brought up to the state's
	/// finalized batches, and a working copy holding the pending batches before `seq`
	/// (made again unless it is exactly that). Call [`ProjectSql::executed`] once the
	/// batch ran and its savepoint was released.
	pub fn for_batch(
		&mut self,
		state: &mut ProjectState,
		seq: u64,
	) -> Result<Arc<Mutex<SqlDb>>, SqlError> {
		self.catch_up(state)?;
		let wanted = (state.generation(), seq.checked_sub(1));
		if self.built != Some(wanted) {
			self.rebuild(state, seq)?;
			self.built = Some(wanted);
		}
		Ok(self.working.clone())
	}

	/// The working copy is not what it should be (a batch failed half-way): it is made
	/// again before the next batch.
	pub fn invalidate(&mut self) {
		self.built = None;
	}

	/// Batch `seq` ran on the working copy and its changes stay there.
	pub fn executed(&mut self, state: &ProjectState, seq: u64) {
		self.built = Some((state.generation(), Some(seq)));
	}

	/// The last batch the final database holds.
	pub fn final_through(&self) -> Result<Option<u64>, SqlError> {
		self.final_db.final_through()
	}

	/// Replays into the final database the statements of finalized batches it does not
	/// hold yet (the caller saves the state afterwards, which forgets them).
	pub fn catch_up(&mut self, state: &mut ProjectState) -> Result<(), SqlError> {
		let through = self.final_db.final_through()?;
		for (seq, statements) in state.sql_unreplayed() {
			if through.is_some_and(|through| through >= *seq) {
				continue;
			}
			self.final_db.replay(statements.iter().map(Vec::as_slice), *seq)?;
		}
		state.sql_replayed();
		Ok(())
	}

	/// Makes the working copy again: the final database and the statements of the
	/// pending batches before `seq`.
	fn rebuild(&mut self, state: &ProjectState, seq: u64) -> Result<(), SqlError> {
		let mut working = self.working.lock().expect("SQL lock");
		// Close the old copy before its file is replaced.
		*working = SqlDb::in_memory()?;
		let io = |e: std::io::Error| SqlError::Malformed(format!("copying the database: {e}"));
		let _ = std::fs::remove_file(self.working_path.with_extension("work-journal"));
		std::fs::copy(&self.final_path, &self.working_path).map_err(io)?;
		let copy = SqlDb::open(&self.working_path)?;
		let pending: Vec<&[u8]> = state.pending_sql(seq).collect();
		if !pending.is_empty() {
			copy.replay(pending, seq.saturating_sub(1))?;
		}
		*working = copy;
		tracing::debug!(target: "w3b::worker", path = %self.working_path.display(), seq, "SQL working copy made");
		Ok(())
	}
}
