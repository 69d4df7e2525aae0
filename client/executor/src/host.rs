//! The W3bstream applet ABI: `env.ws_*`, `stat.ws_submit_metrics` and the AssemblyScript
//! hooks, as host functions over [`HostState`].

use std::sync::{Arc, Mutex};

use serde::Serialize;
use sp_core::H256;
use wasmtime::{Caller, Linker, Memory, StoreLimits, Trap};

use crate::{codes::*, exports::I32Function, meter, sql::SqlDb, state::Writes, StateView};

/// Most log lines kept per event.
pub const MAX_LOGS_PER_EVENT: usize = 64;
/// Longest log line kept, in bytes (longer ones are cut; `fd_write` takes no more).
pub const MAX_LOG_LEN: usize = 4096;
/// Most metrics one event may submit (`ws_submit_metrics` refuses more).
pub const MAX_METRICS_PER_EVENT: usize = 64;
/// Largest key or value `ws_set_db` accepts, in bytes.
pub const MAX_DB_VALUE_LEN: usize = 1 << 20;
/// Largest event data `ws_set_data` accepts, in bytes.
pub const MAX_DATA_LEN: usize = 1 << 20;
/// Largest SQL request, in bytes.
pub const MAX_SQL_REQUEST_LEN: usize = 64 << 10;
/// Most bytes of SQL statements (`ws_set_sql_db`) the successful events of one batch may
/// execute: they are kept until the batch is final, and travel between operators like
/// its writes.
pub const MAX_BATCH_SQL_BYTES: usize = 16 << 20;
/// Most key and value bytes the successful events of one batch may write: a batch's
/// writes travel whole between operators (state sync) and stay in memory until final.
pub const MAX_BATCH_WRITE_BYTES: usize = 16 << 20;
/// Most bytes of logs, event data and metrics one batch keeps for its report (they are
/// diagnostics, not results: past this, events' logs are counted, not kept).
pub const MAX_REPORT_BYTES_PER_BATCH: usize = 8 << 20;

/// Fuel every host call costs before it does anything, about what a microsecond of
/// applet code burns. Fuel prices the host's work the same way on every operator, so a
/// limit is hit at the same call everywhere; part of consensus.
pub const HOST_CALL_FUEL: u64 = 1_000;
/// Fuel per byte a host call copies into or out of the applet's memory.
pub const FUEL_PER_BYTE: u64 = 1;
/// Fuel a call to a meter of the rewritten code ([`crate::meter`]) costs on top of the
/// work it pays for: about what 30 ns of plain instructions burn.
pub const METER_CALL_FUEL: u64 = 64;
/// Fuel per element a bulk table instruction moves: `table.init` from a segment of
/// expressions evaluates each (about 10 ns an element, against 0.3 to 0.75 ns for a unit
/// of fuel of plain instructions).
pub const FUEL_PER_TABLE_ELEMENT: u64 = 32;
/// Fuel per 64 KiB page of memory an instance starts with or grows by: each 4 KiB of it
/// an event touches costs a page fault (an event touching 64 MiB took 98 ms: at this
/// price, 5.8 ns per unit of fuel, against 1,000 times that unpaid).
pub const FUEL_PER_PAGE: u64 = 16_384;
/// Fuel per byte of deterministic randomness (a blake2 block per 32 bytes).
pub const FUEL_PER_RANDOM_BYTE: u64 = 8;
/// Fuel per metering step of SQLite ([`crate::sql::SQL_STEP_OPS`] virtual-machine
/// instructions): 200 per instruction, priced for the larger values one may move
/// (up to [`crate::sql::MAX_SQL_VALUE_LEN`]) rather than the typical few bytes.
pub const FUEL_PER_SQL_STEP: u64 = 200 * crate::sql::SQL_STEP_OPS as u64;

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
	pub alloc: Option<I32Function>,
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
	/// The batch's SQL digest chained with the requests this event executed (it goes
	/// into the state root if the event succeeds).
	pub sql_digest: H256,
	/// The statements this event executed, in order.
	pub sql_statements: Vec<Vec<u8>>,
	/// Statement bytes this event may still execute.
	pub sql_room: usize,
	pub logs: Vec<LogLine>,
	/// Log lines not kept (over [`MAX_LOGS_PER_EVENT`] or the batch's report budget).
	pub logs_dropped: u32,
	/// Bytes of logs, data and metrics the batch may still keep.
	pub report_room: usize,
	/// Key and value bytes this event may still write.
	pub write_room: usize,
	/// This event's outputs, as `SCALE((chain_id, payload))`.
	pub outputs: Vec<Vec<u8>>,
	/// Outputs the batch can still take.
	pub outputs_room: usize,
	/// What the applet set with `ws_set_data`.
	pub data: Option<Vec<u8>>,
	pub metrics: Vec<String>,
	/// The event's deterministic random source.
	pub random: RandomSource,
	/// The batch's time, in nanoseconds since the epoch (the WASI clock).
	pub clock_ns: u64,
}

impl HostState {
	pub fn log(&mut self, level: impl Into<String>, message: &[u8]) {
		let message = &message[..message.len().min(MAX_LOG_LEN)];
		// What is kept: invalid UTF-8 grows (a byte becomes three).
		let message = String::from_utf8_lossy(message).into_owned();
		if self.logs.len() >= MAX_LOGS_PER_EVENT || !self.take_report_room(message.len()) {
			self.logs_dropped += 1;
			return;
		}
		self.logs.push(LogLine { level: level.into(), message });
	}

	/// Whether the batch's report can keep `bytes` more (taken if so).
	fn take_report_room(&mut self, bytes: usize) -> bool {
		match self.report_room.checked_sub(bytes) {
			Some(left) => {
				self.report_room = left;
				true
			}
			None => false,
		}
	}

	fn db_get(&self, key: &[u8]) -> Option<Vec<u8>> {
		self.writes
			.get(key)
			.or_else(|| self.batch_writes.get(key))
			.cloned()
			.or_else(|| self.base.get(key))
	}

	/// `n` deterministic random bytes: blake2 of the seed and a counter. The caller has
	/// bounded `n` (by the applet's memory) and charged for it.
	pub fn random_bytes(&mut self, n: usize) -> Vec<u8> {
		let random = &mut self.random;
		let seed =
			*random.seed.get_or_insert_with(|| event_seed(&random.merkle_root, random.event));
		let mut out = Vec::with_capacity(n + 32);
		while out.len() < n {
			let mut block = seed.to_vec();
			block.extend_from_slice(&random.counter.to_le_bytes());
			random.counter += 1;
			out.extend_from_slice(&sp_crypto_hashing::blake2_256(&block));
		}
		out.truncate(n);
		out
	}
}

/// An event's deterministic random source: seeded by its batch's Merkle root and its
/// index in the batch, the seed hashed on first use (most events never ask).
pub struct RandomSource {
	merkle_root: H256,
	event: u32,
	seed: Option<[u8; 32]>,
	counter: u64,
}

impl RandomSource {
	/// The source of event `event` of the batch with root `merkle_root`.
	pub fn new(merkle_root: H256, event: u32) -> Self {
		RandomSource { merkle_root, event, seed: None, counter: 0 }
	}
}

/// Charges `fuel` to the event, as if the applet had burnt it: a call that costs more
/// than the event has left traps out of fuel, at the same call on every operator.
pub(crate) fn charge(caller: &mut Caller<'_, HostState>, fuel: u64) -> wasmtime::Result<()> {
	let left = caller.get_fuel()?;
	match left.checked_sub(fuel) {
		Some(rest) => caller.set_fuel(rest),
		None => {
			caller.set_fuel(0)?;
			Err(Trap::OutOfFuel.into())
		}
	}
}

/// What a host call that moves `bytes` bytes costs.
pub(crate) fn copy_fuel(bytes: usize) -> u64 {
	HOST_CALL_FUEL.saturating_add((bytes as u64).saturating_mul(FUEL_PER_BYTE))
}

/// The range of the applet's memory at `ptr` of `len` bytes, or `None` when outside it.
pub(crate) fn range(
	caller: &Caller<'_, HostState>,
	ptr: i32,
	len: i32,
) -> Option<std::ops::Range<usize>> {
	let memory = caller.data().memory?;
	let start = u32::try_from(ptr).ok()? as usize;
	let end = start.checked_add(u32::try_from(len).ok()? as usize)?;
	(end <= memory.data_size(caller)).then_some(start..end)
}

/// `len` bytes of the applet's memory at `ptr`, or `None` when outside it. Callers bound
/// `len` and charge for it first.
pub(crate) fn read(caller: &Caller<'_, HostState>, ptr: i32, len: i32) -> Option<Vec<u8>> {
	let range = range(caller, ptr, len)?;
	caller.data().memory?.data(caller).get(range).map(<[u8]>::to_vec)
}

/// At most `max` bytes of the applet's memory at `ptr` (of `len` bytes, all inside it),
/// or `None` when the range is outside it.
fn read_prefix(caller: &Caller<'_, HostState>, ptr: i32, len: i32, max: usize) -> Option<Vec<u8>> {
	let range = range(caller, ptr, len)?;
	let end = range.end.min(range.start + max);
	caller.data().memory?.data(caller).get(range.start..end).map(<[u8]>::to_vec)
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
/// `alloc` (out of fuel, out of memory) fails the event. Charges the copy.
fn hand_over(
	caller: &mut Caller<'_, HostState>,
	bytes: &[u8],
	ret_ptr: i32,
	ret_size: i32,
) -> wasmtime::Result<i32> {
	charge(caller, copy_fuel(bytes.len()))?;
	let Some(alloc) = caller.data().alloc else { return Ok(HOST_INTERNAL) };
	let Ok(len) = i32::try_from(bytes.len()) else { return Ok(TRANS_DATA_TO_VM_FAILED) };
	let ptr = alloc.call(&mut *caller, len)?;
	let ok = write(caller, ptr, bytes)
		&& write(caller, ret_ptr, &(ptr as u32).to_le_bytes())
		&& write(caller, ret_size, &(len as u32).to_le_bytes());
	Ok(if ok { OK } else { TRANS_DATA_TO_VM_FAILED })
}

/// An AssemblyScript string (UTF-16LE, byte length in the 4 bytes before it), cut at
/// [`MAX_LOG_LEN`] bytes. Charges the copy.
fn read_as_string(caller: &mut Caller<'_, HostState>, ptr: i32) -> wasmtime::Result<String> {
	charge(caller, copy_fuel(MAX_LOG_LEN))?;
	if ptr < 4 {
		return Ok(String::new());
	}
	let Some(len) = read(caller, ptr - 4, 4) else { return Ok(String::new()) };
	let len = u32::from_le_bytes(len.try_into().expect("4 bytes")).min(MAX_LOG_LEN as u32);
	let Some(bytes) = read(caller, ptr, len as i32) else { return Ok(String::new()) };
	let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
	Ok(String::from_utf16_lossy(&units))
}

/// Links the W3bstream ABI into `linker`. Every call charges [`HOST_CALL_FUEL`] and the
/// bytes it moves before doing the work, and bounds what it keeps. Links the meter of
/// bulk instructions too.
pub(crate) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
	// Called by the rewritten code ([`crate::meter`]) before a bulk instruction with its
	// length, and in place of `memory.grow`: their work.
	let per = |fuel: u64| {
		move |mut caller: Caller<'_, HostState>, units: i32| {
			let work = u64::from(units as u32).saturating_mul(fuel);
			charge(&mut caller, METER_CALL_FUEL.saturating_add(work))
		}
	};
	linker.func_wrap(meter::METER_MODULE, meter::BYTES, per(FUEL_PER_BYTE))?;
	linker.func_wrap(meter::METER_MODULE, meter::ELEMENTS, per(FUEL_PER_TABLE_ELEMENT))?;
	linker.func_wrap(
		meter::METER_MODULE,
		meter::GROW,
		|mut caller: Caller<'_, HostState>, pages: i32| {
			charge(&mut caller, METER_CALL_FUEL)?;
			// The chain requires the module's one memory to be exported as `memory`.
			let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
				return Ok(-1);
			};
			let pages = u64::from(pages as u32);
			// Refused past the memory cap, as the instruction would be: -1, and no fuel.
			let Ok(previous) = memory.grow(&mut caller, pages) else { return Ok(-1) };
			charge(&mut caller, pages.saturating_mul(FUEL_PER_PAGE))?;
			Ok(previous as i32)
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_log",
		|mut caller: Caller<'_, HostState>, level: i32, ptr: i32, size: i32| {
			charge(&mut caller, copy_fuel((size.max(0) as usize).min(MAX_LOG_LEN)))?;
			Ok(match read_prefix(&caller, ptr, size, MAX_LOG_LEN) {
				Some(message) => {
					caller.data_mut().log(level.to_string(), &message);
					OK
				}
				None => TRANS_DATA_FROM_VM_FAILED,
			})
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_get_data",
		|mut caller: Caller<'_, HostState>, rid: i32, ret_ptr: i32, ret_size: i32| {
			if rid != caller.data().rid {
				charge(&mut caller, HOST_CALL_FUEL)?;
				return Ok(RESOURCE_NOT_FOUND);
			}
			let payload = caller.data().payload.clone();
			hand_over(&mut caller, &payload, ret_ptr, ret_size)
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_set_data",
		|mut caller: Caller<'_, HostState>, rid: i32, ptr: i32, size: i32| {
			charge(&mut caller, HOST_CALL_FUEL)?;
			if rid != caller.data().rid {
				return Ok(RESOURCE_NOT_FOUND);
			}
			let Some(len) = usize::try_from(size).ok().filter(|len| *len <= MAX_DATA_LEN) else {
				caller.data_mut().log("error", b"ws_set_data: data over 1 MiB");
				return Ok(HOST_INTERNAL);
			};
			charge(&mut caller, copy_fuel(len))?;
			let Some(data) = read(&caller, ptr, size) else {
				return Ok(TRANS_DATA_FROM_VM_FAILED);
			};
			let state = caller.data_mut();
			// Replacing earlier data gives its room back.
			let earlier = state.data.take().map_or(0, |d| d.len());
			state.report_room += earlier;
			if state.take_report_room(data.len()) {
				state.data = Some(data);
			}
			Ok(OK)
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
			let Some(key_len) =
				usize::try_from(key_size).ok().filter(|len| *len <= MAX_DB_VALUE_LEN)
			else {
				charge(&mut caller, HOST_CALL_FUEL)?;
				return Ok(RESOURCE_NOT_FOUND);
			};
			charge(&mut caller, copy_fuel(key_len))?;
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
		 value_size: i32| {
			charge(&mut caller, HOST_CALL_FUEL)?;
			let bounded =
				|size: i32| usize::try_from(size).ok().filter(|len| *len <= MAX_DB_VALUE_LEN);
			let (Some(key_len), Some(value_len)) = (bounded(key_size), bounded(value_size)) else {
				caller.data_mut().log("error", b"ws_set_db: key or value over 1 MiB");
				return Ok(HOST_INTERNAL);
			};
			let Some(room) = caller.data().write_room.checked_sub(key_len + value_len) else {
				caller.data_mut().log("error", b"ws_set_db: the batch's writes are full (16 MiB)");
				return Ok(HOST_INTERNAL);
			};
			charge(&mut caller, copy_fuel(key_len + value_len))?;
			let (Some(key), Some(value)) =
				(read(&caller, key_ptr, key_size), read(&caller, value_ptr, value_size))
			else {
				return Ok(TRANS_DATA_FROM_VM_FAILED);
			};
			let state = caller.data_mut();
			state.write_room = room;
			state.writes.insert(key, value);
			Ok(OK)
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
			charge(&mut caller, copy_fuel(key_size.max(0) as usize))?;
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
			charge(&mut caller, HOST_CALL_FUEL)?;
			let max_len =
				<w3b_primitives::proof::MaxOutputLen as sp_core::Get<u32>>::get() as usize;
			let state = caller.data_mut();
			// The output is a SCALE `SendTx`: a little over the payload's bytes.
			if usize::try_from(size).map_or(true, |len| len > max_len)
				|| state.outputs.len() >= state.outputs_room
			{
				state
					.log("error", b"ws_send_tx: output too large or too many outputs in the batch");
				return Ok(HOST_INTERNAL);
			}
			charge(&mut caller, copy_fuel(size as usize))?;
			let Some(payload) = read(&caller, ptr, size) else {
				return Ok(TRANS_DATA_FROM_VM_FAILED);
			};
			let state = caller.data_mut();
			let tx = match send_tx(chain_id, &payload) {
				Ok(tx) => tx,
				Err(why) => {
					state.log("error", format!("ws_send_tx: {why}").as_bytes());
					return Ok(HOST_INTERNAL);
				}
			};
			let output = codec::Encode::encode(&tx);
			if output.len() > max_len {
				state.log("error", b"ws_send_tx: output too large");
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
		|mut caller: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32| {
			charge(&mut caller, HOST_CALL_FUEL)?;
			caller.data_mut().log(
				"error",
				b"ws_api_call: refused, the network answers differently per operator",
			);
			Ok(REFUSED)
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_call_contract",
		|mut caller: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32, _: i32| {
			charge(&mut caller, HOST_CALL_FUEL)?;
			caller.data_mut().log(
				"error",
				b"ws_call_contract: refused, contract state at \"latest\" differs per operator",
			);
			Ok(REFUSED)
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_set_sql_db",
		|mut caller: Caller<'_, HostState>, ptr: i32, size: i32| {
			let Some(request) = sql_request(&mut caller, ptr, size)? else {
				return Ok(TRANS_DATA_FROM_VM_FAILED);
			};
			let Some(sql) = caller.data().sql.clone() else { return Ok(NO_DB_CONTEXT) };
			let Some(room) = caller.data().sql_room.checked_sub(request.len()) else {
				caller
					.data_mut()
					.log("error", b"ws_set_sql_db: the batch's statements are full (16 MiB)");
				return Ok(HOST_INTERNAL);
			};
			let result = metered_sql(&mut caller, &sql, |db| db.exec(&request).map(|_| ()))?;
			Ok(match result {
				Ok(()) => {
					let state = caller.data_mut();
					state.sql_digest = chain_sql(&state.sql_digest, &request);
					state.sql_room = room;
					state.sql_statements.push(request);
					OK
				}
				Err(e) => {
					caller.data_mut().log("error", e.to_string().as_bytes());
					HOST_INTERNAL
				}
			})
		},
	)?;
	linker.func_wrap(
		"env",
		"ws_get_sql_db",
		|mut caller: Caller<'_, HostState>, ptr: i32, size: i32, ret_ptr: i32, ret_size: i32| {
			let Some(request) = sql_request(&mut caller, ptr, size)? else {
				return Ok(TRANS_DATA_FROM_VM_FAILED);
			};
			let Some(sql) = caller.data().sql.clone() else { return Ok(NO_DB_CONTEXT) };
			match metered_sql(&mut caller, &sql, |db| db.query(&request))? {
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
		|mut caller: Caller<'_, HostState>, ptr: i32, size: i32| {
			charge(&mut caller, copy_fuel((size.max(0) as usize).min(MAX_LOG_LEN)))?;
			if caller.data().metrics.len() >= MAX_METRICS_PER_EVENT {
				return Ok(HOST_INTERNAL);
			}
			let Some(metric) = read_prefix(&caller, ptr, size, MAX_LOG_LEN) else {
				return Ok(TRANS_DATA_FROM_VM_FAILED);
			};
			let metric = String::from_utf8_lossy(&metric).into_owned();
			let state = caller.data_mut();
			if state.take_report_room(metric.len()) {
				state.metrics.push(metric);
			}
			Ok(OK)
		},
	)?;
	// AssemblyScript runtime hooks.
	linker.func_wrap(
		"env",
		"abort",
		|mut caller: Caller<'_, HostState>,
		 msg: i32,
		 file: i32,
		 line: i32,
		 column: i32|
		 -> wasmtime::Result<()> {
			let message = read_as_string(&mut caller, msg)?;
			let file = read_as_string(&mut caller, file)?;
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
			let mut line = read_as_string(&mut caller, msg)?;
			for value in [a0, a1, a2, a3, a4].iter().take(n.clamp(0, 5) as usize) {
				line.push_str(&format!(" {value}"));
			}
			caller.data_mut().log("trace", line.as_bytes());
			Ok(())
		},
	)?;
	linker.func_wrap("env", "seed", |mut caller: Caller<'_, HostState>| {
		charge(&mut caller, HOST_CALL_FUEL + 8 * FUEL_PER_RANDOM_BYTE)?;
		let bytes = caller.data_mut().random_bytes(8);
		// A seed in [1, 2^53): deterministic, never zero.
		Ok((u64::from_le_bytes(bytes.try_into().expect("8 bytes")) >> 11).max(1) as f64)
	})?;
	Ok(())
}

/// The digest of a batch's SQL statements (what the state root commits to): each
/// chained onto the one before from zero, `blake2_256(digest ++ statement)`.
pub fn sql_digest<S: AsRef<[u8]>>(statements: &[S]) -> H256 {
	statements.iter().fold(H256::zero(), |digest, s| chain_sql(&digest, s.as_ref()))
}

/// Reads a SQL request of at most [`MAX_SQL_REQUEST_LEN`] bytes, charging the copy;
/// `None` when it is outside the memory or too long (logged).
fn sql_request(
	caller: &mut Caller<'_, HostState>,
	ptr: i32,
	size: i32,
) -> wasmtime::Result<Option<Vec<u8>>> {
	charge(caller, HOST_CALL_FUEL)?;
	let Some(len) = usize::try_from(size).ok().filter(|len| *len <= MAX_SQL_REQUEST_LEN) else {
		caller.data_mut().log("error", b"SQL request over 64 KiB");
		return Ok(None);
	};
	charge(caller, copy_fuel(len))?;
	Ok(read(caller, ptr, size))
}

/// Runs `work` on the project's database with at most the event's fuel left in SQLite
/// steps, and charges the steps taken. Out of steps, the statement is interrupted and
/// the event runs out of fuel like any other.
fn metered_sql<T>(
	caller: &mut Caller<'_, HostState>,
	sql: &Mutex<SqlDb>,
	work: impl FnOnce(&SqlDb) -> Result<T, crate::SqlError>,
) -> wasmtime::Result<Result<T, crate::SqlError>> {
	let steps = caller.get_fuel()? / FUEL_PER_SQL_STEP;
	let db = sql.lock().expect("SQL lock");
	if let Err(e) = db.enter_event() {
		return Ok(Err(e));
	}
	let (result, taken) = db.metered(steps, work);
	let lost = db.lost_batch();
	drop(db);
	if lost {
		// SQLite rolled the whole transaction back (an interrupted or failed write): the
		// event cannot go on without the batch's savepoint; the executor restores it.
		return Err(wasmtime::Error::msg(
			"SQL: the statement failed and undid the batch's transaction",
		));
	}
	charge(caller, taken.saturating_mul(FUEL_PER_SQL_STEP))?;
	if taken >= steps {
		caller.set_fuel(0)?;
		return Err(Trap::OutOfFuel.into());
	}
	Ok(result)
}

/// The SQL digest after `request`: `blake2_256(digest ++ request)`.
fn chain_sql(digest: &H256, request: &[u8]) -> H256 {
	let mut chained = digest.as_bytes().to_vec();
	chained.extend_from_slice(request);
	H256(sp_crypto_hashing::blake2_256(&chained))
}

/// The seed of an event's random source: its batch's Merkle root and its index.
fn event_seed(merkle_root: &H256, event: u32) -> [u8; 32] {
	let mut buf = b"w3b/random/v1".to_vec();
	buf.extend_from_slice(merkle_root.as_bytes());
	buf.extend_from_slice(&event.to_le_bytes());
	sp_crypto_hashing::blake2_256(&buf)
}

/// The transaction an applet hands `ws_send_tx` on chain `chain_id`: W3bstream's JSON
/// `{"to": "0x<address>", "value": "0", "data": "0x<hex>"}`, plus an optional `clientId`
/// for `IDapp.process`. `to` absent, empty or the zero address means the project's own
/// receiver; `value` must be zero (the bridge moves no funds); `data` is hex, with or
/// without `0x` (W3bstream's AssemblyScript SDK strips it). Other keys are ignored.
pub fn send_tx(chain_id: i32, payload: &[u8]) -> Result<w3b_primitives::bridge::SendTx, String> {
	use serde_json::Value;
	let chain_id =
		u64::try_from(chain_id).map_err(|_| format!("chain id {chain_id} is negative"))?;
	let tx: serde_json::Map<String, Value> = serde_json::from_slice(payload)
		.map_err(|e| format!("not a JSON object {{\"to\", \"value\", \"data\"}}: {e}"))?;
	let text = |key: &str| match tx.get(key) {
		None | Some(Value::Null) => Ok(""),
		Some(Value::String(text)) => Ok(text.as_str()),
		Some(other) => Err(format!("{key} must be a string, not {other}")),
	};
	let hex = |key: &str, text: &str| {
		// Whole bytes only: an odd digit would be read as a leading zero.
		if text.trim_start_matches("0x").len() % 2 == 1 {
			return Err(format!("{key} is not hex: an odd number of digits"));
		}
		sp_core::bytes::from_hex(text).map_err(|e| format!("{key} is not hex: {e:?}"))
	};
	let to = match text("to")? {
		"" => None,
		address => {
			let bytes = hex("to", address)?;
			let address = <[u8; 20]>::try_from(bytes.as_slice())
				.map_err(|_| format!("to must be 20 bytes, not {}", bytes.len()))?;
			(address != [0; 20]).then_some(sp_core::H160(address))
		}
	};
	let zero = match tx.get("value") {
		None | Some(Value::Null) => true,
		Some(Value::Number(n)) => n.as_u64() == Some(0),
		Some(Value::String(v)) => {
			v.is_empty() || v == "0" || (v.starts_with("0x") && v[2..].bytes().all(|b| b == b'0'))
		}
		Some(_) => false,
	};
	if !zero {
		return Err("value must be 0: the bridge moves no funds".into());
	}
	let data = match text("data")? {
		"" => Vec::new(),
		data => hex("data", data)?,
	};
	let client_id = text("clientId")?.as_bytes().to_vec();
	Ok(w3b_primitives::bridge::SendTx {
		chain_id,
		to,
		client_id: client_id
			.try_into()
			.map_err(|_| "clientId is longer than 64 bytes".to_string())?,
		data: data.try_into().map_err(|_| "data is longer than an output".to_string())?,
	})
}
