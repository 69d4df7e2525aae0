//! Sealed batches executed by the engine with the Rust SDK's counter applet: state
//! layered over pending batches, finalized in order, rolled back and re-executed to the
//! same result after an expiry.

#[path = "../../executor/tests/common/mod.rs"]
mod applets;

use std::sync::Arc;

use sp_core::H256;
use w3b_executor::{EngineConfig, Executor};
use w3b_primitives::{DeviceSignature, Message};
use w3b_storage::{EmbeddedStore, FsVfs, MessageStore, StoredMessage};
use w3b_worker::{
	execute::execute_batch, execute::ProjectContext, load_body, seal_batch, ProjectState,
};

fn stored(seq: u64) -> StoredMessage {
	StoredMessage {
		message: Message {
			project: 1,
			device: H256::repeat_byte(3),
			seq,
			timestamp_ms: seq,
			event_type: b"DEFAULT".to_vec(),
			payload: b"device=d1".to_vec(),
			encrypted: false,
		},
		signature: DeviceSignature::Ed25519([3; 64]),
		received_ms: 0,
	}
}

#[test]
fn batches_execute_on_pending_state_and_replay_identically_after_expiry() {
	let dir = tempfile::tempdir().unwrap();
	let store = EmbeddedStore::open(&dir.path().join("store")).unwrap();
	let vfs = FsVfs::open(&dir.path().join("vfs")).unwrap();
	let executor = Executor::new(EngineConfig::default()).unwrap();
	let counter = applets::load(&executor, "counter");
	let project_applets = [applets::applet(0, counter, &[])];
	let project = ProjectContext {
		env: Arc::new(Vec::new()),
		fuel_per_batch: 1_000_000_000,
		applets: &project_applets,
	};
	let count = |result: &w3b_executor::BatchResult| {
		u64::from_le_bytes(result.writes[b"count".as_slice()].clone().try_into().unwrap())
	};
	let mut state = ProjectState::default();
	let mut headers = Vec::new();
	let mut results = Vec::new();
	for (seq, range) in [(0u64, 1..=5u64), (1, 6..=8)] {
		store.append(range.map(stored).collect()).unwrap();
		let sealed = seal_batch(&store, &vfs, 1, seq, 100).unwrap().unwrap();
		let header = sealed.header(seq);
		let body = load_body(&vfs, &header).unwrap().unwrap();
		let result = execute_batch(&executor, &project, &header, &body, 1_000, &mut state).unwrap();
		headers.push((header, body));
		results.push(result);
	}
	// Batch 1 ran on top of pending batch 0.
	assert_eq!((count(&results[0]), count(&results[1])), (5, 8));
	assert!(state.finalize(0));
	assert_eq!(state.finalized_root(), results[0].state_root);
	// Suppose batch 1 expired: it runs again on the finalized state, to the same result.
	assert!(state.expire(1).is_empty());
	let (header, body) = &headers[1];
	let again = execute_batch(&executor, &project, header, body, 1_000, &mut state).unwrap();
	assert_eq!(again.output_root, results[1].output_root);
	assert!(state.finalize(1));
	assert_eq!(state.finalized(b"count"), Some(&8u64.to_le_bytes().to_vec()));
	assert!(store.pending(1).unwrap().is_empty());
}
