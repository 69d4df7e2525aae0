//! The W3bstream applet ABI: `env.ws_*`, `stat.ws_submit_metrics` and the AssemblyScript
//! hooks, as host functions over [`HostState`].

use std::sync::{Arc, Mutex};

use serde::Serialize;
use sp_core::H256;
use wasmtime::{Caller, Linker, Memory, StoreLimits, TypedFunc};

use crate::{codes::*, sql::SqlDb, state::Writes, StateView};

/// Most log lines kept per event.
pub const MAX_LOGS_PER_EVENT: usize = 64;
/// Longest log line kept, in bytes (longer ones are cut).
pub const MAX_LOG_LEN: usize = 4096;
/// Largest key or value `ws_set_db` accepts, in bytes.
pub const MAX_DB_VALUE_LEN: usize = 1 << 20;

/// A line an applet logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
	/// `ws_log` level (W3bstream: 1 trace ... 4 info, 5 warn, 6 error), or `stdout`,
	/// `stderr`, `trace` for WASI output and AssemblyScript `trace`.
	pub level: String,
	/// The text (lossy UTF-8, cut at [`MAX_LOG_LEN`]).
	pub message: String,
}

/// Everything one event's instance may touch. Owned, so that a store can hold it; the
/// executor moves the batch's state in before the event and out after it.
pub(crate) struct HostState {
	pub limits: StoreLimits,
	pub memory: Option<Memory>,
	pub alloc: Option<TypedFunc<i32, i32>>,
	/// Resource id of the event's message.
	pub rid: i32,
	pub payload: Arc<[u8]>,
	pub env: Arc<Vec<(Vec<u8>, Vec<u8>)>>,
	pub base: Arc<dyn StateView>,
	/// Writes of earlier events of the batch (read through, not changed by this event).
	pub batch_writes: Writes,
	/// This event's writes.
	pub writes: Writes,
	pub sql: Option<Arc<Mutex<SqlDb>>>,
	/// SQL requests this event executed, in order (they go into the state root).
	pub sql_log: Vec<Vec<u8>>,
	pub logs: Vec<LogLine>,
	/// This event's outputs, as `SCALE((chain_id, payload))`.
	pub outputs: Vec<Vec<u8>>,
	/// Outputs the batch can still take.
	pub outputs_room: usize,
	/// What the applet set with `ws_set_data`.
	pub data: Option<Vec<u8>>,
	pub metrics: Vec<String>,
	/// Seed of the deterministic random source (batch root and event index).
	pub seed: [u8; 32],
	pub random_counter: u64,
	/// The batch's time, in nanoseconds since the epoch (the WASI clock).
	pub clock_ns: u64,
}

impl HostState {
	pub fn log(&mut self, level: impl Into<String>, message: &[u8]) {
		if self.logs.len() < MAX_LOGS_PER_EVENT {
			let message = &message[..message.len().min(MAX_LOG_LEN)];
			self.logs.push(LogLine {
				level: level.into(),
				message: String::from_utf8_lossy(message).into_owned(),
			});
		}
	}

	fn db_get(&self, key: &[u8]) -> Option<Vec<u8>> {
		self.writes
			.get(key)
			.or_else(|| self.batch_writes.get(key))
			.cloned()
			.or_else(|| self.base.get(key))
	}

	/// `n` deterministic random bytes: blake2 of the seed and a counter.
	pub fn random_bytes(&mut self, n: usize) -> Vec<u8> {
		let mut out = Vec::with_capacity(n + 32);
		while out.len() < n {
			let mut block = self.seed.to_vec();
			block.extend_from_slice(&self.random_counter.to_le_bytes());
			self.random_counter += 1;
			out.extend_from_slice(&sp_crypto_hashing::blake2_256(&block));
		}
		out.truncate(n);
		out
	}
}

/// `len` bytes of the applet's memory at `ptr`, or `None` when outside it.
pub(crate) fn read(caller: &Caller<'_, HostState>, ptr: i32, len: i32) -> Option<Vec<u8>> {
	let memory = caller.data().memory?;
	let start = u32::try_from(ptr).ok()? as usize;
	let len = u32::try_from(len).ok()? as usize;
	memory.data(caller).get(start..start.checked_add(len)?).map(<[u8]>::to_vec)
}

/// Writes `bytes` into the applet's memory at `ptr`; false when outside it.
pub(crate) fn write(caller: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> bool {
	let Some(memory) = caller.data().memory else { return false };
	let Ok(start) = u32::try_from(ptr) else { return false };
	let start = start as usize;
	match memory.data_mut(caller).get_mut(start..start.saturating_add(bytes.len())) {
		Some(slot) if slot.len() == bytes.len() => {
			slot.copy_from_slice(bytes);
			true
		}
		_ => false,
	}
}

/// Hands `bytes` to the applet the W3bstream way: `alloc(len)` in the applet, copy, then
/// the pointer and length as little-endian u32 at `ret_ptr` and `ret_size`. A trap in
/// `alloc` (out of fuel, out of memory) fails the event.
fn hand_over(
	caller: &mut Caller<'_, HostState>,
	bytes: &[u8],
	ret_ptr: i32,
	ret_size: i32,
) -> wasmtime::Result<i32> {
	let Some(alloc) = caller.data().alloc.clone() else { return Ok(HOST_INTERNAL) };
	let Ok(len) = i32::try_from(bytes.len()) else { return Ok(TRANS_DATA_TO_VM_FAILED) };
	let ptr = alloc.call(&mut *caller, len)?;
	let ok = write(caller, ptr, bytes)
		&& write(caller, ret_ptr, &(ptr as u32).to_le_bytes())
		&& write(caller, ret_size, &(len as u32).to_le_bytes());
	Ok(if ok { OK } else { TRANS_DATA_TO_VM_FAILED })
}

/// An AssemblyScript string (UTF-16LE, byte length in the 4 bytes before it).
fn read_as_string(caller: &Caller<'_, HostState>, ptr: i32) -> String {
	if ptr < 4 {
		return String::new();
	}
	let Some(len) = read(caller, ptr - 4, 4) else { return String::new() };
	let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as i32;
	let Some(bytes) = read(caller, ptr, len) else { return String::new() };
	let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
	String::from_utf16_lossy(&units)
}

/// Links the W3bstream ABI into `linker`.
pub(crate) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
	linker.func_wrap(
		"env",
		"ws_log",
		|mut caller: Caller<'_, HostState>, level: i32, ptr: i32, size: i32| -> i32 {
			match read(&caller, ptr, size) {
				Some(message) => {
					caller.data_mut().log(level.to_string(), &message);
					OK
				}
				None => TRANS_DATA_FROM_VM_FAILED,
			}
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_get_data",
		|mut caller: Caller<'_, HostState>, rid: i32, ret_ptr: i32, ret_size: i32| {
			if rid != caller.data().rid {
				return Ok(RESOURCE_NOT_FOUND);
			}
			let payload = caller.data().payload.clone();
			hand_over(&mut caller, &payload, ret_ptr, ret_size)
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_set_data",
		|mut caller: Caller<'_, HostState>, rid: i32, ptr: i32, size: i32| -> i32 {
			if rid != caller.data().rid {
				return RESOURCE_NOT_FOUND;
			}
			match read(&caller, ptr, size) {
				Some(data) => {
					caller.data_mut().data = Some(data);
					OK
				}
				None => TRANS_DATA_FROM_VM_FAILED,
			}
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_get_db",
		|mut caller: Caller<'_, HostState>,
		 key_ptr: i32,
		 key_size: i32,
		 ret_ptr: i32,
		 ret_size: i32| {
			let Some(key) = read(&caller, key_ptr, key_size) else {
				return Ok(TRANS_DATA_FROM_VM_FAILED);
			};
			match caller.data().db_get(&key) {
				Some(value) => hand_over(&mut caller, &value, ret_ptr, ret_size),
				None => Ok(RESOURCE_NOT_FOUND),
			}
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_set_db",
		|mut caller: Caller<'_, HostState>,
		 key_ptr: i32,
		 key_size: i32,
		 value_ptr: i32,
		 value_size: i32|
		 -> i32 {
			let (Some(key), Some(value)) =
				(read(&caller, key_ptr, key_size), read(&caller, value_ptr, value_size))
			else {
				return TRANS_DATA_FROM_VM_FAILED;
			};
			if key.len() > MAX_DB_VALUE_LEN || value.len() > MAX_DB_VALUE_LEN {
				return HOST_INTERNAL;
			}
			caller.data_mut().writes.insert(key, value);
			OK
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_get_env",
		|mut caller: Caller<'_, HostState>,
		 key_ptr: i32,
		 key_size: i32,
		 ret_ptr: i32,
		 ret_size: i32| {
			let Some(key) = read(&caller, key_ptr, key_size) else {
				return Ok(TRANS_DATA_FROM_VM_FAILED);
			};
			let value = caller.data().env.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
			match value {
				Some(value) => hand_over(&mut caller, &value, ret_ptr, ret_size),
				None => Ok(ENV_KEY_NOT_FOUND),
			}
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_send_tx",
		|mut caller: Caller<'_, HostState>,
		 chain_id: i32,
		 ptr: i32,
		 size: i32,
		 ret_ptr: i32,
		 ret_size: i32| {
			let Some(payload) = read(&caller, ptr, size) else {
				return Ok(TRANS_DATA_FROM_VM_FAILED);
			};
			let output = codec::Encode::encode(&(chain_id as u32, payload));
			let state = caller.data_mut();
			if output.len()
				> <w3b_primitives::proof::MaxOutputLen as sp_core::Get<u32>>::get() as usize
				|| state.outputs.len() >= state.outputs_room
			{
				state
					.log("error", b"ws_send_tx: output too large or too many outputs in the batch");
				return Ok(HOST_INTERNAL);
			}
			// The "transaction hash" an applet gets back: the output's hash, the same on
			// every operator (nothing is sent from here; the bridge delivers outputs).
			let id = sp_core::bytes::to_hex(&sp_crypto_hashing::blake2_256(&output), false);
			state.outputs.push(output);
			hand_over(&mut caller, id.as_bytes(), ret_ptr, ret_size)
		},
	)?;
	// Network and chain reads at "latest": refused (see `codes::REFUSED`).
	linker.func_wrap(
		"env",
		"ws_api_call",
		|mut caller: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32| -> i32 {
			caller.data_mut().log(
				"error",
				b"ws_api_call: refused, the network answers differently per operator",
			);
			REFUSED
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_call_contract",
		|mut caller: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32, _: i32| -> i32 {
			caller.data_mut().log(
				"error",
				b"ws_call_contract: refused, contract state at \"latest\" differs per operator",
			);
			REFUSED
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_set_sql_db",
		|mut caller: Caller<'_, HostState>, ptr: i32, size: i32| -> i32 {
			let Some(request) = read(&caller, ptr, size) else { return TRANS_DATA_FROM_VM_FAILED };
			let Some(sql) = caller.data().sql.clone() else { return NO_DB_CONTEXT };
			let result = sql.lock().expect("SQL lock").exec(&request);
			match result {
				Ok(_) => {
					caller.data_mut().sql_log.push(request);
					OK
				}
				Err(e) => {
					caller.data_mut().log("error", e.to_string().as_bytes());
					HOST_INTERNAL
				}
			}
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_get_sql_db",
		|mut caller: Caller<'_, HostState>, ptr: i32, size: i32, ret_ptr: i32, ret_size: i32| {
			let Some(request) = read(&caller, ptr, size) else {
				return Ok(TRANS_DATA_FROM_VM_FAILED);
			};
			let Some(sql) = caller.data().sql.clone() else { return Ok(NO_DB_CONTEXT) };
			let result = sql.lock().expect("SQL lock").query(&request);
			match result {
				Ok(rows) => hand_over(&mut caller, &rows, ret_ptr, ret_size),
				Err(e) => {
					caller.data_mut().log("error", e.to_string().as_bytes());
					Ok(HOST_INTERNAL)
				}
			}
		},
	)?;
	linker.func_wrap(
		"stat",
		"ws_submit_metrics",
		|mut caller: Caller<'_, HostState>, ptr: i32, size: i32| -> i32 {
			match read(&caller, ptr, size) {
				Some(metric) => {
					let metric = String::from_utf8_lossy(&metric).into_owned();
					caller.data_mut().metrics.push(metric);
					OK
				}
				None => TRANS_DATA_FROM_VM_FAILED,
			}
		},
	)?;
	// AssemblyScript runtime hooks.
	linker.func_wrap(
		"env",
		"abort",
		|caller: Caller<'_, HostState>,
		 msg: i32,
		 file: i32,
		 line: i32,
		 column: i32|
		 -> wasmtime::Result<()> {
			let message = read_as_string(&caller, msg);
			let file = read_as_string(&caller, file);
			Err(wasmtime::Error::msg(format!("abort: {message} at {file}:{line}:{column}")))
		},
	)?;
	linker.func_wrap(
		"env",
		"trace",
		|mut caller: Caller<'_, HostState>,
		 msg: i32,
		 n: i32,
		 a0: f64,
		 a1: f64,
		 a2: f64,
		 a3: f64,
		 a4: f64| {
			let mut line = read_as_string(&caller, msg);
			for value in [a0, a1, a2, a3, a4].iter().take(n.clamp(0, 5) as usize) {
				line.push_str(&format!(" {value}"));
			}
			caller.data_mut().log("trace", line.as_bytes());
		},
	)?;
	linker.func_wrap("env", "seed", |mut caller: Caller<'_, HostState>| -> f64 {
		let bytes = caller.data_mut().random_bytes(8);
		// A seed in [1, 2^53): deterministic, never zero.
		(u64::from_le_bytes(bytes.try_into().expect("8 bytes")) >> 11).max(1) as f64
	})?;
	Ok(())
}

/// The seed of an event's random source: its batch's Merkle root and its index.
pub(crate) fn event_seed(merkle_root: &H256, event: u32) -> [u8; 32] {
	let mut buf = b"w3b/random/v1".to_vec();
	buf.extend_from_slice(merkle_root.as_bytes());
	buf.extend_from_slice(&event.to_le_bytes());
	sp_crypto_hashing::blake2_256(&buf)
}
