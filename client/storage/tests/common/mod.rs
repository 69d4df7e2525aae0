//! Messages for the store tests, and the behaviour every backend must have.

#![allow(dead_code)]

use sp_core::H256;
use w3b_primitives::{DeviceSignature, Message};
use w3b_storage::{MessageStore, Rejection, StoredMessage};

/// Message `seq` of `device` in `project`.
pub fn stored(project: u64, device: u8, seq: u64, payload: &[u8]) -> StoredMessage {
	StoredMessage {
		message: Message {
			project,
			device: H256::repeat_byte(device),
			seq,
			timestamp_ms: 1_700_000_000_000 + seq,
			event_type: b"DEFAULT".to_vec(),
			payload: payload.to_vec(),
			encrypted: false,
		},
		signature: DeviceSignature::Ed25519([device; 64]),
		received_ms: 1_700_000_000_000,
	}
}

/// Appends, refusals, batches and pruning, as every backend must do them.
pub fn backend_suite(store: &dyn MessageStore) {
	let a = stored(1, 1, 1, b"a");
	let hash = a.message.hash();
	let results =
		store.append(vec![a.clone(), stored(1, 1, 2, b"b"), stored(1, 2, 1, b"c")]).unwrap();
	assert_eq!(results[0], Ok(hash));
	assert!(results.iter().all(Result::is_ok));
	assert_eq!(store.get(&hash).unwrap(), Some(a.clone()));
	assert!(store.contains(&hash).unwrap() && !store.contains(&H256::zero()).unwrap());
	assert_eq!(store.last_seq(1, H256::repeat_byte(1)).unwrap(), Some(2));
	assert_eq!(store.last_seq(1, H256::repeat_byte(9)).unwrap(), None);
	let again = store
		.append(vec![
			a.clone(),
			stored(1, 1, 2, b"other"),
			stored(1, 3, 5, b"x"),
			stored(1, 3, 5, b"y"),
		])
		.unwrap();
	assert_eq!(again[0], Err(Rejection::Duplicate(hash)));
	assert_eq!(again[1], Err(Rejection::StaleSeq { seq: 2, last: 2 }));
	assert!(again[2].is_ok());
	assert_eq!(again[3], Err(Rejection::StaleSeq { seq: 5, last: 5 }));
	let pending = store.pending(1).unwrap();
	assert_eq!(pending.len(), 4);
	assert_eq!(pending[0], hash, "arrival order");

	// Batches take messages out of the pending list, in the given order.
	assert_eq!(store.last_sealed(1).unwrap(), None);
	let batch = vec![pending[2], pending[0]];
	store.seal(1, 0, batch.clone()).unwrap();
	assert_eq!(store.last_sealed(1).unwrap(), Some(0));
	assert_eq!(store.batch(1, 0).unwrap(), Some(batch));
	assert_eq!(store.pending(1).unwrap(), vec![pending[1], pending[3]]);
	assert!(store.seal(1, 0, vec![pending[1]]).is_err(), "sealed twice");
	assert!(store.seal(1, 1, vec![pending[0]]).is_err(), "not pending");
	assert!(store.seal(1, 1, vec![H256::zero()]).is_err(), "unknown");
	assert_eq!(store.pending(1).unwrap().len(), 2, "a refused seal changes nothing");
	store.seal(1, 1, vec![pending[1]]).unwrap();

	// Pruning drops sealed batches only; replayed seqs stay refused.
	assert_eq!(store.prune(1, 0).unwrap(), 2);
	assert_eq!(store.batch(1, 0).unwrap(), None);
	assert_eq!(store.get(&hash).unwrap(), None);
	assert!(store.batch(1, 1).unwrap().is_some());
	assert_eq!(store.last_sealed(1).unwrap(), Some(1));
	store.prune(1, 1).unwrap();
	assert_eq!(store.last_sealed(1).unwrap(), Some(1), "pruned batches still count");
	assert_eq!(store.pending(1).unwrap(), vec![pending[3]]);
	assert_eq!(
		store.append(vec![stored(1, 1, 1, b"a")]).unwrap()[0],
		Err(Rejection::StaleSeq { seq: 1, last: 2 })
	);
}
