//! Misbehaves in every way the engine must survive, one handler per way.

use w3b_applet_sdk as sdk;

/// Runs the handler its payload names (a network routes every event here).
#[no_mangle]
pub extern "C" fn start(rid: i32) -> i32 {
	let Ok(name) = sdk::get_data(rid) else { return -1 };
	let handler: extern "C" fn(i32) -> i32 = match &name[..] {
		b"spin" => spin,
		b"grow" => grow,
		b"recurse" => recurse,
		b"gather" => gather,
		b"huge_random" => huge_random,
		b"fill_random" => fill_random,
		b"flood_metrics" => flood_metrics,
		b"hoard_data" => hoard_data,
		b"flood_state" => flood_state,
		b"flood_log" => flood_log,
		_ => return 1,
	};
	handler(rid)
}

/// Loops for ever.
#[no_mangle]
pub extern "C" fn spin(_rid: i32) -> i32 {
	let mut i: u64 = 0;
	loop {
		i = core::hint::black_box(i.wrapping_add(1));
	}
}

/// Grows its memory a megabyte at a time until the host says no, then traps.
#[no_mangle]
pub extern "C" fn grow(_rid: i32) -> i32 {
	loop {
		if core::arch::wasm32::memory_grow(0, 16) == usize::MAX {
			core::arch::wasm32::unreachable();
		}
	}
}

#[allow(unconditional_recursion)]
fn depth(n: u64) -> u64 {
	core::hint::black_box(depth(n + 1)) + 1
}

/// Recurses without end.
#[no_mangle]
pub extern "C" fn recurse(_rid: i32) -> i32 {
	depth(0) as i32
}

#[allow(unconditional_recursion)]
fn stack_depth(n: u64) -> u64 {
	// A frame whose address escapes lives on Rust's stack in linear memory, not on the
	// engine's WASM stack.
	let frame = [n as u8; 1024];
	core::hint::black_box(&frame);
	core::hint::black_box(stack_depth(n + 1)) + u64::from(frame[0])
}

/// Recurses through 1 KiB frames on the stack in linear memory until it runs below
/// address 0 (the SDK's stack is the first 32 KiB).
#[no_mangle]
pub extern "C" fn overflow_stack(_rid: i32) -> i32 {
	stack_depth(0) as i32
}

/// Hands the host pointers outside its memory.
#[no_mangle]
pub extern "C" fn bad_pointer(rid: i32) -> i32 {
	// SAFETY: deliberately wrong; the host must check.
	let log = unsafe { sdk::abi::ws_log(4, 0xffff_fff0usize as *const u8, 64) };
	let get = unsafe {
		sdk::abi::ws_get_data(rid, 0xffff_fff0usize as *mut u32, 0xffff_fff4usize as *mut u32)
	};
	sdk::log(&format!("codes {log} {get}"));
	if log == 6 && get == 5 {
		0
	} else {
		1
	}
}

/// Writes state, then panics: the writes must not survive.
#[no_mangle]
pub extern "C" fn write_then_panic(_rid: i32) -> i32 {
	sdk::set_db(b"poison", b"1").unwrap();
	panic!("after writing");
}

/// Tries the calls that are refused.
#[no_mangle]
pub extern "C" fn nondeterministic(_rid: i32) -> i32 {
	let contract = sdk::call_contract(4690, "{}").err();
	let api = sdk::api_call("{\"Url\":\"https://example.com\"}").err();
	sdk::log(&format!("codes {contract:?} {api:?}"));
	if contract == Some(10) && api == Some(10) {
		0
	} else {
		1
	}
}

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
	fn fd_write(fd: i32, iovs: *const u32, iovs_len: i32, written: *mut u32) -> i32;
	fn random_get(buf: *mut u8, len: i32) -> i32;
}

/// Grows the memory to `mib` MiB and returns its size in bytes.
fn memory_of(mib: usize) -> usize {
	let pages = mib * 16;
	let now = core::arch::wasm32::memory_size(0);
	if now < pages {
		core::arch::wasm32::memory_grow(0, pages - now);
	}
	core::arch::wasm32::memory_size(0) * 65536
}

/// Asks the host to gather 1,000 iovecs, each over 32 MiB of memory (~32 GB).
#[no_mangle]
pub extern "C" fn gather(_rid: i32) -> i32 {
	memory_of(40);
	let iovs: Vec<u32> = (0..1000).flat_map(|_| [0, 32 << 20]).collect();
	let mut written = 0u32;
	// SAFETY: the iovecs point into this memory; the host reads them.
	let errno = unsafe { fd_write(1, iovs.as_ptr(), 1000, &mut written) };
	sdk::log(&format!("fd_write {errno} {written}"));
	0
}

/// Asks for 2 GiB of random bytes.
#[no_mangle]
pub extern "C" fn huge_random(_rid: i32) -> i32 {
	// SAFETY: deliberately past the memory; the host must check before producing.
	let errno = unsafe { random_get(core::ptr::null_mut(), i32::MAX) };
	sdk::log(&format!("random_get {errno}"));
	0
}

/// Fills the memory with random bytes, 32 MiB.
#[no_mangle]
pub extern "C" fn fill_random(_rid: i32) -> i32 {
	memory_of(40);
	// SAFETY: the first 32 MiB are this memory's (the host overwrites what is there).
	let errno = unsafe { random_get(core::ptr::null_mut(), 32 << 20) };
	sdk::log(&format!("random_get {errno}"));
	0
}

/// Submits a million 4 KiB metrics.
#[no_mangle]
pub extern "C" fn flood_metrics(_rid: i32) -> i32 {
	let metric = "m".repeat(4096);
	for _ in 0..1_000_000 {
		if sdk::submit_metrics(&metric).is_err() {
			break;
		}
	}
	0
}

/// Sets 32 MiB of event data.
#[no_mangle]
pub extern "C" fn hoard_data(rid: i32) -> i32 {
	memory_of(40);
	// SAFETY: the first 32 MiB are this memory's.
	let code = unsafe { sdk::abi::ws_set_data(rid, core::ptr::null(), 32 << 20) };
	sdk::log(&format!("ws_set_data {code}"));
	0
}

/// Writes 1 MiB values under new keys until the host refuses, then succeeds.
#[no_mangle]
pub extern "C" fn flood_state(_rid: i32) -> i32 {
	let value = vec![0xabu8; 1 << 20];
	let mut written = 0u32;
	for i in 0u32..1_000_000 {
		if sdk::set_db(&i.to_le_bytes(), &value).is_err() {
			break;
		}
		written += 1;
	}
	sdk::log(&format!("wrote {written}"));
	0
}

/// Logs its whole memory ten thousand times.
#[no_mangle]
pub extern "C" fn flood_log(_rid: i32) -> i32 {
	let size = memory_of(40) as i32;
	for _ in 0..10_000 {
		// SAFETY: the range is this memory.
		unsafe { sdk::abi::ws_log(4, core::ptr::null(), size) };
	}
	0
}

/// Runs its payload as a SQL query and answers the host's code.
#[no_mangle]
pub extern "C" fn sql_payload(rid: i32) -> i32 {
	let Ok(payload) = sdk::get_data(rid) else { return -1 };
	match sdk::sql_query(&String::from_utf8_lossy(&payload)) {
		Ok(rows) => {
			sdk::log(&format!("{} bytes", rows.len()));
			0
		},
		Err(code) => code,
	}
}

/// Executes its payload as a SQL statement and answers the host's code.
#[no_mangle]
pub extern "C" fn sql_exec_payload(rid: i32) -> i32 {
	let Ok(payload) = sdk::get_data(rid) else { return -1 };
	match sdk::sql_exec(&String::from_utf8_lossy(&payload)) {
		Ok(()) => 0,
		Err(code) => code,
	}
}

/// The secret of an event whose payload is `payload`: not a constant (the module's data
/// would hold it) and not the payload itself (the next event's payload is in memory).
fn secret_of(rid: i32) -> u64 {
	let payload = sdk::get_data(rid).unwrap_or_default();
	let mut bytes = [0u8; 8];
	let n = payload.len().min(8);
	bytes[..n].copy_from_slice(&payload[..n]);
	!u64::from_le_bytes(bytes)
}

/// How many 8-byte words of the whole memory hold `secret`.
fn count_secret(secret: u64) -> usize {
	let size = core::arch::wasm32::memory_size(0) * 65536;
	// SAFETY: every address read is inside the memory.
	(0..size).step_by(8).filter(|at| unsafe { core::ptr::read_volatile(*at as *const u64) } == secret).count()
}

/// Leaves the event's secret in an allocation (the first pages of memory) and at the
/// start of every page of a memory grown to 2 MiB; logs how many copies it sees.
#[no_mangle]
pub extern "C" fn leave_secret(rid: i32) -> i32 {
	let secret = secret_of(rid);
	core::mem::forget(vec![secret; 512]);
	let start = core::arch::wasm32::memory_size(0) * 65536;
	let size = memory_of(2);
	for page in (start..size).step_by(65536) {
		// SAFETY: the page was just grown and is this memory's.
		unsafe { core::ptr::write_volatile(page as *mut u64, secret) };
	}
	sdk::log(&format!("left {}", count_secret(secret)));
	0
}

/// Grows the memory to 2 MiB, as `leave_secret` did, and looks through all of it for
/// the secret an earlier event left.
#[no_mangle]
pub extern "C" fn find_secret(rid: i32) -> i32 {
	let secret = secret_of(rid);
	memory_of(2);
	let found = count_secret(secret);
	sdk::log(&format!("found {found}"));
	0
}
