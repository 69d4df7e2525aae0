//! A disk that refuses writes part-way (here: the file-size limit, `RLIMIT_FSIZE`, which
//! makes a write past it fail after writing what fits, as a full disk does): the failed
//! append is not acknowledged, and nothing acknowledged before or after it is lost or
//! read back wrong, now or after a reopen.
//!
//! One test in this binary: the limit applies to the whole process.

mod common;

use common::stored;
use sp_core::H256;
use w3b_storage::{EmbeddedStore, MessageStore};

/// Sets this process's file-size limit (soft; the hard limit is left alone).
fn limit_file_size(bytes: libc::rlim_t) {
	let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
	// SAFETY: plain syscalls on a local struct.
	unsafe {
		assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit), 0);
		limit.rlim_cur = bytes.min(limit.rlim_max);
		assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
	}
}

#[test]
fn a_write_cut_short_is_refused_and_leaves_no_trace() {
	// A write past the limit fails with EFBIG instead of killing the process.
	// SAFETY: ignoring a signal.
	unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
	let dir = tempfile::tempdir().unwrap();
	let store = EmbeddedStore::open(dir.path()).unwrap();
	let before: Vec<_> = (1..=10).map(|seq| stored(1, 1, seq, &[seq as u8; 200])).collect();
	store.append(before.clone()).unwrap().into_iter().for_each(|r| assert!(r.is_ok()));
	let size = store.log_size();

	// The next group is larger than what the disk still takes: half of it is written.
	limit_file_size(size + 1_000);
	let refused: Vec<_> = (11..=30).map(|seq| stored(1, 1, seq, &[seq as u8; 200])).collect();
	let error = store.append(refused.clone()).expect_err("the disk is full");
	assert!(error.to_string().contains("I/O"), "{error}");
	assert_eq!(store.log_size(), size, "the failed group is not in the log");
	assert_eq!(std::fs::metadata(dir.path().join("messages.log")).unwrap().len(), size);

	// Room again: later messages are stored where the index says, readable now and after
	// a reopen; the refused ones were never stored (their seqs are free).
	limit_file_size(libc::RLIM_INFINITY);
	let after: Vec<_> = (11..=20).map(|seq| stored(1, 1, seq, &[0xaa; 200])).collect();
	store.append(after.clone()).unwrap().into_iter().for_each(|r| assert!(r.is_ok()));
	let check = |store: &EmbeddedStore| {
		for message in before.iter().chain(&after) {
			let hash = message.message.hash();
			assert_eq!(store.get(&hash).unwrap().as_ref(), Some(message), "{hash:?}");
		}
		for message in &refused {
			assert!(!store.contains(&message.message.hash()).unwrap());
		}
		assert_eq!(store.pending(1).unwrap().len(), 20);
		assert_eq!(store.last_seq(1, H256::repeat_byte(1)).unwrap(), Some(20));
	};
	check(&store);
	drop(store);
	check(&EmbeddedStore::open(dir.path()).unwrap());
}
