//! Uses the Rust standard library the way ordinary code does, through WASI: prints to
//! stdout and stderr, reads an environment variable, reads the clock, and hashes with a
//! randomly keyed hasher. On the engine all of it is deterministic.

use std::{
	collections::hash_map::RandomState,
	hash::BuildHasher,
	time::{SystemTime, UNIX_EPOCH},
};

pub use w3b_applet_sdk::alloc;

/// Default handler.
#[no_mangle]
pub extern "C" fn start(_rid: i32) -> i32 {
	println!("hello from stdout");
	eprintln!("hello from stderr");
	let greeting = std::env::var("GREETING").unwrap_or_else(|_| "<none>".into());
	let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
	let keyed = RandomState::new().hash_one("w3b");
	println!("greeting={greeting} now_ms={now} keyed_hash={keyed}");
	0
}
