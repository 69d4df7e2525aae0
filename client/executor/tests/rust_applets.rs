//! The engine against applets written with the Rust SDK (`sdk/`): every host function,
//! success and error codes, determinism, and hostile applets.

mod common;

use std::{
	collections::BTreeMap,
	sync::{Arc, Mutex},
	time::Duration,
};

use codec::Decode;
use common::*;
use sp_core::H256;
use w3b_executor::{EngineConfig, EventResult, Executor, ExecutorError, Outcome, SqlDb, StateView};
use w3b_primitives::bridge::SendTx;

fn executor() -> Executor {
	Executor::new(engine_config()).expect("engine")
}

fn empty_state() -> Arc<dyn StateView> {
	Arc::new(BTreeMap::<Vec<u8>, Vec<u8>>::new())
}

#[test]
fn log_applet_gets_data_logs_sets_data_and_submits_metrics() {
	let exec = executor();
	let code = load(&exec, "log");
	let applets = [applet(0, code, &[])];
	let messages = [message(0, "DEFAULT", b"hello"), message(1, "OTHER", b"world")];
	let result = exec.run_batch(&batch(&applets, &messages, &[]), empty_state(), None).unwrap();
	assert_eq!(result.events.len(), 2);
	let first = &result.events[0];
	assert_eq!(first.outcome, Outcome::Returned(0), "{first:?}");
	assert_eq!(first.logs[0].message, "event 0: hello");
	assert_eq!(first.logs[0].level, "4");
	assert_eq!(first.data.as_deref(), Some("0x68656c6c6f"));
	assert_eq!(first.metrics, ["{\"bytes\":5}"]);
	assert!(first.fuel > 0);
	assert_eq!(result.events[1].logs[0].message, "event 1: world");
	assert_eq!(result.fuel_used, first.fuel + result.events[1].fuel);
	assert!(result.writes.is_empty() && result.outputs.is_empty());
}

#[test]
fn counter_applet_keeps_state_across_events_and_batches() {
	let exec = executor();
	let code = load(&exec, "counter");
	let applets = [applet(0, code, &[])];
	let messages: Vec<_> =
		(0..5).map(|i| message(i, "DEFAULT", format!("device=d{}", i % 2).as_bytes())).collect();
	let input = batch(&applets, &messages, &[("GREETING", "hi there")]);
	let first = exec.run_batch(&input, empty_state(), None).unwrap();
	assert!(first.events.iter().all(|e| e.succeeded()));
	assert_eq!(first.writes[&b"count".to_vec()], 5u64.to_le_bytes());
	assert_eq!(first.writes[&b"count/d0".to_vec()], 3u64.to_le_bytes());
	assert_eq!(first.events[0].logs[0].message, "hi there");
	// The next batch starts from the state the first one left.
	let base: BTreeMap<Vec<u8>, Vec<u8>> = first.writes.clone().into_iter().collect();
	let next_input = BatchInput { prev_state_root: first.state_root, batch_seq: 1, ..input };
	let second = exec.run_batch(&next_input, Arc::new(base), None).unwrap();
	assert_eq!(second.writes[&b"count".to_vec()], 10u64.to_le_bytes());
	assert_ne!(second.state_root, first.state_root);
}

use w3b_executor::BatchInput;

#[test]
fn same_batch_same_output_root_even_in_parallel() {
	// Two lanes for four threads: two batches run on a lane each, the others share one.
	let exec = Arc::new(Executor::new(EngineConfig { lanes: 2, ..engine_config() }).unwrap());
	let counter = load(&exec, "counter");
	let alert = load(&exec, "alert");
	let applets = [applet(0, counter, &[]), applet(1, alert, &[])];
	let messages: Vec<_> = (0..20)
		.map(|i| message(i, "DEFAULT", format!("{{\"temperature\":{}}}", 20 + i).as_bytes()))
		.collect();
	let env = [("THRESHOLD", "30")];
	let reference = exec.run_batch(&batch(&applets, &messages, &env), empty_state(), None).unwrap();
	let again = exec.run_batch(&batch(&applets, &messages, &env), empty_state(), None).unwrap();
	assert_eq!(reference.output_root, again.output_root);
	let roots: Vec<H256> = std::thread::scope(|s| {
		let handles: Vec<_> = (0..4)
			.map(|_| {
				s.spawn(|| {
					exec.run_batch(&batch(&applets, &messages, &env), empty_state(), None)
						.unwrap()
						.output_root
				})
			})
			.collect();
		handles.into_iter().map(|h| h.join().unwrap()).collect()
	});
	assert!(roots.iter().all(|r| *r == reference.output_root));
	// A different batch gives a different root.
	let fewer =
		exec.run_batch(&batch(&applets, &messages[..19], &env), empty_state(), None).unwrap();
	assert_ne!(fewer.output_root, reference.output_root);
}

#[test]
fn alert_applet_emits_bridge_outputs_above_threshold() {
	let exec = executor();
	let code = load(&exec, "alert");
	let applets = [applet(0, code, &[])];
	let messages = [
		message(0, "DEFAULT", br#"{"temperature":25}"#),
		message(1, "DEFAULT", br#"{"temperature":35.5}"#),
		message(2, "DEFAULT", b"not json"),
	];
	let receiver = "0x00000000000000000000000000000000000000ab";
	let env = [("THRESHOLD", "30"), ("CHAIN_ID", "4689"), ("RECEIVER", receiver)];
	let result = exec.run_batch(&batch(&applets, &messages, &env), empty_state(), None).unwrap();
	assert_eq!(result.events[0].outcome, Outcome::Returned(0));
	assert_eq!(result.events[1].outcome, Outcome::Returned(0));
	assert_eq!(result.events[2].outcome, Outcome::Returned(1));
	assert_eq!(result.outputs.len(), 1);
	let tx = SendTx::decode(&mut &result.outputs[0][..]).unwrap();
	assert_eq!(tx.chain_id, 4689);
	assert_eq!(tx.to, Some(sp_core::H160::from_low_u64_be(0xab)));
	assert_eq!(&tx.data[..], b"alert:35.5");
	assert!(result.events[1].logs[0].message.starts_with("alert 35.5 > 30: output 0x"));
	assert_eq!(
		result.output_root,
		w3b_primitives::proof::output_root(&result.state_root, &result.outputs)
	);
}

#[test]
fn sql_applet_with_and_without_a_database() {
	let exec = executor();
	let code = load(&exec, "sql");
	let applets = [applet(0, code, &[])];
	let messages = [message(0, "DEFAULT", b"first"), message(1, "DEFAULT", b"sec\"ond")];
	let input = batch(&applets, &messages, &[]);
	let db = Arc::new(Mutex::new(SqlDb::in_memory().unwrap()));
	let result = exec.run_batch(&input, empty_state(), Some(db.clone())).unwrap();
	assert!(result.events.iter().all(|e| e.succeeded()), "{:?}", result.events);
	assert_eq!(result.events[1].logs[0].message, r#"[{"n":2}]"#);
	assert_ne!(result.sql_digest, H256::zero());
	// Expired: the caller rolls the batch back.
	db.lock().unwrap().rollback_batch().unwrap();
	assert_eq!(db.lock().unwrap().query(b"SELECT count(*) AS n FROM readings").ok(), None);
	// Without a database the host answers 9 and the event fails with it.
	let result = exec.run_batch(&input, empty_state(), None).unwrap();
	assert_eq!(result.events[0].outcome, Outcome::Returned(9));
}

#[test]
fn hostile_applets_fail_their_own_events_only() {
	let exec = executor();
	let hostile = load(&exec, "hostile");
	let counter = load(&exec, "counter");
	let routes = [
		("SPIN", "spin"),
		("GROW", "grow"),
		("RECURSE", "recurse"),
		("BAD_POINTER", "bad_pointer"),
		("PANIC", "write_then_panic"),
		("NONDET", "nondeterministic"),
		("MISSING", "no_such_handler"),
	];
	let applets = [applet(0, hostile, &routes), applet(1, counter, &[("DEFAULT", "start")])];
	let messages: Vec<_> = ["SPIN", "GROW", "RECURSE", "BAD_POINTER", "PANIC", "NONDET", "MISSING"]
		.iter()
		.enumerate()
		.map(|(i, ty)| message(i as u64, ty, b"x"))
		.chain([message(7, "DEFAULT", b"after")])
		.collect();
	let mut input = batch(&applets, &messages, &[]);
	input.fuel = 2_000_000_000;
	let result = exec.run_batch(&input, empty_state(), None).unwrap();
	// Each message runs the hostile applet (by its route) and the counter (DEFAULT).
	let hostile: Vec<_> = result.events.iter().filter(|e| e.applet == 0).collect();
	let outcome = |i: usize| hostile[i].outcome.clone();
	assert_eq!(outcome(0), Outcome::Failed("out of fuel".into()));
	assert_eq!(hostile[0].fuel, w3b_executor::MAX_FUEL_PER_EVENT);
	assert_eq!(
		outcome(1),
		Outcome::Failed("wasm trap: wasm `unreachable` instruction executed".into())
	);
	assert_eq!(outcome(2), Outcome::Failed("stack overflow".into()));
	assert_eq!(outcome(3), Outcome::Returned(0), "{:?}", hostile[3].logs);
	assert!(matches!(outcome(4), Outcome::Failed(_)));
	assert_eq!(outcome(5), Outcome::Returned(0), "{:?}", hostile[5].logs);
	assert_eq!(
		outcome(6),
		Outcome::Failed(
			"handler `no_such_handler` is not an exported function (i32) -> i32".into()
		)
	);
	// The last message has no hostile route (the hostile applet has no DEFAULT).
	assert_eq!(hostile.len(), 7);
	// The panicking event's write is gone; the counter ran on every message regardless.
	assert!(!result.writes.contains_key(b"poison".as_slice()));
	assert!(result.events.iter().filter(|e| e.applet == 1).all(|e| e.succeeded()));
	assert_eq!(result.writes[&b"count".to_vec()], 8u64.to_le_bytes());
	assert!(result.fuel_used <= input.fuel);
}

#[test]
fn a_spinning_event_past_the_wall_clock_backstop_is_stopped() {
	// One epoch (10 ms): far less than an event's fuel takes to burn in a loop. (Every
	// event of this engine has that deadline, so only the spinning one runs here.)
	let exec = Executor::new(EngineConfig { event_timeout: Duration::ZERO, ..engine_config() })
		.expect("engine");
	let hostile = load(&exec, "hostile");
	let applets = [applet(0, hostile, &[("SPIN", "spin")])];
	let messages = [message(0, "SPIN", b"x")];
	// The epoch ticker is a thread: on a machine busy with other tests it may not run
	// before the event burns its fuel (about 50 ms of spinning). Every attempt ends in
	// one of the two ways; one of a few is stopped by the clock.
	let mut outcomes = Vec::new();
	for _ in 0..5 {
		let result = exec.run_batch(&batch(&applets, &messages, &[]), empty_state(), None).unwrap();
		let event = result.events[0].clone();
		if event.hit_wall_clock() {
			assert_eq!(event.outcome, Outcome::Failed("timed out (wall-clock backstop)".into()));
			assert!(
				event.fuel < w3b_executor::MAX_FUEL_PER_EVENT,
				"stopped before its fuel ran out"
			);
			return;
		}
		assert_eq!(event.outcome, Outcome::Failed("out of fuel".into()), "{event:?}");
		outcomes.push(event);
	}
	panic!("the wall-clock backstop never stopped the spinning event: {outcomes:?}");
}

#[test]
fn huge_payloads_hit_the_memory_cap() {
	let exec =
		Executor::new(EngineConfig { max_memory_bytes: 8 << 20, ..engine_config() }).unwrap();
	let code = load(&exec, "log");
	let applets = [applet(0, code, &[])];
	let messages = [message(0, "DEFAULT", &vec![7u8; 16 << 20]), message(1, "DEFAULT", b"ok")];
	let result = exec.run_batch(&batch(&applets, &messages, &[]), empty_state(), None).unwrap();
	assert!(matches!(result.events[0].outcome, Outcome::Failed(_)), "{:?}", result.events[0]);
	assert_eq!(result.events[1].outcome, Outcome::Returned(0));
}

#[test]
fn the_batch_fuel_budget_is_shared() {
	let exec = executor();
	let code = load(&exec, "counter");
	let applets = [applet(0, code, &[])];
	let messages: Vec<_> = (0..10).map(|i| message(i, "DEFAULT", b"")).collect();
	let mut input = batch(&applets, &messages, &[]);
	let full = exec.run_batch(&input, empty_state(), None).unwrap();
	let three: u64 = full.events[..3].iter().map(|e| e.fuel).sum();
	input.fuel = three + full.events[3].fuel / 2;
	let result = exec.run_batch(&input, empty_state(), None).unwrap();
	let ok = result.events.iter().filter(|e| e.succeeded()).count();
	assert_eq!(ok, 3);
	assert_eq!(result.events[3].outcome, Outcome::Failed("out of fuel".into()));
	assert_eq!(result.fuel_used, input.fuel);
	assert_eq!(
		result.events.last().unwrap().outcome,
		Outcome::Failed("out of fuel: the batch's fuel is used up".into())
	);
}

#[test]
fn bad_code_is_refused_with_a_reason() {
	let exec = executor();
	let log = applet_code("log");
	let wrong_hash = exec.load(H256::zero(), &log).unwrap_err();
	assert!(matches!(wrong_hash, ExecutorError::InvalidCode { .. }));
	let garbage = b"garbage".to_vec();
	let err = exec.load(w3b_primitives::project::code_hash(&garbage), &garbage).unwrap_err();
	assert!(err.to_string().contains("not valid WebAssembly"), "{err}");
	// Imports env.ws_teleport, which the host does not provide.
	let mut module = b"\0asm\x01\0\0\0".to_vec();
	module.extend_from_slice(&[1, 6, 1, 0x60, 1, 0x7f, 1, 0x7f]);
	module.extend_from_slice(&[2, 0x13, 1, 3, b'e', b'n', b'v', 11]);
	module.extend_from_slice(b"ws_teleport");
	module.extend_from_slice(&[0, 0]);
	module.extend_from_slice(&[3, 2, 1, 0]);
	module.extend_from_slice(&[5, 3, 1, 0, 1]);
	module.extend_from_slice(&[7, 0x12, 2, 6]);
	module.extend_from_slice(b"memory");
	module.extend_from_slice(&[2, 0, 5]);
	module.extend_from_slice(b"alloc");
	module.extend_from_slice(&[0, 1]);
	module.extend_from_slice(&[10, 6, 1, 4, 0, 0x20, 0, 0x0b]);
	let hash = w3b_primitives::project::code_hash(&module);
	let err = exec.load(hash, &module).unwrap_err();
	assert!(err.to_string().contains("imports a function the host does not provide"), "{err}");
	// Remembered: refused again without being looked at, for the reason it had.
	let ExecutorError::InvalidCode { reason, .. } = &err else { panic!("{err}") };
	assert_eq!(exec.refused(&hash).as_ref(), Some(reason));
	let again = exec.load(hash, &module).unwrap_err();
	assert_eq!(again.to_string(), err.to_string());
	// Bytes that do not hash to the code hash are not what was refused.
	assert!(exec.refused(&H256::zero()).is_none());
	assert!(exec.refused(&w3b_primitives::project::code_hash(&log)).is_none());
	// An applet whose code was never loaded.
	let applets = [applet(0, H256::repeat_byte(1), &[])];
	let messages = [message(0, "DEFAULT", b"")];
	assert!(matches!(
		exec.run_batch(&batch(&applets, &messages, &[]), empty_state(), None),
		Err(ExecutorError::UnknownCode(_))
	));
}

#[test]
fn the_engine_links_every_function_the_chain_lets_an_applet_import() {
	// One applet importing every host function the chain's upload check allows, with its
	// type: code the chain accepts always links (it would otherwise never run anywhere,
	// and its project's batches never reach a quorum).
	use w3b_primitives::code::{leb128_u32, section, ValType, HOST_FUNCTIONS};
	let code = |ty: &ValType| match ty {
		ValType::I32 => 0x7f,
		ValType::I64 => 0x7e,
		ValType::F64 => 0x7c,
		other => panic!("no host function takes {other:?}"),
	};
	let imports = HOST_FUNCTIONS.len() as u32;
	let mut module = b"\0asm\x01\0\0\0".to_vec();
	// Type i is host function i's; the last, (i32) -> i32, is alloc's.
	let mut types = Vec::new();
	leb128_u32(imports + 1, &mut types);
	for (_, _, params, results) in HOST_FUNCTIONS {
		types.push(0x60);
		types.push(params.len() as u8);
		types.extend(params.iter().map(code));
		types.push(results.len() as u8);
		types.extend(results.iter().map(code));
	}
	types.extend_from_slice(&[0x60, 1, 0x7f, 1, 0x7f]);
	section(1, types, &mut module);
	let mut section_2 = Vec::new();
	leb128_u32(imports, &mut section_2);
	for (i, (module_name, name, _, _)) in HOST_FUNCTIONS.iter().enumerate() {
		for part in [module_name, name] {
			leb128_u32(part.len() as u32, &mut section_2);
			section_2.extend_from_slice(part.as_bytes());
		}
		section_2.push(0);
		leb128_u32(i as u32, &mut section_2);
	}
	section(2, section_2, &mut module);
	let mut functions = vec![1];
	leb128_u32(imports, &mut functions);
	section(3, functions, &mut module);
	section(5, vec![1, 0, 1], &mut module);
	let mut exports = vec![2, 6];
	exports.extend_from_slice(b"memory");
	exports.extend_from_slice(&[2, 0, 5]);
	exports.extend_from_slice(b"alloc");
	exports.push(0);
	leb128_u32(imports, &mut exports);
	section(7, exports, &mut module);
	section(10, vec![1, 4, 0, 0x20, 0, 0x0b], &mut module);
	assert!(w3b_primitives::code::inspect_module(&module).is_ok(), "the chain accepts it");
	let hash = w3b_primitives::project::code_hash(&module);
	executor().load(hash, &module).expect("the engine links every host function the chain lists");
}

#[test]
fn pooling_off_gives_the_same_results() {
	let pooled = executor();
	let plain = Executor::new(EngineConfig { pooling: false, ..engine_config() }).unwrap();
	let messages: Vec<_> = (0..5).map(|i| message(i, "DEFAULT", b"device=a")).collect();
	let roots: Vec<H256> = [pooled, plain]
		.iter()
		.map(|exec| {
			let applets = [applet(0, load(exec, "counter"), &[])];
			exec.run_batch(&batch(&applets, &messages, &[]), empty_state(), None)
				.unwrap()
				.output_root
		})
		.collect();
	assert_eq!(roots[0], roots[1]);
}

#[test]
fn local_run_reports_json_and_clear_errors() {
	use w3b_executor::local::{run_local, LocalRun};
	let dir = tempfile::tempdir().unwrap();
	let messages = dir.path().join("messages.jsonl");
	std::fs::write(&messages, "{\"payload\":{\"temperature\":40}}\n\n{\"payload\":\"x\"}\n")
		.unwrap();
	let wasm = applets_dir().join("applet_alert.wasm");
	let run = LocalRun {
		wasm: wasm.clone(),
		messages: messages.clone(),
		handler: "start".into(),
		env: vec![("CHAIN_ID".into(), "4689".into())],
		fuel: 1_000_000_000,
		sql: None,
	};
	let report = run_local(&run).unwrap();
	assert_eq!(report["events"].as_array().unwrap().len(), 2);
	assert_eq!(report["events"][0]["outcome"], serde_json::json!({"returned": 0}));
	assert_eq!(report["events"][1]["outcome"], serde_json::json!({"returned": 1}));
	assert_eq!(report["outputs"].as_array().unwrap().len(), 1);

	let not_wasm = LocalRun { wasm: messages.clone(), ..run.clone() };
	assert!(run_local(&not_wasm)
		.unwrap_err()
		.contains("is not applet code: not valid WebAssembly"));
	let missing = LocalRun { messages: dir.path().join("nope"), ..run.clone() };
	assert!(run_local(&missing).unwrap_err().starts_with("cannot read"));
	std::fs::write(&messages, "{\"payload\":1}\n[2]\n").unwrap();
	assert!(run_local(&run).unwrap_err().ends_with("messages.jsonl:2: not a JSON object"));
	let no_handler = LocalRun { handler: "nope".into(), ..run.clone() };
	std::fs::write(&messages, "{}\n").unwrap();
	let report = run_local(&no_handler).unwrap();
	assert_eq!(
		report["events"][0]["outcome"]["failed"],
		"handler `nope` is not an exported function (i32) -> i32"
	);
}

#[test]
fn wasi_is_sandboxed_and_deterministic() {
	let exec = executor();
	let code = load(&exec, "wasi");
	let applets = [applet(0, code, &[])];
	let messages = [message(0, "DEFAULT", b"")];
	let input = batch(&applets, &messages, &[("GREETING", "hi")]);
	let first = exec.run_batch(&input, empty_state(), None).unwrap();
	let event = &first.events[0];
	assert_eq!(event.outcome, Outcome::Returned(0), "{event:?}");
	let lines: Vec<(&str, &str)> =
		event.logs.iter().map(|l| (l.level.as_str(), l.message.as_str())).collect();
	assert_eq!(lines[0], ("stdout", "hello from stdout"));
	assert_eq!(lines[1], ("stderr", "hello from stderr"));
	// The clock is the batch's, the environment the project's.
	assert!(lines[2].1.starts_with("greeting=hi now_ms=1700000000000 keyed_hash="), "{lines:?}");
	// No files, no stdin: 76 is ENOTCAPABLE, 8 EBADF, and nothing was opened or read.
	assert_eq!(lines[3], ("stdout", "path_open errno=76 fd=-1 fd_read errno=8 read=0"));
	// The random source is the batch's: the same keyed hash again...
	let again = exec.run_batch(&input, empty_state(), None).unwrap();
	assert_eq!(again.events[0].logs, event.logs);
	// ...and another batch (another Merkle root) has another.
	let other = BatchInput { merkle_root: H256::repeat_byte(0xab), ..input };
	let other = exec.run_batch(&other, empty_state(), None).unwrap();
	let keyed_hash = |logs: &[w3b_executor::LogLine]| logs[2].message.clone();
	assert_ne!(keyed_hash(&other.events[0].logs), keyed_hash(&event.logs));
	assert_eq!(other.events[0].logs[3], event.logs[3]);
}

#[test]
fn compiled_code_is_bounded_least_recently_used_first() {
	let size = |name: &str| {
		let exec = Executor::new(EngineConfig { lanes: 2, ..engine_config() }).unwrap();
		load(&exec, name);
		exec.cached_code_bytes()
	};
	let (log_size, counter_size, sql_size) = (size("log"), size("counter"), size("sql"));
	assert!(log_size > 0 && counter_size > 0 && sql_size > 0);
	// Room for log with either of the others, not for all three.
	let max = log_size + counter_size.max(sql_size);
	// With two lanes: each holds its own copy in half the bound, and both drop the same
	// code first.
	let exec =
		Executor::new(EngineConfig { max_module_cache_bytes: max, lanes: 2, ..engine_config() })
			.unwrap();
	let log = load(&exec, "log");
	let counter = load(&exec, "counter");
	// Running log makes counter the least recently used: loading sql drops counter.
	let applets = [applet(0, log, &[])];
	let messages = [message(0, "DEFAULT", b"hello")];
	let input = batch(&applets, &messages, &[]);
	assert!(exec.run_batch(&input, empty_state(), None).unwrap().events[0].succeeded());
	let sql = load(&exec, "sql");
	assert!(exec.is_loaded(&log) && exec.is_loaded(&sql));
	assert!(!exec.is_loaded(&counter));
	assert!(exec.cached_code_bytes() <= max);
	// Dropped code is compiled again when loaded again.
	load(&exec, "counter");
	assert!(exec.is_loaded(&counter) && !exec.is_loaded(&log));
	let applets = [applet(0, counter, &[])];
	let input = batch(&applets, &messages, &[]);
	assert!(exec.run_batch(&input, empty_state(), None).unwrap().events[0].succeeded());
	// Code larger than the whole bound is still loaded: it is needed now.
	let tiny =
		Executor::new(EngineConfig { max_module_cache_bytes: 1, ..engine_config() }).unwrap();
	let (log, counter) = (load(&tiny, "log"), load(&tiny, "counter"));
	assert!(!tiny.is_loaded(&log) && tiny.is_loaded(&counter));
}

/// A project whose applets together compile to more than the engine keeps (large
/// applets uploaded to push others out, or many projects' code in one round) still runs:
/// the code of a batch about to run is held, whatever is loaded meanwhile.
#[test]
fn a_batch_runs_whatever_the_bound_on_compiled_code() {
	let exec =
		Executor::new(EngineConfig { max_module_cache_bytes: 1, lanes: 2, ..engine_config() })
			.unwrap();
	let held = ["log", "counter"].map(|name| {
		let code = applet_code(name);
		exec.load(w3b_primitives::project::code_hash(&code), &code).unwrap()
	});
	// Another project's code loaded meanwhile.
	load(&exec, "sql");
	let applets = [applet(0, held[0].hash(), &[]), applet(1, held[1].hash(), &[])];
	let messages = [message(0, "DEFAULT", b"hello")];
	let input = batch(&applets, &messages, &[]);
	let result = exec.run_batch(&input, empty_state(), None).unwrap();
	assert_eq!(result.events.len(), 2);
	assert!(result.events.iter().all(EventResult::succeeded), "{:?}", result.events);
	// Without a handle, code past the bound is dropped.
	drop(held);
	load(&exec, "sql");
	assert!(!exec.is_loaded(&applets[0].1.code_hash));
}

/// A write SQLite interrupts (out of fuel) rolls its whole transaction back: the event
/// fails, the batch's earlier events keep their rows, the later ones run on them, and
/// the statements the batch reports rebuild the same database.
#[test]
fn a_write_interrupted_by_fuel_fails_its_event_only() {
	let exec = executor();
	let hostile = load(&exec, "hostile");
	let applets = [applet(0, hostile, &[("DEFAULT", "sql_exec_payload")])];
	let endless = "INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
	               SELECT x FROM c";
	let statements = [
		"CREATE TABLE t (v INTEGER)",
		"INSERT INTO t VALUES (1)",
		endless,
		"INSERT INTO t VALUES (2)",
	];
	let messages: Vec<_> = statements
		.iter()
		.enumerate()
		.map(|(i, s)| message(i as u64, "DEFAULT", s.as_bytes()))
		.collect();
	let db = Arc::new(Mutex::new(SqlDb::in_memory().unwrap()));
	let result =
		exec.run_batch(&batch(&applets, &messages, &[]), empty_state(), Some(db.clone())).unwrap();
	let outcomes: Vec<_> = result.events.iter().map(|e| e.outcome.clone()).collect();
	assert_eq!(outcomes[..2], [Outcome::Returned(0), Outcome::Returned(0)]);
	assert!(
		matches!(&outcomes[2], Outcome::Failed(why) if why.contains("out of fuel") || why.contains("undid")),
		"{outcomes:?}"
	);
	assert_eq!(outcomes[3], Outcome::Returned(0));
	let db = db.lock().unwrap();
	db.commit_batch().unwrap();
	assert_eq!(db.query(b"SELECT v FROM t ORDER BY v").unwrap(), br#"[{"v":1},{"v":2}]"#);
	let replayed = SqlDb::in_memory().unwrap();
	replayed.replay(result.sql_statements.iter().map(Vec::as_slice), 0).unwrap();
	assert_eq!(replayed.query(b"SELECT v FROM t ORDER BY v").unwrap(), br#"[{"v":1},{"v":2}]"#);
	assert_eq!(result.sql_statements.len(), 3);
}

/// `ws_send_tx` takes W3bstream's transaction JSON and nothing an operator could read
/// otherwise: a value, a malformed address, a negative chain id are refused.
#[test]
fn send_tx_takes_w3bstreams_transaction_json() {
	use w3b_executor::send_tx;
	let tx = send_tx(
		4690,
		br#"{"to":"0xb73eE6EB5b1984c78CCcC49eA7Ad773E71d74F51","value":"0","data":"0x40c10f19"}"#,
	)
	.unwrap();
	assert_eq!(tx.chain_id, 4690);
	assert_eq!(
		tx.to.unwrap(),
		"b73eE6EB5b1984c78CCcC49eA7Ad773E71d74F51".parse::<sp_core::H160>().unwrap()
	);
	assert_eq!(&tx.data[..], [0x40, 0xc1, 0x0f, 0x19]);
	// No address, the zero address: the project's receiver; hex data with or without 0x
	// (W3bstream's AssemblyScript SDK strips it); a client id.
	for json in [
		r#"{"data":"0x72656164696e672037","clientId":"dev-1"}"#,
		r#"{"to":"0x0000000000000000000000000000000000000000","value":0,"data":"72656164696e672037","clientId":"dev-1"}"#,
		r#"{"to":"","value":"0x00","data":"72656164696e672037","clientId":"dev-1","gas":"21000"}"#,
	] {
		let tx = send_tx(1, json.as_bytes()).unwrap();
		assert_eq!(
			(tx.to, &tx.data[..], &tx.client_id[..]),
			(None, &b"reading 7"[..], &b"dev-1"[..]),
			"{json}"
		);
	}
	for (json, why) in [
		(r#"{"to":"0x01","data":"0x"}"#, "20 bytes"),
		(r#"{"to":"0xzz","data":"0x"}"#, "not hex"),
		(r#"{"value":"1","data":"0x"}"#, "value must be 0"),
		(r#"{"value":5}"#, "value must be 0"),
		(r#"{"data":"0x123"}"#, "not hex"),
		(r#"{"data":"reading 7"}"#, "not hex"),
		(r#"{"data":7}"#, "must be a string"),
		(r#"["to"]"#, "JSON object"),
		(
			r#"{"clientId":"0123456789012345678901234567890123456789012345678901234567890123456789"}"#,
			"clientId",
		),
	] {
		let error = send_tx(1, json.as_bytes()).unwrap_err();
		assert!(error.contains(why), "{json}: {error}");
	}
	assert!(send_tx(-1, b"{}").unwrap_err().contains("negative"));
}

#[test]
fn an_applet_that_overflows_its_stack_in_memory_fails_its_own_event_only() {
	// The SDK's applets keep Rust's stack in the first 32 KiB of their memory, below
	// their data: an overflow runs below address 0 and traps before it can reach
	// anything.
	let exec = executor();
	let hostile = load(&exec, "hostile");
	let counter = load(&exec, "counter");
	let applets = [
		applet(0, hostile, &[("OVERFLOW", "overflow_stack")]),
		applet(1, counter, &[("DEFAULT", "start")]),
	];
	let messages = [message(0, "OVERFLOW", b"x"), message(1, "DEFAULT", b"after")];
	let result = exec.run_batch(&batch(&applets, &messages, &[]), empty_state(), None).unwrap();
	let overflow = result.events.iter().find(|e| e.applet == 0).unwrap();
	assert_eq!(
		overflow.outcome,
		Outcome::Failed("wasm trap: out of bounds memory access".into()),
		"{:?}",
		overflow.logs
	);
	assert!(result.events.iter().filter(|e| e.applet == 1).all(|e| e.succeeded()));
	assert_eq!(result.writes[&b"count".to_vec()], 2u64.to_le_bytes());
}

#[test]
fn an_event_finds_nothing_an_earlier_event_left_in_memory() {
	// An applet leaves a secret in its memory (in an allocation among the first pages,
	// which the pool zeroes in place, and on every page of a memory grown to 2 MiB,
	// which it gives back to the kernel); the next events grow theirs as far and look
	// for it through all of it. A pool of one instance makes every event reuse the
	// same slot (wasmtime gives queued memory back before it reuses a slot). With
	// every way of resetting a memory.
	for keep_resident_bytes in [0, EngineConfig::default().keep_resident_bytes, 4 << 20] {
		let config = EngineConfig { keep_resident_bytes, max_instances: 1, ..engine_config() };
		let exec = Executor::new(config).unwrap();
		let hostile = load(&exec, "hostile");
		let applets = [applet(0, hostile, &[("LEAVE", "leave_secret"), ("FIND", "find_secret")])];
		let messages = [
			message(0, "LEAVE", b"w3b-leak"),
			message(1, "FIND", b"w3b-leak"),
			message(2, "LEAVE", b"w3b-leak"),
			message(3, "FIND", b"w3b-leak"),
		];
		let result = exec.run_batch(&batch(&applets, &messages, &[]), empty_state(), None).unwrap();
		let logs: Vec<&str> = result.events.iter().map(|e| e.logs[0].message.as_str()).collect();
		// 512 copies in the allocation and one per grown page: the search sees them.
		let left: usize = logs[0].strip_prefix("left ").unwrap().parse().unwrap();
		assert!(left > 512, "{keep_resident_bytes}: {logs:?}");
		assert_eq!(
			logs,
			["left", "found 0", "left", "found 0"].map(|l| match l {
				"left" => logs[0],
				other => other,
			}),
			"{keep_resident_bytes}"
		);
	}
}

#[test]
fn bulk_instructions_memory_pages_and_data_segments_pay_for_their_size() {
	use w3b_primitives::code::{applet_module, section};
	// `memory.fill` of the whole 64 MiB memory, a thousand times over: seconds of work
	// for a few instructions of fuel each, unless the engine charges the bytes (and
	// the pages grown).
	let fill = vec![
		1, 1, 0x7f, // one i32 local: the round
		0x41, 0xff, 0x07, 0x40, 0, 0x1a, // memory.grow(1023), dropped: 64 MiB
		0x03, 0x40, // loop
		0x41, 0, 0x41, 0, 0x41, 1, 0x41, 26, 0x74, 0xfc, 0x0b, 0, // fill(0, 0, 1 << 26)
		0x20, 1, 0x41, 1, 0x6a, 0x22, 1, // round += 1
		0x41, 0xe8, 0x07, 0x49, 0x0d, 0, // while round < 1000
		0x0b, 0x41, 0, 0x0b,
	];
	// One `memory.copy` of 1 MiB, which fits in the event's fuel.
	let copy = vec![
		0, 0x41, 16, 0x40, 0, 0x1a, // memory.grow(16), dropped: 17 pages
		0x41, 0, 0x41, 0x80, 0x80, 0x04, 0x41, 1, 0x41, 20, 0x74, // (0, 65,536, 1 << 20)
		0xfc, 0x0a, 0, 0, 0x41, 0, 0x0b,
	];
	let nothing = vec![0, 0x41, 0, 0x0b];
	// memory.grow(2000) past the 64 MiB cap: -1, as before the rewriting, and no fuel
	// for pages it did not get; returns the result plus one.
	let too_much = vec![0, 0x41, 0xd0, 0x0f, 0x40, 0, 0x41, 1, 0x6a, 0x0b];
	let mut code =
		applet_module(&["fill", "copy", "nothing", "too_much"], &[fill, copy, nothing, too_much]);
	// An active data segment of 60 KiB, copied into every new instance.
	let mut data = vec![1, 0, 0x41, 0, 0x0b];
	w3b_primitives::code::leb128_u32(60 << 10, &mut data);
	data.extend(std::iter::repeat_n(7u8, 60 << 10));
	section(11, data, &mut code);
	let exec = executor();
	let hash = w3b_primitives::project::code_hash(&code);
	exec.load(hash, &code).expect("the module loads");
	let routes = [("FILL", "fill"), ("COPY", "copy"), ("NOTHING", "nothing"), ("MORE", "too_much")];
	let applets = [applet(0, hash, &routes)];
	let messages: Vec<_> =
		routes.iter().enumerate().map(|(i, (ty, _))| message(i as u64, ty, b"")).collect();
	let result = exec.run_batch(&batch(&applets, &messages, &[]), empty_state(), None).unwrap();
	let [fill, copy, nothing, too_much] = &result.events[..] else { panic!("{:?}", result.events) };
	use w3b_executor::FUEL_PER_PAGE;
	// One page to start with, and 60 KiB copied into it.
	let instantiation = FUEL_PER_PAGE + (60 << 10);
	assert_eq!(
		fill.outcome,
		Outcome::Failed("out of fuel".into()),
		"filled 64 MiB again and again on {} fuel",
		fill.fuel
	);
	assert_eq!(fill.fuel, w3b_executor::MAX_FUEL_PER_EVENT);
	assert_eq!(copy.outcome, Outcome::Returned(0));
	let copied = instantiation + 16 * FUEL_PER_PAGE + (1 << 20);
	assert!(
		(copied..copied + 1_000).contains(&copy.fuel),
		"16 pages grown and 1 MiB copied after the instantiation burnt {}",
		copy.fuel
	);
	assert_eq!(nothing.outcome, Outcome::Returned(0));
	assert!(
		(instantiation..instantiation + 100).contains(&nothing.fuel),
		"an instantiation of a page copying 60 KiB burnt {}",
		nothing.fuel
	);
	assert_eq!(too_much.outcome, Outcome::Returned(0), "memory.grow past the cap gave -1");
	assert!(
		(instantiation..instantiation + 1_000).contains(&too_much.fuel),
		"a memory.grow refused burnt {}",
		too_much.fuel
	);
}

/// The host calls an applet's exports by the types it checked when the module was linked
/// (without wasmtime checking again for every event): a handler, `alloc` or
/// `_initialize` of another type is never called as if it had the expected one.
#[test]
fn exports_of_other_types_are_never_called() {
	use wasm_encoder::{
		CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
		ImportSection, Instruction as I, MemorySection, MemoryType, Module, TypeSection, ValType,
	};
	let mut types = TypeSection::new();
	types.ty().function([ValType::I32], [ValType::I32]);
	types.ty().function([ValType::I32], [ValType::I64]);
	types.ty().function([], [ValType::I32]);
	types.ty().function([ValType::I32; 3], [ValType::I32]);
	let mut imports = ImportSection::new();
	imports.import("env", "ws_get_data", EntityType::Function(3));
	// Functions 1 to 4: `alloc` and `wide` return an i64, `_initialize` takes nothing
	// and returns an i32 (and traps if run), `fetch` asks for the payload.
	let mut functions = FunctionSection::new();
	for ty in [1, 1, 2, 0] {
		functions.function(ty);
	}
	let mut memories = MemorySection::new();
	memories.memory(MemoryType {
		minimum: 1,
		maximum: None,
		memory64: false,
		shared: false,
		page_size_log2: None,
	});
	let mut exports = ExportSection::new();
	exports.export("memory", ExportKind::Memory, 0);
	for (name, index) in [("alloc", 1), ("wide", 2), ("_initialize", 3), ("fetch", 4)] {
		exports.export(name, ExportKind::Func, index);
	}
	let mut code = CodeSection::new();
	let body = |instructions: &[I]| {
		let mut f = Function::new([]);
		for instruction in instructions {
			f.instruction(instruction);
		}
		f.instruction(&I::End);
		f
	};
	code.function(&body(&[I::I64Const(0)]));
	code.function(&body(&[I::I64Const(5)]));
	code.function(&body(&[I::Unreachable]));
	code.function(&body(&[I::LocalGet(0), I::I32Const(0), I::I32Const(4), I::Call(0)]));
	let mut module = Module::new();
	module
		.section(&types)
		.section(&imports)
		.section(&functions)
		.section(&memories)
		.section(&exports)
		.section(&code);
	let wasm = module.finish();
	let exec = executor();
	let hash = w3b_primitives::project::code_hash(&wasm);
	exec.load(hash, &wasm).expect("the module loads");
	let routes = [("WIDE", "wide"), ("FETCH", "fetch")];
	let applets = [applet(0, hash, &routes)];
	let messages = [message(0, "WIDE", b"x"), message(1, "FETCH", b"x")];
	let result = exec.run_batch(&batch(&applets, &messages, &[]), empty_state(), None).unwrap();
	assert_eq!(
		result.events[0].outcome,
		Outcome::Failed("handler `wide` is not an exported function (i32) -> i32".into())
	);
	// `_initialize` did not run (it traps), and the host had no `alloc` to hand the
	// payload through.
	assert_eq!(result.events[1].outcome, Outcome::Returned(w3b_executor::codes::HOST_INTERNAL));
}
