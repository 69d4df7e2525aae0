//! A project's state as the worker keeps it: the key-value state the applets see and
//! each device's replay window, after the last finalized batch, plus what batches
//! executed but not yet finalized changed. A batch runs on top of the finalized state
//! and the pending batches before it; its changes become final only with its proof, and
//! an expired proof discards it and every pending batch after it (they ran on top of it
//! and must run again).

use std::{collections::BTreeMap, io, path::Path};

use codec::{Decode, DecodeAll, Encode};
use sp_core::H256;
use w3b_executor::{sql_digest, state_root, StateView, Transition, Writes};
use w3b_primitives::{
	validity::{verdicts_digest, Invalid, ReplayWindow},
	DeviceId,
};
use w3b_storage::BatchBody;

/// Version tag of the saved state file.
const FILE_VERSION: &[u8] = b"w3b-project-state/v5";
/// Replay windows of devices, by device.
pub type Windows = BTreeMap<DeviceId, ReplayWindow>;
/// The finalized key-value state.
type Finalized = BTreeMap<Vec<u8>, Vec<u8>>;
/// SQL statements of finalized batches not in the project's database yet, by batch.
type SqlUnreplayed = Vec<(u64, Vec<Vec<u8>>)>;

/// What one executed batch changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchChanges {
	/// The key-value writes of its successful events.
	pub writes: Writes,
	/// The replay windows of the devices whose messages counted, after the batch.
	pub windows: Windows,
	/// The state root after it.
	pub state_root: H256,
	/// The messages that did not count (index in the batch, reason).
	pub refused: Vec<(u32, Invalid)>,
	/// The SQL statements its events executed, in order.
	pub sql: Vec<Vec<u8>>,
}

impl BatchChanges {
	/// What a peer needs to take this batch's result over, SCALE-encoded as
	/// [`AgreedChanges`] (encoded from here, without copying the writes).
	pub fn encode_agreed(&self) -> Vec<u8> {
		(&self.refused, &self.writes, &self.sql).encode()
	}
}

/// A batch's changes as one node hands them to another that could not compute them
/// (`/w3b/state/1`). The state root commits to them, so the receiver checks them against
/// the root the quorum finalized before taking them: with the state before the batch
/// and the batch's Merkle root they give the state root after it, and with the batch's
/// body the devices' replay windows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct AgreedChanges {
	/// The messages that did not count, by index in the batch, in batch order.
	pub refused: Vec<(u32, Invalid)>,
	/// The key-value writes.
	pub writes: Writes,
	/// The SQL statements executed, in order (the root commits to their digest).
	pub sql: Vec<Vec<u8>>,
}

impl AgreedChanges {
	/// The state root after a batch with Merkle root `merkle_root` that made these
	/// changes to the state with root `previous`.
	pub fn state_root(&self, previous: &H256, merkle_root: &H256) -> H256 {
		state_root(&Transition {
			previous,
			merkle_root,
			verdicts: &verdicts_digest(&self.refused),
			writes: &self.writes,
			sql_digest: &sql_digest(&self.sql),
		})
	}
}

/// Why changes handed over by a peer were not taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AdoptError {
	/// The batch does not follow the last finalized one here.
	#[error("batch {seq} does not follow the finalized state here (through {through:?})")]
	NotNext {
		/// The batch.
		seq: u64,
		/// The last batch finalized here.
		through: Option<u64>,
	},
	/// They do not lead from the state here to the finalized root.
	#[error("the changes lead from {previous:?} to {got:?}, not to the finalized {expected:?}")]
	WrongRoot {
		/// The root of the state here.
		previous: H256,
		/// Where the changes lead.
		got: H256,
		/// The finalized root.
		expected: H256,
	},
	/// The refused messages are not listed once each, in batch order, within the batch.
	#[error("the refused messages are not in batch order within the batch")]
	Refused,
	/// A counted message is out of its device's replay window here: the windows kept here
	/// are not the network's.
	#[error("message {index} counts in the agreed changes but is a replay here")]
	Replay {
		/// Index of the message in the batch.
		index: usize,
	},
}

/// One project's state.
#[derive(Default, Clone)]
pub struct ProjectState {
	finalized: Finalized,
	finalized_windows: Windows,
	finalized_root: H256,
	/// The last batch whose changes are in the finalized state.
	finalized_through: Option<u64>,
	/// Executed, not final, by batch.
	pending: BTreeMap<u64, BatchChanges>,
	/// SQL statements of finalized batches, by batch, until the project's SQL database
	/// holds them ([`crate::sql::ProjectSql`]): saved with the state, so that a crash
	/// between saving the state and updating the database loses none.
	sql_unreplayed: SqlUnreplayed,
	/// Counts the times pending results were thrown away (what was built on them, such
	/// as the SQL working copy, must be built again).
	generation: u64,
}

impl ProjectState {
	/// The state batch `seq` runs on (a copy: the finalized state with the pending
	/// batches before `seq` applied), and the state root before it.
	pub fn view_for(&self, seq: u64) -> (std::sync::Arc<dyn StateView>, H256) {
		let mut base = self.finalized.clone();
		let mut root = self.finalized_root;
		for changes in self.pending.range(..seq).map(|(_, c)| c) {
			base.extend(changes.writes.iter().map(|(k, v)| (k.clone(), v.clone())));
			root = changes.state_root;
		}
		(std::sync::Arc::new(base), root)
	}

	/// Device `device`'s replay window as batch `seq` starts.
	pub fn window_for(&self, seq: u64, device: &DeviceId) -> ReplayWindow {
		self.pending
			.range(..seq)
			.rev()
			.find_map(|(_, changes)| changes.windows.get(device))
			.or_else(|| self.finalized_windows.get(device))
			.cloned()
			.unwrap_or_default()
	}

	/// Records the result of executing batch `seq`.
	pub fn record(&mut self, seq: u64, changes: BatchChanges) {
		self.pending.insert(seq, changes);
	}

	/// What executing batch `seq` changed, while it is pending.
	pub fn changes(&self, seq: u64) -> Option<&BatchChanges> {
		self.pending.get(&seq)
	}

	/// Batch `seq`'s proof is final: its writes (and those of any earlier pending batch)
	/// join the finalized state. Returns false if `seq` was not executed here.
	pub fn finalize(&mut self, seq: u64) -> bool {
		if !self.pending.contains_key(&seq) {
			return false;
		}
		let later = self.pending.split_off(&(seq + 1));
		for (batch, changes) in std::mem::replace(&mut self.pending, later) {
			self.finalized.extend(changes.writes);
			self.finalized_windows.extend(changes.windows);
			self.finalized_root = changes.state_root;
			if !changes.sql.is_empty() {
				self.sql_unreplayed.push((batch, changes.sql));
			}
		}
		self.finalized_through = Some(seq);
		true
	}

	/// Takes over `agreed`, a peer's changes for batch `seq` (Merkle root `merkle_root`,
	/// `body`), as final, once they lead from the finalized state here to `expected`, the
	/// root the quorum finalized: the way out for a node that cannot compute a batch the
	/// way the network did. Pending results from `seq` on are discarded (they ran on
	/// another state). A batch `made_on_chain` (from EVM logs) refuses nothing and takes
	/// no replay window, as when it runs ([`crate::verify::Verdicts::all_count`]).
	pub fn adopt(
		&mut self,
		seq: u64,
		merkle_root: &H256,
		body: &BatchBody,
		agreed: AgreedChanges,
		expected: H256,
		made_on_chain: bool,
	) -> Result<(), AdoptError> {
		if self.finalized_through.is_some_and(|through| through >= seq) {
			return Err(AdoptError::NotNext { seq, through: self.finalized_through });
		}
		let got = agreed.state_root(&self.finalized_root, merkle_root);
		if got != expected {
			return Err(AdoptError::WrongRoot { previous: self.finalized_root, got, expected });
		}
		// The refused list is committed to by the root; the windows follow from it.
		let indices: Vec<usize> = agreed.refused.iter().map(|(index, _)| *index as usize).collect();
		let in_order = indices.windows(2).all(|pair| pair[0] < pair[1]);
		if !in_order
			|| indices.last().is_some_and(|last| *last >= body.messages.len())
			|| (made_on_chain && !indices.is_empty())
		{
			return Err(AdoptError::Refused);
		}
		let refused: std::collections::BTreeSet<usize> = indices.into_iter().collect();
		let mut windows = Windows::new();
		// Log messages share their source's id and take their EVM block number as seq:
		// they are not a device's sequence.
		let counted_by_device = if made_on_chain { &[][..] } else { &body.messages[..] };
		for (index, stored) in counted_by_device.iter().enumerate() {
			if refused.contains(&index) {
				continue;
			}
			let device = stored.message.device;
			let window = windows.entry(device).or_insert_with(|| {
				self.finalized_windows.get(&device).cloned().unwrap_or_default()
			});
			window.admit(stored.message.seq).map_err(|_| AdoptError::Replay { index })?;
		}
		self.discard_from(0);
		self.record(
			seq,
			BatchChanges {
				writes: agreed.writes,
				windows,
				state_root: expected,
				refused: agreed.refused,
				sql: agreed.sql,
			},
		);
		self.finalize(seq);
		Ok(())
	}

	/// The last batch whose writes are final.
	pub fn finalized_through(&self) -> Option<u64> {
		self.finalized_through
	}

	/// Whether batch `seq`'s result is pending here.
	pub fn is_pending(&self, seq: u64) -> bool {
		self.pending.contains_key(&seq)
	}

	/// Writes the finalized state to `path` durably (write, fsync, rename): a crash
	/// leaves the previous or the new file, never a torn one. Pending batches are not
	/// saved; after a restart they run again.
	pub fn save(&self, path: &Path) -> io::Result<()> {
		let saved = (&self.finalized, &self.finalized_windows, self.finalized_root);
		let mut bytes = FILE_VERSION.to_vec();
		(saved, self.finalized_through, &self.sql_unreplayed).encode_to(&mut bytes);
		crate::durable::write(path, &bytes)
	}

	/// The finalized state saved at `path`; the empty state if there is no file.
	pub fn load(path: &Path) -> io::Result<Self> {
		let bytes = match std::fs::read(path) {
			Ok(bytes) => bytes,
			Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Self::default()),
			Err(e) => return Err(e),
		};
		let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidData, e);
		let mut rest = bytes.strip_prefix(FILE_VERSION).ok_or_else(|| {
			// Versions 3 and 4 kept replay windows without their gaps, or with other
			// ones, which every operator must keep alike from the project's first batch:
			// such a state is rebuilt, not converted (a conversion would depend on when
			// each node restarted).
			invalid(format!(
				"not a {} file: remove it, and the node rebuilds the project's state from \
				 its history (the batches the chain and the peers still hold)",
				String::from_utf8_lossy(FILE_VERSION)
			))
		})?;
		let ((finalized, finalized_windows, finalized_root), finalized_through, sql_unreplayed): (
			(Finalized, Windows, H256),
			Option<u64>,
			SqlUnreplayed,
		) = DecodeAll::decode_all(&mut rest).map_err(|e| invalid(e.to_string()))?;
		Ok(ProjectState {
			finalized,
			finalized_windows,
			finalized_root,
			finalized_through,
			pending: BTreeMap::new(),
			sql_unreplayed,
			generation: 0,
		})
	}

	/// Batch `seq`'s proof expired: it and every pending batch after it are discarded.
	/// Returns the discarded batches that must run again (those after `seq`).
	pub fn expire(&mut self, seq: u64) -> Vec<u64> {
		self.discard_from(seq).into_iter().filter(|s| *s > seq).collect()
	}

	/// Discards the results of batch `seq` and every pending batch after it (this node
	/// computed them on a state the network did not agree on). Returns the discarded
	/// batches.
	pub fn discard_from(&mut self, seq: u64) -> Vec<u64> {
		let discarded: Vec<u64> = self.pending.split_off(&seq).into_keys().collect();
		if !discarded.is_empty() {
			self.generation += 1;
		}
		discarded
	}

	/// How many times pending results were thrown away so far (in this process).
	pub fn generation(&self) -> u64 {
		self.generation
	}

	/// The SQL statements of the pending batches before `seq`, in order.
	pub fn pending_sql(&self, seq: u64) -> impl Iterator<Item = &[u8]> {
		self.pending.range(..seq).flat_map(|(_, c)| c.sql.iter().map(Vec::as_slice))
	}

	/// The SQL statements of finalized batches the project's database may not hold yet.
	pub fn sql_unreplayed(&self) -> &[(u64, Vec<Vec<u8>>)] {
		&self.sql_unreplayed
	}

	/// The project's database holds every finalized batch's statements (saved with the
	/// next [`ProjectState::save`]).
	pub fn sql_replayed(&mut self) {
		self.sql_unreplayed.clear();
	}

	/// The root of the finalized state.
	pub fn finalized_root(&self) -> H256 {
		self.finalized_root
	}

	/// A finalized value.
	pub fn finalized(&self, key: &[u8]) -> Option<&Vec<u8>> {
		self.finalized.get(key)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn writes(pairs: &[(&str, &str)], root: u8) -> BatchChanges {
		BatchChanges {
			writes: pairs
				.iter()
				.map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
				.collect(),
			windows: Windows::new(),
			state_root: H256::repeat_byte(root),
			..Default::default()
		}
	}

	#[test]
	fn pending_batches_layer_finalize_in_order_and_expire_with_their_successors() {
		let mut state = ProjectState::default();
		state.record(0, writes(&[("a", "0")], 1));
		state.record(1, writes(&[("a", "1"), ("b", "1")], 2));
		state.record(2, writes(&[("c", "2")], 3));
		let (view, root) = state.view_for(2);
		assert_eq!(
			(view.get(b"a"), view.get(b"b"), view.get(b"c")),
			(Some(b"1".to_vec()), Some(b"1".to_vec()), None)
		);
		assert_eq!(root, H256::repeat_byte(2));
		assert!(state.view_for(0).0.get(b"a").is_none());
		// Finalizing 0 applies it alone.
		assert!(state.finalize(0));
		assert_eq!(state.finalized(b"a"), Some(&b"0".to_vec()));
		assert_eq!(state.finalized_root(), H256::repeat_byte(1));
		// Batch 1 expires: 1 is dropped, 2 must run again (it ran on top of 1).
		assert_eq!(state.expire(1), vec![2]);
		assert!(!state.finalize(2));
		let (view, root) = state.view_for(1);
		assert_eq!((view.get(b"a"), view.get(b"b")), (Some(b"0".to_vec()), None));
		assert_eq!(root, H256::repeat_byte(1));
	}

	#[test]
	fn replay_windows_layer_like_writes_and_survive_a_restart() {
		let device = DeviceId::repeat_byte(1);
		let window = |seqs: &[u64]| {
			let mut w = ReplayWindow::default();
			for seq in seqs {
				w.admit(*seq).unwrap();
			}
			w
		};
		let mut state = ProjectState::default();
		let mut first = writes(&[], 1);
		first.windows.insert(device, window(&[1, 2]));
		let mut second = writes(&[], 2);
		second.windows.insert(device, window(&[1, 2, 3]));
		state.record(0, first);
		state.record(1, second);
		assert_eq!(state.window_for(0, &device), ReplayWindow::default());
		assert_eq!(state.window_for(1, &device), window(&[1, 2]));
		assert_eq!(state.window_for(5, &device), window(&[1, 2, 3]));
		assert_eq!(state.discard_from(1), vec![1]);
		assert_eq!(state.window_for(5, &device), window(&[1, 2]));
		assert!(state.finalize(0));
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("state");
		state.save(&path).unwrap();
		assert_eq!(ProjectState::load(&path).unwrap().window_for(0, &device), window(&[1, 2]));
	}

	#[test]
	fn the_finalized_state_survives_a_restart_and_pending_batches_do_not() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("project-1.state");
		assert_eq!(ProjectState::load(&path).unwrap().finalized_through(), None);
		let mut state = ProjectState::default();
		state.record(0, writes(&[("a", "0")], 1));
		state.record(1, writes(&[("b", "1")], 2));
		assert!(state.finalize(0));
		state.save(&path).unwrap();
		let loaded = ProjectState::load(&path).unwrap();
		assert_eq!(loaded.finalized_through(), Some(0));
		assert_eq!(loaded.finalized_root(), H256::repeat_byte(1));
		assert_eq!(loaded.finalized(b"a"), Some(&b"0".to_vec()));
		assert!(!loaded.is_pending(1));
		// Files of versions 3 and 4 (replay windows without their gaps, or with other
		// ones) are not taken, nor one with bytes after the state.
		let saved = std::fs::read(&path).unwrap();
		for version in [&b"w3b-project-state/v3"[..], b"w3b-project-state/v4"] {
			std::fs::write(&path, [version, &saved[FILE_VERSION.len()..]].concat()).unwrap();
			let error = ProjectState::load(&path).err().expect("an older version is refused");
			assert!(error.to_string().contains("rebuilds the project's state"), "{error}");
		}
		std::fs::write(&path, [&saved[..], &[0]].concat()).unwrap();
		assert!(ProjectState::load(&path).is_err(), "trailing bytes");
		std::fs::write(&path, b"garbage").unwrap();
		assert!(ProjectState::load(&path).is_err(), "a corrupt file is an error, not a reset");
	}
}
