//! WASI preview 1 for applets, with nothing an operator could answer differently: no
//! files (no preopened directories; `path_open` is refused), no sockets, stdout and
//! stderr captured as log lines, the environment is the project's, the clock is the
//! batch's time and `random_get` is seeded by the batch.

use wasmtime::{Caller, Linker};

use crate::host::{read, write, HostState};

const MODULE: &str = "wasi_snapshot_preview1";

/// WASI errno values used here.
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;
const ERRNO_NOSYS: i32 = 52;
const ERRNO_SPIPE: i32 = 70;
const ERRNO_NOTCAPABLE: i32 = 76;

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
			if put_u32(&mut c, argc, 0) && put_u32(&mut c, size, 0) {
				ERRNO_SUCCESS
			} else {
				ERRNO_FAULT
			}
		},
	)?;
	linker
		.func_wrap(MODULE, "args_get", |_: Caller<'_, HostState>, _: i32, _: i32| ERRNO_SUCCESS)?;
	linker.func_wrap(
		MODULE,
		"environ_sizes_get",
		|mut c: Caller<'_, HostState>, count: i32, size: i32| {
			let vars = environ(&c);
			let total: usize = vars.iter().map(Vec::len).sum();
			if put_u32(&mut c, count, vars.len() as u32) && put_u32(&mut c, size, total as u32) {
				ERRNO_SUCCESS
			} else {
				ERRNO_FAULT
			}
		},
	)?;
	linker.func_wrap(
		MODULE,
		"environ_get",
		|mut c: Caller<'_, HostState>, ptrs: i32, buf: i32| {
			let mut at = buf;
			for (i, var) in environ(&c).into_iter().enumerate() {
				if !put_u32(&mut c, ptrs + 4 * i as i32, at as u32) || !write(&mut c, at, &var) {
					return ERRNO_FAULT;
				}
				at += var.len() as i32;
			}
			ERRNO_SUCCESS
		},
	)?;
	linker.func_wrap(
		MODULE,
		"clock_res_get",
		|mut c: Caller<'_, HostState>, _: i32, res: i32| {
			if write(&mut c, res, &1_000_000u64.to_le_bytes()) {
				ERRNO_SUCCESS
			} else {
				ERRNO_FAULT
			}
		},
	)?;
	linker.func_wrap(
		MODULE,
		"clock_time_get",
		|mut c: Caller<'_, HostState>, _clock: i32, _precision: i64, time: i32| {
			let now = c.data().clock_ns;
			if write(&mut c, time, &now.to_le_bytes()) {
				ERRNO_SUCCESS
			} else {
				ERRNO_FAULT
			}
		},
	)?;
	linker.func_wrap(
		MODULE,
		"random_get",
		|mut c: Caller<'_, HostState>, buf: i32, len: i32| {
			let Ok(len) = usize::try_from(len) else { return ERRNO_INVAL };
			let bytes = c.data_mut().random_bytes(len);
			if write(&mut c, buf, &bytes) {
				ERRNO_SUCCESS
			} else {
				ERRNO_FAULT
			}
		},
	)?;
	linker.func_wrap(
		MODULE,
		"fd_write",
		|mut c: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, written: i32| {
			let level = match fd {
				1 => "stdout",
				2 => "stderr",
				_ => return ERRNO_BADF,
			};
			let mut text = Vec::new();
			for i in 0..iovs_len.max(0) {
				let Some(iov) = read(&c, iovs + 8 * i, 8) else { return ERRNO_FAULT };
				let ptr = i32::from_le_bytes(iov[..4].try_into().expect("4 bytes"));
				let len = i32::from_le_bytes(iov[4..].try_into().expect("4 bytes"));
				let Some(bytes) = read(&c, ptr, len) else { return ERRNO_FAULT };
				text.extend_from_slice(&bytes);
			}
			let n = text.len() as u32;
			let text = text.strip_suffix(b"\n").unwrap_or(&text).to_vec();
			c.data_mut().log(level, &text);
			if put_u32(&mut c, written, n) {
				ERRNO_SUCCESS
			} else {
				ERRNO_FAULT
			}
		},
	)?;
	linker.func_wrap(
		MODULE,
		"fd_read",
		|_: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32| ERRNO_BADF,
	)?;
	linker.func_wrap(MODULE, "fd_close", |_: Caller<'_, HostState>, fd: i32| {
		if (0..3).contains(&fd) {
			ERRNO_SUCCESS
		} else {
			ERRNO_BADF
		}
	})?;
	linker.func_wrap(
		MODULE,
		"fd_seek",
		|_: Caller<'_, HostState>, fd: i32, _: i64, _: i32, _: i32| {
			if (0..3).contains(&fd) {
				ERRNO_SPIPE
			} else {
				ERRNO_BADF
			}
		},
	)?;
	linker.func_wrap(
		MODULE,
		"fd_fdstat_get",
		|mut c: Caller<'_, HostState>, fd: i32, stat: i32| {
			if !(0..3).contains(&fd) {
				return ERRNO_BADF;
			}
			// filetype character device, no flags, no rights beyond read/write.
			let mut fdstat = [0u8; 24];
			fdstat[0] = 2;
			fdstat[8..16].copy_from_slice(&0x42u64.to_le_bytes());
			if write(&mut c, stat, &fdstat) {
				ERRNO_SUCCESS
			} else {
				ERRNO_FAULT
			}
		},
	)?;
	linker.func_wrap(MODULE, "fd_prestat_get", |_: Caller<'_, HostState>, _: i32, _: i32| {
		ERRNO_BADF
	})?;
	linker.func_wrap(
		MODULE,
		"fd_prestat_dir_name",
		|_: Caller<'_, HostState>, _: i32, _: i32, _: i32| ERRNO_BADF,
	)?;
	linker.func_wrap(
		MODULE,
		"path_open",
		|_: Caller<'_, HostState>,
		 _: i32,
		 _: i32,
		 _: i32,
		 _: i32,
		 _: i32,
		 _: i64,
		 _: i64,
		 _: i32,
		 _: i32| ERRNO_NOTCAPABLE,
	)?;
	linker.func_wrap(MODULE, "sched_yield", |_: Caller<'_, HostState>| ERRNO_SUCCESS)?;
	linker.func_wrap(
		MODULE,
		"poll_oneoff",
		|_: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32| ERRNO_NOSYS,
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
