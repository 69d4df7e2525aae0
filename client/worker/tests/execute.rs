//! Sealed batches judged and executed by the engine with the Rust SDK's counter applet:
//! state layered over pending batches, finalized in order, rolled back and re-executed
//! to the same result after an expiry; forged and replayed copies never counted.

#[path = "../../executor/tests/common/mod.rs"]
mod applets;

use std::{collections::HashMap, sync::Arc};

use sp_core::{ed25519, Pair};
use w3b_executor::{EngineConfig, Executor};
use w3b_primitives::{
	project::{DeviceRecord, DeviceStatus},
	validity::{Context, Invalid},
	DeviceKey, DeviceSignature, Message,
};
use w3b_storage::{load_body, BatchBody, EmbeddedStore, FsVfs, MessageStore, StoredMessage};
use w3b_worker::{
	execute::{execute_batch, Executed, ProjectContext},
	seal_batch, BatchLimits, ProjectState,
};

const NOW: u64 = 1_800_000_000_000;

struct Device(ed25519::Pair);

impl Device {
	fn record(&self) -> DeviceRecord<u32> {
		DeviceRecord {
			key: DeviceKey::Ed25519(self.0.public().0),
			did: None,
			status: DeviceStatus::Active,
			registered_at: 1,
			revoked_at: None,
		}
	}

	fn stored(&self, seq: u64) -> StoredMessage {
		let message = Message {
			project: 1,
			device: self.record().key.device_id(),
			seq,
			timestamp_ms: NOW - seq,
			event_type: b"DEFAULT".to_vec(),
			payload: b"device=d1".to_vec(),
			encrypted: false,
		};
		let signature = DeviceSignature::Ed25519(self.0.sign(message.hash().as_bytes()).0);
		StoredMessage { message, signature, received_ms: NOW }
	}
}

fn count(executed: &Executed) -> u64 {
	u64::from_le_bytes(executed.result.writes[b"count".as_slice()].clone().try_into().unwrap())
}

#[test]
fn batches_execute_on_pending_state_and_replay_identically_after_expiry() {
	let dir = tempfile::tempdir().unwrap();
	let store = EmbeddedStore::open(&dir.path().join("store")).unwrap();
	let vfs = FsVfs::open(&dir.path().join("vfs")).unwrap();
	let executor = Executor::new(EngineConfig::default()).unwrap();
	let counter = applets::load(&executor, "counter");
	let project_applets = [applets::applet(0, counter, &[])];
	let device = Device(ed25519::Pair::from_seed(&[3; 32]));
	let devices = HashMap::from([(device.record().key.device_id(), device.record())]);
	let project = ProjectContext {
		commitment: Context { project: 1, committed_at: 10, committed_at_ms: NOW },
		env: Arc::new(Vec::new()),
		fuel_per_batch: 1_000_000_000,
		applets: &project_applets,
		devices: &devices,
	};
	let limits = BatchLimits { max_messages: 100, max_bytes: 1 << 20 };
	let mut state = ProjectState::default();
	let mut headers = Vec::new();
	let mut results = Vec::new();
	for (seq, range) in [(0u64, 1..=5u64), (1, 6..=8)] {
		store.append(range.map(|s| device.stored(s)).collect()).unwrap();
		let sealed = seal_batch(&store, &vfs, 1, seq, limits).unwrap().unwrap();
		let header = sealed.header(seq);
		let body = load_body(&vfs, &header).unwrap().unwrap();
		let executed = execute_batch(&executor, &project, &header, &body, &mut state).unwrap();
		assert!(executed.verdicts.refused.is_empty());
		headers.push((header, body));
		results.push(executed);
	}
	// Batch 1 ran on top of pending batch 0.
	assert_eq!((count(&results[0]), count(&results[1])), (5, 8));
	assert!(state.finalize(0));
	assert_eq!(state.finalized_root(), results[0].result.state_root);
	// Suppose batch 1 expired: it runs again on the finalized state, to the same result.
	assert!(state.expire(1).is_empty());
	let (header, body) = &headers[1];
	let again = execute_batch(&executor, &project, header, body, &mut state).unwrap();
	assert_eq!(again.result.output_root, results[1].result.output_root);
	assert!(state.finalize(1));
	assert_eq!(state.finalized(b"count"), Some(&8u64.to_le_bytes().to_vec()));
	assert!(store.pending(1).unwrap().is_empty());

	// A later batch of copies and forgeries: a replay of seq 3, seq 6 twice, a message
	// whose payload was changed after signing. Only seq 9 counts.
	let mut forged = device.stored(10);
	forged.message.payload = b"device=d1;boost".to_vec();
	let copies =
		BatchBody { messages: vec![device.stored(3), device.stored(9), device.stored(6), forged] };
	let header = w3b_primitives::BatchHeader {
		project: 1,
		seq: 2,
		merkle_root: w3b_primitives::merkle::merkle_root(&copies.hashes()),
		count: 4,
		bytes: 0,
		cid: Default::default(),
	};
	let executed = execute_batch(&executor, &project, &header, &copies, &mut state).unwrap();
	assert_eq!(executed.verdicts.counted, [1]);
	assert_eq!(
		executed.verdicts.refused,
		[(0, Invalid::Replayed), (2, Invalid::Replayed), (3, Invalid::BadSignature)]
	);
	assert_eq!(count(&executed), 9, "one message counted");
}
