//! Ingestion inside a real node: the HTTP endpoint started by `--w3b-http-port` checks
//! messages against what the chain holds (a project and a device registered by signed
//! transactions) and stores the good ones, here in PostgreSQL (`--w3b-store
//! postgres://...`, a real server the test starts).

#[path = "../../client/storage/tests/pg_server/mod.rs"]
mod pg_server;

use std::time::Duration;

use serde_json::Value;
use sp_core::{ed25519, Pair};
use sp_keyring::Sr25519Keyring::{Alice, Bob};
use w3b_e2e_tests::{dev_node_key, free_port, Node, NodeConfig};

const STEP: Duration = Duration::from_secs(60);

/// POSTs `body` to project 0's endpoint: status and JSON, or why it got no answer.
fn try_post(port: u16, body: &str) -> Result<(u16, Value), ureq::Error> {
	let url = format!("http://127.0.0.1:{port}/v1/projects/0/events");
	let response = match ureq::post(&url).send_string(body) {
		Ok(r) => r,
		Err(ureq::Error::Status(_, r)) => r,
		Err(e) => return Err(e),
	};
	Ok((response.status(), response.into_json().unwrap_or(Value::Null)))
}

fn post(port: u16, body: &str) -> (u16, Value) {
	try_post(port, body).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_node_ingests_what_the_chain_allows() {
	let dir = w3b_e2e_tests::test_dir();
	let http = free_port();
	let postgres = pg_server::Postgres::start();
	let mut node = Node::start(
		NodeConfig {
			identity: "alice",
			chain: "dev".into(),
			node_key: dev_node_key(1),
			bootnodes: vec![],
			extra_args: vec![
				"--w3b-http-port".into(),
				http.to_string(),
				"--w3b-store".into(),
				postgres.url(),
				// Nothing sealed: the stored message stays pending, where the test finds it.
				"--w3b-worker=false".into(),
				// 10 messages a second (bursts of 20) per sender, and for all RPC callers.
				"--w3b-sender-rate=10".into(),
			],
		},
		dir.path(),
	)
	.expect("node starts");
	node.wait_rpc_ready(Duration::from_secs(180)).expect("rpc ready");
	let rpc = node.rpc();
	let device = ed25519::Pair::from_seed(&[5; 32]);
	let stranger = ed25519::Pair::from_seed(&[6; 32]);

	// Before the project exists: refused, with the chain's reason.
	let (status, body) = post(http, &w3b_e2e_tests::signed_message(&device, 0, 1, b"early"));
	assert_eq!((status, body["code"].as_str()), (404, Some("unknown_project")), "{body}");

	w3b_e2e_tests::active_project_with_device(&rpc, "sensors", Alice, &device, STEP);
	// The chain view follows the best block; give the node's cache a block to notice.
	let accepted = w3b_e2e_tests::wait_for("the device to be accepted", STEP, || {
		let (status, body) =
			post(http, &w3b_e2e_tests::signed_message(&device, 0, 1, b"{\"t\":21}"));
		Ok((status == 202).then_some(body))
	})
	.unwrap();
	assert!(accepted["hash"].as_str().is_some_and(|h| h.starts_with("0x")));
	// It is in PostgreSQL, pending a batch.
	use w3b_storage::MessageStore;
	let database = w3b_storage::PgStore::connect(&postgres.params()).expect("PostgreSQL");
	let pending = database.pending(0).expect("pending messages");
	assert_eq!(pending.len(), 1);
	assert_eq!(serde_json::to_value(pending[0]).unwrap(), accepted["hash"]);

	let (status, body) = post(http, &w3b_e2e_tests::signed_message(&stranger, 0, 1, b"x"));
	assert_eq!((status, body["code"].as_str()), (404, Some("unknown_device")));
	let (status, body) = post(http, &w3b_e2e_tests::signed_message(&device, 0, 1, b"replay"));
	assert_eq!((status, body["code"].as_str()), (409, Some("stale_seq")));

	// `w3b_submitEvent` callers share one sender budget, charged before any check: a
	// flood of junk over RPC costs the node at most that many checks, and leaves the
	// devices' own endpoint alone.
	let mut refused_for_now = 0;
	for seq in 1..=60 {
		let junk: Value =
			serde_json::from_str(&w3b_e2e_tests::signed_message(&stranger, 0, seq, b"x")).unwrap();
		let error = rpc.call("w3b_submitEvent", serde_json::json!([0, junk])).expect_err("junk");
		if error.to_string().contains("rate_limited") {
			refused_for_now += 1;
		} else {
			assert!(error.to_string().contains("unknown_device"), "{error}");
		}
	}
	assert!(refused_for_now >= 30, "{refused_for_now} of 60 refused before any check");
	let (status, body) = post(http, &w3b_e2e_tests::signed_message(&device, 0, 2, b"{\"t\":23}"));
	assert_eq!(status, 202, "{body}");
	// A project whose subnet this node (Alice) is not in: stored here, the message would
	// never be committed. Refused, so the device sends it to one of the project's
	// operators; nothing is stored.
	let elsewhere =
		w3b_e2e_tests::active_project_with_device(&rpc, "elsewhere", Bob, &device, STEP);
	let url = format!("http://127.0.0.1:{http}/v1/projects/{elsewhere}/events");
	let message = w3b_e2e_tests::signed_message(&device, elsewhere, 1, b"{\"t\":22}");
	let refused = ureq::post(&url).send_string(&message).expect_err("refused");
	let ureq::Error::Status(status, response) = refused else { panic!("{refused}") };
	let body: Value = response.into_json().unwrap();
	assert_eq!((status, body["code"].as_str()), (421, Some("not_served")), "{body}");
	assert!(database.pending(elsewhere).expect("pending messages").is_empty());
	let health: Value =
		ureq::get(&format!("http://127.0.0.1:{http}/health")).call().unwrap().into_json().unwrap();
	assert_eq!(health["status"], "ok");

	// After a restart the node finds what PostgreSQL kept: the replay is still refused.
	node.restart().expect("restarts");
	node.wait_rpc_ready(Duration::from_secs(180)).expect("rpc ready again");
	let replay = w3b_e2e_tests::wait_for("the endpoint to answer again", STEP, || {
		Ok(try_post(http, &w3b_e2e_tests::signed_message(&device, 0, 1, b"replay")).ok())
	})
	.unwrap();
	assert_eq!((replay.0, replay.1["code"].as_str()), (409, Some("stale_seq")), "{:?}", replay.1);

	// With its worker on, the node seals what PostgreSQL holds, commits it, runs it and
	// finalizes its proof (Alice is the project's only operator).
	node.restart_replacing("--w3b-worker=false", "--w3b-worker=true").expect("restarts");
	node.wait_rpc_ready(Duration::from_secs(180)).expect("rpc ready again");
	let batch = w3b_e2e_tests::wait_for("the stored messages in a finalized proof", STEP, || {
		let proof = rpc.call("w3b_getProof", serde_json::json!([0, 0]))?;
		if proof["status"] != "Finalized" {
			return Ok(None);
		}
		Ok(Some(rpc.call("w3b_getBatch", serde_json::json!([0, 0]))?))
	})
	.unwrap();
	let hashes: Vec<&Value> =
		batch["messages"].as_array().unwrap().iter().map(|m| &m["hash"]).collect();
	assert_eq!(hashes.len(), 2, "{batch}");
	assert!(hashes.contains(&&accepted["hash"]), "{batch}");
	assert!(database.pending(0).expect("pending messages").is_empty(), "sealed from PostgreSQL");
	drop(node);

	// A store or VFS the node cannot use stops it at once, saying why.
	for (flag, value, says) in [
		("--w3b-store", "mysql://nowhere".to_string(), "give `embedded` or a PostgreSQL URL"),
		(
			"--w3b-store",
			"postgres://nobody@127.0.0.1:1/none".to_string(),
			"connecting to PostgreSQL",
		),
		("--w3b-vfs", "ipfs=http://127.0.0.1:1".to_string(), "does not answer"),
	] {
		let output = std::process::Command::new(w3b_e2e_tests::node_binary())
			.args(["--dev", "--tmp", flag, &value])
			.output()
			.expect("the node runs");
		let stderr = String::from_utf8_lossy(&output.stderr);
		assert!(!output.status.success(), "{flag} {value}: started");
		assert!(stderr.contains(says), "{flag} {value}: {stderr}");
	}
}
