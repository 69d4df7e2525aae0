//! The pruner over a real store and VFS: what retention lets go is dropped and unpinned,
//! nothing unsettled is touched.

mod common;

use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
	time::Duration,
};

use common::stored;
use w3b_primitives::project::RetentionPolicy;
use w3b_storage::{
	retention::{prune_once, BatchInfo, Pruner, RetentionView},
	EmbeddedStore, FsVfs, MessageStore, Vfs,
};

#[derive(Default)]
struct View {
	policies: Vec<(u64, RetentionPolicy)>,
	batches: Mutex<HashMap<u64, Vec<BatchInfo>>>,
}

impl RetentionView for View {
	fn projects(&self) -> Vec<(u64, RetentionPolicy)> {
		self.policies.clone()
	}
	fn batches(&self, project: u64) -> Vec<BatchInfo> {
		self.batches.lock().unwrap().get(&project).cloned().unwrap_or_default()
	}
}

#[test]
fn retention_drops_settled_old_batches_and_their_bodies_only() {
	let dir = tempfile::tempdir().unwrap();
	let store = Arc::new(EmbeddedStore::open(&dir.path().join("store")).unwrap());
	let vfs = Arc::new(FsVfs::open(&dir.path().join("vfs")).unwrap());
	let now = 10_000_000u64;
	let view = View {
		policies: vec![(1, RetentionPolicy { max_age_secs: 60, max_bytes: 0 })],
		..Default::default()
	};
	let mut infos = Vec::new();
	for seq in 0..4u64 {
		store.append(vec![stored(1, 1, seq + 1, &[seq as u8; 32])]).unwrap();
		let hashes = store.pending(1).unwrap();
		store.seal(1, seq, hashes).unwrap();
		let body = format!("batch {seq}").into_bytes();
		let cid = vfs.put(&body).unwrap();
		vfs.pin(&cid).unwrap();
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
	view.batches.lock().unwrap().insert(1, infos.clone());
	let view = Arc::new(view);

	assert_eq!(prune_once(&*view, &*store, &*vfs, now), 2);
	assert!(store.batch(1, 0).unwrap().is_none() && store.batch(1, 1).unwrap().is_none());
	assert!(store.batch(1, 2).unwrap().is_some(), "unsettled batch kept");
	assert!(vfs.get(&infos[0].cid).unwrap().is_none(), "pruned body collected");
	assert!(vfs.get(&infos[2].cid).unwrap().is_some());
	assert_eq!(store.pending(1).unwrap().len(), 1);

	// Once batch 2 settles, the background pruner takes it (never batch 3, the newest).
	{
		let mut batches = view.batches.lock().unwrap();
		let list = batches.get_mut(&1).unwrap();
		list.drain(..2);
		list[0].settled = true;
	}
	fn clock() -> u64 {
		10_000_000
	}
	let pruner =
		Pruner::start(view.clone(), store.clone(), vfs.clone(), Duration::from_millis(20), clock);
	let deadline = std::time::Instant::now() + Duration::from_secs(10);
	while store.batch(1, 2).unwrap().is_some() {
		assert!(std::time::Instant::now() < deadline, "the pruner did not run");
		std::thread::sleep(Duration::from_millis(20));
	}
	drop(pruner);
	assert!(store.batch(1, 3).unwrap().is_some());
	assert!(vfs.get(&infos[3].cid).unwrap().is_some());
	assert_eq!(store.pending(1).unwrap().len(), 1);
}
