//! Write W3bstream applets in Rust.
//!
//! An applet is a `cdylib` built for `wasm32-unknown-unknown` that exports handlers
//! `extern "C" fn(rid: i32) -> i32` (return 0 for success). This crate exports the
//! `alloc` the host uses to hand data over, and wraps every host function:
//!
//! ```ignore
//! #[no_mangle]
//! pub extern "C" fn start(rid: i32) -> i32 {
//!     let payload = w3b_applet_sdk::get_data(rid).unwrap_or_default();
//!     w3b_applet_sdk::log(&format!("got {} bytes", payload.len()));
//!     0
//! }
//! ```
//!
//! Host failures come back as `Err(code)` with the codes of the W3bstream ABI (2 not
//! found, 5/6 copy failures, 7 host error, 8 no such env key, 9 no SQL database,
//! 10 refused as nondeterministic, -1 failed).

#![deny(missing_docs)]

/// The raw host functions.
pub mod abi {
	#[link(wasm_import_module = "env")]
	extern "C" {
		/// Logs `size` bytes at `ptr` at `level`.
		pub fn ws_log(level: i32, ptr: *const u8, size: i32) -> i32;
		/// The payload of resource `rid`, handed over through `alloc`.
		pub fn ws_get_data(rid: i32, ret_ptr: *mut u32, ret_size: *mut u32) -> i32;
		/// Sets the response data of resource `rid`.
		pub fn ws_set_data(rid: i32, ptr: *const u8, size: i32) -> i32;
		/// Reads the project state under a key.
		pub fn ws_get_db(
			key: *const u8,
			key_size: i32,
			ret_ptr: *mut u32,
			ret_size: *mut u32,
		) -> i32;
		/// Writes the project state under a key.
		pub fn ws_set_db(key: *const u8, key_size: i32, value: *const u8, value_size: i32) -> i32;
		/// Reads a project environment variable.
		pub fn ws_get_env(
			key: *const u8,
			key_size: i32,
			ret_ptr: *mut u32,
			ret_size: *mut u32,
		) -> i32;
		/// Records a transaction for the bridge; hands back its id.
		pub fn ws_send_tx(
			chain_id: i32,
			ptr: *const u8,
			size: i32,
			ret_ptr: *mut u32,
			ret_size: *mut u32,
		) -> i32;
		/// Contract read (refused by W3bstream appchain operators).
		pub fn ws_call_contract(
			chain_id: i32,
			ptr: *const u8,
			size: i32,
			ret_ptr: *mut u32,
			ret_size: *mut u32,
		) -> i32;
		/// Executes a SQL statement (JSON request).
		pub fn ws_set_sql_db(ptr: *const u8, size: i32) -> i32;
		/// Runs a SQL query (JSON request); hands back rows as JSON.
		pub fn ws_get_sql_db(
			ptr: *const u8,
			size: i32,
			ret_ptr: *mut u32,
			ret_size: *mut u32,
		) -> i32;
		/// HTTP call (refused by W3bstream appchain operators).
		pub fn ws_api_call(ptr: *const u8, size: i32, ret_ptr: *mut u32, ret_size: *mut u32)
			-> i32;
	}

	#[link(wasm_import_module = "stat")]
	extern "C" {
		/// Submits a metric (JSON).
		pub fn ws_submit_metrics(ptr: *const u8, size: i32) -> i32;
	}
}

/// What the host failed with.
pub type Code = i32;

/// The allocator of applets built with this crate (feature `arena`, on by default;
/// without it Rust's own allocator is used, and an applet may set its own).
///
/// The engine runs every event in a fresh instance, so an event's allocations come
/// from a 16 KiB arena in the module's initial memory, handed out in order (a block
/// freed or grown while it is the last one gives back or takes room; others stay used
/// until the event ends). Past the arena, Rust's allocator takes over. Rust's allocator
/// alone grows the memory on an event's first allocation, and growing a memory costs
/// the engine a system call that stops the other cores (see `keep_resident_bytes` in
/// the engine); with the arena a small event never grows its memory.
#[cfg(all(target_family = "wasm", feature = "arena"))]
mod arena {
	use core::{
		alloc::{GlobalAlloc, Layout},
		cell::UnsafeCell,
		sync::atomic::{AtomicUsize, Ordering},
	};
	use std::alloc::System;

	const ARENA_BYTES: usize = 16 << 10;

	#[repr(C, align(16))]
	struct Arena(UnsafeCell<[u8; ARENA_BYTES]>);

	// SAFETY: applets have one thread; the arena's bytes are handed out once each.
	unsafe impl Sync for Arena {}

	static ARENA: Arena = Arena(UnsafeCell::new([0; ARENA_BYTES]));
	/// Offset of the first free byte of the arena.
	static USED: AtomicUsize = AtomicUsize::new(0);

	fn base() -> usize {
		ARENA.0.get() as usize
	}

	fn in_arena(ptr: *mut u8) -> bool {
		(base()..base() + ARENA_BYTES).contains(&(ptr as usize))
	}

	/// Whether `ptr` of `size` bytes is the last block handed out.
	fn is_last(ptr: *mut u8, size: usize) -> bool {
		ptr as usize + size == base() + USED.load(Ordering::Relaxed)
	}

	struct EventArena;

	unsafe impl GlobalAlloc for EventArena {
		unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
			let used = USED.load(Ordering::Relaxed);
			let start = (base() + used).next_multiple_of(layout.align());
			match start.checked_add(layout.size()) {
				Some(end) if end <= base() + ARENA_BYTES => {
					USED.store(end - base(), Ordering::Relaxed);
					start as *mut u8
				}
				_ => System.alloc(layout),
			}
		}

		unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
			if !in_arena(ptr) {
				return System.dealloc(ptr, layout);
			}
			if is_last(ptr, layout.size()) {
				USED.store(ptr as usize - base(), Ordering::Relaxed);
			}
		}

		unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
			if in_arena(ptr)
				&& is_last(ptr, layout.size())
				&& ptr as usize + new_size <= base() + ARENA_BYTES
			{
				USED.store(ptr as usize + new_size - base(), Ordering::Relaxed);
				return ptr;
			}
			if !in_arena(ptr) {
				return System.realloc(ptr, layout, new_size);
			}
			// SAFETY: `layout` with `new_size` is valid, as `realloc`'s caller promises.
			let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
			let new = self.alloc(new_layout);
			if !new.is_null() {
				core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
				self.dealloc(ptr, layout);
			}
			new
		}
	}

	#[global_allocator]
	static ALLOCATOR: EventArena = EventArena;
}

/// Allocates `size` bytes for the host to write into; the applet owns them afterwards
/// (the wrappers below take them back).
#[no_mangle]
pub extern "C" fn alloc(size: i32) -> *mut u8 {
	let mut buf = Vec::<u8>::with_capacity(size.max(0) as usize);
	let ptr = buf.as_mut_ptr();
	core::mem::forget(buf);
	ptr
}

/// Calls a host function that hands data back through `alloc`, and takes the data.
fn take(call: impl FnOnce(*mut u32, *mut u32) -> i32) -> Result<Vec<u8>, Code> {
	let (mut ptr, mut len) = (0u32, 0u32);
	let code = call(&mut ptr, &mut len);
	if code != 0 {
		return Err(code);
	}
	// SAFETY: the host wrote `len` bytes into a buffer of capacity `len` from `alloc`.
	Ok(unsafe { Vec::from_raw_parts(ptr as *mut u8, len as usize, len as usize) })
}

fn check(code: i32) -> Result<(), Code> {
	if code == 0 {
		Ok(())
	} else {
		Err(code)
	}
}

/// Logs `message` at info level.
pub fn log(message: &str) {
	// SAFETY: pointer and length of a live str.
	unsafe { abi::ws_log(4, message.as_ptr(), message.len() as i32) };
}

/// The payload of the event `rid`.
pub fn get_data(rid: i32) -> Result<Vec<u8>, Code> {
	// SAFETY: the out-pointers are live locals.
	take(|ptr, len| unsafe { abi::ws_get_data(rid, ptr, len) })
}

/// Sets the response data of the event `rid`.
pub fn set_data(rid: i32, data: &[u8]) -> Result<(), Code> {
	// SAFETY: pointer and length of a live slice.
	check(unsafe { abi::ws_set_data(rid, data.as_ptr(), data.len() as i32) })
}

/// The project state under `key`, if any.
pub fn get_db(key: &[u8]) -> Option<Vec<u8>> {
	// SAFETY: as above.
	take(|ptr, len| unsafe { abi::ws_get_db(key.as_ptr(), key.len() as i32, ptr, len) }).ok()
}

/// Writes `value` under `key` in the project state.
pub fn set_db(key: &[u8], value: &[u8]) -> Result<(), Code> {
	// SAFETY: as above.
	check(unsafe {
		abi::ws_set_db(key.as_ptr(), key.len() as i32, value.as_ptr(), value.len() as i32)
	})
}

/// The project environment variable `key`.
pub fn get_env(key: &str) -> Result<String, Code> {
	// SAFETY: as above.
	let value =
		take(|ptr, len| unsafe { abi::ws_get_env(key.as_ptr(), key.len() as i32, ptr, len) })?;
	String::from_utf8(value).map_err(|_| 6)
}

/// Records `tx` (W3bstream's JSON `{"to", "value", "data"}`) as an output for the bridge
/// to chain `chain_id`; returns its id.
pub fn send_tx(chain_id: i32, tx: &str) -> Result<String, Code> {
	let id = take(|ptr, len| unsafe {
		// SAFETY: as above.
		abi::ws_send_tx(chain_id, tx.as_ptr(), tx.len() as i32, ptr, len)
	})?;
	String::from_utf8(id).map_err(|_| 6)
}

/// Reads a contract (refused by appchain operators: `Err(10)`).
pub fn call_contract(chain_id: i32, call: &str) -> Result<Vec<u8>, Code> {
	// SAFETY: as above.
	take(|ptr, len| unsafe {
		abi::ws_call_contract(chain_id, call.as_ptr(), call.len() as i32, ptr, len)
	})
}

/// Calls an HTTP API (refused by appchain operators: `Err(10)`).
pub fn api_call(request: &str) -> Result<Vec<u8>, Code> {
	// SAFETY: as above.
	take(|ptr, len| unsafe { abi::ws_api_call(request.as_ptr(), request.len() as i32, ptr, len) })
}

/// Executes a SQL statement: `{"statement": "...", "params": [{"int64": 1}, ...]}` or
/// bare SQL.
pub fn sql_exec(request: &str) -> Result<(), Code> {
	// SAFETY: as above.
	check(unsafe { abi::ws_set_sql_db(request.as_ptr(), request.len() as i32) })
}

/// Runs a SQL query; returns its rows as a JSON array of objects.
pub fn sql_query(request: &str) -> Result<String, Code> {
	// SAFETY: as above.
	let rows = take(|ptr, len| unsafe {
		abi::ws_get_sql_db(request.as_ptr(), request.len() as i32, ptr, len)
	})?;
	String::from_utf8(rows).map_err(|_| 6)
}

/// Submits a metric (JSON).
pub fn submit_metrics(metric: &str) -> Result<(), Code> {
	// SAFETY: as above.
	check(unsafe { abi::ws_submit_metrics(metric.as_ptr(), metric.len() as i32) })
}
