//! Ingestion inside a real node: the HTTP endpoint started by `--w3b-http-port` checks
//! messages against what the chain holds (a project and a device registered by signed
//! transactions) and stores the good ones.

use std::time::Duration;

use serde_json::Value;
use sp_core::{ed25519, Pair};
use w3b_e2e_tests::{dev_node_key, free_port, Node, NodeConfig};

const STEP: Duration = Duration::from_secs(60);

fn post(port: u16, body: &str) -> (u16, Value) {
	let url = format!("http://127.0.0.1:{port}/v1/projects/0/events");
	let response = match ureq::post(&url).send_string(body) {
		Ok(r) => r,
		Err(ureq::Error::Status(_, r)) => r,
		Err(e) => panic!("{e}"),
	};
	(response.status(), response.into_json().unwrap_or(Value::Null))
}

#[test]
fn the_node_ingests_what_the_chain_allows() {
	let dir = w3b_e2e_tests::test_dir();
	let http = free_port();
	let mut node = Node::start(
		NodeConfig {
			identity: "alice",
			chain: "dev".into(),
			node_key: dev_node_key(1),
			bootnodes: vec![],
			extra_args: vec!["--w3b-http-port".into(), http.to_string()],
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

	w3b_e2e_tests::active_project_with_device(&rpc, &device, STEP);
	// The chain view follows the best block; give the node's cache a block to notice.
	let accepted = w3b_e2e_tests::wait_for("the device to be accepted", STEP, || {
		let (status, body) =
			post(http, &w3b_e2e_tests::signed_message(&device, 0, 1, b"{\"t\":21}"));
		Ok((status == 202).then_some(body))
	})
	.unwrap();
	assert!(accepted["hash"].as_str().is_some_and(|h| h.starts_with("0x")));

	let (status, body) = post(http, &w3b_e2e_tests::signed_message(&stranger, 0, 1, b"x"));
	assert_eq!((status, body["code"].as_str()), (404, Some("unknown_device")));
	let (status, body) = post(http, &w3b_e2e_tests::signed_message(&device, 0, 1, b"replay"));
	assert_eq!((status, body["code"].as_str()), (409, Some("stale_seq")));
	let health: Value =
		ureq::get(&format!("http://127.0.0.1:{http}/health")).call().unwrap().into_json().unwrap();
	assert_eq!(health["status"], "ok");
}
