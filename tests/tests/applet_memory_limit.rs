//! Hostile applets under a hard memory limit: `w3b-node applet run` (the engine every
//! operator runs) goes through every attack of `sdk/examples/hostile` and SQL meant to
//! exhaust memory inside a memory cgroup of [`LIMIT`], without swap. The kernel kills a
//! process that goes past it: the run must end by itself, each attack failing its own
//! event, and twice alike (the same outcome and fuel: limits decided by fuel and bounds,
//! never by the machine). A network of nodes is measured under the same attacks in
//! `worker_network` (peak RSS).
//!
//! Needs root and a memory cgroup (v1 `memory` controller or v2 `memory.max`).

#[path = "../../client/executor/tests/common/mod.rs"]
mod applets;

use std::{
	path::{Path, PathBuf},
	process::Command,
};

use serde_json::{json, Value};

/// The memory the runs may use, page cache included: a few times what a run takes (about
/// 140 MiB for a debug build), far below what the attacks ask for (gigabytes each).
const LIMIT: u64 = 512 << 20;

/// A memory cgroup of its own, removed when dropped.
struct MemoryCgroup {
	dir: PathBuf,
	/// Control files of cgroup v1 (`memory.limit_in_bytes`, `memory.oom_control`) or v2.
	v1: bool,
}

impl MemoryCgroup {
	fn create(limit: u64) -> MemoryCgroup {
		let name = format!("w3b-test-{}", std::process::id());
		let v2_root = Path::new("/sys/fs/cgroup");
		let v2 = std::fs::read_to_string(v2_root.join("cgroup.controllers"))
			.is_ok_and(|controllers| controllers.split_whitespace().any(|c| c == "memory"));
		let (dir, v1) = if v2 {
			(v2_root.join(&name), false)
		} else {
			(PathBuf::from("/sys/fs/cgroup/memory").join(&name), true)
		};
		std::fs::create_dir(&dir).unwrap_or_else(|e| {
			panic!("creating the memory cgroup {} (run as root): {e}", dir.display())
		});
		let cgroup = MemoryCgroup { dir, v1 };
		if v1 {
			cgroup.write("memory.limit_in_bytes", limit);
			// No swap to spill into, where the kernel accounts it.
			if cgroup.dir.join("memory.memsw.limit_in_bytes").exists() {
				cgroup.write("memory.memsw.limit_in_bytes", limit);
			}
		} else {
			cgroup.write("memory.max", limit);
			cgroup.write("memory.swap.max", 0);
		}
		cgroup
	}

	fn write(&self, file: &str, value: u64) {
		std::fs::write(self.dir.join(file), value.to_string())
			.unwrap_or_else(|e| panic!("{}/{file}: {e}", self.dir.display()));
	}

	/// Processes the kernel killed here for memory.
	fn oom_kills(&self) -> u64 {
		let file = if self.v1 { "memory.oom_control" } else { "memory.events" };
		let text = std::fs::read_to_string(self.dir.join(file)).unwrap();
		text.lines()
			.find_map(|line| line.strip_prefix("oom_kill "))
			.map_or(0, |n| n.trim().parse().unwrap())
	}

	/// Runs `w3b-node` with `args` inside this cgroup: its report, or why there is none.
	fn run_node(&self, args: &[String]) -> Result<Value, String> {
		// The shell moves itself into the cgroup, then becomes the node.
		let procs = self.dir.join("cgroup.procs");
		let script = format!("echo $$ > {} && exec \"$0\" \"$@\"", procs.display());
		let output = Command::new("sh")
			.args(["-c", &script])
			.arg(w3b_e2e_tests::node_binary())
			.args(args)
			.output()
			.expect("sh runs");
		if !output.status.success() {
			return Err(format!(
				"{} ({} OOM kills here): {}",
				output.status,
				self.oom_kills(),
				String::from_utf8_lossy(&output.stderr)
			));
		}
		serde_json::from_slice(&output.stdout).map_err(|e| format!("not a report: {e}"))
	}
}

impl Drop for MemoryCgroup {
	fn drop(&mut self) {
		let _ = std::fs::remove_dir(&self.dir);
	}
}

/// The arguments of `applet run` for the hostile applet's `handler` over one message per
/// payload (written to `dir/name.jsonl`).
fn applet_run_args(
	dir: &Path,
	name: &str,
	handler: &str,
	payloads: &[&str],
	sql: bool,
) -> Vec<String> {
	let messages = dir.join(format!("{name}.jsonl"));
	let lines: Vec<String> = payloads.iter().map(|p| json!({"payload": p}).to_string()).collect();
	std::fs::write(&messages, lines.join("\n")).unwrap();
	let wasm = applets::applets_dir().join("applet_hostile.wasm");
	let mut args = vec![
		"applet".to_string(),
		"run".into(),
		"--wasm".into(),
		wasm.display().to_string(),
		"--messages".into(),
		messages.display().to_string(),
		"--handler".into(),
		handler.into(),
		// The most the runtime lets a batch have.
		"--fuel".into(),
		"10000000000".into(),
	];
	if sql {
		args.push("--sql".into());
	}
	args
}

/// What each event came to, and the fuel it took.
fn outcomes(report: &Value) -> Vec<(Value, u64)> {
	report["events"]
		.as_array()
		.expect("events")
		.iter()
		.map(|event| (event["outcome"].clone(), event["fuel"].as_u64().expect("fuel")))
		.collect()
}

#[test]
fn hostile_applets_fail_their_events_within_a_hard_memory_limit() {
	let dir = tempfile::tempdir().unwrap();
	let cgroup = MemoryCgroup::create(LIMIT);
	let attacks = w3b_e2e_tests::hostile::APPLET_ATTACKS;
	let queries = [
		// Rows without end, counted, sorted, concatenated.
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c",
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c ORDER BY x DESC LIMIT 1",
		"SELECT group_concat(x) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c)",
		// A value doubling without end.
		"WITH RECURSIVE c(x, s) AS (SELECT 1, 'x' UNION ALL SELECT x+1, s||s FROM c) SELECT length(s) FROM c",
		"SELECT zeroblob(1000000000)",
	];
	let statements = [
		"CREATE TABLE t(a)",
		"INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c",
		"INSERT INTO t WITH RECURSIVE c(x, s) AS (SELECT 1, 'x' UNION ALL SELECT x+1, s||s FROM c LIMIT 19) SELECT s FROM c",
		"INSERT INTO t SELECT a||a||a||a FROM t",
		"INSERT INTO t SELECT a||a||a||a FROM t",
		"INSERT INTO t SELECT a||a||a||a FROM t",
		"CREATE INDEX i ON t(a)",
	];
	let runs = [
		applet_run_args(dir.path(), "attacks", "start", &attacks, false),
		applet_run_args(dir.path(), "queries", "sql_payload", &queries, true),
		applet_run_args(dir.path(), "statements", "sql_exec_payload", &statements, true),
	];
	for args in &runs {
		let first = cgroup.run_node(args).unwrap_or_else(|e| panic!("{}: {e}", args[7]));
		let again = cgroup.run_node(args).unwrap_or_else(|e| panic!("{}: {e}", args[7]));
		let (first, again) = (outcomes(&first), outcomes(&again));
		assert_eq!(first, again, "{}: the same applet fails the same way twice", args[7]);
		println!("[applet_memory_limit] {}: {first:?}", args[7]);
	}
	assert_eq!(cgroup.oom_kills(), 0);

	// The attacks that can only end by a bound did end by one.
	let attacks = outcomes(&cgroup.run_node(&runs[0]).unwrap());
	for (attack, (outcome, _)) in ["spin", "grow", "recurse"].iter().zip(&attacks) {
		assert!(outcome.get("failed").is_some(), "{attack}: {outcome}");
	}
	let queries = outcomes(&cgroup.run_node(&runs[1]).unwrap());
	for (query, (outcome, _)) in queries.iter().enumerate() {
		assert!(outcome.get("returned") != Some(&json!(0)), "query {query} succeeded: {outcome}");
	}
}
