//! The `w3b` command line against a four-validator network on loopback: a whole project
//! life driven by `w3b` alone (create from a project file with the AssemblyScript example
//! applet, two operators register and join, a device is registered and sends 100
//! readings, `watch` sees the proofs, `message prove` verifies one offline), and a
//! clear message with the documented non-zero exit code for each bad argument and each
//! chain refusal.

use std::{
	path::Path,
	process::{Command, Output, Stdio},
	time::Duration,
};

use serde_json::Value;
use w3b_e2e_tests::{cli_binary, network::Validators, test_dir, wait_for};

#[path = "../../client/executor/tests/common/mod.rs"]
mod applets;

const TIMEOUT: Duration = Duration::from_secs(180);
const PROJECT: &str = "cli-thermo";

/// `w3b` with `args` against the node whose RPC port is `port`.
fn w3b(port: u16, args: &[&str]) -> Output {
	let output = Command::new(cli_binary())
		.args(["--url", &format!("ws://127.0.0.1:{port}"), "--timeout", "120"])
		.args(args)
		.stdin(Stdio::null())
		.output()
		.expect("w3b runs");
	eprintln!(
		"$ w3b {}\n{}{}-> {}",
		args.join(" "),
		String::from_utf8_lossy(&output.stdout),
		String::from_utf8_lossy(&output.stderr),
		output.status
	);
	output
}

/// `w3b ... --json` that must succeed; its (last) JSON line.
fn w3b_json(port: u16, args: &[&str]) -> Value {
	let mut args = args.to_vec();
	args.push("--json");
	let output = w3b(port, &args);
	assert!(output.status.success(), "w3b {args:?} failed");
	let stdout = String::from_utf8_lossy(&output.stdout);
	serde_json::from_str(stdout.lines().last().unwrap_or_default())
		.unwrap_or_else(|e| panic!("w3b {args:?} printed no JSON ({e}): {stdout}"))
}

/// Asserts that `w3b args` failed with exit code `code` and a message holding `needle`.
fn fails(port: u16, args: &[&str], code: i32, needle: &str) {
	let output = w3b(port, args);
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert_eq!(output.status.code(), Some(code), "w3b {args:?}: {stderr}");
	assert!(stderr.contains(needle), "w3b {args:?} said {stderr:?}, not {needle:?}");
	assert!(output.stdout.is_empty(), "w3b {args:?} printed a result although it failed");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
	let path = dir.join(name);
	std::fs::write(&path, bytes).expect("temp dir writable");
	path.display().to_string()
}

#[test]
fn a_project_life_with_w3b_alone() {
	let dir = test_dir();
	// Alice's node also serves the web console, tested at the end on this network.
	let console_port = w3b_e2e_tests::free_port();
	let network = Validators::start(dir.path(), |i| {
		if i == 0 {
			vec![format!("--w3b-console-port={console_port}")]
		} else {
			vec![]
		}
	})
	.expect("the network starts");
	let alice = network.nodes[0].rpc_port;
	let bob = network.nodes[1].rpc_port;
	let files = tempfile::tempdir().expect("temp dir");

	// The CLI is typed from a copy of the runtime's metadata: it must be the metadata of
	// the runtime the nodes run (W3B_BLESS_METADATA=1 rewrites the copy).
	check_metadata(&network);

	// A project file with the AssemblyScript example applet.
	write(files.path(), "kv.wasm", &applets::assemblyscript_code("kv"));
	let project_file = write(
		files.path(),
		"project.toml",
		br#"description = "Thermometers, driven by the w3b CLI"
min_operators = 2
reward_per_batch = "0.01"
[env]
GREETING = "hello"
[[applet]]
name = "kv"
wasm = "kv.wasm"
strategies = { DEFAULT = "start" }
"#,
	);
	let created = w3b_json(
		alice,
		&["project", "create", PROJECT, "--file", &project_file, "--suri", "//Alice"],
	);
	let project = created["project"].as_u64().expect("a project id").to_string();

	// Bad arguments: exit 2, nothing sent.
	fails(
		alice,
		&["project", "create", "x", "--file", "/nonexistent.toml", "--suri", "//Alice"],
		2,
		"cannot read",
	);
	fails(alice, &["operator", "join", PROJECT], 2, "give a key with --suri");
	fails(alice, &["project", "fund", PROJECT, "lots", "--suri", "//Alice"], 2, "is not an amount");
	fails(
		alice,
		&[
			"applet",
			"deploy",
			PROJECT,
			&project_file,
			"--strategy",
			"DEFAULT=start",
			"--suri",
			"//Alice",
		],
		2,
		"not a WASM module",
	);
	fails(
		alice,
		&["applet", "deploy", PROJECT, &project_file, "--strategy", "start"],
		2,
		"EVENT_TYPE=handler",
	);
	fails(alice, &["message", "prove", PROJECT, "0", "0x1234"], 2, "must be 32 bytes");
	fails(alice, &["project", "show", "--suri", "//Alice"], 2, "required");
	// Not found: exit 5. Node unreachable: exit 3.
	fails(alice, &["project", "show", "no-such-project"], 5, "no open project named");
	fails(alice, &["batch", "show", PROJECT, "999"], 5, "not committed");
	let closed_port = w3b_e2e_tests::free_port();
	fails(closed_port, &["project", "list"], 3, "cannot reach the node");
	// Chain refusals: exit 4, the pallet's error and its documentation, and a hint.
	fails(alice, &["project", "create", PROJECT, "--suri", "//Alice"], 4, "Projects.NameTaken");
	fails(alice, &["project", "pause", PROJECT, "--suri", "//Bob"], 4, "Projects.NotOwner");
	let wasm = files.path().join("kv.wasm").display().to_string();
	fails(
		alice,
		&[
			"applet",
			"deploy",
			PROJECT,
			&wasm,
			"--name",
			"other",
			"--strategy",
			"DEFAULT=nope",
			"--suri",
			"//Alice",
		],
		4,
		"Projects.UnknownHandler",
	);
	fails(alice, &["operator", "join", PROJECT, "--suri", "//Eve"], 4, "Operators.NotOperator");

	// The applet the project file listed is deployed; deploying it again changes nothing.
	let applets = w3b_json(alice, &["applet", "list", PROJECT]);
	assert_eq!(applets[0]["name"], "kv", "{applets}");
	let again = w3b_json(
		alice,
		&["applet", "deploy", PROJECT, &wasm, "--strategy", "DEFAULT=start", "--suri", "//Alice"],
	);
	assert_eq!(again["action"], "unchanged", "{again}");
	assert_eq!(again["uploaded"], false, "{again}");

	// Two operators register with a bond and join; the project becomes Active.
	for operator in ["//Bob", "//Charlie"] {
		let status = w3b(alice, &["operator", "status", "--suri", operator]);
		if status.status.code() == Some(5) {
			w3b_json(alice, &["operator", "register", "--bond", "100", "--suri", operator]);
		}
		w3b_json(alice, &["operator", "join", PROJECT, "--suri", operator]);
	}
	let shown = w3b_json(alice, &["project", "show", PROJECT]);
	assert_eq!(shown["status"], "Active", "{shown}");
	assert_eq!(shown["subnet"].as_array().map(Vec::len), Some(2), "{shown}");
	let listed = w3b_json(alice, &["project", "list"]);
	assert!(listed.as_array().expect("a list").iter().any(|p| p["name"] == PROJECT), "{listed}");

	// A device: a key, registered; sending before it was registered is refused.
	let device_key = files.path().join("sensor.key").display().to_string();
	let keygen = w3b_json(alice, &["device", "keygen", "--out", &device_key]);
	fails(alice, &["device", "keygen", "--out", &device_key], 2, "exists");
	let http = format!("http://127.0.0.1:{}", network.http[1]);
	fails(
		bob,
		&["device", "send", &project, "--device-key", &device_key, "--http", &http],
		4,
		"unknown_device",
	);
	w3b_json(
		alice,
		&["device", "register", PROJECT, "--device-key", &device_key, "--suri", "//Alice"],
	);
	let devices = w3b_json(alice, &["device", "list", PROJECT]);
	assert_eq!(devices[0]["id"], keygen["deviceId"], "{devices}");

	// `watch` follows the proofs while the device sends 100 readings to Bob's node.
	let watcher = Command::new(cli_binary())
		.args(["--url", &format!("ws://127.0.0.1:{alice}"), "--timeout", "150", "--json"])
		.args(["watch", PROJECT, "--count", "1"])
		.stdout(Stdio::piped())
		.stderr(Stdio::inherit())
		.spawn()
		.expect("w3b watch runs");
	let sent = w3b(
		bob,
		&[
			"device",
			"send",
			&project,
			"--device-key",
			&device_key,
			"--http",
			&http,
			"--count",
			"100",
			"--json",
		],
	);
	assert!(sent.status.success(), "device send failed");
	let hashes: Vec<String> = String::from_utf8_lossy(&sent.stdout)
		.lines()
		.map(|line| {
			serde_json::from_str::<Value>(line).expect("a JSON line")["hash"]
				.as_str()
				.expect("a hash")
				.to_string()
		})
		.collect();
	assert_eq!(hashes.len(), 100, "one acknowledged hash per reading");
	let watched = watcher.wait_with_output().expect("w3b watch ends");
	assert!(
		watched.status.success(),
		"w3b watch failed: {}",
		String::from_utf8_lossy(&watched.stdout)
	);
	let proofs: Vec<Value> = String::from_utf8_lossy(&watched.stdout)
		.lines()
		.map(|line| serde_json::from_str(line).expect("a JSON line"))
		.collect();
	assert_eq!(proofs.len(), 1, "{proofs:?}");
	let proof = &proofs[0];
	assert_eq!(proof["project"].as_u64(), created["project"].as_u64(), "{proof}");
	assert_eq!(proof["agreed"], 2, "both operators agreed: {proof}");
	assert!(proof["outputRoot"].is_string() && proof["messages"].as_u64() > Some(0), "{proof}");

	// The last reading's inclusion proof, verified offline against the root committed
	// in a finalized block, once its batch's proof is final. Batch bodies are kept by
	// the project's operators: Alice's node (not one) cannot give the proof.
	let last = hashes.last().expect("100 hashes").clone();
	fails(alice, &["message", "prove", PROJECT, "0", &last], 1, "ask one of their nodes");
	let (seq, proved) = wait_for("the last reading's batch to be final", TIMEOUT, || {
		for seq in 0..64u64 {
			let shown =
				w3b(bob, &["batch", "show", PROJECT, &seq.to_string(), "--messages", "--json"]);
			if !shown.status.success() {
				break;
			}
			if String::from_utf8_lossy(&shown.stdout).contains(&last[2..]) {
				let proved =
					w3b(bob, &["message", "prove", PROJECT, &seq.to_string(), &last, "--json"]);
				if proved.status.success() {
					let proved: Value = serde_json::from_slice(&proved.stdout)?;
					if proved["proofStatus"] == "Finalized" {
						return Ok(Some((seq, proved)));
					}
				}
			}
		}
		Ok(None)
	})
	.unwrap_or_else(|e| panic!("{e}\n{}", network.logs(30)));
	assert_eq!(proved["included"], true, "{proved}");
	assert_eq!(proved["blockTrusted"], false, "{proved}");
	// Against a block the caller trusts (here: Alice's node's finalized head, asked of
	// Bob's node), and against one Bob's node does not know.
	let trusted: String = serde_json::from_value(
		network.nodes[0].rpc().call("chain_getFinalizedHead", serde_json::json!([])).expect("head"),
	)
	.expect("a hash");
	let at_trusted =
		w3b_json(bob, &["message", "prove", PROJECT, &seq.to_string(), &last, "--at", &trusted]);
	assert_eq!(at_trusted["blockTrusted"], true, "{at_trusted}");
	let unknown = format!("0x{}", "01".repeat(32));
	fails(
		bob,
		&["message", "prove", PROJECT, &seq.to_string(), &last, "--at", &unknown],
		5,
		"does not know block",
	);
	// A hash that is not in the batch: not found (exit 5), never "verified".
	let other = format!("0x{}", "ab".repeat(32));
	fails(bob, &["message", "prove", PROJECT, &seq.to_string(), &other], 5, "is not in batch");

	// Rewards: Bob agreed on finalized batches of a funded project.
	w3b_json(alice, &["project", "fund", PROJECT, "10", "--suri", "//Alice"]);
	let rewards = w3b_json(alice, &["operator", "rewards", "--suri", "//Bob"]);
	assert!(
		rewards["subnets"]
			.as_array()
			.expect("subnets")
			.iter()
			.any(|s| s["project"].as_u64() == created["project"].as_u64()),
		"{rewards}"
	);

	// The web console in a real browser, on this network, while the device sends.
	console_in_a_browser(console_port, alice, bob, &project, &device_key, &http);

	// A revoked device is refused; the project closes.
	let device_id = keygen["deviceId"].as_str().expect("a device id").to_string();
	w3b_json(alice, &["device", "revoke", PROJECT, &device_id, "--suri", "//Alice"]);
	wait_for("the revocation to reach Bob's node", TIMEOUT, || {
		let output =
			w3b(bob, &["device", "send", &project, "--device-key", &device_key, "--http", &http]);
		Ok((output.status.code() == Some(4)
			&& String::from_utf8_lossy(&output.stderr).contains("revoked_device"))
		.then_some(()))
	})
	.unwrap_or_else(|e| panic!("{e}"));
	w3b_json(alice, &["project", "close", PROJECT, "--suri", "//Alice"]);
	fails(alice, &["project", "show", PROJECT], 5, "no open project named");
}

/// The console's browser test (`console/test/console.test.mjs`, headless chromium)
/// against Alice's node, while the device keeps Bob's node busy; then `w3b` sees the
/// project the page created.
fn console_in_a_browser(
	port: u16,
	alice: u16,
	bob: u16,
	project_id: &str,
	device_key: &str,
	http: &str,
) {
	let mut readings = Command::new(cli_binary())
		.args(["--url", &format!("ws://127.0.0.1:{bob}"), "--timeout", "150"])
		.args(["device", "send", project_id, "--device-key", device_key, "--http", http])
		.args(["--count", "200", "--interval-ms", "250"])
		.stdout(Stdio::null())
		.spawn()
		.expect("w3b device send runs");
	let console = w3b_e2e_tests::repository_root().join("console");
	let status = Command::new("node")
		.arg("test/console.test.mjs")
		.current_dir(&console)
		.env("CONSOLE_URL", format!("http://127.0.0.1:{port}/"))
		.env("PROJECT", PROJECT)
		.env("PROJECT_ID", project_id)
		.env("NEW_PROJECT", "made-in-the-console")
		.env("SCREENSHOTS", console.join("screenshots"))
		.status()
		.expect("node runs the console test (scripts/test.sh installs it)");
	// The readings end on their own (50 s): a device killed between a message's
	// acknowledgement and saving its key file would fall behind the node's sequence.
	let sent = readings.wait().expect("w3b device send ends");
	assert!(status.success(), "the console's browser test failed (its output is above)");
	assert!(sent.success(), "the readings sent during the console test were refused");
	let made = w3b_json(alice, &["project", "show", "made-in-the-console"]);
	assert_eq!(made["metadata"], "Created from the console", "{made}");
}

/// The metadata `w3b` was generated from is the running runtime's (v16).
fn check_metadata(network: &Validators) {
	let answer = network.nodes[0]
		.rpc()
		.call("state_call", serde_json::json!(["Metadata_metadata_at_version", "0x10000000"]))
		.expect("the node answers");
	let bytes = hex::decode(answer.as_str().expect("hex").trim_start_matches("0x")).expect("hex");
	let metadata: Option<Vec<u8>> =
		codec::Decode::decode(&mut &bytes[..]).expect("Option<Vec<u8>>");
	let metadata = metadata.expect("the runtime has metadata v16");
	let copy = w3b_e2e_tests::repository_root().join("client/cli/metadata/w3b.scale");
	if std::env::var_os("W3B_BLESS_METADATA").is_some() {
		std::fs::write(&copy, &metadata).expect("metadata written");
	}
	let kept = std::fs::read(&copy).expect("client/cli/metadata/w3b.scale");
	assert!(
		kept == metadata,
		"client/cli/metadata/w3b.scale is not the runtime's metadata: run this test with \
		 W3B_BLESS_METADATA=1 to refresh it, then rebuild w3b (scripts/build.sh)"
	);
}
