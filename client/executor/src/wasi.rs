//! WASI preview 1 for applets, with nothing an operator could answer differently: no
//! files (no preopened directories; `path_open` is refused), no sockets, stdout and
//! stderr captured as log lines, the environment is the project's, the clock is the
//! batch's time and `random_get` is seeded by the batch. Every call is charged like the
//! W3bstream ABI's ([`crate::host::charge`]).

use wasmtime::{Caller, Linker};

use crate::host::{
	charge, copy_fuel, range, read, write, HostState, FUEL_PER_RANDOM_BYTE, HOST_CALL_FUEL,
	MAX_LOG_LEN,
};

const MODULE: &str = "wasi_snapshot_preview1";

/// WASI errno values used here.
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;
const ERRNO_NOSYS: i32 = 52;
const ERRNO_SPIPE: i32 = 70;
const ERRNO_NOTCAPABLE: i32 = 76;

/// Most iovecs one `fd_write` takes (POSIX's `IOV_MAX`).
const MAX_IOVECS: i32 = 1024;

fn put_u32(caller: &mut Caller<'_, HostState>, ptr: i32, value: u32) -> bool {
	write(caller, ptr, &value.to_le_bytes())
}

/// `KEY=VALUE\0` for each environment variable.
fn environ(caller: &Caller<'_, HostState>) -> Vec<Vec<u8>> {
	caller
		.data()
		.env
		.iter()
		.map(|(k, v)| [k.as_slice(), b"=", v.as_slice(), b"\0"].concat())
		.collect()
}

pub(crate) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
	linker.func_wrap(
		MODULE,
		"args_sizes_get",
		|mut c: Caller<'_, HostState>, argc: i32, size: i32| {
			charge(&mut c, HOST_CALL_FUEL)?;
			Ok(if put_u32(&mut c, argc, 0) && put_u32(&mut c, size, 0) {
				ERRNO_SUCCESS
			} else {
				ERRNO_FAULT
			})
		},
	)?;
	linker.func_wrap(MODULE, "args_get", |mut c: Caller<'_, HostState>, _: i32, _: i32| {
		charge(&mut c, HOST_CALL_FUEL).map(|()| ERRNO_SUCCESS)
	})?;
	linker.func_wrap(
		MODULE,
		"environ_sizes_get",
		|mut c: Caller<'_, HostState>, count: i32, size: i32| {
			let vars = environ(&c);
			let total: usize = vars.iter().map(Vec::len).sum();
			charge(&mut c, copy_fuel(total))?;
			Ok(
				if put_u32(&mut c, count, vars.len() as u32) && put_u32(&mut c, size, total as u32)
				{
					ERRNO_SUCCESS
				} else {
					ERRNO_FAULT
				},
			)
		},
	)?;
	linker.func_wrap(
		MODULE,
		"environ_get",
		|mut c: Caller<'_, HostState>, ptrs: i32, buf: i32| {
			let vars = environ(&c);
			charge(&mut c, copy_fuel(vars.iter().map(Vec::len).sum()))?;
			let mut at = buf;
			for (i, var) in vars.into_iter().enumerate() {
				let slot = ptrs.wrapping_add(4 * i as i32);
				if !put_u32(&mut c, slot, at as u32) || !write(&mut c, at, &var) {
					return Ok(ERRNO_FAULT);
				}
				at = at.wrapping_add(var.len() as i32);
			}
			Ok(ERRNO_SUCCESS)
		},
	)?;
	linker.func_wrap(
		MODULE,
		"clock_res_get",
		|mut c: Caller<'_, HostState>, _: i32, res: i32| {
			charge(&mut c, HOST_CALL_FUEL)?;
			Ok(if write(&mut c, res, &1_000_000u64.to_le_bytes()) {
				ERRNO_SUCCESS
			} else {
				ERRNO_FAULT
			})
		},
	)?;
	linker.func_wrap(
		MODULE,
		"clock_time_get",
		|mut c: Caller<'_, HostState>, _clock: i32, _precision: i64, time: i32| {
			charge(&mut c, HOST_CALL_FUEL)?;
			let now = c.data().clock_ns;
			Ok(if write(&mut c, time, &now.to_le_bytes()) { ERRNO_SUCCESS } else { ERRNO_FAULT })
		},
	)?;
	linker.func_wrap(
		MODULE,
		"random_get",
		|mut c: Caller<'_, HostState>, buf: i32, len: i32| {
			charge(&mut c, HOST_CALL_FUEL)?;
			// The destination is checked, and every byte paid for, before one is made.
			let Some(range) = range(&c, buf, len) else { return Ok(ERRNO_FAULT) };
			charge(&mut c, (range.len() as u64).saturating_mul(FUEL_PER_RANDOM_BYTE))?;
			let bytes = c.data_mut().random_bytes(range.len());
			Ok(if write(&mut c, buf, &bytes) { ERRNO_SUCCESS } else { ERRNO_FAULT })
		},
	)?;
	linker.func_wrap(
		MODULE,
		"fd_write",
		|mut c: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, written: i32| {
			charge(&mut c, HOST_CALL_FUEL)?;
			let level = match fd {
				1 => "stdout",
				2 => "stderr",
				_ => return Ok(ERRNO_BADF),
			};
			if !(0..=MAX_IOVECS).contains(&iovs_len) {
				return Ok(ERRNO_INVAL);
			}
			charge(&mut c, copy_fuel(8 * iovs_len as usize + MAX_LOG_LEN))?;
			// A short write, as a pipe makes: at most a log line per call; the caller
			// writes the rest again (libc does).
			let mut text = Vec::new();
			for i in 0..iovs_len {
				let Some(iov) = read(&c, iovs.wrapping_add(8 * i), 8) else {
					return Ok(ERRNO_FAULT);
				};
				let ptr = i32::from_le_bytes(iov[..4].try_into().expect("4 bytes"));
				let len = i32::from_le_bytes(iov[4..].try_into().expect("4 bytes"));
				let Some(range) = range(&c, ptr, len) else { return Ok(ERRNO_FAULT) };
				let take = range.len().min(MAX_LOG_LEN - text.len());
				let Some(bytes) = read(&c, ptr, take as i32) else { return Ok(ERRNO_FAULT) };
				text.extend_from_slice(&bytes);
				if text.len() == MAX_LOG_LEN {
					break;
				}
			}
			let n = text.len() as u32;
			let line = text.strip_suffix(b"\n").unwrap_or(&text);
			c.data_mut().log(level, line);
			Ok(if put_u32(&mut c, written, n) { ERRNO_SUCCESS } else { ERRNO_FAULT })
		},
	)?;
	// The calls below answer without work, but each is still a host call: charged, so
	// that a loop of them runs out of fuel rather than into the wall-clock backstop.
	linker.func_wrap(
		MODULE,
		"fd_read",
		|mut c: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32| {
			charge(&mut c, HOST_CALL_FUEL).map(|()| ERRNO_BADF)
		},
	)?;
	linker.func_wrap(MODULE, "fd_close", |mut c: Caller<'_, HostState>, fd: i32| {
		charge(&mut c, HOST_CALL_FUEL)?;
		Ok(if (0..3).contains(&fd) { ERRNO_SUCCESS } else { ERRNO_BADF })
	})?;
	linker.func_wrap(
		MODULE,
		"fd_seek",
		|mut c: Caller<'_, HostState>, fd: i32, _: i64, _: i32, _: i32| {
			charge(&mut c, HOST_CALL_FUEL)?;
			Ok(if (0..3).contains(&fd) { ERRNO_SPIPE } else { ERRNO_BADF })
		},
	)?;
	linker.func_wrap(
		MODULE,
		"fd_fdstat_get",
		|mut c: Caller<'_, HostState>, fd: i32, stat: i32| {
			charge(&mut c, HOST_CALL_FUEL)?;
			if !(0..3).contains(&fd) {
				return Ok(ERRNO_BADF);
			}
			// filetype character device, no flags, no rights beyond read/write.
			let mut fdstat = [0u8; 24];
			fdstat[0] = 2;
			fdstat[8..16].copy_from_slice(&0x42u64.to_le_bytes());
			Ok(if write(&mut c, stat, &fdstat) { ERRNO_SUCCESS } else { ERRNO_FAULT })
		},
	)?;
	linker.func_wrap(
		MODULE,
		"fd_prestat_get",
		|mut c: Caller<'_, HostState>, _: i32, _: i32| {
			charge(&mut c, HOST_CALL_FUEL).map(|()| ERRNO_BADF)
		},
	)?;
	linker.func_wrap(
		MODULE,
		"fd_prestat_dir_name",
		|mut c: Caller<'_, HostState>, _: i32, _: i32, _: i32| {
			charge(&mut c, HOST_CALL_FUEL).map(|()| ERRNO_BADF)
		},
	)?;
	linker.func_wrap(
		MODULE,
		"path_open",
		|mut c: Caller<'_, HostState>,
		 _: i32,
		 _: i32,
		 _: i32,
		 _: i32,
		 _: i32,
		 _: i64,
		 _: i64,
		 _: i32,
		 _: i32| charge(&mut c, HOST_CALL_FUEL).map(|()| ERRNO_NOTCAPABLE),
	)?;
	linker.func_wrap(MODULE, "sched_yield", |mut c: Caller<'_, HostState>| {
		charge(&mut c, HOST_CALL_FUEL).map(|()| ERRNO_SUCCESS)
	})?;
	linker.func_wrap(
		MODULE,
		"poll_oneoff",
		|mut c: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32| {
			charge(&mut c, HOST_CALL_FUEL).map(|()| ERRNO_NOSYS)
		},
	)?;
	linker.func_wrap(
		MODULE,
		"proc_exit",
		|_: Caller<'_, HostState>, code: i32| -> wasmtime::Result<()> {
			Err(wasmtime::Error::msg(format!("proc_exit({code})")))
		},
	)?;
	Ok(())
}
