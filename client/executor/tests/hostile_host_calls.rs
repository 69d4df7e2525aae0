//! Applets that ask the host for more than it may give: every host call's memory is
//! bounded and its work charged to the event's fuel, so the node stays up and the same
//! applet fails (or is refused) the same way on every operator.
//!
//! One test per binary: the peak resident memory of the process is part of what it
//! checks.

mod common;

use std::{
	collections::BTreeMap,
	sync::{Arc, Mutex},
};

use common::*;
use w3b_executor::{
	EngineConfig, EventResult, Executor, Outcome, SqlDb, StateView, MAX_BATCH_WRITE_BYTES,
	MAX_FUEL_PER_EVENT, MAX_LOGS_PER_EVENT, MAX_LOG_LEN, MAX_METRICS_PER_EVENT,
	MAX_REPORT_BYTES_PER_BATCH,
};

/// Peak resident memory of this process so far, in bytes (`VmHWM`).
fn peak_rss() -> u64 {
	let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
	let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
	let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
	kib << 10
}

const ROUTES: [(&str, &str); 9] = [
	("GATHER", "gather"),
	("HUGE_RANDOM", "huge_random"),
	("FILL_RANDOM", "fill_random"),
	("METRICS", "flood_metrics"),
	("DATA", "hoard_data"),
	("STATE", "flood_state"),
	("LOG", "flood_log"),
	("RECURSE", "recurse"),
	("SQL", "sql_payload"),
];

/// Queries that would run for ever, allocate a gigabyte, or answer hundreds of MiB.
const HOSTILE_SQL: [&str; 3] = [
	"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
	"SELECT length(zeroblob(1000000000))",
	"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 2000) \
	 SELECT zeroblob(60000) FROM c",
];

fn run(config: EngineConfig) -> (Vec<EventResult>, w3b_executor::BatchResult) {
	let exec = Executor::new(config).expect("engine");
	let hostile = load(&exec, "hostile");
	let counter = load(&exec, "counter");
	let applets = [applet(0, hostile, &ROUTES), applet(1, counter, &[("DEFAULT", "start")])];
	// Every attack twice (the second STATE finds the batch's room used up), then more log
	// floods than the batch keeps logs of, then an honest message.
	let floods = MAX_REPORT_BYTES_PER_BATCH / (MAX_LOGS_PER_EVENT * MAX_LOG_LEN) + 2;
	let mut messages: Vec<_> = ROUTES
		.iter()
		.chain(ROUTES.iter())
		.map(|(ty, _)| *ty)
		.map(|ty| (ty, "x"))
		.chain(HOSTILE_SQL.iter().map(|sql| ("SQL", *sql)))
		.chain(std::iter::repeat(("LOG", "x")).take(floods))
		.enumerate()
		.map(|(i, (ty, payload))| message(i as u64, ty, payload.as_bytes()))
		.collect();
	messages.push(message(messages.len() as u64, "DEFAULT", b"honest"));
	let mut input = batch(&applets, &messages, &[]);
	input.fuel = 100 * MAX_FUEL_PER_EVENT;
	let base: Arc<dyn StateView> = Arc::new(BTreeMap::<Vec<u8>, Vec<u8>>::new());
	let sql = SqlDb::in_memory().expect("SQLite");
	let result =
		exec.run_batch(&input, base, Some(Arc::new(Mutex::new(sql)))).expect("the batch runs");
	let hostile = result.events.iter().filter(|e| e.applet == 0).cloned().collect();
	(hostile, result)
}

fn logged(event: &EventResult) -> Vec<&str> {
	event.logs.iter().map(|l| l.message.as_str()).collect()
}

#[test]
fn host_calls_are_bounded_charged_and_identical_everywhere() {
	let before = peak_rss();
	let (events, result) = run(engine_config());
	let by_route = |route: &str| {
		let index = ROUTES.iter().position(|(r, _)| *r == route).unwrap();
		(&events[index], &events[ROUTES.len() + index])
	};

	// fd_write takes what fits a log line (a short write, as a pipe does); it never
	// gathers the 32 GB the iovecs point at.
	let (gather, _) = by_route("GATHER");
	assert_eq!(gather.outcome, Outcome::Returned(0), "{gather:?}");
	assert!(logged(gather).contains(&format!("fd_write 0 {MAX_LOG_LEN}").as_str()));

	// random_get checks the destination before producing a byte, and charges each byte:
	// 2 GiB past the memory is a fault, 32 MiB inside it costs more than an event has.
	let (huge, _) = by_route("HUGE_RANDOM");
	assert_eq!(logged(huge), ["random_get 21"]);
	let (fill, _) = by_route("FILL_RANDOM");
	assert_eq!(fill.outcome, Outcome::Failed("out of fuel".into()));
	assert_eq!(fill.fuel, MAX_FUEL_PER_EVENT);

	// Metrics are capped per event; the 65th is refused and the applet stops.
	let (metrics, _) = by_route("METRICS");
	assert_eq!(metrics.outcome, Outcome::Returned(0));
	assert_eq!(metrics.metrics.len(), MAX_METRICS_PER_EVENT);

	// Event data over the cap is refused without being copied.
	let (data, _) = by_route("DATA");
	assert_eq!(logged(data), ["ws_set_data: data over 1 MiB", "ws_set_data 7"]);
	assert_eq!(data.data, None);

	// The batch's writes stop at their cap: the first flood fills it, the second finds
	// it full, and the counter after them still writes.
	let (state, state_again) = by_route("STATE");
	let fits = MAX_BATCH_WRITE_BYTES / ((1 << 20) + 4);
	let full = "ws_set_db: the batch's writes are full (16 MiB)";
	assert_eq!(logged(state), [full, format!("wrote {fits}").as_str()]);
	assert_eq!(logged(state_again), [full, "wrote 0"]);
	let written: usize = result.writes.iter().map(|(k, v)| k.len() + v.len()).sum();
	assert!(written <= MAX_BATCH_WRITE_BYTES, "{written}");
	assert!(result.writes.contains_key(b"count".as_slice()), "the honest counter wrote");

	// Logging the whole memory 10,000 times copies 4 KiB per call and keeps 64 lines.
	let (log, _) = by_route("LOG");
	assert_eq!(log.outcome, Outcome::Returned(0));
	assert_eq!(log.logs.len(), MAX_LOGS_PER_EVENT);
	assert_eq!(log.logs_dropped, 10_000 - MAX_LOGS_PER_EVENT as u32);
	// What the batch keeps of logs, data and metrics is bounded: later floods keep none.
	let kept: usize = events
		.iter()
		.map(|e| {
			e.logs.iter().map(|l| l.message.len()).sum::<usize>()
				+ e.metrics.iter().map(String::len).sum::<usize>()
		})
		.sum();
	assert!(kept <= MAX_REPORT_BYTES_PER_BATCH, "{kept}");
	let last_flood = &events[events.len() - 1];
	assert!(last_flood.logs.is_empty() && last_flood.logs_dropped == 10_000, "{last_flood:?}");

	let (recurse, _) = by_route("RECURSE");
	assert_eq!(recurse.outcome, Outcome::Failed("stack overflow".into()));

	// SQLite is metered, its values and answers bounded.
	let sql = &events[2 * ROUTES.len()..][..HOSTILE_SQL.len()];
	assert_eq!(sql[0].outcome, Outcome::Failed("out of fuel".into()), "{:?}", sql[0]);
	assert_eq!(sql[0].fuel, MAX_FUEL_PER_EVENT);
	assert_eq!(sql[1].outcome, Outcome::Returned(7));
	assert_eq!(logged(&sql[1]), ["SQL error: string or blob too big"]);
	assert_eq!(sql[2].outcome, Outcome::Returned(7));
	assert_eq!(logged(&sql[2]), ["SQL result over 4194304 bytes"]);

	// The honest message after all of it ran.
	let honest = result.events.iter().filter(|e| e.applet == 1).last().unwrap();
	assert!(honest.succeeded(), "{honest:?}");

	// Nothing above held more than a few copies of an instance's memory at once.
	let grown = peak_rss().saturating_sub(before);
	println!("peak RSS grew by {} MiB", grown >> 20);
	assert!(grown < 512 << 20, "peak RSS grew by {} MiB", grown >> 20);

	// Another engine (without the instance pool) reaches the same outcomes, fuel and root.
	let (other, other_result) = run(EngineConfig { pooling: false, ..engine_config() });
	let summary = |events: &[EventResult]| {
		events.iter().map(|e| (e.outcome.clone(), e.fuel)).collect::<Vec<_>>()
	};
	assert_eq!(summary(&events), summary(&other));
	assert_eq!(result.output_root, other_result.output_root);
	assert_eq!(result.fuel_used, other_result.fuel_used);

	// `w3b-node applet run` (the same engine) reports the bounds to the applet's author.
	let dir = tempfile::tempdir().unwrap();
	let messages = dir.path().join("messages.jsonl");
	std::fs::write(&messages, "{\"payload\":\"x\"}\n").unwrap();
	for (handler, check) in [
		("flood_metrics", "/events/0/metrics"),
		("flood_log", "/events/0/logsDropped"),
		("huge_random", "/events/0/logs/0/message"),
	] {
		let run = w3b_executor::local::LocalRun {
			wasm: applets_dir().join("applet_hostile.wasm"),
			messages: messages.clone(),
			handler: handler.into(),
			env: Vec::new(),
			fuel: MAX_FUEL_PER_EVENT,
			sql: None,
		};
		let report = w3b_executor::local::run_local(&run).expect("the run completes");
		let value = &report.pointer(check).unwrap_or_else(|| panic!("{handler}: {report}"));
		match handler {
			"flood_metrics" => assert_eq!(value.as_array().unwrap().len(), MAX_METRICS_PER_EVENT),
			"flood_log" => assert_eq!(value.as_u64(), Some(10_000 - MAX_LOGS_PER_EVENT as u64)),
			_ => assert_eq!(value.as_str(), Some("random_get 21")),
		}
	}
}
