//! Engine benchmark: prints events per second of the Rust key-value counter applet on
//! one core and on all cores, the per-event engine overhead (instantiate + call +
//! teardown of a handler that does nothing) with and without the pooling allocator, and
//! the process's memory. Run with `cargo bench -p w3b-executor --bench engine`.
//!
//! Every loop is bounded: a fixed number of events per measurement.

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
	collections::BTreeMap,
	sync::Arc,
	time::{Duration, Instant},
};

use common::{applet, batch, load, message};
use sp_core::H256;
use w3b_executor::{EngineConfig, Executor, StateView};
use w3b_primitives::{code::sample_module, project::code_hash, Message};

const EVENTS: usize = 20_000;

fn rss_kib(field: &str) -> u64 {
	std::fs::read_to_string("/proc/self/status")
		.ok()
		.and_then(|s| {
			s.lines()
				.find(|l| l.starts_with(field))
				.and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
		})
		.unwrap_or(0)
}

fn empty() -> Arc<dyn StateView> {
	Arc::new(BTreeMap::<Vec<u8>, Vec<u8>>::new())
}

/// Runs `messages` through `code` in one batch; returns the wall time.
fn run(exec: &Executor, code: H256, messages: &[Message]) -> Duration {
	let applets = [applet(0, code, &[])];
	let mut input = batch(&applets, messages, &[]);
	input.fuel = u64::MAX;
	let start = Instant::now();
	let result = exec.run_batch(&input, empty(), None).expect("batch runs");
	let elapsed = start.elapsed();
	assert!(result.events.iter().all(|e| e.succeeded()));
	elapsed
}

fn overhead(pooling: bool) -> f64 {
	let exec = Executor::new(EngineConfig { pooling, ..Default::default() }).unwrap();
	let noop = sample_module(&["start"], 0);
	let hash = code_hash(&noop);
	exec.load(hash, &noop).unwrap();
	let messages: Vec<Message> = (0..EVENTS as u64).map(|i| message(i, "DEFAULT", b"")).collect();
	run(&exec, hash, &messages[..1000]); // warm up
	run(&exec, hash, &messages).as_secs_f64() * 1e6 / EVENTS as f64
}

fn main() {
	let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
	println!("machine: {cores} cores, {}", std::env::consts::ARCH);
	let rss_start = rss_kib("VmRSS:");

	let pooled = overhead(true);
	let plain = overhead(false);
	println!("engine overhead per event (instantiate + call + teardown, no-op handler):");
	println!("  pooling allocator: {pooled:.2} us");
	println!("  on-demand allocator: {plain:.2} us");

	let exec = Arc::new(Executor::new(EngineConfig::default()).unwrap());
	let counter = load(&exec, "counter");
	let messages: Vec<Message> = (0..EVENTS as u64)
		.map(|i| message(i, "DEFAULT", format!("device=d{}", i % 100).as_bytes()))
		.collect();
	run(&exec, counter, &messages[..1000]);
	let one = run(&exec, counter, &messages);
	let one_rate = EVENTS as f64 / one.as_secs_f64();
	println!("key-value counter applet (Rust SDK), {EVENTS} events:");
	println!("  one core: {one_rate:.0} events/s");

	let start = Instant::now();
	std::thread::scope(|s| {
		for _ in 0..cores {
			let exec = exec.clone();
			let messages = &messages;
			s.spawn(move || run(&exec, counter, messages));
		}
	});
	let all = start.elapsed();
	let all_rate = (EVENTS * cores) as f64 / all.as_secs_f64();
	println!("  {cores} cores ({cores} projects' batches in parallel): {all_rate:.0} events/s");
	// The same with one engine per thread: tells engine-level contention (shared type
	// registry, instance pool) from process-level contention (the kernel's memory map).
	let engines: Vec<(Executor, H256)> = (0..cores)
		.map(|_| {
			let exec = Executor::new(EngineConfig::default()).unwrap();
			let code = load(&exec, "counter");
			(exec, code)
		})
		.collect();
	let start = Instant::now();
	std::thread::scope(|s| {
		for (exec, code) in &engines {
			let messages = &messages;
			s.spawn(move || run(exec, *code, messages));
		}
	});
	let separate = (EVENTS * cores) as f64 / start.elapsed().as_secs_f64();
	println!("  {cores} cores, one engine per thread: {separate:.0} events/s");
	println!(
		"memory: RSS {} MiB at start, {} MiB now, peak {} MiB (pool: 64 instances x 64 MiB of reserved address space, resident only when touched)",
		rss_start / 1024,
		rss_kib("VmRSS:") / 1024,
		rss_kib("VmHWM:") / 1024
	);
}
