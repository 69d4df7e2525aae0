//! Misbehaves in every way the engine must survive, one handler per way.

use w3b_applet_sdk as sdk;

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
