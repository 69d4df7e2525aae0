//! Counts events in the project's key-value state: a total under `count` and, when the
//! payload names a device (`device=<id>`), one counter per device. Also reads `GREETING`
//! from the environment.

use w3b_applet_sdk as sdk;

fn bump(key: &[u8]) -> u64 {
	let count =
		sdk::get_db(key).and_then(|v| v.try_into().ok()).map(u64::from_le_bytes).unwrap_or(0) + 1;
	sdk::set_db(key, &count.to_le_bytes()).expect("state write");
	count
}

/// Default handler.
#[no_mangle]
pub extern "C" fn start(rid: i32) -> i32 {
	let Ok(payload) = sdk::get_data(rid) else { return -1 };
	let total = bump(b"count");
	if let Some(device) = payload.strip_prefix(b"device=") {
		let mut key = b"count/".to_vec();
		key.extend_from_slice(device);
		bump(&key);
	}
	if total == 1 {
		if let Ok(greeting) = sdk::get_env("GREETING") {
			sdk::log(&greeting);
		}
	}
	0
}
