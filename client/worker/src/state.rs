//! A project's state as the worker keeps it: the key-value state the applets see and
//! each device's replay window, after the last finalized batch, plus what batches
//! executed but not yet finalized changed. A batch runs on top of the finalized state
//! and the pending batches before it; its changes become final only with its proof, and
//! an expired proof discards it and every pending batch after it (they ran on top of it
//! and must run again).

use std::{collections::BTreeMap, io, path::Path};

use codec::{Decode, Encode};
use sp_core::H256;
use w3b_executor::{StateView, Writes};
use w3b_primitives::{validity::ReplayWindow, DeviceId};

/// Version tag of the saved state file.
const FILE_VERSION: &[u8] = b"w3b-project-state/v2";

/// Replay windows of devices, by device.
pub type Windows = BTreeMap<DeviceId, ReplayWindow>;

/// What one executed batch changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchChanges {
	/// The key-value writes of its successful events.
	pub writes: Writes,
	/// The replay windows of the devices whose messages counted, after the batch.
	pub windows: Windows,
	/// The state root after it.
	pub state_root: H256,
}

/// One project's state.
#[derive(Default, Clone)]
pub struct ProjectState {
	finalized: BTreeMap<Vec<u8>, Vec<u8>>,
	finalized_windows: Windows,
	finalized_root: H256,
	/// The last batch whose changes are in the finalized state.
	finalized_through: Option<u64>,
	/// Executed, not final, by batch.
	pending: BTreeMap<u64, BatchChanges>,
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
		for (_, changes) in std::mem::replace(&mut self.pending, later) {
			self.finalized.extend(changes.writes);
			self.finalized_windows.extend(changes.windows);
			self.finalized_root = changes.state_root;
		}
		self.finalized_through = Some(seq);
		true
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
		use std::io::Write;
		let tmp = path.with_extension("tmp");
		let mut file = std::fs::File::create(&tmp)?;
		file.write_all(FILE_VERSION)?;
		let saved = (&self.finalized, &self.finalized_windows, self.finalized_root);
		file.write_all(&(saved, self.finalized_through).encode())?;
		file.sync_all()?;
		std::fs::rename(&tmp, path)?;
		if let Some(dir) = path.parent() {
			std::fs::File::open(dir)?.sync_all()?;
		}
		Ok(())
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
			invalid(format!("not a {} file", String::from_utf8_lossy(FILE_VERSION)))
		})?;
		let ((finalized, finalized_windows, finalized_root), finalized_through) =
			Decode::decode(&mut rest).map_err(|e| invalid(e.to_string()))?;
		Ok(ProjectState {
			finalized,
			finalized_windows,
			finalized_root,
			finalized_through,
			pending: BTreeMap::new(),
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
		self.pending.split_off(&seq).into_keys().collect()
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
		std::fs::write(&path, b"garbage").unwrap();
		assert!(ProjectState::load(&path).is_err(), "a corrupt file is an error, not a reset");
	}
}
