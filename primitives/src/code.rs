//! What makes a WASM module acceptable as applet code. The runtime checks it on upload
//! and the engine compiles with the same feature set, so code the chain accepts is code
//! every operator can run.

use alloc::{string::String, vec::Vec};
use wasmparser::{ExternalKind, Parser, Payload, Validator, WasmFeatures};

/// WebAssembly 2.0 (bulk memory, reference types, sign extension, saturating
/// float-to-int, multi-value, SIMD): everything the AssemblyScript, Rust and Go SDKs
/// emit, and nothing nondeterministic (no threads, no relaxed SIMD).
pub const APPLET_FEATURES: WasmFeatures = WasmFeatures::WASM2;

/// Modules an applet may import from: the W3bstream ABI (`env`, `stat`) and WASI
/// preview 1.
pub const IMPORT_MODULES: [&str; 3] = ["env", "stat", "wasi_snapshot_preview1"];

/// Why a module is not acceptable applet code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
	/// Not valid WebAssembly 2.0.
	Invalid,
	/// Imports from a module other than [`IMPORT_MODULES`].
	ForbiddenImport,
	/// Does not export its linear memory as `memory`.
	NoMemoryExport,
	/// Does not export `alloc`, through which the host hands it data.
	NoAllocExport,
}

impl core::fmt::Display for CodeError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str(match self {
			CodeError::Invalid => {
				"not valid WebAssembly 2.0 (threads, memory64, GC and the like are not allowed)"
			}
			CodeError::ForbiddenImport => {
				"imports from a module other than env, stat and wasi_snapshot_preview1"
			}
			CodeError::NoMemoryExport => "does not export its memory as `memory`",
			CodeError::NoAllocExport => "does not export `alloc`",
		})
	}
}

/// What the chain records about valid applet code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSummary {
	/// Names of the exported functions, in export order.
	pub functions: Vec<String>,
}

/// Validates `code` as applet code and lists its exported functions.
pub fn inspect_module(code: &[u8]) -> Result<ModuleSummary, CodeError> {
	Validator::new_with_features(APPLET_FEATURES)
		.validate_all(code)
		.map_err(|_| CodeError::Invalid)?;
	let mut functions = Vec::new();
	let mut exports_memory = false;
	for payload in Parser::new(0).parse_all(code) {
		match payload.map_err(|_| CodeError::Invalid)? {
			Payload::ImportSection(reader) => {
				for import in reader {
					let import = import.map_err(|_| CodeError::Invalid)?;
					if !IMPORT_MODULES.contains(&import.module) {
						return Err(CodeError::ForbiddenImport);
					}
				}
			}
			Payload::ExportSection(reader) => {
				for export in reader {
					let export = export.map_err(|_| CodeError::Invalid)?;
					match export.kind {
						ExternalKind::Func => functions.push(String::from(export.name)),
						ExternalKind::Memory if export.name == "memory" => exports_memory = true,
						_ => {}
					}
				}
			}
			_ => {}
		}
	}
	if !exports_memory {
		return Err(CodeError::NoMemoryExport);
	}
	if !functions.iter().any(|f| f == "alloc") {
		return Err(CodeError::NoAllocExport);
	}
	Ok(ModuleSummary { functions })
}

/// Appends `n` in unsigned LEB128, WebAssembly's encoding of sizes and indices (for
/// building modules in tests).
pub fn leb128_u32(mut n: u32, out: &mut Vec<u8>) {
	loop {
		let byte = (n & 0x7f) as u8;
		n >>= 7;
		if n == 0 {
			out.push(byte);
			return;
		}
		out.push(byte | 0x80);
	}
}

/// A minimal valid applet for tests and benchmarks: exports `memory`, `alloc` and the
/// given handlers `(i32) -> i32`, each returning 0 after `padding` `nop`s (so its size,
/// and the cost of validating it, grows with `padding`).
pub fn sample_module(handlers: &[&str], padding: u32) -> Vec<u8> {
	fn section(id: u8, body: Vec<u8>, out: &mut Vec<u8>) {
		out.push(id);
		leb128_u32(body.len() as u32, out);
		out.extend(body);
	}
	let functions = handlers.len() as u32 + 1;
	let mut module = b"\0asm\x01\0\0\0".to_vec();
	// One type, (i32) -> i32, shared by alloc and the handlers.
	section(1, alloc::vec![1, 0x60, 1, 0x7f, 1, 0x7f], &mut module);
	let mut funcs = Vec::new();
	leb128_u32(functions, &mut funcs);
	funcs.extend(core::iter::repeat_n(0u8, functions as usize));
	section(3, funcs, &mut module);
	section(5, alloc::vec![1, 0, 1], &mut module);
	let mut exports = Vec::new();
	leb128_u32(functions + 1, &mut exports);
	let mut export = |name: &str, kind: u8, index: u32| {
		leb128_u32(name.len() as u32, &mut exports);
		exports.extend_from_slice(name.as_bytes());
		exports.push(kind);
		leb128_u32(index, &mut exports);
	};
	export("memory", 2, 0);
	export("alloc", 0, 0);
	for (i, name) in handlers.iter().enumerate() {
		export(name, 0, i as u32 + 1);
	}
	section(7, exports, &mut module);
	let mut code = Vec::new();
	leb128_u32(functions, &mut code);
	// alloc: returns its argument.
	code.extend_from_slice(&[4, 0, 0x20, 0, 0x0b]);
	for _ in handlers {
		let mut body = alloc::vec![0u8];
		body.extend(core::iter::repeat_n(0x01u8, padding as usize));
		body.extend_from_slice(&[0x41, 0, 0x0b]);
		leb128_u32(body.len() as u32, &mut code);
		code.extend(body);
	}
	section(10, code, &mut module);
	module
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn sample_module_is_valid_applet_code() {
		let summary = inspect_module(&sample_module(&["start", "on_alert"], 100)).unwrap();
		assert_eq!(summary.functions, ["alloc", "start", "on_alert"]);
	}

	#[test]
	fn rejects_what_is_not_applet_code() {
		assert_eq!(inspect_module(b"not wasm"), Err(CodeError::Invalid));
		let mut truncated = sample_module(&["start"], 10);
		truncated.pop();
		assert_eq!(inspect_module(&truncated), Err(CodeError::Invalid));
		// A module without exports: valid WASM, useless as an applet.
		assert_eq!(inspect_module(b"\0asm\x01\0\0\0"), Err(CodeError::NoMemoryExport));
		// Threads are not in the feature set: a shared memory fails validation.
		let mut shared = b"\0asm\x01\0\0\0".to_vec();
		shared.extend_from_slice(&[5, 4, 1, 3, 1, 1]);
		assert_eq!(inspect_module(&shared), Err(CodeError::Invalid));
	}

	#[test]
	fn requires_alloc_and_known_import_modules() {
		let no_alloc = {
			let mut m = sample_module(&["start"], 0);
			// Rename the export "alloc" to "alloX".
			let at = m.windows(5).position(|w| w == b"alloc").unwrap();
			m[at + 4] = b'X';
			m
		};
		assert_eq!(inspect_module(&no_alloc), Err(CodeError::NoAllocExport));
		let mut with_import = b"\0asm\x01\0\0\0".to_vec();
		// type () -> (); import "net"."connect" as a function of that type.
		with_import.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]);
		with_import.extend_from_slice(&[2, 0x0f, 1, 3, b'n', b'e', b't', 7]);
		with_import.extend_from_slice(b"connect");
		with_import.extend_from_slice(&[0, 0]);
		assert_eq!(inspect_module(&with_import), Err(CodeError::ForbiddenImport));
	}
}
