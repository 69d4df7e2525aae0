//! The relayer's state on disk: the next batch to relay, the batches whose outputs wait
//! for a retry (`relayer.json`), and the record of what it gave up on
//! (`failures.jsonl`, one JSON object per line). Both are written before the relayer
//! goes on (a temporary file renamed over the state; the record appended), each
//! followed by an fsync.

use std::{
	collections::BTreeMap,
	fs::{self, File, OpenOptions},
	io::Write,
	path::{Path, PathBuf},
	time::{SystemTime, UNIX_EPOCH},
};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Where one relayer is in one contract's batches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayState {
	/// The EVM chain.
	pub chain: u64,
	/// Its `W3bBridge` contract.
	pub contract: Address,
	/// The next batch to relay: every batch below it was verified by the contract (or
	/// recorded as a failure).
	pub next_nonce: u64,
	/// Verified batches with undelivered outputs, by nonce.
	pub retries: BTreeMap<u64, Retry>,
}

/// A verified batch with outputs its receivers failed to take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retry {
	/// Deliveries tried so far (the first one with the batch's verification).
	pub attempts: u32,
	/// When to try again (seconds since the Unix epoch).
	pub next_at: u64,
}

/// Something the relayer gave up on, as recorded in `failures.jsonl`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
	/// Seconds since the Unix epoch.
	pub time: u64,
	pub chain: u64,
	pub nonce: u64,
	/// The output, for an output's failure; none for a whole batch.
	pub output: Option<u64>,
	/// `batch refused`, `batch pruned` or `output undelivered`.
	pub what: &'static str,
	pub reason: String,
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The relayer's directory, locked while it is open: two relayers never share one (nor,
/// so, their key's nonces).
pub struct StateStore {
	dir: PathBuf,
	_lock: File,
}

impl StateStore {
	/// The store in `dir`, created if needed; an error if another relayer has it open.
	pub fn open(dir: &Path) -> Result<Self> {
		fs::create_dir_all(dir).map_err(|e| state_error(dir, e))?;
		let path = dir.join("lock");
		let lock = File::create(&path).map_err(|e| state_error(&path, e))?;
		lock.try_lock().map_err(|_| {
			Error::Config(format!("{} is in use by another relayer", dir.display()))
		})?;
		Ok(StateStore { dir: dir.to_path_buf(), _lock: lock })
	}

	fn state_path(&self) -> PathBuf {
		self.dir.join("relayer.json")
	}

	/// The record of failures.
	pub fn failures_path(&self) -> PathBuf {
		self.dir.join("failures.jsonl")
	}

	/// The state saved for `chain`'s `contract`, if any; an error if the directory
	/// holds another contract's state (one directory per contract, so that a relayer
	/// pointed at a new deployment never skips its batches).
	pub fn load(&self, chain: u64, contract: Address) -> Result<Option<RelayState>> {
		let path = self.state_path();
		let text = match fs::read_to_string(&path) {
			Ok(text) => text,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
			Err(e) => return Err(state_error(&path, e)),
		};
		let state: RelayState = serde_json::from_str(&text).map_err(|e| state_error(&path, e))?;
		if state.chain != chain || state.contract != contract {
			return Err(Error::Config(format!(
				"{} holds the state of chain {}'s contract {}, not chain {chain}'s {contract}: use another --state-dir",
				path.display(),
				state.chain,
				state.contract
			)));
		}
		Ok(Some(state))
	}

	/// Saves `state` durably.
	pub fn save(&self, state: &RelayState) -> Result<()> {
		let path = self.state_path();
		let temporary = self.dir.join("relayer.json.tmp");
		let text = serde_json::to_vec_pretty(state).map_err(|e| state_error(&path, e))?;
		let write = || -> std::io::Result<()> {
			let mut file = File::create(&temporary)?;
			file.write_all(&text)?;
			file.sync_all()?;
			fs::rename(&temporary, &path)?;
			File::open(&self.dir)?.sync_all()
		};
		write().map_err(|e| state_error(&path, e))
	}

	/// Appends `failure` to the record, durably.
	pub fn record(&self, failure: &Failure) -> Result<()> {
		let path = self.failures_path();
		let mut line = serde_json::to_vec(failure).map_err(|e| state_error(&path, e))?;
		line.push(b'\n');
		let mut append = || -> std::io::Result<()> {
			let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
			// A line a crash cut short stays alone on its line.
			let length = file.metadata()?.len();
			if length > 0 {
				let mut last = [0u8];
				std::os::unix::fs::FileExt::read_at(&File::open(&path)?, &mut last, length - 1)?;
				if last[0] != b'\n' {
					line.insert(0, b'\n');
				}
			}
			file.write_all(&line)?;
			file.sync_all()
		};
		append().map_err(|e| state_error(&path, e))
	}
}

fn state_error(path: &Path, error: impl std::fmt::Display) -> Error {
	Error::State { path: path.display().to_string(), reason: error.to_string() }
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn state_survives_a_reopen_and_belongs_to_one_contract() {
		let dir = tempfile::tempdir().unwrap();
		let store = StateStore::open(dir.path()).unwrap();
		let contract = Address::repeat_byte(7);
		assert_eq!(store.load(4690, contract).unwrap(), None);
		let mut state =
			RelayState { chain: 4690, contract, next_nonce: 12, retries: BTreeMap::new() };
		state.retries.insert(9, Retry { attempts: 2, next_at: 1_700_000_000 });
		store.save(&state).unwrap();
		drop(store);

		let reopened = StateStore::open(dir.path()).unwrap();
		assert_eq!(reopened.load(4690, contract).unwrap(), Some(state));
		let other = reopened.load(4690, Address::repeat_byte(8)).unwrap_err();
		assert!(other.to_string().contains("use another --state-dir"), "{other}");
		assert!(reopened.load(4689, contract).is_err());
	}

	#[test]
	fn failures_are_appended_one_per_line() {
		let dir = tempfile::tempdir().unwrap();
		let store = StateStore::open(dir.path()).unwrap();
		for nonce in [3, 5] {
			let failure = Failure {
				time: 1,
				chain: 4690,
				nonce,
				output: Some(0),
				what: "output undelivered",
				reason: "receiver is down".into(),
			};
			store.record(&failure).unwrap();
		}
		let text = fs::read_to_string(store.failures_path()).unwrap();
		let lines: Vec<serde_json::Value> =
			text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
		assert_eq!(lines.len(), 2);
		assert_eq!(lines[1]["nonce"], 5);
		assert_eq!(lines[1]["what"], "output undelivered");
	}

	#[test]
	fn one_relayer_per_directory() {
		let dir = tempfile::tempdir().unwrap();
		let first = StateStore::open(dir.path()).unwrap();
		let second = StateStore::open(dir.path()).err().expect("the directory is locked");
		assert!(second.to_string().contains("in use by another relayer"), "{second}");
		drop(first);
		StateStore::open(dir.path()).expect("free again");
	}

	#[test]
	fn a_line_cut_short_by_a_crash_does_not_swallow_the_next() {
		let dir = tempfile::tempdir().unwrap();
		let store = StateStore::open(dir.path()).unwrap();
		fs::write(store.failures_path(), b"{\"time\":1,\"cha").unwrap();
		let failure = Failure {
			time: 2,
			chain: 4690,
			nonce: 1,
			output: None,
			what: "batch pruned",
			reason: String::new(),
		};
		store.record(&failure).unwrap();
		let text = fs::read_to_string(store.failures_path()).unwrap();
		let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
		assert_eq!(last["nonce"], 1);
	}

	#[test]
	fn a_corrupt_state_file_is_an_error_not_a_fresh_start() {
		let dir = tempfile::tempdir().unwrap();
		fs::write(dir.path().join("relayer.json"), b"{\"chain\": 4690, \"next").unwrap();
		let store = StateStore::open(dir.path()).unwrap();
		let error = store.load(4690, Address::ZERO).unwrap_err();
		assert!(matches!(error, Error::State { .. }), "{error}");
	}
}
