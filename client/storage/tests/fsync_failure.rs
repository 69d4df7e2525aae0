//! A disk that fails a sync with `EIO` (a dying disk, a thin pool out of space, a network
//! block device gone): after such a failure Linux may already have dropped the dirty
//! pages, so the bytes written before it are in an unknown state. The store must answer
//! the failure, cut the failed group off the log, and never acknowledge past it; if even
//! the cut cannot be made durable, it takes nothing more until it is opened again.
//!
//! The binary puts itself between the store and the kernel: it defines `fdatasync` and
//! `fsync`, which the dynamic linker then takes over libc's, and fails them on the message
//! log while told to. One test in this binary: the failure switch is the whole process's.

mod common;

use std::sync::atomic::{AtomicU8, Ordering};

use common::stored;
use sp_core::H256;
use w3b_storage::{EmbeddedStore, MessageStore, StoreError, StoredMessage};

/// Syncs of the message log succeed.
const HEALTHY: u8 = 0;
/// `fdatasync` of the message log fails (the append's sync), `fsync` works (the cut).
const DATA_SYNC_FAILS: u8 = 1;
/// Both fail: the failed group cannot be cut off durably either.
const EVERY_SYNC_FAILS: u8 = 2;

static DISK: AtomicU8 = AtomicU8::new(HEALTHY);

fn is_message_log(fd: libc::c_int) -> bool {
	std::fs::read_link(format!("/proc/self/fd/{fd}"))
		.is_ok_and(|path| path.file_name().is_some_and(|name| name == "messages.log"))
}

fn fail_with_eio() -> libc::c_int {
	// SAFETY: errno is this thread's.
	unsafe { *libc::__errno_location() = libc::EIO };
	-1
}

/// Takes the place of libc's `fdatasync` for this process (`File::sync_data`).
#[unsafe(no_mangle)]
pub extern "C" fn fdatasync(fd: libc::c_int) -> libc::c_int {
	if DISK.load(Ordering::SeqCst) != HEALTHY && is_message_log(fd) {
		return fail_with_eio();
	}
	// SAFETY: the system call itself, with the caller's descriptor.
	unsafe { libc::syscall(libc::SYS_fdatasync, fd) as libc::c_int }
}

/// Takes the place of libc's `fsync` for this process (`File::sync_all`).
#[unsafe(no_mangle)]
pub extern "C" fn fsync(fd: libc::c_int) -> libc::c_int {
	if DISK.load(Ordering::SeqCst) == EVERY_SYNC_FAILS && is_message_log(fd) {
		return fail_with_eio();
	}
	// SAFETY: as above.
	unsafe { libc::syscall(libc::SYS_fsync, fd) as libc::c_int }
}

fn messages(seqs: std::ops::RangeInclusive<u64>, fill: u8) -> Vec<StoredMessage> {
	seqs.map(|seq| stored(1, 1, seq, &[fill; 200])).collect()
}

fn assert_holds(store: &EmbeddedStore, kept: &[StoredMessage], lost: &[StoredMessage]) {
	for message in kept {
		let hash = message.message.hash();
		assert_eq!(store.get(&hash).unwrap().as_ref(), Some(message), "{hash:?} acknowledged");
	}
	for message in lost {
		assert!(!store.contains(&message.message.hash()).unwrap(), "refused, yet stored");
	}
}

#[test]
fn a_failed_sync_is_never_acknowledged_and_leaves_nothing_behind() {
	let dir = tempfile::tempdir().unwrap();
	let log = dir.path().join("messages.log");
	let store = EmbeddedStore::open(dir.path()).unwrap();
	let first = messages(1..=10, 0x11);
	assert!(store.append(first.clone()).unwrap().iter().all(Result::is_ok));
	let size = store.log_size();

	// The append's sync fails: the group is refused and cut off the log.
	DISK.store(DATA_SYNC_FAILS, Ordering::SeqCst);
	let refused = messages(11..=20, 0x22);
	let error = store.append(refused.clone()).expect_err("the sync failed");
	assert!(matches!(error, StoreError::Io(_)), "{error}");
	assert!(error.to_string().contains("Input/output error"), "{error}");
	assert_eq!(std::fs::metadata(&log).unwrap().len(), size, "the failed group is cut off");
	assert_eq!(store.last_seq(1, H256::repeat_byte(1)).unwrap(), Some(10));

	// The disk recovers: the refused seqs are free, later groups land where the index says.
	DISK.store(HEALTHY, Ordering::SeqCst);
	let second = messages(11..=20, 0x33);
	assert!(store.append(second.clone()).unwrap().iter().all(Result::is_ok));
	let acknowledged = [first, second].concat();
	assert_holds(&store, &acknowledged, &refused);
	drop(store);
	let store = EmbeddedStore::open(dir.path()).unwrap();
	assert_holds(&store, &acknowledged, &refused);
	let size = store.log_size();

	// Now the cut cannot be made durable either: the store stops taking messages rather
	// than acknowledge anything written after bytes of unknown state.
	DISK.store(EVERY_SYNC_FAILS, Ordering::SeqCst);
	let lost = messages(21..=25, 0x44);
	assert!(store.append(lost.clone()).is_err());
	DISK.store(HEALTHY, Ordering::SeqCst);
	let after = messages(26..=30, 0x55);
	let error = store.append(after.clone()).expect_err("the store stopped");
	assert!(matches!(error, StoreError::Failed(_)), "{error}");
	drop(store);
	// Opened again (the node restarted), it replays the log: everything acknowledged is
	// there, nothing refused, and it takes messages again.
	let store = EmbeddedStore::open(dir.path()).unwrap();
	assert_eq!(store.log_size(), size);
	assert_holds(&store, &acknowledged, &[lost, after.clone(), refused].concat());
	assert!(store.append(after).unwrap().iter().all(Result::is_ok));
}
