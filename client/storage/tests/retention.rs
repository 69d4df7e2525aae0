//! Retention over a real store and VFS: what the policy lets go is dropped and unpinned,
//! nothing unsettled and no pending message is touched.

mod common;

use common::stored;
use w3b_primitives::project::RetentionPolicy;
use w3b_storage::{
	retention::{prunable, release, BatchInfo},
	EmbeddedStore, FsVfs, MessageStore, Vfs,
};

#[test]
fn retention_drops_settled_old_batches_and_their_bodies_only() {
	let dir = tempfile::tempdir().unwrap();
	let store = EmbeddedStore::open(&dir.path().join("store")).unwrap();
	let vfs = FsVfs::open(&dir.path().join("vfs")).unwrap();
	let now = 10_000_000u64;
	let policy = RetentionPolicy { max_age_secs: 60, max_bytes: 0 };
	let mut infos = Vec::new();
	for seq in 0..4u64 {
		store.append(vec![stored(1, 1, seq + 1, &[seq as u8; 32])]).unwrap();
		let hashes = store.pending(1).unwrap();
		store.seal(1, seq, hashes).unwrap();
		let body = format!("batch {seq}").into_bytes();
		let cid = vfs.put(&body).unwrap();
		// Batches 0-2 are two minutes old, batch 2 not settled yet, batch 3 is new.
		let age_ms = if seq < 3 { 120_000 } else { 0 };
		infos.push(BatchInfo {
			seq,
			committed_at_ms: now - age_ms,
			bytes: 32,
			cid,
			settled: seq != 2,
		});
	}
	// A pending (unsealed) message must survive whatever happens.
	store.append(vec![stored(1, 1, 10, b"pending")]).unwrap();

	let count = prunable(&policy, &infos, now);
	assert_eq!(count, 2, "stops at the unsettled batch");
	release(&store, &vfs, 1, &infos[..count], Some(infos[count - 1].seq));
	assert!(store.batch(1, 0).unwrap().is_none() && store.batch(1, 1).unwrap().is_none());
	assert!(store.batch(1, 2).unwrap().is_some(), "unsettled batch kept");
	assert!(vfs.get(&infos[0].cid).unwrap().is_none(), "released body collected");
	assert!(vfs.get(&infos[2].cid).unwrap().is_some());
	assert_eq!(store.pending(1).unwrap().len(), 1);

	// Once batch 2 settles it goes too, never batch 3 (the newest); a batch this node did
	// not seal releases its body only.
	infos[2].settled = true;
	let rest = &infos[2..];
	let count = prunable(&policy, rest, now);
	assert_eq!(count, 1);
	release(&store, &vfs, 1, &rest[..count], None);
	assert!(vfs.get(&infos[2].cid).unwrap().is_none());
	assert!(store.batch(1, 2).unwrap().is_some(), "not this node's to drop");
	assert!(store.batch(1, 3).unwrap().is_some());
	assert!(vfs.get(&infos[3].cid).unwrap().is_some());
	assert_eq!(store.pending(1).unwrap().len(), 1);
}
