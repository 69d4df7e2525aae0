//! Compile benchmark: what loading applet code costs an operator. For the repository's
//! applets and for the worst modules the chain's static limits on applet code accept
//! (`w3b_primitives::code::Limits`), prints the module's size, the time
//! `Executor::load` takes (validate, compile, link) and the compiled artifact's size,
//! and the process's peak memory. Each module is loaded once, in a fresh executor.
//!
//! `cargo bench -p w3b-executor --bench compile`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{applet_code, assemblyscript_code};
use w3b_executor::{EngineConfig, Executor};
use w3b_primitives::{
	code::{
		applet_module, leb128_u32, CALL_INDIRECT_BRANCHES, MAX_BRANCHES, MAX_BRANCHES_PER_FUNCTION,
		MAX_FUNCTIONS, MAX_FUNCTION_SIZE, MAX_LOCALS,
	},
	project::code_hash,
};

fn peak_rss_mib() -> u64 {
	std::fs::read_to_string("/proc/self/status")
		.ok()
		.and_then(|s| {
			s.lines()
				.find(|l| l.starts_with("VmHWM"))
				.and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
		})
		.unwrap_or(0)
		>> 10
}

/// A body of `n` empty loops in sequence, returning 0.
fn loops(n: u32) -> Vec<u8> {
	let mut body = vec![0u8];
	for _ in 0..n {
		body.extend_from_slice(&[0x03, 0x40, 0x0b]);
	}
	body.extend_from_slice(&[0x41, 0, 0x0b]);
	body
}

/// A body of `n` blocks nested in one another, returning 0.
fn nested(n: u32) -> Vec<u8> {
	let mut body = vec![0u8];
	body.extend(std::iter::repeat_n([0x02, 0x40], n as usize).flatten());
	body.extend(std::iter::repeat_n(0x0b, n as usize));
	body.extend_from_slice(&[0x41, 0, 0x0b]);
	body
}

/// A body of one `br_table` of `targets` targets (all to the function's end).
fn br_table(targets: u32) -> Vec<u8> {
	let mut body = vec![0u8, 0x02, 0x40, 0x20, 0, 0x0e];
	leb128_u32(targets, &mut body);
	body.extend(std::iter::repeat_n(0u8, targets as usize + 1));
	body.extend_from_slice(&[0x0b, 0x41, 0, 0x0b]);
	body
}

/// A body of one block holding `n` times `op`.
fn repeated(op: &[u8], n: u32) -> Vec<u8> {
	let mut body = vec![0u8, 0x02, 0x40];
	body.extend(std::iter::repeat_n(op, n as usize).flatten());
	body.extend_from_slice(&[0x0b, 0x41, 0, 0x0b]);
	body
}

/// `module` (made by `applet_module`) with a table of one element for `call_indirect`,
/// inserted before its memory section as the binary format orders sections.
fn with_table(module: Vec<u8>) -> Vec<u8> {
	let memory = module.windows(5).position(|w| w == [5, 3, 1, 0, 1]).expect("memory section");
	[&module[..memory], &[4, 4, 1, 0x70, 0, 1], &module[memory..]].concat()
}

/// A body with `n` i32 locals, each added to the first.
fn locals(n: u32) -> Vec<u8> {
	let mut body = vec![1u8];
	leb128_u32(n, &mut body);
	body.push(0x7f);
	for i in 1..=n {
		body.extend_from_slice(&[0x20, 0]);
		body.push(0x20);
		leb128_u32(i, &mut body);
		body.push(0x6a);
		body.extend_from_slice(&[0x21, 0]);
	}
	body.extend_from_slice(&[0x20, 0, 0x0b]);
	body
}

/// A body of straight-line code, additions of the argument, of about `bytes` bytes.
fn arithmetic(bytes: u32) -> Vec<u8> {
	let mut body = vec![0u8, 0x20, 0];
	body.extend(std::iter::repeat_n([0x20, 0, 0x6a], (bytes as usize - 4) / 3).flatten());
	body.push(0x0b);
	body
}

fn measure(name: &str, wasm: &[u8]) {
	let exec = Executor::new(EngineConfig::default()).expect("engine starts");
	let summary = match w3b_primitives::code::inspect_module(wasm) {
		Ok(summary) => summary,
		Err(e) => return println!("{name:<44} {:>8} B wasm refused: {e}", wasm.len()),
	};
	let start = Instant::now();
	let loaded = exec.load(code_hash(wasm), wasm);
	let elapsed = start.elapsed();
	match loaded {
		Ok(code) => println!(
			"{name:<44} {:>8} B wasm {:>6} functions {:>7} branches (most {:>5}) {:>7.3} s {:>10} B compiled, peak RSS {} MiB",
			wasm.len(),
			summary.defined_functions,
			summary.branches,
			summary.most_branches_in_a_function,
			elapsed.as_secs_f64(),
			code.bytes(),
			peak_rss_mib()
		),
		Err(e) => panic!("{name}: accepted by the chain's rules, refused by the engine: {e}"),
	}
}

fn main() {
	for name in ["counter", "alert", "sql", "log"] {
		measure(&format!("Rust applet {name}"), &applet_code(name));
	}
	measure("AssemblyScript applet kv", &assemblyscript_code("kv"));
	let at_limit = MAX_BRANCHES_PER_FUNCTION - 1;
	println!("At the chain's limits (each the worst of its kind the chain accepts):");
	let tiny = vec![vec![0u8, 0x41, 0, 0x0b]; MAX_FUNCTIONS as usize - 1];
	measure(&format!("{MAX_FUNCTIONS} functions"), &applet_module(&[], &tiny));
	measure(&format!("one function of {at_limit} loops"), &applet_module(&[], &[loops(at_limit)]));
	measure(&format!("{at_limit} nested blocks"), &applet_module(&[], &[nested(at_limit)]));
	measure(
		&format!("a br_table of {} targets", at_limit - 2),
		&applet_module(&[], &[br_table(at_limit - 2)]),
	);
	measure(
		&format!("one function of {} br_if", at_limit - 1),
		&applet_module(&[], &[repeated(&[0x20, 0, 0x0d, 0], at_limit - 1)]),
	);
	let indirect = (at_limit - 1) / CALL_INDIRECT_BRANCHES;
	measure(
		&format!("one function of {indirect} call_indirect"),
		&with_table(applet_module(
			&[],
			&[repeated(&[0x41, 0, 0x41, 0, 0x11, 0, 0, 0x1a], indirect)],
		)),
	);
	measure(
		&format!("one function of {indirect} table.get"),
		&with_table(applet_module(&[], &[repeated(&[0x41, 0, 0x25, 0, 0x1a], indirect)])),
	);
	// Each metered behind a branch (the engine's rewriting, `meter.rs`).
	let fill = [0x20, 0, 0x20, 0, 0x20, 0, 0xfc, 0x0b, 0];
	measure(
		&format!("one function of {} memory.fill", at_limit - 1),
		&applet_module(&[], &[repeated(&fill, at_limit - 1)]),
	);
	measure("a function of 16,000 locals", &applet_module(&[], &[locals(16_000)]));
	let declared = |count: u32| {
		let mut body = vec![1u8];
		leb128_u32(count, &mut body);
		body.extend_from_slice(&[0x7f, 0x41, 0, 0x0b]);
		body
	};
	measure(
		&format!("5 functions declaring 20,000 locals ({MAX_LOCALS} in all)"),
		&applet_module(&[], &vec![declared(20_000); 5]),
	);
	measure(
		&format!("a function of {} KiB of additions", MAX_FUNCTION_SIZE >> 10),
		&applet_module(&[], &[arithmetic(MAX_FUNCTION_SIZE - 8)]),
	);
	let functions = MAX_BRANCHES / MAX_BRANCHES_PER_FUNCTION;
	let most_fills = vec![repeated(&fill, MAX_BRANCHES_PER_FUNCTION - 1); functions as usize];
	measure(
		&format!("{functions} functions of {} memory.fill", MAX_BRANCHES_PER_FUNCTION - 1),
		&applet_module(&[], &most_fills),
	);
	let most_branches = vec![loops(MAX_BRANCHES_PER_FUNCTION); functions as usize];
	measure(
		&format!("{functions} functions of {MAX_BRANCHES_PER_FUNCTION} loops"),
		&applet_module(&[], &most_branches),
	);
	let large = vec![arithmetic(MAX_FUNCTION_SIZE - 8); 7];
	measure("7 functions of 128 KiB of additions (917 KB)", &applet_module(&[], &large));
}
