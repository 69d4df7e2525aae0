//! Engine benchmark: prints the per-event engine overhead (instantiate + call + teardown
//! of a handler that does nothing) with and without the pooling allocator, events per
//! second of the Rust key-value counter applet on one core and on all cores (one
//! project's batch per core, one executor, a lane each), for each way of resetting a pooled memory,
//! and the process's memory. Every figure is the median of three runs. The Rust applets
//! are built as the SDK builds them (sdk/.cargo/config.toml: a 32 KiB stack).
//!
//! `cargo bench -p w3b-executor --bench engine [-- SECTION]`, SECTION one of `overhead`,
//! `counter`, `reset` (default: all). Every loop is bounded: a fixed number of events
//! per measurement.

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
	collections::BTreeMap,
	sync::Arc,
	time::{Duration, Instant},
};

use common::{applet, assemblyscript_code, batch, load, message};
use sp_core::H256;
use w3b_executor::{EngineConfig, Executor, StateView};
use w3b_primitives::{code::sample_module, project::code_hash, Message};

const EVENTS: usize = 20_000;
const REPEATS: usize = 3;

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

fn median(mut runs: Vec<f64>) -> f64 {
	runs.sort_by(f64::total_cmp);
	runs[runs.len() / 2]
}

/// Runs `messages` through `code` in one batch; returns the wall time.
fn run(exec: &Executor, code: H256, messages: &[Message]) -> Duration {
	let applets = [applet(0, code, &[])];
	let mut input = batch(&applets, messages, &[("GREETING", "hello")]);
	input.fuel = u64::MAX;
	let start = Instant::now();
	let result = exec.run_batch(&input, empty(), None).expect("batch runs");
	let elapsed = start.elapsed();
	assert!(result.events.iter().all(|e| e.succeeded()));
	elapsed
}

/// Microseconds per event of a no-op handler.
fn overhead(config: EngineConfig) -> f64 {
	let exec = Executor::new(config).unwrap();
	let noop = sample_module(&["start"], 0);
	let hash = code_hash(&noop);
	exec.load(hash, &noop).unwrap();
	let messages: Vec<Message> = (0..EVENTS as u64).map(|i| message(i, "DEFAULT", b"")).collect();
	run(&exec, hash, &messages[..1000]); // warm up
	median(
		(0..REPEATS)
			.map(|_| run(&exec, hash, &messages).as_secs_f64() * 1e6 / EVENTS as f64)
			.collect(),
	)
}

fn counter_messages() -> Vec<Message> {
	(0..EVENTS as u64)
		.map(|i| message(i, "DEFAULT", format!("device=d{}", i % 100).as_bytes()))
		.collect()
}

/// The key-value counter applets: the Rust SDK's and the AssemblyScript SDK's (one page
/// each).
#[derive(Clone, Copy)]
enum Counter {
	Rust,
	AssemblyScript,
}

impl Counter {
	fn load(self, exec: &Executor) -> H256 {
		match self {
			Counter::Rust => load(exec, "counter"),
			Counter::AssemblyScript => {
				let code = assemblyscript_code("kv");
				let hash = code_hash(&code);
				exec.load(hash, &code).expect("applet loads");
				hash
			}
		}
	}
}

/// Events per second of a counter applet on `threads` threads at once (one batch each),
/// with one executor for all (`shared`: its batches take a lane each) or one per thread.
fn counter_rate(config: &EngineConfig, counter: Counter, threads: usize, shared: bool) -> f64 {
	let messages = counter_messages();
	let engines: Vec<(Arc<Executor>, H256)> = if shared {
		let exec = Arc::new(Executor::new(config.clone()).unwrap());
		let code = counter.load(&exec);
		vec![(exec, code); threads]
	} else {
		(0..threads)
			.map(|_| {
				let exec = Arc::new(Executor::new(config.clone()).unwrap());
				let code = counter.load(&exec);
				(exec, code)
			})
			.collect()
	};
	for (exec, code) in &engines {
		run(exec, *code, &messages[..1000]);
	}
	let runs = (0..REPEATS)
		.map(|_| {
			let start = Instant::now();
			std::thread::scope(|s| {
				for (exec, code) in &engines {
					let messages = &messages;
					s.spawn(move || run(exec, *code, messages));
				}
			});
			(EVENTS * threads) as f64 / start.elapsed().as_secs_f64()
		})
		.collect();
	median(runs)
}

fn main() {
	let section = std::env::args().skip(1).find(|a| !a.starts_with('-'));
	let wanted = |name: &str| section.as_deref().is_none_or(|s| s == name);
	let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
	println!("machine: {cores} cores, {}; median of {REPEATS} runs", std::env::consts::ARCH);
	let rss_start = rss_kib("VmRSS:");

	if wanted("overhead") {
		let pooled = overhead(EngineConfig::default());
		let plain = overhead(EngineConfig { pooling: false, ..Default::default() });
		println!("engine overhead per event (instantiate + call + teardown, no-op handler):");
		println!("  pooling allocator (default): {pooled:.2} us");
		println!("  on-demand allocator: {plain:.2} us");
	}

	if wanted("counter") {
		let config = EngineConfig::default();
		println!("key-value counter applet (Rust SDK), {EVENTS} events per batch, default engine:");
		let one = counter_rate(&config, Counter::Rust, 1, true);
		println!("  one core: {one:.0} events/s");
		let all = counter_rate(&config, Counter::Rust, cores, true);
		println!(
			"  {cores} cores ({cores} projects' batches in parallel, one executor): {all:.0} events/s ({:.2}x one core)",
			all / one
		);
		let separate = counter_rate(&config, Counter::Rust, cores, false);
		println!("  {cores} cores, one executor per thread: {separate:.0} events/s");
	}

	if wanted("reset") {
		// How a pooled memory is made fresh for the next instance: given back to the
		// kernel (madvise: a TLB shootdown that interrupts every core running the
		// process), or zeroed with memset up to `keep_resident_bytes`.
		println!(
			"counter applets by memory reset (keep_resident_bytes), one core / {cores} cores:"
		);
		for (name, counter) in
			[("Rust", Counter::Rust), ("AssemblyScript", Counter::AssemblyScript)]
		{
			for keep in [0usize, 256 << 10, 1088 << 10] {
				let config = EngineConfig { keep_resident_bytes: keep, ..Default::default() };
				let one = counter_rate(&config, counter, 1, true);
				let all = counter_rate(&config, counter, cores, true);
				println!(
					"  {name}, {:>4} KiB memset: {one:.0} / {all:.0} events/s ({:.2}x)",
					keep >> 10,
					all / one
				);
			}
		}
	}

	println!(
		"memory: RSS {} MiB at start, {} MiB now, peak {} MiB (pool: 64 instances x 64 MiB of reserved address space, resident only when touched)",
		rss_start / 1024,
		rss_kib("VmRSS:") / 1024,
		rss_kib("VmHWM:") / 1024
	);
}
