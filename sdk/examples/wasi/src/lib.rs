//! Uses the Rust standard library the way ordinary code does, through WASI: prints to
//! stdout and stderr, reads an environment variable, reads the clock, and hashes with a
//! randomly keyed hasher. On the engine all of it is deterministic. It also tries what the
//! sandbox refuses: opening a file and reading stdin, with the raw WASI calls (the
//! standard library would refuse to open without asking the host: no directory is
//! preopened).

use std::{
	collections::hash_map::RandomState,
	hash::BuildHasher,
	time::{SystemTime, UNIX_EPOCH},
};

pub use w3b_applet_sdk::alloc;

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
	fn path_open(
		dir_fd: i32,
		dir_flags: i32,
		path: *const u8,
		path_len: usize,
		open_flags: i32,
		rights_base: u64,
		rights_inheriting: u64,
		fd_flags: i32,
		opened: *mut i32,
	) -> i32;
	fn fd_read(fd: i32, iovecs: *const [usize; 2], iovecs_len: usize, read: *mut usize) -> i32;
}

/// Default handler.
#[no_mangle]
pub extern "C" fn start(_rid: i32) -> i32 {
	println!("hello from stdout");
	eprintln!("hello from stderr");
	let greeting = std::env::var("GREETING").unwrap_or_else(|_| "<none>".into());
	let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
	let keyed = RandomState::new().hash_one("w3b");
	println!("greeting={greeting} now_ms={now} keyed_hash={keyed}");
	let path = b"/etc/passwd";
	let (mut opened, mut buffer, mut read) = (-1, [0u8; 16], 0);
	let iovec = [buffer.as_mut_ptr() as usize, buffer.len()];
	// SAFETY: the host reads and writes only inside the buffers passed.
	let (open_errno, read_errno) = unsafe {
		(
			path_open(3, 0, path.as_ptr(), path.len(), 0, u64::MAX, u64::MAX, 0, &mut opened),
			fd_read(0, &iovec, 1, &mut read),
		)
	};
	println!("path_open errno={open_errno} fd={opened} fd_read errno={read_errno} read={read}");
	0
}
