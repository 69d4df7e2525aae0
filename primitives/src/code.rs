//! What makes a WASM module acceptable as applet code. The runtime checks it on upload
//! and the engine compiles with the same feature set, so code the chain accepts is code
//! every operator can run.

use alloc::{string::String, vec::Vec};
pub use wasmparser::ValType;
use wasmparser::{
	ElementItems, ElementKind, ExternalKind, HeapType, Operator, Parser, Payload, RefType, TypeRef,
	Validator, WasmFeatures,
};

/// WebAssembly 2.0 (bulk memory, reference types, sign extension, saturating
/// float-to-int, multi-value, SIMD): everything the AssemblyScript, Rust and Go SDKs
/// emit, and nothing nondeterministic (no threads, no relaxed SIMD).
pub const APPLET_FEATURES: WasmFeatures = WasmFeatures::WASM2;

/// Modules an applet may import from: the W3bstream ABI (`env`, `stat`) and WASI
/// preview 1.
pub const IMPORT_MODULES: [&str; 3] = ["env", "stat", "wasi_snapshot_preview1"];

/// A host function an applet may import: module, name, parameter and result types.
pub type HostFunction = (&'static str, &'static str, &'static [ValType], &'static [ValType]);

const I32: ValType = ValType::I32;
const I64: ValType = ValType::I64;
const F64: ValType = ValType::F64;

/// Every function the host provides to applets (the W3bstream ABI, AssemblyScript's
/// runtime imports, WASI preview 1 as far as it is deterministic), with its type: what
/// an applet may import, and all it may import. The engine's test
/// `the_linker_defines_exactly_the_host_functions_of_the_chain` holds its linker to
/// this list.
pub const HOST_FUNCTIONS: &[HostFunction] = &[
	("env", "ws_log", &[I32, I32, I32], &[I32]),
	("env", "ws_get_data", &[I32, I32, I32], &[I32]),
	("env", "ws_set_data", &[I32, I32, I32], &[I32]),
	("env", "ws_get_db", &[I32, I32, I32, I32], &[I32]),
	("env", "ws_set_db", &[I32, I32, I32, I32], &[I32]),
	("env", "ws_get_env", &[I32, I32, I32, I32], &[I32]),
	("env", "ws_send_tx", &[I32, I32, I32, I32, I32], &[I32]),
	("env", "ws_api_call", &[I32, I32, I32, I32], &[I32]),
	("env", "ws_call_contract", &[I32, I32, I32, I32, I32], &[I32]),
	("env", "ws_set_sql_db", &[I32, I32], &[I32]),
	("env", "ws_get_sql_db", &[I32, I32, I32, I32], &[I32]),
	("stat", "ws_submit_metrics", &[I32, I32], &[I32]),
	("env", "abort", &[I32, I32, I32, I32], &[]),
	("env", "trace", &[I32, I32, F64, F64, F64, F64, F64], &[]),
	("env", "seed", &[], &[F64]),
	("wasi_snapshot_preview1", "args_sizes_get", &[I32, I32], &[I32]),
	("wasi_snapshot_preview1", "args_get", &[I32, I32], &[I32]),
	("wasi_snapshot_preview1", "environ_sizes_get", &[I32, I32], &[I32]),
	("wasi_snapshot_preview1", "environ_get", &[I32, I32], &[I32]),
	("wasi_snapshot_preview1", "clock_res_get", &[I32, I32], &[I32]),
	("wasi_snapshot_preview1", "clock_time_get", &[I32, I64, I32], &[I32]),
	("wasi_snapshot_preview1", "random_get", &[I32, I32], &[I32]),
	("wasi_snapshot_preview1", "fd_write", &[I32, I32, I32, I32], &[I32]),
	("wasi_snapshot_preview1", "fd_read", &[I32, I32, I32, I32], &[I32]),
	("wasi_snapshot_preview1", "fd_close", &[I32], &[I32]),
	("wasi_snapshot_preview1", "fd_seek", &[I32, I64, I32, I32], &[I32]),
	("wasi_snapshot_preview1", "fd_fdstat_get", &[I32, I32], &[I32]),
	("wasi_snapshot_preview1", "fd_prestat_get", &[I32, I32], &[I32]),
	("wasi_snapshot_preview1", "fd_prestat_dir_name", &[I32, I32, I32], &[I32]),
	("wasi_snapshot_preview1", "path_open", &[I32, I32, I32, I32, I32, I64, I64, I32, I32], &[I32]),
	("wasi_snapshot_preview1", "sched_yield", &[], &[I32]),
	("wasi_snapshot_preview1", "poll_oneoff", &[I32, I32, I32, I32], &[I32]),
	("wasi_snapshot_preview1", "proc_exit", &[I32], &[]),
];

/// Most functions a module may define. What compiling a module costs grows with its
/// functions and its branches, not with its bytes alone: 10,000 functions that only
/// return compile in 0.8 s to 3.6 MB on the 2-core machine of the README (the compile
/// benchmark of `w3b-executor`), where 1 MiB of them would take 6 s and 55 MB.
pub const MAX_FUNCTIONS: u32 = 10_000;
/// Most branch points one function may hold: `block`, `loop`, `if`, `br_if` and
/// `br_table` targets, each a new basic block for the compiler, whose time grows faster
/// than linearly with them within one function (64,000 empty loops: 25 s and 1.7 GiB of
/// memory; 32,000 `br_if`: 8 s), bulk memory and table instructions (`memory.fill`,
/// `memory.copy`...: the engine meters each behind a branch), and `call_indirect` and
/// `table.get`, which count as [`CALL_INDIRECT_BRANCHES`] (26,000 `table.get`: 9 s).
pub const MAX_BRANCHES_PER_FUNCTION: u32 = 4_000;
/// Branch points a `call_indirect` or a `table.get` counts as.
pub const CALL_INDIRECT_BRANCHES: u32 = 3;
/// Most branch points a module may hold, all functions together (the repository's
/// applets hold 21 to 37 per KiB: a 1 MiB module of such code about 32,000). At the
/// limit, 20 functions of 4,000 loops compile in about 5 s to 9 MB.
pub const MAX_BRANCHES: u32 = 80_000;
/// Largest function body, in bytes. The compiler's memory grows with a function's
/// size (160,000 additions in one function, 480 KB: 330 MiB), and it compiles a
/// module's functions in parallel, one per core.
pub const MAX_FUNCTION_SIZE: u32 = 128 << 10;
/// Most locals all functions may declare together: a declaration is a few bytes
/// whatever its count, and each local costs the compiler work (9,999 functions of
/// 49,998 locals each, 100 KB: 18 s).
pub const MAX_LOCALS: u64 = 100_000;
/// Most locals one function may declare: with at most 1,000 parameters, one under the
/// 50,000 a function may have, which leaves the engine one for its metering of bulk
/// instructions (a function of 49,999 locals and a parameter was accepted, and once
/// metered, never compiled).
pub const MAX_FUNCTION_LOCALS: u64 = 48_999;
/// Most types a module may declare.
pub const MAX_TYPES: u32 = 1_000;

/// Largest initial memory, in 64 KiB pages: what the engine gives an instance, 64 MiB
/// (a module asking for more at start would compile and then never instantiate).
pub const MAX_MEMORY_PAGES: u64 = 1024;
/// Most tables a module may define: the engine's pool has one per instance.
pub const MAX_TABLES: u32 = 1;
/// Largest initial table, in elements: what the engine's pool reserves per table.
pub const MAX_TABLE_ELEMENTS: u64 = 20_000;
/// Most globals, data segments, element segments and expressions in active element
/// segments, each: every instantiation (one per event) initializes them, work fuel does
/// not pay for (100,000 one-byte data segments: 2 ms per instantiation, 60,000 globals
/// 1.35 ms and an instance context over the engine's 1 MiB, 340,000 element
/// expressions 5.5 ms).
pub const MAX_INSTANCE_ITEMS: u32 = 1_000;

/// Why a module is not acceptable applet code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
	/// Not valid WebAssembly 2.0, or uses `externref`, which the engine cannot compile.
	Invalid,
	/// Imports from a module other than [`IMPORT_MODULES`].
	ForbiddenImport,
	/// Imports something the host does not provide ([`HOST_FUNCTIONS`]): another
	/// function, one of them with another type, or a memory, table or global.
	UnknownImport,
	/// Does not export its linear memory as `memory`.
	NoMemoryExport,
	/// Does not export `alloc`, through which the host hands it data.
	NoAllocExport,
	/// Defines more than [`MAX_FUNCTIONS`] functions, one larger than
	/// [`MAX_FUNCTION_SIZE`], more branch points than [`MAX_BRANCHES_PER_FUNCTION`] in
	/// a function or [`MAX_BRANCHES`] in all, more than [`MAX_LOCALS`] locals or
	/// [`MAX_TYPES`] types: too costly for every operator to compile.
	TooComplex,
	/// Asks more of an instance than the engine gives one: a memory of more than
	/// [`MAX_MEMORY_PAGES`] at start, more than [`MAX_TABLES`] table or one of more than
	/// [`MAX_TABLE_ELEMENTS`], more than [`MAX_INSTANCE_ITEMS`] globals, data segments,
	/// element segments or element expressions applied at instantiation, or one import
	/// twice.
	InstanceTooLarge,
}

impl core::fmt::Display for CodeError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str(match self {
			CodeError::Invalid => {
				"not valid WebAssembly 2.0, or uses externref (threads, memory64, GC, externref \
				 and the like are not allowed)"
			}
			CodeError::ForbiddenImport => {
				"imports from a module other than env, stat and wasi_snapshot_preview1"
			}
			CodeError::UnknownImport => {
				"imports a function the host does not provide (or with another type), or a \
				 memory, table or global"
			}
			CodeError::NoMemoryExport => "does not export its memory as `memory`",
			CodeError::NoAllocExport => "does not export `alloc`",
			CodeError::TooComplex => {
				"too costly to compile: more than 10,000 functions, a function larger than \
				 128 KiB, more than 4,000 branch points (blocks, loops, ifs, br_ifs, \
				 call_indirects, br_table targets) in a function or 80,000 in all, more than \
				 100,000 locals or 1,000 types"
			}
			CodeError::InstanceTooLarge => {
				"asks more than an instance gets: a memory over 1024 pages at start, more \
				 than one table or one over 20,000 elements, more than 1,000 globals, data \
				 segments, element segments or active element expressions, or an import \
				 twice"
			}
		})
	}
}

/// What the chain records about valid applet code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSummary {
	/// Names of the exported functions, in export order.
	pub functions: Vec<String>,
	/// Functions the module defines.
	pub defined_functions: u32,
	/// Branch points (`block`, `loop`, `if`, `br_if`, `call_indirect`, `br_table`
	/// targets) in all its functions.
	pub branches: u32,
	/// The most branch points in one function.
	pub most_branches_in_a_function: u32,
}

/// Validates `code` as applet code and lists its exported functions.
pub fn inspect_module(code: &[u8]) -> Result<ModuleSummary, CodeError> {
	Validator::new_with_features(APPLET_FEATURES)
		.validate_all(code)
		.map_err(|_| CodeError::Invalid)?;
	let mut functions = Vec::new();
	let mut exports_memory = false;
	let (mut branches, mut most_branches_in_a_function) = (0u32, 0u32);
	let mut defined_functions = 0u32;
	let mut types = Vec::new();
	let mut locals = 0u64;
	let mut active_expressions = 0u32;
	for payload in Parser::new(0).parse_all(code) {
		match payload.map_err(|_| CodeError::Invalid)? {
			Payload::TypeSection(reader) => {
				if reader.count() > MAX_TYPES {
					return Err(CodeError::TooComplex);
				}
				for ty in reader.into_iter_err_on_gc_types() {
					let ty = ty.map_err(|_| CodeError::Invalid)?;
					if ty.params().iter().chain(ty.results()).any(is_externref) {
						return Err(CodeError::Invalid);
					}
					types.push(ty);
				}
			}
			Payload::ImportSection(reader) => {
				let mut imported = Vec::new();
				for import in reader {
					let import = import.map_err(|_| CodeError::Invalid)?;
					if !IMPORT_MODULES.contains(&import.module) {
						return Err(CodeError::ForbiddenImport);
					}
					// Each import takes room in the instance's context: one function
					// imported 19,000 times outgrew it.
					if imported.contains(&(import.module, import.name)) {
						return Err(CodeError::InstanceTooLarge);
					}
					imported.push((import.module, import.name));
					let TypeRef::Func(index) = import.ty else {
						return Err(CodeError::UnknownImport);
					};
					let ty = types.get(index as usize).ok_or(CodeError::Invalid)?;
					let provided = HOST_FUNCTIONS.iter().any(|(module, name, params, results)| {
						(*module, *name) == (import.module, import.name)
							&& ty.params() == *params
							&& ty.results() == *results
					});
					if !provided {
						return Err(CodeError::UnknownImport);
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
			Payload::MemorySection(reader) => {
				for memory in reader {
					let memory = memory.map_err(|_| CodeError::Invalid)?;
					if memory.initial > MAX_MEMORY_PAGES {
						return Err(CodeError::InstanceTooLarge);
					}
				}
			}
			Payload::TableSection(reader) => {
				if reader.count() > MAX_TABLES {
					return Err(CodeError::InstanceTooLarge);
				}
				for table in reader {
					let table = table.map_err(|_| CodeError::Invalid)?;
					if table.ty.element_type != RefType::FUNCREF {
						return Err(CodeError::Invalid);
					}
					if table.ty.initial > MAX_TABLE_ELEMENTS {
						return Err(CodeError::InstanceTooLarge);
					}
				}
			}
			Payload::GlobalSection(reader) => {
				if reader.count() > MAX_INSTANCE_ITEMS {
					return Err(CodeError::InstanceTooLarge);
				}
				for global in reader {
					let global = global.map_err(|_| CodeError::Invalid)?;
					if is_externref(&global.ty.content_type) {
						return Err(CodeError::Invalid);
					}
				}
			}
			Payload::DataSection(reader) if reader.count() > MAX_INSTANCE_ITEMS => {
				return Err(CodeError::InstanceTooLarge)
			}
			Payload::ElementSection(reader) => {
				if reader.count() > MAX_INSTANCE_ITEMS {
					return Err(CodeError::InstanceTooLarge);
				}
				for element in reader {
					let element = element.map_err(|_| CodeError::Invalid)?;
					let ElementItems::Expressions(ty, items) = element.items else { continue };
					if ty != RefType::FUNCREF {
						return Err(CodeError::Invalid);
					}
					// Evaluated at every instantiation, once per event, unlike plain
					// function indices, which the engine fills in lazily (17 segments of
					// 20,000 expressions: 5.5 ms an event).
					if matches!(element.kind, ElementKind::Active { .. }) {
						active_expressions = active_expressions.saturating_add(items.count());
						if active_expressions > MAX_INSTANCE_ITEMS {
							return Err(CodeError::InstanceTooLarge);
						}
					}
				}
			}
			Payload::CodeSectionStart { count, .. } => {
				if count > MAX_FUNCTIONS {
					return Err(CodeError::TooComplex);
				}
				defined_functions = count;
			}
			Payload::CodeSectionEntry(body) => {
				let mut declared = 0u64;
				for group in body.get_locals_reader().map_err(|_| CodeError::Invalid)? {
					let (count, ty) = group.map_err(|_| CodeError::Invalid)?;
					if is_externref(&ty) {
						return Err(CodeError::Invalid);
					}
					declared = declared.saturating_add(u64::from(count));
				}
				locals = locals.saturating_add(declared);
				if locals > MAX_LOCALS || declared > MAX_FUNCTION_LOCALS {
					return Err(CodeError::TooComplex);
				}
				let in_function = function_branches(&body)?;
				most_branches_in_a_function = most_branches_in_a_function.max(in_function);
				branches = branches.saturating_add(in_function);
				if branches > MAX_BRANCHES {
					return Err(CodeError::TooComplex);
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
	Ok(ModuleSummary { functions, defined_functions, branches, most_branches_in_a_function })
}

/// Whether `ty` is `externref`: valid WebAssembly 2.0, which the engine (built without
/// its GC support) cannot compile.
fn is_externref(ty: &ValType) -> bool {
	*ty == ValType::EXTERNREF
}

/// The branch points of one function body (valid: validated before); a body larger
/// than [`MAX_FUNCTION_SIZE`] or with more than [`MAX_BRANCHES_PER_FUNCTION`] is an
/// error.
fn function_branches(body: &wasmparser::FunctionBody<'_>) -> Result<u32, CodeError> {
	if body.range().len() > MAX_FUNCTION_SIZE as usize {
		return Err(CodeError::TooComplex);
	}
	let mut operators = body.get_operators_reader().map_err(|_| CodeError::Invalid)?;
	let mut branches = 0u32;
	while !operators.eof() {
		branches =
			branches.saturating_add(match operators.read().map_err(|_| CodeError::Invalid)? {
				Operator::Block { .. }
				| Operator::Loop { .. }
				| Operator::If { .. }
				| Operator::BrIf { .. } => 1,
				// A table bounds check, a lazy initialisation and (for a call) a
				// signature check: three times a loop's compile time in the benchmark.
				Operator::CallIndirect { .. } | Operator::TableGet { .. } => CALL_INDIRECT_BRANCHES,
				// The engine meters each behind a branch on its length (14,561 of them in
				// one function: 0.8 s and 1.8 MB compiled).
				Operator::MemoryFill { .. }
				| Operator::MemoryCopy { .. }
				| Operator::MemoryInit { .. }
				| Operator::TableFill { .. }
				| Operator::TableCopy { .. }
				| Operator::TableInit { .. } => 1,
				Operator::RefNull { hty } if hty != HeapType::FUNC => {
					return Err(CodeError::Invalid)
				}
				Operator::TypedSelect { ty } if is_externref(&ty) => {
					return Err(CodeError::Invalid)
				}
				Operator::BrTable { targets } => targets.len().saturating_add(1),
				_ => 0,
			});
		if branches > MAX_BRANCHES_PER_FUNCTION {
			return Err(CodeError::TooComplex);
		}
	}
	Ok(branches)
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

/// Appends section `id` holding `body` to the module `out` (for building modules in
/// tests).
pub fn section(id: u8, body: Vec<u8>, out: &mut Vec<u8>) {
	out.push(id);
	leb128_u32(body.len() as u32, out);
	out.extend(body);
}

/// A minimal valid applet for tests and benchmarks: exports `memory`, `alloc` and the
/// given handlers `(i32) -> i32`, each returning 0 after `padding` `nop`s (so its size,
/// and the cost of validating it, grows with `padding`).
pub fn sample_module(handlers: &[&str], padding: u32) -> Vec<u8> {
	let body = |_| {
		let mut body = alloc::vec![0u8];
		body.extend(core::iter::repeat_n(0x01u8, padding as usize));
		body.extend_from_slice(&[0x41, 0, 0x0b]);
		body
	};
	let bodies: Vec<Vec<u8>> = handlers.iter().map(body).collect();
	applet_module(handlers, &bodies)
}

/// An applet of the functions `bodies` (each a function body as the code section holds
/// it after its size: local declarations, instructions, `end`), all of type
/// `(i32) -> i32`, after `alloc` (function 0, which returns its argument): exports
/// `memory` (one page), `alloc` and `handlers[i]` as function `i + 1`. For tests and
/// benchmarks.
pub fn applet_module(handlers: &[&str], bodies: &[Vec<u8>]) -> Vec<u8> {
	let functions = bodies.len() as u32 + 1;
	let mut module = b"\0asm\x01\0\0\0".to_vec();
	// One type, (i32) -> i32, shared by every function.
	section(1, alloc::vec![1, 0x60, 1, 0x7f, 1, 0x7f], &mut module);
	let mut funcs = Vec::new();
	leb128_u32(functions, &mut funcs);
	funcs.extend(core::iter::repeat_n(0u8, functions as usize));
	section(3, funcs, &mut module);
	section(5, alloc::vec![1, 0, 1], &mut module);
	let mut exports = Vec::new();
	leb128_u32(handlers.len() as u32 + 2, &mut exports);
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
	for body in bodies {
		leb128_u32(body.len() as u32, &mut code);
		code.extend_from_slice(body);
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

	/// An applet that imports `module`.`name` as `import` (its encoding after the two
	/// names: a kind and a type), with function type 1 `params -> results` in its type
	/// section.
	fn importing(
		module: &str,
		name: &str,
		import: &[u8],
		params: &[u8],
		results: &[u8],
	) -> Vec<u8> {
		let mut wasm = b"\0asm\x01\0\0\0".to_vec();
		let mut types = alloc::vec![2, 0x60, 1, 0x7f, 1, 0x7f, 0x60, params.len() as u8];
		types.extend_from_slice(params);
		types.push(results.len() as u8);
		types.extend_from_slice(results);
		section(1, types, &mut wasm);
		let mut imports = alloc::vec![1, module.len() as u8];
		imports.extend_from_slice(module.as_bytes());
		imports.push(name.len() as u8);
		imports.extend_from_slice(name.as_bytes());
		imports.extend_from_slice(import);
		section(2, imports, &mut wasm);
		section(3, alloc::vec![1, 0], &mut wasm);
		let imported_functions = u8::from(import[0] == 0);
		let mut exports = alloc::vec![2, 6];
		exports.extend_from_slice(b"memory");
		exports.extend_from_slice(&[2, 0, 5]);
		exports.extend_from_slice(b"alloc");
		exports.extend_from_slice(&[0, imported_functions]);
		if import[0] != 2 {
			section(5, alloc::vec![1, 0, 1], &mut wasm);
		}
		section(7, exports, &mut wasm);
		section(10, alloc::vec![1, 4, 0, 0x20, 0, 0x0b], &mut wasm);
		wasm
	}

	#[test]
	fn imports_only_what_the_host_provides_with_its_type() {
		let (i32_, i64_, f64_) = (0x7f, 0x7e, 0x7c);
		let function = [0u8, 1];
		let ws_log = importing("env", "ws_log", &function, &[i32_, i32_, i32_], &[i32_]);
		assert!(inspect_module(&ws_log).is_ok());
		let clock = importing(
			"wasi_snapshot_preview1",
			"clock_time_get",
			&function,
			&[i32_, i64_, i32_],
			&[i32_],
		);
		assert!(inspect_module(&clock).is_ok());
		assert!(inspect_module(&importing("env", "seed", &function, &[], &[f64_])).is_ok());
		for (module, name, params, results) in [
			("env", "ws_lag", &[i32_, i32_, i32_][..], &[i32_][..]),
			("env", "ws_log", &[i32_, i32_], &[i32_]),
			("env", "ws_log", &[i32_, i32_, i32_], &[]),
			("env", "ws_log", &[i32_, i32_, i64_], &[i32_]),
			("stat", "ws_log", &[i32_, i32_, i32_], &[i32_]),
			("wasi_snapshot_preview1", "fd_filestat_get", &[i32_, i32_], &[i32_]),
		] {
			let wasm = importing(module, name, &function, params, results);
			assert_eq!(inspect_module(&wasm), Err(CodeError::UnknownImport), "{module}.{name}");
		}
		// A memory, a global: the host provides neither.
		let memory = importing("env", "memory", &[2, 0, 1], &[], &[]);
		assert_eq!(inspect_module(&memory), Err(CodeError::UnknownImport));
		let global = importing("env", "ws_log", &[3, i32_, 0], &[], &[]);
		assert_eq!(inspect_module(&global), Err(CodeError::UnknownImport));
	}

	/// `module` with section `id` set to `body` (replaced, or inserted in the order the
	/// binary format wants).
	fn with_section(module: &[u8], id: u8, body: Vec<u8>) -> Vec<u8> {
		let rank = |id: u8| [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 12, 10, 11].iter().position(|i| *i == id);
		let mut sections = Vec::new();
		let mut at = 8;
		while at < module.len() {
			let section_id = module[at];
			let (mut size, mut shift, mut i) = (0usize, 0, at + 1);
			loop {
				size |= usize::from(module[i] & 0x7f) << shift;
				shift += 7;
				i += 1;
				if module[i - 1] < 0x80 {
					break;
				}
			}
			sections.push((section_id, module[i..i + size].to_vec()));
			at = i + size;
		}
		sections.retain(|(section_id, _)| *section_id != id);
		let index = sections.iter().position(|(other, _)| rank(*other) > rank(id));
		sections.insert(index.unwrap_or(sections.len()), (id, body));
		let mut out = module[..8].to_vec();
		for (section_id, body) in sections {
			section(section_id, body, &mut out);
		}
		out
	}

	#[test]
	fn refuses_code_an_instance_cannot_hold() {
		let base = sample_module(&["start"], 0);
		let check = |id: u8, body: Vec<u8>| inspect_module(&with_section(&base, id, body));
		let memory = |pages: u32| {
			let mut body = alloc::vec![1, 0];
			leb128_u32(pages, &mut body);
			body
		};
		assert!(check(5, memory(MAX_MEMORY_PAGES as u32)).is_ok());
		assert_eq!(check(5, memory(MAX_MEMORY_PAGES as u32 + 1)), Err(CodeError::InstanceTooLarge));
		let tables = |count: u32, elements: u32| {
			let mut body = Vec::new();
			leb128_u32(count, &mut body);
			for _ in 0..count {
				body.extend_from_slice(&[0x70, 0]);
				leb128_u32(elements, &mut body);
			}
			body
		};
		assert!(check(4, tables(1, MAX_TABLE_ELEMENTS as u32)).is_ok());
		assert_eq!(
			check(4, tables(1, MAX_TABLE_ELEMENTS as u32 + 1)),
			Err(CodeError::InstanceTooLarge)
		);
		assert_eq!(check(4, tables(2, 1)), Err(CodeError::InstanceTooLarge));
		let globals = |count: u32| {
			let mut body = Vec::new();
			leb128_u32(count, &mut body);
			for _ in 0..count {
				body.extend_from_slice(&[0x7f, 0, 0x41, 0, 0x0b]);
			}
			body
		};
		assert!(check(6, globals(MAX_INSTANCE_ITEMS)).is_ok());
		assert_eq!(check(6, globals(MAX_INSTANCE_ITEMS + 1)), Err(CodeError::InstanceTooLarge));
		let data = |count: u32| {
			let mut body = Vec::new();
			leb128_u32(count, &mut body);
			for _ in 0..count {
				body.extend_from_slice(&[0, 0x41, 0, 0x0b, 1, 7]);
			}
			body
		};
		assert!(check(11, data(MAX_INSTANCE_ITEMS)).is_ok());
		assert_eq!(check(11, data(MAX_INSTANCE_ITEMS + 1)), Err(CodeError::InstanceTooLarge));
		let with_table = with_section(&base, 4, tables(1, 1));
		let elements = |count: u32| {
			let mut body = Vec::new();
			leb128_u32(count, &mut body);
			for _ in 0..count {
				body.extend_from_slice(&[0, 0x41, 0, 0x0b, 1, 0]);
			}
			inspect_module(&with_section(&with_table, 9, body))
		};
		assert!(elements(MAX_INSTANCE_ITEMS).is_ok());
		assert_eq!(elements(MAX_INSTANCE_ITEMS + 1), Err(CodeError::InstanceTooLarge));
		let types = |count: u32| {
			let mut body = Vec::new();
			leb128_u32(count, &mut body);
			body.extend_from_slice(&[0x60, 1, 0x7f, 1, 0x7f]);
			for _ in 1..count {
				body.extend_from_slice(&[0x60, 0, 0]);
			}
			body
		};
		assert!(check(1, types(MAX_TYPES)).is_ok());
		assert_eq!(check(1, types(MAX_TYPES + 1)), Err(CodeError::TooComplex));
		// Expressions in active element segments: evaluated at every instantiation.
		let with_table = with_section(&base, 4, tables(1, 2 * MAX_INSTANCE_ITEMS));
		let expressions = |count: u32| {
			let mut body = alloc::vec![1, 4, 0x41, 0, 0x0b];
			leb128_u32(count, &mut body);
			body.extend(core::iter::repeat_n([0xd2, 0, 0x0b], count as usize).flatten());
			inspect_module(&with_section(&with_table, 9, body))
		};
		assert!(expressions(MAX_INSTANCE_ITEMS).is_ok());
		assert_eq!(expressions(MAX_INSTANCE_ITEMS + 1), Err(CodeError::InstanceTooLarge));
		// One function imported twice: each import takes room in the instance.
		let seed = importing("env", "seed", &[0, 1], &[], &[0x7c]);
		assert!(inspect_module(&seed).is_ok());
		let mut twice = alloc::vec![2];
		for _ in 0..2 {
			twice.extend_from_slice(&[3, b'e', b'n', b'v', 4, b's', b'e', b'e', b'd', 0, 1]);
		}
		assert_eq!(
			inspect_module(&with_section(&seed, 2, twice)),
			Err(CodeError::InstanceTooLarge)
		);
	}

	#[test]
	fn refuses_externref_which_the_engine_cannot_compile() {
		let base = sample_module(&["start"], 0);
		let check = |id: u8, body: Vec<u8>| inspect_module(&with_section(&base, id, body));
		let param = alloc::vec![2, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 1, 0x6f, 0];
		assert_eq!(check(1, param), Err(CodeError::Invalid), "a function type");
		assert_eq!(check(4, alloc::vec![1, 0x6f, 0, 1]), Err(CodeError::Invalid), "a table");
		let global = alloc::vec![1, 0x6f, 0, 0xd0, 0x6f, 0x0b];
		assert_eq!(check(6, global), Err(CodeError::Invalid), "a global");
		let body = |code: &[u8]| inspect_module(&applet_module(&[], &[code.to_vec()]));
		assert_eq!(body(&[1, 1, 0x6f, 0x41, 0, 0x0b]), Err(CodeError::Invalid), "a local");
		assert_eq!(
			body(&[0, 0xd0, 0x6f, 0x1a, 0x41, 0, 0x0b]),
			Err(CodeError::Invalid),
			"ref.null"
		);
		assert!(body(&[0, 0xd0, 0x70, 0x1a, 0x41, 0, 0x0b]).is_ok(), "ref.null func");
	}

	#[test]
	fn refuses_code_too_costly_to_compile() {
		let tiny = || alloc::vec![0u8, 0x41, 0, 0x0b];
		let loops = |n: u32| {
			let mut body = alloc::vec![0u8];
			body.extend(core::iter::repeat_n([0x03, 0x40, 0x0b], n as usize).flatten());
			body.extend_from_slice(&[0x41, 0, 0x0b]);
			body
		};
		let functions = |n: u32| applet_module(&[], &alloc::vec![tiny(); n as usize - 1]);
		assert_eq!(
			inspect_module(&functions(MAX_FUNCTIONS)).unwrap().defined_functions,
			MAX_FUNCTIONS
		);
		assert_eq!(inspect_module(&functions(MAX_FUNCTIONS + 1)), Err(CodeError::TooComplex));
		let in_one = |n: u32| inspect_module(&applet_module(&[], &[loops(n)]));
		assert_eq!(
			in_one(MAX_BRANCHES_PER_FUNCTION).unwrap().most_branches_in_a_function,
			MAX_BRANCHES_PER_FUNCTION
		);
		assert_eq!(in_one(MAX_BRANCHES_PER_FUNCTION + 1), Err(CodeError::TooComplex));
		// br_table targets count: a table of as many targets as loops allowed, plus its
		// block and its default, is one too many.
		let mut table = alloc::vec![0u8, 0x02, 0x40, 0x20, 0, 0x0e];
		leb128_u32(MAX_BRANCHES_PER_FUNCTION, &mut table);
		table.extend(core::iter::repeat_n(0u8, MAX_BRANCHES_PER_FUNCTION as usize + 1));
		table.extend_from_slice(&[0x0b, 0x41, 0, 0x0b]);
		assert_eq!(inspect_module(&applet_module(&[], &[table])), Err(CodeError::TooComplex));
		// br_if and call_indirect split basic blocks too.
		let repeated = |op: &[u8], n: u32| {
			let mut body = alloc::vec![0u8, 0x02, 0x40];
			body.extend(core::iter::repeat_n(op, n as usize).flatten());
			body.extend_from_slice(&[0x0b, 0x41, 0, 0x0b]);
			body
		};
		let br_ifs =
			|n: u32| inspect_module(&applet_module(&[], &[repeated(&[0x20, 0, 0x0d, 0], n)]));
		assert!(br_ifs(MAX_BRANCHES_PER_FUNCTION - 1).is_ok());
		assert_eq!(br_ifs(MAX_BRANCHES_PER_FUNCTION), Err(CodeError::TooComplex));
		let table = {
			let mut body = alloc::vec![1, 0x70, 0];
			leb128_u32(1, &mut body);
			body
		};
		let indirect = |n: u32| {
			let code = applet_module(&[], &[repeated(&[0x41, 0, 0x41, 0, 0x11, 0, 0, 0x1a], n)]);
			inspect_module(&with_section(&code, 4, table.clone()))
		};
		let most = (MAX_BRANCHES_PER_FUNCTION - 1) / CALL_INDIRECT_BRANCHES;
		assert!(indirect(most).is_ok());
		assert_eq!(indirect(most + 1), Err(CodeError::TooComplex));
		let table_gets = |n: u32| {
			let code = applet_module(&[], &[repeated(&[0x41, 0, 0x25, 0, 0x1a], n)]);
			inspect_module(&with_section(&code, 4, table.clone()))
		};
		assert!(table_gets(most).is_ok());
		assert_eq!(table_gets(most + 1), Err(CodeError::TooComplex));
		// fill(0, 0, 0) and copy(0, 0, 0), each metered behind a branch by the engine.
		let bulk = |n: u32| {
			let fill_and_copy = [
				0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 0x0b, 0, 0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 0x0a, 0,
				0,
			];
			inspect_module(&applet_module(&[], &[repeated(&fill_and_copy, n)]))
		};
		assert!(bulk((MAX_BRANCHES_PER_FUNCTION - 1) / 2).is_ok());
		assert_eq!(bulk((MAX_BRANCHES_PER_FUNCTION - 1) / 2 + 1), Err(CodeError::TooComplex));
		// Locals: a declaration is a few bytes whatever its count.
		let locals = |per_function: u32, functions: usize| {
			let mut body = alloc::vec![1];
			leb128_u32(per_function, &mut body);
			body.extend_from_slice(&[0x7f, 0x41, 0, 0x0b]);
			inspect_module(&applet_module(&[], &alloc::vec![body; functions]))
		};
		assert!(locals(20_000, 5).is_ok());
		assert_eq!(locals(20_000, 6), Err(CodeError::TooComplex));
		assert!(locals(MAX_FUNCTION_LOCALS as u32, 1).is_ok());
		assert_eq!(locals(MAX_FUNCTION_LOCALS as u32 + 1, 1), Err(CodeError::TooComplex));
		let per_function = MAX_BRANCHES / MAX_BRANCHES_PER_FUNCTION;
		let spread = |extra: u32| {
			let mut bodies = alloc::vec![loops(MAX_BRANCHES_PER_FUNCTION); per_function as usize];
			bodies.push(loops(MAX_BRANCHES % MAX_BRANCHES_PER_FUNCTION + extra));
			inspect_module(&applet_module(&[], &bodies))
		};
		assert_eq!(spread(0).unwrap().branches, MAX_BRANCHES);
		assert_eq!(spread(1), Err(CodeError::TooComplex));
		let sized = |bytes: usize| {
			let mut body = alloc::vec![0u8];
			body.extend(core::iter::repeat_n(0x01u8, bytes - 4));
			body.extend_from_slice(&[0x41, 0, 0x0b]);
			assert_eq!(body.len(), bytes);
			inspect_module(&applet_module(&[], &[body]))
		};
		assert!(sized(MAX_FUNCTION_SIZE as usize).is_ok());
		assert_eq!(sized(MAX_FUNCTION_SIZE as usize + 1), Err(CodeError::TooComplex));
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
