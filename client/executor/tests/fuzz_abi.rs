//! Property-based fuzzing of the applet ABI: small generated modules import the
//! W3bstream host functions (`env.ws_*`, `stat.ws_submit_metrics`) and WASI's `fd_write`
//! and `random_get`, and their handler calls them in a random order with random `i32`
//! arguments (negative, huge, at the edges of the memory); their `alloc` returns a
//! constant, bumps a pointer or traps. Whatever they do the executor does not panic,
//! every event ends by its code or by fuel (never by the wall-clock backstop), no event
//! burns more than [`MAX_FUEL_PER_EVENT`], and an executor without the pooling allocator
//! gives the same events, fuel, state root and output root.
//!
//! The modules are encoded here, in binary: the `wat` crate is not in the tree and
//! wasmtime is built without its `wat` feature.

mod common;

use std::{collections::BTreeMap, sync::Arc};

use common::{applet, batch, engine_config, message};
use proptest::{
	prelude::*,
	test_runner::{Config as ProptestConfig, TestRunner},
};
use w3b_executor::{
	EngineConfig, Executor, Outcome, StateView, MAX_FUEL_PER_EVENT, MAX_LOGS_PER_EVENT,
	MAX_METRICS_PER_EVENT,
};
use w3b_primitives::{code::leb128_u32, project::code_hash};

/// Modules (each run as a batch on both executors).
const CASES: u32 = 768;

/// A host function the generated modules may import: its module, name and number of
/// `i32` parameters (each returns an `i32`).
#[derive(Debug, Clone, Copy)]
struct Import {
	module: &'static str,
	name: &'static str,
	params: u8,
}

const IMPORTS: [Import; 10] = [
	Import { module: "env", name: "ws_log", params: 3 },
	Import { module: "env", name: "ws_get_data", params: 3 },
	Import { module: "env", name: "ws_set_data", params: 3 },
	Import { module: "env", name: "ws_get_db", params: 4 },
	Import { module: "env", name: "ws_set_db", params: 4 },
	Import { module: "env", name: "ws_send_tx", params: 5 },
	Import { module: "env", name: "ws_get_env", params: 4 },
	Import { module: "stat", name: "ws_submit_metrics", params: 2 },
	Import { module: "wasi_snapshot_preview1", name: "fd_write", params: 4 },
	Import { module: "wasi_snapshot_preview1", name: "random_get", params: 2 },
];

/// An argument of a host call.
#[derive(Debug, Clone, Copy)]
enum Arg {
	Const(i32),
	/// The memory's size in bytes less this.
	BelowEnd(i32),
	/// The handler's `rid`.
	Rid,
	/// What the previous host call returned.
	Last,
}

/// What `alloc(size)` does.
#[derive(Debug, Clone, Copy)]
enum Alloc {
	Const(i32),
	/// Returns the heap pointer and adds `size` to it.
	Bump,
	Trap,
}

/// How the handler ends after its calls.
#[derive(Debug, Clone, Copy)]
enum Tail {
	Return(i32),
	ReturnLast,
	Trap,
	/// Loops until the fuel runs out.
	Spin,
}

/// A generated applet.
#[derive(Debug, Clone)]
struct Module {
	pages: u32,
	max_pages: Option<u32>,
	/// Indices into [`IMPORTS`], in import order.
	imports: Vec<usize>,
	alloc: Alloc,
	heap: i32,
	/// Calls: an index into `imports` and the arguments (as many as it takes are used).
	calls: Vec<(usize, [Arg; 5])>,
	tail: Tail,
}

fn leb_i32(mut n: i32, out: &mut Vec<u8>) {
	loop {
		let byte = (n & 0x7f) as u8;
		n >>= 7;
		let done = (n == 0 && byte & 0x40 == 0) || (n == -1 && byte & 0x40 != 0);
		out.push(if done { byte } else { byte | 0x80 });
		if done {
			return;
		}
	}
}

fn name(text: &str, out: &mut Vec<u8>) {
	leb128_u32(text.len() as u32, out);
	out.extend_from_slice(text.as_bytes());
}

fn section(id: u8, count: usize, items: Vec<u8>, out: &mut Vec<u8>) {
	let mut body = Vec::new();
	leb128_u32(count as u32, &mut body);
	body.extend(items);
	out.push(id);
	leb128_u32(body.len() as u32, out);
	out.extend(body);
}

/// A function body: its locals (`i32`s) and code (without the final `end`).
fn function(locals: u32, code: Vec<u8>, out: &mut Vec<u8>) {
	let mut body = Vec::new();
	if locals == 0 {
		body.push(0);
	} else {
		body.extend_from_slice(&[1]);
		leb128_u32(locals, &mut body);
		body.push(0x7f);
	}
	body.extend(code);
	body.push(0x0b);
	leb128_u32(body.len() as u32, out);
	out.extend(body);
}

const I32: u8 = 0x7f;
const I32_CONST: u8 = 0x41;
const LOCAL_GET: u8 = 0x20;
const LOCAL_SET: u8 = 0x21;
const GLOBAL_GET: u8 = 0x23;
const GLOBAL_SET: u8 = 0x24;
const CALL: u8 = 0x10;
const UNREACHABLE: u8 = 0x00;

impl Module {
	/// The module in WebAssembly's binary format. Types: `(i32 x n) -> i32` at index
	/// `n - 1`, for n = 1 to 5. Functions: the imports, then `alloc`, then `start`
	/// (`rid` in local 0, the last call's result in local 1).
	fn encode(&self) -> Vec<u8> {
		let mut module = b"\0asm\x01\0\0\0".to_vec();
		let mut types = Vec::new();
		for params in 1..=5 {
			types.extend_from_slice(&[0x60, params]);
			types.extend(std::iter::repeat_n(I32, params as usize));
			types.extend_from_slice(&[1, I32]);
		}
		section(1, 5, types, &mut module);
		let mut imports = Vec::new();
		for import in self.imports.iter().map(|&i| IMPORTS[i]) {
			name(import.module, &mut imports);
			name(import.name, &mut imports);
			imports.push(0x00);
			leb128_u32(u32::from(import.params) - 1, &mut imports);
		}
		section(2, self.imports.len(), imports, &mut module);
		section(3, 2, vec![0, 0], &mut module);
		let mut memory = Vec::new();
		match self.max_pages {
			None => memory.push(0),
			Some(_) => memory.push(1),
		}
		leb128_u32(self.pages, &mut memory);
		if let Some(max) = self.max_pages {
			leb128_u32(max, &mut memory);
		}
		section(5, 1, memory, &mut module);
		let mut global = vec![I32, 1, I32_CONST];
		leb_i32(self.heap, &mut global);
		global.push(0x0b);
		section(6, 1, global, &mut module);
		let functions = self.imports.len() as u32;
		let mut exports = Vec::new();
		for (export, kind, index) in
			[("memory", 2, 0), ("alloc", 0, functions), ("start", 0, functions + 1)]
		{
			name(export, &mut exports);
			exports.push(kind);
			leb128_u32(index, &mut exports);
		}
		section(7, 3, exports, &mut module);
		let mut code = Vec::new();
		let alloc = match self.alloc {
			Alloc::Const(ptr) => {
				let mut c = vec![I32_CONST];
				leb_i32(ptr, &mut c);
				c
			}
			Alloc::Bump => vec![
				GLOBAL_GET, 0, GLOBAL_GET, 0, LOCAL_GET, 0, 0x6a, // i32.add
				GLOBAL_SET, 0,
			],
			Alloc::Trap => vec![UNREACHABLE],
		};
		function(0, alloc, &mut code);
		let memory_bytes = (self.pages as i32).wrapping_mul(65536);
		let mut start = Vec::new();
		for (import, args) in &self.calls {
			for arg in &args[..IMPORTS[self.imports[*import]].params as usize] {
				match *arg {
					Arg::Const(n) => {
						start.push(I32_CONST);
						leb_i32(n, &mut start);
					}
					Arg::BelowEnd(n) => {
						start.push(I32_CONST);
						leb_i32(memory_bytes.wrapping_sub(n), &mut start);
					}
					Arg::Rid => start.extend_from_slice(&[LOCAL_GET, 0]),
					Arg::Last => start.extend_from_slice(&[LOCAL_GET, 1]),
				}
			}
			start.push(CALL);
			leb128_u32(*import as u32, &mut start);
			start.extend_from_slice(&[LOCAL_SET, 1]);
		}
		match self.tail {
			Tail::Return(code) => {
				start.push(I32_CONST);
				leb_i32(code, &mut start);
			}
			Tail::ReturnLast => start.extend_from_slice(&[LOCAL_GET, 1]),
			Tail::Trap => start.push(UNREACHABLE),
			// loop br 0 end, i32.const 0
			Tail::Spin => start.extend_from_slice(&[0x03, 0x40, 0x0c, 0x00, 0x0b, I32_CONST, 0]),
		}
		function(1, start, &mut code);
		section(10, 2, code, &mut module);
		module
	}
}

fn arg() -> impl Strategy<Value = Arg> {
	prop_oneof![
		3 => prop::sample::select(vec![0, 1, 4, 8, 64, 1024, 4096, 65535, 65536, i32::MAX, i32::MIN, -1, -4])
			.prop_map(Arg::Const),
		3 => (0i32..2048).prop_map(Arg::Const),
		1 => any::<i32>().prop_map(Arg::Const),
		2 => prop::sample::select(vec![0, 1, 4, 8, 64, 4096, 65536]).prop_map(Arg::BelowEnd),
		1 => Just(Arg::Rid),
		1 => Just(Arg::Last),
	]
}

fn module() -> impl Strategy<Value = Module> {
	(
		1u32..=16,
		prop::option::of(0u32..=16),
		prop::sample::subsequence((0..IMPORTS.len()).collect::<Vec<_>>(), 1..=IMPORTS.len()),
		prop_oneof![
			prop::sample::select(vec![0, 8, 1024, 65532, i32::MAX, -1]).prop_map(Alloc::Const),
			(0i32..65536).prop_map(Alloc::Const),
			Just(Alloc::Bump),
			Just(Alloc::Trap),
		],
		prop_oneof![Just(1024), any::<i32>()],
		prop::collection::vec(
			(any::<prop::sample::Index>(), [arg(), arg(), arg(), arg(), arg()]),
			0..12,
		),
		prop_oneof![
			prop::sample::select(vec![0, 1, -1, 7]).prop_map(Tail::Return),
			Just(Tail::ReturnLast),
			Just(Tail::Trap),
			Just(Tail::Spin),
		],
	)
		.prop_map(|(pages, max, imports, alloc, heap, calls, tail)| Module {
			pages,
			max_pages: max.map(|m| m.max(pages)),
			calls: calls.into_iter().map(|(i, args)| (i.index(imports.len()), args)).collect(),
			imports,
			alloc,
			heap,
			tail,
		})
}

/// A batch for a module: its messages' payloads and the batch's fuel.
#[derive(Debug, Clone)]
struct Run {
	payloads: Vec<Vec<u8>>,
	fuel: u64,
}

fn run() -> impl Strategy<Value = Run> {
	(
		prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..=3),
		prop_oneof![
			1 => Just(0u64),
			1 => Just(1),
			1 => Just(5_000),
			2 => Just(300_000),
			3 => Just(10_000_000),
			8 => Just(10_000_000_000),
		],
	)
		.prop_map(|(payloads, fuel)| Run { payloads, fuel })
}

/// State keys of zeros (what a module's untouched memory holds) have values, so that
/// `ws_get_db` finds some.
fn base_state() -> Arc<dyn StateView> {
	let state: BTreeMap<Vec<u8>, Vec<u8>> =
		(0..=8).map(|n| (vec![0u8; n], format!("value of {n} zeros").into_bytes())).collect();
	Arc::new(state)
}

/// What a batch gave, comparable between executors.
fn outcome(exec: &Executor, module: &Module, run: &Run) -> Result<String, TestCaseError> {
	let code = module.encode();
	let hash = code_hash(&code);
	if let Err(e) = exec.load(hash, &code) {
		return Err(TestCaseError::fail(format!("the module does not load: {e}")));
	}
	let applets = [applet(0, hash, &[])];
	let messages: Vec<_> = run
		.payloads
		.iter()
		.enumerate()
		.map(|(i, payload)| message(i as u64, "DEFAULT", payload))
		.collect();
	let mut input = batch(&applets, &messages, &[("KEY", "value")]);
	input.fuel = run.fuel;
	let result = exec
		.run_batch(&input, base_state(), None)
		.map_err(|e| TestCaseError::fail(format!("run_batch failed: {e}")))?;
	prop_assert_eq!(result.events.len(), messages.len());
	for event in &result.events {
		if let Outcome::Failed(why) = &event.outcome {
			prop_assert!(!why.contains("timed out"), "an event hit the wall clock: {}", why);
		}
		prop_assert!(event.fuel <= MAX_FUEL_PER_EVENT, "{} fuel", event.fuel);
		prop_assert!(event.logs.len() <= MAX_LOGS_PER_EVENT);
		prop_assert!(event.metrics.len() <= MAX_METRICS_PER_EVENT);
		if !event.succeeded() {
			prop_assert!(event.outputs.is_empty() && event.writes.is_empty());
		}
	}
	prop_assert_eq!(result.events.iter().map(|e| e.fuel).sum::<u64>(), result.fuel_used);
	prop_assert!(result.fuel_used <= run.fuel);
	Ok(format!(
		"{:?}\nwrites {:?}\nstate root {:?}\noutput root {:?}\nfuel {}",
		result.events, result.writes, result.state_root, result.output_root, result.fuel_used
	))
}

#[test]
fn generated_applets_end_within_fuel_and_alike_on_every_engine() {
	let pooled = Executor::new(engine_config()).expect("engine");
	let unpooled =
		Executor::new(EngineConfig { pooling: false, ..engine_config() }).expect("engine");
	let mut runner = TestRunner::new(ProptestConfig {
		cases: CASES,
		failure_persistence: None,
		..ProptestConfig::default()
	});
	let strategy = (module(), run()).prop_map(|(module, mut run)| {
		// A spinning handler burns all the fuel it gets: keep it small.
		if matches!(module.tail, Tail::Spin) {
			run.fuel = run.fuel.min(300_000);
		}
		(module, run)
	});
	let result = runner.run(&strategy, |(module, run)| {
		let first = outcome(&pooled, &module, &run)?;
		let second = outcome(&unpooled, &module, &run)?;
		prop_assert_eq!(first, second, "pooled and unpooled executors differ");
		Ok(())
	});
	if let Err(e) = result {
		panic!("{e}");
	}
}
