//! "Stored" means fsynced: every append and seal the store answers was on disk before the
//! answer. A process kill cannot show this (unsynced writes survive it in the page
//! cache), so this binary puts itself between the store and the kernel: it defines
//! `fdatasync` and `fsync`, which the dynamic linker then takes over libc's, records the
//! file and its size at each call and makes the real system call. After each answer the
//! log's size must be covered by a sync of the log made during the call: a store that
//! skipped the sync, or synced before writing, fails here.
//!
//! One test in this binary: the record of syncs is the whole process's.

mod common;

use std::{
	path::{Path, PathBuf},
	sync::Mutex,
};

use common::stored;
use w3b_storage::{EmbeddedStore, MessageStore};

/// A sync the process asked for: which file, and its size then.
struct Synced {
	path: PathBuf,
	size: u64,
}

static SYNCS: Mutex<Vec<Synced>> = Mutex::new(Vec::new());

fn record(fd: libc::c_int) {
	let path = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap_or_default();
	// SAFETY: fstat fills a local struct for a descriptor the caller holds open.
	let size = unsafe {
		let mut stat: libc::stat = std::mem::zeroed();
		if libc::fstat(fd, &mut stat) == 0 {
			stat.st_size as u64
		} else {
			0
		}
	};
	SYNCS.lock().unwrap_or_else(|e| e.into_inner()).push(Synced { path, size });
}

/// Takes the place of libc's `fdatasync` for this process (`File::sync_data`).
#[unsafe(no_mangle)]
pub extern "C" fn fdatasync(fd: libc::c_int) -> libc::c_int {
	record(fd);
	// SAFETY: the system call itself, with the caller's descriptor.
	unsafe { libc::syscall(libc::SYS_fdatasync, fd) as libc::c_int }
}

/// Takes the place of libc's `fsync` for this process (`File::sync_all`).
#[unsafe(no_mangle)]
pub extern "C" fn fsync(fd: libc::c_int) -> libc::c_int {
	record(fd);
	// SAFETY: as above.
	unsafe { libc::syscall(libc::SYS_fsync, fd) as libc::c_int }
}

/// How many syncs are recorded so far.
fn mark() -> usize {
	SYNCS.lock().unwrap().len()
}

/// The largest size of `path` synced since `mark`.
fn synced_since(mark: usize, path: &Path) -> Option<u64> {
	let path = path.canonicalize().unwrap();
	SYNCS.lock().unwrap()[mark..].iter().filter(|s| s.path == path).map(|s| s.size).max()
}

#[test]
fn every_answer_comes_after_its_bytes_are_synced() {
	let dir = tempfile::tempdir().unwrap();
	// The shim is in the way: a sync of any file is seen.
	let probe = dir.path().join("probe");
	let before = mark();
	std::fs::write(&probe, b"probe").unwrap();
	std::fs::File::open(&probe).unwrap().sync_data().unwrap();
	assert_eq!(synced_since(before, &probe), Some(5), "fdatasync is not interposed");

	let store = EmbeddedStore::open(dir.path()).unwrap();
	let log = dir.path().join("messages.log");
	let mut seq = 0;
	for group in 1..=40u64 {
		let messages: Vec<_> = (0..group % 7 + 1)
			.map(|_| {
				seq += 1;
				stored(1, 1, seq, &[seq as u8; 300])
			})
			.collect();
		let before = mark();
		let answers = store.append(messages).unwrap();
		assert!(answers.iter().all(Result::is_ok));
		let size = std::fs::metadata(&log).unwrap().len();
		let synced = synced_since(before, &log);
		assert!(
			synced.is_some_and(|synced| synced >= size),
			"group {group} answered with the log at {size} bytes, synced {synced:?}"
		);
		// A seal is durable when it returns too.
		if group % 5 == 0 {
			let pending = store.pending(1).unwrap();
			let before = mark();
			store.seal(1, group / 5 - 1, pending).unwrap();
			let size = std::fs::metadata(&log).unwrap().len();
			let synced = synced_since(before, &log);
			assert!(
				synced.is_some_and(|synced| synced >= size),
				"seal {group} answered with the log at {size} bytes, synced {synced:?}"
			);
		}
	}
	// A refused duplicate writes nothing, and its answer needs no sync.
	let duplicate = stored(1, 1, seq, &[seq as u8; 300]);
	let size = std::fs::metadata(&log).unwrap().len();
	assert!(store.append(vec![duplicate]).unwrap()[0].is_err());
	assert_eq!(std::fs::metadata(&log).unwrap().len(), size);
}
